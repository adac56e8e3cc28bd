"""Markdown tables, for every report hotpath writes (RESULTS.md, WHEELS.md, PERFORMANCE.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def markdown_table(
    header: Sequence[str], align: str, body: Iterable[Sequence[object]]
) -> list[str]:
    """A Markdown table's lines; ``align`` has one "l" or "r" per column."""

    def cell(text: object) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in body]
    return lines
