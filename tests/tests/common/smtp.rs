//! A real SMTP server (python3 + aiosmtpd), with or without TLS, and the certificates for it.

use super::*;

/// Is python3 with aiosmtpd here? Says so when it is not (and fails under
/// `TORN_REQUIRE_AIOSMTPD`).
pub fn aiosmtpd_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TORN_REQUIRE_AIOSMTPD").is_none(),
            "TORN_REQUIRE_AIOSMTPD is set but python3 cannot import aiosmtpd"
        );
        skipped("mail over SMTP", "python3 with aiosmtpd is not installed");
    }
    ok
}

/// An aiosmtpd server on 127.0.0.1 that stores what it receives in a Maildir.
pub struct SmtpServer {
    child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Files for a server's TLS: a certificate authority, and a certificate it signed for
/// `127.0.0.1` (made with the `openssl` command).
pub struct TestCertificates {
    dir: tempfile::TempDir,
}

impl TestCertificates {
    /// Make a CA and a server certificate for 127.0.0.1 and localhost.
    pub fn make() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=torn test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            dir.path().join("server.ext"),
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n\
             extendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        TestCertificates { dir }
    }

    /// The CA certificate (PEM), for the client to trust.
    pub fn ca(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's certificate and key (PEM).
    pub fn server(&self) -> (std::path::PathBuf, std::path::PathBuf) {
        (
            self.dir.path().join("server.pem"),
            self.dir.path().join("server.key"),
        )
    }
}

/// How a test SMTP server speaks TLS.
#[derive(Clone, Copy, Debug)]
pub enum SmtpTls {
    /// STARTTLS is required before AUTH or MAIL.
    StartTls,
    /// TLS from the first byte (smtps).
    Wrapper,
}

impl SmtpServer {
    /// Start one on a free port: plain SMTP, no AUTH.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Start one on `port` (a server that an app was told about before it started).
    pub fn start_on(port: u16) -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let mut command = std::process::Command::new("python3");
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"));
        Self::spawn(command, port, maildir)
    }

    /// Start one that requires TLS (with `certs`' server certificate) and AUTH as
    /// `user`/`password` before it takes a message.
    pub fn start_secure(
        tls: SmtpTls,
        certs: &TestCertificates,
        user: &str,
        password: &str,
    ) -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (cert, key) = certs.server();
        let mut command = std::process::Command::new("python3");
        command
            .arg(workspace_root().join("tests/secure_smtp.py"))
            .arg(match tls {
                SmtpTls::StartTls => "starttls",
                SmtpTls::Wrapper => "smtps",
            })
            .arg(port.to_string())
            .arg(maildir.path().join("box"))
            .args([cert, key])
            .args([user, password]);
        Self::spawn(command, port, maildir)
    }

    fn spawn(mut command: std::process::Command, port: u16, maildir: tempfile::TempDir) -> Self {
        let child = command
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let server = SmtpServer {
            child,
            port,
            maildir,
        };
        wait_for_port(port, "aiosmtpd");
        server
    }

    /// The messages received so far, as raw text.
    pub fn received(&self) -> Vec<String> {
        let new = self.maildir.path().join("box/new");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&new)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Wait until `n` messages have arrived.
    pub fn wait_for(&self, n: usize) -> Vec<String> {
        let started = std::time::Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(15),
                "no mail arrived"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
