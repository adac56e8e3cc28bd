"""Raw kernel interface (see the hotpath spec) on top of the cffi module.

Callers (``hotpath.contract``) hand in canonical 1-D C-contiguous numpy arrays;
inputs may be read-only. Called directly, each kernel first checks its
arguments (dtypes, layout, alignment, lengths: hotpath.rawchecks), so C only
ever sees what it may load and store. ``ffi.from_buffer`` then wraps each
buffer without copying, and every length passed to C is taken from those
wrappers (buffer size // item size), so C can never index past the end of any
buffer.

GIL: cffi API-mode wrappers release the GIL around every C call by default;
the generated ``_kernels.c`` brackets each ``hp_*`` call with
``Py_BEGIN_ALLOW_THREADS`` / ``Py_END_ALLOW_THREADS`` (checked in the emitted
source and with a two-thread timing test for this build). The kernels touch
no Python objects, so that is safe.
"""

from hotpath import rawchecks

from ._kernels import ffi, lib

__all__ = [
    "BUILD_INFO",
    "aggregate_into",
    "duplicates_into",
    "factorize_into",
    "hash_rows_into",
    "keyed_hash",
    "xxh64",
]

_from_buffer = ffi.from_buffer
_new = ffi.new


def _inp(ctype, arr):
    return _from_buffer(ctype, arr)


def _out(ctype, arr):
    return _from_buffer(ctype, arr, require_writable=True)


def aggregate_into(device_id, kwh, count, total, minimum, maximum):
    """Fill the n_devices = len(count) outputs; -1 on success, else the index
    of the first row whose device id is >= n_devices."""
    rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    ids = _inp("uint32_t[]", device_id)
    x = _inp("double[]", kwh)
    c = _out("int64_t[]", count)
    t = _out("double[]", total)
    lo = _out("double[]", minimum)
    hi = _out("double[]", maximum)
    return lib.hp_aggregate(ids, x, len(ids), len(c), c, t, lo, hi)


def duplicates_into(device_id, timestamp, key, out):
    """out[i] = True iff an earlier row has the same (device_id, timestamp); returns the hash
    tables' (probes, fallbacks)."""
    k0, k1 = rawchecks.duplicates_into(device_id, timestamp, key, out)
    ids = _inp("uint32_t[]", device_id)
    ts = _inp("int64_t[]", timestamp)
    o = _out("uint8_t[]", out)  # numpy bool: one byte, written as 0/1
    n = len(ids)
    stats = _new("uint64_t[2]")
    if lib.hp_duplicates(ids, ts, n, k0, k1, o, stats) != 0:
        raise MemoryError(f"duplicates: cannot allocate the scratch memory for {n} rows")
    return int(stats[0]), int(stats[1])


def factorize_into(device_id, key, codes, uniques):
    """codes and the first k uniques of device_id (pandas.factorize(sort=False)); returns
    (k, probes, fallbacks)."""
    k0, k1 = rawchecks.factorize_into(device_id, key, codes, uniques)
    ids = _inp("uint32_t[]", device_id)
    c = _out("uint32_t[]", codes)
    u = _out("uint32_t[]", uniques)
    n = len(ids)
    stats = _new("uint64_t[2]")
    found = lib.hp_factorize(ids, n, k0, k1, c, u, stats)
    if found < 0:
        raise MemoryError(f"factorize: cannot allocate the scratch memory for {n} rows")
    return int(found), int(stats[0]), int(stats[1])


def keyed_hash(device_id, timestamp, key):
    """The 64-bit hash the C tables use for the row (hotpath.hashkey.keyed_hash mirrors it)."""
    k0, k1 = rawchecks.hash_key("keyed_hash", key)
    return int(lib.hp_keyed_hash(device_id, timestamp, k0, k1))


def xxh64(data, seed):
    """XXH64 of a uint8 buffer; seed must be an int in [0, 2**64)."""
    seed = rawchecks.xxh64(data, seed)
    buf = _inp("uint8_t[]", data)
    return lib.hp_xxh64(buf, len(buf), seed)


def hash_rows_into(device_id, timestamp, kwh, seed, out):
    """out[i] = XXH64(struct.pack("<Iqd", device_id[i], timestamp[i], kwh[i]), seed)."""
    seed = rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    ids = _inp("uint32_t[]", device_id)
    ts = _inp("int64_t[]", timestamp)
    x = _inp("double[]", kwh)
    o = _out("uint64_t[]", out)
    lib.hp_hash_rows(ids, ts, x, len(ids), seed, o)


BUILD_INFO = "{}, cffi {}".format(
    ffi.string(lib.hp_build_info()).decode("ascii"),
    ffi.string(lib.hp_cffi_version()).decode("ascii"),
)
