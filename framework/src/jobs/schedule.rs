//! Scheduled jobs: a cron expression (parsed by `croner`, in UTC), and a loop per schedule in
//! every instance that runs jobs. Each time fires once across all of them: the instance that
//! moves the schedule's row in `torn_job_schedules` forward to that time enqueues the job, in
//! the same transaction.
//! A time missed while no instance ran is caught up once, at the next start.

use std::str::FromStr as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::store::{self, now_ms};
use super::{Job, Jobs};
use crate::db::Db;
use crate::error::Error;

type FireFn =
    Arc<dyn Fn(Db, String, i64) -> BoxFuture<'static, Result<bool, sqlx::Error>> + Send + Sync>;

/// A job and when it runs.
#[derive(Clone)]
pub(super) struct Schedule {
    /// The job's name.
    #[cfg(feature = "accounts")]
    job: &'static str,
    /// The job's name and the expression: the key of its rows.
    name: String,
    cron: Arc<croner::Cron>,
    fire: FireFn,
}

impl Schedule {
    pub(super) fn new<J: Job + Default>(cron: &str) -> Result<Schedule, Error> {
        let parsed = croner::Cron::from_str(cron.trim()).map_err(|e| {
            Error::internal(format!(
                "the schedule {cron:?} of job {} is not a cron expression: {e} (five fields: \
                 minute, hour, day of the month, month, day of the week, as in \"17 * * * *\"; \
                 or @hourly, @daily, @weekly, @monthly)",
                J::NAME
            ))
        })?;
        let fire: FireFn = Arc::new(|db: Db, name: String, at: i64| {
            Box::pin(async move { store::fire(&db, &name, at, &J::default()).await })
        });
        Ok(Schedule {
            #[cfg(feature = "accounts")]
            job: J::NAME,
            name: format!("{} {}", J::NAME, cron.trim()),
            cron: Arc::new(parsed),
            fire,
        })
    }

    /// The name of the job it runs.
    #[cfg(feature = "accounts")]
    pub(super) fn job(&self) -> &'static str {
        self.job
    }

    /// The first time strictly after `ms` (whole seconds: every instance computes the same).
    fn next_after(&self, ms: i64) -> Option<i64> {
        let at = DateTime::<Utc>::from_timestamp(ms.div_euclid(1000), 0)?;
        self.cron
            .find_next_occurrence(&at, false)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    /// The latest time at or before `ms` (whole seconds).
    fn latest_until(&self, ms: i64) -> Option<i64> {
        let at = DateTime::<Utc>::from_timestamp(ms.div_euclid(1000), 0)?;
        self.cron
            .find_previous_occurrence(&at, true)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    /// Fire time `at`; false if the database could not be asked (to try again).
    async fn fire_at(&self, jobs: &Jobs, at: i64) -> bool {
        match (self.fire)(jobs.db().clone(), self.name.clone(), at).await {
            Ok(true) => {
                tracing::info!(schedule = %self.name, "scheduled job enqueued");
                jobs.inner.wake.notify_waiters();
                true
            }
            Ok(false) => true,
            Err(e) => {
                tracing::warn!(schedule = %self.name, error = %e, "could not enqueue a scheduled job; trying again");
                false
            }
        }
    }

    /// Fire time `at`, trying again every second while the database cannot be asked, until
    /// the time after it comes (then that one is due) or the workers stop.
    async fn fire_until_done(&self, jobs: &Jobs, at: i64, stop: &mut watch::Receiver<bool>) {
        let give_up = self.next_after(at).unwrap_or(i64::MAX);
        while !self.fire_at(jobs, at).await && now_ms() < give_up {
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }
}

/// Keep one schedule until the workers stop.
pub(super) async fn keep(schedule: Schedule, jobs: Jobs, mut stop: watch::Receiver<bool>) {
    let db = jobs.db();
    let now = now_ms();
    // A time that passed since the last one fired (no instance ran then) fires once now.
    match store::last_fired(db, &schedule.name).await {
        Ok(Some(last)) => {
            if let Some(missed) = schedule.latest_until(now).filter(|&t| t > last) {
                schedule.fire_until_done(&jobs, missed, &mut stop).await;
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(schedule = %schedule.name, error = %e, "could not read when the schedule last fired");
        }
    }
    let mut after = now;
    while let Some(next) = schedule.next_after(after) {
        let wait = u64::try_from(next.saturating_sub(now_ms())).unwrap_or(0);
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(wait)) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        schedule.fire_until_done(&jobs, next, &mut stop).await;
        after = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, serde::Serialize, serde::Deserialize)]
    struct Tick;

    impl Job for Tick {
        const NAME: &'static str = "tick";
        async fn run(self, _cx: super::super::JobContext) -> Result<(), super::super::JobError> {
            Ok(())
        }
    }

    #[test]
    fn times_follow_the_expression_in_utc() {
        let hourly = Schedule::new::<Tick>("17 * * * *").unwrap();
        // 2026-12-07 10:20:00.250 UTC: times are whole, whatever the instance's clock reads.
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:20:00.250Z")
            .unwrap()
            .timestamp_millis();
        let next = hourly.next_after(at).unwrap();
        assert_eq!(
            DateTime::<Utc>::from_timestamp_millis(next)
                .unwrap()
                .to_rfc3339(),
            "2026-12-07T11:17:00+00:00"
        );
        let latest = hourly.latest_until(at).unwrap();
        assert_eq!(
            DateTime::<Utc>::from_timestamp_millis(latest)
                .unwrap()
                .to_rfc3339(),
            "2026-12-07T10:17:00+00:00"
        );
        assert!(Schedule::new::<Tick>("@daily").is_ok());
        let every_second = Schedule::new::<Tick>("* * * * * *").unwrap();
        assert_eq!(every_second.next_after(1_250).unwrap(), 2_000);
        assert_eq!(every_second.next_after(1_999).unwrap(), 2_000);
        assert_eq!(every_second.latest_until(1_999).unwrap(), 1_000);
    }

    #[test]
    fn a_bad_expression_says_what_a_good_one_is() {
        let Err(e) = Schedule::new::<Tick>("every hour") else {
            panic!("accepted");
        };
        let message = e.to_string();
        assert!(message.contains("\"every hour\""), "{message}");
        assert!(message.contains("job tick"), "{message}");
        assert!(Schedule::new::<Tick>("61 * * * *").is_err());
    }
}
