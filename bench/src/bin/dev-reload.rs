//! Edit-to-served times of `torn run`, with Tornado's debug mode measured in the same run.
//!
//!     cargo run --release -p torn-bench --bin dev-reload -- [RUNS]     (default 7)
//!
//! For each kind of edit (a template, a handler, a stylesheet), RUNS times: save the file, then
//! poll the page every 10 ms until the new text is served; meanwhile another thread opens a new
//! connection every 5 ms and counts the refused ones. For the stylesheet it also times the
//! moment the browser is told (the live-reload event that swaps it). Prints medians as a
//! Markdown table for docs/benchmarks.md.
//!
//! The torn app is a fresh `torn new` app in `<target>/bench-apps/devbench/`, built by `torn
//! run` (debug, as in development) in the workspace's target folder; build the `torn` command
//! first (`cargo build -p torn-cli`). Tornado (python3 with tornado) runs
//! `bench/dev_tornado.py` with `debug=True` (autoreload, templates read on every request).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let torn = target.join("debug/torn");
    assert!(
        torn.is_file(),
        "build the torn command first: cargo build -p torn-cli"
    );

    let mut rows = Vec::new();
    rows.extend(bench_torn(&root, &target, &torn, runs));
    rows.extend(bench_tornado(&root, runs));

    println!("| server | edit | median save → served | slowest | refused connections (all runs) |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} of {} |",
            row.server,
            row.edit,
            ms(median(&row.times)),
            ms(*row.times.iter().max().expect("runs")),
            row.refused,
            row.attempts
        );
    }
}

struct Row {
    server: &'static str,
    edit: &'static str,
    times: Vec<Duration>,
    refused: usize,
    attempts: usize,
}

fn ms(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn bench_torn(root: &Path, target: &Path, torn: &Path, runs: usize) -> Vec<Row> {
    let dir = target.join("bench-apps").join("devbench");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear the previous app");
    }
    std::fs::create_dir_all(&dir).expect("app folder");
    let made = Command::new(torn)
        .args(["new", "devbench", "--no-git", "--torn-path"])
        .arg(root)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .expect("torn new");
    assert!(made.success());
    let app = dir.join("devbench");
    std::fs::copy(root.join("Cargo.lock"), app.join("Cargo.lock")).expect("Cargo.lock");
    // A handler whose text is in its Rust code.
    let handler = app.join("src/handlers/stamp.rs");
    std::fs::write(&handler, stamp_handler(0)).unwrap();
    edit(
        &app.join("src/handlers/mod.rs"),
        "pub mod home;",
        "pub mod home;\npub mod stamp;",
    );
    edit(
        &app.join("src/lib.rs"),
        "    // torn:routes",
        "    let app = app.handler::<handlers::stamp::Stamp>(\"stamp\", \"/stamp\");\n    // torn:routes",
    );

    let mut server = Command::new(torn)
        .args(["run", "--port", "0"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(&app)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("torn run");
    let log = collect(server.stderr.take().unwrap());
    let url = wait_for(&log, "http://127.0.0.1:", Duration::from_secs(900));
    let addr: SocketAddr = url.trim_start_matches("http://").parse().expect("address");
    wait_for(&log, "serving", Duration::from_secs(900));
    let hammer = Hammer::start(addr);

    let mut rows = Vec::new();
    let template = app.join("templates/home.html");
    let mut current = "Hello world! Welcome to torn".to_string();
    rows.push(measure("torn run", "template", runs, &hammer, |n| {
        let next = format!("Template edit {n}");
        edit(&template, &current, &next);
        current = next.clone();
        (addr, "/".to_string(), next)
    }));
    rows.push(measure("torn run", "handler", runs, &hammer, |n| {
        std::fs::write(&handler, stamp_handler(n + 1)).unwrap();
        (addr, "/stamp".to_string(), format!("stamp {}", n + 1))
    }));
    let css = app.join("static/css/app.css");
    rows.push(measure("torn run", "stylesheet", runs, &hammer, |n| {
        append(&css, &format!("\n.bench-{n} {{ color: red; }}\n"));
        (
            addr,
            "/static/css/app.css".to_string(),
            format!(".bench-{n}"),
        )
    }));
    // The browser's view of a stylesheet edit: the live-reload event that swaps it.
    let mut told = Vec::new();
    for n in 0..runs {
        let events = EventStream::open(addr);
        std::thread::sleep(Duration::from_millis(300));
        let saved = Instant::now();
        append(&css, &format!("\n.told-{n} {{ color: blue; }}\n"));
        events.wait_for("event: css");
        told.push(saved.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    rows.push(Row {
        server: "torn run",
        edit: "stylesheet, until the browser is told",
        times: told,
        refused: 0,
        attempts: 0,
    });
    let (_, attempts) = hammer.take();
    hammer.stop();
    stop(&mut server);
    eprintln!("torn run: {attempts} more connection attempts after the last edit");
    rows
}

fn bench_tornado(root: &Path, runs: usize) -> Vec<Row> {
    let dir = std::env::temp_dir().join("torn-bench-tornado");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    let app_py = dir.join("app.py");
    std::fs::copy(root.join("bench/dev_tornado.py"), &app_py).expect("bench/dev_tornado.py");
    std::fs::write(dir.join("templates/home.html"), "<h1>Template 0</h1>\n").unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new("python3")
        .arg(&app_py)
        .arg(port.to_string())
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    while get(addr, "/").is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "Tornado did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let hammer = Hammer::start(addr);
    let mut rows = Vec::new();
    let template = dir.join("templates/home.html");
    rows.push(measure("Tornado debug", "template", runs, &hammer, |n| {
        std::fs::write(&template, format!("<h1>Template {}</h1>\n", n + 1)).unwrap();
        (addr, "/".to_string(), format!("Template {}", n + 1))
    }));
    let mut current = "stamp 0".to_string();
    rows.push(measure("Tornado debug", "handler", runs, &hammer, |n| {
        let next = format!("stamp {}", n + 1);
        edit(&app_py, &current, &next);
        current = next.clone();
        (addr, "/stamp".to_string(), next)
    }));
    hammer.stop();
    stop(&mut server);
    rows
}

fn stamp_handler(n: usize) -> String {
    format!(
        "//! The benchmark's handler: its text is in the code.\n\n\
         /// `/stamp`.\npub struct Stamp;\n\n\
         impl Stamp {{\n    /// The text.\n    pub async fn get() -> &'static str {{\n        \"stamp {n}\"\n    }}\n}}\n\n\
         torn::handler!(Stamp => get);\n"
    )
}

/// Run `runs` edits; each returns where to look and what text to wait for.
fn measure(
    server: &'static str,
    what: &'static str,
    runs: usize,
    hammer: &Hammer,
    mut change: impl FnMut(usize) -> (SocketAddr, String, String),
) -> Row {
    let mut times = Vec::new();
    let (mut refused, mut attempts) = (0, 0);
    for n in 0..runs {
        // Let the previous change settle (and the watcher's debounce pass).
        std::thread::sleep(Duration::from_millis(700));
        hammer.take();
        let saved = Instant::now();
        let (addr, path, text) = change(n);
        loop {
            if let Ok(body) = get(addr, &path)
                && body.contains(&text)
            {
                break;
            }
            assert!(
                saved.elapsed() < Duration::from_secs(300),
                "{server}: {text:?} never served"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        times.push(saved.elapsed());
        let (r, a) = hammer.take();
        refused += r;
        attempts += a;
    }
    eprintln!("{server} {what}: {times:?}");
    Row {
        server,
        edit: what,
        times,
        refused,
        attempts,
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

fn append(path: &Path, more: &str) {
    let mut text = std::fs::read_to_string(path).expect("read");
    text.push_str(more);
    std::fs::write(path, text).expect("write");
}

fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut body = String::new();
    stream.read_to_string(&mut body)?;
    Ok(body)
}

/// Opens a connection every 5 ms and counts the refused ones.
struct Hammer {
    running: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
}

impl Hammer {
    fn start(addr: SocketAddr) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let refused = Arc::new(AtomicUsize::new(0));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (go, r, a) = (running.clone(), refused.clone(), attempts.clone());
        std::thread::spawn(move || {
            while go.load(Ordering::Relaxed) {
                a.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                    && e.kind() == std::io::ErrorKind::ConnectionRefused
                {
                    r.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Hammer {
            running,
            refused,
            attempts,
        }
    }

    /// Refused and attempted since the last call.
    fn take(&self) -> (usize, usize) {
        (
            self.refused.swap(0, Ordering::Relaxed),
            self.attempts.swap(0, Ordering::Relaxed),
        )
    }

    fn stop(&self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

/// A live-reload event stream, read as it comes.
struct EventStream {
    text: Arc<Mutex<String>>,
}

impl EventStream {
    fn open(addr: SocketAddr) -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        std::thread::spawn(move || {
            let Ok(mut stream) = TcpStream::connect(addr) else {
                return;
            };
            let _ = write!(
                stream,
                "GET /__torn/events HTTP/1.1\r\nHost: {addr}\r\n\r\n"
            );
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    return;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        EventStream { text }
    }

    fn wait_for(&self, what: &str) {
        let started = Instant::now();
        while !self.text.lock().unwrap().contains(what) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no {what:?} event"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            eprintln!("  {line}");
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

fn wait_for(log: &Mutex<String>, text: &str, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        {
            let log = log.lock().unwrap();
            if let Some(at) = log.find(text) {
                return log[at..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        }
        assert!(
            started.elapsed() < limit,
            "no {text:?} in:\n{}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
}
