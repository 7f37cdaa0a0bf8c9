//! Mail that must not be lost, through the starter's job queue and a real SMTP server
//! (aiosmtpd): the app is killed (SIGKILL) right after a sign-up and the verification mail
//! still arrives, once, from the app started again; and a mail sent while the SMTP server is
//! down arrives after a retry. On SQLite, and on PostgreSQL when `TORN_TEST_POSTGRES_URL` is
//! set.

mod common;

use std::time::{Duration, Instant};

use common::Browser;

async fn sign_up(base: &str, email: &str) {
    let r = Browser::new(base)
        .submit(
            "/auth/signup",
            "/auth/signup",
            &[
                ("email", email),
                ("password", "correct horse battery staple"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/auth/check-email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_mail_survives_a_kill_right_after_the_sign_up() {
    if !common::aiosmtpd_available() {
        return;
    }
    for database in common::test_databases("durable mail: kill").await {
        let smtp = common::SmtpServer::start();
        let env = |run_jobs: &str| {
            vec![
                ("DATABASE_URL", database.url().to_string()),
                ("TORN_SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port)),
                ("TORN_RUN_JOBS", run_jobs.to_string()),
            ]
        };
        // An instance that only enqueues: the mail is in the queue when the page answers, and
        // no worker of this process can send it before the kill.
        let (app, base) = common::start_starter(&env("false"));
        sign_up(&base, "ada@example.com").await;
        drop(app); // SIGKILL
        std::thread::sleep(Duration::from_millis(500));
        assert!(smtp.received().is_empty(), "sent before the kill");

        let (_app, base) = common::start_starter(&env("true"));
        let link = common::mail_link(&smtp, 1, "ada@example.com", "/auth/verify");
        assert!(link.starts_with("/auth/verify?token="), "{link}");
        // Once: nothing more comes.
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(smtp.received().len(), 1);
        assert_eq!(Browser::new(&base).get("/").await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_sent_while_the_smtp_server_is_down_arrives_after_a_retry() {
    if !common::aiosmtpd_available() {
        return;
    }
    for database in common::test_databases("durable mail: SMTP down").await {
        let port = common::free_port();
        let (_app, base, log) = common::start_starter_keeping(
            &[
                ("DATABASE_URL", database.url().to_string()),
                ("TORN_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
                ("TORN_JOB_BACKOFF_SECS", "1".to_string()),
            ],
            true,
        );
        sign_up(&base, "grace@example.com").await;
        // The first attempt fails: nothing listens there yet.
        let started = Instant::now();
        while !log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("job failed; it will be retried") && l.contains("torn.mail"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no failed attempt logged:\n{}",
                log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let smtp = common::SmtpServer::start_on(port);
        let link = common::mail_link(&smtp, 1, "grace@example.com", "/auth/verify");
        assert!(link.starts_with("/auth/verify?token="), "{link}");
        assert_eq!(smtp.received().len(), 1);
    }
}

/// An SMTP server that refuses every recipient for good (550), as a relay does for an address
/// that does not exist.
const REFUSING_SMTP: &str = r"
import sys, time
from aiosmtpd.controller import Controller
class Refuse:
    async def handle_RCPT(self, server, session, envelope, address, options):
        return '550 5.1.1 no such user here'
Controller(Refuse(), hostname='127.0.0.1', port=int(sys.argv[1])).start()
while True:
    time.sleep(3600)
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_the_server_refuses_for_good_is_dead_at_once() {
    if !common::aiosmtpd_available() {
        return;
    }
    let port = common::free_port();
    let _server = common::KillOnDrop(
        std::process::Command::new("python3")
            .args(["-c", REFUSING_SMTP, &port.to_string()])
            .spawn()
            .unwrap(),
    );
    common::wait_for_port(port, "the refusing SMTP server");
    let database = torn::test::TestDatabase::sqlite();
    let db = torn::db::Db::connect(database.url()).await.unwrap();
    torn::with_db!(&db, pool => {
        sqlx::raw_sql(include_str!(
            "../../templates/app/migrations/20261207000000_jobs.up.sql"
        ))
        .execute(pool)
        .await
        .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let settings = torn::Settings::for_test(dir.path());
    let mailer =
        torn::mail::Mailer::smtp(&format!("smtp://127.0.0.1:{port}"), "app@example.com").unwrap();
    let jobs = torn::Jobs::new(db.clone(), &settings)
        .await
        .unwrap()
        .with(mailer);
    let email = torn::mail::Email {
        to: "nobody@example.com".into(),
        subject: "Hello".into(),
        text: "Hello".into(),
        html: None,
    };
    jobs.enqueue(&torn::jobs::SendMail(email)).await.unwrap();
    assert_eq!(
        jobs.run_due().await.unwrap(),
        torn::jobs::Ran { done: 0, failed: 1 }
    );
    let (state, attempts, error): (String, i64, String) = torn::with_db!(&db, pool => {
        sqlx::query_as("SELECT state, attempts, last_error FROM torn_jobs")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!((state.as_str(), attempts), ("dead", 1), "{error}");
    assert!(error.contains("no such user here"), "{error}");
}
