//! `torn gen job NAME`: a kind of background job in `src/jobs/NAME.rs`, registered with the
//! app's queue in `src/lib.rs` (above `// torn:jobs`), and a test that runs it through the
//! queue.

use std::path::Path;

use super::{AppDir, Plan, camel, check_snake_name, template, title};
use crate::CliError;

/// The mark in `src/lib.rs` (and in `src/jobs/mod.rs`).
const JOBS_MARK: &str = "// torn:jobs";

/// The plan for a job.
pub fn plan(app: &AppDir, name: &str) -> Result<Plan, CliError> {
    check_snake_name("job", name)?;
    let lib = app.read(Path::new("src/lib.rs"))?.unwrap_or_default();
    if !lib.lines().any(|l| l.trim() == JOBS_MARK) {
        return Err(CliError::Usage(if app.has_accounts()? {
            format!(
                "src/lib.rs has no `{JOBS_MARK}` line, which marks where torn gen registers \
                 jobs: put it back below the `let jobs = torn::Jobs::new(…)` statement"
            )
        } else {
            "a job needs the app's job queue, and this app has none (it was made with `torn new \
             --minimal`; the queue comes with accounts, whose mail it sends); run `torn gen auth` \
             first"
                .to_string()
        }));
    }
    let job = Job {
        name: name.to_string(),
        ty: camel(name),
        words: title(name),
        crate_name: app.crate_name.clone(),
        first: !app.root.join("src/jobs/mod.rs").exists(),
    };
    template::plan("job", |file| render(&job, file))
}

/// What the templates in `templates/gen/job/` see.
struct Job {
    /// `send_digest`: the module, and the name stored with each job.
    name: String,
    /// `SendDigest`: the type.
    ty: String,
    /// `Send digest`: what it logs.
    words: String,
    /// The app's crate, for the test's imports.
    crate_name: String,
    /// Whether this is the app's first job (`src/jobs/mod.rs` is made).
    first: bool,
}

template::templates!(Job, "job" {
    Manifest = "job/manifest.toml",
    JobRs = "job/job.rs",
    ModRs = "job/mod.rs",
    TestRs = "job/test.rs",
});
