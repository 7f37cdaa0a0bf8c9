//! What the templates in `templates/gen/scaffold/` see: the names, the fields, and the few
//! pieces of code that depend on the fields' types.

use crate::CliError;

use super::super::field::{Field, FieldType, table_name};
use super::super::{AppDir, camel, layout, route_statement, title};

/// A field as the templates see it.
pub struct FieldView {
    /// Its column (and the form's field).
    pub column: String,
    /// `Title`: its label.
    pub label: String,
    /// `string`, `text`, `bool`, `references`, … (as typed after `:`).
    pub kind: &'static str,
    /// Whether it may be empty.
    pub optional: bool,
    /// Whether it holds text (shown as it is).
    pub text: bool,
    /// The `<input>`'s type, and what else it says (`step`, `maxlength`).
    pub input_type: &'static str,
    pub input_extra: &'static str,
}

impl FieldView {
    fn of(f: &Field) -> Self {
        let (kind, input_type, input_extra) = match &f.ty {
            FieldType::String => ("string", "text", " maxlength=\"255\""),
            FieldType::Text => ("text", "text", ""),
            FieldType::Int => ("int", "number", " step=\"1\""),
            FieldType::BigInt => ("bigint", "number", " step=\"1\""),
            FieldType::References(_) => ("references", "number", " step=\"1\""),
            FieldType::Float => ("float", "number", " step=\"any\""),
            FieldType::Date => ("date", "date", ""),
            FieldType::DateTime => ("datetime", "datetime-local", ""),
            FieldType::Uuid => ("uuid", "text", ""),
            FieldType::Bool => ("bool", "checkbox", ""),
        };
        FieldView {
            column: f.column(),
            label: title(&f.name),
            kind,
            optional: f.optional,
            text: matches!(f.ty, FieldType::String | FieldType::Text),
            input_type,
            input_extra,
        }
    }
}

/// The scaffold of one model.
pub struct Scaffold {
    /// `post`: the model.
    pub name: String,
    /// `posts`: its table, module of handlers and URL.
    pub table: String,
    /// `Post`, `Posts`.
    pub ty: String,
    pub plural_ty: String,
    /// `Post`, `Posts`, `post`, `posts`: in pages.
    pub label: String,
    pub plural_label: String,
    pub lower: String,
    pub lower_plural: String,
    /// `posts` as words, `blog posts`.
    pub plural: String,
    /// The fields as typed, and `--auth`.
    pub args: String,
    pub auth_flag: &'static str,
    /// A JSON API (`--api`) rather than pages.
    pub api: bool,
    /// Whether pages need a log-in and rows belong to their owner.
    pub auth: bool,
    /// The fields.
    pub fields: Vec<FieldView>,
    /// The app's crate.
    pub crate_name: String,
    /// The `app.handler::<…>(…)` lines of `src/lib.rs`.
    pub routes: Vec<String>,
    // The handlers' pieces that depend on the fields.
    pub form_use: String,
    pub input_literal: String,
    pub check_signature: String,
    pub invalid_signature: String,
    pub let_else: String,
    pub find_row: String,
    pub find_only: String,
    pub update_row: String,
    pub accounts_import: &'static str,
    pub user_import: &'static str,
    pub reads: Vec<String>,
    pub user_arg: &'static str,
    pub list: String,
    pub count: String,
    pub accounts_extractor: &'static str,
    pub accounts_arg: &'static str,
    pub owner_arg: &'static str,
    pub user_param_new: &'static str,
    // The JSON API's pieces (`--api`).
    pub json_reads: Vec<String>,
    pub json_outputs: Vec<String>,
    pub scopes_use: &'static str,
    pub require_read: &'static str,
    pub require_write: &'static str,
    pub update_row_api: String,
    pub model_use: String,
    /// `mut ` when `check` records messages (a field other than a checkbox).
    pub errors_mut: &'static str,
    pub index_get: String,
    pub index_post: String,
    pub show_get: String,
    pub show_put: String,
    pub show_delete: String,
    // The test's pieces.
    pub test_uses: Vec<String>,
    pub api_test_uses: Vec<String>,
    pub accounts: bool,
    pub setup: Vec<String>,
    pub first: String,
    pub second: String,
    pub required: Option<String>,
    pub mistyped_label: Option<String>,
    pub mistyped: String,
    pub shown_first: Option<String>,
    pub shown_second: Option<String>,
    pub shown_first_json: Option<(String, String)>,
    pub shown_second_json: Option<(String, String)>,
    pub owner_id: &'static str,
    pub others_parent: bool,
}

impl Scaffold {
    /// The context for a scaffold of `name` with these fields.
    pub fn new(
        app: &AppDir,
        name: &str,
        fields: &[Field],
        auth: bool,
        api: bool,
        owned: &[String],
        args: &[String],
    ) -> Result<Self, CliError> {
        let table = table_name(name);
        let ty = camel(name);
        let plural_ty = camel(&table);
        let kinds: &[&str] = if api {
            &["Index", "Show"]
        } else {
            &["Index", "New", "Show", "Edit", "Delete"]
        };
        let routes = route_paths(name, &table, api)
            .iter()
            .zip(kinds)
            .map(|((route, path), kind)| {
                route_statement(
                    &format!("handlers::{table}::{plural_ty}{kind}"),
                    route,
                    path,
                )
            })
            .collect();
        let user_ref = fields
            .iter()
            .any(|f| f.ty == FieldType::References("user".into()));
        let (reads, checked) = reads(fields, owned);
        let let_else = if checked.is_empty() {
            String::new()
        } else {
            let pattern: Vec<String> = checked.iter().map(|c| format!("Some({c})")).collect();
            layout::let_else(8, &pattern, &checked)
        };
        let mut check_params = vec![
            "&self".to_string(),
            format!(
                "{}: &Db",
                if fields
                    .iter()
                    .any(|f| matches!(&f.ty, FieldType::References(m) if m != "user"))
                {
                    "db"
                } else {
                    "_db"
                }
            ),
        ];
        if user_ref {
            check_params.push("accounts: &Accounts".into());
        }
        if auth {
            check_params.push("owner_id: i64".into());
        }
        let check_params: Vec<&str> = check_params.iter().map(String::as_str).collect();
        let (list, count, find_id) = if auth {
            (
                format!("{ty}::list_owned(&db, user.id, page, PER_PAGE)"),
                format!("{ty}::count_owned(&db, user.id)"),
                format!("{ty}::find_owned(&db, user.id, id)"),
            )
        } else {
            (
                format!("{ty}::list(&db, page, PER_PAGE)"),
                format!("{ty}::count(&db)"),
                format!("{ty}::find(&db, id)"),
            )
        };
        let test = super::test_parts::TestParts::new(app, name, fields, auth, owned)?;
        let label = title(name);
        let plural_label = title(&table);
        Ok(Scaffold {
            lower: label.to_lowercase(),
            lower_plural: plural_label.to_lowercase(),
            plural: table.replace('_', " "),
            args: args.join(" "),
            auth_flag: if auth { " --auth" } else { "" },
            auth,
            api,
            fields: fields.iter().map(FieldView::of).collect(),
            crate_name: app.crate_name.clone(),
            routes,
            form_use: layout::use_list("torn::form", &form_imports(fields, api)),
            input_literal: {
                let mut items: Vec<String> = fields.iter().map(Field::column).collect();
                if auth {
                    items.push("owner_id".into());
                }
                let open = format!("{ty}Input {{");
                layout::list(&open, &items, "}", (8, 14, 3), layout::STRUCT_WIDTH, true)
            },
            check_signature: layout::signature(
                4,
                "async fn check",
                &check_params,
                &format!("torn::Result<Result<{ty}Input, FieldErrors>>"),
            ),
            invalid_signature: layout::signature(
                0,
                "fn invalid",
                &[
                    "ctx: PageContext",
                    "id: Option<i64>",
                    &format!("form: {ty}Form"),
                    "errors: FieldErrors",
                ],
                "Response",
            ),
            let_else,
            find_row: layout::chain(
                8,
                "let row = ",
                &find_id,
                &[".await?", ".ok_or_else(Error::not_found)?"],
                ";",
            ),
            find_only: layout::chain(
                8,
                "",
                &find_id,
                &[".await?", ".ok_or_else(Error::not_found)?"],
                ";",
            ),
            update_row: layout::chain(
                8,
                "",
                &format!("{ty}::update(&db, id, &input)"),
                &[".await?", ".ok_or_else(Error::not_found)?"],
                ";",
            ),
            accounts_import: if user_ref { "Accounts, " } else { "" },
            user_import: if auth { "CurrentUser, " } else { "" },
            reads,
            user_arg: if auth {
                "        CurrentUser(user): CurrentUser,\n"
            } else {
                ""
            },
            list,
            count,
            accounts_extractor: if user_ref {
                "        accounts: Accounts,\n"
            } else {
                ""
            },
            accounts_arg: if user_ref { ", &accounts" } else { "" },
            owner_arg: if auth { ", user.id" } else { "" },
            user_param_new: if auth { ", _user: CurrentUser" } else { "" },
            json_reads: fields.iter().map(json_read).collect(),
            json_outputs: fields.iter().map(json_output).collect(),
            scopes_use: if auth {
                "use torn::auth::Scopes;\n"
            } else {
                ""
            },
            require_read: if auth {
                "        scopes.require(\"read\")?;\n"
            } else {
                ""
            },
            require_write: if auth {
                "        scopes.require(\"write\")?;\n"
            } else {
                ""
            },
            errors_mut: if fields.iter().any(|f| f.ty != FieldType::Bool) {
                "mut "
            } else {
                ""
            },
            model_use: layout::use_list(
                &format!("crate::models::{name}"),
                &[ty.as_str(), &format!("{ty}Input")],
            ),
            index_get: api_signature(
                "get",
                &[],
                auth,
                false,
                "Query(q): Query<PageQuery>",
                "Json<Value>",
            ),
            index_post: api_signature(
                "post",
                &["ctx: PageContext"],
                auth,
                user_ref,
                "Json(body): Json<Value>",
                "Response",
            ),
            show_get: api_signature(
                "get",
                &[],
                auth,
                false,
                "Path(id): Path<i64>",
                "Json<Value>",
            ),
            show_put: api_signature(
                "put",
                &[],
                auth,
                user_ref,
                "Path(id): Path<i64>\u{0}Json(body): Json<Value>",
                "Response",
            ),
            show_delete: api_signature(
                "delete",
                &[],
                auth,
                false,
                "Path(id): Path<i64>",
                "StatusCode",
            ),
            update_row_api: layout::chain(
                8,
                "let row = ",
                &format!("{ty}::update(&db, id, &input)"),
                &[".await?", ".ok_or_else(Error::not_found)?"],
                ";",
            ),
            api_test_uses: super::super::model::sorted(
                test.uses
                    .iter()
                    .cloned()
                    .chain(["use serde_json::{Value, json};".to_string()])
                    .collect(),
            ),
            test_uses: test.uses,
            accounts: test.accounts,
            setup: test.setup,
            first: test.first,
            second: test.second,
            required: test.required,
            mistyped_label: test.mistyped_label,
            mistyped: test.mistyped,
            shown_first: test.shown_first,
            shown_second: test.shown_second,
            shown_first_json: test
                .shown_json
                .as_ref()
                .map(|(n, v)| (format!("[first[{n}].0]"), format!("first[{v}].1"))),
            shown_second_json: test
                .shown_json
                .as_ref()
                .map(|(n, v)| (format!("[second[{n}].0]"), format!("second[{v}].1"))),
            owner_id: test.owner_id,
            others_parent: test.others_parent,
            name: name.to_string(),
            table,
            ty,
            plural_ty,
            label,
            plural_label,
        })
    }

    /// The names of the routes (five for pages, two for `--api`).
    pub fn route_names(&self) -> Vec<String> {
        route_paths(&self.name, &self.table, self.api)
            .into_iter()
            .map(|(route, _)| route)
            .collect()
    }
}

/// (route name, path) of the routes: five for pages, two for `--api` (under `/api/`).
fn route_paths(name: &str, table: &str, api: bool) -> Vec<(String, String)> {
    if api {
        return vec![
            (table.to_string(), format!("/api/{table}")),
            (name.to_string(), format!("/api/{table}/{{id}}")),
        ];
    }
    vec![
        (table.to_string(), format!("/{table}")),
        (format!("new_{name}"), format!("/{table}/new")),
        (name.to_string(), format!("/{table}/{{id}}")),
        (format!("edit_{name}"), format!("/{table}/{{id}}/edit")),
        (format!("delete_{name}"), format!("/{table}/{{id}}/delete")),
    ]
}

/// The signature of an API handler: `first` parameters, then `db`, the accounts (for a
/// reference to users), the user and the scopes (with `--auth`), then `last` (its parameters
/// split at `\0`), answering `torn::Result<ret>`.
fn api_signature(
    method: &str,
    first: &[&str],
    auth: bool,
    accounts: bool,
    last: &str,
    ret: &str,
) -> String {
    let mut params: Vec<&str> = first.to_vec();
    params.push("db: Db");
    if accounts {
        params.push("accounts: Accounts");
    }
    if auth {
        params.extend(["CurrentUser(user): CurrentUser", "scopes: Scopes"]);
    }
    params.extend(last.split('\u{0}'));
    layout::signature(
        4,
        &format!("pub async fn {method}"),
        &params,
        &format!("torn::Result<{ret}>"),
    )
}

/// Whether a field's JSON is its form text (dates, times and UUIDs).
fn as_text(f: &Field) -> bool {
    matches!(
        f.ty,
        FieldType::Date | FieldType::DateTime | FieldType::Uuid
    )
}

/// How `from_json` reads a field: the form's text of it, or a message.
fn json_read(f: &Field) -> String {
    let c = f.column();
    if f.ty == FieldType::Bool {
        format!("            {c}: errors.checkbox_from_json(body, \"{c}\"),")
    } else {
        format!("            {c}: errors.text_from_json(body, \"{c}\"),")
    }
}

/// A field of the row's JSON: numbers and booleans as themselves, text as text; dates, times
/// and UUIDs as the form writes them, and ids and `bigint`s as text too (JavaScript's numbers
/// hold 53 bits exactly).
fn json_output(f: &Field) -> String {
    let c = f.column();
    let wide = matches!(f.ty, FieldType::BigInt | FieldType::References(_));
    match (as_text(f) || wide, f.optional) {
        (false, _) => format!("        \"{c}\": row.{c},"),
        (true, false) => format!("        \"{c}\": row.{c}.to_form(),"),
        (true, true) => format!("        \"{c}\": row.{c}.as_ref().map(|v| v.to_form()),"),
    }
}

/// What the handlers import from `torn::form`.
fn form_imports(fields: &[Field], api: bool) -> Vec<&'static str> {
    let mut imports = vec!["FieldErrors"];
    let plain = |f: &Field| !f.optional && f.ty != FieldType::Bool;
    let optional = |f: &Field| f.optional && f.ty != FieldType::Bool;
    // `to_form` writes a row's values back: into the form, or into the API's JSON.
    let text_in_json =
        |f: &Field| as_text(f) || matches!(f.ty, FieldType::BigInt | FieldType::References(_));
    if (!api && fields.iter().any(plain)) || (api && fields.iter().any(text_in_json)) {
        imports.push("FormValue as _");
    }
    if fields
        .iter()
        .any(|f| f.ty == FieldType::String && !f.optional)
    {
        imports.push("at_most");
    }
    if fields.iter().any(|f| f.ty == FieldType::Bool) {
        imports.push("checkbox");
    }
    if fields.iter().any(optional) {
        imports.push("optional");
    }
    if fields
        .iter()
        .any(|f| f.ty == FieldType::String && f.optional)
    {
        imports.push("optional_at_most");
    }
    if !api && fields.iter().any(optional) {
        imports.push("optional_to_form");
    }
    if fields.iter().any(plain) {
        imports.push("required");
    }
    imports
}

/// How a field is read from the form: the call and its arguments, over `self.<column>`.
fn read_call(f: &Field) -> (&'static str, Vec<String>) {
    let c = f.column();
    let take = |check: String| ("errors.take", vec![format!("\"{c}\""), check]);
    match (&f.ty, f.optional) {
        (FieldType::Bool, _) => ("checkbox", vec![format!("self.{c}.as_deref()")]),
        (FieldType::String, false) => take(format!("at_most(required(&self.{c}), 255)")),
        (FieldType::String, true) => take(format!("optional_at_most(optional(&self.{c}), 255)")),
        (_, false) => take(format!("required(&self.{c})")),
        (_, true) => take(format!("optional(&self.{c})")),
    }
}

/// The lines of `check` that read each field (and check that a referenced row exists), and
/// the fields whose reading may fail.
fn reads(fields: &[Field], owned: &[String]) -> (Vec<String>, Vec<String>) {
    let mut reads = Vec::new();
    let mut checked = Vec::new();
    for f in fields {
        let c = f.column();
        let (callee, args) = read_call(f);
        reads.push(layout::let_call(8, &c, callee, &args));
        if f.ty != FieldType::Bool {
            checked.push(c.clone());
        }
        if let FieldType::References(parent) = &f.ty {
            let lookup = if parent == "user" {
                "accounts.user(id)".to_string()
            } else if owned.contains(parent) {
                format!(
                    "crate::models::{parent}::{}::find_owned(db, owner_id, id)",
                    camel(parent)
                )
            } else {
                format!("crate::models::{parent}::{}::find(db, id)", camel(parent))
            };
            let find = layout::chain(12, "&& ", &lookup, &[".await?", ".is_none()"], "");
            let id = if f.optional {
                format!("{c}.flatten()")
            } else {
                c.clone()
            };
            reads.push(format!(
                "        if let Some(id) = {id}\n{find}\n        {{\n            errors.add(\"{c}\", \"does not exist\");\n        }}"
            ));
        }
    }
    (reads, checked)
}
