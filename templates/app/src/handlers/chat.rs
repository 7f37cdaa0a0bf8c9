//! `/chat`: a live chat, Tornado's chat demo in torn. Logged-in users post; every open chat
//! page shows the message at once. Pages listen on a WebSocket (`/chat/socket`, written to
//! by `static/js/chat.js`); messages go through the app's pub/sub, whose backend (`pubsub` in
//! torn.toml: PostgreSQL's LISTEN/NOTIFY on PostgreSQL) carries them to every instance. Without
//! a WebSocket the form posts as any form does, XSRF-protected. The last 50 messages are kept
//! on the page, and sent again to a socket that reconnects or falls behind.

use askama::Template;
use axum::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use torn::db::{Db, new_id};
use torn::realtime::{Connection, Incoming, RateLimit, Sender, WebSocketHandler, close_code};
use torn::{CurrentUser, Page, PageContext, PubSub, User, with_db};

/// The pub/sub topic the messages go through.
const TOPIC: &str = "chat";
/// How many messages a page shows.
const SHOWN: i64 = 50;
/// The longest message, in characters.
const MAX_BODY: usize = 1000;
/// Messages kept in the database; older ones are deleted as new ones come.
const KEPT: i64 = 1000;

/// A message, as stored and as sent to pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ChatMessage {
    /// Who wrote it: the part of their address before the `@`.
    pub author: String,
    /// What they wrote.
    pub body: String,
    /// When (Unix milliseconds).
    pub posted_at: i64,
}

/// What the socket sends a page, as JSON: `{"message": …}`, `{"history": […]}` or
/// `{"error": "…"}`.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum Event<'a> {
    Message(&'a ChatMessage),
    History(&'a [ChatMessage]),
    Error(&'a str),
}

impl Event<'_> {
    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ChatMessage {
    /// The last messages, oldest first.
    pub async fn recent(db: &Db) -> torn::Result<Vec<Self>> {
        let sql = "SELECT author, body, posted_at FROM chat_messages \
                   ORDER BY posted_at DESC, id DESC LIMIT $1";
        let mut rows = with_db!(db, pool => {
            sqlx::query_as::<_, Self>(sql).bind(SHOWN).fetch_all(pool).await
        })
        .map_err(torn::Error::internal)?;
        rows.reverse();
        Ok(rows)
    }

    /// Check what `user` wrote, store it and send it to every page; the message, or why it
    /// was refused.
    pub async fn post(
        db: &Db,
        pubsub: &PubSub,
        user: &User,
        text: &str,
    ) -> torn::Result<Result<Self, String>> {
        let body = text.trim();
        if body.is_empty() {
            return Ok(Err("Write something first.".to_string()));
        }
        if body.chars().count() > MAX_BODY {
            return Ok(Err(format!("A message has {MAX_BODY} characters at most.")));
        }
        let message = ChatMessage {
            author: author(user),
            body: body.to_string(),
            posted_at: now_ms(),
        };
        let sql = "INSERT INTO chat_messages (id, user_id, author, body, posted_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        with_db!(db, pool => {
            sqlx::query(sql)
                .bind(new_id())
                .bind(user.id)
                .bind(&message.author)
                .bind(&message.body)
                .bind(message.posted_at)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(torn::Error::internal)?;
        let sql = "DELETE FROM chat_messages WHERE posted_at < (SELECT posted_at \
                   FROM chat_messages ORDER BY posted_at DESC LIMIT 1 OFFSET $1)";
        with_db!(db, pool => {
            sqlx::query(sql).bind(KEPT - 1).execute(pool).await.map(|_| ())
        })
        .map_err(torn::Error::internal)?;
        pubsub
            .publish(TOPIC, Event::Message(&message).json())
            .await?;
        Ok(Ok(message))
    }
}

/// The name shown with a user's messages: the part of the address before the `@`.
fn author(user: &User) -> String {
    let name = user.email.split('@').next().unwrap_or_default();
    name.to_string()
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `templates/chat.html`.
#[derive(Template)]
#[template(path = "chat.html")]
pub struct ChatPage {
    ctx: PageContext,
    messages: Vec<ChatMessage>,
    /// Why the last message was refused, and what it said.
    error: Option<String>,
    body: String,
}

/// The form's field.
#[derive(Debug, Deserialize)]
pub struct ChatForm {
    body: String,
}

/// `/chat`.
pub struct Chat;

impl Chat {
    /// The chat: the last messages and the form.
    pub async fn get(
        ctx: PageContext,
        CurrentUser(_user): CurrentUser,
        db: Db,
    ) -> torn::Result<Page<ChatPage>> {
        let messages = ChatMessage::recent(&db).await?;
        Ok(Page(ChatPage {
            ctx,
            messages,
            error: None,
            body: String::new(),
        }))
    }

    /// Post a message without a WebSocket: back to the chat, or the form again with why.
    pub async fn post(
        ctx: PageContext,
        CurrentUser(user): CurrentUser,
        db: Db,
        pubsub: PubSub,
        Form(form): Form<ChatForm>,
    ) -> torn::Result<Response> {
        match ChatMessage::post(&db, &pubsub, &user, &form.body).await? {
            Ok(_) => Ok(Redirect::to(&ctx.url("chat")?).into_response()),
            Err(error) => {
                let messages = ChatMessage::recent(&db).await?;
                let page = ChatPage {
                    ctx,
                    messages,
                    error: Some(error),
                    body: form.body,
                };
                Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
            }
        }
    }
}

torn::handler!(Chat => get, post);

/// `/chat/socket`: what an open chat page listens on and posts through.
pub struct ChatSocket {
    /// One message a second, after a burst of five.
    limit: RateLimit,
    sender: Sender,
    db: Db,
    pubsub: PubSub,
    user: User,
}

impl WebSocketHandler for ChatSocket {
    const AUTHENTICATED: bool = true;

    async fn open(conn: Connection) -> Option<Self> {
        let user = conn.user.clone()?;
        let db = conn.extension::<Db>()?;
        // Following first, then the history: a message posted in between is not lost.
        conn.follow(TOPIC);
        send_history(&conn.sender, &db).await;
        Some(ChatSocket {
            limit: RateLimit::new(1, 5),
            sender: conn.sender,
            db,
            pubsub: conn.pubsub,
            user,
        })
    }

    async fn on_message(&mut self, message: Incoming) {
        let Incoming::Text(text) = message else {
            self.sender.close(close_code::POLICY, "text only");
            return;
        };
        if !self.limit.allow() {
            let slow_down = "You are sending messages too fast; wait a moment.";
            let _ = self.sender.write_message(Event::Error(slow_down).json());
            return;
        }
        let refused = match ChatMessage::post(&self.db, &self.pubsub, &self.user, &text).await {
            Ok(Ok(_)) => return,
            Ok(Err(refused)) => refused,
            Err(e) => {
                tracing::error!(error = %e.chain(), "a chat message was not sent");
                "Your message was not sent; please try again.".to_string()
            }
        };
        let _ = self.sender.write_message(Event::Error(&refused).json());
    }

    /// Messages went by while this page was behind: it gets the last ones again.
    async fn on_lagged(&mut self, _missed: u64) {
        send_history(&self.sender, &self.db).await;
    }
}

/// The last messages, for a page that (re)connects or fell behind.
async fn send_history(sender: &Sender, db: &Db) {
    match ChatMessage::recent(db).await {
        Ok(messages) => {
            let _ = sender.write_message(Event::History(&messages).json());
        }
        Err(e) => tracing::error!(error = %e.chain(), "cannot read the chat's messages"),
    }
}
