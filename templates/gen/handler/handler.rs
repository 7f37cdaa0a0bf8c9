//! `[[ path ]]`, made by `torn gen handler [[ name ]]`.
[% if get %]
use askama::Template;
[%- endif %]
[%- if !others.is_empty() %]
use axum::http::StatusCode;
[%- endif %]
[%- if post %]
use axum::response::{IntoResponse, Redirect, Response};
[%- endif %]
[%- if get || post %]
[[ torn_use ]]
[%- endif %]
[% if get %]
/// `templates/[[ name ]].html`.
#[derive(Template)]
#[template(path = "[[ name ]].html")]
pub struct [[ ty ]]Page {
    ctx: PageContext,
}
[% endif %]
/// `[[ path ]]`.
pub struct [[ ty ]];

impl [[ ty ]] {
[%- if get %]
    /// Show the page.
    pub async fn get(ctx: PageContext) -> Page<[[ ty ]]Page> {
        Page([[ ty ]]Page { ctx })
    }
[%- endif %]
[%- if post %]
[%- if get %]
[% endif %]
    /// The form was sent (its XSRF token checked by torn): say so, and show the page again.
    pub async fn post(ctx: PageContext, flash: Flash) -> torn::Result<Response> {
        flash.success("Received.");
        Ok(Redirect::to(&ctx.url("[[ name ]]")?).into_response())
    }
[%- endif %]
[%- for m in others %]
[%- if get || post || !loop.first %]
[% endif %]
    /// `[[ m|upper ]]` (from scripts, with the `X-XSRFToken` header).
    pub async fn [[ m ]]() -> StatusCode {
        StatusCode::NO_CONTENT
    }
[%- endfor %]
}

torn::handler!([[ ty ]] => [[ methods.join(", ") ]]);
