//! Serving: the listening socket (`PORT` or `LISTEN_FDS`), graceful shutdown in two steps,
//! the readiness notice to a supervisor, and the hourly clean-up of expired rows.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use super::App;
use crate::config::Settings;
use crate::static_files::StaticFiles;
use crate::stats::Connection;

impl<S> App<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// Bind (`PORT`, or a socket inherited through `LISTEN_FDS`) and serve until SIGINT or
    /// SIGTERM, then let in-flight requests finish (bounded by `shutdown_timeout`).
    pub async fn serve(self) -> Result<(), ServeError> {
        let listener = bind(&self.settings).await?;
        // The metrics' recorder and their own address, before any background work starts.
        #[cfg(feature = "metrics")]
        if self.settings.metrics.enabled() {
            crate::stats::recorder().map_err(ServeError::Metrics)?;
        }
        let metrics_listener = match self.settings.metrics.listen.as_str() {
            "" => None,
            addr => Some(
                listen(addr)
                    .await
                    .map_err(|source| ServeError::MetricsBind {
                        addr: addr.into(),
                        source,
                    })?,
            ),
        };
        let timeout = self.settings.server.shutdown_timeout;
        let addr = listener.local_addr().map_err(ServeError::Io)?;
        tracing::info!(env = %self.settings.env, "serving http://{addr}");
        let dev = self.dev.clone();
        let supervisor = crate::dev::supervised(&self.settings).then(|| {
            let statics = StaticFiles::new(self.settings.server.static_dir.clone());
            tokio::spawn(crate::dev::follow_supervisor(dev.clone(), statics))
        });
        #[cfg(feature = "realtime")]
        let pubsub = self.features.pubsub.clone();
        #[cfg(feature = "realtime")]
        let topics = pubsub.clone();
        // When the drain window ends: set by the signal, for the WebSockets' wait below.
        #[cfg(feature = "realtime")]
        let drain_ends = Arc::new(std::sync::OnceLock::new());
        #[cfg(feature = "realtime")]
        let ends = drain_ends.clone();
        let super::Running {
            router,
            metrics,
            background,
        } = self.into_running(true);
        // The metrics on an address of their own: up while the app serves, and through its
        // drain.
        let metrics = metrics
            .zip(metrics_listener)
            .map(|(router, listener)| serve_metrics(listener, router));
        let stop_background = background.stopper();
        // When the shutdown began: the running jobs have the same window as the requests.
        let stopping_since = Arc::new(std::sync::OnceLock::new());
        let since = stopping_since.clone();
        let signal = async move {
            let supervisor_gone = async {
                match supervisor {
                    Some(task) => {
                        let _ = task.await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown_signal() => {}
                () = supervisor_gone => {}
            }
            // The job queues take no more jobs; the running ones go on while requests drain.
            let _ = since.set(tokio::time::Instant::now());
            stop_background();
            // The live-reload streams would hold up the graceful shutdown.
            if let Some(dev) = &dev {
                dev.stop();
            }
            // WebSockets close with 1001 ("going away"), event streams and long polls end.
            #[cfg(feature = "realtime")]
            {
                let _ = ends.set(tokio::time::Instant::now() + timeout + DRAIN);
                topics.close();
            }
        };
        notify_ready();
        serve_router(listener, router, signal, timeout)
            .await
            .map_err(ServeError::Io)?;
        // Upgraded connections are no longer the server's: wait for their close frames, which
        // went out when the signal came, within what is left of the same drain window.
        #[cfg(feature = "realtime")]
        if let Some(left) = drain_ends
            .get()
            .map(|end| end.saturating_duration_since(tokio::time::Instant::now()))
            && tokio::time::timeout(left, pubsub.sockets_closed())
                .await
                .is_err()
        {
            tracing::warn!("WebSockets still open after {timeout:?}; dropping them");
        }
        let left = stopping_since
            .get()
            .map_or(timeout, |since| timeout.saturating_sub(since.elapsed()));
        background.finish(left).await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        Ok(())
    }
}

/// Serve the metrics' router on `listener` (`metrics_listen`), until the task is aborted.
fn serve_metrics(listener: TcpListener, router: Router) -> tokio::task::JoinHandle<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("metrics on http://{addr}");
    }
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, service).await {
            tracing::error!(error = %e, "the metrics' server stopped");
        }
    })
}

/// Tell a supervisor that the app is built and its socket is ready, when it asked to be told
/// (`NOTIFY_SOCKET`, as systemd's `Type=notify` and `torn run` do).
fn notify_ready() {
    #[cfg(unix)]
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        use std::os::unix::net::UnixDatagram;
        let sent = UnixDatagram::unbound().and_then(|socket| socket.send_to(b"READY=1", &path));
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not tell NOTIFY_SOCKET that the app is ready");
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken.
    #[error(
        "cannot listen on {addr}: the port is already in use. Stop the other server, or choose \
         another port with PORT=<number>"
    )]
    AddrInUse {
        /// The address.
        addr: String,
    },
    /// Binding failed otherwise.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// `metrics_listen` could not be bound.
    #[error("cannot listen on {addr} for the metrics (metrics_listen): {source}")]
    MetricsBind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The metrics' recorder could not be installed.
    #[error("{0}")]
    Metrics(String),
    /// An I/O error while serving.
    #[error(transparent)]
    Io(std::io::Error),
}

/// The listening socket: inherited from `LISTEN_FDS` (systemd, listenfd, `torn run`), or bound
/// to `host:port` from settings.
pub async fn bind(settings: &Settings) -> Result<TcpListener, ServeError> {
    let mut fds = listenfd::ListenFd::from_env();
    if let Ok(Some(std_listener)) = fds.take_tcp_listener(0) {
        let addr = std_listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        std_listener
            .set_nonblocking(true)
            .map_err(|source| ServeError::Bind {
                addr: addr.clone(),
                source,
            })?;
        return TcpListener::from_std(std_listener)
            .map_err(|source| ServeError::Bind { addr, source });
    }
    let addr = format!("{}:{}", settings.server.host, settings.server.port);
    listen(&addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::AddrInUse { addr }
        } else {
            ServeError::Bind { addr, source }
        }
    })
}

/// How many connections the kernel keeps waiting to be accepted. The standard library's 128
/// overflowed when 200 WebSocket clients connected at once (bench/websocket.sh): the rest
/// waited a second for their SYN to be sent again. A deploy or a restart makes every open
/// page reconnect within a few seconds, so the queue is deeper (the kernel caps it at
/// `net.core.somaxconn`).
const BACKLOG: u32 = 4096;

/// Listen on `addr` (`host:port`; the first of its addresses that binds).
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut failed = None;
    for at in tokio::net::lookup_host(addr).await? {
        let socket = if at.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As std and tokio do: a restarted server binds while old connections linger.
        socket.set_reuseaddr(true)?;
        match socket.bind(at) {
            Ok(()) => return socket.listen(BACKLOG),
            Err(e) => failed = Some(e),
        }
    }
    Err(failed.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the host has no address")
    }))
}

/// How long a stopping server keeps the connections it accepted last before it shuts them down
/// if they have sent no request yet: long enough for a request that is on its way.
const DRAIN: Duration = Duration::from_millis(250);

/// Serve `router` on `listener` until `signal` resolves; then stop accepting, let in-flight
/// requests finish, and give up on them after `timeout`.
///
/// Stopping happens in two steps. First the server stops accepting and closes its socket (after
/// taking the connections already waiting in its queue): new connections are refused, or, on a
/// socket shared with another process (a restart under systemd or `torn run`), wait in its
/// queue for the other one. Then, a quarter of a second later,
/// connections that have not sent a request are closed and the others finish theirs: closing
/// them at once would drop a connection accepted a moment before the signal, whose request
/// had not arrived yet.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    signal: impl Future<Output = ()> + Send + 'static,
    timeout: Duration,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    let stopping = Arc::new(tokio::sync::Notify::new());
    let notify = stopping.clone();
    let (stop_accepting, accepting) = tokio::sync::watch::channel(false);
    let signal = async move {
        signal.await;
        tracing::info!("shutting down: finishing in-flight requests");
        stop_accepting.send_replace(true);
        notify.notify_one();
        tokio::time::sleep(DRAIN).await;
    };
    let listener = Draining {
        addr: listener.local_addr()?,
        listener: Some(listener),
        queued: std::collections::VecDeque::new(),
        stop: accepting,
    }
    // `tap_io` gives the listener axum's `ConnectInfo<SocketAddr>`.
    .tap_io(|_| {});
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let deadline = async move {
        stopping.notified().await;
        tokio::time::sleep(timeout + DRAIN).await;
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!("shutdown timed out after {timeout:?}; closing the remaining connections");
            Ok(())
        }
    }
}

/// A listener that stops accepting once `stop` is set, before the server's graceful shutdown,
/// and closes its socket then: alone, the socket is gone and new connections are refused at
/// once; shared with another process, that one goes on accepting.
///
/// Connections the kernel had already taken into the socket's queue are accepted before it
/// closes, and served: closing a socket resets the connections waiting in its queue, and a
/// proxy that has sent a request on one (a form, which it may not send again elsewhere) would
/// answer 502.
struct Draining {
    listener: Option<TcpListener>,
    /// Connections taken from the queue at the stop, still to be handed to the server.
    queued: std::collections::VecDeque<tokio::net::TcpStream>,
    addr: SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Draining {
    /// Close the socket, keeping the connections waiting in its queue.
    fn close(&mut self) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        // Out of tokio, so that `accept` asks the kernel rather than tokio's idea of readiness.
        let Ok(listener) = listener.into_std() else {
            return;
        };
        while let Ok((stream, _)) = listener.accept() {
            let stream = stream
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpStream::from_std(stream));
            if let Ok(stream) = stream {
                self.queued.push_back(stream);
            }
        }
        // The std listener is non-blocking (tokio's was), so the loop ends at an empty queue;
        // dropping it closes the socket.
    }
}

impl axum::serve::Listener for Draining {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(stream) = self.queued.pop_front() {
                match stream.peer_addr() {
                    Ok(peer) => return (Connection::new(stream), peer),
                    // Gone already.
                    Err(_) => continue,
                }
            }
            let Some(listener) = &self.listener else {
                // Stopped: accept nothing more; the server ends this future at shutdown.
                return std::future::pending().await;
            };
            let accepted = tokio::select! {
                biased;
                stopped = self.stop.wait_for(|stop| *stop) => {
                    drop(stopped);
                    None
                }
                accepted = listener.accept() => Some(accepted),
            };
            match accepted {
                None => self.close(),
                Some(Ok((stream, peer))) => return (Connection::new(stream), peer),
                Some(Err(e)) => accept_failed(e).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// A failed `accept`: a connection that went away is nothing; anything else (out of file
/// descriptors) is logged and retried a second later, as axum does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener as _;

    use super::*;

    /// Connections waiting in the socket's queue when the stop comes (a proxy connected, and
    /// sent a form, a moment before) are handed to the server before the socket closes:
    /// closing it with them in its queue would reset them.
    #[tokio::test]
    async fn the_connections_queued_at_the_stop_are_accepted_before_the_socket_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        for _ in 0..20 {
            clients.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        let (_stop, stopped) = tokio::sync::watch::channel(true);
        let mut draining = Draining {
            listener: Some(listener),
            queued: std::collections::VecDeque::new(),
            addr,
            stop: stopped,
        };
        let mut peers = Vec::new();
        for _ in 0..20 {
            let accepted = tokio::time::timeout(Duration::from_secs(5), draining.accept())
                .await
                .expect("a queued connection is accepted after the stop");
            peers.push(accepted.1);
        }
        let mut mine: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        mine.sort();
        peers.sort();
        assert_eq!(peers, mine);
        // Then nothing more, and the socket is closed.
        let more = tokio::time::timeout(Duration::from_millis(100), draining.accept()).await;
        assert!(more.is_err());
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
