//! Why an account operation was refused, in words for the person at the keyboard.

use crate::error::Error;
use crate::password::PasswordProblem;

/// Why an account operation was refused. Messages are for the person at the keyboard and never
/// tell whether an email has an account.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong email or password (the same message for both).
    #[error("The email address or the password is not right.")]
    InvalidCredentials,
    /// Too many failures: try again after this many seconds.
    #[error("Too many failed attempts. Try again in {}.", wait_text(*retry_after))]
    Throttled {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Too much mail asked for (to this address, or from this client): try again after this
    /// many seconds.
    #[error("Too many requests for mail. Try again in {}.", wait_text(*retry_after))]
    MailLimited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The email address does not look like one.
    #[error("Enter an email address such as name@example.com.")]
    InvalidEmail,
    /// The new password breaks the policy.
    #[error("{0}")]
    Password(#[from] PasswordProblem),
    /// The current password, asked again before a sensitive change, is wrong.
    #[error("Your current password is not right.")]
    WrongCurrentPassword,
    /// A sensitive change needs the password again: the session's sudo window is closed.
    #[error("Enter your current password to make this change.")]
    SudoRequired,
    /// A two-factor code (or recovery code) that is wrong, or was used already.
    #[error(
        "That code is not right. Enter the code your authenticator app shows now, or one of your recovery codes."
    )]
    WrongCode,
    /// No log-in waits for its second step in this session (it took too long, or the account
    /// changed meanwhile).
    #[error("Your log-in took too long. Log in again.")]
    SecondStepExpired,
    /// An API token that cannot be made so (the message says why).
    #[error("{0}")]
    InvalidApiToken(String),
    /// A change that needs a confirmed email address first.
    #[error("Confirm your email address first.")]
    VerifyFirst,
    /// Two-factor log-in is on already.
    #[error("Two-factor authentication is already on.")]
    TwoFactorAlreadyOn,
    /// Two-factor log-in is not on, or its set-up was not begun (or ended meanwhile).
    #[error("Two-factor authentication is not set up. Start again.")]
    TwoFactorNotStarted,
    /// Passkeys are off, or `base_url` is not a name browsers let passkeys belong to.
    #[error("Passkeys are not available on this site.")]
    PasskeysUnavailable,
    /// A passkey answer that does not hold: another site's, another ceremony's, unknown, a
    /// counter gone back, or a passkey that is registered already.
    #[error("That passkey was not accepted. Try again, or use another way in.")]
    PasskeyRefused,
    /// No passkey ceremony of this account waits in this session (it took longer than five
    /// minutes, or was finished already).
    #[error("That took too long. Try again.")]
    PasskeyExpired,
    /// A passkey that cannot be added or renamed so (the message says why).
    #[error("{0}")]
    InvalidPasskey(String),
    /// A token that is unknown, used, expired, or for an address the account no longer has.
    #[error(
        "This link is not valid any more. Links work once, for a limited time; ask for a new one."
    )]
    InvalidToken,
    /// The new email address belongs to another account.
    #[error("That email address cannot be used. Choose another.")]
    EmailUnavailable,
    /// An address change to the address the account already has.
    #[error("That is already your email address.")]
    SameEmail,
    /// Anything else (database down, …): a 500.
    #[error(transparent)]
    Internal(#[from] Error),
}

impl From<AuthError> for Error {
    /// A refused operation as an HTTP error: 429 when throttled, 500 for internal failures,
    /// 400 otherwise, with the same message.
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Internal(e) => e,
            AuthError::Throttled { .. } | AuthError::MailLimited { .. } => {
                Error::new(axum::http::StatusCode::TOO_MANY_REQUESTS, e.to_string())
            }
            other => Error::bad_request(other.to_string()),
        }
    }
}

impl AuthError {
    /// For a refusal that passes with time ([`AuthError::Throttled`],
    /// [`AuthError::MailLimited`]), the seconds to wait: answer `429` with `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::Throttled { retry_after } | AuthError::MailLimited { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Internal(Error::internal(e))
    }
}

pub(super) fn wait_text(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} seconds"),
        60..=119 => "a minute".to_string(),
        _ if secs < 3600 => format!("{} minutes", secs.div_ceil(60)),
        _ => "an hour".to_string(),
    }
}
