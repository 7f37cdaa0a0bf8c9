//! Live reload for `torn run`, the dev server: the app's side of the protocol that
//! `torn_dev_protocol` defines (the lines `torn run` writes to the app's standard input, the
//! variables, paths and event names).
//!
//! With it on, every HTML response gets `<script src="/__torn/reload.js">` before `</body>`;
//! the script listens to `/__torn/events` (server-sent events) and reloads the page when it
//! reconnects to another process: the new app after a rebuild. When standard input closes
//! (`torn run` is gone), the app shuts down, so it never outlives the dev server (`TORN_RUN=1`,
//! set by `torn run` with or without live reload). Neither is ever on with `TORN_ENV=prod`.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt as _};
use tokio::sync::{broadcast, watch};
use torn_dev_protocol::Command;

use crate::static_files::StaticFiles;

pub(crate) use torn_dev_protocol::{
    EVENTS_PATH, RELOAD_VAR as ENV_VAR, SCRIPT_PATH, SUPERVISED_VAR,
};

const SCRIPT: &str = include_str!("dev/reload.js");

/// What the browser is told.
#[derive(Clone, Debug)]
enum Notice {
    Building,
    Failed(String),
    Css { path: String, url: String },
    Reload,
}

/// The live-reload state of one app process.
#[derive(Debug)]
pub(crate) struct Reload {
    /// Different for every process: a browser that reconnects to another one reloads.
    boot: String,
    notices: broadcast::Sender<Notice>,
    /// The last build failure, shown to pages opened after it.
    failed: Mutex<Option<String>>,
    stop: watch::Sender<bool>,
}

impl Reload {
    /// On when `TORN_DEV_RELOAD=1`, except in prod.
    pub(crate) fn from_env(settings: &crate::Settings) -> Option<Arc<Self>> {
        if std::env::var(ENV_VAR).ok().as_deref() != Some("1") {
            return None;
        }
        if settings.env == crate::config::Env::Prod {
            tracing::warn!("{ENV_VAR} is ignored with TORN_ENV=prod");
            return None;
        }
        Some(Arc::new(Self::new()))
    }

    fn new() -> Self {
        Self {
            boot: crate::config::random_secret(),
            notices: broadcast::channel(64).0,
            failed: Mutex::new(None),
            stop: watch::channel(false).0,
        }
    }

    /// End the event streams (they would hold up a graceful shutdown).
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }

    fn handle(&self, command: Command, statics: &StaticFiles) {
        let notice = match command {
            Command::Building => Notice::Building,
            Command::Failed(text) => {
                *self.failed.lock().expect("dev state") = Some(text.clone());
                Notice::Failed(text)
            }
            Command::Css(path) => {
                let path = path.trim_start_matches('/');
                Notice::Css {
                    path: format!("/static/{path}"),
                    url: statics.url(path),
                }
            }
            Command::Reload => Notice::Reload,
        };
        // No browser listening is fine.
        let _ = self.notices.send(notice);
    }

    /// `GET /__torn/events`.
    pub(crate) fn events(&self) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
        // Reconnect quickly: after a rebuild the new app answers as soon as it has started.
        let hello = Event::default()
            .event(torn_dev_protocol::HELLO)
            .data(self.boot.clone())
            .retry(Duration::from_millis(250));
        let mut first = vec![Ok(hello)];
        if let Some(text) = self.failed.lock().expect("dev state").clone() {
            first.push(to_event(Notice::Failed(text)));
        }
        let notices = self.notices.subscribe();
        let stop = self.stop.subscribe();
        let rest =
            futures_util::stream::unfold((notices, stop), |(mut notices, mut stop)| async move {
                loop {
                    let notice = tokio::select! {
                        notice = notices.recv() => notice,
                        _ = stop.wait_for(|stop| *stop) => return None,
                    };
                    match notice {
                        Ok(notice) => return Some((to_event(notice), (notices, stop))),
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            });
        let stream = futures_util::stream::iter(first).chain(rest);
        Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
    }
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "the event stream of `Sse` yields results"
)]
fn to_event(notice: Notice) -> Result<Event, Infallible> {
    Ok(match notice {
        Notice::Building => Event::default().event(Command::Building.event()).data(""),
        Notice::Reload => Event::default().event(Command::Reload.event()).data(""),
        Notice::Failed(text) => Event::default()
            .event(Command::Failed(String::new()).event())
            .json_data(text)
            .unwrap_or_default(),
        Notice::Css { path, url } => Event::default()
            .event(Command::Css(String::new()).event())
            .json_data(serde_json::json!({ "path": path, "url": url }))
            .unwrap_or_default(),
    })
}

/// Whether `torn run` started this process (`TORN_RUN=1`, ignored in prod): it then reads
/// `torn run`'s lines on standard input, and stops when that closes.
pub(crate) fn supervised(settings: &crate::Settings) -> bool {
    std::env::var(SUPERVISED_VAR).ok().as_deref() == Some("1")
        && settings.env != crate::config::Env::Prod
}

/// Read `torn run`'s lines from standard input (passing them to `reload`, if live reload is
/// on) until it closes: `torn run` is gone, and the app should stop too.
pub(crate) async fn follow_supervisor(reload: Option<Arc<Reload>>, statics: StaticFiles) {
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Some(reload) = &reload else {
            continue;
        };
        if let Some(command) = Command::parse(&line) {
            reload.handle(command, &statics);
        } else {
            tracing::warn!("torn run sent {line:?}, which is not a known command");
        }
    }
    tracing::info!("torn run has gone (its pipe closed); stopping");
}

/// `GET /__torn/reload.js`.
pub(crate) async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        SCRIPT,
    )
        .into_response()
}

/// `html` with the reload script before its last `</body>` (or at its end).
pub(crate) fn inject(html: &str) -> String {
    let tag = format!("<script src=\"{SCRIPT_PATH}\"></script>");
    match html.rfind("</body>") {
        Some(at) => format!("{}{tag}\n{}", &html[..at], &html[at..]),
        None => format!("{html}{tag}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_end_of_the_body() {
        assert_eq!(
            inject("<html><body><p>x</p></body></html>"),
            "<html><body><p>x</p><script src=\"/__torn/reload.js\"></script>\n</body></html>"
        );
        assert_eq!(
            inject("<p>fragment</p>"),
            "<p>fragment</p><script src=\"/__torn/reload.js\"></script>\n"
        );
    }

    #[test]
    fn commands_are_read_from_json_lines() {
        let c: Command = serde_json::from_str(r#"{"event":"css","data":"css/app.css"}"#).unwrap();
        assert!(matches!(c, Command::Css(p) if p == "css/app.css"));
        let c: Command = serde_json::from_str(r#"{"event":"reload"}"#).unwrap();
        assert!(matches!(c, Command::Reload));
        let c: Command =
            serde_json::from_str(r#"{"event":"failed","data":"error[E0425]"}"#).unwrap();
        assert!(matches!(c, Command::Failed(t) if t == "error[E0425]"));
        assert!(serde_json::from_str::<Command>(r#"{"event":"explode"}"#).is_err());
    }
}
