//! Servers and clients for the benchmarks in `bench/`: the hello-world page from torn
//! (`hello-torn`), bare axum (`hello-axum`) and Tornado (`hello_tornado.py`); real pages from
//! the starter and their hand-written axum twin (`pages-axum`), and the fortunes page
//! (`fortunes-torn`, `fortunes_tornado.py`) for `pages.sh`; idle connections for `c10k.sh`;
//! WebSockets for `websocket.sh`; jobs through the queue for `jobs.sh` (`jobs-throughput`). Each
//! server listens on the port given as its first argument.

/// The page every server answers with, byte for byte.
pub const HELLO: &str = "<h1>Hello world! Welcome to Tornado</h1>";

/// The port from the first command-line argument.
pub fn port_arg() -> u16 {
    std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: <server> PORT")
}

/// Nanoseconds since the Unix epoch: what the WebSocket benchmark's servers publish and its
/// clients subtract from their own clock (all on one machine).
pub fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Resident memory of a process, in bytes (`VmRSS`).
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU time (user + system) a process has used, in seconds.
pub fn cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}

/// The `i`-th client's TCP connection to 127.0.0.1:`port`, from one of the local addresses
/// 127.0.0.2 to 127.0.0.9 (so that no address runs out of ports), from a port chosen here, not
/// by the kernel: binding to port 0 makes the kernel search for a free one among every socket
/// bound to the address, which slows to seconds per hundred connections once thousands are
/// open. A port left in TIME_WAIT by an earlier run may be taken again.
pub async fn connect_as(i: usize, port: u16) -> tokio::net::TcpStream {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % 8) as u8));
    // Below the kernel's ephemeral range (32768 and up), one port per address and client:
    // 8 addresses of 12,000 ports each.
    let local = 20_000 + u16::try_from(i / 8).expect("at most 96,000 clients");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(SocketAddr::new(ip, local)).unwrap();
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap()
}

/// The "fortunes" page of `bench/pages.sh`, the same for torn (`fortunes-torn`) and bare axum
/// (`pages-axum`): read every row, add one, sort by message, render a template that escapes.
pub mod fortunes {
    use askama::Template;

    /// One row of the `fortune` table.
    #[derive(sqlx::FromRow)]
    pub struct Fortune {
        /// Its id.
        pub id: i64,
        /// The text, which may hold markup to escape.
        pub message: String,
    }

    /// `templates/fortunes.html`.
    #[derive(Template)]
    #[template(path = "fortunes.html")]
    pub struct FortunesPage {
        /// The rows, sorted.
        pub fortunes: Vec<Fortune>,
    }

    /// The rows TechEmpower's benchmark uses (one with a script to escape, one in Japanese).
    const ROWS: [&str; 12] = [
        "fortune: No such file or directory",
        "A computer scientist is someone who fixes things that aren't broken.",
        "After enough decimal places, nobody gives a damn.",
        "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
        "A computer program does what you tell it to do, not what you want it to do.",
        "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
        "Any program that runs right is obsolete.",
        "A list is only as strong as its weakest link. — Donald Knuth",
        "Feature: A bug with seniority.",
        "Computers make very fast, very accurate mistakes.",
        "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
        "フレームワークのベンチマーク",
    ];

    /// Make the table and its rows if the database has none.
    pub async fn prepare(pool: &sqlx::SqlitePool) -> sqlx::Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)",
        )
        .execute(pool)
        .await?;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fortune")
            .fetch_one(pool)
            .await?;
        if rows == 0 {
            for (i, message) in ROWS.iter().enumerate() {
                sqlx::query("INSERT INTO fortune (id, message) VALUES ($1, $2)")
                    .bind(i64::try_from(i).unwrap_or(0) + 1)
                    .bind(*message)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The page's work: the query, the added row, the sort.
    pub async fn page(pool: &sqlx::SqlitePool) -> sqlx::Result<FortunesPage> {
        let mut fortunes: Vec<Fortune> = sqlx::query_as("SELECT id, message FROM fortune")
            .fetch_all(pool)
            .await?;
        fortunes.push(Fortune {
            id: 0,
            message: "Additional fortune added at request time.".to_string(),
        });
        fortunes.sort_by(|a, b| a.message.cmp(&b.message));
        Ok(FortunesPage { fortunes })
    }
}
