//! Log-in throttling, per account and per client address, in the `login_failures` table; the
//! same counters limit the mail anyone can make the app send (per recipient and per client).
//!
//! An attempt is reserved before the password is checked, in one statement that counts it and,
//! past the free attempts, sets the lock, only if no lock is in force: concurrent guesses are
//! counted as they arrive, so no more of them reach the password check than the rule allows,
//! however many are sent at once (on SQLite the statement takes the write lock; on PostgreSQL
//! the row lock, and the condition is checked again on the row as the previous writer left it).
//! A successful log-in gives the attempt back ([`refund`]) or clears the count ([`forget`]).

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::db::{Db, now};
use crate::with_db;

use super::AuthError;

/// The first wait, doubled after each further failure.
pub const FIRST_WAIT_SECS: i64 = 30;
/// The longest wait.
pub const MAX_WAIT_SECS: i64 = 3600;
/// Failures older than this are forgotten.
pub const FAILURE_MEMORY_SECS: i64 = 24 * 3600;

/// The throttle key of an account (by its normalized address): hashed, so the table holds
/// neither addresses nor whatever else was typed, and every key has the same small size.
pub(crate) fn account_key(email: &str) -> String {
    key("account", email)
}

/// The throttle key of the password asked again from a logged-in user (before a password or
/// address change): a count of its own, so that failed log-ins by others, which lock the
/// account's log-in, do not also keep its owner from changing the password.
pub(crate) fn reauth_key(user_id: i64) -> String {
    key("reauth", &user_id.to_string())
}

/// The throttle key of the second step of log-ins to an account (a two-factor code or a
/// recovery code): reached only with the first factor, so it counts per account.
pub(crate) fn second_step_key(user_id: i64) -> String {
    key("second-step", &user_id.to_string())
}

/// The throttle key of the first codes that would turn two-factor log-in on: apart from the
/// log-in's, so a session cannot lock its owner's log-in with them.
pub(crate) fn setup_key(user_id: i64) -> String {
    key("two-factor-setup", &user_id.to_string())
}

/// The key that counts the mail sent to one address (sign-up, reset, the verification link
/// again, an address change), whoever asks: an inbox cannot be flooded.
pub(crate) fn mail_key(email: &str) -> String {
    key("mail", email)
}

/// The key that counts the requests for mail (and sign-ups, each an argon2 hash) from one
/// client address, by its /64 for IPv6 as [`address_key`].
pub(crate) fn mail_client_key(ip: IpAddr) -> String {
    let address = address_key(ip);
    format!("mail-client:{}", &address["address:".len()..])
}

/// The throttle key of the log-ins to an account from one browser that logged in to it before
/// (by the nonce of its device cookie): a count of its own, apart from the account's.
pub(crate) fn device_key(nonce: &str) -> String {
    key("device", nonce)
}

/// The throttle key of a client address. An IPv6 client counts by its /64, the block one
/// subscriber or host gets: otherwise every one of its 2^64 addresses would have 20 failures
/// of its own.
pub(crate) fn address_key(ip: IpAddr) -> String {
    let ip = match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            return key(
                "address",
                &format!("{}/64", std::net::Ipv6Addr::from(prefix)),
            );
        }
        IpAddr::V4(v4) => IpAddr::V4(v4),
    };
    key("address", &ip.to_string())
}

fn key(kind: &str, value: &str) -> String {
    format!("{kind}:{}", hex::encode(Sha256::digest(value.as_bytes())))
}

/// Delete the rows that no longer count: failures forgotten and no lock in force.
pub(crate) async fn purge(db: &Db) -> Result<u64, AuthError> {
    let t = now();
    Ok(with_db!(db, pool => {
        sqlx::query("DELETE FROM login_failures WHERE last_failure_at <= $1 AND locked_until <= $2")
            .bind(t - FAILURE_MEMORY_SECS)
            .bind(t)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?)
}

/// The wait after the `n`th attempt when `free` attempts are free: none up to `free`, then
/// [`FIRST_WAIT_SECS`], doubling with each attempt, up to [`MAX_WAIT_SECS`].
pub(crate) fn wait_after(n: i64, free: i64) -> i64 {
    if n <= free {
        return 0;
    }
    // n > free here, so this is 0 to 20.
    let doublings = u32::try_from((n - free - 1).min(20)).unwrap_or(20);
    (FIRST_WAIT_SECS << doublings).min(MAX_WAIT_SECS)
}

/// The SQL for [`wait_after`] of the count `n` (an SQL expression), with `free` bound as `$4`
/// and the time as `$3`: the new `locked_until`. Built from the constants above only.
fn lock_sql(n: &str) -> String {
    let mut sql = format!("CASE WHEN {n} <= $4 THEN 0");
    let mut past = 1;
    while wait_after(past, 0) < MAX_WAIT_SECS {
        sql.push_str(&format!(
            " WHEN {n} - $4 = {past} THEN $3 + {}",
            wait_after(past, 0)
        ));
        past += 1;
    }
    sql.push_str(&format!(" ELSE $3 + {MAX_WAIT_SECS} END"));
    sql
}

/// Reserve one attempt for `key`, with `free` attempts before the lock: `Ok` with the attempt's
/// number when it may go on to the password check (past `free`, this attempt set a lock for
/// the next ones), [`AuthError::Throttled`] while a lock is in force.
pub(crate) async fn reserve(db: &Db, key: &str, free: i64) -> Result<i64, AuthError> {
    let t = now();
    // The count after this attempt: restarted when the last failure is forgotten.
    let n = "(CASE WHEN last_failure_at <= $2 THEN 1 ELSE failures + 1 END)";
    let count = format!(
        "UPDATE login_failures SET failures = {n}, last_failure_at = $3, locked_until = {lock} \
         WHERE throttle_key = $1 AND locked_until <= $3 RETURNING failures",
        lock = lock_sql(n)
    );
    for _ in 0..3 {
        let counted: Option<i64> = with_db!(db, pool => {
            sqlx::query_scalar(&count)
                .bind(key)
                .bind(t - FAILURE_MEMORY_SECS)
                .bind(t)
                .bind(free)
                .fetch_optional(pool)
                .await
        })?;
        if let Some(n) = counted {
            return Ok(n);
        }
        // No row, or a locked one: the first attempt makes the row.
        let first = wait_after(1, free);
        let inserted: Option<i64> = with_db!(db, pool => {
            sqlx::query_scalar(
                "INSERT INTO login_failures (throttle_key, failures, last_failure_at, locked_until) \
                 VALUES ($1, 1, $2, $3) ON CONFLICT (throttle_key) DO NOTHING RETURNING failures",
            )
            .bind(key)
            .bind(t)
            .bind(if first > 0 { t + first } else { 0 })
            .fetch_optional(pool)
            .await
        })?;
        if let Some(n) = inserted {
            return Ok(n);
        }
        let locked_until: Option<i64> = with_db!(db, pool => {
            sqlx::query_scalar("SELECT locked_until FROM login_failures WHERE throttle_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
        })?;
        if let Some(until) = locked_until.filter(|until| *until > t) {
            return Err(AuthError::Throttled {
                retry_after: (until - t).unsigned_abs(),
            });
        }
        // The lock ended or the row went in the meantime: count again.
    }
    Err(AuthError::Throttled { retry_after: 1 })
}

/// Give back an attempt that turned out not to be a failure (the right password, or an attempt
/// that another throttle refused before the check); the lock goes if the count is free again.
pub(crate) async fn refund(db: &Db, key: &str, free: i64) -> Result<(), AuthError> {
    with_db!(db, pool => {
        sqlx::query(
            "UPDATE login_failures SET failures = failures - 1, \
             locked_until = CASE WHEN failures - 1 > $2 THEN locked_until ELSE 0 END \
             WHERE throttle_key = $1 AND failures > 0",
        )
        .bind(key)
        .bind(free)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Forget every failure of `key` (a successful log-in to the account).
pub(crate) async fn forget(db: &Db, key: &str) -> Result<(), AuthError> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
            .bind(key)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_counts_by_its_slash_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
        assert_ne!(address_key(ip("192.0.2.1")), address_key(ip("192.0.2.2")));
        assert_eq!(
            address_key(ip("::ffff:192.0.2.1")),
            address_key(ip("192.0.2.1"))
        );
        assert!(account_key("a@example.com").starts_with("account:"));
        assert_eq!(account_key("a@example.com").len(), "account:".len() + 64);
    }

    #[test]
    fn waits_double_up_to_the_longest() {
        let waits: Vec<i64> = (1..=14).map(|n| wait_after(n, 5)).collect();
        assert_eq!(
            waits,
            [0, 0, 0, 0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
        );
        assert_eq!(wait_after(1, 0), 30);
        assert_eq!(wait_after(1000, 5), 3600);
    }

    #[test]
    fn the_sql_lock_is_the_same_ladder() {
        let sql = lock_sql("n");
        assert!(sql.starts_with("CASE WHEN n <= $4 THEN 0 WHEN n - $4 = 1 THEN $3 + 30 "));
        assert!(
            sql.contains("WHEN n - $4 = 7 THEN $3 + 1920 ELSE $3 + 3600 END"),
            "{sql}"
        );
    }
}
