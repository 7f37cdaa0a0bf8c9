//! The starter in a real browser: headless Debian Chromium driven by playwright-core
//! (`tests/browser/`): the home page's XSRF-protected form, and accounts from sign-up through
//! the emailed link to `/account`.
//!
//! Needs node, `npm ci --prefix tests/browser` and Chromium (`/usr/bin/chromium`, or the path in
//! `CHROMIUM`). Without them the test is reported as skipped, unless `TORN_REQUIRE_BROWSER=1`
//! (set by `.ci/run`, which installs them), which makes it fail instead.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn browser_available() -> bool {
    let root = common::workspace_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing = [
        (
            Command::new("node").arg("--version").output().is_err(),
            "node is not installed",
        ),
        (
            !root
                .join("tests/browser/node_modules/playwright-core")
                .is_dir(),
            "playwright-core is not installed (npm ci --prefix tests/browser)",
        ),
        (
            !PathBuf::from(&chromium).exists(),
            "Chromium is not installed",
        ),
    ];
    if let Some((_, why)) = missing.iter().find(|(m, _)| *m) {
        assert!(
            std::env::var_os("TORN_REQUIRE_BROWSER").is_none(),
            "TORN_REQUIRE_BROWSER is set but {why}"
        );
        common::skipped("browser test", why);
        return false;
    }
    true
}

#[test]
fn the_starter_form_works_in_a_browser() {
    if !browser_available() {
        return;
    }
    let root = common::workspace_root();
    let mut app = Command::new(common::workspace_bin("starter", "starter"))
        .current_dir(root.join("starter"))
        .env("TORN_ENV", "test")
        .env("PORT", "0")
        .env("TORN_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the starter");
    let url = common::wait_for_serving(&mut app);
    let app = common::KillOnDrop(app);
    let shots = tempfile::tempdir().unwrap();
    let out = Command::new("node")
        .arg(root.join("tests/browser/starter.mjs"))
        .arg(&url)
        .arg(shots.path().join("starter.png"))
        .output()
        .expect("run node");
    drop(app);
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shots.path().join("starter.png").is_file());
}

#[test]
fn sign_up_confirm_log_out_log_in_reach_the_account_in_a_browser() {
    if !browser_available() {
        return;
    }
    let root = common::workspace_root();
    let starter = root.join("starter");
    let mut app = Command::new(common::workspace_bin("starter", "starter"))
        .current_dir(&starter)
        .env("TORN_ENV", "test")
        .env("PORT", "0")
        .env("TORN_LOG", "info")
        .env_remove("TORN_SMTP_URL")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the starter");
    let url = common::wait_for_serving(&mut app);
    let app = common::KillOnDrop(app);
    let email = format!(
        "browser-{}-{}@example.com",
        std::process::id(),
        torn::signing::unix_now()
    );
    let shots = tempfile::tempdir().unwrap();
    let out = Command::new("node")
        .arg(root.join("tests/browser/accounts.mjs"))
        .arg(&url)
        .arg(starter.join("mail"))
        .arg(&email)
        .arg(shots.path().join("account.png"))
        .output()
        .expect("run node");
    drop(app);
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shots.path().join("account.png").is_file());
}
