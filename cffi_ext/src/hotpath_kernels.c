/*
 * hotpath kernels in portable C99 (see hotpath_kernels.h).
 *
 * Built natively through cffi/CMake and, from the very same file, to wasm32
 * with clang: no threads, no intrinsics or prefetch hints, only libc. Never
 * compile with -ffast-math: aggregate's sums must be bit-exact plain
 * sequential double additions.
 */
#include "hotpath_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Portable little-endian loads: memcpy is alignment-safe and compiles to a  */
/* single mov on every target we care about; swap only on big-endian hosts.  */

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HP_BIG_ENDIAN 1
#else
#define HP_BIG_ENDIAN 0
#endif

static inline uint64_t hp_read64le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if HP_BIG_ENDIAN
    v = ((v & UINT64_C(0x00000000000000ff)) << 56) |
        ((v & UINT64_C(0x000000000000ff00)) << 40) |
        ((v & UINT64_C(0x0000000000ff0000)) << 24) |
        ((v & UINT64_C(0x00000000ff000000)) << 8) |
        ((v & UINT64_C(0x000000ff00000000)) >> 8) |
        ((v & UINT64_C(0x0000ff0000000000)) >> 24) |
        ((v & UINT64_C(0x00ff000000000000)) >> 40) |
        ((v & UINT64_C(0xff00000000000000)) >> 56);
#endif
    return v;
}

static inline uint32_t hp_read32le(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
#if HP_BIG_ENDIAN
    v = ((v & 0x000000ffu) << 24) | ((v & 0x0000ff00u) << 8) |
        ((v & 0x00ff0000u) >> 8) | ((v & 0xff000000u) >> 24);
#endif
    return v;
}

/* ------------------------------------------------------------------------ */
/* XXH64, written from xxhash_spec.md.                                       */

#define XXH_P1 UINT64_C(0x9E3779B185EBCA87)
#define XXH_P2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define XXH_P3 UINT64_C(0x165667B19E3779F9)
#define XXH_P4 UINT64_C(0x85EBCA77C2B2AE63)
#define XXH_P5 UINT64_C(0x27D4EB2F165667C5)

static inline uint64_t hp_rotl64(uint64_t x, unsigned r)
{
    /* r is always a constant in 1..63, so no shift-by-64. */
    return (x << r) | (x >> (64u - r));
}

static inline uint64_t xxh_round(uint64_t acc, uint64_t lane)
{
    acc += lane * XXH_P2;
    acc = hp_rotl64(acc, 31);
    return acc * XXH_P1;
}

static inline uint64_t xxh_merge(uint64_t acc, uint64_t val)
{
    acc ^= xxh_round(0, val);
    return acc * XXH_P1 + XXH_P4;
}

static inline uint64_t xxh_avalanche(uint64_t h)
{
    h ^= h >> 33;
    h *= XXH_P2;
    h ^= h >> 29;
    h *= XXH_P3;
    h ^= h >> 32;
    return h;
}

uint64_t hp_xxh64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = (const uint8_t *)data;
    size_t left = len;
    uint64_t h;

    if (left >= 32) {
        /* Four independent lanes: their multiply chains overlap in the
           pipeline, which is where XXH64's speed comes from. */
        uint64_t v1 = seed + XXH_P1 + XXH_P2;
        uint64_t v2 = seed + XXH_P2;
        uint64_t v3 = seed;
        uint64_t v4 = seed - XXH_P1;
        do {
            v1 = xxh_round(v1, hp_read64le(p));
            v2 = xxh_round(v2, hp_read64le(p + 8));
            v3 = xxh_round(v3, hp_read64le(p + 16));
            v4 = xxh_round(v4, hp_read64le(p + 24));
            p += 32;
            left -= 32;
        } while (left >= 32);
        h = hp_rotl64(v1, 1) + hp_rotl64(v2, 7) + hp_rotl64(v3, 12) +
            hp_rotl64(v4, 18);
        h = xxh_merge(h, v1);
        h = xxh_merge(h, v2);
        h = xxh_merge(h, v3);
        h = xxh_merge(h, v4);
    } else {
        h = seed + XXH_P5;
    }

    h += (uint64_t)len;

    while (left >= 8) {
        h ^= xxh_round(0, hp_read64le(p));
        h = hp_rotl64(h, 27) * XXH_P1 + XXH_P4;
        p += 8;
        left -= 8;
    }
    if (left >= 4) {
        h ^= (uint64_t)hp_read32le(p) * XXH_P1;
        h = hp_rotl64(h, 23) * XXH_P2 + XXH_P3;
        p += 4;
        left -= 4;
    }
    while (left > 0) {
        h ^= (uint64_t)(*p) * XXH_P5;
        h = hp_rotl64(h, 11) * XXH_P1;
        p++;
        left--;
    }
    return xxh_avalanche(h);
}

/* ------------------------------------------------------------------------ */
/* hash_rows: XXH64 of the 20-byte record "<Iqd" (id, ts, kwh), unrolled.    */
/* The words are built from the VALUES, so host endianness never matters.    */

static inline uint64_t hp_double_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b); /* raw IEEE bits, NaN payload included */
    return b;
}

void hp_hash_rows(const uint32_t *device_id, const int64_t *timestamp,
                  const double *kwh, size_t n, uint64_t seed, uint64_t *out)
{
    /* len < 32: no stripes; h starts at seed + P5 + len for every row. */
    const uint64_t h0 = seed + XXH_P5 + 20u;
    size_t i;
    for (i = 0; i < n; i++) {
        const uint64_t ts = (uint64_t)timestamp[i];
        const uint64_t bits = hp_double_bits(kwh[i]);
        const uint64_t w0 = (uint64_t)device_id[i] | (ts << 32);
        const uint64_t w1 = (ts >> 32) | (bits << 32);
        uint64_t h = h0;
        h ^= xxh_round(0, w0);
        h = hp_rotl64(h, 27) * XXH_P1 + XXH_P4;
        h ^= xxh_round(0, w1);
        h = hp_rotl64(h, 27) * XXH_P1 + XXH_P4;
        h ^= (bits >> 32) * XXH_P1;
        h = hp_rotl64(h, 23) * XXH_P2 + XXH_P3;
        out[i] = xxh_avalanche(h);
    }
}

/* ------------------------------------------------------------------------ */
/* aggregate                                                                 */

int64_t hp_aggregate(const uint32_t *device_id, const double *kwh, size_t n,
                     size_t n_devices, int64_t *count, double *total,
                     double *minimum, double *maximum)
{
    size_t d, i;

    /* +inf/-inf make the first real reading win the strict comparisons
       without a "first seen" branch; empty devices get NaN at the end. */
    for (d = 0; d < n_devices; d++) {
        count[d] = 0;
        total[d] = 0.0;
        minimum[d] = INFINITY;
        maximum[d] = -INFINITY;
    }

    if (n > 0) {
        /* The current device's accumulators live in registers and are only
           written back when the device changes. For interleaved rows that
           costs the same loads/stores as updating memory directly; for
           runs of one device it removes the store->load round trip from the
           (inherently serial) total += x chain. Starting with device 0's
           freshly initialized state makes the first switch a no-op. */
        uint32_t cur = 0;
        int64_t c = 0;
        double t = 0.0, lo = INFINITY, hi = -INFINITY;

        if (n_devices == 0)
            return 0;
        for (i = 0; i < n; i++) {
            const uint32_t dev = device_id[i];
            double x;
            if ((size_t)dev >= n_devices)
                return (int64_t)i; /* outputs are unspecified now */
            if (dev != cur) {
                count[cur] = c;
                total[cur] = t;
                minimum[cur] = lo;
                maximum[cur] = hi;
                cur = dev;
                c = count[cur];
                t = total[cur];
                lo = minimum[cur];
                hi = maximum[cur];
            }
            x = kwh[i];
            if (x == x) { /* not NaN; rare NaNs keep this branch predictable */
                c++;
                t += x; /* plain sequential sum: bit-exact with Python */
                /* strict < / >: the first of equal values (e.g. -0.0 vs
                   0.0) stays; compiles to branch-free min/max. */
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
        }
        count[cur] = c;
        total[cur] = t;
        minimum[cur] = lo;
        maximum[cur] = hi;
    }

    for (d = 0; d < n_devices; d++) {
        if (count[d] == 0) {
            minimum[d] = NAN;
            maximum[d] = NAN;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* duplicates: radix-partitioned open addressing.                            */
/*                                                                           */
/* A single table over all rows (>= 2n slots) is hit at random addresses: at */
/* 1M rows that is ~1M cache misses into 16+ MiB. Instead, rows are first    */
/* split by the top bits of their hash into partitions of ~2K rows (a stable */
/* scatter, so row order is kept inside each partition), and each partition  */
/* is then deduplicated in a small table that stays in L1/L2. Equal keys     */
/* always share a partition, so "first occurrence" is decided within it.     */
/* Measured at 1M rows: ~1.25x faster than a single table with software     */
/* prefetch, ~3x faster than one without (wasm has no prefetch), and half    */
/* the memory (fewer page faults on a cold call).                            */
/*                                                                           */
/* An entry is one uint64: the hash's bits above the row-index field (a tag  */
/* that also picks the slot) | (row index + 1), so 0 marks an empty slot. A  */
/* tag match is confirmed against the input arrays (only true duplicates and */
/* rare tag collisions pay that random read), so correctness never depends   */
/* on the tag width. One allocation holds all entries plus the largest       */
/* partition's table.                                                        */

#define HP_PART_TARGET_LOG2 11 /* ~2048 rows per partition (measured) */
#define HP_PART_MAX_LOG2 10    /* <= 1024 scatter streams / histogram bins */
#define HP_TABLE_LOAD_SHIFT 2  /* table slots >= 4 x partition rows */

static inline uint64_t hp_key_hash(uint32_t id, int64_t ts)
{
    /* id*odd + ts is injective in ts; the xorshift-multiply-xorshift then
       spreads every input bit over the high bits used for the partition
       and the slot. Two multiplies, one of them off the critical path. */
    uint64_t x = (uint64_t)ts + (uint64_t)id * XXH_P2;
    x ^= x >> 32;
    x *= UINT64_C(0xD6E8FEB86659FD93);
    x ^= x >> 29;
    return x;
}

size_t hp_duplicates_scratch(size_t n, size_t max_part)
{
    const size_t max_slots = SIZE_MAX / sizeof(uint64_t);
    size_t tcap = 16;

    /* tcap: the smallest power of two >= 4 * max_part (at least 16). Compared
       as tcap / 4 < max_part (exact: tcap is a multiple of 4), so neither
       4 * max_part nor the doubling can overflow. */
    while (tcap / ((size_t)1 << HP_TABLE_LOAD_SHIFT) < max_part) {
        if (tcap > max_slots / 2)
            return 0;
        tcap <<= 1;
    }
    /* One block: n entries, then the table. */
    if (n > max_slots || tcap > max_slots - n)
        return 0;
    return (n + tcap) * sizeof(uint64_t);
}

int hp_duplicates(const uint32_t *device_id, const int64_t *timestamp,
                  size_t n, uint8_t *out)
{
    size_t bounds[((size_t)1 << HP_PART_MAX_LOG2) + 1];
    uint64_t idx_mask, *entries, *table;
    unsigned idx_bits, pbits, pshift;
    size_t nparts, p, i, max_part, scratch;

    if (n == 0)
        return 0;
    /* The entries and the smallest table must fit in size_t bytes (the
       exact check follows the histogram). This also keeps n < 2**61, so
       idx_bits < 64 below and every shift is defined. */
    if (hp_duplicates_scratch(n, 0) == 0)
        return -1;

    /* Row-index field: idx_mask >= n so that i + 1 always fits. */
    idx_mask = 1;
    idx_bits = 1;
    while (idx_mask < (uint64_t)n) {
        idx_mask = (idx_mask << 1) | 1u;
        idx_bits++;
    }

    pbits = 0;
    while (pbits < HP_PART_MAX_LOG2 &&
           ((size_t)1 << (pbits + HP_PART_TARGET_LOG2)) < n)
        pbits++;
    nparts = (size_t)1 << pbits;
    /* partition = top pbits of the hash; the two-step shift keeps
       pbits == 0 defined (everything lands in partition 0). */
    pshift = 63u - pbits;

    /* Pass 1: histogram of partition sizes. */
    memset(bounds, 0, (nparts + 1) * sizeof bounds[0]);
    for (i = 0; i < n; i++) {
        const uint64_t h = hp_key_hash(device_id[i], timestamp[i]);
        bounds[(size_t)((h >> pshift) >> 1) + 1]++;
    }
    /* bounds[p] becomes the start of partition p (exclusive prefix sum). */
    max_part = 0;
    for (p = 1; p <= nparts; p++) {
        if (bounds[p] > max_part)
            max_part = bounds[p];
        bounds[p] += bounds[p - 1];
    }

    /* Exactly the allocation's size: refused only if it overflows size_t. */
    scratch = hp_duplicates_scratch(n, max_part);
    if (scratch == 0)
        return -1;
    entries = (uint64_t *)malloc(scratch);
    if (entries == NULL)
        return -1;
    table = entries + n;

    /* Pass 2: stable scatter. bounds[p] advances to the END of partition p,
       so afterwards partition p spans [bounds[p-1], bounds[p]) with an
       implicit 0 before partition 0. The hash is recomputed (two multiplies)
       rather than stored: cheaper than another n-entry buffer. */
    for (i = 0; i < n; i++) {
        const uint64_t h = hp_key_hash(device_id[i], timestamp[i]);
        const size_t part = (size_t)((h >> pshift) >> 1);
        entries[bounds[part]++] = (h & ~idx_mask) | (uint64_t)(i + 1);
    }

    /* Only duplicates are written below. */
    memset(out, 0, n);

    /* Pass 3: per-partition linear probing, rows in input order. */
    {
        size_t lo = 0;
        for (p = 0; p < nparts; p++) {
            const size_t hi = bounds[p];
            size_t cap = 16, mask, k;
            /* as in hp_duplicates_scratch: cap <= tcap, the table's room */
            while (cap / ((size_t)1 << HP_TABLE_LOAD_SHIFT) < hi - lo)
                cap <<= 1;
            mask = cap - 1;
            memset(table, 0, cap * sizeof(uint64_t));
            for (k = lo; k < hi; k++) {
                const uint64_t e = entries[k];
                const uint64_t tag = e & ~idx_mask;
                /* slot from the tag bits just above the index field; the
                   partition used the topmost bits, so these are fresh. */
                size_t q = (size_t)(e >> idx_bits) & mask;
                uint64_t s;
                while ((s = table[q]) != 0) {
                    if ((s & ~idx_mask) == tag) {
                        const size_t j = (size_t)(s & idx_mask) - 1;
                        const size_t r = (size_t)(e & idx_mask) - 1;
                        if (device_id[j] == device_id[r] &&
                            timestamp[j] == timestamp[r]) {
                            out[r] = 1; /* keep the first: don't insert */
                            goto next_entry;
                        }
                    }
                    q = (q + 1) & mask;
                }
                table[q] = e;
            next_entry:;
            }
            lo = hi;
        }
    }

    free(entries);
    return 0;
}

/* ------------------------------------------------------------------------ */

#define HP_STR_(x) #x
#define HP_STR(x) HP_STR_(x)

const char *hp_build_info(void)
{
#if defined(__clang__)
    return "clang " HP_STR(__clang_major__) "." HP_STR(__clang_minor__) "." HP_STR(
        __clang_patchlevel__);
#elif defined(__GNUC__)
    return "gcc " HP_STR(__GNUC__) "." HP_STR(__GNUC_MINOR__) "." HP_STR(
        __GNUC_PATCHLEVEL__);
#elif defined(_MSC_VER)
    return "msvc " HP_STR(_MSC_FULL_VER);
#else
    return "unknown C99 compiler";
#endif
}
