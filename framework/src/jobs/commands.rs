//! `<app> jobs …` (what `torn jobs …` runs through `cargo run`): the queues, the dead jobs,
//! and running dead jobs again, against the database the app's settings name.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::store::{self, now_ms};
use crate::db::Db;
use crate::db::commands::CommandError;

/// What `<app> jobs` was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobsCommand {
    /// Each queue's jobs by state (the default).
    Queues,
    /// The dead jobs, with their last error.
    Dead,
    /// Run one dead job again.
    Retry(i64),
    /// Run every dead job again.
    RetryAll,
}

pub(crate) const USAGE: &str = "usage: <app> jobs [queues | dead | retry ID | retry --all]";

/// Read the command line after `jobs`.
pub(crate) fn parse(args: &[String]) -> Result<JobsCommand, CommandError> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["queues"] => Ok(JobsCommand::Queues),
        ["dead" | "failed"] => Ok(JobsCommand::Dead),
        ["retry", "--all"] => Ok(JobsCommand::RetryAll),
        ["retry", id] => id.parse().map(JobsCommand::Retry).map_err(|_| {
            CommandError::Usage(format!(
                "{id:?} is not a job id (a number, as `<app> jobs dead` lists them); {USAGE}"
            ))
        }),
        ["retry"] => Err(CommandError::Usage(format!(
            "retry needs a job id, or --all; {USAGE}"
        ))),
        _ => Err(CommandError::Usage(format!(
            "unknown jobs command {:?}; {USAGE}",
            args.join(" ")
        ))),
    }
}

/// Do it; the text to print.
pub(crate) async fn run(db: &Db, command: JobsCommand) -> Result<String, CommandError> {
    super::store::check_tables(db)
        .await
        .map_err(CommandError::Failed)?;
    let failed = |e: sqlx::Error| CommandError::Failed(format!("the job queue: {e}"));
    match command {
        JobsCommand::Queues => queues(db).await.map_err(failed),
        JobsCommand::Dead => dead(db).await.map_err(failed),
        JobsCommand::Retry(id) => {
            let n = retry(db, Some(id)).await.map_err(failed)?;
            if n == 0 {
                return Err(CommandError::Failed(format!(
                    "no dead job has id {id} (`<app> jobs dead` lists them)"
                )));
            }
            Ok(format!("job {id} is queued again\n"))
        }
        JobsCommand::RetryAll => {
            let n = retry(db, None).await.map_err(failed)?;
            Ok(match n {
                0 => "no dead jobs\n".to_string(),
                1 => "1 dead job is queued again\n".to_string(),
                n => format!("{n} dead jobs are queued again\n"),
            })
        }
    }
}

async fn queues(db: &Db) -> Result<String, sqlx::Error> {
    let rows = store::queue_counts(db).await?;
    if rows.is_empty() {
        return Ok("no jobs: every queue is empty\n".into());
    }
    let mut out = String::new();
    let width = rows.iter().map(|r| r.queue.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(
        out,
        "{:width$}  {:>7}  {:>7}  {:>7}  {:>7}",
        "queue", "ready", "waiting", "running", "dead"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:width$}  {:>7}  {:>7}  {:>7}  {:>7}",
            row.queue, row.queued, row.waiting, row.running, row.dead
        );
    }
    out.push_str(
        "\nready: due now; waiting: a retry or a delay not yet due; dead: failed for good \
         (`jobs dead` lists them)\n",
    );
    Ok(out)
}

async fn dead(db: &Db) -> Result<String, sqlx::Error> {
    let rows: Vec<(i64, String, String, i64, i64, Option<String>)> = crate::with_db!(db, pool => {
        sqlx::query(
            "SELECT id, kind, queue, attempts, updated_at, last_error FROM torn_jobs \
             WHERE state = 'dead' ORDER BY updated_at DESC, id LIMIT 1000",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok::<_, sqlx::Error>((
                r.try_get("id")?,
                r.try_get("kind")?,
                r.try_get("queue")?,
                r.try_get("attempts")?,
                r.try_get("updated_at")?,
                r.try_get("last_error")?,
            ))
        })
        .collect::<Result<_, _>>()?
    });
    if rows.is_empty() {
        return Ok("no dead jobs\n".into());
    }
    let mut out = String::new();
    for (id, kind, queue, attempts, at, error) in rows {
        let at = DateTime::<Utc>::from_timestamp_millis(at).map_or_else(String::new, |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        });
        let error = error.unwrap_or_default().replace('\n', " ");
        let _ = writeln!(
            out,
            "{id}  {kind} (queue {queue})  {attempts} attempts, dead since {at}\n    {error}"
        );
    }
    out.push_str("\n`jobs retry ID` runs one again, `jobs retry --all` all of them\n");
    Ok(out)
}

/// Make dead jobs ready again, with their attempts counted from zero.
async fn retry(db: &Db, id: Option<i64>) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    crate::with_db!(db, pool => {
        sqlx::query(
            "UPDATE torn_jobs SET state = 'ready', attempts = 0, run_at = $1, updated_at = $1 \
             WHERE state = 'dead' AND ($2 IS NULL OR id = $2)",
        )
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_command_line_is_read_and_mistakes_say_what_is_accepted() {
        assert_eq!(parse(&args("")).unwrap(), JobsCommand::Queues);
        assert_eq!(parse(&args("dead")).unwrap(), JobsCommand::Dead);
        assert_eq!(parse(&args("retry 42")).unwrap(), JobsCommand::Retry(42));
        assert_eq!(parse(&args("retry --all")).unwrap(), JobsCommand::RetryAll);
        for bad in ["retry", "retry x", "purge", "retry 1 2"] {
            let e = parse(&args(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains("usage: <app> jobs"), "{bad}: {e}");
        }
    }
}
