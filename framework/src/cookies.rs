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
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponseParts, ResponseParts};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::error::Error;
use crate::signing::{DEFAULT_MAX_AGE_DAYS, Keys};
use crate::state::Shared;

/// How long a signed cookie lives in the browser by default (Tornado's `expires_days=30`).
pub const DEFAULT_EXPIRES_DAYS: i64 = 30;

/// The request's cookies, with Tornado-style signing.
#[derive(Clone, Debug)]
pub struct Cookies {
    jar: CookieJar,
    outgoing: Vec<Cookie<'static>>,
    keys: Keys,
    secure: bool,
}

impl Cookies {
    pub(crate) fn new(jar: CookieJar, keys: Keys, secure: bool) -> Self {
        Self {
            jar,
            outgoing: Vec::new(),
            keys,
            secure,
        }
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
        self.keys
            .verify(name, &unquote(cookie.value()), max_age_days)
    }

    /// Set a signed cookie (expires in 30 days). Keep values small: browsers drop cookies over
    /// 4096 bytes, and a longer signed value reads as absent.
    #[must_use]
    pub fn set_signed(self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        let name = name.into();
        let signed = self.keys.sign(&name, value.as_ref());
        if signed.len() > crate::signing::MAX_SIGNED_VALUE_LEN {
            tracing::warn!(
                cookie = %name,
                len = signed.len(),
                "signed cookie is longer than browsers keep (4096 bytes); it will read as absent"
            );
        }
        let cookie = self.defaults(Cookie::new(name, signed), Some(DEFAULT_EXPIRES_DAYS));
        self.add_cookie(cookie)
    }

    /// Set a plain cookie with torn's defaults (`HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` per
    /// settings), for the browser session only.
    #[must_use]
    pub fn set(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let cookie = self.defaults(Cookie::new(name.into(), value.into()), None);
        self.add_cookie(cookie)
    }

    /// Add a cookie exactly as given (no defaults applied).
    #[must_use]
    pub fn add_cookie(mut self, cookie: Cookie<'static>) -> Self {
        self.jar = self.jar.add(cookie.clone());
        self.outgoing.retain(|c| c.name() != cookie.name());
        self.outgoing.push(cookie);
        self
    }

    /// Remove a cookie from the browser.
    #[must_use]
    pub fn remove(mut self, name: impl Into<String>) -> Self {
        let mut cookie = Cookie::build(name.into()).path("/").build();
        self.jar = self.jar.remove(cookie.clone());
        cookie.make_removal();
        self.outgoing.retain(|c| c.name() != cookie.name());
        self.outgoing.push(cookie);
        self
    }

    /// torn's cookie defaults.
    pub fn defaults(&self, mut cookie: Cookie<'static>, days: Option<i64>) -> Cookie<'static> {
        apply_defaults(&mut cookie, self.secure, days);
        cookie
    }
}

/// A cookie value as Python's `http.cookies` writes it, unquoted: Tornado wraps values with
/// characters such as `=` in double quotes and escapes `\\` and `"` (as `\\ooo` octal or `\\c`).
/// Values without quotes are returned as they are.
pub fn unquote(value: &str) -> std::borrow::Cow<'_, str> {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.into();
    };
    if !inner.contains('\\') {
        return inner.into();
    }
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let octal = bytes
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)) && d[0] <= b'3');
            if let Some(d) = octal {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            } else {
                out.push(bytes[i + 1]);
                i += 2;
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned().into()
}

/// A `Set-Cookie` value. Values made only of cookie-octets (RFC 6265), such as signed values
/// and XSRF tokens, are written as they are, as Tornado writes them, so a Tornado app sharing
/// the domain reads them; anything else is percent-encoded.
pub(crate) fn set_cookie_value(cookie: &Cookie<'_>) -> String {
    let plain = cookie
        .value()
        .bytes()
        .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E));
    if plain {
        cookie.to_string()
    } else {
        cookie.encoded().to_string()
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
            shared.settings.cookies.keys.clone(),
            shared.settings.cookies.secure,
        ))
    }
}

impl IntoResponseParts for Cookies {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Infallible> {
        for cookie in &self.outgoing {
            if let Ok(value) = HeaderValue::from_str(&set_cookie_value(cookie)) {
                res.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn unquotes_python_cookie_values() {
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(unquote("\"2|1:0|4:djI=|\""), "2|1:0|4:djI=|");
        assert_eq!(unquote("\"a\\\"b\\\\c\\073d\""), "a\"b\\c;d");
        assert_eq!(unquote("\""), "\"");
        assert_eq!(unquote("\"\\\""), "\\");
    }
}
