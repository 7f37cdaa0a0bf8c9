//! Email with lettre: SMTP over rustls, or, in development, the terminal and a `mail/` folder.
//!
//! `smtp_url` (or `TORN_SMTP_URL`) chooses the server, in lettre's URL form:
//!
//! | URL | connection |
//! |---|---|
//! | `smtps://user:password@smtp.example.com` | TLS from the start (port 465) |
//! | `smtp://user:password@smtp.example.com?tls=required` | STARTTLS, required (port 587) |
//! | `smtp://127.0.0.1:2525` | plain SMTP, for a local relay or a test server |
//!
//! The server's certificate is checked against the public certificate authorities, or, when
//! `smtp_ca_file` (or `TORN_SMTP_CA_FILE`) names a PEM file, against the authorities in it only
//! (a relay inside a company, with its own CA).
//!
//! Without it, in dev and test, every message is written to `mail/<time>-<subject>.eml` in the
//! app's folder, with its text part beside it in a `.txt` file, and the text is printed to the
//! log, so a new user can click the link in a
//! verification mail without any set-up. In prod a missing `smtp_url` is an error when mail is
//! needed.
//!
//! [`Mailer::send_later`] sends in the background: the request that asked for the mail never
//! waits for the SMTP server. In an app with a job queue (`App::jobs`, feature `jobs`) the mail
//! is stored in the queue before `send_later` returns, and a worker sends it, retrying while
//! the server is down, so a restart or a deploy loses none; without one, it is sent from a task
//! of its own, and a failure is logged with the recipient and the subject.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::config::redact;
use crate::config::{Env, Settings};

/// A message to send: text, and optionally HTML (sent as `multipart/alternative`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, if any.
    pub html: Option<String>,
}

/// Why mail could not be set up or sent. Passwords in URLs are hidden.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No SMTP server is configured where one is needed.
    #[error(
        "no SMTP server is configured for the {0} profile: set TORN_SMTP_URL (for example \
         smtps://user:password@smtp.example.com) or `smtp_url` in torn.toml"
    )]
    NotConfigured(Env),
    /// The SMTP URL is not usable.
    #[error("TORN_SMTP_URL {url:?} is not valid: {reason}")]
    BadUrl {
        /// The URL, password hidden.
        url: String,
        /// Why.
        reason: String,
    },
    /// The sender or recipient address is not valid.
    #[error("{0:?} is not a valid email address for sending")]
    BadAddress(String),
    /// The message could not be built.
    #[error("the message could not be built: {0}")]
    Build(String),
    /// The server refused or could not be reached.
    #[error("sending to {to} through {server} failed: {reason}")]
    Send {
        /// The recipient.
        to: String,
        /// The server, password hidden.
        server: String,
        /// Why.
        reason: String,
        /// The server refused the message for good (a 5xx answer, such as an unknown
        /// recipient): sending it again would not help.
        permanent: bool,
    },
    /// The `smtp_ca_file` could not be used.
    #[error("the SMTP CA file {path} cannot be used: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The job queue could not store the message (`send_later` in an app with jobs).
    #[error("the mail could not be queued: {0}")]
    Queue(String),
    /// The mail folder could not be written.
    #[error("cannot write the message to {path}: {source}")]
    Folder {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        server: String,
    },
    Folder(PathBuf),
}

/// Where [`Mailer::send_later`] stores mail for a worker to send (the app's job queue).
pub(crate) trait Outbox: Send + Sync {
    fn store<'a>(
        &'a self,
        email: &'a Email,
    ) -> futures_util::future::BoxFuture<'a, Result<(), MailError>>;
}

/// Sends email. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
    outbox: Option<Arc<dyn Outbox>>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &*self.transport {
            Transport::Smtp { server, .. } => format!("smtp {server}"),
            Transport::Folder(dir) => format!("folder {}", dir.display()),
        };
        f.debug_struct("Mailer")
            .field("transport", &kind)
            .field("from", &self.from.to_string())
            .field("queued", &self.outbox.is_some())
            .finish()
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .parse()
        .map_err(|_| MailError::BadAddress(address.to_string()))
}

impl Mailer {
    /// The mailer the settings describe: SMTP when `smtp_url` is set; otherwise the `mail/`
    /// folder in dev and test, and [`MailError::NotConfigured`] in prod.
    pub fn from_settings(settings: &Settings) -> Result<Self, MailError> {
        match (&settings.mail.smtp_url, &settings.mail.smtp_ca_file) {
            (Some(url), Some(file)) => {
                let pem = std::fs::read(file).map_err(|e| MailError::CaFile {
                    path: file.display().to_string(),
                    reason: e.to_string(),
                })?;
                Self::smtp_trusting(url, &settings.mail.from, &pem).map_err(|e| match e {
                    MailError::CaFile { reason, .. } => MailError::CaFile {
                        path: file.display().to_string(),
                        reason,
                    },
                    other => other,
                })
            }
            (Some(url), None) => Self::smtp(url, &settings.mail.from),
            (None, _) if settings.env == Env::Prod => Err(MailError::NotConfigured(settings.env)),
            (None, _) => Self::folder(settings.root.join("mail"), &settings.mail.from),
        }
    }

    /// Send through an SMTP server (see the module docs for the URL forms).
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let builder =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| MailError::BadUrl {
                url: redact(url),
                reason: e.to_string(),
            })?;
        Self::smtp_from_builder(builder, url, from)
    }

    /// Send through an SMTP server over TLS, trusting only the certificate authorities in
    /// `ca_pem` (PEM text) for its certificate. The URL must ask for TLS (`smtps://` or
    /// `?tls=required`/`?tls=opportunistic`).
    pub fn smtp_trusting(url: &str, from: &str, ca_pem: &[u8]) -> Result<Self, MailError> {
        use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
        let bad_url = |reason: String| MailError::BadUrl {
            url: redact(url),
            reason,
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| bad_url(e.to_string()))?;
        let parsed = url::Url::parse(url).map_err(|e| bad_url(e.to_string()))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| bad_url("it names no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let ca_error = |reason: String| MailError::CaFile {
            path: "(given)".into(),
            reason,
        };
        if !String::from_utf8_lossy(ca_pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(ca_error("it holds no PEM certificate".into()));
        }
        let params = TlsParameters::builder(host)
            .certificate_store(CertificateStore::None)
            .add_root_certificate(
                Certificate::from_pem(ca_pem).map_err(|e| ca_error(e.to_string()))?,
            )
            .build_rustls()
            .map_err(|e| ca_error(e.to_string()))?;
        let tls_query = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let tls = match (parsed.scheme(), tls_query.as_deref()) {
            ("smtps", _) => Tls::Wrapper(params),
            (_, Some("required")) => Tls::Required(params),
            (_, Some("opportunistic")) => Tls::Opportunistic(params),
            _ => {
                return Err(bad_url(
                    "a CA file is set but the URL uses no TLS: use smtps:// or add ?tls=required"
                        .into(),
                ));
            }
        };
        Self::smtp_from_builder(builder.tls(tls), url, from)
    }

    fn smtp_from_builder(
        builder: lettre::transport::smtp::AsyncSmtpTransportBuilder,
        url: &str,
        from: &str,
    ) -> Result<Self, MailError> {
        let transport = builder.timeout(Some(Duration::from_secs(15))).build();
        Ok(Self {
            transport: Arc::new(Transport::Smtp {
                transport,
                server: redact(url),
            }),
            from: mailbox(from)?,
            outbox: None,
        })
    }

    /// Write messages to a folder (and their text to the log) instead of sending them.
    pub fn folder(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        Ok(Self {
            transport: Arc::new(Transport::Folder(dir.into())),
            from: mailbox(from)?,
            outbox: None,
        })
    }

    /// The folder messages are written to, when not sending through SMTP.
    pub fn folder_path(&self) -> Option<&Path> {
        match &*self.transport {
            Transport::Folder(dir) => Some(dir),
            Transport::Smtp { .. } => None,
        }
    }

    fn message(&self, email: &Email) -> Result<Message, MailError> {
        let builder = Message::builder()
            .from(self.from.clone())
            .to(mailbox(&email.to)?)
            .subject(email.subject.clone());
        let built = match &email.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                html.clone(),
            )),
            None => builder.body(email.text.clone()),
        };
        built.map_err(|e| MailError::Build(e.to_string()))
    }

    /// Send now, and wait for the server's answer.
    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = self.message(email)?;
        match &*self.transport {
            Transport::Smtp { transport, server } => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Send {
                    to: email.to.clone(),
                    server: server.clone(),
                    reason: e.to_string(),
                    permanent: e.is_permanent(),
                }),
            Transport::Folder(dir) => write_to_folder(dir, email, &message.formatted()).await,
        }
    }

    /// Send in the background, never waiting for the SMTP server. In an app with a job queue
    /// the message is stored in it when this returns (an error says it could not be), and a
    /// worker sends it, with retries; otherwise a task of its own sends it, and a failure is
    /// logged (recipient, subject, reason).
    pub async fn send_later(&self, email: Email) -> Result<(), MailError> {
        if let Some(outbox) = &self.outbox {
            return outbox.store(&email).await;
        }
        let mailer = self.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&email).await {
                tracing::error!(to = %email.to, subject = %email.subject, error = %e, "mail not sent");
            }
        });
        Ok(())
    }

    /// This mailer, with `send_later` storing mail in `outbox`.
    #[cfg(feature = "jobs")]
    pub(crate) fn with_outbox(mut self, outbox: Arc<dyn Outbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }
}

async fn write_to_folder(dir: &Path, email: &Email, raw: &[u8]) -> Result<(), MailError> {
    let slug: String = email
        .subject
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-");
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let path = dir.join(format!("{millis}-{slug}.eml"));
    let text_path = path.with_extension("txt");
    let folder_error = |source| MailError::Folder {
        path: path.display().to_string(),
        source,
    };
    tokio::fs::create_dir_all(dir).await.map_err(folder_error)?;
    // The text part beside the message, readable as it is (the .eml may encode it).
    let text = format!(
        "To: {}\nSubject: {}\n\n{}",
        email.to, email.subject, email.text
    );
    tokio::fs::write(&text_path, text)
        .await
        .map_err(folder_error)?;
    tokio::fs::write(&path, raw).await.map_err(folder_error)?;
    tracing::info!(
        to = %email.to,
        subject = %email.subject,
        file = %path.display(),
        "mail written to the folder (no SMTP server configured):\n{}",
        email.text
    );
    Ok(())
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Mailer {
    type Rejection = crate::Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, crate::Error> {
        parts.extensions.get::<Mailer>().cloned().ok_or_else(|| {
            crate::Error::internal("no mailer is set up: build the app with App::mailer(…)")
        })
    }
}
