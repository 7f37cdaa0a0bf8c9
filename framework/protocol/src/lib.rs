//! The live-reload protocol between `torn run` (the `torn` command) and a torn app in
//! development, defined once for both sides.
//!
//! `torn run` starts the app with [`RELOAD_VAR`]`=1` (live reload) and [`SUPERVISED_VAR`]`=1`
//! (the app stops when its standard input closes), and writes one [`Command`] per line, as
//! JSON, to the app's standard input:
//!
//! | line | the browser |
//! |---|---|
//! | `{"event":"building"}` | shows a small "Rebuilding…" badge |
//! | `{"event":"failed","data":"<compiler output>"}` | shows the build error over the page |
//! | `{"event":"css","data":"css/app.css"}` | swaps that stylesheet in place, no reload |
//! | `{"event":"reload"}` | reloads the page |
//!
//! Pages load the script at [`SCRIPT_PATH`], which listens to [`EVENTS_PATH`] (server-sent
//! events named as the commands are, and [`HELLO`] first); `torn run` answers the same path
//! while the app is rebuilding.

use serde::{Deserialize, Serialize};

/// Set to `1` by `torn run` for live reload.
pub const RELOAD_VAR: &str = "TORN_DEV_RELOAD";
/// Set to `1` by `torn run` on every app it starts.
pub const SUPERVISED_VAR: &str = "TORN_RUN";
/// The live-reload script's path.
pub const SCRIPT_PATH: &str = "/__torn/reload.js";
/// The server-sent event stream's path.
pub const EVENTS_PATH: &str = "/__torn/events";
/// The first event of a stream, whose data names the process: a page that hears another
/// process's hello after a reconnection reloads.
pub const HELLO: &str = "hello";

/// A line from `torn run` to the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "lowercase")]
pub enum Command {
    /// A rebuild started.
    Building,
    /// The rebuild failed: the compiler's output.
    Failed(String),
    /// A stylesheet changed: its path under the static folder.
    Css(String),
    /// Reload the page.
    Reload,
}

impl Command {
    /// The command as one line of JSON (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a command is always JSON")
    }

    /// A line read from standard input, if it is a command.
    pub fn parse(line: &str) -> Option<Command> {
        serde_json::from_str(line.trim()).ok()
    }

    /// The name of the server-sent event the browser gets for it.
    pub fn event(&self) -> &'static str {
        match self {
            Command::Building => "building",
            Command::Failed(_) => "failed",
            Command::Css(_) => "css",
            Command::Reload => "reload",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_as_documented() {
        for (command, line) in [
            (Command::Building, r#"{"event":"building"}"#),
            (
                Command::Failed("error[E0425]".into()),
                r#"{"event":"failed","data":"error[E0425]"}"#,
            ),
            (
                Command::Css("css/app.css".into()),
                r#"{"event":"css","data":"css/app.css"}"#,
            ),
            (Command::Reload, r#"{"event":"reload"}"#),
        ] {
            assert_eq!(command.to_line(), line);
            assert_eq!(Command::parse(line), Some(command.clone()));
            assert!(line.contains(command.event()));
        }
        assert_eq!(Command::parse(r#"{"event":"explode"}"#), None);
        assert_eq!(Command::parse("not json"), None);
    }
}
