//! Two-factor log-in: after the password (or a log-in link, or a provider), an account that
//! has it on gives a code from an authenticator app (TOTP, RFC 6238) or one of its recovery
//! codes before the session is logged in.
//!
//! - The secret is made here, shown once as a QR code and as text, and turned on only by a
//!   first code from the app. It is stored encrypted (XChaCha20-Poly1305, with a key derived
//!   from the cookie secret by HKDF and bound to the account), so a copy of the database alone
//!   cannot make codes.
//! - A code is good once: the time step of the last code accepted is kept, and a code of that
//!   step or an earlier one is refused, in the same statement that accepts it.
//! - Ten recovery codes (80 bits each) are shown once and stored as SHA-256 hashes; each works
//!   once, spent in one statement.
//! - Wrong codes are throttled per account (5, then a wait that doubles up to an hour).
//! - Turning it on, making new recovery codes and turning it off are sensitive changes
//!   ([`Accounts::sudo`]); turning it on ends every other session.
//! - The second step waits five minutes at most, in a session that is not logged in yet; a
//!   password change or a log-out everywhere meanwhile voids it.

use serde::{Deserialize, Serialize};

mod setup;

use super::otp;
use super::{ACCOUNT_FREE_FAILURES, Accounts, AuthError, Device, User, missing_table, throttle};
use crate::db::now;
use crate::error::Error;
use crate::session::Session;
use crate::with_db;

/// Session key of a log-in that waits for its second step.
const SECOND_STEP_KEY: &str = "torn.second_step";
/// How long the second step may take, in seconds.
pub const SECOND_STEP_SECS: i64 = 300;
/// Session key of the set-up this session began (the sealed secret it wrote).
const SETUP_KEY: &str = "torn.two_factor_setup";
/// How long a set-up may take before its first code, in seconds.
const SETUP_SECS: i64 = 600;

/// A log-in that waits for its second step, kept in the session.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    user_id: i64,
    /// The account's security stamp at the first step: if it moved, the log-in is void.
    stamp: i64,
    remember: bool,
    /// The first step was the password: the sudo window opens with the log-in.
    sudo: bool,
    at: i64,
    /// The throttle key wrong codes count on: the browser's own, when it logged in to the
    /// account before (its device cookie), else the account's.
    #[serde(default)]
    counter: Option<String>,
}

/// What [`Accounts::log_in`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogIn {
    /// The session is logged in.
    Done,
    /// The account has two-factor log-in on: the session is not logged in yet, and waits for
    /// a code ([`Accounts::second_step`]). Send the browser to the page that asks for it.
    SecondStep,
}

/// A secret being set up: show the QR code and the text, and ask for a first code.
#[derive(Clone, Debug)]
pub struct TwoFactorSetup {
    /// The secret in base 32, in groups of four, for apps that cannot read the QR code.
    pub secret: String,
    /// The `otpauth://` URL the QR code holds.
    pub url: String,
    /// The QR code, an `<svg>` element (put it in the page unescaped).
    pub qr_svg: String,
}

/// Whether an account has two-factor log-in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TwoFactorStatus {
    /// On: log-ins ask for a code.
    pub on: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

/// A second step that passed: the session is logged in.
#[derive(Clone, Debug)]
pub struct SecondStep {
    /// Who logged in.
    pub user: User,
    /// With a recovery code (now spent), not a code from the app.
    pub recovery_code_used: bool,
    /// Recovery codes left.
    pub recovery_codes_left: i64,
}

impl Accounts {
    /// Whether `user` has two-factor log-in on, and how many recovery codes are left (one
    /// statement, for the account page).
    pub async fn two_factor(&self, user: &User) -> Result<TwoFactorStatus, AuthError> {
        let found: Result<(i64, i64), sqlx::Error> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM user_two_factor WHERE user_id = $1 \
                 AND confirmed_at IS NOT NULL), (SELECT COUNT(*) FROM user_recovery_codes \
                 WHERE user_id = $1 AND used_at IS NULL)",
            )
            .bind(user.id)
            .fetch_one(pool)
            .await
        });
        let (on, left) = match found {
            Ok(found) => found,
            Err(e) if missing_table(&e) => (0, 0),
            Err(e) => return Err(e.into()),
        };
        Ok(TwoFactorStatus {
            on: on > 0,
            recovery_codes_left: if on > 0 { left } else { 0 },
        })
    }

    /// Does the account ask for a second step? An app whose database lacks the two-factor
    /// migration has nobody with it on.
    pub(in crate::auth) async fn two_factor_on(&self, user_id: i64) -> Result<bool, AuthError> {
        let found: Result<Option<i64>, sqlx::Error> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT user_id FROM user_two_factor WHERE user_id = $1 \
                 AND confirmed_at IS NOT NULL",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        });
        match found {
            Ok(found) => Ok(found.is_some()),
            Err(e) if missing_table(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn recovery_codes_left(&self, user_id: i64) -> Result<i64, AuthError> {
        Ok(with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            )
            .bind(user_id)
            .fetch_one(pool)
            .await
        })?)
    }

    /// The first step of a log-in passed for `user` (a password, a link, a provider): log the
    /// session in, or, when the account has two-factor log-in on, keep it logged out and
    /// waiting for the second step ([`LogIn::SecondStep`]). `remember` keeps the session for
    /// `remember_me` rather than the idle timeout.
    pub async fn log_in(
        &self,
        session: &Session,
        user: &User,
        remember: bool,
    ) -> Result<LogIn, AuthError> {
        self.log_in_after(session, user, remember, None).await
    }

    /// [`Accounts::log_in`] after [`Accounts::authenticate_device`] checked the password from
    /// `device`: the sudo window opens too, once the session is logged in, and a browser that
    /// logged in to the account before counts its wrong codes on its own, so someone else who
    /// has the password cannot lock its owner out of the second step.
    pub async fn log_in_with_password(
        &self,
        session: &Session,
        device: &Device,
        user: &User,
        remember: bool,
    ) -> Result<LogIn, AuthError> {
        self.log_in_after(session, user, remember, Some(device))
            .await
    }

    async fn log_in_after(
        &self,
        session: &Session,
        user: &User,
        remember: bool,
        password_from: Option<&Device>,
    ) -> Result<LogIn, AuthError> {
        let sudo = password_from.is_some();
        if !self.two_factor_on(user.id).await? {
            self.start_session(session, user, remember).await?;
            if sudo {
                self.start_sudo(session).await?;
            }
            return Ok(LogIn::Done);
        }
        // Whoever this session belonged to is logged out; it belongs to nobody until the code.
        self.end_log_in(session).await?;
        let pending = Pending {
            user_id: user.id,
            stamp: user.security_stamp,
            remember,
            sudo,
            at: now(),
            // The nonce the browser had before this log-in (it gets a new one with it).
            counter: password_from
                .and_then(|d| d.nonce_for(&throttle::account_key(&user.email)))
                .map(throttle::device_key),
        };
        let store_error = |e: tower_sessions::session::Error| Error::internal(e);
        session.cycle_id().await.map_err(store_error)?;
        session
            .insert(SECOND_STEP_KEY, pending)
            .await
            .map_err(store_error)?;
        Ok(LogIn::SecondStep)
    }

    /// The account whose log-in waits in this session for its second step, if one does (and
    /// has not timed out).
    pub async fn pending_second_step(&self, session: &Session) -> Result<Option<User>, AuthError> {
        Ok(self.pending(session).await?.map(|(_, user)| user))
    }

    /// The log-in waiting in this session, and its account as it is now: none (and the wait
    /// forgotten) when it timed out, or the account's sessions were ended since.
    async fn pending(&self, session: &Session) -> Result<Option<(Pending, User)>, AuthError> {
        let pending: Option<Pending> = session
            .get(SECOND_STEP_KEY)
            .await
            .map_err(Error::internal)?;
        let Some(pending) = pending else {
            return Ok(None);
        };
        let t = now();
        let user = if pending.at <= t && t - pending.at <= SECOND_STEP_SECS {
            self.user(pending.user_id)
                .await?
                .filter(|u| u.security_stamp == pending.stamp)
        } else {
            None
        };
        if user.is_none() {
            forget_pending(session).await?;
        }
        Ok(user.map(|user| (pending, user)))
    }

    /// The second step of the log-in waiting in this session: a code from the app, or a
    /// recovery code. When it is right, the session is logged in.
    /// [`AuthError::SecondStepExpired`] when no log-in waits (or it timed out, or the account
    /// changed since), [`AuthError::WrongCode`], [`AuthError::Throttled`] after too many.
    pub async fn second_step(
        &self,
        session: &Session,
        code: &str,
    ) -> Result<SecondStep, AuthError> {
        let Some((pending, user)) = self.pending(session).await? else {
            return Err(AuthError::SecondStepExpired);
        };
        let key = pending
            .counter
            .clone()
            .unwrap_or_else(|| throttle::second_step_key(user.id));
        if let Err(refused) = throttle::reserve(&self.db, &key, ACCOUNT_FREE_FAILURES).await {
            tracing::warn!(target: "torn::security", event = "second_step_throttled", account = %key);
            return Err(refused);
        }
        let Some(recovery_code_used) = self.accept_code(&user, code).await? else {
            tracing::warn!(target: "torn::security", event = "second_step_failed", account = %key);
            return Err(AuthError::WrongCode);
        };
        throttle::forget(&self.db, &key).await?;
        forget_pending(session).await?;
        self.start_session(session, &user, pending.remember).await?;
        if pending.sudo {
            self.start_sudo(session).await?;
        }
        Ok(SecondStep {
            recovery_codes_left: self.recovery_codes_left(user.id).await?,
            user,
            recovery_code_used,
        })
    }

    /// Spend a code of `user`'s: `Some(false)` for a code from the app (its time step is then
    /// used up), `Some(true)` for a recovery code (then spent), `None` when it is neither.
    async fn accept_code(&self, user: &User, code: &str) -> Result<Option<bool>, AuthError> {
        if code.len() > 64 {
            return Ok(None);
        }
        if otp::looks_like_totp(code) {
            let Some(stored) = self.secret(user.id, true).await? else {
                return Ok(None);
            };
            let Some(step) = otp::totp(&stored.secret, "torn", &user.email)
                .and_then(|totp| otp::code_step(&totp, code, now()))
            else {
                return Ok(None);
            };
            // One statement uses the step up: a code replayed, or sent twice at once, passes
            // once.
            let taken = with_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE user_two_factor SET last_step = $2 WHERE user_id = $1 \
                     AND confirmed_at IS NOT NULL AND last_step < $2",
                )
                .bind(user.id)
                .bind(step)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
            })?;
            if taken == 1 && stored.old_key {
                self.reseal(user.id, &stored).await?;
            }
            return Ok((taken == 1).then_some(false));
        }
        let Some(hash) = otp::recovery_code_hash(code) else {
            return Ok(None);
        };
        let spent = with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE user_recovery_codes SET used_at = $3 WHERE user_id = $1 \
                 AND code_hash = $2 AND used_at IS NULL",
            )
            .bind(user.id)
            .bind(&hash)
            .bind(now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok((spent == 1).then_some(true))
    }

    /// The account's secret, confirmed or being set up, decrypted.
    async fn secret(&self, user_id: i64, confirmed: bool) -> Result<Option<Stored>, AuthError> {
        let sealed: Option<String> = if confirmed {
            with_db!(&self.db, pool => {
                sqlx::query_scalar(
                    "SELECT secret FROM user_two_factor WHERE user_id = $1 \
                     AND confirmed_at IS NOT NULL",
                )
                .bind(user_id)
                .fetch_optional(pool)
                .await
            })?
        } else {
            with_db!(&self.db, pool => {
                sqlx::query_scalar(
                    "SELECT secret FROM user_two_factor WHERE user_id = $1 \
                     AND confirmed_at IS NULL AND created_at > $2",
                )
                .bind(user_id)
                .bind(now() - SETUP_SECS)
                .fetch_optional(pool)
                .await
            })?
        };
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let Some((secret, old_key)) = otp::open(&self.settings.cookies.keys, user_id, &sealed)
        else {
            tracing::error!(
                user_id,
                "the two-factor secret cannot be decrypted: its cookie-secret key version is \
                 gone, or the row was altered; the account can log in with a recovery code"
            );
            return Ok(None);
        };
        Ok(Some(Stored {
            secret,
            sealed,
            old_key,
        }))
    }

    /// Seal a confirmed secret again with the current key version (it was sealed with an
    /// older one), unless it changed meanwhile.
    async fn reseal(&self, user_id: i64, stored: &Stored) -> Result<(), AuthError> {
        let sealed = otp::seal(&self.settings.cookies.keys, user_id, &stored.secret);
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE user_two_factor SET secret = $2 WHERE user_id = $1 \
                 AND confirmed_at IS NOT NULL AND secret = $3",
            )
            .bind(user_id)
            .bind(&sealed)
            .bind(&stored.sealed)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}

/// A secret as stored, and decrypted.
struct Stored {
    secret: Vec<u8>,
    /// The row's value.
    sealed: String,
    /// Sealed with an older key version, still listed: sealed again at its next use.
    old_key: bool,
}

/// Drop a log-in that waited for its second step in this session (another log-in replaces it).
pub(in crate::auth) async fn forget_pending(session: &Session) -> Result<(), AuthError> {
    session
        .remove::<Pending>(SECOND_STEP_KEY)
        .await
        .map_err(Error::internal)?;
    Ok(())
}
