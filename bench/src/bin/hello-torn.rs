//! torn with all its layers on (request log filtered out, security headers, compression,
//! error pages, panic recovery, body limit, XSRF context), a handler type per URL.

use axum::response::Html;
use torn::{App, Settings};

struct Index;

impl Index {
    async fn get() -> Html<&'static str> {
        Html(torn_bench::HELLO)
    }
}

torn::handler!(Index => get);

#[tokio::main]
async fn main() {
    let mut settings = Settings::for_test(std::env::temp_dir());
    settings.server.port = torn_bench::port_arg();
    let app = App::new(settings).handler::<Index>("index", "/");
    app.serve().await.expect("serve");
}
