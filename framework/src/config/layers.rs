//! Where settings come from, lowest first: each group's defaults (groups.rs), the profile's
//! built-in defaults ([`PROFILE_DEFAULTS`]), `[default]`, the profile's own section, then the
//! environment ([`ENVIRONMENT`]). Every layer is a flat TOML table; they are merged into one
//! table, which is deserialized once.

use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use toml::{Table, Value};

use super::{ConfigError, Env};

/// The sections of `torn.toml`.
pub(super) const SECTIONS: [&str; 4] = ["default", "dev", "test", "prod"];

/// The defaults that depend on the profile, below the app's own `[default]`: prod marks cookies
/// `Secure` and sends HSTS; each profile has its log filter (dev's is the groups' default).
const PROFILE_DEFAULTS: &str = r#"
[test]
log = "warn"

[prod]
secure_cookies = true
hsts = true
log = "info"
log_format = "json"
"#;

/// How a variable's text becomes the key's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// The text itself; an empty variable counts as unset.
    Text,
    /// A port number.
    Port,
    /// A list separated by commas; an empty variable is an empty list.
    List,
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool,
    /// A whole number of seconds, 0 or more.
    Secs,
}

/// The environment variables that set a key: (variable, key, kind). `TORN_ENV` (the profile),
/// `TORN_COOKIE_SECRET` (secrets with key versions) and `TORN_OAUTH_<NAME>_…` (providers) are
/// read where those are resolved.
pub(super) const ENVIRONMENT: [(&str, &str, Kind); 18] = [
    ("HOST", "host", Kind::Text),
    ("PORT", "port", Kind::Port),
    ("DATABASE_URL", "database_url", Kind::Text),
    ("TORN_LOG", "log", Kind::Text),
    ("TORN_LOG_FORMAT", "log_format", Kind::Text),
    ("TORN_SMTP_URL", "smtp_url", Kind::Text),
    ("TORN_SMTP_CA_FILE", "smtp_ca_file", Kind::Text),
    ("TORN_MAIL_FROM", "mail_from", Kind::Text),
    ("TORN_BASE_URL", "base_url", Kind::Text),
    ("TORN_TRUSTED_PROXIES", "trusted_proxies", Kind::List),
    ("TORN_PROXY_HEADER", "proxy_header", Kind::Text),
    ("TORN_PUBSUB", "pubsub", Kind::Text),
    ("TORN_SESSION_STORE", "session_store", Kind::Text),
    ("TORN_RUN_JOBS", "run_jobs", Kind::Bool),
    ("TORN_JOB_LEASE_SECS", "job_lease_secs", Kind::Secs),
    ("TORN_JOB_BACKOFF_SECS", "job_backoff_secs", Kind::Secs),
    ("TORN_METRICS_LISTEN", "metrics_listen", Kind::Text),
    ("TORN_METRICS_TOKEN", "metrics_token", Kind::Text),
];

/// `torn.toml`'s sections by name (a missing file has none). Anything but the four sections
/// at the top is refused, so a key outside a section or a misspelled profile is not ignored.
pub(super) fn read_file(path: &Path) -> Result<Table, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Table::new()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let invalid = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let file: Table = toml::from_str(&text).map_err(|e| invalid(e.message().to_string()))?;
    for (name, value) in &file {
        if !value.is_table() {
            return Err(invalid(format!(
                "`{name}` is outside any section; put it under [default] (every profile) or \
                 [dev], [test] or [prod]"
            )));
        }
        if !SECTIONS.contains(&name.as_str()) {
            return Err(invalid(format!(
                "unknown section `{name}`; the sections are [default], [dev], [test] and \
                 [prod], and every key goes in one of them"
            )));
        }
    }
    Ok(file)
}

/// A profile's layers from the file, lowest first: its built-in defaults, `[default]`, its
/// own section.
pub(super) fn profile(file: &Table, env: Env) -> Table {
    let mut builtin: Table = toml::from_str(PROFILE_DEFAULTS).expect("PROFILE_DEFAULTS is TOML");
    let mut table = section(&mut builtin, env.as_str());
    for name in ["default", env.as_str()] {
        if let Some(Value::Table(layer)) = file.get(name) {
            merge(&mut table, layer.clone());
        }
    }
    table
}

/// Take one section out of a table (empty if absent).
fn section(file: &mut Table, name: &str) -> Table {
    match file.remove(name) {
        Some(Value::Table(table)) => table,
        _ => Table::new(),
    }
}

/// The keys that environment variables set.
pub(super) fn environment(vars: &impl Fn(&str) -> Option<String>) -> Result<Table, ConfigError> {
    let mut table = Table::new();
    for (var, key, kind) in ENVIRONMENT {
        let Some(text) = vars(var) else { continue };
        let value = match kind {
            Kind::Text if text.is_empty() => continue,
            Kind::Text => Value::String(text),
            Kind::Port if text.is_empty() => continue,
            Kind::Port => match text.trim().parse::<u16>() {
                Ok(port) => Value::Integer(port.into()),
                Err(_) => {
                    return Err(ConfigError::Invalid(format!(
                        "{var} is {text:?}; expected a number from 0 to 65535"
                    )));
                }
            },
            Kind::List => Value::Array(
                text.split(',')
                    .map(|item| Value::String(item.to_string()))
                    .collect(),
            ),
            Kind::Bool | Kind::Secs if text.trim().is_empty() => continue,
            Kind::Bool => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Value::Boolean(true),
                "false" | "0" | "no" | "off" => Value::Boolean(false),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "{var} is {text:?}; expected true or false"
                    )));
                }
            },
            Kind::Secs => match text.trim().parse::<u32>() {
                Ok(secs) => Value::Integer(secs.into()),
                Err(_) => {
                    return Err(ConfigError::Invalid(format!(
                        "{var} is {text:?}; expected a whole number of seconds"
                    )));
                }
            },
        };
        table.insert(key.to_string(), value);
    }
    Ok(table)
}

/// Lay `top` over `base`: tables (a provider's `[oauth.<name>]`) merge key by key, anything
/// else is replaced whole. `cookie_secrets` is replaced whole too: a profile that lists its key
/// versions means exactly those, not those plus `[default]`'s.
pub(super) fn merge(base: &mut Table, top: Table) {
    // A layer that names a secret names the only ones: one secret or versioned secrets from a
    // layer below must not outrank it.
    if top.contains_key("cookie_secret") || top.contains_key("cookie_secrets") {
        base.remove("cookie_secret");
        base.remove("cookie_secrets");
    }
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(below)), Value::Table(above)) if key != "cookie_secrets" => {
                merge(below, above);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The `torn.toml` keys a group reads, as serde's derive declares them (renames applied,
/// skipped fields left out).
pub(super) fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The probe answers every request with an error; a struct's request carries its fields.
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

struct Probe<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("only the field names were asked for")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
