//! The command line of every torn app: `serve` (the default), `routes`, `db …`, `jobs …` and
//! `accounts …`.

use std::future::Future;
use std::process::ExitCode;

use super::App;
use crate::config::Settings;
use crate::error::Error;
use crate::routing::Urls;

/// The entry point of a torn app's `main`: load settings, set up logging, build the app (an
/// async function, so it can connect to its database) and answer the command line (`serve`, the
/// default, or `routes`). Problems are printed as plain messages with a non-zero exit code.
pub async fn run<S, F, Fut>(build: F) -> ExitCode
where
    S: Clone + Send + Sync + 'static,
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = Result<App<S>, Error>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map_or("serve", String::as_str);
    if matches!(command, "-h" | "--help" | "help") {
        println!(
            "usage: <app> [serve | routes | db COMMAND | jobs COMMAND | accounts COMMAND]\n\n  \
             serve     run the server (default)\n  routes    list the routes\n  db        migrate \
             | rollback [--steps N] | status | reset: the app's migrations against its database\n  \
             jobs      queues | dead | retry ID | retry --all: the job queues in its database\n  \
             accounts  show EMAIL | two-factor-off EMAIL: an account, and turning its two-factor \
             log-in off for an owner who lost it"
        );
        return ExitCode::SUCCESS;
    }
    // The database commands need the settings only (not a cookie secret, not the app).
    if command == "db" {
        return database(&args[1..]).await;
    }
    if command == "jobs" {
        return jobs(&args[1..]).await;
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_log(&settings);
    if command == "accounts" {
        return accounts(settings, &args[1..]).await;
    }
    if !matches!(command, "serve" | "routes") || args.len() > 1 {
        eprintln!(
            "error: unknown command {:?}; the app answers `serve` (the default), `routes`, `db`, \
             `jobs` and `accounts`",
            args.join(" ")
        );
        return ExitCode::from(2);
    }
    let app = match build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: the app could not be built: {e}");
            return ExitCode::FAILURE;
        }
    };
    if command == "routes" {
        print!("{}", routes_table(&app.urls()));
        return ExitCode::SUCCESS;
    }
    match app.serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `<app> db …`: print what the command did, or why it did not.
#[cfg(feature = "database")]
async fn database(args: &[String]) -> ExitCode {
    use crate::db::commands;
    let done = async {
        let command = commands::parse(args)?;
        let root = Settings::root().map_err(|e| commands::CommandError::Usage(e.to_string()))?;
        commands::run(&root, command, &|key| std::env::var(key).ok()).await
    };
    report(done.await)
}

/// Print what a database or jobs command did, or why it did not, with its exit code.
#[cfg(feature = "database")]
fn report(done: Result<String, crate::db::commands::CommandError>) -> ExitCode {
    match done {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `<app> jobs …`: the job queues in the app's database.
#[cfg(feature = "jobs")]
async fn jobs(args: &[String]) -> ExitCode {
    use crate::db::commands::CommandError;
    use crate::jobs::commands;
    let done = async {
        let command = commands::parse(args)?;
        let root = Settings::root().map_err(|e| CommandError::Usage(e.to_string()))?;
        let db = crate::db::commands::connect(&root, &|key| std::env::var(key).ok()).await?;
        commands::run(&db, command).await
    };
    report(done.await)
}

/// `<app> jobs …` in an app whose torn has no job queue.
#[cfg(not(feature = "jobs"))]
async fn jobs(_args: &[String]) -> ExitCode {
    eprintln!(
        "error: this app's torn is built without jobs: add \"jobs\" to the features of torn in \
         the app's Cargo.toml"
    );
    ExitCode::from(2)
}

/// `<app> accounts …`: an account of the app's database, for an operator.
#[cfg(feature = "accounts")]
async fn accounts(settings: Settings, args: &[String]) -> ExitCode {
    use crate::auth::commands;
    use crate::db::commands::CommandError;
    let done = async {
        let command = commands::parse(args)?;
        let root = settings.root.clone();
        let db = crate::db::commands::connect(&root, &|key| std::env::var(key).ok()).await?;
        let accounts = crate::auth::Accounts::new(db, settings)
            .await
            .map_err(|e| CommandError::Failed(format!("the accounts: {e}")))?;
        commands::run(&accounts, command).await
    };
    report(done.await)
}

/// `<app> accounts …` in an app whose torn has no accounts.
#[cfg(not(feature = "accounts"))]
async fn accounts(_settings: Settings, _args: &[String]) -> ExitCode {
    eprintln!("error: this app's torn is built without accounts: `torn gen auth` adds them");
    ExitCode::from(2)
}

/// `<app> db …` in an app whose torn has no database.
#[cfg(not(feature = "database"))]
async fn database(_args: &[String]) -> ExitCode {
    eprintln!(
        "error: this app's torn is built without a database: add \"sqlite\" or \"postgres\" to \
         the features of torn in the app's Cargo.toml"
    );
    ExitCode::from(2)
}

/// The log: text for people, or one JSON object per line (`log_format`), filtered by `log`.
fn init_log(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::new(&settings.server.log);
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match settings.server.log_format {
        crate::config::LogFormat::Text => builder.with_ansi(log_colours()).try_init(),
        // The event's fields at the top; the request's span, whose fields say which request,
        // as `span`.
        crate::config::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Colour the log on a terminal; `NO_COLOR` turns colours off, `CLICOLOR_FORCE=1` on (as
/// `torn run` sets when it passes the log on to a terminal).
fn log_colours() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || std::io::IsTerminal::is_terminal(&std::io::stdout())
}

/// The routes as an aligned text table (method, path, name, handler).
pub fn routes_table(urls: &Urls) -> String {
    let rows: Vec<[String; 4]> = urls
        .all()
        .iter()
        .map(|r| {
            [
                if r.methods.is_empty() {
                    "*".to_string()
                } else {
                    r.methods.join(",")
                },
                r.path.clone(),
                r.name.clone(),
                r.handler.clone(),
            ]
        })
        .collect();
    let header = ["METHODS", "PATH", "NAME", "HANDLER"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
