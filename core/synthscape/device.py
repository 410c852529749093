"""Device selection: ``"auto"`` means CUDA when present, else CPU; the same code path for both."""
from __future__ import annotations

import os


def resolve_device(device: str = "auto"):
    """Return a ``torch.device``; raises a clear error for an unavailable explicit choice."""
    import torch

    from synthscape.errors import ParameterError

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device {device!r} was requested but CUDA is not available; "
                             f"use device='auto' or 'cpu'")
    return dev


def set_torch_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads explicitly (default: SYNTHSCAPE_THREADS or the CPU count).

    Oversubscribed threads collapse throughput on small machines, so callers set this once.
    """
    import torch

    if n is None:
        n = int(os.environ.get("SYNTHSCAPE_THREADS", "0")) or (os.cpu_count() or 1)
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()
