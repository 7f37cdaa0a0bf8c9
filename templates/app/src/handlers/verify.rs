//! Email verification: the link in the verification mail, the page that says a mail is on its
//! way, and the page an unconfirmed user waits on (`require_verified_email`), which sends the
//! link again.

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use torn::auth::{TokenPurpose, with_next};
use torn::mail::Mailer;
use torn::{Accounts, AuthError, ClientIp, Flash, MaybeUser, Page, PageContext};

use super::auth::{TokenQuery, link, too_many};
use super::mail;

/// `templates/auth/message.html`: a page with a title and a message.
#[derive(Template)]
#[template(path = "auth/message.html")]
pub struct MessagePage {
    ctx: PageContext,
    title: &'static str,
    message: String,
}

/// `/auth/verify?token=…`, the link in the verification mail.
pub struct Verify;

impl Verify {
    /// Confirm the address, for the account logged in here: anyone else logs in first (then
    /// comes back here). Someone who signed up with another person's address cannot have that
    /// person confirm it with a click.
    pub async fn get(
        ctx: PageContext,
        accounts: Accounts,
        flash: Flash,
        MaybeUser(user): MaybeUser,
        Query(query): Query<TokenQuery>,
    ) -> torn::Result<Response> {
        let Some(user) = user else {
            flash.info("Log in to confirm your email address.");
            let here = format!("{}?token={}", ctx.url("verify")?, query.token);
            let login = with_next(&ctx.url("login")?, &here);
            return Ok(Redirect::to(&login).into_response());
        };
        match accounts.verify_email_as(&query.token, &user).await {
            Ok(_) => {
                flash.success("Your email address is confirmed.");
                Ok(Redirect::to(&ctx.url("home")?).into_response())
            }
            Err(AuthError::Internal(e)) => Err(e),
            Err(e) => Ok(invalid_link(ctx, e)),
        }
    }
}

torn::handler!(Verify => get);

/// The page for a link that does not work (used, expired, or never made).
pub(crate) fn invalid_link(ctx: PageContext, e: AuthError) -> Response {
    let page = MessagePage {
        ctx,
        title: "This link does not work",
        message: e.to_string(),
    };
    (StatusCode::BAD_REQUEST, Page(page)).into_response()
}

/// `/auth/check-email`: where sign-up and password reset requests lead.
pub struct CheckEmail;

impl CheckEmail {
    /// Say that a mail is on its way.
    pub async fn get(ctx: PageContext) -> Page<MessagePage> {
        Page(MessagePage {
            ctx,
            title: "Check your email",
            message: "If the address can receive our mail, a message with a link is on its way. \
                      It can take a few minutes; look in the spam folder too. Nothing after a \
                      while? Ask again."
                .to_string(),
        })
    }
}

torn::handler!(CheckEmail => get);

/// `templates/auth/unverified.html`.
#[derive(Template)]
#[template(path = "auth/unverified.html")]
pub struct UnverifiedPage {
    ctx: PageContext,
    email: String,
}

/// `/auth/unverified`: where a logged-in user who has not confirmed the address yet is sent
/// (`require_verified_email` in torn.toml), with a button to send the link again.
pub struct Unverified;

impl Unverified {
    /// Say where the link went.
    pub async fn get(ctx: PageContext, MaybeUser(user): MaybeUser) -> torn::Result<Response> {
        match user {
            None => Ok(Redirect::to(&ctx.url("login")?).into_response()),
            Some(user) if user.is_verified() => Ok(Redirect::to(&ctx.url("home")?).into_response()),
            Some(user) => Ok(Page(UnverifiedPage {
                ctx,
                email: user.email,
            })
            .into_response()),
        }
    }

    /// Send the verification link again.
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        mailer: Mailer,
        flash: Flash,
        ClientIp(client): ClientIp,
        MaybeUser(user): MaybeUser,
    ) -> torn::Result<Response> {
        let Some(user) = user else {
            return Ok(Redirect::to(&ctx.url("login")?).into_response());
        };
        if !user.is_verified() {
            if let Err(e) = accounts.reserve_mail(&user.email, client).await {
                let Some(retry_after) = e.retry_after() else {
                    return Err(e.into());
                };
                flash.error(e.to_string());
                let page = UnverifiedPage {
                    ctx,
                    email: user.email,
                };
                return Ok(too_many(Page(page), retry_after));
            }
            let token = accounts.issue_token(&user, TokenPurpose::VERIFY).await?;
            let link = link(&ctx, "verify", &token)?;
            mailer
                .send_later(mail::verify(
                    &user.email,
                    &link,
                    accounts.token_lifetime(TokenPurpose::VERIFY),
                )?)
                .await?;
            flash.info("We sent the link again.");
        }
        Ok(Redirect::to(&ctx.url("unverified")?).into_response())
    }
}

torn::handler!(Unverified => get, post);
