//! Durable background jobs, in the app's own database (SQLite or PostgreSQL, with the app's
//! migrations): work that must not be lost to a restart, a deploy or a server that is down for
//! a while, such as mail.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use torn::jobs::{Job, JobContext, JobError};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Welcome {
//!     user_id: i64,
//! }
//!
//! impl Job for Welcome {
//!     const NAME: &'static str = "welcome";
//!
//!     async fn run(self, cx: JobContext) -> Result<(), JobError> {
//!         let _db = cx.db();
//!         Ok(())
//!     }
//! }
//!
//! # async fn demo(db: torn::db::Db, settings: &torn::Settings) -> torn::Result<()> {
//! let jobs = torn::Jobs::new(db, settings).await?.register::<Welcome>();
//! jobs.enqueue(&Welcome { user_id: 7 }).await?;
//! # Ok(()) }
//! ```
//!
//! - A job is stored before [`Jobs::enqueue`] returns, or in the caller's own transaction with
//!   [`enqueue_in`], and runs at least once: a job whose instance stopped answering runs again
//!   after its lease (`job_lease_secs`).
//! - A failed job is retried with exponential backoff (`job_backoff_secs`, doubled each time,
//!   up to `job_max_backoff_secs`) until [`Job::MAX_ATTEMPTS`]; then it is dead, kept with its
//!   last error, and `<app> jobs retry` runs it again.
//! - Several instances share the queues safely: PostgreSQL takes each job with
//!   `FOR UPDATE SKIP LOCKED`, SQLite has one writer at a time.
//! - Each queue runs as many jobs at once as `job_queues` says; on SIGTERM the running jobs
//!   finish (within `shutdown_timeout_secs`) or are given back to the queue.
//! - [`Jobs::schedule`] runs a job on a cron schedule, once per time across all instances.
//!
//! The tables are `torn_jobs` and `torn_job_schedules`, made by the migration that `torn new`
//! writes (`migrations/20261207000000_jobs.up.sql`). docs/jobs.md says why torn has its own queue
//! rather than a queue crate.

pub(crate) mod commands;
#[cfg(feature = "mail")]
mod mail;
#[cfg(feature = "accounts")]
mod purge;
mod schedule;
mod store;
#[cfg(all(test, feature = "sqlite"))]
mod tests;
mod worker;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{JobSettings, Settings};
use crate::db::Db;
use crate::error::Error;

#[cfg(feature = "mail")]
pub use mail::SendMail;
#[cfg(feature = "mail")]
pub(crate) use mail::mail_through;
#[cfg(feature = "accounts")]
pub use purge::PurgeExpired;
pub use store::{JobConnection, NewJob, enqueue_in, now_ms};
pub(crate) use worker::Workers;

/// A kind of job: its data (stored as JSON), and what running it does.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name stored with each job, which finds the code that runs it: keep it when the
    /// type is renamed, as jobs already queued carry it.
    const NAME: &'static str;
    /// The queue it waits in (`job_queues` sets how many of a queue run at once).
    const QUEUE: &'static str = "default";
    /// Attempts before the job is dead (the first run counts).
    const MAX_ATTEMPTS: u32 = 10;
    /// How long one attempt may run before it is stopped and counted as failed.
    const TIMEOUT: Duration = Duration::from_mins(5);

    /// Do the work. An error is retried later (or, from [`JobError::permanent`], makes the job
    /// dead at once); so is a panic, or running past [`Job::TIMEOUT`].
    fn run(self, cx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Why an attempt failed: its text is kept with the job (`<app> jobs dead` shows it). Any
/// error converts into one with `?`.
pub struct JobError {
    message: String,
    permanent: bool,
}

impl JobError {
    /// A failure worth another attempt.
    pub fn new(message: impl fmt::Display) -> Self {
        JobError {
            message: message.to_string(),
            permanent: false,
        }
    }

    /// A failure no retry can mend (the data names something that is gone): the job is dead
    /// at once.
    pub fn permanent(message: impl fmt::Display) -> Self {
        JobError {
            message: message.to_string(),
            permanent: true,
        }
    }

    /// The failure's text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for JobError {
    fn from(e: E) -> Self {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        JobError::new(message)
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobError")
            .field("message", &self.message)
            .field("permanent", &self.permanent)
            .finish()
    }
}

/// What [`Jobs::run_due`] ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ran {
    /// Jobs that succeeded.
    pub done: usize,
    /// Jobs that failed (to be retried later, or dead).
    pub failed: usize,
}

/// What a running job can reach: the database, the queue (to enqueue more), the app's mailer,
/// accounts and pub/sub, and whatever [`Jobs::with`] added.
#[derive(Clone)]
pub struct JobContext {
    jobs: Jobs,
    id: i64,
    attempt: u32,
}

impl JobContext {
    /// The job's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Which attempt this is: 1 for the first run.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The app's database.
    pub fn db(&self) -> &Db {
        &self.jobs.inner.db
    }

    /// The queue, to enqueue more jobs.
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// A value the app gave the jobs: the app's `Db`, and its `Mailer`, `Accounts` and
    /// `PubSub` when it has them, and anything added with [`Jobs::with`].
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.jobs
            .inner
            .data
            .read()
            .expect("job data")
            .get::<T>()
            .cloned()
    }
}

/// The app's job queue: enqueue jobs (handlers take it as an extractor), and, in an instance
/// that runs jobs, the kinds and schedules its workers know. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: JobSettings,
    registry: RwLock<Registry>,
    data: RwLock<axum::http::Extensions>,
    /// Wakes this instance's idle queues when it enqueues.
    wake: tokio::sync::Notify,
    /// This process, as the jobs it takes record it.
    instance: String,
}

#[derive(Clone, Default)]
struct Registry {
    kinds: HashMap<&'static str, Kind>,
    schedules: Vec<schedule::Schedule>,
}

/// Runs a job from its stored JSON; `Err` when the JSON is not the job's.
type RunFn = Arc<
    dyn Fn(&str, JobContext) -> Result<BoxFuture<'static, Result<(), JobError>>, String>
        + Send
        + Sync,
>;

#[derive(Clone)]
struct Kind {
    queue: &'static str,
    timeout: Duration,
    run: RunFn,
}

impl fmt::Debug for Jobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registry = self.inner.registry.read().expect("job registry");
        let mut kinds: Vec<&str> = registry.kinds.keys().copied().collect();
        kinds.sort_unstable();
        f.debug_struct("Jobs")
            .field("kinds", &kinds)
            .field("schedules", &registry.schedules.len())
            .field("instance", &self.inner.instance)
            .finish_non_exhaustive()
    }
}

impl Jobs {
    /// The queue in `db`, whose tables the app's migrations made; an error says how to add
    /// them when they are missing.
    pub async fn new(db: Db, settings: &Settings) -> Result<Jobs, Error> {
        store::check_tables(&db).await.map_err(Error::internal)?;
        let instance = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let mut data = axum::http::Extensions::new();
        data.insert(db.clone());
        let jobs = Jobs {
            inner: Arc::new(Inner {
                db,
                settings: settings.jobs.clone(),
                registry: RwLock::default(),
                data: RwLock::new(data),
                wake: tokio::sync::Notify::new(),
                instance,
            }),
        };
        #[cfg(feature = "mail")]
        let jobs = jobs.register::<SendMail>();
        Ok(jobs)
    }

    /// Teach the workers a kind of job.
    ///
    /// # Panics
    /// If another kind has the same [`Job::NAME`].
    #[must_use]
    pub fn register<J: Job>(self) -> Self {
        let run: RunFn = Arc::new(|payload: &str, cx: JobContext| {
            let job: J = serde_json::from_str(payload)
                .map_err(|e| format!("its data is not a {}: {e}", J::NAME))?;
            Ok(Box::pin(job.run(cx)) as BoxFuture<'static, Result<(), JobError>>)
        });
        let kind = Kind {
            queue: J::QUEUE,
            timeout: J::TIMEOUT,
            run,
        };
        let mut registry = self.inner.registry.write().expect("job registry");
        let before = registry.kinds.insert(J::NAME, kind);
        assert!(
            before.is_none(),
            "two kinds of job are named {:?}: each Job::NAME must be unique",
            J::NAME
        );
        drop(registry);
        self
    }

    /// Run `J::default()` on a cron schedule (`"17 * * * *"`: minute, hour, day of the month,
    /// month, day of the week, in UTC; `@hourly`, `@daily`, …), once per time across every
    /// instance that shares the database. Registers `J` too.
    pub fn schedule<J: Job + Default>(self, cron: &str) -> Result<Self, Error> {
        let schedule = schedule::Schedule::new::<J>(cron)?;
        let jobs = if self.knows(J::NAME) {
            self
        } else {
            self.register::<J>()
        };
        jobs.inner
            .registry
            .write()
            .expect("job registry")
            .schedules
            .push(schedule);
        Ok(jobs)
    }

    /// Give jobs a value they can take with [`JobContext::get`] (a client for another service,
    /// say).
    #[must_use]
    pub fn with<T: Clone + Send + Sync + 'static>(self, value: T) -> Self {
        self.inner.data.write().expect("job data").insert(value);
        self
    }

    /// Store `job`, to run as soon as a worker is free. Returns its id.
    pub async fn enqueue<J: Job>(&self, job: &J) -> Result<i64, Error> {
        self.enqueue_after(job, Duration::ZERO).await
    }

    /// Store `job`, to run once `delay` has passed.
    pub async fn enqueue_after<J: Job>(&self, job: &J, delay: Duration) -> Result<i64, Error> {
        let id = store::insert(&self.inner.db, job, delay)
            .await
            .map_err(|e| {
                Error::internal(format!("the job {} could not be stored: {e}", J::NAME))
            })?;
        self.inner.wake.notify_waiters();
        Ok(id)
    }

    /// Run every job that is due, here and now, one at a time, until none is, and say how
    /// many succeeded and failed (a failed one is retried later, as usual). For tests: enqueue,
    /// run what is due, then check what the jobs did.
    pub async fn run_due(&self) -> Result<Ran, Error> {
        worker::run_due(self)
            .await
            .map_err(|e| Error::internal(format!("the job queue: {e}")))
    }

    /// Delete the jobs that died more than `age` ago, with their data and last error (the
    /// scheduled `PurgeExpired` does it for jobs dead a week). Returns how many.
    pub async fn delete_dead_older_than(&self, age: Duration) -> Result<u64, Error> {
        let before = store::now_ms().saturating_sub(store::ms(age));
        store::delete_dead(&self.inner.db, before)
            .await
            .map_err(|e| Error::internal(format!("the job queue: {e}")))
    }

    /// The database the queue lives in.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Every queue that has jobs, by state (for the metrics).
    #[cfg(feature = "metrics")]
    pub(crate) async fn counts(&self) -> Result<Vec<store::QueueCount>, sqlx::Error> {
        store::queue_counts(&self.inner.db).await
    }

    /// Whether a schedule runs the job named `name`.
    #[cfg(feature = "accounts")]
    pub(crate) fn is_scheduled(&self, name: &str) -> bool {
        self.inner
            .registry
            .read()
            .expect("job registry")
            .schedules
            .iter()
            .any(|s| s.job() == name)
    }

    fn knows(&self, name: &str) -> bool {
        self.inner
            .registry
            .read()
            .expect("job registry")
            .kinds
            .contains_key(name)
    }

    /// Add what the app has (its mailer, accounts, pub/sub) to what jobs can reach.
    #[cfg_attr(
        not(any(feature = "accounts", feature = "realtime", feature = "mail")),
        allow(dead_code)
    )]
    pub(crate) fn provide<T: Clone + Send + Sync + 'static>(&self, value: T) {
        self.inner.data.write().expect("job data").insert(value);
    }

    fn registry(&self) -> Registry {
        self.inner.registry.read().expect("job registry").clone()
    }
}

/// Handlers take the queue as an extractor (set by `App::jobs`).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Jobs {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Error> {
        parts.extensions.get::<Jobs>().cloned().ok_or_else(|| {
            Error::internal("no job queue is set up: build the app with App::jobs(…)")
        })
    }
}
