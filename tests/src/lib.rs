//! End-to-end tests for torn live in `tests/`: `http.rs` (the framework over real HTTP),
//! `cli.rs` (the `torn` binary), `generated_app.rs` (a fresh app, built and served),
//! `tornado.rs` (cookies and tokens against Tornado itself), `props.rs` (property tests of the
//! decoders). Shared helpers are in `tests/common/mod.rs`.
