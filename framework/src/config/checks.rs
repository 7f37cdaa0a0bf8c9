//! The checks of the realtime and jobs settings against their limits (run for every profile,
//! with the others in [`Groups::check`]).

use std::time::Duration;

use super::{ConfigError, Groups, JobSettings, RealtimeSettings};

impl Groups {
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
