//! Prometheus metrics (feature `metrics`): the requests by route name, method and status with
//! their latency, the open connections, and the job queues, at `/metrics`.
//!
//! They are off unless `metrics_listen` (an address of their own, such as `127.0.0.1:9100`)
//! or `metrics_token` (served on the app's port to a scraper that sends it as a bearer token)
//! is set, so they are never public by accident. They go through the `metrics` crate: torn
//! installs the Prometheus exporter's recorder, and an app's own `metrics::counter!` and the
//! like show on the same page.
//!
//! On the app's port the page is answered by the metrics layer, outside the router: it cannot
//! clash with a route (a merged router, a route with a parameter), and no session or cookie is
//! touched for it.

use std::convert::Infallible;
use std::net::SocketAddr;
#[cfg(feature = "jobs")]
use std::sync::Mutex;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
#[cfg(feature = "jobs")]
use std::time::Duration;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::future::BoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use subtle::ConstantTimeEq as _;
use tower::{Layer, Service};

use super::health::Quiet;
use crate::config::Settings;
use crate::stats::{REQUEST_SECONDS, REQUESTS};

/// The label of a request that matched no route (a 404): never its path, which an attacker
/// chooses and which would make a series per path.
const UNMATCHED: &str = "unmatched";

/// The shortest time between two readings of the job counts: every scrape would otherwise be a
/// query over the jobs table, which anyone who reaches a `metrics_listen` without a token
/// could repeat at will.
#[cfg(feature = "jobs")]
const JOBS_READ_EVERY: Duration = Duration::from_secs(5);

/// What serves `/metrics`: the recorder's page, and the token a scraper must send.
#[derive(Clone)]
pub(super) struct Exporter {
    handle: PrometheusHandle,
    token: Option<Arc<str>>,
    path: String,
    #[cfg(feature = "jobs")]
    jobs: Option<crate::jobs::Jobs>,
    /// The queues reported so far (set to 0 when their rows are gone), and when they were
    /// read.
    #[cfg(feature = "jobs")]
    queues: Arc<Mutex<(std::collections::BTreeSet<String>, Option<Instant>)>>,
}

impl Exporter {
    /// The exporter for these settings, when they turn metrics on; an error when another
    /// metrics recorder is installed in the process.
    pub(super) fn new(
        settings: &Settings,
        #[cfg(feature = "jobs")] jobs: Option<crate::jobs::Jobs>,
    ) -> Result<Option<Self>, String> {
        let metrics = &settings.metrics;
        if !metrics.enabled() {
            return Ok(None);
        }
        let handle = crate::stats::recorder()?;
        if let Ok(addr) = metrics.listen.parse::<SocketAddr>()
            && !addr.ip().to_canonical().is_loopback()
            && metrics.token.is_empty()
        {
            tracing::warn!(
                "metrics_listen is {addr}, which other machines can reach, and no metrics_token \
                 is set: anyone who reaches it reads the metrics"
            );
        }
        Ok(Some(Exporter {
            handle,
            token: (!metrics.token.is_empty()).then(|| metrics.token.as_str().into()),
            path: metrics.path.clone(),
            #[cfg(feature = "jobs")]
            jobs,
            #[cfg(feature = "jobs")]
            queues: Arc::default(),
        }))
    }

    /// The router of the metrics' own address (`metrics_listen`).
    pub(super) fn router(&self) -> Router {
        let exporter = self.clone();
        Router::new().route(
            &self.path,
            get(
                move |ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap| {
                    let exporter = exporter.clone();
                    async move { exporter.answer(&headers, peer).await }
                },
            ),
        )
    }

    /// The layer that counts requests, answering the metrics' page on the app's port too when
    /// a token guards it.
    pub(super) fn layer(&self) -> MetricsLayer {
        MetricsLayer {
            page: self.token.is_some().then(|| self.clone()),
        }
    }

    async fn answer(&self, headers: &HeaderMap, peer: SocketAddr) -> Response {
        let mut response = if self.allowed(headers) {
            #[cfg(feature = "jobs")]
            self.read_jobs().await;
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                )],
                self.handle.render(),
            )
                .into_response()
        } else {
            // Scrapes are not in the request log; a refused one is news.
            tracing::warn!(%peer, "metrics: refused a request without the right metrics_token");
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                "the metrics need `Authorization: Bearer <metrics_token>`\n",
            )
                .into_response()
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// Whether the request may read the metrics: no token is asked, or it sent the token.
    fn allowed(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().split_at_checked(7))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"Bearer "))
            .map(|(_, sent)| sent);
        sent.is_some_and(|sent| bool::from(sent.ct_eq(token.as_bytes())))
    }

    /// The queues' jobs by state, read from the database (at most every
    /// [`JOBS_READ_EVERY`]).
    #[cfg(feature = "jobs")]
    async fn read_jobs(&self) {
        let Some(jobs) = &self.jobs else {
            return;
        };
        {
            let mut queues = self
                .queues
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if queues.1.is_some_and(|at| at.elapsed() < JOBS_READ_EVERY) {
                return;
            }
            queues.1 = Some(Instant::now());
        }
        let counts = match jobs.counts().await {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot count the jobs");
                return;
            }
        };
        let mut queues = self
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = &mut queues.0;
        for queue in seen.iter() {
            if !counts.iter().any(|c| &c.queue == queue) {
                for state in ["queued", "waiting", "running", "dead"] {
                    metrics::gauge!(crate::stats::JOBS, "queue" => queue.clone(), "state" => state)
                        .set(0.0);
                }
            }
        }
        for count in counts {
            for (state, n) in [
                ("queued", count.queued),
                ("waiting", count.waiting),
                ("running", count.running),
                ("dead", count.dead),
            ] {
                #[allow(clippy::cast_precision_loss)]
                metrics::gauge!(crate::stats::JOBS, "queue" => count.queue.clone(), "state" => state)
                    .set(n as f64);
            }
            seen.insert(count.queue);
        }
    }
}

/// Where the route layer puts the matched route's name, for the metrics layer outside it.
#[derive(Clone, Default)]
pub(crate) struct RouteSlot(Arc<OnceLock<String>>);

impl RouteSlot {
    pub(crate) fn set(&self, route: &str) {
        let _ = self.0.set(route.to_string());
    }
}

/// Counts each request and its latency ([`REQUESTS`], [`REQUEST_SECONDS`]), and answers the
/// metrics' page when it is on the app's port; outermost, so that the latency is the whole of
/// torn's work.
#[derive(Clone)]
pub(super) struct MetricsLayer {
    page: Option<Exporter>,
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Measured<S>;

    fn layer(&self, inner: S) -> Measured<S> {
        Measured {
            inner,
            page: self.page.clone(),
        }
    }
}

/// See [`MetricsLayer`].
#[derive(Clone)]
pub(super) struct Measured<S> {
    inner: S,
    page: Option<Exporter>,
}

impl<S, B> Service<Request> for Measured<S>
where
    S: Service<Request, Response = axum::http::Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        let method = method_label(req.method());
        if let Some(page) = &self.page
            && req.uri().path() == page.path
            && matches!(*req.method(), Method::GET | Method::HEAD)
        {
            let page = page.clone();
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
            return Box::pin(async move {
                let response = page.answer(req.headers(), peer).await;
                record(method, "metrics".into(), &response, started);
                Ok(response)
            });
        }
        let slot = RouteSlot::default();
        req.extensions_mut().insert(slot.clone());
        let answered = self.inner.call(req);
        Box::pin(async move {
            let response = answered.await?.map(Body::new);
            let route = match (slot.0.get(), response.extensions().get::<Quiet>()) {
                (Some(route), _) => route.clone(),
                (None, Some(Quiet)) => "health".to_string(),
                (None, None) => UNMATCHED.to_string(),
            };
            record(method, route, &response, started);
            Ok(response)
        })
    }
}

fn record(method: &'static str, route: String, response: &Response, started: Instant) {
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(REQUEST_SECONDS, &labels).record(started.elapsed());
}

/// The method's label: the standard ones by name, any other as `other` (an attacker chooses
/// methods too).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_an_attacker_makes_up_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(
            method_label(&Method::from_bytes(b"EXFILTRATE").unwrap()),
            "other"
        );
    }
}
