"""``hotpath spark``, registered by ``hotpath.cli``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("csv", "parquet")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "spark",
        help="the pipeline's job in Apache Spark (local or a cluster): the same report",
        description="Read the readings files (a folder: its files sorted by name) in Spark, one "
        "task per file with hotpath's readers, run the native kernels on each device's rows in "
        "input order and write the same report as `hotpath pipeline`. Needs the spark extra "
        "(pip install -e '.[spark]') and a JDK 17 or 21.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    parser.add_argument(
        "--master",
        default="local[2]",
        help="Spark master URL: local[N], spark://HOST:7077, yarn, k8s://... (default local[2])",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="which files of a folder to read (default: the one readings format it holds)",
    )
    parser.add_argument(
        "--backend", default="", help="the kernels: any registered backend (default: fastest)"
    )
    parser.add_argument("--reader", default="native", help="the CSV reader (default native)")
    parser.add_argument(
        "--strategy",
        choices=("partition", "group"),
        default="partition",
        help="partition: repartition by device, sort by input order, mapInArrow (one kernel "
        "call per partition; default); group: groupBy(device_id).applyInArrow",
    )
    parser.add_argument("--partitions", type=int, default=4, help="shuffle partitions (default 4)")
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting, e.g. spark.archives=env.tar.gz#env (repeatable)",
    )
    parser.add_argument("--on-bad-row", choices=("error", "skip"), default="error")
    parser.add_argument("--rejects", type=Path, help="with --on-bad-row skip: the rejects file")
    parser.add_argument("--ui", action="store_true", help="keep Spark's web UI (127.0.0.1:4040)")
    parser.add_argument("--json", type=Path, help="write the whole report as JSON")
    parser.add_argument("--top", type=int, default=5, help="top consumers shown (default 5)")
    parser.add_argument("--quiet", action="store_true", help="no summary")
    parser.set_defaults(run=_spark)

    tuning = commands.add_parser(
        "spark-tuning",
        help="the classic PySpark tuning steps, measured by Spark's own metrics",
        description="Run a baseline job (row UDF, no cache, repartition by a skewed key, "
        "shuffle join, AQE off) and apply the tuning steps one by one, each timed and measured "
        "from Spark's status REST API on loopback; write a Markdown table (and JSON).",
    )
    tuning.add_argument("folder", type=Path, help="CSV readings (with --skewed: written here)")
    tuning.add_argument(
        "--skewed",
        type=float,
        metavar="READINGS",
        help="first write this many readings to FOLDER, one device sending --hot-share of them",
    )
    tuning.add_argument("--hot-share", type=float, default=0.5)
    tuning.add_argument("--master", default="local[2]")
    tuning.add_argument("--partitions", type=int, default=4)
    tuning.add_argument("--markdown", type=Path, help="write the table here (else printed)")
    tuning.add_argument("--json", type=Path, help="write the measurements as JSON")
    tuning.set_defaults(run=_tuning)


def files(paths: list[Path], fmt: str | None) -> list[Path]:
    """The pipeline's files (hotpath.pipeline.inputs.discover), or with ``fmt`` a folder's
    files of that format only."""
    from hotpath.pipeline.errors import PipelineError
    from hotpath.pipeline.inputs import discover

    if fmt is None:
        return discover(paths)
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            chosen = sorted(f for f in path.glob(f"*.{fmt}") if f.is_file())
            if not chosen:
                raise PipelineError(f"{path}: no .{fmt} files in it")
            found += chosen
        else:
            found += discover([path])
            if path.suffix != f".{fmt}":
                raise PipelineError(f"{path}: not a .{fmt} file (--format {fmt})")
    return found


def _spark(args: argparse.Namespace) -> int:
    from hotpath.backends import BackendUnavailable
    from hotpath.distributed.spark import job
    from hotpath.pipeline.errors import PipelineError, RejectsWriter
    from hotpath.pipeline.summary import print_summary

    settings = job.Settings(
        master=args.master,
        backend=args.backend,
        reader=args.reader,
        strategy=args.strategy,
        partitions=args.partitions,
        on_bad_row=args.on_bad_row,
        ui=args.ui,
        conf=tuple(args.conf),
    )
    try:
        if args.partitions < 1:
            raise PipelineError("--partitions must be at least 1")
        report = job.run(files(args.paths, args.format), settings)
    except (PipelineError, BackendUnavailable, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) else error
        print(f"hotpath spark: error: {message}", file=sys.stderr)
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


def _tuning(args: argparse.Namespace) -> int:
    import json

    from hotpath.distributed.spark import session, tuning
    from hotpath.pipeline.errors import PipelineError
    from hotpath.pipeline.inputs import discover

    why = session.unavailable()
    if why:
        print(f"hotpath spark-tuning: error: Spark is unavailable: {why}", file=sys.stderr)
        return 1
    if args.skewed is not None:
        tuning.write_skewed(args.folder, int(args.skewed), hot_share=args.hot_share)
    try:
        found = [str(f) for f in discover([args.folder])]
    except PipelineError as error:
        print(f"hotpath spark-tuning: error: {error}", file=sys.stderr)
        return 1
    spark = session.start(args.master, args.partitions, ui=True, name="hotpath-tuning")
    try:
        rows, steps = tuning.measure(spark, found, args.partitions)
    finally:
        spark.stop()
    table = tuning.markdown(steps, rows, args.hot_share, args.master)
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table, encoding="utf-8")
        print(f"wrote {args.markdown}")
    else:
        print(table)
    if args.json is not None:
        args.json.write_text(json.dumps(
            {"rows": rows, "master": args.master, "hot_share": args.hot_share,
             "steps": [{"name": s.name, "what": s.what, "seconds": s.seconds,
                        **s.measured.to_dict()} for s in steps]}, indent=1))  # fmt: skip
    return 0
