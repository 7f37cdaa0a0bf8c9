//! What torn keeps of a provider's profile, read from each provider's own JSON.

use serde_json::Value;

/// A person as a provider describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The provider's stable id for the person (`sub`); never the email.
    pub subject: String,
    /// Their email address, if shared.
    pub email: Option<String>,
    /// Does the provider assert that it checked the address?
    pub email_verified: bool,
    /// Their display name, if shared.
    pub name: Option<String>,
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the profile has no usable {0}")]
pub(crate) struct MissingField(pub(crate) &'static str);

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An id given as a string or a number.
fn id(v: &Value, key: &'static str) -> Result<String, MissingField> {
    match v.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(MissingField(key)),
    }
}

/// `true`, or the string `"true"` (some providers send booleans as strings).
fn flag(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// An OpenID Connect userinfo response (or ID token claims): `sub`, `email`,
/// `email_verified`, `name`.
pub(crate) fn from_userinfo(v: &Value) -> Result<Profile, MissingField> {
    Ok(Profile {
        subject: id(v, "sub")?,
        email: text(v, "email"),
        email_verified: flag(v, "email_verified"),
        name: text(v, "name"),
    })
}

/// GitHub's `GET /user` and `GET /user/emails`: the id is numeric; the address is the primary
/// one from `/user/emails` with its `verified` flag (the `email` of `/user` is only the public
/// one, and may be empty).
pub(crate) fn from_github(user: &Value, emails: &Value) -> Result<Profile, MissingField> {
    let listed = emails.as_array().cloned().unwrap_or_default();
    let primary = listed.iter().find(|e| flag(e, "primary"));
    let (email, email_verified) = match primary {
        Some(e) => (text(e, "email"), flag(e, "verified")),
        None => (text(user, "email"), false),
    };
    Ok(Profile {
        subject: id(user, "id")?,
        email,
        email_verified,
        name: text(user, "name").or_else(|| text(user, "login")),
    })
}

/// Facebook's `GET /me?fields=id,name,email`. Facebook does not say whether the address was
/// confirmed, so it is not treated as verified.
pub(crate) fn from_facebook(v: &Value) -> Result<Profile, MissingField> {
    Ok(Profile {
        subject: id(v, "id")?,
        email: text(v, "email"),
        email_verified: false,
        name: text(v, "name"),
    })
}

/// X's `GET /2/users/me?user.fields=confirmed_email`: `{"data": {"id", "name", "username",
/// "confirmed_email"}}`; `confirmed_email` is an address X has confirmed.
pub(crate) fn from_x(v: &Value) -> Result<Profile, MissingField> {
    let data = v.get("data").ok_or(MissingField("data"))?;
    let email = text(data, "confirmed_email");
    Ok(Profile {
        subject: id(data, "id")?,
        email_verified: email.is_some(),
        email,
        name: text(data, "name").or_else(|| text(data, "username")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn github_uses_the_numeric_id_and_the_primary_verified_address() {
        // Recorded from GitHub's API (`GET /user`, `GET /user/emails`), trimmed.
        let user = json!({"login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
            "name": "The Octocat", "email": null, "type": "User"});
        let emails = json!([
            {"email": "octocat@users.noreply.github.com", "primary": false, "verified": true,
             "visibility": null},
            {"email": "octo@example.com", "primary": true, "verified": true, "visibility": "private"}
        ]);
        let p = from_github(&user, &emails).unwrap();
        assert_eq!(
            p,
            Profile {
                subject: "583231".into(),
                email: Some("octo@example.com".into()),
                email_verified: true,
                name: Some("The Octocat".into()),
            }
        );
        let unverified = json!([{"email": "octo@example.com", "primary": true, "verified": false}]);
        assert!(!from_github(&user, &unverified).unwrap().email_verified);
        let nameless = json!({"login": "octocat", "id": 583231, "name": null});
        assert_eq!(
            from_github(&nameless, &json!([])).unwrap().name.as_deref(),
            Some("octocat")
        );
        assert!(from_github(&json!({"login": "octocat"}), &emails).is_err());
    }

    #[test]
    fn facebook_addresses_are_not_taken_as_verified() {
        let me = json!({"id": "10158291234567890", "name": "Ada Lovelace",
            "email": "ada@example.com"});
        let p = from_facebook(&me).unwrap();
        assert_eq!(p.subject, "10158291234567890");
        assert_eq!(p.email.as_deref(), Some("ada@example.com"));
        assert!(!p.email_verified);
        assert!(from_facebook(&json!({"name": "No Id"})).is_err());
    }

    #[test]
    fn x_reads_data_and_the_confirmed_email() {
        let me = json!({"data": {"id": "2244994945", "name": "X Dev", "username": "XDevelopers",
            "confirmed_email": "dev@example.com"}});
        let p = from_x(&me).unwrap();
        assert_eq!(
            (p.subject.as_str(), p.email.as_deref(), p.email_verified),
            ("2244994945", Some("dev@example.com"), true)
        );
        let without = json!({"data": {"id": "2244994945", "username": "XDevelopers"}});
        let p = from_x(&without).unwrap();
        assert_eq!((p.email, p.email_verified), (None, false));
        assert_eq!(p.name.as_deref(), Some("XDevelopers"));
        assert!(from_x(&json!({"errors": [{"title": "Unauthorized"}]})).is_err());
    }

    #[test]
    fn userinfo_reads_standard_claims() {
        // Microsoft Graph's /oidc/userinfo, recorded and trimmed.
        let ms = json!({"sub": "OLu859SGc2Sr9ZsqbkG-QbeLgJlb41KcdiPoLYNpSFA", "name": "Megan Bowen",
            "family_name": "Bowen", "given_name": "Megan", "email": "MeganB@contoso.example"});
        let p = from_userinfo(&ms).unwrap();
        assert_eq!(p.subject, "OLu859SGc2Sr9ZsqbkG-QbeLgJlb41KcdiPoLYNpSFA");
        assert!(!p.email_verified);
        let verified = json!({"sub": "1", "email": "a@example.com", "email_verified": "true"});
        assert!(from_userinfo(&verified).unwrap().email_verified);
        assert!(from_userinfo(&json!({"sub": ""})).is_err());
        assert!(from_userinfo(&json!({"email": "a@example.com"})).is_err());
    }
}
