//! The workers of an instance that runs jobs (`run_jobs`): one loop per queue, taking jobs as
//! its concurrency allows; the lease renewal of the jobs it runs; the schedules. At shutdown
//! they stop taking jobs, let the running ones finish within the shutdown timeout, and give the
//! rest back to the queue.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::store::{self, Taken, now_ms};
use super::{JobContext, JobError, Jobs, Kind, schedule};

/// A job this instance runs (keyed by its id and attempt): its task, and when its lease was
/// last renewed.
struct Held {
    task: JoinHandle<()>,
    renewed: tokio::time::Instant,
}

/// The jobs an instance is running, by (id, attempt).
type Running = Arc<Mutex<HashMap<(i64, i64), Held>>>;

/// The running workers; [`Workers::stop`] ends them.
pub(crate) struct Workers {
    jobs: Jobs,
    stop: watch::Sender<bool>,
    loops: Mutex<Vec<JoinHandle<()>>>,
    renewal: JoinHandle<()>,
    running: Running,
}

impl Workers {
    /// Start working every queue that a registered kind of job or `job_queues` names, and
    /// keep every schedule.
    pub(crate) fn start(jobs: &Jobs) -> Workers {
        let registry = Arc::new(jobs.registry());
        let settings = &jobs.inner.settings;
        let mut queues: BTreeMap<String, usize> = registry
            .kinds
            .values()
            .map(|kind| (kind.queue.to_string(), 1))
            .collect();
        for (queue, &concurrency) in &settings.queues {
            queues.insert(queue.clone(), concurrency);
        }
        let (stop, stopped) = watch::channel(false);
        let running = Running::default();
        let mut loops: Vec<JoinHandle<()>> = queues
            .into_iter()
            .map(|(queue, concurrency)| {
                tokio::spawn(work_queue(
                    jobs.clone(),
                    registry.clone(),
                    queue,
                    concurrency,
                    running.clone(),
                    stopped.clone(),
                ))
            })
            .collect();
        for schedule in &registry.schedules {
            loops.push(tokio::spawn(schedule::keep(
                schedule.clone(),
                jobs.clone(),
                stopped.clone(),
            )));
        }
        let renewal = tokio::spawn(renew_leases(jobs.clone(), running.clone()));
        tracing::debug!(instance = %jobs.inner.instance, "job workers started");
        Workers {
            jobs: jobs.clone(),
            stop,
            loops: Mutex::new(loops),
            renewal,
            running,
        }
    }

    /// Take no more jobs (the schedules stop too); the running ones go on.
    pub(crate) fn stop_taking(&self) {
        self.stop.send_replace(true);
    }

    /// Stop taking jobs, wait up to `timeout` for the running ones, and give the rest back to
    /// the queue (they run again, in this instance's successor or another one).
    pub(crate) async fn finish(&self, timeout: Duration) {
        self.stop_taking();
        let deadline = tokio::time::Instant::now() + timeout;
        let loops = std::mem::take(&mut *self.loops.lock().expect("worker loops"));
        for task in loops {
            let _ = tokio::time::timeout_at(deadline, task).await;
        }
        while !self.running.lock().expect("running jobs").is_empty()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left: Vec<((i64, i64), Held)> =
            self.running.lock().expect("running jobs").drain().collect();
        for ((id, attempts), held) in left {
            held.task.abort();
            // A job that recorded its end meanwhile is not given back (it would run again).
            if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(1), held.task).await {
                continue;
            }
            let db = self.jobs.db();
            let given = tokio::time::timeout(
                Duration::from_secs(2),
                store::give_back(db, id, &self.jobs.inner.instance, attempts),
            )
            .await;
            match given {
                Ok(Ok(())) => tracing::warn!(job = id, "job given back to the queue at shutdown"),
                Ok(Err(e)) => {
                    tracing::error!(job = id, error = %e, "job not given back at shutdown; it runs again when its lease ends");
                }
                Err(_) => {
                    tracing::error!(
                        job = id,
                        "job not given back at shutdown (the database did not answer); it runs again when its lease ends"
                    );
                }
            }
        }
        self.renewal.abort();
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // A dropped sender stops the workers too.
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn work_queue(
    jobs: Jobs,
    registry: Arc<super::Registry>,
    queue: String,
    concurrency: usize,
    running: Running,
    mut stop: watch::Receiver<bool>,
) {
    let settings = &jobs.inner.settings;
    let permits = Arc::new(Semaphore::new(concurrency));
    loop {
        let permit = tokio::select! {
            biased;
            () = stopped(&mut stop) => return,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore stays open"),
        };
        if *stop.borrow() {
            return;
        }
        // Listen before looking, so that a job enqueued meanwhile is not missed.
        let woken = jobs.inner.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        match store::take(jobs.db(), &queue, &jobs.inner.instance, settings.lease).await {
            Ok(Some(taken)) => {
                let kind = registry.kinds.get(taken.kind.as_str()).cloned();
                let mut tasks = running.lock().expect("running jobs");
                let (id, attempts) = (taken.id, taken.attempts);
                let task = tokio::spawn({
                    let (jobs, running) = (jobs.clone(), running.clone());
                    async move {
                        run_one(&jobs, kind, &taken).await;
                        running
                            .lock()
                            .expect("running jobs")
                            .remove(&(taken.id, taken.attempts));
                        drop(permit);
                    }
                });
                let renewed = tokio::time::Instant::now();
                tasks.insert((id, attempts), Held { task, renewed });
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(queue, error = %e, "could not take a job"),
        }
        drop(permit);
        tokio::select! {
            biased;
            () = stopped(&mut stop) => return,
            () = woken => {}
            () = tokio::time::sleep(settings.poll_interval) => {}
        }
    }
}

/// Run every job that is due, here and one at a time, until none is: for tests, which then
/// check what the jobs did. A failed job is retried later, as by the workers, not now.
pub(super) async fn run_due(jobs: &Jobs) -> Result<super::Ran, sqlx::Error> {
    let registry = jobs.registry();
    let mut queues: std::collections::BTreeSet<&str> =
        registry.kinds.values().map(|kind| kind.queue).collect();
    queues.extend(jobs.inner.settings.queues.keys().map(String::as_str));
    let mut ran = super::Ran::default();
    loop {
        let before = ran;
        for queue in &queues {
            while let Some(taken) = store::take(
                jobs.db(),
                queue,
                &jobs.inner.instance,
                jobs.inner.settings.lease,
            )
            .await?
            {
                let kind = registry.kinds.get(taken.kind.as_str()).cloned();
                if run_one(jobs, kind, &taken).await {
                    ran.done += 1;
                } else {
                    ran.failed += 1;
                }
            }
        }
        if ran == before {
            return Ok(ran);
        }
    }
}

/// Run one attempt of a job, and record how it went. True if it succeeded.
async fn run_one(jobs: &Jobs, kind: Option<Kind>, taken: &Taken) -> bool {
    #[cfg(feature = "metrics")]
    let started = std::time::Instant::now();
    let outcome = attempt(jobs, kind, taken).await;
    let dead = matches!(&outcome, Err(e) if e.permanent || taken.attempts >= taken.max_attempts);
    #[cfg(feature = "metrics")]
    crate::stats::job_ran(
        &taken.kind,
        match (&outcome, dead) {
            (Ok(()), _) => "done",
            (Err(_), true) => "dead",
            (Err(_), false) => "retry",
        },
        started.elapsed(),
    );
    let (db, instance) = (jobs.db(), jobs.inner.instance.as_str());
    let recorded = match &outcome {
        Ok(()) => {
            tracing::debug!(job = taken.id, kind = taken.kind, "job done");
            store::finish(db, taken, instance).await
        }
        Err(e) if dead => {
            tracing::error!(
                job = taken.id,
                kind = taken.kind,
                attempt = taken.attempts,
                error = %e,
                "job failed for good: it is dead (`<app> jobs retry {}` runs it again)",
                taken.id
            );
            store::fail(db, taken, instance, e.message(), None).await
        }
        Err(e) => {
            let wait = backoff(&jobs.inner.settings, taken.attempts);
            tracing::warn!(
                job = taken.id,
                kind = taken.kind,
                attempt = taken.attempts,
                retry_in_secs = wait.as_secs(),
                error = %e,
                "job failed; it will be retried"
            );
            let at = now_ms().saturating_add(store::ms(wait));
            store::fail(db, taken, instance, e.message(), Some(at)).await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(job = taken.id, error = %e, "could not record how the job went; it runs again when its lease ends");
    }
    outcome.is_ok()
}

async fn attempt(jobs: &Jobs, kind: Option<Kind>, taken: &Taken) -> Result<(), JobError> {
    if taken.attempts > taken.max_attempts {
        return Err(JobError::permanent(
            "its instance stopped answering during its last attempt",
        ));
    }
    let Some(kind) = kind else {
        // Another version of the app may know it (a deploy in progress): a retry, not a loss.
        return Err(JobError::new(format!(
            "this instance knows no job named {:?}: register it with Jobs::register",
            taken.kind
        )));
    };
    let cx = JobContext {
        jobs: jobs.clone(),
        id: taken.id,
        attempt: u32::try_from(taken.attempts).unwrap_or(u32::MAX),
    };
    // Data this version cannot read may be from a newer one (a deploy in progress): retried.
    let run = (kind.run)(&taken.payload, cx).map_err(JobError::new)?;
    match tokio::time::timeout(kind.timeout, AssertUnwindSafe(run).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(JobError::new(format!(
            "it panicked: {}",
            panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into())
        ))),
        Err(_) => Err(JobError::new(format!(
            "it ran longer than its timeout ({} s)",
            kind.timeout.as_secs()
        ))),
    }
}

/// The wait after a failed attempt: `job_backoff_secs`, doubled for each attempt before it, at
/// most `job_max_backoff_secs`, and up to a tenth more at random so that jobs that failed
/// together do not all come back together.
fn backoff(settings: &crate::config::JobSettings, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let wait = settings
        .backoff
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(settings.max_backoff);
    wait + wait.mul_f64(rand::random::<f64>() / 10.0)
}

/// Renew the lease of each job this instance runs, three times per lease. A job whose lease
/// another instance has taken (this one could not renew it in time), or that went a whole lease
/// without a renewal (the database was unreachable), is stopped here: another instance may be
/// running it now.
async fn renew_leases(jobs: Jobs, running: Running) {
    let lease = jobs.inner.settings.lease;
    let mut every = tokio::time::interval(lease / 3);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let held: Vec<((i64, i64), tokio::time::Instant)> = running
            .lock()
            .expect("running jobs")
            .iter()
            .map(|(&key, held)| (key, held.renewed))
            .collect();
        for ((id, attempts), renewed) in held {
            let outcome = store::renew(jobs.db(), id, &jobs.inner.instance, attempts, lease).await;
            let lost = match outcome {
                Ok(true) => {
                    if let Some(held) = running
                        .lock()
                        .expect("running jobs")
                        .get_mut(&(id, attempts))
                    {
                        held.renewed = tokio::time::Instant::now();
                    }
                    false
                }
                Ok(false) => true,
                Err(e) => {
                    tracing::warn!(job = id, error = %e, "could not renew a running job's lease");
                    renewed.elapsed() >= lease
                }
            };
            if lost
                && let Some(held) = running
                    .lock()
                    .expect("running jobs")
                    .remove(&(id, attempts))
            {
                held.task.abort();
                tracing::warn!(
                    job = id,
                    "job stopped: its lease ran out, and another instance may run it"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_longest_wait() {
        let settings = crate::config::JobSettings {
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_mins(1),
            ..Default::default()
        };
        let within = |attempts, secs: u64| {
            let wait = backoff(&settings, attempts);
            assert!(
                wait >= Duration::from_secs(secs) && wait <= Duration::from_secs(secs) * 11 / 10,
                "attempt {attempts}: {wait:?}, expected {secs} s to 10% more"
            );
        };
        within(1, 5);
        within(2, 10);
        within(3, 20);
        within(4, 40);
        within(5, 60);
        within(100, 60);
    }
}
