//! A new app made inside a Cargo workspace that does not list it. Cargo refuses to build a
//! package that sits below a workspace's root without being one of its members ("current package
//! believes it's in a workspace when it's not"), as an app made with `torn new myapp` in the torn
//! checkout itself would. Such an app gets an empty `[workspace]` table: a workspace of its own.

use std::path::{Path, PathBuf};

use crate::CliError;

/// The root of the Cargo workspace that would claim a package at `app` without listing it, if
/// any. Cargo walks up from the package to the first `[workspace]` that does not exclude it; the
/// package must then be one of its members.
pub fn refusing_workspace(app: &Path) -> Option<PathBuf> {
    for root in app.ancestors().skip(1) {
        let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
            continue;
        };
        let Ok(manifest) = text.parse::<toml::Table>() else {
            continue;
        };
        let Some(workspace) = manifest.get("workspace").and_then(toml::Value::as_table) else {
            continue;
        };
        let rel = app.strip_prefix(root).ok()?;
        let list = |key: &str| -> Vec<String> {
            workspace
                .get(key)
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(clean)).collect())
                .unwrap_or_default()
        };
        let (members, exclude) = (list("members"), list("exclude"));
        // As cargo decides: an explicit member path wins over an exclusion.
        let listed = members.iter().any(|m| rel.starts_with(m));
        if !listed && exclude.iter().any(|e| rel.starts_with(e)) {
            continue;
        }
        let member = members.iter().any(|m| {
            let within_components = glob::MatchOptions {
                require_literal_separator: true,
                ..glob::MatchOptions::new()
            };
            glob::Pattern::new(m).is_ok_and(|p| p.matches_path_with(rel, within_components))
        });
        return (!member).then(|| root.to_path_buf());
    }
    None
}

/// `./apps/x/` → `apps/x`.
fn clean(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    path.trim_end_matches('/').to_string()
}

/// Append an empty `[workspace]` table to the app's `Cargo.toml`.
pub fn make_own_workspace(manifest: &Path) -> Result<(), CliError> {
    let fail =
        |e: std::io::Error| CliError::caused(format!("cannot write {}", manifest.display()), e);
    let mut text = std::fs::read_to_string(manifest).map_err(fail)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(
        "\n# A workspace of its own: the app was made inside another Cargo workspace that does \
         not\n# list it. To make it a member of that one instead, remove this table and add the \
         app's\n# folder to that workspace's `members`.\n[workspace]\n",
    );
    std::fs::write(manifest, text).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_at(manifest: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        dir
    }

    #[test]
    fn an_unlisted_folder_below_a_workspace_is_refused() {
        let ws = workspace_at("[workspace]\nmembers = [\"framework\", \"cli\"]\n");
        let app = ws.path().join("myapp");
        assert_eq!(refusing_workspace(&app).as_deref(), Some(ws.path()));
        assert_eq!(
            refusing_workspace(&ws.path().join("deeper/myapp")).as_deref(),
            Some(ws.path())
        );
    }

    #[test]
    fn members_and_excluded_folders_are_not() {
        let ws = workspace_at(
            "[workspace]\nmembers = [\"./starter\", \"apps/*\"]\nexclude = [\"target\", \"vendor/\"]\n",
        );
        for rel in ["starter", "apps/shop", "target/generated/x", "vendor/a"] {
            assert_eq!(refusing_workspace(&ws.path().join(rel)), None, "{rel}");
        }
        assert!(refusing_workspace(&ws.path().join("apps/shop/nested")).is_some());
    }

    #[test]
    fn a_package_without_a_workspace_table_does_not_count() {
        let plain = workspace_at("[package]\nname = \"x\"\nversion = \"0.1.0\"\n");
        assert_eq!(refusing_workspace(&plain.path().join("myapp")), None);
    }

    #[test]
    fn an_excluding_workspace_hands_over_to_the_one_above() {
        let outer = workspace_at("[workspace]\nmembers = []\n");
        let inner = outer.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(
            inner.join("Cargo.toml"),
            "[workspace]\nexclude = [\"myapp\"]\n",
        )
        .unwrap();
        assert_eq!(
            refusing_workspace(&inner.join("myapp")).as_deref(),
            Some(outer.path())
        );
    }
}
