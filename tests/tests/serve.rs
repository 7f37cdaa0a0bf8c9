//! A torn app's binary (the starter): start-up checks, inherited sockets, signals, `routes`.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn starter() -> Command {
    let mut cmd = Command::new(common::workspace_bin("starter", "starter"));
    cmd.current_dir(common::workspace_root().join("starter"))
        .env_remove("TORN_COOKIE_SECRET")
        .env_remove("DATABASE_URL")
        .env_remove("PORT")
        .env("TORN_ENV", "test");
    cmd
}

fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.expect("GET");
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

#[test]
fn prod_without_a_cookie_secret_refuses_to_start() {
    let out = starter().env("TORN_ENV", "prod").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no cookie secret"), "{err}");
    assert!(err.contains("head -c 48 /dev/urandom | base64"), "{err}");

    let out = starter()
        .env("TORN_ENV", "prod")
        .env("TORN_COOKIE_SECRET", "changeme")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too weak"));
}

#[test]
fn a_taken_port_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = starter().env("PORT", &port).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already in use") && err.contains("PORT="),
        "{err}"
    );
}

#[test]
fn routes_lists_the_named_routes() {
    let out = starter().arg("routes").output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("METHODS") && table.contains("NAME"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains("GET") && l.contains(" / ") && l.contains("home")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains("POST") && l.contains("/greet") && l.contains("greet")),
        "{table}"
    );
    let out = starter().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut child = starter()
        .env("PORT", "0")
        .env("TORN_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let url = common::wait_for_serving(&mut child);
    assert_eq!(get(&format!("{url}/")).0, 200);
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn serves_on_an_inherited_socket() {
    if Command::new("python3").arg("--version").output().is_err() {
        common::skipped("serves_on_an_inherited_socket", "python3 is not installed");
        return;
    }
    let binary = common::workspace_bin("starter", "starter");
    // Bind a socket, pass it as fd 3 with LISTEN_FDS/LISTEN_PID (as systemd and listenfd do),
    // then become the app.
    let script = r#"
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(128)
print(s.getsockname()[1], flush=True)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["PORT"] = "1"  # must be ignored: the inherited socket wins
os.execv(sys.argv[1], [sys.argv[1]])
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(&binary)
        .current_dir(common::workspace_root().join("starter"))
        .env("TORN_ENV", "test")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first.trim().parse().expect("port");
    let (status, body) = get(&format!("http://127.0.0.1:{port}/"));
    assert_eq!(status, 200);
    assert!(body.contains("Welcome to torn"));
    child.kill().unwrap();
    let _ = child.wait();
}

/// Failed log-ins, throttling and lockouts are security events in the log: the client's address
/// and the account's hashed key, never the password nor the address typed.
#[test]
fn failed_log_ins_are_security_events_without_what_was_typed() {
    let (_app, base, log) = common::start_starter_keeping(&[], true);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = torn::test::browser_client();
        for _ in 0..7 {
            let xsrf = common::form_token(&client, &format!("{base}/auth/login")).await;
            let r = client
                .post(format!("{base}/auth/login"))
                .form(&[
                    ("_xsrf", xsrf.as_str()),
                    ("email", "mia@example.com"),
                    ("password", "hunter2 typed by mistake"),
                ])
                .send()
                .await
                .unwrap();
            assert!([401, 429].contains(&r.status().as_u16()), "{}", r.status());
        }
    });
    let started = Instant::now();
    let events = loop {
        let lines: Vec<String> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("torn::security"))
            .cloned()
            .collect();
        if lines.iter().any(|l| l.contains("login_throttled_account")) {
            break lines;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no throttling event in the log: {:?}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for wanted in ["login_failed", "account_locked", "login_throttled_account"] {
        assert!(
            events.iter().any(|l| l.contains(wanted)),
            "{wanted}: {events:#?}"
        );
    }
    for line in &events {
        assert!(line.contains("client=127.0.0.1"), "{line}");
        assert!(line.contains("account=account:"), "{line}");
        assert!(
            !line.contains("hunter2") && !line.contains("mia@example.com"),
            "{line}"
        );
    }
}

/// The XSRF token was the same before and after a log-in, so one that someone learned or
/// planted before (a sibling subdomain can set the site's cookies) still worked once the
/// person was logged in.
#[test]
fn log_in_gives_the_browser_a_new_xsrf_token() {
    let (_app, base) = common::start_starter(&[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = torn::test::browser_client();
        let form_token = |path: &'static str| {
            let client = client.clone();
            let base = base.clone();
            async move { common::form_token(&client, &format!("{base}{path}")).await }
        };
        let post = |path: &'static str, form: Vec<(&'static str, String)>| {
            let client = client.clone();
            let base = base.clone();
            async move {
                client
                    .post(format!("{base}{path}"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let password = "correct horse battery staple".to_string();
        let email = "rosa@example.com".to_string();
        let before = form_token("/auth/signup").await;
        let signed_up = post(
            "/auth/signup",
            vec![
                ("_xsrf", before.clone()),
                ("email", email.clone()),
                ("password", password.clone()),
            ],
        )
        .await;
        assert_eq!(signed_up, 303);
        let logged_in = post(
            "/auth/login",
            vec![
                ("_xsrf", before.clone()),
                ("email", email),
                ("password", password),
            ],
        )
        .await;
        assert_eq!(logged_in, 303);
        // The token of a page from before the log-in is refused now…
        assert_eq!(
            post("/auth/logout", vec![("_xsrf", before)]).await,
            403,
            "a token from before the log-in"
        );
        // …and the new one works (the home page: /account waits for the address's
        // confirmation).
        let after = form_token("/").await;
        assert_eq!(post("/auth/logout", vec![("_xsrf", after)]).await, 303);
    });
}
