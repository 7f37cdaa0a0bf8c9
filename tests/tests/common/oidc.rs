//! The OpenID Connect servers of the social log-in tests (node: oidc-provider, oauth2-mock-server).

use super::*;

/// Run a Node.js script of the workspace, quietly, stopped when dropped.
pub fn spawn_node(script: &str, args: &[String]) -> KillOnDrop {
    let child = std::process::Command::new("node")
        .arg(workspace_root().join(script))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start node {script}: {e}"));
    KillOnDrop(child)
}

/// Are the npm OpenID Connect servers installed (`npm ci --prefix tests/oauth`)? Says so when
/// they are not (and fails under `TORN_REQUIRE_OAUTH`).
pub fn oauth_servers_available() -> bool {
    let ok = workspace_root()
        .join("tests/oauth/node_modules/oauth2-mock-server")
        .is_dir()
        && std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TORN_REQUIRE_OAUTH").is_none(),
            "TORN_REQUIRE_OAUTH is set but tests/oauth/node_modules or node is missing \
             (npm ci --prefix tests/oauth)"
        );
        skipped(
            "social login against OpenID Connect servers",
            "node or tests/oauth/node_modules is missing (npm ci --prefix tests/oauth)",
        );
    }
    ok
}

/// oauth2-mock-server on 127.0.0.1 (`tests/oauth/mock.mjs`), with its control port.
pub struct OidcMock {
    _child: KillOnDrop,
    /// Its issuer URL.
    pub issuer: String,
    control: String,
}

impl OidcMock {
    /// Start one on free ports.
    pub fn start() -> Self {
        let (port, control) = (free_port(), free_port());
        let child = spawn_node(
            "tests/oauth/mock.mjs",
            &[port.to_string(), control.to_string()],
        );
        wait_for_port(control, "the OpenID Connect mock");
        OidcMock {
            _child: child,
            issuer: format!("http://127.0.0.1:{port}"),
            control: format!("http://127.0.0.1:{control}"),
        }
    }

    /// The claims of every later ID token and userinfo answer.
    pub async fn profile(&self, claims: serde_json::Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/profile", self.control))
            .json(&claims)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Make the next flow misbehave (see `tests/oauth/mock.mjs`).
    pub async fn once(&self, what: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/once", self.control))
            .json(&serde_json::json!({ "what": what }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// The query of the last authorization request.
    pub async fn last_authorize(&self) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("{}/last-authorize", self.control))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// npm oidc-provider on 127.0.0.1 (`tests/oauth/provider.mjs`): a strict OpenID Connect server
/// with log-in and consent pages, registered for one exact redirect URI.
pub struct StrictOidc {
    _child: KillOnDrop,
    /// Its issuer URL.
    pub issuer: String,
}

impl StrictOidc {
    /// Start one on a free port for this client redirect URI.
    pub fn start(redirect_uri: &str) -> Self {
        let port = free_port();
        let child = spawn_node(
            "tests/oauth/provider.mjs",
            &[port.to_string(), redirect_uri.to_string()],
        );
        wait_for_port(port, "oidc-provider");
        StrictOidc {
            _child: child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }
}
