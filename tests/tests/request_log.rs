//! The request log: one line per request, and every line logged while a request is handled
//! (the app's own, torn's errors) in the request's span, naming its request id, the one its
//! response carries in `X-Request-Id`.
//!
//! One test in this binary: it installs the process's tracing subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::routing::get;
use torn::test::TestServer;
use torn::{App, Error, Settings};

/// What the subscriber wrote, as text.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    /// The lines that mention `needle`.
    fn lines_with(&self, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}

async fn greet() -> &'static str {
    tracing::info!("the app's own line, from the handler");
    "hello"
}

async fn failing() -> torn::Result<String> {
    Err(Error::internal(std::io::Error::other("disk on fire")))
}

#[tokio::test]
async fn every_line_of_a_request_names_its_request_id() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(Settings::for_test(dir.path()))
        .route("/greet", get(greet))
        .route("/fail", get(failing));
    let server = TestServer::start(app).await;

    let r = server.get("/greet?secret=no").await;
    assert_eq!(r.status, 200);
    let id = r.header("x-request-id").expect("an id").to_string();
    let lines = log.lines_with(&id);
    // The app's line and the request log's, both in the request's span.
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].contains("the app's own line") && lines[0].contains("path=/greet"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("status=200")
            && lines[1].contains("latency_ms=")
            && lines[1].contains("method=GET")
            && lines[1].contains("client=127.0.0.1"),
        "{lines:#?}"
    );
    // The query string is not logged: it may carry tokens.
    assert!(log.lines_with("secret=no").is_empty());

    // A failure's cause and the request's line name its id too, at ERROR.
    let r = server.get("/fail").await;
    assert_eq!(r.status, 500);
    let id = r.header("x-request-id").expect("an id").to_string();
    let lines = log.lines_with(&id);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("disk on fire")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("status=500")),
        "{lines:#?}"
    );

    // An id a client chose is neither the response's nor in the log.
    let r = server
        .send(
            server
                .client()
                .get(server.url("/greet"))
                .header("x-request-id", "chosen-by-the-client"),
        )
        .await;
    assert_ne!(r.header("x-request-id"), Some("chosen-by-the-client"));
    assert!(log.lines_with("chosen-by-the-client").is_empty());
}
