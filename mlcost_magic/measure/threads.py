"""``%%carbon --threads N``: run a cell on N CPU threads, then put everything back.

The calling thread's CPU affinity is narrowed to N of the CPUs it may use (processes and
threads it starts inherit it, and scikit-learn's ``n_jobs=-1`` counts CPUs through the
affinity), and the BLAS/OpenMP pools are limited to N through threadpoolctl where it is
installed. Both are restored when the block ends, on an error or Ctrl-C too.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def available_threads() -> int:
    """CPU threads this thread may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check_threads(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"--threads must be a whole number >= 1, got {n!r}")
    if not hasattr(os, "sched_setaffinity"):
        raise ValueError("--threads needs CPU affinity, which this platform does not offer")
    available = available_threads()
    if n > available:
        raise ValueError(f"--threads {n}: this machine lets the kernel use {available} threads")
    return n


@contextlib.contextmanager
def limit_threads(n: int) -> Iterator[None]:
    check_threads(n)
    before = os.sched_getaffinity(0)
    pools_before = _pool_paths()
    os.sched_setaffinity(0, sorted(before)[:n])
    try:
        with _pool_limits(n):
            yield
    finally:
        os.sched_setaffinity(0, before)
        _size_new_pools(pools_before, len(before))


def _pool_limits(n: int):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # no BLAS/OpenMP pools to limit
        return contextlib.nullcontext()
    return threadpool_limits(limits=n)


def _controllers() -> list:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    return ThreadpoolController().lib_controllers


def _pool_paths() -> set[str]:
    return {lib.filepath for lib in _controllers()}


def _size_new_pools(known: set[str], threads: int) -> None:
    for lib in _controllers():
        if lib.filepath not in known:
            lib.set_num_threads(threads)
