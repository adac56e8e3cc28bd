"""Raw kernel interface of cffi_ext.parallel (the OpenMP build of cffi_ext's C kernels).

The same checks and the same buffer handling as cffi_ext._raw (whose docstring says why C
never sees an out-of-bounds length); factorize_into, keyed_hash and xxh64 are cffi_ext's own
(first-appearance codes and one XXH64 stream are sequential); the parallel kernels also take
the thread count, read
from hotpath.threads at every call. The cffi wrappers release the GIL around each C call, and
OpenMP's threads never touch a Python object.
"""

from __future__ import annotations

from cffi_ext._raw import factorize_into, keyed_hash, xxh64  # sequential, as in cffi_ext
from hotpath import rawchecks, threads

try:
    from ._kernels import ffi, lib
except ImportError as error:  # CMake found no OpenMP: the build left this module out
    raise ImportError(
        "cffi_ext.parallel is not built: CMake's find_package(OpenMP) found no OpenMP for C "
        f"when hotpath was installed (re-install with an OpenMP runtime, e.g. gcc's libgomp) "
        f"[{error}]"
    ) from None

__all__ = [
    "BUILD_INFO",
    "MAX_THREADS",
    "MIN_PARALLEL_ROWS",
    "aggregate_into",
    "duplicates_into",
    "factorize_into",
    "hash_rows_into",
    "keyed_hash",
    "team_size",
    "xxh64",
]

# A cap on HOTPATH_THREADS for this module: a mistyped 100000 must not ask OpenMP for that
# many threads (duplicates keeps 8 KiB of counters per thread).
MAX_THREADS = 1024
MIN_PARALLEL_ROWS: int = lib.hp_par_min_rows()

_from_buffer = ffi.from_buffer
_new = ffi.new


def _threads() -> int:
    return min(threads.count(), MAX_THREADS)


def _out(ctype, arr):
    return _from_buffer(ctype, arr, require_writable=True)


def aggregate_into(device_id, kwh, count, total, minimum, maximum):
    """cffi_ext's aggregate_into, each thread owning a range of devices."""
    rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    ids = _from_buffer("uint32_t[]", device_id)
    x = _from_buffer("double[]", kwh)
    c = _out("int64_t[]", count)
    return lib.hp_par_aggregate(
        ids,
        x,
        len(ids),
        len(c),
        c,
        _out("double[]", total),
        _out("double[]", minimum),
        _out("double[]", maximum),
        _threads(),
    )


def duplicates_into(device_id, timestamp, key, out):
    """cffi_ext's duplicates_into, the hash partitions made and deduplicated in parallel;
    returns the same (probes, fallbacks)."""
    k0, k1 = rawchecks.duplicates_into(device_id, timestamp, key, out)
    ids = _from_buffer("uint32_t[]", device_id)
    ts = _from_buffer("int64_t[]", timestamp)
    o = _out("uint8_t[]", out)
    n = len(ids)
    stats = _new("uint64_t[2]")
    if lib.hp_par_duplicates(ids, ts, n, k0, k1, o, stats, _threads()) != 0:
        raise MemoryError(f"duplicates: cannot allocate the scratch memory for {n} rows")
    return int(stats[0]), int(stats[1])


def hash_rows_into(device_id, timestamp, kwh, seed, out):
    """cffi_ext's hash_rows_into over ranges of rows, one a thread."""
    seed = rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    ids = _from_buffer("uint32_t[]", device_id)
    ts = _from_buffer("int64_t[]", timestamp)
    x = _from_buffer("double[]", kwh)
    lib.hp_par_hash_rows(ids, ts, x, len(ids), seed, _out("uint64_t[]", out), _threads())


def team_size(threads: int) -> int:
    """The threads an OpenMP team asked for ``threads`` really has (omp_get_num_threads)."""
    return int(lib.hp_par_team_size(threads))


BUILD_INFO = "{}, cffi {}, OpenMP {}".format(
    ffi.string(lib.hp_build_info()).decode("ascii"),
    ffi.string(lib.hp_cffi_version()).decode("ascii"),
    lib.hp_par_openmp(),
)
