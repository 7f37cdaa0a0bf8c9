//! The Redis backend: a Lua script gives each message the next id of its topic (`INCR`) and
//! publishes it on one channel in the same step, so ids follow the order every instance
//! receives them in. One subscriber connection per process hands what arrives to the local
//! topics. Both connections reconnect on their own; after a reconnection every subscriber is
//! told it lagged, since messages may have passed while the connection was down.

use std::sync::{Arc, Weak};
use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::prelude::{
    Builder, Client, ClientLike as _, Config, EventInterface as _, LuaInterface as _,
    PubsubInterface as _, ReconnectPolicy,
};

use super::{Backend, CAPACITY, Inner, PubSub, PublishError, REPLAY, decode, encode};

/// Gives the topic's next id (a new counter starts at the random `ARGV[3]`), keeps its counter
/// a week after its last message, and publishes `id:payload` (the id written with `%d`: Lua's
/// own `..` would write a large one as `1.2e+15`).
const PUBLISH: &str = "if redis.call('EXISTS', KEYS[1]) == 0 then \
     redis.call('SET', KEYS[1], ARGV[3]) end \
     local id = redis.call('INCR', KEYS[1]) \
     redis.call('EXPIRE', KEYS[1], 604800) \
     redis.call('PUBLISH', ARGV[1], string.format('%d:%s', id, ARGV[2])) \
     return id";

/// How long a publish may wait for Redis before it fails (the server is down, or far).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest message: Redis closes subscribers whose output grows past its limits (32 MB by
/// default), which would make every instance reconnect.
const MAX_MESSAGE: usize = 1024 * 1024;

pub(super) struct Publisher {
    client: Client,
    /// The channel every message goes through: one per Redis database number, so that apps
    /// on separate databases of one server do not hear each other.
    channel: String,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    pub(super) async fn publish(&self, topic: &str, data: &str) -> Result<u64, PublishError> {
        let key = format!("torn:pubsub:{topic}");
        let payload = encode(topic, data);
        if payload.len() > MAX_MESSAGE {
            return Err(PublishError::TooLarge {
                backend: "Redis",
                size: payload.len(),
                max: MAX_MESSAGE,
            });
        }
        let start = (super::first_id() - 1).to_string();
        // EVAL, not EVALSHA: Redis caches the script, and a restarted Redis, which has
        // forgotten it, needs no second try.
        self.client
            .eval::<u64, _, _, _>(
                PUBLISH,
                vec![key],
                vec![self.channel.clone(), payload, start],
            )
            .await
            .map_err(|e| PublishError::Backend {
                backend: "Redis",
                message: e.to_string(),
            })
    }
}

/// Connect to Redis at `url`, subscribe, and start handing messages to the local topics.
pub(super) async fn connect(url: &str) -> Result<PubSub, crate::Error> {
    let hidden = crate::config::redact(url);
    let config = Config::from_url(url).map_err(|e| {
        crate::Error::internal(format!("the pubsub Redis URL {hidden:?} is not valid: {e}"))
    })?;
    let channel = format!("torn:{}:pubsub", config.database.unwrap_or(0));
    let mut builder = Builder::from_config(config);
    builder
        // Reconnect for ever, waiting at most 2 s between attempts.
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .with_connection_config(|c| {
            c.connection_timeout = COMMAND_TIMEOUT;
            c.internal_command_timeout = COMMAND_TIMEOUT;
            // A publish whose answer was lost is not sent again: it may have gone, and would
            // go twice, under two ids.
            c.max_command_attempts = 1;
        })
        .with_performance_config(|c| {
            c.default_command_timeout = COMMAND_TIMEOUT;
            // What arrives waits here for the task that hands it on.
            c.broadcast_channel_capacity = CAPACITY;
        });
    let unreachable = |e: fred::error::Error| {
        crate::Error::internal(format!(
            "cannot connect to Redis for pubsub at {hidden}: {e}. Is Redis running?"
        ))
    };
    let client = builder.build().map_err(unreachable)?;
    let subscriber = builder.build_subscriber_client().map_err(unreachable)?;
    // Both connections are up before the app starts; later outages are waited out.
    let _publisher = client.init().await.map_err(unreachable)?;
    let _subscriber = subscriber.init().await.map_err(unreachable)?;
    let messages = subscriber.message_rx();
    let reconnections = subscriber.reconnect_rx();
    subscriber
        .subscribe(channel.clone())
        .await
        .map_err(unreachable)?;
    let pubsub = PubSub::with_backend(
        Backend::Redis(Publisher { client, channel }),
        CAPACITY,
        REPLAY,
    );
    tokio::spawn(listen(
        Arc::downgrade(&pubsub.inner),
        subscriber,
        messages,
        reconnections,
    ));
    Ok(pubsub)
}

/// Hand each message to the local topics, until the app's topics are gone.
async fn listen(
    topics: Weak<Inner>,
    subscriber: SubscriberClient,
    mut messages: tokio::sync::broadcast::Receiver<fred::types::Message>,
    mut reconnections: tokio::sync::broadcast::Receiver<fred::prelude::Server>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let event = tokio::select! {
            message = messages.recv() => Event::Message(message),
            reconnected = reconnections.recv() => {
                Event::Reconnected(!matches!(reconnected, Err(RecvError::Closed)))
            }
        };
        let Some(inner) = topics.upgrade() else { break };
        let pubsub = PubSub { inner };
        match event {
            Event::Message(Ok(message)) => {
                let Some(text) = message.value.as_str() else {
                    continue;
                };
                if let Some((topic, id, data)) = decode(&text) {
                    pubsub.deliver(topic, Some(id), data.into());
                }
            }
            Event::Message(Err(RecvError::Lagged(_))) => pubsub.lag_everyone(),
            Event::Reconnected(true) => {
                // Subscribe again on the new connection (until it works); what passed
                // meanwhile is lost.
                drop(pubsub);
                while let Err(e) = subscriber.resubscribe_all().await {
                    tracing::warn!(error = %e, "pubsub: cannot subscribe again to Redis; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                tracing::info!("pubsub: connected to Redis again");
                let Some(inner) = topics.upgrade() else { break };
                PubSub { inner }.lag_everyone();
            }
            Event::Message(Err(RecvError::Closed)) | Event::Reconnected(false) => break,
        }
    }
    let _ = subscriber.quit().await;
}

enum Event {
    Message(Result<fred::types::Message, tokio::sync::broadcast::error::RecvError>),
    Reconnected(bool),
}
