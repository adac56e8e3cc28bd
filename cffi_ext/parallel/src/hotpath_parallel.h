/*
 * hotpath's C kernels on every core: OpenMP over the C99 kernels of
 * ../../src (hotpath_parallel.c includes hotpath_kernels.c, so both share one
 * hash, one table and one sort). Each result is the sequential kernel's, bit
 * for bit, whatever `threads` is: the work is split so that no float sum and
 * no "first occurrence" ever crosses threads (hotpath_parallel.c says how).
 * Below HP_PAR_MIN_ROWS rows, or with threads <= 1, the sequential kernel runs.
 *
 * As in hotpath_kernels.h, the declarations between the markers are the cffi
 * cdef (cffi_ext/build_ffi.py reads both headers' blocks).
 */
#ifndef HOTPATH_PARALLEL_H
#define HOTPATH_PARALLEL_H

#include "hotpath_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cffi-cdef-begin */

/* hp_aggregate on `threads` threads, each owning a contiguous range of devices. */
int64_t hp_par_aggregate(const uint32_t *device_id, const double *kwh, size_t n,
                         size_t n_devices, int64_t *count, double *total,
                         double *minimum, double *maximum, int threads);

/* hp_duplicates on `threads` threads: a parallel stable scatter by hash
   partition, then the partitions' tables (or sorts) in parallel. The same
   marks and the same stats as hp_duplicates. */
int hp_par_duplicates(const uint32_t *device_id, const int64_t *timestamp,
                      size_t n, uint64_t k0, uint64_t k1, uint8_t *out,
                      uint64_t *stats, int threads);

/* hp_hash_rows on `threads` threads, one contiguous range of rows each. */
void hp_par_hash_rows(const uint32_t *device_id, const int64_t *timestamp,
                      const double *kwh, size_t n, uint64_t seed, uint64_t *out,
                      int threads);

/* The threads an OpenMP team of `threads` really gets (omp_get_num_threads). */
int hp_par_team_size(int threads);

/* The smallest input that is split over threads. */
size_t hp_par_min_rows(void);

/* _OPENMP: the OpenMP version date this file was compiled for, e.g. 201511. */
int hp_par_openmp(void);

/* cffi-cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_PARALLEL_H */
