//! The queue's SQL: one set of statements for SQLite and PostgreSQL (PostgreSQL's take adds
//! `FOR UPDATE SKIP LOCKED`). Times are Unix milliseconds. A job is `ready` (waiting for
//! `run_at`), `running` (taken by `locked_by` until `run_at`, its lease) or `dead`; a job that
//! succeeded is deleted.

use std::time::Duration;

use sqlx::Row as _;

use super::Job;
use crate::db::{Backend, Db, new_id};

/// The time now in Unix milliseconds, as the queue's tables store times.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(super) fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

const INSERT: &str = "INSERT INTO torn_jobs (id, queue, kind, payload, state, attempts, \
     max_attempts, run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'ready', 0, $5, $6, $7, $7)";

/// A job's row, ready to be inserted.
#[doc(hidden)]
#[derive(Debug)]
pub struct NewJob {
    id: i64,
    queue: &'static str,
    kind: &'static str,
    payload: String,
    max_attempts: i64,
    run_at: i64,
    now: i64,
}

impl NewJob {
    fn of<J: Job>(job: &J, delay: Duration) -> Result<Self, sqlx::Error> {
        let payload = serde_json::to_string(job).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let now = now_ms();
        Ok(NewJob {
            id: new_id(),
            queue: J::QUEUE,
            kind: J::NAME,
            payload,
            max_attempts: i64::from(J::MAX_ATTEMPTS),
            run_at: now.saturating_add(ms(delay)),
            now,
        })
    }
}

/// Run the insert on one backend's executor (the statement is the same for both).
macro_rules! insert_on {
    ($executor:expr, $row:expr) => {
        sqlx::query(INSERT)
            .bind($row.id)
            .bind($row.queue)
            .bind($row.kind)
            .bind($row.payload)
            .bind($row.max_attempts)
            .bind($row.run_at)
            .bind($row.now)
            .execute($executor)
            .await
            .map(|_| ())
    };
}

mod sealed {
    pub trait Sealed {}
}

/// A connection a job can be stored through, in a transaction of the caller's (`&mut *tx`):
/// SQLite's or PostgreSQL's.
pub trait JobConnection: sealed::Sealed + Send {
    #[doc(hidden)]
    fn insert_job(
        &mut self,
        row: NewJob,
    ) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>>;
}

#[cfg(feature = "sqlite")]
impl sealed::Sealed for sqlx::SqliteConnection {}

#[cfg(feature = "sqlite")]
impl JobConnection for sqlx::SqliteConnection {
    fn insert_job(
        &mut self,
        row: NewJob,
    ) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move { insert_on!(&mut *self, row) })
    }
}

#[cfg(feature = "postgres")]
impl sealed::Sealed for sqlx::PgConnection {}

#[cfg(feature = "postgres")]
impl JobConnection for sqlx::PgConnection {
    fn insert_job(
        &mut self,
        row: NewJob,
    ) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move { insert_on!(&mut *self, row) })
    }
}

/// Store `job` through `connection`, in a transaction of the caller's own (`&mut *tx`): the
/// job exists exactly when the transaction's other changes do. Returns the job's id. The
/// instance's workers find it within `job_poll_interval_secs` ([`super::Jobs::enqueue`] wakes
/// them at once).
pub async fn enqueue_in<C, J>(connection: &mut C, job: &J) -> Result<i64, sqlx::Error>
where
    C: JobConnection + ?Sized,
    J: Job,
{
    let row = NewJob::of(job, Duration::ZERO)?;
    let id = row.id;
    connection.insert_job(row).await?;
    Ok(id)
}

pub(super) async fn insert<J: Job>(db: &Db, job: &J, delay: Duration) -> Result<i64, sqlx::Error> {
    let row = NewJob::of(job, delay)?;
    let id = row.id;
    crate::with_db!(db, pool => insert_on!(pool, row))?;
    Ok(id)
}

/// The tables exist (the app ran the jobs migration), or an error that says how to add them.
pub(super) async fn check_tables(db: &Db) -> Result<(), String> {
    let found = crate::with_db!(db, pool => {
        sqlx::query("SELECT COUNT(*) FROM torn_jobs WHERE 1 = 0")
            .execute(pool)
            .await
            .map(|_| ())
    });
    found.map_err(|e| {
        format!(
            "the job queue's table torn_jobs cannot be read ({e}): add the jobs migration \
             (`torn gen job NAME` adds it, or copy migrations/20261207000000_jobs.*.sql from a \
             new app) and run `torn db migrate`"
        )
    })
}

/// A job a worker took.
#[derive(Debug)]
pub(super) struct Taken {
    pub(super) id: i64,
    pub(super) kind: String,
    pub(super) payload: String,
    /// Counting this one.
    pub(super) attempts: i64,
    pub(super) max_attempts: i64,
}

const TAKE: &str = "UPDATE torn_jobs SET state = 'running', attempts = attempts + 1, run_at = $1, \
     locked_by = $2, updated_at = $3 WHERE id = (SELECT id FROM torn_jobs WHERE queue = $4 AND \
     state IN ('ready', 'running') AND run_at <= $3 ORDER BY run_at, created_at LIMIT 1{LOCK}) \
     RETURNING id, kind, payload, attempts, max_attempts";

/// Take the queue's next due job (a ready one, or a running one whose lease ran out: its
/// instance stopped answering), leased to `instance` for `lease`.
pub(super) async fn take(
    db: &Db,
    queue: &str,
    instance: &str,
    lease: Duration,
) -> Result<Option<Taken>, sqlx::Error> {
    static SQLITE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| TAKE.replace("{LOCK}", ""));
    static POSTGRES: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| TAKE.replace("{LOCK}", " FOR UPDATE SKIP LOCKED"));
    let statement: &str = match db.backend() {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    let now = now_ms();
    crate::with_db!(db, pool => {
        let row = sqlx::query(statement)
            .bind(now.saturating_add(ms(lease)))
            .bind(instance)
            .bind(now)
            .bind(queue)
            .fetch_optional(pool)
            .await?;
        row.map(|row| {
            Ok::<_, sqlx::Error>(Taken {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                payload: row.try_get("payload")?,
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
            })
        })
        .transpose()
    })
}

/// The job succeeded: it is gone. Only the attempt that holds it may say so.
pub(super) async fn finish(db: &Db, job: &Taken, instance: &str) -> Result<(), sqlx::Error> {
    crate::with_db!(db, pool => {
        sqlx::query(
            "DELETE FROM torn_jobs WHERE id = $1 AND locked_by = $2 AND attempts = $3 \
             AND state = 'running'",
        )
        .bind(job.id)
        .bind(instance)
        .bind(job.attempts)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// The attempt failed: ready again at `run_at`, or dead (`run_at` `None`), with its error.
pub(super) async fn fail(
    db: &Db,
    job: &Taken,
    instance: &str,
    error: &str,
    run_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    let (state, run_at) = match run_at {
        Some(at) => ("ready", at),
        None => ("dead", now_ms()),
    };
    // A long error (a panic's message, a server's answer) is kept to its first 4,000 bytes.
    let error = truncate(error, 4000);
    crate::with_db!(db, pool => {
        sqlx::query(
            "UPDATE torn_jobs SET state = $1, run_at = $2, last_error = $3, locked_by = NULL, \
             updated_at = $4 WHERE id = $5 AND locked_by = $6 AND attempts = $7 \
             AND state = 'running'",
        )
        .bind(state)
        .bind(run_at)
        .bind(error)
        .bind(now_ms())
        .bind(job.id)
        .bind(instance)
        .bind(job.attempts)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Give a running job back, as if this attempt had not started (at shutdown).
pub(super) async fn give_back(
    db: &Db,
    id: i64,
    instance: &str,
    attempts: i64,
) -> Result<(), sqlx::Error> {
    crate::with_db!(db, pool => {
        sqlx::query(
            "UPDATE torn_jobs SET state = 'ready', attempts = attempts - 1, run_at = $1, \
             locked_by = NULL, updated_at = $1 WHERE id = $2 AND locked_by = $3 \
             AND attempts = $4 AND state = 'running'",
        )
        .bind(now_ms())
        .bind(id)
        .bind(instance)
        .bind(attempts)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Renew the lease of one running job, if this attempt still holds it. False when it does
/// not: the lease ran out and another instance took the job.
pub(super) async fn renew(
    db: &Db,
    id: i64,
    instance: &str,
    attempts: i64,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    crate::with_db!(db, pool => {
        sqlx::query(
            "UPDATE torn_jobs SET run_at = $1 WHERE id = $2 AND locked_by = $3 \
             AND attempts = $4 AND state = 'running'",
        )
        .bind(now.saturating_add(ms(lease)))
        .bind(id)
        .bind(instance)
        .bind(attempts)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// A queue's jobs by state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueueCount {
    pub(crate) queue: String,
    /// Ready and due now.
    pub(crate) queued: i64,
    /// Ready, but due later (a retry's wait, or `enqueue_after`).
    pub(crate) waiting: i64,
    pub(crate) running: i64,
    pub(crate) dead: i64,
}

/// Every queue that has jobs, by state.
pub(crate) async fn queue_counts(db: &Db) -> Result<Vec<QueueCount>, sqlx::Error> {
    let now = now_ms();
    crate::with_db!(db, pool => {
        sqlx::query(
            "SELECT queue, \
             SUM(CASE WHEN state = 'ready' AND run_at <= $1 THEN 1 ELSE 0 END) AS ready, \
             SUM(CASE WHEN state = 'ready' AND run_at > $1 THEN 1 ELSE 0 END) AS waiting, \
             SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running, \
             SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead \
             FROM torn_jobs GROUP BY queue ORDER BY queue",
        )
        .bind(now)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(QueueCount {
                queue: r.try_get("queue")?,
                queued: r.try_get("ready")?,
                waiting: r.try_get("waiting")?,
                running: r.try_get("running")?,
                dead: r.try_get("dead")?,
            })
        })
        .collect()
    })
}

/// Delete the jobs that died before `before` (Unix ms). Returns how many.
pub(super) async fn delete_dead(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    crate::with_db!(db, pool => {
        sqlx::query("DELETE FROM torn_jobs WHERE state = 'dead' AND updated_at < $1")
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
}

/// The last time a schedule fired, in any instance.
pub(super) async fn last_fired(db: &Db, name: &str) -> Result<Option<i64>, sqlx::Error> {
    crate::with_db!(db, pool => {
        sqlx::query_scalar("SELECT fire_at FROM torn_job_schedules WHERE name = $1 AND fire_at >= 0")
            .bind(name)
            .fetch_optional(pool)
            .await
    })
}

/// Fire a schedule's time `fire_at`: the job is enqueued by the one instance that moves the
/// schedule's row forward to that time, in the same transaction; for the others (and for a
/// time earlier than one already fired) it is already done. True if this one enqueued it.
pub(super) async fn fire<J: Job>(
    db: &Db,
    name: &str,
    fire_at: i64,
    job: &J,
) -> Result<bool, sqlx::Error> {
    crate::with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO torn_job_schedules (name, fire_at) VALUES ($1, -1) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .execute(&mut *tx)
        .await?;
        // On PostgreSQL a second instance waits here for the first one's commit, then finds
        // the row moved already.
        let claimed = sqlx::query(
            "UPDATE torn_job_schedules SET fire_at = $2 WHERE name = $1 AND fire_at < $2",
        )
        .bind(name)
        .bind(fire_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if claimed {
            let row = NewJob::of(job, Duration::ZERO)?;
            insert_on!(&mut *tx, row)?;
        }
        tx.commit().await?;
        Ok(claimed)
    })
}

/// `text`, cut to at most `max` bytes at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_are_cut_at_a_character_boundary() {
        assert_eq!(super::truncate("héllo", 2), "h");
        assert_eq!(super::truncate("héllo", 3), "hé");
        assert_eq!(super::truncate("hello", 10), "hello");
    }
}
