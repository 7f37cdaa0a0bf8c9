//! Settings: `torn.toml` profiles (`[dev]`, `[test]`, `[prod]`), overridden by the environment.
//!
//! ```toml
//! [default]            # shared by every profile
//! static_dir = "static"
//!
//! [dev]
//! port = 8888
//!
//! [prod]
//! host = "0.0.0.0"
//! ```
//!
//! Every key is declared once, in a group's struct (`groups.rs`: its name, type and default);
//! in code the groups are `settings.server`, `settings.cookies`, and so on. The value in force
//! comes from layers, lowest first (`layers.rs`): the group's default, the profile's built-in
//! default, `[default]`, the profile's section, the environment (`HOST`, `PORT`,
//! `DATABASE_URL`, `TORN_COOKIE_SECRET`, `TORN_LOG`, …). The layers are merged into one table,
//! read once, and checked in one place ([`Settings::load_from`]).
//!
//! The profile is chosen by `TORN_ENV` (`dev` when unset); `TORN_ROOT` names the app's folder
//! (where `torn.toml`, `static/` and `.torn/` are). Outside `dev`, a missing or weak cookie
//! secret stops start-up with a message that says how to make one. In `dev` without a secret,
//! one is generated once into `.torn/dev-secret` (ignored by git) so logins survive restarts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::signing::Keys;

mod checks;
use checks::positive_secs;
mod groups;
mod layers;
pub(crate) mod providers;
mod secrets;
#[cfg(test)]
mod tests;

pub use groups::{
    AccountSettings, CookieSettings, DEFAULT_CSP, DatabaseSettings, JobSettings, LogFormat,
    MailSettings, MetricsSettings, OAuthSettings, PubSubBackend, RealtimeSettings, ServerSettings,
    SessionBackend, SessionSettings,
};
pub use providers::{BUILT_IN, ClientAuth, Endpoints, ProfileSource, ProviderConfig};
use secrets::{
    HOW_TO_MAKE_A_SECRET, check_strength, dev_secret, parse_secret_list, secrets_from_profile,
};
pub use secrets::{MIN_SECRET_LEN, random_secret};

/// Which profile of `torn.toml` is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Env {
    /// Local development: detailed error pages, plain-HTTP cookies, no HSTS.
    Dev,
    /// Automated tests.
    Test,
    /// Production: secure cookies, HSTS, a strong secret required.
    Prod,
}

impl Env {
    /// `dev`, `test` or `prod`.
    pub fn as_str(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Test => "test",
            Env::Prod => "prod",
        }
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Env {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dev" | "development" => Ok(Env::Dev),
            "test" => Ok(Env::Test),
            "prod" | "production" => Ok(Env::Prod),
            other => Err(ConfigError::Invalid(format!(
                "TORN_ENV is {other:?}; expected dev, test or prod"
            ))),
        }
    }
}

/// A settings problem found at start-up. The message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The settings file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The settings file is not valid TOML or has unknown keys.
    #[error("{path} is not valid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("{0}")]
    Invalid(String),
    /// No cookie secret outside dev.
    #[error("no cookie secret is set for the {0} profile: {HOW_TO_MAKE_A_SECRET}")]
    MissingSecret(Env),
    /// A cookie secret that is too short or a known placeholder.
    #[error(
        "the cookie secret (key version {version}) is too weak for the {env} profile: it needs at \
         least {MIN_SECRET_LEN} random bytes; {HOW_TO_MAKE_A_SECRET}"
    )]
    WeakSecret {
        /// The profile.
        env: Env,
        /// The key version of the weak secret.
        version: u32,
    },
}

/// Everything the framework reads from settings, resolved for one profile: each group is a
/// struct of its own, declared once in `groups.rs` with its keys and defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The profile in force.
    pub env: Env,
    /// The app's root folder (where `torn.toml` is), for relative paths.
    pub root: PathBuf,
    /// Listening, the public address, proxies, limits, headers and the log.
    pub server: ServerSettings,
    /// The database.
    pub database: DatabaseSettings,
    /// Cookie signing and XSRF.
    pub cookies: CookieSettings,
    /// How long log-ins last.
    pub sessions: SessionSettings,
    /// Passwords, verification and reset links.
    pub accounts: AccountSettings,
    /// Sending mail.
    pub mail: MailSettings,
    /// Social log-in.
    pub oauth: OAuthSettings,
    /// Pub/sub and WebSockets.
    pub realtime: RealtimeSettings,
    /// Background jobs.
    pub jobs: JobSettings,
    /// Prometheus metrics.
    pub metrics: MetricsSettings,
}

/// The groups as read from one flat table, before they are resolved.
struct Groups {
    server: ServerSettings,
    database: DatabaseSettings,
    cookies: CookieSettings,
    sessions: SessionSettings,
    accounts: AccountSettings,
    mail: MailSettings,
    oauth: OAuthSettings,
    realtime: RealtimeSettings,
    jobs: JobSettings,
    metrics: MetricsSettings,
}

impl Groups {
    /// Read every group from `table`; the error names the first unknown key or bad value.
    fn read(table: &Table) -> Result<Self, String> {
        let mut known = Vec::new();
        let groups = Groups {
            server: group(table, &mut known)?,
            database: group(table, &mut known)?,
            cookies: group(table, &mut known)?,
            sessions: group(table, &mut known)?,
            accounts: group(table, &mut known)?,
            mail: group(table, &mut known)?,
            oauth: group(table, &mut known)?,
            realtime: group(table, &mut known)?,
            jobs: group(table, &mut known)?,
            metrics: group(table, &mut known)?,
        };
        if let Some(key) = table.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(format!(
                "unknown key `{key}`; the keys are {}",
                known.join(", ")
            ));
        }
        Ok(groups)
    }

    /// The checks of values against each other, which need no secret and no environment: run for
    /// every profile, so a mistake in `[prod]` shows in dev too.
    fn check(&self) -> Result<(), ConfigError> {
        let (server, accounts, oauth) = (&self.server, &self.accounts, &self.oauth);
        let health = &server.health_path;
        if !(health.is_empty() || checks::is_plain_path(health)) {
            return Err(ConfigError::Invalid(format!(
                "health_path is {health:?}; it must be a path such as \"/up\" (letters, digits, \
                 `/`, `-`, `_`, `.`), or \"\" for no health check"
            )));
        }
        let url = &server.base_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "base_url is {url:?}; it must start with http:// or https:// (for example \
                 https://app.example.com)"
            )));
        }
        let defaults = AccountSettings::default();
        positive_secs(
            "verify_token_lifetime_secs",
            accounts.verify_token_lifetime,
            defaults.verify_token_lifetime,
        )?;
        positive_secs(
            "reset_token_lifetime_secs",
            accounts.reset_token_lifetime,
            defaults.reset_token_lifetime,
        )?;
        positive_secs(
            "magic_link_lifetime_secs",
            accounts.magic_link_lifetime,
            defaults.magic_link_lifetime,
        )?;
        positive_secs(
            "oauth_timeout_secs",
            oauth.timeout,
            OAuthSettings::default().timeout,
        )?;
        self.check_realtime()?;
        self.check_jobs()?;
        self.check_metrics()?;
        self.check_api_scopes()?;
        let (min, max) = (accounts.password_min_length, accounts.password_max_length);
        if min == 0 || min > max || max > MAX_PASSWORD_LENGTH {
            return Err(ConfigError::Invalid(format!(
                "password_min_length is {min} and password_max_length is {max}; they need \
                 1 <= min <= max <= {MAX_PASSWORD_LENGTH}"
            )));
        }
        Ok(())
    }
}

fn group<T: DeserializeOwned>(table: &Table, known: &mut Vec<&str>) -> Result<T, String> {
    known.extend(layers::fields::<T>());
    T::deserialize(Value::Table(table.clone())).map_err(|e| e.to_string().trim().replace('\n', " "))
}

impl Settings {
    /// Load `torn.toml` and the environment. The app's root folder is `TORN_ROOT` if set,
    /// else the current directory if it holds a `torn.toml`, else the package folder that
    /// `cargo run` names (so `cargo run -p app` works from a workspace root), else the current
    /// directory.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(&Self::root()?, |k| std::env::var(k).ok())
    }

    /// The app's root folder, as [`Settings::load`] finds it.
    pub fn root() -> Result<PathBuf, ConfigError> {
        let cwd = std::env::current_dir().map_err(|source| ConfigError::Read {
            path: PathBuf::from("."),
            source,
        })?;
        Ok(app_root(
            &cwd,
            std::env::var_os("TORN_ROOT").map(PathBuf::from),
            std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        ))
    }

    /// Load from `root/torn.toml` with the given environment lookup (tests pass a closure).
    pub fn load_from(
        root: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let path = root.join("torn.toml");
        let file = layers::read_file(&path)?;
        // Every section is checked, not only the profile's: a mistake in [prod] shows in dev.
        for (name, section) in &file {
            let section = section.as_table().expect("read_file keeps only tables");
            Groups::read(section).map_err(|message| ConfigError::Parse {
                path: path.clone(),
                message: format!("[{name}] {message}"),
            })?;
        }
        let profile = match env("TORN_ENV").filter(|s| !s.trim().is_empty()) {
            Some(name) => name.parse()?,
            None => Env::Dev,
        };
        // Each profile as it would run, less the environment: its values checked together.
        for other in [Env::Dev, Env::Test, Env::Prod] {
            let groups =
                Groups::read(&layers::profile(&file, other)).map_err(ConfigError::Invalid)?;
            groups.check().map_err(|e| {
                ConfigError::Invalid(format!("in the {other} profile of {}: {e}", path.display()))
            })?;
        }
        let mut table = layers::profile(&file, profile);
        let from_env = layers::environment(&env)?;
        for (var, key, _) in layers::ENVIRONMENT {
            if let Some(value) = from_env.get(key) {
                let alone = Table::from_iter([(key.to_string(), value.clone())]);
                Groups::read(&alone).map_err(|e| ConfigError::Invalid(format!("{var}: {e}")))?;
            }
        }
        layers::merge(&mut table, from_env);
        let groups = Groups::read(&table).map_err(ConfigError::Invalid)?;
        Self::resolve(profile, root, groups, &env)
    }

    /// Check the values against each other and turn them into what the framework uses: the
    /// signing keys, the providers, paths in the app's folder. Every check is here.
    fn resolve(
        profile: Env,
        root: &Path,
        groups: Groups,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        groups.check()?;
        let Groups {
            mut server,
            mut database,
            mut cookies,
            sessions,
            accounts,
            mut mail,
            mut oauth,
            realtime,
            jobs,
            metrics,
        } = groups;
        let keys = match env("TORN_COOKIE_SECRET").filter(|s| !s.is_empty()) {
            Some(value) => Some(parse_secret_list(&value)),
            None => {
                secrets_from_profile(cookies.cookie_secret.take(), cookies.cookie_secrets.take())?
            }
        };
        cookies.keys = match keys {
            Some(keys) => {
                if profile != Env::Dev {
                    check_strength(profile, &keys)?;
                }
                keys
            }
            None => match profile {
                Env::Dev => Keys::single(dev_secret(root)),
                Env::Test => Keys::single(random_secret()),
                Env::Prod => return Err(ConfigError::MissingSecret(profile)),
            },
        };
        server.trusted_proxies =
            std::mem::take(&mut server.trusted_proxies).with_header(server.proxy_header);
        if server.base_url.is_empty() {
            let shown = if server.host == "0.0.0.0" {
                "127.0.0.1"
            } else {
                server.host.as_str()
            };
            server.base_url = format!("http://{shown}:{}", server.port);
        } else {
            server.base_url = server.base_url.trim_end_matches('/').to_string();
        }
        oauth.providers = providers::resolve(std::mem::take(&mut oauth.entries), env)?;
        database.url = database.url.map(|url| sqlite_relative_to(&url, root));
        server.static_dir = root.join(&server.static_dir);
        mail.smtp_ca_file = mail.smtp_ca_file.map(|file| root.join(file));
        Ok(Settings {
            env: profile,
            root: root.to_path_buf(),
            server,
            database,
            cookies,
            sessions,
            accounts,
            mail,
            oauth,
            realtime,
            jobs,
            metrics,
        })
    }

    /// Settings for tests: `root` as the app folder, the `[test]` profile of its `torn.toml`
    /// (if any), a random secret, and nothing read from the environment.
    ///
    /// # Panics
    /// If `root/torn.toml` is not valid.
    pub fn for_test(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let mut s = Self::load_from(&root, |k| (k == "TORN_ENV").then(|| "test".to_string()))
            .expect("test settings");
        s.root = root;
        s
    }

    /// Is this the dev profile?
    pub fn is_dev(&self) -> bool {
        self.env == Env::Dev
    }
}

/// The longest password length a policy may allow: longer inputs only cost hashing time.
pub const MAX_PASSWORD_LENGTH: usize = 4096;

/// `sqlite://app.db?mode=rwc` names a file relative to the app's folder, not to wherever the
/// binary was started from; absolute paths, `sqlite::memory:` and other databases are kept.
fn sqlite_relative_to(url: &str, root: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(rest) if !rest.starts_with('/') && !rest.starts_with(':') && !rest.is_empty() => {
            format!("sqlite://{}/{rest}", root.display())
        }
        _ => url.to_string(),
    }
}

fn app_root(cwd: &Path, explicit: Option<PathBuf>, cargo_run: Option<PathBuf>) -> PathBuf {
    if let Some(root) = explicit {
        return cwd.join(root);
    }
    if cwd.join("torn.toml").is_file() {
        return cwd.to_path_buf();
    }
    match cargo_run {
        Some(dir) if dir.join("torn.toml").is_file() => dir,
        _ => cwd.to_path_buf(),
    }
}

/// The URL with its password hidden, for messages and logs:
/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The host starts after the last `@` before the path: a password may hold `@` itself.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some((credentials, host)) = rest[..authority_end]
        .rsplit_once('@')
        .map(|(credentials, host)| (credentials, format!("{host}{}", &rest[authority_end..])))
    else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}
