//! Named routes, `reverse_url`, and Tornado's handler-per-URL.
//!
//! Every route added with a name can be turned back into a URL with [`Urls::reverse_url`], from
//! a handler (the [`Urls`] extractor) or a template (`ctx.reverse_url("post", [post.id])?`). A
//! missing name or a wrong number of parameters is an [`Error`](crate::Error), never a silently
//! wrong link.
//!
//! # Handler per URL
//!
//! As in Tornado, one type can own one URL and answer its methods. Each method is a plain axum
//! handler (any extractors, any response); the [`handler!`](crate::handler) macro mounts the
//! ones you wrote, and every other method answers `405 Method Not Allowed` with an `Allow`
//! header listing those that exist.
//!
//! ```
//! use torn::{App, Settings};
//! use axum::{Form, response::Redirect};
//!
//! struct Greeting;
//!
//! impl Greeting {
//!     async fn get() -> &'static str {
//!         "Hello world! Welcome to torn"
//!     }
//!     async fn post(Form(_f): Form<Vec<(String, String)>>) -> Redirect {
//!         Redirect::to("/")
//!     }
//! }
//!
//! torn::handler!(Greeting => get, post);
//!
//! # let settings = Settings::for_test(".");
//! let app = App::new(settings).handler::<Greeting>("home", "/");
//! ```
//!
//! A `prepare` step (Tornado's `RequestHandler.prepare`) runs before every method of the
//! handler. It is an axum middleware function: it may refuse the request by returning a response
//! without calling `next`, or load something into the request's extensions for the methods to
//! read with `Extension<T>`:
//!
//! ```
//! use axum::{extract::Request, middleware::Next, response::{IntoResponse, Response}};
//! use axum::http::StatusCode;
//!
//! struct Admin;
//!
//! impl Admin {
//!     async fn prepare(req: Request, next: Next) -> Response {
//!         if req.headers().contains_key("x-admin") {
//!             next.run(req).await
//!         } else {
//!             StatusCode::FORBIDDEN.into_response()
//!         }
//!     }
//!     async fn get() -> &'static str {
//!         "secret"
//!     }
//! }
//!
//! torn::handler!(Admin => get; prepare = Admin::prepare);
//! ```

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::MethodRouter;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::error::Error;

/// A type that answers the HTTP methods of one URL (Tornado's `RequestHandler`).
///
/// Implement it with the [`handler!`](crate::handler) macro, or by hand by returning an axum
/// [`MethodRouter`].
pub trait RequestHandler<S = ()>: 'static {
    /// The methods this handler answers, as an axum method router.
    fn method_router() -> MethodRouter<S>;

    /// The names of those methods (`GET`, `POST`, …), for `torn routes`.
    fn methods() -> Vec<String> {
        Vec::new()
    }
}

/// Implement [`RequestHandler`] for a type from the names of its async methods.
///
/// ```text
/// torn::handler!(Type => get, post);                            // state ()
/// torn::handler!(Type, state = AppState => get, post);          // methods use State<AppState>
/// torn::handler!(Type => get, post; prepare = Type::prepare);   // a prepare step
/// ```
///
/// Method names are `get`, `post`, `put`, `patch`, `delete`, `head` and `options`; each must be
/// an associated async function of the type whose arguments are axum extractors.
#[macro_export]
macro_rules! handler {
    ($ty:ty => $($method:ident),+ $(; prepare = $prepare:expr)? $(,)?) => {
        $crate::handler!($ty, state = () => $($method),+ $(; prepare = $prepare)?);
    };
    ($ty:ty, state = $state:ty => $($method:ident),+ $(; prepare = $prepare:expr)? $(,)?) => {
        impl $crate::RequestHandler<$state> for $ty {
            fn method_router() -> $crate::axum::routing::MethodRouter<$state> {
                let router = $crate::axum::routing::MethodRouter::<$state>::new()
                    $(.on($crate::__method_filter!($method), <$ty>::$method))+;
                $(let router = router.route_layer($crate::axum::middleware::from_fn($prepare));)?
                router
            }

            fn methods() -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![$(::std::stringify!($method).to_ascii_uppercase()),+]
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __method_filter {
    (get) => {
        $crate::axum::routing::MethodFilter::GET
    };
    (post) => {
        $crate::axum::routing::MethodFilter::POST
    };
    (put) => {
        $crate::axum::routing::MethodFilter::PUT
    };
    (patch) => {
        $crate::axum::routing::MethodFilter::PATCH
    };
    (delete) => {
        $crate::axum::routing::MethodFilter::DELETE
    };
    (head) => {
        $crate::axum::routing::MethodFilter::HEAD
    };
    (options) => {
        $crate::axum::routing::MethodFilter::OPTIONS
    };
    ($other:ident) => {
        compile_error!(concat!(
            "torn::handler!: `",
            stringify!($other),
            "` is not an HTTP method; use get, post, put, patch, delete, head or options"
        ))
    };
}

/// The segments of a route pattern such as `/posts/{id}/edit` or `/files/{*path}`.
#[derive(Clone, Debug)]
enum Segment {
    Literal(String),
    Param(String),
    Wildcard(String),
}

/// One named route.
#[derive(Clone, Debug)]
pub struct RouteInfo {
    /// The route's name.
    pub name: String,
    /// Its path pattern, in axum's syntax.
    pub path: String,
    /// The methods it answers (empty when unknown, e.g. a plain service).
    pub methods: Vec<String>,
    /// The handler's type or function name, when known.
    pub handler: String,
    segments: Vec<Segment>,
}

impl RouteInfo {
    pub(crate) fn new(name: &str, path: &str, methods: Vec<String>, handler: String) -> Self {
        Self {
            name: name.to_string(),
            path: path.to_string(),
            methods,
            handler,
            segments: parse_pattern(path),
        }
    }

    /// The names of the path parameters, in order.
    pub fn params(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Param(n) | Segment::Wildcard(n) => Some(n.as_str()),
                Segment::Literal(_) => None,
            })
            .collect()
    }
}

fn parse_pattern(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Segment::Literal(rest[..open].to_string()));
        }
        let close = rest[open..].find('}').map(|c| c + open);
        let Some(close) = close else {
            out.push(Segment::Literal(rest[open..].to_string()));
            return out;
        };
        let name = &rest[open + 1..close];
        if let Some(w) = name.strip_prefix('*') {
            out.push(Segment::Wildcard(w.to_string()));
        } else {
            out.push(Segment::Param(name.to_string()));
        }
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Segment::Literal(rest.to_string()));
    }
    out
}

/// Characters escaped in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'^')
    .add(b'|');

/// Characters escaped in a wildcard (which may contain `/`).
const WILDCARD: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'^')
    .add(b'|');

/// The app's named routes. Cheap to clone; available in handlers as an extractor.
#[derive(Clone, Debug, Default)]
pub struct Urls {
    routes: Arc<BTreeMap<String, RouteInfo>>,
    all: Arc<Vec<RouteInfo>>,
    /// Route names by path pattern, for the request log.
    names: Arc<std::collections::HashMap<String, String>>,
}

impl Urls {
    pub(crate) fn new(routes: Vec<RouteInfo>) -> Self {
        let named = routes
            .iter()
            .filter(|r| !r.name.is_empty())
            .map(|r| (r.name.clone(), r.clone()))
            .collect();
        let names = routes
            .iter()
            .filter(|r| !r.name.is_empty())
            .map(|r| (r.path.clone(), r.name.clone()))
            .collect();
        Self {
            routes: Arc::new(named),
            all: Arc::new(routes),
            names: Arc::new(names),
        }
    }

    /// The name of the route whose path pattern is `path` (`/posts/{id}`), if it has one.
    pub(crate) fn name_of(&self, path: &str) -> Option<&str> {
        self.names.get(path).map(String::as_str)
    }

    /// Every route the app registered, in order (named or not).
    pub fn all(&self) -> &[RouteInfo] {
        &self.all
    }

    /// The path of the route called `name`, its `{params}` filled in order from `params`
    /// (each percent-encoded). Tornado's `reverse_url(name, *args)`.
    pub fn reverse_url<I>(&self, name: &str, params: I) -> Result<String, Error>
    where
        I: IntoIterator,
        I::Item: Display,
    {
        let route = self
            .routes
            .get(name)
            .ok_or_else(|| Error::route(format!("reverse_url: no route is named {name:?}")))?;
        let params: Vec<String> = params.into_iter().map(|p| p.to_string()).collect();
        let wanted = route.params();
        if params.len() != wanted.len() {
            return Err(Error::route(format!(
                "reverse_url: route {name:?} ({}) takes {} parameter(s) ({}), {} given",
                route.path,
                wanted.len(),
                wanted.join(", "),
                params.len()
            )));
        }
        let mut url = String::with_capacity(route.path.len() + 16);
        let mut values = params.iter();
        for segment in &route.segments {
            match segment {
                Segment::Literal(s) => url.push_str(s),
                Segment::Param(p) => {
                    let value = values.next().expect("counted");
                    if value.is_empty() {
                        return Err(Error::route(format!(
                            "reverse_url: parameter {p:?} of route {name:?} is empty"
                        )));
                    }
                    url.extend(utf8_percent_encode(value, SEGMENT));
                }
                Segment::Wildcard(_) => {
                    let value = values.next().expect("counted");
                    url.extend(utf8_percent_encode(value.trim_start_matches('/'), WILDCARD));
                }
            }
        }
        Ok(url)
    }

    /// [`Urls::reverse_url`] for a route without parameters.
    pub fn url(&self, name: &str) -> Result<String, Error> {
        self.reverse_url(name, std::iter::empty::<&str>())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Urls {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        Ok(crate::state::Shared::from_parts(parts)?.urls.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls::new(vec![
            RouteInfo::new("home", "/", vec![], String::new()),
            RouteInfo::new("post", "/posts/{id}", vec![], String::new()),
            RouteInfo::new("edit", "/posts/{id}/edit/{part}", vec![], String::new()),
            RouteInfo::new("file", "/files/{*path}", vec![], String::new()),
        ])
    }

    #[test]
    fn reverses_and_encodes() {
        let u = urls();
        assert_eq!(u.url("home").unwrap(), "/");
        assert_eq!(u.reverse_url("post", [42]).unwrap(), "/posts/42");
        assert_eq!(
            u.reverse_url("post", ["a/b?c#d e"]).unwrap(),
            "/posts/a%2Fb%3Fc%23d%20e"
        );
        assert_eq!(
            u.reverse_url("edit", ["1", "x"]).unwrap(),
            "/posts/1/edit/x"
        );
        assert_eq!(
            u.reverse_url("file", ["css/app.css"]).unwrap(),
            "/files/css/app.css"
        );
    }

    #[test]
    fn missing_names_and_wrong_arity_are_errors() {
        let u = urls();
        let e = u.url("nope").unwrap_err().to_string();
        assert!(e.contains("no route is named \"nope\""), "{e}");
        let e = u.url("post").unwrap_err().to_string();
        assert!(e.contains("takes 1 parameter(s) (id), 0 given"), "{e}");
        assert!(u.reverse_url("home", [1]).is_err());
        assert!(u.reverse_url("post", [""]).is_err());
    }
}
