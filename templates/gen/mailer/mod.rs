//! The app's mails, one module each; `torn gen mailer` adds them above the `// torn:mailers` line.

// torn:mailers
