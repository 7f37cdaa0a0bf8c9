//! Headless Chromium with playwright-core, when the machine has them.

use super::*;

/// Whether the browser tests can run: node, playwright-core (`npm ci --prefix tests/browser`)
/// and Chromium (`/usr/bin/chromium`, or the path in `CHROMIUM`). Without them the caller is
/// reported as skipped, unless `TORN_REQUIRE_BROWSER=1` (set by `.ci/run`), which fails it.
pub fn browser_available() -> bool {
    let root = workspace_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing = [
        (
            std::process::Command::new("node")
                .arg("--version")
                .output()
                .is_err(),
            "node is not installed",
        ),
        (
            !root
                .join("tests/browser/node_modules/playwright-core")
                .is_dir(),
            "playwright-core is not installed (npm ci --prefix tests/browser)",
        ),
        (
            !std::path::PathBuf::from(&chromium).exists(),
            "Chromium is not installed",
        ),
    ];
    if let Some((_, why)) = missing.iter().find(|(m, _)| *m) {
        assert!(
            std::env::var_os("TORN_REQUIRE_BROWSER").is_none(),
            "TORN_REQUIRE_BROWSER is set but {why}"
        );
        skipped("browser test", why);
        return false;
    }
    true
}
