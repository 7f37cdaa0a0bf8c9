//! Accounts over real HTTP: sign-up, the confirmation mail, log-in and log-out, social log-in.

use std::path::Path;
use std::time::{Duration, Instant};

use torn::Settings;
use torn::test::TestServer;

/// The app on an in-memory database, writing its mail to `mail_dir`.
async fn server_with_mail(mail_dir: &Path) -> TestServer {
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = mail_dir.to_path_buf();
    let app = {{crate_name}}::app(settings).await.expect("the app builds");
    TestServer::start(app).await
}

async fn server() -> TestServer {
    let dir = std::env::temp_dir().join("{{crate_name}}-tests");
    server_with_mail(&dir).await
}

/// The path of the first link to `prefix` in the mail written so far.
async fn link_in_mail(dir: &Path, prefix: &str) -> String {
    let started = Instant::now();
    loop {
        let texts = std::fs::read_dir(dir.join("mail"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                    .filter_map(|p| std::fs::read_to_string(p).ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for text in texts {
            if let Some(at) = text.find(prefix) {
                return text[at..].split_whitespace().next().unwrap().to_string();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no mail with {prefix}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sign_up_confirm_log_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_mail(dir.path()).await;
    let token = server
        .get("/auth/signup")
        .await
        .form_field("_xsrf")
        .unwrap();
    let password = "correct horse battery staple";
    let signed_up = server
        .post_form(
            "/auth/signup",
            &[
                ("_xsrf", &token),
                ("email", "ada@example.com"),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(signed_up.status, 303);
    assert_eq!(signed_up.header("location"), Some("/auth/check-email"));

    let link = link_in_mail(dir.path(), "http://").await;
    let path = &link[link.find("/auth/verify").expect("a verification link")..];
    // The link confirms the address for the account logged in: log in first, and come back.
    let confirm = server.get(path).await;
    assert_eq!(confirm.status, 303);
    let login = confirm.header("location").unwrap();
    assert!(
        login.starts_with("/auth/login?next=%2Fauth%2Fverify%3Ftoken%3D"),
        "{login}"
    );

    let account = server.get("/account").await;
    assert_eq!(account.status, 303, "not logged in yet");
    assert_eq!(
        account.header("location"),
        Some("/auth/login?next=%2Faccount")
    );
    let token = server.get("/auth/login").await.form_field("_xsrf").unwrap();
    let logged_in = server
        .post_form(
            "/auth/login",
            &[
                ("_xsrf", &token),
                ("email", "ada@example.com"),
                ("password", password),
                ("next", path),
            ],
        )
        .await;
    assert_eq!(logged_in.status, 303);
    assert_eq!(logged_in.header("location"), Some(path));
    let confirmed = server.get(path).await;
    assert_eq!(confirmed.status, 303);
    assert!(
        server
            .get("/")
            .await
            .text
            .contains("Your email address is confirmed.")
    );
    assert_eq!(server.get(path).await.status, 400, "the link works once");
    let account = server.get("/account").await;
    assert!(account.text.contains("ada@example.com"), "{}", account.text);
    assert!(account.text.contains("(confirmed)"));

    // Log-in gave the browser a new XSRF token: the log-out form carries it.
    let token = account.form_field("_xsrf").unwrap();
    let logged_out = server.post_form("/auth/logout", &[("_xsrf", &token)]).await;
    assert_eq!(logged_out.status, 303);
    assert_eq!(server.get("/account").await.status, 303);
}

/// Every verification link in the mail written so far, as paths.
fn verify_links(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("mail"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .filter_map(|text| {
                    let at = text.find("/auth/verify?token=")?;
                    Some(text[at..].split_whitespace().next()?.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_unconfirmed_account_waits_until_its_address_is_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_mail(dir.path()).await;
    let token = server
        .get("/auth/signup")
        .await
        .form_field("_xsrf")
        .unwrap();
    let password = "correct horse battery staple";
    let credentials = [
        ("_xsrf", token.as_str()),
        ("email", "cy@example.com"),
        ("password", password),
    ];
    server.post_form("/auth/signup", &credentials).await;
    let logged_in = server.post_form("/auth/login", &credentials).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.text);

    // require_verified_email (torn.toml): pages for logged-in users wait for the link.
    let account = server.get("/account").await;
    assert_eq!(account.header("location"), Some("/auth/unverified"));
    let page = server.get("/auth/unverified").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("We sent a link to <strong>cy@example.com</strong>")
    );

    // The link can be sent again.
    link_in_mail(dir.path(), "/auth/verify").await;
    let token = page.form_field("_xsrf").unwrap();
    let again = server
        .post_form("/auth/unverified", &[("_xsrf", &token)])
        .await;
    assert_eq!(again.header("location"), Some("/auth/unverified"));
    assert!(
        server
            .get("/auth/unverified")
            .await
            .text
            .contains("We sent the link again.")
    );
    let started = Instant::now();
    while verify_links(dir.path()).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no second mail"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let path = verify_links(dir.path()).pop().unwrap();
    assert_eq!(server.get(&path).await.status, 303);
    assert_eq!(server.get("/account").await.status, 200);
    assert_eq!(
        server.get("/auth/unverified").await.header("location"),
        Some("/"),
        "nothing to wait for"
    );
}

#[tokio::test]
async fn mail_to_one_address_is_limited() {
    let server = server().await;
    let token = server
        .get("/auth/forgot")
        .await
        .form_field("_xsrf")
        .unwrap();
    let form = [("_xsrf", token.as_str()), ("email", "someone@example.com")];
    let ask = || server.post_form("/auth/forgot", &form);
    // A few links, then a wait that grows: nobody can flood an inbox through the app.
    for i in 0..6 {
        assert_eq!(ask().await.status, 303, "request {i}");
    }
    let refused = ask().await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
    assert!(
        refused
            .text
            .contains("Too many requests for mail. Try again in")
    );
}

#[tokio::test]
async fn log_in_failures_say_the_same_for_every_email() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_mail(dir.path()).await;
    let token = server
        .get("/auth/signup")
        .await
        .form_field("_xsrf")
        .unwrap();
    server
        .post_form(
            "/auth/signup",
            &[
                ("_xsrf", &token),
                ("email", "bob@example.com"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    let attempt = |email: &'static str| {
        let server = &server;
        let token = token.clone();
        async move {
            server
                .post_form(
                    "/auth/login",
                    &[
                        ("_xsrf", &token),
                        ("email", email),
                        ("password", "wrong password"),
                    ],
                )
                .await
        }
    };
    let known = attempt("bob@example.com").await;
    let unknown = attempt("nobody@example.com").await;
    assert_eq!(known.status, 401);
    assert_eq!(known.status, unknown.status);
    let message = "The email address or the password is not right.";
    assert!(known.text.contains(message) && unknown.text.contains(message));
}

#[tokio::test]
async fn sign_in_buttons_for_configured_providers_only() {
    let server = server().await;
    let page = server.get("/auth/login").await;
    assert!(
        !page.text.contains("Log in with"),
        "no provider is configured"
    );
    // "Remember me" says how long, from remember_me_secs (30 days by default).
    assert!(page.text.contains("Remember me for 30 days"));
    // Two variables offer GitHub.
    let root = env!("CARGO_MANIFEST_DIR");
    let mut settings = Settings::load_from(Path::new(root), |k| match k {
        "TORN_ENV" => Some("test".into()),
        "TORN_OAUTH_GITHUB_CLIENT_ID" => Some("my-client-id".into()),
        "TORN_OAUTH_GITHUB_CLIENT_SECRET" => Some("my-client-secret".into()),
        _ => None,
    })
    .expect("settings");
    settings.root = std::env::temp_dir().join("{{crate_name}}-tests");
    let app = {{crate_name}}::app(settings).await.expect("the app builds");
    let server = TestServer::start(app).await;
    let page = server.get("/auth/login?next=/posts%3Fa%3D1%26b%3D2").await;
    assert!(
        page.text.contains(
            r#"href="/auth/github/login?next=/posts%3Fa%3D1%26b%3D2">Log in with GitHub</a>"#
        ),
        "{}",
        page.text
    );
    assert!(
        server
            .get("/auth/signup")
            .await
            .text
            .contains("Sign up with GitHub")
    );
    // The button sends the browser to GitHub with PKCE (S256) and a state.
    let r = server.get("/auth/github/login?next=/account").await;
    assert_eq!(r.status, 303);
    let to = r.header("location").unwrap();
    assert!(
        to.starts_with("https://github.com/login/oauth/authorize?"),
        "{to}"
    );
    assert!(to.contains("client_id=my-client-id") && to.contains("code_challenge_method=S256"));
    assert!(
        to.contains("state=") && !to.contains("my-client-secret"),
        "{to}"
    );
    // A callback this browser did not start gets a clear page and logs no one in.
    let r = server
        .get("/auth/github/callback?code=abc&state=forged")
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("Please start again"), "{}", r.text);
}

/// Sign up and confirm `email` with `PASSWORD` on `server`, and log in there with it.
async fn confirmed_and_logged_in(server: &TestServer, dir: &Path, email: &str) {
    let token = server
        .get("/auth/signup")
        .await
        .form_field("_xsrf")
        .unwrap();
    let fields = [
        ("_xsrf", token.as_str()),
        ("email", email),
        ("password", PASSWORD),
    ];
    assert_eq!(server.post_form("/auth/signup", &fields).await.status, 303);
    let link = link_in_mail(dir, "http://").await;
    let path = link[link.find("/auth/verify").unwrap()..].to_string();
    let token = server.get("/auth/login").await.form_field("_xsrf").unwrap();
    let fields = [
        ("_xsrf", token.as_str()),
        ("email", email),
        ("password", PASSWORD),
        ("next", path.as_str()),
    ];
    assert_eq!(server.post_form("/auth/login", &fields).await.status, 303);
    assert_eq!(server.get(&path).await.status, 303);
}

const PASSWORD: &str = "correct horse battery staple";

/// Sudo mode: after a log-in with the password, changing it does not ask for it again for a
/// while; once the window is over, it asks, refuses a wrong one, and takes the right one.
#[tokio::test]
async fn sensitive_changes_ask_for_the_password_outside_the_sudo_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = dir.path().to_path_buf();
    settings.accounts.sudo_window = Duration::from_secs(2);
    let app = {{crate_name}}::app(settings).await.expect("the app builds");
    let server = TestServer::start(app).await;
    confirmed_and_logged_in(&server, dir.path(), "sue@example.com").await;

    // Just logged in with the password: the form does not ask for it, and the change goes.
    let account = server.get("/account").await;
    assert!(
        !account.text.contains("name=\"current_password\""),
        "{}",
        account.text
    );
    let token = account.form_field("_xsrf").unwrap();
    let changed = server
        .post_form(
            "/account/password",
            &[("_xsrf", &token), ("password", "a second long password")],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.text);

    // The window closes: the form asks again, and a change without it is refused.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let account = server.get("/account").await;
    assert!(account.text.contains("name=\"current_password\""));
    let token = account.form_field("_xsrf").unwrap();
    let change = |current: &'static str| {
        let token = token.clone();
        let server = &server;
        async move {
            server
                .post_form(
                    "/account/password",
                    &[
                        ("_xsrf", token.as_str()),
                        ("current_password", current),
                        ("password", "a third long password"),
                    ],
                )
                .await
        }
    };
    let refused = change("").await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .text
            .contains("Enter your current password to make this change.")
    );
    let wrong = change("not the password").await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.text.contains("Your current password is not right."));
    assert_eq!(change("a second long password").await.status, 303);
}
