"""The backend registry: every implementation of the kernel contract, in one list.

Adding a backend means adding its package (exposing ``aggregate``,
``duplicates``, ``xxh64``, ``hash_rows``, ``factorize`` and a ``BUILD_INFO`` string) and one
:class:`Backend` line below; the parity tests and benchmarks pick it up from here.
A backend that fails to import is reported as unavailable with the reason,
never dropped.
"""

from __future__ import annotations

import importlib
import platform
from dataclasses import dataclass
from functools import cache
from types import ModuleType

REFERENCE = "python_ref"
KERNELS = ("aggregate", "duplicates", "xxh64", "hash_rows", "factorize")


@dataclass(frozen=True)
class Backend:
    name: str  # the import name of its package
    technology: str
    build: str  # how the build produces it
    exact: bool = True  # sequential: bit-exact with python_ref, sums included
    # The module of its raw kernels (hotpath.contract.RawKernels), which the tests also call
    # directly: "" when it has none (python_ref).
    raw: str = ""
    # Needs a toolchain beyond the README's base set-up: when unavailable, the test suite skips
    # it (with the reason) instead of failing. CI installs its toolchain, so CI still runs it.
    optional: bool = False
    # duplicates and factorize use hash tables of its own, keyed with hotpath.hashkey.KEY and
    # bounded (README, "Security and robustness"); its raw module then also has keyed_hash,
    # and tests/core/test_hostile.py attacks it. False: it sorts (numpy_impl) or uses Python's
    # own dict and set (python_ref).
    hash_tables: bool = False
    # A parallel variant: the name of the sequential backend it parallelizes (the benchmark's
    # scaling rows divide by it), "" for a sequential backend. It runs hotpath.threads.count()
    # threads and gives the sequential backend's bits; xxh64, one sequential stream by
    # definition, stays sequential.
    parallel_of: str = ""

    @property
    def parallel(self) -> bool:
        return bool(self.parallel_of)


BACKENDS: tuple[Backend, ...] = (
    Backend(REFERENCE, "pure Python, standard library only (the reference)", "none"),
    Backend("numpy_impl", "vectorized NumPy", "none", raw="numpy_impl._kernels"),
    Backend(
        "numba_impl",
        "Numba @njit (LLVM, compiled at first call, cached)",
        "none",
        raw="numba_impl._kernels",
        hash_tables=True,
    ),
    Backend(
        "numba_impl.parallel",
        "Numba @njit(parallel=True), prange; factorize sequential",
        "none",
        raw="numba_impl.parallel._kernels",
        hash_tables=True,
        parallel_of="numba_impl",
    ),
    Backend(
        "cffi_ext",
        "C99 through cffi, API mode",
        "CMake, cffi-generated wrapper",
        raw="cffi_ext._raw",
        hash_tables=True,
    ),
    Backend(
        "cython_ext",
        "Cython 3, typed memoryviews, nogil loops",
        "CMake, cython",
        raw="cython_ext._kernels",
        hash_tables=True,
    ),
    Backend(
        "cffi_ext.parallel",
        "cffi_ext's C99 with OpenMP: aggregate by device range, duplicates by hash partition, "
        "hash_rows by rows; factorize (first appearance over all rows) and xxh64 sequential",
        "CMake, cffi-generated wrapper, OpenMP::OpenMP_C",
        raw="cffi_ext.parallel._raw",
        hash_tables=True,
        parallel_of="cffi_ext",
    ),
    Backend(
        "cython_ext.parallel",
        "cython_ext with prange over OpenMP: aggregate by device range, duplicates by hash "
        "partition, hash_rows by rows; factorize and xxh64 sequential",
        "CMake, cython, OpenMP::OpenMP_C",
        raw="cython_ext.parallel._kernels",
        hash_tables=True,
        parallel_of="cython_ext",
    ),
    Backend(
        "rust_ext",
        "Rust through PyO3 and rust-numpy",
        "cargo (maturin standalone)",
        raw="rust_ext._kernels",
        hash_tables=True,
    ),
    Backend(
        "rust_ext.parallel",
        "Rust, rayon thread pools, GIL released; factorize sequential",
        "cargo (the rust_ext crate, with rayon)",
        raw="rust_ext.parallel._raw",
        hash_tables=True,
        parallel_of="rust_ext",
    ),
    Backend(
        "wasm_ext",
        "the C99 kernels as wasm32, run in-process by wasmtime",
        "CMake runs clang/wasm-ld when found (wasm/setup-debian.sh)",
        raw="wasm_ext._raw",
        optional=True,
        hash_tables=True,
    ),
)
NAMES: tuple[str, ...] = tuple(backend.name for backend in BACKENDS)


class BackendUnavailable(ImportError):
    """A registered backend could not be imported; the message says why."""


@dataclass(frozen=True)
class Status:
    backend: Backend
    module: ModuleType | None
    version: str  # the toolchain the backend was built with, or ""
    reason: str  # why it is unavailable, or ""

    @property
    def available(self) -> bool:
        return self.module is not None


def get(name: str) -> Backend:
    for backend in BACKENDS:
        if backend.name == name:
            return backend
    raise KeyError(f"no backend named {name!r}; registered: {', '.join(NAMES)}")


@cache
def status(name: str) -> Status:
    backend = get(name)
    try:
        module = importlib.import_module(name)
    except Exception as error:  # a broken build must show up, not vanish
        return Status(backend, None, "", f"{type(error).__name__}: {error}")
    missing = [kernel for kernel in KERNELS if not callable(getattr(module, kernel, None))]
    if missing:
        return Status(backend, None, "", f"{name} does not define {', '.join(missing)}")
    default = f"{platform.python_implementation()} {platform.python_version()}"
    return Status(backend, module, getattr(module, "BUILD_INFO", default), "")


def load(name: str) -> ModuleType:
    """The backend's module, or BackendUnavailable with the import error."""
    found = status(name)
    if found.module is None:
        raise BackendUnavailable(f"backend {name} is unavailable: {found.reason}")
    return found.module


def parallel() -> tuple[Backend, ...]:
    """The parallel variants."""
    return tuple(backend for backend in BACKENDS if backend.parallel)


def statuses() -> list[Status]:
    return [status(name) for name in NAMES]
