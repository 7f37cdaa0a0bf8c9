//! `torn gen handler NAME [--path /url] [--methods get,post,…]`: a handler type in
//! `src/handlers/NAME.rs`, its page `templates/NAME.html` (with GET), the named route, and a
//! test in `tests/NAME.rs`.

use std::path::PathBuf;

use super::{
    AppDir, HANDLERS_MARK, Insert, Place, Plan, ROUTES_MARK, camel, check_snake_name, title,
};
use crate::CliError;

/// The HTTP methods a handler may answer.
pub const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// What `torn gen handler` was asked for.
#[derive(Clone, Debug)]
pub struct HandlerOptions {
    /// Module, route and template name (snake_case).
    pub name: String,
    /// URL path (default `/` + the name with `-` for `_`).
    pub path: Option<String>,
    /// Methods, lower-case (default `get`).
    pub methods: Vec<String>,
}

/// The plan for a handler.
pub fn plan(app: &AppDir, opts: &HandlerOptions) -> Result<Plan, CliError> {
    let name = opts.name.as_str();
    check_snake_name("handler", name)?;
    let path = match &opts.path {
        Some(p) => p.clone(),
        None => format!("/{}", name.replace('_', "-")),
    };
    check_path(&path)?;
    let mut methods: Vec<&str> = Vec::new();
    for m in &opts.methods {
        let m = m.trim().to_ascii_lowercase();
        let Some(known) = METHODS.iter().find(|k| **k == m) else {
            return Err(CliError::Usage(format!(
                "unknown method {m:?}; use some of {}",
                METHODS.join(", ")
            )));
        };
        if !methods.contains(known) {
            methods.push(known);
        }
    }
    if methods.is_empty() {
        methods.push("get");
    }
    methods.sort_by_key(|m| METHODS.iter().position(|k| k == m));
    super::check_routes_free(app, &[name.to_string()], &[route_line(name, &path)])?;
    let get = methods.contains(&"get");
    let mut files = vec![(
        PathBuf::from(format!("src/handlers/{name}.rs")),
        crate::format_rust(&handler_rs(name, &path, &methods)),
    )];
    if get {
        files.push((
            PathBuf::from(format!("templates/{name}.html")),
            page_html(name, methods.contains(&"post")),
        ));
    }
    files.push((
        PathBuf::from(format!("tests/{name}.rs")),
        crate::format_rust(&test_rs(&app.crate_name, name, &path, &methods)),
    ));
    Ok(Plan {
        files,
        inserts: vec![
            Insert {
                path: PathBuf::from("src/handlers/mod.rs"),
                mark: HANDLERS_MARK,
                line: format!("pub mod {name};"),
                at: Place::Sorted,
            },
            Insert {
                path: PathBuf::from("src/lib.rs"),
                mark: ROUTES_MARK,
                line: route_line(name, &path),
                at: Place::Above,
            },
        ],
        replaces: Vec::new(),
    })
}

fn route_line(name: &str, path: &str) -> String {
    super::format_statement(&format!(
        "let app = app.handler::<handlers::{name}::{}>(\"{name}\", \"{path}\");",
        camel(name)
    ))
}

/// A path of literal segments: `/about`, `/blog/archive`.
pub fn check_path(path: &str) -> Result<(), CliError> {
    let ok = path.starts_with('/')
        && path.len() > 1
        && !path.ends_with('/')
        && path[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "path {path:?} is not valid: use a path such as /about or /blog/archive (lowercase \
             letters, digits, '-' and '_', no trailing '/')"
        )))
    }
}

fn handler_rs(name: &str, path: &str, methods: &[&str]) -> String {
    let ty = camel(name);
    let get = methods.contains(&"get");
    let post = methods.contains(&"post");
    let others: Vec<&str> = methods
        .iter()
        .copied()
        .filter(|m| !matches!(*m, "get" | "post"))
        .collect();
    let mut uses = Vec::new();
    if get {
        uses.push("use askama::Template;".to_string());
    }
    if !others.is_empty() {
        uses.push("use axum::http::StatusCode;".to_string());
    }
    if post {
        uses.push("use axum::response::{IntoResponse, Redirect, Response};".to_string());
    }
    let mut torn_uses = Vec::new();
    if post {
        torn_uses.push("Flash");
    }
    if get {
        torn_uses.push("Page");
    }
    if get || post {
        torn_uses.push("PageContext");
    }
    match torn_uses.len() {
        0 => {}
        1 => uses.push(format!("use torn::{};", torn_uses[0])),
        _ => uses.push(format!("use torn::{{{}}};", torn_uses.join(", "))),
    }
    let mut out = format!(
        "//! `{path}`, made by `torn gen handler {name}`.\n\n{}\n\n",
        uses.join("\n")
    );
    if get {
        out.push_str(&format!(
            "/// `templates/{name}.html`.\n#[derive(Template)]\n#[template(path = \"{name}.html\")]\n\
             pub struct {ty}Page {{\n    ctx: PageContext,\n}}\n\n"
        ));
    }
    out.push_str(&format!(
        "/// `{path}`.\npub struct {ty};\n\nimpl {ty} {{\n"
    ));
    let mut bodies = Vec::new();
    if get {
        bodies.push(format!(
            "    /// Show the page.\n    pub async fn get(ctx: PageContext) -> Page<{ty}Page> {{\n        \
             Page({ty}Page {{ ctx }})\n    }}\n"
        ));
    }
    if post {
        bodies.push(format!(
            "    /// The form was sent (its XSRF token checked by torn): say so, and show the page \
             again.\n    pub async fn post(ctx: PageContext, flash: Flash) -> torn::Result<Response> \
             {{\n        flash.success(\"Received.\");\n        \
             Ok(Redirect::to(&ctx.url(\"{name}\")?).into_response())\n    }}\n"
        ));
    }
    for m in &others {
        bodies.push(format!(
            "    /// `{}` (from scripts, with the `X-XSRFToken` header).\n    pub async fn {m}() -> \
             StatusCode {{\n        StatusCode::NO_CONTENT\n    }}\n",
            m.to_ascii_uppercase()
        ));
    }
    out.push_str(&bodies.join("\n"));
    out.push_str(&format!(
        "}}\n\ntorn::handler!({ty} => {});\n",
        methods.join(", ")
    ));
    out
}

fn page_html(name: &str, form: bool) -> String {
    let heading = title(name);
    let mut out = format!(
        "{{% extends \"base.html\" %}}\n\n{{% block title %}}{heading}{{% endblock %}}\n\n\
         {{% block content %}}\n<h1>{heading}</h1>\n<p>This page is <code>templates/{name}.html</code>; \
         its handler is <code>src/handlers/{name}.rs</code>.</p>\n"
    );
    if form {
        out.push_str(&format!(
            "<form class=\"card\" method=\"post\" action=\"{{{{ ctx.url(\"{name}\")? }}}}\">\n  \
             {{{{ ctx.xsrf_form_html()|safe }}}}\n  <button type=\"submit\">Send</button>\n</form>\n"
        ));
    }
    out.push_str("{% endblock %}\n");
    out
}

fn test_rs(crate_name: &str, name: &str, path: &str, methods: &[&str]) -> String {
    let heading = title(name);
    let mut out = format!(
        "//! `{path}` over HTTP, made by `torn gen handler {name}`.\n\nuse torn::Settings;\n\
         use torn::test::TestServer;\n\nasync fn server() -> TestServer {{\n    \
         let mut settings = Settings::for_test(env!(\"CARGO_MANIFEST_DIR\"));\n    \
         settings.root = std::env::temp_dir().join(\"{crate_name}-tests\");\n    \
         let app = {crate_name}::app(settings).await.expect(\"the app builds\");\n    \
         TestServer::start(app).await\n}}\n"
    );
    if methods.contains(&"get") {
        out.push_str(&format!(
            "\n#[tokio::test]\nasync fn {name}_page_renders() {{\n    let server = server().await;\n    \
             let page = server.get(\"{path}\").await;\n    assert_eq!(page.status, 200);\n    \
             assert!(page.text.contains(\"<h1>{heading}</h1>\"));\n}}\n"
        ));
    } else {
        out.push_str(&format!(
            "\n#[tokio::test]\nasync fn {name}_answers_only_its_methods() {{\n    let server = \
             server().await;\n    let r = server.get(\"{path}\").await;\n    \
             assert_eq!(r.status, 405);\n}}\n"
        ));
    }
    for m in methods.iter().filter(|m| !matches!(**m, "get" | "post")) {
        out.push_str(&format!(
            "\n#[tokio::test]\nasync fn {name}_{m}_needs_the_xsrf_header() {{\n    \
             let server = server().await;\n    \
             // Any page with a form gives the browser its XSRF cookie and a token.\n    \
             let token = server.get(\"/\").await.form_field(\"_xsrf\").expect(\"a token\");\n    \
             let url = server.url(\"{path}\");\n    \
             let forged = server.send(server.client().{m}(&url)).await;\n    \
             assert_eq!(forged.status, 403);\n    \
             let sent = server\n        .send(server.client().{m}(&url).header(\"X-XSRFToken\", &token))\n        .await;\n    \
             assert_eq!(sent.status, 204);\n}}\n"
        ));
    }
    if methods.contains(&"post") {
        out.push_str(&format!(
            "\n#[tokio::test]\nasync fn {name}_form_needs_its_xsrf_token() {{\n    let server = \
             server().await;\n    let page = server.get(\"{path}\").await;\n    \
             let token = page.form_field(\"_xsrf\").expect(\"the form has an _xsrf field\");\n    \
             let forged = server.post_form(\"{path}\", &[]).await;\n    \
             assert_eq!(forged.status, 403);\n    \
             let sent = server.post_form(\"{path}\", &[(\"_xsrf\", &token)]).await;\n    \
             assert_eq!(sent.status, 303);\n    \
             assert_eq!(sent.header(\"location\"), Some(\"{path}\"));\n    \
             assert!(server.get(\"{path}\").await.text.contains(\"Received.\"));\n}}\n"
        ));
    }
    out
}
