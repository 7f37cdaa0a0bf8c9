//! `torn new`: check the name and the destination, find the framework the app will depend on,
//! expand the app template into a staging folder beside the destination and move it into place.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::{CliError, Db, expand_app_template};

mod workspace;

/// Where this CLI was built from, to find a framework checkout beside it.
const SOURCE_DIR: &str = env!("CARGO_MANIFEST_DIR");

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

/// What `torn new` did.
#[derive(Clone, Debug)]
pub struct NewReport {
    /// The new app's folder.
    pub dir: PathBuf,
    /// Where the app's torn comes from.
    pub torn: TornSource,
    /// The Cargo workspace the app was made in that does not list it, when there is one: the app
    /// then has an empty `[workspace]` table of its own, or cargo would refuse to build it.
    pub outside_workspace: Option<PathBuf>,
    /// Whether a git repository was made.
    pub git: bool,
}

/// Where a new app's torn framework comes from, as written into its `Cargo.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TornSource {
    /// The checkout this torn command was built from (`cargo install --path cli`): the path
    /// to its `framework/` folder.
    Checkout(String),
    /// The checkout named by `--torn-path`: the path to its `framework/` folder.
    TornPath(String),
    /// The version in the crate registry.
    Registry,
}

impl TornSource {
    /// The framework path written into `Cargo.toml`, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            TornSource::Checkout(p) | TornSource::TornPath(p) => Some(p),
            TornSource::Registry => None,
        }
    }
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
        .map_err(|e| CliError::caused("cannot read the current directory", e))?;
    let dest = cwd.join(
        opts.path
            .clone()
            .unwrap_or_else(|| PathBuf::from(&opts.name)),
    );
    let dest = normalize(&dest);
    check_destination(&dest)?;

    let torn_path = match &opts.torn_path {
        Some(p) => Some(framework_dir(&cwd.join(p))?),
        None => None,
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
    let app_dir = canonical_or_self(parent).join(dest_name(&dest));
    let torn = match torn_path {
        Some(f) => TornSource::TornPath(relative_path(&app_dir, &f)),
        None => local_framework().map_or(TornSource::Registry, |f| {
            TornSource::Checkout(relative_path(&app_dir, &f))
        }),
    };

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
        torn.path(),
        opts.minimal,
    )?;
    let generated = staging.path().join(&opts.name);
    let outside_workspace = workspace::refusing_workspace(&app_dir);
    if outside_workspace.is_some() {
        workspace::make_own_workspace(&generated.join("Cargo.toml"))?;
    }
    if dest.exists() {
        // An empty folder: replace it.
        std::fs::remove_dir(&dest)
            .map_err(|e| CliError::Usage(format!("cannot use {}: {e}", dest.display())))?;
    }
    std::fs::rename(&generated, &dest).map_err(|e| {
        CliError::caused(format!("cannot move the new app to {}", dest.display()), e)
    })?;
    drop(staging);

    let git = !opts.no_git && git_init(&dest);
    Ok(NewReport {
        dir: dest,
        torn,
        outside_workspace,
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
            && text.contains("name = \"torn-web\"")
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
    out.push_str(&match &report.torn {
        TornSource::Checkout(path) => format!(
            "torn: the framework at {path}, in the checkout this torn command was built from \
             (--torn-path DIR chooses another)\n"
        ),
        TornSource::TornPath(path) => format!("torn: the framework at {path} (--torn-path)\n"),
        TornSource::Registry => {
            "torn: the published crate, from the crate registry (--torn-path DIR uses a local checkout)\n".to_string()
        }
    });
    if let Some(root) = &report.outside_workspace {
        out.push_str(&format!(
            "It is a Cargo workspace of its own ([workspace] in its Cargo.toml): {} is a \
             workspace that does not list it.\n",
            root.display()
        ));
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
