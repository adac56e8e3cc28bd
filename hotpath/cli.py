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
ROLES = ("hotpath.reporting.cli", "hotpath.wheels.cli")


def _backends(_: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

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


def _register_core(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("backends", help="list every backend, its toolchain and status")
    listing.set_defaults(run=_backends)

    generating = commands.add_parser("generate", help="write a deterministic readings CSV")
    generating.add_argument("output", help="CSV file to write")
    generating.add_argument("--readings", type=int, default=100_000)
    generating.add_argument("--devices", type=int, default=1_000)
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
