"""Everything the benchmark times: the registered backends, the peers a user
would pick instead (pandas, polars, the `xxhash` package), the O(n^2)
algorithm row, and the machine's memory-bandwidth limit.

Each entry prepares its input outside the timed region and returns the call to
time; its result is turned into the contract's shape (untimed) so it can be
checked against python_ref before any timing counts.
"""

from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable

import numpy as np

from hotpath import backends, crafted, data, hashkey
from hotpath.data import Readings

KERNELS = ("aggregate", "duplicates", "hash_rows", "xxh64", "factorize")
# duplicates on hostile keys, beside the random ones (README, "Security and robustness")
CRAFTED = ("old hashes", "known key")
Prepared = Callable[[], Any]
# Backends whose inputs are copied into memory of their own (Wasm linear memory): their row
# times the whole call, copies included, and a "<name> (call only)" row times the call alone.
STAGED = ("wasm_ext",)


@dataclass(frozen=True)
class Implementation:
    name: str
    kind: str  # "backend", "peer" or "algorithm"
    kernels: tuple[str, ...]
    timed: str  # what one timed call covers
    exact: bool = True  # results bit-exact with python_ref (sums included)
    max_rows: int | None = None  # larger inputs would take too long per call
    why_limit: str = ""
    # A "call only" row: this registry backend's module.stage() puts the input in the backend's
    # own memory beforehand (untimed), and only the call on it is timed.
    stages: str = ""

    def available(self) -> str:
        """ "" when it can run here, else why not."""
        if self.kind == "backend":
            return backends.status(self.stages or self.name).reason
        module = {"pandas": "pandas", "polars": "polars", "xxhash": "xxhash"}.get(self.name)
        if module and importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install {module})"
        return ""


def _backend_entries() -> list[Implementation]:
    entries = []
    for backend in backends.BACKENDS:
        if backend.name == backends.REFERENCE:
            entries.append(
                Implementation(
                    backend.name,
                    "backend",
                    KERNELS,
                    "kernel call on prepared Python lists (bytes for xxh64)",
                    max_rows=2_000_000,
                    why_limit="pure Python takes over 10 s per call above 2M rows",
                )
            )
        elif backend.name in STAGED:
            entries.append(
                Implementation(
                    backend.name,
                    "backend",
                    KERNELS,
                    "kernel call on prepared NumPy arrays, input checks and the copies into "
                    "and out of Wasm linear memory included",
                    exact=backend.exact,
                )
            )
            entries.append(
                Implementation(
                    f"{backend.name} (call only)",
                    "backend",
                    KERNELS,
                    "the Wasm call alone: input copied into linear memory beforehand "
                    "(untimed), outputs left there",
                    exact=backend.exact,
                    stages=backend.name,
                )
            )
        else:
            entries.append(
                Implementation(
                    backend.name,
                    "backend",
                    KERNELS,
                    "kernel call on prepared NumPy arrays, input checks included",
                    exact=backend.exact,
                )
            )
    return entries


IMPLEMENTATIONS: tuple[Implementation, ...] = (
    *_backend_entries(),
    Implementation(
        "pandas",
        "peer",
        ("aggregate", "duplicates", "factorize"),
        "DataFrame.groupby().agg() / DataFrame.duplicated() on a prepared DataFrame; "
        "pandas.factorize(sort=False) on the id array",
        exact=False,
    ),  # pandas' groupby sum is compensated (Kahan)
    Implementation(
        "polars",
        "peer",
        ("aggregate", "duplicates", "factorize"),
        "group_by().agg() / ~is_first_distinct() on a prepared DataFrame; factorize: each "
        "id's first row index (min over id), dense-ranked, and unique(maintain_order=True)",
        exact=False,
    ),
    Implementation(
        "xxhash",
        "peer",
        ("xxh64", "hash_rows"),
        "xxhash.xxh64_intdigest on the buffer / a Python loop of it over "
        "struct-packed rows (what a user would write)",
        max_rows=2_000_000,
        why_limit="a Python loop per row: over 10 s above 2M rows",
    ),
    Implementation(
        "pairwise_python",
        "algorithm",
        ("duplicates",),
        "the O(n^2) pairwise scan in pure Python, on prepared lists",
        max_rows=5_000,
        why_limit="O(n^2): 12.5M comparisons at 5,000 rows",
    ),
)
BY_NAME = {impl.name: impl for impl in IMPLEMENTATIONS}


# -- inputs and one timed call -------------------------------------------------


@cache
def readings(rows: int) -> Readings:
    """The benchmark dataset: 1,000 devices (fewer for tiny sizes)."""
    return data.generate(rows, min(data.DEFAULT_DEVICES, max(rows // 10, 1)))


@cache
def crafted_readings(keys: str, rows: int) -> Readings:
    """``rows`` rows crafted to collide: "old hashes", a quarter against each native backend's
    old, unkeyed duplicates hash (issue 12's attack); "known key", all in one chain of the
    keyed hash under this process's key (hotpath.crafted)."""
    if keys == "known key":
        ids, stamps = crafted.against_known_key(hashkey.KEY, rows)
    else:
        parts = [
            crafted.against_old_hashes(backend, part)
            for backend, part in zip(
                ("cffi_ext", "cython_ext", "rust_ext", "numba_impl"), _quarters(rows)
            )
        ]
        ids, stamps = (np.concatenate(columns) for columns in zip(*parts))
    return Readings(ids, stamps, np.zeros(rows), 1)


def _quarters(rows: int) -> list[int]:
    return [rows // 4 + (i < rows % 4) for i in range(4)]


@cache
def buffer(size: int) -> bytes:
    return np.random.default_rng(size).integers(0, 256, size, np.uint8).tobytes()


def prepare(impl: Implementation, kernel: str, readings: Readings, buffer: bytes) -> Prepared:
    """The zero-argument call to time; all conversion happens here, untimed."""
    if impl.stages:
        staged = backends.load(impl.stages).stage(kernel, *_raw_arguments(kernel, readings, buffer))
        return staged.run  # returns the staged call; as_contract reads its outputs, untimed
    if impl.kind == "backend":
        module = backends.load(impl.name)
        if impl.name == backends.REFERENCE:
            ids, stamps, kwh = readings.as_lists()
        else:
            ids, stamps, kwh = readings.device_id, readings.timestamp, readings.kwh
        return {
            "aggregate": lambda: module.aggregate(ids, kwh, readings.n_devices),
            "duplicates": lambda: module.duplicates(ids, stamps),
            "factorize": lambda: module.factorize(ids),
            "hash_rows": lambda: module.hash_rows(ids, stamps, kwh),
            "xxh64": lambda: module.xxh64(buffer),
        }[kernel]
    return _PEERS[impl.name](kernel, readings, buffer)


def _raw_arguments(kernel: str, r: Readings, buffer: bytes) -> tuple[Any, ...]:
    """A raw kernel's inputs (hotpath.contract.RawKernels) for stage()."""
    return {
        "aggregate": (r.device_id, r.kwh, r.n_devices),
        "duplicates": (r.device_id, r.timestamp, hashkey.KEY),
        "factorize": (r.device_id, hashkey.KEY),
        "hash_rows": (r.device_id, r.timestamp, r.kwh, 0),
        "xxh64": (np.frombuffer(buffer, np.uint8), 0),
    }[kernel]


def _pandas(kernel: str, r: Readings, buffer: bytes) -> Prepared:
    import pandas as pd

    if kernel == "factorize":
        return lambda: pd.factorize(r.device_id, sort=False)
    frame = pd.DataFrame({"device_id": r.device_id, "timestamp": r.timestamp, "kwh": r.kwh})
    if kernel == "duplicates":
        return lambda: frame.duplicated(["device_id", "timestamp"], keep="first")
    column = frame.groupby("device_id", sort=True)["kwh"]
    return lambda: column.agg(["count", "sum", "min", "max"])


def _polars(kernel: str, r: Readings, buffer: bytes) -> Prepared:
    import polars as pl

    if kernel == "factorize":
        ids = pl.DataFrame({"device_id": r.device_id}).with_row_index("row")
        first = pl.col("row").min().over("device_id")  # each id's first row
        return lambda: (
            ids.select((first.rank("dense") - 1).cast(pl.UInt32)).to_series(),
            ids.get_column("device_id").unique(maintain_order=True),
        )
    frame = pl.DataFrame({"device_id": r.device_id, "timestamp": r.timestamp, "kwh": r.kwh})
    if kernel == "duplicates":
        key = pl.struct("device_id", "timestamp")
        return lambda: frame.select(~key.is_first_distinct()).to_series()
    # polars treats NaN as a value; a missing reading is null to it.
    frame = frame.with_columns(pl.col("kwh").fill_nan(None))
    kwh = pl.col("kwh")
    return lambda: frame.group_by("device_id").agg(
        kwh.count().alias("count"),
        kwh.sum().alias("sum"),
        kwh.min().alias("min"),
        kwh.max().alias("max"),
    )


def _xxhash(kernel: str, r: Readings, buffer: bytes) -> Prepared:
    import xxhash

    digest = xxhash.xxh64_intdigest
    if kernel == "xxh64":
        return lambda: digest(buffer)
    pack = struct.Struct("<Iqd").pack
    rows = list(zip(*r.as_lists()))
    return lambda: [digest(pack(*row)) for row in rows]


def duplicates_pairwise(device_id: list[int], timestamp: list[int]) -> list[bool]:
    """Each row against every earlier row: correct, and quadratic."""
    keys = list(zip(device_id, timestamp))
    return [any(keys[j] == key for j in range(i)) for i, key in enumerate(keys)]


def _pairwise(kernel: str, r: Readings, buffer: bytes) -> Prepared:
    ids, stamps, _ = r.as_lists()
    return lambda: duplicates_pairwise(ids, stamps)


_PEERS: dict[str, Callable[[str, Readings, bytes], Prepared]] = {
    "pandas": _pandas,
    "polars": _polars,
    "xxhash": _xxhash,
    "pairwise_python": _pairwise,
}


def as_contract(impl: Implementation, kernel: str, result: Any, n_devices: int) -> Any:
    """A peer's (or a staged call's) result in the contract's shape, for the parity check."""
    if impl.stages:
        return result.result()  # copies the outputs out of the backend's memory
    if impl.name == "pandas" and kernel == "aggregate":
        table = result.reindex(range(n_devices))
        return (
            table["count"].fillna(0).to_numpy(np.int64),
            table["sum"].fillna(0.0).to_numpy(),
            table["min"].to_numpy(),
            table["max"].to_numpy(),
        )
    if impl.name == "polars" and kernel == "aggregate":
        ids = result["device_id"].to_numpy().astype(np.int64)
        out = [np.zeros(n_devices, np.int64), np.zeros(n_devices)]
        out += [np.full(n_devices, np.nan), np.full(n_devices, np.nan)]
        for column, name in zip(out, ("count", "sum", "min", "max")):
            column[ids] = result[name].fill_null(np.nan).to_numpy()
        return tuple(out)
    if impl.name == "pandas" and kernel == "duplicates":
        return result.to_numpy()
    if impl.name == "polars" and kernel == "duplicates":
        return result.to_numpy()
    if impl.name == "polars" and kernel == "factorize":
        return tuple(column.to_numpy() for column in result)
    return result


def memory_read_bandwidth_probe(megabytes: int = 512) -> tuple[Prepared, int]:
    """The machine's limit for streaming kernels: one thread summing a large
    float64 array with NumPy (SIMD, read-only, far beyond the caches)."""
    array = np.ones(megabytes * 2**20 // 8)
    return array.sum, array.nbytes
