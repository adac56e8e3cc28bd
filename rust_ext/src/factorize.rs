//! Dense codes for sparse ids, in order of first appearance, like
//! `pandas.factorize(sort=False)`.
//!
//! One open-addressing table of ids, linear probing, keyed hash ([`crate::hash`]). A slot is
//! one `u64`: `id << 32 | (code + 1)`, 0 when empty, so a probe compares the id in-register;
//! `code + 1 <= n` fits in 32 bits for n < 2^32 rows (larger inputs take the sort). The table
//! starts at 16 slots and doubles, rebuilt from `uniques`, whenever the ids pass an eighth of
//! it (never beyond the smallest power of two >= 2n): its size follows the ids, not the rows,
//! and only that much is zeroed. Load 1/8 rather than 1/2: with few ids, half the lookups
//! would probe twice and mispredict. Past the probe bound (the rebuilds' probes included) the
//! whole call is answered by a sort instead.

use crate::hash::{Key, RUN_LIMIT, Rec, budget, keyed_hash, radix_sort};
use std::collections::TryReserveError;

/// Fills `codes` and `uniques[..k]` (both as long as `device_id`); returns
/// `(k, probes, fallbacks)`. Failure to allocate is returned, not aborted on.
pub fn factorize(
    device_id: &[u32],
    key: Key,
    codes: &mut [u32],
    uniques: &mut [u32],
) -> Result<(usize, u64, u64), TryReserveError> {
    let n = device_id.len();
    let (codes, uniques) = (&mut codes[..n], &mut uniques[..n]);
    if n == 0 {
        return Ok((0, 0, 0));
    }
    let mut probes = 0;
    if u32::try_from(n).is_ok() {
        let max_capacity = n
            .checked_mul(2)
            .and_then(|c| c.max(16).checked_next_power_of_two())
            .unwrap_or(usize::MAX);
        let limit = budget(n);
        let mut found = 0usize;
        let mut table = zeroed(16)?;
        let mut mask = table.len() - 1;
        let mut gave_up = false;
        for (i, &id) in device_id.iter().enumerate() {
            let mut j = keyed_hash(id, 0, key) as usize & mask;
            let mut run = 0;
            codes[i] = loop {
                let slot = table[j];
                if slot == 0 {
                    table[j] = (u64::from(id) << 32) | (found as u64 + 1);
                    uniques[found] = id;
                    found += 1;
                    break (found - 1) as u32;
                }
                if (slot >> 32) as u32 == id {
                    break slot as u32 - 1;
                }
                run += 1;
                if run > RUN_LIMIT {
                    gave_up = true;
                    break 0;
                }
                j = (j + 1) & mask;
            };
            probes += u64::from(run);
            if !gave_up && found > table.len() / 8 && table.len() < max_capacity {
                // keep the load <= 1/8
                match build(&uniques[..found], table.len() * 2, key, &mut probes)? {
                    Some(grown) => table = grown,
                    None => gave_up = true,
                }
                mask = table.len() - 1;
            }
            if gave_up || probes > limit {
                gave_up = true;
                break;
            }
        }
        if !gave_up {
            return Ok((found, probes, 0));
        }
    }
    Ok((sorted(device_id, codes, uniques)?, probes, 1))
}

fn zeroed(capacity: usize) -> Result<Vec<u64>, TryReserveError> {
    let mut table: Vec<u64> = Vec::new();
    table.try_reserve_exact(capacity)?;
    table.resize(capacity, 0);
    Ok(table)
}

/// A zeroed table of `capacity` slots holding the codes of `uniques`, or None once one id passes
/// the run limit (the probes made are added either way).
fn build(
    uniques: &[u32],
    capacity: usize,
    key: Key,
    probes: &mut u64,
) -> Result<Option<Vec<u64>>, TryReserveError> {
    let mut table = zeroed(capacity)?;
    let mask = capacity - 1;
    for (code, &id) in uniques.iter().enumerate() {
        let mut j = keyed_hash(id, 0, key) as usize & mask;
        let mut run = 0;
        while table[j] != 0 {
            // the ids are distinct: only a free slot ends the chain
            run += 1;
            if run > RUN_LIMIT {
                *probes += u64::from(run);
                return Ok(None);
            }
            j = (j + 1) & mask;
        }
        *probes += u64::from(run);
        table[j] = (u64::from(id) << 32) | (code as u64 + 1);
    }
    Ok(Some(table))
}

/// The same codes and uniques from a stable sort of the rows by id: the first row of each
/// id's run is its first appearance.
fn sorted(
    device_id: &[u32],
    codes: &mut [u32],
    uniques: &mut [u32],
) -> Result<usize, TryReserveError> {
    let n = device_id.len();
    let mut recs: Vec<Rec> = Vec::new();
    recs.try_reserve_exact(n)?;
    recs.extend(
        device_id
            .iter()
            .enumerate()
            .map(|(row, &id)| Rec { ts: 0, row, id }),
    );
    let recs = radix_sort(recs)?;
    let mut lead: Vec<usize> = Vec::new(); // lead[row]: the first row with row's id
    lead.try_reserve_exact(n)?;
    lead.resize(n, 0);
    let mut first = 0;
    for (k, r) in recs.iter().enumerate() {
        if k == 0 || r.id != recs[k - 1].id {
            first = r.row;
        }
        lead[r.row] = first;
    }
    drop(recs);
    let mut found = 0;
    for i in 0..n {
        if lead[i] == i {
            uniques[found] = device_id[i];
            codes[i] = found as u32; // at most 2^32 distinct ids: every code fits
            found += 1;
        } else {
            codes[i] = codes[lead[i]]; // an earlier row's
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::{factorize, sorted};

    #[test]
    fn hashed_and_sorted_agree_with_the_definition() {
        let ids: Vec<u32> = [7, 3, 7, 0, u32::MAX, 3, 3, 0, 9].to_vec();
        let (want_codes, want_uniques) = ([0, 1, 0, 2, 3, 1, 1, 2, 4], [7, 3, 0, u32::MAX, 9]);
        let (mut codes, mut uniques) = (vec![0; ids.len()], vec![0; ids.len()]);
        let (k, _, fallbacks) = factorize(&ids, (1, 2), &mut codes, &mut uniques).unwrap();
        assert_eq!((k, fallbacks), (5, 0));
        assert_eq!(
            (&codes[..], &uniques[..k]),
            (&want_codes[..], &want_uniques[..])
        );
        let (mut codes, mut uniques) = (vec![0; ids.len()], vec![0; ids.len()]);
        let k = sorted(&ids, &mut codes, &mut uniques).unwrap();
        assert_eq!(
            (&codes[..], &uniques[..k]),
            (&want_codes[..], &want_uniques[..])
        );
    }
}
