//! The WebSocket benchmark's torn server (`bench/websocket.sh`): every client that opens
//! `/ws` follows the pub/sub topic `bench`; `POST /broadcast` publishes the time (Unix
//! nanoseconds) to it, which every client gets. With `TORN_PUBSUB=redis://…`, several of these
//! share the topic through Redis.

use torn::realtime::{Connection, Incoming, WebSocketHandler};
use torn::{App, PubSub, Settings};

struct Listener;

impl WebSocketHandler for Listener {
    async fn open(conn: Connection) -> Option<Self> {
        conn.follow("bench");
        Some(Listener)
    }

    async fn on_message(&mut self, _message: Incoming) {}
}

async fn broadcast(pubsub: PubSub) -> &'static str {
    let now = torn_bench::unix_nanos().to_string();
    match pubsub.publish("bench", now).await {
        Ok(_) => "sent\n",
        Err(_) => "not sent\n",
    }
}

#[tokio::main]
async fn main() {
    let mut settings = Settings::for_test(std::env::temp_dir());
    settings.server.port = torn_bench::port_arg();
    if let Ok(url) = std::env::var("TORN_PUBSUB") {
        settings.realtime.pubsub = Some(url.parse().expect("TORN_PUBSUB"));
    }
    let pubsub = PubSub::connect(&settings, None).await.expect("pub/sub");
    let app = App::new(settings)
        .with_pubsub(pubsub)
        .websocket::<Listener>("ws", "/ws")
        .route("/broadcast", axum::routing::post(broadcast))
        .xsrf_exempt("/broadcast");
    app.serve().await.expect("serve");
}
