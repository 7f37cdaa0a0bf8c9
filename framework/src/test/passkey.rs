//! A passkey in software, for apps' tests: it answers the options torn gives (the JSON of
//! `Accounts::start_passkey_registration`, `start_passkey_log_in` and
//! `start_passkey_confirmation`, which the app's pages pass on) as a browser with a platform
//! authenticator would: an ES256 key, no attestation, its user verified, a counter that goes
//! up. The origin is the test's to name, so a test can also play another site.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use rand::RngCore as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// The DER header of a P-256 public key's `SubjectPublicKeyInfo`, before its 65-byte point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// One passkey on one software authenticator.
#[derive(Clone)]
pub struct SoftPasskey {
    key: SigningKey,
    credential_id: Vec<u8>,
    /// The account's user handle, from the registration options (base64url).
    user_handle: Option<String>,
    rp_id: Option<String>,
    counter: u32,
    /// Whether it keeps a signature counter (many synced passkeys send 0 every time).
    counting: bool,
}

impl std::fmt::Debug for SoftPasskey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftPasskey")
            .field("credential_id", &B64.encode(&self.credential_id))
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl Default for SoftPasskey {
    fn default() -> Self {
        Self::new()
    }
}

/// `bytes` as a CBOR byte string.
fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = match bytes.len() {
        n @ 0..=23 => vec![0x40 | u8::try_from(n).unwrap_or(0)],
        n @ 24..=255 => vec![0x58, u8::try_from(n).unwrap_or(0)],
        n => {
            let mut head = vec![0x59];
            head.extend(u16::try_from(n).expect("short CBOR").to_be_bytes());
            head
        }
    };
    out.extend_from_slice(bytes);
    out
}

/// A text field of `options`.
fn text<'a>(options: &'a Value, field: &str) -> &'a str {
    options
        .pointer(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("passkey options without {field}: {options}"))
}

impl SoftPasskey {
    /// A new key pair and credential id.
    ///
    /// # Panics
    /// If the system has no randomness.
    pub fn new() -> Self {
        let key = loop {
            let mut secret = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            if let Ok(key) = SigningKey::from_slice(&secret) {
                break key;
            }
        };
        let mut credential_id = vec![0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut credential_id);
        SoftPasskey {
            key,
            credential_id,
            user_handle: None,
            rp_id: None,
            counter: 0,
            counting: true,
        }
    }

    /// Its signature counter (what the next answer to a log-in will be one above).
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// One that keeps no signature counter: it sends 0 every time, as many synced passkeys do.
    pub fn without_counter() -> Self {
        SoftPasskey {
            counting: false,
            ..Self::new()
        }
    }

    /// Set its signature counter, as a copy of the authenticator made earlier would have it.
    pub fn set_counter(&mut self, counter: u32) {
        self.counter = counter;
    }

    /// Answer registration options from a page at `origin` (`http://localhost:8888`): the JSON
    /// of `credential.toJSON()`, to send back.
    ///
    /// # Panics
    /// If `options` lack the challenge, the relying party or the user.
    pub fn register(&mut self, options: &Value, origin: &str) -> Value {
        let challenge = text(options, "/challenge");
        let rp_id = text(options, "/rp/id").to_string();
        self.user_handle = Some(text(options, "/user/id").to_string());
        let client_data = format!(
            r#"{{"type":"webauthn.create","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#
        );
        let point = self.key.verifying_key().to_encoded_point(false);
        let (x, y) = (
            point.x().expect("an uncompressed point"),
            point.y().expect("an uncompressed point"),
        );
        // COSE_Key: kty EC2, alg ES256, crv P-256, x, y (CTAP2's canonical order).
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cose.extend(cbor_bytes(x));
        cose.push(0x22);
        cose.extend(cbor_bytes(y));
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        // User present, user verified, attested credential data.
        auth_data.push(0x45);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend(
            u16::try_from(self.credential_id.len())
                .expect("a short id")
                .to_be_bytes(),
        );
        auth_data.extend(&self.credential_id);
        auth_data.extend(&cose);
        // {"fmt": "none", "attStmt": {}, "authData": …}
        let mut attestation = vec![0xa3, 0x63];
        attestation.extend(b"fmt");
        attestation.push(0x64);
        attestation.extend(b"none");
        attestation.push(0x67);
        attestation.extend(b"attStmt");
        attestation.push(0xa0);
        attestation.push(0x68);
        attestation.extend(b"authData");
        attestation.extend(cbor_bytes(&auth_data));
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend(point.as_bytes());
        self.rp_id = Some(rp_id);
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "response": {
                "clientDataJSON": B64.encode(client_data),
                "authenticatorData": B64.encode(&auth_data),
                "transports": ["internal"],
                "publicKey": B64.encode(&spki),
                "publicKeyAlgorithm": -7,
                "attestationObject": B64.encode(&attestation),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "type": "public-key",
        })
    }

    /// Answer log-in (or confirmation) options from a page at `origin`: the JSON of
    /// `credential.toJSON()`, signed with this passkey, its counter one up.
    ///
    /// # Panics
    /// If the passkey was never registered, or `options` lack the challenge.
    pub fn sign(&mut self, options: &Value, origin: &str) -> Value {
        let challenge = text(options, "/challenge");
        let rp_id = options
            .pointer("/rpId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| self.rp_id.clone())
            .expect("a registered passkey");
        let handle = self.user_handle.clone().expect("a registered passkey");
        if self.counting {
            self.counter = self.counter.wrapping_add(1);
        }
        let client_data = format!(
            r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#
        );
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        // User present, user verified.
        auth_data.push(0x05);
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(client_data.as_bytes()));
        let signature: Signature = self.key.sign(&signed);
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "response": {
                "clientDataJSON": B64.encode(client_data),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": handle,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "type": "public-key",
        })
    }
}
