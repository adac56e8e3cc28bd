"""``hotpath instructions``, registered with the ``hotpath`` command by ``hotpath.cli``."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    from hotpath.runs import instructions

    parser = commands.add_parser(
        "instructions",
        help="instructions per row of every kernel and backend, counted by callgrind",
        description=(instructions.__doc__ or "").split("\n\n")[1].replace("\n", " "),
    )
    instructions.add_arguments(parser)
    parser.set_defaults(run=instructions.run)
