//! The starter in a real browser: headless Debian Chromium driven by playwright-core
//! (`tests/browser/`): the home page's XSRF-protected form, and accounts from sign-up through
//! the emailed link to `/account`, log-in links (in the browser that asked, and in another),
//! two-factor codes, passkeys (Chromium's virtual authenticator), "Log in with …" through an
//! OpenID Connect provider, and the live chat between two users on two instances, one of which
//! restarts.
//!
//! Needs node, `npm ci --prefix tests/browser` and Chromium (`/usr/bin/chromium`, or the path in
//! `CHROMIUM`). Without them the test is reported as skipped, unless `TORN_REQUIRE_BROWSER=1`
//! (set by `.ci/run`, which installs them), which makes it fail instead.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// Run a browser script (`tests/browser/<script>`) against the running starter with these
/// arguments after its URL, and fail with the script's output if it fails.
fn run_script(script: &str, args: &[&std::ffi::OsStr]) {
    run_script_with(script, &[], args);
}

/// The same, with the starter started with these environment variables.
fn run_script_with(script: &str, env: &[(&str, String)], args: &[&std::ffi::OsStr]) {
    let (app, url) = common::start_starter(env);
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
    if !common::browser_available() {
        return;
    }
    let shots = tempfile::tempdir().unwrap();
    let shot = shots.path().join("starter.png");
    run_script("starter.mjs", &[shot.as_os_str()]);
    assert!(shot.is_file());
}

#[test]
fn sign_up_confirm_log_out_log_in_reach_the_account_in_a_browser() {
    if !common::browser_available() {
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

/// "Email me a log-in link": the link logs in the browser that asked, and another browser is
/// asked first.
#[test]
fn log_in_links_in_a_browser() {
    if !common::browser_available() {
        return;
    }
    let email = format!(
        "link-{}-{}@example.com",
        std::process::id(),
        torn::signing::unix_now()
    );
    let mail = common::workspace_root().join("starter/mail");
    let shots = tempfile::tempdir().unwrap();
    let shot = shots.path().join("magic.png");
    run_script(
        "magic_link.mjs",
        &[mail.as_os_str(), email.as_ref(), shot.as_os_str()],
    );
    assert!(shot.is_file());
}

/// Two-factor authentication: set up from the account page with a code this test computes
/// itself, then asked for after the password.
#[test]
fn two_factor_log_in_in_a_browser() {
    if !common::browser_available() {
        return;
    }
    let email = format!(
        "totp-{}-{}@example.com",
        std::process::id(),
        torn::signing::unix_now()
    );
    let mail = common::workspace_root().join("starter/mail");
    let shots = tempfile::tempdir().unwrap();
    let shot = shots.path().join("two_factor.png");
    run_script(
        "two_factor.mjs",
        &[mail.as_os_str(), email.as_ref(), shot.as_os_str()],
    );
    assert!(shot.is_file());
}

/// Passkeys with Chromium's virtual authenticator: added from the account page, then logging
/// in from the log-in page without the email or the password. Passkeys belong to a name, so the
/// starter runs with `base_url` at `localhost`.
#[test]
fn passkey_log_in_in_a_browser() {
    if !common::browser_available() {
        return;
    }
    let email = format!(
        "passkey-{}-{}@example.com",
        std::process::id(),
        torn::signing::unix_now()
    );
    let port = common::free_port();
    let env = [
        ("PORT", port.to_string()),
        ("TORN_BASE_URL", format!("http://localhost:{port}")),
    ];
    let mail = common::workspace_root().join("starter/mail");
    let shots = tempfile::tempdir().unwrap();
    let shot = shots.path().join("passkeys.png");
    run_script_with(
        "passkeys.mjs",
        &env,
        &[mail.as_os_str(), email.as_ref(), shot.as_os_str()],
    );
    assert!(shot.is_file());
}

/// The account page's "Link …" button is a form whose answer redirects to the provider:
/// the page's CSP (`form-action`) must let the browser follow it, which Chromium checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_a_provider_from_the_account_page_in_a_browser() {
    if !common::browser_available() || !common::oauth_servers_available() {
        return;
    }
    let mock = common::OidcMock::start();
    let stamp = format!("{}-{}", std::process::id(), torn::signing::unix_now());
    let email = format!("linker-{stamp}@example.com");
    let elsewhere = format!("linked-{stamp}@example.org");
    mock.profile(
        serde_json::json!({"sub": elsewhere.clone(), "email": elsewhere,
        "email_verified": true}),
    )
    .await;
    let port = common::free_port().to_string();
    let mail = common::workspace_root().join("starter/mail");
    let shots = tempfile::tempdir().unwrap();
    let shot = shots.path().join("linked.png");
    let env = [
        ("PORT", port),
        ("TORN_OAUTH_OIDC_CLIENT_ID", "torn-test".to_string()),
        ("TORN_OAUTH_OIDC_CLIENT_SECRET", "test-secret".to_string()),
        ("TORN_OAUTH_OIDC_ISSUER", mock.issuer.clone()),
    ];
    tokio::task::spawn_blocking(move || {
        run_script_with(
            "accounts.mjs",
            &env,
            &[
                mail.as_os_str(),
                email.as_ref(),
                shot.as_os_str(),
                "OpenID Connect".as_ref(),
            ],
        );
        assert!(shot.is_file());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_with_a_provider_in_a_browser() {
    if !common::browser_available() || !common::oauth_servers_available() {
        return;
    }
    let mock = common::OidcMock::start();
    let email = format!(
        "social-{}-{}@example.com",
        std::process::id(),
        torn::signing::unix_now()
    );
    mock.profile(
        serde_json::json!({"sub": email.clone(), "email": email.clone(),
        "email_verified": true}),
    )
    .await;
    // The provider sends the browser back to base_url, so the app needs its port beforehand.
    let port = common::free_port().to_string();
    let shots = tempfile::tempdir().unwrap();
    let shot = std::env::var_os("TORN_KEEP_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| shots.path().join("social.png"));
    let env = [
        ("PORT", port),
        ("TORN_OAUTH_OIDC_CLIENT_ID", "torn-test".to_string()),
        ("TORN_OAUTH_OIDC_CLIENT_SECRET", "test-secret".to_string()),
        ("TORN_OAUTH_OIDC_ISSUER", mock.issuer.clone()),
    ];
    tokio::task::spawn_blocking(move || {
        run_script_with(
            "social.mjs",
            &env,
            &[email.as_ref(), "OpenID Connect".as_ref(), shot.as_os_str()],
        );
        assert!(shot.is_file());
    })
    .await
    .unwrap();
}

/// Two users in two browser contexts chat live on `/chat`, each on an instance of its own
/// (sharing PostgreSQL, whose LISTEN/NOTIFY carries the messages); then the second instance
/// restarts on its port and its user's page reconnects by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_chat_live_across_two_instances_in_a_browser() {
    use std::io::{BufRead as _, Write as _};
    if !common::browser_available() {
        return;
    }
    let Some(database) = torn::test::TestDatabase::postgres().await else {
        common::skipped(
            "the chat across instances in a browser",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    };
    let password = "correct horse battery staple";
    // One secret for both instances and the restarted one, as behind a load balancer.
    let env = vec![
        ("DATABASE_URL", database.url().to_string()),
        ("TORN_COOKIE_SECRET", torn::config::random_secret()),
    ];
    let bin = common::workspace_bin("starter", "starter");
    let root = common::workspace_root().join("starter");
    let (_a, base_a) = common::start_app(&bin, &root, &env);
    let port_b = common::free_port();
    let mut env_b = env.clone();
    env_b.push(("PORT", port_b.to_string()));
    let (b, base_b) = common::start_app(&bin, &root, &env_b);
    for email in ["ada@example.com", "bob@example.com"] {
        common::verified_account(database.url(), email, password).await;
    }
    let shots = tempfile::tempdir().unwrap();
    let shot = shots.path().join("chat.png");
    let mut node = Command::new("node")
        .arg(common::workspace_root().join("tests/browser/chat.mjs"))
        .args([
            &base_a,
            &base_b,
            "ada@example.com",
            "bob@example.com",
            password,
        ])
        .arg(&shot)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run node");
    let mut stdout = std::io::BufReader::new(node.stdout.take().unwrap()).lines();
    let mut b = Some(b);
    let mut restarted = None;
    let mut said = Vec::new();
    while let Some(Ok(line)) = stdout.next() {
        if line == "restart B" {
            // SIGTERM, then the same binary on the same port.
            let mut old = b.take().unwrap();
            let pid = old.0.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let _ = old.0.wait();
            restarted = Some(common::start_app(&bin, &root, &env_b).0);
            writeln!(node.stdin.as_mut().unwrap(), "restarted").unwrap();
        } else {
            said.push(line);
        }
    }
    let status = node.wait().unwrap();
    drop(restarted);
    assert!(
        status.success(),
        "the chat in a browser failed:\n{}",
        said.join("\n")
    );
    assert!(shot.is_file());
}
