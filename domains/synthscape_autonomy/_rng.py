"""Counter-based random numbers keyed by (seed, episode, step, agent, stream).

Every draw is a pure function of its key, so a world's trajectory does not depend on which other
worlds share its batch, on the batch size, or on the device. Integer mixing is MurmurHash3's
32-bit finaliser (Appleby 2008), done with 16-bit limbs so int64 never overflows on any device.
Per-episode scenario parameters use numpy's SeedSequence keyed the same way.
"""
from __future__ import annotations

import zlib

import numpy as np

_M32 = 0xFFFFFFFF


def _mul32(x, c: int):
    """(x * c) mod 2**32 for int64 tensors holding 32-bit values, without overflow: the
    constant is split in 16-bit halves, so no product exceeds 2**48."""
    return (x * (c & 0xFFFF) + (((x * (c >> 16)) & 0xFFFF) << 16)) & _M32


def _fmix(h):
    h = h ^ (h >> 16)
    h = _mul32(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = _mul32(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def _fmix_(h):
    """:func:`_fmix` in place on ``h`` (one temporary per step instead of one per operation)."""
    h ^= h >> 16
    for c, shift in ((0x85EBCA6B, 13), (0xC2B2AE35, 16)):
        hi = h * (c >> 16)
        hi &= 0xFFFF
        hi <<= 16
        h *= c & 0xFFFF
        h += hi
        h &= _M32
        h ^= h >> shift
    return h


def hash_keys(*keys):
    """Mix integer tensors (broadcastable) into one 32-bit hash per element."""
    h = None
    for k in keys:
        k = k & _M32
        h = _fmix(k ^ 0x9E3779B9) if h is None else _fmix(h ^ _fmix(k + 0x7F4A7C15))
    return h


def _key(k):
    """The mixed form of one integer key (tensor or int)."""
    return _fmix((k & _M32) + 0x7F4A7C15)


def normal(seed: int, episode, step: int, agent, stream: int, dtype=None):
    """Standard normal draws by Box-Muller. With h the keyed hash of (seed, episode, step):
    u1 from h1 = fmix(h ^ key(agent) ^ key(2 stream)), u2 from fmix(h1 ^ key(2 stream + 1))."""
    import torch

    dev = episode.device
    h = hash_keys(torch.as_tensor(seed, device=dev), episode, torch.as_tensor(step, device=dev))
    h1 = _fmix(h ^ _key(agent) ^ _key(2 * stream))
    h2 = _fmix(h1 ^ _key(2 * stream + 1))
    u1, u2 = (((x >> 8).to(dtype or torch.float32) + 0.5) / float(1 << 24) for x in (h1, h2))
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * torch.pi * u2)


class KeyedNormal:
    """``normal(seed, episode, step, agent, stream)`` with the per-episode and per-agent parts
    of the hash computed once (two hash rounds per draw remain):
    ``KeyedNormal(seed, episode, agent, stream)(step)`` gives the same numbers.
    ``rekey(rows, episode)`` changes the episodes of some worlds."""

    def __init__(self, seed: int, episode, agent, stream: int = 0):
        self.seed = int(seed)
        self.rekey(None, episode)
        self.agent = _key(agent) ^ _key(2 * stream)
        self.stream1 = _key(2 * stream + 1)
        self._agent32 = None

    def rekey(self, rows, episode) -> None:
        h = _fmix(_fmix((self.seed & _M32) ^ 0x9E3779B9) ^ _key(episode))
        if rows is None:
            self.episode = h
        else:
            self.episode[rows] = h

    def _hash(self, step):
        """fmix(fmix(episode ^ key(step)) ^ agent); on the CPU in numpy (the same bits; the
        per-agent rounds in uint32, a quarter of the memory traffic of int64)."""
        if self.episode.device.type != "cpu":
            return _fmix_(_fmix(self.episode ^ _key(step)) ^ self.agent)
        if self._agent32 is None:
            self._agent32 = self.agent.numpy().astype(np.uint32)
        step = step.numpy() if hasattr(step, "numpy") else step
        h = _fmix(self.episode.numpy() ^ _key(step))  # int64, as on the tensors
        return _fmix32_(h.astype(np.uint32) ^ self._agent32)

    def __call__(self, step, dtype=None):
        import torch

        dtype = dtype or torch.float32
        h = self._hash(step)
        if isinstance(h, np.ndarray):
            h2 = _fmix32_(h ^ np.uint32(self.stream1))
            u1, u2 = (_unit32_(x, dtype) for x in (h, h2))
        else:
            h2 = _fmix_(h ^ self.stream1)  # h ^ k is a new tensor: h is kept for u1
            u1, u2 = (_unit_(x, dtype) for x in (h, h2))
        return torch.log(u1).mul_(-2.0).sqrt_().mul_(u2.mul_(2.0 * torch.pi).cos_())


class KeyedUniform(KeyedNormal):
    """U(0, 1) draws keyed like :class:`KeyedNormal` (one hash round per draw):
    ``KeyedUniform(seed, episode, agent, stream)(step)``."""

    def __call__(self, step, dtype=None):
        import torch

        h = self._hash(step)
        unit = _unit32_ if isinstance(h, np.ndarray) else _unit_
        return unit(h, dtype or torch.float32)


def _unit_(h, dtype):
    """U(0, 1) from the top 24 bits of 32-bit hashes ``h`` (consumed)."""
    h >>= 8
    u = h.to(dtype)
    u += 0.5
    u /= float(1 << 24)
    return u


def _fmix32_(h):
    """:func:`_fmix` in place on a numpy uint32 array (multiplication wraps modulo 2**32)."""
    h ^= h >> 16
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> 13
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> 16
    return h


def _unit32_(h, dtype):
    """:func:`_unit_` of a numpy uint32 array (consumed), as a tensor of ``dtype``."""
    import torch

    h >>= 8
    u = h.astype(torch.empty((), dtype=dtype).numpy().dtype)
    u += 0.5
    u /= float(1 << 24)
    return torch.from_numpy(u)


def tag(text: str) -> int:
    """A stable 32-bit tag for a name (the scenario family), independent of Python's hash seed."""
    return zlib.crc32(text.encode())


def episode_rng(seed: int, family: str, episode: int,
                purpose: str = "params") -> np.random.Generator:
    """numpy Generator for one episode's sampled parameters, keyed by (seed, family, episode)."""
    return np.random.default_rng(np.random.SeedSequence([seed, tag(family), episode, tag(purpose)]))
