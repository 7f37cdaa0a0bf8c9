//! torn's own middleware as plain tower services: the frame around every request, and the
//! XSRF check on each route (their work is in [`super::frame`]).
//!
//! `axum::middleware::from_fn` costs every request a clone of the whole service chain inside
//! it, a boxed copy of that chain for `Next`, and a boxed future; with a handful of such layers
//! they were the largest part of what a page cost beyond its handler (docs/benchmarks.md).
//! These call the service inside them directly and box one future at most: the XSRF check
//! none at all for a `GET`.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures_util::future::{BoxFuture, Either};
use tower::{Layer, Service};

use super::frame;
use crate::state::Shared;

/// The frame around every request ([`frame::frame_request`], [`frame::frame_response`]).
#[derive(Clone)]
pub(super) struct FrameLayer(pub(super) Arc<Shared>);

impl<S> Layer<S> for FrameLayer {
    type Service = Frame<S>;

    fn layer(&self, inner: S) -> Frame<S> {
        Frame {
            inner,
            shared: self.0.clone(),
        }
    }
}

/// See [`FrameLayer`].
#[derive(Clone)]
pub(super) struct Frame<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B> Service<Request> for Frame<S>
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
        let shared = self.shared.clone();
        let state = frame::frame_request(&mut req, &shared);
        let handled = self.inner.call(req);
        Box::pin(async move {
            let response = handled.await?.map(Body::new);
            Ok(frame::frame_response(response, state, &shared).await)
        })
    }
}

/// The matched route's name (or, for a route without one, its path) in the request's span, for
/// the request log, and for the metrics when they are on.
fn record_route(req: &Request) {
    let Some(path) = req.extensions().get::<axum::extract::MatchedPath>() else {
        return;
    };
    let span = req
        .extensions()
        .get::<super::frame::RequestSpan>()
        .map(|s| &s.0)
        .filter(|span| !span.is_disabled());
    #[cfg(feature = "metrics")]
    let slot = req.extensions().get::<super::prometheus::RouteSlot>();
    #[cfg(not(feature = "metrics"))]
    let slot: Option<&()> = None;
    if span.is_none() && slot.is_none() {
        return;
    }
    let shared = req.extensions().get::<Arc<Shared>>();
    let route = shared
        .and_then(|s| s.urls.name_of(path.as_str()))
        .unwrap_or(path.as_str());
    if let Some(span) = span {
        span.record("route", route);
    }
    #[cfg(feature = "metrics")]
    if let Some(slot) = slot {
        slot.set(route);
    }
}

/// The XSRF check, as a route layer ([`frame::xsrf_checked`]).
#[derive(Clone, Copy)]
pub(super) struct XsrfLayer;

impl<S> Layer<S> for XsrfLayer {
    type Service = XsrfCheck<S>;

    fn layer(&self, inner: S) -> XsrfCheck<S> {
        XsrfCheck { inner }
    }
}

/// See [`XsrfLayer`].
#[derive(Clone)]
pub(super) struct XsrfCheck<S> {
    inner: S,
}

impl<S> Service<Request> for XsrfCheck<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        record_route(&req);
        let req = frame::isolate_token_request(req);
        if !crate::xsrf::is_unsafe(req.method()) {
            return Either::Left(self.inner.call(req));
        }
        // The ready service goes with the check; a clone stays for the next request.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        Either::Right(Box::pin(async move {
            match frame::xsrf_checked(req).await {
                Ok(req) => ready.call(req).await,
                Err(refused) => Ok(refused),
            }
        }))
    }
}
