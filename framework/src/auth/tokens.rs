//! Single-use tokens for email verification, password reset, address changes, log-in links and
//! an app's own purposes: 256 random bits, stored as SHA-256 hashes, redeemed atomically,
//! expiring, and valid only while the account still has the address they were mailed to. Also the hourly purge of the rows that
//! no longer count.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use super::user::JOINED_USER_COLUMNS;
use super::{Accounts, AuthError, User, throttle};
use crate::db::now;
use crate::with_db;

/// What a token is for: its name, stored with it, so that a token made for one purpose is
/// never accepted for another. torn's own are the constants; an app makes its own with
/// [`TokenPurpose::new`] (an invitation, a confirmation of its own), with no change to torn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenPurpose(&'static str);

impl TokenPurpose {
    /// Confirming an email address.
    pub const VERIFY: TokenPurpose = TokenPurpose("verify");
    /// Choosing a new password.
    pub const RESET: TokenPurpose = TokenPurpose("reset");
    /// Confirming a new address before it replaces the account's address.
    pub const CHANGE_EMAIL: TokenPurpose = TokenPurpose("change_email");
    /// Logging in with a link from a mail, instead of a password.
    pub const MAGIC_LINK: TokenPurpose = TokenPurpose("magic_link");

    /// A purpose of the app's own, named `name`: up to 32 characters, with a `.` in it
    /// (`"shop.invite"`), which none of torn's names has, so that an app's token can never be
    /// taken for a reset or a log-in link.
    ///
    /// # Panics
    /// If the name is longer than 32 characters or has no `.` (at compile time in a `const`).
    #[must_use]
    pub const fn new(name: &'static str) -> TokenPurpose {
        let bytes = name.as_bytes();
        let mut dotted = false;
        let mut i = 0;
        while i < bytes.len() {
            dotted |= bytes[i] == b'.';
            i += 1;
        }
        assert!(
            dotted && name.len() <= 32,
            "an app's token purpose is up to 32 characters with a `.` in it, such as \"shop.invite\""
        );
        TokenPurpose(name)
    }

    /// The name stored with the token.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// A lifetime as people say it in a mail: "1 hour", "24 hours", "3 days", "15 minutes".
pub fn for_humans(lifetime: impl std::borrow::Borrow<Duration>) -> String {
    pub(super) fn unit(n: u64, one: &str) -> String {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    }
    let secs = lifetime.borrow().as_secs();
    if secs >= 2 * 86_400 && secs.is_multiple_of(86_400) {
        unit(secs / 86_400, "day")
    } else if secs >= 3_600 && secs.is_multiple_of(3_600) {
        unit(secs / 3_600, "hour")
    } else if secs >= 60 && secs.is_multiple_of(60) {
        unit(secs / 60, "minute")
    } else {
        unit(secs, "second")
    }
}

pub(super) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Accounts {
    /// How long a token of this kind works: `reset_token_lifetime_secs` (default an hour) for
    /// a reset, `magic_link_lifetime_secs` (default 15 minutes) for a log-in link, and
    /// `verify_token_lifetime_secs` (default a day) for the others, an app's own among them
    /// ([`Accounts::issue_token_for`] takes a lifetime of its own).
    pub fn token_lifetime(&self, purpose: TokenPurpose) -> Duration {
        let accounts = &self.settings.accounts;
        match purpose {
            TokenPurpose::RESET => accounts.reset_token_lifetime,
            TokenPurpose::MAGIC_LINK => accounts.magic_link_lifetime,
            _ => accounts.verify_token_lifetime,
        }
    }

    /// Make a single-use token for `user`, good for [`Accounts::token_lifetime`].
    pub async fn issue_token(
        &self,
        user: &User,
        purpose: TokenPurpose,
    ) -> Result<String, AuthError> {
        self.issue_token_for(user, purpose, self.token_lifetime(purpose))
            .await
    }

    /// Make a single-use token with an explicit lifetime.
    pub async fn issue_token_for(
        &self,
        user: &User,
        purpose: TokenPurpose,
        lifetime: Duration,
    ) -> Result<String, AuthError> {
        self.issue_token_to(user.id, &user.email, purpose, lifetime)
            .await
    }

    /// Make a single-use token for the account `user_id`, mailed to `email`.
    pub(super) async fn issue_token_to(
        &self,
        user_id: i64,
        email: &str,
        purpose: TokenPurpose,
        lifetime: Duration,
    ) -> Result<String, AuthError> {
        self.insert_token(user_id, email, purpose, lifetime, None)
            .await
    }

    /// Make a single-use token, bound to the browser whose nonce hashes to `browser_hash`
    /// when there is one (a log-in link).
    pub(super) async fn insert_token(
        &self,
        user_id: i64,
        email: &str,
        purpose: TokenPurpose,
        lifetime: Duration,
        browser_hash: Option<String>,
    ) -> Result<String, AuthError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let t = now();
        // Only a bound token names the column, which apps gained with the migration that
        // brought log-in links.
        let sql = if browser_hash.is_some() {
            "INSERT INTO user_tokens (token_hash, user_id, purpose, email, created_at, \
             expires_at, browser_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        } else {
            "INSERT INTO user_tokens (token_hash, user_id, purpose, email, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
        };
        with_db!(&self.db, pool => {
            let query = sqlx::query(sql)
                .bind(token_hash(&token))
                .bind(user_id)
                .bind(purpose.as_str())
                .bind(email)
                .bind(t)
                .bind(t.saturating_add(crate::db::secs_i64(lifetime)));
            let query = match &browser_hash {
                Some(hash) => query.bind(hash.clone()),
                None => query,
            };
            query.execute(pool).await.map(|r| r.rows_affected())
        })?;
        Ok(token)
    }

    /// Use a token once: the account it belongs to, if it is valid, unused, unexpired and the
    /// account still has the address it was sent to.
    pub async fn redeem_token(
        &self,
        token: &str,
        purpose: TokenPurpose,
    ) -> Result<User, AuthError> {
        let (user_id, email) = self.spend_token(token, purpose).await?;
        match self.user(user_id).await? {
            Some(user) if user.email == email => Ok(user),
            _ => Err(AuthError::InvalidToken),
        }
    }

    /// Mark a token used: the account it is for and the address it was mailed to, if it was
    /// valid, unused and unexpired.
    pub(super) async fn spend_token(
        &self,
        token: &str,
        purpose: TokenPurpose,
    ) -> Result<(i64, String), AuthError> {
        if token.is_empty() || token.len() > 128 {
            return Err(AuthError::InvalidToken);
        }
        let t = now();
        // One statement marks it used and returns it: two concurrent uses cannot both win.
        let row: Option<(i64, String)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "UPDATE user_tokens SET used_at = $1 \
                 WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
                 RETURNING user_id, email",
            )
            .bind(t)
            .bind(token_hash(token))
            .bind(purpose.as_str())
            .fetch_optional(pool)
            .await
        })?;
        row.ok_or(AuthError::InvalidToken)
    }

    /// Confirm an address with a verification token.
    pub async fn verify_email(&self, token: &str) -> Result<User, AuthError> {
        let user = self.redeem_token(token, TokenPurpose::VERIFY).await?;
        let t = now();
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 \
                 WHERE id = $2",
            )
            .bind(t)
            .bind(user.id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(self.user(user.id).await?.unwrap_or(user))
    }

    /// Confirm an address with a verification token followed by `user`, logged in: the token
    /// must be this account's, or it stays unspent ([`AuthError::InvalidToken`]). Whoever
    /// follows the link proves they hold the mailbox; being logged in proves they hold the
    /// password too, so a stranger's click cannot confirm an account someone else made with
    /// the stranger's address (and whose password that someone knows).
    pub async fn verify_email_as(&self, token: &str, user: &User) -> Result<User, AuthError> {
        if token.is_empty() || token.len() > 128 {
            return Err(AuthError::InvalidToken);
        }
        let owner: Option<i64> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT user_id FROM user_tokens WHERE token_hash = $1 AND purpose = $2",
            )
            .bind(token_hash(token))
            .bind(TokenPurpose::VERIFY.as_str())
            .fetch_optional(pool)
            .await
        })?;
        if owner != Some(user.id) {
            return Err(AuthError::InvalidToken);
        }
        self.verify_email(token).await
    }

    /// A reset token for the account with this email, if there is one (the page says the same
    /// either way).
    pub async fn request_reset(&self, email: &str) -> Result<Option<(User, String)>, AuthError> {
        let Some(user) = self.user_by_email(email).await? else {
            return Ok(None);
        };
        let token = self.issue_token(&user, TokenPurpose::RESET).await?;
        Ok(Some((user, token)))
    }

    /// The account a reset token is for, if the token is usable, without using it (to show
    /// the form, and to check the new password before the token is spent).
    pub async fn reset_token_user(&self, token: &str) -> Result<Option<User>, AuthError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {JOINED_USER_COLUMNS} FROM user_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL \
             AND t.expires_at > $3 AND u.email = t.email"
        );
        Ok(with_db!(&self.db, pool => {
            sqlx::query_as::<_, User>(&sql)
                .bind(token_hash(token))
                .bind(TokenPurpose::RESET.as_str())
                .bind(now())
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Choose a new password with a reset token: every session of the account ends, and the
    /// address counts as confirmed (the mail reached it). A password the policy refuses does
    /// not spend the token.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<User, AuthError> {
        let Some(owner) = self.reset_token_user(token).await? else {
            return Err(AuthError::InvalidToken);
        };
        self.policy.check(new_password, &owner.email)?;
        let hash = self.hasher.hash(new_password).await?;
        // Spend the token; if a concurrent request spent it first, stop here.
        let user = self.redeem_token(token, TokenPurpose::RESET).await?;
        let t = now();
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE users SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2), \
                 updated_at = $2 WHERE id = $3",
            )
            .bind(&hash)
            .bind(t)
            .bind(user.id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if user.is_verified() {
            self.end_tokens(user.id).await?;
            self.log_out_everywhere(user.id, None).await?;
        } else {
            // This reset is what proves the address.
            self.forget_before_confirmation(user.id).await?;
        }
        throttle::forget(&self.db, &throttle::account_key(&user.email)).await?;
        throttle::forget(&self.db, &throttle::reauth_key(user.id)).await?;
        // A reset is how an account is taken back: API tokens and passkeys made meanwhile end
        // with the sessions.
        self.remove_keys(user.id).await?;
        Ok(self.user(user.id).await?.unwrap_or(user))
    }

    /// Delete the rows that no longer count: tokens used or expired, throttle rows whose
    /// failures are forgotten and whose lock is over. The server runs it every hour; returns how
    /// many rows went.
    pub async fn purge_expired(&self) -> Result<u64, AuthError> {
        let tokens = with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM user_tokens WHERE used_at IS NOT NULL OR expires_at <= $1")
                .bind(now())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(tokens + throttle::purge(&self.db).await?)
    }

    /// End every unused token of an account (a reset, a password or an address change
    /// succeeded: a reset link mailed before must not set the password again).
    pub(super) async fn end_tokens(&self, user_id: i64) -> Result<(), AuthError> {
        with_db!(&self.db, pool => {
            sqlx::query("UPDATE user_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
                .bind(now())
                .bind(user_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
