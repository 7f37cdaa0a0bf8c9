//! The framework over real HTTP: handlers and 405, named routes, pages, static files, error
//! pages, signed cookies, XSRF, security headers, limits and graceful shutdown.

mod common;

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use torn::signing::Keys;
use torn::test::TestServer;
use torn::{App, Cookies, Env, Error, Flash, Page, PageContext, Settings, Urls};

// ---------------------------------------------------------------- the app under test

struct Items;

impl Items {
    async fn get(urls: Urls) -> torn::Result<String> {
        Ok(format!("item 7 is at {}", urls.reverse_url("item", [7])?))
    }
    async fn post(Form(fields): Form<Vec<(String, String)>>) -> String {
        let name = fields
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        format!("created {name}")
    }
}

torn::handler!(Items => get, post);

struct Item;

impl Item {
    async fn get(Path(id): Path<String>) -> String {
        format!("item {id}")
    }
    async fn delete(Path(id): Path<String>) -> String {
        format!("deleted {id}")
    }
}

torn::handler!(Item => get, delete);

#[derive(Clone)]
struct Loaded(&'static str);

struct Guarded;

impl Guarded {
    async fn prepare(mut req: Request, next: Next) -> Response {
        if req.headers().get("x-pass").is_some_and(|v| v == "yes") {
            req.extensions_mut().insert(Loaded("loaded by prepare"));
            next.run(req).await
        } else {
            Error::forbidden("prepare refused this request").into_response()
        }
    }
    async fn get(Extension(loaded): Extension<Loaded>) -> String {
        loaded.0.to_string()
    }
}

torn::handler!(Guarded => get; prepare = Guarded::prepare);

#[derive(Template)]
#[template(
    source = r#"<a id="item" href="{{ ctx.reverse_url("item", [42])? }}">item</a>
<a id="search" href="{{ ctx.reverse_url("file", ["a b/c.txt"])? }}">file</a>
<link rel="stylesheet" href="{{ ctx.static_url("app.css") }}">
<form method="post" action="{{ ctx.url("items")? }}">{{ ctx.xsrf_form_html()|safe }}</form>
{% for f in ctx.flashes() %}<p class="flash-{{ f.level }}">{{ f.message }}</p>{% endfor %}"#,
    ext = "html"
)]
struct FormPage {
    ctx: PageContext,
}

async fn form_page(ctx: PageContext) -> Page<FormPage> {
    Page(FormPage { ctx })
}

#[derive(Template)]
#[template(
    source = r#"<a href="{{ ctx.url("no-such-route")? }}">x</a>"#,
    ext = "html"
)]
struct BrokenLink {
    ctx: PageContext,
}

async fn broken_link(ctx: PageContext) -> Page<BrokenLink> {
    Page(BrokenLink { ctx })
}

async fn failing() -> torn::Result<String> {
    let inner = std::io::Error::other("disk on fire");
    Err(Error::internal(inner))
}

async fn panicking() -> String {
    panic!("handler exploded")
}

async fn plain() -> &'static str {
    "plain axum handler"
}

async fn set_cookie(cookies: Cookies, Path(value): Path<String>) -> (Cookies, &'static str) {
    (cookies.set_signed("session_hint", value), "set")
}

async fn get_cookie(cookies: Cookies) -> String {
    cookies
        .get_signed("session_hint")
        .unwrap_or_else(|| "absent".into())
}

async fn flash_it(flash: Flash) -> Redirect {
    flash.success("Saved <b>now</b>");
    Redirect::to("/form")
}

async fn webhook() -> &'static str {
    "hook accepted"
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(800)).await;
    "slow done"
}

fn static_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("static/css")).unwrap();
    std::fs::write(dir.path().join("static/app.css"), "body { color: black }").unwrap();
    std::fs::write(dir.path().join("static/css/site.css"), "a { color: red }").unwrap();
    // A script with a precompressed copy beside it (its bytes stand for the gzip stream).
    std::fs::write(dir.path().join("static/app.js"), "console.log('plain')").unwrap();
    std::fs::write(dir.path().join("static/app.js.gz"), "GZIPPED app.js").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "TOP-SECRET-OUTSIDE-STATIC").unwrap();
    dir
}

fn build(settings: Settings) -> App {
    App::new(settings)
        .handler::<Items>("items", "/items")
        .handler::<Item>("item", "/items/{id}")
        .handler::<Guarded>("guarded", "/guarded")
        .named("form", "/form", get(form_page))
        .named("file", "/files/{*path}", get(plain))
        .named("broken-link", "/broken-link", get(broken_link))
        .route("/fail", get(failing))
        .route("/panic", get(panicking))
        .route("/plain", get(plain))
        .route("/cookie/set/{value}", get(set_cookie))
        .route("/cookie/get", get(get_cookie))
        .route("/flash", post(flash_it))
        .route("/slow", get(slow))
        .merge(Router::new().route("/api/hook", post(webhook)))
        .xsrf_exempt("/api/hook")
}

struct Fixture {
    server: TestServer,
    keys: Keys,
    _dir: tempfile::TempDir,
}

async fn start_with(env: Env) -> Fixture {
    let dir = static_root();
    let mut settings = Settings::for_test(dir.path());
    settings.env = env;
    if env == Env::Prod {
        settings.cookies.secure = true;
        settings.server.hsts = true;
    }
    let keys = settings.cookies.keys.clone();
    Fixture {
        server: TestServer::start(build(settings)).await,
        keys,
        _dir: dir,
    }
}

async fn start() -> Fixture {
    start_with(Env::Test).await
}

/// GET /form and return its masked XSRF token.
async fn xsrf_token(server: &TestServer) -> String {
    let page = server.get("/form").await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.form_field("_xsrf").expect("form has _xsrf")
}

// ---------------------------------------------------------------- handlers and routes

#[tokio::test]
async fn handler_methods_and_405_with_allow() {
    let f = start().await;
    let s = &f.server;
    assert_eq!(s.get("/items/3").await.text, "item 3");
    let put = s.send(s.client().put(s.url("/items/3"))).await;
    assert_eq!(put.status, 405);
    let allow = put.header("allow").expect("Allow header");
    assert!(allow.contains("GET") && allow.contains("DELETE"), "{allow}");
    assert!(!allow.contains("PUT"), "{allow}");
    assert!(put.text.contains("405"), "the 405 has a page: {}", put.text);
    // A method the route does not answer gets 405 before any XSRF check, as in Tornado.
    let patch = s.send(s.client().patch(s.url("/items"))).await;
    assert_eq!(patch.status, 405);
}

#[tokio::test]
async fn plain_axum_handlers_work_beside_handler_types() {
    let f = start().await;
    assert_eq!(f.server.get("/plain").await.text, "plain axum handler");
}

#[tokio::test]
async fn prepare_runs_before_every_method() {
    let f = start().await;
    let s = &f.server;
    let refused = s.get("/guarded").await;
    assert_eq!(refused.status, 403);
    assert!(refused.text.contains("prepare refused this request"));
    let allowed = s
        .send(s.client().get(s.url("/guarded")).header("x-pass", "yes"))
        .await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.text, "loaded by prepare");
}

#[tokio::test]
async fn reverse_url_in_handlers_and_templates() {
    let f = start().await;
    let s = &f.server;
    assert_eq!(s.get("/items").await.text, "item 7 is at /items/7");
    let page = s.get("/form").await;
    assert!(page.text.contains(r#"href="/items/42""#), "{}", page.text);
    assert!(
        page.text.contains(r#"href="/files/a%20b/c.txt""#),
        "{}",
        page.text
    );
    assert!(page.text.contains(r#"action="/items""#), "{}", page.text);
    // Tests follow the same routes.
    assert_eq!(s.reverse_url("item", [42]), "/items/42");
    assert_eq!(s.reverse_url("file", ["a b/c.txt"]), "/files/a%20b/c.txt");
    let wrong = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.reverse_url("nowhere", [1])
    }));
    assert!(wrong.is_err(), "a route that does not exist panics");
}

#[tokio::test]
async fn a_missing_route_name_is_an_error_with_details_in_dev_only() {
    let dev = start_with(Env::Dev).await;
    let page = dev.server.get("/broken-link").await;
    assert_eq!(page.status, 500);
    assert!(page.text.contains("no route is named"), "{}", page.text);

    let prod = start_with(Env::Prod).await;
    let page = prod.server.get("/broken-link").await;
    assert_eq!(page.status, 500);
    assert!(!page.text.contains("no route is named"), "{}", page.text);
}

// ---------------------------------------------------------------- pages and flash

#[tokio::test]
async fn flash_messages_are_escaped_and_shown_once() {
    let f = start().await;
    let s = &f.server;
    let token = xsrf_token(s).await;
    let r = s.post_form("/flash", &[("_xsrf", &token)]).await;
    assert_eq!(r.status, 303);
    let page = s.get("/form").await;
    assert!(
        page.text
            .contains(r#"<p class="flash-success">Saved &#60;b&#62;now&#60;/b&#62;</p>"#),
        "{}",
        page.text
    );
    assert!(!s.get("/form").await.text.contains("Saved"));
}

// ---------------------------------------------------------------- static files

#[tokio::test]
async fn static_urls_are_versioned_and_cached() {
    let f = start().await;
    let s = &f.server;
    let page = s.get("/form").await;
    let start = page.text.find("/static/app.css?v=").expect("versioned URL");
    let url: String = page.text[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();

    let versioned = s.get(&url).await;
    assert_eq!(versioned.status, 200);
    assert_eq!(versioned.text, "body { color: black }");
    assert_eq!(
        versioned.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        versioned
            .header("content-type")
            .unwrap()
            .starts_with("text/css")
    );

    let plain = s.get("/static/app.css").await;
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
    let etag = plain.header("etag").expect("ETag").to_string();
    let revalidated = s
        .send(
            s.client()
                .get(s.url("/static/app.css"))
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.text.is_empty());
    assert_eq!(s.get("/static/css/site.css").await.text, "a { color: red }");
}

/// The `/static/app.css?v=…` URL the form page renders.
async fn app_css_url(server: &TestServer) -> String {
    let page = server.get("/form").await;
    let start = page
        .text
        .find("/static/app.css")
        .expect("the stylesheet's URL");
    page.text[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect()
}

#[tokio::test]
async fn outside_dev_static_urls_cost_no_file_system_call() {
    // Test and prod: the first page works the URL out; later pages answer from memory, so
    // an edit under the running app (which a deploy would restart) changes nothing, and
    // neither does the file going away.
    for env in [Env::Test, Env::Prod] {
        let f = start_with(env).await;
        let first = app_css_url(&f.server).await;
        assert!(first.contains("?v="), "{first}");
        let css = f._dir.path().join("static/app.css");
        std::fs::write(&css, "body { color: white }").unwrap();
        assert_eq!(app_css_url(&f.server).await, first, "{env:?}");
        std::fs::remove_file(&css).unwrap();
        assert_eq!(app_css_url(&f.server).await, first, "{env:?}");
    }
    // Dev: each page checks the file, so an edit shows at the next reload.
    let f = start_with(Env::Dev).await;
    let first = app_css_url(&f.server).await;
    let css = f._dir.path().join("static/app.css");
    std::fs::write(&css, "body { color: white }").unwrap();
    let edited = app_css_url(&f.server).await;
    assert!(
        edited.contains("?v=") && edited != first,
        "{first} {edited}"
    );
}

#[tokio::test]
async fn static_files_answer_ranges_and_serve_precompressed_copies() {
    let f = start().await;
    let s = &f.server;
    let part = s
        .send(
            s.client()
                .get(s.url("/static/app.css"))
                .header("range", "bytes=0-3"),
        )
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.text, "body");
    assert_eq!(part.header("content-range"), Some("bytes 0-3/21"));

    let plain = s.get("/static/app.js").await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.text, "console.log('plain')");
    assert_eq!(plain.header("content-encoding"), None);
    assert!(
        plain
            .header("content-type")
            .is_some_and(|ct| ct.contains("javascript") && ct.contains("charset=utf-8")),
        "{:?}",
        plain.header("content-type")
    );
    let gzipped = s
        .send(
            s.client()
                .get(s.url("/static/app.js"))
                .header("accept-encoding", "gzip"),
        )
        .await;
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gzipped.text, "GZIPPED app.js", "the .gz file as it is");
    // Each encoding is an entity of its own, and revalidates as one.
    let (plain_tag, gzip_tag) = (
        plain.header("etag").expect("ETag").to_string(),
        gzipped.header("etag").expect("ETag").to_string(),
    );
    assert_ne!(plain_tag, gzip_tag);
    let revalidated = s
        .send(
            s.client()
                .get(s.url("/static/app.js"))
                .header("accept-encoding", "gzip")
                .header("if-none-match", &gzip_tag),
        )
        .await;
    assert_eq!(revalidated.status, 304);
    // A precompressed copy that is a link to outside the folder is never served.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            f._dir.path().join("secret.txt"),
            f._dir.path().join("static/app.css.gz"),
        )
        .unwrap();
        let linked = s
            .send(
                s.client()
                    .get(s.url("/static/app.css"))
                    .header("accept-encoding", "gzip"),
            )
            .await;
        assert_eq!(linked.status, 200);
        assert_eq!(linked.header("content-encoding"), None);
        assert_eq!(linked.text, "body { color: black }");

        // Nor one beside the file a link leads to, whatever lies beside the link itself.
        let root = f._dir.path().join("static");
        std::fs::create_dir_all(root.join("dist")).unwrap();
        std::fs::write(root.join("dist/site.js"), "console.log('dist')").unwrap();
        std::os::unix::fs::symlink(root.join("dist/site.js"), root.join("site.js")).unwrap();
        std::fs::write(root.join("site.js.gz"), "GZIPPED site.js").unwrap();
        std::os::unix::fs::symlink(
            f._dir.path().join("secret.txt"),
            root.join("dist/site.js.gz"),
        )
        .unwrap();
        let through_link = s
            .send(
                s.client()
                    .get(s.url("/static/site.js"))
                    .header("accept-encoding", "gzip"),
            )
            .await;
        assert_eq!(through_link.status, 200);
        assert!(!through_link.text.contains("TOP-SECRET"), "leaked the file");
        assert_eq!(through_link.text, "console.log('dist')");
    }
    // A copy that depends on Accept-Encoding says so to caches.
    assert!(
        gzipped
            .header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
        "{:?}",
        gzipped.header("vary")
    );
    // A refused range is not cached, and carries no ETag of the file.
    let refused = s
        .send(
            s.client()
                .get(s.url(&format!("{}?v=1", "/static/app.css")))
                .header("range", "bytes=999999-"),
        )
        .await;
    assert_eq!(refused.status, 416);
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    assert_eq!(refused.header("etag"), None);
    let head = s.send(s.client().head(s.url("/static/app.css"))).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("21"));
    assert!(head.text.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_refuse_path_traversal() {
    let f = start().await;
    let addr = f.server.addr();
    for path in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/css/../../secret.txt",
        "/static/css/%2e%2e/%2e%2e/secret.txt",
        "/static/..%5csecret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/%00",
        "/static/",
    ] {
        let (status, body) = common::raw_request(addr, path);
        assert!(
            status == 404 || status == 400,
            "{path} answered {status}: {body}"
        );
        assert!(!body.contains("TOP-SECRET"), "{path} leaked the file");
        assert!(!body.contains("root:"), "{path} leaked /etc/passwd");
    }
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn errors_render_pages_or_json() {
    let f = start().await;
    let s = &f.server;
    let missing = s.get("/nope").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(missing.text.contains("404 Not Found"));

    let json = s
        .send(
            s.client()
                .get(s.url("/nope"))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(json.status, 404);
    let body: serde_json::Value = serde_json::from_str(&json.text).expect("JSON body");
    assert_eq!(body["error"]["status"], 404);
    assert_eq!(body["error"]["title"], "Not Found");
}

#[tokio::test]
async fn internal_errors_hide_details_outside_dev() {
    let test = start().await;
    let page = test.server.get("/fail").await;
    assert_eq!(page.status, 500);
    assert!(!page.text.contains("disk on fire"), "{}", page.text);

    let dev = start_with(Env::Dev).await;
    let page = dev.server.get("/fail").await;
    assert_eq!(page.status, 500);
    assert!(page.text.contains("disk on fire"), "{}", page.text);
}

#[tokio::test]
async fn a_panic_becomes_a_500_and_the_server_lives_on() {
    let f = start_with(Env::Dev).await;
    let s = &f.server;
    let page = s.get("/panic").await;
    assert_eq!(page.status, 500);
    assert!(
        page.text.contains("handler exploded"),
        "dev shows the panic: {}",
        page.text
    );
    assert_eq!(s.get("/plain").await.status, 200);

    let prod = start_with(Env::Prod).await;
    let page = prod.server.get("/panic").await;
    assert_eq!(page.status, 500);
    assert!(!page.text.contains("handler exploded"));
}

// ---------------------------------------------------------------- signed cookies

fn cookie_value(set_cookie: &str) -> &str {
    set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v)
        .unwrap()
}

#[tokio::test]
async fn signed_cookies_round_trip_with_safe_defaults() {
    let f = start().await;
    let s = &f.server;
    let set = s.get("/cookie/set/hello").await;
    let header = set.header("set-cookie").expect("Set-Cookie").to_string();
    assert!(header.starts_with("session_hint=2|1:0|"), "{header}");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax"),
        "{header}"
    );
    assert!(
        !header.contains("Secure"),
        "no Secure flag on plain HTTP test profile"
    );
    assert_eq!(s.get("/cookie/get").await.text, "hello");
    assert_eq!(
        f.keys.verify("session_hint", cookie_value(&header), 31.0),
        Some(b"hello".to_vec())
    );
}

/// In prod the XSRF cookie is `__Host-_xsrf`: a cookie of that name can only come from this
/// host over HTTPS, for the whole site, so a sibling subdomain or a page on plain HTTP cannot
/// plant a token of its choosing (the double-submit check trusts the cookie).
#[tokio::test]
async fn the_xsrf_cookie_is_a_host_cookie_in_prod() {
    use torn::test::reqwest;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let f = start_with(Env::Prod).await;
    let s = &f.server;
    let page = s.send(plain.get(s.url("/form"))).await;
    let set = page
        .header("set-cookie")
        .expect("the token's cookie")
        .to_string();
    assert!(set.starts_with("__Host-_xsrf="), "{set}");
    assert!(
        set.contains("Secure") && set.contains("Path=/") && !set.contains("Domain"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let token = page.form_field("_xsrf").expect("the form's token");
    let post = |cookie: String| {
        s.send(
            plain
                .post(s.url("/flash"))
                .header("cookie", cookie)
                .form(&[("_xsrf", token.as_str())]),
        )
    };
    assert_eq!(post(cookie.clone()).await.status, 303);
    // The same token in a cookie without the prefix, as another subdomain could set it.
    let planted = cookie.replacen("__Host-_xsrf=", "_xsrf=", 1);
    let r = post(planted).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("cookie is missing"), "{}", r.text);
    // On plain HTTP (dev, test) the name is Tornado's.
    let dev = start().await;
    let page = dev.server.send(plain.get(dev.server.url("/form"))).await;
    let set = page.header("set-cookie").unwrap();
    assert!(set.starts_with("_xsrf="), "{set}");
}

#[tokio::test]
async fn secure_cookies_and_hsts_in_prod() {
    let f = start_with(Env::Prod).await;
    let s = &f.server;
    let set = s.get("/cookie/set/x").await;
    assert!(set.header("set-cookie").unwrap().contains("Secure"));
    assert!(set.header("strict-transport-security").is_some());
    let dev = start_with(Env::Test).await;
    assert!(
        dev.server
            .get("/plain")
            .await
            .header("strict-transport-security")
            .is_none()
    );
}

async fn read_with_cookie(s: &TestServer, value: &str) -> torn::test::TestResponse {
    let fresh = reqwest::Client::new();
    s.send(
        fresh
            .get(s.url("/cookie/get"))
            .header("cookie", format!("session_hint={value}")),
    )
    .await
}

#[tokio::test]
async fn forged_expired_and_garbage_cookies_read_as_absent() {
    let f = start().await;
    let s = &f.server;
    let good = f.keys.sign("session_hint", b"alice");
    assert_eq!(read_with_cookie(s, &good).await.text, "alice");

    // Tampered: the value changed, the signature kept.
    let forged = good.replace("8:YWxpY2U=", "8:bWFsbG9y");
    assert_ne!(forged, good);
    assert_eq!(read_with_cookie(s, &forged).await.text, "absent");
    // Signed by another secret.
    let other =
        Keys::single("a-completely-different-secret-value!!").sign("session_hint", b"alice");
    assert_eq!(read_with_cookie(s, &other).await.text, "absent");
    // Signed for another name.
    let renamed = f.keys.sign("other_cookie", b"alice");
    assert_eq!(read_with_cookie(s, &renamed).await.text, "absent");
    // Expired: signed 32 days ago (the default maximum age is 31 days).
    let old = f.keys.sign_at(
        "session_hint",
        b"alice",
        torn::signing::unix_now() - 32 * 86_400,
    );
    assert_eq!(read_with_cookie(s, &old).await.text, "absent");
    // Truncated, oversized, garbage: absent, never a 500.
    for bad in [
        &good[..good.len() - 5],
        &good[..10],
        &"2|".repeat(3000),
        "garbage",
        "1|abc|def",
        "2|1:0|10:9999999999|12:session_hint|0:|",
    ] {
        let r = read_with_cookie(s, bad).await;
        assert_eq!((r.status, r.text.as_str()), (200, "absent"), "{bad:?}");
    }
}

#[tokio::test]
async fn rotated_secrets_accept_old_cookies_and_sign_with_the_new_one() {
    let dir = static_root();
    let old = Keys::versioned([(1, "first-secret-first-secret-first-secret")]);
    let mut settings = Settings::for_test(dir.path());
    settings.cookies.keys = Keys::versioned([
        (1, "first-secret-first-secret-first-secret"),
        (2, "second-secret-second-secret-second-secret"),
    ]);
    let server = TestServer::start(build(settings)).await;
    let signed_old = old.sign("session_hint", b"kept");
    assert_eq!(read_with_cookie(&server, &signed_old).await.text, "kept");
    let set = server.get("/cookie/set/new").await;
    assert!(
        set.header("set-cookie")
            .unwrap()
            .starts_with("session_hint=2|1:2|")
    );
}

// ---------------------------------------------------------------- XSRF

#[tokio::test]
async fn xsrf_refuses_missing_and_wrong_tokens() {
    let f = start().await;
    let s = &f.server;
    // No cookie, no token.
    let fresh = reqwest::Client::new();
    let r = s
        .send(fresh.post(s.url("/items")).form(&[("name", "x")]))
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("XSRF"), "the 403 page says why: {}", r.text);

    let token = xsrf_token(s).await;
    // Cookie but no token.
    let r = s.post_form("/items", &[("name", "x")]).await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("missing"), "{}", r.text);
    // A well-formed token for another browser.
    let other = {
        let other = TestServer::start(build(Settings::for_test(static_root().path()))).await;
        xsrf_token(&other).await
    };
    let r = s
        .post_form("/items", &[("_xsrf", &other), ("name", "x")])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("does not match"), "{}", r.text);
    // Garbage.
    let r = s
        .post_form("/items", &[("_xsrf", "2|zz|zz|1"), ("name", "x")])
        .await;
    assert_eq!(r.status, 403);
    // A token but no cookie.
    let r = s
        .send(
            fresh
                .post(s.url("/items"))
                .form(&[("_xsrf", token.as_str()), ("name", "x")]),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("cookie"), "{}", r.text);
    // Unsafe methods all need it.
    let r = s.send(s.client().delete(s.url("/items/1"))).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn xsrf_accepts_each_fresh_masking_the_form_field_and_headers() {
    let f = start().await;
    let s = &f.server;
    let first = xsrf_token(s).await;
    let second = xsrf_token(s).await;
    assert_ne!(first, second, "each rendering is masked afresh");
    for token in [&first, &second] {
        let r = s
            .post_form("/items", &[("_xsrf", token), ("name", "ok")])
            .await;
        assert_eq!((r.status, r.text.as_str()), (200, "created ok"));
    }
    for header in ["X-XSRFToken", "X-CSRFToken"] {
        let r = s
            .send(
                s.client()
                    .delete(s.url("/items/5"))
                    .header(header, first.as_str()),
            )
            .await;
        assert_eq!((r.status, r.text.as_str()), (200, "deleted 5"), "{header}");
    }
}

/// A token in the URL leaks (the Referer header, proxy and server logs, the browser's history):
/// it was once accepted from the query string. Only the form body and the headers count.
#[tokio::test]
async fn xsrf_tokens_in_the_query_string_are_not_accepted() {
    let f = start().await;
    let s = &f.server;
    let token = xsrf_token(s).await;
    // The token is hex, digits and `|`.
    let query = format!("_xsrf={}", token.replace('|', "%7C"));
    let r = s
        .send(s.client().delete(s.url(&format!("/items/5?{query}"))))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("field is missing"), "{}", r.text);
    let r = s
        .send(
            s.client()
                .post(s.url(&format!("/items?{query}")))
                .form(&[("name", "no token in the body")]),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn xsrf_reads_multipart_forms() {
    let f = start().await;
    let s = &f.server;
    let token = xsrf_token(s).await;
    let boundary = "XyZboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_xsrf\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let r = s
        .send(
            s.client()
                .post(s.url("/api/hook"))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "exempt route");
    let r = s
        .send(
            s.client()
                .delete(s.url("/items/9"))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, "deleted 9"));
}

#[tokio::test]
async fn cross_site_requests_are_refused_even_with_a_token() {
    let f = start().await;
    let s = &f.server;
    let token = xsrf_token(s).await;
    let form = [("_xsrf", token.as_str()), ("name", "x")];
    let r = s
        .send(
            s.client()
                .post(s.url("/items"))
                .header("origin", "https://evil.example")
                .form(&form),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("another site"), "{}", r.text);
    let r = s
        .send(
            s.client()
                .post(s.url("/items"))
                .header("sec-fetch-site", "cross-site")
                .form(&form),
        )
        .await;
    assert_eq!(r.status, 403);
    let same_origin = format!("http://{}", s.addr());
    let r = s
        .send(
            s.client()
                .post(s.url("/items"))
                .header("origin", same_origin)
                .header("sec-fetch-site", "same-origin")
                .form(&form),
        )
        .await;
    assert_eq!(r.status, 200);
}

/// The Origin check compared hosts only: on an HTTPS site, a page of the same host served over
/// plain HTTP (which anyone on the path can rewrite) could post.
#[tokio::test]
async fn an_https_site_refuses_origins_over_plain_http() {
    let f = start_with(Env::Prod).await;
    let s = &f.server;
    let post = |origin: String| {
        s.client()
            .post(s.url("/items"))
            .header("origin", origin)
            .form(&[("name", "x")])
    };
    let r = s.send(post(format!("http://{}", s.addr()))).await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("not served over HTTPS"), "{}", r.text);
    // The same host over HTTPS passes this check (and meets the token check next).
    let r = s.send(post(format!("https://{}", s.addr()))).await;
    assert_eq!(r.status, 403);
    assert!(!r.text.contains("not served over HTTPS"), "{}", r.text);
    assert!(r.text.contains("XSRF"), "{}", r.text);
}

#[tokio::test]
async fn exempt_routes_skip_the_check() {
    let f = start().await;
    let s = &f.server;
    let r = s
        .send(reqwest::Client::new().post(s.url("/api/hook")))
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, "hook accepted"));
}

#[tokio::test]
async fn the_xsrf_cookie_is_set_once_and_http_only() {
    let f = start().await;
    let s = &f.server;
    let first = s.get("/form").await;
    let cookie = first.header("set-cookie").expect("_xsrf cookie");
    assert!(cookie.starts_with("_xsrf=2|"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let second = s.get("/form").await;
    assert!(second.header("set-cookie").is_none(), "kept, not replaced");
    // Pages that never render a token do not set it.
    let plain = reqwest::Client::new()
        .get(s.url("/plain"))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("set-cookie").is_none());
}

// ---------------------------------------------------------------- headers and limits

#[tokio::test]
async fn security_headers_by_default() {
    let f = start().await;
    let page = f.server.get("/form").await;
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        page.header("referrer-policy"),
        Some("strict-origin-when-cross-origin")
    );
    let csp = page.header("content-security-policy").unwrap();
    for part in [
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
}

#[tokio::test]
async fn every_request_has_an_id_made_or_passed_through() {
    let f = start().await;
    let s = &f.server;
    let made = s.get("/form").await;
    let first = made.header("x-request-id").expect("an id").to_string();
    // A random (version 4) UUID: 8-4-4-4-12 hexadecimal digits, the version digit a 4.
    let groups: Vec<usize> = first.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{first}");
    assert!(
        first.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "{first}"
    );
    assert_eq!(first.as_bytes()[14], b'4', "{first}");
    assert_eq!(first.len(), 36, "a UUID: {first}");
    let again = s.get("/form").await;
    assert_ne!(again.header("x-request-id"), Some(first.as_str()));
    // Error pages have one too.
    assert!(s.get("/nope").await.header("x-request-id").is_some());

    // A client's own id is not taken: only a trusted proxy's is.
    let sent = s
        .send(
            s.client()
                .get(s.url("/form"))
                .header("x-request-id", "chosen-by-the-client"),
        )
        .await;
    let id = sent.header("x-request-id").expect("an id");
    assert_ne!(id, "chosen-by-the-client");
    assert_eq!(id.len(), 36, "{id}");

    // Behind a trusted proxy (here the test client's own address), its id goes through,
    // unless it does not look like one.
    let dir = static_root();
    let mut settings = Settings::for_test(dir.path());
    settings.server.trusted_proxies = torn::client::TrustedProxies::parse(&["127.0.0.1"]).unwrap();
    let proxied = TestServer::start(build(settings)).await;
    let with = |id: &str| {
        proxied
            .client()
            .get(proxied.url("/form"))
            .header("x-request-id", id.to_string())
    };
    let passed = proxied.send(with("lb-7f3a:42.1_x")).await;
    assert_eq!(passed.header("x-request-id"), Some("lb-7f3a:42.1_x"));
    for bad in ["<script>", "a b", &"x".repeat(129)] {
        let replaced = proxied.send(with(bad)).await;
        let id = replaced.header("x-request-id").expect("an id");
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36, "{id}");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let dir = static_root();
    let mut settings = Settings::for_test(dir.path());
    settings.server.body_limit = 1024;
    let server = TestServer::start(build(settings)).await;
    let r = server
        .send(
            server
                .client()
                .post(server.url("/api/hook"))
                .body(vec![b'x'; 4096]),
        )
        .await;
    assert_eq!(r.status, 413);
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let f = start().await;
    let s = &f.server;
    let r = s
        .send(
            s.client()
                .get(s.url("/static/app.css"))
                .header("accept-encoding", "gzip"),
        )
        .await;
    assert_eq!(r.status, 200);
    // tower-http skips bodies under 32 bytes; a larger page is compressed.
    let big = s
        .send(
            s.client()
                .get(s.url("/nope"))
                .header("accept-encoding", "gzip"),
        )
        .await;
    assert_eq!(big.header("content-encoding"), Some("gzip"));
}

// ---------------------------------------------------------------- shutdown

/// Serve the test app with `serve_router`, stopped by the returned sender.
async fn serve_stoppable(
    timeout: Duration,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
    tempfile::TempDir,
) {
    let dir = static_root();
    let router = build(Settings::for_test(dir.path())).into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(torn::serve_router(
        listener,
        router,
        async move {
            let _ = stopped.await;
        },
        timeout,
    ));
    (addr, stop, server, dir)
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests_and_refuses_new_ones() {
    let (addr, stop, server, _dir) = serve_stoppable(Duration::from_secs(10)).await;
    let in_flight = tokio::spawn(async move {
        reqwest::get(format!("http://{addr}/slow"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(
        refused.is_err(),
        "new connections are refused while stopping"
    );
    assert_eq!(in_flight.await.unwrap(), "slow done");
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_connection_accepted_just_before_shutdown_still_gets_its_answer() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (addr, stop, server, _dir) = serve_stoppable(Duration::from_secs(10)).await;
    // Accepted, but its request has not arrived when the server is told to stop (a restart
    // that hands the socket over, or a slow client).
    let mut early = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    early
        .write_all(b"GET /items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    early.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_is_bounded_by_the_timeout() {
    let (addr, stop, server, _dir) = serve_stoppable(Duration::from_millis(100)).await;
    let _slow = tokio::spawn(reqwest::get(format!("http://{addr}/slow")));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    let done = tokio::time::timeout(Duration::from_millis(600), server).await;
    assert!(
        done.is_ok(),
        "serve returned before the slow request finished"
    );
}

#[tokio::test]
async fn unknown_methods_on_unknown_paths_are_404() {
    let f = start().await;
    let s = &f.server;
    let r = s.send(s.client().post(s.url("/no/such/thing"))).await;
    assert_eq!(r.status, 404);
}
