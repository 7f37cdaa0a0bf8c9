//! Two instances of a generated app behind a real load balancer (nginx from Debian's packages,
//! round robin, with a configuration the test writes), sharing one PostgreSQL database and
//! sessions in Redis, with mail through a real SMTP server: an account is made, confirmed, used
//! and logged out of across both instances in a row, the client's address reaches the app
//! through the trusted-proxy setting, and both instances are restarted one after the other
//! under a steady stream of requests, none of which fails.
//!
//! Needs `TORN_TEST_POSTGRES_URL`, `TORN_TEST_REDIS_URL`, nginx and aiosmtpd (`.ci/run` has
//! them all); says which is missing otherwise.

mod common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Browser, KillOnDrop, Output};
use torn::test::{TestDatabase, TestResponse};

const PASSWORD: &str = "correct horse battery staple";
/// The address nginx reaches the instances from, and the one the visitor connects from.
const PROXY: &str = "127.0.0.9";
const VISITOR: &str = "127.0.0.4";

/// One instance of the app on a port of its own, and what it logged.
struct Instance {
    name: &'static str,
    port: u16,
    process: Option<KillOnDrop>,
    log: Output,
}

impl Instance {
    fn start(name: &'static str, app: &(PathBuf, PathBuf), env: &[(&str, String)]) -> Self {
        let mut instance = Instance {
            name,
            port: common::free_port(),
            process: None,
            log: Output::default(),
        };
        instance.start_again(app, env);
        instance
    }

    fn start_again(&mut self, (bin, root): &(PathBuf, PathBuf), env: &[(&str, String)]) {
        let mut env = env.to_vec();
        env.push(("PORT", self.port.to_string()));
        let (process, _, log) = common::start_app_keeping(bin, root, &env, true);
        self.process = Some(process);
        self.log = log;
    }

    /// SIGTERM, and wait until it has finished its requests and exited.
    async fn stop(&mut self) {
        let mut process = self.process.take().expect("running");
        let pid = process.0.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let exited = tokio::task::spawn_blocking(move || process.0.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(exited.success(), "{} stopped with {exited}", self.name);
    }

    fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// The request log line of the request with this id, if this instance served it.
    fn line_of(&self, request_id: &str) -> Option<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .find(|l| l.contains(request_id) && l.contains("status"))
            .cloned()
    }

    /// How many requests for `path` this instance logged since it started.
    fn served(&self, path: &str) -> usize {
        let needle = format!("path={path} ");
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|l| l.contains(&needle) && l.contains("status"))
            .count()
    }
}

/// The instance that answered `r` (nginx gives each request an id, which the app takes from
/// the trusted proxy and logs), and its log line.
async fn served_by<'a>(r: &TestResponse, instances: [&'a Instance; 2]) -> (&'a str, String) {
    let id = r.header("x-request-id").expect("a request id").to_string();
    for _ in 0..100 {
        for instance in instances {
            if let Some(line) = instance.line_of(&id) {
                return (instance.name, line);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no instance logged request {id}");
}

/// What the test needs, or the name of what is missing.
fn missing() -> Option<&'static str> {
    if std::env::var_os("TORN_TEST_POSTGRES_URL").is_none() {
        return Some("TORN_TEST_POSTGRES_URL is not set");
    }
    if std::env::var_os("TORN_TEST_REDIS_URL").is_none() {
        return Some("TORN_TEST_REDIS_URL is not set");
    }
    if !common::nginx_available() {
        return Some("nginx is not installed");
    }
    if !common::aiosmtpd_available() {
        return Some("python3 with aiosmtpd is not installed");
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_nginx_share_accounts_and_restart_without_a_failed_request() {
    if let Some(why) = missing() {
        common::skipped("two instances behind nginx", why);
        return;
    }
    let database = TestDatabase::postgres().await.expect("checked above");
    let redis = std::env::var("TORN_TEST_REDIS_URL").unwrap();
    let smtp = common::SmtpServer::start();
    let app = common::redis_app();
    let env = [
        ("DATABASE_URL", database.url().to_string()),
        ("TORN_SESSION_STORE", redis),
        ("TORN_TRUSTED_PROXIES", PROXY.to_string()),
        // Both sign cookies with the same secret.
        (
            "TORN_COOKIE_SECRET",
            "kq3dW8tZbN2fYx7LmR5vHc9JpE4sGu6A".to_string(),
        ),
        ("TORN_SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port)),
        ("TORN_MAIL_FROM", "App <noreply@example.com>".to_string()),
    ];
    // One after the other: each runs the migrations at start-up.
    let mut a = Instance::start("a", &app, &env);
    let mut b = Instance::start("b", &app, &env);
    let nginx = common::Nginx::start(&[a.addr(), b.addr()], PROXY.parse().unwrap());
    let visitor: IpAddr = VISITOR.parse().unwrap();
    let v = Browser::from(&nginx.url(), Some(visitor));

    // The sign-up form from one instance, posted to the other: its XSRF token holds there.
    let form = v.get("/auth/signup").await;
    let (rendered_by, _) = served_by(&form, [&a, &b]).await;
    let token = torn::test::form_field(&form.text, "_xsrf").expect("an _xsrf field");
    let r = v
        .post(
            "/auth/signup",
            &[
                ("_xsrf", &token),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let (accepted_by, _) = served_by(&r, [&a, &b]).await;
    assert_ne!(rendered_by, accepted_by, "round robin: the other instance");

    // The link in the mail, then the log-in it asks for, then the link again.
    let verify = common::mail_link(&smtp, 1, "ada@example.com", "/auth/verify");
    let r = v.get(&verify).await;
    assert_eq!(r.status, 303);
    let login = r.header("location").unwrap().to_string();
    let r = v
        .submit(
            &login,
            "/auth/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", &verify),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some(verify.as_str()))
    );
    let session_cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("torn_session="))
        .and_then(|c| c.split(';').next())
        .expect("the log-in sets the session cookie")
        .to_string();
    assert_eq!(v.get(&verify).await.status, 303);

    // The account page, several times in a row: each instance serves it, logged in.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let r = v.get("/account").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.text.contains("ada@example.com"));
        let (by, line) = served_by(&r, [&a, &b]).await;
        // The client's own address, not the proxy's, through `trusted_proxies`.
        assert!(line.contains(&format!("client={VISITOR}")), "{line}");
        seen.push(by);
    }
    assert!(seen.contains(&"a") && seen.contains(&"b"), "{seen:?}");

    // Log out on one; the session is over on both, even for the cookie kept from before.
    let r = v.submit("/account", "/auth/logout", &[]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    for _ in 0..2 {
        let r = v.get("/account").await;
        assert_eq!(r.status, 303);
        assert!(r.header("location").unwrap().starts_with("/auth/login"));
        let replayed = common::read(
            v.client
                .get(format!("{}/account", nginx.url()))
                .header("cookie", &session_cookie),
        )
        .await;
        assert_eq!(replayed.status, 303, "the old session cookie is dead");
    }

    // Logged in again, a client keeps asking for its account page (and the home page) while
    // each instance in turn is stopped (SIGTERM) and started again on its port.
    let r = v
        .submit(
            "/auth/login",
            "/auth/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn(steady_stream(
        nginx.url(),
        v.client.clone(),
        stop.clone(),
        answered.clone(),
    ));
    let log_ins = tokio::spawn(log_ins(nginx.url(), stop.clone(), answered.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    // As a deploy would: the next instance is stopped once the restarted one takes requests.
    for instance in [&mut a, &mut b] {
        instance.stop().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        instance.start_again(&app, &env);
        let started = std::time::Instant::now();
        while instance.served("/account") + instance.served("/") < 10 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} takes no requests after its restart: {:#?}",
                instance.name,
                instance.log.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = stream.await.unwrap();
    failures.extend(log_ins.await.unwrap());
    let answered = answered.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {failures:#?}\nnginx, besides refused connections: {:#?}",
        failures.len(),
        answered + failures.len(),
        nginx
            .errors()
            .lines()
            .filter(|l| !l.contains("connect() failed"))
            .collect::<Vec<_>>()
    );
    assert!(answered >= 50, "only {answered} requests were answered");
    // Both restarted instances took their share.
    drop(nginx);
    drop((a, b));
    drop(database);
}

/// Send a form and ask for the account page (logged in, through `logged_in`), and ask for the
/// home page (anonymous) at `base`, until `stop`; the requests that did not get their answer.
async fn steady_stream(
    base: String,
    logged_in: reqwest::Client,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
) -> Vec<String> {
    let anonymous = torn::test::browser_client_from(Some(VISITOR.parse().unwrap()));
    let mut failures = Vec::new();
    let home = logged_in.get(format!("{base}/")).send().await.unwrap();
    let token = torn::test::form_field(&home.text().await.unwrap(), "_xsrf").expect("a form");
    while !stop.load(Ordering::Relaxed) {
        // A form sent (which nginx does not send again elsewhere once it has gone out).
        let greeted = logged_in
            .post(format!("{base}/greet"))
            .form(&[("_xsrf", token.as_str()), ("name", "Ada")])
            .send()
            .await;
        match greeted {
            Ok(r) if r.status() == 303 => {
                answered.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => failures.push(format!("POST /greet: {}", r.status())),
            Err(e) => failures.push(format!("POST /greet: {e}")),
        }
        for (client, path, wanted) in [
            (&logged_in, "/account", "ada@example.com"),
            (&anonymous, "/", "Log in"),
        ] {
            match client.get(format!("{base}{path}")).send().await {
                Ok(r) if r.status() == 200 => {
                    let text = r.text().await.unwrap_or_default();
                    if text.contains(wanted) {
                        answered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failures.push(format!("{path} without {wanted:?}: {text}"));
                    }
                }
                Ok(r) => failures.push(format!("{path}: {}", r.status())),
                Err(e) => failures.push(format!("{path}: {e}")),
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    failures
}

/// Log in again and again, each time as a new visitor, until `stop`: a slow request (the
/// password hash takes a while), so some are under way when an instance is told to stop.
async fn log_ins(base: String, stop: Arc<AtomicBool>, answered: Arc<AtomicUsize>) -> Vec<String> {
    let mut failures = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let visitor = Browser::from(&base, Some(VISITOR.parse().unwrap()));
        let form = match visitor
            .client
            .get(format!("{base}/auth/login"))
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => r.text().await.unwrap_or_default(),
            Ok(r) => {
                failures.push(format!("/auth/login: {}", r.status()));
                continue;
            }
            Err(e) => {
                failures.push(format!("/auth/login: {e}"));
                continue;
            }
        };
        let token = torn::test::form_field(&form, "_xsrf").expect("a form");
        let logged_in = visitor
            .client
            .post(format!("{base}/auth/login"))
            .form(&[
                ("_xsrf", token.as_str()),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ])
            .send()
            .await;
        match logged_in {
            Ok(r) if r.status() == 303 => {
                answered.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => failures.push(format!("POST /auth/login: {}", r.status())),
            Err(e) => failures.push(format!("POST /auth/login: {e}")),
        }
    }
    failures
}

/// Sessions in Redis need torn's `redis` feature: an app built without it says so and stops,
/// rather than keeping its sessions somewhere else than the settings say.
#[test]
fn redis_sessions_without_the_redis_feature_stop_the_app_with_a_reason() {
    let bin = common::workspace_bin("starter", "starter");
    let mut app = std::process::Command::new(bin)
        .current_dir(common::workspace_root().join("starter"))
        .env("TORN_ENV", "test")
        .env("PORT", "0")
        .env("TORN_SESSION_STORE", "redis://:secret@127.0.0.1:6379")
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = app.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = app.kill();
            panic!("the app kept running with a session store it cannot use");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = app.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!status.success());
    assert!(
        said.contains("without its `redis` feature") && said.contains(r#"features = ["redis"]"#),
        "{said}"
    );
    assert!(
        !said.contains("secret"),
        "the password is not shown: {said}"
    );
}
