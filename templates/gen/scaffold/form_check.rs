/// What the form sends, as typed, so that it can be shown again with the messages.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct [[ ty ]]Form {
[%- for f in fields %]
    [[ f.column ]]: [% if f.kind == "bool" %]Option<String>[% else %]String[% endif %],
[%- endfor %]
}

impl [[ ty ]]Form {
[%- if api %]
    /// The fields of a JSON object as a form would send them, or a message for each field
    /// whose value is of the wrong kind.
    fn from_json(body: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !body.is_object() {
            errors.add("_body", "must be a JSON object");
            return Err(errors);
        }
        let form = Self {
[%- for line in json_reads %]
[[ line ]]
[%- endfor %]
        };
        if errors.is_empty() {
            Ok(form)
        } else {
            Err(errors)
        }
    }
[%- else %]
    fn from_row(row: &[[ ty ]]) -> Self {
        Self {
[%- for f in fields %]
            [[ f.column ]]: [% if f.kind == "bool" %]row.[[ f.column ]].then(|| "on".to_string())[% else if f.optional %]optional_to_form(&row.[[ f.column ]])[% else %]row.[[ f.column ]].to_form()[% endif %],
[%- endfor %]
        }
    }
[%- endif %]

    /// The typed values, or a message for each field that is not right.
[[ check_signature ]]
        let [[ errors_mut ]]errors = FieldErrors::default();
[%- for line in reads %]
[[ line ]]
[%- endfor %]
[%- if !let_else.is_empty() %]
[[ let_else ]]
            return Ok(Err(errors));
        };
[%- endif %]
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        Ok(Ok([[ input_literal ]]))
    }
}
