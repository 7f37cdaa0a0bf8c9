//! Server-sent events from a [`PubSub`] topic: `torn::realtime::events(pubsub, topic, headers)`
//! is a handler's answer that streams the topic's messages to the browser's `EventSource`,
//! on axum's SSE support. The stream ends when the server shuts down (the browser reconnects,
//! to this instance once restarted or to another).
//!
//! Each event carries its message's id, so a browser that reconnects sends `Last-Event-ID` and
//! gets what it missed from the topic's replay buffer. The first event says `retry:` (how long
//! the browser waits before it reconnects); a comment every 15 seconds keeps proxies from
//! closing an idle stream. A subscriber that falls behind, or reconnects after the buffer moved
//! on, gets an event named `lagged`: it should reload what it shows.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt as _};

use super::pubsub::{PubSub, Received, Subscription};

/// How long a browser waits before it reconnects.
const RETRY: Duration = Duration::from_secs(3);
/// How often an idle stream gets a comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The messages of `topic` as server-sent events, from the one after the request's
/// `Last-Event-ID` (a reconnecting browser's) or from now.
pub fn events(
    pubsub: &PubSub,
    topic: &str,
    headers: &HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    let after = last_event_id(headers);
    let subscription = match after {
        Some(id) => pubsub.subscribe_after(topic, id),
        None => pubsub.subscribe(topic),
    };
    events_from(subscription, KEEP_ALIVE)
}

/// The `Last-Event-ID` header as a message id (none, or not a number: `None`).
fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A subscription as server-sent events, with a keep-alive comment after `keep_alive` of
/// silence.
pub fn events_from(
    subscription: Subscription,
    keep_alive: Duration,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    let closing = subscription.server_closing();
    let stream = futures_util::stream::unfold(
        (subscription, true),
        |(mut subscription, first)| async move {
            let event = match subscription.recv().await? {
                Received::Message(m) => Event::default().id(m.id.to_string()).data(&*m.data),
                Received::Lagged(n) => Event::default().event("lagged").data(n.to_string()),
            };
            let event = if first { event.retry(RETRY) } else { event };
            Some((Ok(event), (subscription, false)))
        },
    )
    .take_until(closing);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive))
}
