//! `torn destroy KIND NAME`: undo a generator. The generator's plan is made again, with the
//! arguments it was given (read back from what it wrote), and undone: each file it wrote is
//! removed if it is still exactly as written, each line it added is taken out, and anything
//! changed since is kept and listed (exit code 1). A migration is removed only if the app's
//! database never applied it (the app's own binary says, through `db status`).

use std::path::{Path, PathBuf};

use super::{AppDir, Plan, channel, handler, job, mailer, migration, model, oauth, scaffold};
use crate::CliError;

/// What `torn destroy` undoes.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// A handler made by `torn gen handler NAME`.
    Handler {
        /// Its name, as given to `torn gen handler`.
        name: String,
    },
    /// A scaffold made by `torn gen scaffold NAME …`: its pages, handlers, tests and model.
    Scaffold {
        /// The model's name, as given to `torn gen scaffold`.
        name: String,
    },
    /// A model made by `torn gen model NAME …`: its file, test and migration.
    Model {
        /// The model's name, as given to `torn gen model`.
        name: String,
    },
    /// A channel made by `torn gen channel NAME`: its handlers, page, script, routes and test.
    Channel {
        /// Its name, as given to `torn gen channel`.
        name: String,
    },
    /// A mail made by `torn gen mailer NAME`.
    Mailer {
        /// The mail's name.
        name: String,
    },
    /// A job made by `torn gen job NAME`: its file, its registration and its test.
    Job {
        /// The job's name.
        name: String,
    },
    /// A provider added by `torn gen oauth PROVIDER`: its table in torn.toml and its test.
    Oauth {
        /// The provider's name.
        provider: String,
    },
    /// A migration made by `torn gen migration NAME`.
    Migration {
        /// Its name.
        name: String,
    },
    /// Not undone: accounts hold the app's users (see the message).
    #[command(hide = true)]
    Auth,
}

/// What [`undo`] did, or would do with `dry_run`.
#[derive(Debug, Default)]
pub struct Undone {
    /// Files removed.
    pub removed: Vec<PathBuf>,
    /// Files the generator's lines were taken out of.
    pub changed: Vec<PathBuf>,
    /// What was kept, and why.
    pub kept: Vec<(PathBuf, String)>,
    /// Whether anything was written.
    pub dry_run: bool,
}

impl Undone {
    /// The report: one line per file.
    pub fn report(&self) -> String {
        let (remove, change) = if self.dry_run {
            ("would remove", "would change")
        } else {
            ("removed", "changed")
        };
        let mut out = String::new();
        for p in &self.removed {
            out.push_str(&super::report_line(remove, p, None));
        }
        for p in &self.changed {
            out.push_str(&super::report_line(change, p, None));
        }
        for (p, why) in &self.kept {
            out.push_str(&super::report_line("kept", p, Some(why)));
        }
        out
    }
}

/// The state of the app's migrations, as its binary reports them: (version, state) pairs
/// (`applied`, `pending`, `CHANGED`), or why they could not be read.
pub type MigrationStates = Result<Vec<(String, String)>, String>;

/// Run `torn destroy`: make the plan again and undo it. Prints the report; an error of
/// [`CliError::Reported`] with code 1 when something was kept.
pub fn run(app: &AppDir, what: What, dry_run: bool) -> Result<(), CliError> {
    let plan = plan_again(app, what)?;
    let undone = undo(app, &plan, dry_run, || migration_states(app))?;
    print!("{}", undone.report());
    if undone.removed.is_empty() && undone.changed.is_empty() && undone.kept.is_empty() {
        println!("  nothing to undo: the generator's files and lines are gone already");
    }
    if undone.kept.is_empty() {
        Ok(())
    } else {
        println!(
            "Kept {} file(s) that changed since they were generated (listed above); remove \
             or undo them by hand.",
            undone.kept.len()
        );
        Err(CliError::Reported(1))
    }
}

/// The generator's plan, with the arguments it was given, read back from the files it wrote.
fn plan_again(app: &AppDir, what: What) -> Result<Plan, CliError> {
    // Migrations that exist are found by name; the time only matters for new ones.
    let now = 0;
    match what {
        What::Handler { name } => {
            let name = super::typed_name("handler", &name)?;
            let opts = handler::recorded(app, &name)?;
            handler::plan_for(app, &opts, true)
        }
        What::Scaffold { name } => {
            let name = super::typed_name("model", &name)?;
            let (fields, kind) = scaffold::recorded(app, &name)?;
            scaffold::plan_for(app, &name, &fields, kind, now, true)
        }
        What::Model { name } => {
            let name = super::typed_name("model", &name)?;
            let fields = model::recorded(app, &name)?;
            model::plan(app, &name, &fields, now)
        }
        What::Channel { name } => {
            let name = super::typed_name("channel", &name)?;
            let file = format!("src/handlers/{name}.rs");
            let lib = app.read(Path::new("src/lib.rs"))?.unwrap_or_default();
            if app.read(Path::new(&file))?.is_none()
                && !lib.contains(&format!("(\"{name}_socket\","))
            {
                return Err(not_generated(&format!("channel {name}"), &file));
            }
            let mut plan = channel::plan_for(app, &name, true)?;
            // torn's real-time feature stays: other code may use it.
            plan.replaces.clear();
            Ok(plan)
        }
        What::Mailer { name } => mailer::plan(app, &super::typed_name("mailer", &name)?),
        What::Job { name } => job::plan(app, &super::typed_name("job", &name)?),
        What::Oauth { provider } => {
            let (issuer, label) = oauth::recorded(app, &provider)?;
            oauth::plan_for(app, &provider, issuer.as_deref(), label.as_deref(), true)
        }
        What::Auth => Err(CliError::Usage(
            "torn destroy does not undo `torn gen auth`: accounts hold the app's users, and \
             their tables are in its database; remove the account files, the accounts block \
             of src/lib.rs and the migrations by hand if you mean to"
                .into(),
        )),
        What::Migration { name } => {
            let name = super::typed_name("migration", &name)?;
            let (up, down) = migration::blank(&name)?;
            let plan = migration::plan(app, &name, now, &up, &down)?;
            if plan.generated.is_empty() {
                return Err(CliError::Usage(format!(
                    "this app has no migration named {name} (no migrations/<time>_{name}.up.sql)"
                )));
            }
            Ok(plan)
        }
    }
}

/// Undo `plan` in `app` (unless `dry_run`): see the module's documentation. `states` is asked
/// only when a migration would be removed.
pub fn undo(
    app: &AppDir,
    plan: &Plan,
    dry_run: bool,
    states: impl FnOnce() -> MigrationStates,
) -> Result<Undone, CliError> {
    let mut undone = Undone {
        dry_run,
        ..Undone::default()
    };
    // Asked at most once, and only for a migration.
    let states = std::cell::LazyCell::new(states);
    for (rel, written) in &plan.files {
        let written = plan
            .generated
            .iter()
            .find(|(p, _)| p == rel)
            .map_or(written, |(_, text)| text);
        let Some(current) = app.read(rel)? else {
            continue;
        };
        if &current != written {
            undone
                .kept
                .push((rel.clone(), "changed since it was generated".into()));
            continue;
        }
        if let Some(version) = migration_version(rel) {
            match &*states {
                Err(why) => {
                    undone.kept.push((
                        rel.clone(),
                        format!("a migration, and whether it was applied is unknown: {why}"),
                    ));
                    continue;
                }
                Ok(list) => {
                    if let Some((_, state)) = list.iter().find(|(v, _)| *v == version)
                        && state != "pending"
                    {
                        undone.kept.push((
                            rel.clone(),
                            "a migration the database has applied; undo it first with `torn \
                             db rollback`"
                                .into(),
                        ));
                        continue;
                    }
                }
            }
        }
        undone.removed.push(rel.clone());
    }
    // A migration's two files go together or stay together.
    let kept_versions: Vec<String> = undone
        .kept
        .iter()
        .filter_map(|(p, _)| migration_version(p))
        .collect();
    let (stay, go): (Vec<PathBuf>, Vec<PathBuf>) = std::mem::take(&mut undone.removed)
        .into_iter()
        .partition(|p| migration_version(p).is_some_and(|v| kept_versions.contains(&v)));
    undone.removed = go;
    for p in stay {
        undone
            .kept
            .push((p, "the other half of a migration that is kept".into()));
    }
    // The lines the generator added, file by file.
    let mut edited: Vec<(PathBuf, String)> = Vec::new();
    for insert in plan.inserts.iter().filter(|i| !i.shared) {
        if undone.removed.contains(&insert.path) {
            continue;
        }
        let current = match edited.iter().find(|(p, _)| *p == insert.path) {
            Some((_, text)) => text.clone(),
            None => match app.read(&insert.path)? {
                Some(text) => text,
                None => continue,
            },
        };
        let Some(updated) = remove_inserted(&current, &insert.line) else {
            continue;
        };
        match edited.iter_mut().find(|(p, _)| *p == insert.path) {
            Some((_, text)) => *text = updated,
            None => edited.push((insert.path.clone(), updated)),
        }
    }
    undone.changed = edited.iter().map(|(p, _)| p.clone()).collect();
    if dry_run {
        return Ok(undone);
    }
    for (rel, text) in &edited {
        std::fs::write(app.root.join(rel), text)
            .map_err(|e| CliError::caused(format!("cannot write {}", rel.display()), e))?;
    }
    for rel in &undone.removed {
        std::fs::remove_file(app.root.join(rel))
            .map_err(|e| CliError::caused(format!("cannot remove {}", rel.display()), e))?;
        remove_empty_parents(&app.root, rel);
    }
    Ok(undone)
}

/// `text` without the line (or block) `line` that a generator inserted; `None` when it is not
/// there as written.
pub fn remove_inserted(text: &str, line: &str) -> Option<String> {
    let block = line.trim_end_matches('\n');
    if block.contains('\n') || block.starts_with(' ') {
        let with_newline = format!("{block}\n");
        let at = text.find(&with_newline)?;
        // Only whole lines.
        if at > 0 && !text[..at].ends_with('\n') {
            return None;
        }
        return Some(format!(
            "{}{}",
            &text[..at],
            &text[at + with_newline.len()..]
        ));
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let at = lines.iter().position(|l| l.trim() == block.trim())?;
    Some(
        lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, l)| *l)
            .collect(),
    )
}

/// The version of a migration file (`migrations/<version>_<name>.up.sql`).
fn migration_version(rel: &Path) -> Option<String> {
    if !rel.starts_with("migrations") {
        return None;
    }
    let file = rel.file_name()?.to_str()?;
    let (version, _) = file.split_once('_')?;
    version
        .chars()
        .all(|c| c.is_ascii_digit())
        .then(|| version.to_string())
}

/// Remove the folders above `rel` that are left empty (`templates/posts/`), up to the app's.
fn remove_empty_parents(root: &Path, rel: &Path) {
    let mut dir = rel.parent();
    while let Some(d) = dir {
        if d.as_os_str().is_empty() || std::fs::remove_dir(root.join(d)).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Ask the app's binary which migrations its database has applied (`cargo run -- db status`).
fn migration_states(app: &AppDir) -> MigrationStates {
    let mut command = std::process::Command::new("cargo");
    crate::clean_cargo(&mut command)
        .args(["run", "--quiet", "--", "db", "status"])
        .current_dir(&app.root);
    let out = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let last = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "`cargo run -- db status` failed in the app ({})",
            last.trim()
        ));
    }
    Ok(parse_states(&String::from_utf8_lossy(&out.stdout)))
}

/// The (version, state) pairs of `db status`'s lines (`  applied  20261125000000  accounts`).
fn parse_states(status: &str) -> Vec<(String, String)> {
    status
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let state = words.next()?;
            let version = words.next()?;
            version
                .chars()
                .all(|c| c.is_ascii_digit())
                .then(|| (version.to_string(), state.to_string()))
        })
        .collect()
}

/// The field arguments recorded in a generated file's line `` `torn gen KIND NAME args…` ``.
pub(crate) fn recorded_args(text: &str, kind: &str, name: &str) -> Option<Vec<String>> {
    let marker = format!("`torn gen {kind} {name}");
    let at = text
        .match_indices(&marker)
        .map(|(i, _)| i)
        .find(|i| matches!(text[i + marker.len()..].chars().next(), Some(' ' | '`')))?;
    let rest = &text[at + 1..];
    let command = &rest[..rest.find('`')?];
    Some(
        command
            .split_whitespace()
            .skip(4)
            .map(str::to_string)
            .collect(),
    )
}

/// Refuse, when the generator's main file is gone, to guess its arguments.
pub(crate) fn not_generated(what: &str, path: &str) -> CliError {
    CliError::Usage(format!(
        "{path} is missing or was not made by torn gen, so torn cannot tell how {what} was \
         generated; nothing was changed"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_lines_and_blocks_come_out() {
        let mods = "pub mod about;\npub mod posts;\n// torn:handlers\n";
        assert_eq!(
            remove_inserted(mods, "pub mod posts;").unwrap(),
            "pub mod about;\n// torn:handlers\n"
        );
        assert_eq!(remove_inserted(mods, "pub mod notes;"), None);
        let lib = "fn f() {\n    a();\n    let x =\n        b();\n    // torn:routes\n}\n";
        assert_eq!(
            remove_inserted(lib, "    let x =\n        b();").unwrap(),
            "fn f() {\n    a();\n    // torn:routes\n}\n"
        );
        assert_eq!(remove_inserted(lib, "    let x =\n        c();"), None);
        let status = "sqlite://dev.db\n  applied  20261125000000  accounts\n  pending  \
                      20261206000000  create posts  (no .down.sql)\n";
        assert_eq!(
            parse_states(status),
            vec![
                ("20261125000000".into(), "applied".into()),
                ("20261206000000".into(), "pending".into()),
            ]
        );
        assert_eq!(
            migration_version(Path::new("migrations/20261206000000_create_posts.up.sql")),
            Some("20261206000000".into())
        );
        assert_eq!(migration_version(Path::new("src/models/post.rs")), None);
        assert_eq!(
            recorded_args(
                "//! `torn gen scaffold post title:string --auth`.\n",
                "scaffold",
                "post"
            ),
            Some(vec!["title:string".into(), "--auth".into()])
        );
    }
}
