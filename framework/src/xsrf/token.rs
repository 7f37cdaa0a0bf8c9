//! XSRF tokens in Tornado's version-2 masked format: `2|<hex mask>|<hex masked token>|<timestamp>`.
//!
//! The raw token is 16 random bytes kept in the `_xsrf` cookie. Every time it is rendered into a
//! page it is masked (XOR) with a fresh 4-byte mask, so the bytes in the page differ on every response
//! (BREACH-safe) while any rendering unmasks to the same raw token.

use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

/// Length of the raw token in bytes (Tornado uses 16).
pub(crate) const TOKEN_LEN: usize = 16;

/// A raw (unmasked) XSRF token.
#[derive(Clone, PartialEq, Eq)]
pub struct RawToken {
    bytes: Vec<u8>,
    timestamp: u64,
}

impl std::fmt::Debug for RawToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawToken").finish_non_exhaustive()
    }
}

impl RawToken {
    /// A fresh random token, from the thread's cryptographically secure generator (a stream
    /// cipher, seeded and reseeded from the operating system): no system call per page, where
    /// the operating system's generator took two (the token and its mask).
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; TOKEN_LEN];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self {
            bytes,
            timestamp: crate::signing::unix_now(),
        }
    }

    /// Render with a fresh random mask.
    pub fn masked(&self) -> String {
        let mut mask = [0u8; 4];
        rand::thread_rng().fill_bytes(&mut mask);
        self.masked_with(mask)
    }

    /// Render with the given mask (for tests).
    pub fn masked_with(&self, mask: [u8; 4]) -> String {
        format!(
            "2|{}|{}|{}",
            hex::encode(mask),
            hex::encode(apply_mask(mask, &self.bytes)),
            self.timestamp
        )
    }

    /// Decode a version-2 masked token (from the cookie, a form field or a header).
    /// Anything else, including Tornado's unversioned version-1 tokens, is refused.
    pub fn decode(token: &str) -> Option<Self> {
        if token.len() > 256 {
            return None;
        }
        let mut parts = token.split('|');
        let (version, mask, masked, timestamp) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || version != "2" {
            return None;
        }
        let mask = hex::decode(mask).ok()?;
        let mask: [u8; 4] = mask.try_into().ok()?;
        let masked = hex::decode(masked).ok()?;
        if masked.is_empty() || masked.len() > 64 {
            return None;
        }
        if timestamp.is_empty()
            || timestamp.len() > 19
            || !timestamp.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(Self {
            bytes: apply_mask(mask, &masked),
            timestamp: timestamp.parse().ok()?,
        })
    }

    /// Constant-time comparison of the raw token bytes.
    pub fn matches(&self, other: &RawToken) -> bool {
        self.bytes.len() == other.bytes.len() && bool::from(self.bytes.ct_eq(&other.bytes))
    }
}

/// Tornado's `_websocket_mask`: XOR with the 4-byte mask repeated.
fn apply_mask(mask: [u8; 4], data: &[u8]) -> Vec<u8> {
    data.iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_renderings_differ_but_unmask_to_the_same_token() {
        let raw = RawToken::generate();
        let a = raw.masked();
        let b = raw.masked();
        assert_ne!(a, b);
        assert!(RawToken::decode(&a).unwrap().matches(&raw));
        assert!(RawToken::decode(&b).unwrap().matches(&raw));
        assert!(!RawToken::generate().matches(&raw));
    }

    #[test]
    fn known_masking() {
        let raw = RawToken {
            bytes: vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
            timestamp: 1_300_000_000,
        };
        assert_eq!(
            raw.masked_with([0xff, 0, 0xff, 0]),
            "2|ff00ff00|ff01fd03fb05f907f709f50bf30df10f|1300000000"
        );
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "2",
            "2|||",
            "1|00000000|00|1",
            "2|0000000|00|1",
            "2|zzzzzzzz|00|1",
            "2|00000000||1",
            "2|00000000|00|-1",
            "2|00000000|00|1|extra",
            "000102030405060708090a0b0c0d0e0f",
        ] {
            assert!(RawToken::decode(bad).is_none(), "{bad:?}");
        }
    }
}
