//! Cookies and XSRF tokens against Tornado itself: a Tornado app and a torn app share a secret
//! and read each other's signed cookies and XSRF tokens.
//!
//! Needs python3 with `tornado` (`pip install tornado`). Without it the suite is reported as
//! skipped, unless `TORN_REQUIRE_TORNADO=1` (set by `.ci/run`), which makes it fail instead.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use axum::routing::get;
use torn::signing::Keys;
use torn::test::TestServer;
use torn::{App, Cookies, Page, PageContext, Settings};

const SECRET: &str = "shared-between-tornado-and-torn-0123456789";

fn tornado_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import tornado"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TORN_REQUIRE_TORNADO").is_none(),
            "TORN_REQUIRE_TORNADO is set but python3 cannot import tornado"
        );
        common::skipped("tornado interop", "python3 with tornado is not installed");
    }
    ok
}

struct Peer {
    child: Child,
    base: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tornado(secret_json: &str, key_version: Option<u32>) -> Peer {
    let script = common::workspace_root().join("tests/tornado_peer.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(secret_json);
    if let Some(v) = key_version {
        cmd.arg(v.to_string());
    }
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start Tornado");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("Tornado printed its port");
    Peer {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

#[derive(askama::Template)]
#[template(source = "{{ ctx.xsrf_token() }}", ext = "txt")]
struct Token {
    ctx: PageContext,
}

async fn torn_app(keys: Keys) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_test(dir.path());
    settings.cookies.keys = keys;
    let app = App::new(settings)
        .route(
            "/set/{name}/{value}",
            get(
                |cookies: Cookies, axum::extract::Path((n, v)): axum::extract::Path<(String, String)>| async move {
                    (cookies.set_signed(n, v), "ok")
                },
            ),
        )
        .route(
            "/get/{name}",
            get(|cookies: Cookies, axum::extract::Path(n): axum::extract::Path<String>| async move {
                cookies.get_signed(&n).unwrap_or_else(|| "absent".into())
            }),
        )
        .route(
            "/xsrf",
            get(|ctx: PageContext| async move { Page(Token { ctx }) }).post(|| async { "accepted" }),
        );
    TestServer::start(app).await
}

/// `name=value` of the first Set-Cookie for `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}"))
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn text(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

/// GET `url` with one cookie (`name=value`) and return the body.
async fn get_with_cookie(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    cookie: impl AsRef<str>,
) -> String {
    let response = http
        .get(url)
        .header("cookie", cookie.as_ref())
        .send()
        .await
        .unwrap();
    text(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_cookies_cross_both_ways() {
    if !tornado_available() {
        return;
    }
    let peer = tornado(&format!("\"{SECRET}\""), None);
    let torn = torn_app(Keys::single(SECRET)).await;
    let http = reqwest::Client::new();

    // Tornado signs, torn reads.
    let r = http
        .get(format!("{}/set?name=user&value=ada%7Clovelace", peer.base))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&r, "user");
    assert_eq!(
        get_with_cookie(&http, torn.url("/get/user"), &cookie).await,
        "ada|lovelace"
    );

    // torn signs, Tornado reads.
    let r = http.get(torn.url("/set/user/grace")).send().await.unwrap();
    let cookie = set_cookie(&r, "user");
    assert_eq!(
        get_with_cookie(&http, format!("{}/get?name=user", peer.base), &cookie).await,
        "grace"
    );

    // A cookie signed for one name does not read under another, on either side.
    let renamed = cookie.replacen("user=", "admin=", 1);
    assert_eq!(
        get_with_cookie(&http, format!("{}/get?name=admin", peer.base), &renamed).await,
        "absent"
    );
    assert_eq!(
        get_with_cookie(&http, torn.url("/get/admin"), &renamed).await,
        "absent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_secrets_match_tornado_key_versions() {
    if !tornado_available() {
        return;
    }
    let old = "old-secret-shared-by-both-0123456789abcdef";
    let new = "new-secret-shared-by-both-0123456789abcdef";
    let peer = tornado(&format!("{{\"1\": \"{old}\", \"2\": \"{new}\"}}"), Some(2));
    let torn = torn_app(Keys::versioned([(1, old), (2, new)])).await;
    let http = reqwest::Client::new();

    let r = http
        .get(format!("{}/set?name=s&value=v2", peer.base))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&r, "s");
    // Python quotes values that contain '='; torn reads them either way.
    assert!(cookie.starts_with("s=\"2|1:2|"), "{cookie}");
    assert_eq!(
        get_with_cookie(&http, torn.url("/get/s"), &cookie).await,
        "v2"
    );

    // A value signed with key version 1 by torn is still accepted by Tornado.
    let signed_v1 = Keys::versioned([(1, old)]).sign("s", b"v1");
    let read = http
        .get(format!("{}/get?name=s", peer.base))
        .header("cookie", format!("s={signed_v1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(text(read).await, "v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xsrf_tokens_cross_both_ways() {
    if !tornado_available() {
        return;
    }
    let peer = tornado(&format!("\"{SECRET}\""), None);
    let torn = torn_app(Keys::single(SECRET)).await;
    let http = reqwest::Client::new();

    // torn's cookie and masked token, posted to Tornado.
    let r = http.get(torn.url("/xsrf")).send().await.unwrap();
    let cookie = set_cookie(&r, "_xsrf");
    let token = text(r).await;
    let posted = http
        .post(format!("{}/xsrf", peer.base))
        .header("cookie", &cookie)
        .form(&[("_xsrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(text(posted).await, "accepted");

    // Tornado's cookie and masked token, posted to torn.
    let r = http
        .get(format!("{}/xsrf", peer.base))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&r, "_xsrf");
    let token = text(r).await;
    let posted = http
        .post(torn.url("/xsrf"))
        .header("cookie", &cookie)
        .form(&[("_xsrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(text(posted).await, "accepted");

    // And a wrong token is refused by both.
    let wrong = "2|00000000|000102030405060708090a0b0c0d0e0f|1700000000";
    let t = http
        .post(format!("{}/xsrf", peer.base))
        .header("cookie", &cookie)
        .form(&[("_xsrf", wrong)])
        .send()
        .await
        .unwrap();
    assert_eq!(t.status(), 403);
    let t = http
        .post(torn.url("/xsrf"))
        .header("cookie", &cookie)
        .form(&[("_xsrf", wrong)])
        .send()
        .await
        .unwrap();
    assert_eq!(t.status(), 403);
}
