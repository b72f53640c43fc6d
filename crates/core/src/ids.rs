//! Unique, sortable execution ids: 48 bits of milliseconds since the epoch, then a per-process
//! counter and random bits, in Crockford base32 (the ULID alphabet). Ids made later sort later,
//! also within one millisecond in one process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static LAST: AtomicU64 = AtomicU64::new(0);

pub fn new_id() -> String {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    // Monotonic 64-bit stamp: time in the high bits, a counter in the low 16, never going back.
    let candidate = now_ms << 16;
    let mut prev = LAST.load(Ordering::Relaxed);
    let stamp = loop {
        let next = if candidate > prev { candidate } else { prev + 1 };
        match LAST.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(p) => prev = p,
        }
    };
    let random: u64 = rand::random();
    let value: u128 = ((stamp as u128) << 64) | random as u128;
    // 26 characters of 5 bits = 130 bits; the top two bits are zero.
    let mut out = [0u8; 26];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 125 - 5 * i as u32;
        *slot = ALPHABET[((value >> shift) & 31) as usize];
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sorted() {
        let ids: Vec<String> = (0..10_000).map(|_| new_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids);
        assert_eq!(ids[0].len(), 26);
    }
}
