//! "Forgot password" must not tell, by how long it takes, whether an address has an account.
//! The starter once looked the account up, made the token and built the mail before answering:
//! an address with an account took 4.5 ms, one without 2.9 ms, and one request told which it
//! was 86% of the time. Now the answer comes before that work, the same for every address.
//!
//! The starter (a debug build) runs as its own process; known and unknown addresses are asked
//! for in turns, each pair from a loopback address of its own (mail requests are limited per
//! client and per address), with a pause after each request so that the work left behind by
//! one does not land on the next. The check: no threshold on the time sorts the two kinds
//! apart much better than a coin does.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
/// Addresses of each kind.
const ADDRESSES: usize = 40;
/// Requests per address.
const ROUNDS: usize = 3;

fn loopback(third: usize, fourth: usize) -> Option<IpAddr> {
    Some(format!("127.0.{third}.{}", fourth + 1).parse().unwrap())
}

/// Ask for a reset link for `email` from `client`; how long the answer took.
async fn forgot(client: &reqwest::Client, base: &str, email: &str) -> Duration {
    let token = common::form_token(client, &format!("{base}/auth/forgot")).await;
    let started = Instant::now();
    let r = client
        .post(format!("{base}/auth/forgot"))
        .form(&[("_xsrf", token.as_str()), ("email", email)])
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), 303, "{email}: {}", r.text().await.unwrap());
    took
}

/// The best share of samples that one threshold classifies right ("at most t" is one kind,
/// "more than t" the other, either way round): 0.5 for kinds that take the same time, 1.0 for
/// kinds that never overlap.
fn best_split(a: &[f64], b: &[f64]) -> f64 {
    let total = (a.len() + b.len()) as f64;
    a.iter()
        .chain(b)
        .map(|&t| {
            let a_below = a.iter().filter(|&&x| x <= t).count();
            let b_below = b.iter().filter(|&&x| x <= t).count();
            let one_way = a_below + (b.len() - b_below);
            let other_way = b_below + (a.len() - a_below);
            one_way.max(other_way) as f64 / total
        })
        .fold(0.5, f64::max)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn forgot_takes_as_long_for_every_address(database_url: Option<&str>) {
    let env: Vec<(&str, String)> = database_url
        .map(|url| ("DATABASE_URL", url.to_string()))
        .into_iter()
        .collect();
    let (_app, base) = common::start_starter(&env);
    for i in 0..ADDRESSES {
        let client = torn::test::browser_client_from(loopback(1, i));
        let token = common::form_token(&client, &format!("{base}/auth/signup")).await;
        let email = format!("known{i}@example.com");
        let r = client
            .post(format!("{base}/auth/signup"))
            .form(&[
                ("_xsrf", token.as_str()),
                ("email", email.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "sign-up {i}");
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for i in 0..ADDRESSES {
            let client = torn::test::browser_client_from(loopback(10 + round, i));
            let pair = [
                (format!("known{i}@example.com"), true),
                (format!("unknown{i}@example.com"), false),
            ];
            // Which kind goes first alternates.
            let order = if (round + i) % 2 == 0 { [0, 1] } else { [1, 0] };
            for k in order {
                let (email, has_account) = &pair[k];
                let took = forgot(&client, &base, email).await.as_secs_f64() * 1000.0;
                if *has_account {
                    known.push(took);
                } else {
                    unknown.push(took);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let split = best_split(&known, &unknown);
    let (k, u) = (median(&known), median(&unknown));
    println!("known p50 {k:.2} ms, unknown p50 {u:.2} ms, best threshold right {split:.2}");
    assert!(
        split < 0.70,
        "the time tells whether an address has an account: one threshold sorts {:.0}% of \
         requests right (known p50 {k:.2} ms, unknown p50 {u:.2} ms)",
        split * 100.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_takes_as_long_for_every_address_on_sqlite() {
    forgot_takes_as_long_for_every_address(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_takes_as_long_for_every_address_on_postgres() {
    if std::env::var_os("TORN_TEST_POSTGRES_URL").is_none() {
        common::skipped(
            "forgot_takes_as_long_for_every_address_on_postgres",
            "TORN_TEST_POSTGRES_URL is not set",
        );
        return;
    }
    let pg = torn::test::TestDatabase::postgres()
        .await
        .expect("set above");
    forgot_takes_as_long_for_every_address(Some(pg.url())).await;
    drop(pg);
}
