//! Accounts: sign-up, log-in, log-out and password reset (email verification is in
//! `verify.rs`).
//!
//! The rules (hashing, throttling, tokens, sessions) are torn's; the pages and the mails are
//! this app's to change. Every form is XSRF-protected, and no page tells whether an email
//! address has an account.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use torn::auth::{
    Device, LogIn as LogInStep, SignUp as Outcome, TokenPurpose, safe_next, with_next,
};
use torn::mail::{Email, Mailer};
use torn::{Accounts, AuthError, ClientIp, Flash, Page, PageContext, Session, Urls};

use super::mail;
use super::verify::invalid_link;

/// An address typed into a form, to show it again on the page: nothing longer than an address
/// can be (a 2 MB "address" is not sent back).
fn shown(email: String) -> String {
    if email.len() <= torn::auth::MAX_EMAIL_LEN {
        email
    } else {
        String::new()
    }
}

/// `page` with `429 Too Many Requests` and `Retry-After`.
pub(crate) fn too_many(page: impl IntoResponse, retry_after: u64) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, retry_after.into());
    response
}

/// `templates/auth/signup.html`.
#[derive(Template)]
#[template(path = "auth/signup.html")]
pub struct SignUpPage {
    ctx: PageContext,
    email: String,
    error: Option<String>,
}

/// `templates/auth/login.html`.
#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LogInPage {
    ctx: PageContext,
    email: String,
    next: String,
    error: Option<String>,
}

/// `templates/auth/forgot.html`.
#[derive(Template)]
#[template(path = "auth/forgot.html")]
pub struct ForgotPage {
    ctx: PageContext,
    email: String,
    error: Option<String>,
}

/// `templates/auth/reset.html`.
#[derive(Template)]
#[template(path = "auth/reset.html")]
pub struct ResetPage {
    ctx: PageContext,
    token: String,
    error: Option<String>,
}

/// An email address and a password.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
    #[serde(default)]
    remember: Option<String>,
    #[serde(default)]
    next: String,
}

/// Where to go after logging in.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    pub(crate) next: String,
}

/// A token from an emailed link.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub(crate) token: String,
}

/// An email address alone.
#[derive(Debug, Deserialize)]
pub struct EmailForm {
    email: String,
}

/// A new password with its reset token.
#[derive(Debug, Deserialize)]
pub struct ResetForm {
    token: String,
    password: String,
}

/// Write and send a mail after the answer, so that the answer takes as long whether or not
/// the address has an account: `make` looks the account up and writes the mail, or gives none.
pub(crate) fn mail_after_answer<F>(mailer: Mailer, what: &'static str, make: F)
where
    F: Future<Output = Result<Option<askama::Result<Email>>, AuthError>> + Send + 'static,
{
    tokio::spawn(async move {
        match make.await {
            Ok(Some(Ok(email))) => {
                if let Err(e) = mailer.send_later(email).await {
                    tracing::error!(error = %e, "could not send the {what}");
                }
            }
            Ok(Some(Err(e))) => tracing::error!(error = %e, "could not write the {what}"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "could not make the {what}"),
        }
    });
}

/// The absolute URL of a named route, with a token.
pub(crate) fn link(ctx: &PageContext, route: &str, token: &str) -> torn::Result<String> {
    Ok(format!(
        "{}{}?token={token}",
        ctx.base_url(),
        ctx.url(route)?
    ))
}

/// The page that asks for the second step of a log-in (a two-factor code), then goes to
/// `next`.
pub(crate) fn second_step(ctx: &PageContext, next: &str) -> torn::Result<String> {
    let page = ctx.url("two_factor")?;
    Ok(match safe_next(next) {
        Some(next) => with_next(&page, next),
        None => page,
    })
}

/// `/auth/signup`.
pub struct SignUp;

impl SignUp {
    /// The sign-up form.
    pub async fn get(ctx: PageContext) -> Page<SignUpPage> {
        Page(SignUpPage {
            ctx,
            email: String::new(),
            error: None,
        })
    }

    /// Make the account and mail the verification link; an address that has an account gets a
    /// mail saying so instead, and the page says the same in both cases.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        mailer: Mailer,
        ClientIp(client): ClientIp,
        Form(form): Form<Credentials>,
    ) -> torn::Result<Response> {
        // Sign-ups and their mail are limited per client and per address.
        if let Err(e) = accounts.reserve_mail(&form.email, client).await {
            let Some(retry_after) = e.retry_after() else {
                return Err(e.into());
            };
            let page = SignUpPage {
                ctx,
                email: shown(form.email),
                error: Some(e.to_string()),
            };
            return Ok(too_many(Page(page), retry_after));
        }
        match accounts.sign_up(&form.email, &form.password).await {
            Ok(Outcome::Created { user, verify_token }) => {
                let link = link(&ctx, "verify", &verify_token)?;
                mailer
                    .send_later(mail::verify(
                        &user.email,
                        &link,
                        accounts.token_lifetime(TokenPurpose::VERIFY),
                    )?)
                    .await?;
            }
            Ok(Outcome::AlreadyRegistered { user }) => {
                let login = format!("{}{}", ctx.base_url(), ctx.url("login")?);
                let forgot = format!("{}{}", ctx.base_url(), ctx.url("forgot")?);
                mailer
                    .send_later(mail::already_registered(&user.email, &login, &forgot)?)
                    .await?;
            }
            Err(AuthError::Internal(e)) => return Err(e),
            Err(e) => {
                let page = SignUpPage {
                    ctx,
                    email: shown(form.email),
                    error: Some(e.to_string()),
                };
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
            }
        }
        Ok(Redirect::to(&ctx.url("check_email")?).into_response())
    }
}

torn::handler!(SignUp => get, post);

/// `/auth/login`.
pub struct LogIn;

impl LogIn {
    /// The log-in form.
    pub async fn get(ctx: PageContext, Query(query): Query<NextQuery>) -> Page<LogInPage> {
        Page(LogInPage {
            ctx,
            email: String::new(),
            next: query.next,
            error: None,
        })
    }

    /// Check the password and log in; go to `next` if it is a path on this site. A browser
    /// that logged in to the account before (its device cookie) is not locked out by failures
    /// from elsewhere.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        device: Device,
        Form(form): Form<Credentials>,
    ) -> torn::Result<Response> {
        let refused = |ctx, form: Credentials, status, error: String| {
            let page = LogInPage {
                ctx,
                email: shown(form.email),
                next: form.next,
                error: Some(error),
            };
            (status, Page(page)).into_response()
        };
        match accounts
            .authenticate_device(&device, &form.email, &form.password)
            .await
        {
            Ok(user) => {
                // The password was just given: once logged in, sensitive changes do not ask
                // for it again for `sudo_window_secs`.
                let step = accounts
                    .log_in_with_password(&session, &device, &user, form.remember.is_some())
                    .await?;
                // A new XSRF token: one known before the log-in is worthless after it.
                ctx.new_xsrf_token();
                if step == LogInStep::SecondStep {
                    // Two-factor authentication is on: the code first.
                    return Ok(Redirect::to(&second_step(&ctx, &form.next)?).into_response());
                }
                let home = ctx.url("home")?;
                Ok(Redirect::to(safe_next(&form.next).unwrap_or(&home)).into_response())
            }
            Err(AuthError::Throttled { retry_after }) => {
                let message = AuthError::Throttled { retry_after }.to_string();
                let page = refused(ctx, form, StatusCode::TOO_MANY_REQUESTS, message);
                Ok(too_many(page, retry_after))
            }
            Err(AuthError::Internal(e)) => Err(e),
            Err(e) => Ok(refused(ctx, form, StatusCode::UNAUTHORIZED, e.to_string())),
        }
    }
}

torn::handler!(LogIn => get, post);

/// `/auth/logout`.
pub struct LogOut;

impl LogOut {
    /// End this session.
    pub async fn post(
        accounts: Accounts,
        session: Session,
        urls: Urls,
        flash: Flash,
    ) -> torn::Result<Redirect> {
        accounts.log_out(&session).await?;
        flash.info("You are logged out.");
        Ok(Redirect::to(&urls.url("home")?))
    }
}

torn::handler!(LogOut => post);

/// `/auth/forgot`: ask for a password reset link.
pub struct Forgot;

impl Forgot {
    /// The form.
    pub async fn get(ctx: PageContext) -> Page<ForgotPage> {
        Page(ForgotPage {
            ctx,
            email: String::new(),
            error: None,
        })
    }

    /// Mail a reset link if the address has an account; say the same either way, as fast
    /// either way: the account is looked up, and the link made and mailed, after the answer.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        mailer: Mailer,
        ClientIp(client): ClientIp,
        Form(form): Form<EmailForm>,
    ) -> torn::Result<Response> {
        let refused = |ctx, form: EmailForm, error: &AuthError| ForgotPage {
            ctx,
            email: shown(form.email),
            error: Some(error.to_string()),
        };
        if let Err(e) = torn::auth::normalize_email(&form.email) {
            let page = refused(ctx, form, &e);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
        }
        if let Err(e) = accounts.reserve_mail(&form.email, client).await {
            let Some(retry_after) = e.retry_after() else {
                return Err(e.into());
            };
            return Ok(too_many(Page(refused(ctx, form, &e)), retry_after));
        }
        let link = link(&ctx, "reset", "")?;
        let lifetime = accounts.token_lifetime(TokenPurpose::RESET);
        mail_after_answer(mailer, "password reset mail", async move {
            let found = accounts.request_reset(&form.email).await?;
            Ok(found
                .map(|(user, token)| mail::reset(&user.email, &format!("{link}{token}"), lifetime)))
        });
        Ok(Redirect::to(&ctx.url("check_email")?).into_response())
    }
}

torn::handler!(Forgot => get, post);

/// `/auth/reset?token=…`, the link in the reset mail.
pub struct Reset;

impl Reset {
    /// The new-password form, if the link is still good.
    pub async fn get(
        ctx: PageContext,
        accounts: Accounts,
        Query(query): Query<TokenQuery>,
    ) -> torn::Result<Response> {
        if accounts.reset_token_user(&query.token).await?.is_none() {
            return Ok(invalid_link(ctx, AuthError::InvalidToken));
        }
        let page = ResetPage {
            ctx,
            token: query.token,
            error: None,
        };
        Ok(Page(page).into_response())
    }

    /// Set the new password; every session of the account ends.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        mailer: Mailer,
        flash: Flash,
        Form(form): Form<ResetForm>,
    ) -> torn::Result<Response> {
        match accounts.reset_password(&form.token, &form.password).await {
            Ok(user) => {
                let forgot = format!("{}{}", ctx.base_url(), ctx.url("forgot")?);
                mailer
                    .send_later(mail::password_changed(&user.email, &forgot)?)
                    .await?;
                flash.success("Your password is changed. Log in with it.");
                Ok(Redirect::to(&ctx.url("login")?).into_response())
            }
            Err(AuthError::Password(problem)) => {
                let page = ResetPage {
                    ctx,
                    token: form.token,
                    error: Some(problem.to_string()),
                };
                Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
            }
            Err(AuthError::Internal(e)) => Err(e),
            Err(e) => Ok(invalid_link(ctx, e)),
        }
    }
}

torn::handler!(Reset => get, post);
