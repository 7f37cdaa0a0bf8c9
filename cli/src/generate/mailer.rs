//! `torn gen mailer NAME`: a mail with text and HTML askama templates
//! (`templates/mail/NAME.txt`, `.html`), the function that builds it in `src/mailers/NAME.rs`,
//! and a test that renders it.

use super::{AppDir, Plan, check_snake_name, template, title};
use crate::CliError;

/// The plan for a mailer.
pub fn plan(app: &AppDir, name: &str) -> Result<Plan, CliError> {
    check_snake_name("mailer", name)?;
    if name == "mod" {
        return Err(CliError::Usage(
            "mailer name \"mod\" is taken by Rust".into(),
        ));
    }
    let mailer = Mailer {
        name: name.to_string(),
        words: title(name).to_lowercase(),
        subject: title(name),
        first: !app.root.join("src/mailers/mod.rs").exists(),
    };
    template::plan("mailer", |file| render(&mailer, file))
}

/// What the templates in `templates/gen/mailer/` see.
struct Mailer {
    /// `order_shipped`: the module, the function and the templates' name.
    name: String,
    /// `order shipped`.
    words: String,
    /// `Order shipped`: the subject.
    subject: String,
    /// Whether this is the app's first mailer (`src/mailers/mod.rs` is made).
    first: bool,
}

template::templates!(Mailer, "mailer" {
    Manifest = "mailer/manifest.toml",
    MailerRs = "mailer/mailer.rs",
    MailTxt = "mailer/mail.txt",
    MailHtml = "mailer/mail.html",
    ModRs = "mailer/mod.rs",
});
