//! The app's process under `torn run`: started with the dev server's listening socket as its
//! file descriptor 3 (`LISTEN_FDS=1`), ready when it says so on `NOTIFY_SOCKET`, told about
//! builds and static files on its standard input, and stopped with SIGTERM (it finishes the
//! requests it has, then exits).

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin};

use crate::CliError;

/// How many of the app's last output lines are kept, to show when it stops by itself.
const KEEP_LINES: usize = 40;
/// How long a new app may take to start before it is taken as started anyway.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running app process.
pub struct AppProcess {
    /// Its process id.
    pub pid: u32,
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<VecDeque<String>>>,
}

/// How starting went.
pub enum Started {
    /// It said it is ready (or took too long to say, and is running).
    Ready(Box<AppProcess>),
    /// It stopped before it was ready, with its last lines of output.
    Exited(String),
}

/// What the app is started with.
pub struct Launch<'a> {
    pub binary: &'a Path,
    pub root: &'a Path,
    pub socket: RawFd,
    pub env: &'a [(String, String)],
    pub ready_socket: &'a Path,
}

/// Start the app and wait until it is ready or has stopped.
pub async fn start(launch: Launch<'_>) -> Result<Started, CliError> {
    let _ = std::fs::remove_file(launch.ready_socket);
    let ready = tokio::net::UnixDatagram::bind(launch.ready_socket).map_err(|e| {
        CliError::caused(format!("cannot make {}", launch.ready_socket.display()), e)
    })?;
    let mut command = tokio::process::Command::new(launch.binary);
    command
        .current_dir(launch.root)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS_FIRST_FD")
        .env("NOTIFY_SOCKET", launch.ready_socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    hand_over(&mut command, launch.socket);
    let mut child = command
        .spawn()
        .map_err(|e| CliError::caused(format!("cannot start {}", launch.binary.display()), e))?;
    let pid = child.id().unwrap_or(0);
    let output = Arc::new(Mutex::new(VecDeque::new()));
    if let Some(out) = child.stdout.take() {
        forward(out, output.clone(), false);
    }
    if let Some(err) = child.stderr.take() {
        forward(err, output.clone(), true);
    }
    let stdin = child.stdin.take();
    let mut buf = [0u8; 256];
    let outcome = tokio::select! {
        status = child.wait() => Err(status),
        () = async {
            loop {
                match ready.recv(&mut buf).await {
                    Ok(n) if String::from_utf8_lossy(&buf[..n]).lines().any(|l| l == "READY=1") => return,
                    Ok(_) => continue,
                    Err(_) => std::future::pending::<()>().await,
                }
            }
        } => Ok(()),
        () = tokio::time::sleep(START_TIMEOUT) => Ok(()),
    };
    let _ = std::fs::remove_file(launch.ready_socket);
    match outcome {
        Ok(()) => Ok(Started::Ready(Box::new(AppProcess {
            pid,
            child,
            stdin,
            output,
        }))),
        Err(status) => {
            // Let the output readers catch up with the last lines.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut text = last_lines(&output);
            if let Ok(status) = status {
                text.push_str(&format!("\n({})", describe(status)));
            }
            Ok(Started::Exited(text))
        }
    }
}

/// Give the child `socket` as its file descriptor 3, open across exec.
#[allow(unsafe_code)]
fn hand_over(command: &mut tokio::process::Command, socket: RawFd) {
    // SAFETY: between fork and exec the closure makes only async-signal-safe calls (dup2,
    // fcntl) and allocates nothing.
    unsafe {
        command.pre_exec(move || pass_socket(socket));
    }
}

/// Make `socket` file descriptor 3, open across exec (runs in the child, before exec).
#[allow(unsafe_code)]
fn pass_socket(socket: RawFd) -> std::io::Result<()> {
    // SAFETY: plain file-descriptor calls on descriptors this process owns.
    unsafe {
        if socket == 3 {
            let flags = libc::fcntl(3, libc::F_GETFD);
            if flags < 0 || libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        } else if libc::dup2(socket, 3) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Copy the app's output to this terminal, keeping its last lines.
fn forward(
    stream: impl AsyncRead + Unpin + Send + 'static,
    keep: Arc<Mutex<VecDeque<String>>>,
    to_stderr: bool,
) {
    tokio::spawn(async move {
        use std::io::Write as _;
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if to_stderr {
                        let _ = std::io::stderr().write_all(&line);
                    } else {
                        let _ = std::io::stdout().write_all(&line);
                        let _ = std::io::stdout().flush();
                    }
                    let text = super::build::strip_ansi(String::from_utf8_lossy(&line).trim_end());
                    let mut kept = keep.lock().expect("output");
                    if kept.len() == KEEP_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(text);
                }
            }
        }
    });
}

fn last_lines(output: &Mutex<VecDeque<String>>) -> String {
    let kept = output.lock().expect("output");
    kept.iter().cloned().collect::<Vec<_>>().join("\n")
}

/// "exit status 1", "killed by signal 9".
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "stopped".into(),
    }
}

impl AppProcess {
    /// Send one line to the app's live-reload listener (see `torn::dev`).
    pub async fn tell(&mut self, line: &str) {
        if let Some(stdin) = &mut self.stdin {
            let sent = async {
                stdin.write_all(line.as_bytes()).await?;
                stdin.write_all(b"\n").await?;
                stdin.flush().await
            };
            if sent.await.is_err() {
                self.stdin = None;
            }
        }
    }

    /// Resolves when the app stops by itself; its status and last lines of output.
    pub async fn exited(&mut self) -> (String, String) {
        let status = self.child.wait().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let status = status.map(describe).unwrap_or_else(|e| e.to_string());
        (status, last_lines(&self.output))
    }

    /// Ask the app to stop (SIGTERM: it finishes the requests it has), and kill it if it is
    /// still there after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        self.stdin = None;
        super::build::signal_group(self.pid, libc::SIGTERM);
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
