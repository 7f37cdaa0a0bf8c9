//! `torn gen channel NAME`: a live channel at `/NAME`. Its handlers in `src/handlers/NAME.rs`:
//! the page (with a form that posts), its server-sent events and its WebSocket, all on the
//! pub/sub topic `NAME`; the page `templates/NAME.html`; a dependency-free script
//! `static/js/NAME.js` (WebSocket with reconnection and backoff, server-sent events where a
//! WebSocket cannot get through); the three named routes; and a test over HTTP in
//! `tests/NAME.rs`. In an app made with `torn new --minimal`, it turns on torn's `realtime`
//! feature in `Cargo.toml`.

use std::path::PathBuf;

use super::{
    AppDir, Plan, Replace, camel, check_routes_free, check_snake_name, mount_statement,
    route_statement, template, title,
};
use crate::CliError;

/// The torn dependency of an app made with `torn new --minimal`, and the same with real-time.
const MINIMAL_FEATURES: &str = r#"features = ["sqlite", "postgres", "mail"] }"#;
const WITH_REALTIME: &str = r#"features = ["sqlite", "postgres", "mail", "realtime"] }"#;

/// The plan for a channel.
pub fn plan(app: &AppDir, name: &str) -> Result<Plan, CliError> {
    plan_for(app, name, false)
}

/// The plan for a channel; `destroying` for `torn destroy`, which finds its routes in place.
pub fn plan_for(app: &AppDir, name: &str, destroying: bool) -> Result<Plan, CliError> {
    check_snake_name("channel", name)?;
    let ty = camel(name);
    let path = format!("/{}", name.replace('_', "-"));
    let (events, socket) = (format!("{name}_events"), format!("{name}_socket"));
    let module = format!("handlers::{name}");
    let routes = vec![
        route_statement(&format!("{module}::{ty}"), name, &path),
        route_statement(
            &format!("{module}::{ty}Events"),
            &events,
            &format!("{path}/events"),
        ),
        mount_statement(
            "websocket",
            &format!("{module}::{ty}Socket"),
            &socket,
            &format!("{path}/socket"),
        ),
    ];
    if !destroying {
        check_routes_free(app, &[name.to_string(), events, socket], &routes)?;
    }
    let channel = Channel {
        name: name.to_string(),
        ty,
        heading: title(name),
        path,
        crate_name: app.crate_name.clone(),
        routes: routes.join("\n"),
    };
    let mut plan = template::plan("channel", |file| render(&channel, file))?;
    plan.replaces.push(Replace {
        path: PathBuf::from("Cargo.toml"),
        from: MINIMAL_FEATURES,
        to: WITH_REALTIME,
    });
    Ok(plan)
}

/// What the templates in `templates/gen/channel/` see.
struct Channel {
    /// `room`: the module, the topic, the route and the page's name.
    name: String,
    /// `Room`: the page handler's type (`RoomEvents`, `RoomSocket`).
    ty: String,
    /// `Room`: the page's heading.
    heading: String,
    /// `/room`.
    path: String,
    /// The app's crate, for the test.
    crate_name: String,
    /// The three route statements of `src/lib.rs`.
    routes: String,
}

template::templates!(Channel, "channel" {
    Manifest = "channel/manifest.toml",
    HandlerRs = "channel/handler.rs",
    PageHtml = "channel/page.html",
    ScriptJs = "channel/script.js",
    TestRs = "channel/test.rs",
    RoutesRs = "channel/routes.rs",
});
