//! rust_ext's kernel modules, compiled here as they are there: the same files, included by
//! path, so the fuzz targets call the very functions the Python extension calls (its
//! `#[pymodule]` in rust_ext/src/lib.rs only checks arguments and releases the GIL around them).
#![allow(dead_code)]

#[path = "../../../rust_ext/src/aggregate.rs"]
pub mod aggregate;
#[path = "../../../rust_ext/src/csv.rs"]
pub mod csv;
#[path = "../../../rust_ext/src/duplicates.rs"]
pub mod duplicates;
#[path = "../../../rust_ext/src/factorize.rs"]
pub mod factorize;
#[path = "../../../rust_ext/src/hash.rs"]
pub mod hash;
#[path = "../../../rust_ext/src/xxh64.rs"]
pub mod xxh64;
