//! "Log in with [[ label ]]", made by `torn gen oauth [[ name ]]`: the button shows once the
//! client id and secret are set, and not before.

use std::path::Path;

use torn::Settings;
use torn::test::TestServer;

/// The app with these environment variables (and nothing else from the environment).
async fn server(vars: &[(&str, &str)]) -> TestServer {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::load_from(root, |key| {
        if key == "TORN_ENV" {
            return Some("test".into());
        }
        vars.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    })
    .expect("settings");
    settings.root = std::env::temp_dir().join("[[ crate_name ]]-tests");
    let app = [[ crate_name ]]::app(settings).await.expect("the app builds");
    TestServer::start(app).await
}

/// The button's text.
const BUTTON: &str = "Log in with [[ label ]]";

const CONFIGURED: [(&str, &str); 2] = [
[%- for pair in configured %]
    [[ pair ]],
[%- endfor %]
];

#[tokio::test]
async fn [[ ident ]]_button_shows_once_configured() {
    let unset = server(&[]).await;
    let page = unset.get("/auth/login").await;
    assert!(!page.text.contains(BUTTON));
    let configured = server(&CONFIGURED).await;
    let page = configured.get("/auth/login").await;
    assert!(page.text.contains(BUTTON), "{}", page.text);
}
[%- if issuer.is_none() %]

#[tokio::test]
async fn [[ ident ]]_log_in_goes_to_the_provider_with_pkce() {
    let configured = server(&CONFIGURED).await;
    let r = configured.get("/auth/[[ name ]]/login").await;
    assert_eq!(r.status, 303);
    let to = r.header("location").unwrap();
    assert!(to.contains("client_id=test-client-id"), "{to}");
    assert!(
        to.contains("code_challenge_method=S256") && to.contains("state="),
        "{to}"
    );
    assert!(!to.contains("test-client-secret"), "{to}");
}
[%- endif %]
