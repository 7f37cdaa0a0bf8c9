//! Social log-in over HTTP against a real OpenID Connect server on 127.0.0.1: npm
//! `oauth2-mock-server` (`tests/oauth/mock.mjs`), which the tests tell to misbehave (wrong
//! nonce, issuer, audience, expiry, unsigned tokens, errors, slowness).
//!
//! Needs node and `npm ci --prefix tests/oauth`; without them the cases are reported as skipped,
//! unless `TORN_REQUIRE_OAUTH=1` (set by `.ci/run`), which makes them fail.

mod common;

mod oauth_app;

use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use axum::routing::get;
use oauth_app::*;
use serde_json::json;
use torn::oauth::{Endpoints, ProfileSource, ProviderConfig};
use torn::test::TestServer;
// ---------------------------------------------------------------- cases

async fn first_log_in_makes_an_account(postgres: bool) {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(postgres, vec![oidc_provider(&mock.issuer)], |s, _| s).await else {
        return;
    };
    mock.profile(
        json!({"sub": "u-ada", "email": "Ada@Example.com", "email_verified": true,
        "name": "Ada"}),
    )
    .await;
    let b = Browser::new(&f);
    let start = b.get("/auth/mock/login?next=/me%3Ftab%3D1").await;
    assert_eq!(start.status, 303);
    let to_provider = start.header("location").unwrap().to_string();
    assert!(to_provider.starts_with(&format!("{}/authorize?", mock.issuer)));
    let r = b.through_provider(start).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/me?tab=1")),
        "{}",
        r.text
    );
    // What the provider was asked: the code flow, PKCE S256, state, nonce, our callback.
    let asked = mock.last_authorize().await;
    assert_eq!(asked["response_type"], "code");
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["code_challenge"].as_str().unwrap().len(), 43);
    assert!(asked["state"].as_str().unwrap().len() >= 16);
    assert!(asked["nonce"].as_str().unwrap().len() >= 16);
    assert_eq!(asked["client_id"], "torn-test");
    assert_eq!(
        asked["redirect_uri"],
        format!("{}/auth/mock/callback", b.base)
    );
    assert!(asked["scope"].as_str().unwrap().contains("openid"));
    assert_eq!(b.get("/me").await.text, "ada@example.com");
    let user = f
        .accounts
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(user.is_verified() && !user.has_password());
    let linked = f.social.identities(&user).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].provider, "mock");
    // The next log-in finds the same account, even if the provider's address changed.
    mock.profile(json!({"sub": "u-ada", "email": "ada@elsewhere.example",
        "email_verified": true}))
        .await;
    let other = Browser::new(&f);
    let r = other
        .through_provider(other.get("/auth/mock/login").await)
        .await;
    assert_eq!((r.status, r.header("location")), (303, Some("/")));
    assert_eq!(other.get("/me").await.text, "ada@example.com");
    assert_eq!(f.user_count().await, 1);
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_log_in_makes_an_account_on_sqlite() {
    first_log_in_makes_an_account(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_log_in_makes_an_account_on_postgres() {
    if std::env::var_os("TORN_TEST_POSTGRES_URL").is_none() {
        common::skipped(
            "oauth::first_log_in_makes_an_account_on_postgres",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    }
    first_log_in_makes_an_account(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_cycles_the_session_id() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(false, vec![oidc_provider(&mock.issuer)], |s, _| s).await else {
        return;
    };
    mock.profile(json!({"sub": "u-fix", "email": "fix@example.com", "email_verified": true}))
        .await;
    let b = Browser::new(&f);
    let start = b.get("/auth/mock/login").await;
    let before = start
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("torn_session="))
        .expect("the flow is kept in a session");
    let r = b.through_provider(start).await;
    let after = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("torn_session="))
        .expect("log-in sets a new session cookie");
    let id = |c: &str| c.split(';').next().unwrap().to_string();
    assert_ne!(id(&before), id(&after));
    // The id the visitor had before logging in is dead: it carries no user.
    let fixated = reqwest::Client::new()
        .get(format!("{}/me", b.base))
        .header("cookie", id(&before))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(fixated.status().as_u16(), 401);
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_answers_create_nothing() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(false, vec![oidc_provider(&mock.issuer)], |s, _| s).await else {
        return;
    };
    mock.profile(json!({"sub": "u-bad", "email": "bad@example.com", "email_verified": true}))
        .await;
    let cases = [
        (
            "access_denied",
            400,
            "You cancelled signing in with Mock ID",
        ),
        ("wrong_iss", 400, "did not come from Mock ID"),
        ("nonce", 400, "could not be verified"),
        ("iss", 400, "could not be verified"),
        ("aud", 400, "could not be verified"),
        ("exp", 400, "could not be verified"),
        ("alg_none", 400, "could not be verified"),
        ("no_id_token", 400, "could not be verified"),
        ("token_error", 502, "did not accept the sign-in"),
        ("slow", 502, "could not be reached"),
    ];
    for (what, status, message) in cases {
        mock.once(what).await;
        let b = Browser::new(&f);
        let r = b.through_provider(b.get("/auth/mock/login").await).await;
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert!(r.text.contains(message), "{what}: {}", r.text);
        assert_eq!(f.user_count().await, 0, "{what}");
        assert_eq!(b.get("/me").await.status, 303, "{what}: not logged in");
    }
    // The same provider still works afterwards.
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(f.user_count().await, 1);
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_checked_and_a_callback_works_once() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(false, vec![oidc_provider(&mock.issuer)], |s, _| s).await else {
        return;
    };
    mock.profile(json!({"sub": "u-st", "email": "st@example.com", "email_verified": true}))
        .await;
    // A wrong state.
    let b = Browser::new(&f);
    let callback = b.callback_url("/auth/mock/login").await;
    let (head, state) = callback.split_once("state=").unwrap();
    let forged = format!("{head}state=x{state}");
    let r = b.get(&forged).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("does not match"), "{}", r.text);
    // Without state.
    let b = Browser::new(&f);
    let callback = b.callback_url("/auth/mock/login").await;
    let without: String = callback
        .split('&')
        .filter(|p| !p.starts_with("state="))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(b.get(&without).await.status, 400);
    // A callback is good once: the replay is refused.
    let b = Browser::new(&f);
    let callback = b.callback_url("/auth/mock/login").await;
    assert_eq!(b.get(&callback).await.status, 303);
    let r = b.get(&callback).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("already used"), "{}", r.text);
    // Someone else's callback (log-in CSRF): this browser started no flow.
    let attacker = Browser::new(&f);
    let callback = attacker.callback_url("/auth/mock/login").await;
    let victim = Browser::new(&f);
    let r = victim.get(&callback).await;
    assert_eq!(r.status, 400);
    assert_eq!(victim.get("/me").await.status, 303);
    // An unknown provider.
    assert_eq!(b.get("/auth/nobody/login").await.status, 404);
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_expire() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(false, vec![oidc_provider(&mock.issuer)], |s, _| {
        s.with_flow_lifetime(Duration::ZERO)
    })
    .await
    else {
        return;
    };
    let b = Browser::new(&f);
    let callback = b.callback_url("/auth/mock/login").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = b.get(&callback).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("took too long"), "{}", r.text);
    assert_eq!(f.user_count().await, 0);
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_only_goes_to_paths_on_this_site() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(false, vec![oidc_provider(&mock.issuer)], |s, _| s).await else {
        return;
    };
    for (i, next) in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "%2F%2Fevil",
    ]
    .into_iter()
    .enumerate()
    {
        mock.profile(
            json!({"sub": format!("u-next-{i}"), "email": format!("n{i}@example.com"),
            "email_verified": true}),
        )
        .await;
        let b = Browser::new(&f);
        let r = b
            .through_provider(b.get(&format!("/auth/mock/login?next={next}")).await)
            .await;
        assert_eq!(r.header("location"), Some("/"), "{next}");
    }
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_gets_a_clear_page() {
    if !common::oauth_servers_available() {
        return;
    }
    let closed = common::free_port();
    let Some(f) = app(
        false,
        vec![oidc_provider(&format!("http://127.0.0.1:{closed}"))],
        |s, _| s,
    )
    .await
    else {
        return;
    };
    let b = Browser::new(&f);
    let r = b.get("/auth/mock/login").await;
    assert_eq!(r.status, 502);
    assert!(
        r.text.contains("Mock ID could not be reached"),
        "{}",
        r.text
    );
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_join_existing_accounts_only_when_verified() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(false, vec![oidc_provider(&mock.issuer)], |s, _| s).await else {
        return;
    };
    // Bob has a password account with a confirmed address.
    let torn::auth::SignUp::Created { verify_token, .. } = f
        .accounts
        .sign_up("bob@example.com", PASSWORD)
        .await
        .unwrap()
    else {
        panic!("a new account")
    };
    f.accounts.verify_email(&verify_token).await.unwrap();
    // A provider that does not vouch for the address: nothing is linked or made.
    mock.profile(json!({"sub": "u-bob", "email": "bob@example.com", "email_verified": false}))
        .await;
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 409);
    assert!(
        r.text
            .contains("Log in with your password, then link Mock ID"),
        "{}",
        r.text
    );
    assert_eq!(f.user_count().await, 1);
    // One that does: the provider joins Bob's account, which keeps its password.
    mock.profile(json!({"sub": "u-bob", "email": "bob@example.com", "email_verified": true}))
        .await;
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(b.get("/me").await.text, "bob@example.com");
    let bob = f
        .accounts
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(bob.has_password());
    assert_eq!(f.user_count().await, 1);

    // Someone signed up with Eve's address and never confirmed it (a pre-registered
    // account). When Eve comes with a provider that vouches for it, the unconfirmed password
    // is removed, so whoever chose it cannot log in.
    f.accounts
        .sign_up("eve@example.com", PASSWORD)
        .await
        .unwrap();
    mock.profile(json!({"sub": "u-eve", "email": "eve@example.com", "email_verified": true}))
        .await;
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let eve = f
        .accounts
        .user_by_email("eve@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!eve.has_password() && eve.is_verified());
    assert!(
        f.accounts
            .authenticate("eve@example.com", PASSWORD, "127.0.0.9".parse().unwrap())
            .await
            .is_err()
    );

    // A provider that shares no address cannot make an account.
    mock.profile(json!({"sub": "u-anon"})).await;
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text.contains("did not share an email address"),
        "{}",
        r.text
    );
    assert_eq!(f.user_count().await, 2);
    f.cleanup().await;
}

/// An account with two-factor authentication on is not logged in by its provider alone: the
/// callback leads to the code, with `next`, and the session is logged in only after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_log_in_asks_for_the_second_factor() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(false, vec![oidc_provider(&mock.issuer)], |s, _| s).await else {
        return;
    };
    let torn::auth::SignUp::Created { verify_token, .. } = f
        .accounts
        .sign_up("bob@example.com", PASSWORD)
        .await
        .unwrap()
    else {
        panic!("a new account")
    };
    let bob = f.accounts.verify_email(&verify_token).await.unwrap();
    let session = torn::Session::new(
        None,
        std::sync::Arc::new(torn::session::Store::for_db(f.accounts.db())),
        None,
    );
    let setup = f
        .accounts
        .start_two_factor(&session, &bob, Some(PASSWORD), "torn tests")
        .await
        .unwrap();
    assert!(
        setup
            .url
            .starts_with("otpauth://totp/torn%20tests:bob%40example.com?"),
        "{}",
        setup.url
    );
    let now = torn::signing::unix_now();
    let codes = f
        .accounts
        .confirm_two_factor(&session, &bob, &torn::test::totp_code(&setup.secret, now))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);

    mock.profile(json!({"sub": "u-bob", "email": "bob@example.com", "email_verified": true}))
        .await;
    let b = Browser::new(&f);
    let r = b
        .through_provider(b.get("/auth/mock/login?next=%2Faccount").await)
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some("/auth/login/code?next=%2Faccount")
    );
    assert_eq!(
        b.get("/me").await.status,
        303,
        "not logged in before the code"
    );
    let enter = |code: String| {
        let b = &b;
        async move {
            let xsrf = b.get("/token").await.text;
            let form = [("_xsrf", xsrf.as_str()), ("code", code.as_str())];
            let request = b
                .client
                .post(format!("{}/auth/login/code", b.base))
                .form(&form);
            oauth_app::read(request).await
        }
    };
    let code = torn::test::totp_code(&setup.secret, now + 30);
    let wrong: String = code
        .bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect();
    let refused = enter(wrong).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let right = enter(code).await;
    assert_eq!(right.status, 200, "{}", right.text);
    assert_eq!(b.get("/me").await.text, "bob@example.com");
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_and_unlink_from_the_account() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(
        false,
        vec![
            oidc_provider(&mock.issuer),
            plain_oauth2_provider(&mock.issuer),
        ],
        |s, _| s,
    )
    .await
    else {
        return;
    };
    // Carol has a password account with a confirmed address.
    let torn::auth::SignUp::Created {
        user: carol,
        verify_token,
    } = f
        .accounts
        .sign_up("carol@example.com", PASSWORD)
        .await
        .unwrap()
    else {
        panic!("a new account")
    };
    f.accounts.verify_email(&verify_token).await.unwrap();
    let b = Browser::new(&f);
    // Linking needs the XSRF token.
    assert_eq!(b.post("/auth/mock/link", false).await.status, 403);
    // …and needs a logged-in user: this browser is not.
    let r = b.post("/auth/mock/link", true).await;
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().starts_with("/auth/login"));
    // Log Carol in through the plain OAuth 2.0 provider (userinfo endpoint), which vouches for
    // her address, then link the OpenID Connect one from her account.
    mock.profile(json!({"sub": "u-carol-plain", "email": "carol@example.com",
        "email_verified": true}))
        .await;
    let r = b.through_provider(b.get("/auth/plain/login").await).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(b.get("/me").await.text, "carol@example.com");
    mock.profile(json!({"sub": "u-carol-oidc", "email": "carol@work.example",
        "email_verified": true}))
        .await;
    // She logged in through a provider, not with her password: linking another one, a way
    // in that outlives a password change, asks for it (sudo mode); without it, or with a wrong
    // one, the browser goes back to the account page, not to the provider.
    for password in [None, Some("not her password")] {
        let fields: Vec<(&str, &str)> = password
            .map(|p| vec![("current_password", p)])
            .unwrap_or_default();
        let r = b.post_fields("/auth/mock/link", &fields).await;
        assert_eq!((r.status, r.header("location")), (303, Some("/account")));
        assert_eq!(f.social.identities(&carol).await.unwrap().len(), 1);
    }
    let r = b
        .through_provider(
            b.post_fields("/auth/mock/link", &[("current_password", PASSWORD)])
                .await,
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/account")),
        "{}",
        r.text
    );
    assert!(
        b.get("/account")
            .await
            .text
            .contains("Mock ID is linked to your account.")
    );
    let linked = f.social.identities(&carol).await.unwrap();
    assert_eq!(
        linked
            .iter()
            .map(|i| i.provider.as_str())
            .collect::<Vec<_>>(),
        ["mock", "plain"]
    );
    // Dan cannot link Carol's provider account to his.
    mock.profile(json!({"sub": "u-dan", "email": "dan@example.com", "email_verified": true}))
        .await;
    let dan = Browser::new(&f);
    dan.through_provider(dan.get("/auth/plain/login").await)
        .await;
    mock.profile(json!({"sub": "u-carol-oidc", "email": "carol@work.example",
        "email_verified": true}))
        .await;
    let r = dan
        .through_provider(dan.post("/auth/mock/link", true).await)
        .await;
    assert_eq!(r.status, 409);
    assert!(
        r.text.contains("already linked to another account"),
        "{}",
        r.text
    );
    // Unlinking: fine while another way in remains; the last one stays.
    assert_eq!(b.post("/auth/mock/unlink", false).await.status, 403);
    // The password was given for the link: inside the sudo window, unlinking does not ask.
    let r = b.post("/auth/mock/unlink", true).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/account")));
    assert_eq!(f.social.identities(&carol).await.unwrap().len(), 1);
    let r = b.post("/auth/mock/unlink", true).await;
    assert_eq!(r.status, 400, "not linked any more");
    let r = b.post("/auth/plain/unlink", true).await;
    assert_eq!(r.status, 303, "Carol still has her password: {}", r.text);
    let r = dan.post("/auth/plain/unlink", true).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("the only way to log in"), "{}", r.text);
    f.cleanup().await;
}

/// The strict server: exact redirect URI, PKCE required, log-in and consent pages, `iss` in
/// the answer, the address only at the userinfo endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_provider_with_login_and_consent_pages() {
    if !common::oauth_servers_available() {
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let strict = common::StrictOidc::start(&format!("{base}/auth/strict/callback"));
    let mut provider = oidc_provider(&strict.issuer);
    provider.name = "strict".into();
    provider.label = "Strict ID".into();
    let Some(f) = app_on(listener, false, vec![provider], |s, _| s).await else {
        return;
    };
    let b = Browser::new(&f);
    let start = b.get("/auth/strict/login?next=/me").await;
    assert_eq!(start.status, 303, "{}", start.text);
    let callback = b
        .through_pages(start.header("location").unwrap().to_string(), "ada")
        .await;
    assert!(
        callback.contains(&format!(
            "iss={}",
            strict.issuer.replace(':', "%3A").replace('/', "%2F")
        )) || callback.contains(&format!("iss={}", strict.issuer)),
        "RFC 9207: {callback}"
    );
    // This provider says it sends `iss`: an answer without it is refused.
    let without_iss: String = callback
        .split(['?', '&'])
        .enumerate()
        .filter(|(_, p)| !p.starts_with("iss="))
        .map(|(i, p)| {
            if i == 0 {
                p.to_string()
            } else {
                format!("&{p}")
            }
        })
        .collect::<String>()
        .replacen('&', "?", 1);
    let r = b.get(&without_iss).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("did not come from Strict ID"), "{}", r.text);
    assert_eq!(f.user_count().await, 0);
    // The whole flow again, untouched.
    let start = b.get("/auth/strict/login?next=/me").await;
    let callback = b
        .through_pages(start.header("location").unwrap().to_string(), "ada")
        .await;
    let r = b.get(&callback).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/me")),
        "{}",
        r.text
    );
    assert_eq!(b.get("/me").await.text, "ada@example.com");
    let ada = f
        .accounts
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        ada.is_verified(),
        "the userinfo endpoint vouched for the address"
    );
    // The code was spent: replaying the callback is refused.
    assert_eq!(b.get(&callback).await.status, 400);
    f.cleanup().await;
}

/// GitHub's API, as far as torn reads it. It records the bearer token it was given, refuses
/// requests without one, and answers 500 while `broken` is set.
async fn fake_github(
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    broken: Arc<std::sync::atomic::AtomicBool>,
) -> TestServer {
    use axum::http::{HeaderMap, StatusCode};
    let check = move |headers: &HeaderMap| -> Result<(), StatusCode> {
        if broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StatusCode::INTERNAL_SERVER_ERROR);
        }
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| !t.is_empty())
            .ok_or(StatusCode::UNAUTHORIZED)?;
        seen.lock().unwrap().push(token.to_string());
        Ok(())
    };
    let user = {
        let check = check.clone();
        move |headers: HeaderMap| async move {
            if let Err(status) = check(&headers) {
                return (status, "{}").into_response();
            }
            axum::Json(json!({"login": "octocat", "id": 583231, "name": null, "email": null}))
                .into_response()
        }
    };
    let emails = move |headers: HeaderMap| async move {
        if let Err(status) = check(&headers) {
            return (status, "{}").into_response();
        }
        axum::Json(json!([
            {"email": "octocat@users.noreply.github.com", "primary": false, "verified": true},
            {"email": "Octo@Example.com", "primary": true, "verified": true}
        ]))
        .into_response()
    };
    let router = axum::Router::new()
        .route("/user", get(user))
        .route("/user/emails", get(emails));
    TestServer::start_router(router).await
}

/// The GitHub mapping end to end: the code exchange at a token endpoint, then `/user` and
/// `/user/emails` read with the access token it gave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_profiles_are_read_from_its_api() {
    let Some(mock) = mock_or_skip() else { return };
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let api = fake_github(seen.clone(), broken.clone()).await;
    let github = ProviderConfig {
        name: "github".into(),
        label: "GitHub".into(),
        profile: ProfileSource::GitHub,
        endpoints: Endpoints::Fixed {
            auth_url: format!("{}/authorize", mock.issuer),
            token_url: format!("{}/token", mock.issuer),
            profile_url: api.url(""),
            issuer: "https://github.com".into(),
        },
        ..plain_oauth2_provider(&mock.issuer)
    };
    let Some(f) = app(false, vec![github], |s, _| s).await else {
        return;
    };
    // The API failing: a clear page, nothing made.
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/github/login").await).await;
    assert_eq!(r.status, 502);
    assert!(
        r.text
            .contains("GitHub did not send a usable profile (HTTP 500)"),
        "{}",
        r.text
    );
    assert_eq!(f.user_count().await, 0);
    // Working: the numeric id is the subject, the primary verified address the email.
    broken.store(false, std::sync::atomic::Ordering::SeqCst);
    let b = Browser::new(&f);
    let r = b
        .through_provider(b.get("/auth/github/login?next=/me").await)
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/me")),
        "{}",
        r.text
    );
    assert_eq!(b.get("/me").await.text, "octo@example.com");
    let tokens = seen.lock().unwrap().clone();
    assert_eq!(tokens.len(), 2, "/user and /user/emails");
    assert_eq!(tokens[0], tokens[1]);
    let subject: String = torn::with_db!(f.accounts.db(), pool => {
        sqlx::query_scalar("SELECT subject FROM user_identities WHERE issuer = $1")
            .bind("https://github.com")
            .fetch_one(pool)
            .await
    })
    .unwrap();
    assert_eq!(subject, "583231");
    f.cleanup().await;
}

/// A userinfo answer without a subject is refused with a clear page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_profiles_are_refused() {
    let Some(mock) = mock_or_skip() else { return };
    let Some(f) = app(false, vec![plain_oauth2_provider(&mock.issuer)], |s, _| s).await else {
        return;
    };
    mock.profile(json!({"email": "nosub@example.com", "email_verified": true}))
        .await;
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/plain/login").await).await;
    assert_eq!(r.status, 502, "{}", r.text);
    assert!(
        r.text.contains("Plain OAuth did not send a usable profile"),
        "{}",
        r.text
    );
    assert_eq!(f.user_count().await, 0);
    f.cleanup().await;
}
