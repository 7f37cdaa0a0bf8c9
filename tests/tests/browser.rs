//! The starter in a real browser: headless Debian Chromium driven by playwright-core
//! (`tests/browser/`): the home page's XSRF-protected form, and accounts from sign-up through
//! the emailed link to `/account`.
//!
//! Needs node, `npm ci --prefix tests/browser` and Chromium (`/usr/bin/chromium`, or the path in
//! `CHROMIUM`). Without them the test is reported as skipped, unless `TORN_REQUIRE_BROWSER=1`
//! (set by `.ci/run`, which installs them), which makes it fail instead.

mod common;

use std::path::PathBuf;
use std::process::Command;

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

/// Run a browser script (`tests/browser/<script>`) against the running starter with these
/// arguments after its URL, and fail with the script's output if it fails.
fn run_script(script: &str, args: &[&std::ffi::OsStr]) {
    let (app, url) = common::start_starter(&[]);
    let out = Command::new("node")
        .arg(common::workspace_root().join("tests/browser").join(script))
        .arg(&url)
        .args(args)
        .output()
        .expect("run node");
    drop(app);
    assert!(
        out.status.success(),
        "browser test {script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_starter_form_works_in_a_browser() {
    if !browser_available() {
        return;
    }
    let shots = tempfile::tempdir().unwrap();
    let shot = shots.path().join("starter.png");
    run_script("starter.mjs", &[shot.as_os_str()]);
    assert!(shot.is_file());
}

#[test]
fn sign_up_confirm_log_out_log_in_reach_the_account_in_a_browser() {
    if !browser_available() {
        return;
    }
    let email = format!(
        "browser-{}-{}@example.com",
        std::process::id(),
        torn::signing::unix_now()
    );
    let mail = common::workspace_root().join("starter/mail");
    let shots = tempfile::tempdir().unwrap();
    let shot = shots.path().join("account.png");
    run_script(
        "accounts.mjs",
        &[mail.as_os_str(), email.as_ref(), shot.as_os_str()],
    );
    assert!(shot.is_file());
}
