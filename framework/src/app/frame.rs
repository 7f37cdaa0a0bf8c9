//! What runs around every request: the outer frame (client address, error pages, security
//! headers), the request's span and log line (through tower-http's `TraceLayer`), torn's request context (the `_xsrf` and flash cookies) and the
//! XSRF check on each route.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::client;
use crate::cookies::{apply_defaults, set_cookie_value};
use crate::error::{self, Error};
use crate::page::{FlashMessage, FlashState, RequestState, XsrfState};
use crate::state::Shared;
use crate::xsrf::{self, RawToken};

/// Name of the signed cookie that carries flash messages to the next page.
pub const FLASH_COOKIE: &str = "_flash";

/// The outer frame of every request, on its way in: the client's address, the request id a
/// trusted proxy sent, and torn's request context (the `_xsrf` and flash cookies, written back
/// on the response by [`frame_response`], which also makes error pages, or JSON errors, for
/// error responses without a body). One middleware for all of it
/// ([`super::layers::FrameLayer`]): each middleware layer costs every request allocations and a
/// copy of the service chain inside it.
pub(super) fn frame_request(req: &mut Request, shared: &Shared) -> FrameState {
    // Who sent it, once for the log and every extractor ([`crate::client`]).
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| {
            client::resolve(
                peer.ip(),
                req.headers(),
                &shared.settings.server.trusted_proxies,
            )
        });
    if let Some(client) = client {
        req.extensions_mut().insert(client);
    }
    // A request id is taken only from a trusted proxy, and only one that looks like an id.
    let from_proxy = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| {
            shared.settings.server.trusted_proxies.contains(peer.ip())
        });
    // Only the first value counts: any others are dropped with it, or after it.
    let kept = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|id| from_proxy && usable_request_id(id))
        .cloned();
    if req.headers().contains_key(&X_REQUEST_ID) {
        req.headers_mut().remove(&X_REQUEST_ID);
        if let Some(id) = kept {
            req.headers_mut().insert(X_REQUEST_ID.clone(), id);
        }
    }
    let span = new_request_span(req);
    req.extensions_mut().insert(RequestSpan(span));
    let json = error::wants_json(req.headers());
    let is_head = req.method() == axum::http::Method::HEAD;
    let (context, had_flash_cookie) = request_context(req, shared);
    FrameState {
        json,
        is_head,
        context,
        had_flash_cookie,
    }
}

/// What [`frame_request`] keeps for [`frame_response`].
pub(super) struct FrameState {
    json: bool,
    is_head: bool,
    context: Arc<RequestState>,
    had_flash_cookie: bool,
}

/// The frame's work on the response: the context's cookies, then the error page.
pub(super) async fn frame_response(
    response: Response,
    state: FrameState,
    shared: &Shared,
) -> Response {
    let response = finish(response, &state.context, shared, state.had_flash_cookie);
    let mut response = error::error_page_for(response, shared, state.json, state.is_head);
    if shared.dev.is_some() && !state.is_head {
        response = with_reload_script(response).await;
    }
    response
}

/// The request's span, made by the frame and used by tower-http's `TraceLayer` inside it: every
/// line logged while the request is handled names its method, path, route, client and request
/// id, so the lines of one request can be found together (and, through `X-Request-Id`, in the
/// proxy's log). Kept in the request's extensions so that the route's own layer can record
/// the route's name in it, whatever span (a session layer's) is current there.
#[derive(Clone, Debug)]
pub(super) struct RequestSpan(pub(super) tracing::Span);

fn new_request_span(req: &Request) -> tracing::Span {
    let client = req
        .extensions()
        .get::<client::Client>()
        .map(|c| tracing::field::display(c.ip));
    // Shown as they are (no quotes): a path is percent-encoded, with no space or line break, and
    // the id holds only letters, digits, `-`, `_`, `.` and `:` (see `usable_request_id`).
    // `request_id` is recorded once the request-id layer inside the frame made it; `route` by
    // the matched route's layer.
    tracing::info_span!(
        target: "torn::request",
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        route = tracing::field::Empty,
        client,
        request_id = tracing::field::Empty,
    )
}

/// The span `TraceLayer` enters: the frame's, with the request id (made, or kept from a
/// trusted proxy, by tower-http's request-id layer between the two).
pub(super) fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let span = req
        .extensions()
        .get::<RequestSpan>()
        .map_or_else(tracing::Span::none, |s| s.0.clone());
    if let Some(id) = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        span.record("request_id", tracing::field::display(id));
    }
    span
}

/// The request log: one line per request, in its span, with the status and the latency;
/// server errors at `error`.
pub(super) fn log_response<B>(response: &Response<B>, latency: Duration, _span: &tracing::Span) {
    let status = response.status().as_u16();
    // Tenths of a millisecond, as a number (JSON logs keep it one).
    let latency_ms = (latency.as_secs_f64() * 10_000.0).round() / 10.0;
    if response
        .extensions()
        .get::<super::health::Quiet>()
        .is_some()
    {
        // A load balancer's probe, every few seconds: not news unless it fails (which the
        // check logs itself, at `warn`).
        tracing::debug!(target: "torn::request", status, latency_ms);
    } else if status >= 500 {
        tracing::error!(target: "torn::request", status, latency_ms);
    } else {
        tracing::info!(target: "torn::request", status, latency_ms);
    }
}

/// An HTML page with `torn run`'s live-reload script in it.
async fn with_reload_script(response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html || response.headers().contains_key(header::CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Error::internal("the page could not be read").into_response();
    };
    let page = crate::dev::inject(&String::from_utf8_lossy(&bytes));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page))
}

/// The request id header: made for each request, or the one a proxy in front sent.
pub(super) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id from a trusted proxy is kept (the proxy made it, and it ties the proxy's log to
/// the app's) when it looks like one: up to 128 letters, digits, `-`, `_`, `.` or `:`. Anything
/// else, and any id a client sent directly, is dropped, and the request gets an id of its own.
fn usable_request_id(value: &HeaderValue) -> bool {
    let v = value.as_bytes();
    !v.is_empty()
        && v.len() <= 128
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// A security header (`X-Content-Type-Options`, `Referrer-Policy`, CSP, framing, HSTS) set on
/// every response unless the handler set its own; none if the value is not a valid header value.
pub(super) fn if_not_present(
    name: HeaderName,
    value: &str,
) -> Option<SetResponseHeaderLayer<HeaderValue>> {
    HeaderValue::from_str(value)
        .ok()
        .map(|value| SetResponseHeaderLayer::if_not_present(name, value))
}

/// torn's per-request context, put in the request's extensions: the `_xsrf` and flash cookies
/// it came with (written back by [`finish`]). Also says whether it had a flash cookie.
fn request_context(req: &mut Request, shared: &Shared) -> (Arc<RequestState>, bool) {
    let jar = CookieJar::from_headers(req.headers());
    let xsrf_cookie = xsrf::cookie_name(shared.settings.cookies.secure);
    let from_cookie = jar
        .get(xsrf_cookie)
        .and_then(|c| RawToken::decode(c.value()));
    let flash_cookie = jar.get(FLASH_COOKIE).map(Cookie::value);
    // A browser with a session may be logged in: whatever the page, no cache keeps it (unless
    // the handler says otherwise, as static files do).
    #[cfg(feature = "accounts")]
    let has_session = jar
        .get(crate::session::cookie_name(&shared.settings))
        .is_some();
    #[cfg(not(feature = "accounts"))]
    let has_session = false;
    let flash_in: Vec<FlashMessage> = flash_cookie
        .and_then(|v| shared.settings.cookies.keys.verify(FLASH_COOKIE, v, 1.0))
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let state = Arc::new(RequestState {
        xsrf: Mutex::new(XsrfState {
            from_cookie,
            generated: None,
        }),
        flash_in,
        flash: Mutex::new(FlashState::default()),
        personal: has_session.into(),
        cookies_out: Mutex::default(),
    });
    req.extensions_mut().insert(state.clone());
    (state, flash_cookie.is_some())
}

/// The XSRF check, added to each route's method router with `route_layer`, so that a method
/// the route does not answer gets its 405 first, as in Tornado.
pub(super) fn with_xsrf<S>(method_router: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    method_router.route_layer(super::layers::XsrfLayer)
}

/// The XSRF check around every route of a nested or merged router.
pub(super) fn router_with_xsrf<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    if router.has_routes() {
        router.route_layer(super::layers::XsrfLayer)
    } else {
        router
    }
}

/// The XSRF check of an unsafe request: the request to go on with, or the answer refusing it.
pub(super) async fn xsrf_checked(mut req: Request) -> Result<Request, Response> {
    let (Some(shared), Some(state)) = (
        req.extensions().get::<Arc<Shared>>().cloned(),
        req.extensions().get::<Arc<RequestState>>().cloned(),
    ) else {
        return Err(
            Error::internal("torn's context is missing: build the router with torn::App")
                .into_response(),
        );
    };
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    // A request with an API token where the route takes them is the token's, not its
    // cookies' (its session is an empty one): there is nothing for a forged request to ride.
    #[cfg(feature = "accounts")]
    let by_token = req
        .extensions()
        .get::<crate::auth::TokenRequest>()
        .is_some();
    #[cfg(not(feature = "accounts"))]
    let by_token = false;
    if shared.settings.cookies.xsrf
        && xsrf::is_unsafe(req.method())
        && !shared.is_xsrf_exempt(matched.as_deref())
        && !by_token
    {
        let cookie = state.xsrf.lock().expect("xsrf state").from_cookie.clone();
        let authority = req.uri().authority().map(|a| a.as_str().to_string());
        let https_site = shared.settings.cookies.secure
            || req
                .extensions()
                .get::<client::Client>()
                .is_some_and(|c| c.https);
        let checked = match xsrf::check_origin(req.headers(), authority.as_deref(), https_site) {
            Ok(()) => {
                xsrf::check_token(req, cookie.as_ref(), shared.settings.server.body_limit).await
            }
            Err(e) => Err(e),
        };
        match checked {
            Ok(r) => req = r,
            Err(e) => {
                tracing::warn!(reason = e.message(), "XSRF check refused a request");
                return Err(e.into_response());
            }
        }
    }
    Ok(req)
}

/// A request with a bearer token to a route that takes them (in an app with accounts) is
/// marked [`crate::auth::TokenRequest`], which the XSRF check and the user look-up read, and
/// gets an empty session of its own in place of its cookie's: whatever the handler reads or
/// writes through `Session` is not the browser's, so no cookie of the browser counts for a
/// request the XSRF check did not look at.
#[cfg(feature = "accounts")]
pub(super) fn isolate_token_request(mut req: Request) -> Request {
    let Some(shared) = req.extensions().get::<Arc<Shared>>().cloned() else {
        return req;
    };
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    if crate::auth::bearer(req.headers()).is_some()
        && shared.accepts_bearer(matched.as_deref())
        && let Some(accounts) = req.extensions().get::<crate::auth::Accounts>().cloned()
    {
        let empty = crate::session::Session::new(None, Arc::new(accounts.store().clone()), None);
        req.extensions_mut().insert(empty);
        req.extensions_mut().insert(crate::auth::TokenRequest);
    }
    req
}

/// Without accounts there are no tokens.
#[cfg(not(feature = "accounts"))]
pub(super) fn isolate_token_request(req: Request) -> Request {
    req
}

fn finish(
    mut response: Response,
    state: &RequestState,
    shared: &Shared,
    had_flash_cookie: bool,
) -> Response {
    let secure = shared.settings.cookies.secure;
    let mut cookies: Vec<Cookie<'static>> = Vec::new();
    if let Some(token) = state.xsrf.lock().expect("xsrf state").generated.take() {
        let mut c = Cookie::new(xsrf::cookie_name(secure), token.masked());
        apply_defaults(&mut c, secure, None);
        cookies.push(c);
    }
    let flash = std::mem::take(&mut *state.flash.lock().expect("flash state"));
    let mut keep: Vec<FlashMessage> = if flash.taken {
        Vec::new()
    } else {
        state.flash_in.clone()
    };
    let changed = !flash.outgoing.is_empty() || flash.taken;
    keep.extend(flash.outgoing);
    if !keep.is_empty() && changed {
        let json = serde_json::to_vec(&keep).expect("flash messages serialize");
        let mut c = Cookie::new(
            FLASH_COOKIE,
            shared.settings.cookies.keys.sign(FLASH_COOKIE, &json),
        );
        apply_defaults(&mut c, secure, None);
        cookies.push(c);
    } else if keep.is_empty() && had_flash_cookie && (changed || state.flash_in.is_empty()) {
        let mut c = Cookie::new(FLASH_COOKIE, "");
        apply_defaults(&mut c, secure, None);
        c.make_removal();
        cookies.push(c);
    }
    cookies.append(&mut state.cookies_out.lock().expect("outgoing cookies"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&set_cookie_value(&c)) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    if state.personal.load(std::sync::atomic::Ordering::Relaxed)
        && !response.headers().contains_key(header::CACHE_CONTROL)
    {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Makes each request's id: a random (version 4) UUID, as tower-http's `MakeRequestUuid`
/// does, from the thread's cryptographically secure generator rather than a `getrandom`
/// system call per request.
#[derive(Clone, Copy, Debug)]
pub(super) struct RandomRequestId;

impl tower_http::request_id::MakeRequestId for RandomRequestId {
    fn make_request_id<B>(
        &mut self,
        _request: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        use rand::Rng as _;
        let id = uuid::Builder::from_random_bytes(rand::thread_rng().r#gen()).into_uuid();
        let value = HeaderValue::from_str(&id.to_string()).ok()?;
        Some(tower_http::request_id::RequestId::new(value))
    }
}
