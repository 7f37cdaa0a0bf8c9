//! The health check for load balancers and orchestrators: `GET /up` (`health_path`) answers
//! 200 when the app can reach its database and 503 when it cannot. It sits outside the
//! features' layers (no session is loaded or saved for it) and its requests are logged at
//! `debug`, not at `info`, so a probe every second does not fill the request log.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Marks a health check's response, for the request log (which keeps it at `debug`) and the
/// metrics (which count it under the route name `health`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Quiet;

/// How long the database may take to answer the probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `router` with the health check at `path` (none when `path` is empty).
pub(super) fn route(router: Router, path: &str, db: Option<Probe>) -> Router {
    if path.is_empty() {
        return router;
    }
    router.route(path, get(move || check(db.clone())))
}

/// What the health check asks: the app's database, when it has one.
#[derive(Clone, Debug)]
pub(super) struct Probe {
    #[cfg(feature = "database")]
    pub(super) db: crate::db::Db,
}

async fn check(probe: Option<Probe>) -> Response {
    let (status, text) = match probe {
        Some(probe) => match tokio::time::timeout(PROBE_TIMEOUT, ping(&probe)).await {
            Ok(Ok(())) => (StatusCode::OK, "ok\n"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "health check: the database did not answer");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unreachable\n",
                )
            }
            Err(_) => {
                tracing::warn!("health check: the database took longer than {PROBE_TIMEOUT:?}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unreachable\n",
                )
            }
        },
        None => (StatusCode::OK, "ok\n"),
    };
    let mut response = (status, text).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(Quiet);
    response
}

#[cfg(feature = "database")]
async fn ping(probe: &Probe) -> Result<(), String> {
    crate::with_db!(&probe.db, pool => {
        sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

#[cfg(not(feature = "database"))]
async fn ping(_probe: &Probe) -> Result<(), String> {
    Ok(())
}
