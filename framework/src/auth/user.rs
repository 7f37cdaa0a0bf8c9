//! The account row, the canonical form of an email address, and the outcome of a sign-up.

use super::AuthError;

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    /// Random 63-bit id.
    pub id: i64,
    /// Lower-cased email address.
    pub email: String,
    /// argon2id hash, if the account has a password.
    #[sqlx(default)]
    pub(super) password_hash: Option<String>,
    /// When the email address was confirmed (Unix seconds).
    pub email_verified_at: Option<i64>,
    /// When the account was made (Unix seconds).
    pub created_at: i64,
    /// Goes up whenever every session must end; a session made under an older one is dead.
    #[sqlx(default)]
    pub(crate) security_stamp: i64,
}

impl User {
    /// Has the address been confirmed?
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// Can the account log in with a password?
    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
}

pub(super) const USER_COLUMNS: &str =
    "id, email, password_hash, email_verified_at, created_at, security_stamp";
/// [`USER_COLUMNS`] of the table named `u`.
pub(super) const JOINED_USER_COLUMNS: &str = "u.id AS id, u.email AS email, \
     u.password_hash AS password_hash, u.email_verified_at AS email_verified_at, \
     u.created_at AS created_at, u.security_stamp AS security_stamp";

/// The outcome of a sign-up. The page says the same in both cases ("check your email"); the
/// mail differs, so the page never reveals whether the address had an account.
#[derive(Debug)]
pub enum SignUp {
    /// A new account, and the token for its verification link.
    Created {
        /// The account.
        user: User,
        /// Verification token for the link.
        verify_token: String,
    },
    /// The address already has an account: tell its owner by mail instead.
    AlreadyRegistered {
        /// The existing account.
        user: User,
    },
}

/// The longest email address, in bytes (RFC 5321's path limit less the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest password [`Accounts::authenticate`](super::Accounts::authenticate) looks at, in bytes: the longest a policy can
/// allow ([`crate::config::MAX_PASSWORD_LENGTH`] characters of up to 4 bytes).
pub const MAX_PASSWORD_BYTES: usize = 4 * crate::config::MAX_PASSWORD_LENGTH;

/// Trim, lower-case and check an email address: the one canonical form stored, compared and
/// mailed to. It must be a bare address that the mailer parses as one (`lettre::Address`), so
/// `<victim@example.com>` or `"Victim" <victim@example.com>` are refused rather than stored as
/// other accounts whose mail reaches the same mailbox.
pub fn normalize_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .parse::<lettre::Address>()
            .is_ok_and(|address| address.to_string() == email)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(AuthError::InvalidEmail)
    }
}
