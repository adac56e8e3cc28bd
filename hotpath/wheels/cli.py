"""``hotpath wheels``, registered with the ``hotpath`` command by ``hotpath.cli``."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import hotpath.wheels
from hotpath.wheels.build import build_and_repair, install_and_test, time_imports
from hotpath.wheels.compare import Context, benefit_from_run, markdown, rich_table
from hotpath.wheels.packages import FOUNDATION, NAMES, PACKAGES, Package, WheelsError


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
        if (folder / "pyproject.toml").is_file() and (
            folder / "hotpath" / "wheels" / "cli.py"
        ).is_file():
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


def register(commands: argparse._SubParsersAction) -> None:
    """``hotpath wheels``, for hotpath.cli."""
    parser = commands.add_parser(
        "wheels",
        help="build, repair, install and test every backend's wheel; compare what each ships",
        description=hotpath.wheels.__doc__.split("\n\n")[1].replace("\n", " "),
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
