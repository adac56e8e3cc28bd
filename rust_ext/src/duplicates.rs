//! First-occurrence duplicate detection on (device_id, timestamp) pairs, like pandas
//! `DataFrame.duplicated(keep="first")`.
//!
//! A purpose-built open-addressing table with linear probing. Each slot is one `u64`:
//! `row + 1` in the low `row_bits` bits (0 = empty) and the high bits of the key's hash as a
//! tag above them. That is the key stored "by reference", half the size of storing
//! (ts, id, marker) inline: at 1M rows the table is 16 MiB instead of 32 MiB, which roughly
//! halves the page faults and cache/TLB misses that dominate this kernel (measured 2-3x
//! faster than 16-byte inline slots, both with prefetching). A probe only goes back to the
//! input arrays when the tag matches, i.e. for real duplicates and for a tag collision
//! (about 2^-43 per probe at 1M rows).

use std::collections::TryReserveError;

/// Mixes (id, ts) into 64 well-spread bits: a bijective multiply of the timestamp with the id
/// folded in, then a folded 64x64->128-bit multiply so every input bit reaches the low bits
/// used by the table mask (timestamps on a 900 s grid differ mostly in their middle bits).
#[inline(always)]
fn hash(id: u32, ts: i64) -> u64 {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xD6E8_FEB8_6659_FD93;
    let x = (ts as u64).wrapping_mul(K1) ^ u64::from(id);
    let wide = u128::from(x) * u128::from(K2);
    (wide as u64) ^ ((wide >> 64) as u64)
}

/// Asks the CPU to start loading the slot that row `i + AHEAD` will probe first. The probe
/// loop's data-dependent exit branch mispredicts often, which would otherwise serialise the
/// cache misses of consecutive rows; prefetching overlaps them (measured ~2x on the loop).
#[inline(always)]
fn prefetch(slot: *const u64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is `unsafe` only because it is a `#[target_feature(enable = "sse")]`
    // function; SSE is part of the x86_64 baseline, so the feature is always present. A
    // prefetch is a hint that never faults and has no effect on program semantics.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(slot.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = slot;
}

/// Rows ahead to prefetch: enough to cover a memory latency, few enough to stay in L1.
const AHEAD: usize = 16;

/// Writes `out[i] = true` iff an earlier row has the same (device_id[i], timestamp[i]).
/// The three slices must have equal lengths. The only allocation is the table; failure to
/// allocate it is returned, not aborted on.
pub fn duplicates(
    device_id: &[u32],
    timestamp: &[i64],
    out: &mut [bool],
) -> Result<(), TryReserveError> {
    let n = out.len();
    let (device_id, timestamp) = (&device_id[..n], &timestamp[..n]);

    // Power-of-two capacity >= 2n keeps the load factor <= 1/2, so probe runs stay short.
    // (An impossible size makes try_reserve_exact fail with CapacityOverflow.)
    let capacity = n
        .checked_mul(2)
        .and_then(|c| c.max(16).checked_next_power_of_two())
        .unwrap_or(usize::MAX);
    let mut table: Vec<u64> = Vec::new();
    table.try_reserve_exact(capacity)?;
    table.resize(capacity, 0);
    let mask = capacity - 1;

    // Bits for `row + 1` (1..=n). A slice of u32 has n <= isize::MAX / 4, so row_bits <= 62 and
    // at least two tag bits remain; the tag's width only affects speed, never correctness.
    let row_bits = u64::BITS - (n as u64).leading_zeros();
    let row_mask = (1u64 << row_bits) - 1;

    for i in 0..n {
        if let (Some(&id), Some(&ts)) = (device_id.get(i + AHEAD), timestamp.get(i + AHEAD)) {
            prefetch(table.as_ptr().wrapping_add(hash(id, ts) as usize & mask));
        }
        let (id, ts) = (device_id[i], timestamp[i]);
        let h = hash(id, ts);
        let tag = h >> row_bits;
        let mut j = h as usize & mask;
        out[i] = loop {
            let slot = table[j];
            if slot == 0 {
                table[j] = (tag << row_bits) | (i as u64 + 1);
                break false;
            }
            if slot >> row_bits == tag {
                let row = (slot & row_mask) as usize - 1; // an earlier row, so row < i
                if device_id[row] == id && timestamp[row] == ts {
                    break true;
                }
            }
            j = (j + 1) & mask;
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::duplicates;

    /// The quadratic definition, as the oracle.
    fn naive(ids: &[u32], ts: &[i64]) -> Vec<bool> {
        (0..ids.len())
            .map(|i| (0..i).any(|j| ids[j] == ids[i] && ts[j] == ts[i]))
            .collect()
    }

    #[test]
    fn matches_definition() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m
        };
        for n in [0, 1, 2, 15, 16, 17, 100, 1000] {
            // few distinct keys, so many duplicates and long probe runs
            let ids: Vec<u32> = (0..n).map(|_| next(4) as u32 * (u32::MAX / 3)).collect();
            let ts: Vec<i64> = (0..n)
                .map(|_| (next(9) as i64 - 4) * (i64::MAX / 4))
                .collect();
            let mut out = vec![true; n];
            duplicates(&ids, &ts, &mut out).unwrap();
            assert_eq!(out, naive(&ids, &ts), "n = {n}");
        }
    }
}
