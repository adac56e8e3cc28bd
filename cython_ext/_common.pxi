# The helpers cython_ext's two modules share: _kernels (sequential) and parallel/_kernels (prange
# over OpenMP). Included textually (`include`), so each module compiles its own copy, inlined
# into its loops: the shims, the boundary checks, the keyed hash and its bound, the fallback's
# radix sort, and XXH64's steps.
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


# XXH64's steps, from https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md

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
