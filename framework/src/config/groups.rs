//! Every setting, declared once: its `torn.toml` key (the field's name, or its `rename`), its
//! type and its default (the group's `Default`). The keys are flat in `torn.toml`
//! (`port = 8888` in a profile's section, as Tornado's settings are one dictionary); in code
//! they are grouped, `settings.server.port`. Defaults that depend on the profile (`Secure`
//! cookies and HSTS in prod, the log filter) are the layer in `layers::PROFILE_DEFAULTS`.
//!
//! docs/configuration.md lists the keys group by group; a test checks it against these structs.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::providers::{Entry, ProviderConfig};
use super::redact;
use super::secrets::random_secret;
use crate::client::{ProxyHeader, TrustedProxies};
use crate::signing::Keys;

/// The Content-Security-Policy sent by default. Generated pages satisfy it: no inline scripts or
/// styles, no plugins, no `<base>`, framing only by the same origin.
pub const DEFAULT_CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'self'; form-action 'self'";

/// Listening, the public address, proxies, limits, headers and the log (`settings.server`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address to bind (default `127.0.0.1`; `0.0.0.0` for every interface).
    pub host: String,
    /// Port to bind (default 8888, like Tornado's hello world; `0` picks a free one).
    pub port: u16,
    /// The app's public address, for absolute links in mail (`https://app.example.com`;
    /// unset or empty: `http://<host>:<port>`, with `127.0.0.1` for `0.0.0.0`). No trailing
    /// `/`.
    pub base_url: String,
    /// Folder of static files, served under `/static/` (default `static`, in the app's folder).
    pub static_dir: PathBuf,
    /// Largest request body accepted, in bytes (default 2 MiB).
    pub body_limit: usize,
    /// How long in-flight requests may take to finish after SIGINT/SIGTERM (default 30 s).
    #[serde(rename = "shutdown_timeout_secs", deserialize_with = "secs")]
    pub shutdown_timeout: Duration,
    /// The reverse proxies whose forwarding header is believed (addresses and networks;
    /// default none, so the client is the TCP peer), and which header they write
    /// (`proxy_header`: `x-forwarded-for` by default, `forwarded`, `x-real-ip`). See
    /// [`crate::client`].
    #[serde(deserialize_with = "proxies")]
    pub trusted_proxies: TrustedProxies,
    /// Folded into `trusted_proxies` when the settings are resolved.
    #[serde(deserialize_with = "from_str")]
    pub(super) proxy_header: ProxyHeader,
    /// Send `Strict-Transport-Security` (default: on in prod).
    pub hsts: bool,
    /// The Content-Security-Policy header value (default [`DEFAULT_CSP`]).
    pub content_security_policy: String,
    /// The log filter (`tracing` env-filter syntax), overridden by `TORN_LOG`.
    pub log: String,
    /// How log lines are written: `text` for people (dev and test) or `json`, one JSON object
    /// per line, for a machine (prod's default).
    #[serde(deserialize_with = "from_str")]
    pub log_format: LogFormat,
    /// The health check's path (default `/up`; empty: none): 200 when the database answers,
    /// 503 when it does not.
    pub health_path: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            host: "127.0.0.1".into(),
            port: 8888,
            base_url: String::new(),
            static_dir: "static".into(),
            body_limit: 2 * 1024 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            trusted_proxies: TrustedProxies::default(),
            proxy_header: ProxyHeader::default(),
            hsts: false,
            content_security_policy: DEFAULT_CSP.into(),
            health_path: "/up".into(),
            log_format: LogFormat::Text,
            log: "info,tower_http=warn".into(),
        }
    }
}

/// The database (`settings.database`).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://…` (a relative path is relative to the app's folder) or `postgres://…`.
    #[serde(rename = "database_url")]
    pub url: Option<String>,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL's password is never printed.
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url.as_deref().map(redact))
            .finish()
    }
}

/// Cookie signing and XSRF (`settings.cookies`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct CookieSettings {
    /// Cookie signing keys, from `cookie_secret`, `cookie_secrets` or `TORN_COOKIE_SECRET`
    /// (in dev without one, `.torn/dev-secret`; in test, a random one).
    #[serde(skip)]
    pub keys: Keys,
    /// Mark cookies `Secure` (default: on in prod, off in dev and test, which run on plain HTTP).
    #[serde(rename = "secure_cookies")]
    pub secure: bool,
    /// XSRF protection for unsafe methods (default on).
    #[serde(rename = "xsrf_cookies")]
    pub xsrf: bool,
    /// One secret, key version 0; read into `keys` and cleared.
    pub(super) cookie_secret: Option<Hidden>,
    /// Secrets by key version, for rotation; read into `keys` and cleared.
    pub(super) cookie_secrets: Option<Hidden>,
}

impl Default for CookieSettings {
    fn default() -> Self {
        CookieSettings {
            // Replaced when the settings are resolved; a random key signs nothing anyone knows.
            keys: Keys::single(random_secret()),
            secure: false,
            xsrf: true,
            cookie_secret: None,
            cookie_secrets: None,
        }
    }
}

/// How long log-ins last (`settings.sessions`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct SessionSettings {
    /// A session ends after this long without a request (default 1 day).
    #[serde(rename = "session_idle_timeout_secs", deserialize_with = "secs")]
    pub idle_timeout: Duration,
    /// A log-in ends this long after it happened, active or not (default 14 days).
    #[serde(rename = "session_absolute_timeout_secs", deserialize_with = "secs")]
    pub absolute_timeout: Duration,
    /// With "remember me", both timeouts are this long instead (default 30 days).
    #[serde(rename = "remember_me_secs", deserialize_with = "secs")]
    pub remember_me: Duration,
    /// Where sessions live (`session_store`, `TORN_SESSION_STORE`): the app's database (the
    /// default), or Redis.
    #[serde(rename = "session_store", deserialize_with = "from_str")]
    pub store: SessionBackend,
}

/// Why a `rediss://` URL is refused: the Redis client is built without TLS, and would connect
/// in clear (password included) rather than fail.
const NO_REDIS_TLS: &str = "Redis over TLS (rediss://) is not supported: torn's Redis client \
     is built without TLS and would send everything, the password included, in clear. Use \
     redis:// to a Redis on a private network or this machine, or reach it through a TLS \
     tunnel (stunnel, spiped) listening here";

/// Where sessions live (`session_store`).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum SessionBackend {
    /// The app's database (`database`): a table beside the accounts.
    #[default]
    Database,
    /// Redis at this URL (`redis://`; needs torn's `redis` feature).
    Redis(String),
}

impl fmt::Debug for SessionBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionBackend::Database => f.write_str("Database"),
            // The URL's password is never printed.
            SessionBackend::Redis(url) => write!(f, "Redis({:?})", redact(url)),
        }
    }
}

impl std::str::FromStr for SessionBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "database" => Ok(SessionBackend::Database),
            url if url.starts_with("redis://") => Ok(SessionBackend::Redis(url.to_string())),
            url if url.starts_with("rediss://") => Err(NO_REDIS_TLS.to_string()),
            other => Err(format!(
                "session_store is {:?}; expected \"database\" or a redis:// URL",
                redact(other)
            )),
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            idle_timeout: Duration::from_hours(24),
            absolute_timeout: Duration::from_hours(336),
            remember_me: Duration::from_hours(720),
            store: SessionBackend::Database,
        }
    }
}

/// Passwords, verification and reset links (`settings.accounts`).
#[derive(Clone, Debug, Deserialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each is a setting of its own"
)]
#[serde(default)]
pub struct AccountSettings {
    /// Fewest characters in a new password (default 8).
    pub password_min_length: usize,
    /// Most characters in a new password (default 128, at most
    /// [`super::MAX_PASSWORD_LENGTH`]).
    pub password_max_length: usize,
    /// An email-verification link works this long (default 1 day).
    #[serde(rename = "verify_token_lifetime_secs", deserialize_with = "secs")]
    pub verify_token_lifetime: Duration,
    /// A password-reset link works this long (default 1 hour).
    #[serde(rename = "reset_token_lifetime_secs", deserialize_with = "secs")]
    pub reset_token_lifetime: Duration,
    /// A log-in link ("email me a link") works this long (default 15 minutes).
    #[serde(rename = "magic_link_lifetime_secs", deserialize_with = "secs")]
    pub magic_link_lifetime: Duration,
    /// After the password is given (a log-in with it, or asked again), sensitive changes pass
    /// without asking again for this long (default 10 minutes; 0: ask every time).
    #[serde(rename = "sudo_window_secs", deserialize_with = "secs")]
    pub sudo_window: Duration,
    /// Pages for logged-in users (`CurrentUser`) wait until the user has confirmed the address:
    /// until then they lead to the `unverified` route ("check your mail"). Default off; on in
    /// the `torn.toml` of new apps.
    pub require_verified_email: bool,
    /// Offer two-factor authentication (codes from an authenticator app) on the account page
    /// (default on). Off, accounts that have it on keep it, and can turn it off.
    pub two_factor: bool,
    /// Offer personal API tokens on the account page (default on). Off, tokens made before
    /// still work until they expire or are revoked.
    pub api_tokens: bool,
    /// Offer passkeys (`WebAuthn`) on the account and log-in pages (default on). They need
    /// `base_url` to be a name: `https://…`, or `http://localhost…` in development.
    pub passkeys: bool,
    /// The scopes an API token may have (default `["read", "write"]`); routes check them
    /// with the `Scopes` extractor.
    pub api_scopes: Vec<String>,
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings {
            password_min_length: 8,
            password_max_length: 128,
            verify_token_lifetime: Duration::from_hours(24),
            reset_token_lifetime: Duration::from_hours(1),
            magic_link_lifetime: Duration::from_mins(15),
            sudo_window: Duration::from_mins(10),
            require_verified_email: false,
            two_factor: true,
            api_tokens: true,
            passkeys: true,
            api_scopes: vec!["read".to_string(), "write".to_string()],
        }
    }
}

/// Sending mail (`settings.mail`).
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    /// The SMTP server (`smtps://user:password@host`, …); none: the `mail/` folder in dev.
    pub smtp_url: Option<String>,
    /// A PEM file of certificate authorities to trust for the SMTP server's TLS certificate,
    /// instead of the public ones (a relay with a private CA); relative to the app's folder.
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of the app's mail (default `torn <noreply@localhost>`).
    #[serde(rename = "mail_from")]
    pub from: String,
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL's password is never printed.
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact))
            .field("smtp_ca_file", &self.smtp_ca_file)
            .field("from", &self.from)
            .finish()
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: None,
            smtp_ca_file: None,
            from: "torn <noreply@localhost>".into(),
        }
    }
}

/// Social log-in (`settings.oauth`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct OAuthSettings {
    /// The providers offered (`[oauth.<name>]`, `TORN_OAUTH_<NAME>_CLIENT_ID`, …).
    #[serde(skip)]
    pub providers: Vec<ProviderConfig>,
    /// How long a request to a provider may take (default 10 s).
    #[serde(rename = "oauth_timeout_secs", deserialize_with = "secs")]
    pub timeout: Duration,
    /// The `[oauth.<name>]` tables; read into `providers` and cleared.
    #[serde(rename = "oauth")]
    pub(super) entries: BTreeMap<String, Entry>,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        OAuthSettings {
            providers: Vec::new(),
            timeout: Duration::from_secs(10),
            entries: BTreeMap::new(),
        }
    }
}

/// Background jobs (`settings.jobs`): whether this instance works the queues, how many jobs
/// each runs at once, and the timing of leases and retries ([`crate::jobs`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    /// Work the queues in this instance (default true). Off, it only enqueues: for instances
    /// that serve requests while others run the jobs.
    #[serde(rename = "run_jobs")]
    pub run: bool,
    /// How many jobs of a queue run at once in this instance (default `default = 4`,
    /// `mail = 2`); a queue not named here runs one at a time.
    #[serde(rename = "job_queues")]
    pub queues: BTreeMap<String, usize>,
    /// How often an idle queue looks for jobs that other instances enqueued or that became
    /// due (default 1 s); a job enqueued in this instance starts at once.
    #[serde(rename = "job_poll_interval_secs", deserialize_with = "secs")]
    pub poll_interval: Duration,
    /// How long a running job stays taken without word from its instance (default 30 s): the
    /// lease is renewed while the job runs, and a job whose instance died runs again after it.
    #[serde(rename = "job_lease_secs", deserialize_with = "secs")]
    pub lease: Duration,
    /// The wait before the first retry of a failed job (default 5 s), doubled for each
    /// attempt after it, up to `job_max_backoff_secs` (default an hour).
    #[serde(rename = "job_backoff_secs", deserialize_with = "secs")]
    pub backoff: Duration,
    /// The longest wait between two attempts (default 3600 s).
    #[serde(rename = "job_max_backoff_secs", deserialize_with = "secs")]
    pub max_backoff: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            run: true,
            queues: BTreeMap::from([("default".to_string(), 4), ("mail".to_string(), 2)]),
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_hours(1),
        }
    }
}

/// Prometheus metrics (`settings.metrics`, [`crate::app`]'s `/metrics`): off unless
/// `metrics_listen` or `metrics_token` is set, so they are never public by accident.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// Serve the metrics on this address of their own (`127.0.0.1:9100`), away from the app's
    /// port; empty (the default): not on an address of their own.
    #[serde(rename = "metrics_listen")]
    pub listen: String,
    /// Serve the metrics on the app's port too, to a scraper that sends
    /// `Authorization: Bearer <token>` (at least 32 characters); on `metrics_listen`, the token
    /// is asked there as well. Empty (the default): no token.
    #[serde(rename = "metrics_token")]
    pub token: String,
    /// The path of the metrics (default `/metrics`).
    #[serde(rename = "metrics_path")]
    pub path: String,
}

impl MetricsSettings {
    /// Whether the app records and serves metrics.
    pub fn enabled(&self) -> bool {
        !self.listen.is_empty() || !self.token.is_empty()
    }
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            listen: String::new(),
            token: String::new(),
            path: "/metrics".into(),
        }
    }
}

impl fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is never printed.
        f.debug_struct("MetricsSettings")
            .field("listen", &self.listen)
            .field("token", &if self.token.is_empty() { "" } else { "***" })
            .field("path", &self.path)
            .finish()
    }
}

/// How log lines are written (`log_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Text for people, coloured on a terminal.
    Text,
    /// One JSON object per line: the time, the level, the target, the message and fields,
    /// and the request's span (method, path, route, client, request id).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "log_format is {other:?}; expected \"text\" or \"json\""
            )),
        }
    }
}

/// Where pub/sub messages travel (`pubsub`): within this process, or through a server that
/// several instances share.
#[derive(Clone, PartialEq, Eq)]
pub enum PubSubBackend {
    /// In this process only (tokio's broadcast channels).
    Memory,
    /// PostgreSQL's `LISTEN`/`NOTIFY`, on the app's database.
    Postgres,
    /// Redis `PUBLISH`/`SUBSCRIBE`, at this URL (`redis://`).
    Redis(String),
}

impl fmt::Debug for PubSubBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PubSubBackend::Memory => f.write_str("Memory"),
            PubSubBackend::Postgres => f.write_str("Postgres"),
            // The URL's password is never printed.
            PubSubBackend::Redis(url) => write!(f, "Redis({:?})", redact(url)),
        }
    }
}

impl std::str::FromStr for PubSubBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "memory" => Ok(PubSubBackend::Memory),
            "postgres" => Ok(PubSubBackend::Postgres),
            url if url.starts_with("redis://") => Ok(PubSubBackend::Redis(url.to_string())),
            url if url.starts_with("rediss://") => Err(NO_REDIS_TLS.to_string()),
            other => Err(format!(
                "pubsub is {:?}; expected \"memory\", \"postgres\" or a redis:// URL",
                redact(other)
            )),
        }
    }
}

/// Real-time: the pub/sub backend and the WebSocket limits (`settings.realtime`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct RealtimeSettings {
    /// `memory`, `postgres` or a `redis://` URL (`TORN_PUBSUB`). Unset: `postgres` when the
    /// database is PostgreSQL, else `memory`.
    #[serde(deserialize_with = "optional_from_str")]
    pub pubsub: Option<PubSubBackend>,
    /// The largest message a WebSocket peer may send, in bytes; larger closes with 1009
    /// (default 65536).
    #[serde(rename = "websocket_max_message_size")]
    pub max_message_size: usize,
    /// How often WebSockets are pinged (default 30 s).
    #[serde(rename = "websocket_ping_interval_secs", deserialize_with = "secs")]
    pub ping_interval: Duration,
    /// How long a ping may go unanswered, or a write unread, before the peer counts as gone
    /// (default 30 s).
    #[serde(rename = "websocket_ping_timeout_secs", deserialize_with = "secs")]
    pub ping_timeout: Duration,
    /// Messages that may wait for one slow WebSocket peer before it is closed with 1013
    /// (default 256).
    #[serde(rename = "websocket_queue")]
    pub queue: usize,
    /// Other origins whose pages may open this app's WebSockets (`https://app.example.com`);
    /// by default only the app's own.
    #[serde(rename = "websocket_origins")]
    pub origins: Vec<String>,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        RealtimeSettings {
            pubsub: None,
            max_message_size: 64 * 1024,
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(30),
            queue: 256,
            origins: Vec::new(),
        }
    }
}

/// A secret as written in `torn.toml`, never printed: kept as any TOML value, so that a value
/// of the wrong type is refused by `secrets.rs` without the value in the message, as serde's
/// "invalid type: string …" would have it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub(super) struct Hidden(pub(super) toml::Value);

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

fn secs<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

fn proxies<'de, D: Deserializer<'de>>(d: D) -> Result<TrustedProxies, D::Error> {
    let entries = Vec::<String>::deserialize(d)?;
    TrustedProxies::parse(&entries).map_err(serde::de::Error::custom)
}

fn from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr<Err: fmt::Display>,
{
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

fn optional_from_str<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr<Err: fmt::Display>,
{
    from_str(d).map(Some)
}
