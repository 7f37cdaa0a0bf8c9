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
    },
    /// Internal: expand the app template (run by `torn new` in a child process).
    #[command(name = "__expand", hide = true)]
    Expand {
        template: PathBuf,
        name: String,
        into: PathBuf,
        db: String,
        torn_path: String,
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
        Command::Expand {
            template,
            name,
            into,
            db,
            torn_path,
        } => match torn_cli::expand(&template, &name, &into, &db, &torn_path) {
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
