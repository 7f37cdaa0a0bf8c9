//! Personal API tokens: made and revoked on `/account/tokens`, and the app's JSON API under
//! `/api/`, which takes them (`App::bearer("/api/")` in `src/lib.rs`) as well as the logged-in
//! session.
//!
//! A token is shown once, when it is made (a sensitive change: the password is asked outside
//! the sudo window), and works until it expires or is revoked. A request with one is its
//! owner's, with its scopes, and needs no XSRF token; a request from the browser's session is
//! XSRF-checked as everywhere.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use torn::auth::{ApiToken, NewApiToken, Scopes};
use torn::mail::Mailer;
use torn::{Accounts, AuthError, CurrentUser, Flash, Page, PageContext, Session, User};

/// `templates/tokens.html`.
#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    ctx: PageContext,
    user: User,
    tokens: Vec<ApiToken>,
    /// A token just made, shown this once.
    made: Option<String>,
    /// The password was given lately: the form does not ask for it.
    sudo: bool,
    error: Option<String>,
}

impl TokensPage {
    async fn new(
        ctx: PageContext,
        accounts: &Accounts,
        session: &Session,
        user: User,
    ) -> torn::Result<Self> {
        Ok(TokensPage {
            tokens: accounts.api_tokens(&user).await?,
            sudo: accounts.sudo_until(session).await?.is_some(),
            ctx,
            user,
            made: None,
            error: None,
        })
    }
}

/// `/account/tokens`.
pub struct AccountTokens;

impl AccountTokens {
    /// The account's tokens, and the form that makes one.
    pub async fn get(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        CurrentUser(user): CurrentUser,
    ) -> torn::Result<Response> {
        let page = TokensPage::new(ctx, &accounts, &session, user).await?;
        if page.tokens.is_empty() && !page.ctx.settings().accounts.api_tokens {
            return Err(torn::Error::not_found());
        }
        Ok(Page(page).into_response())
    }

    /// Make a token (`action=create`: `name`, a `scope` per scope, `days`, and the password
    /// outside the sudo window), or revoke one (`action=revoke`, `id`).
    #[allow(clippy::too_many_arguments, reason = "one argument per extractor")]
    pub async fn post(
        ctx: PageContext,
        accounts: Accounts,
        session: Session,
        mailer: Mailer,
        flash: Flash,
        CurrentUser(user): CurrentUser,
        Form(fields): Form<Vec<(String, String)>>,
    ) -> torn::Result<Response> {
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str())
        };
        if field("action") == "revoke" {
            let revoked = match field("id").parse::<i64>() {
                Ok(id) => accounts.revoke_api_token(&user, id).await?,
                Err(_) => false,
            };
            if revoked {
                flash.success("The token is revoked: it no longer works.");
            } else {
                flash.error("That token was already revoked.");
            }
            return Ok(Redirect::to(&ctx.url("account_tokens")?).into_response());
        }
        if field("action") != "create" || !ctx.settings().accounts.api_tokens {
            return Err(torn::Error::bad_request("unknown action"));
        }
        let scopes: Vec<String> = fields
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect();
        let days: u64 = field("days").parse().unwrap_or(0);
        let new = NewApiToken {
            name: field("name"),
            scopes: &scopes,
            lifetime: Duration::from_secs(days.saturating_mul(86_400)),
        };
        let password = Some(field("current_password"));
        let made = accounts
            .create_api_token(&session, &user, password, &new)
            .await;
        let mut page = TokensPage::new(ctx, &accounts, &session, user).await?;
        match made {
            Ok((secret, token)) => {
                let list = format!("{}{}", page.ctx.base_url(), page.ctx.url("account_tokens")?);
                // The token is shown once: a mail that cannot go does not hide it.
                let email = super::mail::api_token_made(&page.user.email, &token.name, &list);
                super::mail::notify(&mailer, email, "that an API token was made").await;
                page.made = Some(secret);
                Ok(Page(page).into_response())
            }
            Err(AuthError::Internal(e)) => Err(e),
            Err(e) => {
                let retry_after = e.retry_after();
                page.error = Some(e.to_string());
                match retry_after {
                    Some(retry_after) => Ok(super::auth::too_many(Page(page), retry_after)),
                    None => Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response()),
                }
            }
        }
    }
}

torn::handler!(AccountTokens => get, post);

/// What `GET /api/me` answers.
#[derive(Debug, Serialize)]
pub struct Me {
    email: String,
    verified: bool,
}

/// `/api/me`: the account of the token (or of the session), as JSON; needs the `read` scope.
pub struct ApiMe;

impl ApiMe {
    /// The account.
    pub async fn get(CurrentUser(user): CurrentUser, scopes: Scopes) -> Result<Json<Me>, Response> {
        scopes.require("read")?;
        Ok(Json(Me {
            verified: user.is_verified(),
            email: user.email,
        }))
    }
}

torn::handler!(ApiMe => get);

/// What `POST /api/greet` takes.
#[derive(Debug, Deserialize)]
pub struct GreetRequest {
    name: String,
}

/// What `POST /api/greet` answers.
#[derive(Debug, Serialize)]
pub struct Greeting {
    greeting: String,
}

/// `/api/greet`: the home page's greeting as JSON in and out; needs the `write` scope.
pub struct ApiGreet;

impl ApiGreet {
    /// Greet by name (422 for an empty or too long one).
    pub async fn post(
        CurrentUser(_user): CurrentUser,
        scopes: Scopes,
        Json(request): Json<GreetRequest>,
    ) -> Result<Json<Greeting>, Response> {
        scopes.require("write")?;
        let name = request.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(torn::Error::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "name: give a name of 1 to 100 characters",
            )
            .into_response());
        }
        Ok(Json(Greeting {
            greeting: format!("Hello, {name}!"),
        }))
    }
}

torn::handler!(ApiGreet => post);
