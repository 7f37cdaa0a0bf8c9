//! `<app> db migrate | rollback | status | reset` (what `torn db …` runs through `cargo run`):
//! the app's `migrations/` against its database, the one its settings name for the profile in
//! force (`TORN_ENV`, dev by default), or `DATABASE_URL`. The app's own binary answers them, so
//! its migrations always run with the torn it depends on.

use std::path::Path;

use sqlx::migrate::{Migrate as _, Migrator};

use super::{Db, redact};
use crate::config::Settings;

/// Why a database command did nothing, or stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    /// The command or the settings are not usable as given (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The work failed (exit code 1).
    #[error("{0}")]
    Failed(String),
}

impl CommandError {
    /// 2 for bad input, 1 otherwise.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CommandError::Usage(_) => 2,
            CommandError::Failed(_) => 1,
        }
    }
}

/// What `torn db` was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DbCommand {
    /// Apply every pending migration.
    Migrate,
    /// Undo the latest `n` applied migrations.
    Rollback(u32),
    /// List migrations, applied or pending.
    Status,
    /// Empty the database and apply every migration (dev and test only).
    Reset,
}

struct Target {
    db: Db,
    url: String,
    migrator: Migrator,
}

/// The app's database URL, as its settings name it for the profile in force.
fn database_url(root: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<String, CommandError> {
    // The database commands sign nothing: a profile that insists on a cookie secret (prod)
    // gets a throwaway one here rather than refusing to migrate.
    let throwaway = crate::config::random_secret();
    let env = |key: &str| match env(key) {
        None if key == "TORN_COOKIE_SECRET" => Some(throwaway.clone()),
        other => other,
    };
    let settings = Settings::load_from(root, env)
        .map_err(|e| CommandError::Usage(format!("the app's settings: {e}")))?;
    let url = settings.database.url.clone().ok_or_else(|| {
        CommandError::Usage(format!(
            "no database for the {} profile: set DATABASE_URL, or database_url in torn.toml",
            settings.env
        ))
    })?;
    Ok(url)
}

/// The app's database, as its settings name it for the profile in force.
#[cfg(any(feature = "jobs", feature = "accounts"))]
pub(crate) async fn connect(
    root: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Db, CommandError> {
    let url = database_url(root, env)?;
    Db::connect(&url)
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))
}

async fn open(root: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Target, CommandError> {
    let url = database_url(root, env)?;
    let dir = root.join("migrations");
    let migrator = Db::migrator_from(&dir).await.map_err(|e| {
        CommandError::Failed(format!(
            "cannot read the migrations in {}: {e}",
            dir.display()
        ))
    })?;
    let db = Db::connect(&url)
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    Ok(Target { db, url, migrator })
}

/// Applied migrations: (version, checksum), oldest first.
async fn applied(db: &Db) -> Result<Vec<(i64, Vec<u8>)>, CommandError> {
    let rows = crate::with_db!(db, pool => {
        let mut conn = pool.acquire().await.map_err(|e| CommandError::Failed(e.to_string()))?;
        conn.ensure_migrations_table()
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?;
        conn.list_applied_migrations()
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?
    });
    Ok(rows
        .into_iter()
        .map(|m| (m.version, m.checksum.into_owned()))
        .collect())
}

/// Parse the words after `db` (`migrate`, `rollback [--steps N]`, `status`, `reset`).
pub(crate) fn parse(args: &[String]) -> Result<DbCommand, CommandError> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["migrate"] => Ok(DbCommand::Migrate),
        ["status"] => Ok(DbCommand::Status),
        ["reset"] => Ok(DbCommand::Reset),
        ["rollback"] => Ok(DbCommand::Rollback(1)),
        ["rollback", "--steps" | "-n", n] => n
            .parse()
            .map(DbCommand::Rollback)
            .map_err(|_| CommandError::Usage(format!("--steps {n:?} is not a number"))),
        _ => Err(CommandError::Usage(format!(
            "unknown database command {:?}; use db migrate | rollback [--steps N] | status | reset",
            words.join(" ")
        ))),
    }
}

/// Run a database command for the app in `root`; returns what to print.
pub(crate) async fn run(
    root: &Path,
    command: DbCommand,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, CommandError> {
    if command == DbCommand::Reset && env("TORN_ENV").is_some_and(|p| p.trim() == "prod") {
        return Err(CommandError::Usage(
            "torn db reset deletes every row; it refuses the prod profile".into(),
        ));
    }
    let target = open(root, env).await?;
    let shown = redact(&target.url);
    let result = match command {
        DbCommand::Migrate => migrate(&target, &shown).await,
        DbCommand::Status => status(&target, &shown).await,
        DbCommand::Rollback(n) => rollback(&target, &shown, n).await,
        DbCommand::Reset => {
            // Let go of the database before emptying it (an SQLite file is deleted).
            target.db.close().await;
            return reset(root, target.url, &shown, env).await;
        }
    };
    target.db.close().await;
    result
}

async fn migrate(t: &Target, shown: &str) -> Result<String, CommandError> {
    let before = applied(&t.db).await?.len();
    t.db.migrate(&t.migrator)
        .await
        .map_err(|e| CommandError::Failed(format!("migrating {shown} failed: {e}")))?;
    let after = applied(&t.db).await?.len();
    Ok(match after - before {
        0 => format!("{shown}: up to date ({after} migrations applied)\n"),
        n => format!("{shown}: applied {n} migration(s); {after} in all\n"),
    })
}

async fn status(t: &Target, shown: &str) -> Result<String, CommandError> {
    let done = applied(&t.db).await?;
    let mut out = format!("{shown}\n");
    for m in t
        .migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
    {
        let state = match done.iter().find(|(v, _)| *v == m.version) {
            Some((_, sum)) if sum.as_slice() != &*m.checksum => "CHANGED since it was applied",
            Some(_) => "applied",
            None => "pending",
        };
        let undo = if reversible(&t.migrator, m.version) {
            ""
        } else {
            "  (no .down.sql)"
        };
        out.push_str(&format!(
            "  {:<8} {}  {}{undo}\n",
            state.split(' ').next().unwrap_or(state),
            m.version,
            m.description
        ));
        if state.starts_with("CHANGED") {
            out.push_str("           its file changed after it was applied\n");
        }
    }
    for (version, _) in &done {
        if !t.migrator.iter().any(|m| m.version == *version) {
            out.push_str(&format!(
                "  applied  {version}  (its file is gone from migrations/)\n"
            ));
        }
    }
    Ok(out)
}

fn reversible(migrator: &Migrator, version: i64) -> bool {
    migrator
        .iter()
        .any(|m| m.version == version && m.migration_type.is_down_migration())
}

async fn rollback(t: &Target, shown: &str, n: u32) -> Result<String, CommandError> {
    if n == 0 {
        return Err(CommandError::Usage("--steps must be at least 1".into()));
    }
    let done = applied(&t.db).await?;
    if done.is_empty() {
        return Ok(format!(
            "{shown}: no migration is applied; nothing to roll back\n"
        ));
    }
    let n = (n as usize).min(done.len());
    let undone = &done[done.len() - n..];
    for (version, _) in undone {
        if !reversible(&t.migrator, *version) {
            return Err(CommandError::Usage(format!(
                "migration {version} has no .down.sql, so it cannot be rolled back; nothing \
                 was changed (write migrations/{version}_<name>.down.sql, or use `torn db \
                 reset` in dev)"
            )));
        }
    }
    let target = done.len().checked_sub(n + 1).map_or(0, |i| done[i].0);
    crate::with_db!(&t.db, pool => t.migrator.undo(pool, target).await)
        .map_err(|e| CommandError::Failed(format!("rolling back {shown} failed: {e}")))?;
    let names: Vec<String> = undone.iter().rev().map(|(v, _)| v.to_string()).collect();
    Ok(format!("{shown}: rolled back {}\n", names.join(", ")))
}

async fn reset(
    root: &Path,
    url: String,
    shown: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, CommandError> {
    if url.starts_with("sqlite:") {
        if let Some(file) = sqlite_file(&url) {
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", file.display());
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(CommandError::Failed(format!("cannot delete {path}: {e}")));
                    }
                }
            }
        }
    } else {
        let db = Db::connect(&url)
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?;
        crate::with_db!(&db, pool => {
            sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(|e| CommandError::Failed(format!("emptying {shown} failed: {e}")))?;
        db.close().await;
    }
    let target = open(root, env).await?;
    let out = migrate(&target, shown).await;
    target.db.close().await;
    Ok(format!("{shown}: emptied\n{}", out?))
}

/// The file of an SQLite URL (`sqlite://path?…`), if it names one.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.starts_with(':')).then(|| Path::new(path))
}
