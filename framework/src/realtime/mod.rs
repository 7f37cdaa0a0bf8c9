//! Real-time: named topics that handlers publish to ([`PubSub`]), and the transports that
//! carry them to browsers: WebSocket handlers ([`WebSocketHandler`]), server-sent events
//! ([`events`]) and long polling ([`PubSub::wait_after`]). Feature `realtime`.

mod pubsub;
mod rate;
mod sse;
mod websocket;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use pubsub::{Message, PubSub, PublishError, Received, Subscription};
pub use rate::RateLimit;
pub use sse::{KEEP_ALIVE, events, events_from};
pub(crate) use websocket::upgrade;
pub use websocket::{
    Connection, Incoming, Limits, SendError, Sender, WebSocketHandler, close_code,
};

use crate::error::Error;

/// The app's topics, in a handler: `pubsub: PubSub`.
impl<S: Send + Sync> FromRequestParts<S> for PubSub {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<PubSub>().cloned().ok_or_else(|| {
            Error::internal("torn's pub/sub is missing: build the router with torn::App")
        })
    }
}
