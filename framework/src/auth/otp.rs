//! The parts of two-factor log-in that keep no state: TOTP codes (RFC 6238, by totp-rs), the
//! secret's encryption at rest, recovery codes, and the set-up page's QR code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::signing::Keys;

/// Bytes of a new TOTP secret: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (80 bits), shown in groups of four.
const RECOVERY_CODE_CHARS: usize = 16;
/// Crockford's base 32: no I, L, O or U, so a code copied by hand reads back.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new random TOTP secret.
pub(super) fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The TOTP of `secret`: SHA-1, 6 digits, 30-second steps, one step of skew either way (what
/// every authenticator app reads from a QR code). `issuer` and `account` name it in the app;
/// a `:` in either (which the otpauth URL cannot hold) becomes a space.
pub(super) fn totp(secret: &[u8], issuer: &str, account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret.to_vec()))
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .ok()
}

/// The time step a six-digit `code` (spaces allowed) belongs to, within one step of `time`.
pub(super) fn code_step(totp: &Totp, code: &str, time: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = totp.check(&code, u64::try_from(time).ok()?)?;
    i64::try_from(step).ok()
}

/// Is this what a TOTP code looks like (six digits, spaces allowed), rather than a recovery
/// code?
pub(super) fn looks_like_totp(code: &str) -> bool {
    let digits = code.chars().filter(|c| !c.is_whitespace()).count();
    digits == 6
        && code
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace())
}

/// The secret as people type it into an app: base 32, in groups of four.
pub(super) fn secret_text(secret: &[u8]) -> String {
    group(&Secret::from(secret.to_vec()).to_base32(), 4)
}

fn group(text: &str, size: usize) -> String {
    text.as_bytes()
        .chunks(size)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The QR code of an `otpauth://` URL, as an `<svg>` element to put in a page (no image
/// service, no script).
pub(super) fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML, the XML declaration is out of place.
    Some(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

/// The key that encrypts TOTP secrets, derived from the cookie secret of one key version.
fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(b"torn two-factor"), secret)
        .expand(b"totp secret at rest, v1", &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    XChaCha20Poly1305::new(Key::from_slice(&key))
}

/// `secret` encrypted for storage, bound to the account (`user_id`) and tagged with the key
/// version: `v{version}.{base64(nonce ‖ ciphertext)}`.
pub(super) fn seal(keys: &Keys, user_id: i64, secret: &[u8]) -> String {
    let version = keys.current_version();
    let key = keys
        .get(version)
        .expect("the current key version has a key");
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher(key)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: secret,
                aad: &user_id.to_be_bytes(),
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any message of this size");
    let mut stored = nonce.to_vec();
    stored.extend_from_slice(&sealed);
    format!("v{version}.{}", URL_SAFE_NO_PAD.encode(stored))
}

/// A stored secret decrypted, and whether it was sealed with an older key version (then it is
/// sealed again with the current one). `None` when its key version is gone, or it was made
/// for another account or altered.
pub(super) fn open(keys: &Keys, user_id: i64, stored: &str) -> Option<(Vec<u8>, bool)> {
    let (version, data) = stored.strip_prefix('v')?.split_once('.')?;
    let version: u32 = version.parse().ok()?;
    let data = URL_SAFE_NO_PAD.decode(data).ok()?;
    if data.len() < 24 {
        return None;
    }
    let (nonce, sealed) = data.split_at(24);
    let secret = cipher(keys.get(version)?)
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &user_id.to_be_bytes(),
            },
        )
        .ok()?;
    Some((secret, version != keys.current_version()))
}

/// New recovery codes, as shown to their owner (`xxxx-xxxx-xxxx-xxxx`).
pub(super) fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_CHARS];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let code: String = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
                .collect();
            group(&code, 4).replace(' ', "-")
        })
        .collect()
}

/// The stored form of a recovery code as typed: case, spaces and dashes do not matter, and
/// letters misread as digits (O, I, L) are read as Crockford's base 32 reads them. `None` for
/// anything that cannot be a recovery code.
pub(super) fn recovery_code_hash(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect();
    let valid = code.len() == RECOVERY_CODE_CHARS && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then(|| hex::encode(Sha256::digest(code.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238, appendix B (SHA-1): 94287082 at 59 s, 07081804 at 1111111109 s; six
        // digits are the last six.
        let totp = totp(b"12345678901234567890", "torn", "ada@example.com").unwrap();
        assert_eq!(code_step(&totp, "287082", 59), Some(1));
        assert_eq!(code_step(&totp, "081 804", 1_111_111_109), Some(37_037_036));
        // One step either way is accepted, two are not.
        assert_eq!(code_step(&totp, "287082", 59 + 30), Some(1));
        assert_eq!(code_step(&totp, "287082", 59 + 60), None);
        for bad in ["", "28708", "2870822", "28708a", "-28708"] {
            assert_eq!(code_step(&totp, bad, 59), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_sealed_per_account_and_key_version() {
        let keys = Keys::versioned([(1, "a".repeat(32)), (2, "b".repeat(32))]);
        let secret = new_secret();
        let stored = seal(&keys, 7, &secret);
        assert!(stored.starts_with("v2."));
        assert_eq!(open(&keys, 7, &stored), Some((secret.clone(), false)));
        // Another account's row, or an altered one, does not open.
        assert_eq!(open(&keys, 8, &stored), None);
        let mut altered = stored.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(&keys, 7, &String::from_utf8(altered).unwrap()), None);
        // Sealed under an older version: opens while that version is kept, and says so.
        let old = seal(&Keys::versioned([(1, "a".repeat(32))]), 7, &secret);
        assert_eq!(open(&keys, 7, &old), Some((secret.clone(), true)));
        assert_eq!(open(&Keys::versioned([(2, "b".repeat(32))]), 7, &old), None);
        for junk in ["", "v2", "v2.", "x2.abc", "v9.AAAA", "v2.!!"] {
            assert_eq!(open(&keys, 7, junk), None, "{junk:?}");
        }
    }

    #[test]
    fn recovery_codes_read_back_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 19);
        let hash = recovery_code_hash(code).unwrap();
        assert_eq!(
            recovery_code_hash(&code.to_uppercase().replace('-', " ")),
            Some(hash.clone())
        );
        assert_eq!(
            recovery_code_hash("0000-1111-2222-3333"),
            recovery_code_hash("oOoO-iIlL-2222-3333")
        );
        for bad in [
            "",
            "123456",
            "0000-1111-2222-333",
            "0000-1111-2222-3333-4",
            "uuuu-0000-0000-0000",
        ] {
            assert_eq!(recovery_code_hash(bad), None, "{bad:?}");
        }
        assert_eq!(recovery_code_hash(&"0".repeat(100)), None);
    }

    #[test]
    fn the_qr_code_is_an_inline_svg() {
        let svg = qr_svg("otpauth://totp/torn:ada%40example.com?secret=ABC&issuer=torn").unwrap();
        assert!(svg.starts_with("<svg"), "{svg:.40}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<script"));
    }
}
