//! The pieces of a scaffold's test that depend on its fields: the rows it makes first, what
//! it types into the form, and what it checks.

use crate::CliError;

use super::super::field::{Field, FieldType};
use super::super::{AppDir, layout, model, title};

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

/// The pieces of the scaffold's test that depend on the fields.
pub(super) struct TestParts {
    pub(super) uses: Vec<String>,
    pub(super) accounts: bool,
    pub(super) setup: Vec<String>,
    pub(super) first: String,
    pub(super) second: String,
    pub(super) required: Option<String>,
    pub(super) mistyped_label: Option<String>,
    pub(super) mistyped: String,
    pub(super) shown_first: Option<String>,
    pub(super) shown_second: Option<String>,
    /// Where the first text field is in the lists of fields (for the API's JSON).
    pub(super) shown_json: Option<(usize, usize)>,
    pub(super) owner_id: &'static str,
    pub(super) others_parent: bool,
}

impl TestParts {
    pub(super) fn new(
        app: &AppDir,
        name: &str,
        fields: &[Field],
        auth: bool,
        owned: &[String],
    ) -> Result<Self, CliError> {
        let mut setup = model::Setup::default();
        let mut parents: Vec<(String, String)> = Vec::new();
        let mut seen = vec![name.to_string()];
        for f in fields {
            if let FieldType::References(model) = &f.ty
                && model != name
                && !parents.iter().any(|(m, _)| m == model)
            {
                let owner = auth.then_some("owner_id");
                let id = model::make_row(app, model, 1, owner, &mut seen, &mut setup)?;
                parents.push((model.clone(), id));
            }
        }
        let fields_for = |k: u32, bad: Option<&str>| -> Vec<String> {
            fields
                .iter()
                .map(|f| {
                    let value = match &f.ty {
                        _ if bad == Some(f.column().as_str()) => {
                            "\"not valid\".to_string()".to_string()
                        }
                        FieldType::References(m) if m == name => "String::new()".into(),
                        _ => typed(f, k, &parents),
                    };
                    let pair = [format!("\"{}\"", f.column()), value];
                    layout::list("(", &pair, ")", (8, 8, 1), layout::CALL_WIDTH, false)
                })
                .collect()
        };
        // The first text field: its value shows on the row's page.
        let shown = fields
            .iter()
            .position(|f| matches!(f.ty, FieldType::String | FieldType::Text));
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
        let krate = &app.crate_name;
        let mut uses = vec![
            "use torn::Settings;".to_string(),
            "use torn::db::Db;".to_string(),
            "use torn::test::{TestDatabase, TestResponse, TestServer, form_field, reqwest};"
                .to_string(),
        ];
        uses.extend(setup.uses.iter().map(|m| model::model_use(krate, m)));
        Ok(TestParts {
            uses: model::sorted(uses),
            accounts: auth || setup.accounts,
            // Rows the test makes first belong to the user it logs in as (`owner_id`).
            owner_id: if setup.lines.iter().any(|l| l.contains("owner_id")) {
                "let owner_id = "
            } else {
                ""
            },
            setup: setup.lines,
            first: layout::let_vec("first", &fields_for(1, None)),
            second: layout::let_vec("second", &fields_for(2, None)),
            required: fields
                .iter()
                .find(|f| !f.optional && f.ty != FieldType::Bool)
                .map(|f| title(&f.name)),
            mistyped_label: mistyped.map(|f| title(&f.name)),
            mistyped: mistyped
                .map(|bad| layout::let_vec("mistyped", &fields_for(1, Some(&bad.column()))))
                .unwrap_or_default(),
            shown_first: shown.map(|i| format!("first[{i}].1")),
            shown_second: shown.map(|i| format!("second[{i}].1")),
            shown_json: shown.map(|i| (i, i)),
            others_parent: owned.iter().any(|m| *m != name),
        })
    }
}
