//! Zero-downtime restarts under systemd socket activation, as `deploy/APP.socket` and
//! `deploy/APP.service` (written by `torn new`) set them up: the starter runs under Debian's
//! `systemd-socket-activate`, which holds the listening socket as systemd does; clients keep
//! sending requests while the app is restarted three times (SIGTERM, then the next process on
//! the same socket), and not one request fails. On SQLite, and on PostgreSQL when
//! `TORN_TEST_POSTGRES_URL` is set.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn socket_activate_available() -> bool {
    let ok = Command::new("systemd-socket-activate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TORN_REQUIRE_SOCKET_ACTIVATE").is_none(),
            "TORN_REQUIRE_SOCKET_ACTIVATE is set but systemd-socket-activate is not installed"
        );
        common::skipped(
            "socket activation",
            "systemd-socket-activate is not installed (apt-get install systemd)",
        );
    }
    ok
}

/// The unit files `torn new` wrote for the starter: a socket that systemd holds, and a service
/// on it that systemd waits for (`READY=1`) and gives time to finish its requests.
#[test]
fn torn_new_writes_a_socket_and_a_service() {
    let deploy = common::workspace_root().join("starter/deploy");
    let socket = std::fs::read_to_string(deploy.join("starter.socket")).unwrap();
    let service = std::fs::read_to_string(deploy.join("starter.service")).unwrap();
    for line in ["[Socket]", "ListenStream=8888", "WantedBy=sockets.target"] {
        assert!(socket.lines().any(|l| l == line), "{line}:\n{socket}");
    }
    for line in [
        "Requires=starter.socket",
        "Type=notify",
        "Environment=TORN_ENV=prod",
        "EnvironmentFile=/etc/starter/env",
        "ExecStart=/srv/starter/starter",
        "TimeoutStopSec=45",
    ] {
        assert!(service.lines().any(|l| l == line), "{line}:\n{service}");
    }
}

/// The processes of one socket-activated service: `systemd-socket-activate`, become the shell
/// that starts the app again each time it exits (as systemd restarts a service on its socket),
/// and the app, its child.
struct Service {
    shell: common::KillOnDrop,
    stop: std::path::PathBuf,
    _folder: tempfile::TempDir,
}

impl Service {
    fn start(port: u16, database_url: &str) -> Service {
        let folder = tempfile::tempdir().unwrap();
        let stop = folder.path().join("stop");
        // Each process gets the socket on fd 3 and LISTEN_PID = its own pid, as from systemd.
        let script = r#"while [ ! -e "$1" ]; do sh -c 'LISTEN_PID=$$ exec "$0"' "$0"; done"#;
        let shell = Command::new("systemd-socket-activate")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(["-E", "TORN_ENV=test", "-E", "TORN_LOG=warn"])
            .arg("-E")
            .arg(format!("DATABASE_URL={database_url}"))
            .args(["--", "sh", "-c", script])
            .arg(common::workspace_bin("starter", "starter"))
            .arg(&stop)
            .current_dir(common::workspace_root().join("starter"))
            .stdout(Stdio::null())
            .spawn()
            .expect("start systemd-socket-activate");
        Service {
            shell: common::KillOnDrop(shell),
            stop,
            _folder: folder,
        }
    }

    /// The app's pid, once it runs.
    fn app(&self) -> Option<u32> {
        let shell = self.shell.0.id();
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
        children
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "starter")
            })
    }

    /// The app's pid once one other than `old` runs.
    fn wait_for_app(&self, old: Option<u32>) -> u32 {
        let started = Instant::now();
        loop {
            if let Some(pid) = self.app().filter(|&pid| Some(pid) != old) {
                return pid;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the app did not start again"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.stop, "");
        if let Some(pid) = self.app() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

fn terminate(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_under_socket_activation_lose_no_request() {
    if !socket_activate_available() {
        return;
    }
    for database in common::test_databases("socket activation").await {
        let port = common::free_port();
        let service = Service::start(port, database.url());
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        // The first connection starts the app (systemd-socket-activate waits for one).
        common::wait_for_port(port, "systemd-socket-activate");
        assert_eq!(common::request(addr, "/up").unwrap().0, 200);
        let mut pid = service.wait_for_app(None);

        // Clients sending requests all along, each on a connection of its own, as a load
        // balancer's would: the home page, a form page, the health check.
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let clients: Vec<_> = ["/", "/auth/signup", "/up"]
            .into_iter()
            .map(|path| {
                let (stop, served, failures) = (stop.clone(), served.clone(), failures.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match common::request(addr, path) {
                            Ok((200, _)) => {
                                served.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok((status, body)) => failures
                                .lock()
                                .unwrap()
                                .push(format!("{path}: {status} {body}")),
                            Err(e) => failures.lock().unwrap().push(format!("{path}: {e}")),
                        }
                    }
                })
            })
            .collect();

        let mut served_by = Vec::new();
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(800));
            served_by.push(served.load(Ordering::Relaxed));
            terminate(pid);
            pid = service.wait_for_app(Some(pid));
        }
        std::thread::sleep(Duration::from_millis(800));
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            client.join().unwrap();
        }
        let total = served.load(Ordering::Relaxed);
        served_by.push(total);
        let failures = failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "{} of {} requests failed across the restarts: {failures:#?}",
            failures.len(),
            total + failures.len()
        );
        // Each of the four processes answered requests.
        assert!(
            served_by.windows(2).all(|w| w[1] > w[0]) && served_by[0] > 0,
            "{served_by:?}"
        );
        drop(service);
    }
}
