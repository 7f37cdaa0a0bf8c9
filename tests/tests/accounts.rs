//! Accounts over HTTP, on SQLite and on PostgreSQL: sign-up, verification, log-in, log-out,
//! sessions, tokens, and the attacks on them (session fixation, enumeration, throttling,
//! replayed and expired tokens, open redirects, stale sessions).

mod common;

mod accounts_app;

use std::time::Duration;

use accounts_app::*;
use torn::Accounts;
use torn::auth::TokenPurpose;
use torn::password::Hasher;
on_redis!(
    sign_up_verify_log_in_and_out,
    log_in_cycles_the_session_id,
    password_reset_ends_every_session,
    log_out_everywhere_keeps_only_this_session,
    remember_me_makes_a_lasting_cookie,
    an_active_session_outlives_the_idle_timeout,
    a_remembered_session_keeps_its_lasting_cookie,
);

on_both!(
    sign_up_verify_log_in_and_out,
    log_in_cycles_the_session_id,
    failures_do_not_reveal_which_emails_exist,
    log_in_is_throttled_per_account,
    reset_tokens_are_single_use_and_purpose_bound,
    expired_and_stale_tokens_are_refused,
    configured_token_lifetimes_and_password_lengths_apply,
    password_reset_ends_every_session,
    password_change_asks_again_and_ends_other_sessions,
    log_out_everywhere_keeps_only_this_session,
    next_only_goes_to_paths_on_this_site,
    sessions_end_at_the_absolute_timeout,
    remember_me_makes_a_lasting_cookie,
    an_active_session_outlives_the_idle_timeout,
    a_remembered_session_keeps_its_lasting_cookie,
    hashes_are_upgraded_at_log_in,
    bad_input_is_refused_with_reasons,
    expired_sessions_are_deleted_from_the_store,
);

// ---------------------------------------------------------------- cases

async fn sign_up_verify_log_in_and_out(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let token = b.sign_up("Ada@Example.com", PASSWORD).await;
    let user = f
        .accounts
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.is_verified());
    assert_eq!(
        b.get(&format!("/verify?token={token}")).await.text,
        "verified ada@example.com"
    );
    assert!(
        f.accounts
            .user(user.id)
            .await
            .unwrap()
            .unwrap()
            .is_verified()
    );

    assert_eq!(b.get("/maybe").await.text, "anonymous");
    assert_eq!(b.get("/who").await.text, "anonymous");
    let r = b.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(b.get("/me").await.text, "ada@example.com");
    assert_eq!(b.get("/maybe").await.text, "ada@example.com");
    // Pages know the user through their context.
    assert_eq!(b.get("/who").await.text, "logged in as ada@example.com");

    let r = b.post("/logout", &[]).await;
    assert_eq!(r.status, 303);
    let r = b.get("/me").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/auth/login?next=%2Fme"));
    // A JSON client gets 401 instead of a redirect.
    let json = b
        .client
        .get(format!("{}/me", b.base))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 401);
}

async fn log_in_cycles_the_session_id(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("bob@example.com", PASSWORD).await;
    let before = b.get("/visit").await;
    let old = b.session_cookie(&before).expect("a session before log-in");
    let r = b.log_in("bob@example.com", PASSWORD).await;
    let new = b
        .session_cookie(&r)
        .expect("a new session cookie at log-in");
    assert_ne!(old, new, "the session id changes at log-in");
    // The session data survives the new id...
    assert_eq!(b.get("/visit").await.text, "2");
    // ...but the old id is dead: an attacker who planted it is not logged in.
    let attacker = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = attacker
        .get(format!("{}/me", b.base))
        .header("cookie", &old)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the pre-login session id does not log in");
    let r = attacker
        .get(format!("{}/me", b.base))
        .header("cookie", &new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "bob@example.com");
    // After log-out the id is dead too.
    b.post("/logout", &[]).await;
    let r = attacker
        .get(format!("{}/me", b.base))
        .header("cookie", &new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

async fn failures_do_not_reveal_which_emails_exist(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("carol@example.com", PASSWORD).await;
    let wrong_password = b.log_in("carol@example.com", "not the password").await;
    let unknown_email = b.log_in("nobody@example.com", "not the password").await;
    assert_eq!(wrong_password.status, unknown_email.status);
    assert_eq!(wrong_password.text, unknown_email.text);
    assert_eq!(wrong_password.status, 400);
    // Sign-up with a taken address answers like a new one would, to the page (the mail says
    // the rest); the password is not changed.
    let again = b
        .post(
            "/signup",
            &[
                ("email", "carol@example.com"),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(b.log_in("carol@example.com", PASSWORD).await.status, 303);
    // The reset request answers the same status for known and unknown addresses.
    let known = b.post("/forgot", &[("email", "carol@example.com")]).await;
    let unknown = b.post("/forgot", &[("email", "nobody@example.com")]).await;
    assert_eq!(known.status, unknown.status);
}

async fn log_in_is_throttled_per_account(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("dave@example.com", PASSWORD).await;
    for i in 0..5 {
        let r = b.log_in("dave@example.com", "wrong password!").await;
        assert_eq!(r.status, 400, "failure {i} is not throttled yet");
    }
    let r = b.log_in("dave@example.com", "wrong password!").await;
    assert_eq!(r.status, 400, "the 6th failure is recorded, and locks");
    let r = b.log_in("dave@example.com", PASSWORD).await;
    assert_eq!(r.status, 429, "even the right password waits: {}", r.text);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert!(r.text.contains("Try again in"), "{}", r.text);
    // Another account from elsewhere is not affected.
    let other = Browser::new(&f.server).await;
    other.sign_up("erin@example.com", PASSWORD).await;
    assert_eq!(other.log_in("erin@example.com", PASSWORD).await.status, 303);
}

async fn reset_tokens_are_single_use_and_purpose_bound(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    let verify_token = b.sign_up("frank@example.com", PASSWORD).await;
    // A verification token is not a reset token.
    let r = b
        .post(
            "/reset",
            &[("token", &verify_token), ("password", "brand new password")],
        )
        .await;
    assert_eq!(r.status, 400);
    let token = b
        .post("/forgot", &[("email", "frank@example.com")])
        .await
        .text;
    assert!(token.len() >= 43, "256-bit token: {token}");
    // A refused password does not burn the token.
    let r = b
        .post("/reset", &[("token", &token), ("password", "short")])
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("at least 8"), "{}", r.text);
    let r = b
        .post(
            "/reset",
            &[("token", &token), ("password", "brand new password")],
        )
        .await;
    assert_eq!(r.text, "reset frank@example.com");
    // Replayed: refused.
    let r = b
        .post(
            "/reset",
            &[("token", &token), ("password", "another new password")],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("not valid"), "{}", r.text);
    assert_eq!(
        b.log_in("frank@example.com", "brand new password")
            .await
            .status,
        303
    );
    // Tokens are stored hashed: the token itself is nowhere in the database.
    let stored: i64 = torn::with_db!(f.accounts.db(), pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM user_tokens WHERE token_hash = $1")
            .bind(&token)
            .fetch_one(pool)
            .await
    })
    .unwrap();
    assert_eq!(stored, 0);
}

async fn expired_and_stale_tokens_are_refused(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("grace@example.com", PASSWORD).await;
    let user = f
        .accounts
        .user_by_email("grace@example.com")
        .await
        .unwrap()
        .unwrap();
    let expired = f
        .accounts
        .issue_token_for(&user, TokenPurpose::RESET, Duration::ZERO)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = b
        .post(
            "/reset",
            &[("token", &expired), ("password", "brand new password")],
        )
        .await;
    assert_eq!(r.status, 400, "expired");
    // A reset token sent to the old address stops working when the address changes.
    let old_address_token = b
        .post("/forgot", &[("email", "grace@example.com")])
        .await
        .text;
    b.log_in("grace@example.com", PASSWORD).await;
    let r = b
        .post(
            "/email",
            &[("current", PASSWORD), ("email", "grace@new.example")],
        )
        .await;
    assert!(r.text.starts_with("grace@new.example "), "{}", r.text);
    let (_, change) = r.text.split_once(' ').unwrap();
    let r = b.get(&format!("/email/confirm?token={change}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = b
        .post(
            "/reset",
            &[
                ("token", &old_address_token),
                ("password", "brand new password"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "stale address");
    // A garbage token.
    assert_eq!(b.get("/verify?token=nonsense").await.status, 400);
}

async fn configured_token_lifetimes_and_password_lengths_apply(t: &Target) {
    let f = app(t, |s| {
        s.accounts.reset_token_lifetime = Duration::from_secs(1);
        s.accounts.verify_token_lifetime = Duration::from_secs(1);
        s.accounts.password_min_length = 12;
        s.accounts.password_max_length = 20;
    })
    .await;
    assert_eq!(
        f.accounts.token_lifetime(TokenPurpose::RESET),
        Duration::from_secs(1)
    );
    let b = Browser::new(&f.server).await;
    for (password, reason) in [
        ("eleven char", "at least 12"),
        ("twenty-one characters", "at most 20"),
    ] {
        let r = b
            .post(
                "/signup",
                &[("email", "ivan@example.com"), ("password", password)],
            )
            .await;
        assert_eq!(
            (r.status, r.text.contains(reason)),
            (400, true),
            "{}",
            r.text
        );
    }
    let verify = b.sign_up("ivan@example.com", "twelve chars").await;
    let reset = b
        .post("/forgot", &[("email", "ivan@example.com")])
        .await
        .text;
    // Both links were issued for one second; the clock is read in whole seconds.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(b.get(&format!("/verify?token={verify}")).await.status, 400);
    let r = b
        .post(
            "/reset",
            &[("token", &reset), ("password", "another secret")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

async fn password_reset_ends_every_session(t: &Target) {
    let f = app(t, |_| {}).await;
    let laptop = Browser::new(&f.server).await;
    laptop.sign_up("heidi@example.com", PASSWORD).await;
    laptop.log_in("heidi@example.com", PASSWORD).await;
    assert_eq!(laptop.get("/me").await.text, "heidi@example.com");
    let phone = Browser::new(&f.server).await;
    let token = phone
        .post("/forgot", &[("email", "heidi@example.com")])
        .await
        .text;
    let r = phone
        .post(
            "/reset",
            &[("token", &token), ("password", "brand new password")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        laptop.get("/me").await.status,
        303,
        "the laptop was logged out"
    );
}

async fn password_change_asks_again_and_ends_other_sessions(t: &Target) {
    let f = app(t, |_| {}).await;
    let a = Browser::new(&f.server).await;
    a.sign_up("ivan@example.com", PASSWORD).await;
    a.log_in("ivan@example.com", PASSWORD).await;
    let b = Browser::new(&f.server).await;
    b.log_in("ivan@example.com", PASSWORD).await;
    let r = a
        .post(
            "/password",
            &[("current", "wrong"), ("new", "a new long password")],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("current password"), "{}", r.text);
    let r = a
        .post("/password", &[("current", PASSWORD), ("new", "password")])
        .await;
    assert_eq!(r.status, 400, "the policy applies");
    let r = a
        .post(
            "/password",
            &[("current", PASSWORD), ("new", "a new long password")],
        )
        .await;
    assert_eq!(r.text, "changed");
    assert_eq!(
        a.get("/me").await.text,
        "ivan@example.com",
        "this session stays"
    );
    assert_eq!(b.get("/me").await.status, 303, "the other one ends");
}

async fn log_out_everywhere_keeps_only_this_session(t: &Target) {
    let f = app(t, |_| {}).await;
    let browsers = [
        Browser::new(&f.server).await,
        Browser::new(&f.server).await,
        Browser::new(&f.server).await,
    ];
    browsers[0].sign_up("judy@example.com", PASSWORD).await;
    for b in &browsers {
        assert_eq!(b.log_in("judy@example.com", PASSWORD).await.status, 303);
    }
    let r = browsers[0].post("/everywhere", &[]).await;
    assert_eq!(r.text, "2");
    assert_eq!(browsers[0].get("/me").await.status, 200);
    assert_eq!(browsers[1].get("/me").await.status, 303);
    assert_eq!(browsers[2].get("/me").await.status, 303);
}

async fn next_only_goes_to_paths_on_this_site(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("ken@example.com", PASSWORD).await;
    for (next, expected) in [
        ("/me?tab=1", "/me?tab=1"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\t/evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let r = b
            .post(
                "/auth/login",
                &[
                    ("email", "ken@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{next:?}: {}", r.text);
        assert_eq!(r.header("location"), Some(expected), "{next:?}");
    }
}

async fn sessions_end_at_the_absolute_timeout(t: &Target) {
    let f = app(t, |s| s.sessions.absolute_timeout = Duration::from_secs(1)).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("leo@example.com", PASSWORD).await;
    b.log_in("leo@example.com", PASSWORD).await;
    assert_eq!(b.get("/me").await.status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Activity does not keep it alive past the absolute limit.
    assert_eq!(b.get("/me").await.status, 303);
}

async fn remember_me_makes_a_lasting_cookie(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("mia@example.com", PASSWORD).await;
    let plain = b.log_in("mia@example.com", PASSWORD).await;
    let cookie = session_set_cookie(&plain).unwrap();
    // Without "remember me", the cookie ends with the browser.
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let remembered = b
        .post(
            "/auth/login",
            &[
                ("email", "mia@example.com"),
                ("password", PASSWORD),
                ("remember", "true"),
            ],
        )
        .await;
    let cookie = session_set_cookie(&remembered).unwrap();
    assert!(
        cookie.contains(&format!("Max-Age={}", 30 * 86_400)),
        "{cookie}"
    );
}

async fn an_active_session_outlives_the_idle_timeout(t: &Target) {
    let f = app(t, |s| s.sessions.idle_timeout = Duration::from_secs(2)).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("max@example.com", PASSWORD).await;
    b.log_in("max@example.com", PASSWORD).await;
    // A request every 0.8 s for 3.2 s: the idle timeout counts from the last one.
    for i in 1..=4 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(b.get("/me").await.status, 200, "request {i}");
    }
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(b.get("/me").await.status, 303, "idle too long");
}

async fn a_remembered_session_keeps_its_lasting_cookie(t: &Target) {
    let f = app(t, |s| s.sessions.remember_me = Duration::from_secs(4)).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("noa@example.com", PASSWORD).await;
    let r = b
        .post(
            "/auth/login",
            &[
                ("email", "noa@example.com"),
                ("password", PASSWORD),
                ("remember", "true"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let cookie = session_set_cookie(&r).unwrap();
    assert!(cookie.contains("Max-Age=4"), "{cookie}");
    // Later, while the user is active, the session is saved again: with the same lasting
    // cookie, not the browser-session one the other sessions get.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = b.get("/me").await;
    assert_eq!(r.status, 200);
    let cookie = session_set_cookie(&r).expect("the session is renewed");
    assert!(cookie.contains("Max-Age=4"), "{cookie}");
}

async fn hashes_are_upgraded_at_log_in(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("nina@example.com", PASSWORD).await;
    let stored = |accounts: Accounts| async move {
        torn::with_db!(accounts.db(), pool => {
            sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE email = $1")
                .bind("nina@example.com")
                .fetch_one(pool)
                .await
        })
        .unwrap()
    };
    assert!(stored(f.accounts.clone()).await.contains("m=256,t=1,p=1"));
    let stronger = f
        .accounts
        .clone()
        .with_hasher(Hasher::new(argon2::Params::new(512, 1, 1, None).unwrap()));
    let user = stronger
        .authenticate("nina@example.com", PASSWORD, "127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(user.email, "nina@example.com");
    assert!(stored(f.accounts.clone()).await.contains("m=512,t=1,p=1"));
}

async fn bad_input_is_refused_with_reasons(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    for (email, password, reason) in [
        ("not-an-email", PASSWORD, "email address such as"),
        ("olga@example.com", "short", "at least 8"),
        ("olga@example.com", &"x".repeat(129), "at most 128"),
        ("olga@example.com", "password123", "most common"),
        (
            "olga@example.com",
            "olga@example.com",
            "email address as your password",
        ),
    ] {
        let r = b
            .post("/signup", &[("email", email), ("password", password)])
            .await;
        assert_eq!(r.status, 400, "{email} {password}");
        assert!(r.text.contains(reason), "{}", r.text);
    }
    // Without the XSRF token, nothing happens.
    let r = read(
        b.client
            .post(format!("{}/signup", b.base))
            .form(&[("email", "olga@example.com"), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(
        f.accounts
            .user_by_email("olga@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

async fn expired_sessions_are_deleted_from_the_store(t: &Target) {
    let f = app(t, |s| s.sessions.idle_timeout = Duration::from_secs(1)).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("paul@example.com", PASSWORD).await;
    b.log_in("paul@example.com", PASSWORD).await;
    let count = |accounts: Accounts| async move {
        let sql = match accounts.db().backend() {
            torn::db::Backend::Sqlite => "SELECT COUNT(*) FROM tower_sessions",
            torn::db::Backend::Postgres => "SELECT COUNT(*) FROM tower_sessions.session",
        };
        torn::with_db!(accounts.db(), pool => {
            sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await
        })
        .unwrap()
    };
    assert!(count(f.accounts.clone()).await >= 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(b.get("/me").await.status, 303, "idle too long");
    f.accounts.store().delete_expired().await.unwrap();
    assert_eq!(count(f.accounts.clone()).await, 0);
}

/// Sessions in Redis, and Redis restarts (a deploy, a crash): the sessions it kept are gone, but
/// the app reconnects by itself; it once answered 500 to every request with a session until it
/// was restarted too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_in_redis_come_back_after_redis_restarts() {
    if std::env::var_os("TORN_TEST_REDIS_URL").is_none() {
        common::skipped(
            "a Redis restart under sessions",
            "TORN_TEST_REDIS_URL is not set",
        );
        return;
    }
    let port = common::free_port();
    let redis = common::redis_server(port);
    let db = torn::test::TestDatabase::sqlite();
    let f = app(
        &Target {
            db: db.url().to_string(),
            redis: Some(format!("redis://127.0.0.1:{port}")),
        },
        |_| {},
    )
    .await;
    let b = Browser::new(&f.server).await;
    b.sign_up("ada@example.com", PASSWORD).await;
    assert_eq!(b.log_in("ada@example.com", PASSWORD).await.status, 303);
    assert_eq!(b.get("/me").await.text, "ada@example.com");
    drop(redis);
    let redis = common::redis_server(port);
    // Within a few seconds the app is back: the session it had is gone (this Redis keeps
    // nothing on disk), so the page asks for a log-in, and a new log-in holds.
    let started = std::time::Instant::now();
    loop {
        let r = b.get("/me").await;
        if r.status == 303 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still {} after Redis came back: {}",
            r.status,
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(b.log_in("ada@example.com", PASSWORD).await.status, 303);
    assert_eq!(b.get("/me").await.text, "ada@example.com");
    drop(redis);
}
