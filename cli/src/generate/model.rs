//! `torn gen model NAME field:type …`: a table (a reversible migration that SQLite and
//! PostgreSQL both run), a model in `src/models/NAME.rs` with its queries, and a test.
//!
//! Types: `string`, `text`, `int`, `bigint`, `float`, `bool`, `date`, `datetime`, `uuid`, and
//! `references:MODEL` (a `<field>_id` column pointing at MODEL's table; `user` is the accounts
//! table). A `?` after the type makes the column nullable: `body:text?`.

use std::path::PathBuf;

use super::{AppDir, Insert, MODULES_MARK, Place, Plan, camel, check_snake_name, migration};
use crate::CliError;

/// The mark in `src/models/mod.rs`.
pub const MODELS_MARK: &str = "// torn:models";

/// A column's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Short text (`TEXT`, `String`).
    String,
    /// Long text (`TEXT`, `String`).
    Text,
    /// `INTEGER`, `i32`.
    Int,
    /// `BIGINT`, `i64`.
    BigInt,
    /// `DOUBLE PRECISION`, `f64`.
    Float,
    /// `BOOLEAN`, `bool`.
    Bool,
    /// `DATE`, `time::Date`.
    Date,
    /// `TIMESTAMPTZ`, `time::OffsetDateTime`.
    DateTime,
    /// `UUID`, `uuid::Uuid`.
    Uuid,
    /// `BIGINT REFERENCES <table> (id)`, `i64`.
    References(String),
}

/// One `field:type` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name (for references, without `_id`).
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// `?`: may be NULL.
    pub optional: bool,
}

impl Field {
    /// The column (and struct field) name.
    pub fn column(&self) -> String {
        match self.ty {
            FieldType::References(_) => format!("{}_id", self.name),
            _ => self.name.clone(),
        }
    }

    fn sql_type(&self) -> String {
        let base = match &self.ty {
            FieldType::String | FieldType::Text => "TEXT".to_string(),
            FieldType::Int => "INTEGER".into(),
            FieldType::BigInt => "BIGINT".into(),
            FieldType::Float => "DOUBLE PRECISION".into(),
            FieldType::Bool => "BOOLEAN".into(),
            FieldType::Date => "DATE".into(),
            FieldType::DateTime => "TIMESTAMPTZ".into(),
            FieldType::Uuid => "UUID".into(),
            FieldType::References(model) => {
                let on_delete = if self.optional { "SET NULL" } else { "CASCADE" };
                format!(
                    "BIGINT{} REFERENCES {} (id) ON DELETE {on_delete}",
                    if self.optional { "" } else { " NOT NULL" },
                    table_name(model)
                )
            }
        };
        match (&self.ty, self.optional) {
            (FieldType::References(_), _) | (_, true) => base,
            (_, false) => format!("{base} NOT NULL"),
        }
    }

    /// The Rust type of the field.
    pub fn rust_type(&self) -> String {
        let base = match self.ty {
            FieldType::String | FieldType::Text => "String",
            FieldType::Int => "i32",
            FieldType::BigInt | FieldType::References(_) => "i64",
            FieldType::Float => "f64",
            FieldType::Bool => "bool",
            FieldType::Date => "time::Date",
            FieldType::DateTime => "time::OffsetDateTime",
            FieldType::Uuid => "uuid::Uuid",
        };
        if self.optional {
            format!("Option<{base}>")
        } else {
            base.to_string()
        }
    }

    /// A value of the field's type, as Rust code, for tests (`n` varies it).
    pub(crate) fn sample(&self, n: u32, parent_ids: &[(String, String)]) -> String {
        let value = match &self.ty {
            FieldType::String => format!("\"{} {n}\".to_string()", self.name.replace('_', " ")),
            FieldType::Text => format!("\"Some {} text, {n}.\".to_string()", self.name),
            FieldType::Int => format!("{}", 40 + n),
            FieldType::BigInt => format!("{}_i64", 9_000_000_000_u64 + u64::from(n)),
            FieldType::Float => format!("{n}.5"),
            FieldType::Bool => (n % 2 == 1).to_string(),
            FieldType::Date => format!(
                "time::Date::from_calendar_date(2026, time::Month::November, {}).unwrap()",
                n % 28 + 1
            ),
            FieldType::DateTime => {
                format!(
                    "time::OffsetDateTime::from_unix_timestamp({}).unwrap()",
                    1_795_000_000 + n
                )
            }
            FieldType::Uuid => format!("uuid::Uuid::from_u128({n})"),
            FieldType::References(model) => match parent_ids.iter().find(|(m, _)| m == model) {
                Some((_, var)) => var.clone(),
                None if self.optional => return "None".into(),
                None => "0".into(),
            },
        };
        if self.optional {
            format!("Some({value})")
        } else {
            value
        }
    }
}

/// `post` → `posts`, `category` → `categories`, `box` → `boxes`.
pub fn table_name(model: &str) -> String {
    if model == "user" {
        return "users".into();
    }
    if let Some(stem) = model.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if model.ends_with('s')
        || model.ends_with('x')
        || model.ends_with("ch")
        || model.ends_with("sh")
    {
        return format!("{model}es");
    }
    format!("{model}s")
}

/// Words PostgreSQL or SQLite reserve: not usable as column names without quoting.
const SQL_RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "commit",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "delete",
    "desc",
    "distinct",
    "do",
    "drop",
    "else",
    "end",
    "escape",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "initially",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "set",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "transaction",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// Parse `name:type`, `name:type?`, `name:references:model`, `model:references`.
pub fn parse_field(arg: &str) -> Result<Field, CliError> {
    let bad = |why: &str| {
        CliError::Usage(format!(
            "field {arg:?}: {why}; write name:type, such as title:string, body:text?, \
             author:references:user (types: string, text, int, bigint, float, bool, date, \
             datetime, uuid, references:MODEL; ? for nullable)"
        ))
    };
    let mut parts = arg.splitn(3, ':');
    let name = parts.next().unwrap_or_default();
    let ty = parts.next().ok_or_else(|| bad("no type"))?;
    let rest = parts.next();
    check_snake_name("field", name)?;
    if SQL_RESERVED.contains(&name) {
        return Err(bad("that name is an SQL keyword; choose another"));
    }
    if matches!(name, "id" | "created_at" | "updated_at") {
        return Err(bad(
            "id, created_at and updated_at are made for every model",
        ));
    }
    let (ty, optional) = match ty.strip_suffix('?') {
        Some(t) => (t, true),
        None => (ty, false),
    };
    let (ty, optional) = match (ty, rest) {
        ("references", Some(model)) => {
            let (model, optional) = match model.strip_suffix('?') {
                Some(m) => (m, true),
                None => (model, optional),
            };
            check_snake_name("referenced model", model)?;
            (FieldType::References(model.to_string()), optional)
        }
        ("references", None) => (FieldType::References(name.to_string()), optional),
        (_, Some(_)) => return Err(bad("only references takes a model after it")),
        ("string", None) => (FieldType::String, optional),
        ("text", None) => (FieldType::Text, optional),
        ("int", None) => (FieldType::Int, optional),
        ("bigint", None) => (FieldType::BigInt, optional),
        ("float", None) => (FieldType::Float, optional),
        ("bool", None) => (FieldType::Bool, optional),
        ("date", None) => (FieldType::Date, optional),
        ("datetime", None) => (FieldType::DateTime, optional),
        ("uuid", None) => (FieldType::Uuid, optional),
        (other, None) => return Err(bad(&format!("unknown type {other:?}"))),
    };
    Ok(Field {
        name: name.to_string(),
        ty,
        optional,
    })
}

/// The fields of a model generated earlier, read from its file's first line.
/// Whether `model` (made by `torn gen scaffold --auth`) belongs to a user: its rows have an
/// `owner_id`, and it has `find_owned`.
pub(crate) fn is_owned(app: &AppDir, model: &str) -> Result<bool, CliError> {
    Ok(fields_of(app, model)?
        .unwrap_or_default()
        .iter()
        .any(is_owner_field))
}

fn is_owner_field(f: &Field) -> bool {
    f.column() == "owner_id" && f.ty == FieldType::References("user".into())
}

fn fields_of(app: &AppDir, model: &str) -> Result<Option<Vec<Field>>, CliError> {
    let path = app.root.join(format!("src/models/{model}.rs"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let marker = format!("`torn gen model {model}");
    let Some(at) = text.find(&marker) else {
        return Ok(None);
    };
    let line = &text[at + 1..];
    let line = &line[..line.find('`').unwrap_or(line.len())];
    let fields = line
        .split_whitespace()
        .skip(4)
        .map(parse_field)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(fields))
}

/// The plan for a model made at `unix_secs`.
pub fn plan(app: &AppDir, name: &str, args: &[String], unix_secs: u64) -> Result<Plan, CliError> {
    check_snake_name("model", name)?;
    if name == "user" || name == "mod" {
        return Err(CliError::Usage(format!(
            "model name {name:?} is taken (user is the accounts table); choose another"
        )));
    }
    if args.is_empty() {
        return Err(CliError::Usage(
            "give the model at least one field, such as title:string".into(),
        ));
    }
    let fields = args
        .iter()
        .map(|a| parse_field(a))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, f) in fields.iter().enumerate() {
        if fields[..i].iter().any(|g| g.column() == f.column()) {
            return Err(CliError::Usage(format!(
                "field {:?} is given twice",
                f.column()
            )));
        }
        if let FieldType::References(model) = &f.ty
            && model == name
            && !f.optional
        {
            return Err(CliError::Usage(format!(
                "field {:?} references its own model; make it optional ({}:references:{model}?) \
                 so the first row can exist",
                f.name, f.name
            )));
        }
        if f.ty == FieldType::References("user".into()) {
            app.require_accounts(&format!("field {:?} (a reference to a user)", f.name))?;
        }
        if let FieldType::References(model) = &f.ty
            && model != "user"
            && model != name
            && fields_of(app, model)?.is_none()
        {
            return Err(CliError::Usage(format!(
                "field {:?} references the model {model:?}, which this app does not have; make \
                 it first with `torn gen model {model} …`",
                f.name
            )));
        }
    }
    let table = table_name(name);
    let command = format!("torn gen model {name} {}", args.join(" "));
    let (up, down) = migration_sql(&table, &fields, &command);
    let mut plan = migration::plan(app, &format!("create_{table}"), unix_secs, &up, &down)?;
    plan.files.push((
        PathBuf::from(format!("src/models/{name}.rs")),
        crate::format_rust(&model_rs(name, &table, &fields, &command)),
    ));
    plan.files.push((
        PathBuf::from(format!("tests/model_{name}.rs")),
        crate::format_rust(&test_rs(app, name, &table, &fields)?),
    ));
    let models_mod = PathBuf::from("src/models/mod.rs");
    if !app.root.join(&models_mod).exists() {
        plan.files.push((
            models_mod.clone(),
            format!(
                "//! The app's tables, one module each; `torn gen model` adds them above the \
                 `{MODELS_MARK}` line.\n\n{MODELS_MARK}\n"
            ),
        ));
    }
    plan.inserts.push(Insert {
        path: PathBuf::from("src/lib.rs"),
        mark: MODULES_MARK.into(),
        line: "pub mod models;".into(),
        at: Place::Sorted,
    });
    plan.inserts.push(Insert {
        path: models_mod,
        mark: MODELS_MARK.into(),
        line: format!("pub mod {name};"),
        at: Place::Sorted,
    });
    Ok(plan)
}

fn migration_sql(table: &str, fields: &[Field], command: &str) -> (String, String) {
    let mut up = format!(
        "-- Made by `{command}`. Same SQL on SQLite and PostgreSQL.\n\nCREATE TABLE {table} (\n    \
         id BIGINT PRIMARY KEY,\n"
    );
    for f in fields {
        up.push_str(&format!("    {} {},\n", f.column(), f.sql_type()));
    }
    up.push_str("    created_at BIGINT NOT NULL,\n    updated_at BIGINT NOT NULL\n);\n");
    for f in fields {
        if matches!(f.ty, FieldType::References(_)) {
            up.push_str(&format!(
                "CREATE INDEX {table}_{col} ON {table} ({col});\n",
                col = f.column()
            ));
        }
    }
    up.push_str(&format!(
        "CREATE INDEX {table}_created_at ON {table} (created_at);\n"
    ));
    let down = format!("-- Undoes the table made by `{command}`.\n\nDROP TABLE {table};\n");
    (up, down)
}

fn model_rs(name: &str, table: &str, fields: &[Field], command: &str) -> String {
    let ty = camel(name);
    let columns: Vec<String> = fields.iter().map(Field::column).collect();
    let all_columns = format!("id, {}, created_at, updated_at", columns.join(", "));
    let struct_fields: String = fields
        .iter()
        .map(|f| {
            format!(
                "    /// `{}`.\n    pub {}: {},\n",
                f.column(),
                f.column(),
                f.rust_type()
            )
        })
        .collect();
    let insert_placeholders: Vec<String> =
        (0..fields.len()).map(|i| format!("${}", i + 2)).collect();
    let binds: String = fields
        .iter()
        .map(|f| {
            let by_ref = matches!(f.ty, FieldType::String | FieldType::Text);
            format!(
                ".bind({}input.{})",
                if by_ref { "&" } else { "" },
                f.column()
            )
        })
        .collect();
    let sets: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{} = ${}", f.column(), i + 3))
        .collect();
    let n = fields.len();
    format!(
        r#"//! The `{table}` table: `{command}`.

use torn::db::{{Db, new_id, now}};
use torn::with_db;

/// The columns, in the struct's order.
const COLUMNS: &str = "{all_columns}";

/// A row of `{table}`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct {ty} {{
    /// Random 63-bit id.
    pub id: i64,
{struct_fields}    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}}

/// The fields that are set when a row is made or changed.
#[derive(Clone, Debug, PartialEq)]
pub struct {ty}Input {{
{struct_fields}}}

impl {ty} {{
    /// Page `page` (from 1) of `per_page` rows, newest first.
    pub async fn list(db: &Db, page: u32, per_page: u32) -> sqlx::Result<Vec<{ty}>> {{
        let sql = format!(
            "SELECT {{COLUMNS}} FROM {table} ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
        );
        let offset = i64::from(page.max(1) - 1) * i64::from(per_page);
        with_db!(db, pool => {{
            sqlx::query_as::<_, {ty}>(&sql)
                .bind(i64::from(per_page))
                .bind(offset)
                .fetch_all(pool)
                .await
        }})
    }}

    /// How many rows there are.
    pub async fn count(db: &Db) -> sqlx::Result<i64> {{
        with_db!(db, pool => {{
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM {table}")
                .fetch_one(pool)
                .await
        }})
    }}

    /// The row with this id.
    pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<{ty}>> {{
        let sql = format!("SELECT {{COLUMNS}} FROM {table} WHERE id = $1");
        with_db!(db, pool => {{
            sqlx::query_as::<_, {ty}>(&sql).bind(id).fetch_optional(pool).await
        }})
    }}

    /// Make a row.
    pub async fn create(db: &Db, input: &{ty}Input) -> sqlx::Result<{ty}> {{
        let id = new_id();
        with_db!(db, pool => {{
            sqlx::query(
                "INSERT INTO {table} (id, {columns}, created_at, updated_at) \
                 VALUES ($1, {insert_placeholders}, ${now_at}, ${now_at})",
            )
            .bind(id)
            {binds}
            .bind(now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        }})?;
        Self::find(db, id).await?.ok_or(sqlx::Error::RowNotFound)
    }}

    /// Change the row with this id; `None` if there is none.
    pub async fn update(db: &Db, id: i64, input: &{ty}Input) -> sqlx::Result<Option<{ty}>> {{
        let changed = with_db!(db, pool => {{
            sqlx::query(
                "UPDATE {table} SET {sets}, updated_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(now())
            {binds}
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        }})?;
        if changed == 0 {{
            return Ok(None);
        }}
        Self::find(db, id).await
    }}

    /// Delete the row with this id; whether there was one.
    pub async fn delete(db: &Db, id: i64) -> sqlx::Result<bool> {{
        let deleted = with_db!(db, pool => {{
            sqlx::query("DELETE FROM {table} WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        }})?;
        Ok(deleted > 0)
    }}
}}
{owned}"#,
        owned = if fields.iter().any(is_owner_field) {
            owned_fns(&ty, table)
        } else {
            String::new()
        },
        columns = columns.join(", "),
        insert_placeholders = insert_placeholders.join(", "),
        now_at = n + 2,
        sets = sets.join(", "),
    )
}

/// Queries limited to the rows of one owner (`owner_id`), for scaffolds made with `--auth`.
fn owned_fns(ty: &str, table: &str) -> String {
    format!(
        r#"
/// Rows of one owner (the user in `owner_id`).
impl {ty} {{
    /// Page `page` (from 1) of this owner's rows, newest first.
    pub async fn list_owned(
        db: &Db,
        owner_id: i64,
        page: u32,
        per_page: u32,
    ) -> sqlx::Result<Vec<{ty}>> {{
        let sql = format!(
            "SELECT {{COLUMNS}} FROM {table} WHERE owner_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let offset = i64::from(page.max(1) - 1) * i64::from(per_page);
        with_db!(db, pool => {{
            sqlx::query_as::<_, {ty}>(&sql)
                .bind(owner_id)
                .bind(i64::from(per_page))
                .bind(offset)
                .fetch_all(pool)
                .await
        }})
    }}

    /// How many rows this owner has.
    pub async fn count_owned(db: &Db, owner_id: i64) -> sqlx::Result<i64> {{
        with_db!(db, pool => {{
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM {table} WHERE owner_id = $1")
                .bind(owner_id)
                .fetch_one(pool)
                .await
        }})
    }}

    /// The row with this id, if this owner has it.
    pub async fn find_owned(db: &Db, owner_id: i64, id: i64) -> sqlx::Result<Option<{ty}>> {{
        let sql = format!("SELECT {{COLUMNS}} FROM {table} WHERE id = $1 AND owner_id = $2");
        with_db!(db, pool => {{
            sqlx::query_as::<_, {ty}>(&sql)
                .bind(id)
                .bind(owner_id)
                .fetch_optional(pool)
                .await
        }})
    }}
}}
"#
    )
}

/// Code that makes a row of `model` (and first the rows it references), binding it to a
/// variable; returns the lines and the variable holding its id. With `owner`, the variable
/// holding a user's id, rows that belong to a user (`owner_id`) belong to that one.
pub(crate) fn make_row(
    app: &AppDir,
    model: &str,
    n: u32,
    owner: Option<&str>,
    seen: &mut Vec<String>,
    lines: &mut Vec<String>,
) -> Result<String, CliError> {
    let var = format!("{model}_{n}");
    // A row made already (two references reach the same model) is made once.
    if lines
        .iter()
        .any(|l| l.starts_with(&format!("let {var} = ")))
    {
        return Ok(var);
    }
    if model == "user" {
        lines.push(format!(
            "let {var} = accounts.create_without_password(\"user{n}@example.com\", true).await.unwrap().id;"
        ));
        return Ok(var);
    }
    if seen.iter().any(|m| m == model) {
        return Err(CliError::Usage(format!(
            "models reference each other in a cycle through {model:?}; torn gen cannot write \
             a test for that"
        )));
    }
    seen.push(model.to_string());
    let fields = fields_of(app, model)?.unwrap_or_default();
    let mut parents = Vec::new();
    for f in &fields {
        if owner.is_some() && is_owner_field(f) {
            continue;
        }
        if let FieldType::References(parent) = &f.ty
            && !f.optional
            && parent != model
            && !parents.iter().any(|(m, _)| m == parent)
        {
            let id = make_row(app, parent, n, owner, seen, lines)?;
            parents.push((parent.clone(), id));
        }
    }
    seen.pop();
    let ty = camel(model);
    let values: Vec<String> = fields
        .iter()
        .map(|f| {
            let value = match owner {
                Some(owner) if is_owner_field(f) => owner.to_string(),
                _ if matches!(&f.ty, FieldType::References(p) if p == model) => "None".to_string(),
                _ => f.sample(n, &parents),
            };
            if value == f.column() {
                value
            } else {
                format!("{}: {value}", f.column())
            }
        })
        .collect();
    lines.push(format!(
        "let {var} = crate_models::{model}::{ty}::create(&db, &crate_models::{model}::{ty}Input {{ {} }}).await.unwrap().id;",
        values.join(", ")
    ));
    Ok(var)
}

fn test_rs(app: &AppDir, name: &str, table: &str, fields: &[Field]) -> Result<String, CliError> {
    let ty = camel(name);
    let krate = &app.crate_name;
    let mut setup = Vec::new();
    let mut parents: Vec<(String, String)> = Vec::new();
    let mut seen = vec![name.to_string()];
    for f in fields {
        if let FieldType::References(model) = &f.ty
            && model != name
            && !parents.iter().any(|(m, _)| m == model)
        {
            let id = make_row(app, model, 1, None, &mut seen, &mut setup)?;
            parents.push((model.clone(), id));
        }
    }
    let needs_accounts = setup.iter().any(|l| l.contains("accounts."));
    let input = |n: u32| -> String {
        let values: Vec<String> = fields
            .iter()
            .map(|f| {
                let value = if matches!(&f.ty, FieldType::References(m) if m == name) {
                    "None".to_string()
                } else {
                    f.sample(n, &parents)
                };
                format!("{}: {value}", f.column())
            })
            .collect();
        format!("{ty}Input {{ {} }}", values.join(", "))
    };
    let accounts = if needs_accounts {
        "    let settings = std::sync::Arc::new(torn::Settings::for_test(env!(\"CARGO_MANIFEST_DIR\")));\n    \
         let accounts = torn::Accounts::new(db.clone(), settings).await.unwrap();\n"
            .to_string()
    } else {
        String::new()
    };
    let setup = setup
        .iter()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
        .replace("crate_models::", &format!("{krate}::models::"));
    Ok(format!(
        r#"//! The `{table}` model on a fresh database, made by `torn gen model {name}`.

use {krate}::models::{name}::{{{ty}, {ty}Input}};
use torn::db::Db;
use torn::test::TestDatabase;

/// A fresh database (PostgreSQL when TORN_TEST_POSTGRES_URL is set, else SQLite), migrated.
async fn db() -> (Db, TestDatabase) {{
    let database = TestDatabase::new().await;
    let db = Db::connect(database.url()).await.unwrap();
    db.migrate(&{krate}::MIGRATOR).await.unwrap();
    (db, database)
}}

#[tokio::test]
async fn {table}_are_made_found_listed_changed_and_deleted() {{
    let (db, _database) = db().await;
{accounts}{setup}    let first = {ty}::create(&db, &{first}).await.unwrap();
    let second = {ty}::create(&db, &{second}).await.unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!({ty}::find(&db, first.id).await.unwrap().as_ref(), Some(&first));
    assert_eq!({ty}::count(&db).await.unwrap(), 2);
    let page = {ty}::list(&db, 1, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!({ty}::list(&db, 2, 1).await.unwrap().len(), 1);
    assert!({ty}::list(&db, 3, 1).await.unwrap().is_empty());

    let changed = {ty}::update(&db, first.id, &{second}).await.unwrap().unwrap();
    assert_eq!(changed.id, first.id);
    assert_eq!(changed.created_at, first.created_at);
    assert!({ty}::update(&db, -1, &{second}).await.unwrap().is_none());

    assert!({ty}::delete(&db, first.id).await.unwrap());
    assert!(!{ty}::delete(&db, first.id).await.unwrap());
    assert_eq!({ty}::find(&db, first.id).await.unwrap(), None);
    assert_eq!({ty}::count(&db).await.unwrap(), 1);
    db.close().await;
}}
"#,
        first = input(1),
        second = input(2),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse() {
        let f = parse_field("body:text?").unwrap();
        assert_eq!((f.ty, f.optional), (FieldType::Text, true));
        let f = parse_field("author:references:user").unwrap();
        assert_eq!(f.ty, FieldType::References("user".into()));
        assert_eq!(f.column(), "author_id");
        let f = parse_field("post:references").unwrap();
        assert_eq!(
            (f.ty.clone(), f.column()),
            (FieldType::References("post".into()), "post_id".into())
        );
        for bad in [
            "title",
            "title:str",
            "Title:string",
            "id:bigint",
            "x:string:y",
            "x:references:Bad",
            "order:int",
        ] {
            assert!(parse_field(bad).is_err(), "{bad}");
        }
        assert_eq!(table_name("post"), "posts");
        assert_eq!(table_name("category"), "categories");
        assert_eq!(table_name("day"), "days");
        assert_eq!(table_name("box"), "boxes");
    }
}
