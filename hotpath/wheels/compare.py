"""The comparison of the wheels: the terminal table, and WHEELS.md beside each backend's
speedups from the newest saved benchmark run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hotpath import backends
from hotpath.reporting.markdown import markdown_table
from hotpath.wheels.build import Result
from hotpath.wheels.packages import short_requirement

KERNEL_ORDER = ("aggregate", "duplicates", "xxh64", "hash_rows", "factorize")


def _size(n: int | None) -> str:
    if n is None:
        return "–"
    if n < 2**20:
        return f"{n / 1024:,.0f} KiB"
    return f"{n / 2**20:,.1f} MiB"


def _seconds(s: float | None) -> str:
    return "–" if s is None else f"{s:,.1f} s"


def _ms(s: float | None) -> str:
    return "–" if s is None else f"{s * 1e3:,.0f} ms"


HEADER = (
    "package",
    "distribution",
    "built by",
    "clean build",
    "wheel",
    "installed",
    "with deps",
    "tag",
    "abi3",
    "portability",
    "runtime dependencies",
    "cold import",
    "parity (installed)",
)
ALIGN = "lllrrrrllllrl"


def table_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    rows = []
    for r in results:
        tag = r.tags.tag if r.tags else "–"
        deps = ", ".join(short_requirement(d) for d in r.dependencies) or "none"
        if r.error:
            parity = f"✗ {r.error.splitlines()[0]}"
        else:
            parity = f"✓ {r.tests}"
        rows.append(
            (
                r.package.name,
                r.distribution or "–",
                r.package.built_by,
                _seconds(r.build_s),
                _size(r.wheel_bytes),
                _size(r.installed_bytes),
                _size(r.with_deps_bytes),
                tag,
                r.abi3 or "–",
                r.portability or "–",
                deps if r.tags else "–",
                _ms(r.import_s),
                parity,
            )
        )
    return rows


# The terminal's table leaves out what is long and in the report anyway.
TERMINAL = tuple(h for h in HEADER if h not in ("distribution", "built by", "tag"))


def rich_table(results: Sequence[Result], title: str):  # -> rich.table.Table
    from rich.table import Table

    keep = [HEADER.index(h) for h in TERMINAL]
    table = Table(title=title)
    for i in keep:
        right = ALIGN[i] == "r"
        short = right or HEADER[i] in ("package", "abi3", "portability")
        table.add_column(HEADER[i], justify="right" if right else "left", no_wrap=short)
    for row in table_rows(results):
        table.add_row(*(row[i] for i in keep))
    return table


@dataclass(frozen=True)
class Benefit:
    """Speedups over python_ref from a saved benchmark run: {backend: {kernel: (×, label)}}."""

    source: str
    speedups: dict[str, dict[str, tuple[float, str]]]


def benefit_from_run(storage: Path) -> Benefit | None:
    """Each backend's speedup over python_ref per kernel at the largest size timed, from the
    newest saved benchmark run (the numbers ``hotpath report`` shows); None without one."""
    try:
        from hotpath.reporting.rows import report_rows
        from hotpath.reporting.saved import select_runs
    except ImportError:  # rich or the benchmark's dependencies are missing
        return None
    try:
        run, _ = select_runs(storage)
        rows = report_rows(run.benchmarks)
    except Exception:  # no saved run, or one this version cannot read: leave the column out
        return None
    best: dict[str, dict[str, tuple[int, float, str]]] = {}
    for r in rows:
        if r.kind != "backend" or r.vs_reference is None:
            continue
        mine = best.setdefault(r.implementation, {})
        if r.kernel not in mine or r.size > mine[r.kernel][0]:
            mine[r.kernel] = (r.size, r.vs_reference, r.group)
    speedups = {
        name: {kernel: (ratio, group) for kernel, (_, ratio, group) in kernels.items()}
        for name, kernels in best.items()
    }
    return Benefit(f"{run.date}, `{run.path.name}`", speedups)


def _ratio(value: float) -> str:
    return f"{value:,.0f}×" if value >= 10 else f"{value:.1f}×"


def benefit_lines(results: Sequence[Result], benefit: Benefit) -> list[str]:
    kernels = [k for k in KERNEL_ORDER if any(k in s for s in benefit.speedups.values())]
    groups = {}
    for speedups in benefit.speedups.values():
        for kernel, (_, group) in speedups.items():
            groups.setdefault(kernel, group)
    body = []
    for r in results:
        speedups = benefit.speedups.get(r.package.name)
        if not speedups or r.package.name == backends.REFERENCE:
            continue
        body.append(
            (
                f"`{r.package.name}`",
                _size(r.wheel_bytes),
                _size(r.with_deps_bytes),
                _ms(r.import_s),
                *(_ratio(speedups[k][0]) if k in speedups else "–" for k in kernels),
            )
        )
    if not body:
        return []
    header = ("backend", "wheel", "installed with deps", "cold import")
    header += tuple(f"{k} ({groups[k].split(' · ', 1)[-1]})" for k in kernels)
    return [
        "## Cost and benefit",
        "",
        "What each backend costs to ship (this run) beside its speedup over `python_ref` at the "
        f"largest size timed, from the benchmark run of {benefit.source} (see "
        "[RESULTS.md](RESULTS.md); speedups are ratios of medians within that run).",
        "",
        *markdown_table(header, "lrrr" + "r" * len(kernels), body),
        "",
    ]


@dataclass(frozen=True)
class Context:
    """Where and how the comparison ran."""

    when: str
    machine: str
    python: str
    command: str
    import_runs: int
    load: str = ""  # the load average: other work on the machine skews the timings
    libc: str = ""  # e.g. "glibc 2.36": what the Linux wheels built here were linked against
    bare_start_s: float | None = None
    numpy_import_s: float | None = None


def markdown(results: Sequence[Result], context: Context, benefit: Benefit | None) -> str:
    lines = [
        "# What each backend ships: wheels",
        "",
        f"Written by `{context.command}` on {context.when}: {context.machine}, {context.python}"
        + (f"; load average {context.load}" if context.load else "")
        + ".",
        "",
        *markdown_table(HEADER, ALIGN, table_rows(results)),
        "",
        "## How to read this",
        "",
        "- **clean build**: wall time of `pip wheel --no-deps <folder>` with a fresh build "
        "directory and a fresh cargo target directory, build isolation included (pip's and "
        "cargo's download caches were warm). The pure wheels are built by scikit-build-core "
        "without a compiler; `cffi_ext` and `cython_ext` by scikit-build-core running the root "
        "CMakeLists.txt restricted to that backend; `rust_ext` by maturin; *all-in-one* is the "
        "root `pyproject.toml`, every backend in one wheel.",
        "- **wheel**: the repaired wheel's file size. **installed**: the files its RECORD lists "
        "once pip installed it, bytecode included. **with deps**: how much site-packages grew "
        "when it was installed into a fresh virtual environment, every runtime dependency "
        "included.",
        "- **tag** and **portability**: Linux platform wheels went through `auditwheel repair`, "
        "which tags them with the oldest manylinux policy their symbols allow (the glibc they "
        "need at least); pure wheels install anywhere. The tag depends on the build machine: "
        "linked against a newer glibc, a toolchain's runtime may reference newer symbol "
        "versions (Rust's standard library does; plain C code rarely), so release wheels are "
        "built in cibuildwheel's manylinux_2_28 container instead"
        + (f" (this machine: {context.libc})" if context.libc else "")
        + ". **abi3**: whether one wheel serves every CPython ≥ its version (the stable ABI) or "
        "one wheel is needed per CPython version.",
        "- **runtime dependencies**: Requires-Dist of the wheel's METADATA; `hotpath-core` "
        "(the shared array boundary, which itself needs `hotpath-python-ref`, NumPy and rich) "
        "is pinned to the same version.",
        f"- **cold import**: median over {context.import_runs} fresh interpreters (`python -I "
        "-c`, after one untimed round) of the time the import statement alone takes, timed "
        "round-robin over every environment so that load from elsewhere spreads evenly; the "
        "backends import NumPy through `hotpath.contract`. *all-in-one* imports all six."
        + (
            f" For scale: a bare interpreter starts in {_ms(context.bare_start_s)}"
            f", and `import numpy` alone takes {_ms(context.numpy_import_s)}."
            if context.bare_start_s is not None and context.numpy_import_s is not None
            else ""
        ),
        "- **parity (installed)**: `python -m hotpath.wheels check` in that environment, from "
        "a directory holding only a copy of `tests/`: it shows every module under test comes "
        "from site-packages, then runs `tests/core/test_parity.py` and "
        "`tests/core/test_bad_input.py` for the backends installed. cibuildwheel's test step "
        "runs the same command.",
        "",
    ]
    if benefit is not None:
        lines += benefit_lines(results, benefit)
    return "\n".join(lines).rstrip() + "\n"
