//! `torn db`: the app's own binary answers, on SQLite and PostgreSQL, and explains what is
//! wrong.

mod common;

use common::{new_app, text, torn, torn_env};

/// `torn db` on a fresh app's database: status, migrate, rollback, reset, and refusals.
fn db_commands(database_url: Option<&str>) {
    let (_dir, app) = new_app();
    let env: Vec<(&str, &str)> = database_url
        .map(|u| ("DATABASE_URL", u))
        .into_iter()
        .collect();
    let db = |args: &[&str]| {
        let mut all = vec!["db"];
        all.extend_from_slice(args);
        let out = torn_env(&app, &all, &env);
        (out.status.code(), text(&out))
    };
    let (code, out) = db(&["status"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("pending  20261125000000  accounts"), "{out}");
    let (code, out) = db(&["migrate"]);
    assert_eq!(code, Some(0), "{out}");
    // The template's ten: accounts, identities, security_stamp, chat, jobs, magic_links,
    // two_factor, devices, api_tokens, passkeys.
    assert!(out.contains("applied 10 migration(s)"), "{out}");
    assert!(db(&["migrate"]).1.contains("up to date"));
    // A new reversible migration.
    assert!(
        torn(&app, &["gen", "migration", "create_notes"])
            .status
            .success()
    );
    let stem = std::fs::read_dir(app.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .find_map(|f| f.strip_suffix("_create_notes.up.sql").map(str::to_string))
        .unwrap();
    let migrations = app.join("migrations");
    std::fs::write(
        migrations.join(format!("{stem}_create_notes.up.sql")),
        "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL);\n",
    )
    .unwrap();
    std::fs::write(
        migrations.join(format!("{stem}_create_notes.down.sql")),
        "DROP TABLE notes;\n",
    )
    .unwrap();
    let (code, out) = db(&["migrate"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("applied 1 migration(s); 11 in all"), "{out}");
    assert!(
        db(&["status"])
            .1
            .contains(&format!("applied  {stem}  create notes"))
    );
    let (code, out) = db(&["rollback"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&format!("rolled back {stem}")), "{out}");
    assert!(
        db(&["status"])
            .1
            .contains(&format!("pending  {stem}  create notes"))
    );
    // Again, so the table really went and comes back.
    assert!(db(&["migrate"]).1.contains("applied 1 migration(s)"));
    // A migration without .down.sql cannot be rolled back; nothing changes.
    let simple = stem.parse::<u64>().unwrap() + 1;
    std::fs::write(
        migrations.join(format!("{simple}_simple.sql")),
        "CREATE TABLE simple (id BIGINT PRIMARY KEY);\n",
    )
    .unwrap();
    assert!(
        db(&["migrate"])
            .1
            .contains("applied 1 migration(s); 12 in all")
    );
    let (code, out) = db(&["rollback"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("migration {simple} has no .down.sql")),
        "{out}"
    );
    assert!(
        db(&["status"])
            .1
            .contains(&format!("applied  {simple}  simple  (no .down.sql)"))
    );
    // Reset empties the database and migrates again; never in prod.
    let (code, out) = db(&["reset"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("emptied") && out.contains("applied 12 migration(s)"),
        "{out}"
    );
    let mut prod = env.clone();
    prod.push(("TORN_ENV", "prod"));
    let out = torn_env(&app, &["db", "reset"], &prod);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("refuses the prod profile"),
        "{}",
        text(&out)
    );
}

#[test]
fn db_commands_on_sqlite() {
    db_commands(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_commands_on_postgres() {
    let Some(pg) = torn::test::TestDatabase::postgres().await else {
        common::skipped(
            "gen::db_commands_on_postgres",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    };
    let url = pg.url().to_string();
    tokio::task::spawn_blocking(move || db_commands(Some(&url)))
        .await
        .unwrap();
    drop(pg);
}

#[test]
fn db_commands_explain_what_is_wrong() {
    let outside = tempfile::tempdir().unwrap();
    let out = torn(outside.path(), &["db", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("is not inside a torn app"));
    let (_dir, app) = new_app();
    let out = torn_env(
        &app,
        &["db", "status"],
        &[("DATABASE_URL", "postgres://nobody:hunter2@127.0.0.1:1/none")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("cannot connect to the database") && !text(&out).contains("hunter2"),
        "{}",
        text(&out)
    );
    let out = torn_env(&app, &["db", "migrate"], &[("DATABASE_URL", "mysql://x/y")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("is not supported"), "{}", text(&out));
    let out = torn_env(&app, &["db", "rollback", "--steps", "0"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
