//! The social log-in test app and its fixtures, shared by the social log-in suites: an app with
//! accounts and social log-in on SQLite or PostgreSQL, providers pointed at local servers, a
//! browser that goes through a provider and back.
#![allow(dead_code)]

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use torn::db::Db;
use torn::oauth::{ClientAuth, Endpoints, ProfileSource, ProviderConfig};
use torn::password::Hasher;
use torn::test::{TestResponse, TestServer};
use torn::{Accounts, App, CurrentUser, PageContext, Settings, SocialLogin};

pub const PASSWORD: &str = "correct horse battery staple";

async fn token(ctx: PageContext) -> String {
    ctx.xsrf_token()
}

async fn me(CurrentUser(user): CurrentUser) -> String {
    user.email
}

#[derive(serde::Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

/// Log in with a password (the app's log-in form, without its page).
async fn login(
    accounts: Accounts,
    session: torn::Session,
    torn::ClientIp(client): torn::ClientIp,
    axum::Form(f): axum::Form<Credentials>,
) -> Response {
    match accounts.authenticate(&f.email, &f.password, client).await {
        Ok(user) => match accounts.log_in(&session, &user, false).await {
            Ok(_) => "logged in".into_response(),
            Err(e) => {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
            }
        },
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct Code {
    code: String,
}

/// The second step of a log-in (two-factor authentication), without its page.
async fn second_step(
    accounts: Accounts,
    session: torn::Session,
    axum::Form(f): axum::Form<Code>,
) -> Response {
    match accounts.second_step(&session, &f.code).await {
        Ok(done) => format!("logged in as {}", done.user.email).into_response(),
        Err(e) => (axum::http::StatusCode::UNAUTHORIZED, e.to_string()).into_response(),
    }
}

async fn account(CurrentUser(user): CurrentUser, ctx: PageContext) -> Response {
    let flashes: Vec<String> = ctx.flashes().into_iter().map(|f| f.message).collect();
    format!("{} {}", user.email, flashes.join(" | ")).into_response()
}

pub struct Fixture {
    pub server: TestServer,
    pub accounts: Accounts,
    pub social: SocialLogin,
    _dir: tempfile::TempDir,
    pg: Option<torn::test::TestDatabase>,
}

impl Fixture {
    pub async fn cleanup(self) {
        drop(self.server);
        drop(self.pg);
    }

    pub async fn user_count(&self) -> i64 {
        torn::with_db!(self.accounts.db(), pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await
        })
        .unwrap()
    }
}

pub fn oidc_provider(issuer: &str) -> ProviderConfig {
    ProviderConfig {
        name: "mock".into(),
        label: "Mock ID".into(),
        client_id: "torn-test".into(),
        client_secret: Some("test-secret".into()),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        endpoints: Endpoints::Discovery {
            issuer: issuer.into(),
        },
        profile: ProfileSource::IdToken,
        client_auth: ClientAuth::Basic,
    }
}

pub fn plain_oauth2_provider(issuer: &str) -> ProviderConfig {
    ProviderConfig {
        name: "plain".into(),
        label: "Plain OAuth".into(),
        client_id: "torn-test".into(),
        client_secret: Some("test-secret".into()),
        scopes: vec!["email".into()],
        endpoints: Endpoints::Fixed {
            auth_url: format!("{issuer}/authorize"),
            token_url: format!("{issuer}/token"),
            profile_url: format!("{issuer}/userinfo"),
            issuer: issuer.into(),
        },
        profile: ProfileSource::UserInfo,
        client_auth: ClientAuth::Body,
    }
}

pub async fn app(
    postgres: bool,
    providers: Vec<ProviderConfig>,
    tune: impl FnOnce(SocialLogin, &mut Settings) -> SocialLogin,
) -> Option<Fixture> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    app_on(listener, postgres, providers, tune).await
}

pub async fn app_on(
    listener: tokio::net::TcpListener,
    postgres: bool,
    providers: Vec<ProviderConfig>,
    tune: impl FnOnce(SocialLogin, &mut Settings) -> SocialLogin,
) -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, pg) = if postgres {
        let pg = torn::test::TestDatabase::postgres().await?;
        (pg.url().to_string(), Some(pg))
    } else {
        (
            format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display()),
            None,
        )
    };
    let mut settings = Settings::for_test(dir.path());
    settings.server.base_url = format!("http://{}", listener.local_addr().unwrap());
    settings.oauth.timeout = Duration::from_secs(1);
    let db = Db::connect(&db_url).await.unwrap();
    let migrations = common::workspace_root().join("templates/app/migrations");
    db.migrate(&Db::migrator_from(&migrations).await.unwrap())
        .await
        .unwrap();
    let settings_arc = Arc::new(settings.clone());
    let accounts = Accounts::new(db, settings_arc)
        .await
        .unwrap()
        .with_hasher(Hasher::new(argon2::Params::new(256, 1, 1, None).unwrap()));
    let social = SocialLogin::with_providers(accounts.clone(), &settings, providers).unwrap();
    let social = tune(social, &mut settings);
    let app = App::new(settings)
        .accounts(accounts.clone())
        .social_login(social.clone())
        .route("/token", get(token))
        .route("/me", get(me))
        .route("/login", axum::routing::post(login))
        .named("account", "/account", get(account))
        .named(
            "two_factor",
            "/auth/login/code",
            axum::routing::post(second_step),
        );
    Some(Fixture {
        server: TestServer::start_on(listener, app).await,
        accounts,
        social,
        _dir: dir,
        pg,
    })
}

/// A browser with its own cookie jar that does not follow redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(f: &Fixture) -> Self {
        Browser {
            client: torn::test::browser_client(),
            base: f.server.url(""),
        }
    }

    pub async fn get(&self, path_or_url: &str) -> TestResponse {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        read(self.client.get(url)).await
    }

    pub async fn post(&self, path: &str, with_xsrf: bool) -> TestResponse {
        let mut form = Vec::new();
        let xsrf;
        if with_xsrf {
            xsrf = self.get("/token").await.text;
            form.push(("_xsrf", xsrf.as_str()));
        }
        read(self.client.post(format!("{}{path}", self.base)).form(&form)).await
    }

    /// `POST path` with the XSRF token and `fields`.
    pub async fn post_fields(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let xsrf = self.get("/token").await.text;
        let mut form = vec![("_xsrf", xsrf.as_str())];
        form.extend_from_slice(fields);
        read(self.client.post(format!("{}{path}", self.base)).form(&form)).await
    }

    /// Log in with a password through the app's form.
    pub async fn log_in(&self, email: &str, password: &str) -> TestResponse {
        let xsrf = self.get("/token").await.text;
        read(self.client.post(format!("{}/login", self.base)).form(&[
            ("_xsrf", xsrf.as_str()),
            ("email", email),
            ("password", password),
        ]))
        .await
    }

    /// Start at `start` and follow redirects through the provider back to the app; returns
    /// the app's answer to the callback.
    pub async fn through_provider(&self, start: TestResponse) -> TestResponse {
        assert_eq!(start.status, 303, "{}", start.text);
        let to_provider = start.header("location").unwrap().to_string();
        let back = self.get(&to_provider).await;
        assert_eq!(back.status, 302, "{}", back.text);
        let callback = back.header("location").unwrap().to_string();
        assert!(
            callback.starts_with(&format!("{}/auth/", self.base)),
            "{callback}"
        );
        self.get(&callback).await
    }

    /// Go through a provider's own pages (log-in form, consent) as a person would, logging in
    /// as `login`, until the provider sends the browser back to the app; returns that URL.
    pub async fn through_pages(&self, mut url: String, login: &str) -> String {
        let mut form: Option<Vec<(String, String)>> = None;
        for _ in 0..20 {
            let r = match form.take() {
                Some(fields) => read(self.client.post(&url).form(&fields)).await,
                None => self.get(&url).await,
            };
            if (300..400).contains(&r.status) {
                let location = r.header("location").unwrap();
                url = if location.starts_with("http") {
                    location.to_string()
                } else {
                    let origin: String = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
                    format!("{origin}{location}")
                };
                if url.starts_with(&self.base) {
                    return url;
                }
                continue;
            }
            assert_eq!(r.status, 200, "{url}: {}", r.text);
            let at = r.text.find("<form").expect("a page with a form");
            let tag = &r.text[at..at + r.text[at..].find('>').unwrap()];
            let action_at = tag.find("action=\"").unwrap() + "action=\"".len();
            url = tag[action_at..action_at + tag[action_at..].find('"').unwrap()].to_string();
            let mut fields = vec![(
                "prompt".to_string(),
                torn::test::form_field(&r.text, "prompt").unwrap_or_default(),
            )];
            if r.text.contains("name=\"login\"") {
                fields.push(("login".into(), login.into()));
                fields.push(("password".into(), "any password".into()));
            }
            form = Some(fields);
        }
        panic!("the provider never sent the browser back");
    }

    /// The provider's redirect back to the app, without following it.
    pub async fn callback_url(&self, login_path: &str) -> String {
        let start = self.get(login_path).await;
        assert_eq!(start.status, 303, "{}", start.text);
        let back = self.get(start.header("location").unwrap()).await;
        back.header("location").unwrap().to_string()
    }
}

pub async fn read(request: reqwest::RequestBuilder) -> TestResponse {
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    TestResponse {
        status,
        headers,
        text,
    }
}

pub fn mock_or_skip() -> Option<common::OidcMock> {
    common::oauth_servers_available().then(common::OidcMock::start)
}
