"""One pipeline run in a fresh process, for its memory: ``python -m hotpath.pipeline.measure``.

The benchmark starts one per step, so no step inherits another's heap. Everything the run
needs is imported first; then the peak resident memory is reset to the current one (the
baseline), the run made under tracemalloc, and printed as JSON: tracemalloc's peak (Python
allocations, NumPy arrays included), the peak resident memory above the baseline (native
allocations too), and what tracemalloc itself held, which that peak includes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tracemalloc
from pathlib import Path

from hotpath.pipeline import (
    Options,
    current_rss,
    engines,
    peak_rss,
    readers,
    reset_peak_rss,
    run,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotpath.pipeline.measure")
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--engine", default=engines.DEFAULT)
    parser.add_argument("--reader", default="native")
    parser.add_argument("--backend", default="")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--no-cache-results", action="store_true")
    parser.add_argument("--profile", type=Path, help="also write a cProfile stats file")
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="no tracemalloc: it slows allocation-heavy code (the naive program's loops ~10x)",
    )
    args = parser.parse_args(argv)
    options = Options(
        reader=args.reader,
        backend=args.backend,
        workers=args.workers,
        cache=args.cache,
        cache_results=not args.no_cache_results,
    )
    # import what the run will: the engine, the reader, the backend, their libraries
    engine = engines.get(args.engine)
    if "reader" in engine.uses:
        readers.get(args.reader).available()
    if args.backend:
        from hotpath import backends

        backends.load(args.backend)
    reset_peak_rss()
    baseline = current_rss()
    if not args.no_trace:
        tracemalloc.start()
    if args.profile is not None:
        import cProfile

        profile = cProfile.Profile()
        report = profile.runcall(run, args.paths, args.engine, options)
        profile.dump_stats(args.profile)
    else:
        report = run(args.paths, args.engine, options)
    peak_resident = peak_rss()
    _, peak = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, None)
    overhead = tracemalloc.get_tracemalloc_memory() if tracemalloc.is_tracing() else 0
    tracemalloc.stop()
    json.dump(
        {
            "baseline_rss": baseline,
            "peak_rss_above_baseline": peak_resident - baseline,
            "tracemalloc_peak": peak,
            "tracemalloc_overhead": overhead,
            "rows_read": report.rows_read,
            "timings": report.timings,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
