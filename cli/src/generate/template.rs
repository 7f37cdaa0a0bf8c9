//! Generator templates: what each generator writes lives in `templates/gen/<generator>/`, as
//! askama templates compiled into the binary, with the generator's own delimiters (`[[ x ]]`,
//! `[% if … %]`, `[# … #]`, set in `cli/askama.toml`) so that the pages it writes keep
//! askama's `{{ }}` and `{% %}`.
//!
//! Each folder has a `manifest.toml`, itself a template, that says which files the generator
//! writes and which lines it adds to the app's files:
//!
//! ```toml
//! files = [
//!     { template = "handler.rs", to = "src/handlers/[[ name ]].rs" },
//! ]
//! inserts = [
//!     { into = "src/handlers/mod.rs", mark = "// torn:handlers", at = "sorted", line = "pub mod [[ name ]];" },
//!     { into = "src/lib.rs", mark = "// torn:routes", at = "above", template = "route.rs" },
//! ]
//! ```
//!
//! An insert may say `shared = true`: a line that other generators add too, which
//! `torn destroy` leaves in place.
//!
//! A generator's Rust side checks its arguments, builds the context (one struct, which every
//! template of the folder sees), and declares the templates with [`templates!`]; [`plan`] turns
//! the rendered manifest into the [`Plan`] that [`super::apply`] writes.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Insert, Place, Plan};
use crate::CliError;

/// Declare a generator's templates over its context type: one askama template each, which
/// sees the context's fields and methods, and `render(ctx, "file")` to render one by the
/// name its manifest uses.
///
/// ```ignore
/// templates!(Handler, "handler" {
///     Manifest = "handler/manifest.toml",
///     HandlerRs = "handler/handler.rs",
/// });
/// ```
macro_rules! templates {
    ($ctx:ty, $dir:literal { $($name:ident = $file:literal),* $(,)? }) => {
        $(
            #[derive(askama::Template)]
            #[template(path = $file, escape = "none")]
            struct $name<'a>(&'a $ctx);

            impl std::ops::Deref for $name<'_> {
                type Target = $ctx;

                fn deref(&self) -> &$ctx {
                    self.0
                }
            }
        )*

        /// Render the template `file` of this generator's folder, ending with the line break
        /// that askama drops from a template's end.
        fn render(ctx: &$ctx, file: &str) -> Result<String, $crate::CliError> {
            let path = format!("{}/{file}", $dir);
            let rendered = match path.as_str() {
                $($file => askama::Template::render(&$name(ctx)),)*
                _ => {
                    return Err($crate::CliError::Failed(format!(
                        "templates/gen/{path} is named by a manifest but not built into torn"
                    )));
                }
            };
            rendered.map(|text| text + "\n").map_err(|e| {
                $crate::CliError::Failed(format!("cannot render templates/gen/{path}: {e}"))
            })
        }
    };
}

pub(crate) use templates;

/// A rendered `manifest.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    files: Vec<FileEntry>,
    #[serde(default)]
    inserts: Vec<InsertEntry>,
}

/// A file the generator writes: a template rendered to a path in the app.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    template: String,
    to: String,
}

/// Lines the generator adds next to a mark in one of the app's files: `line`, or a template
/// rendered (for a block of several lines).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InsertEntry {
    into: String,
    mark: String,
    at: At,
    #[serde(default)]
    line: Option<String>,
    #[serde(default)]
    template: Option<String>,
    /// A line other generators add too: `torn destroy` leaves it.
    #[serde(default)]
    shared: bool,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum At {
    Above,
    Sorted,
    Below,
}

/// The plan of the generator in `templates/gen/<dir>/`: its `manifest.toml` and the templates
/// it names, rendered by `render`.
pub fn plan(
    dir: &str,
    render: impl Fn(&str) -> Result<String, CliError>,
) -> Result<Plan, CliError> {
    let manifest: Manifest = toml::from_str(&render("manifest.toml")?).map_err(|e| {
        CliError::Failed(format!(
            "templates/gen/{dir}/manifest.toml does not render to a valid manifest: {e}"
        ))
    })?;
    let mut plan = Plan::default();
    for file in manifest.files {
        plan.files
            .push((PathBuf::from(file.to), render(&file.template)?));
    }
    for insert in manifest.inserts {
        let line = match (insert.line, insert.template) {
            (Some(line), None) => line,
            (None, Some(template)) => render(&template)?.trim_end_matches('\n').to_string(),
            _ => {
                return Err(CliError::Failed(format!(
                    "templates/gen/{dir}/manifest.toml: an insert into {} needs `line` or \
                     `template`, not both",
                    insert.into
                )));
            }
        };
        plan.inserts.push(Insert {
            path: PathBuf::from(insert.into),
            mark: insert.mark,
            line,
            at: match insert.at {
                At::Above => Place::Above,
                At::Sorted => Place::Sorted,
                At::Below => Place::Below,
            },
            shared: insert.shared,
        });
    }
    Ok(plan)
}
