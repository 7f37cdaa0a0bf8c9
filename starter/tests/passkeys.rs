//! Passkeys over real HTTP, with a software authenticator (`torn::test::SoftPasskey`) in the
//! browser's place: added from the account (a sensitive change), logging in without a password,
//! confirming it's you instead of the password, renamed and removed; and refused when the
//! answer comes from another site, for another ceremony or session, from a copied
//! authenticator, or without the password outside the sudo window.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Browser, PASSWORD, links, mailed, server};
use torn::test::{SoftPasskey, TestResponse, TestServer};

/// The app's address in these tests (`base_url`): passkeys belong to its name, `localhost`.
const ORIGIN: &str = "http://localhost:8888";

async fn passkey_server(dir: &Path, sudo_window: Duration) -> TestServer {
    server(dir, |s| {
        s.server.base_url = ORIGIN.to_string();
        s.accounts.sudo_window = sudo_window;
    })
    .await
}

impl Browser<'_> {
    /// Sign up, log in and confirm the address (the `nth` verification mail).
    async fn confirmed_account(&self, dir: &Path, email: &str, nth: usize) {
        self.sign_up(email, PASSWORD).await;
        assert_eq!(self.log_in(email, PASSWORD).await.status, 303);
        for link in links(dir, "/auth/verify", nth).await {
            self.get(&link).await;
        }
    }

    /// POST `body` as JSON to `path` with the XSRF token of `page`.
    async fn json(&self, page: &str, path: &str, body: &Value) -> TestResponse {
        let xsrf = self.get(page).await.form_field("_xsrf").expect("a form");
        let request = self
            .client
            .post(self.server.url(path))
            .header("X-XSRFToken", xsrf)
            .json(body);
        self.server.send(request).await
    }

    /// Begin adding a passkey: the options, or the refusal.
    async fn passkey_options(&self, name: &str, password: &str) -> TestResponse {
        self.json(
            "/account/passkeys",
            "/account/passkeys/register",
            &json!({ "name": name, "current_password": password }),
        )
        .await
    }

    /// Add `key` as a passkey named `name`, answering from `ORIGIN`.
    async fn add_passkey(&self, key: &mut SoftPasskey, name: &str) {
        let options = self.passkey_options(name, "").await;
        assert_eq!(options.status, 200, "{}", options.text);
        let answer = key.register(&body(&options), ORIGIN);
        let added = self
            .json(
                "/account/passkeys",
                "/account/passkeys/register",
                &json!({ "credential": answer }),
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.text);
        assert_eq!(body(&added)["redirect"], "/account/passkeys");
    }

    /// Begin a log-in with a passkey: the options.
    async fn log_in_options(&self) -> Value {
        let r = self
            .json("/auth/login", "/auth/login/passkey", &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        body(&r)
    }

    /// Finish a log-in with `answer`.
    async fn log_in_answer(&self, answer: &Value) -> TestResponse {
        self.json(
            "/auth/login",
            "/auth/login/passkey",
            &json!({ "credential": answer, "next": "/account/tokens" }),
        )
        .await
    }
}

fn body(r: &TestResponse) -> Value {
    serde_json::from_str(&r.text).unwrap_or_else(|e| panic!("{e}: {}", r.text))
}

#[tokio::test]
async fn a_passkey_is_added_then_logs_in_without_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = passkey_server(dir.path(), Duration::from_secs(600)).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com", 1)
        .await;
    let page = ada.get("/account").await;
    assert!(page.text.contains("/account/passkeys"), "{}", page.text);

    // The options ask for a passkey of this site's name, verified by its user.
    let options = body(&ada.passkey_options("Laptop", "").await);
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    let handle = options["user"]["id"].clone();
    let mut key = SoftPasskey::new();
    let answer = key.register(&options, ORIGIN);
    let added = ada
        .json(
            "/account/passkeys",
            "/account/passkeys/register",
            &json!({ "credential": answer }),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    // The same answer again: the ceremony is over.
    let again = ada
        .json(
            "/account/passkeys",
            "/account/passkeys/register",
            &json!({ "credential": answer }),
        )
        .await;
    assert_eq!(again.status, 400, "{}", again.text);
    let list = ada.get("/account/passkeys").await;
    assert!(list.text.contains("value=\"Laptop\""), "{}", list.text);
    assert!(list.text.contains("<td>never</td>"), "{}", list.text);
    assert!(mailed(dir.path(), "A new passkey, \"Laptop\", was just added").await);
    // Its options name it, so the same authenticator does not make a second one.
    let options = body(&ada.passkey_options("Again", "").await);
    assert_eq!(options["excludeCredentials"].as_array().unwrap().len(), 1);
    assert_eq!(options["user"]["id"], handle);
    ada.log_out().await;

    // Another browser: no email, no password.
    let phone = Browser::new(&server);
    let login = phone.get("/auth/login").await;
    assert!(
        login.text.contains("Log in with a passkey"),
        "{}",
        login.text
    );
    let options = phone.log_in_options().await;
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["userVerification"], "required");
    let answer = key.sign(&options, ORIGIN);
    let done = phone.log_in_answer(&answer).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(body(&done)["redirect"], "/account/tokens");
    assert!(phone.logged_in().await);
    // A passkey is as fresh as the password: the sudo window is open.
    let tokens = phone.get("/account/tokens").await;
    assert!(!tokens.text.contains("current_password"), "{}", tokens.text);
    let list = phone.get("/account/passkeys").await;
    assert!(list.text.contains("just now"), "{}", list.text);

    // The same answer again, in a new ceremony or with none waiting: refused.
    let other = Browser::new(&server);
    other.log_in_options().await;
    assert_eq!(other.log_in_answer(&answer).await.status, 400);
    assert_eq!(other.log_in_answer(&answer).await.status, 400);
    assert!(!other.logged_in().await);

    // Renamed, by its owner only.
    let id = list
        .text
        .split("name=\"id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a passkey id")
        .to_string();
    let bob = Browser::new(&server);
    bob.confirmed_account(dir.path(), "bob@example.com", 2)
        .await;
    let renamed = bob
        .submit(
            "/account/passkeys",
            "/account/passkeys",
            &[("action", "rename"), ("id", &id), ("name", "Bob's now")],
        )
        .await;
    assert_eq!(renamed.status, 303);
    let too_long = "x".repeat(65);
    let refused = phone
        .submit(
            "/account/passkeys",
            "/account/passkeys",
            &[("action", "rename"), ("id", &id), ("name", &too_long)],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let renamed = phone
        .submit(
            "/account/passkeys",
            "/account/passkeys",
            &[("action", "rename"), ("id", &id), ("name", "Phone")],
        )
        .await;
    assert_eq!(renamed.status, 303);
    let list = phone.get("/account/passkeys").await;
    assert!(list.text.contains("value=\"Phone\""), "{}", list.text);
    assert!(!list.text.contains("Bob's now"), "{}", list.text);
}

#[tokio::test]
async fn answers_from_another_site_ceremony_session_or_copied_authenticator_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = passkey_server(dir.path(), Duration::from_secs(600)).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com", 1)
        .await;

    // Registration: another origin, another relying party, another ceremony's challenge.
    let register = |answer: Value| {
        let ada = &ada;
        async move {
            ada.json(
                "/account/passkeys",
                "/account/passkeys/register",
                &json!({ "credential": answer }),
            )
            .await
        }
    };
    let options = body(&ada.passkey_options("Evil", "").await);
    let r = register(SoftPasskey::new().register(&options, "https://evil.example")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let mut elsewhere = body(&ada.passkey_options("Evil", "").await);
    elsewhere["rp"]["id"] = json!("evil.example");
    let r = register(SoftPasskey::new().register(&elsewhere, ORIGIN)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let stale = body(&ada.passkey_options("Stale", "").await);
    ada.passkey_options("Fresh", "").await;
    let r = register(SoftPasskey::new().register(&stale, ORIGIN)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Junk, and 1.5 MB of it.
    ada.passkey_options("Junk", "").await;
    let r = register(json!({ "id": "x".repeat(1_500_000) })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let list = ada.get("/account/passkeys").await;
    assert!(!list.text.contains("id=\"passkeys\""), "{}", list.text);

    let mut key = SoftPasskey::new();
    ada.add_passkey(&mut key, "Laptop").await;
    let copy = key.clone();
    ada.log_out().await;

    // Log-in: another origin (a look-alike site relaying the ceremony), refused.
    let browser = Browser::new(&server);
    let options = browser.log_in_options().await;
    let r = browser
        .log_in_answer(&key.sign(&options, "http://localhost:9999"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(!browser.logged_in().await);
    // A challenge another session was given, answered in this one: refused.
    let victim = Browser::new(&server);
    let theirs = victim.log_in_options().await;
    browser.log_in_options().await;
    let r = browser.log_in_answer(&key.sign(&theirs, ORIGIN)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(!browser.logged_in().await);
    // The real authenticator logs in; a copy made before, whose counter is behind, cannot.
    let options = browser.log_in_options().await;
    assert_eq!(
        browser
            .log_in_answer(&key.sign(&options, ORIGIN))
            .await
            .status,
        200
    );
    let thief = Browser::new(&server);
    let mut copy = copy;
    let options = thief.log_in_options().await;
    let r = thief.log_in_answer(&copy.sign(&options, ORIGIN)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(!thief.logged_in().await);

    // Without the XSRF token: 403, before anything is read.
    let r = thief
        .server
        .send(
            thief
                .client
                .post(server.url("/auth/login/passkey"))
                .json(&json!({})),
        )
        .await;
    assert_eq!(r.status, 403);

    // Four log-ins at once with one answer in one session pass once, also with a passkey that
    // keeps no counter (the counter cannot tell the answers apart then).
    let mut synced = SoftPasskey::without_counter();
    let owner = Browser::new(&server);
    assert_eq!(owner.log_in("ada@example.com", PASSWORD).await.status, 303);
    owner.add_passkey(&mut synced, "Synced").await;
    for key in [&mut key, &mut synced] {
        for round in 0..3 {
            let racer = Browser::new(&server);
            let options = racer.log_in_options().await;
            let answer = key.sign(&options, ORIGIN);
            let xsrf = racer.get("/auth/login").await.form_field("_xsrf").unwrap();
            let send = || {
                let request = racer
                    .client
                    .post(server.url("/auth/login/passkey"))
                    .header("X-XSRFToken", &xsrf)
                    .json(&json!({ "credential": answer }));
                server.send(request)
            };
            let (a, b, c, d) = tokio::join!(send(), send(), send(), send());
            let passed = [a, b, c, d].iter().filter(|r| r.status == 200).count();
            assert_eq!(passed, 1, "round {round}, counter {}", key.counter());
        }
    }
    assert_eq!(synced.counter(), 0);
}

#[tokio::test]
async fn adding_asks_for_the_password_a_passkey_confirms_instead_and_a_reset_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = passkey_server(dir.path(), Duration::from_secs(600)).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com", 1)
        .await;
    let mut key = SoftPasskey::new();
    ada.add_passkey(&mut key, "Laptop").await;
    ada.log_out().await;

    // A log-in link opens no sudo window: adding and removing ask for the password, and a
    // passkey of the account's own confirms instead.
    let asked = ada
        .submit(
            "/auth/login/link",
            "/auth/login/link",
            &[("email", "ada@example.com")],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.text);
    let link = links(dir.path(), "/auth/login/link/open", 1)
        .await
        .remove(0);
    ada.get(&link).await;
    assert!(ada.logged_in().await);
    let r = ada.passkey_options("Phone", "").await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("current password"), "{}", r.text);
    let r = ada.passkey_options("Phone", "wrong password").await;
    assert_eq!(r.status, 422, "{}", r.text);
    let page = ada.get("/account/passkeys").await;
    assert!(
        page.text.contains("Confirm it's you with a passkey"),
        "{}",
        page.text
    );
    let id = page
        .text
        .split("name=\"id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = ada
        .submit(
            "/account/passkeys",
            "/account/passkeys",
            &[("action", "remove"), ("id", &id)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);

    // Bob's passkey does not confirm Ada.
    let bob = Browser::new(&server);
    bob.confirmed_account(dir.path(), "bob@example.com", 2)
        .await;
    let mut bobs = SoftPasskey::new();
    bob.add_passkey(&mut bobs, "Bob's").await;
    let confirm = ada
        .json("/account", "/account/passkeys/confirm", &json!({}))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    let r = ada
        .json(
            "/account",
            "/account/passkeys/confirm",
            &json!({ "credential": bobs.sign(&body(&confirm), ORIGIN) }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = ada.passkey_options("Phone", "").await;
    assert_eq!(r.status, 422, "{}", r.text);
    // Her own does.
    let confirm = ada
        .json("/account", "/account/passkeys/confirm", &json!({}))
        .await;
    let r = ada
        .json(
            "/account",
            "/account/passkeys/confirm",
            &json!({ "credential": key.sign(&body(&confirm), ORIGIN) }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ada.passkey_options("Phone", "").await.status, 200);
    let r = ada
        .submit(
            "/account/passkeys",
            "/account/passkeys",
            &[("action", "remove"), ("id", &id)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(mailed(dir.path(), "The passkey \"Laptop\" was just removed").await);
    let browser = Browser::new(&server);
    let options = browser.log_in_options().await;
    let r = browser.log_in_answer(&key.sign(&options, ORIGIN)).await;
    assert_eq!(r.status, 400, "{}", r.text);

    // A reset takes the account back: passkeys added by whoever had it end.
    let r = bob
        .submit(
            "/auth/forgot",
            "/auth/forgot",
            &[("email", "bob@example.com")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let reset = links(dir.path(), "/auth/reset", 1).await.remove(0);
    let token = reset.split("token=").nth(1).unwrap().to_string();
    let r = bob
        .submit(
            &reset,
            "/auth/reset",
            &[("token", &token), ("password", "a brand new password")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let browser = Browser::new(&server);
    let options = browser.log_in_options().await;
    let r = browser.log_in_answer(&bobs.sign(&options, ORIGIN)).await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn an_address_that_is_an_ip_offers_no_passkeys() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |s| {
        s.server.base_url = "http://127.0.0.1:8888".to_string();
    })
    .await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com", 1)
        .await;
    assert!(
        !ada.get("/auth/login")
            .await
            .text
            .contains("Log in with a passkey")
    );
    assert_eq!(ada.get("/account/passkeys").await.status, 404);
    let r = ada
        .json("/auth/login", "/auth/login/passkey", &json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}
