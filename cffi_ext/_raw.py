"""Raw kernel interface (see the hotpath spec) on top of the cffi module.

Callers (``hotpath.contract``) hand in canonical 1-D C-contiguous numpy arrays;
inputs may be read-only. ``ffi.from_buffer`` wraps each buffer without copying,
and every length passed to C is taken from those wrappers (buffer size //
item size), so C can never index past the end of any buffer even if a caller
got a length or dtype wrong.

GIL: cffi API-mode wrappers release the GIL around every C call by default;
the generated ``_kernels.c`` brackets each ``hp_*`` call with
``Py_BEGIN_ALLOW_THREADS`` / ``Py_END_ALLOW_THREADS`` (checked in the emitted
source and with a two-thread timing test for this build). The kernels touch
no Python objects, so that is safe.
"""

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
    ids = _inp("uint32_t[]", device_id)
    x = _inp("double[]", kwh)
    c = _out("int64_t[]", count)
    t = _out("double[]", total)
    lo = _out("double[]", minimum)
    hi = _out("double[]", maximum)
    n = len(ids)
    if len(x) != n:
        raise ValueError(f"device_id and kwh lengths differ ({n} != {len(x)})")
    nd = len(c)
    if not len(t) == len(lo) == len(hi) == nd:
        raise ValueError(
            f"count/total/minimum/maximum lengths differ ({nd}, {len(t)}, {len(lo)}, {len(hi)})"
        )
    return lib.hp_aggregate(ids, x, n, nd, c, t, lo, hi)


def duplicates_into(device_id, timestamp, out):
    """out[i] = True iff an earlier row has the same (device_id, timestamp)."""
    ids = _inp("uint32_t[]", device_id)
    ts = _inp("int64_t[]", timestamp)
    o = _out("uint8_t[]", out)  # numpy bool: one byte, written as 0/1
    n = len(ids)
    if len(ts) != n or len(o) != n:
        raise ValueError(f"device_id/timestamp/out lengths differ ({n}, {len(ts)}, {len(o)})")
    if lib.hp_duplicates(ids, ts, n, o) != 0:
        raise MemoryError(f"duplicates: cannot allocate the hash table for {n} rows")


def xxh64(data, seed):
    """XXH64 of a uint8 buffer; seed must be an int in [0, 2**64)."""
    buf = _inp("uint8_t[]", data)
    return lib.hp_xxh64(buf, len(buf), seed)


def hash_rows_into(device_id, timestamp, kwh, seed, out):
    """out[i] = XXH64(struct.pack("<Iqd", device_id[i], timestamp[i], kwh[i]), seed)."""
    ids = _inp("uint32_t[]", device_id)
    ts = _inp("int64_t[]", timestamp)
    x = _inp("double[]", kwh)
    o = _out("uint64_t[]", out)
    n = len(ids)
    if not len(ts) == len(x) == len(o) == n:
        raise ValueError(
            f"device_id/timestamp/kwh/out lengths differ ({n}, {len(ts)}, {len(x)}, {len(o)})"
        )
    lib.hp_hash_rows(ids, ts, x, n, seed, o)


BUILD_INFO = "{}, cffi {}".format(
    ffi.string(lib.hp_build_info()).decode("ascii"),
    ffi.string(lib.hp_cffi_version()).decode("ascii"),
)
