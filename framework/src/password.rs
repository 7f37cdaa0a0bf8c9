//! Passwords: argon2id with the OWASP parameters, hashed off the async worker threads.
//!
//! Hashing a password takes tens of milliseconds of CPU and 19 MiB of memory on purpose. Run on
//! the async worker threads, a burst of log-ins would stall every other request; so
//! [`Hasher`] runs each hash on tokio's blocking pool, at most one per CPU at a time (the rest
//! wait their turn), which also bounds the memory a burst can take.
//!
//! [`PasswordPolicy`] checks new passwords the way NIST SP 800-63B and OWASP ASVS ask: a length
//! from 8 to 128 characters by default, no composition rules, and none of the 10,000 most common
//! passwords (of which 3,395 are 8 characters or longer), nor the account's own email address.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::Error;

/// The most common passwords, most common first (from zxcvbn 4.4.2; see
/// `data/common-passwords.LICENSE`).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect())
}

/// Is this password on the common-passwords list (ignoring case)?
pub fn is_common(password: &str) -> bool {
    common_passwords().contains(password.to_lowercase().as_str())
}

/// Rules for new passwords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values). Default 8.
    pub min_length: usize,
    /// Most characters. Default 128.
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
        }
    }
}

/// Why a new password was refused. The message is for the person choosing it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Shorter than the minimum.
    #[error("Use at least {0} characters.")]
    TooShort(usize),
    /// Longer than the maximum.
    #[error("Use at most {0} characters.")]
    TooLong(usize),
    /// On the list of the most common passwords.
    #[error(
        "This password is one of the most common ones, which attackers try first. Choose another."
    )]
    Common,
    /// The same as the account's email address (or its part before the `@`).
    #[error("Do not use your email address as your password.")]
    SameAsEmail,
}

impl PasswordPolicy {
    /// Check a new password for the account with this email address.
    pub fn check(&self, password: &str, email: &str) -> Result<(), PasswordProblem> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(PasswordProblem::TooShort(self.min_length));
        }
        if length > self.max_length {
            return Err(PasswordProblem::TooLong(self.max_length));
        }
        if is_common(password) {
            return Err(PasswordProblem::Common);
        }
        let lowered = password.to_lowercase();
        let email = email.trim().to_lowercase();
        let local = email.split('@').next().unwrap_or("");
        if !email.is_empty() && (lowered == email || lowered == local) {
            return Err(PasswordProblem::SameAsEmail);
        }
        Ok(())
    }
}

/// The result of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub ok: bool,
    /// The hash was made with other parameters than today's: store a new one (only meaningful
    /// when `ok`).
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords with argon2id off the async threads. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: Arc<OnceLock<String>>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("m_cost_kib", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .field("parallel", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new(owasp_params())
    }
}

/// OWASP's first recommended argon2id configuration: 19 MiB, 2 iterations, 1 lane.
pub fn owasp_params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters")
}

impl Hasher {
    /// A hasher with these parameters, running at most one hash per CPU at a time.
    pub fn new(params: Params) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            params,
            permits: Arc::new(Semaphore::new(cpus)),
            dummy: Arc::default(),
        }
    }

    fn argon2(params: &Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::internal(format!("password hasher closed: {e}")))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::internal(format!("password hashing task failed: {e}")))
    }

    /// Hash a password (PHC string format, `$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        let password = password.to_owned();
        let params = self.params.clone();
        self.blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon2(&params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
        })
        .await?
    }

    /// Check a password against a stored hash. A malformed hash is an error, not a mismatch.
    pub async fn verify(&self, password: &str, hash: &str) -> Result<Verified, Error> {
        let password = password.to_owned();
        let hash = hash.to_owned();
        let current = self.params.clone();
        self.blocking(move || {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| Error::internal(format!("stored password hash is malformed: {e}")))?;
            let stored = Params::try_from(&parsed).ok();
            let ok = Self::argon2(&current)
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            let same_algorithm = parsed.algorithm.as_str() == "argon2id"
                && parsed.version == Some(Version::V0x13.into());
            let same_params = stored.is_some_and(|p| {
                p.m_cost() == current.m_cost()
                    && p.t_cost() == current.t_cost()
                    && p.p_cost() == current.p_cost()
            });
            Ok(Verified {
                ok,
                needs_rehash: ok && !(same_algorithm && same_params),
            })
        })
        .await?
    }

    /// Spend the time of one verification without an account, so that a log-in for an unknown
    /// email takes as long as one for a known email with a wrong password.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), Error> {
        let dummy = if let Some(d) = self.dummy.get() {
            d.clone()
        } else {
            let made = self.hash("torn dummy password, never valid").await?;
            self.dummy.get_or_init(|| made).clone()
        };
        self.verify(password, &dummy).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Hasher {
        Hasher::new(Params::new(256, 1, 1, None).unwrap())
    }

    #[tokio::test]
    async fn hashes_verify_and_differ_by_salt() {
        let h = fast();
        let a = h.hash("correct horse battery staple").await.unwrap();
        let b = h.hash("correct horse battery staple").await.unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{a}");
        let ok = h.verify("correct horse battery staple", &a).await.unwrap();
        assert_eq!(
            ok,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        let bad = h.verify("Correct horse battery staple", &a).await.unwrap();
        assert!(!bad.ok);
        assert!(h.verify("x", "not a hash").await.is_err());
    }

    #[tokio::test]
    async fn changed_parameters_ask_for_a_rehash() {
        let old = fast().hash("a long enough password").await.unwrap();
        let stronger = Hasher::new(Params::new(512, 2, 1, None).unwrap());
        let v = stronger
            .verify("a long enough password", &old)
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
        let wrong = stronger.verify("another password", &old).await.unwrap();
        assert_eq!(
            wrong,
            Verified {
                ok: false,
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn the_default_is_owasp_argon2id() {
        let hash = Hasher::default()
            .hash("owasp parameters please")
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[tokio::test]
    async fn dummy_verification_runs() {
        fast().verify_dummy("whatever").await.unwrap();
    }

    #[test]
    fn policy() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("short", "a@b.c"), Err(PasswordProblem::TooShort(8)));
        assert_eq!(
            p.check(&"x".repeat(129), "a@b.c"),
            Err(PasswordProblem::TooLong(128))
        );
        assert_eq!(p.check("password1", "a@b.c"), Err(PasswordProblem::Common));
        assert_eq!(p.check("PassWord1", "a@b.c"), Err(PasswordProblem::Common));
        assert_eq!(p.check("iloveyou2", "a@b.c"), Err(PasswordProblem::Common));
        assert_eq!(p.check("tornado-rust-2026", "a@b.c"), Ok(()));
        assert_eq!(
            p.check("ada.lovelace", "Ada.Lovelace@example.com"),
            Err(PasswordProblem::SameAsEmail)
        );
        assert_eq!(p.check("correct horse battery staple", "a@b.c"), Ok(()));
        // Length counts characters, not bytes, and any character is allowed.
        assert_eq!(p.check("пароль-ёжик", "a@b.c"), Ok(()));
        assert_eq!(
            p.check("ééééééé", "a@b.c"),
            Err(PasswordProblem::TooShort(8))
        );
        assert!(common_passwords().len() >= 10_000);
        assert!(
            COMMON_PASSWORDS
                .lines()
                .filter(|l| l.chars().count() >= 8)
                .count()
                >= 3_000
        );
    }
}
