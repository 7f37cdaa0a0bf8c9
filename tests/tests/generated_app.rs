//! A fresh app from `torn new`: it builds without warnings, passes clippy and its own tests,
//! and serves its pages and XSRF-protected form over HTTP. It is built in the workspace's
//! target directory, with the workspace's Cargo.lock, so dependencies compile once.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// Start a built app binary on an ephemeral port and return it with its base URL.
fn start_app(binary: &Path, dir: &Path) -> (Child, String) {
    let mut child = Command::new(binary)
        .current_dir(dir)
        .env("TORN_ENV", "test")
        .env("PORT", "0")
        .env("TORN_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the app");
    let url = common::wait_for_serving(&mut child);
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_app_builds_cleanly_passes_its_tests_and_serves() {
    let app = common::generated_app("freshapp", &[]);

    let build = run(
        common::cargo()
            .args(["build", "--message-format", "short"])
            .current_dir(&app),
        "cargo build",
    );
    assert!(
        !build.contains("warning"),
        "the generated app builds without warnings:\n{build}"
    );
    run(
        common::cargo()
            .args(["clippy", "--all-targets", "--", "-D", "warnings"])
            .current_dir(&app),
        "cargo clippy -D warnings",
    );
    let tests = run(common::cargo().arg("test").current_dir(&app), "cargo test");
    for name in [
        "home_page_says_hello",
        "greeting_form_needs_its_xsrf_token",
        "unknown_pages_get_the_app_error_page",
        "sign_up_confirm_log_in_and_out",
        "an_unconfirmed_account_waits_until_its_address_is_confirmed",
        "mail_to_one_address_is_limited",
        "log_in_failures_say_the_same_for_every_email",
        "sign_in_buttons_for_configured_providers_only",
        "the_chat_needs_a_log_in",
        "messages_are_shown_to_everyone_as_text",
        "bad_messages_are_refused_and_kept_in_the_form",
        "the_page_shows_the_last_50_messages",
        "the_chat_keeps_its_last_1000_messages",
    ] {
        assert!(
            tests.contains(&format!("test {name} ... ok")),
            "{name}:\n{tests}"
        );
    }

    let (child, base) = start_app(&common::profile_dir().join("freshapp"), &app);
    let _stop = common::KillOnDrop(child);
    let client = torn::test::browser_client();
    let home = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("Hello world! Welcome to torn"), "{html}");
    let token = torn::test::form_field(&html, "_xsrf").expect("XSRF field");
    let css_at = html.find("/static/css/app.css?v=").expect("versioned CSS");
    let css_url: String = html[css_at..].chars().take_while(|c| *c != '"').collect();
    let css = client.get(format!("{base}{css_url}")).send().await.unwrap();
    assert_eq!(css.status(), 200);

    let refused = client
        .post(format!("{base}/greet"))
        .form(&[("name", "Eve")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let greeted = client
        .post(format!("{base}/greet"))
        .form(&[("_xsrf", token.as_str()), ("name", "Grace")])
        .send()
        .await
        .unwrap();
    assert_eq!(greeted.status(), 303);
    let after = common::page_text(&client, &format!("{base}/")).await;
    assert!(after.contains("Hello, Grace! Welcome to torn."), "{after}");
}

/// Generated code joins a fresh app and keeps it clean: every generator, then rustfmt,
/// clippy `-D warnings`, the app's tests (the generated ones included), and `torn routes`.
#[test]
fn generated_code_builds_passes_clippy_and_its_tests() {
    let app = common::generated_app("genapp", &[]);
    let torn = |args: &[&str]| {
        run(
            Command::new(common::torn_bin())
                .args(args)
                .current_dir(&app),
            &format!("torn {}", args.join(" ")),
        )
    };
    torn(&["gen", "handler", "about", "--methods", "get,post"]);
    torn(&["gen", "handler", "zine"]);
    torn(&[
        "gen",
        "handler",
        "api_item",
        "--path",
        "/api/item",
        "--methods",
        "put,patch,delete",
    ]);
    torn(&["gen", "migration", "create_notes"]);
    torn(&["gen", "mailer", "welcome"]);
    torn(&["gen", "job", "send_digest"]);
    torn(&["gen", "oauth", "github"]);
    torn(&[
        "gen",
        "oauth",
        "corp",
        "--issuer",
        "https://id.corp.example",
    ]);
    torn(&["gen", "model", "author", "name:string", "bio:text?"]);
    torn(&[
        "gen",
        "model",
        "post",
        "title:string",
        "views:int",
        "score:float?",
        "published:bool",
        "day:date",
        "at:datetime?",
        "key:uuid",
        "author:references",
        "editor:references:user?",
    ]);
    torn(&[
        "gen",
        "model",
        "comment",
        "post:references",
        "body:text",
        "parent:references:comment?",
    ]);
    torn(&[
        "gen",
        "scaffold",
        "article",
        "title:string",
        "body:text?",
        "rating:float?",
        "featured:bool",
        "author:references",
        "parent:references:article?",
    ]);
    torn(&[
        "gen",
        "scaffold",
        "task",
        "name:string",
        "due:date?",
        "--auth",
    ]);
    torn(&[
        "gen",
        "scaffold",
        "review",
        "article:references",
        "stars:int",
        "note:text?",
        "--auth",
    ]);
    // A reference to rows that belong to users: only the logged-in user's own rows count.
    torn(&[
        "gen",
        "scaffold",
        "step",
        "task:references",
        "title:string",
        "--auth",
    ]);
    // JSON APIs: one for anyone, one whose rows belong to their owner (and point at the
    // owner's own tasks).
    torn(&[
        "gen",
        "scaffold",
        "gadget",
        "name:string",
        "weight:float?",
        "bought:date?",
        "active:bool",
        "--api",
    ]);
    torn(&[
        "gen",
        "scaffold",
        "chore",
        "title:string",
        "minutes:int",
        "task:references",
        "--auth",
        "--api",
    ]);
    // Checkboxes only: nothing to refuse.
    torn(&["gen", "scaffold", "toggle", "enabled:bool", "--api"]);
    torn(&["gen", "mailer", "order_shipped"]);
    torn(&["gen", "channel", "room"]);
    let migrations: Vec<_> = std::fs::read_dir(app.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("create_notes"))
        .collect();
    for path in migrations {
        let sql = if path.to_string_lossy().ends_with(".up.sql") {
            "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL);\n"
        } else {
            "DROP TABLE notes;\n"
        };
        std::fs::write(path, sql).unwrap();
    }
    run(
        common::cargo().args(["fmt", "--check"]).current_dir(&app),
        "cargo fmt --check",
    );
    run(
        common::cargo()
            .args(["clippy", "--all-targets", "--", "-D", "warnings"])
            .current_dir(&app),
        "cargo clippy -D warnings",
    );
    // The generated tests, on SQLite, then on PostgreSQL when there is a server.
    let mut on_sqlite = common::cargo();
    on_sqlite
        .arg("test")
        .env_remove("TORN_TEST_POSTGRES_URL")
        .current_dir(&app);
    let mut runs = vec![(run(&mut on_sqlite, "cargo test (SQLite)"), "SQLite")];
    if let Ok(url) = std::env::var("TORN_TEST_POSTGRES_URL") {
        let mut on_postgres = common::cargo();
        on_postgres
            .arg("test")
            .env("TORN_TEST_POSTGRES_URL", url)
            .current_dir(&app);
        runs.push((
            run(&mut on_postgres, "cargo test (PostgreSQL)"),
            "PostgreSQL",
        ));
    } else {
        common::skipped(
            "generated tests on PostgreSQL",
            "TORN_TEST_POSTGRES_URL is not set",
        );
    }
    let names = [
        "about_page_renders",
        "about_form_needs_its_xsrf_token",
        "zine_page_renders",
        "room_page_has_its_form_and_script",
        "room_messages_reach_an_open_event_stream",
        "room_form_needs_its_xsrf_token_and_a_message",
        "api_item_put_needs_the_xsrf_header",
        "api_item_patch_needs_the_xsrf_header",
        "api_item_delete_needs_the_xsrf_header",
        "mailers::welcome::tests::renders_text_and_escaped_html",
        "mailers::order_shipped::tests::renders_text_and_escaped_html",
        "send_digest_is_stored_then_run_by_the_queue",
        "authors_are_made_found_listed_changed_and_deleted",
        "articles_are_listed_made_shown_changed_and_deleted",
        "tasks_are_listed_made_shown_changed_and_deleted",
        "tasks_need_a_log_in_and_belong_to_their_owner",
        "reviews_are_listed_made_shown_changed_and_deleted",
        "reviews_need_a_log_in_and_belong_to_their_owner",
        "steps_are_listed_made_shown_changed_and_deleted",
        "steps_need_a_log_in_and_belong_to_their_owner",
        "github_button_shows_once_configured",
        "github_log_in_goes_to_the_provider_with_pkce",
        "corp_button_shows_once_configured",
        "posts_are_made_found_listed_changed_and_deleted",
        "comments_are_made_found_listed_changed_and_deleted",
    ];
    for (tests, database) in &runs {
        for name in names {
            assert!(
                tests.contains(&format!("test {name} ... ok")),
                "{name} on {database}:\n{tests}"
            );
        }
    }
    let routes = run(
        Command::new(common::torn_bin())
            .arg("routes")
            .env("CARGO_TARGET_DIR", common::target_dir())
            .current_dir(&app),
        "torn routes",
    );
    for line in ["/about", "/api/item", "zine", "PUT"] {
        assert!(routes.contains(line), "{line}:\n{routes}");
    }
}

/// `torn new --minimal`: a home page and a database, no accounts. It builds cleanly, a
/// scaffold works in it without accounts, and `torn gen auth` adds them: then the account tests
/// and a scaffold for logged-in users pass too.
#[test]
fn a_minimal_app_builds_and_grows_accounts() {
    let app = common::generated_app("minapp", &["--minimal"]);
    let torn = |args: &[&str]| {
        run(
            Command::new(common::torn_bin())
                .args(args)
                .current_dir(&app),
            &format!("torn {}", args.join(" ")),
        )
    };
    let check = |expected: &[&str]| {
        run(
            common::cargo().args(["fmt", "--check"]).current_dir(&app),
            "cargo fmt --check",
        );
        run(
            common::cargo()
                .args(["clippy", "--all-targets", "--", "-D", "warnings"])
                .current_dir(&app),
            "cargo clippy -D warnings",
        );
        let tests = run(
            common::cargo()
                .arg("test")
                .env_remove("TORN_TEST_POSTGRES_URL")
                .current_dir(&app),
            "cargo test",
        );
        for name in expected {
            assert!(
                tests.contains(&format!("test {name} ... ok")),
                "{name}:\n{tests}"
            );
        }
        tests
    };
    // It compiles only what it uses: no social log-in, password hashing or sessions.
    let heavy = ["oauth2", "openidconnect", "argon2", "tower-sessions"];
    let crates = dependencies(&app);
    for name in heavy {
        assert!(!crates.contains(name), "a minimal app compiles {name}");
    }
    torn(&["gen", "scaffold", "post", "title:string", "body:text?"]);
    // A channel turns on torn's real-time feature.
    torn(&["gen", "channel", "live_feed"]);
    let tests = check(&[
        "home_page_says_hello",
        "greeting_form_needs_its_xsrf_token",
        "posts_are_listed_made_shown_changed_and_deleted",
        "live_feed_messages_reach_an_open_event_stream",
    ]);
    assert!(!tests.contains("sign_up"), "no accounts yet:\n{tests}");

    torn(&["gen", "auth"]);
    let crates = dependencies(&app);
    for name in heavy {
        assert!(
            crates.contains(name),
            "with accounts, the app compiles {name}"
        );
    }
    torn(&["gen", "scaffold", "note", "body:text", "--auth"]);
    torn(&["gen", "oauth", "github"]);
    check(&[
        "posts_are_listed_made_shown_changed_and_deleted",
        "live_feed_messages_reach_an_open_event_stream",
        "messages_are_shown_to_everyone_as_text",
        "sign_up_confirm_log_in_and_out",
        "log_in_failures_say_the_same_for_every_email",
        "sign_in_buttons_for_configured_providers_only",
        "notes_need_a_log_in_and_belong_to_their_owner",
        "github_button_shows_once_configured",
    ]);
}

/// The names of every crate the app at `dir` compiles, its tests' included (`cargo tree`).
fn dependencies(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let tree = run(
        common::cargo()
            .args(["tree", "--prefix", "none", "--format", "{p}"])
            .current_dir(dir),
        "cargo tree",
    );
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}
