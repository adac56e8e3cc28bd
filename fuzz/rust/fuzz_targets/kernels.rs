//! rust_ext's kernels on rows decoded from the fuzzer's bytes, each answer checked against a
//! plain reference: a map of first occurrences for duplicates and factorize, python_ref's loop
//! for aggregate, the packed 20-byte row through `xxh64` for `hash_row`. As in the C harness
//! (fuzz/c/fuzz_kernels.c), the first byte picks the rows' shape: raw bits, a few distinct
//! rows repeated, rows colliding under the key (so probing passes the bound and the radix sort
//! answers), or many rows.
#![no_main]

use std::collections::HashMap;

use hotpath_rust_fuzz::{aggregate::aggregate, duplicates::duplicates, factorize::factorize, xxh64};
use libfuzzer_sys::fuzz_target;

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, bytes: usize) -> u64 {
        let mut v = 0u64;
        for i in 0..bytes {
            let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
            self.0 = rest;
            v |= u64::from(b) << (8 * i);
        }
        v
    }
}

fn same_float(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader(data);
    let mode = r.take(1) % 4;
    let n = (r.take(2) % if mode == 3 { 12000 } else { 700 }) as usize;
    let key = (r.take(8), r.take(8));
    let seed = r.take(8);
    let n_devices = 1 + (r.take(1) % 64) as usize;
    let distinct = 1 + r.take(1) % 8;
    let palette: Vec<(u32, i64)> =
        (0..8).map(|_| ((r.take(1) as usize % n_devices) as u32, r.take(8) as i64)).collect();
    let (mut ids, mut stamps) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let word = r.take(if mode == 0 { 8 } else { 1 });
        let (id, ts) = match mode {
            0 => (word as u32, word.wrapping_mul(0x9E37_79B9_7F4A_7C15) as i64),
            1 | 3 => {
                let (id, _) = palette[(word % distinct) as usize];
                let (_, ts) = palette[((word >> 3) % distinct) as usize];
                (id, ts.wrapping_add(if mode == 3 && i % 3 == 0 { i as i64 } else { 0 }))
            }
            _ => (key.0 as u32, ((key.0 >> 32) | ((word % (n as u64 / 2 + 1)) << 32)) as i64),
        };
        ids.push(id);
        stamps.push(ts);
    }
    let kwh: Vec<f64> = (0..n)
        .map(|_| {
            let bits = r.take(2);
            f64::from_bits(match bits & 7 {
                0 => 0x7FF8_0000_0000_0000 | (bits << 20),
                1 => 0x8000_0000_0000_0000,
                2 => 0x7FF0_0000_0000_0000 | ((bits & 8) << 60),
                _ => bits.wrapping_mul(0x100_0000_01B3) ^ seed,
            })
        })
        .collect();

    // duplicates: the first occurrence of each row is False, every later one True.
    let mut out = vec![false; n];
    duplicates(&ids, &stamps, key, &mut out).expect("small tables allocate");
    let mut seen = HashMap::new();
    for i in 0..n {
        let first = *seen.entry((ids[i], stamps[i])).or_insert(i);
        assert_eq!(out[i], first != i, "duplicates row {i}");
    }

    // factorize: codes count up in order of first appearance.
    let (mut codes, mut uniques) = (vec![0u32; n], vec![0u32; n]);
    let (k, _, _) = factorize(&ids, key, &mut codes, &mut uniques).expect("small tables allocate");
    let mut index: HashMap<u32, u32> = HashMap::new();
    let mut want_uniques = Vec::new();
    for i in 0..n {
        let next = index.len() as u32;
        let code = *index.entry(ids[i]).or_insert_with(|| {
            want_uniques.push(ids[i]);
            next
        });
        assert_eq!(codes[i], code, "factorize code of row {i}");
    }
    assert_eq!(&uniques[..k], &want_uniques[..], "factorize uniques");

    // aggregate: python_ref's loop.
    let (mut count, mut total, mut lo, mut hi) =
        (vec![0i64; n_devices], vec![0f64; n_devices], vec![0f64; n_devices], vec![0f64; n_devices]);
    let got = aggregate(&ids, &kwh, &mut count, &mut total, &mut lo, &mut hi);
    match ids.iter().position(|&d| d as usize >= n_devices) {
        Some(bad) => assert_eq!(got, Err(bad), "aggregate's first bad row"),
        None => {
            assert_eq!(got, Ok(()));
            let mut want = vec![(0i64, 0f64, f64::NAN, f64::NAN); n_devices];
            for (&d, &x) in ids.iter().zip(&kwh) {
                let w = &mut want[d as usize];
                if x.is_nan() {
                    continue;
                }
                if w.0 == 0 {
                    (w.2, w.3) = (x, x);
                } else if x < w.2 {
                    w.2 = x;
                } else if x > w.3 {
                    w.3 = x;
                }
                w.0 += 1;
                w.1 += x;
            }
            for (d, w) in want.iter().enumerate() {
                assert_eq!(count[d], w.0, "aggregate count of device {d}");
                assert!(same_float(total[d], w.1), "aggregate total of device {d}");
                assert!(same_float(lo[d], w.2) && same_float(hi[d], w.3), "min/max of {d}");
            }
        }
    }

    // hash_row is xxh64 of the packed row; xxh64 of the rest does not depend on alignment.
    for i in 0..n.min(64) {
        let mut row = [0u8; 20];
        row[..4].copy_from_slice(&ids[i].to_le_bytes());
        row[4..12].copy_from_slice(&stamps[i].to_le_bytes());
        row[12..].copy_from_slice(&kwh[i].to_le_bytes());
        assert_eq!(xxh64::hash_row(ids[i], stamps[i], kwh[i], seed), xxh64::xxh64(&row, seed));
    }
    let rest = r.0;
    let mut shifted = vec![0u8; rest.len() + 7];
    for shift in [1, 4, 7] {
        shifted[shift..shift + rest.len()].copy_from_slice(rest);
        assert_eq!(xxh64::xxh64(&shifted[shift..shift + rest.len()], seed), xxh64::xxh64(rest, seed));
    }
});
