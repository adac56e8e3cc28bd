# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=True
"""Raw Cython 3 kernels of hotpath (see hotpath.contract for the public, validating API).

Every function validates its arguments once at the boundary (the memoryviews check dtype,
dimensions and contiguity; the code checks lengths and alignment, see hotpath.rawchecks), then
runs a tight `nogil` loop over raw pointers. The module-wide directives above disable per-element
bounds/wraparound/initialization checks; this is safe only because each entry point checks what
it relies on first and every memoryview argument is declared `not None`.
"""

from libc.stdint cimport uint8_t, uint32_t, int64_t, uint64_t, uintptr_t
from libc.string cimport memcpy, memset
from libc.stdlib cimport calloc, free, malloc

from hotpath.rawchecks import hash_key as _hash_key  # the key's check, the same everywhere
from libc.math cimport INFINITY, NAN

include "_common.pxi"  # shims, checks, keyed hash, radix sort, XXH64 steps


BUILD_INFO = f"{(<bytes>HP_CC_VERSION).decode('ascii', 'replace').strip()}, {_cython_version()}"


# ---------------------------------------------------------------------------------------------
# aggregate
# ---------------------------------------------------------------------------------------------

def _typed_aggregate_into(const uint32_t[::1] device_id not None, const double[::1] kwh not None,
                   int64_t[::1] count not None, double[::1] total not None,
                   double[::1] minimum not None, double[::1] maximum not None):
    """Per-device count/total/min/max of non-NaN kwh; returns -1, or the index of the first row
    whose device id is >= len(count)."""
    cdef Py_ssize_t n = device_id.shape[0]
    cdef Py_ssize_t nd = count.shape[0]
    if kwh.shape[0] != n:
        raise ValueError(f"device_id and kwh lengths differ ({n} != {kwh.shape[0]})")
    if total.shape[0] != nd or minimum.shape[0] != nd or maximum.shape[0] != nd:
        raise ValueError("count, total, minimum and maximum must have the same length")

    # boundscheck is off, so &view[0] is just the data pointer, valid even for length 0
    cdef const uint32_t *ids = &device_id[0]
    cdef const double *vals = &kwh[0]
    cdef int64_t *cnt = &count[0]
    cdef double *tot = &total[0]
    cdef double *mn = &minimum[0]
    cdef double *mx = &maximum[0]
    cdef Py_ssize_t i, bad = -1
    cdef uint32_t d
    cdef double x, m
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

    with nogil:
        # +inf/-inf sentinels make the row loop free of "first value" branches; devices that saw
        # no value are turned into NaN afterwards.
        for i in range(nd):
            cnt[i] = 0
            tot[i] = 0.0
            mn[i] = INFINITY
            mx[i] = -INFINITY
        for i in range(n):
            d = ids[i]
            if d >= <size_t>nd:  # checked for every row, NaN readings included
                bad = i
                break
            x = vals[i]
            if x == x:  # a NaN (missing reading) is skipped; rare, so well predicted
                cnt[d] += 1
                tot[d] += x  # plain sequential addition in input order (bit-exact contract)
                # Strict comparisons keep the first of equal values (-0.0 vs 0.0 included). Written
                # as selects, they compile to branch-free minsd/maxsd, whose semantics match.
                m = mn[d]
                mn[d] = x if x < m else m
                m = mx[d]
                mx[d] = x if x > m else m
        if bad < 0:
            for i in range(nd):
                if cnt[i] == 0:
                    mn[i] = NAN
                    mx[i] = NAN
    return bad


def keyed_hash(uint32_t device_id, int64_t timestamp, key):
    """The 64-bit hash this module's tables use (hotpath.hashkey.keyed_hash mirrors it)."""
    cdef uint64_t k0, k1
    k0, k1 = _hash_key("keyed_hash", key)
    return _keyed_hash(device_id, timestamp, k0, k1)


# ---------------------------------------------------------------------------------------------
# duplicates: open addressing, linear probing, one 8-byte word per slot
# ---------------------------------------------------------------------------------------------
#
# A slot is 0 (empty) or `fingerprint | (row + 1)`: the low `ib` bits hold the index of the row
# that inserted the key (so the key itself is read back from the input arrays), the high bits
# hold high bits of the key's hash. A probe compares the fingerprint in-register and touches the
# input row only on a fingerprint match, i.e. (almost) only for a true duplicate.
# Why not inline 16-byte (ts, id, marker) slots: at 1M rows the table is 2**21 slots; 16-byte
# slots make it 32 MiB, just above glibc's largest mmap threshold, so every call gets a fresh
# mmap and pays ~8k page faults (measured ~75 ms/call, slower than pandas), while 8-byte slots
# (16 MiB) are recycled by the allocator and halve the cache/TLB footprint (~20 ms/call).
# Once probing passes the bound, the whole call is answered by the sort instead.

cdef enum:
    PF_DIST = 32  # rows of look-ahead (power of two): hides the cache miss of a random slot access


# The packed sort (cffi_ext/src/hotpath_kernels.c explains it): when the keys vary in few bits,
# each row becomes one word, row + 1 in the low ib bits and the 10-bit digits covering every bit
# in which keys differ above them, sorted in the given-up table's memory (>= 2n words). The
# 24-byte records' 48 MB at 1M rows, fresh from the OS on every call, cost more in page faults
# than the sort itself (measured ~5x random keys).
cdef enum:
    PACK_BITS = 10  # 1024 buckets: 8-, 11- and 12-bit digits measured slower
    PACK_SIZE = 1024
    PACK_MAX = 6  # 6 x 10 bits nearly fill a word

cdef int _pack_digits(uint64_t vary, int bits, int *shift, int count) noexcept nogil:
    # The shifts of the fewest digits covering the set bits of vary, appended to shift from
    # count; returns the new count, or PACK_MAX + 1 once more are needed.
    cdef int s = 0
    while s < bits and count <= PACK_MAX:
        if (vary >> s) & 1 == 0:
            s += 1
            continue
        if count < PACK_MAX:
            shift[count] = s
        count += 1
        s += PACK_BITS
    return count

cdef int _dedup_packed(const uint32_t *ids, const int64_t *ts, Py_ssize_t n, uint8_t *o,
                       uint64_t *room, int ib, uint64_t vary_ts, uint32_t vary_id) noexcept nogil:
    # Every mark from the packed sort in room (2n words): 0, 1 when the digits do not fit (room
    # and o untouched), -1 if out of memory.
    cdef int shift[PACK_MAX]
    cdef int nts = _pack_digits(vary_ts, 64, shift, 0)
    cdef int nd = _pack_digits(vary_id, 32, shift, nts)
    cdef uint64_t *a = room
    cdef uint64_t *tmp = room + n
    cdef uint64_t *swap
    cdef uint64_t packed, word, key, previous = 0, row_mask = (<uint64_t>1 << ib) - 1
    cdef size_t *hist
    cdef size_t *h
    cdef size_t digit, c, total
    cdef Py_ssize_t i
    cdef int d, sh
    if nd > PACK_MAX or ib + PACK_BITS * nd > 64:
        return 1
    hist = <size_t *>calloc((nd + 1) * PACK_SIZE, sizeof(size_t))  # 48 KiB at most
    if hist == NULL:
        return -1
    for i in range(n):
        packed = <uint64_t>(i + 1)
        for d in range(nd):  # the digits, counted as they are made
            word = <uint64_t>ts[i] if d < nts else <uint64_t>ids[i]
            digit = <size_t>((word >> shift[d]) & (PACK_SIZE - 1))
            hist[d * PACK_SIZE + digit] += 1
            packed |= <uint64_t>digit << (ib + PACK_BITS * d)
        a[i] = packed
    for d in range(nd):  # LSD, stable: rows keep their order per digit
        sh = ib + PACK_BITS * d
        h = hist + d * PACK_SIZE
        total = 0
        for c in range(PACK_SIZE):
            digit = h[c]
            h[c] = total
            total += digit
        for i in range(n):
            word = a[i]
            digit = <size_t>((word >> sh) & (PACK_SIZE - 1))
            tmp[h[digit]] = word
            h[digit] += 1
        swap = a
        a = tmp
        tmp = swap
    free(hist)
    for i in range(n):  # the digits hold every bit in which keys differ: equal digits, equal keys
        key = a[i] >> ib
        o[(a[i] & row_mask) - 1] = i > 0 and key == previous
        previous = key
    return 0


cdef int _dedup_sorted(const uint32_t *ids, const int64_t *ts, Py_ssize_t n,
                       uint8_t *o, uint64_t *room, int ib) noexcept nogil:
    # Every mark from a sort of the rows: packed in room (2n words) if it can, else records;
    # -1 if out of memory.
    cdef Rec *buf
    cdef Rec *s
    cdef Py_ssize_t i
    cdef int packed
    cdef uint64_t ts_or = 0, ts_and = <uint64_t>-1
    cdef uint32_t id_or = 0, id_and = <uint32_t>-1
    for i in range(n):
        ts_or |= <uint64_t>ts[i]
        ts_and &= <uint64_t>ts[i]
        id_or |= ids[i]
        id_and &= ids[i]
    packed = _dedup_packed(ids, ts, n, o, room, ib, ts_or ^ ts_and, id_or ^ id_and)
    if packed != 1:
        return packed
    buf = _records(n)
    if buf == NULL:
        return -1
    for i in range(n):
        buf[i].ts = <uint64_t>ts[i]
        buf[i].row = i
        buf[i].id = ids[i]
    s = _radix_sort(buf, n, ts_or ^ ts_and, id_or ^ id_and)
    for i in range(n):
        o[s[i].row] = i > 0 and s[i].id == s[i - 1].id and s[i].ts == s[i - 1].ts
    free(buf)
    return 0


def _typed_duplicates_into(const uint32_t[::1] device_id not None, const int64_t[::1] timestamp not None,
                    key, uint8_t[::1] out not None):
    """out[i] = 1 iff an earlier row has the same (device_id, timestamp), else 0
    (pandas DataFrame.duplicated(keep="first")), hashing with `key` (a hotpath.hashkey.HashKey).
    `out` may be a numpy bool array. Returns the table's (probes, fallbacks)."""
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
    if n == 0:
        return 0, 0

    # Load factor <= 1/2 keeps linear-probe chains short; a power of two makes the index a mask.
    cdef size_t cap = 16
    while cap < <size_t>n * 2:
        cap <<= 1
    cdef int ib = 1  # bits for row + 1 (<= n); every row index fits, the rest is fingerprint
    while (<uint64_t>1 << ib) <= <uint64_t>n:
        ib += 1
    cdef uint64_t row_mask = (<uint64_t>1 << ib) - 1
    cdef uint64_t *table = <uint64_t *>calloc(cap, sizeof(uint64_t))  # checks cap * 8 for overflow
    if table == NULL:
        raise MemoryError(f"duplicates: cannot allocate a {cap}-slot hash table")

    cdef const uint32_t *ids = &device_id[0]
    cdef const int64_t *ts = &timestamp[0]
    cdef uint8_t *o = &out[0]
    cdef size_t mask = cap - 1, pos
    cdef uint64_t hashes[PF_DIST]
    cdef uint64_t h, fp, slot, r
    cdef uint64_t probes = 0, budget = _budget(n)
    cdef unsigned run = 0
    cdef bint gave_up = False
    cdef int failed = 0
    cdef uint32_t d
    cdef int64_t t
    cdef Py_ssize_t i, j

    with nogil:
        # Hashes of the next PF_DIST rows live in a small ring; their slots are prefetched so that
        # many independent cache misses are in flight while the current row probes.
        for i in range(min(n, <Py_ssize_t>PF_DIST)):
            h = _keyed_hash(ids[i], ts[i], k0, k1)
            hashes[i] = h
            HP_PREFETCH_W(&table[h & mask])
        for i in range(n):
            h = hashes[i & (PF_DIST - 1)]
            j = i + PF_DIST
            if j < n:
                hashes[j & (PF_DIST - 1)] = _keyed_hash(ids[j], ts[j], k0, k1)
                HP_PREFETCH_W(&table[hashes[j & (PF_DIST - 1)] & mask])
            d = ids[i]
            t = ts[i]
            fp = h & ~row_mask
            pos = h & mask
            run = 0
            while True:
                slot = table[pos]
                if slot == 0:  # end of the probe chain: first occurrence, claim the slot
                    table[pos] = fp | <uint64_t>(i + 1)
                    o[i] = 0
                    break
                if (slot & ~row_mask) == fp:
                    r = (slot & row_mask) - 1  # an earlier row (< i): in bounds
                    if ids[r] == d and ts[r] == t:
                        o[i] = 1
                        break
                run += 1
                if run > RUN_LIMIT:
                    gave_up = True
                    break
                pos = (pos + 1) & mask
            probes += run
            if gave_up or probes > budget:
                gave_up = True
                break
        if gave_up:  # the table's memory (>= 2n words) is the packed sort's room
            failed = _dedup_sorted(ids, ts, n, o, table, ib)
        free(table)
    if failed:
        raise MemoryError(f"duplicates: cannot allocate the sort's scratch memory for {n} rows")
    return probes, int(gave_up)


# ---------------------------------------------------------------------------------------------
# factorize: one open-addressing table of ids, grown with them (load <= 1/2)
# ---------------------------------------------------------------------------------------------
#
# A slot is one 8-byte word: id << 32 | (code + 1), 0 when empty, so a probe compares the id
# in-register. code + 1 <= n fits in 32 bits for n < 2**32 rows; larger inputs take the sort.
# The table starts at 16 slots and doubles, rebuilt from uniques, whenever the ids pass an eighth
# of it (never beyond the smallest power of two >= 2n): its size follows the ids, not the rows.
# Load 1/8 rather than 1/2: with few ids, half the lookups would probe twice and mispredict.

cdef uint64_t *_factorize_table(const uint32_t *u, Py_ssize_t found, size_t cap, uint64_t k0,
                                uint64_t k1, uint64_t *probes, bint *gave_up) noexcept nogil:
    # A zeroed table of cap slots holding the codes 0..found-1 of u; NULL if out of memory.
    cdef uint64_t *table = <uint64_t *>calloc(cap, sizeof(uint64_t))
    cdef size_t mask = cap - 1, pos
    cdef unsigned run
    cdef Py_ssize_t c
    if table == NULL:
        return NULL
    for c in range(found):
        pos = _keyed_hash(u[c], 0, k0, k1) & mask
        run = 0
        while table[pos] != 0:  # the ids are distinct: only a free slot ends the chain
            run += 1
            if run > RUN_LIMIT:
                gave_up[0] = True
                break
            pos = (pos + 1) & mask
        probes[0] += run
        if gave_up[0]:
            break
        table[pos] = (<uint64_t>u[c] << 32) | <uint64_t>(c + 1)
    return table

cdef Py_ssize_t _factorize_sorted(const uint32_t *ids, Py_ssize_t n, uint32_t *c,
                                  uint32_t *u) noexcept nogil:
    # codes and uniques from a stable sort by id: the first row of each id's run is its first
    # appearance. The number of uniques, or -1 if out of memory.
    cdef Rec *buf = _records(n)
    cdef Rec *s
    cdef uint64_t *lead
    cdef uint64_t first = 0, row
    cdef uint32_t id_or = 0, id_and = <uint32_t>-1
    cdef Py_ssize_t i, found = 0
    if buf == NULL:
        return -1
    for i in range(n):
        buf[i].ts = 0
        buf[i].row = i
        buf[i].id = ids[i]
        id_or |= ids[i]
        id_and &= ids[i]
    s = _radix_sort(buf, n, 0, id_or ^ id_and)
    lead = <uint64_t *>(buf + n if s == buf else buf)  # the other half: 24 bytes a row, 8 needed
    for i in range(n):
        row = s[i].row
        if i == 0 or s[i].id != s[i - 1].id:
            first = row
        lead[row] = first
    for i in range(n):
        if lead[i] == <uint64_t>i:  # a first appearance: the next code
            u[found] = ids[i]
            c[i] = <uint32_t>found
            found += 1
        else:  # an earlier row's
            c[i] = c[lead[i]]
    free(buf)
    return found


def _typed_factorize_into(const uint32_t[::1] device_id not None, key, uint32_t[::1] codes not None,
                   uint32_t[::1] uniques not None):
    """codes[i] = index of device_id[i] among the distinct ids in order of first appearance,
    which go to uniques[:k] (pandas.factorize(sort=False)); returns (k, probes, fallbacks)."""
    cdef uint64_t k0, k1
    k0, k1 = _hash_key("factorize_into", key)
    cdef Py_ssize_t n = device_id.shape[0]
    if codes.shape[0] != n or uniques.shape[0] != n:
        raise ValueError(f"device_id, codes and uniques lengths differ "
                         f"({n}, {codes.shape[0]}, {uniques.shape[0]})")
    _aligned("factorize_into", "device_id", &device_id[0], n, ALIGN_U32)
    _aligned("factorize_into", "codes", &codes[0], n, ALIGN_U32)
    _aligned("factorize_into", "uniques", &uniques[0], n, ALIGN_U32)
    cdef const void *data[3]
    cdef size_t nbytes[3]
    data[:] = [&codes[0], &uniques[0], &device_id[0]]
    nbytes[:] = [n * sizeof(uint32_t), n * sizeof(uint32_t), n * sizeof(uint32_t)]
    _disjoint("factorize_into", ("codes", "uniques", "device_id"), data, nbytes, 2)
    if n == 0:
        return 0, 0, 0

    cdef const uint32_t *ids = &device_id[0]
    cdef uint32_t *c = &codes[0]
    cdef uint32_t *u = &uniques[0]
    cdef uint64_t *table = NULL
    cdef size_t cap = 16, max_cap = 16, mask = 15, pos
    cdef uint64_t probes = 0, budget = _budget(n), slot
    cdef unsigned run = 0
    cdef bint gave_up = <uint64_t>n > 0xFFFFFFFF  # codes + 1 would not fit: sort
    cdef bint failed = False
    cdef Py_ssize_t i, found = 0
    cdef uint32_t d
    if not gave_up:
        while max_cap < <size_t>n * 2:
            max_cap <<= 1
        table = <uint64_t *>calloc(cap, sizeof(uint64_t))
        if table == NULL:
            raise MemoryError("factorize: cannot allocate its hash table")
    with nogil:
        if not gave_up:
            for i in range(n):
                d = ids[i]
                pos = _keyed_hash(d, 0, k0, k1) & mask
                run = 0
                while True:
                    slot = table[pos]
                    if slot == 0:  # a new id: the next code
                        table[pos] = (<uint64_t>d << 32) | <uint64_t>(found + 1)
                        u[found] = d
                        c[i] = <uint32_t>found
                        found += 1
                        if <size_t>found > cap // 8 and cap < max_cap:  # keep the load <= 1/8
                            free(table)
                            cap <<= 1
                            mask = cap - 1
                            table = _factorize_table(u, found, cap, k0, k1, &probes, &gave_up)
                            failed = table == NULL
                        break
                    if <uint32_t>(slot >> 32) == d:
                        c[i] = <uint32_t>slot - 1
                        break
                    run += 1
                    if run > RUN_LIMIT:
                        gave_up = True
                        break
                    pos = (pos + 1) & mask
                probes += run
                if failed or gave_up or probes > budget:
                    gave_up = True
                    break
            free(table)
        if gave_up and not failed:
            found = _factorize_sorted(ids, n, c, u)
    if failed:
        raise MemoryError("factorize: cannot allocate its hash table")
    if found < 0:
        raise MemoryError(f"factorize: cannot allocate the sort's scratch memory for {n} rows")
    return found, probes, int(gave_up)


# ---------------------------------------------------------------------------------------------
# XXH64, from https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md
# ---------------------------------------------------------------------------------------------

cdef uint64_t _xxh64(const uint8_t *p, size_t length, uint64_t seed) noexcept nogil:
    cdef const uint8_t *end = p + length
    cdef const uint8_t *limit
    cdef uint64_t v1, v2, v3, v4, h
    if length >= 32:
        # Four independent lanes: their multiply chains overlap in the CPU's pipelines.
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        limit = end - 32
        while p <= limit:
            v1 = _round(v1, _read64(p))
            v2 = _round(v2, _read64(p + 8))
            v3 = _round(v3, _read64(p + 16))
            v4 = _round(v4, _read64(p + 24))
            p += 32
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = seed + P5
    h += <uint64_t>length
    # tail: < 32 bytes left, consumed as 8-byte, then 4-byte, then 1-byte steps (never past `end`)
    while end - p >= 8:
        h ^= _round(0, _read64(p))
        h = _rotl(h, 27) * P1 + P4
        p += 8
    if end - p >= 4:
        h ^= <uint64_t>_read32(p) * P1
        h = _rotl(h, 23) * P2 + P3
        p += 4
    while p < end:
        h ^= <uint64_t>p[0] * P5
        h = _rotl(h, 11) * P1
        p += 1
    return _avalanche(h)


def _typed_xxh64(const uint8_t[::1] data not None, uint64_t seed):
    """XXH64 of the bytes of `data` (any C-contiguous byte buffer, read-only allowed) with a seed
    in [0, 2**64); returns an int in [0, 2**64)."""
    cdef const uint8_t *p = &data[0]
    cdef size_t length = <size_t>data.shape[0]
    cdef uint64_t h
    with nogil:
        h = _xxh64(p, length, seed)
    return h


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
    with nogil:
        # The 20-byte record is built from values, not memory, so no packing and no byte-order
        # concerns: words are the little-endian reads XXH64 would make of the packed bytes.
        for i in range(n):
            t = <uint64_t>ts[i]
            memcpy(&bits, &vals[i], 8)  # raw IEEE bits, NaN payloads included
            h = h0
            h ^= _round(0, <uint64_t>ids[i] | (t << 32))
            h = _rotl(h, 27) * P1 + P4
            h ^= _round(0, (t >> 32) | (bits << 32))
            h = _rotl(h, 27) * P1 + P4
            h ^= (bits >> 32) * P1
            h = _rotl(h, 23) * P2 + P3
            o[i] = _avalanche(h)


# -- the boundary -------------------------------------------------------------------------
# hotpath.rawchecks' rule runs first, so a wrong argument raises what it raises on every other
# backend: a typed memoryview alone raises ValueError for a strided or wrongly typed array (the
# rule says TypeError) and OverflowError for a negative seed (found by fuzz/differential.py).
# The typed kernels above then check again what their loops rely on.
import hotpath.rawchecks as _rawchecks


def aggregate_into(device_id, kwh, count, total, minimum, maximum):
    """Per-device count/total/min/max of non-NaN kwh; returns -1, or the index of the first row
    whose id is >= n_devices = len(count)."""
    _rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    return _typed_aggregate_into(device_id, kwh, count, total, minimum, maximum)


def duplicates_into(device_id, timestamp, key, out):
    """out[i] = True iff an earlier row has the same (device_id, timestamp), hashing with `key`;
    returns the tables' (probes, fallbacks)."""
    _rawchecks.duplicates_into(device_id, timestamp, key, out)
    return _typed_duplicates_into(device_id, timestamp, key, out)


def factorize_into(device_id, key, codes, uniques):
    """codes and uniques[:k] of device_id (pandas.factorize(sort=False)); returns
    (k, probes, fallbacks)."""
    _rawchecks.factorize_into(device_id, key, codes, uniques)
    return _typed_factorize_into(device_id, key, codes, uniques)


def xxh64(data, seed):
    """XXH64 of a uint8 array's bytes with a seed in [0, 2**64)."""
    return _typed_xxh64(data, _rawchecks.xxh64(data, seed))


def hash_rows_into(device_id, timestamp, kwh, seed, out):
    """out[i] = XXH64(struct.pack("<Iqd", device_id[i], timestamp[i], kwh[i]), seed)."""
    seed = _rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    return _typed_hash_rows_into(device_id, timestamp, kwh, seed, out)
