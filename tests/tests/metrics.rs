//! Prometheus metrics (`metrics_listen`, `metrics_token`) on the starter: off unless one of them
//! is set; on the app's port only for a scraper that sends the token; requests counted by route
//! name, method and status (never by a path the client chose), their latency as a histogram,
//! the open connections, and the job queues read from the database, which several instances
//! share. On SQLite, and on PostgreSQL when `TORN_TEST_POSTGRES_URL` is set.

mod common;

use std::time::{Duration, Instant};

use common::Browser;

const TOKEN: &str = "0123456789abcdef0123456789abcdef-scraper";

/// `GET base/metrics` with `auth` as the `Authorization` header: the status and the body.
async fn scrape(base: &str, auth: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.expect("GET /metrics");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The value of the series `series` (its name and labels, as the page writes them).
fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
}

/// Scrape until `series` has `wanted` (the jobs run, and connections close, meanwhile).
async fn wait_for(base: &str, series: &str, wanted: f64) -> String {
    let started = Instant::now();
    loop {
        let (status, page) = scrape(base, Some(&format!("Bearer {TOKEN}"))).await;
        assert_eq!(status, 200, "{page}");
        if value(&page, series) == Some(wanted) {
            return page;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{series} never became {wanted}:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_unless_asked_for() {
    let (_app, base) = common::start_starter(&[]);
    assert_eq!(scrape(&base, None).await.0, 404);
    assert_eq!(scrape(&base, Some(&format!("Bearer {TOKEN}"))).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_connections_and_jobs_are_counted_for_a_scraper_with_the_token() {
    for database in common::test_databases("metrics").await {
        let own_port = common::free_port();
        let env = |run_jobs: &str, listen: String| {
            vec![
                ("DATABASE_URL", database.url().to_string()),
                ("TORN_RUN_JOBS", run_jobs.to_string()),
                ("TORN_METRICS_TOKEN", TOKEN.to_string()),
                ("TORN_METRICS_LISTEN", listen),
            ]
        };
        // An instance that only enqueues, with the metrics on an address of their own too.
        let (_front, base) = common::start_starter(&env("false", format!("127.0.0.1:{own_port}")));

        // Not for anyone else: no token, a wrong one, another scheme.
        assert_eq!(scrape(&base, None).await.0, 401);
        let wrong = format!("Bearer {}x", &TOKEN[..TOKEN.len() - 1]);
        assert_eq!(scrape(&base, Some(&wrong)).await.0, 401);
        assert_eq!(scrape(&base, Some(&format!("Basic {TOKEN}"))).await.0, 401);
        assert_eq!(scrape(&base, Some("Bearer ")).await.0, 401);

        let browser = Browser::new(&base);
        assert_eq!(browser.get("/").await.status, 200);
        assert_eq!(browser.get("/").await.status, 200);
        assert_eq!(browser.get("/no/such/page/9f3a").await.status, 404);
        // A form without its XSRF token is refused, and counted under its route.
        assert_eq!(
            browser.post("/auth/login", &[("email", "x")]).await.status,
            403
        );
        let r = browser
            .submit(
                "/auth/signup",
                "/auth/signup",
                &[
                    ("email", "ada@example.com"),
                    ("password", "correct horse battery staple"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text);

        let (status, page) = scrape(&base, Some(&format!("Bearer {TOKEN}"))).await;
        assert_eq!(status, 200, "{page}");
        for (series, wanted) in [
            (
                r#"http_requests_total{method="GET",route="home",status="200"}"#,
                2.0,
            ),
            (
                r#"http_requests_total{method="GET",route="unmatched",status="404"}"#,
                1.0,
            ),
            (
                r#"http_requests_total{method="POST",route="login",status="403"}"#,
                1.0,
            ),
            (
                r#"http_requests_total{method="POST",route="signup",status="303"}"#,
                1.0,
            ),
            (
                r#"http_request_duration_seconds_count{method="GET",route="home",status="200"}"#,
                2.0,
            ),
            // The sign-up's verification mail, queued: this instance runs no jobs.
            (r#"torn_jobs{queue="mail",state="queued"}"#, 1.0),
            (r#"torn_jobs{queue="mail",state="dead"}"#, 0.0),
        ] {
            assert_eq!(value(&page, series), Some(wanted), "{series}:\n{page}");
        }
        // A histogram, with buckets.
        assert!(
            page.contains(
                r#"http_request_duration_seconds_bucket{method="GET",route="home",status="200",le="+Inf"} 2"#
            ),
            "{page}"
        );
        assert!(page.contains("# TYPE http_request_duration_seconds histogram"));
        // The path the client made up is nowhere.
        assert!(!page.contains("9f3a"), "{page}");

        // Open connections: five more idle ones count, and stop counting when they close.
        let before = value(&page, "http_connections_open").expect("the connections gauge");
        let addr = base.trim_start_matches("http://");
        let idle: Vec<_> = (0..5)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        wait_for(&base, "http_connections_open", before + 5.0).await;
        drop(idle);
        wait_for(&base, "http_connections_open", before).await;

        // On their own address, the token is asked there too.
        let own = format!("http://127.0.0.1:{own_port}");
        assert_eq!(scrape(&own, None).await.0, 401);
        let (status, page) = scrape(&own, Some(&format!("Bearer {TOKEN}"))).await;
        assert_eq!(status, 200);
        assert!(page.contains(r#"route="home""#), "{page}");

        // A second instance, which runs the jobs, sends the mail: it counts the run, and the
        // first sees the queue empty.
        let (_worker, worker_base) =
            common::start_starter(&env("true", format!("127.0.0.1:{}", common::free_port())));
        wait_for(
            &worker_base,
            r#"torn_job_runs_total{job="torn.mail",outcome="done"}"#,
            1.0,
        )
        .await;
        wait_for(&base, r#"torn_jobs{queue="mail",state="queued"}"#, 0.0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_their_own_address_without_a_token_stay_off_the_apps_port() {
    let own_port = common::free_port();
    let (_app, base) =
        common::start_starter(&[("TORN_METRICS_LISTEN", format!("127.0.0.1:{own_port}"))]);
    assert_eq!(Browser::new(&base).get("/").await.status, 200);
    assert_eq!(scrape(&base, None).await.0, 404);
    let (status, page) = scrape(&format!("http://127.0.0.1:{own_port}"), None).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"route="home""#), "{page}");
}

/// The starter refuses to start with metrics settings that would expose them or cannot work,
/// and says why.
#[test]
fn bad_metrics_settings_stop_the_app_with_a_message() {
    let bin = common::workspace_bin("starter", "starter");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    for (env, said) in [
        (
            ("TORN_METRICS_TOKEN", "short"),
            "metrics_token must be at least 32 characters",
        ),
        (
            (
                "TORN_METRICS_TOKEN",
                "0123456789 0123456789 0123456789 0123",
            ),
            "metrics_token must be at least 32 characters, with no spaces",
        ),
        (
            ("TORN_METRICS_LISTEN", "localhost"),
            "metrics_listen is \"localhost\"; it must be an address and a port",
        ),
        (
            ("TORN_METRICS_LISTEN", taken_addr.as_str()),
            "for the metrics (metrics_listen): Address already in use",
        ),
    ] {
        let out = std::process::Command::new(&bin)
            .current_dir(common::workspace_root().join("starter"))
            .env("TORN_ENV", "test")
            .env("PORT", "0")
            .env(env.0, env.1)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?} started");
        assert!(stderr.contains(said), "{env:?}: {stderr}");
    }
    drop(taken);
}

/// In an app of its own: its own metrics (through `torn::metrics`) are on torn's page, and a
/// route without a name is labelled with its path pattern, not the path asked for.
#[tokio::test]
async fn an_apps_own_metrics_and_unnamed_routes() {
    use axum::routing::get;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = torn::Settings::for_test(dir.path());
    settings.metrics.token = TOKEN.into();
    // A route that would match the metrics' path too: the page is answered before it, and the
    // app starts (two routes at one path would stop it).
    let app = torn::App::new(settings)
        .route(
            "/items/{id}",
            get(|| async {
                torn::metrics::counter!("shop_items_viewed_total").increment(1);
                "an item"
            }),
        )
        .merge(axum::Router::new().route("/{page}", get(|| async { "a page" })));
    let server = torn::test::TestServer::start(app).await;
    for id in ["1", "2", "secret-path-7c1"] {
        assert_eq!(server.get(&format!("/items/{id}")).await.status, 200);
    }
    let (status, page) = scrape(&server.url(""), Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(value(&page, "shop_items_viewed_total"), Some(3.0), "{page}");
    assert_eq!(
        value(
            &page,
            r#"http_requests_total{method="GET",route="/items/{id}",status="200"}"#
        ),
        Some(3.0),
        "{page}"
    );
    assert!(!page.contains("secret-path-7c1"), "{page}");
    assert_eq!(server.get("/about").await.text, "a page");
    // The page itself was counted, under its own name.
    let (_, page) = scrape(&server.url(""), Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(
        value(
            &page,
            r#"http_requests_total{method="GET",route="metrics",status="200"}"#
        ),
        Some(1.0),
        "{page}"
    );
}
