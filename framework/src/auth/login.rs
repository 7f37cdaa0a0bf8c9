//! Log-in with throttling, the session a log-in makes, log-out (here or everywhere), the user
//! of a session, and the password asked again before a sensitive change.

use std::net::IpAddr;

use tower_sessions::Expiry;
use tower_sessions::session::Id;
use tower_sessions::session_store::SessionStore as _;

use super::preload::Found;
use super::{
    ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES, AUTH_AT_KEY, Accounts, AuthError, Device,
    MAX_EMAIL_LEN, MAX_PASSWORD_BYTES, REMEMBER_KEY, SEEN_AT_KEY, STAMP_KEY, USER_ID_KEY, User,
    normalize_email, throttle,
};
use crate::db::now;
use crate::error::Error;
use crate::session::{Session, time_duration};
use crate::with_db;

impl Accounts {
    /// Check an email and password, with throttling per account and per client address, for
    /// a client without a device cookie (see [`Accounts::authenticate_device`]).
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<User, AuthError> {
        self.authenticate_device(&Device::unknown(client), email, password)
            .await
    }

    /// Check an email and password from this browser, with throttling per client address and
    /// per account. A browser that logged in to the account before (its device cookie says
    /// so) is counted on its own instead of with the account, so failures from elsewhere do
    /// not lock it out; success gives the browser a new device cookie for the account.
    pub async fn authenticate_device(
        &self,
        device: &Device,
        email: &str,
        password: &str,
    ) -> Result<User, AuthError> {
        let client = device.client();
        // Nothing longer than any address or password can be is looked at further: no hash, no
        // key, no row.
        if email.len() > MAX_EMAIL_LEN || password.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::InvalidCredentials);
        }
        let normalized = normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
        let account_key = throttle::account_key(&normalized);
        let address_key = throttle::address_key(client);
        // A browser the account knows counts on its own.
        let device_key = device.nonce_for(&account_key).map(throttle::device_key);
        let attempt_key = device_key.as_deref().unwrap_or(&account_key);
        // Security events name the client and the account's hashed key, never what was typed.
        let event = |event: &str| {
            tracing::warn!(target: "torn::security", event, client = %client, account = %account_key);
        };
        // The client's own address first: a client refused for it spends none of the
        // account's attempts. Each reservation counts the attempt before the password check.
        let from_address =
            match throttle::reserve(&self.db, &address_key, ADDRESS_FREE_FAILURES).await {
                Ok(n) => n,
                Err(refused) => {
                    event("login_throttled_address");
                    return Err(refused);
                }
            };
        let for_account =
            match throttle::reserve(&self.db, attempt_key, ACCOUNT_FREE_FAILURES).await {
                Ok(n) => n,
                Err(refused) => {
                    event(if device_key.is_some() {
                        "login_throttled_device"
                    } else {
                        "login_throttled_account"
                    });
                    throttle::refund(&self.db, &address_key, ADDRESS_FREE_FAILURES).await?;
                    return Err(refused);
                }
            };
        let user = self.user_by_email(&normalized).await?;
        let checked = if let Some(hash) = user.as_ref().and_then(|u| u.password_hash.as_deref()) {
            Some(self.hasher.verify(password, hash).await?)
        } else {
            self.hasher.verify_dummy(password).await?;
            None
        };
        match (user, checked) {
            (Some(user), Some(v)) if v.ok => {
                if v.needs_rehash {
                    let hash = self.hasher.hash(password).await?;
                    self.set_password_hash(user.id, &hash).await?;
                }
                throttle::forget(&self.db, attempt_key).await?;
                throttle::refund(&self.db, &address_key, ADDRESS_FREE_FAILURES).await?;
                // The password asked again has a count of its own, which a stolen session may
                // have run up: the owner who just gave the password is not locked out by it.
                throttle::forget(&self.db, &throttle::reauth_key(user.id)).await?;
                device.remember(&account_key);
                Ok(user)
            }
            // Both attempts stay counted as failures.
            _ => {
                event("login_failed");
                if from_address > ADDRESS_FREE_FAILURES {
                    event("address_locked");
                }
                if for_account > ACCOUNT_FREE_FAILURES {
                    event(if device_key.is_some() {
                        "device_locked"
                    } else {
                        "account_locked"
                    });
                }
                Err(AuthError::InvalidCredentials)
            }
        }
    }

    pub(super) async fn set_password_hash(
        &self,
        user_id: i64,
        hash: &str,
    ) -> Result<(), AuthError> {
        with_db!(&self.db, pool => {
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(now())
                .bind(user_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Log `user` in on this session: a new session id, the user and the time recorded.
    /// With `remember`, the session lives `remember_me` instead of the idle timeout. Every
    /// factor is checked by now ([`Accounts::log_in`] asks for the second one first).
    pub(super) async fn start_session(
        &self,
        session: &Session,
        user: &User,
        remember: bool,
    ) -> Result<(), AuthError> {
        let store_error = |e: tower_sessions::session::Error| Error::internal(e);
        session.cycle_id().await.map_err(store_error)?;
        session
            .insert(USER_ID_KEY, user.id)
            .await
            .map_err(store_error)?;
        session
            .insert(AUTH_AT_KEY, now())
            .await
            .map_err(store_error)?;
        // The stamp as it was when the password was checked: if every session ended since,
        // this one is dead too.
        session
            .insert(STAMP_KEY, user.security_stamp)
            .await
            .map_err(store_error)?;
        session
            .insert(REMEMBER_KEY, remember)
            .await
            .map_err(store_error)?;
        // A sudo window of whoever used the session before is not this user's, nor is a log-in
        // that waited for its second step there.
        session
            .remove::<i64>(super::sudo::SUDO_AT_KEY)
            .await
            .map_err(store_error)?;
        super::two_factor::forget_pending(session).await?;
        if remember {
            session.set_expiry(Some(Expiry::OnInactivity(time_duration(
                self.settings.sessions.remember_me,
            ))));
        }
        session.save().await.map_err(store_error)?;
        let id = session
            .id()
            .ok_or_else(|| Error::internal("the session has no id after saving"))?;
        self.record_session(&id.to_string(), user).await
    }

    /// Whoever is logged in on this session no longer is, though the session goes on (a log-in
    /// to another account waits there for its second step).
    pub(super) async fn end_log_in(&self, session: &Session) -> Result<(), AuthError> {
        let store_error = |e: tower_sessions::session::Error| Error::internal(e);
        if session
            .remove::<i64>(USER_ID_KEY)
            .await
            .map_err(store_error)?
            .is_some()
            && let Some(id) = session.id()
        {
            self.forget_session(&id.to_string()).await?;
        }
        for key in [STAMP_KEY, AUTH_AT_KEY, super::sudo::SUDO_AT_KEY] {
            session.remove::<i64>(key).await.map_err(store_error)?;
        }
        Ok(())
    }

    /// End this session (its id is dead afterwards).
    pub async fn log_out(&self, session: &Session) -> Result<(), AuthError> {
        if let Some(id) = session.id() {
            self.forget_session(&id.to_string()).await?;
        }
        session.flush().await.map_err(Error::internal)?;
        Ok(())
    }

    pub(super) async fn forget_session(&self, id: &str) -> Result<(), AuthError> {
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM user_sessions WHERE session_id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Whether the log-in of `user` in the session `session_id` still holds: that session was
    /// not logged out, and no log-out everywhere or password change came since (the security
    /// stamp is the one `user` was loaded with). An open WebSocket asks now and then.
    #[cfg(feature = "realtime")]
    pub(crate) async fn still_logged_in(
        &self,
        user: &User,
        session_id: &str,
    ) -> Result<bool, AuthError> {
        let found: Option<i64> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT u.id FROM users u JOIN user_sessions s ON s.user_id = u.id \
                 WHERE u.id = $1 AND u.security_stamp = $2 AND s.session_id = $3",
            )
            .bind(user.id)
            .bind(user.security_stamp)
            .bind(session_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(found.is_some())
    }

    /// End every session of a user except `keep` (the current one, if any). Returns how many
    /// ended. The account's security stamp goes up first: a session whose log-in was under
    /// way meanwhile (its password checked before a reset, say) is refused at its first use,
    /// though it was made after the others were ended.
    pub async fn log_out_everywhere(
        &self,
        user_id: i64,
        keep: Option<&Session>,
    ) -> Result<u64, AuthError> {
        let stamp: Option<i64> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "UPDATE users SET security_stamp = security_stamp + 1 WHERE id = $1 \
                 RETURNING security_stamp",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })?;
        if let (Some(session), Some(stamp)) = (keep, stamp) {
            session
                .insert(STAMP_KEY, stamp)
                .await
                .map_err(Error::internal)?;
        }
        let keep = keep.and_then(Session::id).map(|id| id.to_string());
        let ids: Vec<String> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT session_id FROM user_sessions WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(pool)
                .await
        })?;
        let mut ended = 0;
        for id in ids.into_iter().filter(|id| Some(id) != keep.as_ref()) {
            if let Ok(parsed) = id.parse::<Id>() {
                self.store.delete(&parsed).await.map_err(Error::internal)?;
            }
            self.forget_session(&id).await?;
            ended += 1;
        }
        Ok(ended)
    }

    /// The logged-in user of this session, if any. A session past its absolute timeout, or
    /// whose user is gone, is ended here.
    pub async fn current_user(&self, session: &Session) -> Result<Option<User>, AuthError> {
        self.session_user(session, false).await
    }

    /// [`Accounts::current_user`] for the request's own look-up (its extractors, before the
    /// handler runs), which may use the user row loaded with the session.
    pub(crate) async fn request_user(&self, session: &Session) -> Result<Option<User>, AuthError> {
        self.session_user(session, true).await
    }

    async fn session_user(
        &self,
        session: &Session,
        with_loaded: bool,
    ) -> Result<Option<User>, AuthError> {
        let store_error = |e: tower_sessions::session::Error| Error::internal(e);
        let Some(user_id) = session.get::<i64>(USER_ID_KEY).await.map_err(store_error)? else {
            return Ok(None);
        };
        let auth_at = session
            .get::<i64>(AUTH_AT_KEY)
            .await
            .map_err(store_error)?
            .unwrap_or(0);
        let remember = session
            .get::<bool>(REMEMBER_KEY)
            .await
            .map_err(store_error)?
            .unwrap_or(false);
        let limit = if remember {
            self.settings.sessions.remember_me
        } else {
            self.settings.sessions.absolute_timeout
        };
        let now = now();
        if now - auth_at > crate::db::secs_i64(limit) {
            self.log_out(session).await?;
            return Ok(None);
        }
        // Saving the session renews its record's idle timeout (and a remembered cookie).
        let seen_at = session
            .get::<i64>(SEEN_AT_KEY)
            .await
            .map_err(store_error)?
            .unwrap_or(auth_at);
        let idle = if remember {
            self.settings.sessions.remember_me
        } else {
            self.settings.sessions.idle_timeout
        };
        let renew_every = crate::db::secs_i64(idle / 2).min(60);
        let seen = now - seen_at >= renew_every;
        if seen {
            session
                .insert(SEEN_AT_KEY, now)
                .await
                .map_err(store_error)?;
        }
        let stamp = session
            .get::<i64>(STAMP_KEY)
            .await
            .map_err(store_error)?
            .unwrap_or(0);
        // What the session was loaded with, when it agrees; otherwise the database's word.
        let loaded = if with_loaded {
            session.id().and_then(|id| super::preload::take(&id))
        } else {
            None
        };
        let user = match loaded {
            // The log-in row is gone: logged out, though a request under way saved the record
            // again afterwards.
            Some(Found::NoLogIn) => None,
            Some(Found::User(user)) if user.id == user_id && user.security_stamp == stamp => {
                Some(user)
            }
            Some(Found::User(_)) | None => self.user(user_id).await?,
        };
        match user {
            Some(user) if user.security_stamp == stamp => {
                // The device list's "last used", from a request (at most once a minute).
                if seen
                    && with_loaded
                    && let Some(id) = session.id()
                {
                    self.session_seen(&id.to_string()).await?;
                }
                Ok(Some(user))
            }
            _ => {
                self.log_out(session).await?;
                Ok(None)
            }
        }
    }

    /// Change the password, a sensitive change ([`Accounts::sudo`]): `current_password` is
    /// asked for outside the session's sudo window (`""` inside it). Every other session ends.
    pub async fn change_password(
        &self,
        user: &User,
        current_password: &str,
        new_password: &str,
        session: &Session,
    ) -> Result<(), AuthError> {
        self.sudo(session, user, Some(current_password)).await?;
        self.policy.check(new_password, &user.email)?;
        let hash = self.hasher.hash(new_password).await?;
        // On the security stamp the request was made with: if every session ended meanwhile
        // (the address was confirmed by its owner, who took the account over), nothing changes.
        let changed = with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE users SET password_hash = $1, updated_at = $2 \
                 WHERE id = $3 AND security_stamp = $4",
            )
            .bind(&hash)
            .bind(now())
            .bind(user.id)
            .bind(user.security_stamp)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if changed != 1 {
            return Err(AuthError::WrongCurrentPassword);
        }
        self.end_tokens(user.id).await?;
        self.log_out_everywhere(user.id, Some(session)).await?;
        Ok(())
    }

    /// Ask for the password again (before a password or address change). Its attempts are
    /// throttled as log-ins are (a count of their own per account): a stolen session is no way
    /// to guess the password without limit.
    pub(super) async fn reauthenticate(
        &self,
        user: &User,
        password: &str,
    ) -> Result<(), AuthError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::WrongCurrentPassword);
        }
        let stored = self.user(user.id).await?;
        let key = throttle::reauth_key(user.id);
        if let Err(refused) = throttle::reserve(&self.db, &key, ACCOUNT_FREE_FAILURES).await {
            tracing::warn!(target: "torn::security", event = "reauthentication_throttled", account = %key);
            return Err(refused);
        }
        let ok = match stored.as_ref().and_then(|u| u.password_hash.as_deref()) {
            Some(hash) => self.hasher.verify(password, hash).await?.ok,
            None => false,
        };
        if ok {
            throttle::forget(&self.db, &key).await?;
            Ok(())
        } else {
            tracing::warn!(target: "torn::security", event = "reauthentication_failed", account = %key);
            Err(AuthError::WrongCurrentPassword)
        }
    }
}
