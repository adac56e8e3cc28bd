"""Numbers you can trust: load awareness, cases timed in blocks, run-to-run comparison."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from hotpath.cli import main
from hotpath.reporting import compare, rows, summary

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _machine_load() -> Any:
    spec = importlib.util.spec_from_file_location("machine_load", BENCH / "machine_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("machine_load", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _stat(path: Path, user: int, system: int, idle: int, steal: int) -> Path:
    path.write_text(f"cpu  {user} 0 {system} {idle} 0 0 0 {steal} 0 0\ncpu0 1 2 3 4\n")
    return path


def test_other_processes_cpu_is_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hog on another core, simulated: 2 s of wall time in which the system's CPUs were busy
    for 3 s while this process used 1 s -- others used one core; 10% of ticks stolen."""
    load = _machine_load()
    ticks = 100
    monkeypatch.setattr(load.os, "sysconf", lambda name: ticks)
    (tmp_path / "loadavg").write_text("1.50 1.00 0.50 2/300 999\n")
    before = load.Sample(10.0, 0, 0, 0, own=5.0, loadavg=0.5)
    stat = _stat(tmp_path / "stat", user=200, system=100, idle=60, steal=40)
    after = load.sample(stat, tmp_path / "loadavg")
    after = load.Sample(12.0, after.busy, after.steal, after.total, own=6.0, loadavg=after.loadavg)
    found = load.between(before, after)
    assert found["others_cores"] == pytest.approx(1.0)
    assert found["steal"] == pytest.approx(40 / 400)
    assert (found["loadavg_before"], found["loadavg_after"]) == (0.5, 1.5)
    assert rows.busy({"load": found}) == "others used 1.0 cores, 10% of the CPU stolen"
    assert rows.busy({"load": {**found, "others_cores": 0.1, "steal": 0.0}}) == ""


def test_without_proc_nothing_is_claimed(tmp_path: Path) -> None:
    load = _machine_load()
    missing = load.sample(tmp_path / "no-stat", tmp_path / "no-loadavg")
    assert missing.busy is None and missing.loadavg is None
    assert load.between(missing, missing)["others_cores"] is None


def bench(impl: str, data: list[float], group: str = "aggregate · 1k rows", **extra: Any) -> dict:
    return {
        "group": group,
        "name": f"test_kernel[{impl}]",
        "extra_info": {"implementation": impl, "kind": "backend", "kernel": "aggregate",
                       "size": 1000, "input_bytes": 12000, "timed": "", "parity": "ok", **extra},
        "stats": rows.statistics_of(data),
    }  # fmt: skip


def test_blocks_merge_into_one_row() -> None:
    blocks = [
        bench("cffi_ext", [1.0, 1.1], block=b, blocks=3, load={"others_cores": b / 10})
        for b in (1, 2, 3)
    ]
    blocks[2]["stats"] = rows.statistics_of([2.0, 2.2])  # the machine got busy
    (merged,) = rows.merge_blocks(blocks)
    assert merged["stats"]["rounds"] == 6
    assert merged["stats"]["median"] == pytest.approx(1.1)
    assert merged["extra_info"]["block_medians"] == [1.05, 1.05, 2.1]
    assert merged["extra_info"]["load"] == {"others_cores": 0.3}  # the busiest block's
    (row,) = rows.rows(blocks)
    assert row.rounds == 6


def test_summary_warns_about_a_busy_machine() -> None:
    quiet = bench("cffi_ext", [1e-3] * 5, load={"others_cores": 0.0, "steal": 0.0})
    busy = bench("rust_ext", [1e-3] * 5, load={"others_cores": 0.9, "steal": 0.0})
    console = Console(record=True, width=100)
    console.print(summary.summary_table([quiet, busy], [], {}))
    for line in summary.load_lines([quiet, busy]):
        console.print(line)
    text = console.export_text()
    rust = next(line for line in text.splitlines() if "rust_ext" in line)
    cffi = next(line for line in text.splitlines() if "cffi_ext" in line)
    assert "⚠" in rust and "⚠" not in cffi
    words = " ".join(text.split())
    assert "1 of the rows were timed while other processes used the CPU" in words
    assert "rust_ext aggregate · 1k rows, others used 0.9 cores" in words
    assert max(len(line) for line in text.splitlines()) <= 100


def _noisy(median: float, n: int = 400, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(median * (1 + 0.05 * rng.standard_normal(n)))


def test_comparison_says_what_is_significant() -> None:
    before = [bench("python_ref", _noisy(1.0, seed=1)), bench("cffi_ext", _noisy(0.01, seed=2)),
              bench("rust_ext", _noisy(0.01, seed=3))]  # fmt: skip
    after = [bench("python_ref", _noisy(1.0, seed=4)), bench("cffi_ext", _noisy(0.012, seed=5)),
             bench("rust_ext", _noisy(0.01, seed=6))]  # fmt: skip
    changes = {c.implementation: c for c in compare.compare(before, after)}
    assert changes["cffi_ext"].verdict == "slower"
    assert changes["cffi_ext"].interval[0] > 1.1  # about 1.2: the interval holds it
    assert changes["rust_ext"].verdict == "no change"
    assert changes["python_ref"].verdict == "no change"
    _, high = changes["cffi_ext"].speedup_interval
    assert high < 1  # its speedup over python_ref fell, significantly
    assert compare.compare(before, after)[1].speedup_before == pytest.approx(100, rel=0.05)


def test_comparison_without_saved_rounds_judges_nothing() -> None:
    old, new = bench("cffi_ext", [1.0]), bench("cffi_ext", [2.0])
    old["stats"].pop("data")
    (change,) = compare.compare([old], [new])
    assert change.verdict == "not judged" and change.ratio == 2.0


def test_compare_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "storage" / "Linux-CPython-3.12-64bit"
    folder.mkdir(parents=True)
    for name, median, when in (("0001_a.json", 0.01, "2026-12-01T10:00:00"),
                               ("0002_b.json", 0.02, "2026-12-01T11:00:00")):  # fmt: skip
        run = {"benchmarks": [bench("cffi_ext", _noisy(median))], "datetime": when}
        (folder / name).write_text(json.dumps(run))
    assert main(["compare", "--storage", str(tmp_path / "storage")]) == 0
    out = capsys.readouterr().out
    assert "0001_a.json" in out and "0002_b.json" in out and "slower" in out
    assert main(["compare", "--storage", str(tmp_path / "empty")]) == 1


def test_instruction_counts_difference_two_regions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The arithmetic on callgrind's dumps: region i is dump 2i+2, the kernel's minus the
    no-op's, per call, per row (per byte for xxh64)."""
    import subprocess

    from hotpath.runs import instructions

    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess:
        out = Path(next(c for c in command if c.startswith("--callgrind-out-file=")).split("=")[1])
        totals = [400_000_000]  # dump 1: start-up
        for k, _kernel in enumerate(instructions.KERNELS):
            totals += [500, 7, 500 + (k + 1) * 5_000_000, 9]  # no-op, gap, kernel, gap
        for j, total in enumerate(totals, start=1):
            Path(f"{out}.{j}").write_text(f"events: Ir\nsummary: {total}\n")
        plan = {"kernels": list(instructions.KERNELS), "calls": 5}
        return subprocess.CompletedProcess(command, 0, json.dumps(plan) + "\n", "")

    monkeypatch.setattr(instructions.subprocess, "run", fake_run)
    found = instructions.count("cffi_ext", rows=10_000, buffer_size=65_536)
    assert found["aggregate"]["per_call"] == 1_000_000
    assert found["aggregate"]["per_unit"] == 100
    assert found["xxh64"]["per_unit"] == 4_000_000 / 65_536
