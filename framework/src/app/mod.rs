//! The [`App`] builder and server: the one place that orders torn's layers.
//!
//! ```no_run
//! use torn::{App, Settings};
//!
//! async fn hello() -> &'static str {
//!     "Hello world! Welcome to torn"
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     torn::run(|settings: Settings| async move {
//!         Ok(App::new(settings).named("home", "/", axum::routing::get(hello)))
//!     })
//!     .await
//! }
//! ```
//!
//! Around every route, from the outside in: compression; security headers; the frame (the
//! client's address, error pages); the request id; the request's span and log line; panic
//! recovery; the body limit; torn's request context (the `_xsrf` and flash cookies); and, on
//! each route's methods, the XSRF check. Any axum or tower layer can be added with
//! [`App::layer`]; it runs inside torn's.

mod command;
mod features;
mod frame;
mod health;
mod layers;
#[cfg(feature = "metrics")]
mod prometheus;
mod serve;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, header};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, Route, get};
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use command::{routes_table, run};
#[cfg(feature = "testing")]
pub(crate) use features::Background;
use features::Features;
pub use frame::FLASH_COOKIE;
use frame::{router_with_xsrf, with_xsrf};
pub use serve::{ServeError, bind, serve_router, shutdown_signal};

use crate::config::Settings;
use crate::error::{self, Error, ErrorInfo, ErrorRenderer};
use crate::routing::{RequestHandler, RouteInfo, Urls};
use crate::state::Shared;
use crate::static_files::StaticFiles;

/// A torn application: an axum router plus named routes, settings and torn's layers.
pub struct App<S = ()> {
    settings: Arc<Settings>,
    router: Router<S>,
    routes: Vec<RouteInfo>,
    xsrf_exempt: Vec<String>,
    bearer: Vec<String>,
    error_renderer: ErrorRenderer,
    features: Features,
    dev: Option<Arc<crate::dev::Reload>>,
    state: S,
}

impl App<()> {
    /// An app without shared state.
    pub fn new(settings: Settings) -> Self {
        App::with_state(settings, ())
    }
}

impl<S> App<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// An app whose handlers can extract `State<S>`.
    pub fn with_state(settings: Settings, state: S) -> Self {
        let dev = crate::dev::Reload::from_env(&settings);
        // torn's own routes, named so that their names cannot be taken by accident.
        let routes = {
            let mut routes = vec![RouteInfo::new(
                "static",
                "/static/{*path}",
                vec!["GET".into(), "HEAD".into()],
                "torn::static_files".into(),
            )];
            // The health check, named as torn's own too (`health_path`; none when empty).
            let health = &settings.server.health_path;
            if !health.is_empty() {
                routes.push(RouteInfo::new(
                    "health",
                    health,
                    vec!["GET".into(), "HEAD".into()],
                    "torn::health".into(),
                ));
            }
            routes
        };
        App {
            settings: Arc::new(settings),
            router: Router::new(),
            routes,
            xsrf_exempt: Vec::new(),
            bearer: Vec::new(),
            error_renderer: Arc::new(error::default_error_page),
            features: Features::default(),
            dev,
            state,
        }
    }

    /// The settings the app was built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Add an unnamed route (axum's `Router::route`).
    #[must_use]
    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        self.routes
            .push(RouteInfo::new("", path, Vec::new(), String::new()));
        self.router = self.router.route(path, with_xsrf(method_router));
        self
    }

    /// Add a named route; `reverse_url(name, …)` gives its URL.
    ///
    /// # Panics
    /// If the name is already taken (a programming error, found at start-up).
    #[must_use]
    pub fn named(mut self, name: &str, path: &str, method_router: MethodRouter<S>) -> Self {
        self.add_name(name, path, Vec::new(), String::new());
        self.router = self.router.route(path, with_xsrf(method_router));
        self
    }

    /// Mount a handler type (Tornado's `(r"/path", Handler)` with `name=`).
    ///
    /// # Panics
    /// If the name is already taken.
    #[must_use]
    pub fn handler<H: RequestHandler<S>>(mut self, name: &str, path: &str) -> Self {
        self.add_name(
            name,
            path,
            H::methods(),
            std::any::type_name::<H>().to_string(),
        );
        self.router = self.router.route(path, with_xsrf(H::method_router()));
        self
    }

    fn add_name(&mut self, name: &str, path: &str, methods: Vec<String>, handler: String) {
        assert!(
            !name.is_empty(),
            "a route name cannot be empty (path {path})"
        );
        assert!(
            !self.routes.iter().any(|r| r.name == name),
            "two routes are named {name:?}; route names must be unique"
        );
        self.routes
            .push(RouteInfo::new(name, path, methods, handler));
    }

    /// Nest an axum router under a path prefix (its routes are not named).
    #[must_use]
    pub fn nest(mut self, path: &str, router: Router<S>) -> Self {
        self.routes.push(RouteInfo::new(
            "",
            &format!("{path}/…"),
            Vec::new(),
            String::new(),
        ));
        self.router = self.router.nest(path, router_with_xsrf(router));
        self
    }

    /// Merge an axum router (its routes are not named).
    #[must_use]
    pub fn merge(mut self, router: Router<S>) -> Self {
        self.router = self.router.merge(router_with_xsrf(router));
        self
    }

    /// Add a tower layer around the routes added so far (it runs inside torn's own layers).
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<std::convert::Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    /// Turn off the XSRF check for a route pattern, exactly as it was registered
    /// (`"/api/webhook"`), or for every route under a prefix ending in `/` (`"/api/"`).
    /// Only for routes that authenticate requests another way.
    #[must_use]
    pub fn xsrf_exempt(mut self, pattern: &str) -> Self {
        self.xsrf_exempt.push(pattern.to_string());
        self
    }

    /// Let a route pattern, exactly as it was registered (`"/api/notes"`), or every route under
    /// a prefix ending in `/` (`"/api/"`), take personal API tokens: a request there with
    /// `Authorization: Bearer <token>` is the token's user, with its scopes (the `Scopes`
    /// extractor) and an empty session of its own, its cookies ignored and no XSRF token asked;
    /// an unknown, revoked or expired token gets 401. A request without one is the session's,
    /// XSRF-checked as anywhere.
    #[must_use]
    pub fn bearer(mut self, pattern: &str) -> Self {
        self.bearer.push(pattern.to_string());
        self
    }

    /// Render error pages (404, 405, 500, …) with the app's own template.
    #[must_use]
    pub fn error_page<F>(mut self, render: F) -> Self
    where
        F: Fn(&ErrorInfo) -> Result<String, askama::Error> + Send + Sync + 'static,
    {
        self.error_renderer = Arc::new(render);
        self
    }

    /// The routes registered so far (and torn's `static` route).
    pub fn urls(&self) -> Urls {
        Urls::new(self.routes.clone())
    }

    /// The finished router, the metrics' own router (for `metrics_listen`), and the features'
    /// background work, started (the job queues' workers; with `cleanup`, the accounts' hourly
    /// clean-up).
    pub(crate) fn into_running(mut self, cleanup: bool) -> Running {
        self.features.prepare();
        let background = self.features.start_background(&self.settings, cleanup);
        let (router, metrics) = self.build();
        Running {
            router,
            metrics,
            background,
        }
    }

    /// The finished axum router, with torn's layers in their order. (`metrics_listen` is
    /// served by [`App::serve`]; with this router alone, the metrics are on the app's port
    /// when `metrics_token` is set.)
    ///
    /// # Panics
    /// With metrics on, if the process installed another metrics recorder first
    /// ([`App::serve`] says so as an error instead).
    pub fn into_router(self) -> Router {
        let (router, own) = self.build();
        if own.is_some() {
            tracing::warn!(
                "metrics_listen is set, but only App::serve serves it; with into_router the \
                 metrics are on the app's port when metrics_token is set"
            );
        }
        router
    }

    /// The finished router, and the metrics' router of their own when `metrics_listen` is set.
    fn build(mut self) -> (Router, Option<Router>) {
        self.features.prepare();
        let settings = self.features.settings(&self.settings);
        // An app's own route at the health check's path wins over torn's.
        let health_path = match &settings.server.health_path {
            path if self
                .routes
                .iter()
                .any(|r| r.name != "health" && &r.path == path) =>
            {
                tracing::warn!(path = %path, "the app has its own route at health_path; torn's health check is not added");
                String::new()
            }
            path => path.clone(),
        };
        #[cfg(feature = "metrics")]
        let metrics_path_taken = self.routes.iter().any(|r| r.path == settings.metrics.path);
        let routes = self.routes;
        let shared = Arc::new(Shared {
            settings: settings.clone(),
            urls: Urls::new(routes),
            // In dev, files change under the running app; elsewhere they do not, and a page's
            // static URLs cost no file system call.
            statics: if settings.is_dev() {
                StaticFiles::new(settings.server.static_dir.clone())
            } else {
                StaticFiles::fixed(settings.server.static_dir.clone())
            },
            error_renderer: self.error_renderer,
            xsrf_exempt: self.xsrf_exempt,
            bearer: self.bearer,
            dev: self.dev.clone(),
        });
        let buttons = self.features.buttons();
        let limit = settings.server.body_limit;
        let mut router = self.router;
        if let Some(dev) = &self.dev {
            let events = dev.clone();
            router = router
                .route(crate::dev::SCRIPT_PATH, get(crate::dev::script))
                .route(
                    crate::dev::EVENTS_PATH,
                    get(move || async move { events.events() }),
                );
        }
        let router = router
            // Through the route layer too, for the route's name in the log and the metrics
            // (the XSRF check costs a `GET` nothing).
            .route(
                "/static/{*path}",
                with_xsrf(get(crate::static_files::serve)),
            )
            .fallback(|| async { Error::not_found() })
            .with_state(self.state);
        // torn's own layers, outermost first, stacked into one: each `Router::layer` boxes the
        // service it makes, and a box per layer per request is what made one layer per concern
        // slow (docs/benchmarks.md).
        #[cfg(feature = "metrics")]
        let exporter = self
            .features
            .metrics(&settings)
            .unwrap_or_else(|e| panic!("{e}"));
        #[cfg(feature = "metrics")]
        if metrics_path_taken && exporter.is_some() && !settings.metrics.token.is_empty() {
            tracing::warn!(path = %settings.metrics.path, "the app has its own route at metrics_path; on the app's port, the metrics answer GET and HEAD there");
        }
        let header = |name, value: &str| frame::if_not_present(name, value);
        let torn_layers = ServiceBuilder::new()
            .layer(CompressionLayer::new())
            // Outside the frame, so that its error pages get them too.
            .option_layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .option_layer(header(
                header::REFERRER_POLICY,
                "strict-origin-when-cross-origin",
            ))
            .option_layer(header(header::X_FRAME_OPTIONS, "SAMEORIGIN"))
            .option_layer(header(
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin",
            ))
            .option_layer(header(
                header::CONTENT_SECURITY_POLICY,
                &settings.server.content_security_policy,
            ))
            .option_layer(
                settings
                    .server
                    .hsts
                    .then(|| header(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"))
                    .flatten(),
            )
            .layer(layers::FrameLayer(shared.clone()))
            // The request id: made unless a trusted proxy sent a usable one (the frame drops
            // any other), and sent back with the response.
            .layer(SetRequestIdLayer::new(
                frame::X_REQUEST_ID.clone(),
                frame::RandomRequestId,
            ))
            .layer(PropagateRequestIdLayer::new(frame::X_REQUEST_ID.clone()))
            // The request's span and its log line, with the id made above.
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(frame::request_span)
                    .on_request(())
                    .on_response(frame::log_response)
                    .on_body_chunk(())
                    .on_eos(())
                    .on_failure(()),
            )
            .layer(axum::Extension(shared))
            .layer(axum::Extension(buttons))
            .layer(CatchPanicLayer::custom(error::panic_response))
            .layer(RequestBodyLimitLayer::new(limit))
            .layer(DefaultBodyLimit::max(limit));
        let probe = self.features.health_probe();
        let router = self.features.layers(router, &settings);
        // Outside the features' layers: a probe loads no session.
        let router = health::route(router, &health_path, probe);
        let router = router.layer(torn_layers);
        // Outermost, so that a request's latency is the whole of torn's work.
        #[cfg(feature = "metrics")]
        let (router, own) = match exporter {
            Some(exporter) => (
                router.layer(exporter.layer()),
                (!settings.metrics.listen.is_empty()).then(|| exporter.router()),
            ),
            None => (router, None),
        };
        #[cfg(not(feature = "metrics"))]
        let own = None;
        (router, own)
    }
}

/// A built app, running: see [`App::into_running`].
pub(crate) struct Running {
    pub(crate) router: Router,
    /// The metrics on an address of their own (`metrics_listen`).
    pub(crate) metrics: Option<Router>,
    pub(crate) background: features::Background,
}
