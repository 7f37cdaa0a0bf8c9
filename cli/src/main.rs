//! The `torn` command. Argument parsing only: the work is in the library (`torn_cli`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use torn_cli::{Db, NewOptions};

/// torn: create and grow secure full-stack Rust web apps.
#[derive(Debug, Parser)]
#[command(name = "torn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new app in a new folder (no build; well under a second).
    New {
        /// The app's name: lowercase letters, digits, '-' or '_', starting with a letter.
        name: String,
        /// The folder to create (default: ./NAME). It must not exist, or be empty.
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
        /// The development database.
        #[arg(long, value_enum, default_value_t = DbArg::Sqlite)]
        db: DbArg,
        /// Depend on a local torn checkout (its root or framework/ folder) instead of the
        /// published crate. The default when this torn was built from a checkout.
        #[arg(long, value_name = "DIR")]
        torn_path: Option<PathBuf>,
        /// Do not make a git repository.
        #[arg(long)]
        no_git: bool,
        /// Home page only, without accounts; `torn gen auth` adds them later.
        #[arg(long)]
        minimal: bool,
    },
    /// Add code to the app in this folder (or above): handlers, migrations, …
    Gen {
        #[command(subcommand)]
        what: Gen,
        /// Overwrite files that exist and differ.
        #[arg(long, global = true)]
        force: bool,
        /// Print what would be written, and write nothing.
        #[arg(long, global = true)]
        dry_run: bool,
    },
    /// Undo a generator: remove the files it wrote that are still as it wrote them and the
    /// lines it added; keep and list anything changed since (exit code 1).
    Destroy {
        #[command(subcommand)]
        what: torn_cli::generate::destroy::What,
        /// Print what would be removed, and change nothing.
        #[arg(long, global = true)]
        dry_run: bool,
    },
    /// The dev server: build and serve the app in this folder (or above), rebuild on save,
    /// keep the port answering while it rebuilds, reload the browser.
    Run(torn_cli::RunOptions),
    /// List the app's routes: method, path, name and handler (asks the app itself).
    Routes,
    /// The app's database: migrations applied, pending, undone.
    Db {
        #[command(subcommand)]
        what: DbArgs,
    },
    /// The app's job queues: jobs ready, waiting, running and dead; run dead jobs again (asks
    /// the app itself).
    Jobs {
        #[command(subcommand)]
        what: Option<JobsArgs>,
    },
    /// Internal: expand the app template (run by `torn new` in a child process).
    #[command(name = "__expand", hide = true)]
    Expand {
        template: PathBuf,
        name: String,
        into: PathBuf,
        db: String,
        torn_path: String,
        /// `true` or `false`.
        minimal: String,
    },
}

#[derive(Debug, Subcommand)]
enum Gen {
    /// A handler: src/handlers/NAME.rs, templates/NAME.html, a named route, tests/NAME.rs.
    Handler {
        /// Module, route and template name (blog_post; BlogPost and blog-post mean the same).
        name: String,
        /// The URL path (default: /NAME, with '-' for '_').
        #[arg(long, value_name = "/URL")]
        path: Option<String>,
        /// The methods it answers, comma-separated: get, post, put, patch, delete.
        #[arg(long, value_delimiter = ',', default_value = "get")]
        methods: Vec<String>,
    },
    /// A model with pages to list, show, make, change and delete its rows, and their tests.
    Scaffold {
        /// The model's name, singular (post, blog_post, BlogPost); the pages are at /<plural>.
        name: String,
        /// Fields, as for `torn gen model`.
        #[arg(required = true, value_name = "FIELD:TYPE")]
        fields: Vec<String>,
        /// Every page needs a log-in; each person sees and changes only their own rows.
        #[arg(long)]
        auth: bool,
        /// A JSON API under /api/<plural> instead of pages: JSON in and out, 422 with a message
        /// per field; with --auth, API tokens' read and write scopes too.
        #[arg(long)]
        api: bool,
    },
    /// A live channel at /NAME: a WebSocket and server-sent events on the pub/sub topic NAME,
    /// its page and script (reconnecting with backoff), the routes, and a test.
    Channel {
        /// The channel's name (room, live_feed, LiveFeed); its page is at /NAME.
        name: String,
    },
    /// A table and its model: a migration, src/models/NAME.rs with its queries, a test.
    Model {
        /// The model's name, singular (post, blog_post, BlogPost); the table is its plural.
        name: String,
        /// Fields, name:type: string, text, int, bigint, float, bool, date, datetime, uuid,
        /// references:MODEL; `?` after the type for nullable (body:text?).
        #[arg(required = true, value_name = "FIELD:TYPE")]
        fields: Vec<String>,
    },
    /// A mail: templates/mail/NAME.txt and .html, src/mailers/NAME.rs with a test.
    Mailer {
        /// The mail's name (welcome, order_shipped, OrderShipped).
        name: String,
    },
    /// A background job: src/jobs/NAME.rs, registered with the app's queue, and a test.
    Job {
        /// The job's name (send_digest, SendDigest).
        name: String,
    },
    /// "Log in with PROVIDER": its table in torn.toml (where to register, what to set) and a
    /// test of its button.
    Oauth {
        /// google, github, facebook, x, microsoft, or any name with --issuer.
        provider: String,
        /// The OpenID Connect issuer URL, for a provider torn does not know by name.
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        /// The name on the button (default: the provider's).
        #[arg(long)]
        label: Option<String>,
    },
    /// Accounts, for an app made with `torn new --minimal`: sign-up, log-in, log-out, email
    /// verification, password reset, the account page, social log-in; their migrations, mail
    /// templates and tests.
    Auth,
    /// A reversible migration: migrations/<time>_NAME.up.sql and .down.sql.
    Migration {
        /// What it does, in snake_case (add_tags_to_posts).
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum DbArgs {
    /// Apply every pending migration.
    Migrate,
    /// Undo the latest applied migration(s) (with .down.sql files).
    Rollback {
        /// How many.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List the migrations: applied, pending or changed.
    Status,
    /// Empty the database and apply every migration (refused with TORN_ENV=prod).
    Reset,
}

#[derive(Debug, Subcommand)]
enum JobsArgs {
    /// Each queue's jobs: ready, waiting (a retry or a delay), running, dead (the default).
    Queues,
    /// The dead jobs (failed for good), with their last error.
    Dead,
    /// Run a dead job again (its attempts start over), or all of them with --all.
    Retry {
        /// The job's id, as `torn jobs dead` lists it.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every dead job.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DbArg {
    Sqlite,
    Postgres,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ensure_author_variable();
    match cli.command {
        Command::Gen {
            what,
            force,
            dry_run,
        } => finish(run_generator(what, force, dry_run)),
        Command::Destroy { what, dry_run } => finish(
            current_app().and_then(|app| torn_cli::generate::destroy::run(&app, what, dry_run)),
        ),
        Command::Routes => finish(routes()),
        Command::Run(opts) => dev_server(&opts),
        Command::Db { what } => finish(database(what)),
        Command::Jobs { what } => finish(jobs(what)),
        Command::Expand {
            template,
            name,
            into,
            db,
            torn_path,
            minimal,
        } => match torn_cli::expand(&template, &name, &into, &db, &torn_path, minimal == "true") {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::New {
            name,
            path,
            db,
            torn_path,
            no_git,
            minimal,
        } => {
            let opts = NewOptions {
                name,
                path,
                db: match db {
                    DbArg::Sqlite => Db::Sqlite,
                    DbArg::Postgres => Db::Postgres,
                },
                torn_path,
                no_git,
                minimal,
            };
            match torn_cli::new_app(&opts) {
                Ok(report) => {
                    println!("{}", torn_cli::next_steps(&opts, &report));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
    }
}

/// `torn run`.
#[cfg(unix)]
fn dev_server(opts: &torn_cli::RunOptions) -> ExitCode {
    finish(current_app().and_then(|app| torn_cli::run::run(&app, opts)))
}

#[cfg(not(unix))]
fn dev_server(_opts: &torn_cli::RunOptions) -> ExitCode {
    finish(Err(torn_cli::CliError::Usage(
        "torn run needs Linux or macOS (it hands its socket to the app as a Unix file \
         descriptor); use cargo run"
            .into(),
    )))
}

fn finish(result: Result<(), torn_cli::CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(torn_cli::CliError::Reported(code)) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn current_app() -> Result<torn_cli::generate::AppDir, torn_cli::CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| torn_cli::CliError::caused("cannot read the current folder", e))?;
    torn_cli::generate::AppDir::find(&cwd)
}

fn run_generator(what: Gen, force: bool, dry_run: bool) -> Result<(), torn_cli::CliError> {
    use torn_cli::generate as g;
    let app = current_app()?;
    // Names as people type them: `BlogPost`, `blog-post` and `blog_post` are one name, and
    // the report says what a name that was not snake_case became.
    let typed = match &what {
        Gen::Handler { name, .. }
        | Gen::Scaffold { name, .. }
        | Gen::Model { name, .. }
        | Gen::Mailer { name }
        | Gen::Channel { name }
        | Gen::Job { name }
        | Gen::Migration { name } => Some(name.clone()),
        Gen::Oauth { .. } | Gen::Auth => None,
    };
    let has_table = matches!(what, Gen::Scaffold { .. } | Gen::Model { .. });
    let (plan, next) = match what {
        Gen::Handler {
            name,
            path,
            methods,
        } => {
            let opts = g::handler::HandlerOptions {
                name: g::typed_name("handler", &name)?,
                path,
                methods,
            };
            (
                g::handler::plan(&app, &opts)?,
                "Run `cargo test` to run its test, `torn routes` to see the route.",
            )
        }
        Gen::Scaffold {
            name,
            fields,
            auth,
            api,
        } => (
            g::scaffold::plan(
                &app,
                &g::typed_name("model", &name)?,
                &fields,
                g::scaffold::Kind { auth, api },
                unix_now(),
            )?,
            if api {
                "Run `cargo test` to run its tests, and `torn routes` to see the API's routes."
            } else {
                "Run `cargo test` to run its tests, and `cargo run` to see the pages."
            },
        ),
        Gen::Model { name, fields } => (
            g::model::plan(&app, &g::typed_name("model", &name)?, &fields, unix_now())?,
            "Run `cargo test` to run its test; `torn db migrate` makes the table.",
        ),
        Gen::Oauth {
            provider,
            issuer,
            label,
        } => (
            g::oauth::plan(&app, &provider, issuer.as_deref(), label.as_deref())?,
            "Register the app with the provider (see torn.toml), set the two variables, and run \
             `cargo test`.",
        ),
        Gen::Channel { name } => (
            g::channel::plan(&app, &g::typed_name("channel", &name)?)?,
            "Run `cargo test` to run its test, and `cargo run` to open the page in two browsers.",
        ),
        Gen::Mailer { name } => (
            g::mailer::plan(&app, &g::typed_name("mailer", &name)?)?,
            "Run `cargo test` to render it; send it with `mailer.send_later(…).await?`.",
        ),
        Gen::Job { name } => (
            g::job::plan(&app, &g::typed_name("job", &name)?)?,
            "Run `cargo test` to run its test; enqueue it from a handler with the `Jobs` \
             extractor, `jobs.enqueue(&…).await?`.",
        ),
        Gen::Auth => (
            g::auth::plan(&app, unix_now())?,
            "Run `cargo test` to run the accounts' tests, and `cargo run` to sign up.",
        ),
        Gen::Migration { name } => {
            let name = g::typed_name("migration", &name)?;
            let (up, down) = g::migration::blank(&name)?;
            (
                g::migration::plan(&app, &name, unix_now(), &up, &down)?,
                "Write the SQL, then `torn db migrate` (the app also runs it at start-up).",
            )
        }
    };
    let outcome = g::apply(&app, &plan, force, dry_run)?;
    if let Some(typed) = typed {
        let snake = g::snake_name(&typed);
        if snake != typed {
            let table = if has_table {
                format!(", table {}", g::field::table_name(&snake))
            } else {
                String::new()
            };
            println!(
                "  {typed} is {snake}: type {}, module {snake}{table}",
                g::camel(&snake)
            );
        }
    }
    print!("{}", outcome.report());
    if !dry_run && !outcome.created.is_empty() {
        println!("{next}");
    }
    Ok(())
}

/// `torn db …`: the app's own binary answers (`cargo run -- db …`), so the migrations run
/// with the torn the app depends on, and this command links no database code.
fn database(what: DbArgs) -> Result<(), torn_cli::CliError> {
    let app = current_app()?;
    let steps;
    let words: Vec<&str> = match what {
        DbArgs::Migrate => vec!["migrate"],
        DbArgs::Rollback { steps: n } => {
            steps = n.to_string();
            vec!["rollback", "--steps", &steps]
        }
        DbArgs::Status => vec!["status"],
        DbArgs::Reset => vec!["reset"],
    };
    ask_the_app(&app, "db", &words, "database")
}

/// Run `cargo run -- COMMAND WORDS…` in the app's folder: the app's own binary answers, and
/// says why when it cannot (its exit code, 1 or 2, is torn's).
fn ask_the_app(
    app: &torn_cli::generate::AppDir,
    command: &str,
    words: &[&str],
    what: &str,
) -> Result<(), torn_cli::CliError> {
    let mut cargo = std::process::Command::new("cargo");
    torn_cli::clean_cargo(&mut cargo)
        .args(["run", "--quiet", "--", command])
        .args(words)
        .current_dir(&app.root);
    let status = cargo
        .status()
        .map_err(|e| torn_cli::CliError::caused("cannot run cargo", e))?;
    match status.code() {
        Some(0) => Ok(()),
        // The app said why (1: the work failed, 2: bad input).
        Some(code @ (1 | 2)) => Err(torn_cli::CliError::Reported(code as u8)),
        _ => Err(torn_cli::CliError::Failed(format!(
            "the app did not build, so its {what} commands could not run (see above)"
        ))),
    }
}

/// `torn jobs …`: the app's own binary answers (`cargo run -- jobs …`), against the database
/// its settings name.
fn jobs(what: Option<JobsArgs>) -> Result<(), torn_cli::CliError> {
    let app = current_app()?;
    let id;
    let words: Vec<&str> = match what {
        None | Some(JobsArgs::Queues) => vec!["queues"],
        Some(JobsArgs::Dead) => vec!["dead"],
        Some(JobsArgs::Retry { all: true, .. }) => vec!["retry", "--all"],
        Some(JobsArgs::Retry { id: n, .. }) => {
            id = n.unwrap_or_default().to_string();
            vec!["retry", &id]
        }
    };
    ask_the_app(&app, "jobs", &words, "job")
}

fn routes() -> Result<(), torn_cli::CliError> {
    let app = current_app()?;
    let mut command = std::process::Command::new("cargo");
    torn_cli::clean_cargo(&mut command)
        .args(["run", "--quiet", "--", "routes"])
        .current_dir(&app.root);
    let status = command
        .status()
        .map_err(|e| torn_cli::CliError::caused("cannot run cargo", e))?;
    if status.success() {
        Ok(())
    } else {
        Err(torn_cli::CliError::Failed(
            "the app did not build or could not list its routes (see above)".into(),
        ))
    }
}

/// cargo-generate refuses to run without a user name in the environment (for its `authors`
/// value, which torn's template does not use). Give it one when the environment has none.
#[allow(unsafe_code)]
fn ensure_author_variable() {
    let known = [
        "CARGO_NAME",
        "GIT_AUTHOR_NAME",
        "GIT_COMMITTER_NAME",
        "USER",
        "USERNAME",
        "NAME",
    ];
    if known.iter().all(|v| std::env::var_os(v).is_none()) {
        // SAFETY: called at the start of `main`, before any other thread exists.
        unsafe { std::env::set_var("CARGO_NAME", "torn") };
    }
}
