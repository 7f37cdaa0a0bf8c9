//! Two-factor authentication: the code asked after the password (or a log-in link, or a
//! provider) when an account has it on, and the page that turns it on and off.
//!
//! Codes come from an authenticator app (TOTP); ten recovery codes, shown once, stand in for
//! the app. Turning it on, new recovery codes and turning it off ask for the password outside
//! the sudo window, and each is mailed to the account. `two_factor = false` in torn.toml stops
//! offering it; accounts that have it on keep it.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use torn::auth::{TwoFactorSetup, safe_next};
use torn::mail::Mailer;
use torn::{Accounts, AuthError, CurrentUser, Flash, Page, PageContext, Session, User};

use super::auth::{NextQuery, too_many};
use super::mail;

/// The app's name in authenticator apps.
const ISSUER: &str = "{{project-name}}";

/// `templates/auth/second_step.html`: the code, after the first step of a log-in.
#[derive(Template)]
#[template(path = "auth/second_step.html")]
pub struct SecondStepPage {
    ctx: PageContext,
    next: String,
    error: Option<String>,
}

/// The code typed in.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

/// `/auth/login/code`: the second step of a log-in.
pub struct SecondStep;

impl SecondStep {
    /// Ask for the code, if a log-in waits for one in this session.
    pub async fn get(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        Query(query): Query<NextQuery>,
    ) -> torn::Result<Response> {
        if accounts.pending_second_step(&session).await?.is_none() {
            return Ok(Redirect::to(&ctx.url("login")?).into_response());
        }
        Ok(Page(SecondStepPage {
            ctx,
            next: query.next,
            error: None,
        })
        .into_response())
    }

    /// Check the code and finish the log-in.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        flash: Flash,
        Form(form): Form<CodeForm>,
    ) -> torn::Result<Response> {
        let refused = |ctx, form: CodeForm, status, error: &AuthError| {
            let page = SecondStepPage {
                ctx,
                next: form.next,
                error: Some(error.to_string()),
            };
            (status, Page(page)).into_response()
        };
        match accounts.second_step(&session, &form.code).await {
            Ok(done) => {
                // A new XSRF token: one known before the log-in is worthless after it.
                ctx.new_xsrf_token();
                if done.recovery_code_used {
                    flash.info(format!(
                        "You used a recovery code; {} left. Make new ones on your account page \
                         if you are running out.",
                        done.recovery_codes_left
                    ));
                }
                let home = ctx.url("home")?;
                Ok(Redirect::to(safe_next(&form.next).unwrap_or(&home)).into_response())
            }
            Err(AuthError::SecondStepExpired) => {
                flash.error(AuthError::SecondStepExpired.to_string());
                Ok(Redirect::to(&ctx.url("login")?).into_response())
            }
            Err(e @ AuthError::Throttled { .. }) => {
                let retry_after = e.retry_after().unwrap_or(1);
                let page = refused(ctx, form, StatusCode::TOO_MANY_REQUESTS, &e);
                Ok(too_many(page, retry_after))
            }
            Err(AuthError::Internal(e)) => Err(e),
            Err(e) => Ok(refused(ctx, form, StatusCode::UNAUTHORIZED, &e)),
        }
    }
}

torn::handler!(SecondStep => get, post);

/// `templates/two_factor.html`: turn two-factor authentication on or off.
#[derive(Template)]
#[template(path = "two_factor.html")]
pub struct TwoFactorPage {
    ctx: PageContext,
    user: User,
    on: bool,
    recovery_codes_left: i64,
    /// A set-up under way: the QR code and the secret, and the field for a first code.
    setup: Option<TwoFactorSetup>,
    /// Recovery codes just made, shown this once.
    codes: Vec<String>,
    /// The password was given lately: the forms do not ask for it.
    sudo: bool,
    error: Option<String>,
}

impl TwoFactorPage {
    async fn new(
        ctx: PageContext,
        accounts: &Accounts,
        session: &Session,
        user: User,
    ) -> torn::Result<Self> {
        let status = accounts.two_factor(&user).await?;
        Ok(TwoFactorPage {
            ctx,
            on: status.on,
            recovery_codes_left: status.recovery_codes_left,
            setup: None,
            codes: Vec::new(),
            sudo: accounts.sudo_until(session).await?.is_some(),
            user,
            error: None,
        })
    }
}

/// The forms of the page: `action` is `start`, `confirm`, `codes` or `off`.
#[derive(Debug, Deserialize)]
pub struct TwoFactorForm {
    action: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    code: String,
}

/// `/account/two-factor`.
pub struct TwoFactor;

impl TwoFactor {
    /// Whether it is on, and the forms.
    pub async fn get(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        CurrentUser(user): CurrentUser,
    ) -> torn::Result<Response> {
        let page = TwoFactorPage::new(ctx, &accounts, &session, user).await?;
        if !page.on && !page.ctx.settings().accounts.two_factor {
            return Err(torn::Error::not_found());
        }
        Ok(Page(page).into_response())
    }

    /// Begin the set-up, confirm it with a first code, make new recovery codes, or turn it off.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        mailer: Mailer,
        flash: Flash,
        CurrentUser(user): CurrentUser,
        Form(form): Form<TwoFactorForm>,
    ) -> torn::Result<Response> {
        let password = Some(form.current_password.as_str());
        let mut page = TwoFactorPage::new(ctx, &accounts, &session, user.clone()).await?;
        if !page.on && !page.ctx.settings().accounts.two_factor {
            return Err(torn::Error::not_found());
        }
        let forgot = format!("{}{}", page.ctx.base_url(), page.ctx.url("forgot")?);
        let done = match form.action.as_str() {
            "start" => accounts
                .start_two_factor(&session, &user, password, ISSUER)
                .await
                .map(|setup| page.setup = Some(setup)),
            "confirm" => match accounts
                .confirm_two_factor(&session, &user, &form.code)
                .await
            {
                Ok(codes) => {
                    // The codes are shown once: a mail that cannot go does not hide them.
                    tell(&mailer, &user, "turned on", &forgot).await;
                    page.on = true;
                    page.recovery_codes_left = i64::try_from(codes.len()).unwrap_or(0);
                    page.codes = codes;
                    Ok(())
                }
                Err(AuthError::WrongCode) => {
                    // Show this session's set-up again, for another try.
                    page.setup = accounts.two_factor_setup(&session, &user, ISSUER).await?;
                    Err(AuthError::WrongCode)
                }
                Err(e) => Err(e),
            },
            "codes" => accounts
                .new_recovery_codes(&session, &user, password)
                .await
                .map(|codes| {
                    page.recovery_codes_left = i64::try_from(codes.len()).unwrap_or(0);
                    page.codes = codes;
                }),
            "off" => match accounts
                .turn_off_two_factor(&session, &user, password)
                .await
            {
                Ok(()) => {
                    tell(&mailer, &user, "turned off", &forgot).await;
                    flash.success("Two-factor authentication is off.");
                    return Ok(Redirect::to(&page.ctx.url("account")?).into_response());
                }
                Err(e) => Err(e),
            },
            _ => return Err(torn::Error::bad_request("unknown action")),
        };
        if form.action == "codes" && done.is_ok() {
            tell(&mailer, &user, "given new recovery codes", &forgot).await;
        }
        page.sudo = accounts.sudo_until(&session).await?.is_some();
        match done {
            Ok(()) => Ok(Page(page).into_response()),
            Err(AuthError::Internal(e)) => Err(e),
            Err(e) => {
                let retry_after = e.retry_after();
                page.error = Some(e.to_string());
                match retry_after {
                    Some(retry_after) => Ok(too_many(Page(page), retry_after)),
                    None => Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response()),
                }
            }
        }
    }
}

torn::handler!(TwoFactor => get, post);

/// Mail the account that its two-factor authentication changed (`what`); a mail that cannot be
/// written or queued is logged, and the change stands.
async fn tell(mailer: &Mailer, user: &User, what: &str, forgot: &str) {
    let email = mail::two_factor_changed(&user.email, what, forgot);
    let about = format!("that two-factor authentication was {what}");
    mail::notify(mailer, email, &about).await;
}
