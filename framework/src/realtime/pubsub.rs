//! Named topics that any handler or task publishes to and any transport (server-sent events,
//! long polling) reads from: in-process, on tokio's broadcast channels.
//!
//! Buffers are bounded, so a slow subscriber never stalls the others: it misses what passed
//! while it was behind and is told so ([`Received::Lagged`]); the transports turn that into a
//! `lagged` event, after which a client reloads what it shows. Each topic also keeps its last
//! messages (the replay buffer), so that a client that reconnects with the id of the last
//! message it saw gets what it missed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast;

/// A message published to a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Its number in its topic: 1, 2, 3, … in the order they were published.
    pub id: u64,
    /// What was published.
    pub data: Arc<str>,
}

/// What a [`Subscription`] receives next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// The next message.
    Message(Message),
    /// This many messages passed while the subscriber was behind; it should reload.
    Lagged(u64),
}

/// The app's topics. Cheap to clone; an extractor in handlers.
#[derive(Clone, Debug)]
pub struct PubSub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    topics: Mutex<HashMap<String, Topic>>,
    /// Messages a subscriber may fall behind by before it lags.
    capacity: usize,
    /// Messages each topic keeps for clients that reconnect.
    replay: usize,
}

#[derive(Debug)]
struct Topic {
    sender: broadcast::Sender<Message>,
    last_id: u64,
    recent: VecDeque<Message>,
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub::new(1024, 100)
    }
}

impl PubSub {
    /// In-process topics: a subscriber lags after falling `capacity` messages behind, and each
    /// topic keeps its last `replay` messages for clients that reconnect.
    #[must_use]
    pub fn new(capacity: usize, replay: usize) -> Self {
        PubSub {
            inner: Arc::new(Inner {
                topics: Mutex::new(HashMap::new()),
                capacity: capacity.max(1),
                replay,
            }),
        }
    }

    /// The topics, locked (a panic elsewhere while holding them leaves them usable).
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Topic>> {
        self.inner
            .topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn with_topic<T>(&self, name: &str, f: impl FnOnce(&mut Topic) -> T) -> T {
        let mut topics = self.lock();
        let topic = topics.entry(name.to_string()).or_insert_with(|| Topic {
            sender: broadcast::channel(self.inner.capacity).0,
            last_id: 0,
            recent: VecDeque::new(),
        });
        f(topic)
    }

    /// Publish `data` to `topic`; returns the message's id. Nobody listening is not an error.
    pub fn publish(&self, topic: &str, data: impl Into<Arc<str>>) -> u64 {
        let data = data.into();
        let replay = self.inner.replay;
        self.with_topic(topic, |t| {
            t.last_id += 1;
            let message = Message {
                id: t.last_id,
                data,
            };
            if replay > 0 {
                if t.recent.len() == replay {
                    t.recent.pop_front();
                }
                t.recent.push_back(message.clone());
            }
            // An error only says that nobody subscribes now.
            let _ = t.sender.send(message);
            t.last_id
        })
    }

    /// Receive what is published to `topic` from now on.
    #[must_use]
    pub fn subscribe(&self, topic: &str) -> Subscription {
        Subscription {
            receiver: self.with_topic(topic, |t| t.sender.subscribe()).into(),
            topic: Some((self.clone(), topic.to_string())),
        }
    }

    /// Receive what is published to `topic` after the message `after`: first what the replay
    /// buffer still has, then what comes. When the buffer no longer reaches back to `after`,
    /// or `after` is an id this process never gave (a client of an instance that restarted),
    /// the first thing received is [`Received::Lagged`].
    #[must_use]
    pub fn subscribe_after(&self, topic: &str, after: u64) -> Subscription {
        let (receiver, missed) = self.with_topic(topic, |t| {
            // Subscribing under the lock: nothing is published between the two.
            let receiver = t.sender.subscribe();
            (receiver, backlog(t, after))
        });
        Subscription {
            receiver: Replay {
                inner: receiver,
                pending: missed,
            }
            .into_receiver(),
            topic: Some((self.clone(), topic.to_string())),
        }
    }

    /// What `topic` has after the message `after` (long polling): at once what the replay
    /// buffer holds (led by [`Received::Lagged`] when it no longer reaches back that far, or
    /// when `after` is an id this process never gave), else the next message published within
    /// `timeout`, else nothing.
    pub async fn wait_after(&self, topic: &str, after: u64, timeout: Duration) -> Vec<Received> {
        let (mut receiver, ready) =
            self.with_topic(topic, |t| (t.sender.subscribe(), backlog(t, after)));
        let mut out = ready;
        if out.is_empty() {
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Ok(m)) if m.id > after => {
                        out.push(Received::Message(m));
                        break;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(broadcast::error::RecvError::Lagged(n))) => {
                        out.push(Received::Lagged(n));
                        break;
                    }
                    Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => break,
                }
            }
        }
        drop(receiver);
        self.prune(topic);
        out
    }

    /// The id of the last message published to `topic` (0 before the first).
    #[must_use]
    pub fn last_id(&self, topic: &str) -> u64 {
        self.lock().get(topic).map_or(0, |t| t.last_id)
    }

    /// How many topics exist (subscribed to, or holding messages to replay).
    #[must_use]
    pub fn topics(&self) -> usize {
        self.lock().len()
    }

    /// Forget `topic` if nobody subscribes to it and it holds nothing to replay: topics
    /// that come and go (a room per page) do not add up.
    fn prune(&self, name: &str) {
        let mut topics = self.lock();
        if topics
            .get(name)
            .is_some_and(|t| t.sender.receiver_count() == 0 && t.recent.is_empty())
        {
            topics.remove(name);
        }
    }
}

/// What `topic` holds after the message `after`: its messages, led by a `Lagged` when the
/// replay buffer no longer reaches back that far.
fn backlog(t: &Topic, after: u64) -> Vec<Received> {
    if after > t.last_id {
        // An id from another process (a restart, another instance): what was missed is
        // unknown.
        return vec![Received::Lagged(0)];
    }
    if after == t.last_id {
        return Vec::new();
    }
    let mut out = Vec::new();
    let oldest = t.recent.front().map_or(t.last_id + 1, |m| m.id);
    if after + 1 < oldest {
        out.push(Received::Lagged(oldest - after - 1));
    }
    out.extend(
        t.recent
            .iter()
            .filter(|m| m.id > after)
            .cloned()
            .map(Received::Message),
    );
    out
}

/// A subscriber's messages from a [`PubSub`] topic.
#[derive(Debug)]
pub struct Subscription {
    receiver: Receiver,
    /// Its topic, to forget when this was its last subscriber.
    topic: Option<(PubSub, String)>,
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
enum Receiver {
    Live(broadcast::Receiver<Message>),
    Replaying(Replay),
    Gone,
}

#[derive(Debug)]
struct Replay {
    inner: broadcast::Receiver<Message>,
    pending: Vec<Received>,
}

impl Replay {
    fn into_receiver(mut self) -> Receiver {
        if self.pending.is_empty() {
            Receiver::Live(self.inner)
        } else {
            self.pending.reverse();
            Receiver::Replaying(self)
        }
    }
}

impl From<broadcast::Receiver<Message>> for Receiver {
    fn from(r: broadcast::Receiver<Message>) -> Self {
        Receiver::Live(r)
    }
}

impl Subscription {
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
            Ok(message) => Some(Received::Message(message)),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Received::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Option<Received>) -> (u64, String) {
        match r {
            Some(Received::Message(m)) => (m.id, m.data.to_string()),
            other => panic!("a message, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn subscribers_get_their_topics_messages_in_order() {
        let pubsub = PubSub::default();
        assert_eq!(pubsub.publish("room", "nobody listens"), 1);
        let mut a = pubsub.subscribe("room");
        let mut b = pubsub.subscribe("room");
        let mut other = pubsub.subscribe("other");
        pubsub.publish("room", "hello");
        pubsub.publish("room", "again");
        for s in [&mut a, &mut b] {
            assert_eq!(message(s.recv().await), (2, "hello".into()));
            assert_eq!(message(s.recv().await), (3, "again".into()));
        }
        pubsub.publish("other", "elsewhere");
        assert_eq!(message(other.recv().await), (1, "elsewhere".into()));
        assert_eq!(pubsub.last_id("room"), 3);
    }

    #[tokio::test]
    async fn a_slow_subscriber_lags_and_the_others_do_not_wait() {
        let pubsub = PubSub::new(4, 0);
        let mut slow = pubsub.subscribe("room");
        let mut quick = pubsub.subscribe("room");
        for n in 1..=10 {
            pubsub.publish("room", n.to_string());
            // The quick one keeps up.
            assert_eq!(message(quick.recv().await).0, n);
        }
        // The slow one missed six of ten, is told so, and goes on from the oldest kept.
        assert_eq!(slow.recv().await, Some(Received::Lagged(6)));
        assert_eq!(message(slow.recv().await).0, 7);
    }

    #[tokio::test]
    async fn a_subscriber_can_start_after_a_message_it_saw() {
        let pubsub = PubSub::new(16, 3);
        for n in 1..=5 {
            pubsub.publish("room", n.to_string());
        }
        // The buffer keeps 3, 4 and 5: after 3, it replays 4 and 5, then goes live.
        let mut s = pubsub.subscribe_after("room", 3);
        pubsub.publish("room", "6");
        let ids: Vec<u64> = [s.recv().await, s.recv().await, s.recv().await]
            .into_iter()
            .map(|r| message(r).0)
            .collect();
        assert_eq!(ids, [4, 5, 6]);
        // After 1, two messages are gone: it lagged, then gets what the buffer has.
        let mut s = pubsub.subscribe_after("room", 1);
        assert_eq!(s.recv().await, Some(Received::Lagged(2)));
        assert_eq!(message(s.recv().await).0, 4);
        // Up to date: nothing replayed.
        let mut s = pubsub.subscribe_after("room", 6);
        pubsub.publish("room", "7");
        assert_eq!(message(s.recv().await).0, 7);
    }

    #[tokio::test]
    async fn topics_without_subscribers_or_messages_are_forgotten() {
        let pubsub = PubSub::default();
        // Looking does not make a topic.
        for n in 0..1000 {
            assert_eq!(pubsub.last_id(&format!("room {n}")), 0);
        }
        assert_eq!(pubsub.topics(), 0);
        // A subscription makes one, and dropping the last one forgets it.
        let a = pubsub.subscribe("room");
        let b = pubsub.subscribe_after("room", 0);
        assert_eq!(pubsub.topics(), 1);
        drop(a);
        assert_eq!(pubsub.topics(), 1);
        drop(b);
        assert_eq!(pubsub.topics(), 0);
        // A long poll that times out leaves nothing behind.
        let got = pubsub
            .wait_after("poll", 0, Duration::from_millis(10))
            .await;
        assert!(got.is_empty());
        assert_eq!(pubsub.topics(), 0);
        // A topic with messages to replay stays.
        pubsub.publish("kept", "x");
        drop(pubsub.subscribe("kept"));
        assert_eq!(pubsub.topics(), 1);
        // An id from another process: lagged, with nothing known missed.
        let mut s = pubsub.subscribe_after("kept", 99);
        assert_eq!(s.recv().await, Some(Received::Lagged(0)));
    }
}
