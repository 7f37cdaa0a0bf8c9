//! Attacks on passkeys through the account service, on SQLite and on PostgreSQL, with a
//! software authenticator (`torn::test::SoftPasskey`) in the browser's place: an answer made
//! for another origin, a credential another account registered first, a ceremony begun in
//! another session or for another account, and the limit of passkeys per account.

mod accounts_app;
mod common;

use accounts_app::*;
use torn::AuthError;
use torn::test::SoftPasskey;

on_both!(
    a_passkey_answers_for_its_own_origin_only,
    a_credential_belongs_to_the_account_that_registered_it_first,
);

/// The app's address: passkeys belong to its name.
const ORIGIN: &str = "http://localhost:8888";

async fn passkey_app(t: &Target) -> Fixture {
    app(t, |s| s.server.base_url = ORIGIN.to_string()).await
}

/// A confirmed account.
async fn confirmed(f: &Fixture, email: &str) -> torn::User {
    let b = Browser::new(&f.server).await;
    let token = b.sign_up(email, PASSWORD).await;
    f.accounts.verify_email(&token).await.unwrap()
}

/// `key` added to `user`'s account, answering from `origin`.
async fn register(
    f: &Fixture,
    user: &torn::User,
    key: &mut SoftPasskey,
    origin: &str,
) -> Result<torn::auth::Passkey, AuthError> {
    let session = bare_session(f);
    let options = f
        .accounts
        .start_passkey_registration(&session, user, Some(PASSWORD), "key")
        .await?;
    let answer = key.register(&options, origin).to_string();
    f.accounts
        .finish_passkey_registration(&session, user, &answer)
        .await
}

/// A log-in whose answer comes from `origin`: the account, or why not.
async fn log_in(f: &Fixture, key: &mut SoftPasskey, origin: &str) -> Result<i64, AuthError> {
    let session = bare_session(f);
    let options = f.accounts.start_passkey_log_in(&session).await?;
    let answer = key.sign(&options, origin).to_string();
    let user = f
        .accounts
        .log_in_with_passkey(&session, &answer, false)
        .await?;
    Ok(user.id)
}

/// A look-alike site that relays the ceremony gets an answer signed for its own origin, which
/// the app refuses: at registration and at log-in, whatever the scheme, host or port.
async fn a_passkey_answers_for_its_own_origin_only(t: &Target) {
    let f = passkey_app(t).await;
    let kim = confirmed(&f, "kim@example.com").await;
    for elsewhere in [
        "https://localhost:8888",
        "http://localhost:8889",
        "http://localhost.evil.example:8888",
    ] {
        let refused = register(&f, &kim, &mut SoftPasskey::new(), elsewhere).await;
        assert!(
            matches!(refused, Err(AuthError::PasskeyRefused)),
            "{elsewhere}: {refused:?}"
        );
    }
    assert!(f.accounts.passkeys(&kim).await.unwrap().is_empty());
    let mut key = SoftPasskey::new();
    register(&f, &kim, &mut key, ORIGIN).await.unwrap();
    for elsewhere in ["https://localhost:8888", "http://127.0.0.1:8888"] {
        let refused = log_in(&f, &mut key, elsewhere).await;
        assert!(
            matches!(refused, Err(AuthError::PasskeyRefused)),
            "{elsewhere}: {refused:?}"
        );
    }
    assert_eq!(log_in(&f, &mut key, ORIGIN).await.unwrap(), kim.id);
    // An answer with nothing waiting for it: refused, before it is read.
    let session = bare_session(&f);
    let stray = key.sign(
        &serde_json::json!({"challenge": "AAAA", "rpId": "localhost"}),
        ORIGIN,
    );
    let refused = f
        .accounts
        .log_in_with_passkey(&session, &stray.to_string(), false)
        .await;
    assert!(
        matches!(refused, Err(AuthError::PasskeyExpired)),
        "{refused:?}"
    );
}

/// A credential registered by one account cannot be registered by another (it stays the
/// first one's); a registration begun for one account cannot be finished by another; and an
/// account stops at its limit.
async fn a_credential_belongs_to_the_account_that_registered_it_first(t: &Target) {
    let f = passkey_app(t).await;
    let kim = confirmed(&f, "kim@example.com").await;
    let eve = confirmed(&f, "eve@example.com").await;
    let mut key = SoftPasskey::new();
    register(&f, &kim, &mut key, ORIGIN).await.unwrap();
    let mut copy = key.clone();
    let refused = register(&f, &eve, &mut copy, ORIGIN).await;
    assert!(
        matches!(refused, Err(AuthError::PasskeyRefused)),
        "{refused:?}"
    );
    assert!(f.accounts.passkeys(&eve).await.unwrap().is_empty());
    assert_eq!(log_in(&f, &mut key, ORIGIN).await.unwrap(), kim.id);

    // Kim's ceremony, finished as Eve in the same session: nothing waits for Eve.
    let session = bare_session(&f);
    let options = f
        .accounts
        .start_passkey_registration(&session, &kim, Some(PASSWORD), "key")
        .await
        .unwrap();
    let answer = SoftPasskey::new().register(&options, ORIGIN).to_string();
    let refused = f
        .accounts
        .finish_passkey_registration(&session, &eve, &answer)
        .await;
    assert!(
        matches!(refused, Err(AuthError::PasskeyExpired)),
        "{refused:?}"
    );

    // The limit, counted again when registrations finish at once.
    let sessions: Vec<_> = (0..torn::auth::MAX_PASSKEYS + 2)
        .map(|_| bare_session(&f))
        .collect();
    let mut answers = Vec::new();
    for session in &sessions {
        let started = f
            .accounts
            .start_passkey_registration(session, &eve, Some(PASSWORD), "key")
            .await;
        let Ok(options) = started else { break };
        answers.push((
            session,
            SoftPasskey::new().register(&options, ORIGIN).to_string(),
        ));
    }
    for (session, answer) in &answers {
        let _ = f
            .accounts
            .finish_passkey_registration(session, &eve, answer)
            .await;
    }
    let count = f.accounts.passkeys(&eve).await.unwrap().len();
    assert_eq!(count, usize::try_from(torn::auth::MAX_PASSKEYS).unwrap());
}
