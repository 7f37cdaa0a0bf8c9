//! Static files from the app's `static/` folder, with content-hash URLs (Tornado's `static_url`).
//!
//! `static_url("css/app.css")` is `/static/css/app.css?v=<hash of the file's content>`. A URL
//! with `?v=` is served with a year-long `immutable` cache header: when the file changes, its
//! URL changes. A URL without it is served with `no-cache`, so browsers revalidate with the
//! `ETag` and get `304 Not Modified` when nothing changed.
//!
//! Files are streamed by tower-http's `ServeFile`, which answers `Range` requests and serves a
//! precompressed `app.css.br` or `app.css.gz` beside `app.css` to browsers that accept it.
//! Content hashes are computed once per file. Outside dev, a page's `static_url` is then
//! answered from memory, with no file system call: the files of a running app in test or prod
//! do not change (a deploy restarts it). In dev, each `static_url` checks the file's size and
//! modification time, and hashes it again when they changed, so an edit shows at the next
//! reload.
//!
//! Only regular files inside the folder are served: `..`, encoded `%2e%2e`, absolute paths,
//! backslashes, hidden files and symbolic links that lead outside all answer 404.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path as UrlPath, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;
use tower_http::services::ServeFile;

use crate::error::Error;
use crate::state::Shared;

/// The URL prefix static files are served under.
pub(crate) const STATIC_PREFIX: &str = "/static/";

/// A year, in seconds: the lifetime of versioned static URLs.
const ONE_YEAR: u32 = 365 * 24 * 3600;

#[derive(Clone, Debug)]
struct Entry {
    modified: Option<SystemTime>,
    len: u64,
    hash: String,
}

/// The static folder and a cache of content hashes (refreshed when a file's modification time
/// or size changes, so edits in dev show at once).
#[derive(Clone, Debug)]
pub(crate) struct StaticFiles {
    root: PathBuf,
    cache: Arc<Mutex<HashMap<PathBuf, Entry>>>,
    /// The URLs given so far, by the path asked for; `None` in dev, where files change.
    urls: Option<Arc<std::sync::RwLock<HashMap<String, String>>>>,
}

impl StaticFiles {
    /// Serve files from `root`; URLs are checked against the files at every call (dev).
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            cache: Arc::default(),
            urls: None,
        }
    }

    /// Serve files from `root`, whose files do not change while the app runs (test, prod):
    /// each URL is worked out once, and then given from memory.
    pub(crate) fn fixed(root: impl Into<PathBuf>) -> Self {
        Self {
            urls: Some(Arc::default()),
            ..Self::new(root)
        }
    }

    /// The versioned URL of a file; without `?v=` (and a warning) if the file cannot be read.
    pub(crate) fn url(&self, path: &str) -> String {
        let Some(urls) = &self.urls else {
            return self.look_up(path);
        };
        let known = urls
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(path)
            .cloned();
        if let Some(url) = known {
            return url;
        }
        let url = self.look_up(path);
        urls.write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.to_string(), url.clone());
        url
    }

    /// The versioned URL of a file, from the file system.
    fn look_up(&self, path: &str) -> String {
        let clean = path.trim_start_matches('/');
        let base = format!("{STATIC_PREFIX}{clean}");
        if let Some(hash) = self.resolve(clean).and_then(|p| self.hash(&p).ok()) {
            format!("{base}?v={hash}")
        } else {
            tracing::warn!(path = clean, root = %self.root.display(), "static_url: no such static file");
            base
        }
    }

    /// A safe path inside the folder, or `None`.
    fn resolve(&self, path: &str) -> Option<PathBuf> {
        if path.is_empty() || path.contains('\\') || path.contains('\0') || path.contains(':') {
            return None;
        }
        let rel = Path::new(path);
        for component in rel.components() {
            match component {
                Component::Normal(part) => {
                    let part = part.to_str()?;
                    if part.starts_with('.') {
                        return None;
                    }
                }
                _ => return None,
            }
        }
        let full = self.root.join(rel);
        // Symbolic links may not lead outside the folder.
        self.real_inside(&full)
    }

    /// `path` with every link followed, if that is a regular file inside the folder.
    fn real_inside(&self, path: &Path) -> Option<PathBuf> {
        let root = self.root.canonicalize().ok()?;
        let real = path.canonicalize().ok()?;
        (real.starts_with(&root) && real.is_file()).then_some(real)
    }

    fn hash(&self, path: &Path) -> std::io::Result<String> {
        let meta = std::fs::metadata(path)?;
        let modified = meta.modified().ok();
        if let Some(entry) = self.cache.lock().expect("static cache").get(path)
            && entry.modified == modified
            && entry.len == meta.len()
        {
            return Ok(entry.hash.clone());
        }
        let bytes = std::fs::read(path)?;
        let hash = content_hash(&bytes);
        self.cache.lock().expect("static cache").insert(
            path.to_path_buf(),
            Entry {
                modified,
                len: meta.len(),
                hash: hash.clone(),
            },
        );
        Ok(hash)
    }
}

fn content_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

/// The handler for `GET /static/{*path}`: the file through tower-http's `ServeFile` (streamed,
/// `Range` requests, a `.br` or `.gz` file beside it when the browser accepts that encoding),
/// with an `ETag` from the content hash that [`StaticFiles::url`] computed (again only when the
/// file's size or modification time changes).
pub(crate) async fn serve(UrlPath(path): UrlPath<String>, req: Request) -> Response {
    let Some(shared) = req.extensions().get::<Arc<Shared>>().cloned() else {
        return Error::not_found().into_response();
    };
    let statics = &shared.statics;
    let Some(file) = statics.resolve(&path) else {
        return Error::not_found().into_response();
    };
    let Ok(hash) = statics.hash(&file) else {
        return Error::not_found().into_response();
    };
    let versioned = req
        .uri()
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "v"));
    let cache_control = if versioned {
        format!("public, max-age={ONE_YEAR}, immutable")
    } else {
        "no-cache".to_string()
    };
    // A precompressed copy is offered only when the file ServeFile would open for it (the
    // real file's path plus `.br` or `.gz`) passes the same checks as the file itself: a
    // regular file, inside the folder, no link that leads outside.
    let brotli = statics.real_inside(&sibling(&file, "br")).is_some();
    let gzip = statics.real_inside(&sibling(&file, "gz")).is_some();
    let mut response = if etag_matches(req.headers().get(header::IF_NONE_MATCH), &hash) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut serve = ServeFile::new(&file);
        if brotli {
            serve = serve.precompressed_br();
        }
        if gzip {
            serve = serve.precompressed_gzip();
        }
        let served = serve.oneshot(req).await;
        let mut r = match served {
            Ok(r) => r.map(Body::new),
            Err(never) => match never {},
        };
        if r.status() == StatusCode::NOT_FOUND {
            return Error::not_found().into_response();
        }
        with_charset(r.headers_mut());
        r
    };
    let headers = response.headers_mut();
    if brotli || gzip {
        // The body depends on `Accept-Encoding`: caches must keep the copies apart.
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let status = response.status();
    if !matches!(
        status,
        StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
    ) {
        // A refused range or precondition, or a read that failed: nothing to keep.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    // One entity per encoding: a `.gz` or `.br` copy has an `ETag` of its own.
    let etag = match response
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    {
        Some(encoding) => format!("\"{hash}-{encoding}\""),
        None => format!("\"{hash}\""),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex and an encoding name are ascii"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&cache_control).expect("ascii"),
    );
    response
}

/// `path` with `.ext` added (`app.css` → `app.css.gz`), as `ServeFile` names a precompressed
/// copy.
fn sibling(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// Text and scripts are UTF-8: say so in their `Content-Type`.
fn with_charset(headers: &mut HeaderMap) {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let text = ct.starts_with("text/") || ct == "application/javascript";
    if text
        && !ct.contains("charset")
        && let Ok(v) = HeaderValue::from_str(&format!("{ct}; charset=utf-8"))
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
}

/// Does `If-None-Match` name the file's content (`"<hash>"`, or a precompressed copy's
/// `"<hash>-gzip"`), or `*`?
fn etag_matches(if_none_match: Option<&HeaderValue>, hash: &str) -> bool {
    let Some(value) = if_none_match.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value.split(',').map(str::trim).any(|candidate| {
        let tag = candidate.trim_start_matches("W/");
        let inner = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
        candidate == "*"
            || inner.is_some_and(|inner| {
                inner == hash
                    || inner
                        .strip_prefix(hash)
                        .is_some_and(|rest| matches!(rest, "-gzip" | "-br"))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("static/css")).unwrap();
        std::fs::write(dir.path().join("static/css/app.css"), "body{}").unwrap();
        std::fs::write(dir.path().join("static/.env"), "SECRET").unwrap();
        std::fs::write(dir.path().join("outside.txt"), "no").unwrap();
        let s = StaticFiles::new(dir.path().join("static"));
        assert!(s.resolve("css/app.css").is_some());
        for bad in [
            "../outside.txt",
            "css/../../outside.txt",
            "/etc/passwd",
            "css\\..\\..\\outside.txt",
            ".env",
            "css",
            "",
            "nope.css",
        ] {
            assert!(s.resolve(bad).is_none(), "{bad:?}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                dir.path().join("outside.txt"),
                dir.path().join("static/link.txt"),
            )
            .unwrap();
            assert!(s.resolve("link.txt").is_none());
        }
    }

    #[test]
    fn url_has_a_content_hash_that_follows_edits() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.css");
        std::fs::write(&file, "a{}").unwrap();
        let s = StaticFiles::new(dir.path());
        let first = s.url("app.css");
        assert!(first.starts_with("/static/app.css?v="), "{first}");
        std::fs::write(&file, "a{color:red}").unwrap();
        assert_ne!(s.url("app.css"), first);
        assert_eq!(s.url("missing.css"), "/static/missing.css");
    }

    #[test]
    fn outside_dev_a_url_is_worked_out_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.css");
        std::fs::write(&file, "a{}").unwrap();
        let s = StaticFiles::fixed(dir.path());
        let first = s.url("app.css");
        assert!(first.starts_with("/static/app.css?v="), "{first}");
        // The file is not looked at again: not when it changes, not when it is gone.
        std::fs::write(&file, "a{color:red}").unwrap();
        assert_eq!(s.url("app.css"), first);
        std::fs::remove_file(&file).unwrap();
        assert_eq!(s.url("app.css"), first);
        // Clones share what is known.
        assert_eq!(s.clone().url("app.css"), first);
        assert_eq!(s.url("missing.css"), "/static/missing.css");
    }
}
