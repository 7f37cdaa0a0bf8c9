//! `torn destroy`: each generator undone on a fresh app, files edited since kept, and a
//! migration removed only if the app's database never applied it.

mod common;

use common::{assert_back_to, new_app, source_files, text, torn, torn_env};

/// `torn destroy` undoes `torn gen handler`, `mailer`, `job`, `channel` and `oauth`: the files go, the lines
/// they added go, and the app is as before. A file changed since is kept and named (exit 1);
/// `--dry-run` changes nothing.
#[test]
fn destroy_undoes_what_a_generator_wrote() {
    let (_dir, app) = new_app();
    let before = source_files(&app);
    for args in [
        &["gen", "handler", "about", "--methods", "get,post"][..],
        &[
            "gen",
            "handler",
            "api_item",
            "--path",
            "/api/item",
            "--methods",
            "put",
        ],
        &["gen", "mailer", "welcome"],
        &["gen", "job", "send_digest"],
        &["gen", "channel", "room"],
        &["gen", "oauth", "github"],
        &[
            "gen",
            "oauth",
            "corp",
            "--issuer",
            "https://id.corp.example",
            "--label",
            "Corp",
        ],
    ] {
        let out = torn(&app, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let generated = source_files(&app);

    // --dry-run says what would go and changes nothing.
    let out = torn(&app, &["destroy", "handler", "about", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("would remove  src/handlers/about.rs"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("would change  src/lib.rs"),
        "{}",
        text(&out)
    );
    assert_eq!(source_files(&app), generated);

    for args in [
        &["destroy", "handler", "about"][..],
        &["destroy", "handler", "ApiItem"],
        &["destroy", "mailer", "welcome"],
        &["destroy", "job", "send_digest"],
        &["destroy", "channel", "room"],
        &["destroy", "oauth", "github"],
        &["destroy", "oauth", "corp"],
    ] {
        let out = torn(&app, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("removed"), "{args:?}: {}", text(&out));
    }
    // The mailers' and jobs' modules stay (other mails and jobs would use them), with their
    // lines in src/lib.rs.
    assert_back_to(
        &before,
        &app,
        &["pub mod mailers;", "pub mod jobs;"],
        &["src/mailers/mod.rs", "src/jobs/mod.rs"],
    );
    let again = torn(&app, &["destroy", "handler", "about"]);
    assert!(!again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("src/handlers/about.rs is missing"),
        "{}",
        text(&again)
    );

    // A file changed since it was generated is kept, and named; the rest goes.
    assert!(
        torn(
            &app,
            &["gen", "handler", "contact", "--methods", "get,post"]
        )
        .status
        .success()
    );
    let page = app.join("templates/contact.html");
    let edited = std::fs::read_to_string(&page).unwrap() + "<p>Write to us.</p>\n";
    std::fs::write(&page, &edited).unwrap();
    let out = torn(&app, &["destroy", "handler", "contact"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("kept          templates/contact.html: changed since it was generated"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_to_string(&page).unwrap(), edited);
    assert!(!app.join("src/handlers/contact.rs").exists());
    assert!(!app.join("tests/contact.rs").exists());
    let lib = std::fs::read_to_string(app.join("src/lib.rs")).unwrap();
    assert!(!lib.contains("\"contact\""), "the route is gone:\n{lib}");

    // Names that torn gen never made are refused, and nothing changes; accounts are not
    // undone.
    let now = source_files(&app);
    let out = torn(&app, &["destroy", "auth"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("accounts hold the app's users"),
        "{}",
        text(&out)
    );
    let out = torn(&app, &["destroy", "scaffold", "ghost"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = torn(&app, &["destroy", "channel", "ghost"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = torn(&app, &["destroy", "migration", "ghost"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no migration named ghost"),
        "{}",
        text(&out)
    );
    assert_eq!(source_files(&app), now);
}

/// `torn destroy` for the generators that make migrations: a migration goes only if the
/// app's database never applied it (the app's binary says); an applied one is kept until
/// `torn db rollback`.
#[test]
fn destroy_removes_a_migration_only_if_it_was_never_applied() {
    let (_dir, app) = new_app();
    let before = source_files(&app);
    let run = |args: &[&str]| {
        let out = torn_env(&app, args, &[]);
        (out.status.code(), text(&out))
    };
    // Never applied: the scaffold, its model and its migration all go.
    let (code, out) = run(&["gen", "scaffold", "note", "body:text", "--auth"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&["gen", "migration", "add_tags"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&["gen", "model", "tag", "name:string", "note:references"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&["destroy", "model", "tag"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("_create_tags.up.sql"), "{out}");
    let (code, out) = run(&["destroy", "scaffold", "note"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("_create_notes.up.sql"), "{out}");
    let (code, out) = run(&["destroy", "migration", "add_tags"]);
    assert_eq!(code, Some(0), "{out}");
    assert_back_to(&before, &app, &["pub mod models;"], &["src/models/mod.rs"]);

    // Applied: the pages and the model go, the migration stays until it is rolled back.
    let (code, out) = run(&["gen", "scaffold", "post", "title:string", "--auth"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&["db", "migrate"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&["destroy", "scaffold", "post"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("removed       src/models/post.rs"), "{out}");
    assert!(out.contains("removed       src/handlers/posts.rs"), "{out}");
    assert!(
        out.contains("_create_posts.up.sql: a migration the database has applied"),
        "{out}"
    );
    let (code, out) = run(&["db", "rollback"]);
    assert_eq!(code, Some(0), "{out}");
    // Its fields are read back from the migration now.
    let (code, out) = run(&["destroy", "scaffold", "post"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("_create_posts.down.sql"), "{out}");
    assert_back_to(&before, &app, &["pub mod models;"], &["src/models/mod.rs"]);

    // A migration someone wrote SQL into is theirs: kept.
    let (code, out) = run(&["gen", "migration", "add_index"]);
    assert_eq!(code, Some(0), "{out}");
    let up = std::fs::read_dir(app.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_add_index.up.sql"))
        .unwrap();
    std::fs::write(&up, "CREATE INDEX users_created ON users (created_at);\n").unwrap();
    let (code, out) = run(&["destroy", "migration", "add_index"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("changed since it was generated"), "{out}");
    assert!(up.exists());
}
