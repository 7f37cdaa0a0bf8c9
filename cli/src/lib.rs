//! The generator API behind the `torn` command. `main.rs` only maps arguments onto it.
//!
//! [`new_app`] expands the app template (built into the binary) with the cargo-generate library
//! into a staging folder beside the destination, then moves it into place: an interrupted or
//! failed run leaves nothing half-written.

use std::path::Path;
use std::process::Command;

use include_dir::{Dir, include_dir};

pub mod generate;
mod new;
#[cfg(unix)]
pub mod run;

pub use new::{NewOptions, NewReport, TornSource, new_app, next_steps, validate_name};

/// The project templates, built into the binary.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates");

/// Errors the CLI reports. [`CliError::exit_code`] maps them to exit codes: 2 for bad input.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The user gave something unusable: a bad name, an existing folder, …
    #[error("{0}")]
    Usage(String),
    /// Something failed while doing the work, for a reason the message says.
    #[error("{0}")]
    Failed(String),
    /// Something failed while doing the work because of another error (a file that cannot be
    /// read, a command that cannot start, the file watcher): what torn was doing, and that
    /// error, kept as the [`source`](std::error::Error::source).
    #[error("{what}: {source}")]
    Caused {
        /// What torn was doing ("cannot read Cargo.toml").
        what: String,
        /// Why it could not.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A command torn ran (the app's own binary) failed and said why itself: exit with its
    /// code, adding nothing.
    #[error("exit code {0}")]
    Reported(u8),
}

impl CliError {
    /// A failure caused by `source`, while doing `what`.
    pub fn caused(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        CliError::Caused {
            what: what.into(),
            source: source.into(),
        }
    }

    /// 2 for bad input (like clap's own errors), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) | CliError::Caused { .. } => 1,
            CliError::Reported(code) => *code,
        }
    }
}

/// The database a new app uses in development.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    /// An SQLite file in the app folder (zero set-up).
    Sqlite,
    /// PostgreSQL on 127.0.0.1:5432.
    Postgres,
}

impl Db {
    fn as_str(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        }
    }
}

/// What `torn run` was asked for (its command-line options).
#[derive(Clone, Debug, clap::Args)]
pub struct RunOptions {
    /// The port (default: PORT, else port in [dev], else in [default] of torn.toml, else 8888).
    #[arg(long, short)]
    pub port: Option<u16>,
    /// The address to listen on; 0.0.0.0 for every interface.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Build with optimisations (slower builds, faster app).
    #[arg(long)]
    pub release: bool,
    /// Do not reload the browser, nor add the live-reload script to pages.
    #[arg(long)]
    pub no_reload: bool,
    /// Open the app in a browser once it is up.
    #[arg(long)]
    pub open: bool,
    /// Print only errors.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every change seen and cargo's progress.
    #[arg(long, short)]
    pub verbose: bool,
}

fn write_dir(dir: &Dir<'_>, to: &Path) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::caused("cannot write the template", e);
    for file in dir.files() {
        let path = to.join(file.path());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        std::fs::write(&path, file.contents()).map_err(fail)?;
    }
    for sub in dir.dirs() {
        write_dir(sub, to)?;
    }
    Ok(())
}

/// Expand the app template built into this binary into `into/name`, in a child `torn
/// __expand` process: cargo-generate prints progress lines of its own on stderr, which are
/// shown only if it fails.
pub fn expand_app_template(
    name: &str,
    into: &Path,
    db: Db,
    torn_path: Option<&str>,
    minimal: bool,
) -> Result<(), CliError> {
    let template =
        tempfile::tempdir().map_err(|e| CliError::caused("cannot create a temporary folder", e))?;
    let app_template = TEMPLATES
        .get_dir("app")
        .ok_or_else(|| CliError::Failed("the app template is missing from this build".into()))?;
    write_dir(app_template, template.path())?;
    let exe = std::env::current_exe()
        .map_err(|e| CliError::caused("cannot find the torn executable", e))?;
    let output = Command::new(exe)
        .arg("__expand")
        .arg(template.path().join("app"))
        .arg(name)
        .arg(into)
        .arg(db.as_str())
        .arg(torn_path.unwrap_or(""))
        .arg(minimal.to_string())
        .output()
        .map_err(|e| CliError::caused("cannot run the template expansion", e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "cannot expand the app template:\n{}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// The files and folders of the app template that only apps with accounts have: what `torn
/// new --minimal` leaves out and `torn gen auth` adds (the template's `[conditional.'minimal']`
/// ignore list).
pub fn account_files() -> Result<Vec<String>, CliError> {
    let missing = || CliError::Failed("the app template in this build has no account list".into());
    let text = TEMPLATES
        .get_file("app/cargo-generate.toml")
        .and_then(|f| f.contents_utf8())
        .ok_or_else(missing)?;
    let config: toml::Value =
        toml::from_str(text).map_err(|e| CliError::caused("the app template's settings", e))?;
    let list = config
        .get("conditional")
        .and_then(|c| c.get("minimal"))
        .and_then(|m| m.get("ignore"))
        .and_then(|i| i.as_array())
        .ok_or_else(missing)?;
    Ok(list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

/// Expand the app template at `template` into `into/name` (cargo-generate, non-interactive).
pub fn expand(
    template: &Path,
    name: &str,
    into: &Path,
    db: &str,
    torn_path: &str,
    minimal: bool,
) -> Result<(), CliError> {
    use cargo_generate::{GenerateArgs, TemplatePath, Vcs};
    let args = GenerateArgs {
        template_path: TemplatePath {
            path: Some(template.display().to_string()),
            ..TemplatePath::default()
        },
        name: Some(name.to_string()),
        force: true,
        silent: true,
        vcs: Some(Vcs::None),
        bin: true,
        define: vec![
            format!("db={db}"),
            format!("torn_path={torn_path}"),
            format!("minimal={minimal}"),
        ],
        destination: Some(into.to_path_buf()),
        no_workspace: true,
        no_fmt: true,
        quiet: true,
        continue_on_error: false,
        ..GenerateArgs::default()
    };
    cargo_generate::generate(args)
        .map(|_| ())
        .map_err(|e| CliError::Failed(format!("cannot expand the app template: {e:#}")))
}

/// The environment for a cargo run inside an app: without the `CARGO_*` variables of an outer
/// cargo (they would make build scripts rerun and the app's build start over).
pub fn clean_cargo(command: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR" {
            command.env_remove(&key);
        }
    }
    command
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_its_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        let e = CliError::caused("cannot write Cargo.toml", io);
        assert_eq!(e.to_string(), "cannot write Cargo.toml: permission denied");
        assert_eq!(e.exit_code(), 1);
        let source = std::error::Error::source(&e).expect("the cause is kept");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("as the error it was");
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(CliError::Usage("bad name".into()).exit_code(), 2);
    }
}
