//! Errors and error pages.
//!
//! [`Error`] is Tornado's `HTTPError`: a status, a message that is safe to show, and a source
//! chain for the log. Handlers return `Result<_, torn::Error>`; the response is an error page
//! rendered from the app's template (or torn's own), or a JSON body when the client asked for
//! JSON. The error chain appears on the page only in dev; outside dev it goes to the log alone.
//!
//! Responses with an error status and an empty body (axum's own 404 and 405, a bare
//! `StatusCode` returned by a handler, a caught panic) get the same page, with their headers
//! (such as `Allow`) kept.

use std::fmt;
use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::Body as _;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error that becomes an HTTP response.
pub struct Error {
    status: StatusCode,
    message: String,
    source: Option<BoxError>,
    /// A header the answer carries (`WWW-Authenticate`, `Retry-After`).
    header: Option<(axum::http::HeaderName, axum::http::HeaderValue)>,
}

impl Error {
    /// An error with this status and a message shown to the user.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            source: None,
            header: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404 Not Found.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "There is nothing at this address. Check the link, or go back to the home page.",
        )
    }

    /// 500 Internal Server Error caused by `source`. The user sees a generic message; the
    /// source goes to the log (and to the page in dev).
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "Something went wrong on our side. Please try again later.".into(),
            source: Some(source.into()),
            header: None,
        }
    }

    /// A programming error in route names or parameters (500, detail in dev).
    pub fn route(message: impl Into<String>) -> Self {
        Self::internal(message.into())
    }

    /// Answer with this header too (`WWW-Authenticate` on a 401 or 403, `Retry-After` on a
    /// 429).
    #[must_use]
    pub fn with_header(
        mut self,
        name: axum::http::HeaderName,
        value: axum::http::HeaderValue,
    ) -> Self {
        self.header = Some((name, value));
        self
    }

    /// Attach a cause (kept for the log and dev pages).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The whole cause chain, one cause per line.
    pub fn chain(&self) -> String {
        let mut out = String::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> =
            self.source.as_deref().map(|e| e as _);
        while let Some(e) = next {
            if !out.is_empty() {
                out.push_str("\ncaused by: ");
            }
            out.push_str(&e.to_string());
            next = e.source();
        }
        out
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status)
            .field("message", &self.message)
            .field("chain", &self.chain())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{source}"),
            None => write!(f, "{} {}", self.status.as_u16(), self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<askama::Error> for Error {
    fn from(e: askama::Error) -> Self {
        Error::internal(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::internal(e)
    }
}

impl From<crate::config::ConfigError> for Error {
    fn from(e: crate::config::ConfigError) -> Self {
        Error::internal(e)
    }
}

/// A database error in a handler is a 500 whose cause is logged (and shown on dev's error
/// page): handlers write `?` on a query.
#[cfg(feature = "database")]
impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::internal(e)
    }
}

/// Mail that could not be sent or queued in a handler is a 500 whose cause is logged:
/// handlers write `mailer.send_later(email).await?`.
#[cfg(feature = "mail")]
impl From<crate::mail::MailError> for Error {
    fn from(e: crate::mail::MailError) -> Self {
        Error::internal(e)
    }
}

/// What an error page shows, carried from the response to the page renderer.
#[derive(Clone, Debug)]
pub(crate) struct ErrorReport {
    pub message: String,
    pub details: Option<String>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let details = self.source.as_ref().map(|_| self.chain());
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), error = %self.chain(), "request failed");
        }
        let mut response = self.status.into_response();
        if let Some((name, value)) = self.header {
            response.headers_mut().insert(name, value);
        }
        response.extensions_mut().insert(ErrorReport {
            message: self.message,
            details,
        });
        response
    }
}

/// What an app's error template is given.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    /// The status code, e.g. 404.
    pub status: u16,
    /// The status's reason phrase, e.g. "Not Found".
    pub title: String,
    /// A message for the user.
    pub message: String,
    /// The error chain or panic message: only in dev, `None` otherwise.
    pub details: Option<String>,
}

/// Renders error pages to HTML. Set with [`App::error_page`](crate::App::error_page).
pub(crate) type ErrorRenderer =
    Arc<dyn Fn(&ErrorInfo) -> Result<String, askama::Error> + Send + Sync>;

#[derive(Template)]
#[template(path = "torn/error.html")]
struct DefaultErrorPage<'a> {
    info: &'a ErrorInfo,
}

/// torn's built-in error page.
pub(crate) fn default_error_page(info: &ErrorInfo) -> Result<String, askama::Error> {
    DefaultErrorPage { info }.render()
}

fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request could not be understood.",
        401 => "You need to log in to see this page.",
        403 => "You are not allowed to do that.",
        404 => "There is nothing at this address. Check the link, or go back to the home page.",
        405 => "This address does not accept that kind of request.",
        413 => "The request is too large.",
        415 => "The request's content type is not supported here.",
        422 => "The request could not be processed.",
        429 => "Too many requests. Please wait a moment and try again.",
        s if s >= 500 => "Something went wrong on our side. Please try again later.",
        _ => "The request failed.",
    }
}

/// Does the client prefer JSON to HTML?
pub(crate) fn wants_json(headers: &axum::http::HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("text/html") {
        return false;
    }
    if accept.contains("application/json") || accept.contains("+json") {
        return true;
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
        && !accept.contains("text/")
}

/// Give an error response without a body a page (or a JSON body when `json`). Responses that
/// are not errors, or that have a body of their own, are returned as they are.
pub(crate) fn error_page_for(
    response: Response,
    shared: &crate::state::Shared,
    json: bool,
    is_head: bool,
) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let report = response.extensions().get::<ErrorReport>().cloned();
    let empty_body = response.body().is_end_stream()
        || response.headers().get(header::CONTENT_TYPE).is_none()
            && response.body().size_hint().exact() == Some(0);
    if report.is_none() && !empty_body {
        return response;
    }
    let report = report.unwrap_or_else(|| ErrorReport {
        message: default_message(status).to_string(),
        details: None,
    });
    let info = ErrorInfo {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        message: report.message,
        details: if shared.settings.is_dev() {
            report.details
        } else {
            None
        },
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if json {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let mut error = serde_json::json!({
            "status": info.status,
            "title": info.title,
            "message": info.message,
        });
        if let Some(details) = &info.details {
            error["details"] = serde_json::Value::String(details.clone());
        }
        serde_json::json!({ "error": error }).to_string()
    } else {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        (shared.error_renderer)(&info).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the error page template failed; using torn's own");
            default_error_page(&info).unwrap_or_else(|_| info.title.clone())
        })
    };
    if is_head {
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(body))
}

/// Turn a panic into a 500 response (the server lives on).
#[allow(
    clippy::needless_pass_by_value,
    reason = "the signature `CatchPanicLayer::custom` takes"
)]
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "panic with a non-string payload".to_string()
    };
    tracing::error!(panic = %message, "a handler panicked");
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(ErrorReport {
        message: default_message(StatusCode::INTERNAL_SERVER_ERROR).into(),
        details: Some(format!("panic: {message}")),
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_error_is_a_500_that_keeps_its_cause() {
        fn query() -> Result<(), Error> {
            Err(sqlx::Error::RowNotFound)?
        }
        let e = query().unwrap_err();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(e.to_string().contains("no rows returned"), "{e}");
    }
}
