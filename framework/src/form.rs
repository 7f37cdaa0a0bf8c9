//! Reading form fields into typed values, with messages for the person who typed them.
//!
//! HTML forms send text. [`required`] and [`optional`] turn one field's text into a value
//! ([`FormValue`]: text, integers, numbers, dates, date-times, UUIDs) or a message such as
//! "must be a whole number"; [`FieldErrors`] collects the messages by field so a page can show
//! each next to its input, with what was typed kept. [`FormValue::to_form`] goes the other way,
//! to fill an edit form.
//!
//! ```
//! use torn::form::{FieldErrors, optional, required};
//!
//! let mut errors = FieldErrors::default();
//! let title: Option<String> = errors.take("title", required("  Hello "));
//! let views: Option<i32> = errors.take("views", required("many"));
//! let score: Option<Option<f64>> = errors.take("score", optional(""));
//! assert_eq!(title.as_deref(), Some("Hello"));
//! assert_eq!(views, None);
//! assert_eq!(errors.get("views"), Some("must be a whole number"));
//! assert_eq!(score, Some(None));
//! ```

/// A type a form field can hold.
pub trait FormValue: Sized {
    /// Read the (trimmed, non-empty) text of a field.
    fn from_form(text: &str) -> Result<Self, String>;
    /// The text to put back in an input for this value.
    fn to_form(&self) -> String;
}

impl FormValue for String {
    fn from_form(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }
    fn to_form(&self) -> String {
        self.clone()
    }
}

macro_rules! numbers {
    ($($t:ty => $what:literal),+) => {$(
        impl FormValue for $t {
            fn from_form(text: &str) -> Result<Self, String> {
                text.parse::<$t>().map_err(|_| $what.to_string())
            }
            fn to_form(&self) -> String {
                self.to_string()
            }
        }
    )+};
}

numbers!(i32 => "must be a whole number", i64 => "must be a whole number");

impl FormValue for f64 {
    fn from_form(text: &str) -> Result<Self, String> {
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            _ => Err("must be a number".into()),
        }
    }
    fn to_form(&self) -> String {
        self.to_string()
    }
}

/// A checkbox: checked (`on`, `true`, `1`, `yes`) or not. An unchecked box sends nothing, so
/// read it with [`checkbox`] rather than [`required`].
impl FormValue for bool {
    fn from_form(text: &str) -> Result<Self, String> {
        Ok(matches!(
            text.to_ascii_lowercase().as_str(),
            "on" | "true" | "1" | "yes"
        ))
    }
    fn to_form(&self) -> String {
        if *self { "on".into() } else { String::new() }
    }
}

fn numbers_of(text: &str, sep: char, n: usize) -> Option<Vec<u32>> {
    let parts: Vec<&str> = text.split(sep).collect();
    if parts.len() != n || parts.iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    parts.iter().map(|p| p.parse().ok()).collect()
}

fn date_of(text: &str) -> Option<time::Date> {
    let p = numbers_of(text, '-', 3)?;
    let month = time::Month::try_from(u8::try_from(p[1]).ok()?).ok()?;
    time::Date::from_calendar_date(i32::try_from(p[0]).ok()?, month, u8::try_from(p[2]).ok()?).ok()
}

/// `YYYY-MM-DD`, as `<input type="date">` sends it.
impl FormValue for time::Date {
    fn from_form(text: &str) -> Result<Self, String> {
        date_of(text).ok_or_else(|| "must be a date (YYYY-MM-DD)".into())
    }
    fn to_form(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}",
            self.year(),
            u8::from(self.month()),
            self.day()
        )
    }
}

/// `YYYY-MM-DDTHH:MM` (or with `:SS`), as `<input type="datetime-local">` sends it, read as
/// UTC.
impl FormValue for time::OffsetDateTime {
    fn from_form(text: &str) -> Result<Self, String> {
        let bad = || "must be a date and time (YYYY-MM-DDTHH:MM)".to_string();
        let (date, clock) = text.split_once(['T', ' ']).ok_or_else(bad)?;
        let date = date_of(date).ok_or_else(bad)?;
        let hms = numbers_of(clock, ':', 3)
            .or_else(|| {
                numbers_of(clock, ':', 2).map(|mut v| {
                    v.push(0);
                    v
                })
            })
            .ok_or_else(bad)?;
        let clock = time::Time::from_hms(
            u8::try_from(hms[0]).map_err(|_| bad())?,
            u8::try_from(hms[1]).map_err(|_| bad())?,
            u8::try_from(hms[2]).map_err(|_| bad())?,
        )
        .map_err(|_| bad())?;
        Ok(time::PrimitiveDateTime::new(date, clock).assume_utc())
    }
    fn to_form(&self) -> String {
        let utc = self.to_offset(time::UtcOffset::UTC);
        format!(
            "{}T{:02}:{:02}",
            utc.date().to_form(),
            utc.hour(),
            utc.minute()
        )
    }
}

impl FormValue for uuid::Uuid {
    fn from_form(text: &str) -> Result<Self, String> {
        uuid::Uuid::parse_str(text).map_err(|_| "must be a UUID".into())
    }
    fn to_form(&self) -> String {
        self.to_string()
    }
}

/// A field that must be filled in.
pub fn required<T: FormValue>(text: &str) -> Result<T, String> {
    match text.trim() {
        "" => Err("can't be blank".into()),
        t => T::from_form(t),
    }
}

/// A field that may be left empty (`None`).
pub fn optional<T: FormValue>(text: &str) -> Result<Option<T>, String> {
    match text.trim() {
        "" => Ok(None),
        t => T::from_form(t).map(Some),
    }
}

/// A checkbox, from the field's value if the browser sent one.
pub fn checkbox(text: Option<&str>) -> bool {
    text.is_some_and(|t| bool::from_form(t.trim()).unwrap_or(false))
}

/// A text that must be at most `max` characters.
pub fn at_most(text: Result<String, String>, max: usize) -> Result<String, String> {
    match text {
        Ok(t) if t.chars().count() > max => Err(format!("is too long (at most {max} characters)")),
        other => other,
    }
}

/// A text that may be left empty and, when filled in, must be at most `max` characters.
pub fn optional_at_most(
    text: Result<Option<String>, String>,
    max: usize,
) -> Result<Option<String>, String> {
    match text {
        Ok(Some(t)) => at_most(Ok(t), max).map(Some),
        other => other,
    }
}

/// The text of `field` of a JSON object, as a form would send it, for [`required`] and
/// [`optional`] to read: a string as it is, a number written out, `null` or no such field as
/// empty. A list, an object or `true` is no value for a text field.
fn json_text(body: &serde_json::Value, field: &str) -> Result<String, String> {
    match body.get(field) {
        None | Some(serde_json::Value::Null) => Ok(String::new()),
        Some(serde_json::Value::String(text)) => Ok(text.clone()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err("must be text or a number".to_string()),
    }
}

/// A checkbox field of a JSON object, as a form would send it, for [`checkbox`] to read: `true`
/// is checked; `false`, `null` or no such field is not.
fn json_checkbox(body: &serde_json::Value, field: &str) -> Result<Option<String>, String> {
    match body.get(field) {
        None | Some(serde_json::Value::Null | serde_json::Value::Bool(false)) => Ok(None),
        Some(serde_json::Value::Bool(true)) => Ok(Some("on".to_string())),
        Some(_) => Err("must be true or false".to_string()),
    }
}

/// The text to put back in an input for an optional value (empty for `None`).
pub fn optional_to_form<T: FormValue>(value: &Option<T>) -> String {
    value.as_ref().map(FormValue::to_form).unwrap_or_default()
}

/// Messages by field name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors {
    errors: Vec<(String, String)>,
}

impl FieldErrors {
    /// The value, or `None` after recording the message for `field`.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// Record a message for a field.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push((field.to_string(), message.into()));
    }

    /// The first message for a field.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The text of `field` of a JSON object (a JSON API's body), as a form would send it, for
    /// [`required`] and [`optional`] to read: a string as it is, a number written out, `null`
    /// or no such field as empty. A list, an object or a boolean is no value for a text field:
    /// its message is recorded, and the text is empty.
    pub fn text_from_json(&mut self, body: &serde_json::Value, field: &str) -> String {
        let text = json_text(body, field);
        self.take(field, text).unwrap_or_default()
    }

    /// A checkbox field of a JSON object, as a form would send it, for [`checkbox`] to read:
    /// `true` is checked; `false`, `null` or no such field is not; anything else records its
    /// message.
    pub fn checkbox_from_json(&mut self, body: &serde_json::Value, field: &str) -> Option<String> {
        let checked = json_checkbox(body, field);
        self.take(field, checked).flatten()
    }

    /// The first message of each field, as a JSON object (`{"title": "can't be blank"}`): what
    /// a JSON API answers with `422`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut fields = serde_json::Map::new();
        for (field, message) in &self.errors {
            fields
                .entry(field.clone())
                .or_insert_with(|| serde_json::Value::String(message.clone()));
        }
        serde_json::Value::Object(fields)
    }

    /// No messages?
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every (field, message), in the order found.
    pub fn all(&self) -> &[(String, String)] {
        &self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_and_written_back() {
        assert_eq!(required::<i32>(" 42 "), Ok(42));
        assert!(required::<i32>("4.2").is_err());
        assert!(required::<i32>("99999999999").is_err());
        assert_eq!(required::<i64>("99999999999"), Ok(99_999_999_999));
        assert_eq!(required::<f64>("1.5"), Ok(1.5));
        assert!(required::<f64>("NaN").is_err() && required::<f64>("inf").is_err());
        assert_eq!(required::<String>(""), Err("can't be blank".into()));
        assert_eq!(optional::<String>("  "), Ok(None));
        let date = required::<time::Date>("2026-11-25").unwrap();
        assert_eq!(date.to_form(), "2026-11-25");
        for bad in ["2026-13-01", "2026-02-30", "25/11/2026", "2026-11", "x"] {
            assert!(required::<time::Date>(bad).is_err(), "{bad}");
        }
        let at = required::<time::OffsetDateTime>("2026-11-25T17:05").unwrap();
        assert_eq!(at.unix_timestamp(), 1_795_626_300);
        assert_eq!(at.to_form(), "2026-11-25T17:05");
        assert!(required::<time::OffsetDateTime>("2026-11-25T17:05:07").is_ok());
        assert!(required::<time::OffsetDateTime>("2026-11-25T25:00").is_err());
        let id = required::<uuid::Uuid>("00000000-0000-0000-0000-000000000001").unwrap();
        assert_eq!(id, uuid::Uuid::from_u128(1));
        assert!(required::<uuid::Uuid>("nope").is_err());
        assert!(checkbox(Some("on")) && !checkbox(None) && !checkbox(Some("off")));
        assert_eq!(
            at_most(Ok("abcd".into()), 3),
            Err("is too long (at most 3 characters)".into())
        );
        assert_eq!(optional_at_most(optional("  "), 3), Ok(None));
        assert_eq!(
            optional_at_most(optional(" abc "), 3),
            Ok(Some("abc".into()))
        );
        assert!(optional_at_most(optional("abcd"), 3).is_err());
        assert_eq!(optional_to_form::<i32>(&None), "");
        assert_eq!(optional_to_form(&Some(7)), "7");
    }
}
