//! Devices: each logged-in session records when it started, when it was last used (to the
//! minute), a coarse user agent ("Firefox on Linux", by woothee; the full header is not kept)
//! and the client's address (through `trusted_proxies`). The account page lists them, and ends
//! any one of them.
//!
//! The columns come with the app's `…_devices` migration; an app without it logs in as before
//! and lists its sessions without them.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::HeaderValue;
use sha2::{Digest, Sha256};
use tower_sessions::session::Id;
use tower_sessions::session_store::SessionStore as _;

use super::{Accounts, AuthError, User, for_humans};
use crate::db::now;
use crate::error::Error;
use crate::session::Session;
use crate::with_db;

tokio::task_local! {
    /// Where this request comes from, for the session a log-in in it records.
    static FROM: RequestFrom;
}

/// Where a request comes from: the client's address and its `User-Agent` header (read only
/// when a session is recorded).
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestFrom {
    pub(crate) ip: Option<IpAddr>,
    pub(crate) user_agent: Option<HeaderValue>,
}

/// Run `f` as a request from `from` (the accounts layer does, around each request).
pub(crate) async fn scope<F: Future>(from: RequestFrom, f: F) -> F::Output {
    FROM.scope(from, f).await
}

/// The current request's client address and coarse user agent, if this runs in a request.
fn request_from() -> Option<(Option<String>, Option<String>)> {
    FROM.try_with(|from| {
        let agent = from
            .user_agent
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(coarse_user_agent);
        (from.ip.map(|ip| ip.to_string()), agent)
    })
    .ok()
}

/// "Firefox on Linux": the browser and the system of a `User-Agent` header, nothing finer (no
/// versions), so the list says which device it is without keeping a fingerprint.
pub fn coarse_user_agent(header: &str) -> String {
    // No parser runs on more than a real header holds.
    let header = header.get(..512).unwrap_or(header);
    let unknown = woothee::woothee::VALUE_UNKNOWN;
    let Some(found) = woothee::parser::Parser::new().parse(header) else {
        return "Unknown browser".to_string();
    };
    match (found.name, found.os) {
        (name, _) if name == unknown => "Unknown browser".to_string(),
        (name, os) if os == unknown => name.to_string(),
        (name, os) => format!("{name} on {os}"),
    }
}

/// One logged-in session of an account, as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSession {
    /// Names the session to [`Accounts::end_device`] (a hash: the session's id is a secret).
    pub handle: String,
    /// When it logged in (Unix seconds).
    pub created_at: i64,
    /// When it was last used (Unix seconds, to the minute), if recorded.
    pub last_seen_at: Option<i64>,
    /// Its browser and system, if recorded.
    pub user_agent: Option<String>,
    /// Its client's address, if recorded.
    pub ip: Option<String>,
    /// The session this list was asked from.
    pub current: bool,
}

impl DeviceSession {
    /// "3 minutes ago", since it logged in.
    pub fn started(&self) -> String {
        ago(self.created_at)
    }

    /// "3 minutes ago", since it was last used ("just now" within the minute).
    pub fn last_used(&self) -> String {
        ago(self.last_seen_at.unwrap_or(self.created_at))
    }
}

/// "3 minutes ago" since `t` (Unix seconds), "just now" within the minute.
pub(super) fn ago(t: i64) -> String {
    let secs = now().saturating_sub(t);
    if secs < 60 {
        "just now".to_string()
    } else {
        format!(
            "{} ago",
            for_humans(Duration::from_secs(secs.unsigned_abs()))
        )
    }
}

/// Is this the error of a column that does not exist (an app without the devices migration)?
fn missing_column(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        d.code().as_deref() == Some("42703") || d.message().contains("no such column")
    })
}

/// The handle of a session id.
fn handle(session_id: &str) -> String {
    hex::encode(&Sha256::digest(session_id.as_bytes())[..16])
}

impl Accounts {
    /// Whether `user_sessions` has the devices migration's columns (asked once).
    async fn records_devices(&self) -> Result<bool, AuthError> {
        let db = self.db.clone();
        let known = self
            .session_columns
            .get_or_try_init(|| async move {
                let probe: Result<Option<i64>, sqlx::Error> = with_db!(&db, pool => {
                    sqlx::query_scalar(
                        "SELECT last_seen_at FROM user_sessions WHERE user_agent IS NULL \
                         AND ip IS NULL LIMIT 0",
                    )
                    .fetch_optional(pool)
                    .await
                });
                match probe {
                    Ok(_) => Ok(true),
                    // Only a missing column is remembered; anything else is asked again.
                    Err(e) if missing_column(&e) => Ok(false),
                    Err(e) => Err(AuthError::from(e)),
                }
            })
            .await?;
        Ok(*known)
    }

    /// Record the log-in of `user` in the session `session_id`, with where the request comes
    /// from.
    pub(super) async fn record_session(
        &self,
        session_id: &str,
        user: &User,
    ) -> Result<(), AuthError> {
        let t = now();
        let (ip, agent) = request_from().unwrap_or_default();
        if self.records_devices().await? {
            with_db!(&self.db, pool => {
                sqlx::query(
                    "INSERT INTO user_sessions (session_id, user_id, created_at, last_seen_at, \
                     user_agent, ip) VALUES ($1, $2, $3, $3, $4, $5)",
                )
                .bind(session_id)
                .bind(user.id)
                .bind(t)
                .bind(&agent)
                .bind(&ip)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
            })?;
        } else {
            with_db!(&self.db, pool => {
                sqlx::query(
                    "INSERT INTO user_sessions (session_id, user_id, created_at) VALUES ($1, $2, $3)",
                )
                .bind(session_id)
                .bind(user.id)
                .bind(t)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// The session `session_id` is in use now, from where the current request comes from (the
    /// request's user look-up calls it at most once a minute per session).
    pub(super) async fn session_seen(&self, session_id: &str) -> Result<(), AuthError> {
        let Some((ip, agent)) = request_from() else {
            return Ok(());
        };
        if !self.records_devices().await? {
            return Ok(());
        }
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE user_sessions SET last_seen_at = $2, ip = COALESCE($3, ip), \
                 user_agent = COALESCE($4, user_agent) WHERE session_id = $1",
            )
            .bind(session_id)
            .bind(now())
            .bind(&ip)
            .bind(&agent)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The logged-in sessions of `user`, the most recently used first; `current` (this
    /// request's session) is marked. Sessions that ended without a log-out (timed out) are
    /// left out, and forgotten.
    pub async fn devices(
        &self,
        user: &User,
        current: &Session,
    ) -> Result<Vec<DeviceSession>, AuthError> {
        type Row = (String, i64, Option<i64>, Option<String>, Option<String>);
        let rows: Vec<Row> = if self.records_devices().await? {
            with_db!(&self.db, pool => {
                sqlx::query_as(
                    "SELECT session_id, created_at, last_seen_at, user_agent, ip \
                     FROM user_sessions WHERE user_id = $1 \
                     ORDER BY COALESCE(last_seen_at, created_at) DESC LIMIT 100",
                )
                .bind(user.id)
                .fetch_all(pool)
                .await
            })?
        } else {
            let rows: Vec<(String, i64)> = with_db!(&self.db, pool => {
                sqlx::query_as(
                    "SELECT session_id, created_at FROM user_sessions WHERE user_id = $1 \
                     ORDER BY created_at DESC LIMIT 100",
                )
                .bind(user.id)
                .fetch_all(pool)
                .await
            })?;
            rows.into_iter()
                .map(|(id, created)| (id, created, None, None, None))
                .collect()
        };
        let current = current.id().map(|id| id.to_string());
        let mut devices = Vec::with_capacity(rows.len());
        for (session_id, created_at, last_seen_at, user_agent, ip) in rows {
            let is_current = current.as_deref() == Some(session_id.as_str());
            if !is_current && !self.session_alive(&session_id).await? {
                self.forget_session(&session_id).await?;
                continue;
            }
            devices.push(DeviceSession {
                handle: handle(&session_id),
                created_at,
                last_seen_at,
                user_agent,
                ip,
                current: is_current,
            });
        }
        Ok(devices)
    }

    /// Whether the store still has the session (it did not time out).
    async fn session_alive(&self, session_id: &str) -> Result<bool, AuthError> {
        let Ok(id) = session_id.parse::<Id>() else {
            return Ok(false);
        };
        let record = self.store.load(&id).await.map_err(Error::internal)?;
        Ok(record.is_some())
    }

    /// End the session of `user` that `handle` names ([`DeviceSession::handle`]): it is logged
    /// out at its next request. `false` when no session of the account has that handle.
    pub async fn end_device(&self, user: &User, handle_: &str) -> Result<bool, AuthError> {
        let ids: Vec<String> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT session_id FROM user_sessions WHERE user_id = $1")
                .bind(user.id)
                .fetch_all(pool)
                .await
        })?;
        let Some(id) = ids.into_iter().find(|id| handle(id) == handle_) else {
            return Ok(false);
        };
        // The record first (if that fails, the session stays listed, to be ended again), then
        // the log-in row: a request of that session under way that saves its record again finds
        // no log-in behind it.
        if let Ok(parsed) = id.parse::<Id>() {
            self.store.delete(&parsed).await.map_err(Error::internal)?;
        }
        self.forget_session(&id).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_read_coarsely() {
        for (header, said) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome on Windows 10",
            ),
            ("", "Unknown browser"),
            ("curl/8.5.0", "HTTP Library"),
        ] {
            assert_eq!(coarse_user_agent(header), said, "{header}");
        }
        assert!(coarse_user_agent(&"x".repeat(2 * 1024 * 1024)).len() < 64);
    }

    #[test]
    fn handles_do_not_show_the_session_id() {
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(handle(id).len(), 32);
        assert!(!handle(id).contains(id));
        assert_ne!(handle(id), handle("AAAAAAAAAAAAAAAAAAAAAB"));
    }
}
