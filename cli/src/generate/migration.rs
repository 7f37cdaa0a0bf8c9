//! `torn gen migration NAME`: a reversible migration, `migrations/<UTC time>_NAME.up.sql` and
//! `.down.sql`, which the app runs at start-up (`sqlx::migrate!`) and `torn db` runs on demand.
//! A migration of the same name that already exists is left as it is.

use std::path::PathBuf;

use super::{AppDir, Plan, check_snake_name};
use crate::CliError;

/// The plan for a migration made at `unix_secs`, with these up and down scripts.
pub fn plan(
    app: &AppDir,
    name: &str,
    unix_secs: u64,
    up: &str,
    down: &str,
) -> Result<Plan, CliError> {
    check_snake_name("migration", name)?;
    let files = migration_files(app)?;
    if let Some(existing) = existing(&files, name) {
        // The same migration again: the plan is the files as they are (nothing to write).
        let up_path = PathBuf::from(format!("migrations/{existing}.up.sql"));
        let down_path = PathBuf::from(format!("migrations/{existing}.down.sql"));
        let read = |p: &PathBuf| std::fs::read_to_string(app.root.join(p)).unwrap_or_default();
        return Ok(Plan {
            files: vec![
                (up_path.clone(), read(&up_path)),
                (down_path.clone(), read(&down_path)),
            ],
            generated: vec![(up_path, up.to_string()), (down_path, down.to_string())],
            ..Plan::default()
        });
    }
    series(&files, &[(name.into(), up.into(), down.into())], unix_secs)
}

/// Several migrations at once (`torn gen auth`), in this order, each with a higher version
/// than the one before; a name that already has a migration is skipped (left as it is).
pub fn plan_series(
    app: &AppDir,
    migrations: &[(String, String, String)],
    unix_secs: u64,
) -> Result<Plan, CliError> {
    series(&migration_files(app)?, migrations, unix_secs)
}

/// New migrations after those in `files` (the names in `migrations/`).
fn series(
    files: &[String],
    migrations: &[(String, String, String)],
    unix_secs: u64,
) -> Result<Plan, CliError> {
    // Versions must grow: a clock behind the newest migration gets the next number instead.
    let mut version: u64 = timestamp(unix_secs).parse().unwrap_or(0);
    if let Some(newest) = newest_version(files)
        && version <= newest
    {
        version = newest + 1;
    }
    let mut plan = Plan::default();
    for (name, up, down) in migrations {
        check_snake_name("migration", name)?;
        if existing(files, name).is_some() {
            continue;
        }
        let stem = format!("{version}_{name}");
        plan.files.push((
            PathBuf::from(format!("migrations/{stem}.up.sql")),
            up.clone(),
        ));
        plan.files.push((
            PathBuf::from(format!("migrations/{stem}.down.sql")),
            down.clone(),
        ));
        version += 1;
    }
    Ok(plan)
}

/// The empty scripts of `torn gen migration`: `templates/gen/migration/up.sql` and
/// `down.sql`.
pub fn blank(name: &str) -> Result<(String, String), CliError> {
    let blank = Blank {
        name: name.to_string(),
    };
    Ok((render(&blank, "up.sql")?, render(&blank, "down.sql")?))
}

/// What the templates in `templates/gen/migration/` see.
struct Blank {
    /// The migration's name.
    name: String,
}

super::template::templates!(Blank, "migration" {
    UpSql = "migration/up.sql",
    DownSql = "migration/down.sql",
});

/// The file names in the app's `migrations/` (none when it has no such folder).
fn migration_files(app: &AppDir) -> Result<Vec<String>, CliError> {
    let Ok(entries) = std::fs::read_dir(app.root.join("migrations")) else {
        return Ok(Vec::new());
    };
    entries
        .map(|entry| {
            entry
                .map(|e| e.file_name().to_string_lossy().to_string())
                .map_err(|e| CliError::caused("cannot read migrations/", e))
        })
        .collect()
}

/// The stem (`<time>_<name>`) of the migration with this name, if there is one.
fn existing(files: &[String], name: &str) -> Option<String> {
    let suffix = format!("_{name}.up.sql");
    files.iter().find_map(|file| {
        let stem = file.strip_suffix(".up.sql")?;
        let numbered = stem
            .split_once('_')
            .is_some_and(|(t, _)| t.chars().all(|c| c.is_ascii_digit()));
        (file.ends_with(&suffix) && numbered).then(|| stem.to_string())
    })
}

/// The highest version among the migrations.
fn newest_version(files: &[String]) -> Option<u64> {
    files
        .iter()
        .filter_map(|file| file.split_once('_')?.0.parse::<u64>().ok())
        .max()
}

/// `YYYYMMDDHHMMSS` in UTC, the version sqlx orders migrations by.
pub fn timestamp(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_time() {
        assert_eq!(timestamp(0), "19700101000000");
        assert_eq!(timestamp(951_782_400), "20000229000000");
        assert_eq!(timestamp(1_795_627_396), "20261125172316");
    }
}
