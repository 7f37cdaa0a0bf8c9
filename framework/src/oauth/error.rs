//! Why a social log-in failed, in words for the person at the keyboard.

use axum::http::StatusCode;

use crate::auth::AuthError;
use crate::error::Error;

/// Why a social log-in failed. Every message is for the person at the keyboard; nothing was
/// created or changed.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// No such provider is configured.
    #[error("There is no sign-in with {0:?} here.")]
    UnknownProvider(String),
    /// The person said no at the provider.
    #[error("You cancelled signing in with {0}. Nothing was changed.")]
    Denied(String),
    /// The provider answered with another error.
    #[error("{label} could not sign you in ({error}). Please try again.")]
    Provider {
        /// The provider.
        label: String,
        /// Its error code.
        error: String,
    },
    /// No sign-in was started in this browser, or it was already finished.
    #[error(
        "This sign-in was not started in this browser, or it was already used. Please start \
         again."
    )]
    NoFlow,
    /// The `state` does not match the flow.
    #[error("This sign-in does not match the one started in this browser. Please start again.")]
    StateMismatch,
    /// The response names another issuer (RFC 9207), or none where one is required.
    #[error("This answer did not come from {0}. Please start again.")]
    IssuerMismatch(String),
    /// The flow is older than ten minutes.
    #[error("This sign-in took too long. Please start again.")]
    Expired,
    /// The provider could not be reached or was too slow.
    #[error("{0} could not be reached. Please try again in a moment.")]
    Unreachable(String),
    /// The provider refused the code exchange.
    #[error("{0} did not accept the sign-in. Please start again.")]
    Exchange(String),
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce).
    #[error("{0}'s answer could not be verified. Please start again.")]
    BadIdToken(String),
    /// The profile was malformed or incomplete.
    #[error("{label} did not send a usable profile ({missing}).")]
    Profile {
        /// The provider.
        label: String,
        /// What was wrong.
        missing: String,
    },
    /// The provider shared no email address, and there is no account to link it to.
    #[error(
        "{0} did not share an email address, which an account here needs. Allow access to \
         your email address, or sign up with a password."
    )]
    NoEmail(String),
    /// An account has the address, but the provider does not vouch for it.
    #[error(
        "An account with this email address already exists. Log in with your password, then \
         link {0} from your account page."
    )]
    EmailTaken(String),
    /// The provider did not verify the address it gave, and no account has it.
    #[error(
        "{0} has not confirmed your email address, so it cannot make an account here. Sign up \
         with your email address and a password, then link {0} from your account page."
    )]
    UnverifiedEmail(String),
    /// Linking from an account whose address is not confirmed yet.
    #[error(
        "Confirm your email address first (follow the link in the mail we sent you), then link \
         {0}."
    )]
    VerifyBeforeLinking(String),
    /// The provider account belongs to another user.
    #[error("This {0} account is already linked to another account.")]
    LinkedElsewhere(String),
    /// Removing it would leave no way to log in.
    #[error(
        "{0} is the only way to log in to your account. Set a password (\"Forgot your \
         password?\") or link another provider first."
    )]
    LastLogin(String),
    /// The provider is not linked to this account.
    #[error("{0} is not linked to your account.")]
    NotLinked(String),
    /// The account layer failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<OAuthError> for Error {
    fn from(e: OAuthError) -> Self {
        let status = match &e {
            OAuthError::UnknownProvider(_) => StatusCode::NOT_FOUND,
            OAuthError::Unreachable(_) | OAuthError::Exchange(_) | OAuthError::Profile { .. } => {
                StatusCode::BAD_GATEWAY
            }
            OAuthError::EmailTaken(_) | OAuthError::LinkedElsewhere(_) => StatusCode::CONFLICT,
            OAuthError::VerifyBeforeLinking(_) => StatusCode::FORBIDDEN,
            OAuthError::Auth(_) => return Error::from(unwrap_auth(e)),
            _ => StatusCode::BAD_REQUEST,
        };
        Error::new(status, e.to_string())
    }
}

pub(super) fn unwrap_auth(e: OAuthError) -> AuthError {
    match e {
        OAuthError::Auth(a) => a,
        other => AuthError::Internal(Error::internal(other.to_string())),
    }
}

pub(super) fn internal(e: impl std::fmt::Display) -> OAuthError {
    OAuthError::Auth(AuthError::Internal(Error::internal(e.to_string())))
}
