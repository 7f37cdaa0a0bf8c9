//! Mail through the queue: with a job queue, `Mailer::send_later` stores a [`SendMail`] job
//! before it returns, and a worker sends it, retrying while the SMTP server is down.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{Job, JobContext, JobError, Jobs};
use crate::mail::{Email, MailError, Mailer, Outbox};

/// The job that sends one message with the app's mailer (queue `mail`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SendMail(pub Email);

impl Job for SendMail {
    const NAME: &'static str = "torn.mail";
    const QUEUE: &'static str = "mail";
    /// With the default backoff (5 s doubled, at most an hour), about nine hours of retries.
    const MAX_ATTEMPTS: u32 = 20;
    const TIMEOUT: std::time::Duration = std::time::Duration::from_mins(1);

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        let mailer = cx
            .get::<Mailer>()
            .ok_or_else(|| JobError::new("the app has no mailer: build it with App::mailer(…)"))?;
        match mailer.send(&self.0).await {
            Ok(()) => Ok(()),
            // The message itself is wrong, or the server refused it for good (an unknown
            // recipient): no retry sends it, and an attacker's made-up addresses do not keep
            // the relay busy for hours.
            Err(
                e @ (MailError::BadAddress(_)
                | MailError::Build(_)
                | MailError::Send {
                    permanent: true, ..
                }),
            ) => Err(JobError::permanent(e)),
            Err(e) => Err(e.into()),
        }
    }
}

impl Outbox for Jobs {
    fn store<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            self.enqueue(&SendMail(email.clone()))
                .await
                .map(|_| ())
                .map_err(|e| MailError::Queue(e.to_string()))
        })
    }
}

/// The mailer as the app's handlers get it: `send_later` stores the mail in `jobs`.
pub(crate) fn mail_through(mailer: Mailer, jobs: &Jobs) -> Mailer {
    mailer.with_outbox(Arc::new(jobs.clone()))
}
