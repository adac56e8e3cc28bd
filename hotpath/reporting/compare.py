"""``hotpath compare``: what changed between two benchmark runs, and how sure that is.

For every case timed in both runs (a kernel case timed in blocks counts once, its blocks'
rounds together): the median before and after, the change, and a 95% confidence interval of
that change by bootstrap -- resampling each run's saved rounds, with replacement, and taking
the ratio of the resampled medians, many times over -- and the same for the case's speedup
over python_ref. A change whose interval holds 1× is reported as *no significant change*,
however large its point estimate: the noise between rounds explains it. pyperf's
``compare_to`` is the model; a bootstrap of medians needs no assumption about how timings are
distributed (they are skewed, with a long tail of interrupted rounds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich import box
from rich.table import Table

from hotpath.records import LIMIT_GROUP
from hotpath.reporting.rows import REFERENCE, format_seconds, merge_blocks, round_seconds

RESAMPLES = 2000
LEVEL = 0.95
# Rounds used per case: a case's rounds are subsampled to at most this many (at random,
# without replacement) before resampling, so that a microsecond kernel's 100,000 rounds do
# not make the bootstrap slow; the interval then is a little wider than it could be.
MAX_ROUNDS = 2000
SEED = 20261201  # the same intervals every time for the same runs


@dataclass
class Change:
    group: str
    implementation: str
    before: float  # median seconds
    after: float
    ratio: float  # after / before: below 1 is faster
    interval: tuple[float, float] | None  # of ratio; None without saved rounds
    speedup_before: float | None = None  # over python_ref, in each run
    speedup_after: float | None = None
    speedup_interval: tuple[float, float] | None = None  # of speedup_after / speedup_before

    @property
    def verdict(self) -> str:
        if self.interval is None:
            return "not judged"  # no rounds saved
        low, high = self.interval
        if low <= 1.0 <= high:
            return "no change"  # none the noise does not explain
        return "faster" if self.ratio < 1 else "slower"


def _cases(benchmarks: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for bench in merge_blocks(benchmarks):
        info = bench.get("extra_info", {})
        if "stats" not in bench or bench.get("group") == LIMIT_GROUP:
            continue
        if info.get("parity", "ok") != "ok" and info.get("kind") != "pipeline":
            continue  # a wrong answer was never timed
        out[(bench["group"], info.get("implementation", bench.get("name", "?")))] = bench
    return out


def _rounds(bench: dict[str, Any], rng: np.random.Generator) -> np.ndarray | None:
    data = round_seconds(bench)
    if not data:
        return None
    array = np.asarray(data, dtype=np.float64)
    if len(array) > MAX_ROUNDS:
        array = rng.choice(array, MAX_ROUNDS, replace=False)
    return array


def _medians(rounds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RESAMPLES bootstrap medians of ``rounds``."""
    picks = rng.integers(0, len(rounds), size=(RESAMPLES, len(rounds)))
    return np.median(rounds[picks], axis=1)


def _interval(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[Change]:
    """Every case in both runs, in the order of the second."""
    rng = np.random.default_rng(SEED)
    a, b = _cases(before), _cases(after)
    changes = []
    boot: dict[tuple[str, str, str], np.ndarray] = {}
    for key in b:
        if key not in a:
            continue
        old, new = a[key]["stats"]["median"], b[key]["stats"]["median"]
        change = Change(key[0], key[1], old, new, new / old, None)
        ra, rb = _rounds(a[key], rng), _rounds(b[key], rng)
        if ra is not None and rb is not None:
            boot[("a", *key)], boot[("b", *key)] = _medians(ra, rng), _medians(rb, rng)
            change.interval = _interval(boot[("b", *key)] / boot[("a", *key)])
        changes.append(change)
    by_key = {(c.group, c.implementation): c for c in changes}
    for c in changes:  # speedups over python_ref in each run, where both have it
        ref = by_key.get((c.group, REFERENCE))
        if ref is None or c.implementation == REFERENCE:
            continue
        c.speedup_before = ref.before / c.before
        c.speedup_after = ref.after / c.after
        keys = [(run, c.group, name) for run in "ab" for name in (REFERENCE, c.implementation)]
        if all(k in boot for k in keys):
            ref_a, mine_a, ref_b, mine_b = (boot[k] for k in keys)
            c.speedup_interval = _interval((ref_b / mine_b) / (ref_a / mine_a))
    return changes


def _percent(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f}%"


def table(changes: Sequence[Change], title: str) -> Table:
    out = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False)
    out.add_column("case", no_wrap=True, min_width=20)
    out.add_column("implementation", overflow="fold", min_width=12, max_width=16)
    out.add_column("before", justify="right", no_wrap=True)
    out.add_column("after", justify="right", no_wrap=True)
    out.add_column(f"change [{LEVEL:.0%} CI, %]", justify="right", no_wrap=True)
    out.add_column("×ref", justify="right", no_wrap=True)
    out.add_column("verdict", no_wrap=True, min_width=10)
    group = None
    for c in changes:
        if group is not None and c.group != group:
            out.add_section()
        shown, group = ("" if c.group == group else c.group), c.group
        interval = ""
        if c.interval:
            low, high = ((v - 1) * 100 for v in c.interval)
            interval = f" [{low:+.1f},{high:+.1f}]"
        speedup = ""
        if c.speedup_before is not None and c.speedup_after is not None:
            speedup = f"{c.speedup_before:,.1f}→{c.speedup_after:,.1f}"
            if c.speedup_interval is not None:
                low, high = c.speedup_interval
                speedup += "" if low <= 1.0 <= high else " *"
        verdict = c.verdict
        colour = {"faster": "green", "slower": "red"}.get(verdict, "")
        out.add_row(
            shown,
            c.implementation,
            format_seconds(c.before),
            format_seconds(c.after),
            _percent(c.ratio) + interval,
            speedup,
            f"[{colour}]{verdict}[/]" if colour else verdict,
        )
    return out


def summary(changes: Sequence[Change]) -> str:
    judged = [c for c in changes if c.interval is not None]
    faster = sum(c.verdict == "faster" for c in judged)
    slower = sum(c.verdict == "slower" for c in judged)
    return (
        f"{len(changes)} cases in both runs: {faster} significantly faster, {slower} "
        f"significantly slower, {len(judged) - faster - slower} without a significant change"
        + (
            f", {len(changes) - len(judged)} without saved rounds"
            if len(judged) < len(changes)
            else ""
        )
        + ". A change is significant when its interval excludes 0; × python_ref: the "
        "speedup over python_ref before → after (×ref; * a significant change of it)."
    )
