//! `torn gen mailer NAME`: a mail with text and HTML askama templates
//! (`templates/mail/NAME.txt`, `.html`), the function that builds it in `src/mailers/NAME.rs`,
//! and a test that renders it.

use std::path::PathBuf;

use super::{AppDir, Insert, MODULES_MARK, Place, Plan, check_snake_name, title};
use crate::CliError;

/// The mark in `src/mailers/mod.rs`.
pub const MAILERS_MARK: &str = "// torn:mailers";

/// The plan for a mailer.
pub fn plan(app: &AppDir, name: &str) -> Result<Plan, CliError> {
    check_snake_name("mailer", name)?;
    if name == "mod" {
        return Err(CliError::Usage(
            "mailer name \"mod\" is taken by Rust".into(),
        ));
    }
    let mut files = vec![
        (
            PathBuf::from(format!("src/mailers/{name}.rs")),
            crate::format_rust(&mailer_rs(name)),
        ),
        (
            PathBuf::from(format!("templates/mail/{name}.txt")),
            format!(
                "Hello {{{{ name }}}},\n\nThis is the {} mail. Its text is \
                 templates/mail/{name}.txt.\n",
                title(name).to_lowercase()
            ),
        ),
        (
            PathBuf::from(format!("templates/mail/{name}.html")),
            format!(
                "<p>Hello {{{{ name }}}},</p>\n<p>This is the {} mail. Its HTML is \
                 <code>templates/mail/{name}.html</code>.</p>\n",
                title(name).to_lowercase()
            ),
        ),
    ];
    let mailers_mod = PathBuf::from("src/mailers/mod.rs");
    if !app.root.join(&mailers_mod).exists() {
        files.push((
            mailers_mod.clone(),
            format!(
                "//! The app's mails, one module each; `torn gen mailer` adds them above the \
                 `{MAILERS_MARK}` line.\n\n{MAILERS_MARK}\n"
            ),
        ));
    }
    Ok(Plan {
        files,
        inserts: vec![
            Insert {
                path: PathBuf::from("src/lib.rs"),
                mark: MODULES_MARK,
                line: "pub mod mailers;".into(),
                at: Place::Sorted,
            },
            Insert {
                path: mailers_mod,
                mark: MAILERS_MARK,
                line: format!("pub mod {name};"),
                at: Place::Sorted,
            },
        ],
        replaces: Vec::new(),
    })
}

fn mailer_rs(name: &str) -> String {
    let subject = title(name);
    format!(
        r#"//! The {name} mail, made by `torn gen mailer {name}`: text and HTML from
//! `templates/mail/{name}.txt` and `templates/mail/{name}.html`.

use askama::Template;
use torn::mail::Email;

#[derive(Template)]
#[template(path = "mail/{name}.txt")]
struct Text<'a> {{
    name: &'a str,
}}

#[derive(Template)]
#[template(path = "mail/{name}.html")]
struct Html<'a> {{
    name: &'a str,
}}

/// The {name} mail to `to`, greeting `name`. Send it with `mailer.send_later(…)`.
pub fn {name}(to: &str, name: &str) -> askama::Result<Email> {{
    Ok(Email {{
        to: to.to_string(),
        subject: "{subject}".to_string(),
        text: Text {{ name }}.render()?,
        html: Some(Html {{ name }}.render()?),
    }})
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn renders_text_and_escaped_html() {{
        let mail = super::{name}("ada@example.com", "Ada <3").unwrap();
        assert_eq!(mail.to, "ada@example.com");
        assert_eq!(mail.subject, "{subject}");
        assert!(mail.text.contains("Hello Ada <3,"));
        let html = mail.html.unwrap();
        assert!(html.contains("Hello Ada &#60;3,"), "{{html}}");
    }}
}}
"#
    )
}
