//! `cargo build` for `torn run`: in a clean environment, in its own process group (so that
//! stopping it stops rustc too), with the compiler's messages kept for the terminal and the
//! browser.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::CliError;

/// How a build ended.
#[derive(Debug)]
pub enum Built {
    /// The app's binary, and how long it took.
    Ok { binary: PathBuf, took: Duration },
    /// The compiler's messages: with colours (for a terminal) and without (for the browser).
    Failed { ansi: String, plain: String },
}

/// A running process group that is killed when this is dropped (a build cut short).
pub struct Group(pub u32);

impl Drop for Group {
    fn drop(&mut self) {
        signal_group(self.0, libc::SIGKILL);
    }
}

/// Send `signal` to the process group led by `pid` (a child started with `process_group(0)`).
#[allow(unsafe_code)]
pub fn signal_group(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill(2) takes plain integers; a negative pid names the process group.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// Build the app at `root`; `progress` gets cargo's own lines ("Compiling …") as they come.
pub async fn build(
    root: &Path,
    release: bool,
    mut progress: impl FnMut(&str),
) -> Result<Built, CliError> {
    let started = Instant::now();
    let mut command = std::process::Command::new("cargo");
    crate::clean_cargo(&mut command)
        .arg("build")
        .args(release.then_some("--release"))
        .args(["--message-format", "json-diagnostic-rendered-ansi"])
        .env("CARGO_TERM_COLOR", "always")
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CliError::caused("cannot run cargo", e))?;
    let mut group = child.id().map(Group);
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let main_rs = root.join("src").join("main.rs");

    let mut messages = Vec::new();
    let mut binary = None;
    let mut cargo_errors = Vec::new();
    let mut out = BufReader::new(stdout).lines();
    let mut err = BufReader::new(stderr).lines();
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            line = out.next_line(), if out_open => match line {
                Ok(Some(line)) => read_message(&line, &main_rs, &mut messages, &mut binary),
                _ => out_open = false,
            },
            line = err.next_line(), if err_open => match line {
                Ok(Some(line)) => {
                    progress(&line);
                    let plain = strip_ansi(&line);
                    let plain = plain.trim_start();
                    if plain.starts_with("error") || !cargo_errors.is_empty() {
                        cargo_errors.push(line);
                    }
                }
                _ => err_open = false,
            },
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| CliError::caused("cargo did not finish", e))?;
    // Finished by itself: nothing left to kill.
    std::mem::forget(group.take());
    match (status.success(), binary) {
        (true, Some(binary)) => Ok(Built::Ok {
            binary,
            took: started.elapsed(),
        }),
        (true, None) => Err(CliError::Failed(
            "cargo built no binary from src/main.rs; is this a torn app?".into(),
        )),
        (false, _) => {
            if messages.is_empty() {
                messages.push(cargo_errors.join("\n"));
            }
            let ansi = messages.join("\n");
            Ok(Built::Failed {
                plain: strip_ansi(&ansi),
                ansi,
            })
        }
    }
}

/// Keep the errors and warnings of one line of cargo's JSON, and the app's binary.
fn read_message(
    line: &str,
    main_rs: &Path,
    messages: &mut Vec<String>,
    binary: &mut Option<PathBuf>,
) {
    let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
        return;
    };
    match message["reason"].as_str() {
        Some("compiler-message") => {
            let level = message["message"]["level"].as_str().unwrap_or("");
            if level == "error"
                && let Some(rendered) = message["message"]["rendered"].as_str()
            {
                messages.push(rendered.trim_end().to_string());
            }
        }
        Some("compiler-artifact") => {
            let is_main = message["target"]["src_path"]
                .as_str()
                .is_some_and(|p| Path::new(p) == main_rs);
            if is_main && let Some(exe) = message["executable"].as_str() {
                *binary = Some(PathBuf::from(exe));
            }
        }
        _ => {}
    }
}

/// `text` without terminal colour codes.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            // Parameters, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stripped() {
        assert_eq!(
            strip_ansi("\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror[E0425]\u{1b}[0m: x"),
            "error[E0425]: x"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn errors_and_the_binary_are_read_from_cargos_json() {
        let main_rs = Path::new("/app/src/main.rs");
        let mut messages = Vec::new();
        let mut binary = None;
        let lines = [
            r#"{"reason":"compiler-message","message":{"level":"warning","rendered":"warning: unused"}}"#,
            r#"{"reason":"compiler-message","message":{"level":"error","rendered":"error: bad\n"}}"#,
            r#"{"reason":"compiler-artifact","target":{"src_path":"/app/src/lib.rs"},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"src_path":"/app/src/main.rs"},"executable":"/t/debug/app"}"#,
            "not json",
        ];
        for line in lines {
            read_message(line, main_rs, &mut messages, &mut binary);
        }
        assert_eq!(messages, vec!["error: bad".to_string()]);
        assert_eq!(binary, Some(PathBuf::from("/t/debug/app")));
    }
}
