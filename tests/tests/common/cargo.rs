//! Cargo and the workspace: paths, the `torn` binary, generated apps, the starter running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::*;

/// The app's output lines so far, kept by [`wait_for_serving_keeping`].
pub type Output = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// The repository's root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// The cargo target directory this test binary was built in (`…/target`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // …/target/debug/deps/<test binary>
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// The profile folder (`…/target/debug`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf()
}

/// A `cargo` command with the outer cargo's per-package variables removed, so nested builds
/// see the same environment as a user's shell (and do not rebuild everything).
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    as_in_a_shell(&mut cmd);
    cmd
}

/// `cmd` with the outer cargo's per-package variables removed, as in a user's shell, and the
/// builds it starts sharing this test run's target directory.
pub fn as_in_a_shell(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR"
            || key == "RUST_TEST_THREADS"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env("CARGO_TARGET_DIR", target_dir())
}

/// Build a workspace binary once per test process and return its path.
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|p| p == package) {
        let status = cargo()
            .args(["build", "--quiet", "-p", package, "--bin", bin])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
        built.push(package.to_string());
    }
    profile_dir().join(bin)
}

/// The `torn` binary, built from this checkout.
pub fn torn_bin() -> PathBuf {
    workspace_bin("torn-cli", "torn")
}

/// Read a started app's output until it says where it serves; return that base URL and keep
/// draining the output in the background so the app never blocks on a full pipe.
pub fn wait_for_serving(child: &mut std::process::Child) -> String {
    wait_for_serving_keeping(child, None)
}

/// [`wait_for_serving`], keeping every later line of the app's output in `keep`.
pub fn wait_for_serving_keeping(child: &mut std::process::Child, keep: Option<Output>) -> String {
    use std::io::BufRead as _;
    let stdout = child.stdout.take().expect("the app's stdout is piped");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the app printed its address")
            .expect("read the app's output");
        if let Some(at) = line.find("serving http://") {
            // A text line, or a JSON one (`"message":"serving http://…",…`).
            break line[at + "serving ".len()..]
                .split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .expect("an address")
                .to_string();
        }
    };
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some(keep) = &keep {
                keep.lock().unwrap().push(line);
            }
        }
    });
    url
}

/// Run the `torn` binary in `cwd`.
pub fn torn(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(torn_bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run torn")
}

/// Start the starter's binary (test profile, a free port) with extra environment variables;
/// it stops when the returned guard is dropped.
pub fn start_starter(env: &[(&str, String)]) -> (KillOnDrop, String) {
    let (child, url, _) = start_starter_keeping(env, false);
    (child, url)
}

/// [`start_starter`], keeping the app's log lines (with `keep`).
pub fn start_starter_keeping(env: &[(&str, String)], keep: bool) -> (KillOnDrop, String, Output) {
    let bin = workspace_bin("starter", "starter");
    start_app_keeping(&bin, &workspace_root().join("starter"), env, keep)
}

/// Start an app's binary `bin` in its folder `root` (test profile, a free port) with extra
/// environment variables; it stops when the returned guard is dropped.
pub fn start_app(bin: &Path, root: &Path, env: &[(&str, String)]) -> (KillOnDrop, String) {
    let (child, url, _) = start_app_keeping(bin, root, env, false);
    (child, url)
}

pub fn start_app_keeping(
    bin: &Path,
    root: &Path,
    env: &[(&str, String)],
    keep: bool,
) -> (KillOnDrop, String, Output) {
    let mut cmd = Command::new(bin);
    cmd.current_dir(root)
        .env("TORN_ENV", "test")
        .env("PORT", "0")
        .env("TORN_LOG", "info")
        // The test profile's own database and the mail folder, unless a test says otherwise.
        .env_remove("DATABASE_URL")
        .env_remove("TORN_SMTP_URL")
        .stdout(std::process::Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd.spawn().expect("start the starter");
    let output = Output::default();
    let url = wait_for_serving_keeping(&mut child, keep.then(|| output.clone()));
    (KillOnDrop(child), url, output)
}

/// A fresh `torn new NAME` app (with `extra` options) depending on this checkout's framework,
/// with the workspace's Cargo.lock, so that it builds with the workspace's dependencies in the
/// shared target folder. It lives in `<target>/generated-apps/NAME/NAME`, the same place on
/// every run: its build artifacts are reused and replaced from run to run, instead of piling
/// up under a new temporary path each time.
pub fn generated_app(name: &str, extra: &[&str]) -> PathBuf {
    let dir = target_dir().join("generated-apps").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear the previous generated app");
    }
    std::fs::create_dir_all(&dir).expect("make the generated app's folder");
    let out = Command::new(torn_bin())
        .args(["new", name, "--no-git", "--torn-path"])
        .arg(workspace_root())
        .args(extra)
        .current_dir(&dir)
        .output()
        .expect("run torn new");
    assert!(
        out.status.success(),
        "torn new {name} {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = dir.join(name);
    std::fs::copy(workspace_root().join("Cargo.lock"), app.join("Cargo.lock"))
        .expect("copy Cargo.lock");
    app
}

/// A generated app with torn's `redis` feature (which a new app leaves out), built in the
/// shared target folder once per test process: its binary and its folder.
pub fn redis_app() -> (PathBuf, PathBuf) {
    static BUILT: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let app = target_dir()
        .join("generated-apps")
        .join("redisapp")
        .join("redisapp");
    if !*built {
        let app = generated_app("redisapp", &[]);
        let manifest = app.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let dependency = text
            .lines()
            .find(|l| l.starts_with("torn = "))
            .expect("the torn dependency");
        let with_redis = dependency.replace(" }", r#", features = ["redis"] }"#);
        std::fs::write(&manifest, text.replacen(dependency, &with_redis, 1)).unwrap();
        let status = cargo()
            .args(["build", "--quiet"])
            .current_dir(&app)
            .status()
            .unwrap();
        assert!(status.success(), "the app with redis builds");
        *built = true;
    }
    (profile_dir().join("redisapp"), app)
}
