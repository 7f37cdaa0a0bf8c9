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
//! Around every route, from the outside in: compression; the request log, error pages and
//! security headers; panic recovery; the body limit; torn's request context (the `_xsrf` and
//! flash cookies); and, on each route's methods, the XSRF check. Any axum or tower layer can be added with [`App::layer`]; it
//! runs inside torn's.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, Route, get};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use tokio::net::TcpListener;
use tower::{Layer, Service};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::client;
use crate::config::Settings;
use crate::cookies::{apply_defaults, set_cookie_value};
use crate::error::{self, Error, ErrorInfo, ErrorRenderer};
use crate::page::{FlashMessage, FlashState, RequestState, XsrfState};
use crate::routing::{Handler, RouteInfo, Urls};
use crate::static_files::StaticFiles;
use crate::xsrf::{self, RawToken};

/// Name of the signed cookie that carries flash messages to the next page.
pub const FLASH_COOKIE: &str = "_flash";

/// What every request can reach: settings, named routes, static files, the error renderer.
pub(crate) struct Shared {
    pub(crate) settings: Arc<Settings>,
    pub(crate) urls: Urls,
    pub(crate) statics: StaticFiles,
    pub(crate) error_renderer: ErrorRenderer,
    pub(crate) xsrf_exempt: Vec<String>,
    pub(crate) social_buttons: Vec<crate::oauth::SocialButton>,
    pub(crate) dev: Option<Arc<crate::dev::Reload>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("env", &self.settings.env)
            .field("routes", &self.urls.all().len())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn from_parts(parts: &Parts) -> Result<Arc<Shared>, Error> {
        parts
            .extensions
            .get::<Arc<Shared>>()
            .cloned()
            .ok_or_else(|| {
                Error::internal(
                    "torn's context is missing: build the router with torn::App (App::into_router)",
                )
            })
    }

    fn is_xsrf_exempt(&self, matched: Option<&str>) -> bool {
        let Some(matched) = matched else {
            return false;
        };
        self.xsrf_exempt
            .iter()
            .any(|p| p == matched || p.ends_with('/') && matched.starts_with(p.as_str()))
    }
}

/// A torn application: an axum router plus named routes, settings and torn's layers.
pub struct App<S = ()> {
    settings: Arc<Settings>,
    router: Router<S>,
    routes: Vec<RouteInfo>,
    xsrf_exempt: Vec<String>,
    error_renderer: ErrorRenderer,
    accounts: Option<crate::auth::Accounts>,
    database: Option<crate::db::Db>,
    mailer: Option<crate::mail::Mailer>,
    social: Option<crate::oauth::SocialLogin>,
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
        App {
            settings: Arc::new(settings),
            router: Router::new(),
            // torn's own route, named so that its name cannot be taken by accident.
            routes: vec![RouteInfo::new(
                "static",
                "/static/{*path}",
                vec!["GET".into(), "HEAD".into()],
                "torn::static_files".into(),
            )],
            xsrf_exempt: Vec::new(),
            error_renderer: Arc::new(error::default_error_page),
            accounts: None,
            database: None,
            mailer: None,
            social: None,
            dev,
            state,
        }
    }

    /// The settings the app was built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Add an unnamed route (axum's `Router::route`).
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
    pub fn named(mut self, name: &str, path: &str, method_router: MethodRouter<S>) -> Self {
        self.add_name(name, path, Vec::new(), String::new());
        self.router = self.router.route(path, with_xsrf(method_router));
        self
    }

    /// Mount a handler type (Tornado's `(r"/path", Handler)` with `name=`).
    ///
    /// # Panics
    /// If the name is already taken.
    pub fn handler<H: Handler<S>>(mut self, name: &str, path: &str) -> Self {
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
    pub fn merge(mut self, router: Router<S>) -> Self {
        self.router = self.router.merge(router_with_xsrf(router));
        self
    }

    /// Add a tower layer around the routes added so far (it runs inside torn's own layers).
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
    pub fn xsrf_exempt(mut self, pattern: &str) -> Self {
        self.xsrf_exempt.push(pattern.to_string());
        self
    }

    /// Render error pages (404, 405, 500, …) with the app's own template.
    pub fn error_page<F>(mut self, render: F) -> Self
    where
        F: Fn(&ErrorInfo) -> Result<String, askama::Error> + Send + Sync + 'static,
    {
        self.error_renderer = Arc::new(render);
        self
    }

    /// Turn on sessions and accounts: the session layer (stored in the accounts' database), and
    /// the `CurrentUser`, `MaybeUser`, `Session` and `Accounts` extractors.
    pub fn accounts(mut self, accounts: crate::auth::Accounts) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// Offer social log-in: mounts `/auth/{provider}/login`, `/callback`, `/link` and `/unlink`
    /// (named `oauth_login`, `oauth_callback`, `oauth_link`, `oauth_unlink`), and gives pages
    /// their "Sign in with …" buttons (`PageContext::social_buttons`). Needs
    /// [`App::accounts`].
    pub fn social_login(mut self, social: crate::oauth::SocialLogin) -> Self {
        use crate::oauth;
        use axum::routing::{get, post};
        let routes: [(&str, &str, &str, MethodRouter<S>, &str); 4] = [
            (
                "oauth_login",
                "/auth/{provider}/login",
                "GET",
                get(oauth::login),
                "login",
            ),
            (
                "oauth_callback",
                "/auth/{provider}/callback",
                "GET",
                get(oauth::callback),
                "callback",
            ),
            (
                "oauth_link",
                "/auth/{provider}/link",
                "POST",
                post(oauth::link),
                "link",
            ),
            (
                "oauth_unlink",
                "/auth/{provider}/unlink",
                "POST",
                post(oauth::unlink),
                "unlink",
            ),
        ];
        for (name, path, method, router, function) in routes {
            self.add_name(
                name,
                path,
                vec![method.to_string()],
                format!("torn::oauth::{function}"),
            );
            self.router = self.router.route(path, with_xsrf(router));
        }
        self.social = Some(social);
        self
    }

    /// Make the database available to handlers (the `Db` extractor). [`App::accounts`] does
    /// this with the accounts' database when this is not called.
    pub fn database(mut self, db: crate::db::Db) -> Self {
        self.database = Some(db);
        self
    }

    /// Make a mailer available to handlers (the `Mailer` extractor).
    pub fn mailer(mut self, mailer: crate::mail::Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// The routes registered so far (and torn's `static` route).
    pub fn urls(&self) -> Urls {
        Urls::new(self.routes.clone())
    }

    /// The finished axum router, with torn's layers in their order.
    pub fn into_router(self) -> Router {
        let mut settings = self.settings.clone();
        // The "Link …" buttons are forms whose answer is a redirect to the provider: browsers
        // check a redirect after a form against `form-action` too.
        if let Some(social) = &self.social {
            let csp = crate::oauth::providers::allow_form_targets(
                &settings.content_security_policy,
                &social.sign_in_origins(),
            );
            if csp != settings.content_security_policy {
                let mut changed = (*settings).clone();
                changed.content_security_policy = csp;
                settings = Arc::new(changed);
            }
        }
        let routes = self.routes;
        let shared = Arc::new(Shared {
            settings: settings.clone(),
            urls: Urls::new(routes),
            statics: StaticFiles::new(settings.static_dir.clone()),
            error_renderer: self.error_renderer,
            xsrf_exempt: self.xsrf_exempt,
            social_buttons: self
                .social
                .as_ref()
                .map(|s| s.buttons())
                .unwrap_or_default(),
            dev: self.dev.clone(),
        });
        let limit = settings.body_limit;
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
            .route("/static/{*path}", get(crate::static_files::serve))
            .fallback(|| async { Error::not_found() })
            .with_state(self.state)
            .layer(middleware::from_fn(request_context));
        let database = self
            .database
            .or_else(|| self.accounts.as_ref().map(|a| a.db().clone()));
        let router = match database {
            Some(db) => router.layer(axum::Extension(db)),
            None => router,
        };
        let router = match self.accounts {
            Some(accounts) => router
                .layer(middleware::from_fn_with_state(
                    settings.remember_me,
                    crate::session::keep_remembered,
                ))
                .layer(crate::session::layer(accounts.store().clone(), &settings))
                .layer(axum::Extension(accounts)),
            None => router,
        };
        let router = match self.social {
            Some(social) => router.layer(axum::Extension(social)),
            None => router,
        };
        let router = match self.mailer {
            Some(mailer) => router.layer(axum::Extension(mailer)),
            None => router,
        };
        router
            .layer(DefaultBodyLimit::max(limit))
            .layer(RequestBodyLimitLayer::new(limit))
            .layer(CatchPanicLayer::custom(error::panic_response))
            .layer(axum::Extension(shared.clone()))
            .layer(middleware::from_fn_with_state(shared, frame))
            .layer(CompressionLayer::new())
    }

    /// Bind (`PORT`, or a socket inherited through `LISTEN_FDS`) and serve until SIGINT or
    /// SIGTERM, then let in-flight requests finish (bounded by `shutdown_timeout`).
    pub async fn serve(self) -> Result<(), ServeError> {
        let listener = bind(&self.settings).await?;
        let timeout = self.settings.shutdown_timeout;
        if let Some(accounts) = &self.accounts {
            spawn_cleanup(accounts.clone());
        }
        let addr = listener.local_addr().map_err(ServeError::Io)?;
        tracing::info!(env = %self.settings.env, "serving http://{addr}");
        let dev = self.dev.clone();
        let supervisor = crate::dev::supervised(&self.settings).then(|| {
            let statics = StaticFiles::new(self.settings.static_dir.clone());
            tokio::spawn(crate::dev::follow_supervisor(dev.clone(), statics))
        });
        let router = self.into_router();
        let signal = async move {
            let supervisor_gone = async {
                match supervisor {
                    Some(task) => {
                        let _ = task.await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown_signal() => {}
                () = supervisor_gone => {}
            }
            // The live-reload streams would hold up the graceful shutdown.
            if let Some(dev) = &dev {
                dev.stop();
            }
        };
        notify_ready();
        serve_router(listener, router, signal, timeout)
            .await
            .map_err(ServeError::Io)
    }
}

/// Tell a supervisor that the app is built and its socket is ready, when it asked to be told
/// (`NOTIFY_SOCKET`, as systemd's `Type=notify` and `torn run` do).
fn notify_ready() {
    #[cfg(unix)]
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        use std::os::unix::net::UnixDatagram;
        let sent = UnixDatagram::unbound().and_then(|socket| socket.send_to(b"READY=1", &path));
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not tell NOTIFY_SOCKET that the app is ready");
        }
    }
}

/// Delete expired sessions from the store, and used or expired tokens and forgotten throttle
/// rows from the database, every hour, for as long as the server runs.
fn spawn_cleanup(accounts: crate::auth::Accounts) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            if let Err(e) = accounts.store().delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
            if let Err(e) = accounts.purge_expired().await {
                tracing::warn!(error = %e, "could not delete expired tokens and throttle rows");
            }
        }
    });
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken.
    #[error(
        "cannot listen on {addr}: the port is already in use. Stop the other server, or choose \
         another port with PORT=<number>"
    )]
    AddrInUse {
        /// The address.
        addr: String,
    },
    /// Binding failed otherwise.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// An I/O error while serving.
    #[error(transparent)]
    Io(std::io::Error),
}

/// The listening socket: inherited from `LISTEN_FDS` (systemd, listenfd, `torn run`), or bound
/// to `host:port` from settings.
pub async fn bind(settings: &Settings) -> Result<TcpListener, ServeError> {
    let mut fds = listenfd::ListenFd::from_env();
    if let Ok(Some(std_listener)) = fds.take_tcp_listener(0) {
        let addr = std_listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        std_listener
            .set_nonblocking(true)
            .map_err(|source| ServeError::Bind {
                addr: addr.clone(),
                source,
            })?;
        return TcpListener::from_std(std_listener)
            .map_err(|source| ServeError::Bind { addr, source });
    }
    let addr = format!("{}:{}", settings.host, settings.port);
    TcpListener::bind(&addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::AddrInUse { addr }
        } else {
            ServeError::Bind { addr, source }
        }
    })
}

/// How long a stopping server keeps the connections it accepted last before it shuts them down
/// if they have sent no request yet: long enough for a request that is on its way.
const DRAIN: Duration = Duration::from_millis(250);

/// Serve `router` on `listener` until `signal` resolves; then stop accepting, let in-flight
/// requests finish, and give up on them after `timeout`.
///
/// Stopping happens in two steps. First the server stops accepting and closes its socket: new
/// connections are refused, or, on a socket shared with another process (a restart under
/// systemd or `torn run`), wait in its queue for the other one. Then, [`DRAIN`] later,
/// connections that have not sent a request are closed and the others finish theirs: closing
/// them at once would drop a connection accepted a moment before the signal, whose request
/// had not arrived yet.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    signal: impl Future<Output = ()> + Send + 'static,
    timeout: Duration,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    let stopping = Arc::new(tokio::sync::Notify::new());
    let notify = stopping.clone();
    let (stop_accepting, accepting) = tokio::sync::watch::channel(false);
    let signal = async move {
        signal.await;
        tracing::info!("shutting down: finishing in-flight requests");
        stop_accepting.send_replace(true);
        notify.notify_one();
        tokio::time::sleep(DRAIN).await;
    };
    let listener = Draining {
        addr: listener.local_addr()?,
        listener: Some(listener),
        stop: accepting,
    }
    // `tap_io` gives the listener axum's `ConnectInfo<SocketAddr>`.
    .tap_io(|_| {});
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let deadline = async move {
        stopping.notified().await;
        tokio::time::sleep(timeout + DRAIN).await;
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!("shutdown timed out after {timeout:?}; closing the remaining connections");
            Ok(())
        }
    }
}

/// A listener that stops accepting once `stop` is set, before the server's graceful shutdown,
/// and closes its socket then: alone, the socket is gone and new connections are refused at
/// once; shared with another process, that one goes on accepting.
struct Draining {
    listener: Option<TcpListener>,
    addr: SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl axum::serve::Listener for Draining {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some(listener) = &self.listener else {
                // Stopped: accept nothing more; the server ends this future at shutdown.
                return std::future::pending().await;
            };
            let accepted = tokio::select! {
                biased;
                stopped = self.stop.wait_for(|stop| *stop) => {
                    drop(stopped);
                    None
                }
                accepted = listener.accept() => Some(accepted),
            };
            match accepted {
                None => self.listener = None,
                Some(Ok(connection)) => return connection,
                Some(Err(e)) => accept_failed(e).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// A failed `accept`: a connection that went away is nothing; anything else (out of file
/// descriptors) is logged and retried a second later, as axum does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The entry point of a torn app's `main`: load settings, set up logging, build the app (an
/// async function, so it can connect to its database) and answer the command line (`serve`, the
/// default, or `routes`). Problems are printed as plain messages with a non-zero exit code.
pub async fn run<S, F, Fut>(build: F) -> ExitCode
where
    S: Clone + Send + Sync + 'static,
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = Result<App<S>, Error>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    if matches!(command, "-h" | "--help" | "help") {
        println!(
            "usage: <app> [serve | routes | db COMMAND]\n\n  serve   run the server (default)\n  \
             routes  list the routes\n  db      migrate | rollback [--steps N] | status | reset: \
             the app's migrations against its database"
        );
        return ExitCode::SUCCESS;
    }
    // The database commands need the settings only (not a cookie secret, not the app).
    if command == "db" {
        return database(&args[1..]).await;
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&settings.log))
        .with_ansi(log_colours())
        .try_init();
    if !matches!(command, "serve" | "routes") || args.len() > 1 {
        eprintln!(
            "error: unknown command {:?}; the app answers `serve` (the default), `routes` and `db`",
            args.join(" ")
        );
        return ExitCode::from(2);
    }
    let app = match build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: the app could not be built: {e}");
            return ExitCode::FAILURE;
        }
    };
    if command == "routes" {
        print!("{}", routes_table(&app.urls()));
        return ExitCode::SUCCESS;
    }
    match app.serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `<app> db …`: print what the command did, or why it did not.
async fn database(args: &[String]) -> ExitCode {
    use crate::db::commands;
    let done = async {
        let command = commands::parse(args)?;
        let root = Settings::root().map_err(|e| commands::CommandError::Usage(e.to_string()))?;
        commands::run(&root, command, &|key| std::env::var(key).ok()).await
    };
    match done.await {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Colour the log on a terminal; `NO_COLOR` turns colours off, `CLICOLOR_FORCE=1` on (as
/// `torn run` sets when it passes the log on to a terminal).
fn log_colours() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || std::io::IsTerminal::is_terminal(&std::io::stdout())
}

/// The routes as an aligned text table (method, path, name, handler).
pub fn routes_table(urls: &Urls) -> String {
    let rows: Vec<[String; 4]> = urls
        .all()
        .iter()
        .map(|r| {
            [
                if r.methods.is_empty() {
                    "*".to_string()
                } else {
                    r.methods.join(",")
                },
                r.path.clone(),
                r.name.clone(),
                r.handler.clone(),
            ]
        })
        .collect();
    let header = ["METHODS", "PATH", "NAME", "HANDLER"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The outer frame of every request: error pages (or JSON errors) for error responses without
/// a body, security headers, and the request log (method, path, status, latency).
async fn frame(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Who sent it, once for the log and every extractor ([`crate::client`]).
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| {
            client::resolve(peer.ip(), req.headers(), &shared.settings.trusted_proxies)
        });
    if let Some(client) = client {
        req.extensions_mut().insert(client);
    }
    let client = client.map(|c| c.ip);
    let method = req.method().clone();
    let uri = req.uri().clone();
    let json = error::wants_json(req.headers());
    let is_head = method == axum::http::Method::HEAD;
    let response = next.run(req).await;
    let mut response = error::error_page_for(response, &shared, json, is_head);
    if shared.dev.is_some() && !is_head {
        response = with_reload_script(response).await;
    }
    security_headers(response.headers_mut(), &shared.settings);
    let status = response.status().as_u16();
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let path = uri.path();
    let client = client.map(tracing::field::display);
    if status >= 500 {
        tracing::error!(target: "torn::request", %method, path, status, latency_ms = format_args!("{latency_ms:.1}"), client);
    } else {
        tracing::info!(target: "torn::request", %method, path, status, latency_ms = format_args!("{latency_ms:.1}"), client);
    }
    response
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

/// `X-Content-Type-Options`, `Referrer-Policy`, CSP, framing and HSTS, unless the handler set
/// its own.
fn security_headers(headers: &mut axum::http::HeaderMap, settings: &Settings) {
    let mut set = |name: HeaderName, value: &str| {
        if !headers.contains_key(&name)
            && let Ok(v) = HeaderValue::from_str(value)
        {
            headers.insert(name, v);
        }
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    set(header::X_FRAME_OPTIONS, "SAMEORIGIN");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::CONTENT_SECURITY_POLICY,
        &settings.content_security_policy,
    );
    if settings.hsts {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
}

/// torn's per-request context: reads the `_xsrf` and flash cookies, and writes them back on
/// the response.
async fn request_context(mut req: Request, next: Next) -> Response {
    let Some(shared) = req.extensions().get::<Arc<Shared>>().cloned() else {
        return Error::internal("torn's context is missing").into_response();
    };
    let jar = CookieJar::from_headers(req.headers());
    let xsrf_cookie = xsrf::cookie_name(shared.settings.secure_cookies);
    let from_cookie = jar
        .get(xsrf_cookie)
        .and_then(|c| RawToken::decode(c.value()));
    let flash_cookie = jar.get(FLASH_COOKIE).map(|c| c.value().to_string());
    // A browser with a session may be logged in: whatever the page, no cache keeps it (unless
    // the handler says otherwise, as static files do).
    let has_session = jar
        .get(crate::session::cookie_name(&shared.settings))
        .is_some();
    let flash_in: Vec<FlashMessage> = flash_cookie
        .as_deref()
        .and_then(|v| shared.settings.keys.verify(FLASH_COOKIE, v, 1.0))
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let state = Arc::new(RequestState {
        xsrf: Mutex::new(XsrfState {
            from_cookie: from_cookie.clone(),
            generated: None,
        }),
        flash_in,
        flash: Mutex::new(FlashState::default()),
        personal: has_session.into(),
        cookies_out: Default::default(),
    });
    req.extensions_mut().insert(state.clone());

    let response = next.run(req).await;
    finish(response, &state, &shared, flash_cookie.is_some())
}

/// The XSRF check, added to each route's method router with `route_layer`, so that a method
/// the route does not answer gets its 405 first, as in Tornado.
fn with_xsrf<S>(method_router: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    method_router.route_layer(middleware::from_fn(xsrf_check))
}

/// The XSRF check around every route of a nested or merged router.
fn router_with_xsrf<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    if router.has_routes() {
        router.route_layer(middleware::from_fn(xsrf_check))
    } else {
        router
    }
}

async fn xsrf_check(mut req: Request, next: Next) -> Response {
    let (Some(shared), Some(state)) = (
        req.extensions().get::<Arc<Shared>>().cloned(),
        req.extensions().get::<Arc<RequestState>>().cloned(),
    ) else {
        return Error::internal("torn's context is missing: build the router with torn::App")
            .into_response();
    };
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    if shared.settings.xsrf_cookies
        && xsrf::is_unsafe(req.method())
        && !shared.is_xsrf_exempt(matched.as_deref())
    {
        let cookie = state.xsrf.lock().expect("xsrf state").from_cookie.clone();
        let authority = req.uri().authority().map(|a| a.as_str().to_string());
        let https_site = shared.settings.secure_cookies
            || req
                .extensions()
                .get::<client::Client>()
                .is_some_and(|c| c.https);
        let checked = match xsrf::check_origin(req.headers(), authority.as_deref(), https_site) {
            Ok(()) => xsrf::check_token(req, cookie.as_ref(), shared.settings.body_limit).await,
            Err(e) => Err(e),
        };
        match checked {
            Ok(r) => req = r,
            Err(e) => {
                tracing::warn!(reason = e.message(), "XSRF check refused a request");
                return e.into_response();
            }
        }
    }
    next.run(req).await
}

fn finish(
    mut response: Response,
    state: &RequestState,
    shared: &Shared,
    had_flash_cookie: bool,
) -> Response {
    let secure = shared.settings.secure_cookies;
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
        let mut c = Cookie::new(FLASH_COOKIE, shared.settings.keys.sign(FLASH_COOKIE, &json));
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
