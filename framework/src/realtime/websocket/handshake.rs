//! The upgrade: who may open a WebSocket (origin, log-in), the subprotocol, the limits, then
//! the connection.

use axum::extract::FromRequestParts;
use axum::extract::WebSocketUpgrade;
use axum::response::{IntoResponse, Response};

use super::connection::{MAX_WRITE_BUFFER, READ_BUFFER, Recheck, run};
use super::{Connection, Following, Limits, WebSocketHandler};
use crate::error::Error;
use crate::state::Shared;

/// The route of a WebSocket handler: checks, then the upgrade.
pub(crate) async fn upgrade<H: WebSocketHandler>(request: axum::extract::Request) -> Response {
    match accept::<H>(request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn accept<H: WebSocketHandler>(
    request: axum::extract::Request,
) -> Result<Response, Response> {
    let (mut parts, _body) = request.into_parts();
    let shared = Shared::from_parts(&parts).map_err(IntoResponse::into_response)?;
    // Cross-site WebSocket hijacking: a page elsewhere opening a socket with the user's
    // cookies. Same origin, or an origin the handler allows.
    let origin = parts
        .headers
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let https = shared.settings.cookies.secure
        || parts
            .extensions
            .get::<crate::client::Client>()
            .is_some_and(|c| c.https);
    if let Err(refused) = crate::xsrf::check_origin(
        &parts.headers,
        parts
            .uri
            .authority()
            .map(axum::http::uri::Authority::as_str),
        https,
    ) && !origin
        .as_deref()
        .is_some_and(|o| listed(&shared.settings.realtime.origins, o) || H::allow_origin(o))
    {
        let message = refused.to_string().replace(
            "Forms must be submitted from this site's own pages.",
            "WebSockets must be opened from this site's own pages.",
        );
        return Err(Error::forbidden(message).into_response());
    }
    // The logged-in user, when the app has accounts.
    #[cfg(feature = "accounts")]
    let user = if parts.extensions.get::<crate::auth::Accounts>().is_some() {
        crate::auth::MaybeUser::from_request_parts(&mut parts, &())
            .await
            .map_err(IntoResponse::into_response)?
            .0
    } else {
        None
    };
    #[cfg(feature = "accounts")]
    if H::AUTHENTICATED {
        let Some(user) = &user else {
            return Err(Error::forbidden("log in to open this WebSocket").into_response());
        };
        // As `CurrentUser` does for pages: with `require_verified_email`, an address not
        // confirmed yet gets nothing that needs a logged-in user.
        if shared.settings.accounts.require_verified_email && !user.is_verified() {
            return Err(Error::forbidden(
                "confirm your email address (follow the link in the mail) to open this WebSocket",
            )
            .into_response());
        }
    }
    // Checked again at every ping, so that a log-out ends the connection.
    #[cfg(feature = "accounts")]
    let recheck = if H::AUTHENTICATED {
        let accounts = parts.extensions.get::<crate::auth::Accounts>().cloned();
        let session_id = parts
            .extensions
            .get::<tower_sessions::Session>()
            .and_then(tower_sessions::Session::id)
            .map(|id| id.to_string());
        match (accounts, session_id, &user) {
            (Some(accounts), Some(session_id), Some(user)) => Some(Recheck {
                accounts,
                user: user.clone(),
                session_id,
            }),
            _ => None,
        }
    } else {
        None
    };
    #[cfg(not(feature = "accounts"))]
    let recheck: Option<Recheck> = None;
    #[cfg(not(feature = "accounts"))]
    if H::AUTHENTICATED {
        return Err(Error::internal(
            "a WebSocket handler asks for a logged-in user, and torn is built without accounts",
        )
        .into_response());
    }
    let pubsub = crate::realtime::PubSub::from_request_parts(&mut parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let offered: Vec<String> = parts
        .headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let subprotocol =
        H::select_subprotocol(&offered.iter().map(String::as_str).collect::<Vec<_>>())
            .filter(|p| offered.contains(p));
    let ws = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let limits = H::limits(Limits::from(&shared.settings.realtime));
    // What waits to be written to the peer is bounded too: a peer that sends pings and never
    // reads would otherwise grow it with pongs.
    let ws = ws
        .max_message_size(limits.max_message_size)
        .max_frame_size(limits.max_message_size)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .read_buffer_size(READ_BUFFER);
    let ws = match &subprotocol {
        Some(p) => ws.protocols([p.clone()]),
        None => ws,
    };
    let headers = parts.headers;
    let extensions = parts.extensions;
    // Counted from here, not from when the upgrade completes: a server that shuts down in
    // between still waits for this connection's close frame.
    let open = pubsub.socket_opened();
    Ok(ws
        .on_upgrade(move |socket| {
            let server = pubsub.clone();
            let following = Following::default();
            let followed = following.clone();
            let connection = |sender| Connection {
                sender,
                headers,
                subprotocol,
                #[cfg(feature = "accounts")]
                user,
                pubsub,
                extensions,
                following,
            };
            async move {
                run::<H>(socket, limits, &server, open, connection, followed, recheck).await;
            }
        })
        .into_response())
}

/// Whether `origin` is in the allow-list (scheme and host compared without case, a trailing
/// slash ignored).
fn listed(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}
