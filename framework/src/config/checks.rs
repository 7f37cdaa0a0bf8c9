//! The checks of the realtime, jobs and metrics settings against their limits (run for every
//! profile, with the others in [`Groups::check`]).

use std::time::Duration;

use super::{ConfigError, Groups, JobSettings, RealtimeSettings};

/// The shortest `metrics_token` accepted: a scraper's token is a password nobody types.
pub(super) const MIN_METRICS_TOKEN_LEN: usize = 32;

/// A path torn serves itself (`health_path`, `metrics_path`): `/` and letters, digits, `/`,
/// `-`, `_`, `.`.
pub(super) fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
}

impl Groups {
    /// `api_scopes`: words a token's scopes are stored and shown as.
    pub(super) fn check_api_scopes(&self) -> Result<(), ConfigError> {
        let scopes = &self.accounts.api_scopes;
        let word = |s: &String| {
            (1..=32).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":._-".contains(&b))
        };
        if scopes.is_empty() || !scopes.iter().all(word) {
            return Err(ConfigError::Invalid(format!(
                "api_scopes is {scopes:?}; it must list at least one scope, each of 1 to 32 \
                 letters, digits, `:`, `.`, `_` or `-`, such as [\"read\", \"write\"]"
            )));
        }
        Ok(())
    }

    pub(super) fn check_metrics(&self) -> Result<(), ConfigError> {
        let metrics = &self.metrics;
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if !cfg!(feature = "metrics") && metrics.enabled() {
            return invalid(
                "metrics_listen or metrics_token is set, but torn was built without its \
                 `metrics` feature; turn it on in Cargo.toml"
                    .into(),
            );
        }
        if !metrics.listen.is_empty() {
            let Ok(addr) = metrics.listen.parse::<std::net::SocketAddr>() else {
                return invalid(format!(
                    "metrics_listen is {:?}; it must be an address and a port such as \
                     \"127.0.0.1:9100\"",
                    metrics.listen
                ));
            };
            if addr.port() != 0 && addr.port() == self.server.port {
                return invalid(format!(
                    "metrics_listen is {:?}, on the app's own port; give the metrics a port of \
                     their own, or set metrics_token to serve them on the app's port",
                    metrics.listen
                ));
            }
        }
        let token = &metrics.token;
        if !token.is_empty()
            && (token.len() < MIN_METRICS_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return invalid(format!(
                "metrics_token must be at least {MIN_METRICS_TOKEN_LEN} characters, with no \
                 spaces (for example the output of `openssl rand -hex 32`)"
            ));
        }
        let path = &metrics.path;
        if !is_plain_path(path) || *path == self.server.health_path {
            return invalid(format!(
                "metrics_path is {path:?}; it must be a path such as \"/metrics\" (letters, \
                 digits, `/`, `-`, `_`, `.`), other than health_path"
            ));
        }
        Ok(())
    }

    pub(super) fn check_jobs(&self) -> Result<(), ConfigError> {
        let (jobs, defaults) = (&self.jobs, JobSettings::default());
        positive_secs(
            "job_poll_interval_secs",
            jobs.poll_interval,
            defaults.poll_interval,
        )?;
        positive_secs("job_lease_secs", jobs.lease, defaults.lease)?;
        positive_secs("job_backoff_secs", jobs.backoff, defaults.backoff)?;
        if jobs.max_backoff < jobs.backoff {
            return Err(ConfigError::Invalid(format!(
                "job_max_backoff_secs is {} and job_backoff_secs is {}; the longest wait cannot \
                 be shorter than the first",
                jobs.max_backoff.as_secs(),
                jobs.backoff.as_secs()
            )));
        }
        for (queue, &concurrency) in &jobs.queues {
            if concurrency == 0 || concurrency > 1024 {
                return Err(ConfigError::Invalid(format!(
                    "job_queues sets {queue:?} to {concurrency}; a queue runs 1 to 1024 jobs at \
                     once (set run_jobs = false for an instance that runs none)"
                )));
            }
        }
        Ok(())
    }

    pub(super) fn check_realtime(&self) -> Result<(), ConfigError> {
        let (realtime, defaults) = (&self.realtime, RealtimeSettings::default());
        positive_secs(
            "websocket_ping_interval_secs",
            realtime.ping_interval,
            defaults.ping_interval,
        )?;
        positive_secs(
            "websocket_ping_timeout_secs",
            realtime.ping_timeout,
            defaults.ping_timeout,
        )?;
        for (key, secs) in [
            ("websocket_ping_interval_secs", realtime.ping_interval),
            ("websocket_ping_timeout_secs", realtime.ping_timeout),
        ] {
            if secs > Duration::from_hours(24) {
                return Err(ConfigError::Invalid(format!(
                    "{key} is {}; it must be at most 86400 (a day)",
                    secs.as_secs()
                )));
            }
        }
        for (key, value, default, max) in [
            (
                "websocket_max_message_size",
                realtime.max_message_size,
                defaults.max_message_size,
                1 << 30,
            ),
            ("websocket_queue", realtime.queue, defaults.queue, 1 << 20),
        ] {
            if value == 0 || value > max {
                return Err(ConfigError::Invalid(format!(
                    "{key} is {value}; it must be a positive number up to {max}, such as \
                     {default}"
                )));
            }
        }
        for origin in &realtime.origins {
            let valid = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .is_some_and(|host| !host.is_empty() && !host.contains('/'));
            if !valid {
                return Err(ConfigError::Invalid(format!(
                    "websocket_origins has {origin:?}; each origin is a scheme and a host, \
                     such as \"https://app.example.com\", with no path"
                )));
            }
        }
        Ok(())
    }
}

pub(super) fn positive_secs(
    key: &str,
    value: Duration,
    default: Duration,
) -> Result<(), ConfigError> {
    if value.is_zero() {
        return Err(ConfigError::Invalid(format!(
            "{key} is 0; it must be a positive number of seconds, such as {}",
            default.as_secs()
        )));
    }
    Ok(())
}
