//! The session and its user in one statement.
//!
//! A logged-in page needs the session record and the account it belongs to. When sessions live
//! in the app's own database (the default), the session layer loads them together: the record
//! of `tower-sessions-sqlx-store`'s table, joined through `user_sessions` (the row each log-in
//! writes) to `users`. The user row goes to the request's user look-up (the `CurrentUser`,
//! `MaybeUser` and `PageContext` extractors, which run before the handler) through a slot that
//! the accounts layer opens around each request ([`ScopeLayer`]), where the first look-up of the
//! request takes it. [`Accounts::current_user`](super::Accounts::current_user) called by the
//! app's own code, a later look-up, or one outside a request asks the database, so a row is
//! never used after the request changed the account.
//!
//! The row is only a faster way to the same answer: the look-up still checks the session's user
//! id, its security stamp and its timeouts against it, and asks the database again when they
//! disagree. It also tells when the session's log-in row is gone: a log-out deletes the record
//! and that row, and a request that was under way with the same session may save the record
//! again afterwards; such a session is logged out, not brought back. Sessions in Redis load as
//! before, and the user takes a statement of its own.

use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::Request;
use axum::response::Response;
use futures_util::future::BoxFuture;
use sqlx::FromRow as _;
use tower::{Layer, Service};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::User;
use super::user::JOINED_USER_COLUMNS;
use crate::db::Db;
use crate::session::{Session, Store};

tokio::task_local! {
    /// The user row loaded with this request's session, until a look-up takes it.
    static LOADED: RefCell<Option<Loaded>>;
}

/// What the session's statement found of its log-in.
pub(super) enum Found {
    /// The user of the session's log-in row.
    User(User),
    /// No log-in row (never logged in, logged out, or its account gone).
    NoLogIn,
}

/// What was found, and the session it was loaded with.
struct Loaded {
    session_id: Id,
    found: Found,
}

/// Inside the session layer of an app with accounts, around each request: the slot its
/// session's user row is put in, where the request comes from (for the device list), and the
/// lasting cookie of a remembered session
/// ([`crate::session::keep_remembered`]), in one plain tower service (see `app/layers.rs` for
/// why not `from_fn`).
#[derive(Clone, Copy)]
pub(crate) struct ScopeLayer {
    /// `remember_me`.
    pub(crate) remember_me: Duration,
}

impl<S> Layer<S> for ScopeLayer {
    type Service = Scope<S>;

    fn layer(&self, inner: S) -> Scope<S> {
        Scope {
            inner,
            remember_me: self.remember_me,
        }
    }
}

/// See [`ScopeLayer`].
#[derive(Clone)]
pub(crate) struct Scope<S> {
    inner: S,
    remember_me: Duration,
}

impl<S> Service<Request> for Scope<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let session = req.extensions().get::<Session>().cloned();
        let remember_me = self.remember_me;
        let from = super::RequestFrom {
            ip: req
                .extensions()
                .get::<crate::client::Client>()
                .map(|c| c.ip),
            user_agent: req.headers().get(axum::http::header::USER_AGENT).cloned(),
        };
        let handled = self.inner.call(req);
        Box::pin(super::request_scope(
            from,
            LOADED.scope(RefCell::new(None), async move {
                let response = handled.await?;
                crate::session::keep_remembered(session, remember_me).await;
                Ok(response)
            }),
        ))
    }
}

/// What was found with the session `session_id` in this request, if not taken yet.
pub(super) fn take(session_id: &Id) -> Option<Found> {
    LOADED
        .try_with(|slot| match slot.borrow_mut().take() {
            Some(loaded) if loaded.session_id == *session_id => Some(loaded.found),
            _ => None,
        })
        .ok()
        .flatten()
}

/// Put the row where this request's look-up finds it (nowhere outside a request).
fn keep(session_id: Id, found: Found) {
    // Outside [`ScopeLayer`] (a task spawned by a handler, say) there is no slot: nothing to do.
    let _outside_a_request = LOADED.try_with(|slot| {
        *slot.borrow_mut() = Some(Loaded { session_id, found });
    });
}

/// The session store of an app with accounts: [`Store`], whose records load with their user
/// when they live in the accounts' own database.
#[derive(Clone, Debug)]
pub(crate) struct WithUsers {
    store: Store,
    /// The accounts' database, when the session table is in it.
    joined: Option<Db>,
}

impl WithUsers {
    pub(super) fn new(store: Store, joined: Option<Db>) -> Self {
        Self { store, joined }
    }
}

fn backend_error(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The statement for each database: the tables are the stores' defaults, which
/// [`Store::for_db`] uses.
#[cfg(feature = "sqlite")]
static SQLITE: LazyLock<String> = LazyLock::new(|| statement("tower_sessions"));
#[cfg(feature = "postgres")]
static POSTGRES: LazyLock<String> = LazyLock::new(|| statement("\"tower_sessions\".\"session\""));

fn statement(table: &str) -> String {
    format!(
        "SELECT s.data AS torn_session_data, {JOINED_USER_COLUMNS} FROM {table} s \
         LEFT JOIN user_sessions us ON us.session_id = s.id \
         LEFT JOIN users u ON u.id = us.user_id \
         WHERE s.id = $1 AND s.expiry_date > $2"
    )
}

/// One row of [`statement`]: the record's bytes, and what it says of the session's log-in;
/// nothing when the user's columns cannot be read (then the session still loads, and its user
/// is looked up on its own).
fn decode<R>(row: &R) -> session_store::Result<(Record, Option<Found>)>
where
    R: sqlx::Row,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> User: sqlx::FromRow<'r, R>,
{
    let data: Vec<u8> = row.try_get("torn_session_data").map_err(backend_error)?;
    let record: Record =
        rmp_serde::from_slice(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
    let found = match row.try_get::<Option<i64>, _>("id") {
        Ok(Some(_)) => User::from_row(row).map(Found::User),
        Ok(None) => Ok(Found::NoLogIn),
        Err(e) => Err(e),
    };
    let found = found
        .inspect_err(|e| tracing::warn!(error = %e, "the session's user row cannot be read"))
        .ok();
    Ok((record, found))
}

#[async_trait]
impl SessionStore for WithUsers {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(db) = &self.joined else {
            return self.store.load(id).await;
        };
        let now = time::OffsetDateTime::now_utc();
        let statement: &str = match db {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => &SQLITE,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => &POSTGRES,
        };
        let loaded = crate::with_db!(db, pool => {
            let row = sqlx::query(statement)
                .bind(id.to_string())
                .bind(now)
                .fetch_optional(pool)
                .await
                .map_err(backend_error)?;
            row.as_ref().map(decode).transpose()?
        });
        Ok(loaded.map(|(record, found)| {
            if let Some(found) = found {
                keep(*id, found);
            }
            record
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(id).await
    }
}
