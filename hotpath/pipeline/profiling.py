"""``--profile`` and ``--memory-profile``: evidence of where time and memory go.

Time: pyinstrument (a sampling profiler: low overhead, a call tree) for ``.html`` or
``.txt``, else cProfile's exact call counts as a stats file (``python -m pstats FILE``).
Memory: memray for ``.bin`` (every allocation, native ones included: ``memray flamegraph
FILE``), else tracemalloc's top allocation sites as text (Python allocations, NumPy's
included, which register with it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from hotpath.pipeline.errors import PipelineError

TRACEMALLOC_TOP = 25


@contextlib.contextmanager
def profiled(time_file: Path | None, memory_file: Path | None) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        if memory_file is not None:
            stack.enter_context(_memory(memory_file))
        if time_file is not None:
            stack.enter_context(_time(time_file))
        yield


@contextlib.contextmanager
def _time(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".html", ".txt"):
        try:
            from pyinstrument import Profiler
        except ImportError:
            raise PipelineError(
                'pyinstrument is not installed: pip install -e ".[profile]"'
            ) from None
        profiler = Profiler()
        profiler.start()
        try:
            yield
        finally:
            profiler.stop()
            text = profiler.output_html() if path.suffix == ".html" else profiler.output_text()
            path.write_text(text, encoding="utf-8")
        return
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)


@contextlib.contextmanager
def _memory(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".bin":
        try:
            import memray
        except ImportError:
            raise PipelineError('memray is not installed: pip install -e ".[profile]"') from None
        path.unlink(missing_ok=True)  # memray refuses to overwrite
        with memray.Tracker(path, native_traces=False):
            yield
        return
    import tracemalloc

    tracemalloc.start()
    try:
        yield
    finally:
        snapshot = tracemalloc.take_snapshot()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        lines = [f"tracemalloc peak: {peak:,} bytes", "top allocation sites still held:"]
        lines += [str(stat) for stat in snapshot.statistics("lineno")[:TRACEMALLOC_TOP]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
