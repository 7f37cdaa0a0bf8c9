//! Social login: Google, GitHub, Facebook, X, Microsoft and any OpenID Connect or OAuth 2.0
//! provider, with the `oauth2` and `openidconnect` crates.
//!
//! [`App::social_login`](crate::App::social_login) mounts, for each provider the settings offer:
//!
//! | route | what it does |
//! |---|---|
//! | `GET /auth/{provider}/login?next=/path` | sends the browser to the provider |
//! | `GET /auth/{provider}/callback` | checks the answer, logs the person in |
//! | `POST /auth/{provider}/link` | (logged in) adds the provider to the account |
//! | `POST /auth/{provider}/unlink` | (logged in) removes it, unless it is the last way in |
//!
//! The flow is the authorization code flow only, with PKCE (S256) always, a random `state`,
//! and for OpenID Connect a `nonce`; all three are kept in the server-side session, not in the
//! browser, and a flow can be finished once, within ten minutes. An authorization response's
//! `iss` (RFC 9207) must name the provider's issuer. ID tokens are checked by `openidconnect`:
//! signature against the provider's keys (never `alg: none`), `iss`, `aud`, `exp` and `nonce`.
//!
//! People are identified by (issuer, subject), never by email. The first log-in makes an
//! account, only for an address the provider verified. An account that already has the address
//! is joined only if the provider says it verified the address; if that account's own address
//! was never confirmed, its password, sessions and linked providers are removed, since whoever
//! set them up never proved they own the address. Otherwise the person is asked to log in and
//! link the provider from their account page, which needs a confirmed address.

mod client;
mod error;
mod identities;
mod profile;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::CoreResponseType;
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::auth::{Accounts, LogIn, User};
use crate::db::now;
use crate::error::Error;
use crate::session::Session;

pub use crate::config::{BUILT_IN, ClientAuth, Endpoints, ProfileSource, ProviderConfig};
pub use crate::page::SocialButton;
use client::Provider;
pub use error::OAuthError;
use error::internal;
pub use identities::Identity;
pub use profile::Profile;
pub(crate) use routes::{callback, link, login, unlink};

const FLOW_KEY: &str = "torn.oauth.flow";
/// How long a person has to come back from the provider.
pub const FLOW_LIFETIME_SECS: i64 = 600;
/// How long discovered provider metadata (endpoints and signing keys) is reused.
const DISCOVERY_TTL: Duration = Duration::from_hours(1);

/// A sign-in in progress, kept in the session between the redirect and the callback.
#[derive(Debug, Deserialize, Serialize)]
struct Flow {
    provider: String,
    state: String,
    verifier: String,
    nonce: Option<String>,
    next: Option<String>,
    link_user: Option<i64>,
    started_at: i64,
}

struct Inner {
    accounts: Accounts,
    providers: Vec<Provider>,
    http: reqwest::Client,
    base_url: String,
    flow_lifetime: i64,
}

/// The social log-in service. Cheap to clone.
#[derive(Clone)]
pub struct SocialLogin {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SocialLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocialLogin")
            .field(
                "providers",
                &self
                    .inner
                    .providers
                    .iter()
                    .map(|p| p.config.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SocialLogin {
    /// The providers the settings offer (`settings.oauth.providers`), on these accounts.
    pub fn new(accounts: Accounts, settings: &crate::Settings) -> Result<Self, Error> {
        Self::with_providers(accounts, settings, settings.oauth.providers.clone())
    }

    /// These providers, whatever the settings say (tests point them at local servers).
    pub fn with_providers(
        accounts: Accounts,
        settings: &crate::Settings,
        providers: Vec<ProviderConfig>,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(settings.oauth.timeout)
            .user_agent("torn")
            .build()
            .map_err(Error::internal)?;
        Ok(Self {
            inner: Arc::new(Inner {
                accounts,
                providers: providers
                    .into_iter()
                    .map(|config| Provider {
                        config,
                        discovered: tokio::sync::Mutex::new(None),
                    })
                    .collect(),
                http,
                base_url: settings.server.base_url.clone(),
                flow_lifetime: FLOW_LIFETIME_SECS,
            }),
        })
    }

    /// Give people this long (instead of ten minutes) to come back from the provider.
    ///
    /// # Panics
    /// If the service was already cloned.
    #[must_use]
    pub fn with_flow_lifetime(mut self, lifetime: Duration) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("set the flow lifetime before sharing the service")
            .flow_lifetime = crate::db::secs_i64(lifetime);
        self
    }

    /// The buttons to show, one per configured provider, in name order.
    pub fn buttons(&self) -> Vec<SocialButton> {
        self.inner
            .providers
            .iter()
            .map(|p| SocialButton {
                name: p.config.name.clone(),
                label: p.config.label.clone(),
                login_path: format!("/auth/{}/login", p.config.name),
            })
            .collect()
    }

    /// The origins the browser is sent to for signing in or linking, one per provider.
    pub fn sign_in_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = self
            .inner
            .providers
            .iter()
            .filter_map(|p| p.config.sign_in_origin())
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }

    /// The accounts this service logs people in to.
    pub fn accounts(&self) -> &Accounts {
        &self.inner.accounts
    }

    fn provider(&self, name: &str) -> Result<&Provider, OAuthError> {
        self.inner
            .providers
            .iter()
            .find(|p| p.config.name == name)
            .ok_or_else(|| OAuthError::UnknownProvider(name.to_string()))
    }

    fn redirect_uri(&self, provider: &ProviderConfig) -> Result<RedirectUrl, OAuthError> {
        RedirectUrl::new(format!(
            "{}/auth/{}/callback",
            self.inner.base_url, provider.name
        ))
        .map_err(internal)
    }

    /// Start a sign-in: remember the flow in the session and return the provider's URL.
    pub async fn start(
        &self,
        session: &Session,
        provider: &str,
        next: Option<&str>,
        link_user: Option<i64>,
    ) -> Result<String, OAuthError> {
        let p = self.provider(provider)?;
        let config = &p.config;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = config
            .scopes
            .iter()
            .filter(|s| s.as_str() != "openid")
            .map(|s| Scope::new(s.clone()));
        let (url, state, nonce) = match &config.endpoints {
            Endpoints::Discovery { .. } => {
                let metadata = self.metadata(p).await?;
                let (url, state, nonce) = self
                    .oidc_client(config, &metadata)?
                    .authorize_url(
                        AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                        CsrfToken::new_random,
                        Nonce::new_random,
                    )
                    .add_scopes(scopes)
                    .set_pkce_challenge(challenge)
                    .url();
                (url, state, Some(nonce.secret().clone()))
            }
            Endpoints::Fixed { .. } => {
                let (url, state) = self
                    .oauth2_client(config)?
                    .authorize_url(CsrfToken::new_random)
                    .add_scopes(scopes)
                    .set_pkce_challenge(challenge)
                    .url();
                (url, state, None)
            }
        };
        let flow = Flow {
            provider: config.name.clone(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce,
            next: next.and_then(crate::auth::safe_next).map(str::to_string),
            link_user,
            started_at: now(),
        };
        session.insert(FLOW_KEY, flow).await.map_err(internal)?;
        Ok(url.to_string())
    }

    /// Finish a sign-in from the provider's answer (the callback's query): check it, read the
    /// profile, and find, link or make the account. Returns the user and where to go next.
    pub async fn finish(
        &self,
        session: &Session,
        provider: &str,
        query: &[(String, String)],
    ) -> Result<(User, Finished), OAuthError> {
        let p = self.provider(provider)?;
        let config = &p.config;
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        // The flow is taken out first: whatever happens next, it cannot be finished twice.
        let flow: Option<Flow> = session.remove(FLOW_KEY).await.map_err(internal)?;
        let flow = flow.ok_or(OAuthError::NoFlow)?;
        if flow.provider != config.name {
            return Err(OAuthError::StateMismatch);
        }
        if let Some(error) = param("error") {
            return Err(if error == "access_denied" {
                OAuthError::Denied(config.label.clone())
            } else {
                OAuthError::Provider {
                    label: config.label.clone(),
                    error: error.chars().take(64).collect(),
                }
            });
        }
        let state = param("state").unwrap_or("");
        if !bool::from(state.as_bytes().ct_eq(flow.state.as_bytes())) {
            return Err(OAuthError::StateMismatch);
        }
        if now() - flow.started_at > self.inner.flow_lifetime {
            return Err(OAuthError::Expired);
        }
        let code = param("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::Provider {
                label: config.label.clone(),
                error: "no code".into(),
            })?;
        let profile = match &config.endpoints {
            Endpoints::Discovery { .. } => {
                let metadata = self.metadata(p).await?;
                let issuer = metadata.issuer().as_str();
                let iss_required = metadata
                    .additional_metadata()
                    .authorization_response_iss_parameter_supported
                    == Some(true);
                match param("iss") {
                    Some(iss) if iss != issuer => {
                        return Err(OAuthError::IssuerMismatch(config.label.clone()));
                    }
                    None if iss_required => {
                        return Err(OAuthError::IssuerMismatch(config.label.clone()));
                    }
                    _ => {}
                }
                let nonce = flow.nonce.clone().ok_or(OAuthError::StateMismatch)?;
                let profile = self
                    .oidc_profile(p, &metadata, code, &flow.verifier, &nonce)
                    .await;
                if matches!(profile, Err(OAuthError::BadIdToken(_))) {
                    // The keys may have rotated: the next attempt fetches them again.
                    Self::forget_metadata(p);
                }
                profile?
            }
            Endpoints::Fixed { issuer, .. } => {
                if let Some(iss) = param("iss")
                    && iss != issuer
                {
                    return Err(OAuthError::IssuerMismatch(config.label.clone()));
                }
                let token = self
                    .oauth2_client(config)?
                    .exchange_code(AuthorizationCode::new(code.to_string()))
                    .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
                    .request_async(&self.inner.http)
                    .await
                    .map_err(|e| Self::exchange_error(config, &e))?;
                self.fetched_profile(config, token.access_token().secret())
                    .await?
            }
        };
        let issuer = match &config.endpoints {
            Endpoints::Discovery { issuer } => issuer.clone(),
            Endpoints::Fixed { issuer, .. } => issuer.clone(),
        };
        let user = self
            .account_for(config, &issuer, &profile, flow.link_user)
            .await?;
        let finished = if flow.link_user.is_some() {
            Finished::Linked
        } else {
            match self.inner.accounts.log_in(session, &user, false).await? {
                LogIn::Done => Finished::LoggedIn { next: flow.next },
                LogIn::SecondStep => Finished::SecondStep { next: flow.next },
            }
        };
        Ok((user, finished))
    }
}

/// What a finished flow did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finished {
    /// Logged the person in; go to `next` (a checked same-site path) or home.
    LoggedIn {
        /// Where to go.
        next: Option<String>,
    },
    /// The account has two-factor log-in on: the session waits for its code (the app's
    /// `two_factor` route asks for it); then go to `next` or home.
    SecondStep {
        /// Where to go after the code.
        next: Option<String>,
    },
    /// Linked the provider to the logged-in account.
    Linked,
}
