//! The [[ name ]] job, made by `torn gen job [[ name ]]`. A handler enqueues it with the `Jobs`
//! extractor, `jobs.enqueue(&[[ ty ]] { id }).await?`; it is stored in the database before that
//! returns, and a worker runs it, retrying with backoff when it fails (`torn jobs` shows the
//! queues and the dead jobs).

use serde::{Deserialize, Serialize};
use torn::jobs::{Job, JobContext, JobError};

/// What the job needs, stored with it as JSON. Keep ids rather than whole rows: the job reads
/// the data as it is when it runs, maybe after a retry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct [[ ty ]] {
    /// The row it works on.
    pub id: i64,
}

impl Job for [[ ty ]] {
    /// Stored with each job: keep it if the type is renamed.
    const NAME: &'static str = "[[ name ]]";
    /// Its queue (`job_queues` in torn.toml sets how many of a queue run at once).
    const QUEUE: &'static str = "default";
    /// Attempts before it is dead (`torn jobs retry` runs a dead job again).
    const MAX_ATTEMPTS: u32 = 10;

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        // An `Err` (or `?` on any error) is retried later; `JobError::permanent` is not.
        let _db = cx.db();
        tracing::info!(id = self.id, attempt = cx.attempt(), "[[ words ]]");
        Ok(())
    }
}
