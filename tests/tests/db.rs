//! The database layer on SQLite and on PostgreSQL: the same migrations and queries on both.
//!
//! PostgreSQL runs when `TORN_TEST_POSTGRES_URL` names a server (`.ci/run` sets it to
//! `postgres://postgres@127.0.0.1:5432/test`); each run makes its own database there and drops
//! it afterwards. Without the variable the PostgreSQL cases are reported as skipped.

mod common;

use torn::db::{Backend, Db, DbError};
use torn::with_db;

const MIGRATION: &str = "
CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
";

#[derive(Debug, sqlx::FromRow, PartialEq)]
struct User {
    id: i64,
    email: String,
    password_hash: Option<String>,
    verified: bool,
    created_at: i64,
}

async fn migrator() -> (sqlx::migrate::Migrator, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("0001_users.sql"), MIGRATION).unwrap();
    (Db::migrator_from(dir.path()).await.unwrap(), dir)
}

/// The same code on either backend.
async fn exercise(db: &Db) {
    let (migrator, _dir) = migrator().await;
    db.migrate(&migrator).await.unwrap();
    db.migrate(&migrator).await.expect("migrations run once");

    let id: i64 = with_db!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(42_i64)
        .bind("ada@example.com")
        .bind(Option::<String>::None)
        .bind(1_700_000_000_i64)
        .fetch_one(pool)
        .await
    })
    .unwrap();
    assert_eq!(id, 42);

    let user: User = with_db!(db, pool => {
        sqlx::query_as("SELECT id, email, password_hash, verified, created_at FROM users WHERE email = $1")
            .bind("ada@example.com")
            .fetch_one(pool)
            .await
    })
    .unwrap();
    assert_eq!(
        user,
        User {
            id: 42,
            email: "ada@example.com".into(),
            password_hash: None,
            verified: false,
            created_at: 1_700_000_000,
        }
    );

    let duplicate = with_db!(db, pool => {
        sqlx::query("INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)")
            .bind(43_i64)
            .bind("ada@example.com")
            .bind(0_i64)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    });
    let err = duplicate.expect_err("the unique index holds");
    assert!(
        err.as_database_error()
            .is_some_and(|e| e.is_unique_violation()),
        "{err}"
    );

    let updated = with_db!(db, pool => {
        sqlx::query("UPDATE users SET verified = $1 WHERE id = $2")
            .bind(true)
            .bind(42_i64)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
    .unwrap();
    assert_eq!(updated, 1);
    let verified: bool = with_db!(db, pool => {
        sqlx::query_scalar("SELECT verified FROM users WHERE id = $1")
            .bind(42_i64)
            .fetch_one(pool)
            .await
    })
    .unwrap();
    assert!(verified);
}

#[tokio::test]
async fn sqlite_file_is_created_with_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data/nested/app.db");
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", file.display()))
        .await
        .unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    exercise(&db).await;
    db.close().await;
    assert!(file.is_file());
}

#[tokio::test]
async fn sqlite_in_memory_keeps_one_database() {
    let db = Db::connect("sqlite::memory:").await.unwrap();
    exercise(&db).await;
}

#[tokio::test]
async fn postgres_runs_the_same_code() {
    let Some(pg) = torn::test::TestDatabase::postgres().await else {
        common::skipped(
            "postgres_runs_the_same_code",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    };
    let db = Db::connect(pg.url()).await.unwrap();
    assert_eq!(db.backend(), Backend::Postgres);
    exercise(&db).await;
    db.close().await;
    drop(pg);
}

#[tokio::test]
async fn bad_urls_and_unreachable_servers_get_clear_messages() {
    let err = Db::connect("mysql://root@localhost/app").await.unwrap_err();
    assert!(matches!(err, DbError::Unsupported(_)));
    assert!(err.to_string().contains("sqlite://"), "{err}");

    let err = Db::connect("postgres://app:hunter2@127.0.0.1:1/app")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Is PostgreSQL running"), "{message}");
    assert!(
        message.contains("refused"),
        "the real cause is named: {message}"
    );
    assert!(message.contains("app:***@127.0.0.1:1"), "{message}");
    assert!(
        !message.contains("hunter2"),
        "the password is hidden: {message}"
    );

    let blocker = tempfile::NamedTempFile::new().unwrap();
    let err = Db::connect(&format!(
        "sqlite://{}/under-a-file/app.db",
        blocker.path().display()
    ))
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("cannot create the folder"),
        "{err}"
    );
}
