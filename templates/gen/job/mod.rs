//! The app's kinds of background job, one module each; `torn gen job` adds them above the
//! `// torn:jobs` line (and registers each in `src/lib.rs`).

// torn:jobs
