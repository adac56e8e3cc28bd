"""The project's wheels, and what a wheel's file name, METADATA and RECORD say (pure logic)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path


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
