//! The `WebAuthn` side of passkeys, through `webauthn_rp` (a relying party in pure Rust: its
//! signatures are `RustCrypto`'s): where this site's passkeys belong (the relying party), the
//! options a browser gets, and the checks of what it answers. Ceremonies wait in the session
//! that began them; credentials are stored as base64url text.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{
    CredProtect, PublicKeyCredentialUserEntity, RegistrationVerificationOptions, UserHandle64,
    Username,
};
use webauthn_rp::request::{AsciiDomain, ExtensionInfo, PublicKeyCredentialDescriptor, RpId};
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication64, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, PublicKeyCredentialCreationOptions, Registration,
    RegistrationServerState,
};

use crate::auth::AuthError;
use crate::error::Error;

/// The public key of a stored passkey, as `webauthn_rp` decodes it.
type StoredKey = StaticState<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>;

/// Where this site's passkeys belong: the relying party id (the host of `base_url`) and the
/// one origin whose pages may use them.
#[derive(Clone, Debug)]
pub(crate) struct RelyingParty {
    id: RpId,
    origin: String,
}

impl RelyingParty {
    /// The relying party of an app at `base_url`; `None` where browsers allow no passkeys:
    /// an IP address (a passkey belongs to a name), or plain `http://` other than at
    /// `localhost` (`WebAuthn` needs a secure context).
    pub(crate) fn of(base_url: &str) -> Option<RelyingParty> {
        let uri: axum::http::Uri = base_url.parse().ok()?;
        let host = uri.host()?.to_ascii_lowercase();
        if host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
            return None;
        }
        let origin = match (uri.scheme_str()?, uri.port_u16()) {
            ("https", None | Some(443)) => format!("https://{host}"),
            ("https", Some(port)) => format!("https://{host}:{port}"),
            ("http", port) if host == "localhost" => match port {
                None | Some(80) => "http://localhost".to_string(),
                Some(port) => format!("http://localhost:{port}"),
            },
            _ => return None,
        };
        let id = RpId::Domain(AsciiDomain::try_from(host).ok()?);
        Some(RelyingParty { id, origin })
    }
}

/// A ceremony waiting in the session for the browser's answer: whose it is (nobody, for a
/// log-in), the name a new passkey will get, and `webauthn_rp`'s state of it.
#[derive(Debug, Deserialize, Serialize)]
pub(super) struct Waiting {
    pub(super) user_id: Option<i64>,
    pub(super) name: String,
    state: String,
}

impl Waiting {
    /// What names this ceremony in the database (a hash of its state, which holds its
    /// challenge).
    pub(super) fn id(&self) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(self.state.as_bytes()))
    }
}

pub(super) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode(text: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| AuthError::Internal(Error::internal(format!("a stored passkey value: {e}"))))
}

/// A user handle as stored.
fn user_handle(text: &str) -> Result<UserHandle64, AuthError> {
    let bytes: [u8; 64] = decode(text)?
        .try_into()
        .map_err(|_| AuthError::Internal(Error::internal("a stored user handle")))?;
    UserHandle64::decode(bytes).map_err(|e| broken("a user handle")(e.to_string()))
}

fn broken(what: &str) -> impl FnOnce(String) -> AuthError + '_ {
    move |e| AuthError::Internal(Error::internal(format!("{what}: {e}")))
}

/// A passkey of the account, for the options' list of those it already has (so an
/// authenticator that holds one of them does not make a second).
pub(super) struct Existing {
    pub(super) credential_id: String,
    pub(super) user_handle: String,
}

/// The options that make a new passkey for the account `email` (with the handle of its
/// passkeys, or a new one), and what waits for the answer.
pub(super) fn registration(
    rp: &RelyingParty,
    user_id: i64,
    email: &str,
    name: &str,
    existing: &[Existing],
) -> Result<(serde_json::Value, Waiting), AuthError> {
    let handle = match existing.first() {
        Some(e) => user_handle(&e.user_handle)?,
        None => UserHandle64::new(),
    };
    let mut exclude = Vec::with_capacity(existing.len());
    for e in existing {
        let id = CredentialId::<Vec<u8>>::decode(decode(&e.credential_id)?)
            .map_err(|e| broken("a stored credential id")(e.to_string()))?;
        // No transports kept: the browser tries each way it has.
        let transports =
            AuthTransports::decode(0).map_err(|e| broken("transports")(e.to_string()))?;
        exclude.push(PublicKeyCredentialDescriptor { id, transports });
    }
    // The name the authenticator shows: the address (a name its profile refuses shows as
    // "account").
    let username = Username::try_from(email)
        .or_else(|_| Username::try_from("account"))
        .map_err(|e| broken("a user name")(e.to_string()))?;
    let user = PublicKeyCredentialUserEntity {
        name: username,
        id: &handle,
        display_name: None,
    };
    let mut options = PublicKeyCredentialCreationOptions::passkey(&rp.id, user, exclude);
    // Ask authenticators to keep the passkey behind its user's verification, without refusing
    // those that cannot say so (many platform authenticators): every log-in checks that the
    // user was verified anyway.
    options.extensions.cred_protect =
        CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
    let (server, client) = options
        .start_ceremony()
        .map_err(|e| broken("passkey options")(e.to_string()))?;
    let options =
        serde_json::to_value(&client).map_err(|e| broken("passkey options")(e.to_string()))?;
    let state = server
        .encode()
        .map_err(|e| broken("a registration ceremony")(format!("{e:?}")))?;
    Ok((
        options,
        Waiting {
            user_id: Some(user_id),
            name: name.to_string(),
            state: encode(&state),
        },
    ))
}

/// A new passkey, checked: its credential id, user handle, public key and first dynamic
/// state, each as stored.
pub(super) struct NewCredential {
    pub(super) credential_id: String,
    pub(super) user_handle: String,
    pub(super) static_state: String,
    pub(super) dynamic_state: String,
}

/// Check the browser's answer to [`registration`]: made for this ceremony, on this site's
/// origin, by an authenticator that verified its user.
pub(super) fn check_registration(
    rp: &RelyingParty,
    waiting: &Waiting,
    answer: &str,
) -> Result<NewCredential, AuthError> {
    let state = RegistrationServerState::<64>::decode(&decode(&waiting.state)?)
        .map_err(|e| broken("a registration ceremony")(e.to_string()))?;
    let registration: Registration = serde_json::from_str(answer).map_err(|e| {
        tracing::debug!(error = %e, "a passkey registration that does not parse");
        AuthError::PasskeyRefused
    })?;
    let origins = [rp.origin.as_str()];
    let options = RegistrationVerificationOptions::<&str, &str> {
        allowed_origins: &origins,
        ..RegistrationVerificationOptions::default()
    };
    let credential = state.verify(&rp.id, &registration, &options).map_err(|e| {
        tracing::info!(error = %e, "a passkey registration was refused");
        AuthError::PasskeyRefused
    })?;
    let static_state = credential
        .static_state()
        .encode()
        .map_err(|e| broken("a public key")(format!("{e:?}")))?;
    let dynamic_state = credential
        .dynamic_state()
        .encode()
        .map_err(|e| broken("a passkey's state")(format!("{e:?}")))?;
    let handle = credential
        .user_id()
        .encode()
        .map_err(|e| broken("a user handle")(format!("{e:?}")))?;
    let id = credential.id();
    Ok(NewCredential {
        credential_id: encode(id.as_ref()),
        user_handle: encode(&handle),
        static_state: encode(&static_state),
        dynamic_state: encode(&dynamic_state),
    })
}

/// The options that ask the browser for any passkey of this site, and what waits for the
/// answer (for `user_id`'s confirmation, or for a log-in).
pub(super) fn assertion(
    rp: &RelyingParty,
    user_id: Option<i64>,
) -> Result<(serde_json::Value, Waiting), AuthError> {
    let (server, client) = DiscoverableCredentialRequestOptions::passkey(&rp.id)
        .start_ceremony()
        .map_err(|e| broken("passkey options")(e.to_string()))?;
    let options =
        serde_json::to_value(&client).map_err(|e| broken("passkey options")(e.to_string()))?;
    let state = server
        .encode()
        .map_err(|e| broken("an authentication ceremony")(format!("{e:?}")))?;
    Ok((
        options,
        Waiting {
            user_id,
            name: String::new(),
            state: encode(&state),
        },
    ))
}

/// The browser's answer to [`assertion`], parsed: which passkey it names.
pub(super) struct Answer(DiscoverableAuthentication64);

impl Answer {
    pub(super) fn parse(answer: &str) -> Result<Answer, AuthError> {
        serde_json::from_str(answer).map(Answer).map_err(|e| {
            tracing::debug!(error = %e, "a passkey answer that does not parse");
            AuthError::PasskeyRefused
        })
    }

    /// The credential id it names, as stored.
    pub(super) fn credential_id(&self) -> String {
        encode(self.0.raw_id().as_ref())
    }
}

/// A stored passkey, as [`check_assertion`] needs it.
pub(super) struct Stored {
    pub(super) user_handle: String,
    pub(super) static_state: String,
    pub(super) dynamic_state: String,
}

/// Check `answer` against the ceremony that waited and the stored passkey it names: signed by
/// its key for this ceremony, on this site's origin, with the user verified, and its counter
/// gone up (when it keeps one). The new dynamic state when it changed.
pub(super) fn check_assertion(
    rp: &RelyingParty,
    waiting: &Waiting,
    answer: &Answer,
    stored: &Stored,
) -> Result<Option<String>, AuthError> {
    let state = DiscoverableAuthenticationServerState::decode(&decode(&waiting.state)?)
        .map_err(|e| broken("an authentication ceremony")(e.to_string()))?;
    let handle = user_handle(&stored.user_handle)?;
    let key = StoredKey::decode(&decode(&stored.static_state)?)
        .map_err(|e| broken("a stored public key")(e.to_string()))?;
    let dynamic_bytes: [u8; 7] = decode(&stored.dynamic_state)?
        .try_into()
        .map_err(|_| AuthError::Internal(Error::internal("a stored passkey state")))?;
    let dynamic = DynamicState::decode(dynamic_bytes)
        .map_err(|e| broken("a stored passkey state")(e.to_string()))?;
    let mut credential = AuthenticatedCredential::new(answer.0.raw_id(), &handle, key, dynamic)
        .map_err(|e| broken("a stored passkey")(e.to_string()))?;
    let origins = [rp.origin.as_str()];
    let options = AuthenticationVerificationOptions::<&str, &str> {
        allowed_origins: &origins,
        ..AuthenticationVerificationOptions::default()
    };
    let changed = state
        .verify(&rp.id, &answer.0, &mut credential, &options)
        .map_err(|e| {
            tracing::info!(error = %e, "a passkey was refused");
            AuthError::PasskeyRefused
        })?;
    if !changed {
        return Ok(None);
    }
    let dynamic = credential
        .dynamic_state()
        .encode()
        .map_err(|e| broken("a passkey's state")(format!("{e:?}")))?;
    Ok(Some(encode(&dynamic)))
}

#[cfg(test)]
mod tests {
    use super::RelyingParty;

    #[test]
    fn passkeys_belong_to_a_name_over_https_or_at_localhost() {
        let origin = |base: &str| RelyingParty::of(base).map(|rp| rp.origin);
        assert_eq!(
            origin("https://app.example.com").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            origin("https://App.Example.com:8443/").as_deref(),
            Some("https://app.example.com:8443")
        );
        assert_eq!(
            origin("http://localhost:8888").as_deref(),
            Some("http://localhost:8888")
        );
        assert_eq!(
            RelyingParty::of("https://app.example.com")
                .map(|rp| rp.id.as_ref().to_string())
                .as_deref(),
            Some("app.example.com")
        );
        for none in [
            "http://127.0.0.1:8888",
            "https://127.0.0.1",
            "http://[::1]:8888",
            "http://app.example.com",
            "ftp://app.example.com",
            "not a url",
        ] {
            assert!(RelyingParty::of(none).is_none(), "{none}");
        }
    }
}
