//! {{project-name}}, a torn app.

pub mod handlers;
// torn:modules

use std::sync::Arc;

use torn::db::Db;
use torn::mail::Mailer;
use torn::{Accounts, App, Error, Settings, SocialLogin};

/// The app's migrations (`migrations/`), built into the binary and run at start-up.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The database when `database_url` is not set: a file in the app's folder.
const DEFAULT_DATABASE: &str = "sqlite://{{crate_name}}.db?mode=rwc";

/// Build the app from its settings: the database, accounts, social log-in and mail, and every
/// route, named, in one place. `torn gen` adds routes above the `// torn:routes` line.
pub async fn app(settings: Settings) -> torn::Result<App> {
    let settings = Arc::new(settings);
    let url = settings.database_url.as_deref().unwrap_or(DEFAULT_DATABASE);
    let db = Db::connect(url).await.map_err(Error::internal)?;
    db.migrate(&MIGRATOR).await.map_err(Error::internal)?;
    let accounts = Accounts::new(db, settings.clone()).await?;
    let mailer = Mailer::from_settings(&settings).map_err(Error::internal)?;
    // "Sign in with …" for each provider configured (TORN_OAUTH_GITHUB_CLIENT_ID, …).
    let social = SocialLogin::new(accounts.clone(), &settings)?;

    use handlers::{account, auth, greet, home};
    let app = App::new((*settings).clone())
        .accounts(accounts)
        .social_login(social)
        .mailer(mailer)
        .error_page(handlers::error_page)
        .handler::<home::Home>("home", "/")
        .handler::<greet::Greet>("greet", "/greet")
        .handler::<auth::SignUp>("signup", "/auth/signup")
        .handler::<auth::LogIn>("login", "/auth/login")
        .handler::<auth::LogOut>("logout", "/auth/logout")
        .handler::<auth::Verify>("verify", "/auth/verify")
        .handler::<auth::CheckEmail>("check_email", "/auth/check-email")
        .handler::<auth::Forgot>("forgot", "/auth/forgot")
        .handler::<auth::Reset>("reset", "/auth/reset")
        .handler::<account::Account>("account", "/account")
        .handler::<account::AccountEmail>("account_email", "/account/email")
        .handler::<account::AccountPassword>("account_password", "/account/password")
        .handler::<account::AccountSessions>("account_sessions", "/account/sessions");
    // torn:routes
    Ok(app)
}
