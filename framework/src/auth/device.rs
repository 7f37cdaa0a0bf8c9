//! Device cookies, after OWASP's "Slow Down Online Guessing Attacks with Device Cookies".
//!
//! A browser that logs in to an account gets a signed cookie naming the account (by a tag of
//! its hashed address) with a random nonce. Its later log-ins to that account are throttled on
//! a count of that nonce's own: failures from elsewhere, which lock the account for every other
//! browser, do not lock its owner out, and a stolen device cookie guesses no faster than an
//! account would. Each log-in gives the browser a fresh nonce. The cookie holds the last few
//! accounts the browser logged in to, and lives a year.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use rand::RngCore as _;

use crate::cookies::apply_defaults;
use crate::error::Error;
use crate::page::RequestState;
use crate::signing::Keys;
use crate::state::Shared;

/// How long the device cookie lasts, in days.
pub const DEVICE_COOKIE_DAYS: i64 = 365;
/// Accounts one browser is remembered for.
const MAX_ACCOUNTS: usize = 5;

/// The device cookie's name: `__Host-torn_device` when cookies are `Secure`, else
/// `torn_device`.
pub(crate) fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-torn_device"
    } else {
        "torn_device"
    }
}

/// The browser making a log-in: its address and the accounts it logged in to before (from its
/// device cookie). An extractor; pass it to [`super::Accounts::authenticate_device`].
#[derive(Clone)]
pub struct Device {
    client: IpAddr,
    /// (account tag, nonce), oldest first.
    known: Vec<(String, String)>,
    /// Where a new cookie goes, in a request.
    response: Option<(Arc<RequestState>, Keys, bool)>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("client", &self.client)
            .field("accounts", &self.known.len())
            .finish_non_exhaustive()
    }
}

impl Device {
    /// A browser at `client` that carries no device cookie (and gets none): what
    /// [`super::Accounts::authenticate`] assumes.
    pub fn unknown(client: IpAddr) -> Self {
        Device {
            client,
            known: Vec::new(),
            response: None,
        }
    }

    /// The client's address.
    pub fn client(&self) -> IpAddr {
        self.client
    }

    /// The nonce this browser holds for the account with this throttle key, if it logged in
    /// to it before.
    pub(crate) fn nonce_for(&self, account_key: &str) -> Option<&str> {
        let tag = tag(account_key);
        self.known
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, nonce)| nonce.as_str())
    }

    /// Remember, in this response's cookie, that this browser logged in to the account: a new
    /// nonce for it (the old one stops counting as this browser).
    pub(crate) fn remember(&self, account_key: &str) {
        let Some((state, keys, secure)) = &self.response else {
            return;
        };
        let tag = tag(account_key);
        let mut known: Vec<(String, String)> = self
            .known
            .iter()
            .filter(|(t, _)| *t != tag)
            .cloned()
            .collect();
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        known.push((tag, hex::encode(bytes)));
        let skip = known.len().saturating_sub(MAX_ACCOUNTS);
        let value = known[skip..]
            .iter()
            .map(|(t, n)| format!("{t}.{n}"))
            .collect::<Vec<_>>()
            .join(",");
        let name = cookie_name(*secure);
        let mut cookie = Cookie::new(name, keys.sign(name, value.as_bytes()));
        apply_defaults(&mut cookie, *secure, Some(DEVICE_COOKIE_DAYS));
        state
            .cookies_out
            .lock()
            .expect("outgoing cookies")
            .push(cookie);
    }
}

/// A short tag of an account's throttle key (itself a hash of the address): the cookie names
/// no address.
fn tag(account_key: &str) -> String {
    let hash = account_key.rsplit(':').next().unwrap_or(account_key);
    hash.chars().take(16).collect()
}

fn parse(value: &[u8]) -> Vec<(String, String)> {
    let Ok(value) = std::str::from_utf8(value) else {
        return Vec::new();
    };
    value
        .split(',')
        .filter_map(|entry| entry.split_once('.'))
        .filter(|(t, n)| {
            t.len() == 16
                && n.len() == 32
                && t.chars().chain(n.chars()).all(|c| c.is_ascii_hexdigit())
        })
        .take(MAX_ACCOUNTS)
        .map(|(t, n)| (t.to_string(), n.to_string()))
        .collect()
}

impl<S: Send + Sync> FromRequestParts<S> for Device {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let crate::ClientIp(client) = crate::ClientIp::from_request_parts(parts, state).await?;
        let shared = Shared::from_parts(parts)?;
        let secure = shared.settings.cookies.secure;
        let keys = shared.settings.cookies.keys.clone();
        let name = cookie_name(secure);
        let known = CookieJar::from_headers(&parts.headers)
            .get(name)
            .and_then(|c| {
                keys.verify(
                    name,
                    &crate::cookies::unquote(c.value()),
                    DEVICE_COOKIE_DAYS as f64,
                )
            })
            .map(|v| parse(&v))
            .unwrap_or_default();
        let response = parts
            .extensions
            .get::<Arc<RequestState>>()
            .cloned()
            .map(|state| (state, keys, secure));
        Ok(Device {
            client,
            known,
            response,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_entries_are_read() {
        let good = format!("{}.{}", "a".repeat(16), "b".repeat(32));
        let text = format!("{good},x.y,{}.{},zz", "c".repeat(15), "d".repeat(32));
        assert_eq!(parse(text.as_bytes()).len(), 1);
        let many = [good.as_str(); 9].join(",");
        assert_eq!(parse(many.as_bytes()).len(), MAX_ACCOUNTS);
    }

    #[test]
    fn the_tag_is_part_of_the_hash_not_the_address() {
        let key = super::super::throttle::account_key("ada@example.com");
        assert_eq!(tag(&key).len(), 16);
        assert!(!tag(&key).contains('@'));
        assert!(key.contains(&tag(&key)));
    }
}
