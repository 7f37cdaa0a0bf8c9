//! `torn run`: the dev server.
//!
//! It binds the app's port itself and keeps it for as long as it runs. Each build of the app is
//! started with that socket (`LISTEN_FDS`), so the port never refuses a connection: while cargo
//! rebuilds, the running app keeps answering; the new one starts on the same socket, says when it
//! is ready (`NOTIFY_SOCKET`), and only then is the old one asked to stop, finishing the
//! requests it has. When no app is running (the first build, a failed first build, an app that
//! stopped), torn run answers with a page that says so and reloads once the app is back.
//!
//! Changes under `static/` need no build: the app is told (on its standard input, see
//! `torn::dev`) and the browser swaps a stylesheet in place or reloads. Other changes rebuild.

mod app;
mod build;
mod fallback;
mod watch;

use std::io::IsTerminal as _;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::watch as signal;
use torn_dev_protocol::{self as protocol, Command};

use self::app::{AppProcess, Launch, Started};
use self::build::Built;
use self::fallback::{Fallback, Status};
use crate::generate::AppDir;
use crate::{CliError, RunOptions};

/// How long an app that is asked to stop may take to finish its requests.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Run the dev server for `app` until SIGINT or SIGTERM.
pub fn run(app: &AppDir, opts: &RunOptions) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::caused("cannot start", e))?;
    runtime.block_on(DevServer::new(app, opts)?.serve())
}

/// The port when none is given, as the app's dev profile has it: `PORT`, else `port` in
/// `[dev]`, else in `[default]` of `torn.toml`, else 8888.
fn default_port(root: &Path) -> u16 {
    let file = std::fs::read_to_string(root.join("torn.toml")).unwrap_or_default();
    port_from(std::env::var("PORT").ok().as_deref(), &file)
}

fn port_from(env: Option<&str>, torn_toml: &str) -> u16 {
    if let Some(port) = env.and_then(|p| p.trim().parse().ok()) {
        return port;
    }
    let table = torn_toml.parse::<toml::Table>().unwrap_or_default();
    ["dev", "default"]
        .iter()
        .find_map(|section| table.get(*section)?.get("port")?.as_integer())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(8888)
}

/// Coloured, concise progress lines on stderr.
struct Say {
    quiet: bool,
    verbose: bool,
    colour: bool,
}

impl Say {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }
    fn line(&self, code: &str, text: &str) {
        eprintln!(
            "{} {}",
            self.paint("1;36", "torn run"),
            self.paint(code, text)
        );
    }
    /// Progress: shown unless `--quiet`.
    fn step(&self, text: &str) {
        if !self.quiet {
            self.line("2", text);
        }
    }
    fn good(&self, text: &str) {
        if !self.quiet {
            self.line("32", text);
        }
    }
    /// Details: shown with `--verbose`.
    fn detail(&self, text: &str) {
        if self.verbose {
            self.line("2", text);
        }
    }
    /// Problems: always shown.
    fn bad(&self, text: &str) {
        self.line("1;31", text);
    }
}

struct DevServer {
    root: PathBuf,
    opts: RunOptions,
    url: String,
    listener: std::net::TcpListener,
    say: Say,
    /// The app answering now, if one is.
    current: Option<AppProcess>,
    /// The fallback page, when no app is running.
    fallback: Option<Fallback>,
    /// Holds the readiness sockets.
    state: tempfile::TempDir,
    /// Apps started so far.
    starts: u32,
    env: Vec<(String, String)>,
}

impl DevServer {
    fn new(app: &AppDir, opts: &RunOptions) -> Result<Self, CliError> {
        let root = app.root.clone();
        let port = opts.port.unwrap_or_else(|| default_port(&root));
        let addr = format!("{}:{port}", opts.host);
        let listener = std::net::TcpListener::bind(&addr).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                CliError::Failed(format!(
                    "port {port} on {} is already in use (another torn run, or another \
                     server). Stop it, or choose another port: torn run --port {}",
                    opts.host,
                    port.wrapping_add(1).max(1024)
                ))
            } else {
                CliError::caused("cannot listen on {addr}", e)
            }
        })?;
        let bound = listener
            .local_addr()
            .map_err(|e| CliError::caused("cannot read the listening address", e))?;
        let shown_host = if bound.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else if bound.is_ipv6() {
            format!("[{}]", bound.ip())
        } else {
            bound.ip().to_string()
        };
        let url = format!("http://{shown_host}:{}", bound.port());
        let state = tempfile::Builder::new()
            .prefix("torn-run-")
            .tempdir()
            .map_err(|e| CliError::caused("cannot make a temporary folder", e))?;
        let mut env = vec![
            ("PORT".to_string(), bound.port().to_string()),
            ("HOST".to_string(), opts.host.clone()),
            // The app stops when torn run's pipe to it closes (`torn::dev`).
            (protocol::SUPERVISED_VAR.to_string(), "1".to_string()),
        ];
        if !opts.no_reload {
            env.push((protocol::RELOAD_VAR.into(), "1".into()));
        }
        // The app's log reaches the terminal through torn run: keep its colours.
        if std::io::stdout().is_terminal() {
            env.push(("CLICOLOR_FORCE".into(), "1".into()));
        }
        Ok(DevServer {
            root,
            opts: opts.clone(),
            url,
            listener,
            say: Say {
                quiet: opts.quiet,
                verbose: opts.verbose,
                colour: std::io::stderr().is_terminal(),
            },
            current: None,
            fallback: None,
            state,
            starts: 0,
            env,
        })
    }

    async fn serve(mut self) -> Result<(), CliError> {
        let stopping = stop_signal()?;
        let (_watcher, mut changes) = watch::start(&self.root)?;
        let watched: Vec<String> = watch::FOLDERS
            .iter()
            .filter(|f| self.root.join(f).is_dir())
            .map(|f| format!("{f}/"))
            .chain(
                watch::FILES
                    .iter()
                    .filter(|f| self.root.join(f).is_file())
                    .map(|f| f.to_string()),
            )
            .collect();
        if self.opts.quiet {
            eprintln!("torn run: {}", self.url);
        } else {
            self.say.good(&format!(
                "{} (watching {}; Ctrl-C stops)",
                self.url,
                watched.join(", ")
            ));
        }
        self.show_fallback(Status::Building);
        let mut build_wanted = true;
        loop {
            if build_wanted {
                build_wanted = false;
                let mut more = Vec::new();
                let built = {
                    let building = self.build();
                    tokio::pin!(building);
                    let mut stop = stopping.clone();
                    loop {
                        tokio::select! {
                            built = &mut building => break Some(built),
                            Some(paths) = changes.recv() => more.extend(paths),
                            _ = stop.wait_for(|s| *s) => break None,
                        }
                    }
                };
                let Some(built) = built else {
                    break;
                };
                match built? {
                    Built::Ok { binary, took } => {
                        self.say
                            .step(&format!("built in {:.1} s", took.as_secs_f64()));
                        let mut stop = stopping.clone();
                        tokio::select! {
                            () = self.swap(&binary) => {}
                            _ = stop.wait_for(|s| *s) => break,
                        }
                    }
                    Built::Failed { ansi, plain } => self.failed(&ansi, plain).await,
                }
                // Changes seen during the build.
                if !more.is_empty() {
                    build_wanted = self.changed(&more).await;
                }
                continue;
            }
            let mut stop = stopping.clone();
            tokio::select! {
                Some(paths) = changes.recv() => build_wanted = self.changed(&paths).await,
                (status, output) = exited(&mut self.current) => {
                    self.current = None;
                    self.say.bad(&format!("the app stopped ({status}); save a file to rebuild and start it"));
                    self.show_fallback(Status::Stopped(format!("{output}\n({status})")));
                }
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        self.shut_down().await;
        Ok(())
    }

    /// React to changed files; `true` when they need a build.
    async fn changed(&mut self, paths: &[PathBuf]) -> bool {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.say.detail(&format!("changed: {}", shown.join(", ")));
        let change = watch::classify(paths);
        if change.rebuild {
            let first = shown.first().cloned().unwrap_or_default();
            let more = if shown.len() > 1 {
                format!(" and {} more", shown.len() - 1)
            } else {
                String::new()
            };
            self.say.step(&format!("{first}{more} changed; building…"));
            self.tell(&Command::Building.to_line()).await;
            if let Some(fallback) = &self.fallback {
                fallback.set(Status::Building);
            }
            return true;
        }
        for sheet in &change.stylesheets {
            self.tell(&Command::Css(sheet.clone()).to_line()).await;
            self.say.good(&format!(
                "static/{sheet} changed; stylesheet swapped in the browser"
            ));
        }
        if change.reload {
            self.tell(&Command::Reload.to_line()).await;
            self.say
                .good(&format!("{} changed; browser reloaded", shown.join(", ")));
        }
        false
    }

    /// Send a line to the running app's live reload.
    async fn tell(&mut self, line: &str) {
        if let Some(app) = &mut self.current {
            app.tell(line).await;
        }
    }

    async fn build(&self) -> Result<Built, CliError> {
        let (verbose, colour) = (self.opts.verbose, self.say.colour);
        build::build(&self.root, self.opts.release, |line| {
            if verbose && colour {
                eprintln!("{line}");
            } else if verbose {
                eprintln!("{}", build::strip_ansi(line));
            }
        })
        .await
    }

    async fn failed(&mut self, ansi: &str, plain: String) {
        let shown = if self.say.colour {
            ansi.to_string()
        } else {
            plain.clone()
        };
        eprintln!("{shown}");
        if self.current.is_some() {
            self.say
                .bad("build failed (above); the last good build keeps serving");
            self.tell(&Command::Failed(plain).to_line()).await;
        } else {
            self.say
                .bad("build failed (above); fix it and save, torn run rebuilds");
            self.show_fallback(Status::Failed(plain));
        }
    }

    /// Start the new build; once it is ready, stop the old one (it finishes its requests).
    async fn swap(&mut self, binary: &Path) {
        if let Some(fallback) = self.fallback.take() {
            fallback.stop().await;
        }
        self.starts += 1;
        let started_at = Instant::now();
        let ready_socket = self
            .state
            .path()
            .join(format!("ready-{}.sock", self.starts));
        let launch = Launch {
            binary,
            root: &self.root,
            socket: self.listener.as_raw_fd(),
            env: &self.env,
            ready_socket: &ready_socket,
        };
        match app::start(launch).await {
            Ok(Started::Ready(new)) => {
                let took = started_at.elapsed().as_secs_f64();
                let pid = new.pid;
                if let Some(old) = self.current.replace(*new) {
                    tokio::spawn(old.stop(STOP_GRACE));
                    self.say.good(&format!("restarted in {took:.1} s"));
                } else {
                    self.say
                        .good(&format!("serving {} (started in {took:.1} s)", self.url));
                    if self.opts.open && self.starts == 1 {
                        open_browser(&self.url, &self.say);
                    }
                }
                self.say.detail(&format!("app process {pid}"));
            }
            Ok(Started::Exited(output)) => {
                self.say
                    .bad("the app built but did not start (its output is above)");
                let text = format!("The app built but did not start:\n\n{output}");
                if self.current.is_some() {
                    self.tell(&Command::Failed(text).to_line()).await;
                } else {
                    self.show_fallback(Status::Stopped(text));
                }
            }
            Err(e) => {
                self.say.bad(&e.to_string());
                if self.current.is_none() {
                    self.show_fallback(Status::Stopped(e.to_string()));
                }
            }
        }
    }

    /// Answer with the fallback page (when no app is running).
    fn show_fallback(&mut self, status: Status) {
        if self.current.is_some() {
            return;
        }
        match &self.fallback {
            Some(fallback) => fallback.set(status),
            None => match Fallback::start(&self.listener, status) {
                Ok(fallback) => self.fallback = Some(fallback),
                Err(e) => self.say.bad(&format!("cannot answer on the port: {e}")),
            },
        }
    }

    async fn shut_down(mut self) {
        self.say.step("stopping");
        if let Some(fallback) = self.fallback.take() {
            fallback.stop().await;
        }
        if let Some(app) = self.current.take() {
            app.stop(STOP_GRACE).await;
        }
        self.say.step("stopped");
    }
}

/// Resolves when the current app (if any) stops by itself.
async fn exited(current: &mut Option<AppProcess>) -> (String, String) {
    match current {
        Some(app) => app.exited().await,
        None => std::future::pending().await,
    }
}

/// Becomes `true` on SIGINT (Ctrl-C) or SIGTERM.
fn stop_signal() -> Result<signal::Receiver<bool>, CliError> {
    use tokio::signal::unix::{SignalKind, signal as unix_signal};
    let fail = |e: std::io::Error| CliError::caused("cannot handle signals", e);
    let mut interrupt = unix_signal(SignalKind::interrupt()).map_err(fail)?;
    let mut terminate = unix_signal(SignalKind::terminate()).map_err(fail)?;
    let (tx, rx) = signal::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tx.send_replace(true);
    });
    Ok(rx)
}

fn open_browser(url: &str, say: &Say) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let opened = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = opened {
        say.bad(&format!(
            "cannot open a browser ({opener}: {e}); open {url}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::port_from;

    #[test]
    fn the_port_is_the_dev_profiles() {
        assert_eq!(port_from(None, ""), 8888);
        assert_eq!(port_from(None, "[default]\nport = 9000\n"), 9000);
        assert_eq!(
            port_from(None, "[default]\nport = 9000\n[dev]\nport = 9001\n"),
            9001
        );
        assert_eq!(port_from(None, "[prod]\nport = 80\n"), 8888);
        assert_eq!(port_from(Some("7000"), "[dev]\nport = 9001\n"), 7000);
    }
}
