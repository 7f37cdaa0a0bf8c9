//! The app's handlers, one module per concern, and its error page. `torn gen` adds modules
//! above the `// torn:handlers` line.

pub mod account;
pub mod auth;
pub mod chat;
pub mod greet;
pub mod home;
pub mod magic;
pub mod mail;
pub mod passkeys;
pub mod tokens;
pub mod two_factor;
pub mod verify;
// torn:handlers

use askama::Template;
use torn::ErrorInfo;

/// The page shown for 404, 405, 500 and every other error (`templates/error.html`).
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    info: &'a ErrorInfo,
}

/// Render an error page; torn calls it for every error response.
pub fn error_page(info: &ErrorInfo) -> askama::Result<String> {
    ErrorPage { info }.render()
}
