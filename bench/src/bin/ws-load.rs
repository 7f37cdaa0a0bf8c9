//! The WebSocket benchmark's clients (`bench/websocket.sh`): opens CLIENTS WebSockets to the
//! servers' `/ws` (spread over the servers, and over the local addresses 127.0.0.2 to
//! 127.0.0.9, from ports 20000 up, so that no address runs out of ports), asks the first server to broadcast ROUNDS
//! times, and reports, as one line of JSON: the time to connect everyone, the fan-out latency
//! (publish to receipt, for every client and round) p50/p99/max, messages delivered per second,
//! the servers' memory per open connection (RSS growth / connections) and the messages
//! delivered per second of the servers' CPU time.
//!
//! usage: ws-load CLIENTS ROUNDS PID:PORT [PID:PORT …]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A server: its process (for memory and CPU) and its port.
struct Server {
    pid: u32,
    port: u16,
}

async fn open(i: usize, port: u16) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let stream = torn_bench::connect_as(i, port).await;
    let url = format!("ws://127.0.0.1:{port}/ws");
    tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap()
        .0
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at] as f64 / 1e6
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clients: usize = args.first().and_then(|a| a.parse().ok()).expect("CLIENTS");
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).expect("ROUNDS");
    let servers: Vec<Server> = args[2..]
        .iter()
        .map(|a| {
            let (pid, port) = a.split_once(':').expect("PID:PORT");
            Server {
                pid: pid.parse().unwrap(),
                port: port.parse().unwrap(),
            }
        })
        .collect();
    assert!(
        !servers.is_empty(),
        "usage: ws-load CLIENTS ROUNDS PID:PORT …"
    );
    let rss_before: u64 = servers.iter().map(|s| torn_bench::rss(s.pid)).sum();

    // Connect everyone, 200 at a time.
    let (latencies, mut received) = mpsc::unbounded_channel::<u64>();
    let started = Instant::now();
    let mut opening = Vec::new();
    for i in 0..clients {
        let server = &servers[i % servers.len()];
        let (port, latencies) = (server.port, latencies.clone());
        opening.push(tokio::spawn(async move {
            let mut socket = open(i, port).await;
            tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message {
                        let sent: u128 = text.parse().unwrap_or(0);
                        let now = torn_bench::unix_nanos();
                        let _ = latencies
                            .send(u64::try_from(now.saturating_sub(sent)).unwrap_or(u64::MAX));
                    }
                }
            });
        }));
        if opening.len() == 200 {
            for task in opening.drain(..) {
                task.await.unwrap();
            }
        }
    }
    for task in opening {
        task.await.unwrap();
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after: u64 = servers.iter().map(|s| torn_bench::rss(s.pid)).sum();

    // Broadcast, round by round: each round waits for every client's message.
    let http = reqwest::Client::new();
    let broadcast = format!("http://127.0.0.1:{}/broadcast", servers[0].port);
    let cpu_before: f64 = servers.iter().map(|s| torn_bench::cpu(s.pid)).sum();
    let mut all = Vec::with_capacity(clients * rounds);
    let mut fan_out_secs = 0.0;
    for _ in 0..rounds {
        let sent = Instant::now();
        let answer = http.post(&broadcast).send().await.unwrap();
        assert!(
            answer.status().is_success(),
            "broadcast: {}",
            answer.status()
        );
        let mut got = 0;
        while got < clients {
            match tokio::time::timeout(Duration::from_secs(30), received.recv()).await {
                Ok(Some(latency)) => {
                    all.push(latency);
                    got += 1;
                }
                _ => panic!("only {got} of {clients} clients got the broadcast"),
            }
        }
        fan_out_secs += sent.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cpu_secs: f64 = servers.iter().map(|s| torn_bench::cpu(s.pid)).sum::<f64>() - cpu_before;
    all.sort_unstable();
    let delivered = (clients * rounds) as f64;
    println!(
        "{{\"clients\": {clients}, \"rounds\": {rounds}, \"connect_s\": {connect_secs:.2}, \
         \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"max_ms\": {:.2}, \"messages_per_s\": {:.0}, \
         \"bytes_per_connection\": {}, \"messages_per_cpu_s\": {:.0}, \"cpu_s\": {cpu_secs:.2}}}",
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
        delivered / fan_out_secs,
        rss_after.saturating_sub(rss_before) / clients as u64,
        delivered / cpu_secs.max(0.01),
    );
}
