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
/* The keyed hash of every hash table below (hotpath/hashkey.py mirrors it). */
/*                                                                           */
/* fold(a, b) is the 128-bit product a * b with its high half XORed into its */
/* low half, as in foldhash. The row enters the first, keyed fold whole:     */
/* lo = id | ts << 32 and hi = ts >> 32 determine (id, ts), and (k0, k1) is  */
/* the process's secret key (hotpath.hashkey.KEY, drawn from os.urandom).    */
/* The old hashes mixed a linear combination such as ts + id * P, whose      */
/* collisions hold whatever key is added to it; the product of two unknown   */
/* words has none. The unkeyed xorshift-multiply after it spreads every bit  */
/* over the low bits (slots), the middle bits (tags) and the top bits        */
/* (partitions), for one more 64-bit multiply (a second fold cost wasm32 and */
/* Numba, which have no 64x64->128 multiply, 1.6-2.5x on duplicates).        */
/* Someone who knows the key can still collide rows (lo == k0 zeroes the     */
/* product for every hi): the probe bound below does not rest on the key.    */

#define HP_FINAL UINT64_C(0x13198A2E03707345) /* digits of pi, odd */

static inline uint64_t hp_fold(uint64_t a, uint64_t b)
{
#if defined(__SIZEOF_INT128__) && !defined(__wasm__)
    /* A compiler extension (one mul instruction), not an intrinsic. wasm32
       would call compiler-rt's 128x128 __multi3 (measured): the four 32-bit
       products below are cheaper there. */
    __extension__ typedef unsigned __int128 hp_u128;
    const hp_u128 p = (hp_u128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
#else
    const uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32;
    const uint64_t b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    /* < 3 * 2**32: no overflow */
    const uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    const uint64_t lo = (mid << 32) | (p00 & 0xFFFFFFFFu);
    const uint64_t hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

static inline uint64_t hp_hash(uint32_t id, int64_t ts, uint64_t k0, uint64_t k1)
{
    const uint64_t t = (uint64_t)ts;
    const uint64_t h = hp_fold(((uint64_t)id | (t << 32)) ^ k0, (t >> 32) ^ k1);
    return (h ^ (h >> 32)) * HP_FINAL;
}

uint64_t hp_keyed_hash(uint32_t id, int64_t ts, uint64_t k0, uint64_t k1)
{
    return hp_hash(id, ts, k0, k1);
}

/* ------------------------------------------------------------------------ */
/* The worst-case bound: when probing passes it, sort instead.               */
/*                                                                           */
/* Every table below counts its probes: the occupied slots a row passes      */
/* before it finds its key or a free slot. A table of m rows gives up when   */
/* one row passes more than HP_PROBE_RUN_LIMIT slots, or all rows together   */
/* more than HP_PROBE_BUDGET(m) = 4m + 1024, and then answers from a stable  */
/* LSD radix sort of its rows by key instead (hp_radix_sort): equal keys end */
/* up adjacent, in input order, so the first of each run is the first        */
/* occurrence -- the same answer, bit for bit.                               */
/*                                                                           */
/* Why it holds: hashing does at most m + 4m + 1024 slot reads before it     */
/* stops (each row at most HP_PROBE_RUN_LIMIT), and the sort makes at most   */
/* HP_DIGITS passes over m records. A call is O(n) whatever the input and    */
/* whoever knows the key; crafted keys cost at most a constant factor.       */
/* duplicates' partitions have one more rule: a partition holding more than */
/* 4x + 1024 its expected share of rows is sorted without a table at all.    */
/* Random keys never come near the bound: at load 1/4 (duplicates' tables)   */
/* or 1/2 (factorize's) linear probing passes ~0.2 or ~0.5 slots per row on  */
/* average, and the longest run among 16M rows at load 1/2 is ~50 slots      */
/* (measured); a spurious fallback would cost time, never a wrong answer.    */

#define HP_PROBE_RUN_LIMIT 128u
#define HP_PROBE_BUDGET(m) (UINT64_C(4) * (uint64_t)(m) + 1024u)

/* One row for the sort: its key and its index. */
typedef struct {
    uint64_t ts;  /* the timestamp's bits (0 for factorize) */
    uint64_t row; /* the row's index in the input */
    uint32_t id;
} hp_rec;

/* Keys as 9 digits of 11 bits (2048 counters each stay in L1): the
   timestamp's 64 bits, then the id's 32. LSD: least significant first. */
#define HP_RADIX_BITS 11
#define HP_RADIX_SIZE ((size_t)1 << HP_RADIX_BITS)
#define HP_DIGITS 9

static inline size_t hp_digit(const hp_rec *r, unsigned d)
{
    static const unsigned char shift[HP_DIGITS] = {0, 11, 22, 33, 44, 55, 0, 11, 22};
    const uint64_t word = d < 6 ? r->ts : (uint64_t)r->id;
    return (size_t)((word >> shift[d]) & (HP_RADIX_SIZE - 1));
}

/* 2m records then the histograms, in one block; NULL if that overflows
   size_t or cannot be allocated. The caller fills the first m records. */
static hp_rec *hp_records(size_t m)
{
    const size_t hist = HP_DIGITS * HP_RADIX_SIZE * sizeof(size_t);
    if (m > (SIZE_MAX - hist) / (2 * sizeof(hp_rec)))
        return NULL;
    return (hp_rec *)malloc(2 * m * sizeof(hp_rec) + hist);
}

/* Sorts the m records at buf (from hp_records) by (id, ts), stably; returns
   where the result is: buf, or buf + m. vary_ts and vary_id have a bit set
   where some records differ (the OR of the keys XOR their AND): a digit no
   record differs in would only copy, so it is neither counted nor passed
   over (ids of one fleet, timestamps of one era share their high digits). */
static hp_rec *hp_radix_sort(hp_rec *buf, size_t m, uint64_t vary_ts, uint32_t vary_id)
{
    hp_rec *a = buf, *tmp = buf + m, *swap;
    size_t *const hist = (size_t *)(buf + 2 * m);
    unsigned char active[HP_DIGITS];
    unsigned d, k, nactive = 0;
    size_t i, b;
    hp_rec probe;

    probe.ts = vary_ts;
    probe.id = vary_id;
    for (d = 0; d < HP_DIGITS; d++)
        if (hp_digit(&probe, d) != 0)
            active[nactive++] = (unsigned char)d;
    memset(hist, 0, HP_DIGITS * HP_RADIX_SIZE * sizeof *hist);
    for (i = 0; i < m; i++)
        for (k = 0; k < nactive; k++)
            hist[active[k] * HP_RADIX_SIZE + hp_digit(&a[i], active[k])]++;
    for (k = 0; k < nactive; k++) {
        size_t *const h = hist + active[k] * HP_RADIX_SIZE, sum = 0;
        d = active[k];
        for (b = 0; b < HP_RADIX_SIZE; b++) {
            const size_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (i = 0; i < m; i++) /* stable: records keep their order per digit */
            tmp[h[hp_digit(&a[i], d)]++] = a[i];
        swap = a;
        a = tmp;
        tmp = swap;
    }
    return a;
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
/* on the tag width. Each row is hashed once: the histogram pass also makes  */
/* its entry, in input order, and the scatter pass only moves entries        */
/* (hashing again cost +15% with the keyed hash natively, more in wasm). One */
/* allocation holds the scattered entries, then the staged ones, whose room  */
/* the tables reuse once they are scattered: max(2n, n + table) slots (two   */
/* blocks a call made glibc return and refault 16 MiB per call at 1M rows).  */
/* A partition whose probing passes the bound above is sorted instead        */
/* (hp_dedup_sorted), alone: the others keep their tables.                   */

#define HP_PART_TARGET_LOG2 11 /* ~2048 rows per partition (measured) */
#define HP_PART_MAX_LOG2 10    /* <= 1024 scatter streams / histogram bins */
#define HP_TABLE_LOAD_SHIFT 2  /* table slots >= 4 x partition rows */

size_t hp_duplicates_scratch(size_t n, size_t max_part)
{
    const size_t max_slots = SIZE_MAX / sizeof(uint64_t);
    size_t tcap = 16, rest;

    /* tcap: the smallest power of two >= 4 * max_part (at least 16). Compared
       as tcap / 4 < max_part (exact: tcap is a multiple of 4), so neither
       4 * max_part nor the doubling can overflow. */
    while (tcap / ((size_t)1 << HP_TABLE_LOAD_SHIFT) < max_part) {
        if (tcap > max_slots / 2)
            return 0;
        tcap <<= 1;
    }
    /* One block: n entries, then the staged entries or the table. */
    rest = tcap > n ? tcap : n;
    if (n > max_slots || rest > max_slots - n)
        return 0;
    return (n + rest) * sizeof(uint64_t);
}

/* Linear probing over one partition's m entries, rows in input order: marks
   its duplicates in out (zeroed by the caller) and returns 0, or returns 1
   once probing passes the bound (the caller then sorts the partition, which
   rewrites every one of its marks). Adds the probes made to *probes. */
static int hp_dedup_hashed(const uint32_t *device_id, const int64_t *timestamp,
                           const uint64_t *entries, size_t m, uint64_t idx_mask,
                           unsigned idx_bits, uint64_t *table, uint8_t *out,
                           uint64_t *probes)
{
    const uint64_t budget = HP_PROBE_BUDGET(m);
    uint64_t total = 0;
    size_t cap = 16, mask, k;
    unsigned run = 0;

    /* as in hp_duplicates_scratch: cap <= tcap, the table's room */
    while (cap / ((size_t)1 << HP_TABLE_LOAD_SHIFT) < m)
        cap <<= 1;
    mask = cap - 1;
    memset(table, 0, cap * sizeof(uint64_t));
    for (k = 0; k < m; k++) {
        const uint64_t e = entries[k];
        const uint64_t tag = e & ~idx_mask;
        /* slot from the tag bits just above the index field; the partition
           used the topmost bits, so these are fresh. */
        size_t q = (size_t)(e >> idx_bits) & mask;
        uint64_t s;
        run = 0;
        while ((s = table[q]) != 0) {
            if ((s & ~idx_mask) == tag) {
                const size_t j = (size_t)(s & idx_mask) - 1;
                const size_t r = (size_t)(e & idx_mask) - 1;
                if (device_id[j] == device_id[r] && timestamp[j] == timestamp[r]) {
                    out[r] = 1; /* keep the first: don't insert */
                    goto next_entry;
                }
            }
            if (++run > HP_PROBE_RUN_LIMIT)
                goto give_up;
            q = (q + 1) & mask;
        }
        table[q] = e;
    next_entry:
        total += run;
        if (total > budget) {
            run = 0;
            goto give_up;
        }
    }
    *probes += total;
    return 0;
give_up:
    *probes += total + run;
    return 1;
}

/* The packed sort: when a partition's keys vary in few bits (the attack
   with a known key varies only the timestamp's high half), each row becomes
   one uint64, the 10-bit digits covering its varying bits above its index
   field, sorted stably in the block's free room: no large allocation and a
   third of the 24-byte records' traffic. Measured at 1M crafted rows: the
   records' 48 MB, fresh from the OS on every call, cost more in page faults
   and unmaps than the sort itself (12x random keys; this way ~1-1.5x). */

#define HP_PACK_BITS 10 /* 1024 buckets: 8-, 11- and 12-bit digits measured slower */
#define HP_PACK_SIZE ((size_t)1 << HP_PACK_BITS)
#define HP_PACK_MAX 6 /* digits: 6 x 10 bits nearly fill a uint64 */

/* The shifts of the fewest digits covering the set bits of vary (a
   word of `bits` bits), appended to shift[] from count; returns the new count,
   or HP_PACK_MAX + 1 once more are needed. */
static unsigned hp_pack_digits(uint64_t vary, unsigned bits, unsigned char *shift,
                               unsigned count)
{
    unsigned s = 0;
    while (s < bits && count <= HP_PACK_MAX) {
        if (((vary >> s) & 1u) == 0) {
            s++;
            continue;
        }
        if (count < HP_PACK_MAX)
            shift[count] = (unsigned char)s;
        count++;
        s += HP_PACK_BITS;
    }
    return count;
}

/* Stable LSD passes over the digits first..last-1 (above bit idx_bits) of
   the m packed rows at a, tmp holding m more, count room for the counts;
   returns where the result is. */
static uint64_t *hp_packed_lsd(uint64_t *a, uint64_t *tmp, size_t m, unsigned idx_bits,
                               unsigned first, unsigned last, size_t *count)
{
    unsigned d;
    size_t i, b;

    for (d = first; d < last; d++) {
        const unsigned s = idx_bits + HP_PACK_BITS * d;
        uint64_t *swap;
        size_t sum = 0;
        memset(count, 0, HP_PACK_SIZE * sizeof *count);
        for (i = 0; i < m; i++)
            count[(a[i] >> s) & (HP_PACK_SIZE - 1)]++;
        for (b = 0; b < HP_PACK_SIZE; b++) {
            const size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (i = 0; i < m; i++) /* stable: rows keep their order per digit */
            tmp[count[(a[i] >> s) & (HP_PACK_SIZE - 1)]++] = a[i];
        swap = a;
        a = tmp;
        tmp = swap;
    }
    return a;
}

/* Below this many rows, or with one digit, the packed sort is plain LSD. */
#define HP_PACK_MSD_MIN ((size_t)1 << 18)

/* Sorts the m packed rows at a stably by their ndigits digits above bit
   idx_bits, tmp holding m more, count room for 2 x 1024 counts; returns
   where the result is. Large inputs: one pass by the most significant digit
   spreads the rows over 1024 buckets (~m/1024 rows each: in cache), then
   each bucket is sorted by the rest where it is, LSD: one pass over memory
   instead of one per digit (at 1M crafted rows a second 1024-way scatter
   over 8 MB made the sort 3-4x slower). Each bucket's passes cost 1024
   counts more, hence the threshold: at most 4 per row at HP_PACK_MSD_MIN. */
static uint64_t *hp_packed_sort(uint64_t *a, uint64_t *tmp, size_t m, unsigned idx_bits,
                                unsigned ndigits, size_t *count)
{
    size_t *const top = count + HP_PACK_SIZE;
    const unsigned inner = ndigits - 1;
    size_t lo, b;

    if (ndigits < 2 || m < HP_PACK_MSD_MIN)
        return hp_packed_lsd(a, tmp, m, idx_bits, 0, ndigits, count);
    hp_packed_lsd(a, tmp, m, idx_bits, inner, ndigits, top); /* a -> tmp */
    /* top[b] is now the end of bucket b; every bucket's result must end up
       where the others' do: in tmp after an even number of passes, else a */
    lo = 0;
    for (b = 0; b < HP_PACK_SIZE; b++) {
        const size_t hi = top[b];
        if (hi - lo > 1)
            hp_packed_lsd(tmp + lo, a + lo, hi - lo, idx_bits, 0, inner, count);
        else if (inner & 1u)
            memcpy(a + lo, tmp + lo, (hi - lo) * sizeof *a);
        lo = hi;
    }
    return (inner & 1u) ? a : tmp;
}

/* The same marks for one partition's m entries from a sort of its rows: the
   packed sort in room (m free slots) when the varying bits fit, else records.
   entries may be overwritten. Returns 0, or -1 if out of memory. */
static int hp_dedup_sorted(const uint32_t *device_id, const int64_t *timestamp,
                           uint64_t *entries, size_t m, uint64_t idx_mask,
                           unsigned idx_bits, uint64_t *room, uint8_t *out)
{
    hp_rec *buf;
    const hp_rec *sorted;
    unsigned char shift[HP_PACK_MAX];
    unsigned nts, ndigits;
    size_t k;

    uint64_t ts_or = 0, ts_and = ~(uint64_t)0;
    uint32_t id_or = 0, id_and = ~(uint32_t)0;

    for (k = 0; k < m; k++) {
        const size_t r = (size_t)(entries[k] & idx_mask) - 1;
        ts_or |= (uint64_t)timestamp[r];
        ts_and &= (uint64_t)timestamp[r];
        id_or |= device_id[r];
        id_and &= device_id[r];
    }
    nts = hp_pack_digits(ts_or ^ ts_and, 64, shift, 0);
    ndigits = hp_pack_digits((uint64_t)(id_or ^ id_and), 32, shift, nts);
    if (ndigits <= HP_PACK_MAX && idx_bits + HP_PACK_BITS * ndigits <= 64) {
        /* the sort's counts, 16 KiB: off the stack (wasm32's is 64 KiB) */
        size_t *const count = (size_t *)malloc(2 * HP_PACK_SIZE * sizeof(size_t));
        const uint64_t *p;
        uint64_t previous = 0;
        if (count == NULL)
            return -1;
        for (k = 0; k < m; k++) { /* entries are in input order: so is room */
            const uint64_t e = entries[k] & idx_mask; /* row + 1 */
            const size_t r = (size_t)e - 1;
            uint64_t packed = e;
            unsigned d;
            for (d = 0; d < ndigits; d++) {
                const uint64_t word =
                    d < nts ? (uint64_t)timestamp[r] : (uint64_t)device_id[r];
                const size_t digit = (size_t)((word >> shift[d]) & (HP_PACK_SIZE - 1));
                packed |= (uint64_t)digit << (idx_bits + HP_PACK_BITS * d);
            }
            room[k] = packed;
        }
        p = hp_packed_sort(room, entries, m, idx_bits, ndigits, count);
        /* the digits hold every bit in which keys differ: equal digits, equal keys */
        for (k = 0; k < m; k++) {
            const uint64_t key = idx_bits < 64 ? p[k] >> idx_bits : 0;
            out[(size_t)(p[k] & idx_mask) - 1] = (uint8_t)(k > 0 && key == previous);
            previous = key;
        }
        free(count);
        return 0;
    }

    buf = hp_records(m);
    if (buf == NULL)
        return -1;
    for (k = 0; k < m; k++) { /* entries are in input order: so is buf */
        const size_t r = (size_t)(entries[k] & idx_mask) - 1;
        buf[k].ts = (uint64_t)timestamp[r];
        buf[k].row = r;
        buf[k].id = device_id[r];
    }
    sorted = hp_radix_sort(buf, m, ts_or ^ ts_and, id_or ^ id_and);
    for (k = 0; k < m; k++)
        out[sorted[k].row] = (uint8_t)(k > 0 && sorted[k].id == sorted[k - 1].id &&
                                       sorted[k].ts == sorted[k - 1].ts);
    free(buf);
    return 0;
}

int hp_duplicates(const uint32_t *device_id, const int64_t *timestamp,
                  size_t n, uint64_t k0, uint64_t k1, uint8_t *out,
                  uint64_t *stats)
{
    size_t bounds[((size_t)1 << HP_PART_MAX_LOG2) + 1];
    uint64_t idx_mask, *block, *staged, *entries;
    unsigned idx_bits, pbits, pshift;
    size_t nparts, p, i, max_part, oversize, scratch;

    stats[0] = stats[1] = 0;
    if (n == 0)
        return 0;
    /* The block for the smallest table must fit in size_t bytes (the exact
       size follows the histogram). This also keeps n < 2**61, so idx_bits <
       64 below and every shift is defined. */
    scratch = hp_duplicates_scratch(n, 0);
    block = scratch == 0 ? NULL : (uint64_t *)malloc(scratch);
    if (block == NULL)
        return -1;
    staged = block + n;

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

    /* Pass 1: every row's entry, in input order, and the histogram of
       partition sizes. */
    memset(bounds, 0, (nparts + 1) * sizeof bounds[0]);
    for (i = 0; i < n; i++) {
        const uint64_t h = hp_hash(device_id[i], timestamp[i], k0, k1);
        staged[i] = (h & ~idx_mask) | (uint64_t)(i + 1);
        bounds[(size_t)((h >> pshift) >> 1) + 1]++;
    }
    /* bounds[p] becomes the start of partition p (exclusive prefix sum).
       max_part: the largest partition that gets a table. */
    oversize = 4 * (n >> pbits) + 1024;
    max_part = 0;
    for (p = 1; p <= nparts; p++) {
        if (bounds[p] > max_part && bounds[p] <= oversize)
            max_part = bounds[p];
        bounds[p] += bounds[p - 1];
    }

    /* The largest partition's table may need more room than the staged
       entries take (a few rows, or most rows in one partition): grow the
       block, which keeps them. Refused only if the size overflows size_t. */
    if (hp_duplicates_scratch(n, max_part) > scratch) {
        uint64_t *grown;
        scratch = hp_duplicates_scratch(n, max_part);
        grown = scratch == 0 ? NULL : (uint64_t *)realloc(block, scratch);
        if (grown == NULL) {
            free(block);
            return -1;
        }
        block = grown;
        staged = block + n;
    }
    entries = block;

    /* Pass 2: stable scatter. bounds[p] advances to the END of partition p,
       so afterwards partition p spans [bounds[p-1], bounds[p]) with an
       implicit 0 before partition 0. An entry's top bits are its hash's:
       the index field is at the bottom (n < 2**61). */
    for (i = 0; i < n; i++) {
        const uint64_t e = staged[i];
        entries[bounds[(size_t)((e >> pshift) >> 1)]++] = e;
    }

    /* Only duplicates are written below (or a sorted partition's rows). */
    memset(out, 0, n);

    /* Pass 3: per partition, linear probing with rows in input order, or the
       sort once probing passes the bound. */
    {
        size_t lo = 0;
        for (p = 0; p < nparts; p++) {
            const size_t hi = bounds[p];
            /* A partition far above its share is sorted without a table (its
               table would be large, and given up); the others get one in the
               staged entries' room, free now. */
            if (hi - lo > oversize ||
                hp_dedup_hashed(device_id, timestamp, entries + lo, hi - lo, idx_mask,
                                idx_bits, staged, out, &stats[0])) {
                if (hp_dedup_sorted(device_id, timestamp, entries + lo, hi - lo,
                                    idx_mask, idx_bits, staged, out) != 0) {
                    free(block);
                    return -1;
                }
                stats[1]++;
            }
            lo = hi;
        }
    }

    free(block);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* factorize: one open-addressing table of ids, grown with them.             */
/*                                                                           */
/* A slot is one uint64: id << 32 | (code + 1), so 0 marks an empty slot and */
/* a probe compares the id in-register. code + 1 <= n fits in 32 bits for    */
/* n < 2**32 rows; larger inputs take the sort (and need 16+ GiB of ids).    */
/* The table starts at 16 slots and doubles whenever the ids pass an eighth  */
/* of it, rebuilt from uniques (whose index is the code), so its size        */
/* follows the ids, not the rows (at 10M rows of 1,000 ids: 128 KiB, not 256 */
/* MiB zeroed), up to the smallest power of two >= 2n (load <= 1/2 then).    */
/* Load 1/8, not 1/2: few ids are the common case, and at 1/2 half the       */
/* lookups probe twice and mispredict (measured 3x slower at 10M rows).      */
/* The slot is the low bits of hp_hash(id, 0, key). Probes of the rebuilds   */
/* count too; past the bound, the whole call is redone from a sort.          */

#define HP_FACTORIZE_GAVE_UP (-2)

/* The table of cap slots, zeroed, holding the codes 0..found-1 of uniques;
   NULL if out of memory. Sets *gave_up if one id passed the run limit, and
   adds the probes to *total. */
static uint64_t *hp_factorize_table(const uint32_t *uniques, uint64_t found, size_t cap,
                                    uint64_t k0, uint64_t k1, uint64_t *total,
                                    int *gave_up)
{
    uint64_t *const table = (uint64_t *)calloc(cap, sizeof(uint64_t));
    const size_t mask = cap - 1;
    uint64_t c;

    if (table == NULL)
        return NULL;
    for (c = 0; c < found; c++) {
        size_t q = (size_t)hp_hash(uniques[c], 0, k0, k1) & mask;
        unsigned run = 0;
        while (table[q] != 0) { /* the ids are distinct: only a free slot ends it */
            if (++run > HP_PROBE_RUN_LIMIT) {
                *gave_up = 1;
                break;
            }
            q = (q + 1) & mask;
        }
        *total += run;
        if (*gave_up)
            break;
        table[q] = ((uint64_t)uniques[c] << 32) | (c + 1);
    }
    return table;
}

static int64_t hp_factorize_hashed(const uint32_t *device_id, size_t n, uint64_t k0,
                                   uint64_t k1, uint32_t *codes, uint32_t *uniques,
                                   uint64_t *probes)
{
    const uint64_t budget = HP_PROBE_BUDGET(n);
    uint64_t total = 0, found = 0, *table;
    size_t cap = 16, max_cap = 16, mask, i;
    unsigned run = 0;
    int gave_up = 0;

    while (max_cap / 2 < n) { /* max_cap >= 2n without computing 2n */
        if (max_cap > SIZE_MAX / sizeof(uint64_t) / 2)
            return -1;
        max_cap <<= 1;
    }
    table = hp_factorize_table(uniques, 0, cap, k0, k1, &total, &gave_up);
    if (table == NULL)
        return -1;
    mask = cap - 1;
    for (i = 0; i < n; i++) {
        const uint32_t id = device_id[i];
        size_t q = (size_t)hp_hash(id, 0, k0, k1) & mask;
        uint64_t s;
        run = 0;
        while ((s = table[q]) != 0) {
            if ((uint32_t)(s >> 32) == id) {
                codes[i] = (uint32_t)s - 1u;
                goto next_row;
            }
            if (++run > HP_PROBE_RUN_LIMIT)
                goto give_up;
            q = (q + 1) & mask;
        }
        table[q] = ((uint64_t)id << 32) | (found + 1);
        uniques[found] = id;
        codes[i] = (uint32_t)found++;
        if (found > cap / 8 && cap < max_cap) { /* keep the load <= 1/8 */
            free(table);
            cap <<= 1;
            mask = cap - 1;
            table = hp_factorize_table(uniques, found, cap, k0, k1, &total, &gave_up);
            if (table == NULL)
                return -1;
            if (gave_up) {
                run = 0;
                goto give_up;
            }
        }
    next_row:
        total += run;
        if (total > budget) {
            run = 0;
            goto give_up;
        }
    }
    free(table);
    *probes += total;
    return (int64_t)found;
give_up:
    free(table);
    *probes += total + run;
    return HP_FACTORIZE_GAVE_UP;
}

/* The same codes and uniques from a stable sort of the rows by id: the first
   row of each id's run is its first appearance. -1 if out of memory. */
static int64_t hp_factorize_sorted(const uint32_t *device_id, size_t n,
                                   uint32_t *codes, uint32_t *uniques)
{
    hp_rec *const buf = hp_records(n);
    const hp_rec *sorted;
    uint64_t *lead, found = 0, first = 0;
    uint32_t id_or = 0, id_and = ~(uint32_t)0;
    size_t i;

    if (buf == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        buf[i].ts = 0;
        buf[i].row = i;
        buf[i].id = device_id[i];
        id_or |= device_id[i];
        id_and &= device_id[i];
    }
    sorted = hp_radix_sort(buf, n, 0, id_or ^ id_and);
    /* lead[row]: the first row with row's id, in the other half of buf
       (24 bytes a row there, 8 needed) */
    lead = (uint64_t *)(sorted == buf ? buf + n : buf);
    for (i = 0; i < n; i++) {
        const uint64_t row = sorted[i].row;
        if (i == 0 || sorted[i].id != sorted[i - 1].id)
            first = row;
        lead[row] = first;
    }
    for (i = 0; i < n; i++) {
        if (lead[i] == i) { /* a first appearance: the next code */
            uniques[found] = device_id[i];
            codes[i] = (uint32_t)found++;
        } else { /* an earlier row's: already coded */
            codes[i] = codes[lead[i]];
        }
    }
    free(buf);
    return (int64_t)found;
}

int64_t hp_factorize(const uint32_t *device_id, size_t n, uint64_t k0, uint64_t k1,
                     uint32_t *codes, uint32_t *uniques, uint64_t *stats)
{
    stats[0] = stats[1] = 0;
    if (n == 0)
        return 0;
    if ((uint64_t)n <= UINT32_MAX) {
        const int64_t found =
            hp_factorize_hashed(device_id, n, k0, k1, codes, uniques, &stats[0]);
        if (found != HP_FACTORIZE_GAVE_UP)
            return found;
    }
    stats[1] = 1;
    return hp_factorize_sorted(device_id, n, codes, uniques);
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
