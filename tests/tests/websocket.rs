//! WebSocket handlers against a real server, with a real client (tokio-tungstenite): a round
//! trip, messages from pub/sub, cross-origin upgrades refused (cross-site WebSocket hijacking),
//! anonymous users refused where a log-in is asked, an oversized message closed with 1009, a
//! peer that reads too slowly closed with 1013, a dead peer closed after the pong timeout, and
//! `close(code, reason)` from the handler.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use torn::realtime::{Connection, Incoming, Limits, Sender, WebSocketHandler, close_code};
use torn::test::TestServer;
use torn::{App, PubSub, Settings};

use common::{close_frame, connect, next};

/// Echoes text in capitals, forwards the `room` topic, and closes on "bye".
struct Echo {
    sender: Sender,
    pubsub: PubSub,
}

impl WebSocketHandler for Echo {
    fn select_subprotocol(offered: &[&str]) -> Option<String> {
        offered.contains(&"chat.v1").then(|| "chat.v1".to_string())
    }

    async fn open(conn: Connection) -> Option<Self> {
        let sender = conn.sender.clone();
        let mut room = conn.pubsub.subscribe("room");
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    // Gone with the connection, not at the next message.
                    () = sender.closed() => break,
                    received = room.recv() => match received {
                        Some(torn::realtime::Received::Message(m)) => {
                            if sender.write_message(format!("room: {}", m.data)).is_err() {
                                break;
                            }
                        }
                        _ => break,
                    },
                }
            }
        });
        Some(Echo {
            sender: conn.sender,
            pubsub: conn.pubsub,
        })
    }

    async fn on_message(&mut self, message: Incoming) {
        match message {
            Incoming::Text(t) if t == "bye" => self.sender.close(close_code::NORMAL, "bye"),
            Incoming::Text(t) if t.starts_with("say ") => {
                self.pubsub.publish("room", &t[4..]).await.unwrap();
            }
            Incoming::Text(t) => {
                let _ = self.sender.write_message(t.to_uppercase());
            }
            Incoming::Binary(b) => {
                let _ = self.sender.write_binary(b);
            }
        }
    }
}

/// Small limits, to reach them in a test.
fn small() -> Limits {
    Limits {
        max_message_size: 1024,
        ping_interval: Duration::from_millis(200),
        ping_timeout: Duration::from_millis(300),
        queue: 4,
    }
}

/// Small limits, and quiet.
struct Strict;

impl WebSocketHandler for Strict {
    fn limits(_: Limits) -> Limits {
        small()
    }

    async fn open(_conn: Connection) -> Option<Self> {
        Some(Strict)
    }

    async fn on_message(&mut self, _message: Incoming) {}
}

/// Floods the peer with 64 KiB messages: one that does not read is closed with 1013 once the
/// kernel's buffers and the queue of 4 are full.
struct Flood;

impl WebSocketHandler for Flood {
    fn limits(_: Limits) -> Limits {
        // Writes wait up to 10 s for a peer that stops reading: this one reads again after a
        // second, and gets the 1013 close.
        Limits {
            ping_interval: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(10),
            ..small()
        }
    }

    async fn open(conn: Connection) -> Option<Self> {
        let sender = conn.sender;
        tokio::spawn(async move {
            let big = "x".repeat(64 * 1024);
            while sender.write_message(big.clone()).is_ok() {
                tokio::task::yield_now().await;
            }
        });
        Some(Flood)
    }

    async fn on_message(&mut self, _message: Incoming) {}
}

/// Floods like `Flood`, and says when its connection is over.
struct Stuck;

/// Set when a `Stuck` connection ends.
static STUCK_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl WebSocketHandler for Stuck {
    fn limits(_: Limits) -> Limits {
        // Writes wait 300 ms for a peer that stops reading.
        Limits {
            ping_interval: Duration::from_secs(60),
            ..small()
        }
    }

    async fn open(conn: Connection) -> Option<Self> {
        Flood::open(conn).await.map(|_| Stuck)
    }

    async fn on_message(&mut self, _message: Incoming) {}

    async fn on_close(&mut self, _code: Option<u16>) {
        STUCK_CLOSED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Follows the `news` topic (the connection forwards it itself); says how many it missed.
struct Follower(Sender);

impl WebSocketHandler for Follower {
    fn limits(_: Limits) -> Limits {
        small()
    }

    async fn open(conn: Connection) -> Option<Self> {
        conn.follow("news");
        Some(Follower(conn.sender))
    }

    async fn on_message(&mut self, _message: Incoming) {}

    async fn on_lagged(&mut self, missed: u64) {
        let _ = self.0.write_message(format!("missed {missed}"));
    }
}

/// Only for logged-in users.
struct Private;

impl WebSocketHandler for Private {
    const AUTHENTICATED: bool = true;

    async fn open(_conn: Connection) -> Option<Self> {
        Some(Private)
    }

    async fn on_message(&mut self, _message: Incoming) {}
}

/// Allows one other origin.
struct Partner;

impl WebSocketHandler for Partner {
    fn allow_origin(origin: &str) -> bool {
        origin == "https://partner.example"
    }

    async fn open(conn: Connection) -> Option<Self> {
        let _ = conn.sender.write_message("hello partner");
        Some(Partner)
    }

    async fn on_message(&mut self, _message: Incoming) {}
}

async fn start() -> (TestServer, PubSub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(Settings::for_test(dir.path()))
        .websocket::<Echo>("echo", "/ws/echo")
        .websocket::<Strict>("strict", "/ws/strict")
        .websocket::<Flood>("flood", "/ws/flood")
        .websocket::<Stuck>("stuck", "/ws/stuck")
        .websocket::<Private>("private", "/ws/private")
        .websocket::<Partner>("partner", "/ws/partner")
        .websocket::<Follower>("follower", "/ws/follower");
    let pubsub = app.pubsub();
    (TestServer::start(app).await, pubsub, dir)
}

#[tokio::test]
async fn messages_go_both_ways_and_through_pubsub() {
    let (server, pubsub, _dir) = start().await;
    let host = server.addr().to_string();
    let origin = format!("http://{host}");
    let (mut a, response) = connect(
        &server,
        "/ws/echo",
        &[
            ("origin", &origin),
            ("sec-websocket-protocol", "other, chat.v1"),
        ],
    )
    .await
    .expect("a same-origin upgrade");
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v1");
    a.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(&mut a).await, Message::text("HELLO"));
    a.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(next(&mut a).await, Message::binary(vec![1, 2, 3]));

    // A second client; a message said by one reaches both, and one published by the app too.
    let (mut b, _) = connect(&server, "/ws/echo", &[("origin", &origin)])
        .await
        .unwrap();
    a.send(Message::text("say hi all")).await.unwrap();
    assert_eq!(next(&mut a).await, Message::text("room: hi all"));
    assert_eq!(next(&mut b).await, Message::text("room: hi all"));
    pubsub.publish("room", "from the app").await.unwrap();
    assert_eq!(next(&mut b).await, Message::text("room: from the app"));

    // The handler closes with its code and reason.
    a.send(Message::text("bye")).await.unwrap();
    let frame = close_frame(&mut a).await.expect("a close frame");
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (close_code::NORMAL, "bye")
    );
    // Named like any route.
    assert_eq!(server.reverse_url("echo", Vec::<u32>::new()), "/ws/echo");
}

#[tokio::test]
async fn cross_site_upgrades_are_refused() {
    let (server, _pubsub, _dir) = start().await;
    // A page on another site opening a socket with the visitor's cookies.
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")],
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
    ] {
        assert_eq!(
            connect(&server, "/ws/echo", headers).await.err(),
            Some(403),
            "{headers:?}"
        );
    }
    // The origin a handler allows, and no Origin at all (not a browser), are let in.
    let (mut partner, _) = connect(
        &server,
        "/ws/partner",
        &[("origin", "https://partner.example")],
    )
    .await
    .expect("an allowed origin");
    assert_eq!(next(&mut partner).await, Message::text("hello partner"));
    assert_eq!(
        connect(
            &server,
            "/ws/echo",
            &[("origin", "https://partner.example")]
        )
        .await
        .err(),
        Some(403),
        "allowed by Partner only"
    );
    assert!(connect(&server, "/ws/echo", &[]).await.is_ok());
}

#[tokio::test]
async fn anonymous_users_are_refused_where_a_log_in_is_asked() {
    let (server, _pubsub, _dir) = start().await;
    assert_eq!(connect(&server, "/ws/private", &[]).await.err(), Some(403));
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let (server, _pubsub, _dir) = start().await;
    let (mut socket, _) = connect(&server, "/ws/strict", &[]).await.unwrap();
    socket
        .send(Message::text("x".repeat(2 * 1024 * 1024)))
        .await
        .unwrap();
    let frame = close_frame(&mut socket).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), close_code::TOO_BIG);
}

#[tokio::test]
async fn a_peer_that_does_not_read_is_closed_with_1013() {
    let (server, _pubsub, _dir) = start().await;
    let (mut socket, _) = connect(&server, "/ws/flood", &[]).await.unwrap();
    // Not reading for a while: the kernel's buffers, then the server's queue of 4, fill up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let frame = close_frame(&mut socket).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), close_code::TRY_AGAIN_LATER);
}

#[tokio::test]
async fn a_dead_peer_is_closed_after_the_pong_timeout() {
    let (server, _pubsub, _dir) = start().await;
    // A raw TCP client that completes the handshake and then never answers a ping.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!(
        "GET /ws/strict HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the server hangs up (pings keep coming while it does not).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept a dead peer open"),
        }
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    // Pings every 200 ms, 300 ms to answer: gone well within 2 s.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A ping frame (0x89) was sent, then a close frame (0x88) with 1001.
    assert!(seen.windows(1).any(|w| w[0] == 0x89), "a ping was sent");
    let close = seen
        .windows(4)
        .any(|w| w[0] == 0x88 && u16::from_be_bytes([w[2], w[3]]) == close_code::AWAY);
    assert!(close, "a close frame with 1001");
}

/// Says who opened it.
struct Whoami;

impl WebSocketHandler for Whoami {
    const AUTHENTICATED: bool = true;

    fn limits(defaults: Limits) -> Limits {
        // The log-in is checked again at every ping.
        Limits {
            ping_interval: Duration::from_millis(200),
            ..defaults
        }
    }

    async fn open(conn: Connection) -> Option<Self> {
        // The session and the database, as the app's layers put them on the request.
        let session = conn.extension::<torn::Session>().and_then(|s| s.id());
        let db = conn.extension::<torn::db::Db>();
        let who = conn.user.map_or("nobody".to_string(), |u| u.email);
        let _ = conn.sender.write_message(who);
        let _ = conn.sender.write_message(format!(
            "session {}, database {}",
            session.is_some(),
            db.is_some()
        ));
        Some(Whoami)
    }

    async fn on_message(&mut self, _message: Incoming) {}
}

#[derive(serde::Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

async fn log_in(
    accounts: torn::Accounts,
    session: torn::Session,
    torn::ClientIp(ip): torn::ClientIp,
    axum::Form(f): axum::Form<Credentials>,
) -> axum::http::StatusCode {
    let user = accounts
        .authenticate(&f.email, &f.password, ip)
        .await
        .unwrap();
    accounts.log_in(&session, &user, false).await.unwrap();
    axum::http::StatusCode::NO_CONTENT
}

async fn token(ctx: torn::PageContext) -> String {
    ctx.xsrf_token()
}

/// The `name=value` parts of a response's `Set-Cookie` headers.
fn cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect()
}

/// Log in as `email` (XSRF token and cookie first), then open `/ws/whoami` with the session
/// cookie, from the app's own origin.
async fn log_in_and_connect(
    server: &TestServer,
    email: &str,
    password: &str,
) -> Result<common::Socket, u16> {
    let client = reqwest::Client::new();
    let page = client.get(server.url("/token")).send().await.unwrap();
    let xsrf_cookie = cookies(&page).join("; ");
    let token = page.text().await.unwrap();
    let logged_in = client
        .post(server.url("/login"))
        .header("cookie", &xsrf_cookie)
        .form(&[
            ("_xsrf", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 204);
    let session = cookies(&logged_in).join("; ");
    assert!(!session.is_empty(), "a session cookie");
    let origin = format!("http://{}", server.addr());
    connect(
        server,
        "/ws/whoami",
        &[("cookie", &session), ("origin", &origin)],
    )
    .await
    .map(|(socket, _)| socket)
}

#[tokio::test]
async fn a_logged_in_user_opens_an_authenticated_socket_and_is_known_in_open() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_test(dir.path());
    settings.accounts.require_verified_email = true;
    let settings = Arc::new(settings);
    let database = torn::test::TestDatabase::sqlite();
    let db = torn::db::Db::connect(database.url()).await.unwrap();
    let migrations = common::workspace_root().join("templates/app/migrations");
    db.migrate(&torn::db::Db::migrator_from(&migrations).await.unwrap())
        .await
        .unwrap();
    let accounts = torn::Accounts::new(db, settings.clone())
        .await
        .unwrap()
        .with_hasher(torn::password::Hasher::new(
            argon2::Params::new(256, 1, 1, None).unwrap(),
        ));
    let password = "correct horse battery staple";
    let torn::auth::SignUp::Created {
        verify_token,
        user: ada,
    } = accounts.sign_up("ada@example.com", password).await.unwrap()
    else {
        panic!("a new account");
    };
    accounts.verify_email(&verify_token).await.unwrap();
    let handle = accounts.clone();
    // Bob never follows his confirmation link.
    accounts.sign_up("bob@example.com", password).await.unwrap();
    let app = App::new((*settings).clone())
        .accounts(accounts)
        .route("/token", axum::routing::get(token))
        .route("/login", axum::routing::post(log_in))
        .websocket::<Whoami>("whoami", "/ws/whoami");
    let server = TestServer::start(app).await;

    // Anonymous: refused before the upgrade.
    assert_eq!(connect(&server, "/ws/whoami", &[]).await.err(), Some(403));

    let mut socket = log_in_and_connect(&server, "ada@example.com", password)
        .await
        .expect("a logged-in user's upgrade");
    assert_eq!(next(&mut socket).await, Message::text("ada@example.com"));
    assert_eq!(
        next(&mut socket).await,
        Message::text("session true, database true")
    );
    // A log-out everywhere (a password change does one) ends the open socket at its next
    // ping: a stolen session's socket does not outlive it.
    handle.log_out_everywhere(ada.id, None).await.unwrap();
    let frame = close_frame(&mut socket).await.expect("a close frame");
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (close_code::POLICY, "logged out")
    );
    // With require_verified_email, an address not confirmed yet opens nothing, as it sees no
    // page for logged-in users.
    assert_eq!(
        log_in_and_connect(&server, "bob@example.com", password)
            .await
            .err(),
        Some(403)
    );
}

#[tokio::test]
async fn a_peer_that_never_reads_is_dropped() {
    use tokio::io::AsyncWriteExt;
    let (server, _pubsub, _dir) = start().await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!(
        "GET /ws/stuck HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    // Never reading, while the server floods: its writes stall, and after the write timeout
    // (300 ms here) it lets the connection go, without waiting for the peer to read.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !STUCK_CLOSED.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "the server still holds a peer that stopped reading"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(tcp);
}

#[tokio::test]
async fn closed_connections_leave_no_forwarders_or_topics_behind() {
    let (server, pubsub, _dir) = start().await;
    for _ in 0..20 {
        let (mut socket, _) = connect(&server, "/ws/echo", &[]).await.unwrap();
        socket.close(None).await.unwrap();
        // Read to the end of the closing handshake.
        while let Ok(Some(Ok(_))) =
            tokio::time::timeout(Duration::from_secs(5), socket.next()).await
        {}
    }
    // The forwarders stop with their connections, so the room has no subscriber left.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while pubsub.topics() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} topics left",
            pubsub.topics()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_peer_that_closes_gets_its_close_echoed() {
    let (server, _pubsub, _dir) = start().await;
    let (mut socket, _) = connect(&server, "/ws/echo", &[]).await.unwrap();
    socket
        .send(Message::Close(Some(CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "done".into(),
        })))
        .await
        .unwrap();
    // tungstenite reports the echo as the end of the stream, without an error.
    let end = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("an answer within 5 s");
    assert!(
        matches!(end, None | Some(Ok(Message::Close(_)))),
        "the close was echoed, not reset: {end:?}"
    );
}

#[tokio::test]
async fn torn_toml_allows_origins_and_sets_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("torn.toml"),
        "[test]\nwebsocket_origins = [\"https://app.example\"]\n\
         websocket_max_message_size = 100\n",
    )
    .unwrap();
    let app = App::new(Settings::for_test(dir.path())).websocket::<Echo>("echo", "/ws/echo");
    let server = TestServer::start(app).await;
    // The listed origin is let in, in any case; others are not.
    let (mut socket, _) = connect(&server, "/ws/echo", &[("origin", "https://APP.example")])
        .await
        .expect("a listed origin");
    for origin in ["https://app.example.evil", "http://app.example"] {
        assert_eq!(
            connect(&server, "/ws/echo", &[("origin", origin)])
                .await
                .err(),
            Some(403),
            "{origin}"
        );
    }
    // The limit is torn.toml's: 100 bytes pass, 101 close with 1009.
    socket.send(Message::text("x".repeat(100))).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::text("X".repeat(100)));
    socket.send(Message::text("x".repeat(101))).await.unwrap();
    let frame = close_frame(&mut socket).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), close_code::TOO_BIG);
}

#[tokio::test]
async fn a_followed_topic_reaches_the_peer_and_a_slow_one_is_told_it_lagged() {
    let (server, pubsub, _dir) = start().await;
    let (mut socket, _) = connect(&server, "/ws/follower", &[]).await.unwrap();
    // The subscription is made in `open`, before the upgrade's answer is read here.
    pubsub.publish("news", "first").await.unwrap();
    pubsub.publish("elsewhere", "not followed").await.unwrap();
    pubsub.publish("news", "second").await.unwrap();
    assert_eq!(next(&mut socket).await, Message::text("first"));
    assert_eq!(next(&mut socket).await, Message::text("second"));
    // A burst larger than the topic's backlog (256) while the peer does not read: the
    // connection's writes stall, messages pass it by, and the handler is told.
    for n in 0..5000 {
        pubsub.publish("news", format!("{n:0>2000}")).await.unwrap();
    }
    let mut lagged = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !lagged {
        assert!(std::time::Instant::now() < deadline, "never told it lagged");
        if let Message::Text(text) = next(&mut socket).await {
            lagged = text.starts_with("missed ");
        }
    }
}
