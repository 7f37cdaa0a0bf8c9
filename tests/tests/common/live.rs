//! Real-time clients: a WebSocket (tokio-tungstenite) and a server-sent event stream.

use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use torn::test::{TestServer, reqwest};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connect to `path` with these extra headers; the server's answer when it refuses.
pub async fn connect(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Socket, tungstenite::handshake::client::Response), u16> {
    connect_to(&format!("ws://{}{path}", server.addr()), headers).await
}

/// Connect to the WebSocket at `url` with these extra headers; the server's answer when it
/// refuses.
pub async fn connect_to(
    url: &str,
    headers: &[(&str, &str)],
) -> Result<(Socket, tungstenite::handshake::client::Response), u16> {
    let mut request = url.into_client_request().unwrap();
    for (k, v) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        request
            .headers_mut()
            .insert(name, v.parse().expect("a header value"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(pair) => Ok(pair),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

/// The next message, within 5 seconds.
pub async fn next(socket: &mut Socket) -> Message {
    tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a message within 5 s")
        .expect("the socket is open")
        .expect("a valid message")
}

/// Read until the server's close frame; its code and reason.
pub async fn close_frame(socket: &mut Socket) -> Option<CloseFrame> {
    // One deadline for all: pings every 200 ms must not keep the wait going.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("closed within 5 s")
        {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// An open event stream, read as text.
pub struct Stream {
    response: reqwest::Response,
    text: String,
}

impl Stream {
    pub async fn open(server: &TestServer, path: &str, last_event_id: Option<&str>) -> Stream {
        Self::open_url(server.client(), &server.url(path), last_event_id).await
    }

    /// Open the stream at `url`, with this client.
    pub async fn open_url(
        client: &reqwest::Client,
        url: &str,
        last_event_id: Option<&str>,
    ) -> Stream {
        let mut request = client.get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Stream {
            response,
            text: String::new(),
        }
    }

    /// Read until the text holds `wanted` (or fail after 5 seconds).
    pub async fn until(&mut self, wanted: &str) -> &str {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !self.text.contains(wanted) {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {wanted:?} in {:?}", self.text))
                .unwrap()
                .expect("the stream is open");
            self.text.push_str(&String::from_utf8_lossy(&chunk));
        }
        &self.text
    }

    /// Read to the end of the stream: whether it ended cleanly (not with an error).
    pub async fn end(&mut self) -> bool {
        loop {
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }
}

/// An account with a confirmed address, made straight in an app's database (whose migrations
/// have run), with a cheap password hash.
pub async fn verified_account(database_url: &str, email: &str, password: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = torn::db::Db::connect(database_url).await.unwrap();
    let accounts = torn::Accounts::new(db, torn::Settings::for_test(dir.path()))
        .await
        .unwrap()
        .with_hasher(torn::password::Hasher::new(
            argon2::Params::new(256, 1, 1, None).unwrap(),
        ));
    let torn::auth::SignUp::Created { verify_token, .. } =
        accounts.sign_up(email, password).await.unwrap()
    else {
        panic!("{email} is new");
    };
    accounts.verify_email(&verify_token).await.unwrap();
}
