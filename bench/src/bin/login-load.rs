//! Does a burst of log-ins stall other requests? Measures the latency of `GET /` alone, then
//! while CLIENTS clients log in continuously (through torn's accounts, which hash off the async
//! threads), then while they use a naive route that hashes on the async thread. Prints a
//! Markdown table for docs/benchmarks.md.
//!
//! usage: login-load BASE_URL SECONDS CLIENTS

use std::time::{Duration, Instant};

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "benchmark password 2026";

/// `GET /` in a loop for `secs`; the latencies in microseconds, sorted.
async fn probe(base: &str, secs: u64) -> Vec<u64> {
    let client = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs(secs);
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let start = Instant::now();
        let r = client.get(format!("{base}/")).send().await.expect("GET /");
        assert!(r.status().is_success());
        r.bytes().await.expect("body");
        latencies.push(start.elapsed().as_micros() as u64);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latencies.sort_unstable();
    latencies
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// `clients` loops posting log-ins to `path` until `until`; the number of successful ones.
async fn log_ins(base: &str, path: &str, clients: usize, until: Instant) -> u64 {
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let url = format!("{base}{path}");
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap();
            let mut ok = 0u64;
            while Instant::now() < until {
                let r = client
                    .post(&url)
                    .form(&[("email", EMAIL), ("password", PASSWORD)])
                    .send()
                    .await
                    .expect("POST login");
                if r.status().is_success() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: login-load BASE_URL SECONDS CLIENTS");
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let clients: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(16);

    let alone = probe(&base, secs).await;
    let mut rows = vec![("`GET /` alone".to_string(), alone, None)];
    for (label, path) in [
        ("torn accounts (`/login`)", "/login"),
        (
            "hashing on the async thread (`/login-inline`)",
            "/login-inline",
        ),
    ] {
        let until = Instant::now() + Duration::from_secs(secs);
        let load = tokio::spawn(log_ins_owned(base.clone(), path, clients, until));
        let latencies = probe(&base, secs).await;
        let done = load.await.unwrap();
        rows.push((
            format!("`GET /` while {clients} clients log in: {label}"),
            latencies,
            Some(done as f64 / secs as f64),
        ));
    }
    let base_p99 = percentile(&rows[0].1, 0.99);
    println!("| measurement | GET / p50 ms | GET / p99 ms | p99 vs alone | log-ins/s |");
    println!("|---|---|---|---|---|");
    for (label, lat, rate) in &rows {
        let p99 = percentile(lat, 0.99);
        println!(
            "| {label} | {:.2} | {:.2} | {:.1}x | {} |",
            percentile(lat, 0.5),
            p99,
            p99 / base_p99,
            rate.map_or("-".to_string(), |r| format!("{r:.1}"))
        );
    }
}

async fn log_ins_owned(base: String, path: &'static str, clients: usize, until: Instant) -> u64 {
    log_ins(&base, path, clients, until).await
}
