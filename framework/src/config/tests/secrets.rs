//! The cookie secret and the passwords in settings: required and strong in prod, made and kept
//! in dev, rotated from the environment, and never printed.

use super::*;

#[test]
fn prod_refuses_missing_and_weak_secrets_with_instructions() {
    let err = load("", &[("TORN_ENV", "prod")]).unwrap_err().to_string();
    assert!(
        err.contains("no cookie secret") && err.contains("/dev/urandom"),
        "{err}"
    );
    for weak in [
        "short",
        "change-me-change-me-change-me-change-me",
        &"a".repeat(64),
        // Ten distinct characters, long enough, and no entropy to speak of.
        "abcdefghijabcdefghijabcdefghijab",
        "0123456789abcdef0123456789abcdef",
        "abcdefghijklmnopqrstuvwxyzABCDEF",
        "Vb3kq8Zr1xWm9Lp2Vb3kq8Zr1xWm9Lp2",
    ] {
        let err = load("", &[("TORN_ENV", "prod"), ("TORN_COOKIE_SECRET", weak)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("too weak"), "{weak}: {err}");
    }
    // What the message says to run, and other random secrets, pass.
    for _ in 0..200 {
        use base64::Engine as _;
        let mut bytes = [0u8; 48];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let strong = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(
            load("", &[("TORN_ENV", "prod"), ("TORN_COOKIE_SECRET", &strong)]).is_ok(),
            "{strong}"
        );
        assert!(looks_random(random_secret().as_bytes()));
    }
}

#[test]
fn secret_rotation_from_environment() {
    let s = load(
        "",
        &[
            ("TORN_ENV", "prod"),
            (
                "TORN_COOKIE_SECRET",
                &format!("2:{STRONG},1:{}", STRONG.to_lowercase()),
            ),
        ],
    )
    .unwrap();
    assert_eq!(s.cookies.keys.current_version(), 2);
    assert_eq!(s.cookies.keys.iter().count(), 2);
}

#[test]
fn dev_secret_is_kept_between_starts() {
    let dir = tempfile::tempdir().unwrap();
    let a = Settings::load_from(dir.path(), |_| None).unwrap();
    let b = Settings::load_from(dir.path(), |_| None).unwrap();
    let signed = a.cookies.keys.sign("n", b"v");
    assert_eq!(
        b.cookies.keys.verify("n", &signed, 1.0),
        Some(b"v".to_vec())
    );
}

#[test]
fn secrets_are_never_printed() {
    let toml = format!(
        "[dev]\ncookie_secret = \"{STRONG}\"\nsmtp_url = \"smtps://me:smtp-pw-{STRONG}@mail.example\"\n\
         database_url = \"postgres://me:db-pw-{STRONG}@db/app\"\n\
         [dev.cookie_secrets]\n3 = \"{STRONG}x\"\n\
         [dev.oauth.github]\nclient_id = \"id\"\nclient_secret = \"gh-{STRONG}\"\n"
    );
    let s = load(&toml, &[]).unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains(STRONG), "{shown}");
    assert!(shown.contains("smtps://me:***@mail.example"), "{shown}");
    assert_eq!(s.cookies.keys.current_version(), 3);
    // A secret of the wrong type is refused without being shown.
    for bad in [
        format!("[dev]\ncookie_secrets = \"{STRONG}\"\n"),
        format!("[dev]\ncookie_secret = [\"{STRONG}\"]\n"),
        format!("[dev.cookie_secrets]\n1 = [\"{STRONG}\"]\n"),
    ] {
        let err = load(&bad, &[]).unwrap_err().to_string();
        assert!(
            err.contains("cookie_secret") && !err.contains(STRONG),
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_profile_that_names_a_secret_names_the_only_one() {
    // [default] has versioned secrets; [prod] has its own single secret: only that one counts.
    let toml = format!(
        "[default.cookie_secrets]\n1 = \"{}\"\n[prod]\ncookie_secret = \"{STRONG}\"\n",
        STRONG.to_lowercase()
    );
    let prod = load(&toml, &[("TORN_ENV", "prod")]).unwrap();
    assert_eq!(
        prod.cookies.keys.iter().map(|(v, _)| v).collect::<Vec<_>>(),
        [0]
    );
    assert_eq!(
        prod.cookies.keys.iter().next().unwrap().1,
        STRONG.as_bytes()
    );
}

/// docs/configuration.md lists, under each group's heading, exactly the keys the group's struct
/// declares, and every environment variable beside the key it sets.
#[test]
fn passwords_are_hidden_even_when_they_hold_an_at_sign() {
    assert_eq!(
        redact("redis://:p@ss@host:6379/0"),
        "redis://:***@host:6379/0"
    );
    assert_eq!(
        redact("postgres://app:se@cr@t@db.example/app?sslmode=require"),
        "postgres://app:***@db.example/app?sslmode=require"
    );
    assert_eq!(
        redact("postgres://db.example/x@y"),
        "postgres://db.example/x@y"
    );
    assert_eq!(redact("sqlite://app.db"), "sqlite://app.db");
}
