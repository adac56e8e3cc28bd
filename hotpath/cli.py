"""The ``hotpath`` command: a thin dispatcher.

The core's own commands (``backends``, ``generate``) are defined here; every role
registers its subcommands from its own ``cli`` module (``ROLES``), so adding a role means
adding one name below. Handlers import their machinery when they run, so ``hotpath
--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import hotpath

# Each module has register(commands): it adds its subcommands to the parser.
ROLES = (
    "hotpath.pipeline.cli",
    "hotpath.reporting.cli",
    "hotpath.runs.cli",
    "hotpath.wheels.cli",
    "hotpath.distributed.spark.cli",
)


def _backends(_: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from hotpath import backends, threads

    table = Table(title=f"hotpath {hotpath.__version__} backends")
    for column in ("backend", "technology", "built with", "status"):
        table.add_column(column)
    for found in backends.statuses():
        state = "[green]available[/]" if found.available else f"[red]unavailable[/]: {found.reason}"
        technology = found.backend.technology
        if found.backend.parallel:
            technology += f" ({threads.count()} threads, {threads.ENV}; xxh64 sequential)"
        table.add_row(found.backend.name, technology, found.version, state)
    Console().print(table)
    return 0 if all(found.available for found in backends.statuses()) else 1


def _generate(args: argparse.Namespace) -> int:
    from hotpath import data

    readings = data.generate(args.readings, args.devices, seed=args.seed)
    if args.files is None:  # one file, as the benchmark and the other interpreters read it
        if args.ids == "sparse":
            readings = data.with_sparse_ids(readings, seed=args.seed)
        readings.to_csv(args.output)
        print(
            f"wrote {len(readings):,} readings of {readings.n_devices:,} devices to {args.output}"
        )
        return 0
    if args.ids != "dense":  # a folder for the pipeline: a real fleet's ids are sparse
        readings = data.with_sparse_ids(readings, seed=args.seed)
    written = data.write_files(readings, args.output, args.files)
    print(
        f"wrote {len(readings):,} readings of {readings.n_devices:,} devices "
        f"({args.ids or 'sparse'} ids) to {len(written)} files in {args.output}"
    )
    return 0


def _register_core(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("backends", help="list every backend, its toolchain and status")
    listing.set_defaults(run=_backends)

    generating = commands.add_parser(
        "generate",
        help="write deterministic readings: one CSV file, or --files N of them in a folder",
    )
    generating.add_argument("output", help="CSV file to write, or with --files a folder")
    generating.add_argument("--readings", type=int, default=100_000, help="in all files")
    generating.add_argument("--devices", type=int, default=1_000)
    generating.add_argument(
        "--files", type=int, help="write a folder of this many files (the pipeline's input)"
    )
    generating.add_argument(
        "--ids",
        choices=("dense", "sparse"),
        help="device ids 0..devices-1 (dense), or spread over [0, 2**32) as serial numbers "
        "are (sparse); default: dense for one file, sparse for --files",
    )
    generating.add_argument("--seed", type=int, default=20260101)
    generating.set_defaults(run=_generate)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hotpath", description=hotpath.__doc__.split("\n\n")[0])
    top.add_argument("--version", action="version", version=hotpath.__version__)
    commands = top.add_subparsers(required=True, metavar="command")
    _register_core(commands)
    for role in ROLES:
        importlib.import_module(role).register(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
