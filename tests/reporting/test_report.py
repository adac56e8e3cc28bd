"""`hotpath report` on small synthetic saved runs in pytest-benchmark's format."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from hotpath import records
from hotpath.cli import main
from hotpath.reporting import charts, saved

MISMATCH = "mismatch: sum differs at device 3"
MACHINE = {
    "cpu_model": "Test CPU 9000",
    "cores": 8,
    "python": "CPython 3.12.1",
    "numpy": "2.1.0",
    "toolchains": {"gcc": "gcc 13.2.0", "rustc": "rustc 1.80.0"},
    "hotpath": "0.1.0",
    "backends": {"python_ref": "CPython 3.12.1", "rust_ext": "rustc 1.80.0, pyo3 0.22"},
}


def bench(
    implementation: str, kind: str, kernel: str, size: int, median: float, parity: str = "ok"
) -> dict[str, Any]:
    group = records.LIMIT_GROUP if kind == "limit" else records.group(kernel, size)
    info = {
        "implementation": implementation,
        "kind": kind,
        "kernel": kernel,
        "size": size,
        "input_bytes": records.input_bytes(kernel, size),
        "timed": f"{implementation} timing note",
    }
    if kind != "limit":
        info["parity"] = parity
    return {
        "group": group,
        "name": f"test_kernel[{kernel}-{size}-{implementation}]",
        "fullname": f"bench/test_bench.py::test_kernel[{kernel}-{size}-{implementation}]",
        "stats": {
            "median": median,
            "iqr": median / 10,
            "min": median * 0.9,
            "max": median * 1.2,
            "mean": median,
            "rounds": 12,
        },
        "extra_info": info,
    }


LIMIT = bench("numpy sum", "limit", "memory read", 2**29, 0.05)  # ~10.7 GB/s


def saved_run(when: str, benchmarks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "machine_info": {"node": "test", "hotpath": MACHINE},
        "commit_info": {"id": "0123456789abcdef", "dirty": False},
        "datetime": when,
        "version": "5.1.0",
        "benchmarks": benchmarks,
    }


ORDINARY = saved_run(
    "2026-01-02T03:04:05+00:00",
    [
        bench("python_ref", "backend", "aggregate", 100_000, 40e-3),
        bench("numpy_impl", "backend", "aggregate", 100_000, 1e-3),
        bench("rust_ext", "backend", "aggregate", 100_000, 0.2e-3),
        bench("cffi_ext", "backend", "aggregate", 100_000, 0.1e-3, parity=MISMATCH),
        bench("pandas", "peer", "aggregate", 100_000, 2e-3),
        bench("python_ref", "backend", "xxh64", 2**20, 90e-3),
        bench("numba_impl", "backend", "xxh64", 2**20, 0.1e-3),
        bench("xxhash", "peer", "xxh64", 2**20, 0.12e-3),
        bench("python_ref", "backend", "duplicates", 5_000, 2e-3),
        bench("pairwise_python", "algorithm", "duplicates", 5_000, 1.0),
        LIMIT,
    ],
)
SCALING = saved_run(
    "2026-01-03T00:00:00+00:00",
    [
        bench(name, "backend", kernel, size, per_row * size + 2e-6)
        for size in (10_000, 100_000, 1_000_000, 10_000_000)
        for kernel in ("aggregate", "duplicates", "hash_rows")
        for name, per_row in (("numpy_impl", 14e-9), ("rust_ext", 2.5e-9))
    ]
    + [LIMIT],
)


def write(storage: Path, name: str, run: dict[str, Any]) -> Path:
    path = storage / "Linux-CPython-3.12-64bit" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One report from a storage holding an ordinary run and a (newer) scaling run."""
    storage = tmp_path_factory.mktemp("storage")
    write(storage, "0001_abc.json", ORDINARY)
    write(storage, "0002_abc.json", SCALING)
    out = tmp_path_factory.mktemp("reports")
    assert main(["report", "--storage", str(storage), "--out", str(out)]) == 0
    return out


def table_row(markdown: str, group: str, implementation: str) -> list[str]:
    """The cells of one implementation's row in one group's table."""
    section = markdown.split(f"### {group}\n", 1)[1].split("\n### ", 1)[0]
    line = next(line for line in section.splitlines() if line.startswith(f"| `{implementation}`"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_results_md_lists_every_group_implementation_and_parity(written: Path) -> None:
    text = (written / "RESULTS.md").read_text(encoding="utf-8")
    for bench_ in ORDINARY["benchmarks"]:
        assert f"### {bench_['group']}\n" in text
        assert f"`{bench_['extra_info']['implementation']}`" in text
    assert "2026-01-02 03:04 UTC" in text and "Test CPU 9000" in text and "8 cores" in text
    assert "rustc 1.80.0, pyo3 0.22" in text and "gcc 13.2.0" in text
    assert table_row(text, "aggregate · 100k rows", "rust_ext")[-1] == "✓"
    assert table_row(text, "aggregate · 100k rows", "cffi_ext")[-1] == f"✗ {MISMATCH}"
    assert "`pandas`: pandas timing note" in text
    assert "![Speedup over pure Python per implementation](speedup.png)" in text
    assert "](scaling.png)" in text


def test_speedups_are_results_ratios_and_a_mismatch_gets_none(written: Path) -> None:
    text = (written / "RESULTS.md").read_text(encoding="utf-8")
    columns = [
        "implementation",
        "kind",
        "median",
        "spread",
        "vs python_ref",
        "vs numpy_impl",
        "GB/s",
        "of limit",
        "parity",
    ]
    rust = dict(zip(columns, table_row(text, "aggregate · 100k rows", "rust_ext")))
    assert rust["vs python_ref"] == "200×" and rust["vs numpy_impl"] == "5.0×"
    assert rust["GB/s"] == "6.00"  # 12 B/row * 100k rows / 0.2 ms
    cffi = dict(zip(columns, table_row(text, "aggregate · 100k rows", "cffi_ext")))
    assert cffi["vs python_ref"] == cffi["vs numpy_impl"] == cffi["GB/s"] == "–"
    pairwise = dict(zip(columns, table_row(text, "duplicates · 5k rows", "pairwise_python")))
    assert pairwise["vs python_ref"] == "0.002×"


def test_speedup_chart_draws_no_bar_for_a_mismatch() -> None:
    figure = charts.speedup_figure(saved.Run(Path("run.json"), ORDINARY))
    assert figure is not None
    panel = next(ax for ax in figure.axes if ax.get_title(loc="left") == "aggregate · 100k rows")
    labels = [t.get_text() for t in panel.get_yticklabels()]
    assert labels[-1] == "cffi_ext"  # listed last, in red, without a bar
    assert len(panel.containers) == 3  # bars: numpy_impl, rust_ext, pandas
    texts = [t.get_text() for t in panel.texts]
    assert "200×" in texts and f"✗ {MISMATCH} — no speedup" in texts
    assert not any(t.startswith("400") for t in texts)  # cffi's would-be speedup


def test_scaling_table_and_newest_ordinary_run_reported(written: Path) -> None:
    text = (written / "RESULTS.md").read_text(encoding="utf-8")
    # The scaling run is newer, yet the ordinary run is the one reported above it.
    assert "Run of **2026-01-02 03:04 UTC**" in text
    scaling = text.split("## Scaling", 1)[1]
    assert "2026-01-03 00:00 UTC" in scaling
    for kernel in ("aggregate", "duplicates", "hash_rows"):
        assert f"### {kernel}\n" in scaling
    header = next(line for line in scaling.splitlines() if line.startswith("| implementation"))
    assert header == "| implementation | 10k rows | 100k rows | 1M rows | 10M rows |"
    assert "25 ms (2.5 ns/row)" in scaling  # rust_ext at 10M rows


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("name", ["speedup.png", "scaling.png"])
def test_charts_are_valid_pngs_of_plausible_size(written: Path, name: str) -> None:
    path = written / name
    width, height = png_size(path)
    assert 1200 <= width <= 4000 and 500 <= height <= 4000
    assert path.stat().st_size > 30_000  # drawn, not blank


def test_explicit_run_without_scaling_run(tmp_path: Path) -> None:
    run = write(tmp_path / "storage", "0001_abc.json", ORDINARY)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "scaling.png").write_bytes(b"an earlier chart")
    assert main(["report", "--out", str(out), str(run)]) == 0
    # a chart this run cannot replace is kept, not deleted, and not linked
    assert (out / "scaling.png").read_bytes() == b"an earlier chart"
    assert "## Scaling" not in (out / "RESULTS.md").read_text(encoding="utf-8")


def test_a_users_report_leaves_the_committed_reports_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = tmp_path / ".benchmarks"
    write(storage, "0001_abc.json", ORDINARY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "RESULTS.md").write_text("committed")
    assert main(["report"]) == 0
    assert (tmp_path / "reports" / "RESULTS.md").read_text() == "committed"
    assert (tmp_path / ".benchmarks" / "reports" / "RESULTS.md").exists()
    assert main(["report", "--publish"]) == 0
    assert (tmp_path / "reports" / "RESULTS.md").read_text() != "committed"


@pytest.mark.parametrize("make_folder", [False, True])
def test_empty_storage_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_folder: bool
) -> None:
    storage = tmp_path / ".benchmarks"
    if make_folder:
        (storage / "Linux-CPython-3.12-64bit").mkdir(parents=True)
    assert main(["report", "--storage", str(storage), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"no saved runs in {storage}: run `pytest bench/` first" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


# -- every case, timed or not ------------------------------------------------------------------

UNTIMED = "mismatch: total[7]: got 1.0, want 2.0 (1 differ)"


def case(implementation: str, kind: str, kernel: str, size: int, status: str) -> dict[str, Any]:
    """One saved case (``hotpath_cases``), as bench/conftest.py writes it."""
    return {
        "implementation": implementation,
        "kind": kind,
        "kernel": kernel,
        "size": size,
        "group": records.LIMIT_GROUP if kind == "limit" else records.group(kernel, size),
        "status": status,
    }


def with_cases(run: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    timed = [
        case(i["implementation"], i["kind"], i["kernel"], i["size"], i.get("parity", "ok"))
        for i in (b["extra_info"] for b in run["benchmarks"])
    ]
    return {**run, "hotpath_cases": timed + cases}


WITH_UNTIMED = with_cases(
    ORDINARY,
    [
        case("cython_ext", "backend", "aggregate", 100_000, UNTIMED),
        case("cython_ext", "backend", "hash_rows", 100_000, "error: TypeError: boom"),
        case("python_ref", "backend", "xxh64", 64 * 2**20, "skipped at this size: too slow"),
        case("pypy", "interpreter", "aggregate", 100_000, "skipped: pypy3 is not on PATH"),
        case("pypy", "interpreter", "xxh64", 2**20, "skipped: pypy3 is not on PATH"),
    ],
)


def test_report_shows_untimed_cases_where_they_belong(tmp_path: Path) -> None:
    run = write(tmp_path / "storage", "0001_abc.json", WITH_UNTIMED)
    assert main(["report", "--out", str(tmp_path / "out"), str(run)]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    cython = table_row(text, "aggregate · 100k rows", "cython_ext")
    assert cython[2:-1] == ["–"] * 7 and cython[-1] == f"✗ not timed: {UNTIMED}"
    # a group whose only case failed still gets its table
    assert table_row(text, "hash_rows · 100k rows", "cython_ext")[-1] == (
        "✗ not timed: error: TypeError: boom"
    )
    assert "3 gave a wrong answer or failed" in text
    skipped = text.split("### Skipped\n", 1)[1].split("\n##", 1)[0]
    assert "`pypy` (interpreter): aggregate · 100k rows, xxh64 · 1MiB: pypy3 is not on PATH" in (
        skipped
    )
    assert "`python_ref`: xxh64 · 64MiB: skipped at this size: too slow" in skipped


def test_python_ref_is_the_reference_not_checked(written: Path) -> None:
    text = (written / "RESULTS.md").read_text(encoding="utf-8")
    assert table_row(text, "aggregate · 100k rows", "python_ref")[-1] == "reference"
    assert table_row(text, "aggregate · 100k rows", "numpy_impl")[-1] == "✓"
    assert "**reference**" in text  # explained in How to read this


def test_a_run_where_everything_disagrees_says_so(tmp_path: Path) -> None:
    names = ("python_ref", "numpy_impl", "rust_ext")
    cases = [case(n, "backend", "aggregate", 100_000, UNTIMED) for n in names]
    run = write(
        tmp_path / "storage",
        "0001_abc.json",
        with_cases(saved_run("2026-01-02T03:04:05+00:00", [LIMIT]), cases),
    )
    assert main(["report", "--out", str(tmp_path / "out"), str(run)]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    for name in names:
        assert table_row(text, "aggregate · 100k rows", name)[-1] == f"✗ not timed: {UNTIMED}"
    assert "3 gave a wrong answer or failed" in text
    assert "no `python_ref` rows to compare with" not in text
    assert "python_ref`'s own cases were not timed" in text


def test_terminal_summary_shows_untimed_cases_in_their_group() -> None:
    from rich.console import Console

    from hotpath.reporting import summary

    benchmarks = WITH_UNTIMED["benchmarks"]
    outcomes = [
        records.Outcome(c["implementation"], c["kind"], c["kernel"], c["size"], c["status"])
        for c in WITH_UNTIMED["hotpath_cases"]
    ]
    console = Console(record=True, width=250)
    console.print(summary.summary_table(benchmarks, outcomes, MACHINE))
    for line in summary.untimed_lines(benchmarks, outcomes):
        console.print(line)
    text = console.export_text()
    lines = text.splitlines()
    # the group is named at its section's first row; its rows follow until a blank line
    start = next(i for i, line in enumerate(lines) if "aggregate · 100k rows" in line)
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    cython = next(line for line in lines[start:end] if "cython_ext" in line)
    assert "✗ not timed" in cython
    assert f"✗ cython_ext aggregate · 100k rows: {UNTIMED}" in text
    python_ref = next(line for line in lines[start:end] if "python_ref" in line)
    assert "reference" in python_ref and "✓" not in python_ref
    assert "3 gave a wrong answer or failed" in text
    assert "pypy (interpreter): aggregate · 100k rows, xxh64 · 1MiB: pypy3 is not on PATH" in text
    # a timed wrong answer (an interpreter's checksum) is listed once, as its timed row
    assert text.count("cffi_ext") == 1


def test_speedup_chart_lists_an_untimed_wrong_answer_without_a_bar() -> None:
    figure = charts.speedup_figure(saved.Run(Path("run.json"), WITH_UNTIMED))
    assert figure is not None
    panel = next(ax for ax in figure.axes if ax.get_title(loc="left") == "aggregate · 100k rows")
    labels = [t.get_text() for t in panel.get_yticklabels()]
    assert labels[-1] == "cython_ext" and len(panel.containers) == 3  # no bar for it
    (text,) = [t.get_text() for t in panel.texts if t.get_text().startswith("✗ not timed")]
    assert text.startswith("✗ not timed: mismatch: total[7]") and len(text) <= 48  # in its panel


# -- the limit that applies: cache-resident or DRAM --------------------------------------------


def probe(level: str, capacity: int | None, nbytes: int, gbps: float) -> dict[str, Any]:
    found = bench("numpy sum", "limit", "memory read", nbytes, nbytes / (gbps * 1e9))
    found["extra_info"].update(level=level, cache_bytes=capacity)
    return found


def at(implementation: str, kernel: str, size: int, gbps: float) -> dict[str, Any]:
    return bench(
        implementation, "backend", kernel, size, records.input_bytes(kernel, size) / gbps / 1e9
    )


PROBES = [
    probe("L2", 2**20, 2**19, 60.0),
    probe("L3", 32 * 2**20, 16 * 2**20, 40.0),
    probe("DRAM", None, 512 * 2**20, 10.0),
]
CACHED = [
    at("rust_ext", "xxh64", 2**20, 20.0),  # 1 MiB: fits L2
    at("rust_ext", "aggregate", 1_000_000, 15.0),  # 12 MB: L3
    at("rust_ext", "hash_rows", 1_000_000, 14.0),  # 20 MB in + 8 MB out: L3
    at("rust_ext", "hash_rows", 2_000_000, 9.0),  # 56 MB: DRAM
    at("rust_ext", "xxh64", 64 * 2**20, 8.0),  # DRAM
]


def test_each_row_is_compared_with_the_limit_of_the_level_it_fits_in() -> None:
    from hotpath.reporting import rows

    found = {(r.kernel, r.size): r for r in rows.rows([*CACHED, *PROBES])}
    for key, level, share in (
        (("xxh64", 2**20), "L2", 20 / 60),
        (("aggregate", 1_000_000), "L3", 15 / 40),
        (("hash_rows", 1_000_000), "L3", 14 / 40),
        (("hash_rows", 2_000_000), "DRAM", 9 / 10),
        (("xxh64", 64 * 2**20), "DRAM", 8 / 10),
    ):
        assert found[key].limit_level == level, key
        assert found[key].share_of_limit == pytest.approx(share), key


def test_without_cache_sizes_no_row_gets_a_share_of_the_limit() -> None:
    """An older run measured DRAM only: a cached input would read as over 100%."""
    from hotpath.reporting import rows

    found = rows.rows([at("rust_ext", "xxh64", 2**20, 20.0), LIMIT])
    assert all(r.share_of_limit is None for r in found)
    assert rows.memory_bandwidth([LIMIT]) == pytest.approx(2**29 / 0.05)


def test_report_names_the_level_and_states_the_rule(tmp_path: Path) -> None:
    ref = [
        bench("python_ref", "backend", "xxh64", 2**20, 90e-3),
        bench("python_ref", "backend", "xxh64", 64 * 2**20, 6.0),
    ]
    run = saved_run("2026-01-02T03:04:05+00:00", [*ref, *CACHED[:1], CACHED[-1], *PROBES])
    path = write(tmp_path / "storage", "0001_abc.json", run)
    assert main(["report", "--out", str(tmp_path / "out"), str(path)]) == 0
    text = (tmp_path / "out" / "RESULTS.md").read_text(encoding="utf-8")
    assert table_row(text, "xxh64 · 1MiB", "rust_ext")[7] == "33% of L2"
    assert table_row(text, "xxh64 · 64MiB", "rust_ext")[7] == "80% of DRAM"
    limit = text.split(f"### {records.LIMIT_GROUP}\n", 1)[1].split("\n##", 1)[0]
    assert "| L2 | 1 MiB | 512 KiB |" in limit and "| DRAM | – | 512 MiB |" in limit
    assert "smallest cache level whose capacity holds" in text


def test_cache_sizes_are_read_from_sysfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    name = "hotpath_bench_implementations"
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parents[2] / "bench" / "implementations.py"
    )
    assert spec and spec.loader
    implementations = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, implementations)  # dataclasses look themselves up
    spec.loader.exec_module(implementations)
    for index, (level, kind, size) in enumerate(
        [
            (1, "Data", "32K"),
            (1, "Instruction", "32K"),
            (2, "Unified", "1024K"),
            (3, "Unified", "32768K"),
        ]
    ):
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        (folder / "level").write_text(f"{level}\n")
        (folder / "type").write_text(f"{kind}\n")
        (folder / "size").write_text(f"{size}\n")
    assert implementations.cache_sizes(tmp_path) == {"L2": 2**20, "L3": 32 * 2**20}
    probes = implementations.limit_probes({"L2": 2**20, "L3": 32 * 2**20})
    assert [(p.level, p.cache_bytes, p.nbytes) for p in probes] == [
        ("L2", 2**20, 2**19),
        ("L3", 32 * 2**20, 16 * 2**20),
        ("DRAM", None, 512 * 2**20),  # at least 4x the largest cache
    ]
    assert implementations.limit_probes({"L3": 256 * 2**20})[-1].nbytes == 2**30


def test_scaling_chart_steps_the_limit_by_level() -> None:
    run = {**SCALING, "benchmarks": [*SCALING["benchmarks"][:-1], *PROBES]}
    figure = charts.scaling_figure(saved.Run(Path("scaling.json"), run))
    assert figure is not None
    panel = next(ax for ax in figure.axes if ax.get_title(loc="left") == "aggregate")
    # 10k rows (120 KB) in L2, 100k and 1M (1.2 MB, 12 MB) in L3, 10M (120 MB) in DRAM
    assert [t.get_text() for t in panel.texts] == ["L2", "L3", "L3", "DRAM"]
