//! WebSocket handlers in Tornado's shape, on axum's WebSocket support: a type per URL with
//! `open`, `on_message` and `on_close`, a cloneable [`Sender`] to `write_message` and `close`
//! from anywhere, `select_subprotocol`, and an origin check that refuses cross-site upgrades
//! (cross-site WebSocket hijacking) unless the handler allows the origin.
//!
//! ```ignore
//! struct Echo(Sender);
//!
//! impl WebSocketHandler for Echo {
//!     async fn open(conn: Connection) -> Option<Self> {
//!         Some(Echo(conn.sender))
//!     }
//!     async fn on_message(&mut self, message: Incoming) {
//!         if let Incoming::Text(text) = message {
//!             let _ = self.0.write_message(text);
//!         }
//!     }
//! }
//!
//! let app = app.websocket::<Echo>("echo", "/echo");
//! ```

use std::future::Future;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::Message as WsMessage;
use axum::http::HeaderMap;
use tokio::sync::{mpsc, watch};

mod connection;
mod handshake;

pub(crate) use handshake::upgrade;

/// Close codes (RFC 6455, section 7.4.1).
pub mod close_code {
    /// The connection did its job.
    pub const NORMAL: u16 = 1000;
    /// The server is going away (shutting down).
    pub const AWAY: u16 = 1001;
    /// The peer broke the protocol.
    pub const PROTOCOL: u16 = 1002;
    /// The message broke a rule of the app.
    pub const POLICY: u16 = 1008;
    /// A text message was not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// A message was larger than the handler's limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server failed.
    pub const ERROR: u16 = 1011;
    /// The peer reads too slowly: its outgoing queue filled up.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// A connection's limits. The defaults are safe for a public site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest message the peer may send; a larger one closes the connection with 1009
    /// (default 64 KiB).
    pub max_message_size: usize,
    /// How often the server pings the peer (default 30 s).
    pub ping_interval: Duration,
    /// How long a pong may take after a ping before the peer counts as dead and the
    /// connection is closed (default 30 s).
    pub ping_timeout: Duration,
    /// Messages waiting to be sent to the peer; when the queue is full, the peer reads too
    /// slowly and the connection is closed with 1013 (default 256).
    pub queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 64 * 1024,
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(30),
            queue: 256,
        }
    }
}

impl From<&crate::config::RealtimeSettings> for Limits {
    /// The limits torn.toml sets (`websocket_max_message_size`, `websocket_ping_interval_secs`,
    /// `websocket_ping_timeout_secs`, `websocket_queue`).
    fn from(settings: &crate::config::RealtimeSettings) -> Self {
        Limits {
            max_message_size: settings.max_message_size,
            ping_interval: settings.ping_interval,
            ping_timeout: settings.ping_timeout,
            queue: settings.queue,
        }
    }
}

/// A message from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

/// Why a message was not queued for the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The connection is closed.
    #[error("the WebSocket connection is closed")]
    Closed,
    /// The peer reads too slowly: the connection is being closed with 1013.
    #[error("the WebSocket peer reads too slowly; the connection is being closed")]
    TooSlow,
}

/// Sends to one connection, from the handler or any task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sender {
    queue: mpsc::Sender<Queued>,
    close: std::sync::Arc<watch::Sender<Option<(u16, String)>>>,
}

/// A message waiting for the peer, with a Debug that shows nothing of it.
struct Queued(WsMessage);

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queued")
    }
}

impl Sender {
    fn queue(&self, message: WsMessage) -> Result<(), SendError> {
        match self.queue.try_send(Queued(message)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::Closed),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(close_code::TRY_AGAIN_LATER, "too slow");
                Err(SendError::TooSlow)
            }
        }
    }

    /// Send a text message (Tornado's `write_message(str)`).
    ///
    /// # Errors
    /// [`SendError::Closed`] when the connection is closed, [`SendError::TooSlow`] when the
    /// peer's queue is full (the connection is then closed).
    pub fn write_message(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.queue(WsMessage::Text(text.into().into()))
    }

    /// Send a binary message (Tornado's `write_message(bytes, binary=True)`).
    ///
    /// # Errors
    /// As [`Sender::write_message`].
    pub fn write_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.queue(WsMessage::Binary(data.into()))
    }

    /// Close the connection with `code` and `reason` (Tornado's `close(code, reason)`); what
    /// was queued before is sent first.
    pub fn close(&self, code: u16, reason: &str) {
        self.close.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some((code, reason.to_string()));
            true
        });
    }

    /// Whether the connection is closed or closing.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed() || self.close.borrow().is_some()
    }

    /// Wait until the connection is closed or closing: a task that forwards to it (a
    /// subscription) stops then, rather than at its next message.
    pub async fn closed(&self) {
        let mut watching = self.close.subscribe();
        // An error only says that the connection is gone.
        let _ = watching.wait_for(Option::is_some).await;
    }

    /// Mark the connection closed, for [`Sender::closed`] (when it ended otherwise).
    fn mark_closed(&self) {
        self.close(close_code::NORMAL, "");
    }
}

/// What `open` gets: the request that asked for the upgrade, and the connection's sender.
pub struct Connection {
    /// Sends to this connection.
    pub sender: Sender,
    /// The upgrade request's headers.
    pub headers: HeaderMap,
    /// The subprotocol chosen by [`WebSocketHandler::select_subprotocol`].
    pub subprotocol: Option<String>,
    /// The logged-in user, if any.
    #[cfg(feature = "accounts")]
    pub user: Option<crate::auth::User>,
    /// The app's topics.
    pub pubsub: super::PubSub,
    /// The upgrade request's extensions: what the app's layers put there (the database, the
    /// mailer, …), for [`Connection::extension`].
    extensions: axum::http::Extensions,
    /// The topic the connection itself forwards to the peer ([`Connection::follow`]).
    following: Following,
}

/// Where `follow` leaves its subscription for the connection's loop.
pub(super) type Following = std::sync::Arc<std::sync::Mutex<Option<super::pubsub::Subscription>>>;

impl Connection {
    /// Send every message published to `topic` to the peer, as text, from now until the
    /// connection ends. The connection's own task does it, with no task or queue of the
    /// handler's: one wake-up and one write per message. When the peer reads so slowly that
    /// messages pass it by, [`WebSocketHandler::on_lagged`] is called. A connection follows one
    /// topic; following another replaces it.
    pub fn follow(&self, topic: &str) {
        let subscription = self.pubsub.subscribe(topic);
        *self
            .following
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(subscription);
    }

    /// A value the app's layers put on the request: `conn.extension::<Db>()` is the app's
    /// database, as the `Db` extractor gives it to a handler.
    #[must_use]
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.extensions.get::<T>().cloned()
    }
}

impl std::fmt::Debug for Connection {
    // Not the headers: they hold the session cookie.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("subprotocol", &self.subprotocol)
            .finish_non_exhaustive()
    }
}

/// A WebSocket handler: one value per connection, made by `open`.
pub trait WebSocketHandler: Send + Sized + 'static {
    /// Refuse the upgrade (403) for a visitor who has not logged in (Tornado's
    /// `@authenticated`). Needs feature `accounts`.
    const AUTHENTICATED: bool = false;

    /// The connection's limits: by default `defaults`, those of torn.toml.
    #[must_use]
    fn limits(defaults: Limits) -> Limits {
        defaults
    }

    /// Whether an upgrade from a page of another origin is allowed (Tornado's
    /// `check_origin`). Same-origin upgrades are always allowed, and those from the origins
    /// of `websocket_origins` in torn.toml; by default no other.
    #[must_use]
    fn allow_origin(origin: &str) -> bool {
        let _ = origin;
        false
    }

    /// The subprotocol to speak, from those the client offered (none by default).
    #[must_use]
    fn select_subprotocol(offered: &[&str]) -> Option<String> {
        let _ = offered;
        None
    }

    /// The connection is open: keep what the connection needs (its sender). `None` closes
    /// it (1008).
    fn open(connection: Connection) -> impl Future<Output = Option<Self>> + Send;

    /// A message from the peer.
    fn on_message(&mut self, message: Incoming) -> impl Future<Output = ()> + Send;

    /// Messages of the followed topic ([`Connection::follow`]) passed by while the peer was
    /// behind (`missed` of them; 0 when the number is unknown): send it what it needs to catch
    /// up, or nothing (the default).
    fn on_lagged(&mut self, missed: u64) -> impl Future<Output = ()> + Send {
        let _ = missed;
        async {}
    }

    /// The connection closed; `code` is the peer's close code, if it sent one.
    fn on_close(&mut self, code: Option<u16>) -> impl Future<Output = ()> + Send {
        let _ = code;
        async {}
    }
}
