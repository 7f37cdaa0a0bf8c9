//! Two-factor authentication over real HTTP: set up from the account page with a first code,
//! then asked after the password; a code works once, recovery codes work once each, wrong
//! codes are throttled, and turning it on or off asks for the password outside the sudo
//! window.

mod support;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::{Browser, PASSWORD, links, mailed, server};
use torn::test::{TestResponse, totp_code};

/// The code the app shows `ahead` seconds from now.
fn code(secret: &str, ahead: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp_code(secret, now + ahead)
}

/// A six-digit code that is not `right`.
fn wrong(right: &str) -> String {
    right
        .chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

impl Browser<'_> {
    /// The second step of a log-in.
    async fn enter(&self, code: &str) -> TestResponse {
        self.submit("/auth/login/code", "/auth/login/code", &[("code", code)])
            .await
    }

    /// A form of the two-factor page.
    async fn two_factor(&self, fields: &[(&str, &str)]) -> TestResponse {
        self.submit("/account", "/account/two-factor", fields).await
    }

    /// Sign up, log in and confirm the address.
    async fn confirmed_account(&self, dir: &Path, email: &str) {
        self.sign_up(email, PASSWORD).await;
        assert_eq!(self.log_in(email, PASSWORD).await.status, 303);
        let verify = links(dir, "/auth/verify", 1).await.remove(0);
        assert_eq!(self.get(&verify).await.status, 303);
    }

    /// Turn two-factor authentication on (inside the sudo window of the log-in): its secret
    /// and recovery codes.
    async fn turn_on(&self) -> (String, Vec<String>) {
        let started = self.two_factor(&[("action", "start")]).await;
        assert_eq!(started.status, 200, "{}", started.text);
        assert!(started.text.contains("<svg"), "a QR code");
        let secret = between(&started.text, "id=\"two-factor-secret\">", "<");
        let on = self
            .two_factor(&[("action", "confirm"), ("code", &code(&secret, 0))])
            .await;
        assert_eq!(on.status, 200, "{}", on.text);
        (secret, recovery_codes(&on.text))
    }
}

fn between(text: &str, start: &str, end: &str) -> String {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    text[at..at + text[at..].find(end).unwrap()].to_string()
}

fn recovery_codes(page: &str) -> Vec<String> {
    page.split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn a_log_in_asks_for_a_code_once_it_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com").await;
    let account = ada.get("/account").await;
    assert!(
        account.text.contains("/account/two-factor"),
        "{}",
        account.text
    );

    // A wrong first code does not turn it on, and the set-up is shown again.
    let started = ada.two_factor(&[("action", "start")]).await;
    let secret = between(&started.text, "id=\"two-factor-secret\">", "<");
    let refused = ada
        .two_factor(&[("action", "confirm"), ("code", &wrong(&code(&secret, 0)))])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains(&secret), "the same set-up again");
    assert!(ada.get("/account").await.text.contains("Set it up"));
    let on = ada
        .two_factor(&[("action", "confirm"), ("code", &code(&secret, 0))])
        .await;
    assert_eq!(on.status, 200, "{}", on.text);
    let codes = recovery_codes(&on.text);
    assert_eq!(codes.len(), 10, "{}", on.text);
    assert!(
        ada.get("/account")
            .await
            .text
            .contains("10 recovery codes left")
    );
    assert!(
        mailed(
            dir.path(),
            "Two-factor authentication for your account (ada@example.com) was just turned on"
        )
        .await,
        "the owner is told"
    );

    // The password alone no longer logs in: the session waits for the code.
    ada.log_out().await;
    let first = ada
        .submit(
            "/auth/login",
            "/auth/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(first.status, 303);
    assert_eq!(
        first.header("location"),
        Some("/auth/login/code?next=%2Faccount")
    );
    assert!(!ada.logged_in().await, "not logged in before the code");
    let wrong_code = ada.enter(&wrong(&code(&secret, 30))).await;
    assert_eq!(wrong_code.status, 401, "{}", wrong_code.text);
    assert!(!ada.logged_in().await);
    // The next step's code (the app's clock may run ahead by one step) logs in, and `next` is
    // kept.
    let next_code = code(&secret, 30);
    let r = ada
        .submit(
            "/auth/login/code?next=%2Faccount",
            "/auth/login/code",
            &[("code", &next_code), ("next", "/account")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/account"));
    assert!(ada.logged_in().await);

    // A code works once: replayed, or an earlier one, it is refused.
    ada.log_out().await;
    assert_eq!(ada.log_in("ada@example.com", PASSWORD).await.status, 303);
    assert_eq!(ada.enter(&next_code).await.status, 401, "a replayed code");
    assert_eq!(
        ada.enter(&code(&secret, 0)).await.status,
        401,
        "an earlier code"
    );
    assert!(!ada.logged_in().await);

    // A recovery code logs in once, typed in any case, with spaces for dashes.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let r = ada.enter(&typed).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(ada.logged_in().await);
    assert!(
        ada.get("/account")
            .await
            .text
            .contains("9 recovery codes left")
    );
    ada.log_out().await;
    assert_eq!(ada.log_in("ada@example.com", PASSWORD).await.status, 303);
    assert_eq!(
        ada.enter(&codes[0]).await.status,
        401,
        "a spent recovery code"
    );
    assert_eq!(ada.enter(&codes[1]).await.status, 303);

    // Without a log-in waiting, the code page leads to the log-in page.
    let other = Browser::new(&server);
    let r = other.get("/auth/login/code").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/auth/login"));
}

#[tokio::test]
async fn a_code_sent_twice_at_once_logs_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com").await;
    let (secret, codes) = ada.turn_on().await;
    ada.log_out().await;
    // Two browsers (an attacker who saw the code, and its owner) each wait for the second step.
    let one = Browser::new(&server);
    let two = Browser::new(&server);
    for b in [&one, &two] {
        assert_eq!(b.log_in("ada@example.com", PASSWORD).await.status, 303);
    }
    for code in [code(&secret, 30), codes[3].clone()] {
        let (a, b) = tokio::join!(one.enter(&code), two.enter(&code));
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [303, 401], "{code}: once only");
        // The winner logs out, to wait again.
        for b in [&one, &two] {
            if b.logged_in().await {
                b.log_out().await;
                assert_eq!(b.log_in("ada@example.com", PASSWORD).await.status, 303);
            }
        }
    }
}

#[tokio::test]
async fn wrong_codes_are_throttled_without_locking_the_owner_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com").await;
    let (secret, _) = ada.turn_on().await;
    ada.log_out().await;
    let attacker = Browser::new(&server);
    assert_eq!(
        attacker.log_in("ada@example.com", PASSWORD).await.status,
        303
    );
    let right = code(&secret, 30);
    // Five guesses are free; the sixth is checked, and makes the next ones wait.
    for n in 1..=6 {
        assert_eq!(
            attacker.enter(&wrong(&right)).await.status,
            401,
            "guess {n}"
        );
    }
    let locked = attacker.enter(&wrong(&right)).await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.header("retry-after").is_some());
    // While it lasts, the right code waits too.
    assert_eq!(attacker.enter(&right).await.status, 429);
    assert!(!attacker.logged_in().await);
    // The owner's browser, which logged in with the password before, counts on its own: the
    // attacker who has the password does not lock the owner out.
    assert_eq!(ada.log_in("ada@example.com", PASSWORD).await.status, 303);
    let r = ada.enter(&right).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(ada.logged_in().await);
    // And the owner's log-in gave the attacker no fresh tries.
    assert_eq!(attacker.enter(&code(&secret, 0)).await.status, 429);
    // Nothing longer than a code is looked at.
    let huge = "7".repeat(2 * 1024 * 1024);
    let r = attacker.enter(&huge).await;
    assert!(r.status == 413 || r.status == 429, "{}", r.status);
}

#[tokio::test]
async fn turning_it_on_and_off_asks_for_the_password_outside_the_sudo_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |s| s.accounts.sudo_window = Duration::ZERO).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com").await;
    let page = ada.get("/account/two-factor").await;
    assert!(page.text.contains("start-password"), "the form asks for it");
    let r = ada.two_factor(&[("action", "start")]).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("Enter your current password"), "{}", r.text);
    let r = ada
        .two_factor(&[("action", "start"), ("current_password", "not my password")])
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text.contains("Your current password is not right"),
        "{}",
        r.text
    );
    let started = ada
        .two_factor(&[("action", "start"), ("current_password", PASSWORD)])
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    let secret = between(&started.text, "id=\"two-factor-secret\">", "<");
    let on = ada
        .two_factor(&[("action", "confirm"), ("code", &code(&secret, 0))])
        .await;
    assert_eq!(on.status, 200);
    assert_eq!(recovery_codes(&on.text).len(), 10);

    // New recovery codes replace the old ones, with the password.
    let r = ada.two_factor(&[("action", "codes")]).await;
    assert_eq!(r.status, 422);
    assert!(recovery_codes(&r.text).is_empty());
    let r = ada
        .two_factor(&[("action", "codes"), ("current_password", PASSWORD)])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(recovery_codes(&r.text).len(), 10);

    // Off: not without the password.
    let r = ada.two_factor(&[("action", "off")]).await;
    assert_eq!(r.status, 422);
    assert!(
        ada.get("/account")
            .await
            .text
            .contains("recovery codes left")
    );
    let r = ada
        .two_factor(&[("action", "off"), ("current_password", PASSWORD)])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(ada.get("/account").await.text.contains("Set it up"));
    assert!(
        mailed(dir.path(), "was just turned off").await,
        "the owner is told"
    );
    ada.log_out().await;
    let r = ada.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(r.header("location"), Some("/"), "no second step any more");
    let a = ada.get("/account").await;
    assert_eq!(a.status, 200, "{:?} {}", a.header("location"), a.text);
}

#[tokio::test]
async fn another_session_cannot_see_or_finish_a_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com").await;
    // A second session of the same account (a stolen cookie, say).
    let thief = Browser::new(&server);
    assert_eq!(thief.log_in("ada@example.com", PASSWORD).await.status, 303);
    let started = ada.two_factor(&[("action", "start")]).await;
    let secret = between(&started.text, "id=\"two-factor-secret\">", "<");
    for code in [wrong(&code(&secret, 0)), code(&secret, 0)] {
        let r = thief
            .two_factor(&[("action", "confirm"), ("code", &code)])
            .await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert!(
            !r.text.contains(&secret),
            "the key is not shown to another session"
        );
        assert!(r.text.contains("not set up"), "{}", r.text);
    }
    // The owner's session finishes it.
    let on = ada
        .two_factor(&[("action", "confirm"), ("code", &code(&secret, 0))])
        .await;
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(recovery_codes(&on.text).len(), 10);
}

#[tokio::test]
async fn an_unconfirmed_address_cannot_turn_it_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |s| s.accounts.require_verified_email = false).await;
    let squatter = Browser::new(&server);
    let r = squatter
        .submit(
            "/auth/signup",
            "/auth/signup",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        squatter.log_in("ada@example.com", PASSWORD).await.status,
        303
    );
    let r = squatter.two_factor(&[("action", "start")]).await;
    assert_eq!(r.status, 422);
    assert!(
        r.text.contains("Confirm your email address first"),
        "{}",
        r.text
    );
}
