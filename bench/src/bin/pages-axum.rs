//! The hand-written twin of the starter's pages for `bench/pages.sh`: bare axum doing by hand
//! the work torn does for the same pages, with no framework. It renders the starter's own
//! templates (`askama.toml` points at them) with a context of its own, and reads the starter's
//! database:
//!
//! - `/`: the home page for a visitor: the `_xsrf` cookie read (or made, and set), a masked token
//!   in the form, static URLs with their content hash (worked out at start-up), the security
//!   headers torn sends;
//! - `/account`: the logged-in page: the session cookie, one statement for the session and its
//!   user (the same join torn makes), the record decoded and checked (user id, stamp, absolute
//!   timeout), the page rendered;
//! - `/fortunes`: the fortunes page (`torn_bench::fortunes`), from a SQLite file of its own;
//! - `/static/…`: the starter's `static/` folder through tower-http's `ServeDir`.
//!
//!     pages-axum PORT STARTER_DATABASE_URL FORTUNES_DATABASE_URL

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;
use tower_http::set_header::SetResponseHeaderLayer;

/// The starter's session table and its user, as torn reads them.
const SESSION_AND_USER: &str = "SELECT s.data, u.id, u.email, u.password_hash, \
     u.email_verified_at, u.created_at, u.security_stamp FROM {table} s \
     LEFT JOIN user_sessions us ON us.session_id = s.id \
     LEFT JOIN users u ON u.id = us.user_id WHERE s.id = $1 AND s.expiry_date > $2";

/// The routes the starter's templates name.
const ROUTES: [(&str, &str); 13] = [
    ("home", "/"),
    ("greet", "/greet"),
    ("login", "/auth/login"),
    ("signup", "/auth/signup"),
    ("logout", "/auth/logout"),
    ("forgot", "/auth/forgot"),
    ("chat", "/chat"),
    ("account", "/account"),
    ("account_email", "/account/email"),
    ("account_password", "/account/password"),
    ("account_sessions", "/account/sessions"),
    ("two_factor_settings", "/account/two-factor"),
    ("account_tokens", "/account/tokens"),
];

/// A user row.
struct User {
    id: i64,
    email: String,
    password_hash: Option<String>,
    email_verified_at: Option<i64>,
    security_stamp: i64,
}

impl User {
    fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
}

/// What the templates read as `ctx.settings().accounts`.
struct AccountLimits {
    password_min_length: usize,
    password_max_length: usize,
    two_factor: bool,
    api_tokens: bool,
    passkeys: bool,
}

/// What the templates read as `ctx.settings()`.
struct SettingsView {
    accounts: AccountLimits,
}

/// What the templates read as a flash message.
struct FlashMessage {
    level: String,
    message: String,
}

/// The templates' `ctx`, by hand.
struct Ctx {
    app: Arc<AppState>,
    user: Option<User>,
    /// The `_xsrf` cookie's raw token.
    xsrf: [u8; 16],
    xsrf_time: u64,
}

impl Ctx {
    fn url(&self, name: &str) -> Result<&'static str, askama::Error> {
        ROUTES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, path)| *path)
            .ok_or(askama::Error::Fmt)
    }

    fn static_url(&self, path: &str) -> String {
        self.app
            .static_urls
            .get(path)
            .cloned()
            .unwrap_or_else(|| format!("/static/{path}"))
    }

    fn xsrf_form_html(&self) -> String {
        format!(
            r#"<input type="hidden" name="_xsrf" value="{}">"#,
            masked(&self.xsrf, self.xsrf_time)
        )
    }

    fn xsrf_token(&self) -> String {
        masked(&self.xsrf, self.xsrf_time)
    }

    /// The app's address, as torn's `base_url` (an IP address, so no passkeys are offered).
    fn base_url(&self) -> &'static str {
        "http://127.0.0.1:8888"
    }

    fn passkeys_offered(&self) -> bool {
        false
    }

    fn flashes(&self) -> Vec<FlashMessage> {
        Vec::new()
    }

    fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    fn settings(&self) -> &SettingsView {
        &self.app.settings
    }
}

/// Tornado's version-2 masked token: `2|mask|masked token|time`.
fn masked(token: &[u8; 16], time: u64) -> String {
    let mut mask = [0u8; 4];
    rand::thread_rng().fill_bytes(&mut mask);
    let masked: Vec<u8> = token
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    format!("2|{}|{}|{time}", hex::encode(mask), hex::encode(masked))
}

/// The raw token of a `_xsrf` cookie, if it is one.
fn unmask(cookie: &str) -> Option<([u8; 16], u64)> {
    let mut parts = cookie.split('|');
    if parts.next()? != "2" {
        return None;
    }
    let mask = hex::decode(parts.next()?).ok()?;
    let masked = hex::decode(parts.next()?).ok()?;
    let time = parts.next()?.parse().ok()?;
    if mask.len() != 4 || masked.len() != 16 {
        return None;
    }
    let mut token = [0u8; 16];
    for (i, b) in masked.iter().enumerate() {
        token[i] = b ^ mask[i % 4];
    }
    Some((token, time))
}

/// The starter's `home.html`.
#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Ctx,
}

/// The starter's `account.html`.
#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: Ctx,
    user: User,
    error: Option<String>,
    providers: Vec<ProviderRow>,
    /// The sudo window: open, as on torn's page in `bench/pages.sh`, whose browser logged in
    /// with its password moments before.
    sudo: bool,
    two_factor: TwoFactorStatus,
    devices: Vec<torn::auth::DeviceSession>,
}

/// The statement torn's account page runs for its device list.
const DEVICES: &str = "SELECT session_id, created_at, last_seen_at, user_agent, ip \
     FROM user_sessions WHERE user_id = $1 ORDER BY COALESCE(last_seen_at, created_at) DESC";

/// The account's sessions, as torn lists them (the benchmark's account has one session, this
/// one, so torn looks no record up in the store).
async fn devices(
    db: &Pool,
    user_id: i64,
    current: &str,
) -> Result<Vec<torn::auth::DeviceSession>, sqlx::Error> {
    type Row = (String, i64, Option<i64>, Option<String>, Option<String>);
    let rows: Vec<Row> = match db {
        Pool::Sqlite(pool) => {
            sqlx::query_as(DEVICES)
                .bind(user_id)
                .fetch_all(pool)
                .await?
        }
        Pool::Postgres(pool) => {
            sqlx::query_as(DEVICES)
                .bind(user_id)
                .fetch_all(pool)
                .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(
            |(id, created_at, last_seen_at, user_agent, ip)| torn::auth::DeviceSession {
                handle: hex::encode(&Sha256::digest(id.as_bytes())[..16]),
                created_at,
                last_seen_at,
                user_agent,
                ip,
                current: id == current,
            },
        )
        .collect())
}

/// Two-factor authentication on the account page, read as torn reads it.
struct TwoFactorStatus {
    on: bool,
    recovery_codes_left: i64,
}

/// The statement torn's account page runs for two-factor authentication.
const TWO_FACTOR: &str = "SELECT (SELECT COUNT(*) FROM user_two_factor WHERE user_id = $1 \
     AND confirmed_at IS NOT NULL), (SELECT COUNT(*) FROM user_recovery_codes \
     WHERE user_id = $1 AND used_at IS NULL)";

async fn two_factor(db: &Pool, user_id: i64) -> Result<TwoFactorStatus, sqlx::Error> {
    let (on, left): (i64, i64) = match db {
        Pool::Sqlite(pool) => {
            sqlx::query_as(TWO_FACTOR)
                .bind(user_id)
                .fetch_one(pool)
                .await?
        }
        Pool::Postgres(pool) => {
            sqlx::query_as(TWO_FACTOR)
                .bind(user_id)
                .fetch_one(pool)
                .await?
        }
    };
    Ok(TwoFactorStatus {
        on: on > 0,
        recovery_codes_left: if on > 0 { left } else { 0 },
    })
}

/// A provider row of the account page (the starter has none configured here).
struct ProviderRow {
    label: String,
    linked_as: Option<String>,
    linked: bool,
    action: String,
}

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct AppState {
    db: Pool,
    fortunes: sqlx::SqlitePool,
    static_urls: HashMap<String, String>,
    settings: SettingsView,
    statement: String,
}

type Shared = Arc<AppState>;

/// The browser's XSRF token, or a new one and the cookie that sets it.
fn xsrf(headers: &HeaderMap) -> ([u8; 16], u64, Option<HeaderValue>) {
    let jar = axum_extra::extract::CookieJar::from_headers(headers);
    if let Some((token, time)) = jar.get("_xsrf").and_then(|c| unmask(c.value())) {
        return (token, time, None);
    }
    let mut token = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut token);
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let cookie = format!(
        "_xsrf={}; HttpOnly; SameSite=Lax; Path=/",
        masked(&token, time)
    );
    (token, time, HeaderValue::from_str(&cookie).ok())
}

fn render(page: &impl Template, set_cookie: Option<HeaderValue>) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            if let Some(cookie) = set_cookie {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn home(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let (xsrf, xsrf_time, set_cookie) = xsrf(&headers);
    let page = HomePage {
        ctx: Ctx {
            app,
            user: None,
            xsrf,
            xsrf_time,
        },
    };
    render(&page, set_cookie)
}

/// The logged-in user of the session cookie: one statement, then torn's checks.
async fn logged_in(app: &AppState, headers: &HeaderMap) -> Result<Option<User>, sqlx::Error> {
    let jar = axum_extra::extract::CookieJar::from_headers(headers);
    let Some(id) = jar.get("torn_session").map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    let now = time::OffsetDateTime::now_utc();
    let row: Option<(Vec<u8>, Option<User>)> = match &app.db {
        Pool::Sqlite(pool) => {
            let row = sqlx::query(&app.statement)
                .bind(&id)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            row.map(|r| (r.get(0), user_of(&r)))
        }
        Pool::Postgres(pool) => {
            let row = sqlx::query(&app.statement)
                .bind(&id)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            row.map(|r| (r.get(0), user_of(&r)))
        }
    };
    let Some((data, Some(user))) = row else {
        return Ok(None);
    };
    let Ok(record) = rmp_serde::from_slice::<tower_sessions::session::Record>(&data) else {
        return Ok(None);
    };
    let field = |key: &str| record.data.get(key).and_then(serde_json::Value::as_i64);
    let fresh = field("torn.auth_at").is_some_and(|at| {
        let age = now.unix_timestamp() - at;
        age < 14 * 24 * 3600
    });
    if field("torn.user_id") == Some(user.id)
        && field("torn.stamp") == Some(user.security_stamp)
        && fresh
    {
        Ok(Some(user))
    } else {
        Ok(None)
    }
}

fn user_of<R: sqlx::Row>(row: &R) -> Option<User>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Some(User {
        id: row.get::<Option<i64>, _>(1)?,
        email: row.get::<Option<String>, _>(2)?,
        password_hash: row.get(3),
        email_verified_at: row.get(4),
        security_stamp: row.get::<Option<i64>, _>(6)?,
    })
}

async fn account(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let user = match logged_in(&app, &headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/auth/login?next=%2Faccount").into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let two_factor = match two_factor(&app.db, user.id).await {
        Ok(status) => status,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let session_id = axum_extra::extract::CookieJar::from_headers(&headers)
        .get("torn_session")
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let devices = match devices(&app.db, user.id, &session_id).await {
        Ok(devices) => devices,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let (xsrf, xsrf_time, set_cookie) = self::xsrf(&headers);
    let page = AccountPage {
        ctx: Ctx {
            app: app.clone(),
            user: Some(User {
                id: user.id,
                email: user.email.clone(),
                password_hash: user.password_hash.clone(),
                email_verified_at: user.email_verified_at,
                security_stamp: user.security_stamp,
            }),
            xsrf,
            xsrf_time,
        },
        user,
        error: None,
        providers: Vec::new(),
        sudo: true,
        two_factor,
        devices,
    };
    let mut response = render(&page, set_cookie);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn fortunes(State(app): State<Shared>) -> Response {
    match torn_bench::fortunes::page(&app.fortunes).await {
        Ok(page) => render(&page, None),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `/static/<path>?v=<hash>` for every file of the folder, as torn's `static_url` gives them.
fn static_urls(root: &std::path::Path) -> HashMap<String, String> {
    let mut urls = HashMap::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if let (Ok(bytes), Ok(rel)) = (std::fs::read(&path), path.strip_prefix(root)) {
                let rel = rel.to_string_lossy().to_string();
                let hash = hex::encode(&Sha256::digest(&bytes)[..8]);
                urls.insert(rel.clone(), format!("/static/{rel}?v={hash}"));
            }
        }
    }
    urls
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(2);
    let (Some(starter_db), Some(fortunes_db)) = (args.next(), args.next()) else {
        panic!("usage: pages-axum PORT STARTER_DATABASE_URL FORTUNES_DATABASE_URL");
    };
    let (db, table) = if starter_db.starts_with("postgres") {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect(&starter_db)
            .await
            .expect("PostgreSQL");
        (Pool::Postgres(pool), "\"tower_sessions\".\"session\"")
    } else {
        (Pool::Sqlite(sqlite(&starter_db).await), "tower_sessions")
    };
    let fortunes_pool = sqlite(&fortunes_db).await;
    torn_bench::fortunes::prepare(&fortunes_pool)
        .await
        .expect("the fortune table");
    let static_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../starter/static");
    let state = Arc::new(AppState {
        db,
        fortunes: fortunes_pool,
        static_urls: static_urls(&static_root),
        settings: SettingsView {
            accounts: AccountLimits {
                password_min_length: 8,
                password_max_length: 128,
                two_factor: true,
                api_tokens: true,
                passkeys: true,
            },
        },
        statement: SESSION_AND_USER.replace("{table}", table),
    });
    let headers = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
                 frame-ancestors 'self'; form-action 'self'",
            ),
        ));
    let app = Router::new()
        .route("/", get(home))
        .route("/account", get(account))
        .route("/fortunes", get(fortunes))
        .nest_service("/static", tower_http::services::ServeDir::new(static_root))
        .layer(headers)
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", torn_bench::port_arg()))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

/// A SQLite pool as torn's `Db::connect` makes it (WAL, foreign keys, 8 connections).
async fn sqlite(url: &str) -> sqlx::SqlitePool {
    use std::str::FromStr as _;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .expect("a SQLite URL")
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("SQLite")
}
