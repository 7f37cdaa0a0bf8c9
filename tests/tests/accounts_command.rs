//! `<app> accounts …`, the operator's command, run as the starter's binary against a database
//! of its own: an account shown, its two-factor log-in turned off for an owner who lost it (its
//! sessions end with it), and bad input refused with the usage and exit code 2.

mod common;

use std::sync::Arc;

use torn::db::Db;
use torn::test::TestDatabase;
use torn::{Accounts, Settings};

const PASSWORD: &str = "correct horse battery staple";

/// Run the starter's `accounts` command against `database`: exit code, stdout, stderr.
fn accounts_command(database: &TestDatabase, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(common::workspace_bin("starter", "starter"))
        .arg("accounts")
        .args(args)
        .current_dir(common::workspace_root().join("starter"))
        .env("TORN_ENV", "test")
        .env("DATABASE_URL", database.url())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A session of its own, outside any request, for the account service's calls.
fn bare_session(accounts: &Accounts) -> torn::Session {
    torn::Session::new(
        None,
        Arc::new(torn::session::Store::for_db(accounts.db())),
        None,
    )
}

#[tokio::test]
async fn an_operator_turns_off_the_two_factor_log_in_of_an_owner_who_lost_it() {
    let database = TestDatabase::sqlite();
    let db = Db::connect(database.url()).await.unwrap();
    let migrations = common::workspace_root().join("templates/app/migrations");
    db.migrate(&Db::migrator_from(&migrations).await.unwrap())
        .await
        .unwrap();
    let settings = Arc::new(Settings::for_test(common::workspace_root().join("starter")));
    let accounts = Accounts::new(db.clone(), settings).await.unwrap();
    let torn::auth::SignUp::Created { verify_token, .. } =
        accounts.sign_up("ada@example.com", PASSWORD).await.unwrap()
    else {
        panic!("a new account");
    };
    let ada = accounts.verify_email(&verify_token).await.unwrap();
    let session = bare_session(&accounts);
    let setup = accounts
        .start_two_factor(&session, &ada, Some(PASSWORD), "starter")
        .await
        .unwrap();
    let code = torn::test::totp_code(&setup.secret, torn::signing::unix_now());
    accounts
        .confirm_two_factor(&session, &ada, &code)
        .await
        .unwrap();
    assert!(accounts.two_factor(&ada).await.unwrap().on);

    let (code, out, err) = accounts_command(&database, &["show", "ada@example.com"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("account      ada@example.com"), "{out}");
    assert!(
        out.contains("two-factor   on (10 recovery codes left)"),
        "{out}"
    );
    assert!(out.contains("confirmed    yes"), "{out}");

    // Typed as people type it: the address is normalized.
    let (code, out, err) = accounts_command(&database, &["two-factor-off", " Ada@Example.com"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("two-factor authentication is off for ada@example.com"),
        "{out}"
    );
    assert!(!accounts.two_factor(&ada).await.unwrap().on);
    // A log-in asks for no code now.
    let fresh = bare_session(&accounts);
    let step = accounts.log_in(&fresh, &ada, false).await.unwrap();
    assert_eq!(step, torn::auth::LogIn::Done);
    let (code, out, _) = accounts_command(&database, &["two-factor-off", "ada@example.com"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("off already"), "{out}");

    // Bad input: a clear message, exit code 1 for an unknown account, 2 for usage.
    let (code, _, err) = accounts_command(&database, &["show", "nobody@example.com"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no account has the address"), "{err}");
    for args in [&[][..], &["show"][..], &["delete", "ada@example.com"][..]] {
        let (code, _, err) = accounts_command(&database, args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("usage: <app> accounts"), "{args:?}: {err}");
    }
    db.close().await;
}
