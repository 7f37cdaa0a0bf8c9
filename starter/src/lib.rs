//! starter, a torn app.

pub mod handlers;
// torn:modules

use torn::db::Db;
use torn::mail::Mailer;
use torn::{App, Error, Settings};

/// The app's migrations (`migrations/`), built into the binary and run at start-up.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The database when `database_url` is not set: a file in the app's folder.
const DEFAULT_DATABASE: &str = "sqlite://starter.db?mode=rwc";

/// Build the app from its settings: the database, mail, and every route, named, in one place.
/// `torn gen` adds routes above the `// torn:routes` line.
pub async fn app(settings: Settings) -> torn::Result<App> {
    let url = settings.database.url.as_deref().unwrap_or(DEFAULT_DATABASE);
    let db = Db::connect(url).await.map_err(Error::internal)?;
    db.migrate(&MIGRATOR).await.map_err(Error::internal)?;
    let mailer = Mailer::from_settings(&settings).map_err(Error::internal)?;

    use handlers::{greet, home};
    let app = App::new(settings)
        .mailer(mailer)
        .error_page(handlers::error_page)
        .handler::<home::Home>("home", "/")
        .handler::<greet::Greet>("greet", "/greet");
    // Accounts: sign-up, log-in, email verification, password reset and the account page, and
    // "Log in with …" for each provider configured (TORN_OAUTH_GITHUB_CLIENT_ID, …).
    use handlers::{account, auth, magic, passkeys, tokens, two_factor, verify};
    let accounts = torn::Accounts::new(db.clone(), app.settings().clone()).await?;
    let social = torn::SocialLogin::new(accounts.clone(), app.settings())?;
    // Durable jobs in the app's database (`torn jobs` shows the queues): mail from
    // `send_later` goes through them, with retries, and expired sessions and tokens are
    // deleted hourly. `torn gen job NAME` adds kinds of job above `// torn:jobs`.
    let jobs = torn::Jobs::new(db.clone(), app.settings())
        .await?
        .schedule::<torn::jobs::PurgeExpired>("17 * * * *")?;
    // torn:jobs
    let app = app
        .jobs(jobs)
        .accounts(accounts)
        .social_login(social)
        .handler::<auth::SignUp>("signup", "/auth/signup")
        .handler::<auth::LogIn>("login", "/auth/login")
        .handler::<auth::LogOut>("logout", "/auth/logout")
        .handler::<verify::Verify>("verify", "/auth/verify")
        .handler::<verify::CheckEmail>("check_email", "/auth/check-email")
        .handler::<verify::Unverified>("unverified", "/auth/unverified")
        .handler::<auth::Forgot>("forgot", "/auth/forgot")
        .handler::<auth::Reset>("reset", "/auth/reset")
        .handler::<magic::MagicLink>("magic_link", "/auth/login/link")
        .handler::<magic::OpenMagicLink>("magic_link_open", "/auth/login/link/open")
        .handler::<two_factor::SecondStep>("two_factor", "/auth/login/code")
        .handler::<account::Account>("account", "/account")
        .handler::<account::AccountEmail>("account_email", "/account/email")
        .handler::<account::AccountEmailConfirm>("account_email_confirm", "/account/email/confirm")
        .handler::<account::AccountPassword>("account_password", "/account/password")
        .handler::<account::AccountSessions>("account_sessions", "/account/sessions")
        .handler::<two_factor::TwoFactor>("two_factor_settings", "/account/two-factor")
        // Passkeys: added on the account page, logging in from the log-in page.
        .handler::<passkeys::AccountPasskeys>("account_passkeys", "/account/passkeys")
        .handler::<passkeys::PasskeyRegister>("passkey_register", "/account/passkeys/register")
        .handler::<passkeys::PasskeyConfirm>("passkey_confirm", "/account/passkeys/confirm")
        .handler::<passkeys::PasskeyLogIn>("passkey_login", "/auth/login/passkey")
        // Personal API tokens, and the JSON API that takes them (`Authorization: Bearer …`,
        // no XSRF token) as well as the logged-in session (XSRF-checked).
        .handler::<tokens::AccountTokens>("account_tokens", "/account/tokens")
        .handler::<tokens::ApiMe>("api_me", "/api/me")
        .handler::<tokens::ApiGreet>("api_greet", "/api/greet")
        .bearer("/api/");
    // A live chat: messages reach every open /chat page at once, over a WebSocket, through
    // the pub/sub backend the settings choose (`pubsub`: LISTEN/NOTIFY on PostgreSQL).
    use handlers::chat;
    let pubsub = torn::PubSub::connect(app.settings(), Some(&db)).await?;
    let app = app
        .with_pubsub(pubsub)
        .handler::<chat::Chat>("chat", "/chat")
        .websocket::<chat::ChatSocket>("chat_socket", "/chat/socket");
    // torn:routes
    Ok(app.database(db))
}
