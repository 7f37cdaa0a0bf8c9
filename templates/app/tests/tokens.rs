//! Personal API tokens over real HTTP: made on the account page (shown once), sent as
//! `Authorization: Bearer` to `/api/…`, where they need no XSRF token while the browser's
//! session still does; limited by their scopes; revocable, by their owner only.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Browser, PASSWORD, links, server};
use torn::test::{TestResponse, TestServer};

impl Browser<'_> {
    /// Sign up, log in and confirm the address.
    async fn confirmed_account(&self, dir: &Path, email: &str, nth: usize) {
        self.sign_up(email, PASSWORD).await;
        assert_eq!(self.log_in(email, PASSWORD).await.status, 303);
        let verify = links(dir, "/auth/verify", nth).await;
        for link in verify {
            // Another account's link does nothing here (it asks its own account to log in).
            self.get(&link).await;
        }
    }

    /// POST the token form with `fields`.
    async fn tokens(&self, fields: &[(&str, &str)]) -> TestResponse {
        self.submit("/account/tokens", "/account/tokens", fields)
            .await
    }

    /// Make a token with these scopes: the token.
    async fn make_token(&self, name: &str, scopes: &[&str]) -> String {
        let mut fields = vec![("action", "create"), ("name", name), ("days", "30")];
        fields.extend(scopes.iter().map(|s| ("scope", *s)));
        let r = self.tokens(&fields).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let at = r.text.find("id=\"new-token\">").expect("the new token") + 15;
        r.text[at..at + r.text[at..].find('<').unwrap()].to_string()
    }
}

/// A request from a program: no cookies, the token in its header.
async fn with_token(
    server: &TestServer,
    token: &str,
    request: impl FnOnce(&torn::test::reqwest::Client) -> torn::test::reqwest::RequestBuilder,
) -> TestResponse {
    let client = torn::test::reqwest::Client::new();
    server.send(request(&client).bearer_auth(token)).await
}

#[tokio::test]
async fn a_token_is_shown_once_and_works_without_xsrf_where_cookies_need_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com", 1)
        .await;
    let token = ada.make_token("my script", &["read", "write"]).await;
    assert!(token.starts_with("torn_") && token.len() > 40, "{token}");
    let page = ada.get("/account/tokens").await.text;
    assert!(
        page.contains("my script") && page.contains("read, write"),
        "{page}"
    );
    assert!(!page.contains(&token), "shown only once");
    assert!(
        support::mailed(dir.path(), "A new API token, \"my script\", was just made").await,
        "the owner is told"
    );

    // The token, from a program: no cookies, no XSRF token.
    let me = with_token(&server, &token, |c| c.get(server.url("/api/me"))).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert!(
        me.text.contains("\"email\":\"ada@example.com\""),
        "{}",
        me.text
    );
    let greet = |c: &torn::test::reqwest::Client| {
        c.post(server.url("/api/greet"))
            .header("content-type", "application/json")
            .body(r#"{"name": "Grace"}"#)
    };
    let r = with_token(&server, &token, greet).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Hello, Grace!"));
    assert!(
        ada.get("/account/tokens").await.text.contains("just now"),
        "last used"
    );

    // The browser's session on the same route: the XSRF token is still asked.
    let r = server.send(greet(&ada.client)).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let xsrf = ada.get("/").await.form_field("_xsrf").unwrap();
    let r = server
        .send(greet(&ada.client).header("X-XSRFToken", &xsrf))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A token does not stand in for the XSRF token where the route does not take tokens.
    let r = with_token(&server, &token, |c| {
        c.post(server.url("/greet")).form(&[("name", "Grace")])
    })
    .await;
    assert_eq!(r.status, 403, "{}", r.text);

    // A wrong token is nobody, even with the owner's cookies alongside.
    for bad in ["torn_not-a-token", "torn_", &"x".repeat(5000)] {
        let r = server
            .send(
                greet(&ada.client)
                    .bearer_auth(bad)
                    .header("X-XSRFToken", &xsrf),
            )
            .await;
        assert_eq!(r.status, 401, "{bad:.20}: {}", r.text);
        assert!(
            r.header("www-authenticate")
                .is_some_and(|v| v.contains("invalid_token")),
            "{bad:.20}"
        );
    }
    // Any other Authorization (a browser's cached Basic credentials, say) is no token: the
    // request is the session's, and its XSRF token is asked.
    let r = server
        .send(greet(&ada.client).basic_auth("ada@example.com", Some(PASSWORD)))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);

    // Revoked, it stops working.
    let page = ada.get("/account/tokens").await.text;
    let at = page.find("name=\"id\" value=\"").unwrap() + 17;
    let id = &page[at..at + page[at..].find('"').unwrap()];
    let r = ada.tokens(&[("action", "revoke"), ("id", id)]).await;
    assert_eq!(r.status, 303);
    let me = with_token(&server, &token, |c| c.get(server.url("/api/me"))).await;
    assert_eq!(me.status, 401);
}

#[tokio::test]
async fn scopes_limit_what_a_token_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com", 1)
        .await;
    let token = ada.make_token("reader", &["read"]).await;
    let me = with_token(&server, &token, |c| c.get(server.url("/api/me"))).await;
    assert_eq!(me.status, 200);
    let r = with_token(&server, &token, |c| {
        c.post(server.url("/api/greet"))
            .header("content-type", "application/json")
            .body(r#"{"name": "Grace"}"#)
    })
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|v| v.contains("insufficient_scope") && v.contains("write"))
    );
}

#[tokio::test]
async fn making_a_token_is_a_sensitive_change_and_checks_what_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |s| s.accounts.sudo_window = Duration::ZERO).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com", 1)
        .await;
    let good = [
        ("action", "create"),
        ("name", "ci"),
        ("scope", "read"),
        ("days", "30"),
    ];
    let r = ada.tokens(&good).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("Enter your current password"), "{}", r.text);
    assert!(!r.text.contains("id=\"new-token\""));
    let with_password = |extra: &[(&'static str, &'static str)]| {
        let mut fields = vec![("action", "create"), ("current_password", PASSWORD)];
        fields.extend_from_slice(extra);
        fields
    };
    for (fields, says) in [
        (
            with_password(&[("name", ""), ("scope", "read"), ("days", "30")]),
            "a name",
        ),
        (
            with_password(&[("name", "ci"), ("days", "30")]),
            "what the token may do",
        ),
        (
            with_password(&[("name", "ci"), ("scope", "admin"), ("days", "30")]),
            "what the token may do",
        ),
        (
            with_password(&[("name", "ci"), ("scope", "read"), ("days", "1000")]),
            "how long",
        ),
        (
            with_password(&[("name", "ci"), ("scope", "read"), ("days", "-1")]),
            "how long",
        ),
    ] {
        let r = ada.tokens(&fields).await;
        assert_eq!(r.status, 422, "{fields:?}");
        assert!(r.text.contains(says), "{fields:?}: {}", r.text);
    }
    let long_name = "n".repeat(65);
    let r = ada
        .tokens(&[
            ("action", "create"),
            ("current_password", PASSWORD),
            ("name", &long_name),
            ("scope", "read"),
            ("days", "30"),
        ])
        .await;
    assert_eq!(r.status, 422);
    let r = ada
        .tokens(&with_password(&[
            ("name", "ci"),
            ("scope", "read"),
            ("days", "30"),
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("id=\"new-token\">torn_"));
}

#[tokio::test]
async fn only_its_owner_revokes_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.confirmed_account(dir.path(), "ada@example.com", 1)
        .await;
    let token = ada.make_token("script", &["read"]).await;
    let page = ada.get("/account/tokens").await.text;
    let at = page.find("name=\"id\" value=\"").unwrap() + 17;
    let id = page[at..at + page[at..].find('"').unwrap()].to_string();
    let eve = Browser::new(&server);
    eve.confirmed_account(dir.path(), "eve@example.com", 2)
        .await;
    for id in [id.as_str(), "0", "-1", "not a number"] {
        let r = eve.tokens(&[("action", "revoke"), ("id", id)]).await;
        assert_eq!(r.status, 303, "{id}");
    }
    let me = with_token(&server, &token, |c| c.get(server.url("/api/me"))).await;
    assert_eq!(me.status, 200, "Eve revoked nothing of Ada's");
    // Eve's own token names Eve, whatever Ada's session says.
    let theirs = eve.make_token("eve's", &["read"]).await;
    let r = server
        .send(ada.client.get(server.url("/api/me")).bearer_auth(&theirs))
        .await;
    assert!(r.text.contains("eve@example.com"), "{}", r.text);
}
