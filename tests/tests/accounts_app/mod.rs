//! The accounts test app and its fixtures, shared by the accounts suites: a thin app over
//! `torn::Accounts` that answers in plain text and hands tokens back in the response where a real
//! app would mail them, a database per case (SQLite, or PostgreSQL when
//! `TORN_TEST_POSTGRES_URL` is set), a browser with its own cookie jar, and the macros that run
//! a case on each database and with sessions in Redis.
#![allow(dead_code)]

use crate::common;
use std::sync::Arc;

use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use torn::auth::{SignUp, safe_next};
use torn::db::Db;
use torn::password::Hasher;
use torn::test::{TestResponse, TestServer};
use torn::{
    Accounts, App, AuthError, ClientIp, ClientScheme, CurrentUser, MaybeUser, PageContext, Session,
    Settings,
};

// ---------------------------------------------------------------- the test app

fn refused(e: AuthError) -> Response {
    let status = match e {
        AuthError::Throttled { .. } | AuthError::MailLimited { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        AuthError::Internal(e) => return e.into_response(),
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = (status, e.to_string()).into_response();
    if let Some(retry_after) = e.retry_after() {
        response
            .headers_mut()
            .insert("retry-after", retry_after.to_string().parse().unwrap());
    }
    response
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
    #[serde(default)]
    remember: bool,
    #[serde(default)]
    next: String,
}

async fn token(ctx: PageContext) -> String {
    ctx.xsrf_token()
}

async fn signup(accounts: Accounts, Form(f): Form<Credentials>) -> Response {
    match accounts.sign_up(&f.email, &f.password).await {
        Ok(SignUp::Created { verify_token, .. }) => {
            format!("created {verify_token}").into_response()
        }
        Ok(SignUp::AlreadyRegistered { .. }) => "registered".into_response(),
        Err(e) => refused(e),
    }
}

async fn login(
    accounts: Accounts,
    session: Session,
    device: torn::auth::Device,
    Form(f): Form<Credentials>,
) -> Response {
    match accounts
        .authenticate_device(&device, &f.email, &f.password)
        .await
    {
        Ok(user) => match accounts.log_in(&session, &user, f.remember).await {
            Ok(_) => Redirect::to(safe_next(&f.next).unwrap_or("/")).into_response(),
            Err(e) => refused(e),
        },
        Err(e) => refused(e),
    }
}

/// Who the app thinks the client is: its address and scheme.
async fn client(ClientIp(ip): ClientIp, scheme: ClientScheme) -> String {
    format!("{ip} {}", if scheme.https { "https" } else { "http" })
}

async fn logout(accounts: Accounts, session: Session) -> Response {
    match accounts.log_out(&session).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => refused(e),
    }
}

async fn me(CurrentUser(user): CurrentUser) -> String {
    user.email
}

async fn maybe(MaybeUser(user): MaybeUser) -> String {
    user.map_or_else(|| "anonymous".to_string(), |u| u.email)
}

#[derive(askama::Template)]
#[template(
    source = "{% if let Some(user) = ctx.user() %}logged in as {{ user.email }}{% else %}anonymous{% endif %}",
    ext = "html"
)]
struct WhoPage {
    ctx: PageContext,
}

async fn who(ctx: PageContext) -> torn::Page<WhoPage> {
    torn::Page(WhoPage { ctx })
}

/// A route that takes API tokens and reads the session itself (not through `CurrentUser`):
/// whom the session says is logged in, and whether it may make a sensitive change without the
/// password, as seen by a handler that trusts the session.
async fn api_session(accounts: Accounts, session: torn::Session) -> String {
    let user = accounts.current_user(&session).await.unwrap();
    let sudo = accounts.sudo_until(&session).await.unwrap().is_some();
    format!(
        "{} sudo={sudo}",
        user.map_or_else(|| "nobody".to_string(), |u| u.email)
    )
}

/// A page that takes the page context and the logged-in user both.
async fn both(ctx: PageContext, CurrentUser(user): CurrentUser) -> String {
    let shown = ctx.user().map(|u| u.email.clone()).unwrap_or_default();
    format!("{shown} {}", user.email)
}

async fn visit(session: Session) -> String {
    let n: u32 = session.get("visits").await.unwrap().unwrap_or(0) + 1;
    session.insert("visits", n).await.unwrap();
    n.to_string()
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

async fn verify(accounts: Accounts, Query(q): Query<TokenQuery>) -> Response {
    match accounts.verify_email(&q.token).await {
        Ok(user) => format!("verified {}", user.email).into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct EmailForm {
    email: String,
}

/// What a handler that sends mail does first (a real app then signs up, resets, …).
async fn mail(
    accounts: Accounts,
    ClientIp(client): ClientIp,
    Form(f): Form<EmailForm>,
) -> Response {
    match accounts.reserve_mail(&f.email, client).await {
        Ok(()) => "sent".into_response(),
        Err(e) => refused(e),
    }
}

async fn forgot(accounts: Accounts, Form(f): Form<EmailForm>) -> Response {
    match accounts.request_reset(&f.email).await {
        // A real app mails the token, and answers the same in both cases.
        Ok(Some((_, token))) => token.into_response(),
        Ok(None) => String::new().into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    password: String,
}

async fn reset(accounts: Accounts, Form(f): Form<ResetForm>) -> Response {
    match accounts.reset_password(&f.token, &f.password).await {
        Ok(user) => format!("reset {}", user.email).into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct ChangePassword {
    current: String,
    new: String,
}

async fn change_password(
    accounts: Accounts,
    session: Session,
    CurrentUser(user): CurrentUser,
    Form(f): Form<ChangePassword>,
) -> Response {
    match accounts
        .change_password(&user, &f.current, &f.new, &session)
        .await
    {
        Ok(()) => "changed".into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct ChangeEmail {
    current: String,
    email: String,
}

async fn change_email(
    accounts: Accounts,
    session: Session,
    CurrentUser(user): CurrentUser,
    Form(f): Form<ChangeEmail>,
) -> Response {
    match accounts
        .change_email(&user, &f.current, &f.email, &session)
        .await
    {
        Ok(pending) => format!("{} {}", pending.email, pending.token).into_response(),
        Err(e) => refused(e),
    }
}

async fn verify_as(
    accounts: Accounts,
    CurrentUser(user): CurrentUser,
    Query(q): Query<TokenQuery>,
) -> Response {
    match accounts.verify_email_as(&q.token, &user).await {
        Ok(user) => format!("verified {}", user.email).into_response(),
        Err(e) => refused(e),
    }
}

async fn confirm_email(accounts: Accounts, Query(q): Query<TokenQuery>) -> Response {
    match accounts.confirm_email_change(&q.token).await {
        Ok(changed) => format!("{} was {}", changed.user.email, changed.old_email).into_response(),
        Err(e) => refused(e),
    }
}

async fn everywhere(
    accounts: Accounts,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Response {
    match accounts.log_out_everywhere(user.id, Some(&session)).await {
        Ok(n) => n.to_string().into_response(),
        Err(e) => refused(e),
    }
}

// ---------------------------------------------------------------- fixtures

pub fn fast_hasher() -> Hasher {
    Hasher::new(argon2::Params::new(256, 1, 1, None).unwrap())
}

pub struct Fixture {
    pub server: TestServer,
    pub accounts: Accounts,
}

/// Where a case runs: its database, and Redis for sessions when set.
pub struct Target {
    pub db: String,
    pub redis: Option<String>,
}

/// A session of its own, outside any request, for the account service's calls.
pub fn bare_session(f: &Fixture) -> torn::Session {
    torn::Session::new(
        None,
        Arc::new(torn::session::Store::for_db(f.accounts.db())),
        None,
    )
}

pub async fn app(t: &Target, tune: impl FnOnce(&mut Settings)) -> Fixture {
    let db_url = t.db.as_str();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_test(dir.path());
    tune(&mut settings);
    let settings = Arc::new(settings);
    let db = Db::connect(db_url).await.unwrap();
    let migrations = common::workspace_root().join("templates/app/migrations");
    db.migrate(&Db::migrator_from(&migrations).await.unwrap())
        .await
        .unwrap();
    let mut accounts = Accounts::new(db, settings.clone())
        .await
        .unwrap()
        .with_hasher(fast_hasher());
    if let Some(url) = &t.redis {
        let store = torn::session::Store::redis(url)
            .await
            .expect("TORN_TEST_REDIS_URL is reachable");
        accounts = accounts.with_store(store).await.unwrap();
    }
    let app = App::new((*settings).clone())
        .accounts(accounts.clone())
        .named("login", "/auth/login", post(login))
        .route("/token", get(token))
        .route("/signup", post(signup))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .route("/who", get(who))
        .route("/both", get(both))
        .route("/visit", get(visit))
        .route("/verify", get(verify))
        .route("/verify-as", get(verify_as))
        .route("/forgot", post(forgot))
        .route("/mail", post(mail))
        .route("/reset", post(reset))
        .route("/password", post(change_password))
        .route("/email", post(change_email))
        .route("/email/confirm", get(confirm_email))
        .route("/everywhere", post(everywhere))
        .route("/client", get(client))
        .route("/api/session", post(api_session))
        .bearer("/api/");
    Fixture {
        server: TestServer::start(app).await,
        accounts,
    }
}

/// A browser: its own cookie jar, and the XSRF token of its first page.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub xsrf: String,
}

impl Browser {
    pub async fn new(server: &TestServer) -> Self {
        Self::at(server.url(""), None).await
    }

    /// A browser for the site at `base`, connecting from the loopback address `from` (any
    /// 127.x.y.z is this machine), so that one test can be several clients.
    pub async fn at(base: String, from: Option<std::net::IpAddr>) -> Self {
        let client = torn::test::browser_client_from(from);
        let xsrf = common::page_text(&client, &format!("{base}/token")).await;
        Browser { client, base, xsrf }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        read(self.client.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        self.post_with(path, form, &[]).await
    }

    /// A form post with extra request headers.
    pub async fn post_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-xsrftoken", &self.xsrf)
            .form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request).await
    }

    pub async fn sign_up(&self, email: &str, password: &str) -> String {
        let r = self
            .post("/signup", &[("email", email), ("password", password)])
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.text
            .strip_prefix("created ")
            .expect("a new account")
            .to_string()
    }

    pub async fn log_in(&self, email: &str, password: &str) -> TestResponse {
        self.post("/auth/login", &[("email", email), ("password", password)])
            .await
    }

    /// The value of the session cookie this browser would send.
    pub fn session_cookie(&self, response: &TestResponse) -> Option<String> {
        session_set_cookie(response).map(|v| v.split(';').next().unwrap().to_string())
    }
}

/// The whole `Set-Cookie` line of the session cookie in `response`.
pub fn session_set_cookie(response: &TestResponse) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("torn_session="))
        .map(str::to_string)
}

pub async fn read(request: reqwest::RequestBuilder) -> TestResponse {
    let response = request.send().await.unwrap();
    TestResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap(),
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Run a case on SQLite, and on PostgreSQL when `TORN_TEST_POSTGRES_URL` is set.
#[allow(unused_macros)]
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = torn::test::TestDatabase::sqlite();
                    super::$name(&crate::accounts_app::Target { db: db.url().to_string(), redis: None }).await;
                    drop(db);
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = torn::test::TestDatabase::postgres().await else {
                        crate::common::skipped(
                            concat!("accounts::postgres::", stringify!($name)),
                            "TORN_TEST_POSTGRES_URL is not set",
                        );
                        return;
                    };
                    super::$name(&crate::accounts_app::Target { db: db.url().to_string(), redis: None }).await;
                    drop(db);
                }
            )+
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both;

/// Run a case with sessions in Redis when `TORN_TEST_REDIS_URL` is set (users in SQLite).
#[allow(unused_macros)]
macro_rules! on_redis {
    ($($name:ident),+ $(,)?) => {
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Ok(redis) = std::env::var("TORN_TEST_REDIS_URL") else {
                        crate::common::skipped(
                            concat!("accounts::redis::", stringify!($name)),
                            "TORN_TEST_REDIS_URL is not set",
                        );
                        return;
                    };
                    let db = torn::test::TestDatabase::sqlite();
                    super::$name(&crate::accounts_app::Target { db: db.url().to_string(), redis: Some(redis) }).await;
                    drop(db);
                }
            )+
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_redis;
