"""Run numerical work on one thread: OpenMP in HistGradientBoosting is many times slower when
the cores are shared, and single-threaded results do not depend on the machine's core count."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def single_threaded(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import sklearn.ensemble  # noqa: F401  loads the OpenMP runtime, so the limit reaches it
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
