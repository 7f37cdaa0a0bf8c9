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

mod identities;
pub mod profile;
pub mod providers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthType, AuthUrl, AuthenticationFlow, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadata, RedirectUrl, RequestTokenError, Scope, TokenUrl,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::auth::{Accounts, AuthError, CurrentUser, User};
use crate::db::now;
use crate::error::Error;
use crate::page::Flash;
use crate::routing::Urls;
use crate::session::Session;

pub use identities::Identity;
pub use profile::Profile;
pub use providers::{ClientAuth, Endpoints, ProfileSource, ProviderConfig};

const FLOW_KEY: &str = "torn.oauth.flow";
/// How long a person has to come back from the provider.
pub const FLOW_LIFETIME_SECS: i64 = 600;
/// How long discovered provider metadata (endpoints and signing keys) is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// RFC 9207: whether the provider sends `iss` with its authorization responses.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for IssParameter {}

/// `CoreClient` with the endpoints discovery sets.
type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// `BasicClient` with an authorization and a token endpoint.
type OAuth2Client = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

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

/// Why a social log-in failed. Every message is for the person at the keyboard; nothing was
/// created or changed.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// No such provider is configured.
    #[error("There is no sign-in with {0:?} here.")]
    UnknownProvider(String),
    /// The person said no at the provider.
    #[error("You cancelled signing in with {0}. Nothing was changed.")]
    Denied(String),
    /// The provider answered with another error.
    #[error("{label} could not sign you in ({error}). Please try again.")]
    Provider {
        /// The provider.
        label: String,
        /// Its error code.
        error: String,
    },
    /// No sign-in was started in this browser, or it was already finished.
    #[error(
        "This sign-in was not started in this browser, or it was already used. Please start \
         again."
    )]
    NoFlow,
    /// The `state` does not match the flow.
    #[error("This sign-in does not match the one started in this browser. Please start again.")]
    StateMismatch,
    /// The response names another issuer (RFC 9207), or none where one is required.
    #[error("This answer did not come from {0}. Please start again.")]
    IssuerMismatch(String),
    /// The flow is older than ten minutes.
    #[error("This sign-in took too long. Please start again.")]
    Expired,
    /// The provider could not be reached or was too slow.
    #[error("{0} could not be reached. Please try again in a moment.")]
    Unreachable(String),
    /// The provider refused the code exchange.
    #[error("{0} did not accept the sign-in. Please start again.")]
    Exchange(String),
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce).
    #[error("{0}'s answer could not be verified. Please start again.")]
    BadIdToken(String),
    /// The profile was malformed or incomplete.
    #[error("{label} did not send a usable profile ({missing}).")]
    Profile {
        /// The provider.
        label: String,
        /// What was wrong.
        missing: String,
    },
    /// The provider shared no email address, and there is no account to link it to.
    #[error(
        "{0} did not share an email address, which an account here needs. Allow access to \
         your email address, or sign up with a password."
    )]
    NoEmail(String),
    /// An account has the address, but the provider does not vouch for it.
    #[error(
        "An account with this email address already exists. Log in with your password, then \
         link {0} from your account page."
    )]
    EmailTaken(String),
    /// The provider did not verify the address it gave, and no account has it.
    #[error(
        "{0} has not confirmed your email address, so it cannot make an account here. Sign up \
         with your email address and a password, then link {0} from your account page."
    )]
    UnverifiedEmail(String),
    /// Linking from an account whose address is not confirmed yet.
    #[error(
        "Confirm your email address first (follow the link in the mail we sent you), then link \
         {0}."
    )]
    VerifyBeforeLinking(String),
    /// The provider account belongs to another user.
    #[error("This {0} account is already linked to another account.")]
    LinkedElsewhere(String),
    /// Removing it would leave no way to log in.
    #[error(
        "{0} is the only way to log in to your account. Set a password (\"Forgot your \
         password?\") or link another provider first."
    )]
    LastLogin(String),
    /// The provider is not linked to this account.
    #[error("{0} is not linked to your account.")]
    NotLinked(String),
    /// The account layer failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<OAuthError> for Error {
    fn from(e: OAuthError) -> Self {
        let status = match &e {
            OAuthError::UnknownProvider(_) => StatusCode::NOT_FOUND,
            OAuthError::Unreachable(_) | OAuthError::Exchange(_) | OAuthError::Profile { .. } => {
                StatusCode::BAD_GATEWAY
            }
            OAuthError::EmailTaken(_) | OAuthError::LinkedElsewhere(_) => StatusCode::CONFLICT,
            OAuthError::VerifyBeforeLinking(_) => StatusCode::FORBIDDEN,
            OAuthError::Auth(_) => return Error::from(unwrap_auth(e)),
            _ => StatusCode::BAD_REQUEST,
        };
        Error::new(status, e.to_string())
    }
}

fn unwrap_auth(e: OAuthError) -> AuthError {
    match e {
        OAuthError::Auth(a) => a,
        other => AuthError::Internal(Error::internal(other.to_string())),
    }
}

fn internal(e: impl std::fmt::Display) -> OAuthError {
    OAuthError::Auth(AuthError::Internal(Error::internal(e.to_string())))
}

struct Provider {
    config: ProviderConfig,
    discovered: tokio::sync::Mutex<Option<(Instant, Arc<Metadata>)>>,
}

struct Inner {
    accounts: Accounts,
    providers: Vec<Provider>,
    http: reqwest::Client,
    base_url: String,
    flow_lifetime: i64,
}

/// A "Sign in with …" button: the provider's name, label and log-in path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocialButton {
    /// The provider's name in settings and URLs.
    pub name: String,
    /// What to call it ("GitHub").
    pub label: String,
    /// `/auth/<name>/login`.
    pub login_path: String,
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
    /// The providers the settings offer (`settings.oauth`), on these accounts.
    pub fn new(accounts: Accounts, settings: &crate::Settings) -> Result<Self, Error> {
        Self::with_providers(accounts, settings, settings.oauth.clone())
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
            .timeout(settings.oauth_timeout)
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
                base_url: settings.base_url.clone(),
                flow_lifetime: FLOW_LIFETIME_SECS,
            }),
        })
    }

    /// Give people this long (instead of ten minutes) to come back from the provider.
    ///
    /// # Panics
    /// If the service was already cloned.
    pub fn with_flow_lifetime(mut self, lifetime: Duration) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("set the flow lifetime before sharing the service")
            .flow_lifetime = lifetime.as_secs() as i64;
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

    async fn metadata(&self, provider: &Provider) -> Result<Arc<Metadata>, OAuthError> {
        let Endpoints::Discovery { issuer } = &provider.config.endpoints else {
            return Err(internal("metadata asked of a provider without discovery"));
        };
        let mut cached = provider.discovered.lock().await;
        if let Some((at, metadata)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer_url = IssuerUrl::new(issuer.clone()).map_err(internal)?;
        let metadata = Metadata::discover_async(issuer_url, &self.inner.http)
            .await
            .map_err(|e| {
                tracing::warn!(provider = %provider.config.name, error = %error_chain(&e),
                    "OpenID Connect discovery failed");
                OAuthError::Unreachable(provider.config.label.clone())
            })?;
        let metadata = Arc::new(metadata);
        *cached = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn forget_metadata(provider: &Provider) {
        if let Ok(mut cached) = provider.discovered.try_lock() {
            *cached = None;
        }
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
                    .map_err(|e| self.exchange_error(config, &e))?;
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
            self.inner.accounts.log_in(session, &user, false).await?;
            Finished::LoggedIn { next: flow.next }
        };
        Ok((user, finished))
    }

    /// The OpenID Connect client for a provider, from its discovered metadata.
    fn oidc_client(
        &self,
        config: &ProviderConfig,
        metadata: &Metadata,
    ) -> Result<OidcClient, OAuthError> {
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(config.client_id.clone()),
            config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(self.redirect_uri(config)?)
        .set_auth_type(auth_type(config.client_auth)))
    }

    /// The OAuth 2.0 client for a provider with fixed endpoints.
    fn oauth2_client(&self, config: &ProviderConfig) -> Result<OAuth2Client, OAuthError> {
        let Endpoints::Fixed {
            auth_url,
            token_url,
            ..
        } = &config.endpoints
        else {
            return Err(internal(
                "an OAuth 2.0 client asked of a discovery provider",
            ));
        };
        let client = oauth2::basic::BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_auth_uri(AuthUrl::new(auth_url.clone()).map_err(internal)?)
            .set_token_uri(TokenUrl::new(token_url.clone()).map_err(internal)?)
            .set_redirect_uri(self.redirect_uri(config)?)
            .set_auth_type(auth_type(config.client_auth));
        Ok(match &config.client_secret {
            Some(secret) => client.set_client_secret(ClientSecret::new(secret.clone())),
            None => client,
        })
    }

    /// A failed code exchange: the provider could not be reached (transport), or it refused.
    fn exchange_error<RE, T>(
        &self,
        config: &ProviderConfig,
        e: &RequestTokenError<RE, T>,
    ) -> OAuthError
    where
        RE: std::error::Error + 'static,
        T: openidconnect::ErrorResponse + 'static,
    {
        tracing::warn!(provider = %config.name, error = %error_chain(e), "OAuth code exchange failed");
        match e {
            RequestTokenError::Request(_) => OAuthError::Unreachable(config.label.clone()),
            _ => OAuthError::Exchange(config.label.clone()),
        }
    }

    async fn oidc_profile(
        &self,
        p: &Provider,
        metadata: &Metadata,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Profile, OAuthError> {
        let config = &p.config;
        let client = self.oidc_client(config, metadata)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|_| OAuthError::Exchange(config.label.clone()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&self.inner.http)
            .await
            .map_err(|e| self.exchange_error(config, &e))?;
        let bad = |reason: String| {
            tracing::warn!(provider = %config.name, %reason, "ID token refused");
            OAuthError::BadIdToken(config.label.clone())
        };
        let id_token = openidconnect::TokenResponse::id_token(&token)
            .ok_or_else(|| bad("the token response has no id_token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_string()))
            .map_err(|e| bad(error_chain(&e)))?;
        let mut profile = Profile {
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().trim().to_string()),
            email_verified: claims.email_verified() == Some(true),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_string()),
        };
        // Providers may keep the address out of the ID token and give it at the userinfo
        // endpoint instead; its answer counts only for the same subject (OIDC Core 5.3.2).
        if profile.email.is_none()
            && let Some(userinfo) = metadata.userinfo_endpoint()
        {
            let info = self
                .get_json(config, userinfo.as_str(), token.access_token().secret())
                .await?;
            let info = profile::from_userinfo(&info).map_err(|e| OAuthError::Profile {
                label: config.label.clone(),
                missing: e.0.to_string(),
            })?;
            if info.subject != profile.subject {
                return Err(bad(
                    "the userinfo subject differs from the ID token's".into()
                ));
            }
            profile.email = info.email;
            profile.email_verified = info.email_verified;
            profile.name = profile.name.or(info.name);
        }
        Ok(profile)
    }

    async fn get_json(
        &self,
        config: &ProviderConfig,
        url: &str,
        access_token: &str,
    ) -> Result<serde_json::Value, OAuthError> {
        let response = self
            .inner
            .http
            .get(url)
            .bearer_auth(access_token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(provider = %config.name, error = %error_chain(&e),
                    "profile request failed");
                OAuthError::Unreachable(config.label.clone())
            })?;
        if !response.status().is_success() {
            return Err(OAuthError::Profile {
                label: config.label.clone(),
                missing: format!("HTTP {}", response.status().as_u16()),
            });
        }
        response
            .json::<serde_json::Value>()
            .await
            .map_err(|_| OAuthError::Profile {
                label: config.label.clone(),
                missing: "not JSON".into(),
            })
    }

    async fn fetched_profile(
        &self,
        config: &ProviderConfig,
        access_token: &str,
    ) -> Result<Profile, OAuthError> {
        let Endpoints::Fixed { profile_url, .. } = &config.endpoints else {
            return Err(internal("profile fetched for a discovery provider"));
        };
        let get = |url: String| async move { self.get_json(config, &url, access_token).await };
        let malformed = |e: profile::MissingField| OAuthError::Profile {
            label: config.label.clone(),
            missing: e.0.to_string(),
        };
        match config.profile {
            ProfileSource::GitHub => {
                let base = profile_url.trim_end_matches('/');
                let user = get(format!("{base}/user")).await?;
                let emails = get(format!("{base}/user/emails")).await?;
                profile::from_github(&user, &emails).map_err(malformed)
            }
            ProfileSource::Facebook => {
                profile::from_facebook(&get(profile_url.clone()).await?).map_err(malformed)
            }
            ProfileSource::X => {
                profile::from_x(&get(profile_url.clone()).await?).map_err(malformed)
            }
            ProfileSource::UserInfo | ProfileSource::IdToken => {
                profile::from_userinfo(&get(profile_url.clone()).await?).map_err(malformed)
            }
        }
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
    /// Linked the provider to the logged-in account.
    Linked,
}

fn auth_type(auth: ClientAuth) -> AuthType {
    match auth {
        ClientAuth::Basic => AuthType::BasicAuth,
        ClientAuth::Body => AuthType::RequestBody,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SocialLogin {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Error> {
        parts
            .extensions
            .get::<SocialLogin>()
            .cloned()
            .ok_or_else(|| {
                Error::internal(
                    "social log-in is not set up: build the app with App::social_login(…)",
                )
            })
    }
}

// ---------------------------------------------------------------- handlers

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
}

fn account_path(urls: &Urls) -> String {
    urls.url("account").unwrap_or_else(|_| "/".into())
}

/// `GET /auth/{provider}/login`: off to the provider.
pub(crate) async fn login(
    social: SocialLogin,
    Path(provider): Path<String>,
    Query(q): Query<LoginQuery>,
    session: Session,
) -> Result<Response, Error> {
    let url = social
        .start(&session, &provider, q.next.as_deref(), None)
        .await?;
    Ok(Redirect::to(&url).into_response())
}

/// `POST /auth/{provider}/link`: off to the provider, to link it to the logged-in account.
pub(crate) async fn link(
    social: SocialLogin,
    Path(provider): Path<String>,
    CurrentUser(user): CurrentUser,
    session: Session,
) -> Result<Response, Error> {
    if !user.is_verified() {
        let label = social.provider(&provider)?.config.label.clone();
        return Err(OAuthError::VerifyBeforeLinking(label).into());
    }
    let url = social
        .start(&session, &provider, None, Some(user.id))
        .await?;
    Ok(Redirect::to(&url).into_response())
}

/// `GET /auth/{provider}/callback`: back from the provider.
pub(crate) async fn callback(
    social: SocialLogin,
    Path(provider): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    session: Session,
    urls: Urls,
    flash: Flash,
    ctx: crate::page::PageContext,
) -> Result<Response, Error> {
    let (_, finished) = social.finish(&session, &provider, &query).await?;
    let label = social.provider(&provider)?.config.label.clone();
    Ok(match finished {
        Finished::LoggedIn { next } => {
            // Tokens from before the log-in stop working.
            ctx.new_xsrf_token();
            Redirect::to(next.as_deref().unwrap_or("/")).into_response()
        }
        Finished::Linked => {
            flash.success(format!("{label} is linked to your account."));
            Redirect::to(&account_path(&urls)).into_response()
        }
    })
}

/// `POST /auth/{provider}/unlink`.
pub(crate) async fn unlink(
    social: SocialLogin,
    Path(provider): Path<String>,
    CurrentUser(user): CurrentUser,
    urls: Urls,
    flash: Flash,
) -> Result<Response, Error> {
    social.unlink(&user, &provider).await?;
    let label = social.provider(&provider)?.config.label.clone();
    flash.success(format!("{label} is no longer linked to your account."));
    Ok(Redirect::to(&account_path(&urls)).into_response())
}
