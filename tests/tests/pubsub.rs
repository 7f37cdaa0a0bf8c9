//! Pub/sub between instances: two apps' topics on one PostgreSQL database (LISTEN/NOTIFY), or
//! on one Redis, see each other's messages with the same ids, in order; a message a WebSocket
//! client sends to instance A reaches the WebSocket, event-stream and long-poll clients of
//! instance B; a Redis that dies and comes back does not crash the app, and its subscribers go
//! on, and a PostgreSQL LISTEN connection that the server ends is made again. The `pubsub`
//! setting picks the backend, and follows the database when unset.
//!
//! PostgreSQL runs when `TORN_TEST_POSTGRES_URL` is set, Redis when `TORN_TEST_REDIS_URL` is
//! (`.ci/run` sets both); the outage test starts a `redis-server` of its own on a port of its own.

mod common;

use std::time::Duration;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::SinkExt;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use torn::config::PubSubBackend;
use torn::db::Db;
use torn::realtime::{self, Connection, Incoming, PublishError, Received, WebSocketHandler};
use torn::test::{TestDatabase, TestServer};
use torn::{App, PubSub, Settings};

use common::{Stream, connect, next};

/// A topic name no other test run has used (Redis keeps its counters between runs).
fn topic(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// The next thing `subscription` receives, within 10 seconds.
async fn received(subscription: &mut torn::realtime::Subscription) -> Received {
    tokio::time::timeout(Duration::from_secs(10), subscription.recv())
        .await
        .expect("something within 10 s")
        .expect("the subscription is open")
}

fn message(r: Received) -> (u64, String) {
    match r {
        Received::Message(m) => (m.id, m.data.to_string()),
        other @ Received::Lagged(_) => panic!("a message, not {other:?}"),
    }
}

/// Settings for an instance: the test profile in `dir`, this database and this backend.
fn settings(dir: &std::path::Path, db: &str, pubsub: Option<PubSubBackend>) -> Settings {
    let mut settings = Settings::for_test(dir);
    settings.database.url = Some(db.to_string());
    settings.realtime.pubsub = pubsub;
    settings
}

/// Two instances' topics, as `PubSub::connect` makes them from the settings.
async fn two_instances(
    db: &TestDatabase,
    pubsub: Option<PubSubBackend>,
) -> (PubSub, PubSub, Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), db.url(), pubsub);
    let database = Db::connect(db.url()).await.unwrap();
    let a = PubSub::connect(&settings, Some(&database)).await.unwrap();
    let b = PubSub::connect(&settings, Some(&database)).await.unwrap();
    (a, b, database, dir)
}

/// What the two instances must do, whatever carries their messages.
async fn instances_share_topics(a: &PubSub, b: &PubSub) {
    let room = topic("room");
    let mut on_a = a.subscribe(&room);
    let mut on_b = b.subscribe(&room);
    let mut elsewhere = b.subscribe(&topic("elsewhere"));
    // One counter for both: the ids follow on whichever instance publishes.
    let first = a.publish(&room, "from a").await.unwrap();
    assert_eq!(b.publish(&room, "from b").await.unwrap(), first + 1);
    for s in [&mut on_a, &mut on_b] {
        assert_eq!(message(received(s).await), (first, "from a".into()));
        assert_eq!(message(received(s).await), (first + 1, "from b".into()));
    }
    // Published at once from both: every instance sees every id, in order.
    let mut sent = Vec::new();
    for n in 0..20 {
        let from = if n % 2 == 0 { a.clone() } else { b.clone() };
        let room = room.clone();
        sent.push(tokio::spawn(async move {
            from.publish(&room, format!("m{n}")).await.unwrap()
        }));
    }
    let mut ids = Vec::new();
    for task in sent {
        ids.push(task.await.unwrap());
    }
    ids.sort_unstable();
    let sent: Vec<u64> = (first + 2..first + 22).collect();
    assert_eq!(ids, sent);
    for s in [&mut on_a, &mut on_b] {
        for &id in &sent {
            assert_eq!(message(received(s).await).0, id);
        }
    }
    // Another topic heard nothing of these.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), elsewhere.recv())
            .await
            .is_err()
    );
    // Long polling on B after an id A gave: B's replay buffer has what followed it.
    let got = b
        .wait_after(&room, first + 19, Duration::from_secs(1))
        .await;
    let got: Vec<u64> = got.into_iter().map(|r| message(r).0).collect();
    assert_eq!(got, [first + 20, first + 21]);
    // Any characters, both ways.
    let text = "line one\nline two: é ✓ \"quoted\" 'single' \\ %s $1";
    a.publish(&room, text).await.unwrap();
    assert_eq!(message(received(&mut on_b).await).1, text);
}

#[tokio::test]
async fn instances_on_one_postgres_database_share_topics() {
    let Some(db) = TestDatabase::postgres().await else {
        common::skipped("pubsub on PostgreSQL", "TORN_TEST_POSTGRES_URL is not set");
        return;
    };
    // No `pubsub` setting: a PostgreSQL database means LISTEN/NOTIFY.
    let (a, b, _database, _dir) = two_instances(&db, None).await;
    instances_share_topics(&a, &b).await;
    // NOTIFY carries less than 8,000 bytes: a larger message is refused, and said why.
    match a.publish("room", "x".repeat(8_000)).await {
        Err(e @ PublishError::TooLarge { .. }) => {
            assert!(e.to_string().contains("PostgreSQL carries at most"), "{e}");
        }
        other => panic!("refused as too large, not {other:?}"),
    }
}

#[tokio::test]
async fn a_dropped_listen_connection_is_made_again_and_subscribers_are_told() {
    let Some(db) = TestDatabase::postgres().await else {
        common::skipped(
            "pubsub reconnection on PostgreSQL",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    };
    let (a, b, database, _dir) = two_instances(&db, None).await;
    let mut on_b = b.subscribe("room");
    let id = a.publish("room", "before").await.unwrap();
    assert_eq!(message(received(&mut on_b).await), (id, "before".into()));
    // The server ends both instances' LISTEN connections, as a restart or a proxy would.
    common::execute(
        &database,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN %' AND datname = current_database() \
         AND pid <> pg_backend_pid()",
    )
    .await;
    // Listening again, the subscriber is told it may have missed messages, then gets them.
    assert_eq!(received(&mut on_b).await, Received::Lagged(0));
    let id = a.publish("room", "after").await.unwrap();
    loop {
        match received(&mut on_b).await {
            Received::Lagged(_) => {}
            Received::Message(m) => {
                assert_eq!((m.id, &*m.data), (id, "after"));
                break;
            }
        }
    }
}

#[tokio::test]
async fn instances_sharing_redis_share_topics() {
    let Some(url) = std::env::var("TORN_TEST_REDIS_URL").ok() else {
        common::skipped("pubsub on Redis", "TORN_TEST_REDIS_URL is not set");
        return;
    };
    let db = TestDatabase::sqlite();
    let (a, b, _database, _dir) = two_instances(&db, Some(PubSubBackend::Redis(url))).await;
    instances_share_topics(&a, &b).await;
}

#[tokio::test]
async fn the_backend_follows_the_database_unless_set() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite();
    let database = Db::connect(db.url()).await.unwrap();
    // SQLite: in-process, which needs no server.
    let memory = PubSub::connect(&settings(dir.path(), db.url(), None), Some(&database))
        .await
        .unwrap();
    let mut s = memory.subscribe("room");
    let id = memory.publish("room", "here").await.unwrap();
    assert_eq!(message(received(&mut s).await), (id, "here".into()));
    // PostgreSQL asked for on SQLite: refused at start-up, with what to do.
    let wrong = settings(dir.path(), db.url(), Some(PubSubBackend::Postgres));
    let e = PubSub::connect(&wrong, Some(&database)).await.unwrap_err();
    assert!(
        e.chain().contains("needs a PostgreSQL database"),
        "{}",
        e.chain()
    );
    // A Redis that is not there: refused at start-up, its password not shown.
    let port = common::free_port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let gone = settings(dir.path(), db.url(), Some(PubSubBackend::Redis(url)));
    let e = tokio::time::timeout(
        Duration::from_secs(30),
        PubSub::connect(&gone, Some(&database)),
    )
    .await
    .expect("an answer within 30 s")
    .unwrap_err();
    assert!(e.chain().contains("Is Redis running?"), "{}", e.chain());
    assert!(!e.chain().contains("hunter2"), "{}", e.chain());
}

#[tokio::test]
async fn a_redis_outage_does_not_crash_the_app_and_subscribers_resume() {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("TORN_TEST_REDIS_URL").is_none(),
            "redis-server is needed for the outage test"
        );
        common::skipped("Redis outage", "redis-server is not installed");
        return;
    }
    let port = common::free_port();
    let mut redis = common::redis_server(port);
    let db = TestDatabase::sqlite();
    let backend = PubSubBackend::Redis(format!("redis://127.0.0.1:{port}"));
    let (a, b, _database, _dir) = two_instances(&db, Some(backend)).await;
    let mut on_b = b.subscribe("room");
    let id = a.publish("room", "before").await.unwrap();
    assert_eq!(message(received(&mut on_b).await), (id, "before".into()));

    // Redis dies: publishing fails with an error (not a crash), and says so.
    drop(redis);
    let e = a
        .publish("room", "lost")
        .await
        .expect_err("no Redis, no publishing");
    assert!(e.to_string().contains("cannot publish to Redis"), "{e}");
    let status = torn::Error::from(e).status();
    assert_eq!(status, 503);

    // It comes back, empty: both instances reconnect by themselves. The subscriber is told it
    // may have missed messages, and gets what is published from then on.
    redis = common::redis_server(port);
    assert_eq!(received(&mut on_b).await, Received::Lagged(0));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match a.publish("room", "after").await {
            Ok(_) => break,
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "still failing: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    // Redis forgot the topic's counter: ids start again, which subscribers are told of too.
    loop {
        match received(&mut on_b).await {
            Received::Lagged(_) => {}
            Received::Message(m) => {
                assert_eq!(&*m.data, "after");
                break;
            }
        }
    }
    drop(redis);
}

/// Follows the `room` topic: its messages go to the peer.
struct Say;

impl WebSocketHandler for Say {
    async fn open(conn: Connection) -> Option<Self> {
        conn.follow("room");
        Some(Say)
    }

    async fn on_message(&mut self, _message: Incoming) {}
}

/// `Say`, with the connection's topics kept to publish from `on_message`.
struct Speaker(PubSub);

impl WebSocketHandler for Speaker {
    async fn open(conn: Connection) -> Option<Self> {
        Some(Speaker(conn.pubsub))
    }

    async fn on_message(&mut self, message: Incoming) {
        if let Incoming::Text(text) = message {
            self.0.publish("room", text).await.unwrap();
        }
    }
}

async fn events(pubsub: PubSub, headers: HeaderMap) -> impl IntoResponse {
    realtime::events(&pubsub, "room", &headers)
}

#[derive(Deserialize)]
struct After {
    after: u64,
}

async fn poll(pubsub: PubSub, Query(q): Query<After>) -> String {
    let got = pubsub
        .wait_after("room", q.after, Duration::from_secs(10))
        .await;
    got.iter()
        .map(|r| match r {
            Received::Message(m) => format!("{} {}", m.id, m.data),
            Received::Lagged(n) => format!("lagged {n}"),
        })
        .collect()
}

/// Where a long poll of `room` starts: after the last message the instance has (0: none).
async fn poll_cursor(server: &TestServer) -> u64 {
    server.get("/last").await.text.parse().unwrap()
}

async fn last(pubsub: PubSub) -> String {
    pubsub.last_id("room").to_string()
}

/// An instance of an app with a WebSocket, an event stream and a long poll on `room`.
async fn instance(settings: Settings, db: &Db) -> TestServer {
    let pubsub = PubSub::connect(&settings, Some(db)).await.unwrap();
    let app = App::new(settings)
        .with_pubsub(pubsub)
        .websocket::<Say>("listen", "/ws/listen")
        .websocket::<Speaker>("speak", "/ws/speak")
        .route("/events", get(events))
        .route("/poll", get(poll))
        .route("/last", get(last));
    TestServer::start(app).await
}

/// A WebSocket client of A speaks; B's WebSocket, event-stream and long-poll clients hear it.
async fn every_transport_of_b_hears_a(settings: Settings, db: &Db) {
    let a = instance(settings.clone(), db).await;
    let b = instance(settings, db).await;
    let (mut listener, _) = connect(&b, "/ws/listen", &[]).await.unwrap();
    let mut stream = Stream::open(&b, "/events", None).await;
    // The long poll starts after the last message (what a page would render).
    let last = poll_cursor(&b).await;
    let poll = tokio::spawn({
        let client = b.client().clone();
        let url = b.url(&format!("/poll?after={last}"));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    // Everyone listening before A's client speaks.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut speaker, _) = connect(&a, "/ws/speak", &[]).await.unwrap();
    speaker.send(WsMessage::text("hello from A")).await.unwrap();
    assert_eq!(next(&mut listener).await, WsMessage::text("hello from A"));
    let text = stream.until("data: hello from A\n").await.to_string();
    let id: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("an id")
        .parse()
        .unwrap();
    assert_eq!(poll.await.unwrap(), format!("{id} hello from A"));
}

#[tokio::test]
async fn a_websocket_message_to_one_instance_reaches_every_client_of_another_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        common::skipped(
            "two instances on PostgreSQL",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database = Db::connect(db.url()).await.unwrap();
    every_transport_of_b_hears_a(settings(dir.path(), db.url(), None), &database).await;
}

#[tokio::test]
async fn a_websocket_message_to_one_instance_reaches_every_client_of_another_on_redis() {
    if std::env::var_os("TORN_TEST_REDIS_URL").is_none() {
        common::skipped("two instances on Redis", "TORN_TEST_REDIS_URL is not set");
        return;
    }
    // A Redis of this test's own: the topic `room` starts at id 1 there.
    let port = common::free_port();
    let _redis = common::redis_server(port);
    let db = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let database = Db::connect(db.url()).await.unwrap();
    let backend = PubSubBackend::Redis(format!("redis://127.0.0.1:{port}"));
    every_transport_of_b_hears_a(settings(dir.path(), db.url(), Some(backend)), &database).await;
}
