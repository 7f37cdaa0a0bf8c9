//! `[[ path ]]`: a live channel, made by `torn gen channel [[ name ]]`. What one page sends
//! reaches every page open on it at once, on every instance of the app, through the pub/sub
//! topic `[[ name ]]`. Pages listen on a WebSocket (`[[ path ]]/socket`), or on server-sent
//! events (`[[ path ]]/events`) where a WebSocket cannot get through; without a script, the
//! form posts as any form does (XSRF-protected).
//!
//! The channel is public: anyone who can load the page can read and send, without logging in
//! (each WebSocket is limited to one message a second after a burst of five). For members
//! only, add `const AUTHENTICATED: bool = true;` to the socket's handler and a
//! `CurrentUser(_user): CurrentUser` argument to the page's, the form's and the events'.

use askama::Template;
use axum::Form;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use torn::realtime::{self, Connection, Incoming, RateLimit, Sender, WebSocketHandler, close_code};
use torn::{Page, PageContext, PubSub};

/// The channel's name: its pub/sub topic, and its page's route.
const NAME: &str = "[[ name ]]";
/// The longest message, in characters.
const MAX_MESSAGE: usize = 1000;

/// The message to send, trimmed, or why it is refused.
fn checked(text: &str) -> Result<&str, String> {
    let text = text.trim();
    if text.is_empty() {
        Err("Write something first.".to_string())
    } else if text.chars().count() > MAX_MESSAGE {
        Err(format!("A message has {MAX_MESSAGE} characters at most."))
    } else {
        Ok(text)
    }
}

/// `templates/[[ name ]].html`.
#[derive(Template)]
#[template(path = "[[ name ]].html")]
pub struct [[ ty ]]Page {
    ctx: PageContext,
    /// Why the last message was refused.
    error: Option<String>,
}

/// The form's field.
#[derive(Debug, Deserialize)]
pub struct [[ ty ]]Form {
    message: String,
}

/// `[[ path ]]`.
pub struct [[ ty ]];

impl [[ ty ]] {
    /// The page: its messages arrive while it is open.
    pub async fn get(ctx: PageContext) -> Page<[[ ty ]]Page> {
        Page([[ ty ]]Page { ctx, error: None })
    }

    /// Send a message without a WebSocket: back to the page, or the page again with why not.
    pub async fn post(
        ctx: PageContext,
        pubsub: PubSub,
        Form(form): Form<[[ ty ]]Form>,
    ) -> torn::Result<Response> {
        match checked(&form.message) {
            Ok(text) => {
                pubsub.publish(NAME, text).await?;
                Ok(Redirect::to(&ctx.url(NAME)?).into_response())
            }
            Err(error) => {
                let page = [[ ty ]]Page {
                    ctx,
                    error: Some(error),
                };
                Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
            }
        }
    }
}

torn::handler!([[ ty ]] => get, post);

/// `[[ path ]]/events`: the channel as server-sent events. A browser that reconnects sends the
/// id of the last message it got, and gets what it missed.
pub struct [[ ty ]]Events;

impl [[ ty ]]Events {
    /// The stream.
    pub async fn get(pubsub: PubSub, headers: HeaderMap) -> impl IntoResponse {
        realtime::events(&pubsub, NAME, &headers)
    }
}

torn::handler!([[ ty ]]Events => get);

/// `[[ path ]]/socket`: each open page's WebSocket. Its text messages go to the channel;
/// the channel's messages come back as text.
pub struct [[ ty ]]Socket {
    /// One message a second, after a burst of five.
    limit: RateLimit,
    pubsub: PubSub,
    sender: Sender,
}

impl WebSocketHandler for [[ ty ]]Socket {
    async fn open(conn: Connection) -> Option<Self> {
        conn.follow(NAME);
        Some([[ ty ]]Socket {
            limit: RateLimit::new(1, 5),
            pubsub: conn.pubsub,
            sender: conn.sender,
        })
    }

    async fn on_message(&mut self, message: Incoming) {
        let Incoming::Text(text) = message else {
            self.sender.close(close_code::POLICY, "text only");
            return;
        };
        if !self.limit.allow() {
            self.sender.close(close_code::POLICY, "too fast");
            return;
        }
        let (code, why) = match checked(&text) {
            Ok(text) => match self.pubsub.publish(NAME, text).await {
                Ok(_) => return,
                Err(_) => (close_code::TRY_AGAIN_LATER, "try again later".to_string()),
            },
            Err(why) => (close_code::POLICY, why),
        };
        self.sender.close(code, &why);
    }

    /// Messages went by while this page was behind.
    async fn on_lagged(&mut self, _missed: u64) {
        let _ = self.sender.write_message("(some messages were missed)");
    }
}
