"""Mechanism randomness: the one source of every DP draw (noise, subsampling masks, selection).

A :class:`NoiseSource` is an AES-256 keystream in counter mode (NIST SP 800-38A; the core of
NIST SP 800-90A's CTR_DRBG) under a 256-bit key derived with SHA-256. Without a secret
key it is keyed from the operating system's CSPRNG (``os.urandom``), so two fits of the same data
with the same public seed draw different noise and nothing released can reproduce a draw. A data
owner who needs byte-identical re-runs of a DP fit sets a secret key outside the code:

- ``SYNTHSCAPE_NOISE_KEY``: at least 32 hex digits (128 bits), or
- ``SYNTHSCAPE_NOISE_KEY_FILE``: a file holding such a hex string (or at least 16 raw bytes).

The stream is then derived from the key, the purpose (generator name), the public seed and a
digest of the training table: the same data gives the same noise, a neighbouring table gives an
independent stream. The key is never written into a model, a run folder or a log. The public
``seed`` drives only post-processing and simulation.

Draws: uniforms with 53 random bits in (0, 1); normals by the inverse CDF; Laplace by inverse
CDF; Gumbel for the exponential mechanism; Bernoulli masks for Poisson subsampling; integer
Skellam noise (a difference of inverse-CDF Poisson draws) for secure aggregation. Floating
point noise is not a discrete mechanism: the classical floating-point attacks are mitigated
(53-bit uniforms; DP-SGD sums four normals, as opacus' secure mode), not excluded.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtri

from synthscape.errors import ParameterError

KEY_ENV = "SYNTHSCAPE_NOISE_KEY"
KEY_FILE_ENV = "SYNTHSCAPE_NOISE_KEY_FILE"
_DOMAIN = b"synthscape/noise/v1"


def secret_key_from_environment() -> bytes | None:
    """The data owner's secret noise key from the environment, or ``None``."""
    text = os.environ.get(KEY_ENV)
    source = KEY_ENV
    raw: bytes | None = None
    if not text and os.environ.get(KEY_FILE_ENV):
        path = Path(os.environ[KEY_FILE_ENV]).expanduser()
        source = f"{KEY_FILE_ENV} ({path})"
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ParameterError(f"{source}: cannot read the noise key file: {exc.strerror}; "
                                 f"point {KEY_FILE_ENV} at a readable file") from None
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            text = None
    if text:
        try:
            key = bytes.fromhex(text.strip())
        except ValueError:
            key = b""
        if len(key) >= 16:
            return key
        if raw is None:
            raise ParameterError(f"{source}: a noise key is at least 32 hex digits (128 bits); "
                                 f"make one with: python -c \"import secrets; "
                                 f"print(secrets.token_hex(32))\"")
    if raw is not None:
        if len(raw) >= 16:
            return raw
        raise ParameterError(f"{source}: the key file holds {len(raw)} bytes; it needs at "
                             f"least 16 random bytes or 32 hex digits")
    return None


def data_digest(data: Any) -> bytes:
    """A SHA-256 digest of a table (row order included), used only to derive a keyed stream."""
    h = hashlib.sha256()
    try:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            h.update(repr(list(map(str, data.columns))).encode())
            h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
            return h.digest()
    except TypeError:  # unhashable cells: fall through to the generic path
        pass
    if hasattr(data, "detach"):  # a torch tensor
        data = data.detach().cpu().numpy()
    arr = np.asarray(data)
    if arr.dtype.kind in "biufcM":
        h.update(str((arr.shape, arr.dtype.str)).encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    else:
        h.update(repr(arr.tolist()).encode())
    return h.digest()


class NoiseSource:
    """A keyed cryptographic stream for DP draws.

    ``NoiseSource()`` is keyed from ``os.urandom`` (or from the secret key in the environment,
    see the module docstring); ``NoiseSource.for_data(df, purpose=..., seed=...)`` derives the
    stream of one fit. Draws advance a counter, so the same calls in the same order give the
    same values under the same key; ``child(label)`` gives an independent named stream.
    """

    __slots__ = ("_key", "_counter", "keyed")

    def __init__(self, key: bytes | None = None, *, context: Sequence[bytes] = ()):
        secret = key if key is not None else secret_key_from_environment()
        self.keyed = secret is not None
        material = secret if secret is not None else os.urandom(32)
        h = hashlib.sha256(_DOMAIN)
        for part in (material, *context):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        self._key = h.digest()
        self._counter = 0

    @classmethod
    def for_data(cls, data: Any, *, purpose: str, seed: int | None = None) -> NoiseSource:
        """The stream of one fit. With a secret key it depends on the key, ``purpose``, the
        public ``seed`` and the table; without one it is fresh OS randomness."""
        secret = secret_key_from_environment()
        if secret is None:
            return cls()
        ctx = [purpose.encode(), str(seed).encode(), data_digest(data)]
        return cls(secret, context=ctx)

    def __repr__(self) -> str:  # never shows the key
        return f"NoiseSource(keyed={self.keyed}, draws={self._counter})"

    def __reduce__(self):
        raise TypeError("a NoiseSource holds secret key material and is not serialisable")

    # ---- raw bytes -----------------------------------------------------------------------
    def random_bytes(self, n: int) -> bytes:
        """``n`` bytes of keystream. Each call takes its own 64-bit nonce (the call counter) in
        the high half of the counter block, so calls never share a block."""
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        block = self._counter.to_bytes(8, "big") + bytes(8)
        self._counter += 1
        enc = Cipher(algorithms.AES(self._key), modes.CTR(block)).encryptor()
        return enc.update(bytes(n)) + enc.finalize()

    def child(self, label: str) -> NoiseSource:
        """An independent stream named ``label`` (advances this stream by one draw)."""
        kid = NoiseSource.__new__(NoiseSource)
        kid.keyed = self.keyed
        kid._key = hashlib.sha256(_DOMAIN + b"/child" + self.random_bytes(32)
                                  + label.encode()).digest()
        kid._counter = 0
        return kid

    # ---- distributions -------------------------------------------------------------------
    def uniform(self, shape) -> np.ndarray:
        """Uniform on (0, 1) with 53 random bits; never exactly 0 or 1."""
        size = _size(shape)
        raw = np.frombuffer(self.random_bytes(8 * size), dtype=np.uint64)
        u = ((raw >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)
        return u.reshape(shape)

    def standard_normal(self, shape) -> np.ndarray:
        return ndtri(self.uniform(shape))

    def laplace(self, shape) -> np.ndarray:
        u = self.uniform(shape) - 0.5
        return -np.sign(u) * np.log1p(-2 * np.abs(u))

    def gumbel(self, shape) -> np.ndarray:
        return -np.log(-np.log(self.uniform(shape)))

    def skellam(self, mu: float, shape) -> np.ndarray:
        """Integer Skellam draws Poisson(``mu``) - Poisson(``mu``) (variance 2 ``mu``), each
        Poisson by the inverse CDF of a 53-bit uniform."""
        from scipy.stats import poisson

        a = poisson.ppf(self.uniform(shape), mu)
        b = poisson.ppf(self.uniform(shape), mu)
        return (a - b).astype(np.int64)

    def bernoulli(self, p: float, shape) -> np.ndarray:
        """Independent Bernoulli(``p``) draws: the Poisson subsampling mask."""
        return self.uniform(shape) < p


def _size(shape) -> int:
    return int(np.prod(shape)) if np.ndim(shape) else int(shape)
