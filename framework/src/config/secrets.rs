//! Cookie secrets: read from the environment or the profile (one, or versioned for rotation),
//! refused outside dev when short or not random, and made once for dev in `.torn/dev-secret`.

use std::path::Path;

use rand::RngCore as _;

use super::groups::Hidden;
use super::{ConfigError, Env};
use crate::signing::Keys;

/// Shortest cookie secret accepted outside dev, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

pub(super) const HOW_TO_MAKE_A_SECRET: &str = "make one with `head -c 48 /dev/urandom | base64` and set it as \
     TORN_COOKIE_SECRET (or `cookie_secret` in the profile's section of torn.toml)";

/// `TORN_COOKIE_SECRET`: either one secret, or `VERSION:SECRET` pairs separated by commas for
/// rotation (`2:new-secret,1:old-secret`).
pub(super) fn parse_secret_list(value: &str) -> Keys {
    let versioned: Option<Vec<(u32, &str)>> = value
        .split(',')
        .map(|part| {
            let (v, s) = part.trim().split_once(':')?;
            let v = v.parse().ok()?;
            (!s.is_empty()).then_some((v, s))
        })
        .collect();
    match versioned {
        Some(pairs) => Keys::versioned(pairs),
        None => Keys::single(value),
    }
}

/// The keys a profile names: `cookie_secrets` (by key version) if present, else
/// `cookie_secret` (version 0), else none. A value of the wrong type is refused without
/// showing it.
pub(super) fn secrets_from_profile(
    secret: Option<Hidden>,
    versioned: Option<Hidden>,
) -> Result<Option<Keys>, ConfigError> {
    if let Some(Hidden(value)) = versioned {
        let map = match value {
            toml::Value::Table(map) if !map.is_empty() => map,
            toml::Value::Table(_) => {
                return Err(ConfigError::Invalid("cookie_secrets is empty".into()));
            }
            _ => {
                return Err(ConfigError::Invalid(
                    "cookie_secrets must be a table of key versions and secrets, such as \
                     [prod.cookie_secrets] with 2 = \"…\" (the value is not shown: it is a secret)"
                        .into(),
                ));
            }
        };
        let mut pairs = Vec::new();
        for (version, secret) in map {
            let v: u32 = version.parse().map_err(|_| {
                ConfigError::Invalid(format!(
                    "cookie_secrets key {version:?} is not a key version number"
                ))
            })?;
            let toml::Value::String(secret) = secret else {
                return Err(ConfigError::Invalid(format!(
                    "cookie_secrets version {v} must be a string (the value is not shown: it \
                     is a secret)"
                )));
            };
            pairs.push((v, secret));
        }
        return Ok(Some(Keys::versioned(pairs)));
    }
    match secret {
        None => Ok(None),
        Some(Hidden(toml::Value::String(secret))) if secret.is_empty() => Ok(None),
        Some(Hidden(toml::Value::String(secret))) => Ok(Some(Keys::single(secret))),
        Some(_) => Err(ConfigError::Invalid(
            "cookie_secret must be a string (the value is not shown: it is a secret)".into(),
        )),
    }
}

pub(super) fn check_strength(env: Env, keys: &Keys) -> Result<(), ConfigError> {
    for (version, secret) in keys.iter() {
        let distinct = secret
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let placeholder = std::str::from_utf8(secret).is_ok_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("change") || s.contains("secret") || s.contains("example")
        });
        if secret.len() < MIN_SECRET_LEN || distinct < 10 || placeholder || !looks_random(secret) {
            return Err(ConfigError::WeakSecret { env, version });
        }
    }
    Ok(())
}

/// Could `secret` have been drawn at random? Not if it repeats a block
/// (`abcdefghijabcdefghij…`), if most of it is one run of consecutive characters
/// (`abcdefghijklmnopqrstuvwxyz…`), or if its characters, counted as they occur, carry fewer
/// than 96 bits (a long secret over very few characters).
pub(super) fn looks_random(secret: &[u8]) -> bool {
    let n = secret.len();
    let periodic = (1..=n / 2).any(|p| secret.iter().zip(&secret[p..]).all(|(a, b)| a == b));
    let mut longest_run = 1;
    let mut run = 1;
    for pair in secret.windows(2) {
        let step = i16::from(pair[1]) - i16::from(pair[0]);
        run = if step.abs() == 1 { run + 1 } else { 1 };
        longest_run = longest_run.max(run);
    }
    let mut counts = std::collections::BTreeMap::<u8, usize>::new();
    for b in secret {
        *counts.entry(*b).or_default() += 1;
    }
    let bits: f64 = counts
        .values()
        .map(|&c| {
            let share = c as f64 / n as f64;
            -(c as f64) * share.log2()
        })
        .sum();
    !periodic && longest_run * 2 <= n && bits >= 96.0
}

/// A new random secret (32 bytes, hex), strong enough for any profile.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The dev profile's secret: made once and kept in `.torn/dev-secret`.
pub(super) fn dev_secret(root: &Path) -> String {
    let path = root.join(".torn").join("dev-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if s.len() >= MIN_SECRET_LEN {
            return s.to_string();
        }
    }
    let secret = random_secret();
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        std::fs::write(&path, format!("{secret}\n"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    };
    if let Err(e) = write() {
        // Not fatal in dev: the secret lives as long as the process.
        tracing::warn!(
            "could not keep the dev cookie secret in {}: {e}",
            path.display()
        );
    }
    secret
}
