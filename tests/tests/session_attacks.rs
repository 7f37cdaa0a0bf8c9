//! Attacks on sessions, on SQLite and on PostgreSQL: each case is a reproduction that succeeded
//! against an earlier torn, and now fails.

mod accounts_app;
mod common;

use std::sync::Arc;

use accounts_app::*;
use torn::session::Session;

on_both!(
    a_log_in_racing_a_reset_does_not_survive_it,
    a_logged_in_browser_gets_no_store_on_every_page,
    a_log_out_racing_a_request_that_saves_the_session_does_not_undo_it,
);

/// A log-out deletes the session's record and its log-in row; a request of the same browser
/// that was under way (it had loaded the session, and saves it because it changed something)
/// writes the record back afterwards. That record once logged the browser in again, whoever
/// held its cookie. Here the race's outcome is made directly: the log-in row gone, the record
/// still there.
async fn a_log_out_racing_a_request_that_saves_the_session_does_not_undo_it(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("ray@example.com", PASSWORD).await;
    assert_eq!(b.log_in("ray@example.com", PASSWORD).await.status, 303);
    assert_eq!(b.get("/me").await.text, "ray@example.com");
    common::execute(f.accounts.db(), "DELETE FROM user_sessions").await;
    let r = b.get("/maybe").await;
    assert_eq!(r.text, "anonymous", "the record without its log-in row");
    assert_ne!(b.get("/me").await.status, 200);
}

/// A reset ends every session of the account, but a log-in whose password was checked just
/// before (the attacker's, with the old password) and that finished just after made a session
/// the reset never saw, and it lived on.
async fn a_log_in_racing_a_reset_does_not_survive_it(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("pia@example.com", PASSWORD).await;
    // The attacker's log-in checks the old password…
    let attacker = f
        .accounts
        .authenticate("pia@example.com", PASSWORD, "127.0.0.3".parse().unwrap())
        .await
        .unwrap();
    // …the owner resets it meanwhile, which ends every session there is…
    let (_, token) = f
        .accounts
        .request_reset("pia@example.com")
        .await
        .unwrap()
        .unwrap();
    f.accounts
        .reset_password(&token, "the owner's new password")
        .await
        .unwrap();
    // …and the attacker's log-in makes its session after that.
    let session = Session::new(None, Arc::new(f.accounts.store().clone()), None);
    f.accounts.log_in(&session, &attacker, false).await.unwrap();
    assert!(
        f.accounts.current_user(&session).await.unwrap().is_none(),
        "a session from before the reset"
    );
    // The owner's log-in after the reset works, and so does a password change that keeps the
    // session it is made from.
    assert_eq!(
        b.log_in("pia@example.com", "the owner's new password")
            .await
            .status,
        303
    );
    assert_eq!(b.get("/me").await.text, "pia@example.com");
    let r = b
        .post(
            "/password",
            &[
                ("current", "the owner's new password"),
                ("new", "yet another password"),
            ],
        )
        .await;
    assert_eq!(r.text, "changed");
    assert_eq!(b.get("/me").await.text, "pia@example.com");
}

/// `Cache-Control: no-store` came only with pages that looked the user up: any other page a
/// logged-in browser got (one that shows what it was sent, say) could be kept by a cache.
async fn a_logged_in_browser_gets_no_store_on_every_page(t: &Target) {
    let f = app(t, |_| {}).await;
    let b = Browser::new(&f.server).await;
    b.sign_up("quinn@example.com", PASSWORD).await;
    b.log_in("quinn@example.com", PASSWORD).await;
    // /client looks no user up.
    let r = b.get("/client").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
}
