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

# Toolchain identification, byte order and prefetch portability shims. Kept to the preprocessor:
# the compiler names itself through its own version macros (whatever compiles this file, whichever
# build system drives it), and the Cython version comes from the generated C's CYTHON_HEX_VERSION.
cdef extern from *:
    """
    #define HP_STR2(x) #x
    #define HP_STR(x) HP_STR2(x)
    #if defined(__clang__)
      #define HP_CC_VERSION "clang " __clang_version__
    #elif defined(__GNUC__)
      #define HP_CC_VERSION "gcc " __VERSION__
    #elif defined(_MSC_VER)
      #define HP_CC_VERSION "MSVC " HP_STR(_MSC_FULL_VER)
    #else
      #define HP_CC_VERSION "unknown C compiler"
    #endif

    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
      #define HP_LE64(x) __builtin_bswap64(x)
      #define HP_LE32(x) __builtin_bswap32(x)
    #else
      #define HP_LE64(x) (x)
      #define HP_LE32(x) (x)
    #endif

    /* XXH64 primes as true compile-time constants (a Cython module-level cdef would be a
       runtime-initialized static that the C compiler cannot fold into the multiplies). */
    #define HP_P1 0x9E3779B185EBCA87ULL
    #define HP_P2 0xC2B2AE3D27D4EB4FULL
    #define HP_P3 0x165667B19E3779F9ULL
    #define HP_P4 0x85EBCA77C2B2AE63ULL
    #define HP_P5 0x27D4EB2F165667C5ULL

    /* Each type's alignment as NumPy computes it (its ALIGNED flag): the offset of a member
       after one char. */
    #include <stddef.h>
    typedef struct { char c; uint32_t v; } hp_align_u32;
    typedef struct { char c; int64_t v; } hp_align_i64;
    typedef struct { char c; uint64_t v; } hp_align_u64;
    typedef struct { char c; double v; } hp_align_f64;
    #define HP_ALIGN_U32 offsetof(hp_align_u32, v)
    #define HP_ALIGN_I64 offsetof(hp_align_i64, v)
    #define HP_ALIGN_U64 offsetof(hp_align_u64, v)
    #define HP_ALIGN_F64 offsetof(hp_align_f64, v)

    /* fold(a, b): the 128-bit product with its halves XORed (hotpath.hashkey.fold). Cython has
       no 128-bit integer: the compiler's extension where it has one, else four 32-bit products. */
    #if defined(__SIZEOF_INT128__)
      static inline uint64_t HP_FOLD(uint64_t a, uint64_t b) {
          __extension__ typedef unsigned __int128 hp_u128;
          const hp_u128 p = (hp_u128)a * b;
          return (uint64_t)p ^ (uint64_t)(p >> 64);
      }
    #else
      static inline uint64_t HP_FOLD(uint64_t a, uint64_t b) {
          const uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
          const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
          const uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
          return ((mid << 32) | (p00 & 0xFFFFFFFFu)) ^ (p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32));
      }
    #endif
    #define HP_FINAL 0x13198A2E03707345ULL

    #if defined(__GNUC__) || defined(__clang__)
      #define HP_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
    #else
      #define HP_PREFETCH_W(p) ((void)(p))
    #endif
    """
    const char *HP_CC_VERSION
    const unsigned long CYTHON_HEX_VERSION
    uint64_t HP_LE64(uint64_t x) noexcept nogil
    uint32_t HP_LE32(uint32_t x) noexcept nogil
    void HP_PREFETCH_W(const void *p) noexcept nogil
    uint64_t HP_FOLD(uint64_t a, uint64_t b) noexcept nogil
    const uint64_t FINAL "HP_FINAL"
    const uint64_t P1 "HP_P1"
    const uint64_t P2 "HP_P2"
    const uint64_t P3 "HP_P3"
    const uint64_t P4 "HP_P4"
    const uint64_t P5 "HP_P5"
    const size_t ALIGN_U32 "HP_ALIGN_U32"
    const size_t ALIGN_I64 "HP_ALIGN_I64"
    const size_t ALIGN_U64 "HP_ALIGN_U64"
    const size_t ALIGN_F64 "HP_ALIGN_F64"


cdef str _cython_version():
    cdef unsigned long v = CYTHON_HEX_VERSION  # 0xMMmmpp, then release-level and serial nibbles
    cdef unsigned long level = (v >> 4) & 0xF
    s = f"Cython {(v >> 24) & 0xFF}.{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}"
    if level != 0xF:  # a pre-release: 0xA alpha, 0xB beta, 0xC release candidate
        s += {0xA: "a", 0xB: "b", 0xC: "rc"}.get(level, "dev") + str(v & 0xF)
    return s


BUILD_INFO = f"{(<bytes>HP_CC_VERSION).decode('ascii', 'replace').strip()}, {_cython_version()}"


cdef int _aligned(str kernel, str name, const void *data, Py_ssize_t n, size_t alignment) except -1:
    # A typed memoryview accepts any address; loading a misaligned element is undefined behaviour.
    # Like NumPy, an empty array counts as aligned.
    if n > 0 and (<uintptr_t>data) % alignment:
        raise TypeError(f"{kernel}: {name} is misaligned: its data must start at a multiple of "
                        f"{alignment} bytes")
    return 0


cdef int _disjoint(str kernel, tuple names, const void **data, const size_t *nbytes,
                   int n_outputs) except -1:
    # The first n_outputs of the len(names) arrays are outputs; none may share a byte with any
    # other array (inputs may overlap each other: they are only read). See hotpath.rawchecks.
    cdef int i, j, n = len(names)
    cdef uintptr_t a, b
    for i in range(n_outputs):
        a = <uintptr_t>data[i]
        for j in range(i + 1, n):
            b = <uintptr_t>data[j]
            if nbytes[i] and nbytes[j] and a < b + nbytes[j] and b < a + nbytes[i]:
                raise ValueError(f"{kernel}: {names[i]} overlaps {names[j]} in memory")
    return 0


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


# ---------------------------------------------------------------------------------------------
# The keyed hash and the worst-case bound (the same as cffi_ext/src/hotpath_kernels.c's, whose
# comments give the reasoning; hotpath.hashkey.keyed_hash is the pure-Python mirror)
# ---------------------------------------------------------------------------------------------

cdef enum:
    RUN_LIMIT = 128  # a row passing more occupied slots than this gives the table up
    RADIX_BITS = 11  # the fallback sort's digits: 9 of them cover (ts: 64 bits, id: 32 bits)
    RADIX_SIZE = 2048
    DIGITS = 9

cdef inline uint64_t _budget(size_t m) noexcept nogil:
    return 4 * <uint64_t>m + 1024  # probes all rows of a table may pass together


cdef inline uint64_t _keyed_hash(uint32_t d, int64_t t, uint64_t k0, uint64_t k1) noexcept nogil:
    # The row enters the keyed fold whole (lo = d | t << 32, hi = t >> 32); the unkeyed
    # xorshift-multiply spreads it over the low bits (slot) and the high bits (fingerprint).
    cdef uint64_t u = <uint64_t>t
    cdef uint64_t h = HP_FOLD((<uint64_t>d | (u << 32)) ^ k0, (u >> 32) ^ k1)
    return (h ^ (h >> 32)) * FINAL


def keyed_hash(uint32_t device_id, int64_t timestamp, key):
    """The 64-bit hash this module's tables use (hotpath.hashkey.keyed_hash mirrors it)."""
    cdef uint64_t k0, k1
    k0, k1 = _hash_key("keyed_hash", key)
    return _keyed_hash(device_id, timestamp, k0, k1)


# The fallback: a stable LSD radix sort of the rows by (id, ts). Equal keys end up adjacent, in
# input order, so the first of each run is the first occurrence.
cdef struct Rec:
    uint64_t ts  # the timestamp's bits (0 for factorize)
    uint64_t row
    uint32_t id

cdef inline size_t _digit(const Rec *r, int d) noexcept nogil:
    if d < 6:
        return <size_t>((r.ts >> (RADIX_BITS * d)) & (RADIX_SIZE - 1))
    return <size_t>((<uint64_t>r.id >> (RADIX_BITS * (d - 6))) & (RADIX_SIZE - 1))

cdef Rec *_records(size_t m) noexcept nogil:
    # 2m records, then the histograms: NULL if that overflows size_t or cannot be allocated
    cdef size_t hist = DIGITS * RADIX_SIZE * sizeof(size_t)
    if m > (<size_t>-1 - hist) // (2 * sizeof(Rec)):
        return NULL
    return <Rec *>malloc(2 * m * sizeof(Rec) + hist)

cdef Rec *_radix_sort(Rec *buf, size_t m, uint64_t vary_ts, uint32_t vary_id) noexcept nogil:
    # Sorts the m records at buf (from _records); returns where the result is: buf or buf + m.
    # vary_ts and vary_id have the bits set where some records differ: only their digits are
    # counted and passed over (the others would only copy).
    cdef Rec *a = buf
    cdef Rec *tmp = buf + m
    cdef Rec *swap
    cdef size_t *hist = <size_t *>(buf + 2 * m)
    cdef size_t *h
    cdef size_t i, b, c, total
    cdef int d, k, nactive = 0
    cdef int active[DIGITS]
    cdef Rec probe
    probe.ts = vary_ts
    probe.id = vary_id
    for d in range(DIGITS):
        if _digit(&probe, d) != 0:
            active[nactive] = d
            nactive += 1
    memset(hist, 0, DIGITS * RADIX_SIZE * sizeof(size_t))
    for i in range(m):
        for k in range(nactive):
            hist[active[k] * RADIX_SIZE + _digit(&a[i], active[k])] += 1
    for k in range(nactive):
        d = active[k]
        h = hist + d * RADIX_SIZE
        total = 0
        for b in range(RADIX_SIZE):
            c = h[b]
            h[b] = total
            total += c
        for i in range(m):
            c = _digit(&a[i], d)
            tmp[h[c]] = a[i]
            h[c] += 1
        swap = a
        a = tmp
        tmp = swap
    return a


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


cdef int _dedup_sorted(const uint32_t *ids, const int64_t *ts, Py_ssize_t n,
                       uint8_t *o) noexcept nogil:
    # Every mark from a sort of the rows; -1 if out of memory.
    cdef Rec *buf = _records(n)
    cdef Rec *s
    cdef Py_ssize_t i
    cdef uint64_t ts_or = 0, ts_and = <uint64_t>-1
    cdef uint32_t id_or = 0, id_and = <uint32_t>-1
    if buf == NULL:
        return -1
    for i in range(n):
        buf[i].ts = <uint64_t>ts[i]
        buf[i].row = i
        buf[i].id = ids[i]
        ts_or |= buf[i].ts
        ts_and &= buf[i].ts
        id_or |= ids[i]
        id_and &= ids[i]
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
        free(table)
        if gave_up:
            failed = _dedup_sorted(ids, ts, n, o)
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

cdef inline uint64_t _rotl(uint64_t x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))  # r is always 1..63; compilers emit a single rol

cdef inline uint64_t _read64(const uint8_t *p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)  # unaligned-safe; compiles to one load
    return HP_LE64(v)

cdef inline uint32_t _read32(const uint8_t *p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return HP_LE32(v)

cdef inline uint64_t _round(uint64_t acc, uint64_t lane) noexcept nogil:
    acc += lane * P2
    acc = _rotl(acc, 31)
    return acc * P1

cdef inline uint64_t _merge(uint64_t acc, uint64_t v) noexcept nogil:
    acc ^= _round(0, v)
    return acc * P1 + P4

cdef inline uint64_t _avalanche(uint64_t h) noexcept nogil:
    h ^= h >> 33
    h *= P2
    h ^= h >> 29
    h *= P3
    h ^= h >> 32
    return h

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
