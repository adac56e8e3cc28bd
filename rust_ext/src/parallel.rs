//! The parallel variant's kernels (`rust_ext._kernels.parallel`): rayon, on a pool per thread
//! count, with the sequential kernels' bits by construction.
//!
//! - `aggregate`: each worker owns a contiguous range of devices and reads every row in input
//!   order, keeping only its own devices' rows, so every device's total is the same sequential
//!   sum as the sequential kernel's. No float is ever merged from two workers. The keep test is
//!   branch-free (a block of row numbers is compacted first, then summed): with devices
//!   interleaved, a branch would mispredict every other row.
//! - `duplicates`: a stable scatter of the rows' keys by the top bits of the keyed hash into
//!   partitions (row order kept inside each), then the sequential kernel on each partition:
//!   its keyed, probe-bounded table with the sort fallback, in an L2-sized table. Equal rows
//!   share a hash, so a partition holds every copy of its keys, and "first" is decided in row
//!   order inside it. Crafted collisions share one partition: only that one is sorted.
//! - `hash_rows`: independent rows, split into contiguous ranges.
//!
//! `factorize` and `xxh64` are not here: the Python side calls the sequential kernels (codes in
//! first-appearance order need a global order; one XXH64 stream is sequential by definition).
//! Below [`MIN_ROWS`] rows, or with one thread, every kernel runs sequentially on the caller.

use crate::hash::{Key, keyed_hash};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::collections::{HashMap, TryReserveError};
use std::sync::{Arc, Mutex, OnceLock};

/// Fewer rows than this are not worth waking a pool for (~2^14 rows run in a few microseconds).
pub const MIN_ROWS: usize = 1 << 14;

/// The pool of `threads` workers, built once per thread count and kept for the process.
pub fn pool(threads: usize) -> Result<Arc<ThreadPool>, String> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = pools.get(&threads) {
        return Ok(Arc::clone(found));
    }
    let built = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("hotpath-rayon-{i}"))
        .build()
        .map_err(|e| e.to_string())?;
    let built = Arc::new(built);
    pools.insert(threads, Arc::clone(&built));
    Ok(built)
}

/// Rows whose numbers one compaction block holds: a few KiB, so they stay in L1.
const BLOCK: usize = 2048;

/// The devices `[lo, hi)` of worker `w` of `workers` over `n_devices`: equal contiguous ranges.
fn device_range(w: usize, workers: usize, n_devices: usize) -> (usize, usize) {
    let at = |k: usize| (k as u128 * n_devices as u128 / workers as u128) as usize;
    (at(w), at(w + 1))
}

/// As [`crate::aggregate::aggregate`] (the same outputs, bit for bit, and the same `Err(i)`:
/// the first row whose id is out of range), with `threads` workers.
pub fn aggregate(
    device_id: &[u32],
    kwh: &[f64],
    count: &mut [i64],
    total: &mut [f64],
    minimum: &mut [f64],
    maximum: &mut [f64],
    threads: usize,
) -> Result<Result<(), usize>, String> {
    let n_devices = count.len();
    let n = device_id.len().min(kwh.len());
    let workers = threads.min(n_devices);
    if threads <= 1 || n < MIN_ROWS || workers <= 1 {
        return Ok(crate::aggregate::aggregate(
            device_id, kwh, count, total, minimum, maximum,
        ));
    }
    let (device_id, kwh) = (&device_id[..n], &kwh[..n]);
    let (total, minimum, maximum) = (
        &mut total[..n_devices],
        &mut minimum[..n_devices],
        &mut maximum[..n_devices],
    );
    // Each worker's own slices of the four outputs.
    let mut parts = Vec::with_capacity(workers);
    let (mut c, mut t, mut lo, mut hi) = (count, total, minimum, maximum);
    for w in 0..workers {
        let (start, end) = device_range(w, workers, n_devices);
        let len = end - start;
        let (c1, c2) = std::mem::take(&mut c).split_at_mut(len);
        let (t1, t2) = std::mem::take(&mut t).split_at_mut(len);
        let (l1, l2) = std::mem::take(&mut lo).split_at_mut(len);
        let (h1, h2) = std::mem::take(&mut hi).split_at_mut(len);
        parts.push((start, c1, t1, l1, h1));
        (c, t, lo, hi) = (c2, t2, l2, h2);
    }
    let pool = pool(threads)?;
    let results: Vec<Result<(), usize>> = pool.install(|| {
        parts
            .into_par_iter()
            .map(|(start, count, total, minimum, maximum)| {
                aggregate_range(
                    device_id, kwh, n_devices, start, count, total, minimum, maximum,
                )
            })
            .collect()
    });
    // Every worker reads every row in order, so each stops at the same first bad row.
    Ok(results.into_iter().find(Result::is_err).unwrap_or(Ok(())))
}

/// The sequential kernel restricted to devices `start..start + count.len()`: rows of other
/// devices are passed over, every id is still checked.
#[allow(clippy::too_many_arguments)]
fn aggregate_range(
    device_id: &[u32],
    kwh: &[f64],
    n_devices: usize,
    start: usize,
    count: &mut [i64],
    total: &mut [f64],
    minimum: &mut [f64],
    maximum: &mut [f64],
) -> Result<(), usize> {
    let span = count.len();
    let (total, minimum, maximum) = (
        &mut total[..span],
        &mut minimum[..span],
        &mut maximum[..span],
    );
    count.fill(0);
    total.fill(0.0);
    minimum.fill(f64::INFINITY);
    maximum.fill(f64::NEG_INFINITY);
    let mut kept = [0u32; BLOCK];
    for (b, (ids, values)) in device_id.chunks(BLOCK).zip(kwh.chunks(BLOCK)).enumerate() {
        let mut k = 0;
        for (j, &d) in ids.iter().enumerate() {
            let d = d as usize;
            if d >= n_devices {
                return Err(b * BLOCK + j);
            }
            // Branch-free compaction: always write, advance only for an own device.
            kept[k & (BLOCK - 1)] = j as u32;
            k += usize::from(d.wrapping_sub(start) < span);
        }
        for &j in &kept[..k] {
            let (d, x) = (ids[j as usize] as usize - start, values[j as usize]);
            if d >= span || x.is_nan() {
                continue; // d >= span never happens: it lets the compiler drop the bounds checks
            }
            count[d] += 1;
            total[d] += x; // this device's rows, in input order: the sequential sum
            let (lo, hi) = (minimum[d], maximum[d]);
            minimum[d] = if x < lo { x } else { lo };
            maximum[d] = if x > hi { x } else { hi };
        }
    }
    for d in 0..span {
        if count[d] == 0 {
            minimum[d] = f64::NAN;
            maximum[d] = f64::NAN;
        }
    }
    Ok(())
}

/// One chunk's rows of one partition, in row order.
#[derive(Default)]
struct Keys {
    ids: Vec<u32>,
    stamps: Vec<i64>,
}

/// As [`crate::duplicates::duplicates`] (the same marks; probes and fallbacks summed over the
/// partitions, a fallback being one partition sorted), with `threads` workers.
///
/// Three passes, each streaming: (1) each worker's chunk of rows notes every row's partition
/// and appends its key to the chunk's list for that partition; (2) each partition joins its
/// chunks' lists in chunk order (so its rows are in row order) and runs the sequential kernel;
/// (3) each chunk reads its rows' marks back, partition by partition in the same order.
pub fn duplicates(
    device_id: &[u32],
    timestamp: &[i64],
    key: Key,
    out: &mut [bool],
    threads: usize,
) -> Result<Result<(u64, u64), TryReserveError>, String> {
    let n = out.len();
    if threads <= 1 || n < MIN_ROWS {
        return Ok(crate::duplicates::duplicates(
            device_id, timestamp, key, out,
        ));
    }
    let (device_id, timestamp) = (&device_id[..n], &timestamp[..n]);
    // ~2^15 rows a partition (a 512 KiB table), at least 4 per worker for balance; at most
    // 2^16, so a partition number fits in a u16.
    let partitions = (n >> 15).clamp(4 * threads, 1 << 16).next_power_of_two();
    let shift = u64::BITS - partitions.trailing_zeros();
    let chunk = n.div_ceil(threads);
    let pool = pool(threads)?;
    Ok(pool.install(|| {
        let mut part: Vec<u16> = Vec::new();
        part.try_reserve_exact(n)?;
        part.resize(n, 0);
        // 1. Scatter, stably: every chunk's keys by partition, in row order.
        let lists: Vec<Result<Vec<Keys>, TryReserveError>> = part
            .par_chunks_mut(chunk)
            .enumerate()
            .map(|(c, part)| {
                let start = c * chunk;
                let mut lists: Vec<Keys> = Vec::new();
                lists.try_reserve_exact(partitions)?;
                let expected = part.len() / partitions + part.len() / (4 * partitions) + 16;
                for _ in 0..partitions {
                    let mut keys = Keys::default();
                    keys.ids.try_reserve_exact(expected)?;
                    keys.stamps.try_reserve_exact(expected)?;
                    lists.push(keys);
                }
                let rows = device_id[start..].iter().zip(&timestamp[start..]);
                for (p_of_row, (&id, &ts)) in part.iter_mut().zip(rows) {
                    let p = (keyed_hash(id, ts, key) >> shift) as usize;
                    *p_of_row = p as u16;
                    let keys = &mut lists[p];
                    keys.ids.try_reserve(1)?;
                    keys.stamps.try_reserve(1)?;
                    keys.ids.push(id);
                    keys.stamps.push(ts);
                }
                Ok(lists)
            })
            .collect();
        let lists = lists.into_iter().collect::<Result<Vec<_>, _>>()?;
        // 2. Each partition: its rows in row order, the sequential kernel on them.
        let found: Vec<Result<(Vec<bool>, u64, u64), TryReserveError>> = (0..partitions)
            .into_par_iter()
            .map(|p| {
                let m: usize = lists.iter().map(|l| l[p].ids.len()).sum();
                let (mut ids, mut stamps, mut marks) = (Vec::new(), Vec::new(), Vec::new());
                ids.try_reserve_exact(m)?;
                stamps.try_reserve_exact(m)?;
                marks.try_reserve_exact(m)?;
                for l in &lists {
                    ids.extend_from_slice(&l[p].ids);
                    stamps.extend_from_slice(&l[p].stamps);
                }
                marks.resize(m, false);
                let (probes, fallbacks) =
                    crate::duplicates::duplicates(&ids, &stamps, key, &mut marks)?;
                Ok((marks, probes, fallbacks))
            })
            .collect();
        let found = found.into_iter().collect::<Result<Vec<_>, _>>()?;
        // 3. Each chunk's marks, read back in row order: chunk c's rows of partition p follow
        //    those of the chunks before it.
        let mut first: Vec<Vec<usize>> = Vec::with_capacity(lists.len());
        let mut at = vec![0usize; partitions];
        for l in &lists {
            first.push(at.clone());
            for (p, keys) in l.iter().enumerate() {
                at[p] += keys.ids.len();
            }
        }
        drop(lists);
        out.par_chunks_mut(chunk)
            .zip(part.par_chunks(chunk))
            .zip(first.into_par_iter())
            .for_each(|((out, part), mut cursor)| {
                for (mark, &p) in out.iter_mut().zip(part) {
                    let p = p as usize;
                    *mark = found[p].0[cursor[p]];
                    cursor[p] += 1;
                }
            });
        let probes = found.iter().map(|f| f.1).sum();
        let fallbacks = found.iter().map(|f| f.2).sum();
        Ok((probes, fallbacks))
    }))
}

/// `out[i] = hash_row(row i, seed)`, with `threads` workers over contiguous row ranges.
pub fn hash_rows(
    device_id: &[u32],
    timestamp: &[i64],
    kwh: &[f64],
    seed: u64,
    out: &mut [u64],
    threads: usize,
) -> Result<(), String> {
    let n = out.len();
    let (device_id, timestamp, kwh) = (&device_id[..n], &timestamp[..n], &kwh[..n]);
    let run = |out: &mut [u64], start: usize| {
        let end = start + out.len();
        let rows = device_id[start..end]
            .iter()
            .zip(&timestamp[start..end])
            .zip(&kwh[start..end]);
        for (h, ((&id, &ts), &x)) in out.iter_mut().zip(rows) {
            *h = crate::xxh64::hash_row(id, ts, x, seed);
        }
    };
    if threads <= 1 || n < MIN_ROWS {
        run(out, 0);
        return Ok(());
    }
    let chunk = n.div_ceil(4 * threads).max(MIN_ROWS / 4);
    pool(threads)?.install(|| {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(c, part)| run(part, c * chunk));
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MIN_ROWS, aggregate, duplicates, hash_rows};

    fn rows(n: usize, devices: u32) -> (Vec<u32>, Vec<i64>, Vec<f64>) {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let ids: Vec<u32> = (0..n)
            .map(|_| (next() % u64::from(devices)) as u32)
            .collect();
        let ts: Vec<i64> = (0..n).map(|_| (next() % 5000) as i64 - 2500).collect();
        let kwh: Vec<f64> = (0..n)
            .map(|_| (next() % 1000) as f64 / 7.0 - 50.0)
            .collect();
        (ids, ts, kwh)
    }

    #[test]
    fn same_bits_as_sequential() {
        let n = 3 * MIN_ROWS + 17;
        for devices in [1, 3, 1000] {
            let (ids, ts, kwh) = rows(n, devices);
            let d = devices as usize;
            let seq = {
                let (mut c, mut t, mut lo, mut hi) =
                    (vec![0; d], vec![0.0; d], vec![0.0; d], vec![0.0; d]);
                crate::aggregate::aggregate(&ids, &kwh, &mut c, &mut t, &mut lo, &mut hi).unwrap();
                (c, t.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), lo, hi)
            };
            let mut marks = vec![false; n];
            crate::duplicates::duplicates(&ids, &ts, (5, 6), &mut marks).unwrap();
            let mut hashes = vec![0; n];
            hash_rows(&ids, &ts, &kwh, 9, &mut hashes, 1).unwrap();
            for threads in [2, 3] {
                let (mut c, mut t, mut lo, mut hi) =
                    (vec![0; d], vec![0.0; d], vec![0.0; d], vec![0.0; d]);
                aggregate(&ids, &kwh, &mut c, &mut t, &mut lo, &mut hi, threads)
                    .unwrap()
                    .unwrap();
                assert_eq!(seq.0, c);
                assert_eq!(seq.1, t.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
                assert_eq!((&seq.2, &seq.3), (&lo, &hi));
                let mut got = vec![true; n];
                duplicates(&ids, &ts, (5, 6), &mut got, threads)
                    .unwrap()
                    .unwrap();
                assert_eq!(marks, got);
                let mut got = vec![0; n];
                hash_rows(&ids, &ts, &kwh, 9, &mut got, threads).unwrap();
                assert_eq!(hashes, got);
            }
        }
    }

    #[test]
    fn first_bad_row() {
        let (mut ids, _, kwh) = rows(4 * MIN_ROWS, 10);
        ids[3 * MIN_ROWS + 5] = 10;
        ids[3 * MIN_ROWS + 9] = 7_000;
        let (mut c, mut t, mut lo, mut hi) =
            (vec![0; 10], vec![0.0; 10], vec![0.0; 10], vec![0.0; 10]);
        let got = aggregate(&ids, &kwh, &mut c, &mut t, &mut lo, &mut hi, 2).unwrap();
        assert_eq!(got, Err(3 * MIN_ROWS + 5));
    }
}
