//! `torn gen scaffold NAME field:type … [--auth]`: the model (as `torn gen model`), and pages
//! to list (paginated), show, make, change and delete its rows: handlers with server-side
//! checks that show the form again with a message per field and what was typed, XSRF-protected
//! forms, askama templates, a link in the layout, named routes, and tests over HTTP. With
//! `--auth`, every page needs a log-in and each person sees and changes only their own rows.

use std::path::PathBuf;

use super::model::{self, Field, FieldType, parse_field, table_name};
use super::{AppDir, HANDLERS_MARK, Insert, Place, Plan, ROUTES_MARK, camel, title};
use crate::CliError;

/// The mark in `templates/base.html`'s navigation.
pub const NAV_MARK: &str = "{# torn:nav #}";

struct Names {
    /// `post`
    name: String,
    /// `posts`
    table: String,
    /// `Post`
    ty: String,
    /// `Posts`
    plural_ty: String,
    /// `Post`, `Blog post`
    label: String,
    /// `Posts`
    plural_label: String,
}

/// The plan for a scaffold.
pub fn plan(
    app: &AppDir,
    name: &str,
    args: &[String],
    auth: bool,
    unix_secs: u64,
) -> Result<Plan, CliError> {
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
    let table = table_name(name);
    let n = Names {
        name: name.to_string(),
        ty: camel(name),
        plural_ty: camel(&table),
        label: title(name),
        plural_label: title(&table),
        table,
    };
    let routes = route_lines(&n);
    let names: Vec<String> = routes_of(&n).into_iter().map(|(route, _)| route).collect();
    super::check_routes_free(app, &names, &routes)?;
    let t = &n.table;
    plan.files.push((
        PathBuf::from(format!("src/handlers/{t}.rs")),
        crate::format_rust(&handlers_rs(&n, &fields, auth, &owned, args)),
    ));
    plan.files.push((
        PathBuf::from(format!("templates/{t}/index.html")),
        index_html(&n, &fields),
    ));
    plan.files.push((
        PathBuf::from(format!("templates/{t}/show.html")),
        show_html(&n, &fields),
    ));
    plan.files.push((
        PathBuf::from(format!("templates/{t}/form.html")),
        form_html(&n, &fields),
    ));
    plan.files.push((
        PathBuf::from(format!("tests/scaffold_{t}.rs")),
        crate::format_rust(&test_rs(app, &n, &fields, auth, &owned)?),
    ));
    plan.inserts.push(Insert {
        path: PathBuf::from("src/handlers/mod.rs"),
        mark: HANDLERS_MARK.into(),
        line: format!("pub mod {t};"),
        at: Place::Sorted,
    });
    for line in routes {
        plan.inserts.push(Insert {
            path: PathBuf::from("src/lib.rs"),
            mark: ROUTES_MARK.into(),
            line,
            at: Place::Above,
        });
    }
    let link = if auth {
        format!(
            "{{% if ctx.user().is_some() %}}<a href=\"{{{{ ctx.url(\"{t}\")? }}}}\">{}</a>{{% endif %}}",
            n.plural_label
        )
    } else {
        format!(
            "<a href=\"{{{{ ctx.url(\"{t}\")? }}}}\">{}</a>",
            n.plural_label
        )
    };
    plan.inserts.push(Insert {
        path: PathBuf::from("templates/base.html"),
        mark: NAV_MARK.into(),
        line: link,
        at: Place::Above,
    });
    Ok(plan)
}

/// (route name, path) of the five routes.
fn routes_of(n: &Names) -> [(String, String); 5] {
    let (t, s) = (&n.table, &n.name);
    [
        (t.clone(), format!("/{t}")),
        (format!("new_{s}"), format!("/{t}/new")),
        (s.clone(), format!("/{t}/{{id}}")),
        (format!("edit_{s}"), format!("/{t}/{{id}}/edit")),
        (format!("delete_{s}"), format!("/{t}/{{id}}/delete")),
    ]
}

fn route_lines(n: &Names) -> Vec<String> {
    let kinds = ["Index", "New", "Show", "Edit", "Delete"];
    routes_of(n)
        .iter()
        .zip(kinds)
        .map(|((route, path), kind)| {
            super::route_statement(
                &format!("handlers::{}::{}{kind}", n.table, n.plural_ty),
                route,
                path,
            )
        })
        .collect()
}

/// How a field is read from the form, as an expression over `self.<column>`.
fn read_expr(f: &Field) -> String {
    let c = f.column();
    match (&f.ty, f.optional) {
        (FieldType::Bool, _) => format!("checkbox(self.{c}.as_deref())"),
        (FieldType::String, false) => {
            format!("errors.take(\"{c}\", at_most(required(&self.{c}), 255))")
        }
        (FieldType::String, true) => format!(
            "errors.take(\"{c}\", optional::<String>(&self.{c}).and_then(|v| match v {{ Some(t) => at_most(Ok(t), 255).map(Some), None => Ok(None) }}))"
        ),
        (_, false) => format!("errors.take(\"{c}\", required(&self.{c}))"),
        (_, true) => format!("errors.take(\"{c}\", optional(&self.{c}))"),
    }
}

fn handlers_rs(
    n: &Names,
    fields: &[Field],
    auth: bool,
    owned: &[String],
    args: &[String],
) -> String {
    let (t, ty, pty) = (&n.table, &n.ty, &n.plural_ty);
    let form_fields: String = fields
        .iter()
        .map(|f| {
            let c = f.column();
            if f.ty == FieldType::Bool {
                format!("    {c}: Option<String>,\n")
            } else {
                format!("    {c}: String,\n")
            }
        })
        .collect();
    let from_row: String = fields
        .iter()
        .map(|f| {
            let c = f.column();
            let value = match (&f.ty, f.optional) {
                (FieldType::Bool, _) => format!("row.{c}.then(|| \"on\".to_string())"),
                (_, true) => format!("optional_to_form(&row.{c})"),
                (_, false) => format!("row.{c}.to_form()"),
            };
            format!("            {c}: {value},\n")
        })
        .collect();
    let mut reads = String::new();
    let mut checked = Vec::new();
    for f in fields {
        let c = f.column();
        reads.push_str(&format!("        let {c} = {};\n", read_expr(f)));
        if f.ty != FieldType::Bool {
            checked.push(c.clone());
        }
        if let FieldType::References(parent) = &f.ty {
            let find = if parent == "user" {
                "accounts.user(id).await?.is_none()".to_string()
            } else if owned.contains(parent) {
                format!(
                    "crate::models::{parent}::{}::find_owned(db, owner_id, id).await?.is_none()",
                    camel(parent)
                )
            } else {
                format!(
                    "crate::models::{parent}::{}::find(db, id).await?.is_none()",
                    camel(parent)
                )
            };
            let id = if f.optional {
                format!("{c}.flatten()")
            } else {
                c.to_string()
            };
            reads.push_str(&format!(
                "        if let Some(id) = {id}\n            && {find}\n        {{\n            errors.add(\"{c}\", \"does not exist\");\n        }}\n"
            ));
        }
    }
    let owner_field = if auth { "            owner_id,\n" } else { "" };
    let all_fields: String = fields
        .iter()
        .map(|f| format!("            {},\n", f.column()))
        .collect::<String>()
        + owner_field;
    let pattern = if checked.is_empty() {
        "()".to_string()
    } else {
        format!(
            "({},)",
            checked
                .iter()
                .map(|c| format!("Some({c})"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let scrutinee = if checked.is_empty() {
        "()".to_string()
    } else {
        format!("({},)", checked.join(", "))
    };
    let owner_param = if auth { " owner_id: i64," } else { "" };
    let user_arg = if auth {
        "        CurrentUser(user): CurrentUser,\n"
    } else {
        ""
    };
    let owner_arg = if auth { ", user.id" } else { "" };
    let find = |id: &str| {
        if auth {
            format!("{ty}::find_owned(&db, user.id, {id})")
        } else {
            format!("{ty}::find(&db, {id})")
        }
    };
    let (list, count) = if auth {
        (
            format!("{ty}::list_owned(&db, user.id, page, PER_PAGE)"),
            format!("{ty}::count_owned(&db, user.id)"),
        )
    } else {
        (
            format!("{ty}::list(&db, page, PER_PAGE)"),
            format!("{ty}::count(&db)"),
        )
    };
    let user_import = if auth { "CurrentUser, " } else { "" };
    let user_ref = fields
        .iter()
        .any(|f| f.ty == FieldType::References("user".into()));
    let uses_to_form = fields
        .iter()
        .any(|f| !f.optional && f.ty != FieldType::Bool);
    let uses_optional_to_form = fields.iter().any(|f| f.optional && f.ty != FieldType::Bool);
    let mut form_imports = vec!["FieldErrors"];
    if uses_to_form {
        form_imports.push("FormValue as _");
    }
    if fields.iter().any(|f| f.ty == FieldType::String) {
        form_imports.push("at_most");
    }
    if fields.iter().any(|f| f.ty == FieldType::Bool) {
        form_imports.push("checkbox");
    }
    if fields.iter().any(|f| f.optional && f.ty != FieldType::Bool) {
        form_imports.push("optional");
    }
    if uses_optional_to_form {
        form_imports.push("optional_to_form");
    }
    if fields
        .iter()
        .any(|f| !f.optional && f.ty != FieldType::Bool)
    {
        form_imports.push("required");
    }
    let s = &n.name;
    let label = &n.label;
    format!(
        r#"//! `/{t}`: list, show, make, change and delete {plural}, made by
//! `torn gen scaffold {s} {args}{auth_flag}`.

use askama::Template;
use axum::Form;
use axum::extract::{{Path, Query}};
use axum::http::StatusCode;
use axum::response::{{IntoResponse, Redirect, Response}};
use serde::Deserialize;
use torn::form::{{{form_imports}}};
use torn::db::Db;
use torn::{{{accounts_import}{user_import}Error, Flash, Page, PageContext}};

use crate::models::{s}::{{{ty}, {ty}Input}};

/// Rows per page of the list.
const PER_PAGE: u32 = 20;

/// What the form sends, as typed, so that it can be shown again with the messages.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct {ty}Form {{
{form_fields}}}

impl {ty}Form {{
    fn from_row(row: &{ty}) -> Self {{
        Self {{
{from_row}        }}
    }}

    /// The typed values, or a message for each field that is not right.
    async fn check(
        &self,
        {db_param}: &Db,{accounts_param}{owner_param}
    ) -> torn::Result<Result<{ty}Input, FieldErrors>> {{
        let mut errors = FieldErrors::default();
{reads}        let {pattern} = {scrutinee} else {{
            return Ok(Err(errors));
        }};
        if !errors.is_empty() {{
            return Ok(Err(errors));
        }}
        Ok(Ok({ty}Input {{
{all_fields}        }}))
    }}
}}

/// `templates/{t}/index.html`.
#[derive(Template)]
#[template(path = "{t}/index.html")]
pub struct {pty}IndexPage {{
    ctx: PageContext,
    rows: Vec<{ty}>,
    page: u32,
    pages: u32,
}}

/// `templates/{t}/show.html`.
#[derive(Template)]
#[template(path = "{t}/show.html")]
pub struct {pty}ShowPage {{
    ctx: PageContext,
    row: {ty},
}}

/// `templates/{t}/form.html`, to make a row (`id` none) or change one.
#[derive(Template)]
#[template(path = "{t}/form.html")]
pub struct {pty}FormPage {{
    ctx: PageContext,
    id: Option<i64>,
    form: {ty}Form,
    errors: FieldErrors,
}}

/// `?page=N` on the list.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {{
    #[serde(default)]
    page: Option<u32>,
}}

fn invalid(ctx: PageContext, id: Option<i64>, form: {ty}Form, errors: FieldErrors) -> Response {{
    let page = {pty}FormPage {{
        ctx,
        id,
        form,
        errors,
    }};
    (StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response()
}}

/// `/{t}`: the list, and making a row.
pub struct {pty}Index;

impl {pty}Index {{
    /// One page of rows, newest first.
    pub async fn get(
        ctx: PageContext,
        db: Db,
{user_arg}        Query(q): Query<PageQuery>,
    ) -> torn::Result<Page<{pty}IndexPage>> {{
        let page = q.page.unwrap_or(1).max(1);
        let rows = {list}.await?;
        let count = {count}.await?;
        let pages = u32::try_from(count).unwrap_or(u32::MAX).div_ceil(PER_PAGE).max(1);
        Ok(Page({pty}IndexPage {{
            ctx,
            rows,
            page,
            pages,
        }}))
    }}

    /// Make a row from the form, or show the form again with what is wrong.
    pub async fn post(
        ctx: PageContext,
        db: Db,
{accounts_extractor}{user_arg}        flash: Flash,
        Form(form): Form<{ty}Form>,
    ) -> torn::Result<Response> {{
        let input = match form.check(&db{accounts_arg}{owner_arg}).await? {{
            Ok(input) => input,
            Err(errors) => return Ok(invalid(ctx, None, form, errors)),
        }};
        let row = {ty}::create(&db, &input)
            .await?;
        flash.success("{label} created.");
        Ok(Redirect::to(&ctx.reverse_url("{s}", [row.id])?).into_response())
    }}
}}

torn::handler!({pty}Index => get, post);

/// `/{t}/new`: the empty form.
pub struct {pty}New;

impl {pty}New {{
    /// The form.
    pub async fn get(ctx: PageContext{user_param_new}) -> Page<{pty}FormPage> {{
        Page({pty}FormPage {{
            ctx,
            id: None,
            form: {ty}Form::default(),
            errors: FieldErrors::default(),
        }})
    }}
}}

torn::handler!({pty}New => get);

/// `/{t}/{{id}}`: one row, and changing it.
pub struct {pty}Show;

impl {pty}Show {{
    /// The row.
    pub async fn get(
        ctx: PageContext,
        db: Db,
{user_arg}        Path(id): Path<i64>,
    ) -> torn::Result<Page<{pty}ShowPage>> {{
        let row = {find_id}
            .await?
            .ok_or_else(Error::not_found)?;
        Ok(Page({pty}ShowPage {{ ctx, row }}))
    }}

    /// Change the row from the form, or show the form again with what is wrong.
    pub async fn post(
        ctx: PageContext,
        db: Db,
{accounts_extractor}{user_arg}        flash: Flash,
        Path(id): Path<i64>,
        Form(form): Form<{ty}Form>,
    ) -> torn::Result<Response> {{
        {find_id}
            .await?
            .ok_or_else(Error::not_found)?;
        let input = match form.check(&db{accounts_arg}{owner_arg}).await? {{
            Ok(input) => input,
            Err(errors) => return Ok(invalid(ctx, Some(id), form, errors)),
        }};
        {ty}::update(&db, id, &input)
            .await?
            .ok_or_else(Error::not_found)?;
        flash.success("{label} saved.");
        Ok(Redirect::to(&ctx.reverse_url("{s}", [id])?).into_response())
    }}
}}

torn::handler!({pty}Show => get, post);

/// `/{t}/{{id}}/edit`: the form, filled in.
pub struct {pty}Edit;

impl {pty}Edit {{
    /// The form with the row's values.
    pub async fn get(
        ctx: PageContext,
        db: Db,
{user_arg}        Path(id): Path<i64>,
    ) -> torn::Result<Page<{pty}FormPage>> {{
        let row = {find_id}
            .await?
            .ok_or_else(Error::not_found)?;
        Ok(Page({pty}FormPage {{
            ctx,
            id: Some(id),
            form: {ty}Form::from_row(&row),
            errors: FieldErrors::default(),
        }}))
    }}
}}

torn::handler!({pty}Edit => get);

/// `/{t}/{{id}}/delete`.
pub struct {pty}Delete;

impl {pty}Delete {{
    /// Delete the row.
    pub async fn post(
        ctx: PageContext,
        db: Db,
{user_arg}        flash: Flash,
        Path(id): Path<i64>,
    ) -> torn::Result<Response> {{
        {find_id}
            .await?
            .ok_or_else(Error::not_found)?;
        {ty}::delete(&db, id)
            .await?;
        flash.success("{label} deleted.");
        Ok(Redirect::to(&ctx.url("{t}")?).into_response())
    }}
}}

torn::handler!({pty}Delete => post);
"#,
        plural = n.table.replace('_', " "),
        args = args.join(" "),
        auth_flag = if auth { " --auth" } else { "" },
        form_imports = form_imports.join(", "),
        find_id = find("id"),
        db_param = if fields
            .iter()
            .any(|f| matches!(&f.ty, FieldType::References(m) if m != "user"))
        {
            "db"
        } else {
            "_db"
        },
        accounts_param = if user_ref {
            " accounts: &Accounts,"
        } else {
            ""
        },
        accounts_arg = if user_ref { ", &accounts" } else { "" },
        accounts_extractor = if user_ref {
            "        accounts: Accounts,\n"
        } else {
            ""
        },
        accounts_import = if user_ref { "Accounts, " } else { "" },
        user_param_new = if auth { ", _user: CurrentUser" } else { "" },
    )
}

fn field_label(f: &Field) -> String {
    title(&f.name)
}

fn index_html(n: &Names, fields: &[Field]) -> String {
    let t = &n.table;
    let heads: String = fields
        .iter()
        .map(|f| format!("<th>{}</th>", field_label(f)))
        .collect();
    let cells: String = fields
        .iter()
        .map(|f| format!("<td>{}</td>", display(f, "row")))
        .collect();
    format!(
        r#"{{% extends "base.html" %}}

{{% block title %}}{pl}{{% endblock %}}

{{% block content %}}
<h1>{pl}</h1>
<p><a class="button" href="{{{{ ctx.url("new_{s}")? }}}}">New {lower}</a></p>
{{% if rows.is_empty() %}}
<p>No {lower_pl} yet.</p>
{{% else %}}
<table class="rows">
  <thead><tr>{heads}<th></th></tr></thead>
  <tbody>
    {{% for row in rows %}}
    <tr>{cells}<td><a href="{{{{ ctx.url("{t}")? }}}}/{{{{ row.id }}}}">Show</a></td></tr>
    {{% endfor %}}
  </tbody>
</table>
{{% endif %}}
<p class="pages">
  {{% if page > 1 %}}<a href="{{{{ ctx.url("{t}")? }}}}?page={{{{ page - 1 }}}}">Newer</a>{{% endif %}}
  Page {{{{ page }}}} of {{{{ pages }}}}
  {{% if page < pages %}}<a href="{{{{ ctx.url("{t}")? }}}}?page={{{{ page + 1 }}}}">Older</a>{{% endif %}}
</p>
{{% endblock %}}
"#,
        pl = n.plural_label,
        s = n.name,
        lower = n.label.to_lowercase(),
        lower_pl = n.plural_label.to_lowercase(),
    )
}

/// How a value is shown in a page, as askama.
fn display(f: &Field, row: &str) -> String {
    let c = f.column();
    match (&f.ty, f.optional) {
        (FieldType::Bool, _) => format!("{{% if {row}.{c} %}}yes{{% else %}}no{{% endif %}}"),
        (FieldType::String | FieldType::Text, true) => {
            format!("{{{{ {row}.{c}.as_deref().unwrap_or(\"\") }}}}")
        }
        (_, true) => format!("{{% if let Some(v) = {row}.{c} %}}{{{{ v }}}}{{% endif %}}"),
        (_, false) => format!("{{{{ {row}.{c} }}}}"),
    }
}

fn show_html(n: &Names, fields: &[Field]) -> String {
    let t = &n.table;
    let items: String = fields
        .iter()
        .map(|f| {
            format!(
                "  <dt>{}</dt><dd>{}</dd>\n",
                field_label(f),
                display(f, "row")
            )
        })
        .collect();
    format!(
        r#"{{% extends "base.html" %}}

{{% block title %}}{label}{{% endblock %}}

{{% block content %}}
<h1>{label}</h1>
<dl class="card">
{items}</dl>
<p><a class="button" href="{{{{ ctx.url("{t}")? }}}}/{{{{ row.id }}}}/edit">Edit</a> <a href="{{{{ ctx.url("{t}")? }}}}">All {lower_pl}</a></p>
<form method="post" action="{{{{ ctx.url("{t}")? }}}}/{{{{ row.id }}}}/delete">
  {{{{ ctx.xsrf_form_html()|safe }}}}
  <button type="submit">Delete</button>
</form>
{{% endblock %}}
"#,
        label = n.label,
        lower_pl = n.plural_label.to_lowercase(),
    )
}

fn input_html(f: &Field) -> String {
    let c = f.column();
    let required = if f.optional { "" } else { " required" };
    let input = |kind: &str, extra: &str| {
        format!(
            "<input id=\"{c}\" name=\"{c}\" type=\"{kind}\" value=\"{{{{ form.{c} }}}}\"{extra}{required}>"
        )
    };
    match &f.ty {
        FieldType::String => input("text", " maxlength=\"255\""),
        FieldType::Text => format!(
            "<textarea id=\"{c}\" name=\"{c}\" rows=\"6\"{required}>{{{{ form.{c} }}}}</textarea>"
        ),
        FieldType::Int | FieldType::BigInt | FieldType::References(_) => {
            input("number", " step=\"1\"")
        }
        FieldType::Float => input("number", " step=\"any\""),
        FieldType::Date => input("date", ""),
        FieldType::DateTime => input("datetime-local", ""),
        FieldType::Uuid => input("text", ""),
        FieldType::Bool => String::new(),
    }
}

fn form_html(n: &Names, fields: &[Field]) -> String {
    let t = &n.table;
    let mut inputs = String::new();
    for f in fields {
        let c = f.column();
        let label = field_label(f);
        if f.ty == FieldType::Bool {
            inputs.push_str(&format!(
                "  <label class=\"check\"><input id=\"{c}\" name=\"{c}\" type=\"checkbox\"{{% if form.{c}.is_some() %}} checked{{% endif %}}> {label}</label>\n"
            ));
        } else {
            inputs.push_str(&format!(
                "  <label for=\"{c}\">{label}</label>\n  {}\n",
                input_html(f)
            ));
        }
        inputs.push_str(&format!(
            "  {{% if let Some(message) = errors.get(\"{c}\") %}}<p class=\"field-error\" role=\"alert\">{label} {{{{ message }}}}</p>{{% endif %}}\n"
        ));
    }
    format!(
        r#"{{% extends "base.html" %}}

{{% block title %}}{{% if id.is_some() %}}Edit {lower}{{% else %}}New {lower}{{% endif %}}{{% endblock %}}

{{% block content %}}
<h1>{{% if id.is_some() %}}Edit {lower}{{% else %}}New {lower}{{% endif %}}</h1>
{{% if !errors.is_empty() %}}<p class="flash flash-error" role="alert">Please check the fields below.</p>{{% endif %}}
<form class="card" method="post" action="{{{{ ctx.url("{t}")? }}}}{{% if let Some(id) = id %}}/{{{{ id }}}}{{% endif %}}">
  {{{{ ctx.xsrf_form_html()|safe }}}}
{inputs}  <button type="submit">Save</button>
</form>
<p><a href="{{{{ ctx.url("{t}")? }}}}">All {lower_pl}</a></p>
{{% endblock %}}
"#,
        lower = n.label.to_lowercase(),
        lower_pl = n.plural_label.to_lowercase(),
    )
}

/// What a test types into a field, as a Rust expression of type `String`.
fn typed(f: &Field, n: u32, parents: &[(String, String)]) -> String {
    match &f.ty {
        FieldType::String => format!("\"{} {n}\".to_string()", f.name.replace('_', " ")),
        FieldType::Text => format!("\"Some {} text {n}\".to_string()", f.name.replace('_', " ")),
        FieldType::Int => format!("\"{}\".to_string()", 40 + n),
        FieldType::BigInt => format!("\"{}\".to_string()", 9_000_000_000_u64 + u64::from(n)),
        FieldType::Float => format!("\"{n}.5\".to_string()"),
        FieldType::Bool => "\"on\".to_string()".into(),
        FieldType::Date => format!("\"2026-11-{:02}\".to_string()", n % 28 + 1),
        FieldType::DateTime => format!("\"2026-11-{:02}T10:30\".to_string()", n % 28 + 1),
        FieldType::Uuid => format!("\"00000000-0000-0000-0000-{n:012}\".to_string()"),
        FieldType::References(model) => parents
            .iter()
            .find(|(m, _)| m == model)
            .map(|(_, var)| format!("{var}.to_string()"))
            .unwrap_or_else(|| "String::new()".into()),
    }
}

fn test_rs(
    app: &AppDir,
    n: &Names,
    fields: &[Field],
    auth: bool,
    owned: &[String],
) -> Result<String, CliError> {
    let krate = &app.crate_name;
    let t = &n.table;
    let mut setup = Vec::new();
    let mut parents: Vec<(String, String)> = Vec::new();
    let mut seen = vec![n.name.clone()];
    for f in fields {
        if let FieldType::References(model) = &f.ty
            && model != &n.name
            && !parents.iter().any(|(m, _)| m == model)
        {
            let owner = auth.then_some("owner_id");
            let id = model::make_row(app, model, 1, owner, &mut seen, &mut setup)?;
            parents.push((model.clone(), id));
        }
    }
    let setup: String = setup
        .iter()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
        .replace("crate_models::", &format!("{krate}::models::"));
    let fields_for = |k: u32| -> String {
        fields
            .iter()
            .map(|f| {
                let value = match &f.ty {
                    FieldType::References(m) if *m == n.name => "String::new()".into(),
                    _ => typed(f, k, &parents),
                };
                format!("(\"{}\", {value}), ", f.column())
            })
            .collect()
    };
    let shown = fields.iter().find_map(|f| match f.ty {
        FieldType::String | FieldType::Text => Some(f.name.replace('_', " ")),
        _ => None,
    });
    let required = fields
        .iter()
        .find(|f| !f.optional && f.ty != FieldType::Bool)
        .map(field_label);
    // A field whose text must parse: typed wrong, the form comes back with it kept.
    let mistyped = fields.iter().find(|f| {
        matches!(
            f.ty,
            FieldType::Int
                | FieldType::BigInt
                | FieldType::Float
                | FieldType::Date
                | FieldType::DateTime
                | FieldType::Uuid
        )
    });
    let mistyped_check = match mistyped {
        Some(bad) => {
            let values: String = fields
                .iter()
                .map(|f| {
                    let value = if f.column() == bad.column() {
                        "\"not valid\".to_string()".to_string()
                    } else {
                        match &f.ty {
                            FieldType::References(m) if *m == n.name => "String::new()".into(),
                            _ => typed(f, 1, &parents),
                        }
                    };
                    format!("(\"{}\", {value}), ", f.column())
                })
                .collect();
            format!(
                "    let r = submit(&server, client, \"/{t}/new\", \"/{t}\", &[{values}]).await;\n    \
                 assert_eq!(r.status, 422);\n    \
                 assert!(r.text.contains(\"{label} must be\"), \"{{}}\", r.text);\n    \
                 assert!(r.text.contains(\"value=\\\"not valid\\\"\"), \"what was typed is kept\");\n",
                label = field_label(bad)
            )
        }
        None => String::new(),
    };
    let accounts_setup = if auth || setup.contains("accounts.") {
        "    let accounts = torn::Accounts::new(db.clone(), std::sync::Arc::new(Settings::for_test(env!(\"CARGO_MANIFEST_DIR\")))).await.unwrap();\n"
    } else {
        ""
    };
    // Rows the test makes first belong to the user it logs in as (`owner_id`).
    let owner_id = if setup.contains("owner_id") {
        "let owner_id = "
    } else {
        ""
    };
    let login = if auth {
        format!(
            "    {owner_id}log_in(&accounts, &server, server.client(), \"owner@example.com\").await;\n"
        )
    } else {
        String::new()
    };
    let shown_check = |k: u32| match &shown {
        Some(name) => format!(
            "    assert!(page.text.contains(\"{name} {k}\") || page.text.contains(\"Some {name} text {k}\"), \"{{}}\", page.text);\n"
        ),
        None => String::new(),
    };
    let required_check = match &required {
        Some(label) => format!(
            "    assert!(r.text.contains(\"{label} can&#39;t be blank\") || r.text.contains(\"{label} can't be blank\"), \"{{}}\", r.text);\n"
        ),
        None => String::new(),
    };
    let mut out = format!(
        r#"//! The {t} pages over HTTP, made by `torn gen scaffold {name}`.

use torn::Settings;
use torn::db::Db;
use torn::test::{{TestDatabase, TestResponse, TestServer, form_field, reqwest}};

/// The app on a fresh database (PostgreSQL when TORN_TEST_POSTGRES_URL is set, else SQLite),
/// and a connection to that database.
async fn app() -> (TestServer, Db, TestDatabase) {{
    let database = TestDatabase::new().await;
    let mut settings = Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    settings.root = std::env::temp_dir().join("{krate}-tests");
    settings.database.url = Some(database.url().to_string());
    let app = {krate}::app(settings).await.expect("the app builds");
    let server = TestServer::start(app).await;
    let db = Db::connect(database.url()).await.unwrap();
    (server, db, database)
}}

/// Send a form from `client`, with the XSRF token of the page at `from`.
async fn submit(
    server: &TestServer,
    client: &reqwest::Client,
    from: &str,
    to: &str,
    fields: &[(&str, String)],
) -> TestResponse {{
    let page = server.send(client.get(server.url(from))).await;
    let token = form_field(&page.text, "_xsrf").expect("the page has a form");
    let mut form: Vec<(&str, String)> = vec![("_xsrf", token)];
    form.extend(fields.iter().cloned());
    server.send(client.post(server.url(to)).form(&form)).await
}}
"#,
        name = n.name,
    );
    if auth {
        out.push_str(
            r#"
/// Sign up as `email`, confirm the address and log in in this client; returns the user's id.
async fn log_in(accounts: &torn::Accounts, server: &TestServer, client: &reqwest::Client, email: &str) -> i64 {
    let password = "correct horse battery staple";
    let torn::auth::SignUp::Created { user, verify_token } = accounts.sign_up(email, password).await.unwrap() else {
        panic!("{email} has no account yet");
    };
    accounts.verify_email(&verify_token).await.unwrap();
    let r = submit(
        server,
        client,
        "/auth/login",
        "/auth/login",
        &[("email", email.to_string()), ("password", password.to_string())],
    )
    .await;
    assert_eq!(r.status, 303, "log-in: {}", r.text);
    user.id
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
"#,
        );
    }
    out.push_str(&format!(
        r#"
#[tokio::test]
async fn {t}_are_listed_made_shown_changed_and_deleted() {{
    let (server, db, _database) = app().await;
{accounts_setup}{login}{setup}    let client = server.client();
    let page = server.get("/{t}").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("No {lower_pl} yet."));

    // Nothing is made without the XSRF token.
    let forged = server.send(client.post(server.url("/{t}")).form(&[{first}])).await;
    assert_eq!(forged.status, 403);

    // Empty fields: the form again, with a message, and what was typed kept.
    let r = submit(&server, client, "/{t}/new", "/{t}", &[]).await;
    assert_eq!(r.status, {blank_status});
{required_check}{mistyped_check}
    let r = submit(&server, client, "/{t}/new", "/{t}", &[{first}]).await;
    assert_eq!(r.status, 303, "{{}}", r.text);
    let shown = r.header("location").unwrap().to_string();
    assert!(shown.starts_with("/{t}/"), "{{shown}}");
    let page = server.get(&shown).await;
    assert_eq!(page.status, 200);
{shown_1}
    let edit = server.get(&format!("{{shown}}/edit")).await;
    assert_eq!(edit.status, 200);
    let r = submit(&server, client, &format!("{{shown}}/edit"), &shown, &[{second}]).await;
    assert_eq!(r.status, 303, "{{}}", r.text);
    let page = server.get(&shown).await;
{shown_2}
    let page = server.get("/{t}").await;
    assert!(!page.text.contains("No {lower_pl} yet."));
    assert!(page.text.contains("Page 1 of 1"));

    let r = submit(&server, client, &shown, &format!("{{shown}}/delete"), &[]).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/{t}")));
    assert_eq!(server.get(&shown).await.status, 404);
    assert_eq!(server.get("/{t}/123456789").await.status, 404);
    db.close().await;
}}
"#,
        lower_pl = n.plural_label.to_lowercase(),
        first = fields_for(1),
        second = fields_for(2),
        blank_status = if required.is_some() { 422 } else { 303 },
        shown_1 = shown_check(1),
        shown_2 = shown_check(2),
    ));
    if auth {
        out.push_str(&format!(
            r#"
#[tokio::test]
async fn {t}_need_a_log_in_and_belong_to_their_owner() {{
    let (server, db, _database) = app().await;
{accounts_setup}    let r = server.get("/{t}").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/auth/login?next=%2F{t}"));

    let owner = browser();
    {owner_id}log_in(&accounts, &server, &owner, "first@example.com").await;
{setup}    let r = submit(&server, &owner, "/{t}/new", "/{t}", &[{first}]).await;
    assert_eq!(r.status, 303, "{{}}", r.text);
    let shown = r.header("location").unwrap().to_string();
    assert_eq!(server.send(owner.get(server.url(&shown))).await.status, 200);

    // Someone else sees none of it and can change none of it.
    let other = browser();
    log_in(&accounts, &server, &other, "second@example.com").await;
    let list = server.send(other.get(server.url("/{t}"))).await;
    assert!(list.text.contains("No {lower_pl} yet."));
    assert_eq!(server.send(other.get(server.url(&shown))).await.status, 404);
    assert_eq!(
        server.send(other.get(server.url(&format!("{{shown}}/edit")))).await.status,
        404
    );
    let r = submit(&server, &other, "/{t}", &format!("{{shown}}/delete"), &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(server.send(owner.get(server.url(&shown))).await.status, 200);
{others_parent}    db.close().await;
}}
"#,
            lower_pl = n.plural_label.to_lowercase(),
            first = fields_for(1),
            others_parent = if owned.iter().any(|m| *m != n.name) {
                format!(
                    "\n    // Nor can they point a row of theirs at the owner's rows.\n    \
                     let r = submit(&server, &other, \"/{t}/new\", \"/{t}\", &[{}]).await;\n    \
                     assert_eq!(r.status, 422, \"{{}}\", r.text);\n    \
                     assert!(r.text.contains(\"does not exist\"), \"{{}}\", r.text);\n",
                    fields_for(1)
                )
            } else {
                String::new()
            },
        ));
    }
    Ok(out)
}
