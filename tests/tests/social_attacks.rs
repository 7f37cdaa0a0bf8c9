//! Pre-account takeover through social log-in, on SQLite and on PostgreSQL: an attacker who
//! signs up first with the victim's address, or comes with a provider that did not verify it,
//! must keep no way into the account once the victim proves the address is theirs. Each case
//! is a reproduction that worked against an earlier torn.
//!
//! Needs node and `npm ci --prefix tests/oauth` (the provider is npm `oauth2-mock-server`).

mod common;
mod oauth_app;

use oauth_app::*;
use serde_json::json;

/// Run a case on SQLite, and on PostgreSQL when `TORN_TEST_POSTGRES_URL` is set.
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(false).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if std::env::var_os("TORN_TEST_POSTGRES_URL").is_none() {
                        crate::common::skipped(
                            concat!("social_attacks::postgres::", stringify!($name)),
                            "TORN_TEST_POSTGRES_URL is not set",
                        );
                        return;
                    }
                    super::$name(true).await;
                }
            )+
        }
    };
}

on_both!(
    an_unconfirmed_account_cannot_link_a_provider,
    a_reset_removes_providers_linked_before_the_address_was_confirmed,
    no_account_is_made_for_an_address_the_provider_did_not_verify,
    a_verified_provider_takes_over_an_unconfirmed_account_alone,
    two_unlinks_at_once_leave_a_way_in,
);

const ATTACKER_PASSWORD: &str = "the attacker's password";

/// The attacker's own provider account.
fn attacker_profile() -> serde_json::Value {
    json!({"sub": "u-attacker", "email": "attacker@evil.example", "email_verified": true})
}

async fn fixture(postgres: bool) -> Option<(common::OidcMock, Fixture)> {
    let mock = mock_or_skip()?;
    let f = app(postgres, vec![oidc_provider(&mock.issuer)], |s, _| s).await?;
    Some((mock, f))
}

/// The attacker signs up with the victim's address (never confirmed) and logs in: a browser
/// logged in to the victim's future account.
async fn pre_register(f: &Fixture) -> (Browser, torn::User) {
    let torn::auth::SignUp::Created { user, .. } = f
        .accounts
        .sign_up("victim@example.com", ATTACKER_PASSWORD)
        .await
        .unwrap()
    else {
        panic!("a new account")
    };
    let attacker = Browser::new(f);
    let r = attacker
        .log_in("victim@example.com", ATTACKER_PASSWORD)
        .await;
    assert_eq!(r.text, "logged in");
    (attacker, user)
}

/// The attacker's provider account, linked to `user` as an earlier torn let an account with an
/// unconfirmed address link one: made by a log-in through the provider, then moved.
async fn legacy_link(mock: &common::OidcMock, f: &Fixture, user: &torn::User) {
    mock.profile(attacker_profile()).await;
    let b = Browser::new(f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 303, "{}", r.text);
    torn::with_db!(f.accounts.db(), pool => {
        sqlx::query("UPDATE user_identities SET user_id = $1 WHERE subject = 'u-attacker'")
            .bind(user.id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
    .unwrap();
}

/// The victim asks for a reset and follows the link in the mail (the account's owner proving
/// the address).
async fn victim_resets_the_password(f: &Fixture) -> torn::User {
    let (_, token) = f
        .accounts
        .request_reset("victim@example.com")
        .await
        .unwrap()
        .unwrap();
    f.accounts
        .reset_password(&token, "the victim's own password")
        .await
        .unwrap()
}

/// Where the attacker's provider log-in lands now.
async fn attacker_logs_in_with_the_provider(mock: &common::OidcMock, f: &Fixture) -> String {
    mock.profile(attacker_profile()).await;
    let b = Browser::new(f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 303, "{}", r.text);
    b.get("/me").await.text
}

/// Linking a provider once worked from an account whose address was never confirmed, and the
/// link outlived the victim's reset.
async fn an_unconfirmed_account_cannot_link_a_provider(postgres: bool) {
    let Some((mock, f)) = fixture(postgres).await else {
        return;
    };
    let (attacker, victim) = pre_register(&f).await;
    mock.profile(attacker_profile()).await;
    let r = attacker.post("/auth/mock/link", true).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.text.contains("Confirm your email address first"),
        "{}",
        r.text
    );
    assert!(f.social.identities(&victim).await.unwrap().is_empty());

    // The victim resets the password from the mail: the account is theirs alone.
    victim_resets_the_password(&f).await;
    assert_eq!(
        attacker.get("/me").await.status,
        303,
        "the attacker's session ended"
    );
    assert_eq!(
        attacker_logs_in_with_the_provider(&mock, &f).await,
        "attacker@evil.example"
    );
    f.cleanup().await;
}

/// A provider linked while the address was unconfirmed (by an earlier torn) once stayed linked
/// after the victim confirmed the address with a reset.
async fn a_reset_removes_providers_linked_before_the_address_was_confirmed(postgres: bool) {
    let Some((mock, f)) = fixture(postgres).await else {
        return;
    };
    let (attacker, victim) = pre_register(&f).await;
    legacy_link(&mock, &f, &victim).await;
    assert_eq!(
        attacker_logs_in_with_the_provider(&mock, &f).await,
        "victim@example.com",
        "the set-up: the attacker's provider leads into the unconfirmed account"
    );
    let user = victim_resets_the_password(&f).await;
    assert!(user.is_verified());
    assert!(f.social.identities(&user).await.unwrap().is_empty());
    assert_eq!(attacker.get("/me").await.status, 303);
    assert_ne!(
        attacker_logs_in_with_the_provider(&mock, &f).await,
        "victim@example.com",
        "after the reset the attacker's provider leads elsewhere"
    );
    f.cleanup().await;
}

/// A provider that did not verify the address once made an account holding it: the victim's
/// sign-up then only heard "already registered".
async fn no_account_is_made_for_an_address_the_provider_did_not_verify(postgres: bool) {
    let Some((mock, f)) = fixture(postgres).await else {
        return;
    };
    mock.profile(json!({"sub": "u-attacker", "email": "victim@example.com",
        "email_verified": false}))
        .await;
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text
            .contains("Mock ID has not confirmed your email address"),
        "{}",
        r.text
    );
    assert_eq!(f.user_count().await, 0);
    assert!(matches!(
        f.accounts
            .sign_up("victim@example.com", "the victim's own password")
            .await
            .unwrap(),
        torn::auth::SignUp::Created { .. }
    ));
    f.cleanup().await;
}

/// When a provider that verified the address joins an unconfirmed account, the password and
/// sessions of whoever set it up went, but their linked providers stayed.
async fn a_verified_provider_takes_over_an_unconfirmed_account_alone(postgres: bool) {
    let Some((mock, f)) = fixture(postgres).await else {
        return;
    };
    let (attacker, victim) = pre_register(&f).await;
    legacy_link(&mock, &f, &victim).await;
    mock.profile(json!({"sub": "u-victim", "email": "victim@example.com",
        "email_verified": true}))
        .await;
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(b.get("/me").await.text, "victim@example.com");
    let linked = f.social.identities(&victim).await.unwrap();
    assert_eq!(linked.len(), 1, "only the victim's provider: {linked:?}");
    assert_eq!(
        attacker.get("/me").await.status,
        303,
        "the attacker's session ended"
    );
    assert_eq!(
        attacker
            .log_in("victim@example.com", ATTACKER_PASSWORD)
            .await
            .status,
        400,
        "the attacker's password is gone"
    );
    assert_ne!(
        attacker_logs_in_with_the_provider(&mock, &f).await,
        "victim@example.com"
    );
    f.cleanup().await;
}

/// Unlinking checked "is another way in left?" and deleted in separate statements: two unlinks
/// sent at once could each see the other provider and leave an account with no provider and
/// no password.
async fn two_unlinks_at_once_leave_a_way_in(postgres: bool) {
    let Some(mock) = mock_or_skip() else { return };
    let providers = vec![
        oidc_provider(&mock.issuer),
        plain_oauth2_provider(&mock.issuer),
    ];
    let Some(f) = app(postgres, providers, |s, _| s).await else {
        return;
    };
    mock.profile(json!({"sub": "u-olga", "email": "olga@example.com", "email_verified": true}))
        .await;
    let b = Browser::new(&f);
    let r = b.through_provider(b.get("/auth/mock/login").await).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let olga = f
        .accounts
        .user_by_email("olga@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!olga.has_password());
    let mock_issuer: String = torn::with_db!(f.accounts.db(), pool => {
        sqlx::query_scalar("SELECT issuer FROM user_identities WHERE subject = 'u-olga'")
            .fetch_one(pool)
            .await
    })
    .unwrap();
    for round in 0..20 {
        // Both providers linked, as through "link" on the account page.
        for (issuer, subject, provider) in [
            (mock_issuer.as_str(), "u-olga", "mock"),
            ("http://plain.example", "u-olga-plain", "plain"),
        ] {
            torn::with_db!(f.accounts.db(), pool => {
                sqlx::query(
                    "INSERT INTO user_identities (issuer, subject, provider, user_id, email, \
                     created_at) VALUES ($1, $2, $3, $4, NULL, 0) ON CONFLICT DO NOTHING",
                )
                .bind(issuer)
                .bind(subject)
                .bind(provider)
                .bind(olga.id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
            })
            .unwrap();
        }
        let (first, second) = tokio::join!(
            b.post("/auth/mock/unlink", true),
            b.post("/auth/plain/unlink", true)
        );
        let statuses = [first.status, second.status];
        let left = f.social.identities(&olga).await.unwrap();
        assert_eq!(left.len(), 1, "round {round}: {statuses:?} left {left:?}");
        assert!(
            statuses.contains(&303) && statuses.contains(&400),
            "round {round}: one unlink goes through, the other is refused: {statuses:?}"
        );
    }
    f.cleanup().await;
}
