/*
 * libFuzzer harness for the raw C kernels (cffi_ext/src/hotpath_kernels.c), built with
 * AddressSanitizer and UndefinedBehaviorSanitizer (fuzz/c/build.sh).
 *
 * The fuzzer's bytes become one set of rows -- a length, a hash key, a seed, then the ids,
 * timestamps and kwh -- in buffers malloc'd to exactly their length, so ASan catches any read
 * or write past an end. Every kernel runs on them within its documented preconditions
 * (hotpath_kernels.h: arrays of n elements, outputs of n or n_devices, stats[2]), and each
 * answer is checked against a plain reference here (a sort for duplicates, a definition
 * check for factorize, a naive loop for aggregate, hp_xxh64 of the packed row for hash_rows,
 * alignment independence for hp_xxh64). A wrong answer aborts: a finding, like a crash.
 *
 * Modes (the first byte) shape the rows: raw bit patterns; a few distinct values repeated
 * (many duplicates); rows that collide under the key (id and the timestamp's low half spell
 * k0, see hotpath/crafted.py), so probing passes the bound and the sort fallback answers;
 * and large n, so duplicates partitions its rows.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpath_kernels.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz_kernels: check failed: %s (line %d)\n", #cond, \
                    __LINE__);                                                   \
            abort();                                                             \
        }                                                                        \
    } while (0)

typedef struct {
    const uint8_t *data;
    size_t size, at;
} reader;

static uint64_t take(reader *r, unsigned bytes)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < bytes; i++)
        v |= (uint64_t)(r->at < r->size ? r->data[r->at++] : 0) << (8 * i);
    return v;
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    CHECK(p != NULL);
    return p;
}

static uint64_t double_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* Row order by (id, ts, index), for the duplicates reference. */
static const uint32_t *g_ids;
static const int64_t *g_ts;
static int by_key(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (g_ids[i] != g_ids[j])
        return g_ids[i] < g_ids[j] ? -1 : 1;
    if (g_ts[i] != g_ts[j])
        return g_ts[i] < g_ts[j] ? -1 : 1;
    return i < j ? -1 : (i > j);
}

static void check_duplicates(const uint32_t *ids, const int64_t *ts, size_t n, uint64_t k0,
                             uint64_t k1)
{
    uint8_t *out = xmalloc(n);
    uint8_t *want = xmalloc(n);
    size_t *order = xmalloc(n * sizeof *order);
    uint64_t stats[2];
    size_t i;

    CHECK(hp_duplicates(ids, ts, n, k0, k1, out, stats) == 0);
    for (i = 0; i < n; i++)
        order[i] = i;
    g_ids = ids;
    g_ts = ts;
    qsort(order, n, sizeof *order, by_key);
    for (i = 0; i < n; i++) {
        size_t r = order[i], prev = i ? order[i - 1] : 0;
        want[r] = i > 0 && ids[prev] == ids[r] && ts[prev] == ts[r];
    }
    for (i = 0; i < n; i++)
        CHECK(out[i] == want[i]);
    free(out);
    free(want);
    free(order);
}

static void check_factorize(const uint32_t *ids, size_t n, uint64_t k0, uint64_t k1)
{
    uint32_t *codes = xmalloc(n * sizeof *codes);
    uint32_t *uniques = xmalloc(n * sizeof *uniques);
    uint64_t stats[2];
    int64_t k = hp_factorize(ids, n, k0, k1, codes, uniques, stats);
    uint32_t next = 0;
    size_t i;

    CHECK(k >= 0 && (size_t)k <= n);
    /* The definition: uniques[codes[i]] == ids[i], and codes count up in first appearance. */
    for (i = 0; i < n; i++) {
        CHECK(codes[i] < (uint64_t)k && uniques[codes[i]] == ids[i]);
        CHECK(codes[i] <= next);
        if (codes[i] == next)
            next++;
    }
    CHECK(next == (uint64_t)k);
    /* Distinct uniques: sorted copy has no equal neighbours. */
    {
        size_t *order = xmalloc((size_t)k * sizeof *order);
        int64_t *zero = calloc((size_t)k + 1, sizeof *zero);
        CHECK(zero != NULL);
        for (i = 0; i < (size_t)k; i++)
            order[i] = i;
        g_ids = uniques;
        g_ts = zero;
        qsort(order, (size_t)k, sizeof *order, by_key);
        for (i = 1; i < (size_t)k; i++)
            CHECK(uniques[order[i - 1]] != uniques[order[i]]);
        free(order);
        free(zero);
    }
    free(codes);
    free(uniques);
}

static void check_aggregate(const uint32_t *ids, const double *kwh, size_t n, size_t n_devices)
{
    int64_t *count = xmalloc(n_devices * sizeof *count);
    double *total = xmalloc(n_devices * sizeof *total);
    double *lo = xmalloc(n_devices * sizeof *lo);
    double *hi = xmalloc(n_devices * sizeof *hi);
    int64_t bad = hp_aggregate(ids, kwh, n, n_devices, count, total, lo, hi);
    size_t i, first_bad = n;

    for (i = 0; i < n; i++)
        if (ids[i] >= n_devices) {
            first_bad = i;
            break;
        }
    if (first_bad < n) {
        CHECK(bad == (int64_t)first_bad);
    } else {
        CHECK(bad == -1);
        /* python_ref's loop: rows in order, the first of equal values wins. */
        int64_t *c = calloc(n_devices, sizeof *c);
        double *t = xmalloc(n_devices * sizeof *t), *mn = xmalloc(n_devices * sizeof *mn),
               *mx = xmalloc(n_devices * sizeof *mx);
        size_t d;
        CHECK(c != NULL);
        for (d = 0; d < n_devices; d++)
            t[d] = 0.0, mn[d] = mx[d] = NAN;
        for (i = 0; i < n; i++) {
            double x = kwh[i];
            d = ids[i];
            if (x != x)
                continue;
            if (c[d] == 0)
                mn[d] = mx[d] = x;
            else if (x < mn[d])
                mn[d] = x;
            else if (x > mx[d])
                mx[d] = x;
            c[d]++;
            t[d] += x;
        }
        for (d = 0; d < n_devices; d++) {
            CHECK(count[d] == c[d]);
            CHECK(double_bits(total[d]) == double_bits(t[d]) || (t[d] != t[d] && total[d] != total[d]));
            CHECK(double_bits(lo[d]) == double_bits(mn[d]) || (mn[d] != mn[d] && lo[d] != lo[d]));
            CHECK(double_bits(hi[d]) == double_bits(mx[d]) || (mx[d] != mx[d] && hi[d] != hi[d]));
        }
        free(c);
        free(t);
        free(mn);
        free(mx);
    }
    free(count);
    free(total);
    free(lo);
    free(hi);
}

static void check_hashes(const uint32_t *ids, const int64_t *ts, const double *kwh, size_t n,
                         uint64_t seed, const uint8_t *bytes, size_t nbytes)
{
    uint64_t *out = xmalloc(n * sizeof *out);
    uint8_t *shifted = xmalloc(nbytes + 7);
    size_t i, shift;

    hp_hash_rows(ids, ts, kwh, n, seed, out);
    for (i = 0; i < n; i++) {
        uint8_t row[20]; /* struct.pack("<Iqd", ...) */
        uint64_t t = (uint64_t)ts[i], x = double_bits(kwh[i]);
        unsigned b;
        for (b = 0; b < 4; b++)
            row[b] = (uint8_t)(ids[i] >> (8 * b));
        for (b = 0; b < 8; b++) {
            row[4 + b] = (uint8_t)(t >> (8 * b));
            row[12 + b] = (uint8_t)(x >> (8 * b));
        }
        CHECK(out[i] == hp_xxh64(row, sizeof row, seed));
    }
    /* XXH64 of the raw bytes must not depend on where they start. */
    for (shift = 1; shift < 8; shift += 3) {
        memcpy(shifted + shift, bytes, nbytes);
        CHECK(hp_xxh64(shifted + shift, nbytes, seed) == hp_xxh64(bytes, nbytes, seed));
    }
    free(out);
    free(shifted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size, 0};
    unsigned mode = (unsigned)take(&r, 1) % 4;
    size_t n = (size_t)take(&r, 2) % (mode == 3 ? 12000 : 700);
    uint64_t k0 = take(&r, 8), k1 = take(&r, 8), seed = take(&r, 8);
    size_t n_devices = 1 + (size_t)take(&r, 1) % 64;
    unsigned distinct = 1 + (unsigned)take(&r, 1) % 8;
    uint32_t *ids = xmalloc(n * sizeof *ids);
    int64_t *ts = xmalloc(n * sizeof *ts);
    double *kwh = xmalloc(n * sizeof *kwh);
    uint32_t pal_id[8];
    int64_t pal_ts[8];
    size_t i, rest, nbytes;
    const uint8_t *bytes;
    unsigned j;

    for (j = 0; j < 8; j++) {
        pal_id[j] = (uint32_t)take(&r, 1) % n_devices;
        pal_ts[j] = (int64_t)take(&r, 8);
    }
    for (i = 0; i < n; i++) {
        uint64_t word = take(&r, mode == 0 ? 8 : 1);
        switch (mode) {
        case 0: /* raw bits: any id, any timestamp */
            ids[i] = (uint32_t)word;
            ts[i] = (int64_t)(word * 0x9E3779B97F4A7C15u);
            break;
        case 1: /* few distinct rows, repeated */
        case 3:
            ids[i] = pal_id[word % distinct];
            /* wrapping (unsigned) addition: a palette timestamp may be INT64_MAX */
            ts[i] = (int64_t)((uint64_t)pal_ts[(word >> 3) % distinct] +
                              (uint64_t)(i % 3 == 0 && mode == 3 ? i : 0));
            break;
        default: /* colliding under (k0, k1): one probe chain, past the bound */
            ids[i] = (uint32_t)k0;
            ts[i] = (int64_t)((k0 >> 32) | ((uint64_t)(word % (n / 2 + 1)) << 32));
            break;
        }
        kwh[i] = 0.0;
    }
    /* kwh from the remaining bytes: NaN payloads, -0.0, infinities among them. */
    for (i = 0; i < n; i++) {
        uint64_t bits = take(&r, 2);
        uint64_t pick = bits & 7;
        uint64_t v = pick == 0 ? UINT64_C(0x7FF8000000000000) | (bits << 20)
                     : pick == 1 ? UINT64_C(0x8000000000000000)
                     : pick == 2 ? UINT64_C(0x7FF0000000000000) | ((bits & 8) << 60)
                                 : (bits * UINT64_C(0x100000001B3)) ^ (uint64_t)seed;
        memcpy(&kwh[i], &v, sizeof v);
    }

    check_duplicates(ids, ts, n, k0, k1);
    check_factorize(ids, n, k0, k1);
    check_aggregate(ids, kwh, n, n_devices);
    rest = r.at < size ? size - r.at : 0;
    bytes = data + (size - rest);
    nbytes = rest;
    check_hashes(ids, ts, kwh, n, seed, bytes, nbytes);
    /* The scratch size is a pure function of any two sizes: no overflow, no crash. */
    (void)hp_duplicates_scratch((size_t)seed, (size_t)k1);
    /* Colliding rows collide: the keyed product of lo == k0 is 0 whatever hi is. */
    CHECK(hp_keyed_hash((uint32_t)k0, (int64_t)((k0 >> 32) | (seed << 32)), k0, k1) ==
          hp_keyed_hash((uint32_t)k0, (int64_t)(k0 >> 32), k0, k1 ^ (seed << 32)));

    free(ids);
    free(ts);
    free(kwh);
    return 0;
}
