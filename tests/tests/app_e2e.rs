//! The generated app's account pages end to end, as a browser would use them (a cookie jar, XSRF
//! tokens read from the rendered forms), with mail sent through a real SMTP server (aiosmtpd)
//! and the links read out of the received messages; on SQLite, and on PostgreSQL when
//! `TORN_TEST_POSTGRES_URL` is set. The app is the starter's binary.

mod common;

use common::Browser;

async fn run_flows(database_url: &str) {
    let smtp = common::SmtpServer::start();
    let (_app, base) = common::start_starter(&[
        ("DATABASE_URL", database_url.to_string()),
        ("TORN_SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port)),
        (
            "TORN_MAIL_FROM",
            "Starter <noreply@example.com>".to_string(),
        ),
    ]);
    let b = Browser::new(&base);
    let password = "correct horse battery staple";

    // Sign up; the verification link arrives by mail.
    let r = b
        .submit(
            "/auth/signup",
            "/auth/signup",
            &[("email", "ada@example.com"), ("password", password)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/auth/check-email"));
    let verify = common::mail_link(&smtp, 1, "ada@example.com", "/auth/verify");
    // The link confirms the address for the account logged in: first the log-in, then back.
    let r = b.get(&verify).await;
    assert_eq!(r.status, 303);
    let login = r.header("location").unwrap().to_string();
    assert!(
        login.starts_with("/auth/login?next=%2Fauth%2Fverify"),
        "{login}"
    );
    let r = b
        .submit(
            &login,
            "/auth/login",
            &[
                ("email", "ada@example.com"),
                ("password", password),
                ("next", &verify),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some(verify.as_str()))
    );
    let r = b.get(&verify).await;
    assert_eq!(r.status, 303);
    assert!(
        b.get("/")
            .await
            .text
            .contains("Your email address is confirmed.")
    );
    assert_eq!(b.get(&verify).await.status, 400, "a used link is refused");
    let r = b.submit("/", "/auth/logout", &[]).await;
    assert_eq!(r.status, 303);

    // Signing up again with the same address: same page, and a mail that says so.
    let other = Browser::new(&base);
    let r = other
        .submit(
            "/auth/signup",
            "/auth/signup",
            &[
                ("email", "ada@example.com"),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/auth/check-email"))
    );
    let mails = smtp.wait_for(2);
    // Maildir file names do not tell the order the messages came in.
    assert!(
        mails
            .iter()
            .any(|m| m.contains("You already have an account")),
        "{mails:?}"
    );

    // Log in (wrong, then right), reach /account, log out.
    let r = b
        .submit(
            "/auth/login",
            "/auth/login",
            &[("email", "ada@example.com"), ("password", "wrong password")],
        )
        .await;
    assert_eq!(r.status, 401);
    let r = b
        .submit(
            "/auth/login?next=/account",
            "/auth/login",
            &[
                ("email", "ada@example.com"),
                ("password", password),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, Some("/account")));
    let account = b.get("/account").await;
    assert!(account.text.contains("ada@example.com") && account.text.contains("(confirmed)"));
    let r = b.submit("/account", "/auth/logout", &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(b.get("/account").await.status, 303);

    // Forgot the password: the reset link arrives; it works once.
    let r = b
        .submit(
            "/auth/forgot",
            "/auth/forgot",
            &[("email", "ada@example.com")],
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/auth/check-email"))
    );
    let reset = common::mail_link(&smtp, 3, "ada@example.com", "/auth/reset");
    let token = reset.split("token=").nth(1).unwrap().to_string();
    let form = b.get(&reset).await;
    assert_eq!(form.status, 200);
    let r = b
        .submit(
            &reset,
            "/auth/reset",
            &[("token", &token), ("password", "a brand new password")],
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, Some("/auth/login")));
    let replay = b
        .submit(
            "/auth/forgot",
            "/auth/reset",
            &[("token", &token), ("password", "yet another password")],
        )
        .await;
    assert_eq!(replay.status, 400, "a reset link works once");
    assert_eq!(b.get(&reset).await.status, 400);
    // The account is told its password changed.
    let told = |count: usize| {
        smtp.wait_for(count)
            .iter()
            .filter(|m| {
                m.contains("To: ada@example.com") && m.contains("Your password was changed")
            })
            .count()
    };
    assert_eq!(told(4), 1, "a mail says the password changed");
    let r = b
        .submit(
            "/auth/login",
            "/auth/login",
            &[
                ("email", "ada@example.com"),
                ("password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);

    // /account: a password change asks for the current one and ends the other sessions.
    let phone = Browser::new(&base);
    let r = phone
        .submit(
            "/auth/login",
            "/auth/login",
            &[
                ("email", "ada@example.com"),
                ("password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let r = b
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", "wrong"),
                ("password", "the third password"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text.contains("Your current password is not right."),
        "{}",
        r.text
    );
    let r = b
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", "a brand new password"),
                ("password", "the third password"),
            ],
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, Some("/account")));
    assert_eq!(b.get("/account").await.status, 200, "this session stays");
    assert_eq!(told(5), 2, "a mail says the password changed again");
    assert_eq!(
        phone.get("/account").await.status,
        303,
        "the other one ended"
    );

    // Log out everywhere else.
    let tablet = Browser::new(&base);
    tablet
        .submit(
            "/auth/login",
            "/auth/login",
            &[
                ("email", "ada@example.com"),
                ("password", "the third password"),
            ],
        )
        .await;
    assert_eq!(tablet.get("/account").await.status, 200);
    let r = b.submit("/account", "/account/sessions", &[]).await;
    assert_eq!(r.status, 303);
    assert!(
        b.get("/account")
            .await
            .text
            .contains("Logged out of 1 other session(s).")
    );
    assert_eq!(tablet.get("/account").await.status, 303);

    // Repeated failures are throttled: 429 with Retry-After and a page that says when.
    let intruder = Browser::new(&base);
    for _ in 0..6 {
        let r = intruder
            .submit(
                "/auth/login",
                "/auth/login",
                &[("email", "ada@example.com"), ("password", "guess")],
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = intruder
        .submit(
            "/auth/login",
            "/auth/login",
            &[("email", "ada@example.com"), ("password", "guess")],
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    assert!(
        r.text.contains("Too many failed attempts. Try again in"),
        "{}",
        r.text
    );

    // An unknown address gets the same answer, and no mail.
    let r = b
        .submit(
            "/auth/forgot",
            "/auth/forgot",
            &[("email", "nobody@example.com")],
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/auth/check-email"))
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(smtp.received().len(), 5);

    // Changing the email address asks for the password, and mails a link to the new address.
    let r = b
        .submit(
            "/account",
            "/account/email",
            &[("email", "ada@new.example"), ("current_password", "wrong")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text.contains("Your current password is not right."),
        "{}",
        r.text
    );
    let r = b
        .submit(
            "/account",
            "/account/email",
            &[
                ("email", "not an address"),
                ("current_password", "the third password"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = b
        .submit(
            "/account",
            "/account/email",
            &[
                ("email", "Ada@New.Example"),
                ("current_password", "the third password"),
            ],
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, Some("/account")));
    // Nothing changes until the new address is confirmed from its mailbox.
    let page = b.get("/account").await.text;
    assert!(
        page.contains(
            "We sent a link to ada@new.example: your address changes when you follow it."
        ),
        "{page}"
    );
    assert!(
        page.contains(">ada@example.com</strong>\n(confirmed)"),
        "{page}"
    );
    let confirm = common::mail_link(&smtp, 6, "ada@new.example", "/account/email/confirm");
    let r = b.get(&confirm).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/account")));
    let page = b.get("/account").await.text;
    assert!(page.contains("Your email address is changed."), "{page}");
    assert!(
        page.contains(">ada@new.example</strong>\n(confirmed)"),
        "{page}"
    );
    assert_eq!(b.get(&confirm).await.status, 400, "a used link is refused");
    // The old address is told.
    let mails = smtp.wait_for(7);
    assert!(
        mails.iter().any(|m| m.contains("To: ada@example.com")
            && m.contains("Your email address was changed")
            && m.contains("ada@new.example")),
        "{mails:?}"
    );
    // The new address logs in.
    let r = Browser::new(&base)
        .submit(
            "/auth/login",
            "/auth/login",
            &[
                ("email", "ada@new.example"),
                ("password", "the third password"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_on_sqlite_with_smtp() {
    if !common::aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_flows(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("app.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_on_postgres_with_smtp() {
    if std::env::var_os("TORN_TEST_POSTGRES_URL").is_none() {
        common::skipped(
            "account_pages_on_postgres_with_smtp",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    }
    if !common::aiosmtpd_available() {
        return;
    }
    let pg = torn::test::TestDatabase::postgres()
        .await
        .expect("set above");
    run_flows(pg.url()).await;
    drop(pg);
}
