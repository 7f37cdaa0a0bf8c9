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
use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};

use crate::error::Error;
use crate::state::Shared;

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

/// The most bytes waiting to be written to one peer (a message larger than this cannot be
/// sent).
const MAX_WRITE_BUFFER: usize = 4 * 1024 * 1024;

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

    /// The connection closed; `code` is the peer's close code, if it sent one.
    fn on_close(&mut self, code: Option<u16>) -> impl Future<Output = ()> + Send {
        let _ = code;
        async {}
    }
}

/// The route of a WebSocket handler: checks, then the upgrade.
pub(crate) async fn upgrade<H: WebSocketHandler>(request: axum::extract::Request) -> Response {
    match accept::<H>(request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn accept<H: WebSocketHandler>(
    request: axum::extract::Request,
) -> Result<Response, Response> {
    let (mut parts, _body) = request.into_parts();
    let shared = Shared::from_parts(&parts).map_err(IntoResponse::into_response)?;
    // Cross-site WebSocket hijacking: a page elsewhere opening a socket with the user's
    // cookies. Same origin, or an origin the handler allows.
    let origin = parts
        .headers
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let https = shared.settings.cookies.secure
        || parts
            .extensions
            .get::<crate::client::Client>()
            .is_some_and(|c| c.https);
    if let Err(refused) = crate::xsrf::check_origin(
        &parts.headers,
        parts
            .uri
            .authority()
            .map(axum::http::uri::Authority::as_str),
        https,
    ) && !origin
        .as_deref()
        .is_some_and(|o| listed(&shared.settings.realtime.origins, o) || H::allow_origin(o))
    {
        let message = refused.to_string().replace(
            "Forms must be submitted from this site's own pages.",
            "WebSockets must be opened from this site's own pages.",
        );
        return Err(Error::forbidden(message).into_response());
    }
    // The logged-in user, when the app has accounts.
    #[cfg(feature = "accounts")]
    let user = if parts.extensions.get::<crate::auth::Accounts>().is_some() {
        crate::auth::MaybeUser::from_request_parts(&mut parts, &())
            .await
            .map_err(IntoResponse::into_response)?
            .0
    } else {
        None
    };
    #[cfg(feature = "accounts")]
    if H::AUTHENTICATED && user.is_none() {
        return Err(Error::forbidden("log in to open this WebSocket").into_response());
    }
    #[cfg(not(feature = "accounts"))]
    if H::AUTHENTICATED {
        return Err(Error::internal(
            "a WebSocket handler asks for a logged-in user, and torn is built without accounts",
        )
        .into_response());
    }
    let pubsub = super::PubSub::from_request_parts(&mut parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let offered: Vec<String> = parts
        .headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let subprotocol =
        H::select_subprotocol(&offered.iter().map(String::as_str).collect::<Vec<_>>())
            .filter(|p| offered.contains(p));
    let ws = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let limits = H::limits(Limits::from(&shared.settings.realtime));
    // What waits to be written to the peer is bounded too: a peer that sends pings and never
    // reads would otherwise grow it with pongs.
    let ws = ws
        .max_message_size(limits.max_message_size)
        .max_frame_size(limits.max_message_size)
        .max_write_buffer_size(MAX_WRITE_BUFFER);
    let ws = match &subprotocol {
        Some(p) => ws.protocols([p.clone()]),
        None => ws,
    };
    let headers = parts.headers;
    Ok(ws
        .on_upgrade(move |socket| {
            let server = pubsub.clone();
            let connection = |sender| Connection {
                sender,
                headers,
                subprotocol,
                #[cfg(feature = "accounts")]
                user,
                pubsub,
            };
            async move { run::<H>(socket, limits, &server, connection).await }
        })
        .into_response())
}

/// Whether `origin` is in the allow-list (scheme and host compared without case, a trailing
/// slash ignored).
fn listed(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// Serve one connection until it closes.
async fn run<H: WebSocketHandler>(
    socket: WebSocket,
    limits: Limits,
    server: &super::PubSub,
    connection: impl FnOnce(Sender) -> Connection,
) {
    // Counted until it ends: a server that shuts down waits for its close frame to go.
    let _open = server.socket_opened();
    let shutting_down = server.closed();
    tokio::pin!(shutting_down);
    let (mut sink, mut stream) = socket.split();
    let (queue, mut outgoing) = mpsc::channel::<Queued>(limits.queue.max(1));
    let (close, mut closing) = watch::channel::<Option<(u16, String)>>(None);
    let sender = Sender {
        queue,
        close: std::sync::Arc::new(close),
    };
    // A write that does not finish in this time means a peer that does not read: it is
    // dropped, so that it holds nothing (the task, its queue, the kernel's buffers) for long.
    let write_timeout = limits.ping_timeout.max(Duration::from_millis(10));
    let Some(mut handler) = H::open(connection(sender.clone())).await else {
        let refused = close_frame(close_code::POLICY, "refused");
        let _ = tokio::time::timeout(write_timeout, sink.send(refused)).await;
        sender.mark_closed();
        return;
    };
    let mut ping = tokio::time::interval(limits.ping_interval.max(Duration::from_millis(10)));
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let mut pong_due: Option<tokio::time::Instant> = None;
    let mut peer_code = None;
    loop {
        let pong_deadline = async {
            match pong_due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        // Ready frames from the peer come first: they prove it alive.
        let step = tokio::select! {
            biased;
            incoming = stream.next() => {
                // Anything from the peer shows it is alive, not only a pong.
                pong_due = None;
                match incoming {
                    Some(Ok(WsMessage::Text(text))) => {
                        handler.on_message(Incoming::Text(text.to_string())).await;
                        Step::Go
                    }
                    Some(Ok(WsMessage::Binary(data))) => {
                        handler.on_message(Incoming::Binary(data)).await;
                        Step::Go
                    }
                    Some(Ok(WsMessage::Pong(_) | WsMessage::Ping(_))) => Step::Go,
                    Some(Ok(WsMessage::Close(frame))) => {
                        peer_code = frame.map(|f| f.code);
                        // tungstenite has queued the echo of the peer's close: send it.
                        let _ = tokio::time::timeout(write_timeout, sink.flush()).await;
                        Step::Stop
                    }
                    Some(Err(e)) => {
                        let said = e.to_string();
                        let (code, reason) = if said.contains("Space limit exceeded") {
                            (close_code::TOO_BIG, "message too big")
                        } else if said.contains("UTF-8") {
                            (close_code::INVALID_DATA, "text is not UTF-8")
                        } else {
                            (close_code::PROTOCOL, "protocol error")
                        };
                        Step::Close(code, reason.to_string())
                    }
                    None => Step::Stop,
                }
            }
            Ok(()) = closing.changed() => match wanted_close(&mut closing) {
                Some((code, reason)) => {
                    if code != close_code::TRY_AGAIN_LATER {
                        // What was queued before goes first; nothing queued after.
                        outgoing.close();
                        let mut sent = true;
                        while sent && let Ok(Queued(m)) = outgoing.try_recv() {
                            sent = send_within(&mut sink, m, write_timeout).await;
                        }
                    }
                    Step::Close(code, reason)
                }
                None => Step::Go,
            },
            Some(Queued(message)) = outgoing.recv() => {
                if send_within(&mut sink, message, write_timeout).await {
                    Step::Go
                } else {
                    Step::Stop
                }
            }
            _ = ping.tick() => {
                if pong_due.is_none() {
                    pong_due = Some(tokio::time::Instant::now() + limits.ping_timeout);
                }
                if send_within(&mut sink, WsMessage::Ping(Bytes::new()), write_timeout).await {
                    Step::Go
                } else {
                    Step::Stop
                }
            }
            () = pong_deadline => Step::Close(close_code::AWAY, "no pong".to_string()),
            () = &mut shutting_down => {
                Step::Close(close_code::AWAY, "the server is shutting down".to_string())
            }
        };
        match step {
            Step::Go => {}
            Step::Stop => break,
            Step::Close(code, reason) => {
                // Say why, if the peer still listens.
                let _ = send_within(&mut sink, close_frame(code, &reason), write_timeout).await;
                break;
            }
        }
    }
    outgoing.close();
    sender.mark_closed();
    handler.on_close(peer_code).await;
}

/// The close asked for, if any (the watch's guard is not held across an await).
fn wanted_close(closing: &mut watch::Receiver<Option<(u16, String)>>) -> Option<(u16, String)> {
    closing.borrow_and_update().clone()
}

/// What the connection loop does after one event.
enum Step {
    Go,
    Stop,
    Close(u16, String),
}

/// Send `message`, or give up after `timeout` (a peer that does not read); whether it went.
async fn send_within(
    sink: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    message: WsMessage,
    timeout: Duration,
) -> bool {
    matches!(
        tokio::time::timeout(timeout, sink.send(message)).await,
        Ok(Ok(()))
    )
}

/// A close frame with a code a peer accepts (RFC 6455, 7.4) and a reason that fits in a
/// control frame (123 bytes, cut at a character boundary).
fn close_frame(code: u16, reason: &str) -> WsMessage {
    let valid = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
    let code = if valid { code } else { close_code::NORMAL };
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}
