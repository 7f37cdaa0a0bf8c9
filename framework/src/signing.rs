//! Signed values in Tornado's version-2 format, the content of signed cookies.
//!
//! A signed value is
//! `2|1:<key version>|<len>:<timestamp>|<len>:<name>|<len>:<base64 value>|<hex HMAC-SHA256>`,
//! where the MAC covers everything before it (including the last `|`) and is keyed by the secret
//! of that key version. It is byte for byte what Tornado's `create_signed_value` writes with
//! `version=2`, so a value signed by a Tornado app with the same secret reads here, and the other
//! way round.
//!
//! Decoding never panics and never says why it failed: a tampered, expired, truncated, oversized,
//! wrongly named or garbage value is simply absent (`None`), as in Tornado.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The longest signed value torn will look at. Browsers keep at most 4096 bytes per cookie,
/// so anything longer did not come from us.
pub const MAX_SIGNED_VALUE_LEN: usize = 4096;

/// Tornado's default maximum age for `get_signed_cookie`, in days.
pub const DEFAULT_MAX_AGE_DAYS: f64 = 31.0;

/// The secrets used to sign values, by key version.
///
/// Values are signed with the newest (highest) version; values signed with any version still in
/// the set are accepted, so a secret can be rotated without logging everybody out: add the new
/// one with a higher version, and drop the old one once its cookies have expired.
#[derive(Clone)]
pub struct Keys {
    keys: BTreeMap<u32, Vec<u8>>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Keys")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keys {
    /// One secret, key version 0 (Tornado's `cookie_secret` given as a string).
    pub fn single(secret: impl AsRef<[u8]>) -> Self {
        Self::versioned([(0, secret)])
    }

    /// Several secrets by key version (Tornado's `cookie_secret` given as a dict, with
    /// `key_version` set to the highest one).
    ///
    /// # Panics
    /// If `secrets` is empty.
    pub fn versioned<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = (u32, S)>) -> Self {
        let keys: BTreeMap<u32, Vec<u8>> = secrets
            .into_iter()
            .map(|(v, s)| (v, s.as_ref().to_vec()))
            .collect();
        assert!(!keys.is_empty(), "at least one cookie secret is needed");
        Self { keys }
    }

    /// The key version new values are signed with.
    pub fn current_version(&self) -> u32 {
        *self.keys.keys().next_back().expect("never empty")
    }

    fn current(&self) -> (u32, &[u8]) {
        let (v, k) = self.keys.iter().next_back().expect("never empty");
        (*v, k)
    }

    /// The secret of one key version, if it is still in the set.
    pub fn get(&self, version: u32) -> Option<&[u8]> {
        self.keys.get(&version).map(Vec::as_slice)
    }

    /// Every secret, by version (for checks such as minimum length).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.keys.iter().map(|(v, k)| (*v, k.as_slice()))
    }

    /// Sign `value` under `name`, timestamped now.
    pub fn sign(&self, name: &str, value: &[u8]) -> String {
        self.sign_at(name, value, unix_now())
    }

    /// Sign `value` under `name` with the given Unix timestamp (seconds).
    pub fn sign_at(&self, name: &str, value: &[u8], timestamp: u64) -> String {
        let (version, secret) = self.current();
        let encoded = BASE64.encode(value);
        let timestamp = timestamp.to_string();
        let version = version.to_string();
        let mut to_sign = String::with_capacity(64 + name.len() + encoded.len());
        to_sign.push('2');
        for field in [version.as_str(), timestamp.as_str(), name, encoded.as_str()] {
            to_sign.push('|');
            to_sign.push_str(&field.len().to_string());
            to_sign.push(':');
            to_sign.push_str(field);
        }
        to_sign.push('|');
        let signature = hex::encode(mac(secret, to_sign.as_bytes()).finalize().into_bytes());
        to_sign.push_str(&signature);
        to_sign
    }

    /// Verify a signed value for `name`, at most `max_age_days` old, and return the value.
    pub fn verify(&self, name: &str, signed: &str, max_age_days: f64) -> Option<Vec<u8>> {
        self.verify_at(name, signed, max_age_days, unix_now())
    }

    /// [`Keys::verify`] with an explicit "now" (Unix seconds), for tests and tools.
    pub fn verify_at(
        &self,
        name: &str,
        signed: &str,
        max_age_days: f64,
        now: u64,
    ) -> Option<Vec<u8>> {
        if signed.is_empty() || signed.len() > MAX_SIGNED_VALUE_LEN {
            return None;
        }
        let fields = decode_fields(signed.as_bytes())?;
        let secret = self.keys.get(&fields.key_version)?;
        let signed_part = &signed.as_bytes()[..signed.len() - fields.signature.len()];
        let expected = hex::decode(fields.signature).ok()?;
        // Constant-time comparison: the MAC's own verify.
        mac(secret, signed_part).verify_slice(&expected).ok()?;
        if fields.name != name.as_bytes() {
            return None;
        }
        let timestamp: u64 = parse_decimal(fields.timestamp)?;
        let max_age_secs = max_age_days * 86_400.0;
        if !max_age_secs.is_finite() || max_age_secs < 0.0 {
            return None;
        }
        if (timestamp as f64) < now as f64 - max_age_secs {
            return None;
        }
        BASE64.decode(fields.value).ok()
    }
}

fn mac(secret: &[u8], data: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(data);
    mac
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

struct Fields<'a> {
    key_version: u32,
    timestamp: &'a [u8],
    name: &'a [u8],
    value: &'a [u8],
    signature: &'a [u8],
}

/// Split a version-2 value into its fields (Tornado's `_decode_fields_v2`), strictly.
fn decode_fields(value: &[u8]) -> Option<Fields<'_>> {
    let rest = value.strip_prefix(b"2|")?;
    let (key_version, rest) = consume_field(rest)?;
    let (timestamp, rest) = consume_field(rest)?;
    let (name, rest) = consume_field(rest)?;
    let (value, signature) = consume_field(rest)?;
    // A SHA-256 MAC in lowercase hex is 64 characters (Tornado compares the hex text, so an
    // uppercase copy of a good signature is not good either).
    if signature.len() != 64
        || !signature
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    Some(Fields {
        key_version: parse_decimal(key_version)?,
        timestamp,
        name,
        value,
        signature,
    })
}

/// `<len>:<bytes>|rest` → (bytes, rest).
fn consume_field(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = s.iter().position(|&b| b == b':')?;
    let len: usize = parse_decimal(&s[..colon])?;
    let rest = &s[colon + 1..];
    if rest.len() < len + 1 || rest[len] != b'|' {
        return None;
    }
    Some((&rest[..len], &rest[len + 1..]))
}

/// A plain non-negative decimal: digits only, no sign, no spaces, bounded length.
fn parse_decimal<T: std::str::FromStr>(digits: &[u8]) -> Option<T> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn matches_tornado_reference_vector() {
        // Tornado's own known value (SignedValueTest.test_known_values, version 2).
        let keys = Keys::single("It's a secret to everybody");
        let signed = keys.sign_at("key", b"value", 1_300_000_000);
        assert_eq!(
            signed,
            "2|1:0|10:1300000000|3:key|8:dmFsdWU=|3d4e60b996ff9c5d5788e333a0cba6f238a22c6c0f94788870e1a9ecd482e152"
        );
        assert_eq!(
            keys.verify_at("key", &signed, 31.0, 1_300_000_000),
            Some(b"value".to_vec())
        );
    }

    #[test]
    fn round_trip_and_name_binding() {
        let keys = Keys::single(SECRET);
        let signed = keys.sign("user", b"42");
        assert_eq!(keys.verify("user", &signed, 31.0), Some(b"42".to_vec()));
        assert_eq!(keys.verify("admin", &signed, 31.0), None);
    }

    #[test]
    fn expiry_is_read_from_inside_the_value() {
        let keys = Keys::single(SECRET);
        let signed = keys.sign_at("n", b"v", 1_000_000);
        assert!(
            keys.verify_at("n", &signed, 1.0, 1_000_000 + 86_399)
                .is_some()
        );
        assert!(
            keys.verify_at("n", &signed, 1.0, 1_000_000 + 86_401)
                .is_none()
        );
    }

    #[test]
    fn rotation_signs_with_newest_and_accepts_older() {
        let old = Keys::versioned([(1, "old-secret-old-secret-old-secret")]);
        let rotated = Keys::versioned([
            (1, "old-secret-old-secret-old-secret"),
            (2, "new-secret-new-secret-new-secret"),
        ]);
        let signed_old = old.sign("n", b"v");
        assert!(signed_old.starts_with("2|1:1|"));
        assert_eq!(rotated.verify("n", &signed_old, 31.0), Some(b"v".to_vec()));
        let signed_new = rotated.sign("n", b"v");
        assert!(signed_new.starts_with("2|1:2|"));
        // The old set does not know version 2.
        assert_eq!(old.verify("n", &signed_new, 31.0), None);
        // Dropping version 1 retires its values.
        let only_new = Keys::versioned([(2, "new-secret-new-secret-new-secret")]);
        assert_eq!(only_new.verify("n", &signed_old, 31.0), None);
    }

    #[test]
    fn tampering_truncation_and_garbage_read_as_absent() {
        let keys = Keys::single(SECRET);
        let signed = keys.sign("n", b"hello");
        for i in 0..signed.len() {
            assert_eq!(keys.verify("n", &signed[..i], 31.0), None, "prefix {i}");
        }
        let mut flipped = signed.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            keys.verify("n", std::str::from_utf8(&flipped).unwrap(), 31.0),
            None
        );
        let other = Keys::single("another-secret-another-secret-xx");
        assert_eq!(other.verify("n", &signed, 31.0), None);
        assert_eq!(keys.verify("n", "garbage", 31.0), None);
        assert_eq!(keys.verify("n", "1|abc", 31.0), None);
        assert_eq!(keys.verify("n", &"2|".repeat(3000), 31.0), None);
        assert_eq!(keys.verify("n", "2|99999999999999999999:0|", 31.0), None);
    }
}
