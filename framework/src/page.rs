//! Pages: askama templates rendered with a shared page context.
//!
//! A page template is an askama struct with a `ctx: PageContext` field; the handler takes the
//! [`PageContext`] extractor and returns [`Page`]:
//!
//! ```
//! use askama::Template;
//! use torn::{Page, PageContext};
//!
//! #[derive(Template)]
//! #[template(source = r#"<a href="{{ ctx.url("home")? }}">home</a>
//! <form method="post">{{ ctx.xsrf_form_html()|safe }}</form>"#, ext = "html")]
//! struct Home {
//!     ctx: PageContext,
//! }
//!
//! async fn home(ctx: PageContext) -> Page<Home> {
//!     Page(Home { ctx })
//! }
//! ```
//!
//! In templates, `ctx` offers `static_url(path)`, `url(name)`, `reverse_url(name, [params])`,
//! `xsrf_form_html()`, `xsrf_token()`, `flashes()`, `user()` (with accounts), `is_dev()` and
//! `path()`. Autoescaping is on;
//! only `xsrf_form_html()` needs `|safe`. An app extends the context by adding its own fields
//! to its template structs, or by wrapping `PageContext` in its own extractor.

use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::state::Shared;
use crate::xsrf::{RawToken, XSRF_NAME};

/// A rendered askama template as an HTML response; a render failure becomes a 500 page.
pub struct Page<T>(pub T);

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => Error::internal(e).into_response(),
        }
    }
}

/// A message shown once on the next page (after a redirect, typically).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashMessage {
    /// `info`, `success`, `warning` or `error` (used as a CSS class by the generated layout).
    pub level: String,
    /// The text.
    pub message: String,
}

/// Per-request state kept by torn's request middleware.
#[derive(Debug, Default)]
pub(crate) struct RequestState {
    pub(crate) xsrf: Mutex<XsrfState>,
    pub(crate) flash_in: Vec<FlashMessage>,
    pub(crate) flash: Mutex<FlashState>,
    /// The response is for a logged-in user: no cache may keep it.
    pub(crate) personal: std::sync::atomic::AtomicBool,
    /// Cookies to set on the response, from extractors that outlive no request (the device
    /// cookie of a log-in).
    pub(crate) cookies_out: Mutex<Vec<axum_extra::extract::cookie::Cookie<'static>>>,
}

/// A logged-in user was found for this request: its response gets `Cache-Control: no-store`
/// (unless the handler says otherwise), so no shared or browser cache keeps a personal page.
#[cfg(feature = "accounts")]
pub(crate) fn mark_personal(parts: &Parts) {
    if let Some(state) = parts.extensions.get::<Arc<RequestState>>() {
        state
            .personal
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
pub(crate) struct XsrfState {
    /// The token from the `_xsrf` cookie, if it was valid.
    pub(crate) from_cookie: Option<RawToken>,
    /// A token made for this response because the cookie had none.
    pub(crate) generated: Option<RawToken>,
}

#[derive(Debug, Default)]
pub(crate) struct FlashState {
    pub(crate) taken: bool,
    pub(crate) outgoing: Vec<FlashMessage>,
}

impl RequestState {
    /// The browser's token, making one (to be set as a cookie) if it has none.
    pub(crate) fn xsrf_raw(&self) -> RawToken {
        let mut state = self.xsrf.lock().expect("xsrf state");
        if let Some(t) = &state.from_cookie {
            return t.clone();
        }
        state
            .generated
            .get_or_insert_with(RawToken::generate)
            .clone()
    }

    /// A new token for the browser, set as its cookie with this response; the old one stops
    /// working.
    pub(crate) fn rotate_xsrf(&self) {
        let mut state = self.xsrf.lock().expect("xsrf state");
        state.from_cookie = None;
        state.generated = Some(RawToken::generate());
    }
}

fn request_state(parts: &Parts) -> Result<Arc<RequestState>, Error> {
    parts
        .extensions
        .get::<Arc<RequestState>>()
        .cloned()
        .ok_or_else(|| {
            Error::internal(
                "torn's request state is missing: build the router with torn::App so its \
                 middleware runs",
            )
        })
}

/// A "Sign in with …" button: the provider's name, label and log-in path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocialButton {
    /// The provider's name in settings and URLs.
    pub name: String,
    /// What to call it ("GitHub").
    pub label: String,
    /// `/auth/<name>/login`.
    pub login_path: String,
}

/// The buttons of the providers the app offers, put in every request's extensions by the app
/// (none without social log-in).
#[derive(Clone, Debug, Default)]
pub(crate) struct SocialButtons(pub(crate) Arc<[SocialButton]>);

/// The shared context of every page.
#[derive(Clone, Debug)]
pub struct PageContext {
    shared: Arc<Shared>,
    buttons: SocialButtons,
    state: Arc<RequestState>,
    path: String,
    #[cfg(feature = "accounts")]
    user: Option<crate::auth::User>,
}

impl PageContext {
    /// `/static/<path>?v=<content hash>`; Tornado's `static_url`. A missing file gets no
    /// version (and a warning in the log).
    pub fn static_url(&self, path: &str) -> String {
        self.shared.statics.url(path)
    }

    /// The URL of the named route without parameters.
    pub fn url(&self, name: &str) -> Result<String, Error> {
        self.shared.urls.url(name)
    }

    /// The URL of the named route with its parameters, in order.
    pub fn reverse_url<I>(&self, name: &str, params: I) -> Result<String, Error>
    where
        I: IntoIterator,
        I::Item: std::fmt::Display,
    {
        self.shared.urls.reverse_url(name, params)
    }

    /// The hidden form field with a freshly masked XSRF token. Use with `|safe`.
    pub fn xsrf_form_html(&self) -> String {
        format!(
            r#"<input type="hidden" name="{XSRF_NAME}" value="{}">"#,
            self.xsrf_token()
        )
    }

    /// A freshly masked XSRF token, for the `X-XSRFToken` header of scripts.
    pub fn xsrf_token(&self) -> String {
        self.state.xsrf_raw().masked()
    }

    /// Give the browser a new XSRF token: its `_xsrf` cookie changes with this response and
    /// the tokens of pages shown before stop working. Call it right after a log-in, so that a
    /// token someone learned or planted before (a sibling subdomain can set cookies for the
    /// site, a shared computer keeps them) is worthless once the person is logged in.
    pub fn new_xsrf_token(&self) {
        self.state.rotate_xsrf();
    }

    /// The flash messages for this page; they are shown once.
    pub fn flashes(&self) -> Vec<FlashMessage> {
        self.state.flash.lock().expect("flash state").taken = true;
        self.state.flash_in.clone()
    }

    /// Is the app running with the dev profile?
    pub fn is_dev(&self) -> bool {
        self.shared.settings.is_dev()
    }

    /// A "Sign in with …" button per social-login provider the app offers (none without
    /// [`App::social_login`](crate::App::social_login)).
    pub fn social_buttons(&self) -> &[SocialButton] {
        &self.buttons.0
    }

    /// The app's settings, e.g. `ctx.settings().accounts.password_min_length` for a form's `minlength`.
    pub fn settings(&self) -> &crate::config::Settings {
        &self.shared.settings
    }

    /// The app's public address (`base_url`), for absolute links such as those in mail.
    pub fn base_url(&self) -> &str {
        &self.shared.settings.server.base_url
    }

    /// The logged-in user, when the app has accounts and someone is logged in (feature
    /// `accounts`).
    #[cfg(feature = "accounts")]
    pub fn user(&self) -> Option<&crate::auth::User> {
        self.user.as_ref()
    }

    /// Whether the pages offer passkeys: the `passkeys` setting is on and `base_url` is a name
    /// browsers let passkeys belong to (`https://…`, or `http://localhost…`) (feature
    /// `accounts`).
    #[cfg(feature = "accounts")]
    pub fn passkeys_offered(&self) -> bool {
        crate::auth::passkeys_offered(&self.shared.settings)
    }

    /// The request's path, e.g. to mark the current navigation link.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        // With accounts on, the page knows who is logged in.
        #[cfg(feature = "accounts")]
        let user = match parts.extensions.get::<crate::auth::Accounts>().cloned() {
            Some(accounts) => crate::auth::request_user(parts, &accounts).await?,
            None => None,
        };
        Ok(PageContext {
            shared: Shared::from_parts(parts)?,
            buttons: parts
                .extensions
                .get::<SocialButtons>()
                .cloned()
                .unwrap_or_default(),
            state: request_state(parts)?,
            path: parts.uri.path().to_string(),
            #[cfg(feature = "accounts")]
            user,
        })
    }
}

/// Add flash messages, shown once on the next page that renders `ctx.flashes()`.
///
/// ```
/// use axum::response::Redirect;
/// use torn::Flash;
///
/// async fn save(flash: Flash) -> Redirect {
///     flash.success("Saved.");
///     Redirect::to("/")
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Flash {
    state: Arc<RequestState>,
}

impl Flash {
    /// Add a message with a level (`info`, `success`, `warning`, `error`).
    pub fn push(&self, level: &str, message: impl Into<String>) {
        self.state
            .flash
            .lock()
            .expect("flash state")
            .outgoing
            .push(FlashMessage {
                level: level.to_string(),
                message: message.into(),
            });
    }

    /// An `info` message.
    pub fn info(&self, message: impl Into<String>) {
        self.push("info", message);
    }

    /// A `success` message.
    pub fn success(&self, message: impl Into<String>) {
        self.push("success", message);
    }

    /// A `warning` message.
    pub fn warning(&self, message: impl Into<String>) {
        self.push("warning", message);
    }

    /// An `error` message.
    pub fn error(&self, message: impl Into<String>) {
        self.push("error", message);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        Ok(Flash {
            state: request_state(parts)?,
        })
    }
}
