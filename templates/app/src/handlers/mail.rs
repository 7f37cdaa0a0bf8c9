//! The app's emails: text and HTML from askama templates in `templates/mail/`.

use std::time::Duration;

use askama::Template;
use torn::auth::for_humans;
use torn::mail::{Email, Mailer};

/// `mail/verify.txt` and `mail/verify.html`: confirm the address after sign-up or a change.
#[derive(Template)]
#[template(path = "mail/verify.txt")]
struct VerifyText<'a> {
    link: &'a str,
    valid_for: &'a str,
}

#[derive(Template)]
#[template(path = "mail/verify.html")]
struct VerifyHtml<'a> {
    link: &'a str,
    valid_for: &'a str,
}

/// `mail/reset.txt` and `mail/reset.html`: choose a new password.
#[derive(Template)]
#[template(path = "mail/reset.txt")]
struct ResetText<'a> {
    link: &'a str,
    valid_for: &'a str,
}

#[derive(Template)]
#[template(path = "mail/reset.html")]
struct ResetHtml<'a> {
    link: &'a str,
    valid_for: &'a str,
}

/// `mail/magic_link.txt` and `mail/magic_link.html`: log in without a password.
#[derive(Template)]
#[template(path = "mail/magic_link.txt")]
struct MagicLinkText<'a> {
    link: &'a str,
    valid_for: &'a str,
}

#[derive(Template)]
#[template(path = "mail/magic_link.html")]
struct MagicLinkHtml<'a> {
    link: &'a str,
    valid_for: &'a str,
}

/// `mail/already_registered.txt`: someone signed up with an address that has an account.
#[derive(Template)]
#[template(path = "mail/already_registered.txt")]
struct AlreadyRegistered<'a> {
    login: &'a str,
    forgot: &'a str,
}

/// `mail/address_changed.txt`: told to the old address once a new one is confirmed.
#[derive(Template)]
#[template(path = "mail/address_changed.txt")]
struct AddressChanged<'a> {
    old_email: &'a str,
    new_email: &'a str,
    forgot: &'a str,
}

/// `mail/password_changed.txt`: told after a password change or reset.
#[derive(Template)]
#[template(path = "mail/password_changed.txt")]
struct PasswordChanged<'a> {
    email: &'a str,
    forgot: &'a str,
}

/// `mail/two_factor_changed.txt`: told when two-factor log-in is turned on or off, or gets new
/// recovery codes.
#[derive(Template)]
#[template(path = "mail/two_factor_changed.txt")]
struct TwoFactorChanged<'a> {
    email: &'a str,
    what: &'a str,
    forgot: &'a str,
}

/// `mail/api_token_made.txt`: told when an API token is made.
#[derive(Template)]
#[template(path = "mail/api_token_made.txt")]
struct ApiTokenMade<'a> {
    email: &'a str,
    name: &'a str,
    tokens: &'a str,
}

/// `mail/passkey_changed.txt`: told when a passkey is added or removed.
#[derive(Template)]
#[template(path = "mail/passkey_changed.txt")]
struct PasskeyChanged<'a> {
    email: &'a str,
    name: &'a str,
    added: bool,
    passkeys: &'a str,
}

/// The mail with the link that confirms an address; the link works for `lifetime`.
pub fn verify(to: &str, link: &str, lifetime: Duration) -> askama::Result<Email> {
    let valid_for = &for_humans(lifetime);
    Ok(Email {
        to: to.to_string(),
        subject: "Confirm your email address".to_string(),
        text: VerifyText { link, valid_for }.render()?,
        html: Some(VerifyHtml { link, valid_for }.render()?),
    })
}

/// The mail with the link that resets a password; the link works for `lifetime`.
pub fn reset(to: &str, link: &str, lifetime: Duration) -> askama::Result<Email> {
    let valid_for = &for_humans(lifetime);
    Ok(Email {
        to: to.to_string(),
        subject: "Reset your password".to_string(),
        text: ResetText { link, valid_for }.render()?,
        html: Some(ResetHtml { link, valid_for }.render()?),
    })
}

/// The mail with a link that logs in; the link works for `lifetime`.
pub fn magic_link(to: &str, link: &str, lifetime: Duration) -> askama::Result<Email> {
    let valid_for = &for_humans(lifetime);
    Ok(Email {
        to: to.to_string(),
        subject: "Your log-in link".to_string(),
        text: MagicLinkText { link, valid_for }.render()?,
        html: Some(MagicLinkHtml { link, valid_for }.render()?),
    })
}

/// The mail sent instead of a second account for the same address.
pub fn already_registered(to: &str, login: &str, forgot: &str) -> askama::Result<Email> {
    Ok(Email {
        to: to.to_string(),
        subject: "You already have an account".to_string(),
        text: AlreadyRegistered { login, forgot }.render()?,
        html: None,
    })
}

/// The mail to the old address of an account whose address changed to `new_email`.
pub fn address_changed(old_email: &str, new_email: &str, forgot: &str) -> askama::Result<Email> {
    Ok(Email {
        to: old_email.to_string(),
        subject: "Your email address was changed".to_string(),
        text: AddressChanged {
            old_email,
            new_email,
            forgot,
        }
        .render()?,
        html: None,
    })
}

/// The mail to an account whose password was changed or reset.
pub fn password_changed(to: &str, forgot: &str) -> askama::Result<Email> {
    Ok(Email {
        to: to.to_string(),
        subject: "Your password was changed".to_string(),
        text: PasswordChanged { email: to, forgot }.render()?,
        html: None,
    })
}

/// The mail to an account whose two-factor log-in changed: `what` says how ("turned on",
/// "turned off", "given new recovery codes").
pub fn two_factor_changed(to: &str, what: &str, forgot: &str) -> askama::Result<Email> {
    Ok(Email {
        to: to.to_string(),
        subject: format!("Two-factor authentication was {what}"),
        text: TwoFactorChanged {
            email: to,
            what,
            forgot,
        }
        .render()?,
        html: None,
    })
}

/// The mail to an account that an API token named `name` was made; `tokens` is the page that
/// lists and revokes them.
pub fn api_token_made(to: &str, name: &str, tokens: &str) -> askama::Result<Email> {
    Ok(Email {
        to: to.to_string(),
        subject: "A new API token was made".to_string(),
        text: ApiTokenMade {
            email: to,
            name,
            tokens,
        }
        .render()?,
        html: None,
    })
}

/// The mail to an account that the passkey named `name` was `added` (or removed); `passkeys`
/// is the page that lists them.
pub fn passkey_changed(to: &str, name: &str, added: bool, passkeys: &str) -> askama::Result<Email> {
    Ok(Email {
        to: to.to_string(),
        subject: if added {
            "A passkey was added to your account"
        } else {
            "A passkey was removed from your account"
        }
        .to_string(),
        text: PasskeyChanged {
            email: to,
            name,
            added,
            passkeys,
        }
        .render()?,
        html: None,
    })
}

/// Queue a notice to an account (one of the mails above, as written): a mail that could not be
/// written or queued is logged as being `about` what it tells, and the change it tells of
/// stands.
pub async fn notify(mailer: &Mailer, email: askama::Result<Email>, about: &str) {
    let queued = match email {
        Ok(email) => mailer.send_later(email).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = queued {
        tracing::error!(error = %e, "could not mail {about}");
    }
}
