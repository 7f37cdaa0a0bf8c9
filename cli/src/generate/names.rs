//! Names as people type them (`BlogPost`, `blog-post`, `blog_post`), checked, and the forms
//! generators write them in: `BlogPost`, `Blog post`.

use crate::CliError;

/// Names: a Rust identifier in snake_case that is not a keyword.
pub fn check_snake_name(kind: &str, name: &str) -> Result<(), CliError> {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
        "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
        "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do",
        "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__");
    if !ok {
        return Err(CliError::Usage(format!(
            "{kind} name {name:?} is not valid: use lowercase letters, digits and single '_', \
             starting with a letter (for example blog_post)"
        )));
    }
    if KEYWORDS.contains(&name) {
        return Err(CliError::Usage(format!(
            "{kind} name {name:?} is a Rust keyword; choose another"
        )));
    }
    Ok(())
}

/// A name as people type it, in snake_case: `BlogPost`, `blog-post` and `blog_post` are all
/// `blog_post`, and `HTTPClient` is `http_client`. Whatever is not a letter, a digit, `-` or
/// `_` is kept, for [`check_snake_name`] to refuse with the name in its message.
pub fn snake_name(input: &str) -> String {
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '-' {
            out.push('_');
        } else if c.is_ascii_uppercase() {
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1);
            // A new word: after a lowercase letter or a digit (`blogPost`, `v2Api`), or the
            // last capital of an acronym before a lowercase letter (`HTTPClient`).
            let starts_word = before.is_some_and(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || (b.is_ascii_uppercase() && after.is_some_and(char::is_ascii_lowercase))
            });
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`snake_name`], checked by [`check_snake_name`]; a refusal quotes the name as it was typed.
pub fn typed_name(kind: &str, typed: &str) -> Result<String, CliError> {
    let snake = snake_name(typed);
    match check_snake_name(kind, &snake) {
        Ok(()) => Ok(snake),
        Err(CliError::Usage(message)) if snake != typed => Err(CliError::Usage(message.replacen(
            &format!("{snake:?}"),
            &format!("{typed:?}"),
            1,
        ))),
        Err(e) => Err(e),
    }
}

/// `blog_post` → `BlogPost`.
pub fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `blog_post` → `Blog post`.
pub fn title(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut c = words.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["about", "blog_post", "v2_api"] {
            assert!(check_snake_name("handler", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "About",
            "2fa",
            "blog-post",
            "blog__post",
            "post_",
            "a b",
            "type",
            "mod",
        ] {
            assert!(check_snake_name("handler", bad).is_err(), "{bad:?}");
        }
        assert_eq!(camel("blog_post"), "BlogPost");
        for (typed, snake) in [
            ("BlogPost", "blog_post"),
            ("blog-post", "blog_post"),
            ("blog_post", "blog_post"),
            ("Post", "post"),
            ("HTTPClient", "http_client"),
            ("V2Api", "v2_api"),
            ("Add-Notes", "add_notes"),
            ("About!", "about!"),
            ("a b", "a b"),
        ] {
            assert_eq!(snake_name(typed), snake, "{typed}");
        }
        assert_eq!(title("blog_post"), "Blog post");
    }
}
