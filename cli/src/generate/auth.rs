//! `torn gen auth`: accounts for an app made with `torn new --minimal`: sign-up, log-in,
//! log-out, email verification, password reset, the account page and social log-in.
//!
//! What it adds is what `torn new` puts in an app with accounts, taken from the same template
//! (expanded with the app's name in a temporary folder): the files the template leaves out for
//! `--minimal` (its `[conditional.'minimal']` list), with the migrations renumbered after the
//! app's own; the `pub mod` lines of the account handlers; the block of `src/lib.rs` that sets
//! up accounts and their routes (above `// torn:routes`); and the log-in / account links of
//! `templates/base.html` (below `{# torn:nav #}`); and, in `Cargo.toml`, torn's default features
//! (accounts, social log-in, real-time) instead of the few a minimal app compiles. The live
//! chat comes with them: it is for logged-in users.

use std::path::{Path, PathBuf};

use super::{AppDir, HANDLERS_MARK, Insert, Place, Plan, ROUTES_MARK, Replace, migration};
use crate::CliError;

/// The mark in `templates/base.html`.
const NAV_MARK: &str = "{# torn:nav #}";
/// The first line of the accounts block in the template's `src/lib.rs`.
const BLOCK_START: &str = "// Accounts:";
/// The end of the torn dependency that `torn new --minimal` writes (the template's
/// `Cargo.toml`): only the features a minimal app uses, no accounts or social log-in.
const MINIMAL_FEATURES: &str =
    r#", default-features = false, features = ["sqlite", "postgres", "mail"] }"#;
/// [`MINIMAL_FEATURES`] after `torn gen channel` (which turns on `realtime`).
const MINIMAL_REALTIME_FEATURES: &str =
    r#", default-features = false, features = ["sqlite", "postgres", "mail", "realtime"] }"#;
/// The same for the dev-dependency, which adds `testing`.
const MINIMAL_DEV_FEATURES: &str = r#"default-features = false, features = ["testing"]"#;

/// The plan for `torn gen auth`, with migrations numbered from `unix_secs`.
pub fn plan(app: &AppDir, unix_secs: u64) -> Result<Plan, CliError> {
    let staging =
        tempfile::tempdir().map_err(|e| CliError::caused("cannot create a temporary folder", e))?;
    crate::expand_app_template(
        &app.crate_name,
        staging.path(),
        crate::Db::Sqlite,
        None,
        false,
    )?;
    let full = staging.path().join(&app.crate_name);
    let read = |rel: &Path| {
        std::fs::read_to_string(full.join(rel)).map_err(|e| {
            CliError::caused(
                format!("the app template has no readable {}", rel.display()),
                e,
            )
        })
    };

    let mut plan = Plan::default();
    let mut migrations: Vec<(String, String, String)> = Vec::new();
    for entry in crate::account_files()? {
        for rel in files_under(&full, Path::new(&entry))? {
            let text = read(&rel)?;
            let file = rel.file_name().unwrap_or_default().to_string_lossy();
            if rel.starts_with("migrations") {
                // <version>_<name>.up.sql / .down.sql: renumbered after the app's own.
                if let Some(stem) = file.strip_suffix(".up.sql") {
                    let name = stem.split_once('_').map_or(stem, |(_, n)| n).to_string();
                    let down = read(&rel.with_file_name(format!("{stem}.down.sql")))?;
                    migrations.push((name, text, down));
                }
                continue;
            }
            if rel.parent() == Some(Path::new("src/handlers")) {
                let module = file.trim_end_matches(".rs");
                plan.inserts.push(Insert {
                    path: PathBuf::from("src/handlers/mod.rs"),
                    mark: HANDLERS_MARK.into(),
                    line: format!("pub mod {module};"),
                    at: Place::Sorted,
                    shared: false,
                });
            }
            plan.files.push((rel, text));
        }
    }
    plan.files
        .extend(migration::plan_series(app, &migrations, unix_secs)?.files);

    // The wiring, unless the app has it already (it may have been edited since).
    if !app.has_accounts()? {
        plan.inserts.push(Insert {
            path: PathBuf::from("src/lib.rs"),
            mark: ROUTES_MARK.into(),
            line: block(&read(Path::new("src/lib.rs"))?, BLOCK_START, ROUTES_MARK)?,
            at: Place::Above,
            shared: false,
        });
    }
    // torn's default features (accounts, social log-in, real-time) in place of a minimal
    // app's few.
    plan.replaces.push(Replace {
        path: PathBuf::from("Cargo.toml"),
        from: MINIMAL_FEATURES,
        to: " }",
    });
    // The same, in a minimal app that `torn gen channel` gave real-time.
    plan.replaces.push(Replace {
        path: PathBuf::from("Cargo.toml"),
        from: MINIMAL_REALTIME_FEATURES,
        to: " }",
    });
    plan.replaces.push(Replace {
        path: PathBuf::from("Cargo.toml"),
        from: MINIMAL_DEV_FEATURES,
        to: r#"features = ["testing"]"#,
    });
    let layout = app
        .read(Path::new("templates/base.html"))?
        .unwrap_or_default();
    if !layout.contains("ctx.url(\"login\")") {
        plan.inserts.push(Insert {
            path: PathBuf::from("templates/base.html"),
            mark: NAV_MARK.into(),
            line: block_after(&read(Path::new("templates/base.html"))?, NAV_MARK, "</nav>")?,
            at: Place::Below,
            shared: false,
        });
    }
    Ok(plan)
}

/// The files at `rel` in `root` (`rel` itself, or every file under it), sorted.
fn files_under(root: &Path, rel: &Path) -> Result<Vec<PathBuf>, CliError> {
    let path = root.join(rel);
    if path.is_file() {
        return Ok(vec![rel.to_path_buf()]);
    }
    let entries = std::fs::read_dir(&path)
        .map_err(|e| CliError::caused(format!("the app template has no {}", rel.display()), e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CliError::caused("cannot read the template", e))?;
        files.extend(files_under(root, &rel.join(entry.file_name()))?);
    }
    files.sort();
    Ok(files)
}

/// The lines of `text` from the one starting (after indentation) with `start` up to the line
/// `end`, without it.
fn block(text: &str, start: &str, end: &str) -> Result<String, CliError> {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.iter().position(|l| l.trim_start().starts_with(start));
    let to = lines.iter().position(|l| l.trim() == end);
    match (from, to) {
        (Some(from), Some(to)) if from < to => Ok(lines[from..to].join("\n")),
        _ => Err(template_lacks(start)),
    }
}

/// The lines of `text` after the line `mark`, up to the line `end`, without either.
fn block_after(text: &str, mark: &str, end: &str) -> Result<String, CliError> {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.iter().position(|l| l.trim() == mark);
    let to = lines.iter().position(|l| l.trim() == end);
    match (from, to) {
        (Some(from), Some(to)) if from + 1 < to => Ok(lines[from + 1..to].join("\n")),
        _ => Err(template_lacks(mark)),
    }
}

fn template_lacks(what: &str) -> CliError {
    CliError::Failed(format!(
        "the app template in this build has no block at {what:?}; this torn is broken"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_between_lines() {
        let lib = "fn f() {\n    a();\n    // Accounts: x\n    b();\n    // torn:routes\n}\n";
        assert_eq!(
            block(lib, BLOCK_START, ROUTES_MARK).unwrap(),
            "    // Accounts: x\n    b();"
        );
        assert!(block("fn f() {}\n", BLOCK_START, ROUTES_MARK).is_err());
        let html = "<nav>\n  {# torn:nav #}\n  <a>in</a>\n</nav>\n";
        assert_eq!(
            block_after(html, NAV_MARK, "</nav>").unwrap(),
            "  <a>in</a>"
        );
        assert!(block_after("<nav>\n  {# torn:nav #}\n</nav>\n", NAV_MARK, "</nav>").is_err());
    }
}
