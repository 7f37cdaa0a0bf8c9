//! `torn gen oauth PROVIDER [--issuer URL] [--label TEXT]`: "Log in with PROVIDER" for the app:
//! the provider's table in `torn.toml` with where to register and what to set, and a test that
//! the button shows and sends the browser to the provider once the two variables are set.

use std::path::PathBuf;

use super::{AppDir, Insert, Place, Plan, camel};
use crate::CliError;

/// The mark at the end of `torn.toml`.
pub const OAUTH_MARK: &str = "# torn:oauth";

/// Where each built-in provider's apps are registered, and its label.
const BUILT_IN: [(&str, &str, &str); 5] = [
    (
        "google",
        "Google",
        "Google Cloud console: APIs & Services, Credentials, OAuth client ID (Web application)",
    ),
    (
        "github",
        "GitHub",
        "GitHub: Settings, Developer settings, OAuth Apps, New OAuth App",
    ),
    (
        "facebook",
        "Facebook",
        "Meta for Developers: your app, Facebook Login, Settings",
    ),
    (
        "x",
        "X",
        "X developer portal: your app, User authentication settings, OAuth 2.0 (Web App)",
    ),
    (
        "microsoft",
        "Microsoft",
        "Microsoft Entra admin center: App registrations, New registration (Web)",
    ),
];

/// The plan for a provider.
pub fn plan(
    app: &AppDir,
    provider: &str,
    issuer: Option<&str>,
    label: Option<&str>,
) -> Result<Plan, CliError> {
    let name = provider.to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(CliError::Usage(format!(
            "provider {provider:?} is not valid: use google, github, facebook, x, microsoft, or \
             a name of lowercase letters, digits and '-' with --issuer for any OpenID Connect \
             provider"
        )));
    }
    app.require_accounts("social log-in")?;
    let upper = name.to_uppercase().replace('-', "_");
    let built_in = BUILT_IN.iter().find(|(n, _, _)| *n == name);
    let mut block = format!("\n[default.oauth.{name}]\n");
    let (label, register) = match (built_in, issuer) {
        (Some(_), Some(_)) => {
            return Err(CliError::Usage(format!(
                "{name} is built in: it needs no --issuer"
            )));
        }
        (Some((_, default_label, register)), None) => (
            label.unwrap_or(default_label).to_string(),
            register.to_string(),
        ),
        (None, Some(issuer)) => {
            if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
                return Err(CliError::Usage(format!(
                    "--issuer {issuer:?} is not an http(s) URL (for example \
                     https://id.example.com)"
                )));
            }
            block.push_str(&format!("issuer = \"{issuer}\"\n"));
            (
                label
                    .map(str::to_string)
                    .unwrap_or_else(|| camel(&name.replace('-', "_"))),
                format!("the provider's client settings ({issuer})"),
            )
        }
        (None, None) => {
            return Err(CliError::Usage(format!(
                "{name} is not a built-in provider (google, github, facebook, x, microsoft): \
                 give its OpenID Connect issuer with --issuer https://…"
            )));
        }
    };
    if label.contains('"') || label.contains('\n') {
        return Err(CliError::Usage(
            "--label cannot hold quotes or new lines".into(),
        ));
    }
    block.push_str(&format!("label = \"{label}\"\n"));
    let header = format!(
        "# Log in with {label} (torn gen oauth {name}). Register the app in {register}, with\n\
         # the callback URL <base_url>/auth/{name}/callback, then set TORN_OAUTH_{upper}_CLIENT_ID\n\
         # and TORN_OAUTH_{upper}_CLIENT_SECRET in the environment (never in this file). More in\n\
         # torn's docs/social-login.md."
    );
    let torn_toml = std::fs::read_to_string(app.root.join("torn.toml")).unwrap_or_default();
    let table = format!("[default.oauth.{name}]");
    let already = torn_toml.lines().any(|l| l.trim() == table);
    let mut inserts = Vec::new();
    if !already {
        inserts.push(Insert {
            path: PathBuf::from("torn.toml"),
            mark: OAUTH_MARK,
            line: format!("{header}{block}"),
            at: Place::Above,
        });
    }
    let test_name = name.replace('-', "_");
    Ok(Plan {
        files: vec![(
            PathBuf::from(format!("tests/oauth_{test_name}.rs")),
            crate::format_rust(&test_rs(
                &app.crate_name,
                &name,
                &upper,
                &label,
                issuer.is_none(),
            )),
        )],
        inserts,
        replaces: Vec::new(),
    })
}

fn test_rs(krate: &str, name: &str, upper: &str, label: &str, redirect_test: bool) -> String {
    let test_name = name.replace('-', "_");
    let mut out = format!(
        r#"//! "Log in with {label}", made by `torn gen oauth {name}`: the button shows once the
//! client id and secret are set, and not before.

use std::path::Path;

use torn::Settings;
use torn::test::TestServer;

/// The app with these environment variables (and nothing else from the environment).
async fn server(vars: &[(&str, &str)]) -> TestServer {{
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::load_from(root, |key| {{
        if key == "TORN_ENV" {{
            return Some("test".into());
        }}
        vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
    }})
    .expect("settings");
    settings.root = std::env::temp_dir().join("{krate}-tests");
    let app = {krate}::app(settings).await.expect("the app builds");
    TestServer::start(app).await
}}

const CONFIGURED: [(&str, &str); 2] = [
    ("TORN_OAUTH_{upper}_CLIENT_ID", "test-client-id"),
    ("TORN_OAUTH_{upper}_CLIENT_SECRET", "test-client-secret"),
];

#[tokio::test]
async fn {test_name}_button_shows_once_configured() {{
    let unset = server(&[]).await;
    let page = unset.get("/auth/login").await;
    assert!(!page.text.contains("Log in with {label}"));
    let configured = server(&CONFIGURED).await;
    let page = configured.get("/auth/login").await;
    assert!(page.text.contains("Log in with {label}"), "{{}}", page.text);
}}
"#
    );
    if redirect_test {
        out.push_str(&format!(
            r#"
#[tokio::test]
async fn {test_name}_log_in_goes_to_the_provider_with_pkce() {{
    let configured = server(&CONFIGURED).await;
    let r = configured.get("/auth/{name}/login").await;
    assert_eq!(r.status, 303);
    let to = r.header("location").unwrap();
    assert!(to.contains("client_id=test-client-id"), "{{to}}");
    assert!(to.contains("code_challenge_method=S256") && to.contains("state="), "{{to}}");
    assert!(!to.contains("test-client-secret"), "{{to}}");
}}
"#
        ));
    }
    out
}
