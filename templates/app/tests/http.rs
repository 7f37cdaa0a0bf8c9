//! The app over real HTTP: pages, the XSRF-protected form, error pages.

use torn::Settings;
use torn::test::TestServer;

/// The app on an in-memory database.
async fn server() -> TestServer {
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = std::env::temp_dir().join("{{crate_name}}-tests");
    let app = {{crate_name}}::app(settings).await.expect("the app builds");
    TestServer::start(app).await
}

#[tokio::test]
async fn home_page_says_hello() {
    let server = server().await;
    let page = server.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Hello world! Welcome to torn"));
    assert!(page.text.contains("/static/css/app.css?v="));
}

#[tokio::test]
async fn greeting_form_needs_its_xsrf_token() {
    let server = server().await;
    let page = server.get("/").await;
    let token = page
        .form_field("_xsrf")
        .expect("the form has an _xsrf field");

    let forged = server.post_form("/greet", &[("name", "Mallory")]).await;
    assert_eq!(forged.status, 403);

    let sent = server
        .post_form("/greet", &[("_xsrf", &token), ("name", "Ada <script>")])
        .await;
    assert_eq!(sent.status, 303);
    assert_eq!(sent.header("location"), Some("/"));

    let home = server.get("/").await;
    assert!(
        home.text
            .contains("Hello, Ada &#60;script&#62;! Welcome to torn.")
    );
    // A flash message is shown once.
    assert!(!server.get("/").await.text.contains("Hello, Ada"));
}

#[tokio::test]
async fn unknown_pages_get_the_app_error_page() {
    let server = server().await;
    let page = server.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.text.contains("404 Not Found"));
    assert!(page.text.contains("Back to the home page"));
}
