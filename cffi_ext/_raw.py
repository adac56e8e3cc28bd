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

__all__ = ["BUILD_INFO", "aggregate_into", "duplicates_into", "hash_rows_into", "xxh64"]

_from_buffer = ffi.from_buffer


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


def duplicates_into(device_id, timestamp, out):
    """out[i] = True iff an earlier row has the same (device_id, timestamp)."""
    rawchecks.duplicates_into(device_id, timestamp, out)
    ids = _inp("uint32_t[]", device_id)
    ts = _inp("int64_t[]", timestamp)
    o = _out("uint8_t[]", out)  # numpy bool: one byte, written as 0/1
    n = len(ids)
    if lib.hp_duplicates(ids, ts, n, o) != 0:
        raise MemoryError(f"duplicates: cannot allocate the hash table for {n} rows")


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
