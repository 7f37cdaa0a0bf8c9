//! What torn records for Prometheus (feature `metrics`): the metrics' names, the process's
//! recorder, and the counts the server and the job workers keep. `app/` serves them at
//! `/metrics`. Without the feature nothing is recorded; with metrics off in the settings, the
//! `metrics` crate's macros go nowhere (no recorder is installed), and the requests are not
//! counted at all.

use std::pin::Pin;
use std::task::{Context, Poll};
#[cfg(feature = "metrics")]
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Requests answered, by `method`, `route` and `status`.
#[cfg(feature = "metrics")]
pub(crate) const REQUESTS: &str = "http_requests_total";
/// The time to answer a request (until the response's head), by `method`, `route` and `status`.
#[cfg(feature = "metrics")]
pub(crate) const REQUEST_SECONDS: &str = "http_request_duration_seconds";
/// Connections open now, WebSockets among them.
#[cfg(feature = "metrics")]
const CONNECTIONS: &str = "http_connections_open";
/// Jobs by `queue` and `state` (`queued`: due now; `waiting`: due later, such as a retry;
/// `running`; `dead`), from the database when the metrics are read.
#[cfg(feature = "metrics")]
pub(crate) const JOBS: &str = "torn_jobs";
/// Job attempts that ended, by `job` and `outcome` (`done`, `retry`, `dead`).
#[cfg(feature = "metrics")]
const JOB_RUNS: &str = "torn_job_runs_total";
/// How long job attempts took, by `job`.
#[cfg(feature = "metrics")]
const JOB_SECONDS: &str = "torn_job_duration_seconds";

/// The histograms' buckets, in seconds.
#[cfg(feature = "metrics")]
const REQUEST_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
#[cfg(feature = "metrics")]
const JOB_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// How often the recorder's histograms are folded, so that they do not grow between scrapes.
#[cfg(feature = "metrics")]
const UPKEEP: Duration = Duration::from_secs(5);

/// The process's recorder, installed by the first app that turns metrics on.
#[cfg(feature = "metrics")]
static RECORDER: std::sync::OnceLock<
    Result<metrics_exporter_prometheus::PrometheusHandle, String>,
> = std::sync::OnceLock::new();

/// The process's Prometheus recorder, installed the first time it is asked for; an error if
/// the process had installed another recorder.
#[cfg(feature = "metrics")]
pub(crate) fn recorder() -> Result<metrics_exporter_prometheus::PrometheusHandle, String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), REQUEST_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(JOB_SECONDS.into()), JOB_BUCKETS)
                })
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| {
                    format!(
                        "metrics are on (metrics_listen or metrics_token), but this process \
                         already has a metrics recorder ({e}); torn installs the Prometheus one, \
                         and the app's own `metrics::counter!` and the like report to it"
                    )
                })?;
            describe();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("torn-metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| format!("cannot start the metrics' upkeep thread: {e}"))?;
            Ok(handle)
        })
        .clone()
}

#[cfg(feature = "metrics")]
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        REQUESTS,
        "Requests answered, by method, route name and status."
    );
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Time to answer a request, until the response's head, by method, route name and status."
    );
    describe_gauge!(CONNECTIONS, "HTTP connections open, WebSockets among them.");
    describe_gauge!(
        JOBS,
        "Jobs in the database by queue and state: queued (due), waiting (due later), running, \
         dead. Every instance reports the same rows."
    );
    describe_counter!(
        JOB_RUNS,
        "Job attempts this instance ended, by job and outcome (done, retry, dead)."
    );
    describe_histogram!(
        JOB_SECONDS,
        Unit::Seconds,
        "Time a job attempt took, by job."
    );
}

/// A job attempt that ended: its outcome (`done`, `retry`, `dead`) and how long it took.
#[cfg(all(feature = "metrics", feature = "jobs"))]
pub(crate) fn job_ran(job: &str, outcome: &'static str, took: Duration) {
    metrics::counter!(JOB_RUNS, "job" => job.to_string(), "outcome" => outcome).increment(1);
    metrics::histogram!(JOB_SECONDS, "job" => job.to_string()).record(took);
}

/// An accepted connection, counted in `http_connections_open` until it closes (after its
/// upgrade to a WebSocket, if it had one).
pub(crate) struct Connection {
    stream: TcpStream,
    #[cfg(feature = "metrics")]
    _open: OpenConnection,
}

impl Connection {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Connection {
            stream,
            #[cfg(feature = "metrics")]
            _open: OpenConnection::new(),
        }
    }
}

/// One more open connection, until it is dropped: on the gauge of the recorder that counted
/// it (none before metrics are on), so that the count cannot go below zero.
#[cfg(feature = "metrics")]
struct OpenConnection(metrics::Gauge);

#[cfg(feature = "metrics")]
impl OpenConnection {
    fn new() -> Self {
        let gauge = metrics::gauge!(CONNECTIONS);
        gauge.increment(1.0);
        OpenConnection(gauge)
    }
}

#[cfg(feature = "metrics")]
impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
