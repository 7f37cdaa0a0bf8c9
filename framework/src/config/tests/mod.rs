use rand::RngCore as _;

use super::secrets::looks_random;
use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

mod secrets;

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
    assert_eq!(s.accounts.verify_token_lifetime, Duration::from_hours(24));
    assert_eq!(s.accounts.reset_token_lifetime, Duration::from_hours(1));
    assert_eq!(
        (
            s.accounts.password_min_length,
            s.accounts.password_max_length
        ),
        (8, 128)
    );
    let s = load(
        "[default]\nverify_token_lifetime_secs = 7200\nreset_token_lifetime_secs = 900\n\
         password_min_length = 12\npassword_max_length = 64\n",
        &[],
    )
    .unwrap();
    assert_eq!(s.accounts.verify_token_lifetime, Duration::from_hours(2));
    assert_eq!(s.accounts.reset_token_lifetime, Duration::from_mins(15));
    assert_eq!(
        (
            s.accounts.password_min_length,
            s.accounts.password_max_length
        ),
        (12, 64)
    );
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
        (dev.env, dev.server.port, dev.server.host.as_str()),
        (Env::Dev, 9001, "127.0.0.1")
    );
    assert!(!dev.cookies.secure && !dev.server.hsts);
    let prod = load(
        toml,
        &[("TORN_ENV", "prod"), ("TORN_COOKIE_SECRET", STRONG)],
    )
    .unwrap();
    assert_eq!(
        (prod.server.port, prod.server.host.as_str()),
        (9000, "0.0.0.0")
    );
    assert!(prod.cookies.secure && prod.server.hsts);
    let env_port = load(toml, &[("PORT", "7000")]).unwrap();
    assert_eq!(env_port.server.port, 7000);
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
    assert_eq!(
        load("", &[]).unwrap().server.base_url,
        "http://127.0.0.1:8888"
    );
    let s = load("", &[("TORN_BASE_URL", "https://app.example.com/")]).unwrap();
    assert_eq!(s.server.base_url, "https://app.example.com");
    let err = load("[dev]\nbase_url = \"app.example.com\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("http://"), "{err}");
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
fn every_section_is_checked_whatever_the_profile() {
    // A typo or a wrong type in [prod] is reported in dev, with the section it is in.
    let err = load("[prod]\nprot = 1\n", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    let err = err.to_string();
    assert!(err.contains("[prod] unknown key `prot`"), "{err}");
    assert!(err.contains("host, port"), "the keys are listed: {err}");
    let err = load("[prod]\nport = \"http\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("[prod]") && err.contains("`port`"), "{err}");
    let err = load("[test.oauth.github]\nclient_idd = \"x\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("client_idd"), "{err}");
    // A section that is no profile, or a key outside any section, is refused.
    for bad in ["[staging]\nport = 1\n", "port = 1\n", "dev = 1\n"] {
        let err = load(bad, &[]).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{bad}: {err}");
    }
    let err = load("[staging]\n", &[]).unwrap_err().to_string();
    assert!(err.contains("unknown section `staging`"), "{err}");
}

#[test]
fn layers_in_order_defaults_profile_defaults_file_environment() {
    // The built-in prod defaults sit below the app's own [default].
    let vars = [("TORN_ENV", "prod"), ("TORN_COOKIE_SECRET", STRONG)];
    let prod = load("[default]\nhsts = false\n", &vars).unwrap();
    assert!(!prod.server.hsts && prod.cookies.secure);
    assert_eq!(prod.server.log, "info");
    let test = load("", &[("TORN_ENV", "test")]).unwrap();
    assert_eq!(
        (test.server.log.as_str(), test.cookies.secure),
        ("warn", false)
    );
    // The environment is above the profile's section, which is above [default].
    let toml = "[default]\nhost = \"10.0.0.1\"\nlog = \"debug\"\n[dev]\nlog = \"trace\"\n";
    let s = load(toml, &[("HOST", "0.0.0.0"), ("TORN_LOG", "")]).unwrap();
    assert_eq!(
        (s.server.host.as_str(), s.server.log.as_str()),
        ("0.0.0.0", "trace")
    );
    assert_eq!(s.server.base_url, "http://127.0.0.1:8888");
    let s = load(toml, &[("TORN_LOG", "warn,my_app=debug")]).unwrap();
    assert_eq!(s.server.log, "warn,my_app=debug");
    // Paths are the app's.
    let s = load(
        "[default]\nstatic_dir = \"assets\"\nsmtp_ca_file = \"ca.pem\"\n",
        &[],
    )
    .unwrap();
    assert!(s.server.static_dir.ends_with("assets") && s.server.static_dir.is_absolute());
    assert!(s.mail.smtp_ca_file.unwrap().is_absolute());
}

#[test]
fn provider_tables_merge_and_key_versions_are_replaced_whole() {
    let toml = "[default.oauth.github]\nclient_id = \"id\"\nlabel = \"Code\"\n\
                [dev.oauth.github]\nclient_secret = \"shh\"\n";
    let s = load(toml, &[]).unwrap();
    let github = s
        .oauth
        .providers
        .iter()
        .find(|p| p.name == "github")
        .unwrap();
    assert_eq!(
        (
            github.client_id.as_str(),
            github.client_secret.as_deref(),
            github.label.as_str()
        ),
        ("id", Some("shh"), "Code")
    );
    // [prod] lists key version 2 alone: [default]'s version 1 must not verify anything.
    let old = STRONG.to_lowercase();
    let toml = format!(
        "[default.cookie_secrets]\n1 = \"{old}\"\n[prod.cookie_secrets]\n2 = \"{STRONG}\"\n"
    );
    let prod = load(&toml, &[("TORN_ENV", "prod")]).unwrap();
    assert_eq!(
        prod.cookies.keys.iter().map(|(v, _)| v).collect::<Vec<_>>(),
        [2]
    );
    let dev = load(&toml, &[]).unwrap();
    assert_eq!(
        dev.cookies.keys.iter().map(|(v, _)| v).collect::<Vec<_>>(),
        [1]
    );
}

#[test]
fn proxies_from_the_file_and_the_environment() {
    use std::net::IpAddr;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let s = load("[default]\ntrusted_proxies = [\"10.0.0.0/8\"]\n", &[]).unwrap();
    assert!(s.server.trusted_proxies.contains(ip("10.1.2.3")));
    let s = load(
        "[default]\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
        &[("TORN_TRUSTED_PROXIES", "::1, 192.0.2.7")],
    )
    .unwrap();
    assert!(s.server.trusted_proxies.contains(ip("::1")));
    assert!(!s.server.trusted_proxies.contains(ip("10.1.2.3")));
    // Set and empty: no proxy at all, whatever the file says.
    let s = load(
        "[default]\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
        &[("TORN_TRUSTED_PROXIES", "")],
    )
    .unwrap();
    assert!(s.server.trusted_proxies.is_empty());
    for (toml, vars) in [
        ("[dev]\ntrusted_proxies = [\"proxy.example\"]\n", vec![]),
        ("", vec![("TORN_TRUSTED_PROXIES", "10.0.0.0/33")]),
        ("", vec![("TORN_PROXY_HEADER", "via")]),
        ("[dev]\nproxy_header = \"via\"\n", vec![]),
    ] {
        let err = load(toml, &vars).unwrap_err().to_string();
        assert!(
            err.contains("trusted_proxies") || err.contains("proxy_header"),
            "{toml} {vars:?}: {err}"
        );
    }
    // A bad variable is named, not only its key.
    let err = load("", &[("TORN_PROXY_HEADER", "via")])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("TORN_PROXY_HEADER: \"via\""), "{err}");
    let err = load("", &[("PORT", "70000")]).unwrap_err().to_string();
    assert!(err.contains("PORT is \"70000\""), "{err}");
}

#[test]
fn every_profile_is_checked_as_it_would_run() {
    for bad in [
        "[prod]\nreset_token_lifetime_secs = 0\n",
        "[prod]\nbase_url = \"app.example.com\"\n",
        "[test]\npassword_max_length = 6\n",
    ] {
        let err = load(bad, &[]).unwrap_err().to_string();
        assert!(
            err.contains("in the ") && err.contains(" profile of "),
            "{bad}: {err}"
        );
    }
    // Checked with the layers below: [default]'s minimum makes [prod]'s maximum fine.
    load(
        "[default]\npassword_min_length = 4\n[prod]\npassword_max_length = 6\n",
        &[],
    )
    .unwrap();
}

#[test]
fn the_configuration_page_matches_the_settings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let mut listed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut group = None;
    let mut variables = Vec::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            group = heading
                .split_once("(`settings.")
                .map(|(_, rest)| rest.trim_end_matches("`)").to_string());
        } else if line.starts_with("## ") {
            group = None;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 || !cells[1].starts_with('`') {
            continue;
        }
        let first = cells[1].trim_matches('`').to_string();
        match &group {
            Some(g) => listed.entry(g.clone()).or_default().push(first),
            None => variables.push((cells[1].to_string(), cells[2].to_string())),
        }
    }
    let declared: BTreeMap<String, Vec<String>> = [
        ("server", layers::fields::<ServerSettings>()),
        ("database", layers::fields::<DatabaseSettings>()),
        ("cookies", layers::fields::<CookieSettings>()),
        ("sessions", layers::fields::<SessionSettings>()),
        ("accounts", layers::fields::<AccountSettings>()),
        ("mail", layers::fields::<MailSettings>()),
        ("oauth", layers::fields::<OAuthSettings>()),
        ("realtime", layers::fields::<RealtimeSettings>()),
        ("jobs", layers::fields::<JobSettings>()),
        ("metrics", layers::fields::<MetricsSettings>()),
    ]
    .into_iter()
    .map(|(g, keys)| {
        let mut keys: Vec<String> = keys.iter().map(std::string::ToString::to_string).collect();
        keys.sort();
        (g.to_string(), keys)
    })
    .collect();
    for keys in listed.values_mut() {
        keys.sort();
    }
    assert_eq!(listed, declared, "the groups in {}", path.display());
    // Every key the groups declare is read: an empty table has none unknown.
    assert!(declared.values().flatten().all(|k| !k.is_empty()));
    for (var, key, _) in layers::ENVIRONMENT {
        assert!(
            variables
                .iter()
                .any(|(v, k)| v == &format!("`{var}`") && k.contains(&format!("`{key}`"))),
            "{var} (which sets `{key}`) is missing from the environment table"
        );
    }
}

#[test]
fn realtime_settings_are_read_and_checked() {
    let ok = load(
        "[test]\npubsub = \"redis://:pw@127.0.0.1:6379/2\"\nwebsocket_origins = \
         [\"https://app.example.com\"]\nwebsocket_queue = 8\n",
        &[("TORN_ENV", "test")],
    )
    .unwrap();
    assert_eq!(
        ok.realtime.pubsub,
        Some(PubSubBackend::Redis("redis://:pw@127.0.0.1:6379/2".into()))
    );
    assert_eq!(ok.realtime.origins, ["https://app.example.com"]);
    assert_eq!(ok.realtime.queue, 8);
    // The password stays out of debug output.
    assert!(!format!("{ok:?}").contains(":pw@"), "{ok:?}");
    let env = load("", &[("TORN_ENV", "test"), ("TORN_PUBSUB", "memory")]).unwrap();
    assert_eq!(env.realtime.pubsub, Some(PubSubBackend::Memory));
    assert_eq!(
        load("", &[("TORN_ENV", "test")]).unwrap().realtime.pubsub,
        None
    );
    for (toml, said) in [
        (
            "pubsub = \"nats://x\"",
            "expected \"memory\", \"postgres\" or a redis:// URL",
        ),
        (
            "websocket_origins = [\"app.example.com\"]",
            "each origin is a scheme and a host",
        ),
        (
            "websocket_origins = [\"https://a.example/path\"]",
            "with no path",
        ),
        ("websocket_queue = 0", "websocket_queue is 0"),
        ("websocket_queue = 100000000", "up to 1048576"),
        ("websocket_ping_timeout_secs = 9999999999", "at most 86400"),
        (
            "websocket_max_message_size = 0",
            "websocket_max_message_size is 0",
        ),
        (
            "websocket_ping_timeout_secs = 0",
            "websocket_ping_timeout_secs is 0",
        ),
    ] {
        let e = load(&format!("[prod]\n{toml}\n"), &[("TORN_ENV", "test")]).unwrap_err();
        assert!(e.to_string().contains(said), "{toml}: {e}");
    }
}

#[test]
fn the_session_store_is_the_database_or_a_redis_url() {
    let default = load("", &[("TORN_ENV", "test")]).unwrap();
    assert_eq!(default.sessions.store, SessionBackend::Database);
    let file = load(
        "[test]\nsession_store = \"redis://:pw@127.0.0.1:6379/3\"\n",
        &[("TORN_ENV", "test")],
    )
    .unwrap();
    assert_eq!(
        file.sessions.store,
        SessionBackend::Redis("redis://:pw@127.0.0.1:6379/3".into())
    );
    assert!(!format!("{file:?}").contains(":pw@"), "{file:?}");
    let env = load(
        "[test]\nsession_store = \"redis://127.0.0.1:6379\"\n",
        &[("TORN_ENV", "test"), ("TORN_SESSION_STORE", "database")],
    )
    .unwrap();
    assert_eq!(env.sessions.store, SessionBackend::Database);
    let e = load(
        "[test]\nsession_store = \"memcached://x\"\n",
        &[("TORN_ENV", "test")],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("expected \"database\" or a redis:// URL"),
        "{e}"
    );
    // TLS is refused rather than quietly left out.
    for key in ["session_store", "pubsub"] {
        let e = load(
            &format!("[test]\n{key} = \"rediss://:pw@redis.example:6380\"\n"),
            &[("TORN_ENV", "test")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
        assert!(!e.to_string().contains(":pw@"), "{e}");
    }
}

#[test]
fn two_factor_and_api_token_settings_are_read_and_checked() {
    let s = load("", &[]).unwrap();
    assert!(s.accounts.two_factor && s.accounts.api_tokens && s.accounts.passkeys);
    assert_eq!(s.accounts.api_scopes, ["read", "write"]);
    let s = load(
        "[default]\ntwo_factor = false\napi_tokens = false\npasskeys = false\n\
         api_scopes = [\"notes:read\"]\n",
        &[],
    )
    .unwrap();
    assert!(!s.accounts.two_factor && !s.accounts.api_tokens && !s.accounts.passkeys);
    assert_eq!(s.accounts.api_scopes, ["notes:read"]);
    for bad in ["[]", "[\"\"]", "[\"read write\"]", "[\"a,b\"]"] {
        let err = load(&format!("[default]\napi_scopes = {bad}\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("api_scopes is"), "{bad}: {err}");
    }
    let long = format!("[default]\napi_scopes = [\"{}\"]\n", "s".repeat(33));
    assert!(load(&long, &[]).is_err());
}
