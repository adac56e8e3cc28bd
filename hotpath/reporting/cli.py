"""``hotpath report``, registered with the ``hotpath`` command by ``hotpath.cli``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report",
        help="write RESULTS.md and charts from saved benchmark runs",
        description="Write RESULTS.md, speedup.png and (given a --hotpath-scaling run) "
        "scaling.png from runs `pytest bench/` saved. Without RUN.json: the newest run "
        "in the storage and the newest scaling run there.",
    )
    parser.add_argument(
        "runs",
        nargs="*",
        type=Path,
        metavar="RUN.json",
        help="saved runs to report: one run and/or one scaling run",
    )
    _output_options(parser)
    parser.set_defaults(run=_report)

    performance = commands.add_parser(
        "performance",
        help="write PERFORMANCE.md and charts from saved pipeline benchmark runs",
        description="Write PERFORMANCE.md, pipeline-ladder.png and pipeline-memory.png from "
        "runs of `pytest bench/ --hotpath-pipeline SIZES`. Without RUN.json: for each size, "
        "the newest saved run that has it.",
    )
    performance.add_argument("runs", nargs="*", type=Path, metavar="RUN.json")
    _output_options(performance)
    performance.set_defaults(run=_performance)
    register_compare(commands)


def register_compare(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare",
        help="what changed between two saved benchmark runs, with confidence intervals",
        description="Per case timed in both runs: the medians, the change with a 95%% "
        "bootstrap confidence interval from the saved rounds, the speedup over python_ref "
        "in each, and whether the change is significant. Without RUN.json: the two newest "
        "saved runs.",
    )
    compare.add_argument("runs", nargs="*", type=Path, metavar="RUN.json", help="before, after")
    compare.add_argument("--storage", type=Path, default=Path(".benchmarks"))
    compare.set_defaults(run=_compare)


# A user's reports go where git does not look (.benchmarks/ is ignored): a checkout's committed
# reports change only when someone means to publish new ones.
LOCAL = Path(".benchmarks") / "reports"
PUBLISHED = Path("reports")


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        type=Path,
        default=Path(".benchmarks"),
        help="pytest-benchmark's storage folder (default: .benchmarks)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--out", type=Path, default=LOCAL, help=f"folder to write into (default: {LOCAL})"
    )
    where.add_argument(
        "--publish",
        dest="out",
        action="store_const",
        const=PUBLISHED,
        help=f"write into {PUBLISHED}/, the reports committed with the project",
    )


def _write(command: str, write: Callable[[Path, Path, Sequence[Path]], list[Path]]) -> Any:
    """A command that writes a report: its errors printed plainly, its files listed."""

    def run(args: argparse.Namespace) -> int:
        from hotpath.reporting.saved import ReportError

        try:
            written = write(args.storage, args.out, args.runs)
        except ReportError as error:
            print(f"hotpath {command}: error: {error}", file=sys.stderr)
            return 1
        for path in written:
            print(f"wrote {path}")
        return 0

    return run


def _report(args: argparse.Namespace) -> int:
    from hotpath.reporting.report import write_report

    return _write("report", write_report)(args)


def _performance(args: argparse.Namespace) -> int:
    from hotpath.reporting.performance import write_performance

    return _write("performance", write_performance)(args)


def _compare(args: argparse.Namespace) -> int:
    from rich.console import Console

    from hotpath.reporting import compare
    from hotpath.reporting.saved import ReportError, load_run, saved_runs

    try:
        if args.runs:
            if len(args.runs) != 2:
                raise ReportError("give two runs, before and after, or none")
            runs = [load_run(p) for p in args.runs]
        else:
            runs = saved_runs(args.storage)[-2:]
            if len(runs) < 2:
                raise ReportError(f"fewer than two saved runs in {args.storage}")
    except ReportError as error:
        print(f"hotpath compare: error: {error}", file=sys.stderr)
        return 1
    before, after = runs
    changes = compare.compare(before.benchmarks, after.benchmarks)
    console = Console(width=max(Console().width, 100))
    title = f"{before.path.name} ({before.date}) → {after.path.name} ({after.date})"
    console.print(compare.table(changes, title))
    console.print(compare.summary(changes))
    return 0
