//! The keyed hash of every hash table in this crate, and the worst-case bound that does not
//! rest on the key: past it, a table is given up for a stable radix sort of its rows.
//!
//! The same design as the C kernels (cffi_ext/src/hotpath_kernels.c explains it);
//! `hotpath.hashkey.keyed_hash` is the pure-Python mirror of [`keyed_hash`].

use std::collections::TryReserveError;

/// The process's secret key (hotpath.hashkey.KEY), as its two words.
pub type Key = (u64, u64);

/// A row passing more occupied slots than this gives the table up.
pub const RUN_LIMIT: u32 = 128;

/// The probes all `m` rows of one table may pass together before it is given up: random keys
/// pass ~0.5 per row at load 1/2, so this is never reached by chance, and hashing stays O(m).
#[inline]
pub fn budget(m: usize) -> u64 {
    4 * m as u64 + 1024
}

const FINAL: u64 = 0x1319_8A2E_0370_7345; // hex digits of pi, odd

/// The 128-bit product with its halves XORed together, as in foldhash.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The row enters the keyed fold whole (lo = id | ts << 32, hi = ts >> 32), so no collision
/// holds whatever the key; the unkeyed xorshift-multiply spreads it over every output bit.
#[inline(always)]
pub fn keyed_hash(id: u32, ts: i64, (k0, k1): Key) -> u64 {
    let t = ts as u64;
    let h = fold((u64::from(id) | (t << 32)) ^ k0, (t >> 32) ^ k1);
    (h ^ (h >> 32)).wrapping_mul(FINAL)
}

/// One row for the sort: its key and its index.
#[derive(Clone, Copy, Default)]
pub struct Rec {
    pub ts: u64, // the timestamp's bits (0 for factorize)
    pub row: usize,
    pub id: u32,
}

const RADIX_BITS: u32 = 11;
const RADIX_SIZE: usize = 1 << RADIX_BITS;
const DIGITS: usize = 9; // the timestamp's 64 bits, then the id's 32

#[inline(always)]
fn digit(r: &Rec, d: usize) -> usize {
    let word = if d < 6 { r.ts } else { u64::from(r.id) };
    let shift = RADIX_BITS * (if d < 6 { d } else { d - 6 }) as u32;
    ((word >> shift) as usize) & (RADIX_SIZE - 1)
}

/// `recs` sorted by (id, ts), stably (LSD radix, 11-bit digits): equal keys end up adjacent,
/// in their original order, so the first of each run is the first occurrence. Only the digits
/// in which some records differ are counted and passed over. Only allocation can fail.
pub fn radix_sort(mut recs: Vec<Rec>) -> Result<Vec<Rec>, TryReserveError> {
    let m = recs.len();
    let (mut ts_or, mut ts_and, mut id_or, mut id_and) = (0u64, u64::MAX, 0u32, u32::MAX);
    for r in &recs {
        (ts_or, ts_and, id_or, id_and) = (ts_or | r.ts, ts_and & r.ts, id_or | r.id, id_and & r.id);
    }
    let varying = Rec {
        ts: ts_or ^ ts_and,
        row: 0,
        id: id_or ^ id_and,
    };
    let active: Vec<usize> = (0..DIGITS).filter(|&d| digit(&varying, d) != 0).collect();
    let mut tmp: Vec<Rec> = Vec::new();
    tmp.try_reserve_exact(m)?;
    tmp.resize(m, Rec::default());
    let mut hist = vec![0usize; DIGITS * RADIX_SIZE];
    for r in &recs {
        for &d in &active {
            hist[d * RADIX_SIZE + digit(r, d)] += 1;
        }
    }
    for &d in &active {
        let h = &mut hist[d * RADIX_SIZE..(d + 1) * RADIX_SIZE];
        let mut sum = 0;
        for count in h.iter_mut() {
            let c = *count;
            *count = sum;
            sum += c;
        }
        for r in &recs {
            let b = digit(r, d);
            tmp[h[b]] = *r;
            h[b] += 1;
        }
        std::mem::swap(&mut recs, &mut tmp);
    }
    Ok(recs)
}

/// The packed sort's digits: 10 bits, 1024 buckets (8-, 11- and 12-bit digits measured slower).
pub const PACK_BITS: u32 = 10;
const PACK_SIZE: usize = 1 << PACK_BITS;
/// At most this many digits: 6 x 10 bits nearly fill a u64.
pub const PACK_MAX: usize = 6;

/// The shifts of the fewest digits covering the set bits of `vary` (a word of `bits` bits),
/// appended to `shifts[..*count]`; false once more than PACK_MAX would be needed.
pub fn pack_digits(vary: u64, bits: u32, shifts: &mut [u32; PACK_MAX], count: &mut usize) -> bool {
    let mut s = 0;
    while s < bits {
        if (vary >> s) & 1 == 0 {
            s += 1;
            continue;
        }
        if *count == PACK_MAX {
            return false;
        }
        shifts[*count] = s;
        *count += 1;
        s += PACK_BITS;
    }
    true
}

/// The packed sort (cffi_ext/src/hotpath_kernels.c explains it): the words in `a`, each a
/// row's index field in its low `index_bits` bits and its `hist.len()` digits above them,
/// sorted stably by those digits (LSD), `b` (as long) the other buffer, `hist` each digit's
/// counts. Returns true when the result is in `b`, false when in `a`.
pub fn packed_sort(
    a: &mut [u64],
    b: &mut [u64],
    index_bits: u32,
    hist: &mut [[usize; PACK_SIZE]],
) -> bool {
    let (mut from, mut to) = (a, b);
    for (d, h) in hist.iter_mut().enumerate() {
        let shift = index_bits + PACK_BITS * d as u32;
        let mut sum = 0;
        for count in h.iter_mut() {
            let c = *count;
            *count = sum;
            sum += c;
        }
        for &word in from.iter() {
            let bucket = &mut h[((word >> shift) as usize) & (PACK_SIZE - 1)];
            to[*bucket] = word; // stable: words keep their order per digit
            *bucket += 1;
        }
        std::mem::swap(&mut from, &mut to);
    }
    hist.len() % 2 == 1
}

/// The digit of `word` at `shift`, for the packed sort.
#[inline(always)]
pub fn pack_digit(word: u64, shift: u32) -> usize {
    ((word >> shift) as usize) & (PACK_SIZE - 1)
}

/// Counts for `digits` digits of the packed sort, zeroed.
pub fn pack_histograms(digits: usize) -> Vec<[usize; PACK_SIZE]> {
    vec![[0; PACK_SIZE]; digits]
}
