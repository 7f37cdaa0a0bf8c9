//! `/account`: the logged-in user's settings. Changing the email or the password asks for the
//! current password again.

use askama::Template;
use axum::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use torn::auth::TokenPurpose;
use torn::mail::Mailer;
use torn::{Accounts, AuthError, CurrentUser, Flash, Page, PageContext, Session, User};

use super::mail;

/// `templates/account.html`.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    ctx: PageContext,
    user: User,
    error: Option<String>,
}

/// The change-email form.
#[derive(Debug, Deserialize)]
pub struct EmailChange {
    email: String,
    current_password: String,
}

/// The change-password form.
#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    current_password: String,
    password: String,
}

fn refused(ctx: PageContext, user: User, e: AuthError) -> torn::Result<Response> {
    if let AuthError::Internal(e) = e {
        return Err(e);
    }
    let page = AccountPage {
        ctx,
        user,
        error: Some(e.to_string()),
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
}

/// `/account`.
pub struct Account;

impl Account {
    /// The settings page.
    pub async fn get(ctx: PageContext, CurrentUser(user): CurrentUser) -> Page<AccountPage> {
        Page(AccountPage {
            ctx,
            user,
            error: None,
        })
    }
}

torn::handler!(Account => get);

/// `/account/email`.
pub struct AccountEmail;

impl AccountEmail {
    /// Change the address; the new one must be confirmed from its own mailbox.
    pub async fn post(
        ctx: PageContext,
        CurrentUser(user): CurrentUser,
        accounts: Accounts,
        mailer: Mailer,
        flash: Flash,
        Form(form): Form<EmailChange>,
    ) -> torn::Result<Response> {
        match accounts
            .change_email(&user, &form.current_password, &form.email)
            .await
        {
            Ok((changed, token)) => {
                let link = super::auth::link(&ctx, "verify", &token)?;
                mailer.send_later(mail::verify(
                    &changed.email,
                    &link,
                    accounts.token_lifetime(TokenPurpose::Verify),
                )?);
                flash.success("Your email address is changed. Confirm it with the link we sent.");
                Ok(Redirect::to(&ctx.url("account")?).into_response())
            }
            Err(e) => refused(ctx, user, e),
        }
    }
}

torn::handler!(AccountEmail => post);

/// `/account/password`.
pub struct AccountPassword;

impl AccountPassword {
    /// Change the password; every other session ends.
    pub async fn post(
        ctx: PageContext,
        CurrentUser(user): CurrentUser,
        accounts: Accounts,
        session: Session,
        flash: Flash,
        Form(form): Form<PasswordChange>,
    ) -> torn::Result<Response> {
        match accounts
            .change_password(&user, &form.current_password, &form.password, &session)
            .await
        {
            Ok(()) => {
                flash.success("Your password is changed. Your other sessions are logged out.");
                Ok(Redirect::to(&ctx.url("account")?).into_response())
            }
            Err(e) => refused(ctx, user, e),
        }
    }
}

torn::handler!(AccountPassword => post);

/// `/account/sessions`.
pub struct AccountSessions;

impl AccountSessions {
    /// Log out everywhere else.
    pub async fn post(
        ctx: PageContext,
        CurrentUser(user): CurrentUser,
        accounts: Accounts,
        session: Session,
        flash: Flash,
    ) -> torn::Result<Redirect> {
        let ended = accounts.log_out_everywhere(user.id, Some(&session)).await?;
        flash.success(format!("Logged out of {ended} other session(s)."));
        Ok(Redirect::to(&ctx.url("account")?))
    }
}

torn::handler!(AccountSessions => post);
