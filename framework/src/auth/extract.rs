//! The extractors of accounts: [`CurrentUser`], [`MaybeUser`] and [`Accounts`] itself.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Accounts, AuthError, User};
use crate::error::Error;
use crate::session::Session;

/// The logged-in user. Handlers that take it are for logged-in users only: a browser without a
/// session is redirected to the `login` route with `?next=<this path>`, a JSON client gets 401.
/// With `require_verified_email`, a user who has not confirmed the address yet is sent to the
/// `unverified` route ("check your mail") instead; a form sent or a JSON request gets 403.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub User);

/// The answer to a logged-in user whose address is not confirmed, where confirmed users only
/// are let in.
fn unconfirmed(parts: &Parts) -> Response {
    use axum::http::{Method, StatusCode};
    let message = "Confirm your email address first: follow the link in the mail we sent you.";
    if crate::error::wants_json(&parts.headers)
        || !matches!(parts.method, Method::GET | Method::HEAD)
    {
        return Error::new(StatusCode::FORBIDDEN, message).into_response();
    }
    let page = parts
        .extensions
        .get::<Arc<crate::state::Shared>>()
        .and_then(|s| s.urls.url("unverified").ok())
        .unwrap_or_else(|| "/auth/unverified".to_string());
    Redirect::to(&page).into_response()
}

/// The logged-in user, if any.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<User>);

pub(super) async fn user_from_parts(parts: &mut Parts) -> Result<Option<User>, Response> {
    let Some(accounts) = parts.extensions.get::<Accounts>().cloned() else {
        return Err(Error::internal(
            "accounts are not set up: build the app with App::accounts(…)",
        )
        .into_response());
    };
    request_user(parts, &accounts)
        .await
        .map_err(IntoResponse::into_response)
}

/// The user looked up for this request, kept in its extensions: the page context and the
/// extractors of one handler look the user up once.
#[derive(Clone)]
struct LookedUp(Option<User>);

/// The logged-in user of this request, looked up once per request.
pub(crate) async fn request_user(
    parts: &mut Parts,
    accounts: &Accounts,
) -> Result<Option<User>, Error> {
    if let Some(LookedUp(user)) = parts.extensions.get::<LookedUp>() {
        return Ok(user.clone());
    }
    if let Some(found) = token_user(parts, accounts).await? {
        parts.extensions.insert(LookedUp(found.clone()));
        return Ok(found);
    }
    let session = Session::from_request_parts(parts, &())
        .await
        .map_err(|(_, why)| Error::internal(why))?;
    let user = accounts.request_user(&session).await.map_err(|e| match e {
        AuthError::Internal(e) => e,
        other => Error::internal(other.to_string()),
    })?;
    if user.is_some() {
        crate::page::mark_personal(parts);
    }
    parts.extensions.insert(LookedUp(user.clone()));
    Ok(user)
}

/// On a route that takes API tokens, a request with a bearer token is its token's user, and
/// only that: `Some(None)` when the token is not valid (the request is then nobody's,
/// whatever its cookies). `None` for any other request.
async fn token_user(parts: &mut Parts, accounts: &Accounts) -> Result<Option<Option<User>>, Error> {
    // The route layer marked it: a bearer token, on a route that takes them.
    let takes_tokens = parts.extensions.get::<super::TokenRequest>().is_some();
    let Some(token) = super::bearer(&parts.headers).filter(|_| takes_tokens) else {
        return Ok(None);
    };
    let found = accounts
        .authenticate_api_token(token)
        .await
        .map_err(|e| match e {
            AuthError::Internal(e) => e,
            other => Error::internal(other.to_string()),
        })?;
    // What a token reads is its owner's alone: no shared cache keeps it.
    crate::page::mark_personal(parts);
    let Some((user, scopes)) = found else {
        parts.extensions.insert(TokenRefused);
        return Ok(Some(None));
    };
    parts.extensions.insert(super::Scopes::Token(scopes));
    Ok(Some(Some(user)))
}

/// This request's API token was not valid.
#[derive(Clone, Copy)]
struct TokenRefused;

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let user = user_from_parts(parts).await?;
        if parts.extensions.get::<TokenRefused>().is_some() {
            return Err(super::api_tokens::invalid_token());
        }
        if let Some(user) = user {
            let must_confirm = parts
                .extensions
                .get::<Accounts>()
                .is_some_and(|a| a.settings.accounts.require_verified_email);
            if must_confirm && !user.is_verified() {
                return Err(unconfirmed(parts));
            }
            return Ok(CurrentUser(user));
        }
        if crate::error::wants_json(&parts.headers) {
            return Err(
                Error::new(axum::http::StatusCode::UNAUTHORIZED, "Log in to use this.")
                    .into_response(),
            );
        }
        let login = parts
            .extensions
            .get::<Arc<crate::state::Shared>>()
            .and_then(|s| s.urls.url("login").ok())
            .unwrap_or_else(|| "/auth/login".to_string());
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        Err(Redirect::to(&with_next(&login, &here)).into_response())
    }
}

/// The log-in page's path `login` with `?next=` set to `next` (a path on this site, encoded),
/// where the log-in sends the browser afterwards.
pub fn with_next(login: &str, next: &str) -> String {
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{login}?next={next}")
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        Ok(MaybeUser(user_from_parts(parts).await?))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Accounts {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        parts.extensions.get::<Accounts>().cloned().ok_or_else(|| {
            Error::internal("accounts are not set up: build the app with App::accounts(…)")
        })
    }
}
