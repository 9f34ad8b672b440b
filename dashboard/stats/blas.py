"""Run a function with one BLAS thread (the regression's fits).

The fits multiply matrices of a few thousand cells by a few dozen columns: too small to
gain from threads, and OpenBLAS threads spin against DuckDB's (or another process's) for
the cores, which made a 0.07 s fit take 0.3 to 2 s on a busy two-core machine. Thread
counts are set through every OpenBLAS library loaded in the process (numpy's and scipy's
wheels, or the system's), found in /proc/self/maps; elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

#: Thread-count getters and setters of OpenBLAS builds (numpy's and scipy's wheels, system).
_BLAS_THREAD_FUNCTIONS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)
_F = TypeVar("_F", bound=Callable)


@functools.cache
def _blas_thread_controls() -> tuple[tuple[Callable, Callable], ...]:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: leave BLAS as it is
        return ()
    controls = []
    for path in sorted(set(re.findall(r"(/\S*openblas\S*\.so[\w.]*)", maps))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get, set_ in _BLAS_THREAD_FUNCTIONS:
            if hasattr(lib, get) and hasattr(lib, set_):
                controls.append((getattr(lib, get), getattr(lib, set_)))
                break
    return tuple(controls)


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    controls = _blas_thread_controls()
    before = [get() for get, _ in controls]
    for _, set_ in controls:
        set_(1)
    try:
        yield
    finally:
        for (_, set_), threads in zip(controls, before, strict=True):
            set_(threads)


def single_threaded_blas(func: _F) -> _F:
    """Run ``func`` with one BLAS thread. The fits multiply matrices of a few thousand
    cells by a few dozen columns: too small to gain from threads, and OpenBLAS threads
    spin against DuckDB's (or another process's) for the cores, which made a 0.07 s fit
    take 0.3 to 2 s on a busy two-core machine. The arithmetic is the same."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _one_blas_thread():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
