/*
 * hotpath kernels: portable C99, no threads, no platform intrinsics.
 *
 * The same .c/.h pair is compiled natively (CMake + cffi) and to wasm32 with
 * clang, so only libc (malloc/calloc/free, memcpy) and <stdint.h>/<stddef.h>
 * are used. Inputs are 1-D C-contiguous arrays; every length is passed in
 * explicitly and nothing is read or written outside [0, n).
 *
 * The declarations between the cdef markers are read verbatim by
 * build_ffi.py as the cffi cdef, so they must stay plain C declarations
 * (no macros, no attributes) - this is the single source of the API.
 */
#ifndef HOTPATH_KERNELS_H
#define HOTPATH_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cffi-cdef-begin */

/* Per-device count/total/min/max over rows in input order; NaN kwh rows are
   skipped. Fully initializes the four n_devices-long outputs. Returns -1 on
   success, else the index of the first row whose device_id >= n_devices. */
int64_t hp_aggregate(const uint32_t *device_id, const double *kwh, size_t n,
                     size_t n_devices, int64_t *count, double *total,
                     double *minimum, double *maximum);

/* The keyed 64-bit hash of the row (id, ts) under the key (k0, k1) that every
   hash table here uses (hotpath.hashkey.keyed_hash is its pure-Python mirror). */
uint64_t hp_keyed_hash(uint32_t id, int64_t ts, uint64_t k0, uint64_t k1);

/* out[i] = 1 iff an earlier row has the same (device_id, timestamp), else 0
   (pandas duplicated(keep="first")), hashing with the key (k0, k1). Sets
   stats[0] to the probes made and stats[1] to the partitions sorted instead
   (their probing passed the bound). Returns 0, or -1 if the scratch memory
   cannot be allocated (out is then unspecified). */
int hp_duplicates(const uint32_t *device_id, const int64_t *timestamp,
                  size_t n, uint64_t k0, uint64_t k1, uint8_t *out,
                  uint64_t *stats);

/* The bytes hp_duplicates allocates for n rows whose largest hash partition
   holds max_part rows, or 0 when that count does not fit in size_t (then
   hp_duplicates returns -1); a partition sorted instead allocates its records
   besides. */
size_t hp_duplicates_scratch(size_t n, size_t max_part);

/* codes[i] = the index of device_id[i] among the distinct ids, in order of
   first appearance, which go to uniques[0..k) (pandas factorize(sort=False));
   codes and uniques have room for n. Hashes with the key (k0, k1); stats as
   for hp_duplicates (stats[1]: 1 if the call was answered by a sort). Returns
   k, or -1 if the scratch memory cannot be allocated. */
int64_t hp_factorize(const uint32_t *device_id, size_t n, uint64_t k0, uint64_t k1,
                     uint32_t *codes, uint32_t *uniques, uint64_t *stats);

/* XXH64 of len bytes at data (no alignment requirement). */
uint64_t hp_xxh64(const void *data, size_t len, uint64_t seed);

/* out[i] = XXH64(struct.pack("<Iqd", device_id[i], timestamp[i], kwh[i]), seed). */
void hp_hash_rows(const uint32_t *device_id, const int64_t *timestamp,
                  const double *kwh, size_t n, uint64_t seed, uint64_t *out);

/* Static string naming the C compiler that built this file, e.g. "gcc 12.2.0". */
const char *hp_build_info(void);

/* cffi-cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_KERNELS_H */
