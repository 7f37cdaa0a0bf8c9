//! Attacks through unconfirmed addresses, on SQLite and on PostgreSQL: an address change that
//! nobody confirmed, and accounts used before their address is confirmed. Each case succeeded
//! against an earlier torn, and now fails.

mod accounts_app;
mod common;

use std::net::IpAddr;
use std::sync::Arc;

use accounts_app::*;
use torn::auth::{MAIL_FREE_PER_ADDRESS, MAIL_FREE_PER_CLIENT};
use torn::test::TestResponse;

on_both!(
    an_address_change_waits_for_its_confirmation,
    only_a_confirmed_user_gets_past_require_verified_email,
    one_inbox_cannot_be_flooded,
    one_client_cannot_send_mail_without_limit,
    a_strangers_click_does_not_confirm_an_account_made_with_their_address,
);

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// Ask for mail to `email` until refused: how many were let through, and the refusal.
async fn mail_until_refused(b: &Browser, email: &str) -> (i64, TestResponse) {
    for sent in 0..100 {
        let r = b.post("/mail", &[("email", email)]).await;
        match r.status {
            200 => {}
            429 => return (sent, r),
            other => panic!("{other}: {}", r.text),
        }
    }
    panic!("100 mails to {email} and no limit");
}

/// An address change once took effect at once, before the new address was confirmed: a
/// session thief with the password (or a typo) moved the account to an address nobody had
/// proved, and the links mailed to it confirmed whatever the account held by then.
async fn an_address_change_waits_for_its_confirmation(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let token = b.sign_up("kim@example.com", PASSWORD).await;
    b.get(&format!("/verify?token={token}")).await;
    b.log_in("kim@example.com", PASSWORD).await;
    let change = |email: &'static str| {
        let b = &b;
        async move {
            let r = b
                .post("/email", &[("current", PASSWORD), ("email", email)])
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            let (shown, token) = r.text.split_once(' ').unwrap();
            assert_eq!(shown, email);
            token.to_string()
        }
    };
    let first = change("kim@new.example").await;
    // Nothing changed yet: the old address is the account's, confirmed, and logs in.
    let user = f.accounts.user_by_email("kim@example.com").await.unwrap();
    assert!(
        user.is_some_and(|u| u.is_verified()),
        "the old address stays"
    );
    let new = f.accounts.user_by_email("kim@new.example").await.unwrap();
    assert!(new.is_none(), "the new address is not the account's yet");
    assert_eq!(
        Browser::new(&f.server)
            .await
            .log_in("kim@example.com", PASSWORD)
            .await
            .status,
        303
    );
    // The same address again, or another account's, is refused.
    let r = b
        .post(
            "/email",
            &[("current", PASSWORD), ("email", "Kim@Example.com")],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("already your email address"), "{}", r.text);
    Browser::new(&f.server)
        .await
        .sign_up("taken@example.com", PASSWORD)
        .await;
    let r = b
        .post(
            "/email",
            &[("current", PASSWORD), ("email", "taken@example.com")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A second change drops the first: only the newest link works.
    let second = change("kim@other.example").await;
    let r = b.get(&format!("/email/confirm?token={first}")).await;
    assert_eq!(r.status, 400, "an older change's link: {}", r.text);
    let r = b.get(&format!("/email/confirm?token={second}")).await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (200, "kim@other.example was kim@example.com")
    );
    let user = f.accounts.user_by_email("kim@other.example").await.unwrap();
    assert!(
        user.is_some_and(|u| u.is_verified()),
        "confirmed by the link"
    );
    assert_eq!(
        Browser::new(&f.server)
            .await
            .log_in("kim@example.com", PASSWORD)
            .await
            .status,
        400,
        "the old address is no longer the account's"
    );
    let r = b.get(&format!("/email/confirm?token={second}")).await;
    assert_eq!(r.status, 400, "a used link");
    // An address someone else took while the link was on its way is not taken from them.
    let third = change("kim@third.example").await;
    Browser::new(&f.server)
        .await
        .sign_up("kim@third.example", PASSWORD)
        .await;
    let r = b.get(&format!("/email/confirm?token={third}")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("cannot be used"), "{}", r.text);
}

/// An account whose address nobody confirmed could use every page for logged-in users: an
/// attacker could sign up with someone else's address and act under it.
async fn only_a_confirmed_user_gets_past_require_verified_email(t: &Target) {
    let f = app(t, |s| s.accounts.require_verified_email = true).await;
    let b = Browser::new(&f.server).await;
    let token = b.sign_up("lou@example.com", PASSWORD).await;
    b.log_in("lou@example.com", PASSWORD).await;
    // Pages that do not need a confirmed address still know who is logged in.
    assert_eq!(b.get("/maybe").await.text, "lou@example.com");
    // A page for logged-in users sends the browser to "check your mail"; a form or a JSON
    // request is refused.
    let r = b.get("/me").await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/auth/unverified"))
    );
    let r = b.post("/everywhere", &[]).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.text.contains("Confirm your email address first"),
        "{}",
        r.text
    );
    let r = read(
        b.client
            .get(format!("{}/me", b.base))
            .header("accept", "application/json"),
    )
    .await;
    assert_eq!(r.status, 403);
    // Confirmed, the same session gets in.
    b.get(&format!("/verify?token={token}")).await;
    assert_eq!(b.get("/me").await.status, 200);
    // Off (the framework's default), an unconfirmed user gets in.
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("max@example.com", PASSWORD).await;
    b.log_in("max@example.com", PASSWORD).await;
    assert_eq!(b.get("/me").await.status, 200);
}

/// Nothing limited mail: 180+ reset mails went to one inbox, from one request each.
async fn one_inbox_cannot_be_flooded(t: &Target) {
    let f = app(t, |_| {}).await;
    let attacker = Browser::at(f.server.url(""), ip("127.0.0.3")).await;
    let (sent, refused) = mail_until_refused(&attacker, "victim@example.com").await;
    // The free ones and the one that starts the wait.
    assert_eq!(sent, MAIL_FREE_PER_ADDRESS + 1);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    assert!(
        refused
            .text
            .contains("Too many requests for mail. Try again in"),
        "{}",
        refused.text
    );
    // The same inbox written otherwise, or asked from elsewhere, is the same inbox.
    let elsewhere = Browser::at(f.server.url(""), ip("127.0.0.4")).await;
    let r = elsewhere
        .post("/mail", &[("email", " Victim@Example.COM ")])
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    // Another inbox is not affected.
    let r = attacker
        .post("/mail", &[("email", "other@example.com")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Sent at once, the requests are counted as they come: no more get through.
    let burst = Arc::new(Browser::at(f.server.url(""), ip("127.0.0.5")).await);
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let b = burst.clone();
        requests.spawn(async move {
            b.post("/mail", &[("email", "burst@example.com")])
                .await
                .status
        });
    }
    let mut through = 0;
    while let Some(status) = requests.join_next().await {
        match status.unwrap() {
            200 => through += 1,
            429 => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(through, MAIL_FREE_PER_ADDRESS + 1, "at once");
}

/// Each sign-up costs an argon2 hash and a mail; one client could ask for any number, to as
/// many addresses.
async fn one_client_cannot_send_mail_without_limit(t: &Target) {
    let f = app(t, |_| {}).await;
    let attacker = Browser::at(f.server.url(""), ip("127.0.0.6")).await;
    for i in 0..=MAIL_FREE_PER_CLIENT {
        let r = attacker
            .post("/mail", &[("email", &format!("user{i}@example.com"))])
            .await;
        assert_eq!(r.status, 200, "mail {i}: {}", r.text);
    }
    let r = attacker
        .post("/mail", &[("email", "one-more@example.com")])
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    // Another client is not affected.
    let other = Browser::at(f.server.url(""), ip("127.0.0.7")).await;
    let r = other
        .post("/mail", &[("email", "one-more@example.com")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Someone signs up with a stranger's address; the stranger, puzzled by the mail, clicks the
/// link. The account was then confirmed, with the password its maker knows.
async fn a_strangers_click_does_not_confirm_an_account_made_with_their_address(t: &Target) {
    let f = app(t, |_| {}).await;
    let maker = Browser::new(&f.server).await;
    let token = maker.sign_up("stranger@example.com", PASSWORD).await;
    let link = format!("/verify-as?token={token}");
    // The stranger's browser, not logged in: sent to log in, which it cannot.
    let stranger = Browser::new(&f.server).await;
    let r = stranger.get(&link).await;
    assert_eq!(r.status, 303);
    // Logged in to another account: refused, and the link stays unspent.
    stranger.sign_up("someone-else@example.com", PASSWORD).await;
    stranger.log_in("someone-else@example.com", PASSWORD).await;
    let r = stranger.get(&link).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let user = f
        .accounts
        .user_by_email("stranger@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.is_verified());
    // Only the account's own log-in confirms it (the mailbox and the password together).
    maker.log_in("stranger@example.com", PASSWORD).await;
    let r = maker.get(&link).await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (200, "verified stranger@example.com")
    );
}
