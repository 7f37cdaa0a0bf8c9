//! Real-time over real HTTP: server-sent events from a pub/sub topic (ids, `retry:`,
//! keep-alive comments, resumption from `Last-Event-ID`, `lagged` when the replay buffer has
//! moved on) and long polling (at once when there is news, after a timeout when there is none,
//! woken by a publish).

mod common;

use std::time::Duration;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;
use torn::realtime::{self, PubSub};
use torn::test::TestServer;
use torn::{App, Settings};

use common::Stream;

async fn events(pubsub: PubSub, headers: HeaderMap) -> impl IntoResponse {
    realtime::events(&pubsub, "room", &headers)
}

async fn quiet(pubsub: PubSub) -> impl IntoResponse {
    realtime::events_from(pubsub.subscribe("quiet"), Duration::from_millis(200))
}

#[derive(Deserialize)]
struct After {
    after: u64,
}

async fn poll(pubsub: PubSub, Query(q): Query<After>) -> String {
    let messages = pubsub
        .wait_after("room", q.after, Duration::from_millis(700))
        .await;
    messages
        .iter()
        .map(|r| match r {
            realtime::Received::Message(m) => format!("{} {}\n", m.id, m.data),
            realtime::Received::Lagged(n) => format!("lagged {n}\n"),
        })
        .collect()
}

/// The app, and its topics (to publish from the test, as a task would).
async fn start() -> (TestServer, PubSub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(Settings::for_test(dir.path()))
        .route("/events", get(events))
        .route("/quiet", get(quiet))
        .route("/poll", get(poll));
    let pubsub = app.pubsub();
    (TestServer::start(app).await, pubsub, dir)
}

#[tokio::test]
async fn events_stream_what_is_published_with_ids() {
    let (server, pubsub, _dir) = start().await;
    let mut stream = Stream::open(&server, "/events", None).await;
    // Published once the stream is open, so that it is live, not replayed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first = pubsub.publish("room", "hello").await.unwrap();
    pubsub
        .publish("other", "not for this stream")
        .await
        .unwrap();
    let second = pubsub.publish("room", "<b>second</b>").await.unwrap();
    assert_eq!(second, first + 1);
    let text = stream.until("data: <b>second</b>").await.to_string();
    assert!(text.contains("retry: 3000"), "{text}");
    assert!(
        text.contains(&format!("id: {first}\ndata: hello\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("id: {second}\ndata: <b>second</b>\n\n")),
        "{text}"
    );
    assert!(!text.contains("not for this stream"), "{text}");
}

#[tokio::test]
async fn a_quiet_stream_gets_keep_alive_comments() {
    let (server, _pubsub, _dir) = start().await;
    let mut stream = Stream::open(&server, "/quiet", None).await;
    // axum's keep-alive is an empty comment line: ":\n\n".
    let text = stream.until(":\n\n").await;
    assert!(!text.contains("data:"), "{text}");
}

#[tokio::test]
async fn a_browser_that_reconnects_gets_what_it_missed() {
    let (server, pubsub, _dir) = start().await;
    let mut ids = Vec::new();
    for word in ["one", "two", "three"] {
        ids.push(pubsub.publish("room", word).await.unwrap());
    }
    let seen = ids[0].to_string();
    let mut stream = Stream::open(&server, "/events", Some(&seen)).await;
    let text = stream.until("data: three").await.to_string();
    assert!(!text.contains("data: one"), "{text}");
    assert!(
        text.contains(&format!("id: {}\ndata: two", ids[1])),
        "{text}"
    );
    // A Last-Event-ID that is not a number: from now on, nothing replayed.
    let mut fresh = Stream::open(&server, "/events", Some("x")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    pubsub.publish("room", "four").await.unwrap();
    let text = fresh.until("data: four").await;
    assert!(!text.contains("data: two"), "{text}");
}

#[tokio::test]
async fn a_reconnect_older_than_the_replay_buffer_is_told_it_lagged() {
    let (server, pubsub, _dir) = start().await;
    // The default buffer keeps 100 messages.
    let mut ids = Vec::new();
    for n in 0..150 {
        ids.push(pubsub.publish("room", format!("m{n}")).await.unwrap());
    }
    let seen = ids[9].to_string();
    let mut stream = Stream::open(&server, "/events", Some(&seen)).await;
    let text = stream.until("data: m149").await.to_string();
    assert!(
        text.contains("event: lagged\ndata: 40\n"),
        "{}",
        &text[..200]
    );
    let kept = format!("id: {}\ndata: m50\n", ids[50]);
    assert!(text.contains(&kept), "{}", &text[..400]);
    assert!(!text.contains("data: m49\n"), "the buffer starts at m50");
    // An id from an earlier run of the topic, just before this one's first: lagged too.
    let before = (ids[0] - 2).to_string();
    let mut stream = Stream::open(&server, "/events", Some(&before)).await;
    let text = stream.until("data: m149").await.to_string();
    assert!(
        text.contains("event: lagged\ndata: 0\n"),
        "{}",
        &text[..200]
    );
}

#[tokio::test]
async fn long_polling_answers_at_once_waits_or_times_out() {
    let (server, pubsub, _dir) = start().await;
    let first = pubsub.publish("room", "first").await.unwrap();
    // News after 0 (no cursor yet): at once.
    let r = server.get("/poll?after=0").await;
    assert_eq!(r.text, format!("{first} first\n"));
    // Nothing after the first: an empty answer after the timeout.
    let started = std::time::Instant::now();
    let r = server.get(&format!("/poll?after={first}")).await;
    assert_eq!(r.text, "");
    assert!(started.elapsed() >= Duration::from_millis(600));
    // Waiting, woken by a publish.
    let waiting = tokio::spawn({
        let url = server.url(&format!("/poll?after={first}"));
        let client = server.client().clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    pubsub.publish("room", "second").await.unwrap();
    assert_eq!(waiting.await.unwrap(), format!("{} second\n", first + 1));
    // An id this process never gave (a client of an instance that restarted): told it lagged.
    let r = server.get(&format!("/poll?after={}", first + 500)).await;
    assert_eq!(r.text, "lagged 0\n");
    // Nobody waits any more: the topic holds only its replay buffer.
    assert_eq!(pubsub.topics(), 1);
}

#[tokio::test]
async fn a_message_cannot_forge_events_with_line_breaks() {
    let (server, pubsub, _dir) = start().await;
    let mut stream = Stream::open(&server, "/events", None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // What a chat user might type to make browsers see an event of another name or id.
    pubsub
        .publish("room", "hi\n\nevent: admin\nid: 99\r\ndata: forged\rmore")
        .await
        .unwrap();
    let after = pubsub.publish("room", "after").await.unwrap();
    let text = stream.until("data: after").await.to_string();
    // Lines as a browser splits them: at CR LF, LF or CR alone.
    let lines: Vec<&str> = text
        .split("\r\n")
        .flat_map(|l| l.split(['\r', '\n']))
        .collect();
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    let wanted = [(after - 1).to_string(), after.to_string()];
    assert_eq!(ids, wanted, "{text:?}");
    assert!(!lines.iter().any(|l| l.starts_with("event:")), "{text:?}");
    for line in &lines {
        assert!(
            line.is_empty()
                || ["id: ", "data: ", "retry: "]
                    .iter()
                    .any(|f| line.starts_with(f)),
            "{line:?} in {text:?}"
        );
    }
    assert!(lines.contains(&"data: event: admin"), "{text:?}");
    assert!(lines.contains(&"data: data: forged"), "{text:?}");
}
