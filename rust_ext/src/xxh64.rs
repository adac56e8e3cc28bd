//! XXH64, written from the specification
//! (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).
//!
//! All multi-byte reads go through `from_le_bytes` on fixed-size arrays: little-endian on every
//! host, no alignment requirement, and the array types make out-of-bounds reads impossible.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

#[inline(always)]
fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

#[inline(always)]
fn merge_round(acc: u64, lane_acc: u64) -> u64 {
    (acc ^ round(0, lane_acc)).wrapping_mul(P1).wrapping_add(P4)
}

/// Consumes one 8-byte word of the tail (spec step 5).
#[inline(always)]
fn tail_u64(acc: u64, word: u64) -> u64 {
    (acc ^ round(0, word))
        .rotate_left(27)
        .wrapping_mul(P1)
        .wrapping_add(P4)
}

/// Consumes one 4-byte word of the tail.
#[inline(always)]
fn tail_u32(acc: u64, word: u32) -> u64 {
    (acc ^ u64::from(word).wrapping_mul(P1))
        .rotate_left(23)
        .wrapping_mul(P2)
        .wrapping_add(P3)
}

/// Consumes one byte of the tail.
#[inline(always)]
fn tail_u8(acc: u64, byte: u8) -> u64 {
    (acc ^ u64::from(byte).wrapping_mul(P5))
        .rotate_left(11)
        .wrapping_mul(P1)
}

#[inline(always)]
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// XXH64 of `data` with `seed`.
pub fn xxh64(data: &[u8], seed: u64) -> u64 {
    let (stripes, tail) = data.as_chunks::<32>();

    let mut h = if stripes.is_empty() {
        seed.wrapping_add(P5)
    } else {
        // Four independent accumulators: the CPU overlaps their multiply chains.
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        for stripe in stripes {
            let (lanes, _) = stripe.as_chunks::<8>();
            for (acc, lane) in v.iter_mut().zip(lanes) {
                *acc = round(*acc, u64::from_le_bytes(*lane));
            }
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for lane_acc in v {
            h = merge_round(h, lane_acc);
        }
        h
    };
    h = h.wrapping_add(data.len() as u64);

    // Remaining < 32 bytes: 8-byte words, at most one 4-byte word, then single bytes.
    let (words, rest) = tail.as_chunks::<8>();
    for word in words {
        h = tail_u64(h, u64::from_le_bytes(*word));
    }
    let (half, bytes) = rest.as_chunks::<4>();
    if let Some(word) = half.first() {
        h = tail_u32(h, u32::from_le_bytes(*word));
    }
    for &byte in bytes {
        h = tail_u8(h, byte);
    }
    avalanche(h)
}

/// XXH64 of the 20-byte little-endian record `struct.pack("<Iqd", id, ts, kwh)`.
///
/// 20 < 32 bytes, so the stripe loop never runs: the general algorithm reduces to the
/// short-input seed, two 8-byte tail words, one 4-byte tail word and the avalanche. The record
/// is assembled from the fields in registers instead of being written to memory and re-read.
#[inline(always)]
pub fn hash_row(id: u32, ts: i64, kwh: f64, seed: u64) -> u64 {
    let ts = ts as u64;
    let bits = kwh.to_bits();
    let word0 = u64::from(id) | (ts << 32); // bytes 0..8: id, low half of ts
    let word1 = (ts >> 32) | (bits << 32); // bytes 8..16: high half of ts, low half of kwh
    let word2 = (bits >> 32) as u32; // bytes 16..20: high half of kwh
    let mut h = seed.wrapping_add(P5).wrapping_add(20);
    h = tail_u64(h, word0);
    h = tail_u64(h, word1);
    h = tail_u32(h, word2);
    avalanche(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official sanity buffer: byteGen = 2654435761; buf[i] = byteGen >> 56; byteGen *= P64.
    fn sanity_buffer(len: usize) -> Vec<u8> {
        let mut byte_gen: u64 = 2_654_435_761;
        (0..len)
            .map(|_| {
                let b = (byte_gen >> 56) as u8;
                byte_gen = byte_gen.wrapping_mul(11_400_714_785_074_694_797);
                b
            })
            .collect()
    }

    #[test]
    fn official_vectors() {
        let buf = sanity_buffer(222);
        let cases: [(usize, u64, u64); 8] = [
            (0, 0, 0xef46db3751d8e999),
            (0, 2654435761, 0xac75fda2929b17ef),
            (1, 0, 0xe934a84adb052768),
            (1, 2654435761, 0x5014607643a9b4c3),
            (14, 0, 0x8282dcc4994e35c8),
            (14, 2654435761, 0xc3bd6bf63deb6df0),
            (222, 0, 0xb641ae8cb691c174),
            (222, 2654435761, 0x20cb8ab7ae10c14a),
        ];
        for (len, seed, want) in cases {
            assert_eq!(xxh64(&buf[..len], seed), want, "len {len} seed {seed}");
        }
    }

    #[test]
    fn row_matches_general_hash() {
        let rows = [
            (0u32, 0i64, 0.0f64),
            (7, -1, f64::NAN),
            (u32::MAX, i64::MIN, -2.5e300),
        ];
        for (id, ts, kwh) in rows {
            let mut rec = Vec::with_capacity(20);
            rec.extend_from_slice(&id.to_le_bytes());
            rec.extend_from_slice(&ts.to_le_bytes());
            rec.extend_from_slice(&kwh.to_le_bytes());
            for seed in [0, 1, u64::MAX] {
                assert_eq!(hash_row(id, ts, kwh, seed), xxh64(&rec, seed));
            }
        }
    }
}
