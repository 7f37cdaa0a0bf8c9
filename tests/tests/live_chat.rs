//! The live chat every new app has at /chat, through the starter's binary and real WebSocket
//! clients: two logged-in users see each other's messages at once (as text, never HTML),
//! anonymous and cross-site sockets are refused, bad messages get an error or a close; SIGTERM
//! closes the sockets with 1001; and two instances of the app, sharing PostgreSQL (the
//! starter) or Redis (a generated app with torn's `redis` feature), carry a message from a
//! user of one to a user of the other.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use torn::test::{TestDatabase, form_field, reqwest};

use common::Socket;

const PASSWORD: &str = "correct horse battery staple";

/// An account with a confirmed address, made straight in the app's database.
async fn account(database_url: &str, email: &str) {
    common::verified_account(database_url, email, PASSWORD).await;
}

/// A browser logged in as `email` on the instance at `base`; its cookies.
async fn log_in(base: &str, email: &str) -> String {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(format!("{base}/auth/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = form_field(&page, "_xsrf").expect("the log-in form");
    let r = client
        .post(format!("{base}/auth/login"))
        .form(&[
            ("_xsrf", token.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "log-in as {email}");
    use reqwest::cookie::CookieStore as _;
    let url = base.parse().unwrap();
    jar.cookies(&url)
        .expect("cookies")
        .to_str()
        .unwrap()
        .to_string()
}

/// The chat's socket on the instance at `base`, with these cookies, from the app's own pages.
async fn chat_socket(base: &str, cookies: &str) -> Result<Socket, u16> {
    let url = format!("{}/chat/socket", base.replace("http://", "ws://"));
    common::connect_to(&url, &[("cookie", cookies), ("origin", base)])
        .await
        .map(|(socket, _)| socket)
}

/// The next JSON the socket sends.
async fn next_json(socket: &mut Socket) -> Value {
    match common::next(socket).await {
        Message::Text(text) => serde_json::from_str(&text).expect("JSON"),
        other => panic!("a text message, not {other:?}"),
    }
}

/// The next chat message the socket sends: (author, body).
async fn next_message(socket: &mut Socket) -> (String, String) {
    let event = next_json(socket).await;
    let m = &event["message"];
    assert!(m.is_object(), "a message, not {event}");
    (
        m["author"].as_str().unwrap().to_string(),
        m["body"].as_str().unwrap().to_string(),
    )
}

fn sqlite_file(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("chat.db").display())
}

#[tokio::test]
async fn two_users_chat_live_and_sigterm_closes_their_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_file(&dir);
    let (mut app, base) = common::start_starter(&[("DATABASE_URL", database.clone())]);
    account(&database, "ada@example.com").await;
    account(&database, "bob@example.com").await;
    let (ada, bob) = (
        log_in(&base, "ada@example.com").await,
        log_in(&base, "bob@example.com").await,
    );

    // Refused: no log-in, another site's page.
    assert_eq!(chat_socket(&base, "").await.err(), Some(403));
    let url = format!("{}/chat/socket", base.replace("http://", "ws://"));
    let cross_site = common::connect_to(
        &url,
        &[("cookie", &ada), ("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(cross_site.err(), Some(403));

    let mut on_ada = chat_socket(&base, &ada).await.unwrap();
    let mut on_bob = chat_socket(&base, &bob).await.unwrap();
    // On opening, the last messages (none yet).
    for socket in [&mut on_ada, &mut on_bob] {
        assert_eq!(next_json(socket).await, serde_json::json!({"history": []}));
    }
    on_ada
        .send(Message::text("hi <b>bob</b> & all"))
        .await
        .unwrap();
    for socket in [&mut on_ada, &mut on_bob] {
        let (author, body) = next_message(socket).await;
        assert_eq!(
            (author.as_str(), body.as_str()),
            ("ada", "hi <b>bob</b> & all")
        );
    }
    // The page shows it too, escaped, after a reload.
    let page = reqwest::Client::new()
        .get(format!("{base}/chat"))
        .header("cookie", &bob)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("hi &#60;b&#62;bob&#60;/b&#62; &#38; all"),
        "{page}"
    );
    // A socket that reconnects gets the history.
    let mut again = chat_socket(&base, &bob).await.unwrap();
    let history = next_json(&mut again).await;
    assert_eq!(history["history"][0]["body"], "hi <b>bob</b> & all");
    drop(again);

    // An empty message: an error for that socket only; a binary one: closed (1008).
    on_bob.send(Message::text("   ")).await.unwrap();
    assert_eq!(
        next_json(&mut on_bob).await,
        serde_json::json!({"error": "Write something first."})
    );
    on_bob.send(Message::binary(vec![1, 2])).await.unwrap();
    let frame = common::close_frame(&mut on_bob)
        .await
        .expect("a close frame");
    assert_eq!(u16::from(frame.code), 1008);

    // Flooding: after a burst of five, one message a second; the rest are refused, to the
    // sender alone.
    for n in 0..10 {
        on_ada
            .send(Message::text(format!("flood {n}")))
            .await
            .unwrap();
    }
    let mut refused = 0;
    for _ in 0..10 {
        let event = next_json(&mut on_ada).await;
        if event["error"]
            .as_str()
            .is_some_and(|e| e.contains("too fast"))
        {
            refused += 1;
        }
    }
    assert!(refused >= 5, "{refused} of 10 refused");

    // SIGTERM: the open socket is told the server goes away, and the app exits cleanly.
    let pid = app.0.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let frame = loop {
        match tokio::time::timeout(Duration::from_secs(10), on_ada.next())
            .await
            .expect("closed within 10 s of SIGTERM")
        {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close code"),
            Some(Ok(_)) => {}
            other => panic!("a close frame, not {other:?}"),
        }
    };
    assert_eq!(u16::from(frame.code), 1001);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = app.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

/// Two instances of the app `bin` (in `root`) with these settings; ada logs in on the first,
/// bob on the second, and each hears what the other writes.
async fn across_two_instances(
    bin: &std::path::Path,
    root: &std::path::Path,
    database: &str,
    env: &[(&str, String)],
) {
    let mut env = env.to_vec();
    env.push(("DATABASE_URL", database.to_string()));
    // Started one after the other: each runs the migrations at start-up.
    let (_a, base_a) = common::start_app(bin, root, &env);
    let (_b, base_b) = common::start_app(bin, root, &env);
    account(database, "ada@example.com").await;
    account(database, "bob@example.com").await;
    let ada = log_in(&base_a, "ada@example.com").await;
    let bob = log_in(&base_b, "bob@example.com").await;
    let mut on_a = chat_socket(&base_a, &ada).await.unwrap();
    let mut on_b = chat_socket(&base_b, &bob).await.unwrap();
    for socket in [&mut on_a, &mut on_b] {
        assert!(next_json(socket).await["history"].is_array());
    }
    on_a.send(Message::text("from A")).await.unwrap();
    assert_eq!(
        next_message(&mut on_b).await,
        ("ada".into(), "from A".into())
    );
    on_b.send(Message::text("from B")).await.unwrap();
    assert_eq!(
        next_message(&mut on_a).await,
        ("ada".into(), "from A".into())
    );
    assert_eq!(
        next_message(&mut on_a).await,
        ("bob".into(), "from B".into())
    );
}

#[tokio::test]
async fn two_instances_sharing_redis_chat_together() {
    if std::env::var_os("TORN_TEST_REDIS_URL").is_none() {
        common::skipped(
            "the chat across instances on Redis",
            "TORN_TEST_REDIS_URL is not set",
        );
        return;
    }
    // A Redis of the test's own, and one SQLite file for both instances.
    let port = common::free_port();
    let _redis = common::redis_server(port);
    let (bin, app) = common::redis_app();
    let dir = tempfile::tempdir().unwrap();
    across_two_instances(
        &bin,
        &app,
        &sqlite_file(&dir),
        &[("TORN_PUBSUB", format!("redis://127.0.0.1:{port}"))],
    )
    .await;
}

#[tokio::test]
async fn two_instances_on_one_postgres_database_chat_together() {
    let Some(database) = TestDatabase::postgres().await else {
        common::skipped(
            "the chat across instances on PostgreSQL",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    };
    // No pubsub setting: PostgreSQL's LISTEN/NOTIFY, since the database is PostgreSQL.
    let bin = common::workspace_bin("starter", "starter");
    let root = common::workspace_root().join("starter");
    across_two_instances(&bin, &root, database.url(), &[]).await;
}
