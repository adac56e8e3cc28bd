# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=True
"""Raw Cython 3 kernels of hotpath on every core: `prange` and `parallel` blocks over OpenMP.

The same boundary checks as cython_ext._kernels (shared through ../_common.pxi), then loops split
so that every answer is the sequential one, bit for bit, at any thread count (README, "Every
core: parallel variants"): aggregate by device range, duplicates by hash partition after a
stable scatter, hash_rows by rows. xxh64 (one stream) and factorize (first appearance over the
whole input) are cython_ext._kernels' own. The thread count is hotpath.threads.count(), read at
every call; below MIN_PARALLEL_ROWS rows the sequential kernels answer. Cython drops its
`prange` pragmas silently when compiled without OpenMP: the #error below refuses that build.
"""

from cython.parallel cimport parallel, prange, threadid
cimport openmp
from libc.stdint cimport uint8_t, uint32_t, int64_t, uint64_t, uintptr_t
from libc.string cimport memcpy, memset
from libc.stdlib cimport calloc, free, malloc
from libc.math cimport INFINITY, NAN

from hotpath import threads as _threads
from hotpath.rawchecks import hash_key as _hash_key

from cython_ext import _kernels as _sequential

include "../_common.pxi"

cdef extern from *:
    """
    #ifndef _OPENMP
    #error "cython_ext.parallel must be compiled with OpenMP: without it prange is sequential"
    #endif
    #define HP_OPENMP _OPENMP
    """
    const int HP_OPENMP

BUILD_INFO = (f"{(<bytes>HP_CC_VERSION).decode('ascii', 'replace').strip()}, "
              f"{_cython_version()}, OpenMP {HP_OPENMP}")

cdef enum:
    MIN_ROWS = 1 << 14  # below: a thread team costs more than it saves
    MAX_THREADS = 1024  # a cap on HOTPATH_THREADS (duplicates keeps 8 KiB of counters a thread)
    BLOCK = 4096  # aggregate's block of rows (16 KiB of kept offsets, in L1)
    PART_TARGET_LOG2 = 11  # duplicates: ~2048 rows a partition...
    PART_MAX_LOG2 = 10  # ...and at most 1024 partitions (cffi_ext's choice, measured there)

MIN_PARALLEL_ROWS = MIN_ROWS

# xxh64 and factorize: sequential by definition (see the module docstring)
xxh64 = _sequential.xxh64
factorize_into = _sequential.factorize_into


def keyed_hash(uint32_t device_id, int64_t timestamp, key):
    """The 64-bit hash this module's tables use (hotpath.hashkey.keyed_hash mirrors it)."""
    cdef uint64_t k0, k1
    k0, k1 = _hash_key("keyed_hash", key)
    return _keyed_hash(device_id, timestamp, k0, k1)


def team_size(int threads):
    """The threads an OpenMP team asked for `threads` really has (omp_get_num_threads)."""
    cdef int got = 0
    cdef int *shared = &got
    with nogil, parallel(num_threads=max(threads, 1)):
        if threadid() == 0:
            shared[0] = openmp.omp_get_num_threads()
    return got


cdef int _thread_count() except -1:
    return min(_threads.count(), <int>MAX_THREADS)


cdef inline size_t _start(size_t n, size_t t, size_t T) noexcept nogil:
    # where part t of T of [0, n) starts (part t is [_start(t), _start(t + 1)): the first n % T
    # parts one longer). A function, not out-parameters: inside prange, only a variable the
    # body assigns is the thread's own.
    cdef size_t r = n % T
    return t * (n // T) + (t if t < r else r)


# ---------------------------------------------------------------------------------------------
# aggregate: thread t owns the devices [lo_t, hi_t). It reads every id in input order, keeps the
# rows of its own devices (branch-free, a block at a time) and sums them as the sequential
# kernel does: each device's total is one thread's left-to-right sum of its rows. No float
# computed on one thread is ever combined with one from another.
# ---------------------------------------------------------------------------------------------

cdef Py_ssize_t _aggregate_devices(const uint32_t *ids, const double *vals, size_t n, size_t nd,
                                   size_t dlo, size_t dhi, int64_t *cnt, double *tot, double *mn,
                                   double *mx) noexcept nogil:
    # -1, or the first row whose id is >= nd (every thread reads every id: all find the same)
    cdef uint64_t span = dhi - dlo
    cdef uint32_t kept[BLOCK]
    cdef size_t d, b, e, i, m, k, row, cur = dlo
    cdef uint32_t dev, top
    cdef int64_t c = 0
    cdef double t = 0.0, lo = INFINITY, hi = -INFINITY, x
    for d in range(dlo, dhi):
        cnt[d] = 0
        tot[d] = 0.0
        mn[d] = INFINITY
        mx[d] = -INFINITY
    if span == 0:
        return -1
    b = 0
    while b < n:
        e = n if n - b < BLOCK else b + BLOCK
        m = 0
        top = 0
        for i in range(b, e):
            dev = ids[i]
            kept[m] = <uint32_t>(i - b)
            m += (<uint64_t>dev - dlo) < span  # ids below dlo wrap to huge values
            top = dev if dev > top else top
        if top >= nd:
            i = b
            while ids[i] < nd:
                i += 1
            return <Py_ssize_t>i  # outputs are unspecified now
        for k in range(m):
            row = b + kept[k]
            d = ids[row]
            x = vals[row]
            if d != cur:  # the current device's accumulators live in registers
                cnt[cur] = c
                tot[cur] = t
                mn[cur] = lo
                mx[cur] = hi
                cur = d
                c = cnt[cur]
                t = tot[cur]
                lo = mn[cur]
                hi = mx[cur]
            if x == x:  # the sequential update: NaN skipped, strict comparisons keep the first
                c += 1
                t += x
                lo = x if x < lo else lo
                hi = x if x > hi else hi
        b = e
    cnt[cur] = c
    tot[cur] = t
    mn[cur] = lo
    mx[cur] = hi
    for d in range(dlo, dhi):
        if cnt[d] == 0:
            mn[d] = NAN
            mx[d] = NAN
    return -1


def _typed_aggregate_into(const uint32_t[::1] device_id not None, const double[::1] kwh not None,
                   int64_t[::1] count not None, double[::1] total not None,
                   double[::1] minimum not None, double[::1] maximum not None):
    """cython_ext's aggregate_into, each thread owning a range of devices."""
    cdef Py_ssize_t n = device_id.shape[0]
    cdef Py_ssize_t nd = count.shape[0]
    if kwh.shape[0] != n:
        raise ValueError(f"device_id and kwh lengths differ ({n} != {kwh.shape[0]})")
    if total.shape[0] != nd or minimum.shape[0] != nd or maximum.shape[0] != nd:
        raise ValueError("count, total, minimum and maximum must have the same length")
    cdef const uint32_t *ids = &device_id[0]
    cdef const double *vals = &kwh[0]
    cdef int64_t *cnt = &count[0]
    cdef double *tot = &total[0]
    cdef double *mn = &minimum[0]
    cdef double *mx = &maximum[0]
    _aligned("aggregate_into", "device_id", ids, n, ALIGN_U32)
    _aligned("aggregate_into", "kwh", vals, n, ALIGN_F64)
    _aligned("aggregate_into", "count", cnt, nd, ALIGN_I64)
    _aligned("aggregate_into", "total", tot, nd, ALIGN_F64)
    _aligned("aggregate_into", "minimum", mn, nd, ALIGN_F64)
    _aligned("aggregate_into", "maximum", mx, nd, ALIGN_F64)
    cdef const void *data[6]
    cdef size_t nbytes[6]
    data[:] = [cnt, tot, mn, mx, ids, vals]
    nbytes[:] = [nd * sizeof(int64_t), nd * sizeof(double), nd * sizeof(double),
                 nd * sizeof(double), n * sizeof(uint32_t), n * sizeof(double)]
    _disjoint("aggregate_into", ("count", "total", "minimum", "maximum", "device_id", "kwh"),
              data, nbytes, 4)
    cdef int nthreads = _thread_count()
    if nthreads <= 1 or n < MIN_ROWS or nd < 2:
        return _sequential._typed_aggregate_into(device_id, kwh, count, total, minimum, maximum)
    if nthreads > nd:
        nthreads = <int>nd
    # each thread's answer in its own slot: no shared write
    cdef Py_ssize_t *found = <Py_ssize_t *>malloc(nthreads * sizeof(Py_ssize_t))
    if found == NULL:
        raise MemoryError("aggregate: cannot allocate the threads' results")
    cdef Py_ssize_t bad = -1
    cdef int tid, T, u
    cdef size_t dlo, dhi
    for u in range(nthreads):
        found[u] = -1
    with nogil, parallel(num_threads=nthreads):
        tid = threadid()
        T = openmp.omp_get_num_threads()
        dlo = _start(<size_t>nd, <size_t>tid, <size_t>T)
        dhi = _start(<size_t>nd, <size_t>tid + 1, <size_t>T)
        found[tid] = _aggregate_devices(ids, vals, <size_t>n, <size_t>nd, dlo, dhi,
                                        cnt, tot, mn, mx)
    for u in range(nthreads):
        if found[u] >= 0:
            bad = found[u]
    free(found)
    return bad


# ---------------------------------------------------------------------------------------------
# duplicates: partitions by the top bits of the keyed hash, made by a parallel stable scatter
# (chunk c's rows of partition p go after chunk c-1's: each partition holds its rows in input
# order), then each partition's own table, bounded, or its sort past the bound -- the
# partitions of cffi_ext/src/hotpath_kernels.c, dealt out to the threads dynamically. Equal
# rows share a partition, so "first occurrence" is decided inside one partition, in row order.
# ---------------------------------------------------------------------------------------------

cdef int _dedup_hashed(const uint32_t *ids, const int64_t *ts, const uint64_t *entries, size_t m,
                       uint64_t idx_mask, int idx_bits, uint64_t *table, uint8_t *o,
                       uint64_t *probes) noexcept nogil:
    # Linear probing over one partition's entries (rows in input order, load <= 1/4): marks its
    # duplicates in o (zeroed) and returns 0, or 1 once probing passes the bound.
    cdef uint64_t budget = _budget(m), total = 0, e, tag, s
    cdef size_t cap = 16, mask, k, q, j, r
    cdef unsigned run = 0
    cdef bint dup
    while cap // 4 < m:
        cap <<= 1
    mask = cap - 1
    memset(table, 0, cap * sizeof(uint64_t))
    for k in range(m):
        e = entries[k]
        tag = e & ~idx_mask
        q = <size_t>(e >> idx_bits) & mask  # fresh bits: the partition used the topmost
        run = 0
        dup = False
        while True:
            s = table[q]
            if s == 0:
                table[q] = e
                break
            if (s & ~idx_mask) == tag:
                j = <size_t>(s & idx_mask) - 1
                r = <size_t>(e & idx_mask) - 1
                if ids[j] == ids[r] and ts[j] == ts[r]:
                    o[r] = 1  # keep the first: don't insert
                    break
            run += 1
            if run > RUN_LIMIT:
                probes[0] += total + run
                return 1
            q = (q + 1) & mask
        total += run
        if total > budget:
            probes[0] += total
            return 1
    probes[0] += total
    return 0


cdef int _dedup_sorted(const uint32_t *ids, const int64_t *ts, const uint64_t *entries, size_t m,
                       uint64_t idx_mask, uint8_t *o) noexcept nogil:
    # The same marks for one partition from a sort of its rows; -1 if out of memory.
    cdef Rec *buf = _records(m)
    cdef Rec *s
    cdef size_t k, r
    cdef uint64_t ts_or = 0, ts_and = <uint64_t>-1
    cdef uint32_t id_or = 0, id_and = <uint32_t>-1
    if buf == NULL:
        return -1
    for k in range(m):  # entries are in input order: so is buf
        r = <size_t>(entries[k] & idx_mask) - 1
        buf[k].ts = <uint64_t>ts[r]
        buf[k].row = r
        buf[k].id = ids[r]
        ts_or |= buf[k].ts
        ts_and &= buf[k].ts
        id_or |= buf[k].id
        id_and &= buf[k].id
    s = _radix_sort(buf, m, ts_or ^ ts_and, id_or ^ id_and)
    for k in range(m):
        o[s[k].row] = k > 0 and s[k].id == s[k - 1].id and s[k].ts == s[k - 1].ts
    free(buf)
    return 0


def _typed_duplicates_into(const uint32_t[::1] device_id not None, const int64_t[::1] timestamp not None,
                    key, uint8_t[::1] out not None):
    """cython_ext's duplicates_into on hash partitions made and deduplicated in parallel.
    Returns the tables' (probes, fallbacks): fallbacks counts the partitions sorted."""
    cdef uint64_t k0, k1
    k0, k1 = _hash_key("duplicates_into", key)
    cdef Py_ssize_t n = device_id.shape[0]
    if timestamp.shape[0] != n or out.shape[0] != n:
        raise ValueError(f"device_id, timestamp and out lengths differ "
                         f"({n}, {timestamp.shape[0]}, {out.shape[0]})")
    _aligned("duplicates_into", "device_id", &device_id[0], n, ALIGN_U32)
    _aligned("duplicates_into", "timestamp", &timestamp[0], n, ALIGN_I64)
    cdef const void *data[3]
    cdef size_t nbytes[3]
    data[:] = [&out[0], &device_id[0], &timestamp[0]]
    nbytes[:] = [n, n * sizeof(uint32_t), n * sizeof(int64_t)]
    _disjoint("duplicates_into", ("out", "device_id", "timestamp"), data, nbytes, 1)
    cdef int T = _thread_count()
    if T <= 1 or n < MIN_ROWS:
        return _sequential._typed_duplicates_into(device_id, timestamp, key, out)
    if <size_t>n > (<size_t>-1) // (2 * sizeof(uint64_t)) or <uint64_t>n >= (<uint64_t>1 << 60):
        raise MemoryError(f"duplicates: cannot allocate the scratch memory for {n} rows")

    cdef const uint32_t *ids = &device_id[0]
    cdef const int64_t *ts = &timestamp[0]
    cdef uint8_t *o = &out[0]
    # the index field: row + 1 <= n fits; the hash's bits above it are the tag
    cdef uint64_t idx_mask = 1
    cdef int idx_bits = 1
    while idx_mask < <uint64_t>n:
        idx_mask = (idx_mask << 1) | 1
        idx_bits += 1
    cdef int pbits = 0
    while pbits < PART_MAX_LOG2 and (<size_t>1 << (pbits + PART_TARGET_LOG2)) < <size_t>n:
        pbits += 1
    cdef size_t nparts = <size_t>1 << pbits
    cdef int pshift = 63 - pbits  # (h >> pshift) >> 1: the top pbits, defined for pbits == 0
    cdef size_t oversize = 4 * (<size_t>n >> pbits) + 1024
    cdef size_t width = nparts + 1

    cdef uint64_t *block = <uint64_t *>malloc(2 * <size_t>n * sizeof(uint64_t))
    cdef size_t *hist = <size_t *>calloc(<size_t>T * width, sizeof(size_t))
    cdef size_t *bounds = <size_t *>malloc(width * sizeof(size_t))
    cdef uint64_t *tables = NULL
    if block == NULL or hist == NULL or bounds == NULL:
        free(block)
        free(hist)
        free(bounds)
        raise MemoryError(f"duplicates: cannot allocate the scratch memory for {n} rows")
    cdef uint64_t *entries = block
    cdef uint64_t *staged = block + n
    cdef size_t *h
    cdef size_t lo, hi, i, p, u, at, start, c, max_part = 0, tcap = 16
    cdef Py_ssize_t chunk, part
    cdef uint64_t x, e, probes = 0, fallbacks = 0
    cdef uint64_t *table
    cdef int failed = 0, sorted_failed = 0

    with nogil:
        # Pass 1, chunk by chunk (T chunks of rows): entries in input order, partition counts.
        for chunk in prange(T, num_threads=T, schedule="static"):
            lo = _start(<size_t>n, <size_t>chunk, <size_t>T)
            hi = _start(<size_t>n, <size_t>chunk + 1, <size_t>T)
            h = hist + <size_t>chunk * width
            for i in range(lo, hi):
                x = _keyed_hash(ids[i], ts[i], k0, k1)
                staged[i] = (x & ~idx_mask) | <uint64_t>(i + 1)
                h[<size_t>((x >> pshift) >> 1)] += 1
            memset(o + lo, 0, hi - lo)  # only duplicates are written below
        # Offsets partition-major, chunk-minor: partition p holds chunk 0's rows of p, then
        # chunk 1's...: input order. max_part: the largest partition that gets a table.
        at = 0
        for p in range(nparts):
            start = at
            bounds[p] = start
            for u in range(<size_t>T):
                c = hist[u * width + p]
                hist[u * width + p] = at
                at += c
            if at - start > max_part and at - start <= oversize:
                max_part = at - start
        bounds[nparts] = at
        while tcap // 4 < max_part:
            tcap <<= 1
        if tcap > (<size_t>-1) // sizeof(uint64_t) // <size_t>T:
            failed = 1
        else:
            tables = <uint64_t *>malloc(<size_t>T * tcap * sizeof(uint64_t))
            failed = tables == NULL
        if not failed:
            # Pass 2: the stable scatter, chunk by chunk.
            for chunk in prange(T, num_threads=T, schedule="static"):
                lo = _start(<size_t>n, <size_t>chunk, <size_t>T)
                hi = _start(<size_t>n, <size_t>chunk + 1, <size_t>T)
                h = hist + <size_t>chunk * width
                for i in range(lo, hi):
                    e = staged[i]
                    p = <size_t>((e >> pshift) >> 1)
                    entries[h[p]] = e
                    h[p] += 1
            # Pass 3: each partition's table (this thread's), or its sort past the bound.
            for part in prange(<Py_ssize_t>nparts, num_threads=T, schedule="dynamic", chunksize=1):
                lo = bounds[part]
                hi = bounds[part + 1]
                table = tables + <size_t>threadid() * tcap
                x = 0
                if hi - lo > oversize or _dedup_hashed(ids, ts, entries + lo, hi - lo, idx_mask,
                                                       idx_bits, table, o, &x):
                    fallbacks += 1
                    if _dedup_sorted(ids, ts, entries + lo, hi - lo, idx_mask, o) != 0:
                        sorted_failed += 1
                probes += x
    free(tables)
    free(bounds)
    free(hist)
    free(block)
    if failed or sorted_failed:
        raise MemoryError(f"duplicates: cannot allocate the scratch memory for {n} rows")
    return probes, fallbacks


# ---------------------------------------------------------------------------------------------
# hash_rows: each row's hash depends on that row only -- static ranges of rows
# ---------------------------------------------------------------------------------------------

def _typed_hash_rows_into(const uint32_t[::1] device_id not None, const int64_t[::1] timestamp not None,
                   const double[::1] kwh not None, uint64_t seed, uint64_t[::1] out not None):
    """out[i] = XXH64(struct.pack("<Iqd", device_id[i], timestamp[i], kwh[i]), seed)."""
    cdef Py_ssize_t n = device_id.shape[0]
    if timestamp.shape[0] != n or kwh.shape[0] != n or out.shape[0] != n:
        raise ValueError(f"device_id, timestamp, kwh and out lengths differ "
                         f"({n}, {timestamp.shape[0]}, {kwh.shape[0]}, {out.shape[0]})")
    cdef const uint32_t *ids = &device_id[0]
    cdef const int64_t *ts = &timestamp[0]
    cdef const double *vals = &kwh[0]
    cdef uint64_t *o = &out[0]
    cdef uint64_t h0 = seed + P5 + 20  # the < 32-byte start state, shared by every row
    cdef uint64_t h, t, bits
    cdef Py_ssize_t i
    _aligned("hash_rows_into", "device_id", ids, n, ALIGN_U32)
    _aligned("hash_rows_into", "timestamp", ts, n, ALIGN_I64)
    _aligned("hash_rows_into", "kwh", vals, n, ALIGN_F64)
    _aligned("hash_rows_into", "out", o, n, ALIGN_U64)
    cdef const void *data[4]
    cdef size_t nbytes[4]
    data[:] = [o, ids, ts, vals]
    nbytes[:] = [n * sizeof(uint64_t), n * sizeof(uint32_t), n * sizeof(int64_t),
                 n * sizeof(double)]
    _disjoint("hash_rows_into", ("out", "device_id", "timestamp", "kwh"), data, nbytes, 1)
    cdef int T = _thread_count()
    if T <= 1 or n < MIN_ROWS:
        return _sequential._typed_hash_rows_into(device_id, timestamp, kwh, seed, out)
    for i in prange(n, nogil=True, num_threads=T, schedule="static"):
        t = <uint64_t>ts[i]
        bits = 0  # assigned in the body: each thread's own (memcpy alone would share it)
        memcpy(&bits, &vals[i], 8)  # raw IEEE bits, NaN payloads included
        h = h0
        h = h ^ _round(0, <uint64_t>ids[i] | (t << 32))
        h = _rotl(h, 27) * P1 + P4
        h = h ^ _round(0, (t >> 32) | (bits << 32))
        h = _rotl(h, 27) * P1 + P4
        h = h ^ ((bits >> 32) * P1)
        h = _rotl(h, 23) * P2 + P3
        o[i] = _avalanche(h)


# The raw entry points: hotpath.rawchecks first, as in the sequential module, so that a bad call
# raises its exception and message -- not Cython's, from typing the arguments as memoryviews.
import hotpath.rawchecks as _rawchecks


def aggregate_into(device_id, kwh, count, total, minimum, maximum):
    """Per-device count/total/min/max of non-NaN kwh, each device's rows summed by one thread
    in input order; returns -1, or the index of the first row whose id is >= len(count)."""
    _rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    return _typed_aggregate_into(device_id, kwh, count, total, minimum, maximum)


def duplicates_into(device_id, timestamp, key, out):
    """out[i] = True iff an earlier row has the same (device_id, timestamp), partition by
    partition of the keyed hash; returns the tables' (probes, fallbacks)."""
    _rawchecks.duplicates_into(device_id, timestamp, key, out)
    return _typed_duplicates_into(device_id, timestamp, key, out)


def hash_rows_into(device_id, timestamp, kwh, seed, out):
    """out[i] = XXH64 of row i's 20 bytes with ``seed``, rows split between the threads."""
    seed = _rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    return _typed_hash_rows_into(device_id, timestamp, kwh, seed, out)
