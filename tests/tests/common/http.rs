//! HTTP from the tests' side: raw requests, and a client with a cookie jar like a browser's.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Send a request exactly as written (no client-side path normalization) and return the
/// status code and the body.
pub fn raw_request(addr: SocketAddr, request_line_path: &str) -> (u16, String) {
    request(addr, request_line_path)
        .unwrap_or_else(|e| panic!("GET {request_line_path} from {addr}: {e}"))
}

/// One `GET` on a new connection, the path sent exactly as written: the status code and the
/// body, or why there is none (refused, reset, not an HTTP answer).
pub fn request(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let response = String::from_utf8_lossy(&raw);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The body of `GET url`, sent with `client`.
pub async fn page_text(client: &reqwest::Client, url: &str) -> String {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    response.text().await.expect("a readable body")
}

/// The XSRF token of the form on the page at `url`, as `client` (and its cookies) sees it.
pub async fn form_token(client: &reqwest::Client, url: &str) -> String {
    let page = page_text(client, url).await;
    torn::test::form_field(&page, "_xsrf")
        .unwrap_or_else(|| panic!("the page at {url} has no form with a token: {page}"))
}
