//! The provider clients: discovery (cached for an hour) and the ID token check of OpenID
//! Connect, the token exchange of plain OAuth 2.0, and the profile fetched with the token.

use std::sync::Arc;
use std::time::Instant;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeVerifier, ProviderMetadata, RequestTokenError,
    TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::error::internal;
use super::{
    ClientAuth, DISCOVERY_TTL, Endpoints, OAuthError, Profile, ProfileSource, ProviderConfig,
    SocialLogin, profile,
};

/// RFC 9207: whether the provider sends `iss` with its authorization responses.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(super) struct IssParameter {
    #[serde(default)]
    pub(super) authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for IssParameter {}

/// `CoreClient` with the endpoints discovery sets.
pub(super) type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// `BasicClient` with an authorization and a token endpoint.
pub(super) type OAuth2Client = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

pub(super) type Metadata = ProviderMetadata<
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

/// A provider as the service keeps it: its settings and its discovered metadata.
pub(super) struct Provider {
    pub(super) config: ProviderConfig,
    pub(super) discovered: tokio::sync::Mutex<Option<(Instant, Arc<Metadata>)>>,
}

impl SocialLogin {
    pub(super) async fn metadata(&self, provider: &Provider) -> Result<Arc<Metadata>, OAuthError> {
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

    pub(super) fn forget_metadata(provider: &Provider) {
        if let Ok(mut cached) = provider.discovered.try_lock() {
            *cached = None;
        }
    }

    /// The OpenID Connect client for a provider, from its discovered metadata.
    pub(super) fn oidc_client(
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
    pub(super) fn oauth2_client(
        &self,
        config: &ProviderConfig,
    ) -> Result<OAuth2Client, OAuthError> {
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
    pub(super) fn exchange_error<RE, T>(
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

    pub(super) async fn oidc_profile(
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
            .map_err(|e| Self::exchange_error(config, &e))?;
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

    pub(super) async fn get_json(
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

    pub(super) async fn fetched_profile(
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

fn auth_type(auth: ClientAuth) -> AuthType {
    match auth {
        ClientAuth::Basic => AuthType::BasicAuth,
        ClientAuth::Body => AuthType::RequestBody,
    }
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
