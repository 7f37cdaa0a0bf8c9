//! A torn server with accounts, for `login-load`: `GET /` is a hello page, `POST /login` checks
//! a password and logs in (torn's accounts: argon2id off the async threads), and
//! `POST /login-inline` checks the same password on the async thread, as a naive server would,
//! for comparison. Both log-in routes skip XSRF (the load generator is not a browser).
//!
//! usage: login-server PORT DB_DIR

use std::net::SocketAddr;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
use axum::Form;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use torn::auth::SignUp;
use torn::db::Db;
use torn::{Accounts, App, Session, Settings};

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "benchmark password 2026";

#[derive(serde::Deserialize)]
struct Login {
    email: String,
    password: String,
}

async fn login(
    accounts: Accounts,
    session: Session,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Form(f): Form<Login>,
) -> StatusCode {
    match accounts
        .authenticate(&f.email, &f.password, client.ip())
        .await
    {
        Ok(user) => match accounts.log_in(&session, &user, false).await {
            Ok(torn::auth::LogIn::Done) => StatusCode::NO_CONTENT,
            // The benchmark's accounts have no second factor.
            Ok(torn::auth::LogIn::SecondStep) => StatusCode::ACCEPTED,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        },
        Err(_) => StatusCode::UNAUTHORIZED,
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .and_then(|p| p.parse().ok())
        .expect("usage: login-server PORT DB_DIR");
    let dir = std::path::PathBuf::from(args.next().expect("usage: login-server PORT DB_DIR"));
    let mut settings = Settings::for_test(&dir);
    settings.server.port = port;
    let settings = Arc::new(settings);
    let db = Db::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("bench.db").display()
    ))
    .await
    .expect("database");
    let migrations =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/app/migrations");
    db.migrate(&Db::migrator_from(&migrations).await.expect("migrations"))
        .await
        .expect("migrate");
    let accounts = Accounts::new(db, settings.clone()).await.expect("accounts");
    let hash = match accounts.sign_up(EMAIL, PASSWORD).await {
        Ok(SignUp::Created { .. } | SignUp::AlreadyRegistered { .. }) => {
            torn::with_db!(accounts.db(), pool => {
                sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE email = $1")
                    .bind(EMAIL)
                    .fetch_one(pool)
                    .await
            })
            .expect("the bench user")
        }
        Err(e) => panic!("sign-up failed: {e}"),
    };
    let inline = post(move |Form(f): Form<Login>| {
        let hash = hash.clone();
        async move {
            // Wrong on purpose: the hash runs on the async worker thread.
            let parsed = PasswordHash::new(&hash).expect("hash");
            match argon2::Argon2::default().verify_password(f.password.as_bytes(), &parsed) {
                Ok(()) => StatusCode::NO_CONTENT,
                Err(_) => StatusCode::UNAUTHORIZED,
            }
        }
    });
    let app = App::new((*settings).clone())
        .accounts(accounts)
        .route("/", get(|| async { Html(torn_bench::HELLO) }))
        .route("/login", post(login))
        .route("/login-inline", inline)
        .xsrf_exempt("/login")
        .xsrf_exempt("/login-inline");
    app.serve().await.expect("serve");
}
