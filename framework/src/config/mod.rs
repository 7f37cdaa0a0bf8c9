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
//! The profile is chosen by `TORN_ENV` (`dev` when unset). Environment variables win over the
//! file: `TORN_ENV`, `HOST`, `PORT`, `DATABASE_URL`, `TORN_COOKIE_SECRET`, `TORN_LOG`, and
//! `TORN_ROOT` (the app's folder, where `torn.toml`, `static/` and `.torn/` are).
//! Outside `dev`, a missing or weak cookie secret stops start-up with a message that says how to
//! make one. In `dev` without a secret, one is generated once into `.torn/dev-secret` (ignored by
//! git) so logins survive restarts.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::client::{ProxyHeader, TrustedProxies};
use crate::signing::Keys;

pub(crate) mod providers;
mod secrets;
#[cfg(test)]
mod tests;

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

/// One profile's keys as written in `torn.toml`. Every key is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    host: Option<String>,
    port: Option<u16>,
    database_url: Option<String>,
    cookie_secret: Option<String>,
    cookie_secrets: Option<BTreeMap<String, String>>,
    static_dir: Option<PathBuf>,
    secure_cookies: Option<bool>,
    xsrf_cookies: Option<bool>,
    body_limit: Option<usize>,
    shutdown_timeout_secs: Option<u64>,
    hsts: Option<bool>,
    content_security_policy: Option<String>,
    log: Option<String>,
    session_idle_timeout_secs: Option<u64>,
    session_absolute_timeout_secs: Option<u64>,
    remember_me_secs: Option<u64>,
    verify_token_lifetime_secs: Option<u64>,
    reset_token_lifetime_secs: Option<u64>,
    password_min_length: Option<usize>,
    password_max_length: Option<usize>,
    require_verified_email: Option<bool>,
    smtp_url: Option<String>,
    smtp_ca_file: Option<PathBuf>,
    mail_from: Option<String>,
    base_url: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    proxy_header: Option<String>,
    oauth: Option<BTreeMap<String, providers::Entry>>,
    oauth_timeout_secs: Option<u64>,
}

impl Profile {
    fn overlay(self, top: Profile) -> Profile {
        Profile {
            host: top.host.or(self.host),
            port: top.port.or(self.port),
            database_url: top.database_url.or(self.database_url),
            cookie_secret: top.cookie_secret.or(self.cookie_secret),
            cookie_secrets: top.cookie_secrets.or(self.cookie_secrets),
            static_dir: top.static_dir.or(self.static_dir),
            secure_cookies: top.secure_cookies.or(self.secure_cookies),
            xsrf_cookies: top.xsrf_cookies.or(self.xsrf_cookies),
            body_limit: top.body_limit.or(self.body_limit),
            shutdown_timeout_secs: top.shutdown_timeout_secs.or(self.shutdown_timeout_secs),
            hsts: top.hsts.or(self.hsts),
            content_security_policy: top.content_security_policy.or(self.content_security_policy),
            log: top.log.or(self.log),
            session_idle_timeout_secs: top
                .session_idle_timeout_secs
                .or(self.session_idle_timeout_secs),
            session_absolute_timeout_secs: top
                .session_absolute_timeout_secs
                .or(self.session_absolute_timeout_secs),
            remember_me_secs: top.remember_me_secs.or(self.remember_me_secs),
            verify_token_lifetime_secs: top
                .verify_token_lifetime_secs
                .or(self.verify_token_lifetime_secs),
            reset_token_lifetime_secs: top
                .reset_token_lifetime_secs
                .or(self.reset_token_lifetime_secs),
            password_min_length: top.password_min_length.or(self.password_min_length),
            password_max_length: top.password_max_length.or(self.password_max_length),
            require_verified_email: top.require_verified_email.or(self.require_verified_email),
            smtp_url: top.smtp_url.or(self.smtp_url),
            smtp_ca_file: top.smtp_ca_file.or(self.smtp_ca_file),
            mail_from: top.mail_from.or(self.mail_from),
            base_url: top.base_url.or(self.base_url),
            trusted_proxies: top.trusted_proxies.or(self.trusted_proxies),
            proxy_header: top.proxy_header.or(self.proxy_header),
            oauth: providers::overlay(self.oauth, top.oauth),
            oauth_timeout_secs: top.oauth_timeout_secs.or(self.oauth_timeout_secs),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    default: Profile,
    #[serde(default)]
    dev: Profile,
    #[serde(default)]
    test: Profile,
    #[serde(default)]
    prod: Profile,
}

/// The Content-Security-Policy sent by default. Generated pages satisfy it: no inline scripts or
/// styles, no plugins, no `<base>`, framing only by the same origin.
pub const DEFAULT_CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'self'; form-action 'self'";

/// Everything the framework reads from settings, resolved for one profile.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The profile in force.
    pub env: Env,
    /// Address to bind (default `127.0.0.1`).
    pub host: String,
    /// Port to bind (default 8888, like Tornado's hello world).
    pub port: u16,
    /// Database URL, used by the accounts layer (`sqlite://…` or `postgres://…`).
    pub database_url: Option<String>,
    /// Cookie signing keys.
    pub keys: Keys,
    /// Folder of static files, served under `/static/`.
    pub static_dir: PathBuf,
    /// Mark cookies `Secure` (default: on in prod, off in dev and test, which run on plain HTTP).
    pub secure_cookies: bool,
    /// XSRF protection for unsafe methods (default on).
    pub xsrf_cookies: bool,
    /// Largest request body accepted, in bytes (default 2 MiB).
    pub body_limit: usize,
    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
    pub shutdown_timeout: Duration,
    /// Send `Strict-Transport-Security` (default: on in prod).
    pub hsts: bool,
    /// The Content-Security-Policy header value.
    pub content_security_policy: String,
    /// The log filter (`tracing` env-filter syntax), overridden by `TORN_LOG`.
    pub log: String,
    /// The app's root folder (where `torn.toml` is), for relative paths.
    pub root: PathBuf,
    /// A session ends after this long without a request (default 1 day).
    pub session_idle_timeout: Duration,
    /// A log-in ends this long after it happened, active or not (default 14 days).
    pub session_absolute_timeout: Duration,
    /// With "remember me", both timeouts are this long instead (default 30 days).
    pub remember_me: Duration,
    /// An email-verification link works this long (default 1 day).
    pub verify_token_lifetime: Duration,
    /// A password-reset link works this long (default 1 hour).
    pub reset_token_lifetime: Duration,
    /// Fewest characters in a new password (default 8).
    pub password_min_length: usize,
    /// Most characters in a new password (default 128).
    pub password_max_length: usize,
    /// Pages for logged-in users ([`crate::CurrentUser`]) wait until the user has confirmed
    /// the address: until then they lead to the `unverified` route ("check your mail").
    /// Default off; on in the `torn.toml` of new apps.
    pub require_verified_email: bool,
    /// The SMTP server (`smtps://user:password@host`, …); none: the `mail/` folder in dev.
    pub smtp_url: Option<String>,
    /// A PEM file of certificate authorities to trust for the SMTP server's TLS certificate,
    /// instead of the public ones (a relay with a private CA); relative to the app's folder.
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of the app's mail (default `torn <noreply@localhost>`).
    pub mail_from: String,
    /// The social-login providers offered (`[oauth.<name>]`, `TORN_OAUTH_<NAME>_CLIENT_ID`, …).
    pub oauth: Vec<ProviderConfig>,
    /// How long a request to a social-login provider may take (default 10 s).
    pub oauth_timeout: Duration,
    /// The app's public address, for absolute links in mail (`https://app.example.com`;
    /// default `http://<host>:<port>`, with `127.0.0.1` for `0.0.0.0`). No trailing `/`.
    pub base_url: String,
    /// The reverse proxies whose forwarding header is believed (addresses and networks;
    /// default none, so the client is the TCP peer), and which header they write
    /// (`proxy_header`: `x-forwarded-for` by default, `forwarded`, `x-real-ip`). See
    /// [`crate::client`].
    pub trusted_proxies: TrustedProxies,
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
        let file: File = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.clone(),
                message: e.message().to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let profile = match env("TORN_ENV").filter(|s| !s.trim().is_empty()) {
            Some(name) => name.parse()?,
            None => Env::Dev,
        };
        let chosen = match profile {
            Env::Dev => file.dev,
            Env::Test => file.test,
            Env::Prod => file.prod,
        };
        let mut p = file.default.overlay(chosen);
        if let Some(host) = env("HOST").filter(|s| !s.is_empty()) {
            p.host = Some(host);
        }
        if let Some(port) = env("PORT").filter(|s| !s.is_empty()) {
            p.port = Some(port.trim().parse().map_err(|_| {
                ConfigError::Invalid(format!(
                    "PORT is {port:?}; expected a number from 0 to 65535"
                ))
            })?);
        }
        if let Some(url) = env("DATABASE_URL").filter(|s| !s.is_empty()) {
            p.database_url = Some(url);
        }
        if let Some(log) = env("TORN_LOG").filter(|s| !s.is_empty()) {
            p.log = Some(log);
        }
        if let Some(url) = env("TORN_SMTP_URL").filter(|s| !s.is_empty()) {
            p.smtp_url = Some(url);
        }
        if let Some(file) = env("TORN_SMTP_CA_FILE").filter(|s| !s.is_empty()) {
            p.smtp_ca_file = Some(file.into());
        }
        if let Some(from) = env("TORN_MAIL_FROM").filter(|s| !s.is_empty()) {
            p.mail_from = Some(from);
        }
        if let Some(url) = env("TORN_BASE_URL").filter(|s| !s.is_empty()) {
            p.base_url = Some(url);
        }
        if let Some(list) = env("TORN_TRUSTED_PROXIES") {
            p.trusted_proxies = Some(list.split(',').map(str::to_string).collect());
        }
        if let Some(header) = env("TORN_PROXY_HEADER").filter(|s| !s.is_empty()) {
            p.proxy_header = Some(header);
        }
        let proxy_header = match p.proxy_header.as_deref() {
            Some(name) => name
                .parse()
                .map_err(|e| ConfigError::Invalid(format!("proxy_header: {e}")))?,
            None => ProxyHeader::default(),
        };
        let trusted_proxies =
            TrustedProxies::parse(p.trusted_proxies.as_deref().unwrap_or_default())
                .map_err(|e| ConfigError::Invalid(format!("trusted_proxies: {e}")))?
                .with_header(proxy_header);
        if let Some(url) = &p.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "base_url is {url:?}; it must start with http:// or https:// (for example \
                 https://app.example.com)"
            )));
        }
        let keys = match env("TORN_COOKIE_SECRET").filter(|s| !s.is_empty()) {
            Some(value) => Some(parse_secret_list(&value)?),
            None => secrets_from_profile(&p)?,
        };
        let keys = match keys {
            Some(keys) => {
                if profile != Env::Dev {
                    check_strength(profile, &keys)?;
                }
                keys
            }
            None => match profile {
                Env::Dev => Keys::single(dev_secret(root)?),
                Env::Test => Keys::single(random_secret()),
                Env::Prod => return Err(ConfigError::MissingSecret(profile)),
            },
        };
        let verify_token_lifetime = positive_secs(
            "verify_token_lifetime_secs",
            p.verify_token_lifetime_secs,
            86_400,
        )?;
        let reset_token_lifetime = positive_secs(
            "reset_token_lifetime_secs",
            p.reset_token_lifetime_secs,
            3_600,
        )?;
        let password_min_length = p.password_min_length.unwrap_or(8);
        let password_max_length = p.password_max_length.unwrap_or(128);
        if password_min_length == 0
            || password_min_length > password_max_length
            || password_max_length > MAX_PASSWORD_LENGTH
        {
            return Err(ConfigError::Invalid(format!(
                "password_min_length is {password_min_length} and password_max_length is \
                 {password_max_length}; they need 1 <= min <= max <= {MAX_PASSWORD_LENGTH}"
            )));
        }
        let oauth = providers::resolve(p.oauth.take(), &env)?;
        let oauth_timeout = positive_secs("oauth_timeout_secs", p.oauth_timeout_secs, 10)?;
        let prod = profile == Env::Prod;
        let host = p.host.unwrap_or_else(|| "127.0.0.1".into());
        let port = p.port.unwrap_or(8888);
        let base_url = p
            .base_url
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| {
                let shown = if host == "0.0.0.0" {
                    "127.0.0.1"
                } else {
                    host.as_str()
                };
                format!("http://{shown}:{port}")
            });
        Ok(Settings {
            trusted_proxies,
            env: profile,
            host,
            port,
            database_url: p.database_url.map(|url| sqlite_relative_to(&url, root)),
            keys,
            static_dir: root.join(p.static_dir.unwrap_or_else(|| "static".into())),
            secure_cookies: p.secure_cookies.unwrap_or(prod),
            xsrf_cookies: p.xsrf_cookies.unwrap_or(true),
            body_limit: p.body_limit.unwrap_or(2 * 1024 * 1024),
            shutdown_timeout: Duration::from_secs(p.shutdown_timeout_secs.unwrap_or(30)),
            hsts: p.hsts.unwrap_or(prod),
            content_security_policy: p
                .content_security_policy
                .unwrap_or_else(|| DEFAULT_CSP.to_string()),
            log: p.log.unwrap_or_else(|| default_log(profile).to_string()),
            root: root.to_path_buf(),
            session_idle_timeout: Duration::from_secs(
                p.session_idle_timeout_secs.unwrap_or(86_400),
            ),
            session_absolute_timeout: Duration::from_secs(
                p.session_absolute_timeout_secs.unwrap_or(14 * 86_400),
            ),
            remember_me: Duration::from_secs(p.remember_me_secs.unwrap_or(30 * 86_400)),
            verify_token_lifetime,
            reset_token_lifetime,
            password_min_length,
            password_max_length,
            require_verified_email: p.require_verified_email.unwrap_or(false),
            smtp_url: p.smtp_url,
            smtp_ca_file: p.smtp_ca_file.map(|f| root.join(f)),
            mail_from: p
                .mail_from
                .unwrap_or_else(|| "torn <noreply@localhost>".to_string()),
            base_url,
            oauth,
            oauth_timeout,
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

fn positive_secs(key: &str, value: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
    match value {
        Some(0) => Err(ConfigError::Invalid(format!(
            "{key} is 0; it must be a positive number of seconds, such as {default}"
        ))),
        Some(secs) => Ok(Duration::from_secs(secs)),
        None => Ok(Duration::from_secs(default)),
    }
}

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

fn default_log(env: Env) -> &'static str {
    match env {
        Env::Dev => "info,tower_http=warn",
        Env::Test => "warn",
        Env::Prod => "info",
    }
}

/// The URL with its password hidden, for messages and logs:
/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}
