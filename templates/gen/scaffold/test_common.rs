/// The app on a fresh database (PostgreSQL when TORN_TEST_POSTGRES_URL is set, else SQLite),
/// and a connection to that database.
async fn app() -> (TestServer, Db, TestDatabase) {
    let database = TestDatabase::new().await;
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = std::env::temp_dir().join("[[ crate_name ]]-tests");
    settings.database.url = Some(database.url().to_string());
    let app = [[ crate_name ]]::app(settings).await.expect("the app builds");
    let server = TestServer::start(app).await;
    let db = Db::connect(database.url()).await.unwrap();
    (server, db, database)
}
[%- if !api || auth %]

/// Send a form from `client`, with the XSRF token of the page at `from`.
async fn submit(
    server: &TestServer,
    client: &reqwest::Client,
    from: &str,
    to: &str,
    fields: &[(&str, String)],
) -> TestResponse {
    let page = server.send(client.get(server.url(from))).await;
    let token = form_field(&page.text, "_xsrf").expect("the page has a form");
    let mut form: Vec<(&str, String)> = vec![("_xsrf", token)];
    form.extend(fields.iter().cloned());
    server.send(client.post(server.url(to)).form(&form)).await
}
[%- endif %]
[%- if auth %]

/// Sign up as `email`, confirm the address and log in in this client; returns the user's id.
async fn log_in(
    accounts: &torn::Accounts,
    server: &TestServer,
    client: &reqwest::Client,
    email: &str,
) -> i64 {
    let password = "correct horse battery staple";
    let torn::auth::SignUp::Created { user, verify_token } =
        accounts.sign_up(email, password).await.unwrap()
    else {
        panic!("{email} has no account yet");
    };
    accounts.verify_email(&verify_token).await.unwrap();
    let r = submit(
        server,
        client,
        "/auth/login",
        "/auth/login",
        &[
            ("email", email.to_string()),
            ("password", password.to_string()),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "log-in: {}", r.text);
    user.id
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
[%- endif %]
