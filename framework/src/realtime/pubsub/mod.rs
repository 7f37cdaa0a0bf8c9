//! Named topics that any handler or task publishes to and any transport (WebSockets,
//! server-sent events, long polling) reads from.
//!
//! Each process keeps its subscribers on tokio's broadcast channels. Where the messages travel
//! between processes is the backend (`pubsub` in torn.toml): nowhere (`memory`), or through
//! PostgreSQL's `LISTEN`/`NOTIFY` or Redis, so that every instance of an app delivers every
//! message to its own subscribers. With a backend, a message's id is given by the shared server,
//! so ids mean the same on every instance (a browser that reconnects to another instance
//! resumes where it was).
//!
//! Buffers are bounded, so a slow subscriber never stalls the others: it misses what passed
//! while it was behind and is told so ([`Received::Lagged`]); the transports turn that into a
//! `lagged` event, after which a client reloads what it shows. Each topic also keeps its last
//! messages (the replay buffer), so that a client that reconnects with the id of the last
//! message it saw gets what it missed. When the backend's connection drops, every subscriber
//! is told it lagged once the connection is back, since messages may have passed meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod subscription;
mod topic;

use subscription::Replay;
pub use subscription::Subscription;
use topic::{IDLE, SWEEP, Topic, Topics, backlog, first_id};

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
    /// This many messages passed while the subscriber was behind (0: an unknown number); it
    /// should reload.
    Lagged(u64),
}

/// Why a message could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The backend could not be reached, or refused the message.
    #[error("cannot publish to {backend}: {message}")]
    Backend {
        /// `PostgreSQL` or `Redis`.
        backend: &'static str,
        /// What it said.
        message: String,
    },
    /// The message is larger than the backend carries.
    #[error("the message is {size} bytes; {backend} carries at most {max}")]
    TooLarge {
        /// `PostgreSQL`.
        backend: &'static str,
        /// The message's size with its topic.
        size: usize,
        /// The most it carries.
        max: usize,
    },
}

impl From<PublishError> for crate::Error {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Backend { .. } => crate::Error::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "Live updates are unavailable for a moment. Please try again shortly.",
            )
            .with_source(e),
            PublishError::TooLarge { .. } => crate::Error::bad_request(e.to_string()),
        }
    }
}

/// The app's topics. Cheap to clone; an extractor in handlers.
#[derive(Clone, Debug)]
pub struct PubSub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    topics: Mutex<Topics>,
    /// Messages a subscriber may fall behind by before it lags.
    capacity: usize,
    /// Messages each topic keeps for clients that reconnect.
    replay: usize,
    /// Where messages go between processes.
    backend: Backend,
    /// Set when the server shuts down: streams end and WebSockets close with 1001.
    closing: watch::Sender<bool>,
    /// How many WebSocket connections are open.
    sockets: watch::Sender<usize>,
}

#[derive(Debug)]
enum Backend {
    Memory,
    #[cfg(feature = "postgres")]
    Postgres(postgres::Publisher),
    #[cfg(feature = "redis")]
    Redis(redis::Publisher),
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub::new(CAPACITY, REPLAY)
    }
}

/// Messages a subscriber may fall behind by, and messages a topic keeps, by default. Each
/// topic's channel holds `CAPACITY` slots from its start.
const CAPACITY: usize = 256;
const REPLAY: usize = 100;

impl PubSub {
    /// In-process topics: a subscriber lags after falling `capacity` messages behind, and each
    /// topic keeps its last `replay` messages for clients that reconnect.
    #[must_use]
    pub fn new(capacity: usize, replay: usize) -> Self {
        Self::with_backend(Backend::Memory, capacity, replay)
    }

    fn with_backend(backend: Backend, capacity: usize, replay: usize) -> Self {
        PubSub {
            inner: Arc::new(Inner {
                topics: Mutex::new(Topics {
                    map: HashMap::new(),
                    swept: Instant::now(),
                }),
                capacity: capacity.max(1),
                replay,
                backend,
                closing: watch::channel(false).0,
                sockets: watch::channel(0).0,
            }),
        }
    }

    /// The topics the settings ask for (`pubsub`): in-process, PostgreSQL's `LISTEN`/`NOTIFY`
    /// on `db`, or Redis. Unset, it follows the database: PostgreSQL's when `db` is
    /// PostgreSQL, else in-process.
    ///
    /// # Errors
    /// When the backend cannot be reached at start-up, or `postgres` is asked for without a
    /// PostgreSQL database, or torn was built without the backend's feature.
    #[cfg(feature = "database")]
    pub async fn connect(
        settings: &crate::Settings,
        db: Option<&crate::db::Db>,
    ) -> Result<Self, crate::Error> {
        use crate::config::PubSubBackend;
        #[cfg(feature = "postgres")]
        let postgres = db.and_then(postgres_pool);
        #[cfg(not(feature = "postgres"))]
        let postgres: Option<()> = {
            let _ = db;
            None
        };
        let chosen = settings
            .realtime
            .pubsub
            .clone()
            .unwrap_or(if postgres.is_some() {
                PubSubBackend::Postgres
            } else {
                PubSubBackend::Memory
            });
        match chosen {
            PubSubBackend::Memory => Ok(PubSub::new(CAPACITY, REPLAY)),
            PubSubBackend::Postgres => {
                let Some(pool) = postgres else {
                    return Err(crate::Error::internal(
                        "pubsub = \"postgres\" needs a PostgreSQL database (database_url = \
                         \"postgres://…\"); on SQLite, use \"memory\" or a redis:// URL",
                    ));
                };
                #[cfg(feature = "postgres")]
                return postgres::connect(pool).await;
                #[cfg(not(feature = "postgres"))]
                unreachable!("{pool:?}")
            }
            PubSubBackend::Redis(url) => {
                #[cfg(feature = "redis")]
                return redis::connect(&url).await;
                #[cfg(not(feature = "redis"))]
                Err(crate::Error::internal(format!(
                    "pubsub is a Redis URL ({}), and torn is built without its `redis` feature",
                    crate::config::redact(&url)
                )))
            }
        }
    }

    /// The topics, locked (a panic elsewhere while holding them leaves them usable).
    fn lock(&self) -> std::sync::MutexGuard<'_, Topics> {
        let mut topics = self
            .inner
            .topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if topics.swept.elapsed() >= SWEEP {
            // Topics that come and go (a room per page) do not add up.
            topics.swept = Instant::now();
            topics
                .map
                .retain(|_, t| t.sender.receiver_count() > 0 || t.touched.elapsed() < IDLE);
        }
        topics
    }

    /// Run `f` on the topic `name`, made if there is none.
    fn with_topic<T>(&self, name: &str, f: impl FnOnce(&mut Topic) -> T) -> T {
        let mut topics = self.lock();
        let capacity = self.inner.capacity;
        let topic = topics
            .map
            .entry(name.to_string())
            .or_insert_with(|| Topic::new(capacity));
        f(topic)
    }

    /// Publish `data` to `topic`, for the subscribers of every instance; returns the message's
    /// id. Nobody listening is not an error.
    ///
    /// # Errors
    /// When the backend cannot be reached, or the message is larger than it carries
    /// (PostgreSQL: about 7,900 bytes with the topic's name). In-process publishing never
    /// fails.
    pub async fn publish(
        &self,
        topic: &str,
        data: impl Into<Arc<str>>,
    ) -> Result<u64, PublishError> {
        let data = data.into();
        match &self.inner.backend {
            Backend::Memory => Ok(self.deliver(topic, None, data)),
            #[cfg(feature = "postgres")]
            Backend::Postgres(publisher) => publisher.publish(topic, &data).await,
            #[cfg(feature = "redis")]
            Backend::Redis(publisher) => publisher.publish(topic, &data).await,
        }
    }

    /// Hand a message to this process's subscribers of `topic`: with the id the backend gave,
    /// or the next one here (in-process). Returns its id. A message from the backend for a
    /// topic this process does not follow is dropped: every instance hears every topic, and
    /// keeping them all would cost each one the memory of all.
    fn deliver(&self, topic: &str, id: Option<u64>, data: Arc<str>) -> u64 {
        let replay = self.inner.replay;
        let mut topics = self.lock();
        let t = match id {
            None => {
                let capacity = self.inner.capacity;
                topics
                    .map
                    .entry(topic.to_string())
                    .or_insert_with(|| Topic::new(capacity))
            }
            Some(id) => match topics.map.get_mut(topic) {
                Some(t) => t,
                None => return id,
            },
        };
        {
            let next = if t.last_id == 0 {
                first_id()
            } else {
                t.last_id.saturating_add(1)
            };
            let id = id.unwrap_or(next);
            if t.last_id == 0 {
                t.first_id = id;
            } else if id != next {
                // Messages that never came here, or a counter that started again: what the
                // subscribers and the replay buffer hold no longer follows on.
                let missed = id.saturating_sub(next);
                t.recent.clear();
                t.first_id = id;
                let _ = t.sender.send(Received::Lagged(missed));
            }
            t.last_id = id;
            t.touched = Instant::now();
            let message = Message { id, data };
            if replay > 0 {
                if t.recent.len() == replay {
                    t.recent.pop_front();
                }
                t.recent.push_back(message.clone());
            }
            // An error only says that nobody subscribes now.
            let _ = t.sender.send(Received::Message(message));
            id
        }
    }

    /// Tell every subscriber that it may have missed messages (the backend's connection
    /// dropped and came back).
    #[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
    fn lag_everyone(&self) {
        for topic in self.lock().map.values_mut() {
            topic.recent.clear();
            let _ = topic.sender.send(Received::Lagged(0));
        }
    }

    /// End every stream: WebSockets close with 1001, server-sent event streams end and long
    /// polls return. The server does this when it shuts down.
    pub(crate) fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Resolves once [`PubSub::close`] was called.
    pub(crate) async fn closed(&self) {
        let mut closing = self.inner.closing.subscribe();
        let _ = closing.wait_for(|closing| *closing).await;
    }

    /// Count one open WebSocket until the guard is dropped.
    pub(crate) fn socket_opened(&self) -> SocketGuard {
        self.inner.sockets.send_modify(|n| *n += 1);
        SocketGuard(self.clone())
    }

    /// Resolves when no WebSocket is open.
    pub(crate) async fn sockets_closed(&self) {
        let mut sockets = self.inner.sockets.subscribe();
        let _ = sockets.wait_for(|n| *n == 0).await;
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
    /// or `after` is an id this process has not seen (a client of an instance that restarted),
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
    /// when `after` is an id this process has not seen), else the next message published
    /// within `timeout`, else nothing (also when the server shuts down meanwhile).
    pub async fn wait_after(&self, topic: &str, after: u64, timeout: Duration) -> Vec<Received> {
        let (mut receiver, ready) =
            self.with_topic(topic, |t| (t.sender.subscribe(), backlog(t, after)));
        let mut out = ready;
        if out.is_empty() {
            let deadline = tokio::time::Instant::now() + timeout;
            let closed = self.closed();
            tokio::pin!(closed);
            loop {
                let next = tokio::select! {
                    next = tokio::time::timeout_at(deadline, receiver.recv()) => next,
                    () = &mut closed => break,
                };
                match next {
                    Ok(Ok(Received::Message(m))) if m.id > after => {
                        out.push(Received::Message(m));
                        break;
                    }
                    Ok(Ok(Received::Message(_))) => {}
                    Ok(Ok(Received::Lagged(n)) | Err(broadcast::error::RecvError::Lagged(n))) => {
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
        self.lock().map.get(topic).map_or(0, |t| t.last_id)
    }

    /// How many topics exist (subscribed to, or holding messages to replay).
    #[must_use]
    pub fn topics(&self) -> usize {
        self.lock().map.len()
    }

    /// Forget `topic` if nobody subscribes to it and it holds nothing to replay: topics
    /// that come and go (a room per page) do not add up.
    fn prune(&self, name: &str) {
        let mut topics = self.lock();
        let Some(t) = topics.map.get_mut(name) else {
            return;
        };
        if t.sender.receiver_count() == 0 {
            if t.recent.is_empty() {
                topics.map.remove(name);
            } else {
                // Kept for reconnections, until it has been idle for a while.
                t.touched = Instant::now();
            }
        }
    }
}

/// The pool of a PostgreSQL database.
#[cfg(feature = "postgres")]
fn postgres_pool(db: &crate::db::Db) -> Option<sqlx::PgPool> {
    // Irrefutable when PostgreSQL is the only database built.
    #[allow(irrefutable_let_patterns)]
    if let crate::db::Db::Postgres(pool) = db {
        Some(pool.clone())
    } else {
        None
    }
}

/// A message as a backend carries it, after its id: `{topic length}:{topic}{data}`.
#[cfg(any(feature = "postgres", feature = "redis"))]
fn encode(topic: &str, data: &str) -> String {
    format!("{}:{topic}{data}", topic.len())
}

/// `{id}:{topic length}:{topic}{data}` as (topic, id, data); `None` for anything else.
#[cfg(any(feature = "postgres", feature = "redis"))]
fn decode(payload: &str) -> Option<(&str, u64, &str)> {
    let (id, rest) = payload.split_once(':')?;
    let (length, rest) = rest.split_once(':')?;
    let length: usize = length.parse().ok()?;
    let topic = rest.get(..length)?;
    Some((topic, id.parse().ok()?, &rest[length..]))
}

/// One open WebSocket, counted until dropped (the server waits for them at shutdown).
pub(crate) struct SocketGuard(PubSub);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0
            .inner
            .sockets
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests;
