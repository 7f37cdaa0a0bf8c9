//! `torn run`, the dev server, on a generated app: a first build that fails shows the compiler's
//! message in the browser and recovers when fixed; template edits are served after a rebuild
//! while a client hammers the port and not one connection is refused or fails; a broken edit
//! reaches the browser's overlay while the last good build keeps serving; a stylesheet edit
//! needs no rebuild; the app's own writes and editor temp files trigger nothing; the same in
//! headless Chromium (`tests/browser/devserver.mjs`: the page restyled in place, reloaded by
//! itself, the overlay); SIGINT leaves no process behind, nor does SIGKILL (the app stops when
//! torn run's pipe closes); `--no-reload` and `--quiet`. Bad input: outside an app, a port
//! already taken, a manifest that does not parse.

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `torn run` in `app`, with its progress lines collected.
struct DevServer {
    child: common::KillOnDrop,
    log: Arc<Mutex<String>>,
    url: String,
}

impl DevServer {
    fn start(app: &Path) -> Self {
        let mut child = Command::new(common::torn_bin())
            .args(["run", "--port", "0", "--verbose"])
            .env("CARGO_TARGET_DIR", common::target_dir())
            .env_remove("TORN_ENV")
            .current_dir(app)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start torn run");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[torn run] {line}");
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut server = DevServer {
            child: common::KillOnDrop(child),
            log,
            url: String::new(),
        };
        server.url = server.wait_for_log("http://127.0.0.1:", Duration::from_secs(10));
        server
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait until the log has `text`; the rest of that line's first word (the URL, here).
    fn wait_for_log(&self, text: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if let Some(at) = log.find(text) {
                return log[at..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            assert!(
                started.elapsed() < limit,
                "no {text:?} from torn run after {limit:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.url
            .trim_start_matches("http://")
            .parse()
            .expect("host:port")
    }
}

/// Poll `path` until its response has `text`; panics after `limit`.
fn wait_for_page(server: &DevServer, path: &str, text: &str, limit: Duration) -> (u16, String) {
    let started = Instant::now();
    loop {
        if let Ok((status, body)) = common::request(server.addr(), path)
            && body.contains(text)
        {
            return (status, body);
        }
        assert!(
            started.elapsed() < limit,
            "{path} never showed {text:?} within {limit:?}; torn run said:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Requests on new connections, one after another, until stopped: how many were answered and
/// every failure (a refused connection included).
struct Hammer {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<String>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Hammer {
    fn start(addr: std::net::SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let (s, a, f) = (stop.clone(), answered.clone(), failures.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match common::request(addr, "/") {
                    Ok((200, _)) => {
                        a.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok((status, _)) => f.lock().unwrap().push(format!("status {status}")),
                    Err(e) => f.lock().unwrap().push(format!("{:?}: {e}", e.kind())),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Hammer {
            stop,
            answered,
            failures,
            thread,
        }
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        (
            self.answered.load(Ordering::Relaxed),
            self.failures.lock().unwrap().clone(),
        )
    }
}

/// The live-reload event stream, read as it comes, reconnecting as a browser does when a
/// stream ends (the app it came from stopped).
struct Events {
    text: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
}

impl Events {
    fn open(base: &str) -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, stopped) = (text.clone(), stop.clone());
        let url = format!("{base}/__torn/events");
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                while !stopped.load(Ordering::Relaxed) {
                    if let Ok(mut response) = reqwest::get(&url).await {
                        while let Ok(Some(chunk)) = response.chunk().await {
                            sink.lock()
                                .unwrap()
                                .push_str(&String::from_utf8_lossy(&chunk));
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            });
        });
        Events { text, stop }
    }

    /// Wait until the stream has stayed on one app process for a second: a connection made
    /// while a build takes over may land on the outgoing process, which closes it on its way out
    /// (the page reconnects to the new one, saying hello again).
    fn settle(&self) {
        let started = Instant::now();
        let hellos = || self.text.lock().unwrap().matches("event: hello").count();
        let mut seen = hellos();
        let mut since = Instant::now();
        while since.elapsed() < Duration::from_secs(1) {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the event stream keeps reconnecting"
            );
            std::thread::sleep(Duration::from_millis(50));
            if hellos() != seen {
                seen = hellos();
                since = Instant::now();
            }
        }
    }

    fn wait_for(&self, what: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let text = self.text.lock().unwrap().clone();
            if text.contains(what) {
                return text;
            }
            assert!(
                started.elapsed() < limit,
                "no {what:?} in the event stream:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn css_url(page: &str) -> String {
    let at = page
        .find("/static/css/app.css?v=")
        .expect("the stylesheet link");
    page[at..].chars().take_while(|c| *c != '"').collect()
}

/// The app processes torn run reported starting (`--verbose`).
fn app_pids(log: &str) -> Vec<u32> {
    log.lines()
        .filter_map(|l| l.split("app process ").nth(1)?.trim().parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // A zombie ("Z") has exited.
    !stat.is_empty() && stat.split(") ").nth(1).is_some_and(|s| !s.starts_with('Z'))
}

#[test]
fn bad_input_gets_a_clear_message() {
    let outside = tempfile::tempdir().unwrap();
    let out = common::torn(outside.path(), &["run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not inside a torn app"));

    let dir = tempfile::tempdir().unwrap();
    let new = common::torn(dir.path(), &["new", "portapp", "--no-git"]);
    assert!(new.status.success());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = common::torn(&dir.path().join("portapp"), &["run", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("port {port} on 127.0.0.1 is already in use"))
            && said.contains("--port"),
        "{said}"
    );

    // A manifest that does not parse: where, and why.
    let manifest = dir.path().join("portapp/Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("broken = [\n");
    std::fs::write(&manifest, text).unwrap();
    let out = common::torn(&dir.path().join("portapp"), &["run"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Cargo.toml is not valid TOML") && said.contains("broken = ["),
        "{said}"
    );
}

#[test]
fn rebuilds_on_save_without_refusing_a_connection() {
    let root = common::workspace_root();
    let app = common::generated_app("devapp", &[]);
    let home_rs = app.join("src/handlers/home.rs");
    let home_html = app.join("templates/home.html");

    // A first build that fails: the port answers with the compiler's message.
    edit(
        &home_rs,
        "Page(HomePage { ctx })",
        "Page(HomePage { ctx, oops })",
    );
    let server = DevServer::start(&app);
    let (status, page) = wait_for_page(&server, "/", "Build failed", Duration::from_secs(600));
    assert_eq!(status, 503);
    assert!(page.contains("cannot find value `oops`"), "{page}");
    assert!(page.contains("src/handlers/home.rs"), "{page}");
    edit(
        &home_rs,
        "Page(HomePage { ctx, oops })",
        "Page(HomePage { ctx })",
    );
    let (status, page) = wait_for_page(
        &server,
        "/",
        "Hello world! Welcome to torn",
        Duration::from_secs(300),
    );
    assert_eq!(status, 200);
    // Pages carry the live-reload script; it is served.
    assert!(page.contains(r#"<script src="/__torn/reload.js"></script>"#));
    let (status, script) = common::request(server.addr(), "/__torn/reload.js").unwrap();
    assert_eq!(status, 200);
    assert!(script.contains("new EventSource(\"/__torn/events\")"));

    // From here on, not one connection may be refused or fail.
    let hammer = Hammer::start(server.addr());
    let events = Events::open(&server.url);
    events.wait_for("event: hello", Duration::from_secs(10));

    // A template edit: rebuilt, restarted, served.
    let saved = Instant::now();
    edit(
        &home_html,
        "Hello world! Welcome to torn",
        "Hello from the dev server",
    );
    wait_for_page(
        &server,
        "/",
        "Hello from the dev server",
        Duration::from_secs(120),
    );
    eprintln!("template edit served after {:?}", saved.elapsed());
    events.wait_for("event: building", Duration::from_secs(5));

    // A broken edit: the browser gets the compiler's message; the last good build serves on.
    let events = Events::open(&server.url);
    events.wait_for("event: hello", Duration::from_secs(10));
    edit(
        &home_rs,
        "Page(HomePage { ctx })",
        "Page(HomePage { ctx, oops })",
    );
    let stream = events.wait_for("event: failed", Duration::from_secs(120));
    assert!(stream.contains("cannot find value `oops`"), "{stream}");
    let (status, page) = common::request(server.addr(), "/").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("Hello from the dev server"));
    // A page opened now shows the failure at once.
    Events::open(&server.url).wait_for("event: failed", Duration::from_secs(10));
    // The fix recovers, without restarting torn run.
    edit(
        &home_rs,
        "Page(HomePage { ctx, oops })",
        "Page(HomePage { ctx })",
    );
    edit(&home_html, "Hello from the dev server", "Fixed and served");
    let (_, page) = wait_for_page(&server, "/", "Fixed and served", Duration::from_secs(120));

    // A stylesheet edit: no rebuild; the page's stylesheet URL changes, the browser swaps it.
    let builds = server.log().matches("building").count();
    let events = Events::open(&server.url);
    events.wait_for("event: hello", Duration::from_secs(10));
    events.settle();
    let before = css_url(&page);
    let css = app.join("static/css/app.css");
    let mut sheet = std::fs::read_to_string(&css).unwrap();
    sheet.push_str("\n.dev-server-test { color: red; }\n");
    std::fs::write(&css, sheet).unwrap();
    let stream = events.wait_for("event: css", Duration::from_secs(5));
    let (_, page) = common::request(server.addr(), "/").unwrap();
    let after = css_url(&page);
    assert_ne!(
        before, after,
        "the stylesheet's content hash follows the edit"
    );
    assert!(stream.contains(&after), "{stream}");
    let (_, sheet) = common::request(server.addr(), &after).unwrap();
    assert!(sheet.contains(".dev-server-test"));

    // The app's own writes and editor files: nothing happens.
    std::fs::create_dir_all(app.join("mail")).unwrap();
    std::fs::write(app.join("mail/note.txt"), "a mail").unwrap();
    for own in ["devapp_dev.db", "devapp_dev.db-wal", "devapp_dev.db-shm"] {
        // Touched as SQLite touches them, without changing what is in them.
        if let Ok(file) = std::fs::File::options().append(true).open(app.join(own)) {
            file.set_modified(std::time::SystemTime::now()).unwrap();
        }
    }
    std::fs::write(app.join("src/handlers/.home.rs.swp"), "x").unwrap();
    std::fs::write(app.join("templates/home.html~"), "x").unwrap();
    std::fs::write(
        app.join("Cargo.lock"),
        std::fs::read(root.join("Cargo.lock")).unwrap(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        server.log().matches("building").count(),
        builds,
        "no rebuild for a stylesheet, the app's own files or editor files:\n{}",
        server.log()
    );

    // The same in a real browser: the stylesheet swapped in place, the page reloaded by
    // itself, the build error over the page, the fix reloading it.
    if common::browser_available() {
        let shots = tempfile::tempdir().unwrap();
        let shot = shots.path().join("overlay.png");
        let out = Command::new("node")
            .arg(root.join("tests/browser/devserver.mjs"))
            .arg(&server.url)
            .arg(&app)
            .arg(&shot)
            .output()
            .expect("run node");
        assert!(
            out.status.success(),
            "browser test devserver.mjs failed:\n{}\n{}\ntorn run said:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            server.log()
        );
        assert!(shot.is_file());
    }

    let (answered, failures) = hammer.finish();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the rebuilds: {failures:?}",
        failures.len(),
        answered + failures.len()
    );
    assert!(answered > 20, "only {answered} requests were made");

    // Ctrl-C: torn run stops the app and exits; no process stays, the port closes.
    let pids = app_pids(&server.log());
    assert!(pids.len() >= 3, "{pids:?}");
    let addr = server.addr();
    let DevServer { mut child, .. } = server;
    let pid = child.0.id();
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "torn run did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    for pid in pids {
        assert!(!alive(pid), "app process {pid} is still running");
    }
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens on {addr} any more"
    );

    // --no-reload: plain pages, no event stream; --quiet: the address and nothing else.
    let mut quiet = Command::new(common::torn_bin())
        .args(["run", "--port", "0", "--no-reload", "--quiet"])
        .env("CARGO_TARGET_DIR", common::target_dir())
        .current_dir(&app)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    BufReader::new(quiet.stderr.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    let quiet = common::KillOnDrop(quiet);
    let addr: std::net::SocketAddr = said
        .trim()
        .trim_start_matches("torn run: http://")
        .parse()
        .unwrap_or_else(|_| panic!("--quiet said {said:?}"));
    let started = Instant::now();
    let page = loop {
        if let Ok((200, page)) = common::request(addr, "/") {
            break page;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no page");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(page.contains("Fixed"), "{page}");
    assert!(!page.contains("/__torn/reload.js"), "{page}");
    assert_eq!(common::request(addr, "/__torn/events").unwrap().0, 404);

    // torn run killed outright (no chance to stop the app): the app notices that its standard
    // input closed and stops by itself, so it does not keep the port.
    let binary = common::profile_dir().join("devapp");
    let apps = processes_running(&binary);
    assert_eq!(apps.len(), 1, "{apps:?}");
    drop(quiet);
    let started = Instant::now();
    while apps.iter().any(|pid| alive(*pid)) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the app outlived torn run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The processes running `binary`.
fn processes_running(binary: &Path) -> Vec<u32> {
    let wanted = binary
        .canonicalize()
        .unwrap_or_else(|_| binary.to_path_buf());
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(e.path().join("exe")).ok()?;
            (exe == wanted && alive(pid)).then_some(pid)
        })
        .collect()
}
