//! Testing a torn app over real HTTP (feature `testing`).
//!
//! [`TestServer`] runs the app on `127.0.0.1:0` and talks to it with a client that keeps
//! cookies like a browser and does not follow redirects, so tests can check them.
//!
//! ```no_run
//! # async fn demo(app: torn::App) {
//! use torn::test::TestServer;
//!
//! let server = TestServer::start(app).await;
//! let page = server.get("/").await;
//! assert_eq!(page.status, 200);
//! // Read the XSRF token from the rendered form, then submit it.
//! let token = page.form_field("_xsrf").unwrap();
//! let done = server.post_form("/", &[("_xsrf", &token), ("name", "Ada")]).await;
//! assert_eq!(done.status, 303);
//! # }
//! ```

/// The HTTP client the tests use, for a second browser (its own cookie jar).
pub use reqwest;

#[cfg(feature = "accounts")]
mod passkey;
#[cfg(feature = "accounts")]
pub use passkey::SoftPasskey;

use std::net::SocketAddr;

use axum::http::HeaderMap;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::App;
use crate::routing::Urls;

/// The app, served on an ephemeral local port for the duration of a test.
pub struct TestServer {
    addr: SocketAddr,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// The app's named routes (none for a bare router).
    urls: Urls,
    /// The app's job workers, stopped with the server.
    background: Option<crate::app::Background>,
}

/// A response, read whole.
#[derive(Clone, Debug)]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
}

impl TestResponse {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `value` of the first `<input name="…">` with this name in the body.
    pub fn form_field(&self, name: &str) -> Option<String> {
        form_field(&self.text, name)
    }
}

/// The `value` of the first `<input name="…">` with this name in an HTML page.
pub fn form_field(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let value_at = tag.find("value=\"")? + "value=\"".len();
    let value_end = value_at + tag[value_at..].find('"')?;
    Some(unescape(&tag[value_at..value_end]))
}

fn unescape(s: &str) -> String {
    s.replace("&#x7c;", "|")
        .replace("&#124;", "|")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The code an authenticator app shows at `unix_time` for a two-factor secret as the set-up
/// page shows it (base 32; spaces are ignored): what a test types into the second step.
///
/// # Panics
/// If `secret` is not base 32 of at least 128 bits.
#[cfg(feature = "accounts")]
pub fn totp_code(secret: &str, unix_time: u64) -> String {
    let secret: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    let secret = totp_rs::Secret::try_from_base32(secret).expect("a base-32 two-factor secret");
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("a valid two-factor secret")
        .generate(unix_time)
        .to_string()
}

/// An HTTP client as a browser is one: it keeps cookies and does not follow redirects (the
/// test looks at each one). [`TestServer::client`] is one; make more for more browsers.
///
/// # Panics
/// If the client cannot be built (no TLS roots on the machine).
pub fn browser_client() -> reqwest::Client {
    browser_client_from(None)
}

/// [`browser_client`], connecting from the local address `from` (any `127.x.y.z` is this
/// machine), so that one test can be several clients, each with its own address.
///
/// # Panics
/// If the client cannot be built.
pub fn browser_client_from(from: Option<std::net::IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(from)
        .build()
        .expect("an HTTP client")
}

impl TestServer {
    /// Serve `app` on `127.0.0.1:0`.
    pub async fn start<S>(app: App<S>) -> Self
    where
        S: Clone + Send + Sync + 'static,
    {
        let urls = app.urls();
        let crate::app::Running {
            router, background, ..
        } = app.into_running(false);
        let mut server = Self::start_router(router).await;
        server.urls = urls;
        server.background = Some(background);
        server
    }

    /// Serve `app` on a listener bound beforehand, for apps that must know their own address
    /// (`base_url`) when they are built, such as those with social log-in.
    pub async fn start_on<S>(listener: tokio::net::TcpListener, app: App<S>) -> Self
    where
        S: Clone + Send + Sync + 'static,
    {
        let urls = app.urls();
        let crate::app::Running {
            router, background, ..
        } = app.into_running(false);
        let mut server = Self::serve(listener, router);
        server.urls = urls;
        server.background = Some(background);
        server
    }

    /// Serve a finished router on `127.0.0.1:0`.
    pub async fn start_router(router: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::serve(listener, router)
    }

    fn serve(listener: tokio::net::TcpListener, router: axum::Router) -> Self {
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::app::serve_router(
            listener,
            router,
            async move {
                let _ = stopped.await;
            },
            std::time::Duration::from_secs(5),
        ));
        let client = browser_client();
        TestServer {
            addr,
            client,
            stop: Some(stop),
            task: Some(task),
            urls: Urls::default(),
            background: None,
        }
    }

    /// The path of the app's route `name`, its parameters filled in (Tornado's
    /// `reverse_url`), so that a test follows the app's routes as its pages do.
    ///
    /// # Panics
    ///
    /// If the app has no route of that name, or it takes other parameters.
    pub fn reverse_url<I>(&self, name: &str, params: I) -> String
    where
        I: IntoIterator,
        I::Item: std::fmt::Display,
    {
        self.urls
            .reverse_url(name, params)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The client (with its cookie jar), for requests the helpers do not cover.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        read(self.client.get(self.url(path)).send().await).await
    }

    /// `POST path` with an urlencoded form.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        read(self.client.post(self.url(path)).form(fields).send().await).await
    }

    /// Send any request built with [`TestServer::client`].
    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        read(request.send().await).await
    }

    /// Stop the server, letting in-flight requests finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(background) = self.background.take() {
            background.finish(std::time::Duration::from_secs(5)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(background) = &self.background {
            background.stopper()();
        }
    }
}

async fn read(response: reqwest::Result<reqwest::Response>) -> TestResponse {
    let response = response.expect("request to the test server");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    TestResponse {
        status,
        headers,
        text,
    }
}

/// A database of its own for one test: a new PostgreSQL database on the server that
/// `TORN_TEST_POSTGRES_URL` names (dropped when this is dropped), or else an SQLite file in a
/// new temporary folder (deleted when this is dropped). Point the app's settings at
/// [`TestDatabase::url`], and run the same tests on either database by setting the variable.
#[cfg(feature = "database")]
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    postgres: Option<(String, String)>,
    folder: Option<std::path::PathBuf>,
}

#[cfg(feature = "database")]
impl TestDatabase {
    /// A PostgreSQL database when `TORN_TEST_POSTGRES_URL` is set, else an SQLite one.
    ///
    /// # Panics
    /// As [`TestDatabase::postgres`] and [`TestDatabase::sqlite`].
    pub async fn new() -> Self {
        match Self::postgres().await {
            Some(db) => db,
            None => Self::sqlite(),
        }
    }

    /// An SQLite file in a new temporary folder, whatever the environment says.
    ///
    /// # Panics
    /// If the folder cannot be made.
    pub fn sqlite() -> Self {
        let folder = std::env::temp_dir().join(format!("torn-test-{}", unique()));
        std::fs::create_dir_all(&folder).expect("make a test folder");
        TestDatabase {
            url: format!("sqlite://{}?mode=rwc", folder.join("test.db").display()),
            postgres: None,
            folder: Some(folder),
        }
    }

    /// A new database on the PostgreSQL server that `TORN_TEST_POSTGRES_URL` names, or `None`
    /// when the variable is not set (say which tests did not run, then).
    ///
    /// # Panics
    /// If the variable is set but its server cannot be reached.
    pub async fn postgres() -> Option<Self> {
        let admin = std::env::var("TORN_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())?;
        let name = format!("torn_test_{}", unique());
        let server = crate::db::Db::connect(&admin)
            .await
            .expect("TORN_TEST_POSTGRES_URL is reachable");
        crate::with_db!(&server, pool => {
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("create a test database");
        server.close().await;
        let (base, _) = admin
            .rsplit_once('/')
            .expect("TORN_TEST_POSTGRES_URL ends with a database name");
        Some(TestDatabase {
            url: format!("{base}/{name}"),
            postgres: Some((admin, name)),
            folder: None,
        })
    }

    /// Its URL, for `settings.database.url` or `Db::connect`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A name no other test database has: the process, the time and a counter.
#[cfg(feature = "database")]
fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

#[cfg(feature = "database")]
impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(folder) = self.folder.take() {
            let _ = std::fs::remove_dir_all(folder);
        }
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs outside any runtime's reach: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async {
                    if let Ok(server) = crate::db::Db::connect(&admin).await {
                        let _ = crate::with_db!(&server, pool => {
                            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(pool)
                                .await
                                .map(|_| ())
                        });
                        server.close().await;
                    }
                });
            })
            .join();
        }
    }
}
