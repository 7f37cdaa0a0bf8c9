//! The `torn` binary: `torn new` with good and bad input, and `starter/` against its output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::torn;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every entry under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = torn(dir.path(), &["--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("new"), "{}", stdout(&out));
    let out = torn(dir.path(), &["new", "--help"]);
    for flag in ["--path", "--db", "--torn-path", "--no-git"] {
        assert!(stdout(&out).contains(flag), "{flag}");
    }
}

#[test]
fn new_creates_a_complete_app_and_prints_next_steps() {
    let dir = tempfile::tempdir().unwrap();
    let out = torn(dir.path(), &["new", "blog"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Created blog"), "{text}");
    assert!(
        text.contains("cd blog") && text.contains("torn run"),
        "{text}"
    );
    assert!(
        stderr(&out).is_empty(),
        "no noise on stderr: {}",
        stderr(&out)
    );
    let app = dir.path().join("blog");
    for file in [
        "Cargo.toml",
        "torn.toml",
        "README.md",
        ".gitignore",
        "src/main.rs",
        "src/lib.rs",
        "src/handlers/home.rs",
        "templates/base.html",
        "templates/home.html",
        "templates/error.html",
        "static/css/app.css",
        "tests/http.rs",
    ] {
        assert!(app.join(file).is_file(), "missing {file}");
    }
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"blog\""), "{manifest}");
    // Run from a checkout, the app depends on the local framework, and says so.
    let framework = common::workspace_root().join("framework");
    assert!(
        manifest.contains(&framework.display().to_string()),
        "{manifest}"
    );
    assert!(
        text.contains(&format!(
            "torn: the framework at {}, in the checkout this torn command was built from \
             (--torn-path DIR chooses another)",
            framework.display()
        )),
        "{text}"
    );
    assert!(!manifest.contains("[workspace]"), "{manifest}");
    let main = std::fs::read_to_string(app.join("src/main.rs")).unwrap();
    assert!(main.contains("torn::run(blog::app)"), "{main}");
    let settings = std::fs::read_to_string(app.join("torn.toml")).unwrap();
    assert!(settings.contains("sqlite://"), "{settings}");
    // A git repository, since the folder is not inside one.
    assert!(app.join(".git").is_dir());
    // No staging folder left behind.
    assert_eq!(
        listing(dir.path())
            .iter()
            .filter(|p| p.components().count() == 1)
            .count(),
        1
    );
}

#[test]
fn new_with_options() {
    let dir = tempfile::tempdir().unwrap();
    let root = common::workspace_root();
    let out = torn(
        dir.path(),
        &[
            "new",
            "shop-front",
            "--path",
            "apps/shop",
            "--db",
            "postgres",
            "--torn-path",
            root.to_str().unwrap(),
            "--no-git",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let framework = root.join("framework").canonicalize().unwrap();
    assert!(
        stdout(&out).contains(&format!(
            "torn: the framework at {} (--torn-path)",
            framework.display()
        )),
        "{}",
        stdout(&out)
    );
    let app = dir.path().join("apps/shop");
    assert!(!app.join(".git").exists(), "--no-git");
    let settings = std::fs::read_to_string(app.join("torn.toml")).unwrap();
    assert!(settings.contains("postgres://"), "{settings}");
    let main = std::fs::read_to_string(app.join("src/main.rs")).unwrap();
    assert!(main.contains("shop_front::app"), "{main}");
}

#[test]
fn new_accepts_an_existing_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let out = torn(dir.path(), &["new", "app", "--path", "empty", "--no-git"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("empty/Cargo.toml").is_file());
}

/// `cargo metadata` in `app`: does cargo accept the app's place (workspace or not)?
fn cargo_accepts(app: &Path) -> Result<(), String> {
    let out = common::cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(app)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr(&out))
    }
}

#[test]
fn an_app_made_inside_another_workspace_is_a_workspace_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"tools/*\"]\nexclude = [\"scratch\"]\n",
    )
    .unwrap();

    // A member (by the members glob) or an excluded folder is left as it is.
    for (name, path) in [("tool", "tools/tool"), ("scratchapp", "scratch/app")] {
        let out = torn(dir.path(), &["new", name, "--path", path, "--no-git"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let manifest = std::fs::read_to_string(dir.path().join(path).join("Cargo.toml")).unwrap();
        assert!(!manifest.contains("[workspace]"), "{path}: {manifest}");
        assert!(!stdout(&out).contains("workspace of its own"), "{path}");
        cargo_accepts(&dir.path().join(path)).expect("a member or an excluded folder builds");
    }

    // Below the workspace, not listed: cargo would refuse it, so it gets [workspace].
    let out = torn(dir.path(), &["new", "myapp", "--no-git"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let app = dir.path().join("myapp");
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    assert!(manifest.trim_end().ends_with("\n[workspace]"), "{manifest}");
    assert!(
        stdout(&out).contains(&format!(
            "It is a Cargo workspace of its own ([workspace] in its Cargo.toml): {} is a \
             workspace that does not list it.",
            dir.path().canonicalize().unwrap().display()
        )),
        "{}",
        stdout(&out)
    );
    cargo_accepts(&app).expect("cargo takes the app as a workspace of its own");
    // Without the table, cargo refuses it: the table is what makes it build.
    let without = manifest.replace("\n[workspace]\n", "\n");
    std::fs::write(app.join("Cargo.toml"), without).unwrap();
    let refused = cargo_accepts(&app).expect_err("cargo refuses an unlisted package");
    assert!(
        refused.contains("believes it's in a workspace"),
        "{refused}"
    );
}

/// Bad input: exit code 2, a message that says what is wrong, and nothing written.
fn assert_refused(args: &[&str], setup: impl Fn(&Path), expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let before = listing(dir.path());
    let out = torn(dir.path(), args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains(expect), "{args:?}: {message}");
    assert_eq!(listing(dir.path()), before, "{args:?} wrote something");
}

#[test]
fn bad_names_are_refused() {
    for (name, why) in [
        ("MyApp", "lowercase"),
        ("1app", "start with a lowercase letter"),
        ("my app", "contains ' '"),
        ("my.app", "contains '.'"),
        ("fn", "Rust keyword"),
        ("self", "Rust keyword"),
        ("async", "Rust keyword"),
        ("torn", "crate the app depends on"),
        ("std", "standard crate"),
        ("../evil", "start with a lowercase letter"),
    ] {
        assert_refused(&["new", name], |_| {}, why);
    }
}

#[test]
fn existing_folders_and_files_are_refused() {
    assert_refused(
        &["new", "app"],
        |d| {
            std::fs::create_dir(d.join("app")).unwrap();
            std::fs::write(d.join("app/keep.txt"), "mine").unwrap();
        },
        "not empty",
    );
    assert_refused(
        &["new", "app"],
        |d| std::fs::write(d.join("app"), "a file").unwrap(),
        "is a file",
    );
}

#[test]
fn unwritable_locations_are_refused() {
    // A regular file where a folder is needed: no one, not even root, can create a folder in it.
    assert_refused(
        &["new", "app", "--path", "blocker/app"],
        |d| std::fs::write(d.join("blocker"), "file").unwrap(),
        "cannot create",
    );
}

#[test]
fn bad_options_are_refused() {
    assert_refused(&["new", "app", "--db", "oracle"], |_| {}, "invalid value");
    assert_refused(
        &["new", "app", "--torn-path", "/nonexistent/torn"],
        |_| {},
        "no torn framework crate there",
    );
    assert_refused(&["new"], |_| {}, "NAME");
    assert_refused(&["frobnicate"], |_| {}, "unrecognized subcommand");
}

/// Files of an app folder that `torn new` writes (not build output or runtime files).
fn app_files(dir: &Path) -> Vec<PathBuf> {
    listing(dir)
        .into_iter()
        .filter(|p| {
            let first = p.components().next().unwrap().as_os_str().to_string_lossy();
            !matches!(first.as_ref(), "target" | ".torn" | "mail")
                && !p.to_string_lossy().contains(".db")
                && dir.join(p).is_file()
        })
        .collect()
}

#[test]
fn starter_is_exactly_the_output_of_torn_new() {
    let root = common::workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let out = torn(
        dir.path(),
        &[
            "new",
            "starter",
            "--no-git",
            "--torn-path",
            root.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let fresh = dir.path().join("starter");
    let committed = root.join("starter");
    let refresh = "refresh it with: rm -rf starter && cargo run -p torn-cli -- new starter \
                   --path starter --no-git";
    assert_eq!(
        app_files(&fresh),
        app_files(&committed),
        "starter/ and `torn new starter` have different files; {refresh}"
    );
    let framework = root.join("framework").canonicalize().unwrap();
    for file in app_files(&fresh) {
        let mut expected = std::fs::read_to_string(fresh.join(&file)).unwrap();
        if file == Path::new("Cargo.toml") {
            expected = expected.replace(&framework.display().to_string(), "../framework");
        }
        let actual = std::fs::read_to_string(committed.join(&file)).unwrap();
        assert!(
            expected == actual,
            "starter/{} differs from `torn new starter`; {refresh}",
            file.display()
        );
    }
}

/// The `torn` command links no server or database code: `torn db` runs the app's own binary.
/// It once linked the whole framework (axum, sqlx, oauth2, lettre, argon2) for `torn db` alone.
#[test]
fn the_torn_command_links_no_server_code() {
    let out = common::cargo()
        .args([
            "tree", "--locked", "-p", "torn-cli", "-e", "normal", "--prefix", "none",
        ])
        .current_dir(common::workspace_root())
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "{}", stderr(&out));
    let tree = stdout(&out);
    for server in [
        "axum ",
        "sqlx ",
        "torn ",
        "oauth2 ",
        "lettre ",
        "argon2 ",
        "tower-sessions ",
    ] {
        assert!(
            !tree.lines().any(|l| l.starts_with(server)),
            "torn-cli depends on {server}"
        );
    }
    assert!(tree.lines().any(|l| l.starts_with("clap ")), "{tree}");
}
