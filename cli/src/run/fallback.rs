//! What answers on the app's port while no app is running (the first build, a build that
//! failed before any app started, an app that stopped): a page that says so, with the
//! compiler's message, and reloads by itself once the app is back. It speaks just enough
//! HTTP/1.1 for a browser: one request per connection, then close.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use torn_dev_protocol::{self as protocol, Command};

/// What the page says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// The first build is running.
    Building,
    /// The build failed; the compiler's message.
    Failed(String),
    /// The app stopped (or did not start); why, and its last lines of output.
    Stopped(String),
}

/// The fallback server, answering until [`Fallback::stop`].
pub struct Fallback {
    status: Arc<Mutex<Status>>,
    /// Bumped when the status changes (open pages reload) and set to `None` to stop.
    signal: watch::Sender<Option<u64>>,
    task: JoinHandle<()>,
}

impl Fallback {
    /// Answer on `listener` (a clone of the dev server's socket) with `status`.
    pub fn start(listener: &std::net::TcpListener, status: Status) -> std::io::Result<Self> {
        let listener = listener.try_clone()?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let status = Arc::new(Mutex::new(status));
        let (signal, mut rx) = watch::channel(Some(0));
        let shared = status.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            tokio::spawn(answer(stream, shared.clone(), rx.clone()));
                        }
                    }
                    changed = rx.changed() => {
                        if changed.is_err() || rx.borrow().is_none() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Fallback {
            status,
            signal,
            task,
        })
    }

    /// Change what the page says; open pages reload.
    pub fn set(&self, status: Status) {
        let mut current = self.status.lock().expect("fallback status");
        if *current != status {
            *current = status;
            self.signal
                .send_modify(|n| *n = n.map(|n| n.wrapping_add(1)));
        }
    }

    /// Stop answering (connections then wait for the app) and close the pages' event streams,
    /// so that they reconnect to the app.
    pub async fn stop(self) {
        self.signal.send_replace(None);
        let _ = self.task.await;
    }
}

async fn answer(
    mut stream: TcpStream,
    status: Arc<Mutex<Status>>,
    mut signal: watch::Receiver<Option<u64>>,
) {
    let Some(path) = read_path(&mut stream).await else {
        return;
    };
    if path == protocol::EVENTS_PATH {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
             Connection: close\r\n\r\nretry: 250\nevent: {}\ndata: torn-run\n\n",
            protocol::HELLO
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        signal.mark_unchanged();
        loop {
            let stop = signal.changed().await.is_err() || signal.borrow().is_none();
            if stop {
                return;
            }
            let reload = format!("event: {}\ndata:\n\n", Command::Reload.event());
            if stream.write_all(reload.as_bytes()).await.is_err() {
                return;
            }
        }
    }
    let body = page(&status.lock().expect("fallback status").clone());
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The path of the request on `stream` (its head read within a few seconds), if any.
async fn read_path(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()??;
    let line = String::from_utf8_lossy(&head);
    let target = line.split_whitespace().nth(1)?;
    Some(target.split('?').next().unwrap_or("/").to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page for `status`.
pub fn page(status: &Status) -> String {
    let (title, hint, detail) = match status {
        Status::Building => (
            "Building…",
            "torn run is building the app. This page reloads by itself when it is up.",
            String::new(),
        ),
        Status::Failed(text) => (
            "Build failed",
            "Fix the file and save: torn run rebuilds, and this page reloads by itself.",
            text.clone(),
        ),
        Status::Stopped(text) => (
            "The app stopped",
            "Change a file and save to rebuild and start it again; this page reloads by itself.",
            text.clone(),
        ),
    };
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!("<pre>{}</pre>", escape(&detail))
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · torn run</title>
<style>
body {{ margin: 0; padding: 24px; background: #141418; color: #f5f5f5; font: 14px/1.5 system-ui, sans-serif; }}
h1 {{ margin: 0 0 4px; font-size: 20px; color: {colour}; }}
p {{ margin: 0 0 16px; color: #c8c8c8; }}
pre {{ white-space: pre-wrap; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{hint}</p>
{detail}
<script>
(() => {{
  let first = null;
  const events = new EventSource("{events_path}");
  events.addEventListener("{hello}", (e) => {{
    if (first !== null && e.data !== first) location.reload();
    first = e.data;
  }});
  events.addEventListener("{reload}", () => location.reload());
}})();
</script>
</body>
</html>
"#,
        colour = if matches!(status, Status::Building) {
            "#8ab4f8"
        } else {
            "#ff6b6b"
        },
        events_path = protocol::EVENTS_PATH,
        hello = protocol::HELLO,
        reload = Command::Reload.event(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_the_compiler_message() {
        let html = page(&Status::Failed("error: expected `<T>` & found `>`".into()));
        assert!(html.contains("Build failed"));
        assert!(html.contains("error: expected `&lt;T&gt;` &amp; found `&gt;`"));
        assert!(!html.contains("`<T>`"));
    }
}
