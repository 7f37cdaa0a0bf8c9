//! `/account`: the logged-in user's settings. Changing the email or the password, and unlinking
//! a provider, ask for the current password, unless it was given in this session in the last
//! `sudo_window_secs` (a log-in with it counts).

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use torn::auth::{DeviceSession, TokenPurpose, TwoFactorStatus};
use torn::mail::Mailer;
use torn::{
    Accounts, AuthError, ClientIp, CurrentUser, Flash, Page, PageContext, Session, SocialLogin,
    User,
};

use super::mail;

/// `templates/account.html`.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    ctx: PageContext,
    user: User,
    error: Option<String>,
    providers: Vec<ProviderRow>,
    /// The password was given lately: the forms do not ask for it.
    sudo: bool,
    /// Two-factor authentication: on or off, and the recovery codes left.
    two_factor: TwoFactorStatus,
    /// The account's logged-in sessions, this one among them.
    devices: Vec<DeviceSession>,
}

/// A social-login provider on the account page: linked or not, and its form's address.
pub struct ProviderRow {
    label: String,
    /// The address the provider gave, when linked.
    linked_as: Option<String>,
    linked: bool,
    /// `POST` here to unlink it (when linked) or to link it.
    action: String,
}

impl AccountPage {
    async fn new(
        ctx: PageContext,
        user: User,
        social: &SocialLogin,
        session: &Session,
        error: Option<String>,
    ) -> torn::Result<Self> {
        let sudo = social.accounts().sudo_until(session).await?.is_some();
        let two_factor = social.accounts().two_factor(&user).await?;
        let devices = social.accounts().devices(&user, session).await?;
        let buttons = social.buttons();
        // Without providers there is nothing to show, and nothing to ask the database.
        let linked = if buttons.is_empty() {
            Vec::new()
        } else {
            social.identities(&user).await?
        };
        let mut providers = Vec::new();
        for button in buttons {
            let identity = linked.iter().find(|i| i.provider == button.name);
            let route = if identity.is_some() {
                "oauth_unlink"
            } else {
                "oauth_link"
            };
            providers.push(ProviderRow {
                action: ctx.reverse_url(route, [&button.name])?,
                label: button.label,
                linked_as: identity.and_then(|i| i.email.clone()),
                linked: identity.is_some(),
            });
        }
        Ok(AccountPage {
            ctx,
            user,
            error,
            providers,
            sudo,
            two_factor,
            devices,
        })
    }
}

/// The change-email form (without the current password inside the sudo window).
#[derive(Debug, Deserialize)]
pub struct EmailChange {
    email: String,
    #[serde(default)]
    current_password: String,
}

/// The change-password form (without the current password inside the sudo window).
#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    current_password: String,
    password: String,
}

async fn refused(
    ctx: PageContext,
    user: User,
    social: &SocialLogin,
    session: &Session,
    e: AuthError,
) -> torn::Result<Response> {
    if let AuthError::Internal(e) = e {
        return Err(e);
    }
    let page = AccountPage::new(ctx, user, social, session, Some(e.to_string())).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
}

/// `/account`.
pub struct Account;

impl Account {
    /// The settings page.
    pub async fn get(
        ctx: PageContext,
        CurrentUser(user): CurrentUser,
        social: SocialLogin,
        session: Session,
    ) -> torn::Result<Page<AccountPage>> {
        Ok(Page(
            AccountPage::new(ctx, user, &social, &session, None).await?,
        ))
    }
}

torn::handler!(Account => get);

/// `/account/email`.
pub struct AccountEmail;

impl AccountEmail {
    /// Change the address; the new one must be confirmed from its own mailbox.
    #[allow(clippy::too_many_arguments, reason = "one argument per extractor")]
    pub async fn post(
        ctx: PageContext,
        CurrentUser(user): CurrentUser,
        accounts: Accounts,
        social: SocialLogin,
        session: Session,
        mailer: Mailer,
        flash: Flash,
        ClientIp(client): ClientIp,
        Form(form): Form<EmailChange>,
    ) -> torn::Result<Response> {
        if let Err(e) = accounts.reserve_mail(&form.email, client).await {
            let Some(retry_after) = e.retry_after() else {
                return Err(e.into());
            };
            let page = refused(ctx, user, &social, &session, e).await?;
            return Ok(super::auth::too_many(page, retry_after));
        }
        match accounts
            .change_email(&user, &form.current_password, &form.email, &session)
            .await
        {
            Ok(pending) => {
                let link = super::auth::link(&ctx, "account_email_confirm", &pending.token)?;
                mailer
                    .send_later(mail::verify(
                        &pending.email,
                        &link,
                        accounts.token_lifetime(TokenPurpose::CHANGE_EMAIL),
                    )?)
                    .await?;
                flash.success(format!(
                    "We sent a link to {}: your address changes when you follow it.",
                    pending.email
                ));
                Ok(Redirect::to(&ctx.url("account")?).into_response())
            }
            Err(e) => refused(ctx, user, &social, &session, e).await,
        }
    }
}

torn::handler!(AccountEmail => post);

/// A token from an emailed link.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `/account/email/confirm?token=…`, the link mailed to a new address.
pub struct AccountEmailConfirm;

impl AccountEmailConfirm {
    /// The account takes the new address; the old one is told.
    pub async fn get(
        ctx: PageContext,
        accounts: Accounts,
        mailer: Mailer,
        flash: Flash,
        Query(query): Query<TokenQuery>,
    ) -> torn::Result<Response> {
        match accounts.confirm_email_change(&query.token).await {
            Ok(changed) => {
                let forgot = format!("{}{}", ctx.base_url(), ctx.url("forgot")?);
                mailer
                    .send_later(mail::address_changed(
                        &changed.old_email,
                        &changed.user.email,
                        &forgot,
                    )?)
                    .await?;
                flash.success("Your email address is changed.");
                Ok(Redirect::to(&ctx.url("account")?).into_response())
            }
            Err(AuthError::Internal(e)) => Err(e),
            Err(e) => Ok(super::verify::invalid_link(ctx, e)),
        }
    }
}

torn::handler!(AccountEmailConfirm => get);

/// `/account/password`.
pub struct AccountPassword;

impl AccountPassword {
    /// Change the password; every other session ends.
    #[allow(clippy::too_many_arguments, reason = "one argument per extractor")]
    pub async fn post(
        ctx: PageContext,
        CurrentUser(user): CurrentUser,
        accounts: Accounts,
        social: SocialLogin,
        session: Session,
        mailer: Mailer,
        flash: Flash,
        Form(form): Form<PasswordChange>,
    ) -> torn::Result<Response> {
        match accounts
            .change_password(&user, &form.current_password, &form.password, &session)
            .await
        {
            Ok(()) => {
                let forgot = format!("{}{}", ctx.base_url(), ctx.url("forgot")?);
                mailer
                    .send_later(mail::password_changed(&user.email, &forgot)?)
                    .await?;
                flash.success("Your password is changed. Your other sessions are logged out.");
                Ok(Redirect::to(&ctx.url("account")?).into_response())
            }
            Err(e) => refused(ctx, user, &social, &session, e).await,
        }
    }
}

torn::handler!(AccountPassword => post);

/// The sessions form: one session to end, or none for every other one.
#[derive(Debug, Deserialize)]
pub struct EndSessions {
    #[serde(default)]
    session: String,
}

/// `/account/sessions`.
pub struct AccountSessions;

impl AccountSessions {
    /// End one session of the list (a device), or log out everywhere else.
    pub async fn post(
        ctx: PageContext,
        CurrentUser(user): CurrentUser,
        accounts: Accounts,
        session: Session,
        flash: Flash,
        Form(form): Form<EndSessions>,
    ) -> torn::Result<Redirect> {
        if form.session.is_empty() {
            let ended = accounts.log_out_everywhere(user.id, Some(&session)).await?;
            flash.success(format!("Logged out of {ended} other session(s)."));
        } else if accounts.end_device(&user, &form.session).await? {
            flash.success("That session is logged out.");
        } else {
            flash.error("That session had already ended.");
        }
        Ok(Redirect::to(&ctx.url("account")?))
    }
}

torn::handler!(AccountSessions => post);
