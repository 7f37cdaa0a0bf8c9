//! Passkeys: added, renamed and removed on `/account/passkeys`, used to log in from the log-in
//! page without a password, and to confirm a sensitive change instead of the password.
//!
//! The browser's side (WebAuthn) is `static/js/passkeys.js`. Each ceremony is one JSON
//! endpoint, XSRF-checked like every POST (the script sends the page's token as
//! `X-XSRFToken`): a body without `credential` begins it and gets the options for the
//! browser; the browser's answer, as `credential`, finishes it. Errors are
//! `{"error": "…"}` with a status that says what kind.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use torn::auth::{Passkey, safe_next};
use torn::mail::Mailer;
use torn::{Accounts, AuthError, CurrentUser, Flash, Page, PageContext, Session, User};

/// `templates/passkeys.html`.
#[derive(Template)]
#[template(path = "passkeys.html")]
pub struct PasskeysPage {
    ctx: PageContext,
    user: User,
    passkeys: Vec<Passkey>,
    /// The pages offer passkeys (`passkeys` is on and `base_url` is a name).
    offered: bool,
    /// The password (or a passkey) was given lately: the forms do not ask for it.
    sudo: bool,
    error: Option<String>,
}

impl PasskeysPage {
    async fn new(
        ctx: PageContext,
        accounts: &Accounts,
        session: &Session,
        user: User,
    ) -> torn::Result<Self> {
        Ok(PasskeysPage {
            passkeys: accounts.passkeys(&user).await?,
            offered: accounts.passkeys_offered(),
            sudo: accounts.sudo_until(session).await?.is_some(),
            ctx,
            user,
            error: None,
        })
    }
}

/// A refusal as JSON: 429 with `Retry-After` when throttled, 404 when the site offers no
/// passkeys, 422 for what the person can fix, 400 for an answer that does not hold.
fn refused(e: AuthError) -> torn::Result<Response> {
    let status = match &e {
        AuthError::Internal(_) => return Err(torn::Error::from(e)),
        AuthError::Throttled { retry_after } => {
            let body = Json(json!({ "error": e.to_string() }));
            return Ok(super::auth::too_many(body, *retry_after));
        }
        AuthError::PasskeysUnavailable => StatusCode::NOT_FOUND,
        AuthError::PasskeyRefused | AuthError::PasskeyExpired => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok((status, Json(json!({ "error": e.to_string() }))).into_response())
}

/// Where the page script goes next.
fn go_to(url: &str) -> Response {
    Json(json!({ "redirect": url })).into_response()
}

/// Tell the account a passkey was added or removed (a mail that cannot go is logged: the
/// change is made).
async fn tell(ctx: &PageContext, mailer: &Mailer, user: &User, name: &str, added: bool) {
    let list = match ctx.url("account_passkeys") {
        Ok(path) => format!("{}{path}", ctx.base_url()),
        Err(_) => ctx.base_url().to_string(),
    };
    let email = super::mail::passkey_changed(&user.email, name, added, &list);
    super::mail::notify(mailer, email, "that a passkey changed").await;
}

/// `/account/passkeys`.
pub struct AccountPasskeys;

/// What the passkeys page's forms post.
#[derive(Deserialize)]
pub struct PasskeyForm {
    action: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    current_password: String,
}

impl AccountPasskeys {
    /// The account's passkeys, and the form that adds one.
    pub async fn get(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        CurrentUser(user): CurrentUser,
    ) -> torn::Result<Response> {
        let page = PasskeysPage::new(ctx, &accounts, &session, user).await?;
        if page.passkeys.is_empty() && !page.offered {
            return Err(torn::Error::not_found());
        }
        Ok(Page(page).into_response())
    }

    /// Rename a passkey (`action=rename`, `id`, `name`), or remove one (`action=remove`, `id`,
    /// and the password outside the sudo window).
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        mailer: Mailer,
        flash: Flash,
        CurrentUser(user): CurrentUser,
        Form(form): Form<PasskeyForm>,
    ) -> torn::Result<Response> {
        let id = form.id.parse::<i64>().unwrap_or(0);
        let outcome = match form.action.as_str() {
            "rename" => accounts
                .rename_passkey(&user, id, &form.name)
                .await
                .map(|renamed| {
                    if renamed {
                        flash.success("The passkey is renamed.");
                    } else {
                        flash.error("That passkey was removed.");
                    }
                }),
            "remove" => {
                let password = Some(form.current_password.as_str());
                match accounts.remove_passkey(&session, &user, password, id).await {
                    Ok(Some(passkey)) => {
                        tell(&ctx, &mailer, &user, &passkey.name, false).await;
                        flash.success("The passkey is removed: it no longer logs in.");
                        Ok(())
                    }
                    Ok(None) => {
                        flash.error("That passkey was removed already.");
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            _ => return Err(torn::Error::bad_request("unknown action")),
        };
        match outcome {
            Ok(()) => Ok(Redirect::to(&ctx.url("account_passkeys")?).into_response()),
            Err(AuthError::Internal(e)) => Err(e),
            Err(e) => {
                let retry_after = e.retry_after();
                let mut page = PasskeysPage::new(ctx, &accounts, &session, user).await?;
                page.error = Some(e.to_string());
                match retry_after {
                    Some(retry_after) => Ok(super::auth::too_many(Page(page), retry_after)),
                    None => Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response()),
                }
            }
        }
    }
}

torn::handler!(AccountPasskeys => get, post);

/// What the page script posts to the passkey endpoints.
#[derive(Deserialize)]
pub struct Ceremony {
    /// The browser's answer (`credential.toJSON()`); absent to begin.
    #[serde(default)]
    credential: Option<Value>,
    /// A new passkey's name.
    #[serde(default)]
    name: String,
    /// The password, outside the sudo window, to add a passkey.
    #[serde(default)]
    current_password: String,
    /// Where a log-in goes after (a path on this site).
    #[serde(default)]
    next: String,
    /// Keep the log-in for `remember_me`.
    #[serde(default)]
    remember: bool,
}

/// `/account/passkeys/register`: add a passkey (a sensitive change).
pub struct PasskeyRegister;

impl PasskeyRegister {
    /// Begin (`name`, and `current_password` outside the sudo window), or finish
    /// (`credential`).
    #[allow(clippy::too_many_arguments, reason = "one argument per extractor")]
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        mailer: Mailer,
        flash: Flash,
        CurrentUser(user): CurrentUser,
        Json(body): Json<Ceremony>,
    ) -> torn::Result<Response> {
        let Some(credential) = body.credential else {
            let password = Some(body.current_password.as_str());
            return match accounts
                .start_passkey_registration(&session, &user, password, &body.name)
                .await
            {
                Ok(options) => Ok(Json(options).into_response()),
                Err(e) => refused(e),
            };
        };
        match accounts
            .finish_passkey_registration(&session, &user, &credential.to_string())
            .await
        {
            Ok(passkey) => {
                tell(&ctx, &mailer, &user, &passkey.name, true).await;
                flash.success("The passkey is added: it logs you in from the log-in page.");
                Ok(go_to(&ctx.url("account_passkeys")?))
            }
            Err(e) => refused(e),
        }
    }
}

torn::handler!(PasskeyRegister => post);

/// `/account/passkeys/confirm`: confirm it is you with a passkey, as the password does before
/// sensitive changes.
pub struct PasskeyConfirm;

impl PasskeyConfirm {
    /// Begin (no `credential`), or finish (`credential`): the sudo window opens.
    pub async fn post(
        accounts: Accounts,
        session: Session,
        CurrentUser(user): CurrentUser,
        Json(body): Json<Ceremony>,
    ) -> torn::Result<Response> {
        let Some(credential) = body.credential else {
            return match accounts.start_passkey_confirmation(&session, &user).await {
                Ok(options) => Ok(Json(options).into_response()),
                Err(e) => refused(e),
            };
        };
        match accounts
            .confirm_with_passkey(&session, &user, &credential.to_string())
            .await
        {
            Ok(()) => Ok(Json(json!({ "confirmed": true })).into_response()),
            Err(e) => refused(e),
        }
    }
}

torn::handler!(PasskeyConfirm => post);

/// `/auth/login/passkey`: log in with a passkey, without a password or an email.
pub struct PasskeyLogIn;

impl PasskeyLogIn {
    /// Begin (no `credential`), or finish (`credential`, `next`, `remember`): logged in, and
    /// the script goes to `next`.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        Json(body): Json<Ceremony>,
    ) -> torn::Result<Response> {
        let Some(credential) = body.credential else {
            return match accounts.start_passkey_log_in(&session).await {
                Ok(options) => Ok(Json(options).into_response()),
                Err(e) => refused(e),
            };
        };
        match accounts
            .log_in_with_passkey(&session, &credential.to_string(), body.remember)
            .await
        {
            Ok(_) => {
                // A new XSRF token: one known before the log-in is worthless after it.
                ctx.new_xsrf_token();
                let home = ctx.url("home")?;
                Ok(go_to(safe_next(&body.next).unwrap_or(&home)))
            }
            Err(e) => refused(e),
        }
    }
}

torn::handler!(PasskeyLogIn => post);
