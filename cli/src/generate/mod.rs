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
//! | `src/models/mod.rs` | `// torn:models` | `pub mod <name>;` |
//! | `torn.toml` | `# torn:oauth` | a `[default.oauth.<provider>]` table |
//! | `templates/base.html` | `{# torn:nav #}` | a scaffold's link (`torn gen auth`: the log-in links, below it) |
//!
//! [`apply`] checks the whole plan before it writes anything (all or nothing): a file that
//! exists with other content is refused without `--force`, a missing mark is refused, and a
//! line that is already there is not added again, so running a generator twice changes nothing.

pub mod auth;
pub mod field;
pub mod handler;
pub mod layout;
pub mod mailer;
pub mod migration;
pub mod model;
pub mod oauth;
pub mod scaffold;
pub mod template;

use std::path::{Path, PathBuf};

use crate::CliError;

/// The mark in `src/handlers/mod.rs`.
pub const HANDLERS_MARK: &str = "// torn:handlers";
/// The mark in `src/lib.rs` for routes.
pub const ROUTES_MARK: &str = "// torn:routes";
/// The mark in `src/lib.rs` for modules.
pub const MODULES_MARK: &str = "// torn:modules";

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
                out.push_str(&format!("  {verb:<13} {}\n", p.display()));
            }
        }
        out
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

/// The line of `src/lib.rs` that mounts `handler` as the route `name` at `path`, four spaces
/// in, laid out as rustfmt lays it out (lines of at most 100 characters): on one line when it
/// fits; else the call on the next line; else the method call on a line of its own; else the
/// arguments one per line.
pub fn route_statement(handler: &str, name: &str, path: &str) -> String {
    let call = format!("handler::<{handler}>(\"{name}\", \"{path}\");");
    let fits = |line: &str| line.len() <= 100;
    let one = format!("    let app = app.{call}");
    if fits(&one) {
        return one;
    }
    if fits(&format!("        app.{call}")) {
        return format!("    let app =\n        app.{call}");
    }
    if fits(&format!("        .{call}")) {
        return format!("    let app = app\n        .{call}");
    }
    let args = format!("\"{name}\",\n        \"{path}\",\n    );");
    let head = format!("    let app = app.handler::<{handler}>(");
    if fits(&head) {
        return format!("{head}\n        {args}");
    }
    format!(
        "    let app = app\n        .handler::<{handler}>(\n            \"{name}\",\n            \
         \"{path}\",\n        );"
    )
}

/// Names: a Rust identifier in snake_case that is not a keyword.
pub fn check_snake_name(kind: &str, name: &str) -> Result<(), CliError> {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
        "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
        "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do",
        "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__");
    if !ok {
        return Err(CliError::Usage(format!(
            "{kind} name {name:?} is not valid: use lowercase letters, digits and single '_', \
             starting with a letter (for example blog_post)"
        )));
    }
    if KEYWORDS.contains(&name) {
        return Err(CliError::Usage(format!(
            "{kind} name {name:?} is a Rust keyword; choose another"
        )));
    }
    Ok(())
}

/// A name as people type it, in snake_case: `BlogPost`, `blog-post` and `blog_post` are all
/// `blog_post`, and `HTTPClient` is `http_client`. Whatever is not a letter, a digit, `-` or
/// `_` is kept, for [`check_snake_name`] to refuse with the name in its message.
pub fn snake_name(input: &str) -> String {
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '-' {
            out.push('_');
        } else if c.is_ascii_uppercase() {
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1);
            // A new word: after a lowercase letter or a digit (`blogPost`, `v2Api`), or the
            // last capital of an acronym before a lowercase letter (`HTTPClient`).
            let starts_word = before.is_some_and(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || (b.is_ascii_uppercase() && after.is_some_and(char::is_ascii_lowercase))
            });
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`snake_name`], checked by [`check_snake_name`]; a refusal quotes the name as it was typed.
pub fn typed_name(kind: &str, typed: &str) -> Result<String, CliError> {
    let snake = snake_name(typed);
    match check_snake_name(kind, &snake) {
        Ok(()) => Ok(snake),
        Err(CliError::Usage(message)) if snake != typed => Err(CliError::Usage(message.replacen(
            &format!("{snake:?}"),
            &format!("{typed:?}"),
            1,
        ))),
        Err(e) => Err(e),
    }
}

/// `blog_post` → `BlogPost`.
pub fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `blog_post` → `Blog post`.
pub fn title(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut c = words.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
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

    #[test]
    fn route_lines_are_laid_out_as_rustfmt_does() {
        // The layouts rustfmt gave these lines in an app's src/lib.rs.
        assert_eq!(
            route_statement("handlers::about::About", "about", "/about"),
            "    let app = app.handler::<handlers::about::About>(\"about\", \"/about\");"
        );
        assert_eq!(
            route_statement(
                "handlers::articles::ArticlesEdit",
                "edit_article",
                "/articles/{id}/edit"
            ),
            "    let app =\n        app.handler::<handlers::articles::ArticlesEdit>(\"edit_article\", \
             \"/articles/{id}/edit\");"
        );
        assert_eq!(
            route_statement(
                "handlers::articles::ArticlesDelete",
                "delete_article",
                "/articles/{id}/delete"
            ),
            "    let app = app\n        .handler::<handlers::articles::ArticlesDelete>(\"delete_article\", \
             \"/articles/{id}/delete\");"
        );
    }

    #[test]
    fn names() {
        for ok in ["about", "blog_post", "v2_api"] {
            assert!(check_snake_name("handler", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "About",
            "2fa",
            "blog-post",
            "blog__post",
            "post_",
            "a b",
            "type",
            "mod",
        ] {
            assert!(check_snake_name("handler", bad).is_err(), "{bad:?}");
        }
        assert_eq!(camel("blog_post"), "BlogPost");
        for (typed, snake) in [
            ("BlogPost", "blog_post"),
            ("blog-post", "blog_post"),
            ("blog_post", "blog_post"),
            ("Post", "post"),
            ("HTTPClient", "http_client"),
            ("V2Api", "v2_api"),
            ("Add-Notes", "add_notes"),
            ("About!", "about!"),
            ("a b", "a b"),
        ] {
            assert_eq!(snake_name(typed), snake, "{typed}");
        }
        assert_eq!(title("blog_post"), "Blog post");
    }
}
