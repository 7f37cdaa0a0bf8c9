//! `[[ path ]]` over HTTP, made by `torn gen handler [[ name ]]`.

use torn::Settings;
use torn::test::TestServer;

/// The page's URL.
const PATH: &str = "[[ path ]]";

async fn server() -> TestServer {
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = std::env::temp_dir().join("[[ crate_name ]]-tests");
    let app = [[ crate_name ]]::app(settings).await.expect("the app builds");
    TestServer::start(app).await
}
[% if get %]
#[tokio::test]
async fn [[ name ]]_page_renders() {
    let server = server().await;
    let page = server.get(PATH).await;
    assert_eq!(page.status, 200);
    let heading = "<h1>[[ heading ]]</h1>";
    assert!(page.text.contains(heading), "{}", page.text);
}
[%- else %]
#[tokio::test]
async fn [[ name ]]_answers_only_its_methods() {
    let server = server().await;
    let r = server.get(PATH).await;
    assert_eq!(r.status, 405);
}
[%- endif %]
[%- for m in others %]

#[tokio::test]
async fn [[ name ]]_[[ m ]]_needs_the_xsrf_header() {
    let server = server().await;
    // Any page with a form gives the browser its XSRF cookie and a token.
    let token = server.get("/").await.form_field("_xsrf").expect("a token");
    let url = server.url(PATH);
    let forged = server.send(server.client().[[ m ]](&url)).await;
    assert_eq!(forged.status, 403);
    let sent = server
        .send(server.client().[[ m ]](&url).header("X-XSRFToken", &token))
        .await;
    assert_eq!(sent.status, 204);
}
[%- endfor %]
[%- if post %]

#[tokio::test]
async fn [[ name ]]_form_needs_its_xsrf_token() {
    let server = server().await;
    let page = server.get(PATH).await;
    let token = page
        .form_field("_xsrf")
        .expect("the form has an _xsrf field");
    let forged = server.post_form(PATH, &[]).await;
    assert_eq!(forged.status, 403);
    let sent = server.post_form(PATH, &[("_xsrf", &token)]).await;
    assert_eq!(sent.status, 303);
    assert_eq!(sent.header("location"), Some(PATH));
    assert!(server.get(PATH).await.text.contains("Received."));
}
[%- endif %]
