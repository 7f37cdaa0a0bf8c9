//! The health check (`GET /up`, `health_path`): 200 while the database answers, 503 when it
//! does not; no session work and no request-log line at `info`; off, moved, or left to the
//! app's own route.

mod common;

use torn::db::Db;
use torn::test::{TestDatabase, TestServer};
use torn::{App, Settings};

fn settings() -> Settings {
    let dir = tempfile::tempdir().unwrap();
    Settings::for_test(dir.path())
}

#[tokio::test]
async fn up_answers_200_while_the_database_answers_and_503_when_it_does_not() {
    let database = TestDatabase::sqlite();
    let db = Db::connect(database.url()).await.unwrap();
    let server = TestServer::start(App::new(settings()).database(db.clone())).await;
    let r = server.get("/up").await;
    assert_eq!((r.status, r.text.as_str()), (200, "ok\n"));
    assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
    assert!(r.headers.get("set-cookie").is_none(), "{:?}", r.headers);
    // The database goes away.
    db.close().await;
    let r = server.get("/up").await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (503, "the database is unreachable\n")
    );
    // An app without a database is up when it answers.
    let server = TestServer::start(App::new(settings())).await;
    assert_eq!(server.get("/up").await.status, 200);
}

#[tokio::test]
async fn health_path_moves_it_turns_it_off_and_the_apps_own_route_wins() {
    let mut moved = settings();
    moved.server.health_path = "/healthz".into();
    let server = TestServer::start(App::new(moved)).await;
    assert_eq!(server.get("/healthz").await.status, 200);
    assert_eq!(server.get("/up").await.status, 404);

    let mut off = settings();
    off.server.health_path = String::new();
    let server = TestServer::start(App::new(off)).await;
    assert_eq!(server.get("/up").await.status, 404);

    let own = App::new(settings()).route("/up", axum::routing::get(|| async { "mine" }));
    let server = TestServer::start(own).await;
    assert_eq!(server.get("/up").await.text, "mine");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("torn.toml"),
        "[default]\nhealth_path = \"up\"\n",
    )
    .unwrap();
    let e = Settings::load_from(dir.path(), |_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("health_path is \"up\""), "{e}");
}

/// The starter, logging at `info`: its probes are not in the request log, its pages are.
#[test]
fn probes_stay_out_of_the_request_log() {
    let (_app, base, log) = common::start_starter_keeping(&[], true);
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    for _ in 0..3 {
        assert_eq!(common::request(addr, "/up").unwrap().0, 200);
    }
    assert_eq!(common::request(addr, "/").unwrap().0, 200);
    let started = std::time::Instant::now();
    let lines = loop {
        let lines = log.lock().unwrap().clone();
        if lines.iter().any(|l| l.contains("path=/ ")) {
            break lines;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "no request line for /:\n{}",
            lines.join("\n")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        !lines.iter().any(|l| l.contains("path=/up")),
        "{}",
        lines.join("\n")
    );
}
