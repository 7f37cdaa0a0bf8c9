//! nginx in front of an app, from Debian's packages.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use super::*;

/// nginx from Debian's packages, if installed; says so when it is not (and fails under
/// `TORN_REQUIRE_NGINX`).
pub fn nginx_available() -> bool {
    let ok = Command::new("nginx")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TORN_REQUIRE_NGINX").is_none(),
            "TORN_REQUIRE_NGINX is set but nginx is not installed"
        );
        skipped(
            "behind nginx",
            "nginx is not installed (apt-get install nginx)",
        );
    }
    ok
}

/// A reverse proxy in front of the app, as docs/deployment.md sets one up: nginx on a free
/// port of 127.0.0.1, passing to `upstreams` in turn (round robin) from the address `from` (so
/// the app sees the proxy at an address of its own), setting `X-Forwarded-For`,
/// `X-Forwarded-Proto` and `X-Request-Id`.
/// Stopped when dropped.
pub struct Nginx {
    _child: KillOnDrop,
    /// The port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    pub fn start(upstreams: &[SocketAddr], from: std::net::IpAddr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        let servers: String = upstreams
            .iter()
            // Never marked down: a restarting instance is skipped request by request
            // (`proxy_next_upstream`), not for the ten seconds nginx would wait otherwise.
            .map(|a| format!("server {a} max_fails=0;"))
            .collect::<Vec<_>>()
            .join(" ");
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             upstream app {{ {servers} }}\n  server {{\n    listen 127.0.0.1:{port};\n    \
             location / {{\n      proxy_pass http://app;\n      proxy_bind {from};\n      \
             proxy_set_header Host $http_host;\n      \
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n      \
             proxy_set_header X-Forwarded-Proto $scheme;\n      \
             proxy_set_header X-Request-Id $request_id;\n    }}\n  }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nginx");
        let nginx = Nginx {
            _child: KillOnDrop(child),
            port,
            dir,
        };
        let started = std::time::Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nginx did not start: {}",
                nginx.errors()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its error log.
    pub fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}
