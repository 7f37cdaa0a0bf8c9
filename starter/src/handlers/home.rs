//! `/`: the home page.

use askama::Template;
use torn::{Page, PageContext};

/// `templates/home.html`.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    ctx: PageContext,
}

/// The home page handler.
pub struct Home;

impl Home {
    /// Render the home page.
    pub async fn get(ctx: PageContext) -> Page<HomePage> {
        Page(HomePage { ctx })
    }
}

torn::handler!(Home => get);
