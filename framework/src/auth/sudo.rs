//! Sudo mode: sensitive changes (the address, the password, linking or unlinking a provider)
//! ask for the password, and once it is given they pass without asking again for
//! `sudo_window_secs` (ten minutes by default). A log-in with the password opens the window
//! too; a log-in by link or through a provider does not. Wrong passwords count against a
//! throttle of their own per account (5 free, then a growing wait), forgotten when the owner
//! logs in with the password or resets it: a stolen session gets a few guesses, not more.

use super::{Accounts, AuthError, User};
use crate::db::now;
use crate::error::Error;
use crate::session::Session;

/// When the password was last given in this session (Unix seconds).
pub(crate) const SUDO_AT_KEY: &str = "torn.sudo_at";

impl Accounts {
    /// Until when (Unix seconds) this session may make sensitive changes without giving the
    /// password again; `None` when it must give it.
    pub async fn sudo_until(&self, session: &Session) -> Result<Option<i64>, AuthError> {
        let window = crate::db::secs_i64(self.settings.accounts.sudo_window);
        let at: Option<i64> = session.get(SUDO_AT_KEY).await.map_err(Error::internal)?;
        let t = now();
        // A time ahead of this clock (another instance's, or this one's before it stepped
        // back) does not lengthen the window.
        Ok(at
            .filter(|&at| at <= t)
            .map(|at| at.saturating_add(window))
            .filter(|&until| until > t && window > 0))
    }

    /// Open the sudo window of this session now: its user just gave the password (a log-in
    /// with it). [`Accounts::sudo`] does it when it checks the password itself.
    pub async fn start_sudo(&self, session: &Session) -> Result<(), AuthError> {
        session
            .insert(SUDO_AT_KEY, now())
            .await
            .map_err(Error::internal)?;
        Ok(())
    }

    /// Refuse ([`AuthError::SudoRequired`]) unless this session is logged in as `user`: a sudo
    /// window is its session's user's only.
    pub(super) async fn session_is(&self, session: &Session, user: &User) -> Result<(), AuthError> {
        let id: Option<i64> = session
            .get(super::USER_ID_KEY)
            .await
            .map_err(Error::internal)?;
        if id == Some(user.id) {
            Ok(())
        } else {
            Err(AuthError::SudoRequired)
        }
    }

    /// Allow a sensitive change by `user` on this session: with `password` (checked and
    /// throttled, inside the window too, and then the window opens), or without one inside the
    /// sudo window.
    /// [`AuthError::SudoRequired`] when the password is needed and not given,
    /// [`AuthError::WrongCurrentPassword`] when it is wrong, or when the account has none to
    /// give (it chooses one through a reset mail first), [`AuthError::Throttled`] after too
    /// many wrong ones.
    pub async fn sudo(
        &self,
        session: &Session,
        user: &User,
        password: Option<&str>,
    ) -> Result<(), AuthError> {
        match password.filter(|p| !p.is_empty()) {
            // A password given is checked, inside the window too: a wrong one is refused.
            Some(password) => {
                self.reauthenticate(user, password).await?;
                self.start_sudo(session).await
            }
            // The window is the session's user's: never another account's (a request whose
            // user is not the session's, such as one with an API token).
            None if self.sudo_until(session).await?.is_some()
                && session
                    .get::<i64>(super::USER_ID_KEY)
                    .await
                    .map_err(Error::internal)?
                    == Some(user.id) =>
            {
                Ok(())
            }
            None => Err(AuthError::SudoRequired),
        }
    }
}
