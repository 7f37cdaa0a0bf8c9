//! `torn gen handler NAME [--path /url] [--methods get,post,…]`: a handler type in
//! `src/handlers/NAME.rs`, its page `templates/NAME.html` (with GET), the named route, and a
//! test in `tests/NAME.rs`.

use super::{AppDir, Plan, camel, check_snake_name, template, title};
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
    plan_for(app, opts, false)
}

/// The options a handler was generated with, read back from its file (`//! \`/path\`, made
/// by …` and `torn::handler!(Type => get, post);`) or, without it, from its route.
pub fn recorded(app: &AppDir, name: &str) -> Result<HandlerOptions, CliError> {
    let file = app.read(std::path::Path::new(&format!("src/handlers/{name}.rs")))?;
    let lib = app
        .read(std::path::Path::new("src/lib.rs"))?
        .unwrap_or_default();
    let from_route = lib
        .split(&format!("(\"{name}\","))
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .map(str::to_string);
    let Some(file) = file else {
        return match from_route {
            Some(path) => Ok(HandlerOptions {
                name: name.to_string(),
                path: Some(path),
                methods: vec!["get".into()],
            }),
            None => Err(super::destroy::not_generated(
                &format!("handler {name}"),
                &format!("src/handlers/{name}.rs"),
            )),
        };
    };
    let path = file
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("//! `"))
        .and_then(|l| l.split('`').next())
        .map(str::to_string)
        .or(from_route);
    let methods = file
        .lines()
        .find_map(|l| l.strip_prefix("torn::handler!("))
        .and_then(|l| l.split_once("=>"))
        .map(|(_, m)| {
            m.trim_end_matches([')', ';'])
                .split(',')
                .map(|m| m.trim().to_string())
                .collect()
        })
        .unwrap_or_else(|| vec!["get".into()]);
    Ok(HandlerOptions {
        name: name.to_string(),
        path,
        methods,
    })
}

/// The plan for a handler; `destroying` for `torn destroy`, which finds its routes in place.
pub fn plan_for(app: &AppDir, opts: &HandlerOptions, destroying: bool) -> Result<Plan, CliError> {
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
    let route = route_line(name, &path);
    if !destroying {
        super::check_routes_free(app, &[name.to_string()], std::slice::from_ref(&route))?;
    }
    let get = methods.contains(&"get");
    let post = methods.contains(&"post");
    let mut torn_uses = Vec::new();
    if post {
        torn_uses.push("Flash");
    }
    if get {
        torn_uses.push("Page");
    }
    torn_uses.push("PageContext");
    let handler = Handler {
        name: name.to_string(),
        ty: camel(name),
        heading: title(name),
        crate_name: app.crate_name.clone(),
        others: methods
            .iter()
            .copied()
            .filter(|m| !matches!(*m, "get" | "post"))
            .collect(),
        methods,
        get,
        post,
        torn_use: super::use_line("torn", &torn_uses),
        route,
        path,
    };
    template::plan("handler", |file| render(&handler, file))
}

/// What the templates in `templates/gen/handler/` see.
struct Handler {
    /// `about`: module, route and template name.
    name: String,
    /// `About`: the handler's type.
    ty: String,
    /// `About`: the page's heading.
    heading: String,
    /// `/about`.
    path: String,
    /// The app's crate, for the test.
    crate_name: String,
    /// Every method, in the order of [`METHODS`].
    methods: Vec<&'static str>,
    /// Whether it answers GET (a page) and POST (a form).
    get: bool,
    post: bool,
    /// The methods other than GET and POST (for scripts).
    others: Vec<&'static str>,
    /// `use torn::…;` for what the handler uses.
    torn_use: String,
    /// The `app.handler::<…>(…)` line of `src/lib.rs`.
    route: String,
}

template::templates!(Handler, "handler" {
    Manifest = "handler/manifest.toml",
    HandlerRs = "handler/handler.rs",
    PageHtml = "handler/page.html",
    TestRs = "handler/test.rs",
    RouteRs = "handler/route.rs",
});

fn route_line(name: &str, path: &str) -> String {
    super::route_statement(&format!("handlers::{name}::{}", camel(name)), name, path)
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
