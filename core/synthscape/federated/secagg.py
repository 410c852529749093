"""Secure aggregation with distributed Skellam noise for marginal federation.

Without it every site adds all the noise its own guarantee needs, so the coordinator's sum of K
answers carries K times the variance of one central measurement. With secure aggregation the
coordinator learns only the sum of the sites' answers, so the noise can be shared: each site adds
``1 / (K - t)`` of the variance that one central measurement would carry, and the sum holds at
least the central noise from the sites that do not collude with the coordinator.

- **Masks** (Bonawitz et al. 2017, "Practical Secure Aggregation for Privacy-Preserving Machine
  Learning", the pairwise-mask core without dropout recovery): every pair of sites agrees on a
  secret by X25519 Diffie-Hellman over keys the coordinator relays; for each message a site adds
  the AES-CTR keystream of each pair's secret (under the message id) to its answer, with opposite
  signs on the two sides, modulo 2^64. One masked answer is uniformly distributed to anyone who
  lacks a pair secret; the masks cancel in the sum of all answers.
- **Noise**: integer answers (marginal counts, floored selection scores) plus Skellam noise
  Poisson(mu) - Poisson(mu) (Agarwal, Kairouz and Liu 2021). Sums of Skellam variables are
  Skellam, so the K - t honest sites' shares make exactly one Skellam mechanism of the central
  mu, whose RDP bound (:func:`synthscape.privacy.analysis.rdp.skellam_rdp`) is the site's ledger
  entry. ``mu`` is set so that this bound lies under the Gaussian curve the plan was made for.

Trust, stated in every release that uses it: the coordinator follows the protocol (it relays the
true public keys and sums what it receives) and at most ``t`` sites collude with it. A site
checks the number of peers against its own setting and refuses to reuse a message id (reuse
would reveal the difference of two answers). If more sites collude, a record is protected by its
own site's share of the noise only: :func:`fallback_epsilon` gives that weaker guarantee, and the
release states it too. A site that reads the release knows its own share, so t + 1 sites
together, without the coordinator (with t = 0: any one site on its own), face only
``(K - t - 1) / (K - t)`` of the noise of the sum they did not add; the release states that
epsilon as well (:func:`epsilon_keeping`). A site that drops out leaves the sum unmasked: the
round fails (no recovery of dropped sites' masks).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthscape.errors import ParameterError
from synthscape.privacy.analysis import rdp as rdp_maths
from synthscape.privacy.noise import NoiseSource

_INFO = b"synthscape/secagg/v1"


@dataclass(frozen=True)
class SecureAggregation:
    """A site's own setting: the number of sites it expects in the federation and how many of
    them may collude with the coordinator or each other (1, the default: any one site, which
    knows its own share of the noise; 0: only the coordinator and outside recipients)."""

    sites: int
    colluding: int = 1

    def __post_init__(self) -> None:
        if self.sites < 2:
            raise ParameterError(f"secure aggregation needs at least 2 sites, got {self.sites}")
        if not 0 <= self.colluding < self.sites:
            raise ParameterError(f"colluding={self.colluding} must lie in [0, {self.sites - 1}] "
                                 f"for {self.sites} sites")

    @property
    def honest(self) -> int:
        """Sites whose noise shares the coordinator's coalition cannot subtract."""
        return self.sites - self.colluding


def skellam_mu(noise_multiplier: float, l1: float, l2: float) -> float:
    """The smallest ``mu`` (within 0.1%) whose Skellam RDP bound lies under the Gaussian's at
    ``noise_multiplier`` (std / L2 sensitivity) at every order from 2 up: the Skellam release
    then costs no more than the Gaussian release the budget plan assumed, wherever the plan's
    best order is 2 or more (for any epsilon below about 10 at delta 1e-5; above that the
    ledger refuses a release that would pass the budget)."""
    orders = rdp_maths.ORDERS[rdp_maths.ORDERS >= 2]
    gauss = rdp_maths.gaussian_rdp(noise_multiplier, orders)
    mu = (noise_multiplier * l2) ** 2 / 2
    for _ in range(20_000):
        if np.all(rdp_maths.skellam_rdp(mu, l1, l2, orders) <= gauss):
            return mu
        mu *= 1.001
    raise ParameterError(f"no Skellam noise matches noise multiplier {noise_multiplier:g} "
                         f"(l1 {l1:g}, l2 {l2:g})")


class Masker:
    """One site's pairwise masks: its X25519 key, the pair secrets, the message ids used."""

    def __init__(self, name: str, setting: SecureAggregation):
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        self.name, self.setting = name, setting
        self._key = X25519PrivateKey.generate()
        self._pairs: dict[str, bytes] = {}
        self._used: set[str] = set()

    def public_key(self) -> str:
        from cryptography.hazmat.primitives import serialization

        raw = self._key.public_key().public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw)
        return raw.hex()

    def connect(self, keys: dict[str, str]) -> None:
        """Derive the pair secrets from the relayed public keys (HKDF-SHA256 of the X25519
        shared secret, bound to the two site names)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        if len(keys) != self.setting.sites or keys.get(self.name) != self.public_key():
            raise ParameterError(
                f"site {self.name!r}: secure aggregation expects {self.setting.sites} sites "
                f"including this one with its own key, the coordinator announced "
                f"{len(keys)}; refusing (check the federation's site list)")
        self._pairs = {}
        for peer, hexkey in keys.items():
            if peer == self.name:
                continue
            shared = self._key.exchange(X25519PublicKey.from_public_bytes(bytes.fromhex(hexkey)))
            a, b = sorted((self.name, peer))
            info = _INFO + len(a).to_bytes(4, "big") + a.encode() + b.encode()
            self._pairs[peer] = HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(shared)

    def mask(self, values: np.ndarray, message: str) -> np.ndarray:
        """``values`` (integers) plus every pair's mask for ``message``, modulo 2^64."""
        if not self._pairs:
            raise ParameterError(f"site {self.name!r}: secure aggregation keys were not "
                                 f"exchanged; the coordinator must send the peers' keys first")
        if message in self._used:
            raise ParameterError(f"site {self.name!r}: message id {message!r} was used before; "
                                 f"a site masks each message id once")
        self._used.add(message)
        out = np.asarray(values, dtype=np.int64).view(np.uint64).copy()
        for peer, secret in self._pairs.items():
            stream = NoiseSource(secret, context=[_INFO, message.encode()])
            m = np.frombuffer(stream.random_bytes(8 * out.size), dtype=np.uint64).reshape(out.shape)
            out = out + m if self.name < peer else out - m  # uint64 arithmetic wraps mod 2^64
        return out


def unmask(masked: list[np.ndarray]) -> np.ndarray:
    """The sum of every site's answer (the masks cancel), as signed integers."""
    total = np.zeros_like(np.asarray(masked[0], dtype=np.uint64))
    for m in masked:
        total = total + np.asarray(m, dtype=np.uint64)
    return total.view(np.int64)


def fallback_epsilon(ledger: dict[str, Any], honest: int) -> float:
    """A site's epsilon if every other site colluded with the coordinator: each Skellam entry
    counts the site's own share of the noise only (mu / honest)."""
    return epsilon_keeping(ledger, 1.0 / honest)


def epsilon_keeping(ledger: dict[str, Any], fraction: float) -> float:
    """A site's epsilon when only ``fraction`` of each Skellam entry's noise stays unknown to
    the adversary (the shares of the sites outside its coalition)."""
    from synthscape.privacy.accountants import make_accountant
    from synthscape.privacy.events import SkellamEvent, event_from_dict

    events = []
    for e in ledger["events"]:
        ev = event_from_dict(e)
        if isinstance(ev, SkellamEvent):
            ev = SkellamEvent(mu=ev.mu * fraction, l1=ev.l1, l2=ev.l2, count=ev.count,
                              label=ev.label)
        events.append(ev)
    delta = float(ledger["budget"]["delta"]) if ledger.get("budget") else 0.0
    return make_accountant(ledger.get("accountant", "rdp")).epsilon(events, delta) \
        if delta > 0 else math.inf
