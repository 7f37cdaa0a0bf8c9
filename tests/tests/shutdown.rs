//! SIGTERM with live connections open: WebSockets get close 1001 ("going away"), event streams
//! end, long polls return, and the server stops well within its drain window. The app serves in
//! this process (`App::serve`, as an app's `main` does), so this file has this one test: the
//! signal goes to the whole process.

mod common;

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use torn::realtime::{self, Connection, Incoming, WebSocketHandler, close_code};
use torn::{App, PubSub, Settings};

struct Quiet;

impl WebSocketHandler for Quiet {
    async fn open(_conn: Connection) -> Option<Self> {
        Some(Quiet)
    }

    async fn on_message(&mut self, _message: Incoming) {}
}

async fn events(pubsub: PubSub, headers: HeaderMap) -> impl IntoResponse {
    realtime::events(&pubsub, "room", &headers)
}

async fn poll(pubsub: PubSub) -> String {
    let got = pubsub.wait_after("room", 0, Duration::from_mins(1)).await;
    format!("{} messages", got.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_websockets_with_1001_and_ends_streams() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_test(dir.path());
    settings.server.port = common::free_port();
    let base = format!("127.0.0.1:{}", settings.server.port);
    let app = App::new(settings)
        .websocket::<Quiet>("quiet", "/ws")
        .route("/events", get(events))
        .route("/poll", get(poll));
    let serving = tokio::spawn(app.serve());
    common::wait_for_port(base.rsplit(':').next().unwrap().parse().unwrap(), "the app");

    let (mut socket, _) = common::connect_to(&format!("ws://{base}/ws"), &[])
        .await
        .unwrap();
    let client = torn::test::reqwest::Client::new();
    let mut stream =
        common::Stream::open_url(&client, &format!("http://{base}/events"), None).await;
    let poll = tokio::spawn({
        let client = client.clone();
        let url = format!("http://{base}/poll");
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    // The WebSocket: a close frame saying the server goes away.
    let frame = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed within 5 s of SIGTERM")
        {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close code"),
            Some(Ok(_)) => {}
            other => panic!("a close frame, not {other:?}"),
        }
    };
    assert_eq!(u16::from(frame.code), close_code::AWAY);
    // The long poll: answered, with nothing.
    let answer = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the long poll answered within 5 s")
        .unwrap();
    assert_eq!(answer, "0 messages");
    // The event stream: ended (the browser reconnects, to this instance restarted or another).
    let end = tokio::time::timeout(Duration::from_secs(5), stream.end())
        .await
        .expect("the stream ended within 5 s");
    assert!(end, "the stream ended cleanly");
    // And the server is done, long before its 30 s drain window.
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(10));
}
