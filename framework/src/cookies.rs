//! Cookies, plain and signed (Tornado's `set_signed_cookie` / `get_signed_cookie`).
//!
//! [`Cookies`] is an extractor and a response part: read what the browser sent, add or remove
//! cookies, and return it from the handler so the changes reach the browser.
//!
//! ```
//! use torn::Cookies;
//!
//! async fn visit(cookies: Cookies) -> (Cookies, String) {
//!     let n: u64 = cookies
//!         .get_signed("visits")
//!         .and_then(|v| v.parse().ok())
//!         .unwrap_or(0);
//!     (cookies.set_signed("visits", (n + 1).to_string()), format!("visit {}", n + 1))
//! }
//! ```
//!
//! Signed values are in Tornado's version-2 format (see [`crate::signing`]), so they move
//! between a Tornado app and a torn app that share the secret. Every cookie torn writes is
//! `HttpOnly`, `SameSite=Lax` and `Path=/`, and `Secure` when the `secure_cookies` setting is on
//! (the default in prod).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponseParts, ResponseParts};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::app::Shared;
use crate::error::Error;
use crate::signing::{DEFAULT_MAX_AGE_DAYS, Keys};

/// How long a signed cookie lives in the browser by default (Tornado's `expires_days=30`).
pub const DEFAULT_EXPIRES_DAYS: i64 = 30;

/// The request's cookies, with Tornado-style signing.
#[derive(Clone, Debug)]
pub struct Cookies {
    jar: CookieJar,
    keys: Keys,
    secure: bool,
}

impl Cookies {
    pub(crate) fn new(jar: CookieJar, keys: Keys, secure: bool) -> Self {
        Self { jar, keys, secure }
    }

    /// A plain cookie's value.
    pub fn get(&self, name: &str) -> Option<String> {
        self.jar.get(name).map(|c| c.value().to_string())
    }

    /// A signed cookie's value, if its signature is good and it is at most 31 days old.
    pub fn get_signed(&self, name: &str) -> Option<String> {
        self.get_signed_bytes(name, DEFAULT_MAX_AGE_DAYS)
            .and_then(|v| String::from_utf8(v).ok())
    }

    /// A signed cookie's raw value, at most `max_age_days` old (checked from the timestamp
    /// inside the signed value, not the cookie's expiry, which the browser controls).
    pub fn get_signed_bytes(&self, name: &str, max_age_days: f64) -> Option<Vec<u8>> {
        let cookie = self.jar.get(name)?;
        self.keys.verify(name, cookie.value(), max_age_days)
    }

    /// Set a signed cookie (expires in 30 days).
    pub fn set_signed(self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        let name = name.into();
        let signed = self.keys.sign(&name, value.as_ref());
        let cookie = self.defaults(Cookie::new(name, signed), Some(DEFAULT_EXPIRES_DAYS));
        Self {
            jar: self.jar.add(cookie),
            ..self
        }
    }

    /// Set a plain cookie with torn's defaults (HttpOnly, SameSite=Lax, Path=/, Secure per
    /// settings), for the browser session only.
    pub fn set(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let cookie = self.defaults(Cookie::new(name.into(), value.into()), None);
        Self {
            jar: self.jar.add(cookie),
            ..self
        }
    }

    /// Add a cookie exactly as given (no defaults applied).
    pub fn add_cookie(self, cookie: Cookie<'static>) -> Self {
        Self {
            jar: self.jar.add(cookie),
            ..self
        }
    }

    /// Remove a cookie from the browser.
    pub fn remove(self, name: impl Into<String>) -> Self {
        let cookie = Cookie::build(name.into()).path("/").build();
        Self {
            jar: self.jar.remove(cookie),
            ..self
        }
    }

    /// torn's cookie defaults.
    pub fn defaults(&self, mut cookie: Cookie<'static>, days: Option<i64>) -> Cookie<'static> {
        apply_defaults(&mut cookie, self.secure, days);
        cookie
    }
}

pub(crate) fn apply_defaults(cookie: &mut Cookie<'static>, secure: bool, days: Option<i64>) {
    cookie.set_path("/");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_secure(secure);
    if let Some(days) = days {
        cookie.set_max_age(time::Duration::days(days));
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Cookies {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let shared: Arc<Shared> = Shared::from_parts(parts)?;
        Ok(Cookies::new(
            CookieJar::from_headers(&parts.headers),
            shared.settings.keys.clone(),
            shared.settings.secure_cookies,
        ))
    }
}

impl IntoResponseParts for Cookies {
    type Error = Infallible;

    fn into_response_parts(self, res: ResponseParts) -> Result<ResponseParts, Infallible> {
        self.jar.into_response_parts(res)
    }
}
