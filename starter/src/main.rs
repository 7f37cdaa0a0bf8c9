//! Starts starter: `cargo run` serves it, `cargo run -- routes` lists its routes.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    torn::run(starter::app).await
}
