"""The check an installed wheel must pass (cibuildwheel's test-command):
``python -m hotpath.wheels check TESTS``.

Standard library at module level: it runs in an environment holding nothing but the wheel
under test, its dependencies, pytest and hypothesis.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from hotpath import backends

# The parity tests an installed wheel must pass: every kernel against python_ref on the default
# and edge datasets, and the same exceptions for the same bad input.
CHECK_TESTS = ("core/test_parity.py", "core/test_bad_input.py")


def installed_backends() -> list[str]:
    """The registered backends this environment has installed."""
    return [name for name in backends.NAMES if _installed(name)]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a variant (cffi_ext.parallel) of a package not installed
        return False


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


def main(argv: Sequence[str] | None = None) -> int:
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
