//! One open connection: reading, writing, pings and pongs, closing, until it ends.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};

use super::{
    Connection, Following, Incoming, Limits, Queued, Sender, WebSocketHandler, close_code,
};
use crate::realtime::pubsub::SocketGuard;
use crate::realtime::{PubSub, Received};

/// How much is read from a peer at a time. tungstenite's default, 128 KiB, is zeroed when a
/// connection first reads, which made an idle connection cost 144 KB (bench/websocket.sh);
/// larger messages are read in several steps.
pub(super) const READ_BUFFER: usize = 4 * 1024;

/// The most bytes waiting to be written to one peer (a message larger than this cannot be
/// sent).
pub(super) const MAX_WRITE_BUFFER: usize = 4 * 1024 * 1024;

/// The log-in an `AUTHENTICATED` connection was opened under, checked again at every ping: a
/// log-out, a log-out everywhere or a password change closes the connection (1008) within a
/// ping interval.
#[cfg(feature = "accounts")]
pub(super) struct Recheck {
    pub(super) accounts: crate::auth::Accounts,
    pub(super) user: crate::auth::User,
    pub(super) session_id: String,
}

#[cfg(feature = "accounts")]
impl Recheck {
    /// Whether the log-in still holds (a database that cannot be reached closes nothing).
    async fn holds(&self) -> bool {
        self.accounts
            .still_logged_in(&self.user, &self.session_id)
            .await
            .unwrap_or(true)
    }
}

/// Without accounts there is no log-in to check.
#[cfg(not(feature = "accounts"))]
pub(super) enum Recheck {}

#[cfg(not(feature = "accounts"))]
impl Recheck {
    async fn holds(&self) -> bool {
        match *self {}
    }
}

/// Serve one connection until it closes.
pub(super) async fn run<H: WebSocketHandler>(
    socket: WebSocket,
    limits: Limits,
    server: &PubSub,
    open: SocketGuard,
    connection: impl FnOnce(Sender) -> Connection,
    following: Following,
    recheck: Option<Recheck>,
) {
    // Counted until it ends: a server that shuts down waits for its close frame to go.
    let _open = open;
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
    let mut followed = following
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let mut ping = tokio::time::interval(limits.ping_interval.max(Duration::from_millis(10)));
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let mut pong_due: Option<tokio::time::Instant> = None;
    let mut peer_code = None;
    loop {
        let published = async {
            match followed.as_mut() {
                Some(topic) => topic.recv().await,
                None => std::future::pending().await,
            }
        };
        let pong_deadline = async {
            match pong_due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        // Shutting down comes first, then ready frames from the peer: they prove it alive.
        let step = tokio::select! {
            biased;
            () = &mut shutting_down => {
                Step::Close(close_code::AWAY, "the server is shutting down".to_string())
            }
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
            // What the handler queued goes before the followed topic's next message.
            Some(Queued(message)) = outgoing.recv() => {
                if send_within(&mut sink, message, write_timeout).await {
                    Step::Go
                } else {
                    Step::Stop
                }
            }
            received = published => match received {
                Some(Received::Message(m)) => {
                    let text = WsMessage::Text(m.data.as_ref().into());
                    if send_within(&mut sink, text, write_timeout).await {
                        Step::Go
                    } else {
                        Step::Stop
                    }
                }
                Some(Received::Lagged(missed)) => {
                    handler.on_lagged(missed).await;
                    Step::Go
                }
                // The topics are gone: nothing more will come.
                None => {
                    followed = None;
                    Step::Go
                }
            },
            _ = ping.tick() => {
                if pong_due.is_none() {
                    pong_due = Some(tokio::time::Instant::now() + limits.ping_timeout);
                }
                if !send_within(&mut sink, WsMessage::Ping(Bytes::new()), write_timeout).await {
                    Step::Stop
                } else if let Some(check) = &recheck
                    && !check.holds().await
                {
                    Step::Close(close_code::POLICY, "logged out".to_string())
                } else {
                    Step::Go
                }
            }
            () = pong_deadline => Step::Close(close_code::AWAY, "no pong".to_string()),
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
