"""How many threads the parallel backends use: one setting, ``HOTPATH_THREADS``.

Unset, a parallel backend uses every core this process may run on
(``os.sched_getaffinity``, so a ``taskset`` or a container's CPU set is respected). The
setting is read at every call, so a benchmark or a test can change it between calls; the
answer never depends on it, only the speed does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "HOTPATH_THREADS"


def available() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def count() -> int:
    """The thread count in force: ``HOTPATH_THREADS``, else :func:`available`."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return available()
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"{ENV}={value!r}: expected a positive whole number of threads")
    return threads


@contextmanager
def using(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` threads (sets ``HOTPATH_THREADS``, then restores it)."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    before = os.environ.get(ENV)
    os.environ[ENV] = str(threads)
    try:
        yield
    finally:
        if before is None:
            del os.environ[ENV]
        else:
            os.environ[ENV] = before
