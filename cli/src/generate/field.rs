//! The fields of `torn gen model` and `torn gen scaffold`: `name:type` arguments, their
//! columns, SQL and Rust types, and sample values for the tests the generators write.

use crate::CliError;

use super::check_snake_name;

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

    pub(crate) fn sql_type(&self) -> String {
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
