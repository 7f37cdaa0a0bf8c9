//! What the account tests share: the app on an in-memory database with its mail in a folder,
//! the links in that mail, and a browser with cookies of its own.
#![allow(dead_code, reason = "each test file uses some of it")]

use std::path::Path;
use std::time::{Duration, Instant};

use torn::Settings;
use torn::test::{TestResponse, TestServer};

pub const PASSWORD: &str = "correct horse battery staple";

/// The app on an in-memory database, writing its mail to `dir/mail`.
pub async fn server(dir: &Path, tune: impl FnOnce(&mut Settings)) -> TestServer {
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = dir.to_path_buf();
    tune(&mut settings);
    let app = {{crate_name}}::app(settings).await.expect("the app builds");
    TestServer::start(app).await
}

/// The text of every mail written so far.
pub fn mails(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("mail"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Wait until a mail says `text` (mail is sent by a background job).
pub async fn mailed(dir: &Path, text: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if mails(dir).iter().any(|m| m.contains(text)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Every link to `route` in the mail written so far, as paths, waiting until there are `n`.
pub async fn links(dir: &Path, route: &str, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let mut found: Vec<String> = mails(dir)
            .iter()
            .flat_map(|text| {
                text.split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter_map(|word| word.find(route).map(|at| word[at..].to_string()))
            .collect();
        found.sort();
        if found.len() >= n {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} links to {route}, not {n}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A browser of its own (its own cookies) on `server`.
pub struct Browser<'a> {
    pub server: &'a TestServer,
    pub client: torn::test::reqwest::Client,
}

impl<'a> Browser<'a> {
    pub fn new(server: &'a TestServer) -> Self {
        Browser {
            server,
            client: torn::test::browser_client(),
        }
    }

    /// A browser whose requests say they come from `user_agent`.
    pub fn with_agent(server: &'a TestServer, user_agent: &str) -> Self {
        let client = torn::test::reqwest::Client::builder()
            .cookie_store(true)
            .redirect(torn::test::reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .build()
            .expect("an HTTP client");
        Browser { server, client }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.server
            .send(self.client.get(self.server.url(path)))
            .await
    }

    /// GET `page`, then POST `fields` to `action` with the page's XSRF token.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.get(page).await.form_field("_xsrf").expect("a form");
        let mut form = vec![("_xsrf", token.as_str())];
        form.extend_from_slice(fields);
        let request = self.client.post(self.server.url(action)).form(&form);
        self.server.send(request).await
    }

    pub async fn sign_up(&self, email: &str, password: &str) {
        let r = self
            .submit(
                "/auth/signup",
                "/auth/signup",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text);
    }

    pub async fn log_in(&self, email: &str, password: &str) -> TestResponse {
        self.submit(
            "/auth/login",
            "/auth/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub async fn log_out(&self) {
        let r = self.submit("/", "/auth/logout", &[]).await;
        assert_eq!(r.status, 303);
    }

    /// Whether this browser is logged in (the account page answers instead of leading to the
    /// log-in page).
    pub async fn logged_in(&self) -> bool {
        self.get("/account").await.status == 200
    }
}
