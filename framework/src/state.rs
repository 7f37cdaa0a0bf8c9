//! The state every request can reach: settings, named routes, static files, the error
//! renderer. It sits at the bottom of the framework: it imports no feature (accounts, social
//! log-in, mail) and nothing of `app/`, so every module can take it from a request without
//! reaching up. [`App`](crate::App) builds it once and puts it in every request's extensions.

use std::fmt;
use std::sync::Arc;

use axum::http::request::Parts;

use crate::config::Settings;
use crate::error::{Error, ErrorRenderer};
use crate::routing::Urls;
use crate::static_files::StaticFiles;

/// What every request can reach: settings, named routes, static files, the error renderer.
pub(crate) struct Shared {
    pub(crate) settings: Arc<Settings>,
    pub(crate) urls: Urls,
    pub(crate) statics: StaticFiles,
    pub(crate) error_renderer: ErrorRenderer,
    pub(crate) xsrf_exempt: Vec<String>,
    /// Route patterns that take API tokens ([`crate::App::bearer`]).
    #[cfg_attr(
        not(feature = "accounts"),
        allow(dead_code, reason = "only the accounts' token look-up reads it")
    )]
    pub(crate) bearer: Vec<String>,
    pub(crate) dev: Option<Arc<crate::dev::Reload>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("env", &self.settings.env)
            .field("routes", &self.urls.all().len())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn from_parts(parts: &Parts) -> Result<Arc<Shared>, Error> {
        parts
            .extensions
            .get::<Arc<Shared>>()
            .cloned()
            .ok_or_else(|| {
                Error::internal(
                    "torn's context is missing: build the router with torn::App (App::into_router)",
                )
            })
    }

    pub(crate) fn is_xsrf_exempt(&self, matched: Option<&str>) -> bool {
        covers(&self.xsrf_exempt, matched)
    }

    /// Whether the route takes API tokens (`Authorization: Bearer …`).
    #[cfg(feature = "accounts")]
    pub(crate) fn accepts_bearer(&self, matched: Option<&str>) -> bool {
        covers(&self.bearer, matched)
    }
}

/// Whether one of `patterns` is the route pattern `matched`, or a prefix of it ending in `/`.
fn covers(patterns: &[String], matched: Option<&str>) -> bool {
    let Some(matched) = matched else {
        return false;
    };
    patterns
        .iter()
        .any(|p| p == matched || p.ends_with('/') && matched.starts_with(p.as_str()))
}
