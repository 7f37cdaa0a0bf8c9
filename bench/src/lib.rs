//! Servers compared by `bench/hello.sh`: the same hello-world page from torn
//! (`hello-torn`), from bare axum (`hello-axum`) and from Tornado (`hello_tornado.py`).
//! Each listens on the port given as its first argument.

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
