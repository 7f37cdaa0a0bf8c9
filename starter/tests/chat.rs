//! The chat at /chat over HTTP: it needs a log-in, messages posted by the form are shown to
//! everyone (escaped), bad messages are refused, the form needs its XSRF field, and the page
//! keeps the last 50. (The WebSocket side is tested against the running app by torn's own
//! tests.)

use torn::Settings;
use torn::test::{TestDatabase, TestResponse, TestServer, form_field, reqwest};

const CHAT: &str = "/chat";

/// The app on a fresh database (PostgreSQL when TORN_TEST_POSTGRES_URL is set, else SQLite),
/// and its accounts, to sign people up.
async fn app() -> (TestServer, torn::Accounts, TestDatabase) {
    let database = TestDatabase::new().await;
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = std::env::temp_dir().join("starter-tests");
    settings.database.url = Some(database.url().to_string());
    let db = torn::db::Db::connect(database.url()).await.unwrap();
    let accounts = torn::Accounts::new(db, settings.clone()).await.unwrap();
    let app = starter::app(settings).await.expect("the app builds");
    let server = TestServer::start(app).await;
    (server, accounts, database)
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Send a form from `client`, with the XSRF token of the page at `from`.
async fn submit(
    server: &TestServer,
    client: &reqwest::Client,
    from: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    let page = server.send(client.get(server.url(from))).await;
    let token = form_field(&page.text, "_xsrf").expect("the page has a form");
    let mut form = vec![("_xsrf", token.as_str())];
    form.extend_from_slice(fields);
    server.send(client.post(server.url(from)).form(&form)).await
}

/// Sign up as `email`, confirm the address and log in, in this client.
async fn log_in(
    accounts: &torn::Accounts,
    server: &TestServer,
    client: &reqwest::Client,
    email: &str,
) {
    let password = "correct horse battery staple";
    let torn::auth::SignUp::Created { verify_token, .. } =
        accounts.sign_up(email, password).await.unwrap()
    else {
        panic!("{email} has no account yet");
    };
    accounts.verify_email(&verify_token).await.unwrap();
    let fields = [("email", email), ("password", password)];
    let r = submit(server, client, "/auth/login", &fields).await;
    assert_eq!(r.status, 303, "log-in: {}", r.text);
}

#[tokio::test]
async fn the_chat_needs_a_log_in() {
    let (server, _accounts, _database) = app().await;
    let r = server.get(CHAT).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/auth/login?next=%2Fchat"));
}

#[tokio::test]
async fn messages_are_shown_to_everyone_as_text() {
    let (server, accounts, _database) = app().await;
    let (ada, bob) = (browser(), browser());
    log_in(&accounts, &server, &ada, "ada@example.com").await;
    log_in(&accounts, &server, &bob, "bob@example.com").await;
    let empty = server.send(bob.get(server.url(CHAT))).await;
    assert!(empty.text.contains("No messages yet"), "{}", empty.text);

    let said = "<script>alert('hi')</script> & welcome";
    let r = submit(&server, &ada, CHAT, &[("body", said)]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some(CHAT));
    let page = server.send(bob.get(server.url(CHAT))).await;
    assert!(page.text.contains("<b>ada</b>"), "{}", page.text);
    assert!(
        page.text
            .contains("&#60;script&#62;alert(&#39;hi&#39;)&#60;/script&#62; &#38; welcome"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
}

#[tokio::test]
async fn bad_messages_are_refused_and_kept_in_the_form() {
    let (server, accounts, _database) = app().await;
    let ada = browser();
    log_in(&accounts, &server, &ada, "ada@example.com").await;
    let r = submit(&server, &ada, CHAT, &[("body", "   ")]).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("Write something first."), "{}", r.text);
    let long = "x".repeat(1001);
    let r = submit(&server, &ada, CHAT, &[("body", &long)]).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("1000 characters at most"), "{}", r.text);
    assert!(r.text.contains(&long), "what was typed is kept");
    // Without the form's XSRF field: refused, and nothing posted.
    let r = server
        .send(ada.post(server.url(CHAT)).form(&[("body", "forged")]))
        .await;
    assert_eq!(r.status, 403);
    let page = server.send(ada.get(server.url(CHAT))).await;
    assert!(page.text.contains("No messages yet"), "{}", page.text);
}

#[tokio::test]
async fn the_chat_keeps_its_last_1000_messages() {
    let (server, accounts, database) = app().await;
    let ada = browser();
    log_in(&accounts, &server, &ada, "ada@example.com").await;
    let user = accounts.user_by_email("ada@example.com").await.unwrap();
    let user = user.expect("ada has an account");
    let db = torn::db::Db::connect(database.url()).await.unwrap();
    let sql = "INSERT INTO chat_messages (id, user_id, author, body, posted_at) \
               VALUES ($1, $2, 'ada', 'old', $3)";
    for n in 1..=1005_i64 {
        torn::with_db!(&db, pool => {
            sqlx::query(sql).bind(n).bind(user.id).bind(n).execute(pool).await.map(|_| ())
        })
        .unwrap();
    }
    let r = submit(&server, &ada, CHAT, &[("body", "new")]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let sql = "SELECT COUNT(*), MIN(posted_at) FROM chat_messages";
    let (count, oldest): (i64, i64) = torn::with_db!(&db, pool => {
        sqlx::query_as(sql).fetch_one(pool).await
    })
    .unwrap();
    // The new one and the 999 newest of the old ones.
    assert_eq!((count, oldest), (1000, 7));
}

#[tokio::test]
async fn the_page_shows_the_last_50_messages() {
    let (server, accounts, _database) = app().await;
    let ada = browser();
    log_in(&accounts, &server, &ada, "ada@example.com").await;
    for n in 1..=55 {
        let body = format!("message #{n:02}.");
        let r = submit(&server, &ada, CHAT, &[("body", &body)]).await;
        assert_eq!(r.status, 303, "{}", r.text);
    }
    let page = server.send(ada.get(server.url(CHAT))).await;
    let shown: Vec<u32> = (1..=55)
        .filter(|n| page.text.contains(&format!("message #{n:02}.")))
        .collect();
    assert_eq!(shown, (6..=55).collect::<Vec<_>>());
}
