//! The database: SQLite by default, PostgreSQL when the URL says so, with the same code.
//!
//! [`Db`] holds a pool for one of the two. Queries are written once, in SQL both understand
//! (`$1` placeholders, `BIGINT`, `TEXT`, `BOOLEAN`, `RETURNING`), and run on either pool with
//! [`with_db!`](crate::with_db):
//!
//! ```no_run
//! # async fn demo(db: &torn::db::Db) -> Result<(), sqlx::Error> {
//! let count: i64 = torn::with_db!(db, pool => {
//!     sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
//!         .bind("ada@example.com")
//!         .fetch_one(pool)
//!         .await
//! })?;
//! # Ok(()) }
//! ```
//!
//! The two backends return different result types; map them to a common one inside the block
//! (`.map(|r| r.rows_affected())` after `execute`).
//!
//! Migrations are one portable set of `.sql` files, embedded in the app's binary with
//! `sqlx::migrate!()` and run with [`Db::migrate`].

pub(crate) mod commands;

use std::path::Path;
#[cfg(feature = "sqlite")]
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

/// Run a block on whichever pool the database has: the block is compiled once per backend
/// (once per backend that torn was built with: features `sqlite` and `postgres`).
#[cfg(all(feature = "sqlite", feature = "postgres"))]
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Run a block on the database's pool (torn is built with the `sqlite` backend only).
#[cfg(all(feature = "sqlite", not(feature = "postgres")))]
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
        }
    };
}

/// Run a block on the database's pool (torn is built with the `postgres` backend only).
#[cfg(all(feature = "postgres", not(feature = "sqlite")))]
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!(
    "torn's database (feature `database`, which `accounts`, `social-login` and `redis` turn on) \
     needs a backend: turn on feature `sqlite` or `postgres` too"
);

/// Which database a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (a file).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection pool to SQLite or PostgreSQL. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
}

/// The app's database in a handler (set by `App::database` or `App::accounts`).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Db {
    type Rejection = crate::Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, crate::Error> {
        parts.extensions.get::<Db>().cloned().ok_or_else(|| {
            crate::Error::internal(
                "the database is not set up: build the app with App::database(…) or \
                 App::accounts(…)",
            )
        })
    }
}

/// A database problem at start-up. The message says what to do; passwords in URLs are hidden.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error(
        "DATABASE_URL {0:?} is not supported: use sqlite://path/to/file.db or \
         postgres://user@host:port/database"
    )]
    Unsupported(String),
    /// The URL could not be parsed.
    #[error("DATABASE_URL {url:?} is not valid: {source}")]
    BadUrl {
        /// The URL, password hidden.
        url: String,
        /// The parser's error.
        source: sqlx::Error,
    },
    /// The folder of an SQLite file could not be created.
    #[error("cannot create the folder for the SQLite database {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server did not answer or refused.
    #[error("cannot connect to the database at {url}: {source}{hint}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// Why.
        source: sqlx::Error,
        /// What to try.
        hint: &'static str,
    },
    /// The URL names a backend this build of torn leaves out.
    #[error(
        "DATABASE_URL {url:?} names {backend}, but this app's torn is built without it: add \"{feature}\" \
         to the features of torn in the app's Cargo.toml"
    )]
    NotBuiltIn {
        /// The URL, password hidden.
        url: String,
        /// The backend ("SQLite", "PostgreSQL").
        backend: &'static str,
        /// The cargo feature that brings it.
        feature: &'static str,
    },
    /// A migration failed.
    #[error("the database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A new row id: random, positive, 63 bits (ids tell nothing about how many rows there are).
pub fn new_id() -> i64 {
    use rand::RngCore as _;
    i64::try_from(rand::rngs::OsRng.next_u64() >> 1).expect("63 bits fit in an i64")
}

/// A duration in whole seconds, as the `i64` Unix times in the database count them; a
/// setting of centuries saturates instead of wrapping into the past.
#[cfg(any(feature = "accounts", feature = "social-login"))]
pub(crate) fn secs_i64(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// The time now in Unix seconds, as stored in `created_at` and `updated_at` columns.
pub fn now() -> i64 {
    i64::try_from(crate::signing::unix_now()).unwrap_or(i64::MAX)
}

pub use crate::config::redact;

impl Db {
    /// Connect to `url`: `sqlite://file.db` (created with its folder if missing; WAL journal,
    /// foreign keys on) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        if url.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            return Self::connect_sqlite(url).await;
            #[cfg(not(feature = "sqlite"))]
            return Err(DbError::NotBuiltIn {
                url: redact(url),
                backend: "SQLite",
                feature: "sqlite",
            });
        }
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            #[cfg(feature = "postgres")]
            return Self::connect_postgres(url).await;
            #[cfg(not(feature = "postgres"))]
            return Err(DbError::NotBuiltIn {
                url: redact(url),
                backend: "PostgreSQL",
                feature: "postgres",
            });
        }
        Err(DbError::Unsupported(redact(url)))
    }

    #[cfg(feature = "postgres")]
    async fn connect_postgres(url: &str) -> Result<Db, DbError> {
        use sqlx::Connection as _;
        // One direct connection first: the pool would only say that it timed out, where
        // this says "connection refused" or "database does not exist".
        let connect_error = |source| DbError::Connect {
            url: redact(url),
            source,
            hint: ". Is PostgreSQL running, and does the database exist?",
        };
        let first = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url))
            .await
            .map_err(|_| connect_error(sqlx::Error::PoolTimedOut))?
            .map_err(connect_error)?;
        first.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|source| DbError::Connect {
                url: redact(url),
                source,
                hint: ". Is PostgreSQL running, and does the database exist?",
            })?;
        Ok(Db::Postgres(pool))
    }

    #[cfg(feature = "sqlite")]
    async fn connect_sqlite(url: &str) -> Result<Db, DbError> {
        let options = SqliteConnectOptions::from_str(url).map_err(|source| DbError::BadUrl {
            url: url.to_string(),
            source,
        })?;
        let file = options.get_filename().to_path_buf();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory && let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| DbError::Folder {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let options = if in_memory {
            options
        } else {
            options.journal_mode(SqliteJournalMode::Wal)
        };
        // An in-memory database lives in one connection: keep exactly one, forever.
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        };
        let pool = pool
            .connect_with(options)
            .await
            .map_err(|source| DbError::Connect {
                url: url.to_string(),
                source,
                hint: if in_memory {
                    ""
                } else {
                    ". Check that the folder is writable."
                },
            })?;
        Ok(Db::Sqlite(pool))
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match *self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Apply the migrations that have not run yet.
    pub async fn migrate(&self, migrator: &Migrator) -> Result<(), DbError> {
        with_db!(self, pool => migrator.run(pool).await)?;
        Ok(())
    }

    /// Load migrations from a folder at run time (tools and tests; apps embed theirs with
    /// `sqlx::migrate!()`).
    pub async fn migrator_from(dir: &Path) -> Result<Migrator, DbError> {
        Ok(Migrator::new(dir).await?)
    }

    /// Close the pool, waiting for connections in use.
    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await);
    }
}
