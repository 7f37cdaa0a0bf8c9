//! Bare axum: the baseline.

use axum::{Router, response::Html, routing::get};

#[tokio::main]
async fn main() {
    let app = Router::new().route("/", get(|| async { Html(torn_bench::HELLO) }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", torn_bench::port_arg()))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
