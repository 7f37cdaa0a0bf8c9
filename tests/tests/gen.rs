//! `torn gen`: each generator's output against insta snapshots (`tests/snapshots/gen/`),
//! running twice, `--dry-run`, `--force`, and bad input (exit 2, nothing written).
//!
//! After a deliberate change to a generator, review the new output with `cargo insta review`
//! (or accept it all with `INSTA_UPDATE=always cargo test -p torn-tests --test gen`), and read
//! the diff.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{files, new_app, text, torn};

/// What changed between two listings: new files whole, changed files as added lines.
fn changes(before: &[(PathBuf, String)], after: &[(PathBuf, String)]) -> String {
    let mut out = String::new();
    for (path, text) in after {
        let name = migration_stable(&path.display().to_string());
        match before.iter().find(|(p, _)| p == path) {
            None => out.push_str(&format!("==> new {name}\n{text}\n")),
            Some((_, old)) if old != text => {
                let old_lines: Vec<&str> = old.lines().collect();
                out.push_str(&format!("==> changed {name}\n"));
                for line in text.lines().filter(|l| !old_lines.contains(l)) {
                    out.push_str(&format!("+ {line}\n"));
                }
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// Migration names start with the time they were made; snapshots say `<time>`.
fn migration_stable(name: &str) -> String {
    match name.strip_prefix("migrations/") {
        Some(rest) if rest.len() > 15 && rest[..14].chars().all(|c| c.is_ascii_digit()) => {
            format!("migrations/<time>{}", &rest[14..])
        }
        _ => name.to_string(),
    }
}

/// Compare with `tests/snapshots/gen/NAME.snap` (insta: review a change with
/// `cargo insta review`, or accept it with `INSTA_UPDATE=always`).
fn check_snapshot(name: &str, actual: &str) {
    insta::with_settings!({
        snapshot_path => common::workspace_root().join("tests/snapshots/gen"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, actual);
    });
}

/// Run a generator on a fresh app and compare what it wrote with the snapshot; then run it
/// again and check that nothing changes.
fn snapshot(name: &str, args: &[&str]) {
    let (_dir, app) = new_app();
    let before = files(&app);
    let out = torn(&app, args);
    assert!(out.status.success(), "{}", text(&out));
    let after = files(&app);
    check_snapshot(name, &changes(&before, &after));
    let again = torn(&app, args);
    assert!(again.status.success(), "{}", text(&again));
    assert!(!text(&again).contains("created"), "{}", text(&again));
    assert_eq!(files(&app), after, "a second run changes nothing");
}

#[test]
fn handler_with_a_form() {
    snapshot(
        "handler_get_post",
        &["gen", "handler", "about", "--methods", "get,post"],
    );
}

#[test]
fn handler_for_scripts() {
    snapshot(
        "handler_put_delete",
        &[
            "gen",
            "handler",
            "api_item",
            "--path",
            "/api/item",
            "--methods",
            "put,delete",
        ],
    );
}

#[test]
fn model() {
    snapshot(
        "model",
        &[
            "gen",
            "model",
            "post",
            "title:string",
            "body:text?",
            "views:int",
            "score:float?",
            "published:bool",
            "day:date",
            "at:datetime?",
            "key:uuid",
            "rating:bigint?",
            "author:references:user",
        ],
    );
}

#[test]
fn oauth_provider() {
    snapshot("oauth_github", &["gen", "oauth", "github"]);
    snapshot(
        "oauth_oidc",
        &[
            "gen",
            "oauth",
            "corp-sso",
            "--issuer",
            "https://id.corp.example",
            "--label",
            "Corp SSO",
        ],
    );
}

#[test]
fn scaffold() {
    snapshot(
        "scaffold",
        &[
            "gen",
            "scaffold",
            "post",
            "title:string",
            "body:text?",
            "views:int",
            "published:bool",
        ],
    );
    snapshot(
        "scaffold_auth",
        &["gen", "scaffold", "note", "body:text", "--auth"],
    );
}

#[test]
fn mailer() {
    snapshot("mailer", &["gen", "mailer", "order_shipped"]);
}

#[test]
fn job() {
    snapshot("job", &["gen", "job", "send_digest"]);
}

#[test]
fn channel() {
    snapshot("channel", &["gen", "channel", "room"]);
}

#[test]
fn channel_names_that_are_taken_are_refused() {
    // A new app has a chat: its routes are taken.
    let (_dir, app) = new_app();
    let listing = files(&app);
    let out = torn(&app, &["gen", "channel", "chat"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("a route named \"chat\" already exists"),
        "{}",
        text(&out)
    );
    let out = torn(&app, &["gen", "channel", "mod"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(files(&app), listing, "nothing written");
}

#[test]
fn migration() {
    snapshot("migration", &["gen", "migration", "add_notes"]);
}

#[test]
fn dry_run_writes_nothing_and_force_overwrites() {
    let (_dir, app) = new_app();
    let before = files(&app);
    let out = torn(&app, &["gen", "handler", "about", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("would create  src/handlers/about.rs"),
        "{}",
        text(&out)
    );
    assert_eq!(files(&app), before);
    assert!(torn(&app, &["gen", "handler", "about"]).status.success());
    // An edited file is kept: a second run refuses (nothing written), --force overwrites.
    let handler = app.join("src/handlers/about.rs");
    std::fs::write(&handler, "// mine\n").unwrap();
    let with_post = ["gen", "handler", "about", "--methods", "get,post"];
    let before = files(&app);
    let out = torn(&app, &with_post);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("src/handlers/about.rs already exists")
            && text(&out).contains("--force"),
        "{}",
        text(&out)
    );
    assert_eq!(files(&app), before, "all or nothing");
    let mut forced = with_post.to_vec();
    forced.push("--force");
    let out = torn(&app, &forced);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read_to_string(&handler)
            .unwrap()
            .contains("pub async fn post")
    );
}

/// Names as people type them: `BlogPost`, `blog-post` and `blog_post` are one name, and the
/// report says what the first two became.
#[test]
fn names_as_people_type_them() {
    let mut written = Vec::new();
    for typed in ["BlogPost", "blog-post", "blog_post"] {
        let (_dir, app) = new_app();
        let before = files(&app);
        let args = ["gen", "scaffold", typed, "title:string", "--dry-run"];
        let out = torn(&app, &args);
        assert!(out.status.success(), "{typed}: {}", text(&out));
        let said = text(&out);
        assert!(
            said.contains("would create  src/models/blog_post.rs"),
            "{said}"
        );
        assert!(
            said.contains("would create  templates/blog_posts/index.html"),
            "{said}"
        );
        if typed == "blog_post" {
            assert!(!said.contains(" is blog_post"), "{said}");
        } else {
            assert!(
                said.contains(&format!(
                    "{typed} is blog_post: type BlogPost, module blog_post, table blog_posts"
                )),
                "{said}"
            );
        }
        assert_eq!(files(&app), before, "--dry-run writes nothing");
        let out = torn(&app, &args[..4]);
        assert!(out.status.success(), "{typed}: {}", text(&out));
        written.push(changes(&before, &files(&app)));
    }
    assert!(written[0].contains("pub struct BlogPost"), "{}", written[0]);
    assert_eq!(written[0], written[1], "BlogPost and blog-post");
    assert_eq!(written[1], written[2], "blog-post and blog_post");
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let outside = tempfile::tempdir().unwrap();
    let out = torn(outside.path(), &["gen", "handler", "about"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("is not inside a torn app"),
        "{}",
        text(&out)
    );
    assert!(files(outside.path()).is_empty());

    let (_dir, app) = new_app();
    let before = files(&app);
    for (args, says) in [
        (
            vec!["gen", "handler", "About!"],
            "handler name \"About!\" is not valid",
        ),
        (vec!["gen", "handler", "blog post"], "is not valid"),
        (vec!["gen", "handler", "type"], "is a Rust keyword"),
        (
            vec!["gen", "handler", "home"],
            "a route named \"home\" already exists",
        ),
        (
            vec!["gen", "handler", "about", "--methods", "get,fetch"],
            "unknown method \"fetch\"",
        ),
        (
            vec!["gen", "handler", "about", "--path", "about"],
            "path \"about\" is not valid",
        ),
        (
            vec!["gen", "handler", "about", "--path", "/a b"],
            "is not valid",
        ),
        (vec!["gen", "migration", "Add Notes"], "migration name"),
        (vec!["gen", "mailer", "Welcome!"], "mailer name"),
        (vec!["gen", "job", "Send digest!"], "job name"),
        (vec!["gen", "job", "mod"], "is a Rust keyword"),
        (vec!["gen", "model", "post"], "required"),
        (vec!["gen", "model", "post", "title"], "no type"),
        (
            vec!["gen", "model", "post", "title:str"],
            "unknown type \"str\"",
        ),
        (vec!["gen", "model", "post", "order:int"], "SQL keyword"),
        (
            vec!["gen", "model", "post", "id:bigint"],
            "made for every model",
        ),
        (
            vec!["gen", "model", "post", "a:int", "a:text"],
            "given twice",
        ),
        (
            vec!["gen", "model", "post", "blog:references"],
            "which this app does not have",
        ),
        (
            vec!["gen", "model", "post", "parent:references:post"],
            "make it optional",
        ),
        (vec!["gen", "model", "user", "name:string"], "is taken"),
        (
            vec!["gen", "oauth", "myspace"],
            "give its OpenID Connect issuer",
        ),
        (
            vec!["gen", "oauth", "github", "--issuer", "https://x"],
            "needs no --issuer",
        ),
        (
            vec!["gen", "oauth", "corp", "--issuer", "ftp://x"],
            "not an http(s) URL",
        ),
        (vec!["gen", "oauth", "Bad Name"], "is not valid"),
        (vec!["gen", "handler"], "required"),
        (vec!["gen", "widget"], "unrecognized subcommand"),
    ] {
        let out = torn(&app, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
        assert_eq!(files(&app), before, "{args:?} wrote nothing");
    }
    // A mark removed from the app: refused, with where to put it back.
    let lib = app.join("src/lib.rs");
    let original = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, original.replace("    // torn:routes\n", "")).unwrap();
    let before = files(&app);
    let out = torn(&app, &["gen", "handler", "about"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("src/lib.rs has no `// torn:routes` line"),
        "{}",
        text(&out)
    );
    assert_eq!(files(&app), before, "not even the handler file");
}

/// A listing with migration names as `<time>_name`, without the migrations named `skip`.
fn stable_files(dir: &Path, skip: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = files(dir)
        .into_iter()
        .map(|(p, t)| (migration_stable(&p.display().to_string()), t))
        .filter(|(p, _)| !p.contains(skip))
        .collect();
    out.sort();
    out
}

#[test]
fn auth_turns_a_minimal_app_into_what_torn_new_makes() {
    let dir = tempfile::tempdir().unwrap();
    let new = |args: &[&str]| {
        let out = torn(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    };
    new(&["new", "shop", "--no-git", "--path", "full"]);
    new(&["new", "shop", "--no-git", "--path", "mini", "--minimal"]);
    let (full, mini) = (dir.path().join("full"), dir.path().join("mini"));
    let listing = files(&mini);
    for path in [
        "src/handlers/auth.rs",
        "templates/auth",
        "tests/accounts.rs",
    ] {
        assert!(!mini.join(path).exists(), "a minimal app has no {path}");
    }
    assert!(mini.join("migrations/README.md").is_file());
    let lib = std::fs::read_to_string(mini.join("src/lib.rs")).unwrap();
    assert!(!lib.contains("Accounts"), "{lib}");

    // What needs accounts is refused until they are there.
    for args in [
        vec!["gen", "scaffold", "note", "body:text", "--auth"],
        vec!["gen", "model", "pet", "owner:references:user"],
        vec!["gen", "oauth", "github"],
        vec!["gen", "job", "send_digest"],
    ] {
        let out = torn(&mini, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("run `torn gen auth` first"),
            "{args:?}: {}",
            text(&out)
        );
        assert_eq!(files(&mini), listing, "{args:?} wrote nothing");
    }

    // A migration of the app's own, made before: the accounts' migrations come after it.
    let out = torn(&mini, &["gen", "migration", "early"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = files(&mini);
    let dry = torn(&mini, &["gen", "auth", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(
        text(&dry).contains("would create  src/handlers/auth.rs"),
        "{}",
        text(&dry)
    );
    assert!(
        text(&dry).contains("would change  src/lib.rs"),
        "{}",
        text(&dry)
    );
    assert_eq!(files(&mini), listing, "--dry-run wrote nothing");

    let out = torn(&mini, &["gen", "auth"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stable_files(&mini, "_early."),
        stable_files(&full, "_early."),
        "torn new --minimal + torn gen auth = torn new"
    );
    let versions: Vec<String> = files(&mini)
        .into_iter()
        .filter_map(|(p, _)| {
            let name = p.strip_prefix("migrations").ok()?.display().to_string();
            name.ends_with(".up.sql").then_some(name)
        })
        .collect();
    let mut sorted = versions.clone();
    sorted.sort();
    assert_eq!(sorted.len(), 11, "{sorted:?}");
    assert!(sorted[0].ends_with("_early.up.sql"), "{sorted:?}");
    assert!(sorted[1].ends_with("_accounts.up.sql"), "{sorted:?}");
    assert!(sorted[2].ends_with("_identities.up.sql"), "{sorted:?}");
    assert!(sorted[3].ends_with("_security_stamp.up.sql"), "{sorted:?}");
    assert!(sorted[4].ends_with("_chat.up.sql"), "{sorted:?}");
    assert!(sorted[5].ends_with("_jobs.up.sql"), "{sorted:?}");
    assert!(sorted[6].ends_with("_magic_links.up.sql"), "{sorted:?}");
    assert!(sorted[7].ends_with("_two_factor.up.sql"), "{sorted:?}");
    assert!(sorted[8].ends_with("_devices.up.sql"), "{sorted:?}");
    assert!(sorted[9].ends_with("_api_tokens.up.sql"), "{sorted:?}");
    assert!(sorted[10].ends_with("_passkeys.up.sql"), "{sorted:?}");

    // Again, and on an app that has accounts from the start: nothing changes.
    for app in [&mini, &full] {
        let listing = files(app);
        let again = torn(app, &["gen", "auth"]);
        assert!(again.status.success(), "{}", text(&again));
        assert!(!text(&again).contains("created"), "{}", text(&again));
        assert_eq!(files(app), listing, "a second run changes nothing");
    }
    // Now the generators that need accounts work.
    let out = torn(&mini, &["gen", "scaffold", "note", "body:text", "--auth"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// The generators write code already laid out as rustfmt lays it out, so what they write is the
/// same on a machine with rustfmt and one without: every generator, with short names and long
/// ones, many fields and few, and `rustfmt --check` finds nothing to change. (rustfmt comes
/// with the toolchain; without it this test fails rather than pass unchecked.)
#[test]
fn generated_code_needs_no_rustfmt() {
    let (_dir, app) = new_app();
    let runs: &[&[&str]] = &[
        &["gen", "handler", "about", "--methods", "get,post"],
        &[
            "gen",
            "handler",
            "a_rather_long_handler_name_here",
            "--methods",
            "get,post,put,delete",
        ],
        &[
            "gen",
            "scaffold",
            "post",
            "title:string",
            "body:text?",
            "views:int",
            "published:bool",
        ],
        &["gen", "scaffold", "note", "body:text", "--auth"],
        &["gen", "scaffold", "flag", "shown:bool"],
        &["gen", "model", "category", "name:string"],
        &[
            "gen",
            "scaffold",
            "blog_post_comment",
            "headline_for_the_comment:string",
            "summary:string?",
            "rating_value:float?",
            "category:references",
            "the_author:references:user",
            "happened_on:date?",
            "at:datetime",
            "key:uuid",
            "big:bigint?",
            "--auth",
        ],
        &["gen", "model", "x", "n:int"],
        &[
            "gen",
            "scaffold",
            "gadget",
            "name:string",
            "weight:float?",
            "active:bool",
            "--api",
        ],
        &[
            "gen",
            "scaffold",
            "stock_item",
            "stock_keeping_unit_code:string",
            "quantity_on_hand:int",
            "expires_on:date?",
            "category:references",
            "is_discontinued:bool",
            "--auth",
            "--api",
        ],
        &["gen", "oauth", "github"],
        &[
            "gen",
            "oauth",
            "corp-single-sign-on",
            "--issuer",
            "https://id.example.com",
            "--label",
            "Corporate Single Sign On",
        ],
        &["gen", "mailer", "order_shipped_to_the_customer"],
        &["gen", "channel", "room"],
        &[
            "gen",
            "channel",
            "a_rather_long_name_for_a_live_channel_here",
        ],
    ];
    for args in runs {
        let out = torn(&app, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let rust: Vec<PathBuf> = files(&app)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    assert!(rust.len() > 20, "{rust:?}");
    let out = Command::new("rustfmt")
        .args(["--edition", "2024", "--check"])
        .args(&rust)
        .current_dir(&app)
        .output()
        .expect("rustfmt runs (it comes with the Rust toolchain)");
    assert!(
        out.status.success(),
        "rustfmt would change generated code:\n{}",
        text(&out)
    );
}
