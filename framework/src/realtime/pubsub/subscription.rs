//! A subscriber's end of a topic: what the replay buffer still had for it, then the live
//! channel; the topic is forgotten when its last subscriber goes.

use tokio::sync::broadcast;

use super::{PubSub, Received};

/// A subscriber's messages from a [`PubSub`] topic.
#[derive(Debug)]
pub struct Subscription {
    pub(super) receiver: Receiver,
    /// Its topic, to forget when this was its last subscriber.
    pub(super) topic: Option<(PubSub, String)>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some((pubsub, topic)) = self.topic.take() {
            // The receiver goes first, so that the count no longer holds it.
            self.receiver = Receiver::Gone;
            pubsub.prune(&topic);
        }
    }
}

#[derive(Debug)]
pub(super) enum Receiver {
    Live(broadcast::Receiver<Received>),
    Replaying(Replay),
    Gone,
}

#[derive(Debug)]
pub(super) struct Replay {
    pub(super) inner: broadcast::Receiver<Received>,
    pub(super) pending: Vec<Received>,
}

impl Replay {
    pub(super) fn into_receiver(mut self) -> Receiver {
        if self.pending.is_empty() {
            Receiver::Live(self.inner)
        } else {
            self.pending.reverse();
            Receiver::Replaying(self)
        }
    }
}

impl From<broadcast::Receiver<Received>> for Receiver {
    fn from(r: broadcast::Receiver<Received>) -> Self {
        Receiver::Live(r)
    }
}

impl Subscription {
    /// Resolves when the server shuts down (streams end then).
    pub(crate) fn server_closing(&self) -> impl Future<Output = ()> + use<> {
        let pubsub = self.topic.as_ref().map(|(pubsub, _)| pubsub.clone());
        async move {
            match pubsub {
                Some(pubsub) => pubsub.closed().await,
                None => std::future::pending().await,
            }
        }
    }

    /// The next message, or how many were missed; `None` when the topics are gone.
    pub async fn recv(&mut self) -> Option<Received> {
        let live = match &mut self.receiver {
            Receiver::Live(live) => live,
            Receiver::Replaying(replay) => {
                if let Some(next) = replay.pending.pop() {
                    return Some(next);
                }
                &mut replay.inner
            }
            Receiver::Gone => return None,
        };
        match live.recv().await {
            Ok(received) => Some(received),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Received::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}
