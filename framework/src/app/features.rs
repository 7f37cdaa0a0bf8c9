//! The optional parts of an app (accounts, social log-in, the database, mail), each behind
//! its cargo feature: the builder methods that turn them on, and the layers and settings they
//! add to the router. Everything torn does differently with a feature off is in this file.

use std::sync::Arc;

use axum::Router;
#[cfg(feature = "social-login")]
use axum::routing::MethodRouter;

use super::App;
#[cfg(feature = "social-login")]
use super::with_xsrf;
use crate::config::Settings;
use crate::page::SocialButtons;

/// What the app turned on of torn's optional parts.
#[derive(Default)]
pub(super) struct Features {
    #[cfg(feature = "accounts")]
    pub(super) accounts: Option<crate::auth::Accounts>,
    #[cfg(feature = "database")]
    database: Option<crate::db::Db>,
    #[cfg(feature = "mail")]
    mailer: Option<crate::mail::Mailer>,
    #[cfg(feature = "social-login")]
    social: Option<crate::oauth::SocialLogin>,
    #[cfg(feature = "realtime")]
    pub(super) pubsub: crate::realtime::PubSub,
    #[cfg(feature = "jobs")]
    jobs: Option<crate::jobs::Jobs>,
    /// [`Features::prepare`] ran.
    #[cfg(feature = "jobs")]
    prepared: bool,
}

impl Features {
    /// The settings as the features need them: social log-in's "Link …" buttons are forms
    /// whose answer is a redirect to the provider, and browsers check a redirect after a form
    /// against `form-action` too.
    pub(super) fn settings(&self, settings: &Arc<Settings>) -> Arc<Settings> {
        #[cfg(feature = "social-login")]
        if let Some(social) = &self.social {
            let csp = crate::config::providers::allow_form_targets(
                &settings.server.content_security_policy,
                &social.sign_in_origins(),
            );
            if csp != settings.server.content_security_policy {
                let mut changed = (**settings).clone();
                changed.server.content_security_policy = csp;
                return Arc::new(changed);
            }
        }
        settings.clone()
    }

    /// What the health check asks: the app's database, when it has one.
    pub(super) fn health_probe(&self) -> Option<super::health::Probe> {
        #[cfg(feature = "database")]
        {
            let db = self.app_db();
            #[cfg(feature = "jobs")]
            let db = db.or_else(|| self.jobs.as_ref().map(|j| j.db().clone()));
            db.map(|db| super::health::Probe { db })
        }
        #[cfg(not(feature = "database"))]
        None
    }

    /// The metrics' exporter, when the settings turn metrics on: it reports the job queues.
    #[cfg(feature = "metrics")]
    pub(super) fn metrics(
        &self,
        settings: &Settings,
    ) -> Result<Option<super::prometheus::Exporter>, String> {
        super::prometheus::Exporter::new(
            settings,
            #[cfg(feature = "jobs")]
            self.jobs.clone(),
        )
    }

    /// The app's database: the one given to `App::database`, else the accounts' one.
    #[cfg(feature = "database")]
    fn app_db(&self) -> Option<crate::db::Db> {
        #[cfg(feature = "accounts")]
        return self
            .database
            .clone()
            .or_else(|| self.accounts.as_ref().map(|a| a.db().clone()));
        #[cfg(not(feature = "accounts"))]
        self.database.clone()
    }

    /// The "Sign in with …" buttons pages show (none without social log-in).
    pub(super) fn buttons(&self) -> SocialButtons {
        #[cfg(feature = "social-login")]
        if let Some(social) = &self.social {
            return SocialButtons(social.buttons().into());
        }
        SocialButtons::default()
    }

    /// The features' layers around the routes: the database, sessions and accounts, social
    /// log-in, the mailer and pub/sub, each an extension its extractors read. They are stacked
    /// into one layer, applied with one `Router::layer`: axum boxes the service of each
    /// `Router::layer` and clones the boxes inside it for every request, so one layer per
    /// feature made every request allocate and copy the whole chain again and again
    /// (docs/benchmarks.md).
    #[cfg_attr(not(feature = "accounts"), allow(unused_variables))]
    pub(super) fn layers(self, router: Router, settings: &Settings) -> Router {
        use tower::ServiceBuilder;
        #[cfg(feature = "database")]
        let database = self.app_db().map(axum::Extension);
        #[cfg(not(feature = "database"))]
        let database: Option<tower::layer::util::Identity> = None;
        // Outermost first: the session, then the slot for the session's user and the lasting
        // cookie of a remembered session, then the accounts.
        #[cfg(feature = "accounts")]
        let accounts = self.accounts.map(|accounts| {
            ServiceBuilder::new()
                .layer(crate::session::layer(accounts.session_store(), settings))
                .layer(crate::auth::PreloadLayer {
                    remember_me: settings.sessions.remember_me,
                })
                .layer(axum::Extension(accounts))
        });
        #[cfg(not(feature = "accounts"))]
        let accounts: Option<tower::layer::util::Identity> = None;
        #[cfg(feature = "social-login")]
        let social = self.social.map(axum::Extension);
        #[cfg(not(feature = "social-login"))]
        let social: Option<tower::layer::util::Identity> = None;
        #[cfg(feature = "mail")]
        let mailer = self.mailer.map(axum::Extension);
        #[cfg(not(feature = "mail"))]
        let mailer: Option<tower::layer::util::Identity> = None;
        #[cfg(feature = "realtime")]
        let pubsub = Some(axum::Extension(self.pubsub));
        #[cfg(not(feature = "realtime"))]
        let pubsub: Option<tower::layer::util::Identity> = None;
        #[cfg(feature = "jobs")]
        let jobs = self.jobs.map(axum::Extension);
        #[cfg(not(feature = "jobs"))]
        let jobs: Option<tower::layer::util::Identity> = None;
        let stack = ServiceBuilder::new()
            .option_layer(jobs)
            .option_layer(pubsub)
            .option_layer(mailer)
            .option_layer(social)
            .option_layer(accounts)
            .option_layer(database);
        router.layer(stack)
    }

    /// Tie the features together before the app runs (once): with a job queue, `send_later`
    /// stores mail in it, and jobs can reach the app's mailer, accounts and pub/sub.
    pub(super) fn prepare(&mut self) {
        #[cfg(feature = "jobs")]
        if !std::mem::replace(&mut self.prepared, true)
            && let Some(jobs) = self.jobs.clone()
        {
            self.give_to_jobs(&jobs);
        }
    }

    #[cfg(feature = "jobs")]
    #[cfg_attr(
        not(any(feature = "accounts", feature = "realtime", feature = "mail")),
        allow(unused_variables, clippy::unused_self)
    )]
    fn give_to_jobs(&mut self, jobs: &crate::jobs::Jobs) {
        #[cfg(feature = "accounts")]
        if let Some(accounts) = &self.accounts {
            jobs.provide(accounts.clone());
        }
        #[cfg(feature = "realtime")]
        jobs.provide(self.pubsub.clone());
        #[cfg(feature = "mail")]
        if let Some(mailer) = self.mailer.take() {
            // The jobs send with the mailer itself; the app's handlers queue through it.
            jobs.provide(mailer.clone());
            self.mailer = Some(crate::jobs::mail_through(mailer, jobs));
        }
    }

    /// Start the features' background work: the job queues' workers (unless `run_jobs` is
    /// off) and, for a serving app (`cleanup`), the hourly clean-up of expired sessions,
    /// tokens and throttle rows, unless the jobs schedule it.
    #[cfg_attr(
        not(all(feature = "jobs", feature = "accounts")),
        allow(unused_variables)
    )]
    pub(super) fn start_background(&self, settings: &Settings, cleanup: bool) -> Background {
        #[cfg(feature = "jobs")]
        let workers = self
            .jobs
            .as_ref()
            .filter(|_| settings.jobs.run)
            .map(crate::jobs::Workers::start);
        #[cfg(feature = "accounts")]
        if let Some(accounts) = &self.accounts {
            #[cfg(feature = "jobs")]
            let scheduled = self.jobs.as_ref().is_some_and(|jobs| {
                jobs.is_scheduled(<crate::jobs::PurgeExpired as crate::jobs::Job>::NAME)
            });
            #[cfg(not(feature = "jobs"))]
            let scheduled = false;
            if cleanup && !scheduled {
                spawn_cleanup(accounts.clone());
            }
        }
        Background {
            #[cfg(feature = "jobs")]
            workers: workers.map(Arc::new),
        }
    }
}

/// The features' background work in a running app, stopped at shutdown.
pub(crate) struct Background {
    #[cfg(feature = "jobs")]
    workers: Option<Arc<crate::jobs::Workers>>,
}

impl Background {
    /// What stops new background work at the shutdown signal.
    pub(crate) fn stopper(&self) -> impl Fn() + Send + Sync + 'static {
        #[cfg(feature = "jobs")]
        let workers = self.workers.clone();
        move || {
            #[cfg(feature = "jobs")]
            if let Some(workers) = &workers {
                workers.stop_taking();
            }
        }
    }

    /// Let the running work finish within `timeout`, and give back what does not.
    #[cfg_attr(not(feature = "jobs"), allow(unused_variables))]
    pub(crate) async fn finish(self, timeout: std::time::Duration) {
        #[cfg(feature = "jobs")]
        if let Some(workers) = self.workers {
            workers.finish(timeout).await;
        }
    }
}

impl<S> App<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// Mount a WebSocket handler at `path`, named `name` (`reverse_url` gives its URL).
    ///
    /// # Panics
    /// If the name is already taken.
    #[cfg(feature = "realtime")]
    #[must_use]
    pub fn websocket<H: crate::realtime::WebSocketHandler>(
        mut self,
        name: &str,
        path: &str,
    ) -> Self {
        self.add_name(
            name,
            path,
            vec!["GET".to_string()],
            std::any::type_name::<H>().to_string(),
        );
        self.router = self
            .router
            .route(path, axum::routing::get(crate::realtime::upgrade::<H>));
        self
    }

    /// The app's pub/sub topics, for work outside requests (a task that publishes); handlers
    /// take them as the `PubSub` extractor.
    #[cfg(feature = "realtime")]
    #[must_use]
    pub fn pubsub(&self) -> crate::realtime::PubSub {
        self.features.pubsub.clone()
    }

    /// Use these topics (from [`PubSub::connect`](crate::realtime::PubSub::connect), which
    /// follows the `pubsub` setting) instead of in-process ones.
    #[cfg(feature = "realtime")]
    #[must_use]
    pub fn with_pubsub(mut self, pubsub: crate::realtime::PubSub) -> Self {
        self.features.pubsub = pubsub;
        self
    }

    /// Turn on sessions and accounts: the session layer (stored in the accounts' database), and
    /// the `CurrentUser`, `MaybeUser`, `Session` and `Accounts` extractors.
    #[cfg(feature = "accounts")]
    #[must_use]
    pub fn accounts(mut self, accounts: crate::auth::Accounts) -> Self {
        self.features.accounts = Some(accounts);
        self
    }

    /// Offer social log-in: mounts `/auth/{provider}/login`, `/callback`, `/link` and `/unlink`
    /// (named `oauth_login`, `oauth_callback`, `oauth_link`, `oauth_unlink`), and gives pages
    /// their "Sign in with …" buttons (`PageContext::social_buttons`). Needs
    /// [`App::accounts`].
    #[cfg(feature = "social-login")]
    #[must_use]
    pub fn social_login(mut self, social: crate::oauth::SocialLogin) -> Self {
        use crate::oauth;
        use axum::routing::{get, post};
        let routes: [(&str, &str, &str, MethodRouter<S>, &str); 4] = [
            (
                "oauth_login",
                "/auth/{provider}/login",
                "GET",
                get(oauth::login),
                "login",
            ),
            (
                "oauth_callback",
                "/auth/{provider}/callback",
                "GET",
                get(oauth::callback),
                "callback",
            ),
            (
                "oauth_link",
                "/auth/{provider}/link",
                "POST",
                post(oauth::link),
                "link",
            ),
            (
                "oauth_unlink",
                "/auth/{provider}/unlink",
                "POST",
                post(oauth::unlink),
                "unlink",
            ),
        ];
        for (name, path, method, router, function) in routes {
            self.add_name(
                name,
                path,
                vec![method.to_string()],
                format!("torn::oauth::{function}"),
            );
            self.router = self.router.route(path, with_xsrf(router));
        }
        self.features.social = Some(social);
        self
    }

    /// Make the database available to handlers (the `Db` extractor). [`App::accounts`] does
    /// this with the accounts' database when this is not called.
    #[cfg(feature = "database")]
    #[must_use]
    pub fn database(mut self, db: crate::db::Db) -> Self {
        self.features.database = Some(db);
        self
    }

    /// Turn on the job queue: the `Jobs` extractor, the workers (unless `run_jobs` is off),
    /// the schedules, and mail that `send_later` stores in the queue.
    #[cfg(feature = "jobs")]
    #[must_use]
    pub fn jobs(mut self, jobs: crate::jobs::Jobs) -> Self {
        self.features.jobs = Some(jobs);
        self
    }

    /// Make a mailer available to handlers (the `Mailer` extractor).
    #[cfg(feature = "mail")]
    #[must_use]
    pub fn mailer(mut self, mailer: crate::mail::Mailer) -> Self {
        self.features.mailer = Some(mailer);
        self
    }
}

/// Delete expired sessions from the store, and used or expired tokens and forgotten throttle
/// rows from the database, every hour, for as long as the server runs.
#[cfg(feature = "accounts")]
fn spawn_cleanup(accounts: crate::auth::Accounts) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_hours(1));
        loop {
            every_hour.tick().await;
            if let Err(e) = accounts.store().delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
            if let Err(e) = accounts.purge_expired().await {
                tracing::warn!(error = %e, "could not delete expired tokens and throttle rows");
            }
        }
    });
}
