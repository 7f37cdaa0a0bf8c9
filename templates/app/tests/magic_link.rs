//! Log-in links ("Email me a log-in link") over real HTTP: the browser that asked is logged in
//! by the link; any other browser is asked first, so a mail scanner spends nothing; a link
//! works once, only as a log-in link, and only for a while; and it confirms the address,
//! ending what someone who signed up first with that address had set up.

mod support;

use std::time::Duration;

use support::{Browser, PASSWORD, links, server};
use torn::test::TestResponse;

impl Browser<'_> {
    async fn ask_for_link(&self, email: &str) -> TestResponse {
        self.submit("/auth/login/link", "/auth/login/link", &[("email", email)])
            .await
    }
}

#[tokio::test]
async fn the_link_logs_in_the_browser_that_asked_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.sign_up("ada@example.com", PASSWORD).await;
    assert!(
        ada.get("/auth/login")
            .await
            .text
            .contains("/auth/login/link"),
        "the log-in page offers a link"
    );
    let asked = ada.ask_for_link("ada@example.com").await;
    assert_eq!(asked.status, 303);
    assert_eq!(asked.header("location"), Some("/auth/check-email"));
    let link = links(dir.path(), "/auth/login/link/open", 1)
        .await
        .remove(0);
    let opened = ada.get(&link).await;
    assert_eq!(opened.status, 303, "{}", opened.text);
    assert_eq!(opened.header("location"), Some("/"));
    assert!(ada.logged_in().await);
    // Once only.
    assert_eq!(ada.get(&link).await.status, 400);
}

#[tokio::test]
async fn elsewhere_the_link_asks_first_and_a_scanner_spends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let ada = Browser::new(&server);
    ada.sign_up("ada@example.com", PASSWORD).await;
    ada.ask_for_link("ada@example.com").await;
    let link = links(dir.path(), "/auth/login/link/open", 1)
        .await
        .remove(0);

    // A mail scanner (no cookies) follows the link, twice: it logs nobody in.
    let scanner = Browser::new(&server);
    for _ in 0..2 {
        let page = scanner.get(&link).await;
        assert_eq!(page.status, 200);
        assert!(
            page.text.contains("Log in as ada@example.com?"),
            "{}",
            page.text
        );
    }
    assert!(!scanner.logged_in().await);

    // On the phone, the owner says yes.
    let phone = Browser::new(&server);
    let token = link.split("token=").nth(1).unwrap();
    let yes = phone
        .submit(&link, "/auth/login/link/open", &[("token", token)])
        .await;
    assert_eq!(yes.status, 303, "{}", yes.text);
    assert!(phone.logged_in().await);
    // Spent: not again, not in the browser that asked either.
    let again = phone
        .submit(&link, "/auth/login/link/open", &[("token", token)])
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(ada.get(&link).await.status, 400);
    assert!(!ada.logged_in().await);
}

#[tokio::test]
async fn only_log_in_links_log_in_and_only_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |s| {
        s.accounts.magic_link_lifetime = Duration::from_secs(1);
    })
    .await;
    let ada = Browser::new(&server);
    ada.sign_up("ada@example.com", PASSWORD).await;
    // A verification link is not a log-in link.
    let verify = links(dir.path(), "/auth/verify", 1).await.remove(0);
    let token = verify.split("token=").nth(1).unwrap();
    let wrong = ada
        .get(&format!("/auth/login/link/open?token={token}"))
        .await;
    assert_eq!(wrong.status, 400);
    for made_up in ["", "x", &"A".repeat(43), &"A".repeat(5000)] {
        let r = ada
            .get(&format!("/auth/login/link/open?token={made_up}"))
            .await;
        assert_eq!(r.status, 400, "{made_up:.10}");
    }
    // A link too old.
    ada.ask_for_link("ada@example.com").await;
    let link = links(dir.path(), "/auth/login/link/open", 1)
        .await
        .remove(0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(ada.get(&link).await.status, 400);
    assert!(!ada.logged_in().await);
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_mail() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let someone = Browser::new(&server);
    let asked = someone.ask_for_link("nobody@example.com").await;
    assert_eq!(asked.status, 303);
    assert_eq!(asked.header("location"), Some("/auth/check-email"));
    let bad = someone.ask_for_link("not an address").await;
    assert_eq!(bad.status, 422);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!dir.path().join("mail").exists(), "no mail was written");
}

#[tokio::test]
async fn requests_for_links_share_the_mail_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let someone = Browser::new(&server);
    for i in 0..6 {
        assert_eq!(
            someone.ask_for_link("someone@example.com").await.status,
            303,
            "request {i}"
        );
    }
    let refused = someone.ask_for_link("someone@example.com").await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
}

/// Someone signs up first with another person's address (the account waits for its
/// confirmation), and keeps a session open. The owner of the address logs in with a link: the
/// address is confirmed, and the squatter's password and session stop working.
#[tokio::test]
async fn a_link_takes_the_account_back_from_whoever_signed_up_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let squatter = Browser::new(&server);
    squatter
        .sign_up("owner@example.com", "the squatter's password")
        .await;
    assert_eq!(
        squatter
            .log_in("owner@example.com", "the squatter's password")
            .await
            .status,
        303
    );
    // Logged in, waiting for the confirmation.
    let waiting = squatter.get("/account").await;
    assert_eq!(waiting.header("location"), Some("/auth/unverified"));

    let owner = Browser::new(&server);
    owner.ask_for_link("owner@example.com").await;
    let link = links(dir.path(), "/auth/login/link/open", 1)
        .await
        .remove(0);
    assert_eq!(owner.get(&link).await.status, 303);
    let home = owner.get("/").await;
    assert!(
        home.text
            .contains("The password set before it was confirmed no longer works"),
        "the owner is told: {}",
        home.text
    );
    let account = owner.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.text.contains("(confirmed)"), "{}", account.text);

    // The squatter's session ended, and the password is gone.
    let ended = squatter.get("/account").await;
    assert_eq!(
        ended.header("location"),
        Some("/auth/login?next=%2Faccount"),
        "{}",
        ended.status
    );
    let again = squatter
        .log_in("owner@example.com", "the squatter's password")
        .await;
    assert_ne!(again.status, 303, "{}", again.text);
}
