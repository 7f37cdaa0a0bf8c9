//! `torn gen scaffold NAME field:type … [--auth] [--api]`: the model (as `torn gen model`), and
//! pages to list (paginated), show, make, change and delete its rows: handlers with server-side
//! checks that show the form again with a message per field and what was typed, XSRF-protected
//! forms, askama templates, a link in the layout, named routes, and tests over HTTP. With
//! `--auth`, every page needs a log-in and each person sees and changes only their own rows.
//! With `--api`, a JSON API under `/api/` instead of pages: the same checks, answered as 422
//! with a message per field, and with `--auth` the same owner rules, and tokens' scopes.

mod context;
mod test_parts;

use super::field::{FieldType, parse_field};
use super::{AppDir, Plan, model, template};
use crate::CliError;

/// The plan for a scaffold.
pub fn plan(
    app: &AppDir,
    name: &str,
    args: &[String],
    kind: Kind,
    unix_secs: u64,
) -> Result<Plan, CliError> {
    plan_for(app, name, args, kind, unix_secs, false)
}

/// What a scaffold is, besides its fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kind {
    /// `--auth`: for logged-in users, each seeing their own rows.
    pub auth: bool,
    /// `--api`: a JSON API rather than pages.
    pub api: bool,
}

/// The fields, `--auth` and `--api` a scaffold was generated with, read back from its
/// handlers' file (`` `torn gen scaffold post title:string --auth` ``).
pub fn recorded(app: &AppDir, name: &str) -> Result<(Vec<String>, Kind), CliError> {
    let path = format!("src/handlers/{}.rs", super::field::table_name(name));
    let text = app.read(std::path::Path::new(&path))?.unwrap_or_default();
    let Some(mut args) = super::destroy::recorded_args(&text, "scaffold", name) else {
        // The handlers are gone (a `torn destroy` that kept the migration): the model's
        // fields say the same, with `owner` for `--auth`.
        let mut fields = model::recorded(app, name)
            .map_err(|_| super::destroy::not_generated(&format!("scaffold {name}"), &path))?;
        let auth = fields.iter().any(|f| f == "owner:references:user");
        fields.retain(|f| f != "owner:references:user");
        let api = app
            .read(std::path::Path::new("src/lib.rs"))?
            .unwrap_or_default()
            .contains(&format!("\"/api/{}\"", super::field::table_name(name)));
        return Ok((fields, Kind { auth, api }));
    };
    let kind = Kind {
        auth: args.iter().any(|a| a == "--auth"),
        api: args.iter().any(|a| a == "--api"),
    };
    args.retain(|a| a != "--auth" && a != "--api");
    Ok((args, kind))
}

/// The plan for a scaffold; `destroying` for `torn destroy`, which finds its routes in place.
pub fn plan_for(
    app: &AppDir,
    name: &str,
    args: &[String],
    kind: Kind,
    unix_secs: u64,
    destroying: bool,
) -> Result<Plan, CliError> {
    let Kind { auth, api } = kind;
    let fields = args
        .iter()
        .map(|a| parse_field(a))
        .collect::<Result<Vec<_>, _>>()?;
    for f in &fields {
        if f.ty == FieldType::Bool && f.optional {
            return Err(CliError::Usage(format!(
                "field {:?}: a checkbox is on or off, never empty; use {}:bool",
                f.name, f.name
            )));
        }
        if auth && f.column() == "owner_id" {
            return Err(CliError::Usage(
                "with --auth, owner is made for you (the logged-in user); drop the owner field"
                    .into(),
            ));
        }
    }
    if auth {
        app.require_accounts("--auth (pages for logged-in users only)")?;
    }
    // With --auth, a reference to a model that belongs to users (its own rows included) must
    // name a row of the same owner.
    let mut owned = Vec::new();
    for f in &fields {
        if let FieldType::References(parent) = &f.ty
            && auth
            && (parent == name || model::is_owned(app, parent)?)
        {
            owned.push(parent.clone());
        }
    }
    let mut model_args = args.to_vec();
    if auth {
        model_args.push("owner:references:user".into());
    }
    let mut plan = model::plan(app, name, &model_args, unix_secs)?;
    let scaffold = context::Scaffold::new(app, name, &fields, auth, api, &owned, args)?;
    let names: Vec<String> = scaffold.route_names();
    if !destroying {
        super::check_routes_free(app, &names, &scaffold.routes)?;
    }
    let pages = template::plan("scaffold", |file| render(&scaffold, file))?;
    plan.files.extend(pages.files);
    plan.inserts.extend(pages.inserts);
    Ok(plan)
}

template::templates!(context::Scaffold, "scaffold" {
    Manifest = "scaffold/manifest.toml",
    HandlersRs = "scaffold/handlers.rs",
    IndexHtml = "scaffold/index.html",
    ShowHtml = "scaffold/show.html",
    FormHtml = "scaffold/form.html",
    TestRs = "scaffold/test.rs",
    ApiRs = "scaffold/api.rs",
    ApiTestRs = "scaffold/api_test.rs",
    RoutesRs = "scaffold/routes.rs",
    NavHtml = "scaffold/nav.html",
});
