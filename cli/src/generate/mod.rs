//! `torn gen …`: add working, tested code to an existing torn app.
//!
//! Every generator makes a [`Plan`]: files to create and lines to insert at marked places. The
//! marks are comment lines that `torn new` puts in the app and that stay there:
//!
//! | file | mark | what goes above it |
//! |---|---|---|
//! | `src/handlers/mod.rs` | `// torn:handlers` | `pub mod <name>;` |
//! | `src/lib.rs` | `// torn:routes` | `let app = app.handler::<…>("<name>", "<path>");` |
//! | `src/lib.rs` | `// torn:modules` | `pub mod mailers;` and other top-level modules |
//! | `src/mailers/mod.rs` | `// torn:mailers` | `pub mod <name>;` |
//! | `src/lib.rs` | `// torn:jobs` | `let jobs = jobs.register::<…>();` |
//! | `src/jobs/mod.rs` | `// torn:jobs` | `pub mod <name>;` |
//! | `src/models/mod.rs` | `// torn:models` | `pub mod <name>;` |
//! | `torn.toml` | `# torn:oauth` | a `[default.oauth.<provider>]` table |
//! | `templates/base.html` | `{# torn:nav #}` | a scaffold's link (`torn gen auth`: the log-in links, below it) |
//!
//! What each generator writes, and where, is in its templates (`templates/gen/<generator>/`,
//! see [`template`]); [`destroy`] undoes a generator.
//!
//! [`apply`] checks the whole plan before it writes anything (all or nothing): a file that
//! exists with other content is refused without `--force`, a missing mark is refused, and a
//! line that is already there is not added again, so running a generator twice changes nothing.

pub mod auth;
pub mod channel;
pub mod destroy;
pub mod field;
pub mod handler;
pub mod job;
pub mod layout;
pub mod mailer;
pub mod migration;
pub mod model;
pub mod names;
pub mod oauth;
pub mod scaffold;
pub mod template;

use std::path::{Path, PathBuf};

use crate::CliError;

pub use layout::{mount_statement, route_statement};
pub use names::{camel, check_snake_name, snake_name, title, typed_name};

/// The mark in `src/handlers/mod.rs`.
pub const HANDLERS_MARK: &str = "// torn:handlers";
/// The mark in `src/lib.rs` for routes.
pub const ROUTES_MARK: &str = "// torn:routes";

/// A torn app found on disk.
#[derive(Clone, Debug)]
pub struct AppDir {
    /// Its folder (where `torn.toml` and `Cargo.toml` are).
    pub root: PathBuf,
    /// Its crate name (`[package] name`, with `-` as `_`).
    pub crate_name: String,
}

impl AppDir {
    /// The app whose folder is `start` or one above it.
    pub fn find(start: &Path) -> Result<Self, CliError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join("torn.toml").is_file() && d.join("Cargo.toml").is_file() {
                let manifest = std::fs::read_to_string(d.join("Cargo.toml"))
                    .map_err(|e| CliError::caused("cannot read Cargo.toml", e))?;
                let path = d.join("Cargo.toml");
                let value: toml::Value = toml::from_str(&manifest).map_err(|e| {
                    CliError::Usage(format!(
                        "{} is not valid TOML: {}",
                        path.display(),
                        e.to_string().trim_end()
                    ))
                })?;
                let name = package_name(&value).ok_or_else(|| {
                    CliError::Usage(format!(
                        "{} has no [package] name; is this a torn app?",
                        path.display()
                    ))
                })?;
                return Ok(AppDir {
                    root: d.to_path_buf(),
                    crate_name: name.replace('-', "_"),
                });
            }
            dir = d.parent();
        }
        Err(CliError::Usage(format!(
            "{} is not inside a torn app (no torn.toml and Cargo.toml here or above); run this \
             in an app made with `torn new`",
            start.display()
        )))
    }

    /// Whether the app sets up accounts (`src/lib.rs` calls `Accounts::new`); an app made
    /// with `torn new --minimal` does not until `torn gen auth`.
    pub fn has_accounts(&self) -> Result<bool, CliError> {
        let lib = self.read(Path::new("src/lib.rs"))?.unwrap_or_default();
        Ok(lib.contains("Accounts::new("))
    }

    /// Refuse `what` in an app without accounts (made with `torn new --minimal`).
    pub fn require_accounts(&self, what: &str) -> Result<(), CliError> {
        if self.has_accounts()? {
            return Ok(());
        }
        Err(CliError::Usage(format!(
            "{what} needs accounts, and this app has none (src/lib.rs does not set up \
             `Accounts`: it was made with `torn new --minimal`); run `torn gen auth` first; \
             nothing was written"
        )))
    }

    fn read(&self, rel: &Path) -> Result<Option<String>, CliError> {
        match std::fs::read_to_string(self.root.join(rel)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::caused(
                format!("cannot read {}", rel.display()),
                e,
            )),
        }
    }
}

fn package_name(manifest: &toml::Value) -> Option<String> {
    Some(manifest.get("package")?.get("name")?.as_str()?.to_string())
}

/// A line (or a block laid out beforehand) to insert next to a mark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insert {
    /// The file, relative to the app.
    pub path: PathBuf,
    /// The mark line's text (trimmed).
    pub mark: String,
    /// The line, without indentation (the mark's is used).
    pub line: String,
    /// Where it goes.
    pub at: Place,
    /// A line other generators add too (`pub mod models;`): `torn destroy` leaves it.
    pub shared: bool,
}

/// Where an [`Insert`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Right above the mark.
    Above,
    /// Into the run of lines just above the mark, at its alphabetical place (as rustfmt
    /// orders `mod` items).
    Sorted,
    /// Right below the mark.
    Below,
}

/// What a generator wants to write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Files to create, relative to the app, with their text.
    pub files: Vec<(PathBuf, String)>,
    /// Lines to insert.
    pub inserts: Vec<Insert>,
    /// Text to replace in the app's files.
    pub replaces: Vec<Replace>,
    /// What the generator writes for files of `files` that the plan leaves as they are (a
    /// migration made before, perhaps edited since), for `torn destroy` to compare with.
    pub generated: Vec<(PathBuf, String)>,
}

/// Text to replace in one of the app's files: every `from` becomes `to`. A file without
/// `from` is left as it is (it had the change already, or its owner rewrote those lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replace {
    /// The file, relative to the app.
    pub path: PathBuf,
    /// The text to replace.
    pub from: &'static str,
    /// What it becomes.
    pub to: &'static str,
}

/// What [`apply`] did, or would do with `dry_run`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Files written new.
    pub created: Vec<PathBuf>,
    /// Files overwritten (`--force`) or with lines inserted.
    pub changed: Vec<PathBuf>,
    /// Files already as the plan wants them.
    pub unchanged: Vec<PathBuf>,
    /// Whether anything was written.
    pub dry_run: bool,
}

impl Outcome {
    /// The report printed after a run: one line per file.
    pub fn report(&self) -> String {
        let (create, change) = if self.dry_run {
            ("would create", "would change")
        } else {
            ("created", "changed")
        };
        let mut out = String::new();
        for (verb, paths) in [
            (create, &self.created),
            (change, &self.changed),
            ("unchanged", &self.unchanged),
        ] {
            for p in paths {
                out.push_str(&report_line(verb, p, None));
            }
        }
        out
    }
}

/// A line of a generator's report (or `torn destroy`'s): `  created       src/lib.rs`, with
/// why when there is a reason to give.
pub(crate) fn report_line(verb: &str, path: &Path, why: Option<&str>) -> String {
    match why {
        Some(why) => format!("  {verb:<13} {}: {why}\n", path.display()),
        None => format!("  {verb:<13} {}\n", path.display()),
    }
}

/// Check the whole plan, then write it (unless `dry_run`).
pub fn apply(app: &AppDir, plan: &Plan, force: bool, dry_run: bool) -> Result<Outcome, CliError> {
    let mut outcome = Outcome {
        dry_run,
        ..Outcome::default()
    };
    // Inserts into files the plan creates go into their planned text; the others into the
    // app's files, in memory, until everything has been checked.
    let mut planned: Vec<(PathBuf, String)> = plan.files.clone();
    let mut edited: Vec<(PathBuf, String)> = Vec::new();
    for insert in &plan.inserts {
        let missing_mark = || {
            CliError::Usage(format!(
                "{} has no `{}` line, which marks where torn gen adds code; put it back (see \
                 torn's docs/cli.md) and run again; nothing was written",
                insert.path.display(),
                insert.mark
            ))
        };
        if let Some((_, text)) = planned.iter_mut().find(|(p, _)| p == &insert.path) {
            *text = insert_at_mark(text, &insert.mark, &insert.line, insert.at)
                .ok_or_else(missing_mark)?;
            continue;
        }
        let current = match edited.iter().find(|(p, _)| p == &insert.path) {
            Some((_, text)) => text.clone(),
            None => app.read(&insert.path)?.ok_or_else(|| {
                CliError::Usage(format!(
                    "{} is missing; torn gen adds to the files `torn new` makes",
                    insert.path.display()
                ))
            })?,
        };
        let updated = insert_at_mark(&current, &insert.mark, &insert.line, insert.at)
            .ok_or_else(missing_mark)?;
        match edited.iter_mut().find(|(p, _)| p == &insert.path) {
            Some((_, text)) => *text = updated,
            None => edited.push((insert.path.clone(), updated)),
        }
    }
    for replace in &plan.replaces {
        let current = match edited.iter().find(|(p, _)| p == &replace.path) {
            Some((_, text)) => text.clone(),
            None => app.read(&replace.path)?.unwrap_or_default(),
        };
        if !current.contains(replace.from) {
            continue;
        }
        let updated = current.replace(replace.from, replace.to);
        match edited.iter_mut().find(|(p, _)| p == &replace.path) {
            Some((_, text)) => *text = updated,
            None => edited.push((replace.path.clone(), updated)),
        }
    }
    let mut writes: Vec<(PathBuf, String)> = Vec::new();
    for (rel, text) in planned {
        match app.read(&rel)? {
            Some(existing) if existing == text => outcome.unchanged.push(rel),
            Some(_) if !force => {
                return Err(CliError::Usage(format!(
                    "{} already exists and differs from what would be generated; nothing was \
                     written (use --force to overwrite it)",
                    rel.display()
                )));
            }
            Some(_) => {
                outcome.changed.push(rel.clone());
                writes.push((rel, text));
            }
            None => {
                outcome.created.push(rel.clone());
                writes.push((rel, text));
            }
        }
    }
    for (rel, text) in edited {
        if app.read(&rel)?.as_deref() == Some(text.as_str()) {
            if !outcome.unchanged.contains(&rel) {
                outcome.unchanged.push(rel);
            }
        } else {
            outcome.changed.push(rel.clone());
            writes.push((rel, text));
        }
    }
    if dry_run {
        return Ok(outcome);
    }
    for (rel, text) in writes {
        let path = app.root.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::caused(format!("cannot create {}", parent.display()), e))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| CliError::caused(format!("cannot write {}", rel.display()), e))?;
    }
    Ok(outcome)
}

/// Refuse route names that `src/lib.rs` already uses, unless the lines are this generator's
/// own (`ours`: a second run of the same generator).
pub fn check_routes_free(app: &AppDir, names: &[String], ours: &[String]) -> Result<(), CliError> {
    let lib = app.read(Path::new("src/lib.rs"))?.unwrap_or_default();
    if ours.iter().any(|line| lib.contains(line.as_str())) {
        return Ok(());
    }
    match names.iter().find(|n| lib.contains(&format!("(\"{n}\","))) {
        Some(name) => Err(CliError::Usage(format!(
            "a route named {name:?} already exists in src/lib.rs; choose another name"
        ))),
        None => Ok(()),
    }
}

/// `text` with `line` above the line holding `mark` (indented like it), unless a line with the
/// same content is already in the file. [`Place::Sorted`] puts it into the run of non-blank
/// lines just above the mark at its alphabetical place; [`Place::Below`] right below the mark.
/// `None` when the mark is missing.
pub fn insert_at_mark(text: &str, mark: &str, line: &str, place: Place) -> Option<String> {
    // A block laid out beforehand (several lines, or indented) goes in as it is.
    let preformatted = line.contains('\n') || line.starts_with(' ');
    let present = if preformatted {
        text.contains(line.trim_end_matches('\n'))
    } else {
        text.lines().any(|l| l.trim() == line.trim())
    };
    if present {
        return Some(text.to_string());
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let at_mark = lines.iter().position(|l| l.trim() == mark)?;
    let indent: String = lines[at_mark]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    let mut at = at_mark;
    match place {
        Place::Above => {}
        Place::Sorted => {
            while at > 0 && !lines[at - 1].trim().is_empty() && lines[at - 1].trim() > line.trim() {
                at -= 1;
            }
        }
        Place::Below => at += 1,
    }
    let block = if preformatted {
        format!("{}\n", line.trim_end_matches('\n'))
    } else {
        format!("{indent}{}\n", line.trim())
    };
    lines.insert(at, block);
    Some(lines.concat())
}

/// `use krate::Item;` or `use krate::{A, B};`.
pub fn use_line(krate: &str, items: &[&str]) -> String {
    match items {
        [one] => format!("use {krate}::{one};"),
        _ => format!("use {krate}::{{{}}};", items.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_above_the_mark_once() {
        let text = "fn main() {\n    a();\n    // torn:routes\n}\n";
        let once = insert_at_mark(text, "// torn:routes", "b();", Place::Above).unwrap();
        assert_eq!(
            once,
            "fn main() {\n    a();\n    b();\n    // torn:routes\n}\n"
        );
        assert_eq!(
            insert_at_mark(&once, "// torn:routes", "b();", Place::Above).unwrap(),
            once
        );
        assert_eq!(
            insert_at_mark("no mark\n", "// torn:routes", "b();", Place::Above),
            None
        );
        let mods = "//! Docs.\n\npub mod b;\npub mod d;\n// torn:handlers\n";
        let with_a = insert_at_mark(mods, "// torn:handlers", "pub mod a;", Place::Sorted).unwrap();
        let with_c =
            insert_at_mark(&with_a, "// torn:handlers", "pub mod c;", Place::Sorted).unwrap();
        let with_e =
            insert_at_mark(&with_c, "// torn:handlers", "pub mod e;", Place::Sorted).unwrap();
        assert_eq!(
            with_e,
            "//! Docs.\n\npub mod a;\npub mod b;\npub mod c;\npub mod d;\npub mod e;\n// torn:handlers\n"
        );
        let nav = "<nav>\n  {# torn:nav #}\n</nav>\n";
        let below = insert_at_mark(nav, "{# torn:nav #}", "<a>x</a>", Place::Below).unwrap();
        assert_eq!(below, "<nav>\n  {# torn:nav #}\n  <a>x</a>\n</nav>\n");
    }
}
