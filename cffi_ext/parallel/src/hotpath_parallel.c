/*
 * hotpath's C kernels on every core (see hotpath_parallel.h).
 *
 * Exact by construction -- no kernel here merges floats computed on
 * different threads, and none decides "first occurrence" across threads:
 *
 * - aggregate: thread t owns the devices [lo_t, hi_t). It reads every row id
 *   in input order, keeps (branch-free, a block of rows at a time) the rows of
 *   its own devices, and sums those exactly as hp_aggregate does: each
 *   device's total is the same left-to-right sum of its own rows, computed
 *   by one thread. Only the ids are read by every thread (4 bytes a row);
 *   the kwh and the per-device updates are split.
 * - duplicates: hp_duplicates' partitions, made in parallel. Every thread
 *   hashes a contiguous range of rows and counts its rows per partition; the
 *   offsets are laid out partition by partition, thread by thread, so the
 *   scatter is stable (a partition holds its rows in input order) and gives
 *   hp_duplicates' very partitions. Equal rows share a partition, so each
 *   partition's own table (or its sort, past the probe bound) decides first
 *   occurrences as the sequential kernel does; partitions are dealt out to
 *   the threads dynamically. Same marks, same probe and fallback counts.
 * - hash_rows: each row's hash depends on that row only: ranges of rows.
 *
 * xxh64 (one stream, sequential by definition) and factorize (codes follow
 * first appearance across the whole input) stay the sequential kernels.
 */
#include "hotpath_parallel.h"

#include <omp.h>

/* The sequential kernels and their static helpers, compiled into this module
   as they are into cffi_ext._kernels: one definition of the hash, the tables
   and the sort. */
#include "hotpath_kernels.c"

/* Below this many rows a thread team costs more than it saves (~10 us). */
#define HP_PAR_MIN_ROWS ((size_t)1 << 14)
/* aggregate's block: the kept row offsets of 4096 rows (16 KiB, in L1). */
#define HP_PAR_BLOCK 4096u

size_t hp_par_min_rows(void) { return HP_PAR_MIN_ROWS; }

int hp_par_openmp(void) { return _OPENMP; }

int hp_par_team_size(int threads)
{
    int got = 0;
    if (threads < 1)
        threads = 1;
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        got = omp_get_num_threads();
    }
    return got;
}

/* [*lo, *hi): part t of T of [0, n), the first n % T parts one longer. */
static inline void hp_share(size_t n, size_t t, size_t T, size_t *lo, size_t *hi)
{
    const size_t q = n / T, r = n % T;
    *lo = t * q + (t < r ? t : r);
    *hi = *lo + q + (t < r ? 1 : 0);
}

/* ------------------------------------------------------------------------ */

void hp_par_hash_rows(const uint32_t *device_id, const int64_t *timestamp,
                      const double *kwh, size_t n, uint64_t seed, uint64_t *out,
                      int threads)
{
    if (threads <= 1 || n < HP_PAR_MIN_ROWS) {
        hp_hash_rows(device_id, timestamp, kwh, n, seed, out);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        size_t lo, hi;
        hp_share(n, (size_t)omp_get_thread_num(), (size_t)omp_get_num_threads(), &lo, &hi);
        hp_hash_rows(device_id + lo, timestamp + lo, kwh + lo, hi - lo, seed, out + lo);
    }
}

/* ------------------------------------------------------------------------ */

/* One thread's share of aggregate: the devices [dlo, dhi), over all rows.
   Returns -1, or the index of the first row whose id is >= n_devices (every
   thread reads every id, so every thread finds the same one). */
static int64_t hp_aggregate_devices(const uint32_t *device_id, const double *kwh,
                                    size_t n, size_t n_devices, size_t dlo, size_t dhi,
                                    int64_t *count, double *total, double *minimum,
                                    double *maximum)
{
    const uint64_t span = (uint64_t)(dhi - dlo);
    uint32_t kept[HP_PAR_BLOCK];
    size_t d, b;
    /* the current device's accumulators in registers, as in hp_aggregate */
    size_t cur = dlo;
    int64_t c = 0;
    double t = 0.0, lo = INFINITY, hi = -INFINITY;

    for (d = dlo; d < dhi; d++) {
        count[d] = 0;
        total[d] = 0.0;
        minimum[d] = INFINITY;
        maximum[d] = -INFINITY;
    }
    if (span == 0)
        return -1;
    for (b = 0; b < n; b += HP_PAR_BLOCK) {
        const size_t e = n - b < HP_PAR_BLOCK ? n : b + HP_PAR_BLOCK;
        const uint32_t *ids = device_id + b;
        size_t i, m = 0, k;
        uint32_t top = 0;
        /* Branch-free: a row is kept when its id falls in [dlo, dhi) (ids
           below dlo wrap to huge values), and the block's largest id shows a
           bad one. With 2 threads a branch here would mispredict half the time. */
        for (i = 0; i < e - b; i++) {
            const uint32_t dev = ids[i];
            kept[m] = (uint32_t)i;
            m += (uint64_t)dev - dlo < span;
            top = dev > top ? dev : top;
        }
        if ((size_t)top >= n_devices) {
            for (i = 0; (size_t)ids[i] < n_devices; i++)
                ;
            return (int64_t)(b + i); /* outputs are unspecified now */
        }
        for (k = 0; k < m; k++) {
            const size_t row = b + kept[k];
            const size_t dev = device_id[row];
            const double x = kwh[row];
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
            if (x == x) { /* hp_aggregate's update, verbatim: the same bits */
                c++;
                t += x;
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
        }
    }
    count[cur] = c;
    total[cur] = t;
    minimum[cur] = lo;
    maximum[cur] = hi;
    for (d = dlo; d < dhi; d++) {
        if (count[d] == 0) {
            minimum[d] = NAN;
            maximum[d] = NAN;
        }
    }
    return -1;
}

int64_t hp_par_aggregate(const uint32_t *device_id, const double *kwh, size_t n,
                         size_t n_devices, int64_t *count, double *total,
                         double *minimum, double *maximum, int threads)
{
    int64_t bad = -1;
    if (threads <= 1 || n < HP_PAR_MIN_ROWS || n_devices < 2)
        return hp_aggregate(device_id, kwh, n, n_devices, count, total, minimum, maximum);
    if ((size_t)threads > n_devices)
        threads = (int)n_devices;
#pragma omp parallel num_threads(threads)
    {
        size_t dlo, dhi;
        int64_t mine;
        hp_share(n_devices, (size_t)omp_get_thread_num(), (size_t)omp_get_num_threads(),
                 &dlo, &dhi);
        mine = hp_aggregate_devices(device_id, kwh, n, n_devices, dlo, dhi, count, total,
                                    minimum, maximum);
        if (mine >= 0) {
#pragma omp critical(hp_par_aggregate_bad)
            bad = mine; /* the same row index on every thread */
        }
    }
    return bad;
}

/* ------------------------------------------------------------------------ */

int hp_par_duplicates(const uint32_t *device_id, const int64_t *timestamp,
                      size_t n, uint64_t k0, uint64_t k1, uint8_t *out,
                      uint64_t *stats, int threads)
{
    size_t bounds[((size_t)1 << HP_PART_MAX_LOG2) + 1];
    uint64_t idx_mask, *block, *staged, *entries, *tables = NULL;
    uint64_t probes = 0, fallbacks = 0;
    unsigned idx_bits, pbits, pshift;
    size_t nparts, width, *hist, max_part = 0, oversize, tcap = 16;
    int failed = 0;

    if (threads <= 1 || n < HP_PAR_MIN_ROWS)
        return hp_duplicates(device_id, timestamp, n, k0, k1, out, stats);
    stats[0] = stats[1] = 0;
    /* entries and staged entries, n each (as hp_duplicates, which also keeps
       n < 2**61 so that idx_bits < 64) */
    if (hp_duplicates_scratch(n, 0) == 0 || n > SIZE_MAX / (2 * sizeof(uint64_t)))
        return -1;
    block = (uint64_t *)malloc(2 * n * sizeof(uint64_t));
    if (block == NULL)
        return -1;
    entries = block;
    staged = block + n;

    /* hp_duplicates' index field and partitions, for the same tables */
    idx_mask = 1;
    idx_bits = 1;
    while (idx_mask < (uint64_t)n) {
        idx_mask = (idx_mask << 1) | 1u;
        idx_bits++;
    }
    pbits = 0;
    while (pbits < HP_PART_MAX_LOG2 && ((size_t)1 << (pbits + HP_PART_TARGET_LOG2)) < n)
        pbits++;
    nparts = (size_t)1 << pbits;
    pshift = 63u - pbits;
    oversize = 4 * (n >> pbits) + 1024;

    /* one row of partition counters per thread (then its scatter offsets) */
    width = nparts + 1;
    hist = (size_t *)calloc((size_t)threads * width, sizeof(size_t));
    if (hist == NULL) {
        free(block);
        return -1;
    }

#pragma omp parallel num_threads(threads)
    {
        const size_t T = (size_t)omp_get_num_threads(), me = (size_t)omp_get_thread_num();
        size_t *const h = hist + me * width;
        size_t lo, hi, i;
        int go;
        hp_share(n, me, T, &lo, &hi);

        /* Pass 1: this thread's rows' entries, in input order, and counts. */
        for (i = lo; i < hi; i++) {
            const uint64_t x = hp_hash(device_id[i], timestamp[i], k0, k1);
            staged[i] = (x & ~idx_mask) | (uint64_t)(i + 1);
            h[(size_t)((x >> pshift) >> 1)]++;
        }
        memset(out + lo, 0, hi - lo); /* only duplicates are written below */
#pragma omp barrier
#pragma omp single
        {
            /* Offsets partition-major, thread-minor: partition p holds thread
               0's rows of p, then thread 1's...: input order. */
            size_t p, u, at = 0;
            for (p = 0; p < nparts; p++) {
                const size_t start = at;
                bounds[p] = start;
                for (u = 0; u < T; u++) {
                    const size_t c = hist[u * width + p];
                    hist[u * width + p] = at;
                    at += c;
                }
                if (at - start > max_part && at - start <= oversize)
                    max_part = at - start;
            }
            bounds[nparts] = at;
            /* each thread's table: as hp_duplicates_scratch sizes it */
            while (tcap / ((size_t)1 << HP_TABLE_LOAD_SHIFT) < max_part)
                tcap <<= 1;
            if (tcap > SIZE_MAX / sizeof(uint64_t) / T)
                failed = 1;
            else if ((tables = (uint64_t *)malloc(T * tcap * sizeof(uint64_t))) == NULL)
                failed = 1;
        } /* implicit barrier: offsets and tables are ready */

        /* read once, here: a sort may set failed during pass 3, and every
           thread must meet the worksharing loop below, or none */
        go = !failed;
        if (go) {
            /* Pass 2: stable scatter of this thread's rows. */
            for (i = lo; i < hi; i++) {
                const uint64_t e = staged[i];
                entries[h[(size_t)((e >> pshift) >> 1)]++] = e;
            }
        }
#pragma omp barrier
        if (go) {
            uint64_t *const table = tables + me * tcap;
            long p;
            /* Pass 3: partitions, dealt out dynamically (their sizes vary). */
#pragma omp for schedule(dynamic, 1) reduction(+ : probes, fallbacks)
            for (p = 0; p < (long)nparts; p++) {
                const size_t a = bounds[p], z = bounds[p + 1];
                if (z - a > oversize ||
                    hp_dedup_hashed(device_id, timestamp, entries + a, z - a, idx_mask,
                                    idx_bits, table, out, &probes)) {
                    /* the packed sort needs m free slots: this thread's table when
                       it is that large, else (an oversize partition) its own */
                    uint64_t *const room =
                        z - a <= tcap ? table : (uint64_t *)malloc((z - a) * sizeof(uint64_t));
                    if (room == NULL ||
                        hp_dedup_sorted(device_id, timestamp, entries + a, z - a, idx_mask,
                                        idx_bits, room, out) != 0) {
#pragma omp atomic write
                        failed = 1;
                    }
                    if (room != table)
                        free(room);
                    fallbacks++;
                }
            }
        }
    }

    free(tables);
    free(hist);
    free(block);
    if (failed)
        return -1;
    stats[0] = probes;
    stats[1] = fallbacks;
    return 0;
}
