"""The ``hotpath`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

import hotpath


def _backends(_: argparse.Namespace) -> int:
    from hotpath import backends

    table = Table(title=f"hotpath {hotpath.__version__} backends")
    for column in ("backend", "technology", "built with", "status"):
        table.add_column(column)
    for found in backends.statuses():
        state = "[green]available[/]" if found.available else f"[red]unavailable[/]: {found.reason}"
        table.add_row(found.backend.name, found.backend.technology, found.version, state)
    Console().print(table)
    return 0 if all(found.available for found in backends.statuses()) else 1


def _generate(args: argparse.Namespace) -> int:
    from hotpath import data

    readings = data.generate(args.readings, args.devices, seed=args.seed)
    readings.to_csv(args.output)
    print(f"wrote {len(readings):,} readings of {readings.n_devices:,} devices to {args.output}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from hotpath import report

    try:
        written = report.write_report(args.storage, args.out, args.runs)
    except report.ReportError as error:
        print(f"hotpath report: error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotpath", description=hotpath.__doc__)
    parser.add_argument("--version", action="version", version=hotpath.__version__)
    commands = parser.add_subparsers(required=True, metavar="command")

    listing = commands.add_parser("backends", help="list every backend, its toolchain and status")
    listing.set_defaults(run=_backends)

    generating = commands.add_parser("generate", help="write a deterministic readings CSV")
    generating.add_argument("output", help="CSV file to write")
    generating.add_argument("--readings", type=int, default=100_000)
    generating.add_argument("--devices", type=int, default=1_000)
    generating.add_argument("--seed", type=int, default=20260101)
    generating.set_defaults(run=_generate)

    reporting = commands.add_parser(
        "report",
        help="write RESULTS.md and charts from saved benchmark runs",
        description="Write RESULTS.md, speedup.png and (given a --hotpath-scaling run) "
        "scaling.png from runs `pytest bench/` saved. Without RUN.json: the newest run "
        "in the storage and the newest scaling run there.",
    )
    reporting.add_argument(
        "runs",
        nargs="*",
        type=Path,
        metavar="RUN.json",
        help="saved runs to report: one run and/or one scaling run",
    )
    reporting.add_argument(
        "--storage",
        type=Path,
        default=Path(".benchmarks"),
        help="pytest-benchmark's storage folder (default: .benchmarks)",
    )
    reporting.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        help="folder to write the report into (default: reports)",
    )
    reporting.set_defaults(run=_report)

    from hotpath import wheels

    wheels.add_parser(commands)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
