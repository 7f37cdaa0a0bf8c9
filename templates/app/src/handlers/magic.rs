//! Log-in links: "Email me a log-in link" on the log-in page, and the link from that mail.
//!
//! The link works once, for `magic_link_lifetime_secs` (15 minutes by default), and only for
//! the browser that asked for it: opened anywhere else it asks before it logs in, so a mail
//! scanner that follows links spends nothing. The requests share the reset form's limits.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use torn::auth::{LinkBrowser, LogIn, TokenPurpose};
use torn::mail::Mailer;
use torn::{Accounts, AuthError, ClientIp, Flash, Page, PageContext, Session};

use super::auth::{link, mail_after_answer, too_many};
use super::mail;
use super::verify::invalid_link;

/// `templates/auth/magic_link.html`: the form that asks for a link.
#[derive(Template)]
#[template(path = "auth/magic_link.html")]
pub struct MagicLinkPage {
    ctx: PageContext,
    email: String,
    error: Option<String>,
}

/// `templates/auth/magic.html`: a link opened in another browser asks first.
#[derive(Template)]
#[template(path = "auth/magic.html")]
pub struct ConfirmPage {
    ctx: PageContext,
    email: String,
    token: String,
}

/// An email address alone.
#[derive(Debug, Deserialize)]
pub struct LinkRequest {
    email: String,
}

/// The token of a log-in link.
#[derive(Debug, Deserialize)]
pub struct LinkToken {
    #[serde(default)]
    token: String,
}

/// `/auth/login/link`: ask for a log-in link.
pub struct MagicLink;

impl MagicLink {
    /// The form.
    pub async fn get(ctx: PageContext) -> Page<MagicLinkPage> {
        Page(MagicLinkPage {
            ctx,
            email: String::new(),
            error: None,
        })
    }

    /// Mail a log-in link, bound to this browser, if the address has an account; say the same
    /// either way, as fast either way: the account is looked up, and the link made and mailed,
    /// after the answer.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        mailer: Mailer,
        browser: LinkBrowser,
        ClientIp(client): ClientIp,
        Form(form): Form<LinkRequest>,
    ) -> torn::Result<Response> {
        let refused = |ctx, error: &AuthError| MagicLinkPage {
            ctx,
            email: String::new(),
            error: Some(error.to_string()),
        };
        if let Err(e) = torn::auth::normalize_email(&form.email) {
            let page = refused(ctx, &e);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
        }
        if let Err(e) = accounts.reserve_mail(&form.email, client).await {
            let Some(retry_after) = e.retry_after() else {
                return Err(e.into());
            };
            return Ok(too_many(Page(refused(ctx, &e)), retry_after));
        }
        let nonce = browser.bind();
        let link = link(&ctx, "magic_link_open", "")?;
        let lifetime = accounts.token_lifetime(TokenPurpose::MAGIC_LINK);
        mail_after_answer(mailer, "log-in link", async move {
            let found = accounts.request_magic_link(&form.email, &nonce).await?;
            Ok(found.map(|(user, token)| {
                mail::magic_link(&user.email, &format!("{link}{token}"), lifetime)
            }))
        });
        Ok(Redirect::to(&ctx.url("check_email")?).into_response())
    }
}

torn::handler!(MagicLink => get, post);

/// `/auth/login/link/open?token=…`, the link in the mail.
pub struct OpenMagicLink;

impl OpenMagicLink {
    /// In the browser that asked for it, log in; anywhere else, ask first.
    pub async fn get(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        browser: LinkBrowser,
        flash: Flash,
        Query(query): Query<LinkToken>,
    ) -> torn::Result<Response> {
        match accounts.magic_link(&query.token, &browser).await? {
            None => Ok(invalid_link(ctx, AuthError::InvalidToken)),
            Some(found) if found.same_browser => {
                log_in(ctx, &accounts, &session, &flash, &query.token).await
            }
            Some(found) => Ok(Page(ConfirmPage {
                ctx,
                email: found.user.email,
                token: query.token,
            })
            .into_response()),
        }
    }

    /// Log in, after the question.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        flash: Flash,
        Form(form): Form<LinkToken>,
    ) -> torn::Result<Response> {
        log_in(ctx, &accounts, &session, &flash, &form.token).await
    }
}

torn::handler!(OpenMagicLink => get, post);

/// Use the link (once) and log in.
async fn log_in(
    ctx: PageContext,
    accounts: &Accounts,
    session: &Session,
    flash: &Flash,
    token: &str,
) -> torn::Result<Response> {
    match accounts.log_in_with_link(token).await {
        Ok(done) => {
            let step = accounts.log_in(session, &done.user, false).await?;
            // A new XSRF token: one known before the log-in is worthless after it.
            ctx.new_xsrf_token();
            if step == LogIn::SecondStep {
                // Two-factor authentication is on: the code first.
                return Ok(Redirect::to(&super::auth::second_step(&ctx, "")?).into_response());
            }
            if done.password_removed {
                // The password was set before the address was confirmed, perhaps by someone
                // else who typed it first: it is gone, with any session of theirs.
                flash.success(
                    "You are logged in, and your address is confirmed. The password set \
                     before it was confirmed no longer works: choose one with \"Forgot your \
                     password?\" to log in with a password too.",
                );
            } else if done.first_confirmation {
                flash.success("You are logged in, and your address is confirmed.");
            } else {
                flash.success("You are logged in.");
            }
            Ok(Redirect::to(&ctx.url("home")?).into_response())
        }
        Err(AuthError::Internal(e)) => Err(e),
        Err(e) => Ok(invalid_link(ctx, e)),
    }
}
