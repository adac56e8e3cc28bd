//! hotpath's kernels in Rust, exposed to Python as `rust_ext._kernels` through PyO3.
//!
//! This is the raw interface: `hotpath.contract` validates user input and hands over canonical
//! 1-D contiguous arrays. Each function here still extracts arrays by exact dtype (TypeError
//! otherwise), checks that no output shares memory with another argument (ValueError: a `&`
//! and a `&mut` slice over the same bytes would be undefined behaviour), insists on contiguity
//! and alignment via `as_slice` (a Python exception for a strided view, never unchecked pointer
//! arithmetic), checks that lengths agree (ValueError), and then runs the plain-slice kernel
//! with the GIL released. The rule is hotpath.rawchecks', which every backend follows.

mod aggregate;
mod csv;
mod duplicates;
mod factorize;
mod hash;
mod parallel;
mod xxh64;

use numpy::{Element, PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// The hash key's words, once hotpath.rawchecks.hash_key has checked it: the same rule and
/// messages as every backend's (a HashKey, never a plain tuple).
fn hash_key(py: Python<'_>, func: &str, key: &Bound<'_, PyAny>) -> PyResult<hash::Key> {
    static CHECK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    CHECK
        .import(py, "hotpath.rawchecks", "hash_key")?
        .call1((func, key))?
        .extract()
}

/// hotpath.rawchecks' check of raw kernel `func` on the call's arguments, before any is
/// extracted: extraction alone would raise TypeError for a read-only output or an output
/// borrowed as an input too (the rule says ValueError) and OverflowError for a seed outside
/// [0, 2**64) (found by fuzz/differential.py). Returns what the check returns (the seed, or the
/// key's words).
fn raw_check<'py>(
    py: Python<'py>,
    func: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    py.import("hotpath.rawchecks")?.getattr(func)?.call1(args)
}

/// ValueError unless every `(name, length)` in `others` has the length of `first`.
fn check_lengths(func: &str, first: (&str, usize), others: &[(&str, usize)]) -> PyResult<()> {
    let (first_name, expected) = first;
    match others.iter().find(|&&(_, len)| len != expected) {
        None => Ok(()),
        Some((name, len)) => Err(PyValueError::new_err(format!(
            "{func}: {name} has length {len}, expected {expected} (the length of {first_name})"
        ))),
    }
}

/// The bytes `start..end` an array's elements span, as addresses. Exact for a contiguous array;
/// any other is refused by `as_slice` before a slice of it exists.
fn span<T: Element>(array: &Bound<'_, PyArray1<T>>) -> (usize, usize) {
    let start = array.data().addr();
    (start, start + array.len() * size_of::<T>())
}

/// ValueError if one of the first `outputs` arrays shares a byte with any other array. rust-numpy
/// tracks borrows by base object, so it misses two views of one buffer through different bases
/// (e.g. two `np.frombuffer(memoryview(b))`); the addresses do not. Inputs may overlap: they
/// are only read.
fn check_disjoint(func: &str, arrays: &[(&str, (usize, usize))], outputs: usize) -> PyResult<()> {
    for (i, &(name, (start, end))) in arrays.iter().enumerate().take(outputs) {
        for &(other, (other_start, other_end)) in &arrays[i + 1..] {
            if start < end && other_start < other_end && start < other_end && other_start < end {
                return Err(PyValueError::new_err(format!(
                    "{func}: {name} overlaps {other} in memory"
                )));
            }
        }
    }
    Ok(())
}

#[pymodule]
mod _kernels {
    use super::{check_disjoint, check_lengths, hash_key, raw_check, span};
    use numpy::{PyReadonlyArray1, PyReadwriteArray1};
    use pyo3::exceptions::{PyMemoryError, PyValueError};
    use pyo3::prelude::*;
    use pyo3::types::{PyBytes, PyTuple};

    /// Toolchain this module was built with, captured by build.rs.
    #[pymodule_export]
    const BUILD_INFO: &str = env!("HOTPATH_BUILD_INFO");

    /// Fills count/total/minimum/maximum (length n_devices) from the rows; returns -1, or the
    /// index of the first row whose device id is >= n_devices.
    #[pyfunction]
    fn aggregate_into(
        py: Python<'_>,
        device_id: &Bound<'_, PyAny>,
        kwh: &Bound<'_, PyAny>,
        count: &Bound<'_, PyAny>,
        total: &Bound<'_, PyAny>,
        minimum: &Bound<'_, PyAny>,
        maximum: &Bound<'_, PyAny>,
    ) -> PyResult<i64> {
        const F: &str = "aggregate_into";
        raw_check(py, F, (device_id, kwh, count, total, minimum, maximum))?;
        let device_id: PyReadonlyArray1<'_, u32> = device_id.extract()?;
        let kwh: PyReadonlyArray1<'_, f64> = kwh.extract()?;
        let mut count: PyReadwriteArray1<'_, i64> = count.extract()?;
        let mut total: PyReadwriteArray1<'_, f64> = total.extract()?;
        let mut minimum: PyReadwriteArray1<'_, f64> = minimum.extract()?;
        let mut maximum: PyReadwriteArray1<'_, f64> = maximum.extract()?;
        check_disjoint(
            F,
            &[
                ("count", span(&count)),
                ("total", span(&total)),
                ("minimum", span(&minimum)),
                ("maximum", span(&maximum)),
                ("device_id", span(&device_id)),
                ("kwh", span(&kwh)),
            ],
            4,
        )?;
        let device_id = device_id.as_slice()?;
        let kwh = kwh.as_slice()?;
        let count = count.as_slice_mut()?;
        let total = total.as_slice_mut()?;
        let minimum = minimum.as_slice_mut()?;
        let maximum = maximum.as_slice_mut()?;
        check_lengths(F, ("device_id", device_id.len()), &[("kwh", kwh.len())])?;
        check_lengths(
            F,
            ("count", count.len()),
            &[
                ("total", total.len()),
                ("minimum", minimum.len()),
                ("maximum", maximum.len()),
            ],
        )?;
        let result = py
            .detach(|| super::aggregate::aggregate(device_id, kwh, count, total, minimum, maximum));
        // A row index always fits in i64 (slices hold at most isize::MAX elements).
        Ok(result.map_or_else(|bad_row| bad_row as i64, |()| -1))
    }

    /// out[i] = True iff an earlier row has the same (device_id, timestamp), hashing with `key`
    /// (a hotpath.hashkey.HashKey); returns the table's (probes, fallbacks).
    #[pyfunction]
    fn duplicates_into(
        py: Python<'_>,
        device_id: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<(u64, u64)> {
        const F: &str = "duplicates_into";
        raw_check(py, F, (device_id, timestamp, key, out))?;
        let device_id: PyReadonlyArray1<'_, u32> = device_id.extract()?;
        let timestamp: PyReadonlyArray1<'_, i64> = timestamp.extract()?;
        let mut out: PyReadwriteArray1<'_, bool> = out.extract()?;
        check_disjoint(
            F,
            &[
                ("out", span(&out)),
                ("device_id", span(&device_id)),
                ("timestamp", span(&timestamp)),
            ],
            1,
        )?;
        let device_id = device_id.as_slice()?;
        let timestamp = timestamp.as_slice()?;
        let out = out.as_slice_mut()?;
        check_lengths(
            F,
            ("device_id", device_id.len()),
            &[("timestamp", timestamp.len()), ("out", out.len())],
        )?;
        let key = hash_key(py, F, key)?;
        py.detach(|| super::duplicates::duplicates(device_id, timestamp, key, out))
            .map_err(|e| {
                PyMemoryError::new_err(format!("{F}: cannot allocate the scratch memory: {e}"))
            })
    }

    /// codes[i] = the index of device_id[i] among the distinct ids in order of first
    /// appearance, which go to uniques[:k]; returns (k, probes, fallbacks).
    #[pyfunction]
    fn factorize_into(
        py: Python<'_>,
        device_id: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        codes: &Bound<'_, PyAny>,
        uniques: &Bound<'_, PyAny>,
    ) -> PyResult<(usize, u64, u64)> {
        const F: &str = "factorize_into";
        raw_check(py, F, (device_id, key, codes, uniques))?;
        let device_id: PyReadonlyArray1<'_, u32> = device_id.extract()?;
        let mut codes: PyReadwriteArray1<'_, u32> = codes.extract()?;
        let mut uniques: PyReadwriteArray1<'_, u32> = uniques.extract()?;
        check_disjoint(
            F,
            &[
                ("codes", span(&codes)),
                ("uniques", span(&uniques)),
                ("device_id", span(&device_id)),
            ],
            2,
        )?;
        let device_id = device_id.as_slice()?;
        let codes = codes.as_slice_mut()?;
        let uniques = uniques.as_slice_mut()?;
        check_lengths(
            F,
            ("device_id", device_id.len()),
            &[("codes", codes.len()), ("uniques", uniques.len())],
        )?;
        let key = hash_key(py, F, key)?;
        py.detach(|| super::factorize::factorize(device_id, key, codes, uniques))
            .map_err(|e| {
                PyMemoryError::new_err(format!("{F}: cannot allocate the scratch memory: {e}"))
            })
    }

    /// The 64-bit hash this crate's tables use (hotpath.hashkey.keyed_hash mirrors it).
    #[pyfunction]
    fn keyed_hash(
        py: Python<'_>,
        device_id: u32,
        timestamp: i64,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let key = hash_key(py, "keyed_hash", key)?;
        Ok(super::hash::keyed_hash(device_id, timestamp, key))
    }

    /// XXH64 of the bytes of `data` (uint8, contiguous) with `seed` in [0, 2**64).
    #[pyfunction]
    fn xxh64(py: Python<'_>, data: &Bound<'_, PyAny>, seed: &Bound<'_, PyAny>) -> PyResult<u64> {
        let seed: u64 = raw_check(py, "xxh64", (data, seed))?.extract()?;
        let data: PyReadonlyArray1<'_, u8> = data.extract()?;
        let data = data.as_slice()?;
        Ok(py.detach(|| super::xxh64::xxh64(data, seed)))
    }

    /// out[i] = XXH64(struct.pack("<Iqd", device_id[i], timestamp[i], kwh[i]), seed).
    #[pyfunction]
    fn hash_rows_into(
        py: Python<'_>,
        device_id: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
        kwh: &Bound<'_, PyAny>,
        seed: &Bound<'_, PyAny>,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        const F: &str = "hash_rows_into";
        let seed: u64 = raw_check(py, F, (device_id, timestamp, kwh, seed, out))?.extract()?;
        let device_id: PyReadonlyArray1<'_, u32> = device_id.extract()?;
        let timestamp: PyReadonlyArray1<'_, i64> = timestamp.extract()?;
        let kwh: PyReadonlyArray1<'_, f64> = kwh.extract()?;
        let mut out: PyReadwriteArray1<'_, u64> = out.extract()?;
        check_disjoint(
            F,
            &[
                ("out", span(&out)),
                ("device_id", span(&device_id)),
                ("timestamp", span(&timestamp)),
                ("kwh", span(&kwh)),
            ],
            1,
        )?;
        let device_id = device_id.as_slice()?;
        let timestamp = timestamp.as_slice()?;
        let kwh = kwh.as_slice()?;
        let out = out.as_slice_mut()?;
        check_lengths(
            F,
            ("device_id", device_id.len()),
            &[
                ("timestamp", timestamp.len()),
                ("kwh", kwh.len()),
                ("out", out.len()),
            ],
        )?;
        py.detach(|| {
            let rows = device_id.iter().zip(timestamp).zip(kwh);
            for (h, ((&id, &ts), &x)) in out.iter_mut().zip(rows) {
                *h = super::xxh64::hash_row(id, ts, x, seed);
            }
        });
        Ok(())
    }

    /// The pipeline's native reader (see csv.rs): parses one readings file's bytes into the
    /// first rows of the three columns, with the GIL released. Returns (rows written, data
    /// records read, fields per record, rejects, file error), each reject as (line, start,
    /// end, reason, column, detail bytes); hotpath.pipeline.readers.native_csv words them.
    #[pyfunction]
    fn parse_readings_into<'py>(
        py: Python<'py>,
        data: PyReadonlyArray1<'py, u8>,
        mut device_id: PyReadwriteArray1<'py, u32>,
        mut timestamp: PyReadwriteArray1<'py, i64>,
        mut kwh: PyReadwriteArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let data = data.as_slice()?;
        let ids = device_id.as_slice_mut()?;
        let stamps = timestamp.as_slice_mut()?;
        let values = kwh.as_slice_mut()?;
        let outcome = py
            .detach(|| super::csv::parse(data, ids, stamps, values))
            .map_err(|_| {
                PyValueError::new_err(
                    "parse_readings_into: the columns are too short for the file's records",
                )
            })?;
        let reject = |r: &super::csv::Reject| {
            (r.line, r.start, r.end, r.reason, r.column, PyBytes::new(py, &r.detail))
        };
        let rejects: Vec<_> = outcome.rejects.iter().map(reject).collect();
        let file_error = outcome.file_error.as_ref().map(reject);
        (outcome.rows, outcome.rows_read, outcome.width, rejects, file_error).into_pyobject(py)
    }

    /// The parallel variant's kernels (rust_ext.parallel): the same arguments and checks as the
    /// sequential ones above, plus the thread count (hotpath.threads.count(), read by the
    /// Python side at every call); rayon, one pool per thread count, the GIL released.
    #[pymodule]
    mod parallel {
        use super::super::{check_disjoint, check_lengths, hash_key, span};
        use numpy::{PyReadonlyArray1, PyReadwriteArray1};
        use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
        use pyo3::prelude::*;

        /// The sequential module's toolchain and the rayon version (Cargo.lock's).
        #[pymodule_export]
        const BUILD_INFO: &str = concat!(
            env!("HOTPATH_BUILD_INFO"),
            ", rayon ",
            env!("HOTPATH_RAYON_VERSION")
        );

        fn threads_of(func: &str, threads: usize) -> PyResult<usize> {
            if threads == 0 {
                return Err(PyValueError::new_err(format!("{func}: threads must be >= 1")));
            }
            Ok(threads)
        }

        fn pool_error(func: &str, error: String) -> PyErr {
            PyRuntimeError::new_err(format!("{func}: cannot start the thread pool: {error}"))
        }

        /// As _kernels.aggregate_into, with `threads` workers.
        #[pyfunction]
        #[allow(clippy::too_many_arguments)]
        fn aggregate_into(
            py: Python<'_>,
            device_id: PyReadonlyArray1<'_, u32>,
            kwh: PyReadonlyArray1<'_, f64>,
            mut count: PyReadwriteArray1<'_, i64>,
            mut total: PyReadwriteArray1<'_, f64>,
            mut minimum: PyReadwriteArray1<'_, f64>,
            mut maximum: PyReadwriteArray1<'_, f64>,
            threads: usize,
        ) -> PyResult<i64> {
            const F: &str = "aggregate_into";
            let threads = threads_of(F, threads)?;
            check_disjoint(
                F,
                &[
                    ("count", span(&count)),
                    ("total", span(&total)),
                    ("minimum", span(&minimum)),
                    ("maximum", span(&maximum)),
                    ("device_id", span(&device_id)),
                    ("kwh", span(&kwh)),
                ],
                4,
            )?;
            let device_id = device_id.as_slice()?;
            let kwh = kwh.as_slice()?;
            let count = count.as_slice_mut()?;
            let total = total.as_slice_mut()?;
            let minimum = minimum.as_slice_mut()?;
            let maximum = maximum.as_slice_mut()?;
            check_lengths(F, ("device_id", device_id.len()), &[("kwh", kwh.len())])?;
            check_lengths(
                F,
                ("count", count.len()),
                &[
                    ("total", total.len()),
                    ("minimum", minimum.len()),
                    ("maximum", maximum.len()),
                ],
            )?;
            let result = py
                .detach(|| {
                    crate::parallel::aggregate(
                        device_id, kwh, count, total, minimum, maximum, threads,
                    )
                })
                .map_err(|e| pool_error(F, e))?;
            Ok(result.map_or_else(|bad_row| bad_row as i64, |()| -1))
        }

        /// As _kernels.duplicates_into, with `threads` workers; the probes and fallbacks are
        /// summed over the hash partitions (a fallback: one partition sorted).
        #[pyfunction]
        fn duplicates_into(
            py: Python<'_>,
            device_id: PyReadonlyArray1<'_, u32>,
            timestamp: PyReadonlyArray1<'_, i64>,
            key: &Bound<'_, PyAny>,
            mut out: PyReadwriteArray1<'_, bool>,
            threads: usize,
        ) -> PyResult<(u64, u64)> {
            const F: &str = "duplicates_into";
            let threads = threads_of(F, threads)?;
            check_disjoint(
                F,
                &[
                    ("out", span(&out)),
                    ("device_id", span(&device_id)),
                    ("timestamp", span(&timestamp)),
                ],
                1,
            )?;
            let device_id = device_id.as_slice()?;
            let timestamp = timestamp.as_slice()?;
            let out = out.as_slice_mut()?;
            check_lengths(
                F,
                ("device_id", device_id.len()),
                &[("timestamp", timestamp.len()), ("out", out.len())],
            )?;
            let key = hash_key(py, F, key)?;
            py.detach(|| crate::parallel::duplicates(device_id, timestamp, key, out, threads))
                .map_err(|e| pool_error(F, e))?
                .map_err(|e| {
                    PyMemoryError::new_err(format!("{F}: cannot allocate the scratch memory: {e}"))
                })
        }

        /// As _kernels.hash_rows_into, with `threads` workers.
        #[pyfunction]
        fn hash_rows_into(
            py: Python<'_>,
            device_id: PyReadonlyArray1<'_, u32>,
            timestamp: PyReadonlyArray1<'_, i64>,
            kwh: PyReadonlyArray1<'_, f64>,
            seed: u64,
            mut out: PyReadwriteArray1<'_, u64>,
            threads: usize,
        ) -> PyResult<()> {
            const F: &str = "hash_rows_into";
            let threads = threads_of(F, threads)?;
            check_disjoint(
                F,
                &[
                    ("out", span(&out)),
                    ("device_id", span(&device_id)),
                    ("timestamp", span(&timestamp)),
                    ("kwh", span(&kwh)),
                ],
                1,
            )?;
            let device_id = device_id.as_slice()?;
            let timestamp = timestamp.as_slice()?;
            let kwh = kwh.as_slice()?;
            let out = out.as_slice_mut()?;
            check_lengths(
                F,
                ("device_id", device_id.len()),
                &[
                    ("timestamp", timestamp.len()),
                    ("kwh", kwh.len()),
                    ("out", out.len()),
                ],
            )?;
            py.detach(|| crate::parallel::hash_rows(device_id, timestamp, kwh, seed, out, threads))
                .map_err(|e| pool_error(F, e))
        }
    }
}
