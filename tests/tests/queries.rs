//! What a logged-in page costs in database statements, counted from sqlx's own record of each
//! statement it runs (its `sqlx::query` events), on SQLite and on PostgreSQL.
//!
//! One test in this binary: it installs the process's tracing subscriber.

mod accounts_app;
mod common;

use std::sync::{Arc, Mutex};

use accounts_app::*;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The statements sqlx ran, as text.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

impl Statements {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Collects the `summary` and `db.statement` fields of an event.
struct Text(String);

impl tracing::field::Visit for Text {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if matches!(field.name(), "summary" | "db.statement") {
            self.0.push_str(value);
            self.0.push(' ');
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            let mut text = Text(String::new());
            event.record(&mut text);
            self.0.lock().unwrap().push(text.0);
        }
    }
}

async fn count_on(target: &Target, statements: &Statements) {
    let f = app(target, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("rae@example.com", PASSWORD).await;
    b.log_in("rae@example.com", PASSWORD).await;
    statements.take();
    let r = b.get("/both").await;
    assert_eq!(r.text, "rae@example.com rae@example.com");
    let ran = statements.take();
    // The session and its user come in one statement, and the page context and `CurrentUser`
    // share it (they once looked the user up each, after the session's own statement).
    assert_eq!(ran.len(), 1, "{} statements: {ran:#?}", ran.len());
    let expected = if target.redis.is_some() {
        "FROM users WHERE id"
    } else {
        "JOIN users"
    };
    assert!(ran[0].contains(expected), "{ran:#?}");
    // The same again on the next page: the user comes fresh with the session every time.
    let r = b.get("/both").await;
    assert_eq!(r.text, "rae@example.com rae@example.com");
    assert_eq!(statements.take().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_in_page_looks_the_user_up_once() {
    let statements = Statements::default();
    tracing_subscriber::registry()
        .with(statements.clone())
        .init();
    let sqlite = torn::test::TestDatabase::sqlite();
    count_on(
        &Target {
            db: sqlite.url().to_string(),
            redis: None,
        },
        &statements,
    )
    .await;
    drop(sqlite);
    match torn::test::TestDatabase::postgres().await {
        Some(pg) => {
            count_on(
                &Target {
                    db: pg.url().to_string(),
                    redis: None,
                },
                &statements,
            )
            .await;
            drop(pg);
        }
        None => common::skipped("queries on PostgreSQL", "TORN_TEST_POSTGRES_URL is not set"),
    }
    // Sessions in Redis: the session comes from Redis, and the user is the one SQL statement.
    match std::env::var("TORN_TEST_REDIS_URL") {
        Ok(redis) => {
            let sqlite = torn::test::TestDatabase::sqlite();
            count_on(
                &Target {
                    db: sqlite.url().to_string(),
                    redis: Some(redis),
                },
                &statements,
            )
            .await;
        }
        Err(_) => common::skipped(
            "queries with Redis sessions",
            "TORN_TEST_REDIS_URL is not set",
        ),
    }
}
