//! The routes of social log-in: `/auth/{provider}/login`, `/callback`, `/link` and `/unlink`,
//! and the `SocialLogin` extractor.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Finished, OAuthError, SocialLogin};
use crate::auth::{AuthError, CurrentUser};
use crate::error::Error;
use crate::page::Flash;
use crate::routing::Urls;
use crate::session::Session;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SocialLogin {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Error> {
        parts
            .extensions
            .get::<SocialLogin>()
            .cloned()
            .ok_or_else(|| {
                Error::internal(
                    "social log-in is not set up: build the app with App::social_login(…)",
                )
            })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
}

fn account_path(urls: &Urls) -> String {
    urls.url("account").unwrap_or_else(|_| "/".into())
}

/// `GET /auth/{provider}/login`: off to the provider.
pub(crate) async fn login(
    social: SocialLogin,
    Path(provider): Path<String>,
    Query(q): Query<LoginQuery>,
    session: Session,
) -> Result<Response, Error> {
    let url = social
        .start(&session, &provider, q.next.as_deref(), None)
        .await?;
    Ok(Redirect::to(&url).into_response())
}

/// `POST /auth/{provider}/link`: off to the provider, to link it to the logged-in account. A
/// sensitive change: a linked provider is a way in that outlives a password change, so the
/// password is asked for outside the sudo window.
pub(crate) async fn link(
    social: SocialLogin,
    Path(provider): Path<String>,
    CurrentUser(user): CurrentUser,
    session: Session,
    urls: Urls,
    flash: Flash,
    axum::Form(form): axum::Form<SudoForm>,
) -> Result<Response, Error> {
    if !user.is_verified() {
        let label = social.provider(&provider)?.config.label.clone();
        return Err(OAuthError::VerifyBeforeLinking(label).into());
    }
    let password = form.current_password;
    if let Some(back) = sudo_or_back(&social, &session, &user, &password, &urls, &flash).await? {
        return Ok(back);
    }
    let url = social
        .start(&session, &provider, None, Some(user.id))
        .await?;
    Ok(Redirect::to(&url).into_response())
}

/// `GET /auth/{provider}/callback`: back from the provider.
pub(crate) async fn callback(
    social: SocialLogin,
    Path(provider): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    session: Session,
    urls: Urls,
    flash: Flash,
    ctx: crate::page::PageContext,
) -> Result<Response, Error> {
    let (_, finished) = social.finish(&session, &provider, &query).await?;
    let label = social.provider(&provider)?.config.label.clone();
    Ok(match finished {
        Finished::LoggedIn { next } => {
            // Tokens from before the log-in stop working.
            ctx.new_xsrf_token();
            Redirect::to(next.as_deref().unwrap_or("/")).into_response()
        }
        Finished::SecondStep { next } => {
            let code_page = urls.url("two_factor").map_err(|_| {
                Error::internal(
                    "this account has two-factor log-in on, but the app has no route named \
                     `two_factor` to ask for the code (torn gen auth adds it)",
                )
            })?;
            let to = match next.as_deref() {
                Some(next) => crate::auth::with_next(&code_page, next),
                None => code_page,
            };
            Redirect::to(&to).into_response()
        }
        Finished::Linked => {
            flash.success(format!("{label} is linked to your account."));
            Redirect::to(&account_path(&urls)).into_response()
        }
    })
}

/// The link and unlink forms: the current password, unless the session is in its sudo
/// window.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SudoForm {
    #[serde(default)]
    current_password: String,
}

/// Linking and unlinking are sensitive changes: an account with a password gives it outside
/// the sudo window ([`crate::Accounts::sudo`]). An account without one (provider log-ins only)
/// has nothing to give, and goes on as before. `Some(response)`: refused, back to the account
/// page with the reason.
async fn sudo_or_back(
    social: &SocialLogin,
    session: &Session,
    user: &crate::User,
    password: &str,
    urls: &Urls,
    flash: &Flash,
) -> Result<Option<Response>, Error> {
    if !user.has_password() {
        return Ok(None);
    }
    match social.accounts().sudo(session, user, Some(password)).await {
        Ok(()) => Ok(None),
        Err(e @ (AuthError::SudoRequired | AuthError::WrongCurrentPassword)) => {
            flash.error(e.to_string());
            Ok(Some(Redirect::to(&account_path(urls)).into_response()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /auth/{provider}/unlink`: a sensitive change, so it asks for the password outside the
/// sudo window (the account page shows the field then).
pub(crate) async fn unlink(
    social: SocialLogin,
    Path(provider): Path<String>,
    CurrentUser(user): CurrentUser,
    session: Session,
    urls: Urls,
    flash: Flash,
    axum::Form(form): axum::Form<SudoForm>,
) -> Result<Response, Error> {
    let password = form.current_password;
    if let Some(back) = sudo_or_back(&social, &session, &user, &password, &urls, &flash).await? {
        return Ok(back);
    }
    social.unlink(&user, &provider).await?;
    let label = social.provider(&provider)?.config.label.clone();
    flash.success(format!("{label} is no longer linked to your account."));
    Ok(Redirect::to(&account_path(&urls)).into_response())
}
