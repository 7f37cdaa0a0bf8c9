//! Passkeys (`WebAuthn`): a key pair kept by the user's device or password manager, whose
//! private half never leaves it. The account page registers them (a sensitive change, on a
//! confirmed address), several per account, named, renamed and removed there; the log-in page
//! logs in with one, without a password or an email; and a passkey opens the sudo window as
//! the password does.
//!
//! What it defends against: a passkey belongs to this site's name (the host of `base_url`) and
//! signs for its origin only, so a look-alike site cannot ask for it (phishing), and there is
//! nothing on the server worth stealing (the public key). Each ceremony is single-use and
//! waits in the session that began it, for five minutes; the authenticator must verify its
//! user (a PIN, a fingerprint), so a passkey is both factors and a log-in with one asks for no
//! two-factor code; a counter that does not go up (a cloned authenticator) is refused.
//!
//! Passkeys need a name to belong to: `base_url` must be `https://…`, or `http://localhost…`
//! in development. At an IP address (`http://127.0.0.1:8888`) browsers offer none, and
//! [`Accounts::passkeys_offered`] says no.

mod ceremony;

use super::{Accounts, AuthError, User, missing_table};
use crate::config::Settings;
use crate::db::{new_id, now};
use crate::error::Error;
use crate::session::Session;
use crate::with_db;
use ceremony::{Answer, Existing, RelyingParty, Stored, Waiting};

/// Passkeys one account may have.
pub const MAX_PASSKEYS: i64 = 20;

/// Session key of a registration waiting for the browser.
const REGISTER_KEY: &str = "torn.passkey_register";
/// Session key of a log-in waiting for the browser.
const LOG_IN_KEY: &str = "torn.passkey_log_in";
/// Session key of a confirmation (sudo) waiting for the browser.
const CONFIRM_KEY: &str = "torn.passkey_confirm";

/// A passkey as its owner sees it on the account page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passkey {
    /// Its id, to rename or remove it.
    pub id: i64,
    /// The name its owner gave it.
    pub name: String,
    /// When it was added (Unix seconds).
    pub created_at: i64,
    /// When it was last used to log in or confirm (Unix seconds).
    pub last_used_at: Option<i64>,
}

impl Passkey {
    /// "3 hours ago".
    pub fn added(&self) -> String {
        super::sessions::ago(self.created_at)
    }

    /// "3 hours ago", or "never".
    pub fn last_used(&self) -> String {
        self.last_used_at
            .map_or_else(|| "never".to_string(), super::sessions::ago)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl From<Row> for Passkey {
    fn from(r: Row) -> Self {
        Passkey {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct StoredRow {
    id: i64,
    user_id: i64,
    user_handle: String,
    static_state: String,
    dynamic_state: String,
}

/// Characters that change how text around them shows without showing themselves (zero-width
/// spaces and joiners, direction overrides and isolates, the soft hyphen, the byte-order mark):
/// a name with them could pass for another on the list or in the mail.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// A passkey's name, trimmed: 1 to 64 characters, none of them control characters.
fn passkey_name(name: &str) -> Result<&str, AuthError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > 64
        || name.chars().any(|c| c.is_control() || invisible(c))
    {
        return Err(AuthError::InvalidPasskey(
            "Give the passkey a name of 1 to 64 characters.".to_string(),
        ));
    }
    Ok(name)
}

/// Whether an app with these settings offers passkeys (see [`Accounts::passkeys_offered`]).
pub(crate) fn offered(settings: &Settings) -> bool {
    relying_party(settings).is_some()
}

fn relying_party(settings: &Settings) -> Option<RelyingParty> {
    if !settings.accounts.passkeys {
        return None;
    }
    RelyingParty::of(&settings.server.base_url)
}

fn store_error(e: tower_sessions::session::Error) -> AuthError {
    AuthError::Internal(Error::internal(e))
}

impl Accounts {
    /// This site's relying party, when passkeys are on and `base_url` lets browsers use them.
    fn relying_party(&self) -> Option<RelyingParty> {
        relying_party(&self.settings)
    }

    /// Whether the pages offer passkeys: the `passkeys` setting is on and `base_url` is a name
    /// browsers let passkeys belong to (`https://…`, or `http://localhost…`).
    pub fn passkeys_offered(&self) -> bool {
        self.relying_party().is_some()
    }

    fn offered(&self) -> Result<RelyingParty, AuthError> {
        self.relying_party().ok_or(AuthError::PasskeysUnavailable)
    }

    /// The passkeys of `user`, oldest first (none when the app has no `passkeys` table).
    pub async fn passkeys(&self, user: &User) -> Result<Vec<Passkey>, AuthError> {
        let rows: Result<Vec<Row>, sqlx::Error> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 \
                 ORDER BY created_at, id",
            )
            .bind(user.id)
            .fetch_all(pool)
            .await
        });
        match rows {
            Ok(rows) => Ok(rows.into_iter().map(Passkey::from).collect()),
            Err(e) if missing_table(&e) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Begin adding a passkey named `name` to `user`'s account, a sensitive change
    /// ([`Accounts::sudo`] with `password`) that needs a confirmed address: the options to give
    /// `navigator.credentials.create` (as JSON: `PublicKeyCredential.parseCreationOptionsFromJSON`
    /// reads them). The answer goes to [`Accounts::finish_passkey_registration`] from this
    /// session within five minutes.
    pub async fn start_passkey_registration(
        &self,
        session: &Session,
        user: &User,
        password: Option<&str>,
        name: &str,
    ) -> Result<serde_json::Value, AuthError> {
        let rp = self.offered()?;
        if !user.is_verified() {
            return Err(AuthError::VerifyFirst);
        }
        let name = passkey_name(name)?;
        self.sudo(session, user, password).await?;
        let existing: Vec<(String, String)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT credential_id, user_handle FROM passkeys WHERE user_id = $1 \
                 ORDER BY created_at, id",
            )
            .bind(user.id)
            .fetch_all(pool)
            .await
        })?;
        if existing.len() >= usize::try_from(MAX_PASSKEYS).unwrap_or(usize::MAX) {
            return Err(AuthError::InvalidPasskey(
                "You have as many passkeys as an account may: remove one first.".to_string(),
            ));
        }
        let existing: Vec<Existing> = existing
            .into_iter()
            .map(|(credential_id, user_handle)| Existing {
                credential_id,
                user_handle,
            })
            .collect();
        let (options, waiting) =
            ceremony::registration(&rp, user.id, &user.email, name, &existing)?;
        session
            .insert(REGISTER_KEY, waiting)
            .await
            .map_err(store_error)?;
        Ok(options)
    }

    /// Finish adding a passkey to `user`'s account with the browser's answer (the JSON of
    /// `credential.toJSON()`), in the session that began it: the passkey added.
    /// [`AuthError::PasskeyExpired`] when no registration of this account waits here (it took
    /// too long, or was finished already), [`AuthError::PasskeyRefused`] when the answer does not
    /// hold (another origin, another ceremony, no user verification, a passkey registered
    /// already).
    pub async fn finish_passkey_registration(
        &self,
        session: &Session,
        user: &User,
        answer: &str,
    ) -> Result<Passkey, AuthError> {
        let rp = self.offered()?;
        let waiting: Option<Waiting> = session.remove(REGISTER_KEY).await.map_err(store_error)?;
        let waiting = waiting
            .filter(|w| w.user_id == Some(user.id))
            .ok_or(AuthError::PasskeyExpired)?;
        let credential = ceremony::check_registration(&rp, &waiting, answer)?;
        let passkey = Passkey {
            id: new_id(),
            name: waiting.name.clone(),
            created_at: now(),
            last_used_at: None,
        };
        // The limit again, in the insert: registrations finished at once stop at it too.
        let inserted: Result<u64, sqlx::Error> = with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO passkeys (id, user_id, credential_id, user_handle, name, \
                 static_state, dynamic_state, created_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
                 WHERE (SELECT COUNT(*) FROM passkeys WHERE user_id = $2) < $9",
            )
            .bind(passkey.id)
            .bind(user.id)
            .bind(&credential.credential_id)
            .bind(&credential.user_handle)
            .bind(&passkey.name)
            .bind(&credential.static_state)
            .bind(&credential.dynamic_state)
            .bind(passkey.created_at)
            .bind(MAX_PASSKEYS)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        });
        match inserted {
            Ok(1) => {
                tracing::info!(target: "torn::security", event = "passkey_added", user = user.id);
                Ok(passkey)
            }
            Ok(_) => Err(AuthError::InvalidPasskey(
                "You have as many passkeys as an account may: remove one first.".to_string(),
            )),
            // The same credential twice: the first stays whoever's it is.
            Err(e)
                if e.as_database_error()
                    .is_some_and(sqlx::error::DatabaseError::is_unique_violation) =>
            {
                Err(AuthError::PasskeyRefused)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Begin a log-in with a passkey in this session: the options to give
    /// `navigator.credentials.get` (`PublicKeyCredential.parseRequestOptionsFromJSON`). Any
    /// passkey of this site will do; the answer says whose it is.
    pub async fn start_passkey_log_in(
        &self,
        session: &Session,
    ) -> Result<serde_json::Value, AuthError> {
        let rp = self.offered()?;
        let (options, waiting) = ceremony::assertion(&rp, None)?;
        session
            .insert(LOG_IN_KEY, waiting)
            .await
            .map_err(store_error)?;
        Ok(options)
    }

    /// Log in with the browser's answer to [`Accounts::start_passkey_log_in`], in the session
    /// that began it: the passkey is both factors (its authenticator verified its user), so
    /// the session is logged in at once, with its sudo window open, as after a password.
    /// `remember` as for [`Accounts::log_in`]. The account.
    pub async fn log_in_with_passkey(
        &self,
        session: &Session,
        answer: &str,
        remember: bool,
    ) -> Result<User, AuthError> {
        let rp = self.offered()?;
        let waiting: Option<Waiting> = session.remove(LOG_IN_KEY).await.map_err(store_error)?;
        let waiting = waiting.ok_or(AuthError::PasskeyExpired)?;
        let user_id = self.check_passkey(&rp, &waiting, answer).await?;
        let user = self.user(user_id).await?.ok_or(AuthError::PasskeyRefused)?;
        tracing::info!(target: "torn::security", event = "passkey_log_in", user = user.id);
        self.start_session(session, &user, remember).await?;
        self.start_sudo(session).await?;
        Ok(user)
    }

    /// Begin confirming, with one of `user`'s passkeys, that it is them (the sudo window):
    /// the options for `navigator.credentials.get`.
    pub async fn start_passkey_confirmation(
        &self,
        session: &Session,
        user: &User,
    ) -> Result<serde_json::Value, AuthError> {
        let rp = self.offered()?;
        self.session_is(session, user).await?;
        if self.passkeys(user).await?.is_empty() {
            return Err(AuthError::InvalidPasskey(
                "You have no passkey yet: add one first.".to_string(),
            ));
        }
        let (options, waiting) = ceremony::assertion(&rp, Some(user.id))?;
        session
            .insert(CONFIRM_KEY, waiting)
            .await
            .map_err(store_error)?;
        Ok(options)
    }

    /// Open the sudo window of this session with the browser's answer to
    /// [`Accounts::start_passkey_confirmation`]: a passkey of `user`'s own, as fresh as a
    /// password given now.
    pub async fn confirm_with_passkey(
        &self,
        session: &Session,
        user: &User,
        answer: &str,
    ) -> Result<(), AuthError> {
        let rp = self.offered()?;
        let waiting: Option<Waiting> = session.remove(CONFIRM_KEY).await.map_err(store_error)?;
        // The window is the session's: only its own user opens it.
        self.session_is(session, user).await?;
        let waiting = waiting
            .filter(|w| w.user_id == Some(user.id))
            .ok_or(AuthError::PasskeyExpired)?;
        let owner = self.check_passkey(&rp, &waiting, answer).await?;
        if owner != user.id {
            tracing::warn!(target: "torn::security", event = "passkey_of_another_account",
                user = user.id);
            return Err(AuthError::PasskeyRefused);
        }
        self.start_sudo(session).await
    }

    /// The account whose passkey signed `answer` for the ceremony that waited; its counter,
    /// last use and the ceremony are written in one statement that a concurrent use of the
    /// same answer cannot also pass (from an authenticator whose counter stays at 0 too: the
    /// session each request loaded may still hold the ceremony another one just finished).
    async fn check_passkey(
        &self,
        rp: &RelyingParty,
        waiting: &Waiting,
        answer: &str,
    ) -> Result<i64, AuthError> {
        let answer = Answer::parse(answer)?;
        let row: Option<StoredRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, user_id, user_handle, static_state, dynamic_state FROM passkeys \
                 WHERE credential_id = $1",
            )
            .bind(answer.credential_id())
            .fetch_optional(pool)
            .await
        })?;
        let Some(row) = row else {
            tracing::warn!(target: "torn::security", event = "passkey_unknown");
            return Err(AuthError::PasskeyRefused);
        };
        let stored = Stored {
            user_handle: row.user_handle,
            static_state: row.static_state,
            dynamic_state: row.dynamic_state,
        };
        let changed =
            ceremony::check_assertion(rp, waiting, &answer, &stored).inspect_err(|e| {
                if matches!(e, AuthError::PasskeyRefused) {
                    tracing::warn!(target: "torn::security", event = "passkey_refused",
                    user = row.user_id);
                }
            })?;
        let dynamic = changed.as_deref().unwrap_or(&stored.dynamic_state);
        let updated = with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE passkeys SET dynamic_state = $3, last_used_at = $4, last_ceremony = $2 \
                 WHERE id = $1 AND (last_ceremony IS NULL OR last_ceremony <> $2)",
            )
            .bind(row.id)
            .bind(waiting.id())
            .bind(dynamic)
            .bind(now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if updated != 1 {
            // This ceremony was answered already (the same answer sent twice at once).
            tracing::warn!(target: "torn::security", event = "passkey_used_concurrently",
                user = row.user_id);
            return Err(AuthError::PasskeyRefused);
        }
        Ok(row.user_id)
    }

    /// Rename one of `user`'s passkeys; `false` when it has none with this id.
    pub async fn rename_passkey(
        &self,
        user: &User,
        id: i64,
        name: &str,
    ) -> Result<bool, AuthError> {
        let name = passkey_name(name)?;
        let updated = with_db!(&self.db, pool => {
            sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user.id)
                .bind(name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(updated == 1)
    }

    /// Remove one of `user`'s passkeys, a sensitive change ([`Accounts::sudo`] with
    /// `password`): the passkey removed, or `None` when it has none with this id.
    pub async fn remove_passkey(
        &self,
        session: &Session,
        user: &User,
        password: Option<&str>,
        id: i64,
    ) -> Result<Option<Passkey>, AuthError> {
        self.sudo(session, user, password).await?;
        let removed: Option<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "DELETE FROM passkeys WHERE id = $1 AND user_id = $2 \
                 RETURNING id, name, created_at, last_used_at",
            )
            .bind(id)
            .bind(user.id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(removed.map(Passkey::from))
    }
}
