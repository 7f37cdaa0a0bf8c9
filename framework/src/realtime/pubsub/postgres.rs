//! The PostgreSQL backend, on the app's own database: one statement gives each message the
//! next id of its topic (a row per topic in `torn_pubsub`, locked until the statement commits)
//! and sends it with `NOTIFY`, so ids follow the order every instance receives them in. One
//! `LISTEN` connection per process (sqlx's listener, which reconnects on its own) hands what
//! arrives to the local topics; after a reconnection every subscriber is told it lagged.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::{Backend, CAPACITY, Inner, PubSub, PublishError, REPLAY, decode, encode};

/// The `NOTIFY` channel.
const CHANNEL: &str = "torn_pubsub";
/// PostgreSQL refuses a notification of 8,000 bytes or more; this leaves room for the id.
const MAX_PAYLOAD: usize = 7_970;

const CREATE: &str =
    "CREATE TABLE IF NOT EXISTS torn_pubsub (topic TEXT PRIMARY KEY, last_id BIGINT NOT NULL)";

/// How long a publish may take before it fails (the database is down or unreachable).
const TIMEOUT: Duration = Duration::from_secs(5);

/// The topic's next id (a new topic's counter starts at the random `$3`), and the `NOTIFY`.
const PUBLISH: &str = "WITH t AS (
    INSERT INTO torn_pubsub (topic, last_id) VALUES ($1, $3)
    ON CONFLICT (topic) DO UPDATE SET last_id = torn_pubsub.last_id + 1
    RETURNING last_id
)
SELECT last_id, pg_notify('torn_pubsub', last_id::text || ':' || $2)::text FROM t";

#[derive(Debug)]
pub(super) struct Publisher {
    pool: PgPool,
}

impl Publisher {
    pub(super) async fn publish(&self, topic: &str, data: &str) -> Result<u64, PublishError> {
        let payload = encode(topic, data);
        if payload.len() > MAX_PAYLOAD {
            return Err(PublishError::TooLarge {
                backend: "PostgreSQL",
                size: payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        let failed = |message: String| PublishError::Backend {
            backend: "PostgreSQL",
            message,
        };
        let first = i64::try_from(super::first_id()).unwrap_or(1);
        let query = sqlx::query_as::<_, (i64, Option<String>)>(PUBLISH)
            .bind(topic)
            .bind(payload)
            .bind(first)
            .fetch_one(&self.pool);
        let (id, _) = tokio::time::timeout(TIMEOUT, query)
            .await
            .map_err(|_| failed(format!("no answer within {TIMEOUT:?}")))?
            .map_err(|e| failed(e.to_string()))?;
        Ok(id.unsigned_abs())
    }
}

/// Make the topics' table, start listening, and hand notifications to the local topics.
pub(super) async fn connect(pool: PgPool) -> Result<PubSub, crate::Error> {
    let failed =
        |e: sqlx::Error| crate::Error::internal(format!("cannot set up pubsub on PostgreSQL: {e}"));
    // Two instances starting at once may both try to make the table: the loser tries again
    // and finds it there.
    if sqlx::query(CREATE).execute(&pool).await.is_err() {
        sqlx::query(CREATE).execute(&pool).await.map_err(failed)?;
    }
    let mut listener = PgListener::connect_with(&pool).await.map_err(failed)?;
    listener.listen(CHANNEL).await.map_err(failed)?;
    let pubsub = PubSub::with_backend(Backend::Postgres(Publisher { pool }), CAPACITY, REPLAY);
    tokio::spawn(listen(Arc::downgrade(&pubsub.inner), listener));
    Ok(pubsub)
}

/// Hand each notification to the local topics, until the app's topics are gone.
async fn listen(topics: Weak<Inner>, mut listener: PgListener) {
    let mut down = false;
    loop {
        let received = listener.try_recv().await;
        let Some(inner) = topics.upgrade() else { break };
        let pubsub = PubSub { inner };
        match received {
            Ok(Some(notification)) => {
                if down {
                    down = false;
                    tracing::info!("pubsub: connected to PostgreSQL again");
                    pubsub.lag_everyone();
                }
                if let Some((topic, id, data)) = decode(notification.payload()) {
                    pubsub.deliver(topic, Some(id), data.into());
                }
            }
            // The connection dropped and was made again (it listens again on its own):
            // what passed meanwhile is lost.
            Ok(None) => {
                tracing::warn!("pubsub: the connection to PostgreSQL dropped; listening again");
                pubsub.lag_everyone();
            }
            Err(e) => {
                if !down {
                    tracing::warn!(error = %e, "pubsub: cannot reach PostgreSQL; trying again");
                }
                down = true;
                drop(pubsub);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
