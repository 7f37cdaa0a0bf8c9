//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The repository's root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// The cargo target directory this test binary was built in (`…/target`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // …/target/debug/deps/<test binary>
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// The profile folder (`…/target/debug`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf()
}

/// A `cargo` command with the outer cargo's per-package variables removed, so nested builds
/// see the same environment as a user's shell (and do not rebuild everything).
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    as_in_a_shell(&mut cmd);
    cmd
}

/// `cmd` with the outer cargo's per-package variables removed, as in a user's shell, and the
/// builds it starts sharing this test run's target directory.
pub fn as_in_a_shell(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR"
            || key == "RUST_TEST_THREADS"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env("CARGO_TARGET_DIR", target_dir())
}

/// Build a workspace binary once per test process and return its path.
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|p| p == package) {
        let status = cargo()
            .args(["build", "--quiet", "-p", package, "--bin", bin])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
        built.push(package.to_string());
    }
    profile_dir().join(bin)
}

/// The `torn` binary, built from this checkout.
pub fn torn_bin() -> PathBuf {
    workspace_bin("torn-cli", "torn")
}

/// Send a request exactly as written (no client-side path normalization) and return the
/// status code and the body.
pub fn raw_request(addr: SocketAddr, request_line_path: &str) -> (u16, String) {
    request(addr, request_line_path)
        .unwrap_or_else(|e| panic!("GET {request_line_path} from {addr}: {e}"))
}

/// One `GET` on a new connection, the path sent exactly as written: the status code and the
/// body, or why there is none (refused, reset, not an HTTP answer).
pub fn request(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let response = String::from_utf8_lossy(&raw);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Read a started app's output until it says where it serves; return that base URL and keep
/// draining the output in the background so the app never blocks on a full pipe.
pub fn wait_for_serving(child: &mut std::process::Child) -> String {
    wait_for_serving_keeping(child, None)
}

/// The app's output lines so far, kept by [`wait_for_serving_keeping`].
pub type Output = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// [`wait_for_serving`], keeping every later line of the app's output in `keep`.
pub fn wait_for_serving_keeping(child: &mut std::process::Child, keep: Option<Output>) -> String {
    use std::io::BufRead as _;
    let stdout = child.stdout.take().expect("the app's stdout is piped");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the app printed its address")
            .expect("read the app's output");
        if let Some(at) = line.find("serving http://") {
            break line[at + "serving ".len()..]
                .split_whitespace()
                .next()
                .expect("an address")
                .to_string();
        }
    };
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some(keep) = &keep {
                keep.lock().unwrap().push(line);
            }
        }
    });
    url
}

/// An HTTP client as a browser is one: it keeps cookies and does not follow redirects (the
/// test looks at each one).
pub fn browser_client() -> reqwest::Client {
    browser_client_from(None)
}

/// [`browser_client`], connecting from the local address `from` (any 127.x.y.z is this
/// machine), so that one test can be several clients.
pub fn browser_client_from(from: Option<std::net::IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(from)
        .build()
        .expect("an HTTP client")
}

/// The body of `GET url`, sent with `client`.
pub async fn page_text(client: &reqwest::Client, url: &str) -> String {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    response.text().await.expect("a readable body")
}

/// The XSRF token of the form on the page at `url`, as `client` (and its cookies) sees it.
pub async fn form_token(client: &reqwest::Client, url: &str) -> String {
    let page = page_text(client, url).await;
    torn::test::form_field(&page, "_xsrf")
        .unwrap_or_else(|| panic!("the page at {url} has no form with a token: {page}"))
}

/// Report a suite that did not run, so a bare `cargo test` says what it skipped. Written to the
/// stderr handle itself, which the test harness does not capture (it captures `eprintln!`).
pub fn skipped(suite: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {suite}: {why}");
}

/// Is python3 with aiosmtpd here? Says so when it is not (and fails under
/// `TORN_REQUIRE_AIOSMTPD`).
pub fn aiosmtpd_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TORN_REQUIRE_AIOSMTPD").is_none(),
            "TORN_REQUIRE_AIOSMTPD is set but python3 cannot import aiosmtpd"
        );
        skipped("mail over SMTP", "python3 with aiosmtpd is not installed");
    }
    ok
}

/// Run the `torn` binary in `cwd`.
pub fn torn(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(torn_bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run torn")
}

/// Wait until something listens on 127.0.0.1:`port` (at most 20 s).
pub fn wait_for_port(port: u16, what: &str) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{what} did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Run a Node.js script of the workspace, quietly, stopped when dropped.
pub fn spawn_node(script: &str, args: &[String]) -> KillOnDrop {
    let child = std::process::Command::new("node")
        .arg(workspace_root().join(script))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start node {script}: {e}"));
    KillOnDrop(child)
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An aiosmtpd server on 127.0.0.1 that stores what it receives in a Maildir.
pub struct SmtpServer {
    child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Files for a server's TLS: a certificate authority, and a certificate it signed for
/// `127.0.0.1` (made with the `openssl` command).
pub struct TestCertificates {
    dir: tempfile::TempDir,
}

impl TestCertificates {
    /// Make a CA and a server certificate for 127.0.0.1 and localhost.
    pub fn make() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=torn test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            dir.path().join("server.ext"),
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n\
             extendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        TestCertificates { dir }
    }

    /// The CA certificate (PEM), for the client to trust.
    pub fn ca(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's certificate and key (PEM).
    pub fn server(&self) -> (std::path::PathBuf, std::path::PathBuf) {
        (
            self.dir.path().join("server.pem"),
            self.dir.path().join("server.key"),
        )
    }
}

/// How a test SMTP server speaks TLS.
#[derive(Clone, Copy, Debug)]
pub enum SmtpTls {
    /// STARTTLS is required before AUTH or MAIL.
    StartTls,
    /// TLS from the first byte (smtps).
    Wrapper,
}

impl SmtpServer {
    /// Start one on a free port: plain SMTP, no AUTH.
    pub fn start() -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = std::process::Command::new("python3");
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"));
        Self::spawn(command, port, maildir)
    }

    /// Start one that requires TLS (with `certs`' server certificate) and AUTH as
    /// `user`/`password` before it takes a message.
    pub fn start_secure(
        tls: SmtpTls,
        certs: &TestCertificates,
        user: &str,
        password: &str,
    ) -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (cert, key) = certs.server();
        let mut command = std::process::Command::new("python3");
        command
            .arg(workspace_root().join("tests/secure_smtp.py"))
            .arg(match tls {
                SmtpTls::StartTls => "starttls",
                SmtpTls::Wrapper => "smtps",
            })
            .arg(port.to_string())
            .arg(maildir.path().join("box"))
            .args([cert, key])
            .args([user, password]);
        Self::spawn(command, port, maildir)
    }

    fn spawn(mut command: std::process::Command, port: u16, maildir: tempfile::TempDir) -> Self {
        let child = command
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let server = SmtpServer {
            child,
            port,
            maildir,
        };
        wait_for_port(port, "aiosmtpd");
        server
    }

    /// The messages received so far, as raw text.
    pub fn received(&self) -> Vec<String> {
        let new = self.maildir.path().join("box/new");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&new)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Wait until `n` messages have arrived.
    pub fn wait_for(&self, n: usize) -> Vec<String> {
        let started = std::time::Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(15),
                "no mail arrived"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Stops a child process when dropped, so a failing test leaves no server behind (one would
/// keep the test run's output pipe open).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run one statement on a database, for test set-up (`CREATE DATABASE`, …).
pub async fn execute(db: &torn::db::Db, sql: &str) {
    torn::with_db!(db, pool => {
        sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected())
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A fresh database for one test on the PostgreSQL server `TORN_TEST_POSTGRES_URL` names;
/// `None` when the variable is not set. Drop it with [`PgDatabase::drop_database`].
pub struct PgDatabase {
    /// The new database's URL.
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Create `<prefix>_<pid>_<time>_<n>` on the server.
    pub async fn create(prefix: &str) -> Option<Self> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let admin_url = std::env::var("TORN_TEST_POSTGRES_URL").ok()?;
        let admin = torn::db::Db::connect(&admin_url)
            .await
            .expect("TORN_TEST_POSTGRES_URL is reachable");
        let name = format!(
            "{prefix}_{}_{}_{}",
            std::process::id(),
            torn::signing::unix_now(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        execute(&admin, &format!("CREATE DATABASE {name}")).await;
        admin.close().await;
        let (server, _) = admin_url
            .rsplit_once('/')
            .expect("TORN_TEST_POSTGRES_URL needs a database name");
        Some(PgDatabase {
            url: format!("{server}/{name}"),
            admin_url,
            name,
        })
    }

    /// Drop the database, disconnecting whoever still uses it.
    pub async fn drop_database(self) {
        let admin = torn::db::Db::connect(&self.admin_url).await.unwrap();
        execute(
            &admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await;
        admin.close().await;
    }
}

/// Start the starter's binary (test profile, a free port) with extra environment variables;
/// it stops when the returned guard is dropped.
pub fn start_starter(env: &[(&str, String)]) -> (KillOnDrop, String) {
    let (child, url, _) = start_starter_keeping(env, false);
    (child, url)
}

/// [`start_starter`], keeping the app's log lines (with `keep`).
pub fn start_starter_keeping(env: &[(&str, String)], keep: bool) -> (KillOnDrop, String, Output) {
    let mut cmd = Command::new(workspace_bin("starter", "starter"));
    cmd.current_dir(workspace_root().join("starter"))
        .env("TORN_ENV", "test")
        .env("PORT", "0")
        .env("TORN_LOG", "info")
        // The test profile's own database and the mail folder, unless a test says otherwise.
        .env_remove("DATABASE_URL")
        .env_remove("TORN_SMTP_URL")
        .stdout(std::process::Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd.spawn().expect("start the starter");
    let output = Output::default();
    let url = wait_for_serving_keeping(&mut child, keep.then(|| output.clone()));
    (KillOnDrop(child), url, output)
}

/// Are the npm OpenID Connect servers installed (`npm ci --prefix tests/oauth`)? Says so when
/// they are not (and fails under `TORN_REQUIRE_OAUTH`).
pub fn oauth_servers_available() -> bool {
    let ok = workspace_root()
        .join("tests/oauth/node_modules/oauth2-mock-server")
        .is_dir()
        && std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TORN_REQUIRE_OAUTH").is_none(),
            "TORN_REQUIRE_OAUTH is set but tests/oauth/node_modules or node is missing \
             (npm ci --prefix tests/oauth)"
        );
        skipped(
            "social login against OpenID Connect servers",
            "node or tests/oauth/node_modules is missing (npm ci --prefix tests/oauth)",
        );
    }
    ok
}

/// oauth2-mock-server on 127.0.0.1 (`tests/oauth/mock.mjs`), with its control port.
pub struct OidcMock {
    _child: KillOnDrop,
    /// Its issuer URL.
    pub issuer: String,
    control: String,
}

impl OidcMock {
    /// Start one on free ports.
    pub fn start() -> Self {
        let (port, control) = (free_port(), free_port());
        let child = spawn_node(
            "tests/oauth/mock.mjs",
            &[port.to_string(), control.to_string()],
        );
        wait_for_port(control, "the OpenID Connect mock");
        OidcMock {
            _child: child,
            issuer: format!("http://127.0.0.1:{port}"),
            control: format!("http://127.0.0.1:{control}"),
        }
    }

    /// The claims of every later ID token and userinfo answer.
    pub async fn profile(&self, claims: serde_json::Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/profile", self.control))
            .json(&claims)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Make the next flow misbehave (see `tests/oauth/mock.mjs`).
    pub async fn once(&self, what: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/once", self.control))
            .json(&serde_json::json!({ "what": what }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// The query of the last authorization request.
    pub async fn last_authorize(&self) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("{}/last-authorize", self.control))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// npm oidc-provider on 127.0.0.1 (`tests/oauth/provider.mjs`): a strict OpenID Connect server
/// with log-in and consent pages, registered for one exact redirect URI.
pub struct StrictOidc {
    _child: KillOnDrop,
    /// Its issuer URL.
    pub issuer: String,
}

impl StrictOidc {
    /// Start one on a free port for this client redirect URI.
    pub fn start(redirect_uri: &str) -> Self {
        let port = free_port();
        let child = spawn_node(
            "tests/oauth/provider.mjs",
            &[port.to_string(), redirect_uri.to_string()],
        );
        wait_for_port(port, "oidc-provider");
        StrictOidc {
            _child: child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// Whether the browser tests can run: node, playwright-core (`npm ci --prefix tests/browser`)
/// and Chromium (`/usr/bin/chromium`, or the path in `CHROMIUM`). Without them the caller is
/// reported as skipped, unless `TORN_REQUIRE_BROWSER=1` (set by `.ci/run`), which fails it.
pub fn browser_available() -> bool {
    let root = workspace_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing = [
        (
            std::process::Command::new("node")
                .arg("--version")
                .output()
                .is_err(),
            "node is not installed",
        ),
        (
            !root
                .join("tests/browser/node_modules/playwright-core")
                .is_dir(),
            "playwright-core is not installed (npm ci --prefix tests/browser)",
        ),
        (
            !std::path::PathBuf::from(&chromium).exists(),
            "Chromium is not installed",
        ),
    ];
    if let Some((_, why)) = missing.iter().find(|(m, _)| *m) {
        assert!(
            std::env::var_os("TORN_REQUIRE_BROWSER").is_none(),
            "TORN_REQUIRE_BROWSER is set but {why}"
        );
        skipped("browser test", why);
        return false;
    }
    true
}

/// A fresh `torn new NAME` app (with `extra` options) depending on this checkout's framework,
/// with the workspace's Cargo.lock, so that it builds with the workspace's dependencies in the
/// shared target folder. It lives in `<target>/generated-apps/NAME/NAME`, the same place on
/// every run: its build artifacts are reused and replaced from run to run, instead of piling
/// up under a new temporary path each time.
pub fn generated_app(name: &str, extra: &[&str]) -> PathBuf {
    let dir = target_dir().join("generated-apps").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear the previous generated app");
    }
    std::fs::create_dir_all(&dir).expect("make the generated app's folder");
    let out = Command::new(torn_bin())
        .args(["new", name, "--no-git", "--torn-path"])
        .arg(workspace_root())
        .args(extra)
        .current_dir(&dir)
        .output()
        .expect("run torn new");
    assert!(
        out.status.success(),
        "torn new {name} {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = dir.join(name);
    std::fs::copy(workspace_root().join("Cargo.lock"), app.join("Cargo.lock"))
        .expect("copy Cargo.lock");
    app
}

/// nginx from Debian's packages, if installed; says so when it is not (and fails under
/// `TORN_REQUIRE_NGINX`).
pub fn nginx_available() -> bool {
    let ok = Command::new("nginx")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TORN_REQUIRE_NGINX").is_none(),
            "TORN_REQUIRE_NGINX is set but nginx is not installed"
        );
        skipped(
            "behind nginx",
            "nginx is not installed (apt-get install nginx)",
        );
    }
    ok
}

/// A reverse proxy in front of the app, as docs/deployment.md sets one up: nginx on a free
/// port of 127.0.0.1, passing to `upstreams` from the address `from` (so the app sees the
/// proxy at an address of its own), setting `X-Forwarded-For` and `X-Forwarded-Proto`.
/// Stopped when dropped.
pub struct Nginx {
    _child: KillOnDrop,
    /// The port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    pub fn start(upstreams: &[SocketAddr], from: std::net::IpAddr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        let servers: String = upstreams
            .iter()
            .map(|a| format!("server {a};"))
            .collect::<Vec<_>>()
            .join(" ");
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             upstream app {{ {servers} }}\n  server {{\n    listen 127.0.0.1:{port};\n    \
             location / {{\n      proxy_pass http://app;\n      proxy_bind {from};\n      \
             proxy_set_header Host $http_host;\n      \
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n      \
             proxy_set_header X-Forwarded-Proto $scheme;\n    }}\n  }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nginx");
        let nginx = Nginx {
            _child: KillOnDrop(child),
            port,
            dir,
        };
        let started = std::time::Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nginx did not start: {}",
                nginx.errors()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its error log.
    pub fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}
