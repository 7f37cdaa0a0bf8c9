//! XSRF (cross-site request forgery) protection, on by default.
//!
//! Every `POST`, `PUT`, `PATCH` and `DELETE` must carry the browser's token, which lives in the
//! `_xsrf` cookie: as the form field `_xsrf` (render it with `{{ ctx.xsrf_form_html()|safe }}`),
//! or in the `X-XSRFToken` or `X-CSRFToken` header (read it from `ctx.xsrf_token()`, e.g. in a
//! `<meta>` tag, for JavaScript). Tokens use Tornado's version-2 masked format, so each rendering
//! differs (BREACH-safe) and the comparison is constant-time.
//!
//! In addition, a request whose `Sec-Fetch-Site` header is anything but `same-origin` or `none`,
//! or whose `Origin` does not match its `Host`, is refused whatever its token: browsers send these
//! headers and an attacker's page cannot forge them.
//!
//! A refused request gets `403 Forbidden` and a page that says why. Routes that authenticate
//! otherwise (an API with bearer tokens, a webhook with its own signature) opt out with
//! [`App::xsrf_exempt`](crate::App::xsrf_exempt).

mod token;

pub use token::RawToken;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use futures_util::stream;

use crate::error::Error;

/// Name of the cookie and the form field.
pub const XSRF_NAME: &str = "_xsrf";

/// The XSRF cookie's name: `__Host-_xsrf` when cookies are `Secure` (browsers then refuse it
/// from plain HTTP, with a `Domain`, or for a narrower path, so a sibling subdomain or a
/// man-in-the-middle on HTTP cannot plant one), else `_xsrf`, as Tornado names it.
pub(crate) fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-_xsrf" } else { XSRF_NAME }
}

/// Does this method need an XSRF check?
pub(crate) fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Refuse cross-site requests by their `Sec-Fetch-Site` or `Origin` header. `authority` is
/// the request URI's host and port (HTTP/2 requests may carry it instead of a `Host` header).
/// On an HTTPS site (`https_site`: the client used HTTPS, or cookies are `Secure`), an
/// `http://` origin is another origin even with the same host: a page served over plain HTTP
/// (which anyone on the network can rewrite) may not post to the site.
pub(crate) fn check_origin(
    headers: &HeaderMap,
    authority: Option<&str>,
    https_site: bool,
) -> Result<(), Error> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(Error::forbidden(format!(
                "XSRF check failed: this request came from another site (Sec-Fetch-Site: {other}). \
                 Forms must be submitted from this site's own pages."
            ))),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null");
    if https_site && !origin.starts_with("https://") {
        return Err(Error::forbidden(format!(
            "XSRF check failed: this request came from a page that was not served over HTTPS \
             (Origin: {origin}). Forms must be submitted from this site's own pages."
        )));
    }
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    // The host the browser addressed: `Host`, the URI's authority (HTTP/2), or the host a
    // reverse proxy saw (`X-Forwarded-Host`; a cross-site form cannot set that header).
    let hosts = [
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
        authority,
        headers
            .get("x-forwarded-host")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split(',').next())
            .map(str::trim),
    ];
    if !origin_host.is_empty()
        && hosts
            .into_iter()
            .flatten()
            .any(|h| !h.is_empty() && origin_host.eq_ignore_ascii_case(h))
    {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "XSRF check failed: this request came from another site (Origin: {origin}). \
             Forms must be submitted from this site's own pages."
        )))
    }
}

/// Check the request's token against the cookie's. Returns the request, rebuilt when its body
/// had to be read to find the `_xsrf` field.
pub(crate) async fn check_token(
    req: Request,
    cookie: Option<&RawToken>,
    body_limit: usize,
) -> Result<Request, Error> {
    let from_header = ["x-xsrftoken", "x-csrftoken"]
        .iter()
        .find_map(|h| req.headers().get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Never from the query string: a token in a URL leaks through Referer headers and logs.
    let (req, submitted) = match from_header {
        Some(t) => (req, Some(t)),
        None => token_from_body(req, body_limit).await?,
    };
    let Some(submitted) = submitted.filter(|s| !s.is_empty()) else {
        return Err(Error::forbidden(
            "XSRF check failed: the '_xsrf' field is missing from the form. Reload the page and \
             submit the form again.",
        ));
    };
    let Some(expected) = cookie else {
        return Err(Error::forbidden(
            "XSRF check failed: the '_xsrf' cookie is missing. Your browser may block cookies for \
             this site; allow them, reload the page and try again.",
        ));
    };
    let Some(submitted) = RawToken::decode(&submitted) else {
        return Err(Error::forbidden(
            "XSRF check failed: the '_xsrf' value has an invalid format. Reload the page and \
             submit the form again.",
        ));
    };
    if !submitted.matches(expected) {
        return Err(Error::forbidden(
            "XSRF check failed: the '_xsrf' value does not match the cookie. Reload the page and \
             submit the form again.",
        ));
    }
    Ok(req)
}

/// Read the body of a form (urlencoded or multipart) to find `_xsrf`, and put it back.
async fn token_from_body(
    req: Request,
    body_limit: usize,
) -> Result<(Request, Option<String>), Error> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let urlencoded = content_type.starts_with("application/x-www-form-urlencoded");
    let boundary = multer::parse_boundary(&content_type).ok();
    if !urlencoded && boundary.is_none() {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, body_limit).await.map_err(|_| {
        Error::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "The request is too large.",
        )
    })?;
    let token = if urlencoded {
        form_urlencoded(&bytes)
            .into_iter()
            .find(|(k, _)| k == XSRF_NAME)
            .map(|(_, v)| v)
    } else {
        multipart_field(bytes.clone(), boundary.expect("checked")).await
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

async fn multipart_field(bytes: Bytes, boundary: String) -> Option<String> {
    let stream = stream::once(async move { Ok::<Bytes, std::io::Error>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(XSRF_NAME) {
            return field.text().await.ok();
        }
    }
    None
}

fn form_urlencoded(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_rules() {
        let check = |h: &[(&'static str, &'static str)]| check_origin(&headers(h), None, false);
        assert!(check(&[]).is_ok());
        assert!(check(&[("sec-fetch-site", "same-origin")]).is_ok());
        assert!(check(&[("sec-fetch-site", "none")]).is_ok());
        assert!(check(&[("sec-fetch-site", "cross-site")]).is_err());
        assert!(check(&[("sec-fetch-site", "same-site")]).is_err());
        assert!(
            check(&[
                ("origin", "http://127.0.0.1:8888"),
                ("host", "127.0.0.1:8888")
            ])
            .is_ok()
        );
        assert!(
            check(&[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:8888")
            ])
            .is_err()
        );
        assert!(check(&[("origin", "null"), ("host", "127.0.0.1:8888")]).is_err());
        assert!(check(&[("origin", "https://evil.example")]).is_err());
        // HTTP/2: no Host header, the authority is in the URI.
        let h2 = check_origin(
            &headers(&[("origin", "https://app.example")]),
            Some("app.example"),
            false,
        );
        assert!(h2.is_ok());
        // Behind a proxy that rewrites Host.
        let proxied = [
            ("origin", "https://app.example"),
            ("host", "127.0.0.1:8888"),
            ("x-forwarded-host", "app.example"),
        ];
        assert!(check(&proxied).is_ok());
        // On an HTTPS site, the same host over plain HTTP is another origin.
        let https = |origin: &'static str| {
            check_origin(
                &headers(&[("origin", origin), ("host", "app.example")]),
                None,
                true,
            )
        };
        assert!(https("https://app.example").is_ok());
        let refused = https("http://app.example").unwrap_err();
        assert!(
            refused.message().contains("not served over HTTPS"),
            "{refused:?}"
        );
        assert!(https("null").is_err());
    }

    #[test]
    fn form_parsing() {
        let pairs = form_urlencoded(b"a=1&_xsrf=2%7Cab%7Ccd%7C3&b=x+y");
        assert_eq!(pairs[1], ("_xsrf".into(), "2|ab|cd|3".into()));
        assert_eq!(pairs[2], ("b".into(), "x y".into()));
    }
}
