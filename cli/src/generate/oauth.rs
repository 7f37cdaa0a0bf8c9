//! `torn gen oauth PROVIDER [--issuer URL] [--label TEXT]`: "Log in with PROVIDER" for the app:
//! the provider's table in `torn.toml` with where to register and what to set, and a test that
//! the button shows and sends the browser to the provider once the two variables are set.

use super::{AppDir, Plan, camel, layout, template};
use crate::CliError;

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
    plan_for(app, provider, issuer, label, false)
}

/// The issuer and label a provider was added with, read back from its table in `torn.toml`.
pub fn recorded(
    app: &AppDir,
    provider: &str,
) -> Result<(Option<String>, Option<String>), CliError> {
    let text = app
        .read(std::path::Path::new("torn.toml"))?
        .unwrap_or_default();
    let value: toml::Value = toml::from_str(&text)
        .map_err(|e| CliError::Usage(format!("torn.toml is not valid TOML: {e}")))?;
    let table = value
        .get("default")
        .and_then(|d| d.get("oauth"))
        .and_then(|o| o.get(provider.to_ascii_lowercase()));
    let get = |key: &str| {
        table
            .and_then(|t| t.get(key))
            .and_then(toml::Value::as_str)
            .map(str::to_string)
    };
    Ok((get("issuer"), get("label")))
}

/// The plan for a provider; `destroying` for `torn destroy`, which takes out its table.
pub fn plan_for(
    app: &AppDir,
    provider: &str,
    issuer: Option<&str>,
    label: Option<&str>,
    destroying: bool,
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
    let torn_toml = std::fs::read_to_string(app.root.join("torn.toml")).unwrap_or_default();
    let table = format!("[default.oauth.{name}]");
    let configured = [
        "CLIENT_ID",
        "test-client-id",
        "CLIENT_SECRET",
        "test-client-secret",
    ]
    .chunks(2)
    .map(|pair| {
        let items = [
            format!("\"TORN_OAUTH_{upper}_{}\"", pair[0]),
            format!("\"{}\"", pair[1]),
        ];
        layout::list("(", &items, ")", (4, 4, 1), layout::CALL_WIDTH, false)
    })
    .collect();
    let provider = Provider {
        configured,
        ident: name.replace('-', "_"),
        upper,
        label,
        register,
        issuer: issuer.map(str::to_string),
        crate_name: app.crate_name.clone(),
        in_torn_toml: !destroying && torn_toml.lines().any(|l| l.trim() == table),
        name,
    };
    template::plan("oauth", |file| render(&provider, file))
}

/// What the templates in `templates/gen/oauth/` see.
struct Provider {
    /// `corp-sso`: the provider's name in `torn.toml` and its URLs.
    name: String,
    /// `corp_sso`: in Rust names.
    ident: String,
    /// `CORP_SSO`: in environment variables.
    upper: String,
    /// `Corp SSO`: on the button.
    label: String,
    /// Where the app is registered with the provider.
    register: String,
    /// The OpenID Connect issuer of a provider that is not built in.
    issuer: Option<String>,
    /// The app's crate, for the test.
    crate_name: String,
    /// Whether `torn.toml` has the provider's table already.
    in_torn_toml: bool,
    /// The test's two environment variables and their values, laid out.
    configured: Vec<String>,
}

template::templates!(Provider, "oauth" {
    Manifest = "oauth/manifest.toml",
    TornToml = "oauth/torn.toml",
    TestRs = "oauth/test.rs",
});
