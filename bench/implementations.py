"""Everything the benchmark times: the registered backends, the peers a user
would pick instead (pandas, polars, the `xxhash` package), the O(n^2)
algorithm row, and the machine's memory-bandwidth limit.

Each entry prepares its input outside the timed region and returns the call to
time; its result is turned into the contract's shape (untimed) so it can be
checked against python_ref before any timing counts.
"""

from __future__ import annotations

import atexit
import importlib.util
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from hotpath import backends, crafted, data, hashkey, pools
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
    # A row that times one cost of the named row (its answer is not the kernel's): the process
    # pool's copying, checked by the rows the workers say they received.
    cost_of: str = ""

    def available(self) -> str:
        """ "" when it can run here, else why not."""
        if self.kind == "backend":
            return backends.status(self.stages or self.name).reason
        if self.name == "thread pool (cffi_ext)":
            return backends.status("cffi_ext").reason
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
        "DataFrame.group_by().agg() / ~is_first_distinct() on a prepared DataFrame (missing "
        "readings made null beforehand, as polars reads them); factorize: each id's first row "
        "index (min over id), dense-ranked, and unique(maintain_order=True); polars' own "
        "thread pool",
        exact=False,
    ),
    Implementation(
        "xxhash",
        "peer",
        ("xxh64", "hash_rows"),
        "xxhash.xxh64_intdigest on the buffer / a Python loop that packs each row with "
        "struct and hashes it, over row tuples built beforehand (what a user would write)",
        max_rows=2_000_000,
        why_limit="a Python loop per row: over 10 s above 2M rows",
    ),
    # Python's own parallel tools (hotpath.pools), HOTPATH_THREADS workers (else every core),
    # each splitting the kernel exactly: aggregate by device range, duplicates by key partition,
    # hash_rows by rows.
    Implementation(
        "process pool (python_ref)",
        "pool",
        pools.SPLIT,
        "python_ref split over a ProcessPoolExecutor started beforehand (untimed): each call "
        "pickles its parts' columns to the workers and their results back",
        max_rows=2_000_000,
        why_limit="pure Python takes over 10 s per call above 2M rows",
    ),
    Implementation(
        "process pool (python_ref, transfer only)",
        "pool",
        pools.SPLIT,
        "the same arguments sent to the same workers, nothing computed: the copying cost "
        "inside the row above",
        max_rows=2_000_000,
        why_limit="as the process pool's row",
        cost_of="process pool (python_ref)",
    ),
    Implementation(
        "thread pool (python_ref)",
        "pool",
        pools.SPLIT,
        "python_ref split over a ThreadPoolExecutor: the GIL runs one part at a time",
        max_rows=2_000_000,
        why_limit="pure Python takes over 10 s per call above 2M rows",
    ),
    Implementation(
        "thread pool (cffi_ext)",
        "pool",
        pools.SPLIT,
        "cffi_ext (which releases the GIL) split over a ThreadPoolExecutor, the parts cut "
        "with NumPy inside the call",
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
    # The GroupBy is built inside the call: a GroupBy kept across rounds caches its grouper's
    # codes, and every round after the first would skip the grouping the label promises.
    return lambda: frame.groupby("device_id", sort=True)["kwh"].agg(["count", "sum", "min", "max"])


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


@cache
def _pool(tool: str, workers: int) -> pools.Split | pools.CompiledSplit:
    """One pool per tool and size, kept across cases as a user keeps one; shut down at exit."""
    if tool == "process":
        split, stop = pools.process_pool(workers)
    elif tool == "thread":
        split, stop = pools.thread_pool(workers)
    else:
        split, stop = pools.compiled_thread_pool(backends.load("cffi_ext"), workers)
    atexit.register(stop)
    return split


def transfer_rows(kernel: str, rows: int, workers: int) -> int:
    """The rows the transfer-only row's workers receive: all of them each (aggregate and
    duplicates: every worker selects its own), or one range each (hash_rows)."""
    return rows if kernel == "hash_rows" else rows * workers


def _pooled(name: str) -> Callable[[str, Readings, bytes], Prepared]:
    tool = name.split(" ")[0]

    def prepare(kernel: str, r: Readings, buffer: bytes) -> Prepared:
        workers = pools.workers()
        if "cffi_ext" in name:
            split = _pool("compiled", workers)
            ids, stamps, kwh = r.device_id, r.timestamp, r.kwh
        else:
            split = _pool(tool, workers)
            ids, stamps, kwh = r.as_lists()
        if "transfer only" in name:
            sent = {"aggregate": (ids, kwh), "duplicates": (ids, stamps)}
            columns = sent.get(kernel, (ids, stamps, kwh))
            return lambda: split.transfer(kernel, *columns)
        return {
            "aggregate": lambda: split.aggregate(ids, kwh, r.n_devices),
            "duplicates": lambda: split.duplicates(ids, stamps),
            "hash_rows": lambda: split.hash_rows(ids, stamps, kwh),
        }[kernel]

    return prepare


def _pairwise(kernel: str, r: Readings, buffer: bytes) -> Prepared:
    ids, stamps, _ = r.as_lists()
    return lambda: duplicates_pairwise(ids, stamps)


_PEERS: dict[str, Callable[[str, Readings, bytes], Prepared]] = {
    "pandas": _pandas,
    "polars": _polars,
    "xxhash": _xxhash,
    "pairwise_python": _pairwise,
    **{
        name: _pooled(name)
        for name in (
            "process pool (python_ref)",
            "process pool (python_ref, transfer only)",
            "thread pool (python_ref)",
            "thread pool (cffi_ext)",
        )
    },
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


# One core's caches, as Linux describes them.
CACHE_INFO = Path("/sys/devices/system/cpu/cpu0/cache")
DRAM_PROBE_BYTES = 512 * 2**20


def _size(text: str) -> int:
    """ "32K", "1024K", "32M" or a byte count, as sysfs writes sizes."""
    text = text.strip().upper()
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
    return int(text.rstrip("KMG")) * scale


def cache_sizes(root: Path = CACHE_INFO) -> dict[str, int]:
    """The data (or unified) caches of one core from level 2 up, in bytes, by level
    ("L2", "L3"): where an input can stay between rounds. {} when the system does not say."""
    sizes: dict[str, int] = {}
    for index in sorted(root.glob("index*")):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = _size((index / "size").read_text())
        except (OSError, ValueError):
            continue
        if level >= 2 and kind in ("Data", "Unified") and size > 0:
            sizes[f"L{level}"] = size
    return sizes


@dataclass(frozen=True)
class LimitProbe:
    """One memory level's read bandwidth probe."""

    level: str  # "L2", "L3", "DRAM"
    cache_bytes: int | None  # the level's capacity; None for DRAM
    nbytes: int  # the array the probe sums


def limit_probes(caches: dict[str, int] | None = None) -> list[LimitProbe]:
    """A probe per cache level (half its capacity: it stays resident across rounds,
    beside the interpreter's own data) and one for DRAM (512 MiB, at least 4x the
    largest cache so that none of it is served from cache)."""
    caches = cache_sizes() if caches is None else caches
    probes = [LimitProbe(level, size, size // 2) for level, size in sorted(caches.items())]
    dram = max(DRAM_PROBE_BYTES, 4 * max(caches.values(), default=0))
    return [*probes, LimitProbe("DRAM", None, dram)]


def memory_read_bandwidth_probe(nbytes: int = DRAM_PROBE_BYTES) -> tuple[Prepared, int]:
    """A level's limit for streaming kernels: one thread summing an int64 array with
    NumPy (SIMD, read-only). int64, not float64: NumPy's pairwise float sum is
    compute-bound in cache, where it reads ~40% slower than an integer sum."""
    array = np.ones(nbytes // 8, np.int64)
    return array.sum, array.nbytes
