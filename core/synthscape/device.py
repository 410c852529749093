"""Device selection: ``"auto"`` means CUDA when present, else CPU; the same code path for both."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


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
    """Set torch's intra-op threads for the whole process (default: SYNTHSCAPE_THREADS or the
    CPU count); returns the count now in force.

    Oversubscribed threads collapse throughput on small machines, so an application's entry point
    (a script, a benchmark) sets this once. Library code uses :func:`torch_threads` instead.
    """
    import torch

    if n is None:
        n = int(os.environ.get("SYNTHSCAPE_THREADS", "0")) or (os.cpu_count() or 1)
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads and restore the previous count after it
    (``None`` or 0: leave the count as it is). The setting is process-wide while the block runs,
    so library code changes it only for the work it does, never for the caller."""
    import torch

    old = torch.get_num_threads()
    if not n or n == old:
        yield
        return
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)
