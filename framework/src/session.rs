//! Server-side sessions with tower-sessions, stored in the app's database.
//!
//! The session cookie holds only a random id; the data lives in the `tower_sessions` table of
//! the app's SQLite or PostgreSQL database (the stores of `tower-sessions-sqlx-store`), so
//! several instances of an app share their sessions. The cookie is `HttpOnly`, `SameSite=Lax`
//! (not the crate's default `Strict`, which loses the session on the way back from an OAuth
//! provider), `Path=/`, and outside dev `Secure` with the `__Host-` prefix, which browsers only
//! accept from HTTPS pages, for the whole site, without a `Domain`.
//!
//! The cookie is a browser-session cookie (no `Max-Age`: it ends when the browser closes),
//! except for a log-in with "remember me", whose cookie lasts `remember_me_secs`. On the
//! server, a session record lives `session_idle_timeout_secs` after it was last saved (torn's
//! accounts save it at least once a minute while the user is active), a remembered one
//! `remember_me_secs`; torn's accounts also end a session `session_absolute_timeout_secs` after
//! log-in, whatever the activity.

use std::time::Duration;

use async_trait::async_trait;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};
#[cfg(feature = "postgres")]
use tower_sessions_sqlx_store::PostgresStore;
#[cfg(feature = "sqlite")]
use tower_sessions_sqlx_store::SqliteStore;

use crate::config::Settings;
use crate::db::Db;

pub use tower_sessions::Session;

/// Session key of the "remember me" choice: `true` in a session whose cookie outlives the
/// browser.
pub(crate) const REMEMBER_KEY: &str = "torn.remember";

/// The session store of the app's database.
#[derive(Clone, Debug)]
pub enum Store {
    /// In SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteStore),
    /// In PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(PostgresStore),
    /// In Redis (feature `redis`): for apps whose instances share sessions there.
    #[cfg(feature = "redis")]
    Redis(tower_sessions_redis_store::RedisStore<tower_sessions_redis_store::fred::prelude::Pool>),
}

impl Store {
    /// The store for this database.
    pub fn for_db(db: &Db) -> Self {
        match *db {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(ref pool) => Store::Sqlite(SqliteStore::new(pool.clone())),
            #[cfg(feature = "postgres")]
            Db::Postgres(ref pool) => Store::Postgres(PostgresStore::new(pool.clone())),
        }
    }

    /// A store in Redis at `url` (`redis://host:port/db`), with a small connection pool.
    #[cfg(feature = "redis")]
    pub async fn redis(url: &str) -> Result<Self, crate::Error> {
        use tower_sessions_redis_store::fred::prelude::{
            ClientLike as _, Config, ConnectionConfig, PerformanceConfig, Pool, ReconnectPolicy,
        };
        let hidden = crate::config::redact(url);
        let config = Config::from_url(url).map_err(|e| {
            crate::Error::internal(format!("the Redis URL {hidden:?} is not valid: {e}"))
        })?;
        // A request waits at most 5 s for Redis, and a lost connection is made again for ever
        // (at most 2 s between attempts): without these, a Redis restart left every request
        // with a session waiting for good.
        let wait = Duration::from_secs(5);
        let performance = PerformanceConfig {
            default_command_timeout: wait,
            ..PerformanceConfig::default()
        };
        let connection = ConnectionConfig {
            connection_timeout: wait,
            internal_command_timeout: wait,
            ..ConnectionConfig::default()
        };
        let policy = ReconnectPolicy::new_exponential(0, 100, 2_000, 2);
        let pool = Pool::new(config, Some(performance), Some(connection), Some(policy), 4)
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
        match *self {
            #[cfg(feature = "sqlite")]
            Store::Sqlite(ref s) => s.migrate().await,
            #[cfg(feature = "postgres")]
            Store::Postgres(ref s) => s.migrate().await,
            #[cfg(feature = "redis")]
            Store::Redis(_) => Ok(()),
        }
    }

    /// Delete expired sessions (Redis expires them by itself).
    pub async fn delete_expired(&self) -> session_store::Result<()> {
        use tower_sessions::ExpiredDeletion as _;
        match *self {
            #[cfg(feature = "sqlite")]
            Store::Sqlite(ref s) => s.delete_expired().await,
            #[cfg(feature = "postgres")]
            Store::Postgres(ref s) => s.delete_expired().await,
            #[cfg(feature = "redis")]
            Store::Redis(_) => Ok(()),
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match *self {
            #[cfg(feature = "sqlite")]
            Store::Sqlite(ref s) => s.create(record).await,
            #[cfg(feature = "postgres")]
            Store::Postgres(ref s) => s.create(record).await,
            #[cfg(feature = "redis")]
            Store::Redis(ref s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match *self {
            #[cfg(feature = "sqlite")]
            Store::Sqlite(ref s) => s.save(record).await,
            #[cfg(feature = "postgres")]
            Store::Postgres(ref s) => s.save(record).await,
            #[cfg(feature = "redis")]
            Store::Redis(ref s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match *self {
            #[cfg(feature = "sqlite")]
            Store::Sqlite(ref s) => s.load(id).await,
            #[cfg(feature = "postgres")]
            Store::Postgres(ref s) => s.load(id).await,
            #[cfg(feature = "redis")]
            Store::Redis(ref s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match *self {
            #[cfg(feature = "sqlite")]
            Store::Sqlite(ref s) => s.delete(id).await,
            #[cfg(feature = "postgres")]
            Store::Postgres(ref s) => s.delete(id).await,
            #[cfg(feature = "redis")]
            Store::Redis(ref s) => s.delete(id).await,
        }
    }
}

/// The session cookie's name: `__Host-torn_session` when cookies are `Secure`, else
/// `torn_session` (browsers refuse `__Host-` cookies without `Secure`).
pub(crate) fn cookie_name(settings: &Settings) -> &'static str {
    if settings.cookies.secure {
        "__Host-torn_session"
    } else {
        "torn_session"
    }
}

/// The session layer with torn's cookie settings: a browser-session cookie, over a store
/// whose records live `session_idle_timeout` after their last save unless remembered.
pub(crate) fn layer<S>(store: S, settings: &Settings) -> SessionManagerLayer<IdleLimited<S>>
where
    S: SessionStore + Clone,
{
    let store = IdleLimited {
        store,
        idle: time_duration(settings.sessions.idle_timeout),
    };
    SessionManagerLayer::new(store)
        .with_name(cookie_name(settings))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.cookies.secure)
        .with_path("/")
        .with_expiry(Expiry::OnSessionEnd)
}

/// After a request, inside [`layer`]: a remembered session that is saved keeps its lasting
/// cookie and record (tower-sessions gives every request the layer's expiry, a browser-session
/// one).
pub(crate) async fn keep_remembered(session: Option<Session>, remember_me: Duration) {
    if let Some(session) = session
        && session.is_modified()
        && session.get::<bool>(REMEMBER_KEY).await.ok().flatten() == Some(true)
    {
        session.set_expiry(Some(Expiry::OnInactivity(time_duration(remember_me))));
    }
}

/// The app's [`Store`] as the session layer uses it (inside the accounts' loader): a record that is not remembered expires
/// `session_idle_timeout` after it was saved, though its cookie has no expiry of its own.
#[derive(Clone, Debug)]
pub(crate) struct IdleLimited<S> {
    store: S,
    idle: time::Duration,
}

impl<S> IdleLimited<S> {
    fn limit(&self, record: &mut Record) {
        let remembered = record
            .data
            .get(REMEMBER_KEY)
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        if !remembered {
            let latest = time::OffsetDateTime::now_utc().saturating_add(self.idle);
            record.expiry_date = record.expiry_date.min(latest);
        }
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for IdleLimited<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.limit(record);
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut record = record.clone();
        self.limit(&mut record);
        self.store.save(&record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.store.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(id).await
    }
}

/// `std` → `time` duration (saturating).
pub(crate) fn time_duration(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}
