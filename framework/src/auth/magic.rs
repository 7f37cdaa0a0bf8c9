//! Log-in links ("email me a link"): a single-use token of [`TokenPurpose::MAGIC_LINK`],
//! short-lived (`magic_link_lifetime_secs`), mailed to the account's address and bound to the
//! browser that asked for it by a signed cookie's nonce ([`LinkBrowser`]). Opened in that
//! browser, the link logs in at once; opened anywhere else (another device, a mail scanner
//! that follows links), it only shows who it would log in and asks for a click, so nothing
//! that fetches links spends it or logs anyone in.
//!
//! Using a link proves the mailbox, so it confirms the address. When it is the first proof, the
//! account may have been made by someone else with that address (an attacker who signed up
//! first): its password, sessions, tokens and linked providers go, as after a first reset.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

use super::tokens::token_hash;
use super::user::JOINED_USER_COLUMNS;
use super::{Accounts, AuthError, TokenPurpose, User, throttle};
use crate::cookies::apply_defaults;
use crate::db::now;
use crate::error::Error;
use crate::page::RequestState;
use crate::signing::Keys;
use crate::state::Shared;
use crate::with_db;

/// How long the browser keeps its link nonce, in days.
const NONCE_DAYS: i64 = 1;

/// The link cookie's name: `__Host-torn_link` when cookies are `Secure`, else `torn_link`.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-torn_link"
    } else {
        "torn_link"
    }
}

/// The browser asking for, or opening, a log-in link: the nonce in its signed cookie. An
/// extractor; [`LinkBrowser::bind`] gives the nonce to bind a new link to.
#[derive(Clone)]
pub struct LinkBrowser {
    nonce: Option<String>,
    /// Where a new cookie goes, in a request.
    response: Option<(Arc<RequestState>, Keys, bool)>,
}

impl std::fmt::Debug for LinkBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkBrowser")
            .field("nonce", &self.nonce.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl LinkBrowser {
    /// A browser with no nonce, which never gets one: its links always ask for a click.
    pub fn unknown() -> Self {
        LinkBrowser {
            nonce: None,
            response: None,
        }
    }

    /// The nonce to bind a new link to: the browser's own, or a new one set in this response's
    /// cookie.
    pub fn bind(&self) -> String {
        if let Some(nonce) = &self.nonce {
            return nonce.clone();
        }
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let nonce = hex::encode(bytes);
        if let Some((state, keys, secure)) = &self.response {
            let name = cookie_name(*secure);
            let mut cookie = Cookie::new(name, keys.sign(name, nonce.as_bytes()));
            apply_defaults(&mut cookie, *secure, Some(NONCE_DAYS));
            state
                .cookies_out
                .lock()
                .expect("outgoing cookies")
                .push(cookie);
        }
        nonce
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LinkBrowser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let shared = Shared::from_parts(parts)?;
        let secure = shared.settings.cookies.secure;
        let keys = shared.settings.cookies.keys.clone();
        let name = cookie_name(secure);
        #[allow(clippy::cast_precision_loss)]
        let nonce = CookieJar::from_headers(&parts.headers)
            .get(name)
            .and_then(|c| keys.verify(name, &crate::cookies::unquote(c.value()), NONCE_DAYS as f64))
            .and_then(|v| String::from_utf8(v).ok())
            .filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()));
        let response = parts
            .extensions
            .get::<Arc<RequestState>>()
            .cloned()
            .map(|state| (state, keys, secure));
        Ok(LinkBrowser { nonce, response })
    }
}

/// What using a log-in link did ([`Accounts::log_in_with_link`]).
#[derive(Clone, Debug)]
pub struct LinkLogIn {
    /// The account to log in to.
    pub user: User,
    /// The link was the first proof of the address: what the account's earlier user set up
    /// is gone.
    pub first_confirmation: bool,
    /// A password set before the address was confirmed was removed (it may not have been the
    /// owner's): tell the user how to choose one.
    pub password_removed: bool,
}

/// Where a log-in link leads, before it is used.
#[derive(Clone, Debug)]
pub struct MagicLink {
    /// The account it logs in to.
    pub user: User,
    /// Whether it is opened in the browser that asked for it: then it logs in at once;
    /// anywhere else, the page asks first.
    pub same_browser: bool,
}

impl Accounts {
    /// A log-in link for the account with this address, if there is one, bound to the nonce
    /// of the browser that asked ([`LinkBrowser::bind`]). The page says the same either way.
    pub async fn request_magic_link(
        &self,
        email: &str,
        browser_nonce: &str,
    ) -> Result<Option<(User, String)>, AuthError> {
        let Some(user) = self.user_by_email(email).await? else {
            return Ok(None);
        };
        let purpose = TokenPurpose::MAGIC_LINK;
        let token = self
            .insert_token(
                user.id,
                &user.email,
                purpose,
                self.token_lifetime(purpose),
                Some(token_hash(browser_nonce)),
            )
            .await?;
        Ok(Some((user, token)))
    }

    /// Where a log-in link leads, if it is usable, without using it.
    pub async fn magic_link(
        &self,
        token: &str,
        browser: &LinkBrowser,
    ) -> Result<Option<MagicLink>, AuthError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {JOINED_USER_COLUMNS}, t.browser_hash AS browser_hash \
             FROM user_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL \
             AND t.expires_at > $3 AND u.email = t.email"
        );
        let found: Option<(User, Option<String>)> = with_db!(&self.db, pool => {
            sqlx::query(&sql)
                .bind(token_hash(token))
                .bind(TokenPurpose::MAGIC_LINK.as_str())
                .bind(now())
                .fetch_optional(pool)
                .await?
                .map(|row| {
                    use sqlx::{FromRow as _, Row as _};
                    Ok::<_, sqlx::Error>((User::from_row(&row)?, row.try_get("browser_hash")?))
                })
                .transpose()
        })?;
        Ok(found.map(|(user, bound)| {
            let same_browser = match (&browser.nonce, bound) {
                (Some(nonce), Some(bound)) => {
                    bool::from(token_hash(nonce).as_bytes().ct_eq(bound.as_bytes()))
                }
                _ => false,
            };
            MagicLink { user, same_browser }
        }))
    }

    /// Use a log-in link: the account to log in to ([`Accounts::log_in`]), once, and what using
    /// it changed. Its address counts as confirmed; if that is its first confirmation, what was
    /// set up before goes (the password, sessions, tokens and linked providers), since whoever
    /// made the account may not own the address. The account's other log-in links end.
    pub async fn log_in_with_link(&self, token: &str) -> Result<LinkLogIn, AuthError> {
        let before = self.redeem_token(token, TokenPurpose::MAGIC_LINK).await?;
        let mut first_confirmation = false;
        if !before.is_verified() {
            let t = now();
            // One statement confirms, clears the password and moves the security stamp on: a
            // request of the account's earlier user that was checked before it (a password
            // change, an address change) writes on the stamp it loaded, and fails.
            first_confirmation = with_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE users SET email_verified_at = $1, password_hash = NULL, \
                     security_stamp = security_stamp + 1, updated_at = $1 \
                     WHERE id = $2 AND email_verified_at IS NULL",
                )
                .bind(t)
                .bind(before.id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
            })? == 1;
            if first_confirmation {
                self.forget_before_confirmation(before.id).await?;
            }
        }
        // The other links mailed to log in to it.
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE user_tokens SET used_at = $1 \
                 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
            )
            .bind(now())
            .bind(before.id)
            .bind(TokenPurpose::MAGIC_LINK.as_str())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        throttle::forget(&self.db, &throttle::account_key(&before.email)).await?;
        let user = self.user(before.id).await?.ok_or(AuthError::InvalidToken)?;
        Ok(LinkLogIn {
            password_removed: first_confirmation && before.has_password(),
            first_confirmation,
            user,
        })
    }
}
