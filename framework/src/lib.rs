//! torn: Tornado's ideas, in Rust, on axum.
//!
//! ```no_run
//! use torn::{App, Settings};
//!
//! struct Index;
//!
//! impl Index {
//!     async fn get() -> axum::response::Html<&'static str> {
//!         axum::response::Html("<h1>Hello world! Welcome to torn</h1>")
//!     }
//! }
//!
//! torn::handler!(Index => get);
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     torn::run(|settings: Settings| async move {
//!         Ok(App::new(settings).handler::<Index>("home", "/"))
//!     })
//!     .await
//! }
//! ```
//!
//! - [`App`]: the builder and server (`PORT`, `LISTEN_FDS`, graceful shutdown).
//! - [`RequestHandler`] and [`handler!`]: one type per URL, as Tornado's `RequestHandler`.
//! - [`Urls`]: named routes and `reverse_url`.
//! - [`Page`] and [`PageContext`]: askama pages with `static_url`, `reverse_url`,
//!   `xsrf_form_html` and flash messages.
//! - [`Cookies`]: plain and signed cookies in Tornado's format ([`signing`]).
//! - [`xsrf`]: XSRF protection, on by default.
//! - [`Settings`]: `torn.toml` profiles and environment overrides.
//! - [`ClientIp`]: the client's address, through the proxies in `trusted_proxies` ([`client`]).
//! - [`Error`]: HTTP errors and error pages.
//! - `db`: SQLite or PostgreSQL with the same code and migrations (features `sqlite`,
//!   `postgres`).
//! - `password`, `session` and `auth`: argon2id hashing off the async threads, server-side
//!   sessions and user accounts (feature `accounts`).
//! - `oauth`: "Log in with …" (feature `social-login`).
//! - `mail`: email through SMTP, or the `mail/` folder in dev (feature `mail`).
//! - `jobs`: durable background jobs in the app's database, retries, schedules (feature
//!   `jobs`).
//!
//! The default features are `accounts`, `social-login`, `mail`, `jobs`, `sqlite`, `postgres`
//! and `realtime`;
//! `redis` adds a Redis session store and `testing` the `test` helpers (a test server and client). An
//! app that turns the defaults off compiles only the parts it names.

// Every public item is documented, and none is `pub` where no app can reach it (as in axum);
// code in docs is in backticks (product names are listed in clippy.toml). clippy runs with
// `-D warnings`, so these are errors in CI.
#![warn(missing_docs, unreachable_pub, clippy::doc_markdown, clippy::pedantic)]
// clippy's pedantic lints, but these, which do not fit:
#![allow(
    // Every getter would carry `#[must_use]`; builders do (`return_self_not_must_use`).
    clippy::must_use_candidate,
    // The errors are typed, and their variants say when each happens.
    clippy::missing_errors_doc,
    // The f64s are latencies, cookie ages in days and an entropy estimate: none needs 53 bits.
    clippy::cast_precision_loss,
    // `buf.push_str(&format!(…))` in SQL and reports built once, not per request.
    clippy::format_push_string,
    // Names such as `router` and `routes` are what they mean.
    clippy::similar_names,
    // The built-in social log-in providers are one table, in one function.
    clippy::too_many_lines,
    // Match arms that read as a table, even where two of them agree.
    clippy::match_same_arms,
    // Recorded ids in tests (GitHub's user 583231) are written as the provider sends them.
    clippy::unreadable_literal,
    // The panics are on torn's own invariants (a poisoned lock, a key set that is never
    // empty), not on what a caller passes; those that are say so under "# Panics".
    clippy::missing_panics_doc,
    // What a method or an async function does depends on the features built; with one off, it
    // may use neither `self` nor `.await` (and `TestServer::start_on` is async as `start` is).
    clippy::unused_self,
    clippy::unused_async
)]

mod app;
#[cfg(feature = "accounts")]
pub mod auth;
pub mod client;
pub mod config;
pub mod cookies;
#[cfg(feature = "database")]
pub mod db;
mod dev;
mod error;
pub mod form;
#[cfg(feature = "jobs")]
pub mod jobs;
#[cfg(feature = "mail")]
pub mod mail;
#[cfg(feature = "social-login")]
pub mod oauth;
mod page;
#[cfg(feature = "accounts")]
pub mod password;
#[cfg(feature = "realtime")]
pub mod realtime;
mod routing;
#[cfg(feature = "accounts")]
pub mod session;
pub mod signing;
mod state;
mod static_files;
mod stats;
#[cfg(feature = "testing")]
pub mod test;
pub mod xsrf;

pub use app::{
    App, FLASH_COOKIE, ServeError, bind, routes_table, run, serve_router, shutdown_signal,
};
#[cfg(feature = "accounts")]
pub use auth::{Accounts, AuthError, CurrentUser, MaybeUser, User};
pub use client::{ClientIp, ClientScheme};
pub use config::{ConfigError, Env, Settings};
pub use cookies::Cookies;
pub use error::{Error, ErrorInfo};
#[cfg(feature = "jobs")]
pub use jobs::Jobs;
/// The `metrics` crate, for an app's own metrics: `torn::metrics::counter!("orders_total")`
/// and the like show on torn's `/metrics` page with its own.
#[cfg(feature = "metrics")]
pub use metrics;
#[cfg(feature = "social-login")]
pub use oauth::SocialLogin;
pub use page::{Flash, FlashMessage, Page, PageContext, SocialButton};
#[cfg(feature = "realtime")]
pub use realtime::PubSub;
pub use routing::{RequestHandler, RouteInfo, Urls};
#[cfg(feature = "accounts")]
pub use session::Session;

/// Re-exported so apps and the `handler!` macro use the same versions as torn.
pub use askama;
pub use axum;

/// `Result` with torn's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
