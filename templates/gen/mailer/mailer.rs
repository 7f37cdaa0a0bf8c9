//! The [[ name ]] mail, made by `torn gen mailer [[ name ]]`: text and HTML from
//! `templates/mail/[[ name ]].txt` and `templates/mail/[[ name ]].html`.

use askama::Template;
use torn::mail::Email;

#[derive(Template)]
#[template(path = "mail/[[ name ]].txt")]
struct Text<'a> {
    name: &'a str,
}

#[derive(Template)]
#[template(path = "mail/[[ name ]].html")]
struct Html<'a> {
    name: &'a str,
}

/// The [[ name ]] mail to `to`, greeting `name`. Send it with `mailer.send_later(…).await?`.
pub fn [[ name ]](to: &str, name: &str) -> askama::Result<Email> {
    Ok(Email {
        to: to.to_string(),
        subject: "[[ subject ]]".to_string(),
        text: Text { name }.render()?,
        html: Some(Html { name }.render()?),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_text_and_escaped_html() {
        let mail = super::[[ name ]]("ada@example.com", "Ada <3").unwrap();
        assert_eq!(mail.to, "ada@example.com");
        assert_eq!(mail.subject, "[[ subject ]]");
        assert!(mail.text.contains("Hello Ada <3,"));
        let html = mail.html.unwrap();
        assert!(html.contains("Hello Ada &#60;3,"), "{html}");
    }
}
