//! The generator API behind the `torn` command. `main.rs` only maps arguments onto it.
//!
//! [`new_app`] expands the app template (built into the binary) with the cargo-generate library
//! into a staging folder beside the destination, then moves it into place: an interrupted or
//! failed run leaves nothing half-written.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use include_dir::{Dir, include_dir};

pub mod db;
pub mod generate;
#[cfg(unix)]
pub mod run;

/// The project templates, built into the binary.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates");

/// Where this CLI was built from, to find a framework checkout beside it.
const SOURCE_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Errors the CLI reports. [`CliError::exit_code`] maps them to exit codes: 2 for bad input.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The user gave something unusable: a bad name, an existing folder, …
    #[error("{0}")]
    Usage(String),
    /// Something failed while doing the work.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// 2 for bad input (like clap's own errors), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
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

/// What `torn new` was asked for.
#[derive(Clone, Debug)]
pub struct NewOptions {
    /// The app's (crate's) name.
    pub name: String,
    /// The folder to create; `./NAME` when `None`.
    pub path: Option<PathBuf>,
    /// The development database.
    pub db: Db,
    /// A local framework checkout to depend on (its `framework/` folder or the repository
    /// root); found automatically when this CLI runs from a torn checkout.
    pub torn_path: Option<PathBuf>,
    /// Skip `git init`.
    pub no_git: bool,
    /// Home page only, no accounts (`torn gen auth` adds them later).
    pub minimal: bool,
}

/// What `torn run` was asked for (its command-line options).
#[derive(Clone, Debug, clap::Args)]
pub struct RunOptions {
    /// The port (default: PORT, else the [dev] port of torn.toml, else 8888).
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

/// What `torn new` did.
#[derive(Clone, Debug)]
pub struct NewReport {
    /// The new app's folder.
    pub dir: PathBuf,
    /// The framework path written into Cargo.toml, if any.
    pub torn_dependency: Option<String>,
    /// Whether a git repository was made.
    pub git: bool,
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Names that would clash with a dependency or a standard crate.
const RESERVED: &[&str] = &[
    "torn",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "axum",
    "askama",
    "tokio",
    "serde",
];

/// Check an app name: a valid crate name, not a keyword, not a crate the app depends on.
pub fn validate_name(name: &str) -> Result<(), CliError> {
    let bad = |why: &str| {
        Err(CliError::Usage(format!(
            "invalid app name {name:?}: {why}. Use lowercase letters, digits, '-' or '_', starting \
             with a letter (for example: myapp, my-app)"
        )))
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("it must start with a lowercase letter");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return bad(&format!("it contains {c:?}"));
    }
    let snake = name.replace('-', "_");
    if KEYWORDS.contains(&name) || KEYWORDS.contains(&snake.as_str()) {
        return bad("it is a Rust keyword");
    }
    if RESERVED.contains(&snake.as_str()) {
        return bad("it is the name of a crate the app depends on or of a standard crate");
    }
    Ok(())
}

/// The framework folder of a torn checkout, if this CLI was built from one.
pub fn local_framework() -> Option<PathBuf> {
    let dir = Path::new(SOURCE_DIR).parent()?.join("framework");
    dir.join("Cargo.toml")
        .is_file()
        .then(|| dir.canonicalize().ok())?
}

/// `torn new`: create an app.
pub fn new_app(opts: &NewOptions) -> Result<NewReport, CliError> {
    validate_name(&opts.name)?;
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Failed(format!("cannot read the current directory: {e}")))?;
    let dest = cwd.join(
        opts.path
            .clone()
            .unwrap_or_else(|| PathBuf::from(&opts.name)),
    );
    let dest = normalize(&dest);
    check_destination(&dest)?;

    let framework = match &opts.torn_path {
        Some(p) => Some(framework_dir(&cwd.join(p))?),
        None => local_framework(),
    };
    let parent = dest
        .parent()
        .ok_or_else(|| CliError::Usage(format!("cannot create an app at {}", dest.display())))?;
    std::fs::create_dir_all(parent).map_err(|e| {
        CliError::Usage(format!(
            "cannot create {}: {e}. Choose a location you can write to with --path",
            parent.display()
        ))
    })?;
    let torn_dependency = framework
        .as_ref()
        .map(|f| relative_path(&canonical_or_self(parent).join(dest_name(&dest)), f));

    // Expand into a staging folder next to the destination, then move it into place.
    let staging = tempfile::Builder::new()
        .prefix(".torn-new-")
        .tempdir_in(parent)
        .map_err(|e| {
            CliError::Usage(format!(
                "cannot write in {}: {e}. Choose a location you can write to with --path",
                parent.display()
            ))
        })?;
    expand_app_template(
        &opts.name,
        staging.path(),
        opts.db,
        torn_dependency.as_deref(),
        opts.minimal,
    )?;
    let generated = staging.path().join(&opts.name);
    if dest.exists() {
        // An empty folder: replace it.
        std::fs::remove_dir(&dest)
            .map_err(|e| CliError::Usage(format!("cannot use {}: {e}", dest.display())))?;
    }
    std::fs::rename(&generated, &dest).map_err(|e| {
        CliError::Failed(format!(
            "cannot move the new app to {}: {e}",
            dest.display()
        ))
    })?;
    drop(staging);

    let git = !opts.no_git && git_init(&dest);
    Ok(NewReport {
        dir: dest,
        torn_dependency,
        git,
    })
}

fn dest_name(dest: &Path) -> &std::ffi::OsStr {
    dest.file_name().unwrap_or_default()
}

fn canonical_or_self(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

fn check_destination(dest: &Path) -> Result<(), CliError> {
    if dest.is_file() {
        return Err(CliError::Usage(format!(
            "{} already exists and is a file; choose another name or --path",
            dest.display()
        )));
    }
    if dest.is_dir() {
        let mut entries = std::fs::read_dir(dest)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", dest.display())))?;
        if entries.next().is_some() {
            return Err(CliError::Usage(format!(
                "{} already exists and is not empty; choose another name or --path, or remove it",
                dest.display()
            )));
        }
    }
    Ok(())
}

/// Accept a torn checkout's root or its `framework/` folder.
fn framework_dir(path: &Path) -> Result<PathBuf, CliError> {
    let candidates = [path.join("framework"), path.to_path_buf()];
    for c in candidates {
        let manifest = c.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest)
            && text.contains("name = \"torn\"")
        {
            return c.canonicalize().map_err(|e| {
                CliError::Usage(format!("cannot use --torn-path {}: {e}", path.display()))
            });
        }
    }
    Err(CliError::Usage(format!(
        "--torn-path {}: no torn framework crate there (expected a torn checkout or its \
         framework/ folder)",
        path.display()
    )))
}

fn write_dir(dir: &Dir<'_>, to: &Path) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::Failed(format!("cannot write the template: {e}"));
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
    let template = tempfile::tempdir()
        .map_err(|e| CliError::Failed(format!("cannot create a temporary folder: {e}")))?;
    let app_template = TEMPLATES
        .get_dir("app")
        .ok_or_else(|| CliError::Failed("the app template is missing from this build".into()))?;
    write_dir(app_template, template.path())?;
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the torn executable: {e}")))?;
    let output = Command::new(exe)
        .arg("__expand")
        .arg(template.path().join("app"))
        .arg(name)
        .arg(into)
        .arg(db.as_str())
        .arg(torn_path.unwrap_or(""))
        .arg(minimal.to_string())
        .output()
        .map_err(|e| CliError::Failed(format!("cannot run the template expansion: {e}")))?;
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
    let config: toml::Value = toml::from_str(text)
        .map_err(|e| CliError::Failed(format!("the app template's settings: {e}")))?;
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

/// `git init` the app unless it is inside a git work tree already or git is missing.
fn git_init(dir: &Path) -> bool {
    let inside = Command::new("git")
        .args(["rev-parse", "--is-inside-work-tree"])
        .current_dir(dir.parent().unwrap_or(dir))
        .output()
        .is_ok_and(|o| o.status.success());
    if inside {
        return false;
    }
    Command::new("git")
        .args(["init", "--quiet"])
        .current_dir(dir)
        .status()
        .is_ok_and(|s| s.success())
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The framework folder `to` as seen from the app folder `from`: relative when the app is
/// inside the torn checkout (as `starter/` is), absolute otherwise, so the app can move.
fn relative_path(from: &Path, to: &Path) -> String {
    let checkout = to.parent().unwrap_or(to);
    if !from.starts_with(checkout) {
        return to.display().to_string();
    }
    let from: Vec<_> = from.components().collect();
    let to_c: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to_c).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for c in &to_c[common..] {
        rel.push(c);
    }
    rel.display().to_string()
}

/// The message printed after `torn new`.
pub fn next_steps(opts: &NewOptions, report: &NewReport) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let shown = report
        .dir
        .strip_prefix(&cwd)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| report.dir.clone());
    let mut out = format!("Created {} in {}\n", opts.name, shown.display());
    if let Some(dep) = &report.torn_dependency {
        out.push_str(&format!("It uses the torn framework at {dep}.\n"));
    }
    out.push_str(&format!(
        "\nNext:\n  cd {}\n  torn run       # serves http://127.0.0.1:8888, rebuilds and reloads on save\n  cargo test     # runs its tests\n",
        shown.display()
    ));
    if opts.minimal {
        out.push_str("  torn gen auth  # adds accounts: sign-up, log-in, password reset, …\n");
    }
    out
}

/// Lay out generated Rust as `rustfmt` would (edition 2024), so generated files pass
/// `cargo fmt --check`; unchanged when rustfmt is not installed.
pub fn format_rust(text: &str) -> String {
    use std::io::Write as _;
    let child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return text.to_string();
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(text.as_bytes());
    }
    match child.wait_with_output() {
        Ok(out) if out.status.success() && !out.stdout.is_empty() => {
            String::from_utf8(out.stdout).unwrap_or_else(|_| text.to_string())
        }
        _ => text.to_string(),
    }
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
    fn names() {
        for ok in ["myapp", "my-app", "my_app2", "a"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "1app", "-app", "My", "my app", "my.app", "fn", "self", "async", "torn", "std",
            "test", "émile", "a/b", "..",
        ] {
            let e = validate_name(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(
                Path::new("/work/main/starter"),
                Path::new("/work/main/framework")
            ),
            "../framework"
        );
        assert_eq!(
            relative_path(
                Path::new("/work/main/apps/a"),
                Path::new("/work/main/framework")
            ),
            "../../framework"
        );
        assert_eq!(
            relative_path(Path::new("/work/x/app"), Path::new("/work/main/framework")),
            "/work/main/framework"
        );
    }
}
