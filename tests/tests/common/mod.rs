//! Helpers shared by the end-to-end tests, a file for each thing they start: cargo and the
//! apps it builds, an HTTP client, an SMTP server, PostgreSQL, the OpenID Connect servers, a
//! browser, nginx, fresh apps made by the `torn` binary, and a visitor of a running app.
#![allow(dead_code)]

mod apps;
mod browser;
mod cargo;
mod http;
mod live;
mod nginx;
mod oidc;
mod postgres;
mod site;
mod smtp;

// Each suite uses some of the helpers: the others' re-exports are unused there.
#[allow(unused_imports)]
pub use apps::*;
#[allow(unused_imports)]
pub use browser::*;
#[allow(unused_imports)]
pub use cargo::*;
#[allow(unused_imports)]
pub use http::*;
#[allow(unused_imports)]
pub use live::*;
#[allow(unused_imports)]
pub use nginx::*;
#[allow(unused_imports)]
pub use oidc::*;
#[allow(unused_imports)]
pub use postgres::*;
#[allow(unused_imports)]
pub use site::*;
#[allow(unused_imports)]
pub use smtp::*;

/// Report a suite that did not run, so a bare `cargo test` says what it skipped. Written to the
/// stderr handle itself, which the test harness does not capture (it captures `eprintln!`).
pub fn skipped(suite: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {suite}: {why}");
}

/// A database of its own for each backend a suite runs on: SQLite, and PostgreSQL when
/// `TORN_TEST_POSTGRES_URL` names a server (else the suite says it ran on SQLite only).
pub async fn test_databases(suite: &str) -> Vec<torn::test::TestDatabase> {
    let mut all = vec![torn::test::TestDatabase::sqlite()];
    match torn::test::TestDatabase::postgres().await {
        Some(pg) => all.push(pg),
        None => skipped(
            suite,
            "TORN_TEST_POSTGRES_URL is not set (ran on SQLite only)",
        ),
    }
    all
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

/// A port that was free a moment ago, and that no other test of this process was given: the
/// system may hand a released port out again at once, and two tests running side by side would
/// then start their servers on one port (one test's messages reaching the other's server).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
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

/// A `redis-server` of the test's own, on `port`, keeping nothing on disk; stopped when dropped.
pub fn redis_server(port: u16) -> KillOnDrop {
    let child = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start redis-server");
    wait_for_port(port, "redis-server");
    KillOnDrop(child)
}
