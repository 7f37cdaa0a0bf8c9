//! The app's tables, one module each; `torn gen model` adds them above the `// torn:models` line.

// torn:models
