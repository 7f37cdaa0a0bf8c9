//! Turning two-factor log-in on (a secret shown once, confirmed by a first code, in the session
//! that began it), new recovery codes, and turning it off.

use sha2::{Digest, Sha256};

use super::super::otp::{self, RECOVERY_CODES};
use super::{SETUP_KEY, Stored, TwoFactorSetup};
use crate::auth::{ACCOUNT_FREE_FAILURES, Accounts, AuthError, User, throttle};
use crate::db::now;
use crate::error::Error;
use crate::session::Session;
use crate::with_db;

impl Accounts {
    /// Write a new secret being set up (replacing any earlier attempt): its sealed value, which
    /// the session that set it up keeps.
    async fn store_setup(&self, user_id: i64, secret: &[u8]) -> Result<String, AuthError> {
        let sealed = otp::seal(&self.settings.cookies.keys, user_id, secret);
        with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO user_two_factor (user_id, secret, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, \
                 created_at = excluded.created_at WHERE user_two_factor.confirmed_at IS NULL",
            )
            .bind(user_id)
            .bind(&sealed)
            .bind(now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(sealed)
    }

    /// The set-up under way for `user` that this session began, within its time.
    async fn own_setup(&self, session: &Session, user: &User) -> Result<Option<Stored>, AuthError> {
        let mine: Option<String> = session.get(SETUP_KEY).await.map_err(Error::internal)?;
        let Some(mine) = mine else {
            return Ok(None);
        };
        let Some(stored) = self.secret(user.id, false).await? else {
            return Ok(None);
        };
        // Compared as hashes: the same time whatever the values.
        let same = Sha256::digest(mine.as_bytes()) == Sha256::digest(stored.sealed.as_bytes());
        Ok(same.then_some(stored))
    }

    /// Begin turning two-factor log-in on for `user`, a sensitive change ([`Accounts::sudo`]
    /// with `password`): a new secret, to show as a QR code and as text. `issuer` names the
    /// app in the authenticator. [`AuthError::VerifyFirst`] until the address is confirmed,
    /// [`AuthError::TwoFactorAlreadyOn`] when it is on.
    pub async fn start_two_factor(
        &self,
        session: &Session,
        user: &User,
        password: Option<&str>,
        issuer: &str,
    ) -> Result<TwoFactorSetup, AuthError> {
        if !user.is_verified() {
            return Err(AuthError::VerifyFirst);
        }
        if self.two_factor_on(user.id).await? {
            return Err(AuthError::TwoFactorAlreadyOn);
        }
        self.sudo(session, user, password).await?;
        let secret = otp::new_secret();
        let sealed = self.store_setup(user.id, &secret).await?;
        session
            .insert(SETUP_KEY, sealed)
            .await
            .map_err(Error::internal)?;
        setup(&secret, issuer, &user.email)
    }

    /// The set-up this session began with [`Accounts::start_two_factor`], to show again
    /// (after a wrong first code); `None` when none is under way (none began here, another
    /// began since, or it is older than ten minutes).
    pub async fn two_factor_setup(
        &self,
        session: &Session,
        user: &User,
        issuer: &str,
    ) -> Result<Option<TwoFactorSetup>, AuthError> {
        match self.own_setup(session, user).await? {
            Some(stored) => setup(&stored.secret, issuer, &user.email).map(Some),
            None => Ok(None),
        }
    }

    /// Finish turning two-factor log-in on with a first code from the app: the recovery codes,
    /// to show once. Every other session of the account ends.
    pub async fn confirm_two_factor(
        &self,
        session: &Session,
        user: &User,
        code: &str,
    ) -> Result<Vec<String>, AuthError> {
        // Only the session that began the set-up (with the password) finishes it.
        let Some(stored) = self.own_setup(session, user).await? else {
            return Err(AuthError::TwoFactorNotStarted);
        };
        let key = throttle::setup_key(user.id);
        throttle::reserve(&self.db, &key, ACCOUNT_FREE_FAILURES).await?;
        let Some(step) = otp::totp(&stored.secret, "torn", &user.email)
            .and_then(|totp| otp::code_step(&totp, code, now()))
        else {
            return Err(AuthError::WrongCode);
        };
        // On the security stamp the request was made with: a set-up by a session that every
        // session's end (a password reset, say) has since voided does not turn on.
        let confirmed = with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE user_two_factor SET confirmed_at = $2, last_step = $3 WHERE user_id = $1 \
                 AND confirmed_at IS NULL AND secret = $5 \
                 AND EXISTS (SELECT 1 FROM users WHERE id = $1 AND security_stamp = $4)",
            )
            .bind(user.id)
            .bind(now())
            .bind(step)
            .bind(user.security_stamp)
            .bind(&stored.sealed)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if confirmed != 1 {
            return Err(AuthError::TwoFactorNotStarted);
        }
        throttle::forget(&self.db, &key).await?;
        session
            .remove::<String>(SETUP_KEY)
            .await
            .map_err(Error::internal)?;
        let codes = self.replace_recovery_codes(user.id).await?;
        // Sessions that logged in without a code end: this one alone stays.
        self.log_out_everywhere(user.id, Some(session)).await?;
        Ok(codes)
    }

    /// New recovery codes for `user` (the old ones stop working), a sensitive change
    /// ([`Accounts::sudo`] with `password`): the codes, to show once.
    pub async fn new_recovery_codes(
        &self,
        session: &Session,
        user: &User,
        password: Option<&str>,
    ) -> Result<Vec<String>, AuthError> {
        if !self.two_factor_on(user.id).await? {
            return Err(AuthError::TwoFactorNotStarted);
        }
        self.sudo(session, user, password).await?;
        self.replace_recovery_codes(user.id).await
    }

    async fn replace_recovery_codes(&self, user_id: i64) -> Result<Vec<String>, AuthError> {
        let codes = otp::new_recovery_codes();
        let hashes: Vec<String> = codes
            .iter()
            .filter_map(|c| otp::recovery_code_hash(c))
            .collect();
        debug_assert_eq!(hashes.len(), RECOVERY_CODES);
        with_db!(&self.db, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query("DELETE FROM user_recovery_codes WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                for hash in &hashes {
                    sqlx::query(
                        "INSERT INTO user_recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                    )
                    .bind(user_id)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
            .await
        })?;
        Ok(codes)
    }

    /// Turn two-factor log-in off for `user`, a sensitive change ([`Accounts::sudo`] with
    /// `password`): the secret and the recovery codes are deleted.
    pub async fn turn_off_two_factor(
        &self,
        session: &Session,
        user: &User,
        password: Option<&str>,
    ) -> Result<(), AuthError> {
        if !self.two_factor_on(user.id).await? {
            return Err(AuthError::TwoFactorNotStarted);
        }
        self.sudo(session, user, password).await?;
        self.remove_two_factor(user.id).await
    }

    /// Delete the account's secret and recovery codes (turned off, or set up before the
    /// address was confirmed, by whoever it was).
    pub(crate) async fn remove_two_factor(&self, user_id: i64) -> Result<(), AuthError> {
        self.delete_rows_of(&["user_recovery_codes", "user_two_factor"], user_id)
            .await
    }
}

fn setup(secret: &[u8], issuer: &str, email: &str) -> Result<TwoFactorSetup, AuthError> {
    let totp = otp::totp(secret, issuer, email)
        .ok_or_else(|| Error::internal("the two-factor secret is not a valid TOTP secret"))?;
    let url = totp.to_url().map_err(Error::internal)?;
    let qr_svg = otp::qr_svg(&url)
        .ok_or_else(|| Error::internal("the two-factor URL is too long for a QR code"))?;
    Ok(TwoFactorSetup {
        secret: otp::secret_text(secret),
        url,
        qr_svg,
    })
}
