//! A fresh app made by the `torn` binary, and what is in its folder: for the suites that run
//! generators on it (`gen`, `destroy`, `torn_db`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{torn, torn_bin};

/// What a command printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh app in a temporary folder.
pub fn new_app() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = torn(dir.path(), &["new", "shop", "--no-git"]);
    assert!(out.status.success(), "{}", text(&out));
    let app = dir.path().join("shop");
    (dir, app)
}

/// Every file under `dir` with its text, relative paths, sorted.
pub fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push((path.strip_prefix(dir).unwrap().to_path_buf(), text));
            }
        }
    }
    out.sort();
    out
}

/// Run `torn` in `cwd` with these environment variables (and no `DATABASE_URL` of the
/// caller's).
pub fn torn_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(torn_bin());
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("DATABASE_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run torn")
}

/// The app's files, without what building and running it makes (`Cargo.lock`, the SQLite
/// database).
pub fn source_files(app: &Path) -> Vec<(PathBuf, String)> {
    files(app)
        .into_iter()
        .filter(|(p, _)| {
            let name = p.to_string_lossy();
            // What building and running the app makes.
            !(name == "Cargo.lock" || name.contains("_dev.db") || p.starts_with("target"))
        })
        .collect()
}

/// `files` as they were `before`, give or take the lines in `shared` (which other generators
/// add too, so `torn destroy` leaves them) and the files in `kept`.
pub fn assert_back_to(before: &[(PathBuf, String)], app: &Path, shared: &[&str], kept: &[&str]) {
    let after = source_files(app);
    let strip = |text: &str| -> String {
        text.lines()
            .filter(|l| !shared.contains(&l.trim()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let paths = |list: &[(PathBuf, String)]| -> Vec<PathBuf> {
        list.iter()
            .map(|(p, _)| p.clone())
            .filter(|p| !kept.iter().any(|k| p == Path::new(k)))
            .collect()
    };
    assert_eq!(paths(&after), paths(before), "the same files as before");
    for (path, text) in before {
        let (_, now) = after.iter().find(|(p, _)| p == path).unwrap();
        assert_eq!(strip(now), strip(text), "{} is as before", path.display());
    }
}
