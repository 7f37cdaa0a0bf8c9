//! A visitor of a running app, as a browser would be (a cookie jar, XSRF tokens read from the
//! rendered forms), and the links in the mail it gets.

use torn::test::{TestResponse, form_field};

use super::SmtpServer;

/// A visitor with a cookie jar, at `base`.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self::from(base, None)
    }

    /// A visitor whose connections come from the local address `from`.
    pub fn from(base: &str, from: Option<std::net::IpAddr>) -> Self {
        Browser {
            client: torn::test::browser_client_from(from),
            base: base.to_string(),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        read(self.client.get(format!("{}{path}", self.base))).await
    }

    /// GET the page with the form, then POST the fields with the form's own XSRF token.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> TestResponse {
        let form = self.get(page).await;
        let token = form_field(&form.text, "_xsrf").expect("the form has an _xsrf field");
        let mut all = vec![("_xsrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// POST the fields as they are.
    pub async fn post(&self, action: &str, fields: &[(&str, &str)]) -> TestResponse {
        read(
            self.client
                .post(format!("{}{action}", self.base))
                .form(fields),
        )
        .await
    }
}

pub async fn read(request: reqwest::RequestBuilder) -> TestResponse {
    let r = request.send().await.expect("request");
    TestResponse {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        text: r.text().await.unwrap(),
    }
}

/// Undo quoted-printable soft line breaks and `=3D` (how mail carries long lines and `=`).
fn unquote_printable(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The path of the `<route>?token=` link in the message to `to` that has one (waiting until
/// `count` messages have arrived; Maildir file names do not tell their order).
pub fn mail_link(smtp: &SmtpServer, count: usize, to: &str, route: &str) -> String {
    let needle = format!("{route}?token=");
    let message = smtp
        .wait_for(count)
        .iter()
        .map(|m| unquote_printable(m))
        .find(|m| m.contains(&format!("To: {to}")) && m.contains(&needle))
        .unwrap_or_else(|| panic!("no mail to {to} with a {route} link"));
    // The mail says how long the link works: the defaults are a day and an hour.
    let lifetime = if route.ends_with("verify") || route.ends_with("confirm") {
        "The link works once, for 24 hours."
    } else {
        "The link works once, for 1 hour."
    };
    assert!(message.contains(lifetime), "{message}");
    let at = message.find(&needle).expect("found above");
    message[at..].split_whitespace().next().unwrap().to_string()
}
