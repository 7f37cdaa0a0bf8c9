//! Personal API tokens: made on the account page (shown once, stored as SHA-256 hashes), each
//! with a name, scopes, an expiry and a last-used time, sent as `Authorization: Bearer …` to
//! the routes that accept them ([`crate::App::bearer`]), revocable.
//!
//! On those routes a request that carries a bearer token is that token's user, with its
//! scopes, and nothing else: its cookies count for nothing, so the XSRF check, which guards
//! what cookies allow, is not asked of it. A request without one is the session's user, with
//! every scope, and is XSRF-checked as everywhere. A browser cannot be made to send an
//! `Authorization` header to another site, so a token cannot be ridden as a cookie can.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use super::tokens::token_hash;
use super::user::JOINED_USER_COLUMNS;
use super::{Accounts, AuthError, User};
use crate::db::{new_id, now};
use crate::error::Error;
use crate::session::Session;
use crate::with_db;

/// What every API token starts with (so a leaked one is easy to recognise and search for).
pub const API_TOKEN_PREFIX: &str = "torn_";
/// The longest a token lives, in days.
pub const MAX_API_TOKEN_DAYS: u64 = 366;
/// Tokens one account may have.
pub const MAX_API_TOKENS: i64 = 50;

/// An API token as its owner sees it (never the token itself, which is shown once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    /// Its id, to revoke it.
    pub id: i64,
    /// The name its owner gave it.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it stops working (Unix seconds).
    pub expires_at: i64,
    /// When it was last used (Unix seconds, to the minute).
    pub last_used_at: Option<i64>,
}

impl ApiToken {
    /// Its scopes, as a list for people ("read, write").
    pub fn scope_list(&self) -> String {
        self.scopes.join(", ")
    }

    /// Whether it has stopped working.
    pub fn expired(&self) -> bool {
        self.expires_at <= now()
    }

    /// "in 30 days", or "expired".
    pub fn expires(&self) -> String {
        let left = self.expires_at.saturating_sub(now());
        if left <= 0 {
            "expired".to_string()
        } else {
            format!(
                "in {}",
                super::for_humans(Duration::from_secs(left.unsigned_abs()))
            )
        }
    }

    /// "3 hours ago", or "never".
    pub fn last_used(&self) -> String {
        self.last_used_at
            .map_or_else(|| "never".to_string(), super::sessions::ago)
    }
}

/// A new token's name, scopes and lifetime, as asked on the account page.
#[derive(Clone, Debug)]
pub struct NewApiToken<'a> {
    /// A name to know it by (1 to 64 characters).
    pub name: &'a str,
    /// Its scopes, among `api_scopes` (at least one).
    pub scopes: &'a [String],
    /// How long it works: a day to [`MAX_API_TOKEN_DAYS`].
    pub lifetime: Duration,
}

/// Why a token was not made, in words for its owner.
fn invalid(message: &str) -> AuthError {
    AuthError::InvalidApiToken(message.to_string())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    scopes: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
}

impl From<Row> for ApiToken {
    fn from(r: Row) -> Self {
        ApiToken {
            id: r.id,
            name: r.name,
            scopes: r.scopes.split(' ').map(str::to_string).collect(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

impl Accounts {
    /// Make an API token for `user`, a sensitive change ([`Accounts::sudo`] with `password`):
    /// the token, to show once, and what the account page lists of it.
    pub async fn create_api_token(
        &self,
        session: &Session,
        user: &User,
        password: Option<&str>,
        new: &NewApiToken<'_>,
    ) -> Result<(String, ApiToken), AuthError> {
        if !user.is_verified() {
            return Err(AuthError::VerifyFirst);
        }
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(invalid("Give the token a name of 1 to 64 characters."));
        }
        let allowed = &self.settings.accounts.api_scopes;
        if new.scopes.is_empty() || new.scopes.iter().any(|s| !allowed.contains(s)) {
            return Err(invalid("Choose what the token may do."));
        }
        let days = new.lifetime.as_secs() / 86_400;
        if !(1..=MAX_API_TOKEN_DAYS).contains(&days) {
            return Err(invalid("Choose how long the token works."));
        }
        self.sudo(session, user, password).await?;
        let count: i64 = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE user_id = $1")
                .bind(user.id)
                .fetch_one(pool)
                .await
        })?;
        if count >= MAX_API_TOKENS {
            return Err(invalid(
                "You have as many tokens as an account may: revoke one first.",
            ));
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = format!("{API_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let mut scopes: Vec<String> = allowed
            .iter()
            .filter(|s| new.scopes.contains(s))
            .cloned()
            .collect();
        scopes.dedup();
        let t = now();
        let token = ApiToken {
            id: new_id(),
            name: name.to_string(),
            scopes,
            created_at: t,
            expires_at: t.saturating_add(crate::db::secs_i64(Duration::from_secs(days * 86_400))),
            last_used_at: None,
        };
        with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(token.id)
            .bind(user.id)
            .bind(&token.name)
            .bind(token_hash(&secret))
            .bind(token.scopes.join(" "))
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok((secret, token))
    }

    /// The API tokens of `user`, the newest first.
    pub async fn api_tokens(&self, user: &User) -> Result<Vec<ApiToken>, AuthError> {
        let rows: Result<Vec<Row>, sqlx::Error> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, name, scopes, created_at, expires_at, last_used_at FROM api_tokens \
                 WHERE user_id = $1 ORDER BY created_at DESC, id",
            )
            .bind(user.id)
            .fetch_all(pool)
            .await
        });
        match rows {
            Ok(rows) => Ok(rows.into_iter().map(ApiToken::from).collect()),
            Err(e) if super::missing_table(&e) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Revoke a token of `user` (no password asked: it only takes away). `false` when the
    /// account has no token with that id.
    pub async fn revoke_api_token(&self, user: &User, id: i64) -> Result<bool, AuthError> {
        let deleted = with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user.id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(deleted == 1)
    }

    /// Delete every API token and passkey of the account (its address was confirmed for the
    /// first time, or its password reset: whoever made them may not own it, and must not stay
    /// in by them).
    pub(super) async fn remove_keys(&self, user_id: i64) -> Result<(), AuthError> {
        self.delete_rows_of(&["api_tokens", "passkeys"], user_id)
            .await
    }

    /// The account a bearer token belongs to, and its scopes, while it is unexpired; its
    /// last use is written at most once a minute.
    pub async fn authenticate_api_token(
        &self,
        token: &str,
    ) -> Result<Option<(User, Vec<String>)>, AuthError> {
        if !token.starts_with(API_TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let t = now();
        let sql = format!(
            "SELECT {JOINED_USER_COLUMNS}, a.scopes AS scopes, a.id AS token_id, \
             a.last_used_at AS last_used_at FROM api_tokens a \
             JOIN users u ON u.id = a.user_id WHERE a.token_hash = $1 AND a.expires_at > $2"
        );
        let found = with_db!(&self.db, pool => {
            sqlx::query(&sql)
                .bind(token_hash(token))
                .bind(t)
                .fetch_optional(pool)
                .await
                .map(|row| {
                    row.map(|row| {
                        use sqlx::{FromRow as _, Row as _};
                        let token = (|| {
                            Ok::<_, sqlx::Error>((
                                row.try_get::<String, _>("scopes")?,
                                row.try_get::<i64, _>("token_id")?,
                                row.try_get::<Option<i64>, _>("last_used_at")?,
                            ))
                        })();
                        (User::from_row(&row), token)
                    })
                })
        });
        let (user, (scopes, token_id, last_used_at)) = match found {
            Ok(Some((Ok(user), Ok(token)))) => (user, token),
            Ok(Some((user, token))) => {
                let e = user.err().or(token.err());
                return Err(
                    Error::internal(format!("an API token row cannot be read: {e:?}")).into(),
                );
            }
            Ok(None) => return Ok(None),
            Err(e) if super::missing_table(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // Written at most once a minute: a busy token does not take the writer every time.
        if last_used_at.is_none_or(|at| at <= t - 60) {
            with_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 \
                     AND (last_used_at IS NULL OR last_used_at <= $3)",
                )
                .bind(token_id)
                .bind(t)
                .bind(t - 60)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
        // A scope the app no longer lists is no longer granted.
        let allowed = &self.settings.accounts.api_scopes;
        let scopes = scopes
            .split(' ')
            .filter(|s| allowed.iter().any(|a| a == s))
            .map(str::to_string)
            .collect();
        Ok(Some((user, scopes)))
    }
}

/// This request carries a bearer token to a route that takes them: it is the token's, not its
/// cookies' (set by the route layer, read by the XSRF check and the user look-up).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TokenRequest;

/// The bearer token of a request, if it sends one (`Authorization: Bearer <token>`).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// What the request may do: on a route that accepts tokens, a request with one has its
/// token's scopes; any other (a logged-in session) has them all. An extractor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scopes {
    /// A session: every scope.
    All,
    /// A bearer token with these scopes.
    Token(Vec<String>),
}

impl Scopes {
    /// Whether it has `scope`.
    pub fn allows(&self, scope: &str) -> bool {
        match self {
            Scopes::All => true,
            Scopes::Token(scopes) => scopes.iter().any(|s| s == scope),
        }
    }

    /// `Ok` when it has `scope`, else [`ScopeMissing`]: a `403` saying which scope is missing
    /// (with `WWW-Authenticate: Bearer error="insufficient_scope"`).
    pub fn require(&self, scope: &str) -> Result<(), ScopeMissing> {
        if self.allows(scope) {
            Ok(())
        } else {
            Err(ScopeMissing(scope.to_string()))
        }
    }
}

/// A request's token lacks this scope: answered `403`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeMissing(pub String);

impl From<ScopeMissing> for Error {
    /// `403`, with `WWW-Authenticate: Bearer error="insufficient_scope"`: `scopes.require(…)?`
    /// in a handler that answers `torn::Result`.
    fn from(missing: ScopeMissing) -> Self {
        let scope = missing.0;
        let error = Error::new(
            StatusCode::FORBIDDEN,
            format!("This token may not do this: it needs the \"{scope}\" scope."),
        );
        match HeaderValue::from_str(&format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
        )) {
            Ok(value) => error.with_header(header::WWW_AUTHENTICATE, value),
            Err(_) => error,
        }
    }
}

impl IntoResponse for ScopeMissing {
    fn into_response(self) -> Response {
        Error::from(self).into_response()
    }
}

impl From<ScopeMissing> for Response {
    fn from(missing: ScopeMissing) -> Self {
        missing.into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Scopes {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        // The user look-up reads the token, if the route takes one.
        let user = super::extract::user_from_parts(parts).await?;
        Ok(match parts.extensions.get::<Scopes>() {
            Some(scopes) => scopes.clone(),
            // A session's user may do everything; nobody may do nothing.
            None if user.is_some() => Scopes::All,
            None => Scopes::Token(Vec::new()),
        })
    }
}

/// The answer to a request whose bearer token is unknown, revoked or expired.
pub(crate) fn invalid_token() -> Response {
    let mut response = Error::new(
        StatusCode::UNAUTHORIZED,
        "This API token is not valid: it is unknown, revoked or expired.",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        for (value, token) in [
            ("Bearer torn_abc", Some("torn_abc")),
            ("bearer torn_abc", Some("torn_abc")),
            ("Bearer  torn_abc ", Some("torn_abc")),
            ("Bearer ", None),
            ("Basic dXNlcjpwYXNz", None),
            ("torn_abc", None),
        ] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer(&headers), token, "{value}");
        }
    }

    #[test]
    fn scopes_allow_what_they_name() {
        assert!(Scopes::All.allows("write"));
        let read = Scopes::Token(vec!["read".into()]);
        assert!(read.allows("read"));
        assert!(!read.allows("write"));
        let refused = read.require("write").unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(
            refused.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("insufficient_scope")
        );
    }
}
