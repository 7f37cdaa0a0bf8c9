//! Server-side sessions with tower-sessions, stored in the app's database.
//!
//! The session cookie holds only a random id; the data lives in the `tower_sessions` table of
//! the app's SQLite or PostgreSQL database (the stores of `tower-sessions-sqlx-store`), so
//! several instances of an app share their sessions. The cookie is `HttpOnly`, `SameSite=Lax`
//! (not the crate's default `Strict`, which loses the session on the way back from an OAuth
//! provider), `Path=/`, and outside dev `Secure` with the `__Host-` prefix, which browsers only
//! accept from HTTPS pages, for the whole site, without a `Domain`.
//!
//! Sessions expire after `session_idle_timeout_secs` without a request; torn's accounts also
//! end them `session_absolute_timeout_secs` after log-in, whatever the activity.

use std::time::Duration;

use async_trait::async_trait;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::config::Settings;
use crate::db::Db;

pub use tower_sessions::Session;

/// The session store of the app's database.
#[derive(Clone, Debug)]
pub enum Store {
    /// In SQLite.
    Sqlite(SqliteStore),
    /// In PostgreSQL.
    Postgres(PostgresStore),
    /// In Redis (feature `redis`): for apps whose instances share sessions there.
    #[cfg(feature = "redis")]
    Redis(tower_sessions_redis_store::RedisStore<tower_sessions_redis_store::fred::prelude::Pool>),
}

impl Store {
    /// The store for this database.
    pub fn for_db(db: &Db) -> Self {
        match db {
            Db::Sqlite(pool) => Store::Sqlite(SqliteStore::new(pool.clone())),
            Db::Postgres(pool) => Store::Postgres(PostgresStore::new(pool.clone())),
        }
    }

    /// A store in Redis at `url` (`redis://host:port/db`), with a small connection pool.
    #[cfg(feature = "redis")]
    pub async fn redis(url: &str) -> Result<Self, crate::Error> {
        use tower_sessions_redis_store::fred::prelude::{ClientLike as _, Config, Pool};
        let hidden = crate::db::redact(url);
        let config = Config::from_url(url).map_err(|e| {
            crate::Error::internal(format!("the Redis URL {hidden:?} is not valid: {e}"))
        })?;
        let pool = Pool::new(config, None, None, None, 4)
            .map_err(|e| crate::Error::internal(format!("cannot set up Redis at {hidden}: {e}")))?;
        let _connection = pool.init().await.map_err(|e| {
            crate::Error::internal(format!(
                "cannot connect to Redis at {hidden}: {e}. Is Redis running?"
            ))
        })?;
        Ok(Store::Redis(tower_sessions_redis_store::RedisStore::new(
            pool,
        )))
    }

    /// Create the store's table if it does not exist yet (Redis needs none).
    pub async fn migrate(&self) -> sqlx::Result<()> {
        match self {
            Store::Sqlite(s) => s.migrate().await,
            Store::Postgres(s) => s.migrate().await,
            #[cfg(feature = "redis")]
            Store::Redis(_) => Ok(()),
        }
    }

    /// Delete expired sessions (Redis expires them by itself).
    pub async fn delete_expired(&self) -> session_store::Result<()> {
        use tower_sessions::ExpiredDeletion as _;
        match self {
            Store::Sqlite(s) => s.delete_expired().await,
            Store::Postgres(s) => s.delete_expired().await,
            #[cfg(feature = "redis")]
            Store::Redis(_) => Ok(()),
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.create(record).await,
            Store::Postgres(s) => s.create(record).await,
            #[cfg(feature = "redis")]
            Store::Redis(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.save(record).await,
            Store::Postgres(s) => s.save(record).await,
            #[cfg(feature = "redis")]
            Store::Redis(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Sqlite(s) => s.load(id).await,
            Store::Postgres(s) => s.load(id).await,
            #[cfg(feature = "redis")]
            Store::Redis(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.delete(id).await,
            Store::Postgres(s) => s.delete(id).await,
            #[cfg(feature = "redis")]
            Store::Redis(s) => s.delete(id).await,
        }
    }
}

/// The session cookie's name: `__Host-torn_session` when cookies are `Secure`, else
/// `torn_session` (browsers refuse `__Host-` cookies without `Secure`).
pub fn cookie_name(settings: &Settings) -> &'static str {
    if settings.secure_cookies {
        "__Host-torn_session"
    } else {
        "torn_session"
    }
}

/// The session layer with torn's cookie settings.
pub fn layer(store: Store, settings: &Settings) -> SessionManagerLayer<Store> {
    SessionManagerLayer::new(store)
        .with_name(cookie_name(settings))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time_duration(
            settings.session_idle_timeout,
        )))
}

/// `std` → `time` duration (saturating).
pub(crate) fn time_duration(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}
