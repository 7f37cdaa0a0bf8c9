//! The social log-in settings: which providers an app offers, from `torn.toml` and the
//! environment.
//!
//! A provider is offered when it has a client id. Google, GitHub, Facebook, X and Microsoft
//! need nothing else (their endpoints are built in); any other name is a generic provider that
//! names an OpenID Connect `issuer` (endpoints from its discovery document) or plain OAuth 2.0
//! endpoints (`auth_url`, `token_url`, `userinfo_url`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;

/// One `[<profile>.oauth.<name>]` table of `torn.toml`. Every key is optional.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    client_id: Option<String>,
    client_secret: Option<String>,
    issuer: Option<String>,
    auth_url: Option<String>,
    token_url: Option<String>,
    userinfo_url: Option<String>,
    scopes: Option<Vec<String>>,
    label: Option<String>,
    tenant: Option<String>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the client secret.
        f.debug_struct("Entry")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// How torn reads a provider's profile after the code exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileSource {
    /// OpenID Connect: the signed ID token, checked (signature, `iss`, `aud`, `exp`, `nonce`).
    IdToken,
    /// GitHub's `/user` and `/user/emails`.
    GitHub,
    /// Facebook's Graph API `/me`.
    Facebook,
    /// X's `/2/users/me`.
    X,
    /// An OpenID Connect style userinfo endpoint (`sub`, `email`, `email_verified`, `name`).
    UserInfo,
}

/// The protocol and endpoints of a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoints {
    /// OpenID Connect: everything from `<issuer>/.well-known/openid-configuration`.
    Discovery {
        /// The issuer URL.
        issuer: String,
    },
    /// OAuth 2.0 with fixed endpoints.
    Fixed {
        /// Where the browser is sent.
        auth_url: String,
        /// Where the code is exchanged.
        token_url: String,
        /// Where the profile is read.
        profile_url: String,
        /// The provider's identity namespace (identities are keyed by issuer and subject).
        issuer: String,
    },
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// In the form body (`client_secret_post`).
    Body,
}

/// A provider the app offers, resolved from settings.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Its name in URLs (`/auth/<name>/login`) and settings.
    pub name: String,
    /// The button text's provider name ("GitHub").
    pub label: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret (none for a public client, which then relies on PKCE alone).
    pub client_secret: Option<String>,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// Endpoints.
    pub endpoints: Endpoints,
    /// How the profile is read.
    pub profile: ProfileSource,
    /// Client authentication at the token endpoint.
    pub client_auth: ClientAuth,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the client secret.
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("label", &self.label)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("scopes", &self.scopes)
            .field("endpoints", &self.endpoints)
            .field("profile", &self.profile)
            .field("client_auth", &self.client_auth)
            .finish()
    }
}

impl ProviderConfig {
    /// Where the browser is sent to sign in, as an origin (`https://github.com`): the fixed
    /// authorization URL's, or an OpenID Connect issuer's.
    pub fn sign_in_origin(&self) -> Option<String> {
        match &self.endpoints {
            Endpoints::Fixed { auth_url, .. } => origin(auth_url),
            Endpoints::Discovery { issuer } => origin(issuer),
        }
    }
}

/// The providers torn knows by name.
pub const BUILT_IN: [&str; 5] = ["google", "github", "facebook", "x", "microsoft"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(std::string::ToString::to_string).collect()
}

/// Resolve the `oauth` tables and `TORN_OAUTH_<NAME>_…` variables into the offered providers.
pub(crate) fn resolve(
    mut entries: BTreeMap<String, Entry>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<ProviderConfig>, ConfigError> {
    for name in BUILT_IN.iter().chain(["oidc"].iter()) {
        entries.entry(name.to_string()).or_default();
    }
    let mut providers = Vec::new();
    for (name, mut entry) in entries {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(ConfigError::Invalid(format!(
                "oauth provider name {name:?} must be lower-case letters, digits and '-' (it \
                 appears in /auth/<name>/login)"
            )));
        }
        let var = |key: &str| {
            let var = format!("TORN_OAUTH_{}_{key}", name.to_uppercase().replace('-', "_"));
            env(&var).filter(|v| !v.trim().is_empty())
        };
        entry.client_id = var("CLIENT_ID").or(entry.client_id);
        entry.client_secret = var("CLIENT_SECRET").or(entry.client_secret);
        entry.issuer = var("ISSUER").or(entry.issuer);
        let Some(client_id) = entry.client_id.clone() else {
            continue;
        };
        providers.push(provider(&name, client_id, entry)?);
    }
    Ok(providers)
}

fn provider(name: &str, client_id: String, e: Entry) -> Result<ProviderConfig, ConfigError> {
    let upper = name.to_uppercase().replace('-', "_");
    let needs_secret = |label: &str| {
        ConfigError::Invalid(format!(
            "{label} sign-in has a client id but no client secret: set \
             TORN_OAUTH_{upper}_CLIENT_SECRET (or client_secret in [oauth.{name}])"
        ))
    };
    let fixed = |auth: &str, token: &str, profile: &str, issuer: &str| Endpoints::Fixed {
        auth_url: auth.to_string(),
        token_url: token.to_string(),
        profile_url: profile.to_string(),
        issuer: issuer.to_string(),
    };
    let (label, endpoints, profile, scopes, client_auth) = match name {
        "google" => (
            "Google",
            Endpoints::Discovery {
                issuer: "https://accounts.google.com".into(),
            },
            ProfileSource::IdToken,
            strings(&["openid", "email", "profile"]),
            ClientAuth::Basic,
        ),
        "github" => (
            "GitHub",
            fixed(
                "https://github.com/login/oauth/authorize",
                "https://github.com/login/oauth/access_token",
                "https://api.github.com",
                "https://github.com",
            ),
            ProfileSource::GitHub,
            strings(&["read:user", "user:email"]),
            ClientAuth::Body,
        ),
        "facebook" => (
            "Facebook",
            fixed(
                "https://www.facebook.com/v21.0/dialog/oauth",
                "https://graph.facebook.com/v21.0/oauth/access_token",
                "https://graph.facebook.com/v21.0/me?fields=id,name,email",
                "https://www.facebook.com",
            ),
            ProfileSource::Facebook,
            strings(&["public_profile", "email"]),
            ClientAuth::Body,
        ),
        "x" => (
            "X",
            fixed(
                "https://x.com/i/oauth2/authorize",
                "https://api.x.com/2/oauth2/token",
                "https://api.x.com/2/users/me?user.fields=confirmed_email",
                "https://x.com",
            ),
            ProfileSource::X,
            strings(&["users.read", "tweet.read", "users.email"]),
            ClientAuth::Basic,
        ),
        "microsoft" => {
            let tenant = e.tenant.clone().unwrap_or_else(|| "common".into());
            let auth = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize");
            let token = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token");
            (
                "Microsoft",
                fixed(
                    &auth,
                    &token,
                    "https://graph.microsoft.com/oidc/userinfo",
                    "https://login.microsoftonline.com",
                ),
                ProfileSource::UserInfo,
                strings(&["openid", "email", "profile"]),
                ClientAuth::Body,
            )
        }
        _ => {
            let endpoints = match (&e.issuer, &e.auth_url, &e.token_url, &e.userinfo_url) {
                (Some(issuer), None, None, None) => Endpoints::Discovery {
                    issuer: issuer.trim_end_matches('/').to_string(),
                },
                (issuer, Some(auth), Some(token), Some(userinfo)) => {
                    let issuer = match issuer {
                        Some(i) => i.clone(),
                        None => origin(auth).ok_or_else(|| {
                            ConfigError::Invalid(format!(
                                "oauth.{name}.auth_url {auth:?} is not an http(s) URL"
                            ))
                        })?,
                    };
                    fixed(auth, token, userinfo, &issuer)
                }
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "oauth provider {name:?} needs either `issuer` (an OpenID Connect \
                         issuer, e.g. TORN_OAUTH_{upper}_ISSUER=https://id.example.com) or all \
                         of `auth_url`, `token_url` and `userinfo_url`"
                    )));
                }
            };
            let profile = match endpoints {
                Endpoints::Discovery { .. } => ProfileSource::IdToken,
                Endpoints::Fixed { .. } => ProfileSource::UserInfo,
            };
            let label = if name == "oidc" {
                "OpenID Connect"
            } else {
                name
            };
            (
                label,
                endpoints,
                profile,
                strings(&["openid", "email", "profile"]),
                ClientAuth::Basic,
            )
        }
    };
    let label = e.label.clone().unwrap_or_else(|| label.to_string());
    if e.client_secret.is_none() && BUILT_IN.contains(&name) && name != "x" {
        return Err(needs_secret(&label));
    }
    for url in [&e.issuer, &e.auth_url, &e.token_url, &e.userinfo_url]
        .into_iter()
        .flatten()
    {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid(format!(
                "oauth.{name}: {url:?} is not an http(s) URL"
            )));
        }
    }
    Ok(ProviderConfig {
        name: name.to_string(),
        label,
        client_id,
        client_secret: e.client_secret,
        scopes: e.scopes.unwrap_or(scopes),
        endpoints,
        profile,
        client_auth,
    })
}

fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.origin().ascii_serialization())
}

/// `csp` with `origins` added to its `form-action` directive, if it has one that does not
/// allow every origin already.
#[cfg(feature = "social-login")]
pub(crate) fn allow_form_targets(csp: &str, origins: &[String]) -> String {
    let directives: Vec<String> = csp
        .split(';')
        .map(|d| {
            let d = d.trim();
            let mut words = d.split_ascii_whitespace();
            let is_form_action = words
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("form-action"));
            if !is_form_action || d.split_ascii_whitespace().any(|w| w == "*") {
                return d.to_string();
            }
            let mut d = d.to_string();
            for origin in origins {
                if !d.split_ascii_whitespace().any(|w| w == origin) {
                    d.push(' ');
                    d.push_str(origin);
                }
            }
            d
        })
        .filter(|d| !d.is_empty())
        .collect();
    directives.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_origins_join_form_action() {
        let origins = vec![
            "https://github.com".to_string(),
            "http://127.0.0.1:9000".to_string(),
        ];
        assert_eq!(
            allow_form_targets(crate::config::DEFAULT_CSP, &origins),
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
             frame-ancestors 'self'; form-action 'self' https://github.com http://127.0.0.1:9000"
        );
        // Once only; a policy that allows any target, or has no form-action, is kept.
        let once = allow_form_targets("form-action 'self' https://github.com", &origins);
        assert_eq!(
            once,
            "form-action 'self' https://github.com http://127.0.0.1:9000"
        );
        assert_eq!(
            allow_form_targets("form-action *", &origins),
            "form-action *"
        );
        assert_eq!(
            allow_form_targets("default-src 'self'", &origins),
            "default-src 'self'"
        );
    }

    fn load(toml_entries: &str, vars: &[(&str, &str)]) -> Result<Vec<ProviderConfig>, ConfigError> {
        let entries: BTreeMap<String, Entry> = toml::from_str(toml_entries).unwrap();
        resolve(entries, &|k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn two_variables_offer_a_built_in_provider() {
        assert!(load("", &[]).unwrap().is_empty());
        let p = load(
            "",
            &[
                ("TORN_OAUTH_GITHUB_CLIENT_ID", "id"),
                ("TORN_OAUTH_GITHUB_CLIENT_SECRET", "secret"),
            ],
        )
        .unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].name.as_str(), p[0].label.as_str()),
            ("github", "GitHub")
        );
        assert_eq!(p[0].profile, ProfileSource::GitHub);
        let err = load("", &[("TORN_OAUTH_GOOGLE_CLIENT_ID", "id")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("TORN_OAUTH_GOOGLE_CLIENT_SECRET"), "{err}");
        // X allows a public client (PKCE only).
        assert_eq!(
            load("", &[("TORN_OAUTH_X_CLIENT_ID", "id")]).unwrap().len(),
            1
        );
    }

    #[test]
    fn generic_providers_need_an_issuer_or_endpoints() {
        let p = load(
            "",
            &[
                ("TORN_OAUTH_OIDC_CLIENT_ID", "id"),
                ("TORN_OAUTH_OIDC_ISSUER", "http://127.0.0.1:9000/"),
            ],
        )
        .unwrap();
        assert_eq!(
            p[0].endpoints,
            Endpoints::Discovery {
                issuer: "http://127.0.0.1:9000".into()
            }
        );
        let err = load("[corp]\nclient_id = \"x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs either `issuer`"), "{err}");
        let p = load(
            "[corp]\nclient_id = \"x\"\nlabel = \"Corp\"\nauth_url = \"https://id.corp.example/a\"\n\
             token_url = \"https://id.corp.example/t\"\nuserinfo_url = \"https://id.corp.example/u\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(p[0].label, "Corp");
        assert!(
            matches!(&p[0].endpoints, Endpoints::Fixed { issuer, .. } if issuer == "https://id.corp.example")
        );
        let err = load("[\"Bad Name\"]\nclient_id = \"x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be lower-case"), "{err}");
        let err = load("[corp]\nclient_id = \"x\"\nissuer = \"ftp://id\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an http(s) URL"), "{err}");
    }
}
