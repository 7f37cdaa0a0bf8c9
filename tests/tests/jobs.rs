//! Durable jobs (`torn::jobs`) on SQLite, and on PostgreSQL when `TORN_TEST_POSTGRES_URL` is
//! set: workers in apps served over HTTP, two instances on one queue, retries and dead jobs, a
//! lease that ran out, shutdown, schedules, and `<app> jobs …` answered by the starter's binary.

mod common;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use torn::db::Db;
use torn::jobs::{Job, JobContext, JobError, Ran};
use torn::test::{TestDatabase, TestServer};
use torn::{App, Jobs, Settings};

const MIGRATION: &str = include_str!("../../templates/app/migrations/20261207000000_jobs.up.sql");

/// The queue's tables and a log the test jobs write to.
async fn prepared(database: &TestDatabase) -> Db {
    let db = Db::connect(database.url()).await.unwrap();
    torn::with_db!(&db, pool => {
        sqlx::raw_sql(MIGRATION).execute(pool).await.unwrap();
        sqlx::raw_sql("CREATE TABLE job_log (key TEXT NOT NULL, attempt BIGINT NOT NULL)")
            .execute(pool)
            .await
            .unwrap();
    });
    db
}

fn settings() -> Settings {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_test(dir.path());
    settings.jobs.backoff = Duration::from_secs(1);
    settings.jobs.max_backoff = Duration::from_secs(1);
    settings.jobs.poll_interval = Duration::from_secs(1);
    settings
}

async fn record(cx: &JobContext, key: &str) -> Result<(), JobError> {
    let attempt = i64::from(cx.attempt());
    torn::with_db!(cx.db(), pool => {
        sqlx::query("INSERT INTO job_log (key, attempt) VALUES ($1, $2)")
            .bind(key)
            .bind(attempt)
            .execute(pool)
            .await?;
    });
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct Record {
    key: String,
}

impl Job for Record {
    const NAME: &'static str = "record";
    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        record(&cx, &self.key).await
    }
}

/// Fails its first `fail_until` attempts.
#[derive(Serialize, Deserialize)]
struct Flaky {
    key: String,
    fail_until: u32,
}

impl Job for Flaky {
    const NAME: &'static str = "flaky";
    const MAX_ATTEMPTS: u32 = 3;
    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        if cx.attempt() <= self.fail_until {
            return Err(JobError::new(format!("flaky attempt {}", cx.attempt())));
        }
        record(&cx, &self.key).await
    }
}

#[derive(Serialize, Deserialize)]
struct Refuse;

impl Job for Refuse {
    const NAME: &'static str = "refuse";
    async fn run(self, _cx: JobContext) -> Result<(), JobError> {
        Err(JobError::permanent("the row it names is gone"))
    }
}

#[derive(Serialize, Deserialize)]
struct Panics;

impl Job for Panics {
    const NAME: &'static str = "panics";
    const MAX_ATTEMPTS: u32 = 1;
    async fn run(self, _cx: JobContext) -> Result<(), JobError> {
        panic!("a bug in the job")
    }
}

#[derive(Serialize, Deserialize)]
struct Slow {
    key: String,
    ms: u64,
}

impl Job for Slow {
    const NAME: &'static str = "slow";
    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        record(&cx, &self.key).await
    }
}

/// Writes a row every 100 ms, for half a minute.
#[derive(Serialize, Deserialize)]
struct Ticker;

impl Job for Ticker {
    const NAME: &'static str = "ticker";
    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        for _ in 0..300 {
            record(&cx, "ticker").await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Tick;

impl Job for Tick {
    const NAME: &'static str = "tick";
    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        // The second it runs in: a time fired twice would run twice within it.
        let second = torn::jobs::now_ms() / 1000;
        record(&cx, &second.to_string()).await
    }
}

async fn jobs(db: &Db, settings: &Settings) -> Jobs {
    Jobs::new(db.clone(), settings)
        .await
        .unwrap()
        .register::<Record>()
        .register::<Flaky>()
        .register::<Refuse>()
        .register::<Panics>()
        .register::<Slow>()
        .register::<Ticker>()
}

async fn serve(db: &Db, jobs: Jobs, settings: Settings) -> TestServer {
    TestServer::start(App::new(settings).database(db.clone()).jobs(jobs)).await
}

async fn log(db: &Db) -> Vec<(String, i64)> {
    torn::with_db!(db, pool => {
        sqlx::query_as("SELECT key, attempt FROM job_log ORDER BY key, attempt")
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

async fn states(db: &Db) -> Vec<(String, String, i64, Option<String>)> {
    torn::with_db!(db, pool => {
        sqlx::query_as("SELECT kind, state, attempts, last_error FROM torn_jobs ORDER BY kind")
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

async fn wait_for_log(db: &Db, n: usize) -> Vec<(String, i64)> {
    let started = Instant::now();
    loop {
        let rows = log(db).await;
        if rows.len() >= n {
            return rows;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} of {n} jobs ran: {rows:?}",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_queue_and_run_each_job_once() {
    for database in common::test_databases("jobs: two instances").await {
        let db = prepared(&database).await;
        let settings = settings();
        let first = jobs(&db, &settings).await;
        let second = jobs(&db, &settings).await;
        for i in 0..60 {
            first
                .enqueue(&Record {
                    key: format!("job{i:02}"),
                })
                .await
                .unwrap();
        }
        let a = serve(&db, first.clone(), settings.clone()).await;
        let b = serve(&db, second, settings.clone()).await;
        let rows = wait_for_log(&db, 60).await;
        // Enqueued while the workers run: woken at once, not at the next poll.
        let started = Instant::now();
        first.enqueue(&Record { key: "late".into() }).await.unwrap();
        let rows_after = wait_for_log(&db, 61).await;
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "a job enqueued in this instance waited {:?}",
            started.elapsed()
        );
        a.stop().await;
        b.stop().await;
        let mut keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
        keys.dedup();
        assert_eq!(keys.len(), 60, "a job ran twice: {rows:?}");
        assert!(rows.iter().all(|&(_, attempt)| attempt == 1));
        assert_eq!(rows_after.len(), 61);
        assert!(states(&db).await.is_empty(), "done jobs are deleted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_enqueues_with_the_jobs_extractor() {
    let database = TestDatabase::sqlite();
    let db = prepared(&database).await;
    let settings = settings();
    let app = App::new(settings.clone())
        .jobs(jobs(&db, &settings).await)
        .route(
            "/enqueue",
            axum::routing::get(|jobs: Jobs| async move {
                jobs.enqueue(&Record {
                    key: "from a handler".into(),
                })
                .await
                .map(|_| "queued")
            }),
        );
    let server = TestServer::start(app).await;
    assert_eq!(server.get("/enqueue").await.text, "queued");
    assert_eq!(
        wait_for_log(&db, 1).await,
        [("from a handler".to_string(), 1)]
    );
    server.stop().await;
    // Without App::jobs, the extractor says what is missing.
    let bare = App::new(settings).route(
        "/enqueue",
        axum::routing::get(|_jobs: Jobs| async { "unreachable" }),
    );
    let server = TestServer::start(bare).await;
    assert_eq!(server.get("/enqueue").await.status, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_are_retried_after_a_backoff_then_dead_with_their_error() {
    for database in common::test_databases("jobs: retries").await {
        let db = prepared(&database).await;
        let settings = settings();
        let jobs = jobs(&db, &settings).await;
        jobs.enqueue(&Flaky {
            key: "once".into(),
            fail_until: 1,
        })
        .await
        .unwrap();
        jobs.enqueue(&Refuse).await.unwrap();
        jobs.enqueue(&Panics).await.unwrap();
        // A job from a newer version of the app, which this one does not know.
        torn::with_db!(&db, pool => {
            sqlx::query(
                "INSERT INTO torn_jobs (id, queue, kind, payload, state, attempts, max_attempts, \
                 run_at, created_at, updated_at) VALUES (1, 'default', 'from_the_future', '{}', \
                 'ready', 0, 5, 0, 0, 0)",
            )
            .execute(pool)
            .await
            .unwrap();
        });
        let ran = jobs.run_due().await.unwrap();
        assert_eq!(ran, Ran { done: 0, failed: 4 });
        let now = states(&db).await;
        assert_eq!(
            now.iter()
                .map(|(k, s, a, _)| (k.as_str(), s.as_str(), *a))
                .collect::<Vec<_>>(),
            [
                ("flaky", "ready", 1),
                ("from_the_future", "ready", 1),
                ("panics", "dead", 1),
                ("refuse", "dead", 1),
            ],
            "{now:?}"
        );
        let error = |kind: &str| {
            now.iter()
                .find(|r| r.0 == kind)
                .and_then(|r| r.3.clone())
                .unwrap_or_default()
        };
        assert!(
            error("panics").contains("panicked: a bug in the job"),
            "{now:?}"
        );
        assert_eq!(error("refuse"), "the row it names is gone");
        assert!(error("from_the_future").contains("knows no job named \"from_the_future\""));
        // Not before the backoff.
        assert_eq!(jobs.run_due().await.unwrap(), Ran::default());
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let ran = jobs.run_due().await.unwrap();
        assert_eq!(ran, Ran { done: 1, failed: 1 });
        assert_eq!(log(&db).await, [("once".to_string(), 2)]);

        // Failing every time: dead after MAX_ATTEMPTS, with the last error.
        jobs.enqueue(&Flaky {
            key: "never".into(),
            fail_until: 99,
        })
        .await
        .unwrap();
        for _ in 0..3 {
            jobs.run_due().await.unwrap();
            tokio::time::sleep(Duration::from_millis(1200)).await;
        }
        let flaky: Vec<_> = states(&db)
            .await
            .into_iter()
            .filter(|r| r.0 == "flaky")
            .collect();
        assert_eq!(
            flaky,
            [(
                "flaky".to_string(),
                "dead".to_string(),
                3,
                Some("flaky attempt 3".to_string())
            )]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_instance_died_runs_again_once_its_lease_ran_out() {
    for database in common::test_databases("jobs: leases").await {
        let db = prepared(&database).await;
        let settings = settings();
        let jobs = jobs(&db, &settings).await;
        let far = torn::jobs::now_ms() + 60_000;
        torn::with_db!(&db, pool => {
            for (id, key, lease_end) in [(1_i64, "dead instance", 0_i64), (2, "live instance", far)] {
                sqlx::query(
                    "INSERT INTO torn_jobs (id, queue, kind, payload, state, attempts, \
                     max_attempts, run_at, locked_by, created_at, updated_at) VALUES ($1, \
                     'default', 'record', $2, 'running', 1, 5, $3, 'another', 0, 0)",
                )
                .bind(id)
                .bind(serde_json::json!({ "key": key }).to_string())
                .bind(lease_end)
                .execute(pool)
                .await
                .unwrap();
            }
        });
        assert_eq!(jobs.run_due().await.unwrap(), Ran { done: 1, failed: 0 });
        assert_eq!(log(&db).await, [("dead instance".to_string(), 2)]);
        let left = states(&db).await;
        assert_eq!(left.len(), 1);
        assert_eq!((left[0].1.as_str(), left[0].2), ("running", 1));
    }
}

/// An instance that lost a job's lease (another took the job: say this one's database link was
/// down past the lease) stops running it, rather than run it beside the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_whose_lease_was_taken_over_is_stopped() {
    for database in common::test_databases("jobs: lost lease").await {
        let db = prepared(&database).await;
        let mut settings = settings();
        settings.jobs.lease = Duration::from_secs(3);
        let jobs = jobs(&db, &settings).await;
        let server = serve(&db, jobs.clone(), settings.clone()).await;
        jobs.enqueue(&Ticker).await.unwrap();
        wait_for_log(&db, 3).await;
        // Another instance takes it over, with a lease of its own.
        let far = torn::jobs::now_ms() + 600_000;
        torn::with_db!(&db, pool => {
            sqlx::query(
                "UPDATE torn_jobs SET locked_by = 'another', attempts = attempts + 1, run_at = $1",
            )
            .bind(far)
            .execute(pool)
            .await
            .unwrap();
        });
        // The next renewal (a third of the lease) finds it gone and stops the job.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let stopped_at = log(&db).await.len();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(log(&db).await.len(), stopped_at, "the job still runs here");
        server.stop().await;
        let left = states(&db).await;
        assert_eq!(
            left.iter()
                .map(|(k, s, a, _)| (k.as_str(), s.as_str(), *a))
                .collect::<Vec<_>>(),
            [("ticker", "running", 2)],
            "the other instance's hold is left alone"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_shutdown_running_jobs_finish_or_are_given_back() {
    for database in common::test_databases("jobs: shutdown").await {
        let db = prepared(&database).await;
        let settings = settings();
        let jobs = jobs(&db, &settings).await;
        let server = serve(&db, jobs.clone(), settings.clone()).await;
        jobs.enqueue(&Slow {
            key: "short".into(),
            ms: 500,
        })
        .await
        .unwrap();
        jobs.enqueue(&Slow {
            key: "long".into(),
            ms: 600_000,
        })
        .await
        .unwrap();
        let started = Instant::now();
        while states(&db)
            .await
            .iter()
            .filter(|r| r.1 == "running")
            .count()
            < 2
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{:?}",
                states(&db).await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The test server gives running jobs 5 s.
        server.stop().await;
        assert_eq!(log(&db).await, [("short".to_string(), 1)]);
        let left = states(&db).await;
        assert_eq!(
            left.iter()
                .map(|(k, s, a, _)| (k.as_str(), s.as_str(), *a))
                .collect::<Vec<_>>(),
            [("slow", "ready", 0)],
            "the long job is back in the queue, its attempt not counted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_kept_by_two_instances_fires_once_per_time() {
    for database in common::test_databases("jobs: schedules").await {
        let db = prepared(&database).await;
        let settings = settings();
        let every_second = |jobs: Jobs| jobs.schedule::<Tick>("* * * * * *").unwrap();
        let a = serve(
            &db,
            every_second(jobs(&db, &settings).await),
            settings.clone(),
        )
        .await;
        let b = serve(
            &db,
            every_second(jobs(&db, &settings).await),
            settings.clone(),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(3500)).await;
        a.stop().await;
        b.stop().await;
        let ticks = log(&db).await;
        let mut seconds: Vec<&str> = ticks.iter().map(|(s, _)| s.as_str()).collect();
        seconds.dedup();
        assert!(ticks.len() >= 3, "{ticks:?}");
        assert_eq!(seconds.len(), ticks.len(), "a time fired twice: {ticks:?}");
        let kept: i64 = torn::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM torn_job_schedules")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(kept, 1, "one row per schedule");
    }
}

#[tokio::test]
async fn a_bad_schedule_is_refused_with_what_a_good_one_looks_like() {
    let database = TestDatabase::sqlite();
    let db = prepared(&database).await;
    let settings = settings();
    let e = jobs(&db, &settings)
        .await
        .schedule::<Tick>("every day at noon")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"every day at noon\" of job tick is not a cron expression"),
        "{e}"
    );
    assert!(e.contains("17 * * * *"), "{e}");
}

#[tokio::test]
async fn an_app_without_the_jobs_migration_is_told_how_to_add_it() {
    let database = TestDatabase::sqlite();
    let db = Db::connect(database.url()).await.unwrap();
    let e = Jobs::new(db, &settings()).await.unwrap_err().to_string();
    assert!(e.contains("torn_jobs"), "{e}");
    assert!(e.contains("torn gen job"), "{e}");
    assert!(e.contains("torn db migrate"), "{e}");
}

/// `starter jobs …`, as `torn jobs …` runs it, against a database with a dead job.
#[tokio::test]
async fn the_apps_jobs_command_lists_queues_and_dead_jobs_and_retries_them() {
    let database = TestDatabase::sqlite();
    let db = prepared(&database).await;
    let settings = settings();
    let jobs = jobs(&db, &settings).await;
    jobs.enqueue(&Refuse).await.unwrap();
    jobs.enqueue_after(
        &Record {
            key: "later".into(),
        },
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    jobs.run_due().await.unwrap();
    let id: i64 = torn::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT id FROM torn_jobs WHERE state = 'dead'")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    let app = |args: &[&str]| {
        let out = std::process::Command::new(common::workspace_bin("starter", "starter"))
            .arg("jobs")
            .args(args)
            .current_dir(common::workspace_root().join("starter"))
            .env("TORN_ENV", "test")
            .env("DATABASE_URL", database.url())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, out, err) = app(&[]);
    assert_eq!(code, Some(0), "{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("default"))
        .unwrap_or_default();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["default", "0", "1", "0", "1"],
        "{out}"
    );
    let (code, out, _) = app(&["dead"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!("{id}  refuse (queue default)  1 attempts")),
        "{out}"
    );
    assert!(out.contains("the row it names is gone"), "{out}");
    let (code, _, err) = app(&["retry", "12345"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no dead job has id 12345"), "{err}");
    let (code, _, err) = app(&["retry", "twelve"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("\"twelve\" is not a job id"), "{err}");
    let (code, _, err) = app(&["purge"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("usage: <app> jobs"), "{err}");
    let (code, out, _) = app(&["retry", &id.to_string()]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), format!("job {id} is queued again").as_str())
    );
    assert_eq!(app(&["dead"]).1, "no dead jobs\n");
    let (code, out, _) = app(&["retry", "--all"]);
    assert_eq!((code, out.as_str()), (Some(0), "no dead jobs\n"));
    // It runs again (and fails for good again).
    assert_eq!(jobs.run_due().await.unwrap(), Ran { done: 0, failed: 1 });
}
