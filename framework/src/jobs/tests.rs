//! The queue's statements on an SQLite file: who may take a job, what a lease means, and that a
//! schedule's time is claimed once. (tests/tests/jobs.rs runs the workers on both databases.)

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::store::{self, now_ms};
use super::{Job, JobContext, JobError};
use crate::db::Db;

const MIGRATION: &str =
    include_str!("../../../templates/app/migrations/20261207000000_jobs.up.sql");

async fn db() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/jobs.db?mode=rwc", dir.path().display());
    let db = Db::connect(&url).await.unwrap();
    crate::with_db!(&db, pool => {
        sqlx::raw_sql(MIGRATION).execute(pool).await.unwrap();
    });
    (db, dir)
}

#[derive(Default, Serialize, Deserialize)]
struct Note {
    text: String,
}

impl Job for Note {
    const NAME: &'static str = "note";
    async fn run(self, _cx: JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_taken_job_is_not_taken_again_while_its_lease_lasts() {
    let (db, _dir) = db().await;
    let id = store::insert(&db, &Note { text: "hi".into() }, Duration::ZERO)
        .await
        .unwrap();
    let taken = store::take(&db, "default", "a", Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a due job");
    assert_eq!((taken.id, taken.attempts), (id, 1));
    assert_eq!(taken.payload, r#"{"text":"hi"}"#);
    assert!(
        store::take(&db, "default", "b", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none(),
        "another instance took a job whose lease lasts"
    );
    // Another queue's worker never sees it.
    assert!(
        store::take(&db, "mail", "b", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    // Only the attempt that holds it may finish it.
    store::finish(&db, &taken, "b").await.unwrap();
    assert_eq!(count(&db, "running").await, 1);
    store::finish(&db, &taken, "a").await.unwrap();
    assert_eq!(count(&db, "running").await, 0);
}

#[tokio::test]
async fn a_lease_that_ran_out_lets_another_instance_take_the_job_and_the_first_cannot_finish_it() {
    let (db, _dir) = db().await;
    store::insert(&db, &Note::default(), Duration::ZERO)
        .await
        .unwrap();
    let first = store::take(&db, "default", "a", Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = store::take(&db, "default", "b", Duration::from_secs(30))
        .await
        .unwrap()
        .expect("the lease ran out: the job is due again");
    assert_eq!((second.id, second.attempts), (first.id, 2));
    // The first instance comes back late: what it says changes nothing.
    store::fail(&db, &first, "a", "late", None).await.unwrap();
    store::finish(&db, &first, "a").await.unwrap();
    assert_eq!(count(&db, "running").await, 1);
    // The first instance cannot renew the lease it lost; the second keeps its own going.
    assert!(
        !store::renew(&db, first.id, "a", first.attempts, Duration::from_mins(1))
            .await
            .unwrap()
    );
    assert!(
        store::renew(&db, second.id, "b", second.attempts, Duration::from_mins(1))
            .await
            .unwrap()
    );
    assert!(
        store::take(&db, "default", "c", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_failed_job_waits_for_its_retry_and_a_dead_one_is_never_taken() {
    let (db, _dir) = db().await;
    store::insert(&db, &Note::default(), Duration::ZERO)
        .await
        .unwrap();
    let taken = store::take(&db, "default", "a", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    store::fail(
        &db,
        &taken,
        "a",
        "the server said no",
        Some(now_ms() + 60_000),
    )
    .await
    .unwrap();
    assert!(
        store::take(&db, "default", "a", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none(),
        "taken before its retry was due"
    );
    let error: Option<String> = crate::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT last_error FROM torn_jobs").fetch_one(pool).await.unwrap()
    });
    assert_eq!(error.as_deref(), Some("the server said no"));
    // Due now, then dead.
    crate::with_db!(&db, pool => {
        sqlx::query("UPDATE torn_jobs SET run_at = 0").execute(pool).await.unwrap();
    });
    let again = store::take(&db, "default", "a", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempts, 2);
    store::fail(&db, &again, "a", "still no", None)
        .await
        .unwrap();
    assert_eq!(count(&db, "dead").await, 1);
    assert!(
        store::take(&db, "default", "a", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_job_given_back_at_shutdown_is_ready_with_its_attempt_not_counted() {
    let (db, _dir) = db().await;
    store::insert(&db, &Note::default(), Duration::ZERO)
        .await
        .unwrap();
    let taken = store::take(&db, "default", "a", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    store::give_back(&db, taken.id, "a", taken.attempts)
        .await
        .unwrap();
    let again = store::take(&db, "default", "b", Duration::from_secs(30))
        .await
        .unwrap()
        .expect("ready again at once");
    assert_eq!(again.attempts, 1);
}

#[tokio::test]
async fn a_delayed_job_waits() {
    let (db, _dir) = db().await;
    store::insert(&db, &Note::default(), Duration::from_mins(1))
        .await
        .unwrap();
    assert!(
        store::take(&db, "default", "a", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_schedules_time_is_claimed_once_and_never_after_a_later_one() {
    let (db, _dir) = db().await;
    let name = "note 0 * * * *";
    assert_eq!(store::last_fired(&db, name).await.unwrap(), None);
    assert!(
        store::fire(&db, name, 1_000, &Note::default())
            .await
            .unwrap()
    );
    assert!(
        !store::fire(&db, name, 1_000, &Note::default())
            .await
            .unwrap()
    );
    assert_eq!(count(&db, "ready").await, 1);
    assert!(
        store::fire(&db, name, 2_000, &Note::default())
            .await
            .unwrap()
    );
    // An instance that lags behind, firing a time already passed by another: nothing.
    assert!(
        !store::fire(&db, name, 1_500, &Note::default())
            .await
            .unwrap()
    );
    assert_eq!(store::last_fired(&db, name).await.unwrap(), Some(2_000));
    let rows: i64 = crate::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM torn_job_schedules").fetch_one(pool).await.unwrap()
    });
    assert_eq!(rows, 1);
    assert_eq!(count(&db, "ready").await, 2);
}

#[tokio::test]
async fn a_job_enqueued_in_a_transaction_exists_only_if_it_commits() {
    let (db, _dir) = db().await;
    let crate::db::Db::Sqlite(pool) = &db else {
        unreachable!("an SQLite database");
    };
    let mut tx = pool.begin().await.unwrap();
    super::enqueue_in(&mut *tx, &Note::default()).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&db, "ready").await, 0);
    let mut tx = pool.begin().await.unwrap();
    super::enqueue_in(&mut *tx, &Note::default()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&db, "ready").await, 1);
}

async fn count(db: &Db, state: &str) -> i64 {
    crate::with_db!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM torn_jobs WHERE state = $1")
            .bind(state)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}
