//! Who is who: identities, the (issuer, subject) pairs that tie provider accounts to users,
//! and the rules for finding, linking or making the account a provider's profile belongs to.

use super::profile::Profile;
use super::{OAuthError, SocialLogin, internal};
use crate::auth::{AuthError, User};
use crate::config::ProviderConfig;
use crate::db::{Db, now};
use crate::with_db;

/// A linked provider account, as shown on an account page.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Identity {
    /// The provider's name in settings and URLs.
    pub provider: String,
    /// The email address the provider gave, if any.
    pub email: Option<String>,
    /// When it was linked (Unix seconds).
    pub created_at: i64,
}

impl SocialLogin {
    /// Find, link or make the account for a checked profile.
    pub(super) async fn account_for(
        &self,
        config: &ProviderConfig,
        issuer: &str,
        profile: &Profile,
        link_user: Option<i64>,
    ) -> Result<User, OAuthError> {
        let accounts = &self.inner.accounts;
        let db = accounts.db();
        let label = config.label.clone();
        let email = profile
            .email
            .as_deref()
            .and_then(|e| crate::auth::normalize_email(e).ok());
        if let Some(owner) = identity_owner(db, issuer, &profile.subject).await? {
            return match link_user {
                Some(id) if id != owner => Err(OAuthError::LinkedElsewhere(label)),
                _ => accounts
                    .user(owner)
                    .await?
                    .ok_or_else(|| internal("an identity's user is missing")),
            };
        }
        if let Some(id) = link_user {
            let user = accounts
                .user(id)
                .await?
                .ok_or_else(|| internal("the logged-in user is missing"))?;
            // Whoever is logged in to an account with an unconfirmed address may not be its
            // owner (anyone can sign up with anyone's address): a provider linked now would stay
            // their way in after the owner confirms the address.
            if !user.is_verified() {
                return Err(OAuthError::VerifyBeforeLinking(label));
            }
            insert_identity(db, issuer, profile, config, user.id, email.as_deref()).await?;
            return Ok(user);
        }
        let Some(email) = email else {
            return Err(OAuthError::NoEmail(label));
        };
        if let Some(existing) = accounts.user_by_email(&email).await? {
            if !profile.email_verified {
                return Err(OAuthError::EmailTaken(label));
            }
            if !existing.is_verified() {
                // Whoever set this account up never proved they own the address: their
                // password, sessions and linked providers go.
                accounts.take_over_unverified(&existing).await?;
            }
            insert_identity(db, issuer, profile, config, existing.id, Some(&email)).await?;
            return Ok(accounts.user(existing.id).await?.unwrap_or(existing));
        }
        // An account holds only an address someone proved they own: one the provider has not
        // verified could be anyone's, and would shut its owner out of signing up.
        if !profile.email_verified {
            return Err(OAuthError::UnverifiedEmail(label));
        }
        let user = accounts.create_without_password(&email, true).await?;
        insert_identity(db, issuer, profile, config, user.id, Some(&email)).await?;
        Ok(user)
    }

    /// The providers linked to this user.
    pub async fn identities(&self, user: &User) -> Result<Vec<Identity>, OAuthError> {
        Ok(with_db!(self.inner.accounts.db(), pool => {
            sqlx::query_as::<_, Identity>(
                "SELECT provider, email, created_at FROM user_identities WHERE user_id = $1 \
                 ORDER BY provider",
            )
            .bind(user.id)
            .fetch_all(pool)
            .await
        })
        .map_err(AuthError::from)?)
    }

    /// Remove a provider from the account, unless it is the last way to log in. The check and
    /// the delete are one transaction that starts by writing the user's row, so unlinks of one
    /// account run one after the other (the row lock on PostgreSQL, the write lock on SQLite):
    /// two at once cannot each remove what the other counted on.
    pub async fn unlink(&self, user: &User, provider: &str) -> Result<(), OAuthError> {
        let config = &self.provider(provider)?.config;
        with_db!(self.inner.accounts.db(), pool => {
            async {
                let mut tx = pool.begin().await?;
                let has_password: Option<bool> = sqlx::query_scalar(
                    "UPDATE users SET updated_at = $2 WHERE id = $1 \
                     RETURNING password_hash IS NOT NULL",
                )
                .bind(user.id)
                .bind(now())
                .fetch_optional(&mut *tx)
                .await?;
                let linked: Vec<String> =
                    sqlx::query_scalar("SELECT provider FROM user_identities WHERE user_id = $1")
                        .bind(user.id)
                        .fetch_all(&mut *tx)
                        .await?;
                let outcome = if !linked.contains(&config.name) {
                    Err(OAuthError::NotLinked(config.label.clone()))
                } else if linked.len() == 1 && has_password != Some(true) {
                    Err(OAuthError::LastLogin(config.label.clone()))
                } else {
                    sqlx::query("DELETE FROM user_identities WHERE user_id = $1 AND provider = $2")
                        .bind(user.id)
                        .bind(&config.name)
                        .execute(&mut *tx)
                        .await?;
                    Ok(())
                };
                tx.commit().await?;
                Ok::<_, sqlx::Error>(outcome)
            }
            .await
        })
        .map_err(AuthError::from)?
    }
}

async fn identity_owner(db: &Db, issuer: &str, subject: &str) -> Result<Option<i64>, AuthError> {
    Ok(with_db!(db, pool => {
        sqlx::query_scalar::<_, i64>(
            "SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(pool)
        .await
    })?)
}

async fn insert_identity(
    db: &Db,
    issuer: &str,
    profile: &Profile,
    config: &ProviderConfig,
    user_id: i64,
    email: Option<&str>,
) -> Result<(), OAuthError> {
    let inserted = with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO user_identities (issuer, subject, provider, user_id, email, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (issuer, subject) DO NOTHING",
        )
        .bind(issuer)
        .bind(&profile.subject)
        .bind(&config.name)
        .bind(user_id)
        .bind(email)
        .bind(now())
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
    .map_err(AuthError::from)?;
    if inserted == 0 {
        // Linked by a simultaneous request; only fine if it was to the same user.
        if identity_owner(db, issuer, &profile.subject).await? != Some(user_id) {
            return Err(OAuthError::LinkedElsewhere(config.label.clone()));
        }
    }
    Ok(())
}
