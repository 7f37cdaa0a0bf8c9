//! starter, a torn app.

pub mod handlers;

use torn::{App, Settings};

/// Build the app from its settings: every route, named, in one place.
pub async fn app(settings: Settings) -> torn::Result<App> {
    let app = App::new(settings)
        .error_page(handlers::error_page)
        .handler::<handlers::home::Home>("home", "/")
        .handler::<handlers::greet::Greet>("greet", "/greet");
    Ok(app)
}
