//! Starts {{project-name}}: `cargo run` serves it, `cargo run -- routes` lists its routes.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    torn::run({{crate_name}}::app).await
}
