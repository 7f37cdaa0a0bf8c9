//! The clean-up of accounts' expired rows, as a job that new apps schedule.

use serde::{Deserialize, Serialize};

use super::{Job, JobContext, JobError};
use crate::auth::Accounts;

/// How long dead jobs are kept for `<app> jobs dead` and `retry`.
const DEAD_KEPT: std::time::Duration = std::time::Duration::from_hours(7 * 24);

/// Delete expired sessions from the session store, used or expired tokens and forgotten
/// throttle rows from the database, and jobs that died more than a week ago (with their data:
/// a mail job's holds the message). `torn new` schedules it hourly
/// (`.schedule::<PurgeExpired>("17 * * * *")`); an app with accounts that does not schedule it
/// runs the same clean-up hourly in every instance.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct PurgeExpired;

impl Job for PurgeExpired {
    const NAME: &'static str = "torn.purge_expired";
    const MAX_ATTEMPTS: u32 = 3;

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        let accounts = cx.get::<Accounts>().ok_or_else(|| {
            JobError::permanent("the app has no accounts: build it with App::accounts(…)")
        })?;
        accounts
            .store()
            .delete_expired()
            .await
            .map_err(|e| JobError::new(format!("could not delete expired sessions: {e}")))?;
        accounts.purge_expired().await.map_err(|e| {
            JobError::new(format!(
                "could not delete expired tokens and throttle rows: {e}"
            ))
        })?;
        cx.jobs()
            .delete_dead_older_than(DEAD_KEPT)
            .await
            .map_err(|e| JobError::new(format!("could not delete old dead jobs: {e}")))?;
        Ok(())
    }
}
