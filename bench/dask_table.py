"""The Dask group's table in the benchmark's summary (bench/test_dask.py's rows)."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def terminal_table(timed: list[dict[str, Any]]) -> Table:
    """Per size: each variant's median, readings per second and its ratio to the built-ins;
    the cluster's start-up, timed apart, on a line of its own."""
    table = Table(title="hotpath on Dask: LocalCluster of 2 workers, timed on the running cluster")
    for c in ("size", "case", "what", "median", "spread", "readings/s", "vs built-ins", "parity"):
        table.add_column(c, justify="right" if c in ("median", "spread", "readings/s") else "left")
    by_size: dict[int, list[dict[str, Any]]] = {}
    for row in timed:
        by_size.setdefault(row["extra_info"]["rows"], []).append(row)
    for rows, members in sorted(by_size.items()):
        table.add_section()
        builtins = next(
            (m["stats"]["median"] for m in members
             if m["extra_info"]["implementation"] == "dask-builtins"),
            None,
        )  # fmt: skip
        for m in members:
            info, median = m["extra_info"], m["stats"]["median"]
            startup = info["implementation"] == "dask-startup"
            ratio = "" if startup or builtins is None else f"{builtins / median:.2f}×"
            parity = info.get("parity", "")
            table.add_row(
                "" if startup else f"{rows:,}", info["implementation"], info["label"],
                f"{median:.3f} s", f"{m['stats']['iqr'] / median:.0%}",
                "" if startup else f"{rows / median:,.0f}", ratio,
                "" if startup else ("exact" if info.get("exact") else "totals within 1e-12")
                if parity == "ok" else parity,
            )  # fmt: skip
    return table
