//! What `torn run` watches, and what a change means.
//!
//! Watched: `src/`, `templates/`, `static/`, `migrations/` (with everything below them), and
//! `Cargo.toml`, `build.rs`, `torn.toml` in the app's folder. Never: `target/`, `.git/`, editor
//! temp and backup files, whatever the app's `.gitignore` lists (read whether or not the app is
//! a git repository), and anything else in the app's folder, such as the SQLite file and its
//! `-wal`/`-shm`, `mail/` and logs, which the app writes itself.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use ignore::gitignore::Gitignore;
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

use crate::CliError;

/// The folders watched with everything below them.
pub const FOLDERS: [&str; 4] = ["src", "templates", "static", "migrations"];
/// The files of the app's folder that are watched.
pub const FILES: [&str; 3] = ["Cargo.toml", "build.rs", "torn.toml"];

/// How long the file system must be quiet before a change counts: an editor's save is often
/// several events (write a temporary file, rename it, change its attributes).
const DEBOUNCE: Duration = Duration::from_millis(60);

/// The running watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Start watching `root`; every debounced batch of relevant changes arrives on the receiver,
/// as paths relative to `root`.
pub fn start(root: &Path) -> Result<(Watcher, mpsc::UnboundedReceiver<Vec<PathBuf>>), CliError> {
    let filter = Filter::new(root);
    let (tx, rx) = mpsc::unbounded_channel();
    let fail = |e: notify::Error| CliError::caused("cannot watch the app's files", e);
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let Ok(events) = result else {
            return;
        };
        let mut paths: Vec<PathBuf> = events
            .iter()
            .filter(|e| !e.kind.is_access())
            .flat_map(|e| e.paths.iter())
            .filter_map(|p| filter.relevant(p))
            .collect();
        paths.sort();
        paths.dedup();
        if !paths.is_empty() {
            let _ = tx.send(paths);
        }
    })
    .map_err(fail)?;
    debouncer
        .watch(root, RecursiveMode::NonRecursive)
        .map_err(fail)?;
    for folder in FOLDERS {
        let dir = root.join(folder);
        if dir.is_dir() {
            debouncer
                .watch(&dir, RecursiveMode::Recursive)
                .map_err(fail)?;
        }
    }
    Ok((
        Watcher {
            _debouncer: debouncer,
        },
        rx,
    ))
}

/// Which changed paths matter.
pub struct Filter {
    root: PathBuf,
    gitignore: Gitignore,
}

impl Filter {
    /// The rules for the app at `root` (its `.gitignore` is read once, at start).
    pub fn new(root: &Path) -> Self {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let (gitignore, _) = Gitignore::new(root.join(".gitignore"));
        Filter { root, gitignore }
    }

    /// `path` relative to the app, if a change to it matters.
    pub fn relevant(&self, path: &Path) -> Option<PathBuf> {
        let rel = path
            .strip_prefix(&self.root)
            .ok()
            .map(Path::to_path_buf)
            .or_else(|| {
                let canonical = path.parent()?.canonicalize().ok()?.join(path.file_name()?);
                canonical
                    .strip_prefix(&self.root)
                    .ok()
                    .map(Path::to_path_buf)
            })?;
        let parts: Vec<&str> = rel
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_str().unwrap_or(""),
                _ => "",
            })
            .collect();
        let (first, name) = (*parts.first()?, *parts.last()?);
        let watched = if parts.len() == 1 {
            FILES.contains(&first)
        } else {
            FOLDERS.contains(&first)
        };
        if !watched
            || parts.iter().any(|p| *p == "target" || *p == ".git")
            || editor_temp_file(name)
        {
            return None;
        }
        let is_dir = path.is_dir();
        if self
            .gitignore
            .matched_path_or_any_parents(&rel, is_dir)
            .is_ignore()
        {
            return None;
        }
        Some(rel)
    }
}

/// Swap, backup and lock files of vim, emacs, kate, JetBrains IDEs, gedit and others.
fn editor_temp_file(name: &str) -> bool {
    name.is_empty()
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || [
            ".swp",
            ".swo",
            ".swx",
            ".tmp",
            ".kate-swp",
            "___jb_tmp___",
            "___jb_old___",
        ]
        .iter()
        .any(|s| name.ends_with(s))
        || name.starts_with(".goutputstream")
        || name == "4913"
        || name == ".DS_Store"
}

/// What a batch of changes asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// A Rust, template, migration or manifest change: rebuild and restart.
    pub rebuild: bool,
    /// Stylesheets under `static/` to swap in the browser (paths inside `static/`).
    pub stylesheets: Vec<String>,
    /// Other files under `static/`: reload the page.
    pub reload: bool,
}

/// Sort changed paths (relative to the app) into what to do.
pub fn classify(paths: &[PathBuf]) -> Change {
    let mut change = Change::default();
    for path in paths {
        match path.strip_prefix("static") {
            Ok(inside) => {
                let inside = inside.to_string_lossy().replace('\\', "/");
                if inside.ends_with(".css") {
                    change.stylesheets.push(inside);
                } else {
                    change.reload = true;
                }
            }
            Err(_) => change.rebuild = true,
        }
    }
    change
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_sources_count() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join(".gitignore"), "/target\n*.db\nstatic/uploads/\n").unwrap();
        let filter = Filter::new(&root);
        let yes = [
            "src/lib.rs",
            "src/handlers/home.rs",
            "templates/home.html",
            "static/css/app.css",
            "migrations/1_x.up.sql",
            "Cargo.toml",
            "torn.toml",
            "build.rs",
        ];
        for p in yes {
            assert_eq!(
                filter.relevant(&root.join(p)),
                Some(PathBuf::from(p)),
                "{p}"
            );
        }
        let no = [
            "app_dev.db",
            "app_dev.db-wal",
            "app_dev.db-shm",
            "mail/1.txt",
            "server.log",
            "Cargo.lock",
            "target/debug/app",
            ".git/index",
            "src/.lib.rs.swp",
            "src/lib.rs~",
            "src/.#lib.rs",
            "templates/#home.html#",
            "src/4913",
            "static/uploads/a.png",
            "src/data.db",
            "src/target/x.rs",
        ];
        for p in no {
            assert_eq!(filter.relevant(&root.join(p)), None, "{p}");
        }
        assert_eq!(filter.relevant(Path::new("/elsewhere/src/lib.rs")), None);
    }

    #[test]
    fn static_changes_need_no_rebuild() {
        let paths = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            classify(&paths(&["static/css/app.css"])),
            Change {
                stylesheets: vec!["css/app.css".into()],
                ..Change::default()
            }
        );
        assert_eq!(
            classify(&paths(&["static/app.js"])),
            Change {
                reload: true,
                ..Change::default()
            }
        );
        assert!(classify(&paths(&["static/css/app.css", "templates/home.html"])).rebuild);
        assert!(classify(&paths(&["torn.toml"])).rebuild);
    }
}
