//! The README as a new user meets it: its install commands use the lock file, its Rust version is
//! the one the lock file needs, and its tour runs as written, from installing the CLI to a page
//! served by `torn run`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn read(rel: &str) -> String {
    std::fs::read_to_string(common::workspace_root().join(rel))
        .unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// The README and every page of the guide: (path, text).
fn documents() -> Vec<(String, String)> {
    let mut docs = vec![("README.md".to_string(), read("README.md"))];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(common::workspace_root().join("docs"))
        .expect("read docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    for page in pages {
        let rel = format!("docs/{}", page.file_name().unwrap().to_string_lossy());
        docs.push((rel.clone(), read(&rel)));
    }
    docs
}

/// The lines of the `sh` code blocks in `markdown`, comments and blank lines removed.
fn shell_lines(markdown: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in markdown.lines() {
        let fence = line.trim_start();
        if fence.starts_with("```") {
            inside = !inside && fence.trim_start_matches('`').trim() == "sh";
            continue;
        }
        if inside {
            let command = line.split_once(" #").map_or(line, |(c, _)| c).trim();
            if !command.is_empty() && !command.starts_with('#') {
                lines.push(command.to_string());
            }
        }
    }
    lines
}

/// The text of the section that starts at the heading `heading`, up to the next of its level.
fn section<'a>(markdown: &'a str, heading: &str) -> &'a str {
    let start = markdown
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("the README has no {heading:?} section"));
    let body = &markdown[start + heading.len() + 2..];
    let level = heading.split(' ').next().unwrap();
    let end = body.find(&format!("\n{level} ")).unwrap_or(body.len());
    &body[..end]
}

/// `1.88`, `1.88.0` → [1, 88, 0].
fn version(text: &str) -> Vec<u32> {
    let mut parts: Vec<u32> = text
        .split('.')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("not a version: {text}"))
        })
        .collect();
    parts.resize(3, 0);
    parts
}

/// The `rust-version` of `[workspace.package]`: the compiler the workspace says it needs.
fn declared_rust_version() -> String {
    let manifest = read("Cargo.toml");
    let table = &manifest[manifest
        .find("[workspace.package]")
        .expect("Cargo.toml has [workspace.package]")..];
    table
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("[workspace.package] has a rust-version")
        .trim_matches('"')
        .to_string()
}

/// `cargo install` ignores Cargo.lock unless told `--locked`, and resolves the newest versions
/// instead, which may need a newer compiler than the README names or not build at all.
#[test]
fn every_install_command_uses_the_lock_file() {
    let mut unlocked = Vec::new();
    let mut seen = 0;
    for (path, text) in documents() {
        for line in shell_lines(&text) {
            if line.contains("cargo install ") {
                seen += 1;
                if !line.split_whitespace().any(|w| w == "--locked") {
                    unlocked.push(format!("{path}: {line}"));
                }
            }
        }
    }
    assert!(
        seen > 0,
        "no cargo install command found in the README or docs/"
    );
    assert!(
        unlocked.is_empty(),
        "cargo install ignores Cargo.lock without --locked; these commands need it:\n{}",
        unlocked.join("\n")
    );
}

/// Every package in Cargo.lock builds with the `rust-version` the workspace declares.
#[test]
fn the_lock_file_builds_with_the_declared_rust_version() {
    let declared = declared_rust_version();
    let out = common::cargo()
        .args(["metadata", "--locked", "--format-version", "1"])
        .current_dir(common::workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata --locked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    assert!(packages.len() > 100, "the whole locked set is listed");
    let mut newer: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (version(needs) > version(&declared))
                .then(|| {
                    let (name, version) = (p["name"].as_str()?, p["version"].as_str()?);
                    Some(format!("{name} {version} needs Rust {needs}"))
                })
                .flatten()
        })
        .collect();
    newer.sort();
    assert!(
        newer.is_empty(),
        "Cargo.toml declares rust-version = \"{declared}\", but the lock file holds packages that \
         need a newer compiler: raise rust-version (and the README) or pin older versions:\n{}",
        newer.join("\n")
    );
}

/// The README names the Rust version the workspace declares.
#[test]
fn the_readme_names_the_declared_rust_version() {
    let declared = declared_rust_version();
    let readme = read("README.md");
    let named = format!("Rust {declared} or newer");
    assert!(
        readme.contains(&named),
        "the README should say {named:?}, the workspace's rust-version"
    );
    for (path, text) in documents() {
        for (n, line) in text.lines().enumerate() {
            if let Some(at) = line.find(" or newer") {
                let before = &line[..at];
                let number = before.rsplit(' ').next().unwrap_or("");
                if number.starts_with("1.") && before.contains("Rust") {
                    assert_eq!(
                        number,
                        declared,
                        "{path}:{}: {line:?} names another Rust version than Cargo.toml",
                        n + 1
                    );
                }
            }
        }
    }
}

/// Copy the checkout's files (tracked, and new ones git does not ignore) to `to`, keeping their
/// modification times so a second run rebuilds nothing that did not change: a fresh clone, with
/// the changes not yet committed.
fn copy_checkout(to: &Path) {
    let root = common::workspace_root();
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(&root)
        .output()
        .expect("run git ls-files");
    assert!(out.status.success(), "git ls-files failed");
    for rel in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).expect("a UTF-8 path"));
        let from = root.join(rel);
        if !from.is_file() {
            continue; // deleted in the work tree, or a submodule
        }
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&from, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", rel.display()));
        let modified = std::fs::metadata(&from).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&dest)
            .and_then(|f| f.set_modified(modified))
            .unwrap();
    }
}

/// Where the tour runs: a copy of the checkout, and the root `cargo install` installs into.
struct Reader {
    clone: PathBuf,
    install_root: PathBuf,
    port: u16,
}

impl Reader {
    /// A shell command as a reader types it, in `cwd`.
    fn shell(&self, command: &str, cwd: &Path) -> Command {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.install_root.join("bin")];
        dirs.extend(std::env::split_paths(&path));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", command]).current_dir(cwd);
        common::as_in_a_shell(&mut cmd)
            .env("PATH", std::env::join_paths(dirs).unwrap())
            .env("CARGO_INSTALL_ROOT", &self.install_root)
            .env("PORT", self.port.to_string());
        cmd
    }

    /// Run one command to its end; it must succeed.
    fn run(&self, command: &str, cwd: &Path) -> Output {
        let started = Instant::now();
        let out = self
            .shell(command, cwd)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {command}: {e}"));
        eprintln!("tour: `{command}` ({:.0?})", started.elapsed());
        assert!(
            out.status.success(),
            "the README's `{command}` failed in {} ({}):\n{}\n{}",
            cwd.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Start a server command (`torn run`), wait until it serves the home page, stop it as
    /// Ctrl-C would. Returns the page.
    fn serve(&self, command: &str, cwd: &Path) -> String {
        let started = Instant::now();
        let mut child = common::KillOnDrop(
            self.shell(&format!("exec {command}"), cwd)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {command}: {e}")),
        );
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        // The first build of the app happens here: minutes on a small machine.
        let page = loop {
            if let Ok((200, body)) = common::request(addr, "/") {
                break body;
            }
            if let Some(status) = child.0.try_wait().unwrap() {
                panic!("the README's `{command}` ended ({status}) before serving a page");
            }
            assert!(
                started.elapsed() < Duration::from_secs(1200),
                "`{command}` served no home page within 20 minutes"
            );
            std::thread::sleep(Duration::from_millis(250));
        };
        let interrupted = Command::new("kill")
            .args(["-INT", &child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(interrupted.success());
        let stopping = Instant::now();
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                stopping.elapsed() < Duration::from_secs(30),
                "`{command}` did not stop on Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        eprintln!(
            "tour: `{command}` served / ({:.0?}), stopped with {status}",
            started.elapsed()
        );
        page
    }
}

/// The README's tour, every `sh` line of it as written, from a copy of this checkout: install
/// the CLI into a root of its own, make an app, run it and fetch its home page, run its tests,
/// grow it with the generators, migrate, list the routes.
#[test]
fn the_readme_tour_runs_as_written() {
    if std::env::var_os("TORN_TEST_TOUR").is_none() {
        common::skipped(
            "the README's tour",
            "it installs the CLI (a release build) and builds a new app with the newest \
             dependencies from the crate registry; set TORN_TEST_TOUR=1 (.ci/run does)",
        );
        return;
    }
    let readme = read("README.md");
    let commands = shell_lines(section(&readme, "## A short tour"));
    assert!(
        commands.iter().any(|c| c.starts_with("cargo install")),
        "the tour installs the CLI: {commands:?}"
    );

    // Fixed folders inside the target directory, emptied each run, so that a second run reuses
    // what the first built and the disk does not fill with copies.
    let work = common::target_dir().join("readme-tour");
    if work.exists() {
        std::fs::remove_dir_all(&work).expect("clear the previous tour");
    }
    let reader = Reader {
        clone: work.join("torn"),
        install_root: work.join("root"),
        port: common::free_port(),
    };
    copy_checkout(&reader.clone);

    let mut cwd = reader.clone.clone();
    let mut printed: Vec<(String, String)> = Vec::new();
    let mut home_page = None;
    for line in &commands {
        for step in line.split(" && ").map(str::trim) {
            if let Some(dir) = step.strip_prefix("cd ") {
                cwd = cwd.join(dir.trim());
                assert!(cwd.is_dir(), "`{line}`: no folder {}", cwd.display());
            } else if step == "torn run" || step.starts_with("torn run ") {
                home_page = Some(reader.serve(step, &cwd));
            } else {
                let out = reader.run(step, &cwd);
                printed.push((
                    step.to_string(),
                    String::from_utf8_lossy(&out.stdout).into(),
                ));
            }
        }
    }

    let said = |prefix: &str| -> &str {
        printed
            .iter()
            .find(|(c, _)| c.starts_with(prefix))
            .map(|(_, out)| out.as_str())
            .unwrap_or_else(|| panic!("the tour has no `{prefix}` line"))
    };
    assert!(
        reader.install_root.join("bin/torn").is_file(),
        "the install line put torn in the install root"
    );
    let made = said("torn new");
    assert!(
        made.contains("torn: the framework at ../framework, in the checkout"),
        "torn new says where torn comes from:\n{made}"
    );
    let page = home_page.expect("the tour starts torn run");
    assert!(page.contains("<html"), "the home page: {page}");
    let routes = said("torn routes");
    for path in ["/about", "/posts", "/login"] {
        assert!(routes.contains(path), "torn routes lists {path}:\n{routes}");
    }
    // The app started once (torn run), so its queue's table is there, and empty.
    let queues = said("torn jobs");
    assert_eq!(queues, "no jobs: every queue is empty\n", "torn jobs");
}
