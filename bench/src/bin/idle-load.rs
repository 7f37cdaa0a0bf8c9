//! The C10K benchmark's idle clients (`bench/c10k.sh`): opens CONNECTIONS keep-alive HTTP/1.1
//! connections to 127.0.0.1:PORT (spread over the local addresses 127.0.0.2 to 127.0.0.9), each
//! asking for PATH once and reading the whole answer, then keeping it open and silent. Prints
//! one line of JSON once all are open: the time it took, and the server's memory per idle
//! connection (RSS growth / connections, measured 2 s after the last one opened). Then holds
//! them until it is stopped.
//!
//! usage: idle-load CONNECTIONS PID PORT PATH

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Ask for `path` and read the whole answer (headers and `Content-Length` bytes of body).
async fn ask(stream: &mut tokio::net::TcpStream, path: &str) -> std::io::Result<()> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut got = Vec::with_capacity(4096);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if got.len() >= end + 4 + length {
            return Ok(());
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [connections, pid, port, path] = args.as_slice() else {
        panic!("usage: idle-load CONNECTIONS PID PORT PATH");
    };
    let connections: usize = connections.parse().expect("CONNECTIONS");
    let pid: u32 = pid.parse().expect("PID");
    let port: u16 = port.parse().expect("PORT");
    let rss_before = torn_bench::rss(pid);
    let started = Instant::now();
    let mut held = Vec::with_capacity(connections);
    let mut opening = Vec::new();
    for i in 0..connections {
        let path = path.clone();
        opening.push(tokio::spawn(async move {
            let mut stream = torn_bench::connect_as(i, port).await;
            ask(&mut stream, &path).await.expect("an answer");
            stream
        }));
        if opening.len() == 500 {
            for task in opening.drain(..) {
                held.push(task.await.unwrap());
            }
        }
    }
    for task in opening {
        held.push(task.await.unwrap());
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = torn_bench::rss(pid);
    let per_connection = rss_after.saturating_sub(rss_before) as f64 / connections as f64;
    println!(
        "{{\"connections\": {connections}, \"connect_secs\": {connect_secs:.2}, \
         \"rss_before_mb\": {:.1}, \"rss_after_mb\": {:.1}, \"bytes_per_connection\": {per_connection:.0}}}",
        rss_before as f64 / 1e6,
        rss_after as f64 / 1e6,
    );
    // Held until stopped; a connection the server closes meanwhile is counted when it ends.
    tokio::signal::ctrl_c().await.ok();
    let mut closed = 0;
    for mut stream in held {
        let mut one = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut one)).await
        {
            closed += 1;
        }
    }
    eprintln!("{closed} of {connections} connections had been closed by the server");
}
