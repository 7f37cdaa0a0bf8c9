//! Attacks on accounts, made as an attacker would make them, on SQLite and on PostgreSQL: each
//! case is a reproduction that succeeded against an earlier torn, and now fails.

mod accounts_app;
mod common;

use std::net::IpAddr;
use std::sync::Arc;

use accounts_app::*;
use torn::AuthError;
use torn::auth::{ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES};
use torn::client::TrustedProxies;

on_both!(
    concurrent_guesses_for_one_account_do_not_pass_its_throttle,
    concurrent_guesses_from_one_address_do_not_pass_its_throttle,
    behind_a_proxy_each_client_is_throttled_on_its_own_address,
    unused_reset_links_end_when_the_password_or_address_changes,
    oversized_input_is_not_worked_on_nor_stored,
    used_and_expired_rows_are_purged,
    look_alike_addresses_are_refused,
    pages_for_a_logged_in_user_are_not_kept_by_caches,
    the_password_asked_again_cannot_be_guessed_without_limit,
    failures_from_elsewhere_do_not_lock_out_a_known_browser,
    an_address_change_checked_before_every_session_ended_is_void,
    a_first_log_in_link_takes_the_account_from_whoever_signed_up_first,
    api_tokens_stop_at_their_expiry_and_need_a_confirmed_address,
    one_two_factor_code_passes_once_when_sent_at_once,
    a_token_request_cannot_ride_the_cookies_it_carries,
);

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// Fire `n` log-ins at once, the `i`th for `email(i)` with a wrong password, and count the
/// answers: (reached the password check, refused by the throttle).
async fn guess_at_once(b: Arc<Browser>, n: usize, email: fn(usize) -> String) -> (i64, i64) {
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..n {
        let b = b.clone();
        guesses.spawn(async move { b.log_in(&email(i), &format!("wrong guess {i}")).await });
    }
    let (mut checked, mut throttled) = (0, 0);
    while let Some(r) = guesses.join_next().await {
        let r = r.unwrap();
        match r.status {
            400 if r.text.contains("the password is not right") => checked += 1,
            429 => throttled += 1,
            other => panic!("a guess got {other}: {}", r.text),
        }
    }
    (checked, throttled)
}

/// The throttle once checked the lock, computed the hash, then recorded the failure with a
/// separate read and write: 100 wrong passwords sent at once all reached the password check.
async fn concurrent_guesses_for_one_account_do_not_pass_its_throttle(t: &Target) {
    let f = app(t, |_| {}).await;
    let victim = Browser::new(&f.server).await;
    victim.sign_up("victim@example.com", PASSWORD).await;
    let attacker = Arc::new(Browser::new(&f.server).await);
    let (checked, throttled) =
        guess_at_once(attacker, 100, |_| "victim@example.com".to_string()).await;
    // The free failures, and the one that locks.
    let allowed = ACCOUNT_FREE_FAILURES + 1;
    assert!(
        (1..=allowed).contains(&checked),
        "{checked} of 100 concurrent guesses reached the password check; at most {allowed} may"
    );
    assert_eq!(checked + throttled, 100);
    // The account is locked: even the right password waits.
    let r = victim.log_in("victim@example.com", PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.text);
}

/// The same race on the per-address count: guesses at 100 different accounts from one client.
async fn concurrent_guesses_from_one_address_do_not_pass_its_throttle(t: &Target) {
    let f = app(t, |_| {}).await;
    let attacker = Arc::new(Browser::new(&f.server).await);
    let (checked, throttled) =
        guess_at_once(attacker, 100, |i| format!("user{i}@example.com")).await;
    let allowed = ADDRESS_FREE_FAILURES + 1;
    assert!(
        (1..=allowed).contains(&checked),
        "{checked} of 100 concurrent guesses reached the password check; at most {allowed} may"
    );
    assert_eq!(checked + throttled, 100);
}

/// Behind a reverse proxy every connection comes from the proxy. The per-address throttle once
/// keyed on the TCP peer, so 21 failures from anyone locked every user out; and a client could
/// name any address it liked in `X-Forwarded-For` if the app believed it from anyone. With the
/// proxy in `trusted_proxies`, each client is throttled on its own address, and what a client
/// writes in the headers counts for nothing.
async fn behind_a_proxy_each_client_is_throttled_on_its_own_address(t: &Target) {
    if !common::nginx_available() {
        return;
    }
    // The proxy reaches the app from 127.0.0.9; clients connect from other loopback addresses.
    let f = app(t, |s| {
        s.server.trusted_proxies = TrustedProxies::parse(&["127.0.0.9"]).unwrap();
    })
    .await;
    let nginx = common::Nginx::start(&[f.server.addr()], "127.0.0.9".parse().unwrap());

    let victim = Browser::at(nginx.url(), ip("127.0.0.4")).await;
    victim.sign_up("victim@example.com", PASSWORD).await;
    assert_eq!(victim.get("/client").await.text, "127.0.0.4 http");

    // An attacker fails against many accounts (no account lock), until its address locks.
    let attacker = Browser::at(nginx.url(), ip("127.0.0.3")).await;
    for i in 0..=ADDRESS_FREE_FAILURES {
        let r = attacker
            .log_in(&format!("user{i}@example.com"), "guess")
            .await;
        assert_eq!(r.status, 400, "failure {i}: {}", r.text);
    }
    let r = attacker.log_in("someone@example.com", "guess").await;
    assert_eq!(
        r.status, 429,
        "the attacker's own address is locked: {}",
        r.text
    );
    // Naming another address does not help: the proxy appends the real one, and the app
    // reads from the right.
    // Naming it in a header the proxy passes through untouched does not help either.
    let spoofed = [
        ("x-forwarded-for", "127.0.0.5"),
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=127.0.0.7;proto=https"),
        ("x-real-ip", "127.0.0.8"),
    ];
    let r = attacker
        .post_with(
            "/auth/login",
            &[("email", "someone@example.com"), ("password", "guess")],
            &spoofed,
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    let mut who = attacker.client.get(format!("{}/client", attacker.base));
    for (name, value) in spoofed {
        who = who.header(name, value);
    }
    let who = who.send().await.unwrap().text().await.unwrap();
    assert_eq!(who, "127.0.0.3 http", "forged headers through the proxy");
    // Nor does going around the proxy: the headers of an untrusted peer are ignored.
    let direct = Browser::at(f.server.url(""), ip("127.0.0.3")).await;
    let r = direct
        .post_with(
            "/auth/login",
            &[("email", "someone@example.com"), ("password", "guess")],
            &spoofed,
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    let r = direct
        .client
        .get(format!("{}/client", direct.base))
        .header("x-forwarded-for", "127.0.0.5")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "127.0.0.3 http");

    // Every other client, through the same proxy, logs in as usual.
    let r = victim.log_in("victim@example.com", PASSWORD).await;
    assert_eq!(
        r.status, 303,
        "a user never targeted is not locked out: {}",
        r.text
    );
}

/// Reset links once outlived a reset and a password change: with two reset mails, after using
/// one and then changing the password, the other still set a password. Whoever read the mail
/// (a shared inbox, a stolen phone) could take the account back.
async fn unused_reset_links_end_when_the_password_or_address_changes(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("judy@example.com", PASSWORD).await;
    let forgot = || async {
        b.post("/forgot", &[("email", "judy@example.com")])
            .await
            .text
    };
    let reset = |token: String, password: &'static str| {
        let b = &b;
        async move {
            b.post(
                "/reset",
                &[("token", token.as_str()), ("password", password)],
            )
            .await
        }
    };

    // Two mails; the first link is used: the second one is over.
    let (first, second) = (forgot().await, forgot().await);
    let r = reset(first, "a new long password").await;
    assert_eq!(r.text, "reset judy@example.com");
    let r = reset(second, "the attacker's password").await;
    assert_eq!(
        r.status, 400,
        "a second reset link after a reset: {}",
        r.text
    );

    // A link mailed before a password change is over after it.
    let third = forgot().await;
    assert_eq!(
        b.log_in("judy@example.com", "a new long password")
            .await
            .status,
        303
    );
    let r = b
        .post(
            "/password",
            &[
                ("current", "a new long password"),
                ("new", "another long password"),
            ],
        )
        .await;
    assert_eq!(r.text, "changed");
    let r = reset(third, "the attacker's password").await;
    assert_eq!(
        r.status, 400,
        "a reset link after a password change: {}",
        r.text
    );

    // And one mailed before an address change.
    let fourth = forgot().await;
    let r = b
        .post(
            "/email",
            &[
                ("current", "another long password"),
                ("email", "judy@example.org"),
            ],
        )
        .await;
    assert!(r.text.starts_with("judy@example.org "), "{}", r.text);
    let (_, change) = r.text.split_once(' ').unwrap();
    let r = b.get(&format!("/email/confirm?token={change}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = reset(fourth, "the attacker's password").await;
    assert_eq!(
        r.status, 400,
        "a reset link after an address change: {}",
        r.text
    );
    assert_eq!(
        b.log_in("judy@example.org", "another long password")
            .await
            .status,
        303,
        "the owner's password is still the one they chose"
    );
}

/// The throttle key of every row, as stored.
async fn throttle_keys(f: &Fixture) -> Vec<String> {
    torn::with_db!(f.accounts.db(), pool => {
        sqlx::query_scalar::<_, String>("SELECT throttle_key FROM login_failures")
            .fetch_all(pool)
            .await
    })
    .unwrap()
}

/// A 2 MB "email" once became a 2 MB throttle key (and the log-in page sent it back whole);
/// keys held the addresses people typed.
async fn oversized_input_is_not_worked_on_nor_stored(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let huge_email = format!("{}@example.com", "a".repeat(2_000_000));
    let r = b.log_in(&huge_email, "a password").await;
    assert_eq!(r.status, 400, "{}", &r.text[..r.text.len().min(200)]);
    assert!(r.text.len() < 1000, "the answer is short");
    let huge_password = "p".repeat(1_000_000);
    let r = b.log_in("someone@example.com", &huge_password).await;
    assert_eq!(r.status, 400);
    assert!(throttle_keys(&f).await.is_empty(), "neither made a row");
    // An ordinary failure makes rows whose keys are hashes, not what was typed.
    b.log_in("someone@example.com", "a password").await;
    let keys = throttle_keys(&f).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in keys {
        assert!(key.len() <= 80, "{key}");
        assert!(
            !key.contains("someone") && !key.contains("127.0.0.1"),
            "{key}"
        );
    }
}

/// Token rows and throttle rows were never deleted: every reset request added one for good.
async fn used_and_expired_rows_are_purged(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let verify = b.sign_up("kim@example.com", PASSWORD).await;
    b.get(&format!("/verify?token={verify}")).await;
    let pending = b
        .post("/forgot", &[("email", "kim@example.com")])
        .await
        .text;
    b.log_in("kim@example.com", "wrong password").await;
    let count = |table: &'static str| {
        let db = f.accounts.db().clone();
        async move {
            torn::with_db!(&db, pool => {
                sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(pool)
                    .await
            })
            .unwrap()
        }
    };
    assert_eq!(
        (count("user_tokens").await, count("login_failures").await),
        (2, 2)
    );
    // The failures age past the day they are remembered.
    torn::with_db!(f.accounts.db(), pool => {
        sqlx::query("UPDATE login_failures SET last_failure_at = last_failure_at - 90000")
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
    .unwrap();
    let purged = f.accounts.purge_expired().await.unwrap();
    assert_eq!(
        purged, 3,
        "the used verification token and both throttle rows"
    );
    assert_eq!(
        count("user_tokens").await,
        1,
        "the pending reset token stays"
    );
    let r = b
        .post(
            "/reset",
            &[
                ("token", pending.as_str()),
                ("password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(r.text, "reset kim@example.com", "and still works");
}

/// `<victim@example.com>` was stored as an account of its own while mail to it reached the
/// victim's mailbox, so the victim's click confirmed the attacker's look-alike.
async fn look_alike_addresses_are_refused(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("victim@example.com", PASSWORD).await;
    for look_alike in [
        "<victim@example.com>",
        "Victim <victim@example.com>",
        "victim@example.com>",
        "\"victim@example.com\"",
        "victim@example.com,attacker@evil.example",
    ] {
        let r = b
            .post("/signup", &[("email", look_alike), ("password", PASSWORD)])
            .await;
        assert_eq!(r.status, 400, "{look_alike}: {}", r.text);
        assert!(
            r.text.contains("email address such as"),
            "{look_alike}: {}",
            r.text
        );
    }
    // The canonical form: trimmed and lower-cased.
    let r = b
        .post(
            "/signup",
            &[("email", "  Victim@Example.COM "), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.text, "registered");
}

/// A logged-in user's pages carried no `Cache-Control`, so a shared cache (or the browser, for
/// the next person at the same computer) could keep and show them.
async fn pages_for_a_logged_in_user_are_not_kept_by_caches(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let r = b.get("/who").await;
    assert_eq!(r.text, "anonymous");
    assert_eq!(
        r.header("cache-control"),
        None,
        "anonymous pages may be cached"
    );
    b.sign_up("lena@example.com", PASSWORD).await;
    assert_eq!(b.log_in("lena@example.com", PASSWORD).await.status, 303);
    for path in ["/who", "/me", "/maybe"] {
        let r = b.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
}

/// The password asked again before a password or address change was checked without any
/// throttle: whoever held a stolen session could guess it without limit.
async fn the_password_asked_again_cannot_be_guessed_without_limit(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("nora@example.com", PASSWORD).await;
    assert_eq!(b.log_in("nora@example.com", PASSWORD).await.status, 303);
    let guess = |i: usize| {
        let b = &b;
        async move {
            let current = format!("guess number {i}");
            b.post(
                "/password",
                &[
                    ("current", current.as_str()),
                    ("new", "a new long password"),
                ],
            )
            .await
        }
    };
    for i in 0..=ACCOUNT_FREE_FAILURES as usize {
        let r = guess(i).await;
        assert_eq!(r.status, 400, "guess {i}: {}", r.text);
        assert!(r.text.contains("current password"), "{}", r.text);
    }
    let r = guess(99).await;
    assert_eq!(r.status, 429, "{}", r.text);
    // The right password waits too, as at log-in.
    let r = b
        .post(
            "/password",
            &[("current", PASSWORD), ("new", "a new long password")],
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
}

/// Anyone could lock any account: six wrong passwords, and its owner's right one got 429 for
/// up to an hour, from every browser.
async fn failures_from_elsewhere_do_not_lock_out_a_known_browser(t: &Target) {
    let f = app(t, |_| {}).await;
    let owner = Browser::at(f.server.url(""), ip("127.0.0.10")).await;
    owner.sign_up("olive@example.com", PASSWORD).await;
    // Logging in gives the owner's browser its device cookie.
    let r = owner.log_in("olive@example.com", PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.text);
    owner.post("/logout", &[]).await;

    // The attacker, from elsewhere, with a device cookie of its own (for its own account).
    let attacker = Browser::at(f.server.url(""), ip("127.0.0.11")).await;
    attacker.sign_up("mallory@example.com", PASSWORD).await;
    assert_eq!(
        attacker
            .log_in("mallory@example.com", PASSWORD)
            .await
            .status,
        303
    );
    for i in 0..=ACCOUNT_FREE_FAILURES {
        let r = attacker.log_in("olive@example.com", "a wrong guess").await;
        assert_eq!(r.status, 400, "guess {i}: {}", r.text);
    }
    let r = attacker.log_in("olive@example.com", PASSWORD).await;
    assert_eq!(
        r.status, 429,
        "locked for other browsers, even with the password"
    );
    // A browser the account does not know is locked out too, at the owner's own address.
    let new_browser = Browser::at(f.server.url(""), ip("127.0.0.10")).await;
    let r = new_browser.log_in("olive@example.com", PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.text);

    // The owner's browser is not.
    let r = owner.log_in("olive@example.com", PASSWORD).await;
    assert_eq!(r.status, 303, "the owner's browser: {}", r.text);
    owner.post("/logout", &[]).await;
    // It has a count of its own: a stolen device cookie guesses no faster than anyone.
    for i in 0..=ACCOUNT_FREE_FAILURES {
        let r = owner.log_in("olive@example.com", "a wrong guess").await;
        assert_eq!(r.status, 400, "the device's guess {i}: {}", r.text);
    }
    let r = owner.log_in("olive@example.com", PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.text);
}

/// A request checked its password, then every session of the account ended (the owner of the
/// address took the account over with a log-in link, or "log out everywhere") before it made
/// its link: the link would have let the earlier user move the account to their own address.
/// The change is made on the security stamp the request was made with, and is void.
async fn an_address_change_checked_before_every_session_ended_is_void(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let token = b.sign_up("kim@example.com", PASSWORD).await;
    f.accounts.verify_email(&token).await.unwrap();
    // The request's user, as loaded when it came in.
    let loaded = f
        .accounts
        .user_by_email("kim@example.com")
        .await
        .unwrap()
        .unwrap();
    f.accounts
        .log_out_everywhere(loaded.id, None)
        .await
        .unwrap();
    let session = bare_session(&f);
    let refused = f
        .accounts
        .change_email(&loaded, PASSWORD, "elsewhere@example.com", &session)
        .await;
    assert!(
        matches!(refused, Err(AuthError::WrongCurrentPassword)),
        "{refused:?}"
    );
    // No usable link to the new address is left.
    let unused: i64 = torn::with_db!(f.accounts.db(), pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM user_tokens \
             WHERE email = 'elsewhere@example.com' AND used_at IS NULL",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(unused, 0);
}

/// Someone signs up first with another person's address and stays logged in; the owner logs in
/// with a link: the address is confirmed, the earlier password and sessions are gone, and the
/// owner's other links end with the one used.
async fn a_first_log_in_link_takes_the_account_from_whoever_signed_up_first(t: &Target) {
    let f = app(t, |_| {}).await;
    let squatter = Browser::new(&f.server).await;
    squatter
        .sign_up("lee@example.com", "the squatter's password")
        .await;
    assert_eq!(
        squatter
            .log_in("lee@example.com", "the squatter's password")
            .await
            .status,
        303
    );
    assert_eq!(squatter.get("/me").await.status, 200);
    let (_, first) = f
        .accounts
        .request_magic_link("lee@example.com", "0123456789abcdef0123456789abcdef")
        .await
        .unwrap()
        .unwrap();
    let (_, second) = f
        .accounts
        .request_magic_link("lee@example.com", "0123456789abcdef0123456789abcdef")
        .await
        .unwrap()
        .unwrap();
    let done = f.accounts.log_in_with_link(&first).await.unwrap();
    assert!(done.first_confirmation && done.password_removed);
    assert!(done.user.is_verified() && !done.user.has_password());
    assert_ne!(
        squatter.get("/me").await.status,
        200,
        "the squatter's session ended"
    );
    assert_ne!(
        squatter
            .log_in("lee@example.com", "the squatter's password")
            .await
            .status,
        303
    );
    for used in [&first, &second] {
        assert!(matches!(
            f.accounts.log_in_with_link(used).await,
            Err(AuthError::InvalidToken)
        ));
    }
    // Without a password, a session that holds the account cannot set one or move the
    // address (sudo mode has nothing to check): the owner goes through a reset mail.
    let session = bare_session(&f);
    for given in ["", "the squatter's password"] {
        let changed = f
            .accounts
            .change_password(&done.user, given, "an attacker's new password", &session)
            .await;
        assert!(changed.is_err(), "{changed:?}");
        let moved = f
            .accounts
            .change_email(&done.user, given, "attacker@example.com", &session)
            .await;
        assert!(moved.is_err(), "{moved:?}");
    }
}

/// An API token works until its expiry, and not after; an account whose address nobody
/// confirmed (whoever signed up with it may not own it) makes none.
async fn api_tokens_stop_at_their_expiry_and_need_a_confirmed_address(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let token = b.sign_up("kim@example.com", PASSWORD).await;
    let kim = f.accounts.verify_email(&token).await.unwrap();
    let session = bare_session(&f);
    let scopes = ["read".to_string()];
    let new = torn::auth::NewApiToken {
        name: "script",
        scopes: &scopes,
        lifetime: std::time::Duration::from_secs(86_400),
    };
    let (secret, made) = f
        .accounts
        .create_api_token(&session, &kim, Some(PASSWORD), &new)
        .await
        .unwrap();
    let (user, scopes) = f
        .accounts
        .authenticate_api_token(&secret)
        .await
        .unwrap()
        .expect("the token works");
    assert_eq!((user.id, scopes), (kim.id, vec!["read".to_string()]));
    torn::with_db!(f.accounts.db(), pool => {
        sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
            .bind(torn::db::now())
            .bind(made.id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
    .unwrap();
    assert!(
        f.accounts
            .authenticate_api_token(&secret)
            .await
            .unwrap()
            .is_none()
    );
    // Made on an address nobody confirmed yet: refused.
    b.sign_up("lou@example.com", PASSWORD).await;
    let lou = f
        .accounts
        .user_by_email("lou@example.com")
        .await
        .unwrap()
        .unwrap();
    let refused = f
        .accounts
        .create_api_token(&session, &lou, Some(PASSWORD), &new)
        .await;
    assert!(
        matches!(refused, Err(AuthError::VerifyFirst)),
        "{refused:?}"
    );
}

/// Two log-ins that wait for their second step send one code at once: one passes.
async fn one_two_factor_code_passes_once_when_sent_at_once(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let token = b.sign_up("kim@example.com", PASSWORD).await;
    let kim = f.accounts.verify_email(&token).await.unwrap();
    let session = bare_session(&f);
    let setup = f
        .accounts
        .start_two_factor(&session, &kim, Some(PASSWORD), "torn")
        .await
        .unwrap();
    let now = torn::signing::unix_now();
    f.accounts
        .confirm_two_factor(&session, &kim, &torn::test::totp_code(&setup.secret, now))
        .await
        .unwrap();
    let kim = f.accounts.user(kim.id).await.unwrap().unwrap();
    let code = torn::test::totp_code(&setup.secret, now + 30);
    for round in 0..3 {
        let sessions: Vec<torn::Session> = (0..4).map(|_| bare_session(&f)).collect();
        for s in &sessions {
            let step = f.accounts.log_in(s, &kim, false).await.unwrap();
            assert_eq!(step, torn::auth::LogIn::SecondStep);
        }
        let mut attempts = tokio::task::JoinSet::new();
        for s in sessions {
            let accounts = f.accounts.clone();
            let code = code.clone();
            attempts.spawn(async move { accounts.second_step(&s, &code).await.is_ok() });
        }
        let passed = attempts
            .join_all()
            .await
            .into_iter()
            .filter(|ok| *ok)
            .count();
        assert_eq!(passed, usize::from(round == 0), "round {round}");
    }
}

/// On a route that takes API tokens, the XSRF check is not asked of a request with a bearer
/// token: such a request must not reach the browser's session, whatever the handler reads. A
/// browser's cached Basic credentials are no token: that request is XSRF-checked.
async fn a_token_request_cannot_ride_the_cookies_it_carries(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let token = b.sign_up("kim@example.com", PASSWORD).await;
    let kim = f.accounts.verify_email(&token).await.unwrap();
    let r = b
        .post(
            "/auth/login",
            &[("email", "kim@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert!(r.status < 400, "{}", r.text);
    // The browser's own session, XSRF token and all: Kim.
    let r = b.post("/api/session", &[]).await;
    assert!(r.text.starts_with("kim@example.com"), "{}", r.text);
    // Another account's token, sent with Kim's cookies and no XSRF token.
    let eve_token = b.sign_up("eve@example.com", PASSWORD).await;
    let eve = f.accounts.verify_email(&eve_token).await.unwrap();
    let session = bare_session(&f);
    let scopes = ["read".to_string()];
    let new = torn::auth::NewApiToken {
        name: "eve's",
        scopes: &scopes,
        lifetime: std::time::Duration::from_secs(86_400),
    };
    let (secret, _) = f
        .accounts
        .create_api_token(&session, &eve, Some(PASSWORD), &new)
        .await
        .unwrap();
    let forged = b
        .client
        .post(format!("{}/api/session", b.base))
        .bearer_auth(&secret)
        .form(&[("x", "y")]);
    let r = read(forged).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.text, "nobody sudo=false",
        "the cookie's session is not the handler's"
    );
    // Cached Basic credentials on a form from another site: the XSRF check stands.
    let forged = b
        .client
        .post(format!("{}/api/session", b.base))
        .basic_auth("kim@example.com", Some(PASSWORD))
        .form(&[("x", "y")]);
    assert_eq!(read(forged).await.status, 403);
    let _ = kim;
}
