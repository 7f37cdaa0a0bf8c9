//! `torn gen model NAME field:type …`: a table (a reversible migration that SQLite and
//! PostgreSQL both run), a model in `src/models/NAME.rs` with its queries, and a test.
//!
//! Types: `string`, `text`, `int`, `bigint`, `float`, `bool`, `date`, `datetime`, `uuid`, and
//! `references:MODEL` (a `<field>_id` column pointing at MODEL's table; `user` is the accounts
//! table). A `?` after the type makes the column nullable: `body:text?`.

use super::field::{Field, FieldType, parse_field, table_name};
use super::{AppDir, Plan, camel, check_snake_name, layout, migration, template};
use crate::CliError;

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

/// The fields a model was generated with, read back from its file (or its migration).
pub fn recorded(app: &AppDir, name: &str) -> Result<Vec<String>, CliError> {
    let path = format!("src/models/{name}.rs");
    let text = app.read(std::path::Path::new(&path))?.unwrap_or_default();
    if let Some(args) = super::destroy::recorded_args(&text, "model", name) {
        return Ok(args);
    }
    // The model's file is gone (a `torn destroy` that kept the migration): its migration
    // says the same.
    let migrations = std::fs::read_dir(app.root.join("migrations"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".up.sql"));
    for entry in migrations {
        let sql = std::fs::read_to_string(entry.path()).unwrap_or_default();
        if let Some(args) = super::destroy::recorded_args(&sql, "model", name) {
            return Ok(args);
        }
    }
    Err(super::destroy::not_generated(
        &format!("model {name}"),
        &path,
    ))
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
    let ty = camel(name);
    let mut setup = Setup::default();
    let mut parents: Vec<(String, String)> = Vec::new();
    let mut seen = vec![name.to_string()];
    for f in &fields {
        if let FieldType::References(model) = &f.ty
            && model != name
            && !parents.iter().any(|(m, _)| m == model)
        {
            let id = make_row(app, model, 1, None, &mut seen, &mut setup)?;
            parents.push((model.clone(), id));
        }
    }
    let input = |n: u32| -> Vec<String> {
        fields
            .iter()
            .map(|f| {
                let value = if matches!(&f.ty, FieldType::References(m) if m == name) {
                    "None".to_string()
                } else {
                    f.sample(n, &parents)
                };
                format!("{}: {value}", f.column())
            })
            .collect()
    };
    let krate = &app.crate_name;
    let mut test_uses = vec![
        format!("use {krate}::models::{name}::{{{ty}, {ty}Input}};"),
        "use torn::db::Db;".to_string(),
        "use torn::test::TestDatabase;".to_string(),
    ];
    test_uses.extend(setup.uses.iter().map(|m| model_use(krate, m)));
    let columns = fields
        .iter()
        .map(Field::column)
        .collect::<Vec<_>>()
        .join(", ");
    let model = Model {
        columns_const: layout::const_str(
            "COLUMNS",
            &format!("id, {columns}, created_at, updated_at"),
        ),
        columns,
        insert_placeholders: (2..fields.len() + 2)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", "),
        now_at: fields.len() + 2,
        sets: fields
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{} = ${}", f.column(), i + 3))
            .collect::<Vec<_>>()
            .join(", "),
        update_signature: layout::signature(
            4,
            "pub async fn update",
            &["db: &Db", "id: i64", &format!("input: &{ty}Input")],
            "sqlx::Result<Option<Self>>",
        ),
        owned: fields.iter().any(is_owner_field),
        first: !app.root.join("src/models/mod.rs").exists(),
        changed_check: layout::call(
            4,
            "assert_eq!",
            &[
                format!("changed.{}", fields[0].column()),
                format!("two.{}", fields[0].column()),
            ],
            ";",
        ),
        find_sql: layout::let_call(
            8,
            "sql",
            "format!",
            &[format!("\"SELECT {{COLUMNS}} FROM {table} WHERE id = $1\"")],
        ),
        find_owned_sql: layout::let_call(
            8,
            "sql",
            "format!",
            &[format!(
                "\"SELECT {{COLUMNS}} FROM {table} WHERE id = $1 AND owner_id = $2\""
            )],
        ),
        fields: fields.iter().map(Column::of).collect(),
        needs_accounts: setup.accounts,
        test_uses: sorted(test_uses),
        setup: setup.lines,
        one: layout::let_struct("one", &format!("{ty}Input"), &input(1)),
        two: layout::let_struct("two", &format!("{ty}Input"), &input(2)),
        crate_name: krate.clone(),
        name: name.to_string(),
        ty,
        table,
        command,
    };
    let mut plan = migration::plan(
        app,
        &format!("create_{}", model.table),
        unix_secs,
        &render(&model, "up.sql")?,
        &render(&model, "down.sql")?,
    )?;
    let files = template::plan("model", |file| render(&model, file))?;
    plan.files.extend(files.files);
    plan.inserts.extend(files.inserts);
    Ok(plan)
}

/// What the templates in `templates/gen/model/` see.
struct Model {
    /// `post`: the module.
    name: String,
    /// `Post`: the row's type.
    ty: String,
    /// `posts`.
    table: String,
    /// The command that made it, written in the files.
    command: String,
    /// The app's crate, for the test.
    crate_name: String,
    /// The fields, in the order given.
    fields: Vec<Column>,
    /// `title, body`: the fields' columns.
    columns: String,
    /// `const COLUMNS: &str = "id, title, body, created_at, updated_at";`, laid out.
    columns_const: String,
    /// `$2, $3`: their places in the INSERT.
    insert_placeholders: String,
    /// The place of `now()` in the INSERT.
    now_at: usize,
    /// `title = $3, body = $4`: the UPDATE's assignments.
    sets: String,
    /// `pub async fn update(…) -> … {`, laid out.
    update_signature: String,
    /// Whether rows belong to a user (`owner_id`, from `torn gen scaffold --auth`).
    owned: bool,
    /// Whether this is the app's first model (`src/models/mod.rs` is made).
    first: bool,
    /// The test's check of the first field after a change.
    changed_check: String,
    /// `let sql = format!("SELECT … WHERE id = $1");` in `find` and `find_owned`, laid out.
    find_sql: String,
    find_owned_sql: String,
    /// The test's `use` lines, sorted as rustfmt sorts them.
    test_uses: Vec<String>,
    /// Whether the test sets up accounts (a field references a user).
    needs_accounts: bool,
    /// The test's lines that make the rows the fields reference.
    setup: Vec<String>,
    /// `let one = PostInput { … };` and `let two = …`: two rows' fields.
    one: String,
    two: String,
}

/// A field as the templates see it.
struct Column {
    /// Its column and struct field.
    column: String,
    /// Its Rust type.
    rust_type: String,
    /// Its SQL type, with `NOT NULL` and `REFERENCES`.
    sql_type: String,
    /// Whether it is bound by reference (text).
    by_ref: bool,
    /// Whether it references another table (it gets an index).
    reference: bool,
}

impl Column {
    fn of(f: &Field) -> Self {
        Column {
            column: f.column(),
            rust_type: f.rust_type(),
            sql_type: f.sql_type(),
            by_ref: matches!(f.ty, FieldType::String | FieldType::Text),
            reference: matches!(f.ty, FieldType::References(_)),
        }
    }
}

template::templates!(Model, "model" {
    Manifest = "model/manifest.toml",
    ModelRs = "model/model.rs",
    TestRs = "model/test.rs",
    ModRs = "model/mod.rs",
    UpSql = "model/up.sql",
    DownSql = "model/down.sql",
});

/// `use krate::models::post::{Post, PostInput};`.
pub(crate) fn model_use(krate: &str, model: &str) -> String {
    let ty = camel(model);
    format!("use {krate}::models::{model}::{{{ty}, {ty}Input}};")
}

/// `use` lines without repeats, in rustfmt's order.
pub(crate) fn sorted(mut uses: Vec<String>) -> Vec<String> {
    uses.sort_by_key(|u| u.trim_end_matches(';').to_string());
    uses.dedup();
    uses
}

/// The lines a test runs first to make the rows its fields reference, and the models whose
/// types those lines use.
#[derive(Debug, Default)]
pub(crate) struct Setup {
    /// The lines, four spaces in.
    pub lines: Vec<String>,
    /// The models they make rows of.
    pub uses: Vec<String>,
    /// Whether they use `accounts` (to make users).
    pub accounts: bool,
}

/// Add to `setup` the lines that make a row of `model` (and first the rows it references),
/// binding its id to a variable; returns the variable. With `owner`, the variable holding a
/// user's id, rows that belong to a user (`owner_id`) belong to that one.
pub(crate) fn make_row(
    app: &AppDir,
    model: &str,
    n: u32,
    owner: Option<&str>,
    seen: &mut Vec<String>,
    setup: &mut Setup,
) -> Result<String, CliError> {
    let var = format!("{model}_{n}");
    // A row made already (two references reach the same model) is made once.
    let made = format!("    let {var} = ");
    if setup.lines.iter().any(|l| l.starts_with(&made)) {
        return Ok(var);
    }
    if model == "user" {
        setup.lines.push(format!(
            "{made}accounts\n        .create_without_password(\"user{n}@example.com\", true)\n        \
             .await\n        .unwrap()\n        .id;"
        ));
        setup.accounts = true;
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
            let id = make_row(app, parent, n, owner, seen, setup)?;
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
    setup
        .lines
        .push(layout::let_struct("input", &format!("{ty}Input"), &values));
    setup.lines.push(format!(
        "{made}{ty}::create(&db, &input).await.unwrap().id;"
    ));
    setup.uses.push(model.to_string());
    Ok(var)
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
