use rand::RngCore as _;

use super::secrets::looks_random;
use super::*;

fn load(toml: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("torn.toml"), toml).unwrap();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_from(dir.path(), |k| {
        vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
}

const STRONG: &str = "Vb3kq8Zr1xWm9Lp2Tn7Yc4Hs6Gd0Jf5Qa8Ue3Ri1Oo";

#[test]
fn token_lifetimes_and_password_lengths() {
    let s = load("", &[]).unwrap();
    assert_eq!(s.verify_token_lifetime, Duration::from_secs(86_400));
    assert_eq!(s.reset_token_lifetime, Duration::from_secs(3_600));
    assert_eq!((s.password_min_length, s.password_max_length), (8, 128));
    let s = load(
        "[default]\nverify_token_lifetime_secs = 7200\nreset_token_lifetime_secs = 900\n\
         password_min_length = 12\npassword_max_length = 64\n",
        &[],
    )
    .unwrap();
    assert_eq!(s.verify_token_lifetime, Duration::from_secs(7_200));
    assert_eq!(s.reset_token_lifetime, Duration::from_secs(900));
    assert_eq!((s.password_min_length, s.password_max_length), (12, 64));
    let err = load("[default]\nreset_token_lifetime_secs = 0\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("reset_token_lifetime_secs is 0; it must be"),
        "{err}"
    );
    for bad in [
        "password_min_length = 0",
        "password_min_length = 20\npassword_max_length = 10",
        "password_max_length = 100000",
    ] {
        let err = load(&format!("[default]\n{bad}\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("password_min_length is"), "{bad}: {err}");
    }
    let err = load("[default]\nreset_token_lifetime_secs = -5\n", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
}

#[test]
fn profiles_and_environment_overrides() {
    let toml = "[default]\nport = 9000\n[dev]\nport = 9001\n[prod]\nhost = \"0.0.0.0\"\n";
    let dev = load(toml, &[]).unwrap();
    assert_eq!(
        (dev.env, dev.port, dev.host.as_str()),
        (Env::Dev, 9001, "127.0.0.1")
    );
    assert!(!dev.secure_cookies && !dev.hsts);
    let prod = load(
        toml,
        &[("TORN_ENV", "prod"), ("TORN_COOKIE_SECRET", STRONG)],
    )
    .unwrap();
    assert_eq!((prod.port, prod.host.as_str()), (9000, "0.0.0.0"));
    assert!(prod.secure_cookies && prod.hsts);
    let env_port = load(toml, &[("PORT", "7000")]).unwrap();
    assert_eq!(env_port.port, 7000);
}

#[test]
fn sqlite_paths_are_relative_to_the_app() {
    let root = Path::new("/srv/app");
    assert_eq!(
        sqlite_relative_to("sqlite://data/app.db?mode=rwc", root),
        "sqlite:///srv/app/data/app.db?mode=rwc"
    );
    for kept in ["sqlite:///abs/app.db", "sqlite::memory:", "postgres://h/db"] {
        assert_eq!(sqlite_relative_to(kept, root), kept);
    }
}

#[test]
fn base_url_defaults_and_checks() {
    assert_eq!(load("", &[]).unwrap().base_url, "http://127.0.0.1:8888");
    let s = load("", &[("TORN_BASE_URL", "https://app.example.com/")]).unwrap();
    assert_eq!(s.base_url, "https://app.example.com");
    let err = load("[dev]\nbase_url = \"app.example.com\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("http://"), "{err}");
}

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
        let mut bytes = [0u8; 48];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        use base64::Engine as _;
        let strong = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(
            load("", &[("TORN_ENV", "prod"), ("TORN_COOKIE_SECRET", &strong)]).is_ok(),
            "{strong}"
        );
        assert!(looks_random(random_secret().as_bytes()));
    }
}

#[test]
fn bad_values_are_reported() {
    assert!(
        load("", &[("TORN_ENV", "staging")])
            .unwrap_err()
            .to_string()
            .contains("TORN_ENV")
    );
    assert!(
        load("", &[("PORT", "http")])
            .unwrap_err()
            .to_string()
            .contains("PORT")
    );
    let err = load("[dev]\nprot = 1\n", &[]).unwrap_err().to_string();
    assert!(err.contains("torn.toml") && err.contains("prot"), "{err}");
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
    assert_eq!(s.keys.current_version(), 2);
    assert_eq!(s.keys.iter().count(), 2);
}

#[test]
fn the_app_root_is_found_from_a_workspace_root() {
    let ws = tempfile::tempdir().unwrap();
    let app = ws.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("torn.toml"), "").unwrap();
    assert_eq!(app_root(ws.path(), None, Some(app.clone())), app);
    assert_eq!(app_root(&app, None, None), app);
    assert_eq!(app_root(ws.path(), None, None), ws.path());
    assert_eq!(app_root(ws.path(), Some("app".into()), None), app);
}

#[test]
fn dev_secret_is_kept_between_starts() {
    let dir = tempfile::tempdir().unwrap();
    let a = Settings::load_from(dir.path(), |_| None).unwrap();
    let b = Settings::load_from(dir.path(), |_| None).unwrap();
    let signed = a.keys.sign("n", b"v");
    assert_eq!(b.keys.verify("n", &signed, 1.0), Some(b"v".to_vec()));
}
