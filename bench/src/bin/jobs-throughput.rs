//! Jobs through torn's queue, for `bench/jobs.sh`: enqueue N jobs one by one (each stored
//! before the next), then serve the app with its workers and time how long they take to run
//! them all. Prints one line: `enqueued_per_s run_per_s`.
//!
//!   jobs-throughput DATABASE_URL N CONCURRENCY

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use torn::db::Db;
use torn::jobs::{Job, JobContext, JobError};
use torn::{App, Jobs, Settings};

static DONE: AtomicUsize = AtomicUsize::new(0);

/// A job with a little data and no work of its own: what is measured is the queue.
#[derive(Serialize, Deserialize)]
struct Note {
    user_id: i64,
    text: String,
}

impl Job for Note {
    const NAME: &'static str = "note";
    async fn run(self, _cx: JobContext) -> Result<(), JobError> {
        DONE.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, n, concurrency] = args.as_slice() else {
        panic!("usage: jobs-throughput DATABASE_URL N CONCURRENCY");
    };
    let n: usize = n.parse().expect("N");
    let concurrency: usize = concurrency.parse().expect("CONCURRENCY");
    let db = Db::connect(url).await.expect("the database");
    torn::with_db!(&db, pool => {
        sqlx::raw_sql(include_str!("../../../templates/app/migrations/20261207000000_jobs.up.sql"))
            .execute(pool)
            .await
            .expect("the jobs tables");
    });
    let dir = std::env::temp_dir().join(format!("jobs-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let mut settings = Settings::for_test(&dir);
    settings.server.port = 0;
    settings.jobs.queues = [("default".to_string(), concurrency)].into();
    settings.jobs.poll_interval = Duration::from_secs(1);
    let jobs = Jobs::new(db.clone(), &settings)
        .await
        .expect("the queue")
        .register::<Note>();

    let started = Instant::now();
    for i in 0..n {
        let note = Note {
            user_id: i64::try_from(i).unwrap_or(0),
            text: "a short message for the benchmark".into(),
        };
        jobs.enqueue(&note).await.expect("enqueue");
    }
    let enqueued = n as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    tokio::spawn(App::new(settings).jobs(jobs).serve());
    while DONE.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ran = n as f64 / started.elapsed().as_secs_f64();
    println!("{enqueued:.0} {ran:.0}");
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(0);
}
