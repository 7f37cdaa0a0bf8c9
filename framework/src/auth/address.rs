//! The address of an account: changing it (pending until the link mailed to the new address
//! is followed), and how much mail anyone can make the app send.

use std::net::IpAddr;

use super::{
    Accounts, AuthError, MAIL_FREE_PER_ADDRESS, MAIL_FREE_PER_CLIENT, TokenPurpose, User,
    normalize_email, throttle,
};
use crate::db::now;
use crate::error::Error;
use crate::session::Session;
use crate::with_db;

/// An address change waiting for the link mailed to the new address.
#[derive(Debug)]
pub struct PendingEmail {
    /// The new address, normalized: mail the link there.
    pub email: String,
    /// The token for the link.
    pub token: String,
}

/// An address change, confirmed.
#[derive(Debug)]
pub struct EmailChanged {
    /// The account, with its new address.
    pub user: User,
    /// The address it had: tell it of the change.
    pub old_email: String,
}

impl Accounts {
    /// Count a request that makes the app send mail to `email` (sign-up, "forgot password",
    /// the verification link again, an address change), from `client`: past
    /// [`MAIL_FREE_PER_CLIENT`] requests from one client, or [`MAIL_FREE_PER_ADDRESS`] mails to
    /// one address (counted whether or not it has an account, so the answer tells nothing),
    /// [`AuthError::MailLimited`] until the wait is over. Call it before the work: sign-up hashes
    /// a password. Counted in the app's database, so every instance shares the counts.
    pub async fn reserve_mail(&self, email: &str, client: IpAddr) -> Result<(), AuthError> {
        let limited = |refused: AuthError| match refused.retry_after() {
            Some(retry_after) => AuthError::MailLimited { retry_after },
            None => refused,
        };
        let client_key = throttle::mail_client_key(client);
        if let Err(refused) = throttle::reserve(&self.db, &client_key, MAIL_FREE_PER_CLIENT).await {
            tracing::warn!(target: "torn::security", event = "mail_limited_client", client = %client);
            return Err(limited(refused));
        }
        // An address that cannot be one gets no mail: its request fails on its own.
        if let Ok(email) = normalize_email(email) {
            let key = throttle::mail_key(&email);
            if let Err(refused) = throttle::reserve(&self.db, &key, MAIL_FREE_PER_ADDRESS).await {
                tracing::warn!(target: "torn::security", event = "mail_limited_address", client = %client, recipient = %key);
                return Err(limited(refused));
            }
        }
        Ok(())
    }

    /// Ask to change the email address, a sensitive change ([`Accounts::sudo`]:
    /// `current_password` is asked for outside the session's sudo window). Nothing changes
    /// yet: the account keeps its address until the link mailed to the new one is followed
    /// ([`Accounts::confirm_email_change`]). Returns the new address, normalized, and the token
    /// for that link; an earlier pending change is dropped.
    pub async fn change_email(
        &self,
        user: &User,
        current_password: &str,
        new_email: &str,
        session: &Session,
    ) -> Result<PendingEmail, AuthError> {
        self.sudo(session, user, Some(current_password)).await?;
        let email = normalize_email(new_email)?;
        if email == user.email {
            return Err(AuthError::SameEmail);
        }
        if self.user_by_email(&email).await?.is_some() {
            return Err(AuthError::EmailUnavailable);
        }
        let purpose = TokenPurpose::CHANGE_EMAIL;
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE user_tokens SET used_at = $1 \
                 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
            )
            .bind(now())
            .bind(user.id)
            .bind(purpose.as_str())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        let token = self
            .issue_token_to(user.id, &email, purpose, self.token_lifetime(purpose))
            .await?;
        // Made on the security stamp the request was made with: if every session ended
        // meanwhile (the owner of the address took the account over), the link is void.
        if self
            .user(user.id)
            .await?
            .is_none_or(|now| now.security_stamp != user.security_stamp)
        {
            self.end_tokens(user.id).await?;
            return Err(AuthError::WrongCurrentPassword);
        }
        Ok(PendingEmail { email, token })
    }

    /// Follow the link of an address change: the account takes the new address, confirmed,
    /// and every other outstanding link of the account (those mailed to the old address)
    /// stops working. Returns the account and its old address, to tell it of the change.
    pub async fn confirm_email_change(&self, token: &str) -> Result<EmailChanged, AuthError> {
        let (user_id, email) = self.spend_token(token, TokenPurpose::CHANGE_EMAIL).await?;
        let Some(before) = self.user(user_id).await? else {
            return Err(AuthError::InvalidToken);
        };
        let t = now();
        let changed = with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3",
            )
            .bind(&email)
            .bind(t)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        });
        match changed {
            Ok(_) => {}
            Err(e)
                if e.as_database_error()
                    .is_some_and(sqlx::error::DatabaseError::is_unique_violation) =>
            {
                return Err(AuthError::EmailUnavailable);
            }
            Err(e) => return Err(e.into()),
        }
        self.end_tokens(user_id).await?;
        let user = self
            .user(user_id)
            .await?
            .ok_or_else(|| Error::internal("the account just changed cannot be read"))?;
        Ok(EmailChanged {
            user,
            old_email: before.email,
        })
    }
}
