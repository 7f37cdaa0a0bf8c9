//! Mail through a real SMTP server (aiosmtpd, from PyPI), and the dev folder.
//!
//! Needs python3 with `aiosmtpd` (`pip install aiosmtpd`). Without it the SMTP cases are reported
//! as skipped, unless `TORN_REQUIRE_AIOSMTPD=1` (set by `.ci/run`), which makes them fail.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use torn::mail::{Email, MailError, Mailer};

fn welcome() -> Email {
    Email {
        to: "ada@example.com".into(),
        subject: "Confirm your email".into(),
        text: "Open http://127.0.0.1:8888/auth/verify?token=abc to confirm.".into(),
        html: Some(
            "<p><a href=\"http://127.0.0.1:8888/auth/verify?token=abc\">Confirm</a></p>".into(),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_text_and_html_through_smtp() {
    if !common::aiosmtpd_available() {
        return;
    }
    let server = common::SmtpServer::start();
    let mailer = Mailer::smtp(
        &format!("smtp://127.0.0.1:{}", server.port),
        "Example App <noreply@example.com>",
    )
    .unwrap();
    mailer.send(&welcome()).await.unwrap();
    let got = server.wait_for(1);
    let raw = &got[0];
    assert!(raw.contains("To: ada@example.com"), "{raw}");
    assert!(
        raw.contains("From: \"Example App\" <noreply@example.com>"),
        "{raw}"
    );
    assert!(raw.contains("Subject: Confirm your email"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(
        raw.contains("text/plain") && raw.contains("text/html"),
        "{raw}"
    );
    assert!(raw.contains("auth/verify?token=abc"), "{raw}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_sends_do_not_block_and_errors_say_where_without_the_password() {
    if !common::aiosmtpd_available() {
        return;
    }
    let server = common::SmtpServer::start();
    let mailer = Mailer::smtp(
        &format!("smtp://127.0.0.1:{}", server.port),
        "app@example.com",
    )
    .unwrap();
    // Without a job queue: sent from a task of its own (tests/jobs.rs and durable_mail.rs
    // cover mail through the queue).
    mailer.send_later(welcome()).await.unwrap();
    assert_eq!(server.wait_for(1).len(), 1);

    // A server that is not there: the error says where and to whom, and hides the password.
    let port = common::free_port();
    let broken = Mailer::smtp(
        &format!("smtp://app:hunter2@127.0.0.1:{port}"),
        "app@example.com",
    )
    .unwrap();
    let err = broken.send(&welcome()).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, MailError::Send { .. }), "{message}");
    assert!(
        message.contains("ada@example.com") && message.contains("127.0.0.1"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn without_smtp_dev_mail_goes_to_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = torn::Settings::for_test(dir.path());
    settings.env = torn::Env::Dev;
    let mailer = Mailer::from_settings(&settings).unwrap();
    assert_eq!(
        mailer.folder_path(),
        Some(dir.path().join("mail").as_path())
    );
    mailer.send(&welcome()).await.unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "the message and its text: {files:?}");
    let text = std::fs::read_to_string(&files[1]).unwrap();
    assert!(
        text.starts_with("To: ada@example.com\nSubject: Confirm your email\n\nOpen http"),
        "{text}"
    );
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(name.ends_with("-confirm-your-email.eml"), "{name}");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("auth/verify?token=abc"), "{raw}");
}

#[tokio::test]
async fn configuration_mistakes_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = torn::Settings::for_test(dir.path());
    settings.env = torn::Env::Prod;
    let err = Mailer::from_settings(&settings).unwrap_err().to_string();
    assert!(err.contains("TORN_SMTP_URL"), "{err}");
    let err = Mailer::smtp("ftp://x:secret@example.com", "a@example.com")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not valid") && !err.contains("secret"),
        "{err}"
    );
    let err = Mailer::smtp("smtp://127.0.0.1:25", "not an address")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a valid email address"), "{err}");
    let mailer = Mailer::folder(dir.path().join("mail"), "a@example.com").unwrap();
    let mut bad = welcome();
    bad.to = "nobody".into();
    assert!(matches!(
        mailer.send(&bad).await,
        Err(MailError::BadAddress(_))
    ));
}

#[tokio::test]
async fn handlers_reach_the_mailer_and_never_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::folder(dir.path().join("mail"), "app@example.com").unwrap();
    let app = torn::App::new(torn::Settings::for_test(dir.path()))
        .mailer(mailer)
        .route(
            "/notify",
            axum::routing::get(|mailer: Mailer| async move {
                mailer.send_later(welcome()).await.unwrap();
                "queued"
            }),
        );
    let server = torn::test::TestServer::start(app).await;
    assert_eq!(server.get("/notify").await.text, "queued");
    let started = Instant::now();
    loop {
        let count = std::fs::read_dir(dir.path().join("mail")).map_or(0, |d| d.count());
        if count == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the mail was not written"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Without App::mailer, the extractor says what is missing.
    let bare = torn::App::new(torn::Settings::for_test(dir.path())).route(
        "/notify",
        axum::routing::get(|_mailer: Mailer| async { "unreachable" }),
    );
    let server = torn::test::TestServer::start(bare).await;
    assert_eq!(server.get("/notify").await.status, 500);
}

/// STARTTLS and smtps with AUTH, against a server whose certificate a private CA signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_over_starttls_and_smtps_with_auth() {
    if !common::aiosmtpd_available() {
        return;
    }
    let certs = common::TestCertificates::make();
    let ca = std::fs::read(certs.ca()).unwrap();
    for (tls, scheme, query) in [
        (common::SmtpTls::StartTls, "smtp", "?tls=required"),
        (common::SmtpTls::Wrapper, "smtps", ""),
    ] {
        let server = common::SmtpServer::start_secure(tls, &certs, "mailer", "s3cret pass");
        let url = |user: &str, password: &str| {
            format!(
                "{scheme}://{user}:{password}@127.0.0.1:{}{query}",
                server.port
            )
        };
        let mailer =
            Mailer::smtp_trusting(&url("mailer", "s3cret%20pass"), "app@example.com", &ca).unwrap();
        mailer.send(&welcome()).await.unwrap();
        let got = server.wait_for(1);
        assert!(got[0].contains("auth/verify?token=abc"), "{tls:?}");

        // A wrong password is refused by the server, and the error does not show it.
        let mailer =
            Mailer::smtp_trusting(&url("mailer", "wrong-guess"), "app@example.com", &ca).unwrap();
        let err = mailer.send(&welcome()).await.unwrap_err().to_string();
        assert!(
            err.contains("sending to ada@example.com") && !err.contains("wrong-guess"),
            "{tls:?}: {err}"
        );

        // Without the private CA, the certificate is not trusted and nothing is sent.
        let mailer = Mailer::smtp(&url("mailer", "s3cret%20pass"), "app@example.com").unwrap();
        let err = mailer.send(&welcome()).await.unwrap_err().to_string();
        assert!(err.contains("sending to ada@example.com"), "{tls:?}: {err}");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(server.received().len(), 1, "{tls:?}");
    }
}

/// A server that requires STARTTLS gets no password and no message over plain SMTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_travel_without_tls() {
    if !common::aiosmtpd_available() {
        return;
    }
    let certs = common::TestCertificates::make();
    let server =
        common::SmtpServer::start_secure(common::SmtpTls::StartTls, &certs, "mailer", "secret");
    let mailer = Mailer::smtp(
        &format!("smtp://mailer:secret@127.0.0.1:{}", server.port),
        "app@example.com",
    )
    .unwrap();
    let err = mailer.send(&welcome()).await.unwrap_err().to_string();
    assert!(
        err.contains("sending to ada@example.com") && !err.contains("secret"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.received().is_empty());
}

/// `smtp_ca_file` mistakes stop the mailer from being built, with the file named.
#[tokio::test]
async fn smtp_ca_file_mistakes_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = torn::Settings::for_test(dir.path());
    settings.mail.smtp_url = Some("smtp://u:p@127.0.0.1:2525?tls=required".into());
    settings.mail.smtp_ca_file = Some(dir.path().join("missing.pem"));
    let err = Mailer::from_settings(&settings).unwrap_err().to_string();
    assert!(
        err.contains("SMTP CA file") && err.contains("missing.pem"),
        "{err}"
    );
    std::fs::write(dir.path().join("notes.pem"), "not a certificate").unwrap();
    settings.mail.smtp_ca_file = Some(dir.path().join("notes.pem"));
    let err = Mailer::from_settings(&settings).unwrap_err().to_string();
    assert!(
        err.contains("notes.pem") && err.contains("no PEM certificate"),
        "{err}"
    );
    let certs = common::TestCertificates::make();
    settings.mail.smtp_ca_file = Some(certs.ca());
    Mailer::from_settings(&settings).expect("a CA file and a TLS URL");
    settings.mail.smtp_url = Some("smtp://u:secret@127.0.0.1:2525".into());
    let err = Mailer::from_settings(&settings).unwrap_err().to_string();
    assert!(
        err.contains("uses no TLS") && !err.contains("secret"),
        "{err}"
    );
    // TORN_SMTP_CA_FILE is read relative to the app's folder.
    let loaded = torn::Settings::load_from(dir.path(), |k| match k {
        "TORN_ENV" => Some("test".into()),
        "TORN_SMTP_CA_FILE" => Some("certs/ca.pem".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(
        loaded.mail.smtp_ca_file,
        Some(dir.path().join("certs/ca.pem"))
    );
}
