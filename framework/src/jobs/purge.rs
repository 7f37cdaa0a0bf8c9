//! The clean-up of accounts' expired rows, as a job that new apps schedule.

use serde::{Deserialize, Serialize};

use super::{Job, JobContext, JobError};
use crate::auth::Accounts;

/// Delete expired sessions from the session store, and used or expired tokens and forgotten
/// throttle rows from the database. `torn new` schedules it hourly
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
        Ok(())
    }
}
