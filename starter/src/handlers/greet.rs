//! `/greet`: the home page's form posts here (XSRF-protected, like every form).

use axum::Form;
use axum::response::Redirect;
use serde::Deserialize;
use torn::{Flash, Urls};

/// The longest name accepted.
const MAX_NAME: usize = 100;

/// The form's fields.
#[derive(Debug, Deserialize)]
pub struct GreetForm {
    name: String,
}

/// The greeting handler.
pub struct Greet;

impl Greet {
    /// Say hello with a flash message on the home page.
    pub async fn post(
        urls: Urls,
        flash: Flash,
        Form(form): Form<GreetForm>,
    ) -> torn::Result<Redirect> {
        let name = form.name.trim();
        if name.is_empty() {
            flash.error("Please tell us your name.");
        } else if name.chars().count() > MAX_NAME {
            flash.error(format!(
                "That name is too long ({MAX_NAME} characters at most)."
            ));
        } else {
            flash.success(format!("Hello, {name}! Welcome to torn."));
        }
        Ok(Redirect::to(&urls.url("home")?))
    }
}

torn::handler!(Greet => post);
