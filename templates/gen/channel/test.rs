//! The channel `[[ path ]]` over HTTP, made by `torn gen channel [[ name ]]`: the page, a
//! message sent by its form reaching an open event stream, and the form's checks. (Its
//! WebSocket carries the same topic.)

use std::time::Duration;

use torn::Settings;
use torn::test::TestServer;

/// The page, and its event stream.
const PATH: &str = "[[ path ]]";
const EVENTS: &str = "[[ path ]]/events";

async fn server() -> TestServer {
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = std::env::temp_dir().join("[[ crate_name ]]-tests");
    let app = [[ crate_name ]]::app(settings).await.expect("the app builds");
    TestServer::start(app).await
}

#[tokio::test]
async fn [[ name ]]_page_has_its_form_and_script() {
    let server = server().await;
    let page = server.get(PATH).await;
    assert_eq!(page.status, 200);
    let socket = format!("data-socket=\"{PATH}/socket\"");
    assert!(page.text.contains(&socket), "{}", page.text);
    let script = format!("js/{}.", &PATH[1..]).replace('-', "_");
    assert!(page.text.contains(&script), "{}", page.text);
    assert!(page.form_field("_xsrf").is_some(), "{}", page.text);
}

#[tokio::test]
async fn [[ name ]]_messages_reach_an_open_event_stream() {
    let server = server().await;
    let events = server.client().get(server.url(EVENTS));
    let mut stream = events.send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let token = server.get(PATH).await.form_field("_xsrf").unwrap();
    let fields = [("_xsrf", token.as_str()), ("message", " hello <all> ")];
    let sent = server.post_form(PATH, &fields).await;
    assert_eq!(sent.status, 303);
    let mut text = String::new();
    while !text.contains("data: hello <all>\n") {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.chunk());
        let chunk = next.await.expect("the message within 5 s").unwrap();
        let chunk = chunk.expect("the stream is open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn [[ name ]]_form_needs_its_xsrf_token_and_a_message() {
    let server = server().await;
    let forged = server.post_form(PATH, &[("message", "forged")]).await;
    assert_eq!(forged.status, 403);
    let token = server.get(PATH).await.form_field("_xsrf").unwrap();
    let empty = server
        .post_form(PATH, &[("_xsrf", &token), ("message", "  ")])
        .await;
    assert_eq!(empty.status, 422);
    let said = "Write something first.";
    assert!(empty.text.contains(said), "{}", empty.text);
}
