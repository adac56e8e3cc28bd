"""``hotpath pipeline`` and ``hotpath convert``, registered by ``hotpath.cli``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

WORKERS_AUTO = "auto"


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def register(commands: argparse._SubParsersAction) -> None:
    from hotpath.pipeline import engines, readers

    parser = commands.add_parser(
        "pipeline",
        help="the energy monitor end to end: CSV files to a per-device report",
        description="Read every readings file given (a folder: its files sorted by name), drop "
        "retransmitted duplicates, aggregate per device, fingerprint the kept rows and report. "
        "Every engine gives the same report.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    parser.add_argument(
        "--engine",
        default=engines.DEFAULT,
        metavar="ENGINE",
        help=f"how the work is done: {', '.join(engines.ENGINES)} (default: {engines.DEFAULT}; "
        "naive is the 'before'); sqlite:PATH for a database file of your own (default: one in "
        "the user cache folder), postgres://USER@HOST/DB for a PostgreSQL server",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="the dask engines: a running scheduler, e.g. tcp://HOST:8786 (default: a "
        "LocalCluster of 2 worker processes for the run); the same as --engine dask:ADDRESS",
    )
    parser.add_argument(
        "--reader",
        default="native",
        choices=list(readers.READERS),
        help="the CSV reader of the columnar engine (default: native)",
    )
    parser.add_argument(
        "--backend",
        default="",
        help="the kernels of the columnar engine: any registered backend (default: the "
        "fastest available)",
    )
    parser.add_argument(
        "--workers",
        default=WORKERS_AUTO,
        help="files read at once: a number, or auto for the cores available (default)",
    )
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        type=Path,
        help="cache folder of parsed files and results (default: the user cache folder)",
    )
    cache.add_argument("--no-cache", action="store_true", help="parse every file, keep nothing")
    parser.add_argument(
        "--on-bad-row",
        choices=("error", "skip"),
        default="error",
        help="error (default): stop at the first bad record with file:line; skip: count it, "
        "write it to --rejects and go on",
    )
    parser.add_argument(
        "--rejects",
        type=Path,
        help="with --on-bad-row skip: where the rejected records go, verbatim, with file and "
        "line (default: hotpath-rejects.csv, written only if any is rejected)",
    )
    parser.add_argument("--json", type=Path, help="write the whole report as JSON")
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile the run: .html or .txt by pyinstrument, else a cProfile stats file",
    )
    parser.add_argument(
        "--memory-profile",
        type=Path,
        help="memory profile: .bin by memray (memray flamegraph FILE), else a tracemalloc "
        "top-allocations text",
    )
    parser.add_argument("--top", type=int, default=5, help="top consumers shown (default 5)")
    parser.add_argument("--quiet", action="store_true", help="no summary, no progress bar")
    parser.set_defaults(run=_pipeline)

    converting = commands.add_parser(
        "convert",
        help="readings CSV files to Parquet, Arrow IPC or .npz (what leaving text buys)",
        description="Read readings files with the native reader (bad records stop it) and "
        "write each as a binary file of the three columns in OUT, same name, new suffix.",
    )
    converting.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    converting.add_argument("--to", choices=("parquet", "arrow", "npz"), required=True)
    converting.add_argument("--out", type=Path, required=True, help="folder to write")
    converting.set_defaults(run=_convert)


def _options(args: argparse.Namespace) -> Any:
    from hotpath.pipeline import Options, PipelineError
    from hotpath.pipeline.cache import default_folder

    if args.workers == WORKERS_AUTO:
        workers = cores()
    else:
        try:
            workers = int(args.workers)
        except ValueError:
            raise PipelineError(f"--workers takes a number or auto, not {args.workers!r}") from None
        if workers < 1:
            raise PipelineError("--workers must be at least 1")
    cache = None if args.no_cache else (args.cache or default_folder())
    return Options(
        reader=args.reader,
        backend=args.backend,
        workers=workers,
        cache=cache,
        on_bad_row=args.on_bad_row,
    )


def _engine(name: str, scheduler: str | None) -> str:
    """The engine's name with --scheduler's address in it (dask:ADDRESS, dask:VARIANT,ADDRESS)."""
    from hotpath.pipeline import PipelineError, engines

    if scheduler is None:
        return name
    base, parameter = engines.split(name)
    if base != "dask":
        raise PipelineError(f"--scheduler is for the dask engines, not {name!r}")
    if "://" in parameter:
        raise PipelineError(f"two schedulers: --scheduler {scheduler} and --engine {name}")
    return f"dask:{parameter},{scheduler}" if parameter else f"dask:{scheduler}"


def _pipeline(args: argparse.Namespace) -> int:
    from hotpath.backends import BackendUnavailable
    from hotpath.pipeline import PipelineError, run
    from hotpath.pipeline.errors import RejectsWriter
    from hotpath.pipeline.profiling import profiled
    from hotpath.pipeline.summary import print_summary, progress_bar

    try:
        options = _options(args)
        engine = _engine(args.engine, args.scheduler)
        with progress_bar(args.paths, enabled=not args.quiet) as tick:
            if tick is not None:
                options = dataclasses.replace(options, progress=tick)
            with profiled(args.profile, args.memory_profile):
                report = run(args.paths, engine, options)
    except (PipelineError, BackendUnavailable, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) else error
        print(f"hotpath pipeline: error: {message}", file=sys.stderr)
        return 1
    rejects_path = None
    if report.rejects:
        rejects_path = args.rejects or Path("hotpath-rejects.csv")
        writer = RejectsWriter(rejects_path)
        writer.write(report.rejects)
        writer.close()
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(report.to_json(), encoding="utf-8")
    if not args.quiet:
        print_summary(report, args.top, rejects_path, args.json)
    return 0


def _convert(args: argparse.Namespace) -> int:
    from hotpath.pipeline import PipelineError
    from hotpath.pipeline.convert import convert

    try:
        for written in convert(args.paths, args.to, args.out):
            print(f"wrote {written}")
    except PipelineError as error:
        print(f"hotpath convert: error: {error}", file=sys.stderr)
        return 1
    return 0
