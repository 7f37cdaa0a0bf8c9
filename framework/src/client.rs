//! Who sent a request, through the proxies the app trusts: the client's address and the scheme
//! it used (Tornado's `xheaders`, done safely).
//!
//! Behind a reverse proxy every connection comes from the proxy, so the TCP peer says nothing
//! of the client. Proxies name the client in `X-Forwarded-For`, `Forwarded` (RFC 7239) or
//! `X-Real-IP`, but any client can send those headers too. So they are read only when the peer
//! is one of `trusted_proxies` (none by default), only the one header the proxy writes
//! (`proxy_header`, `X-Forwarded-For` by default: a header the proxy passes through untouched
//! is the client's word), and only as far as the proxies go: the hops are read from the right
//! (the nearest first), skipping trusted proxies, and the first one that is not trusted is the
//! client. What a client wrote into the header itself lies to the left of that and is never
//! reached. `X-Forwarded-Proto` (or `proto=` in `Forwarded`) gives the scheme the same way.
//!
//! The request frame resolves both once per request; [`ClientIp`] and [`ClientScheme`] are the
//! extractors, and the request log, the log-in throttle and every other use of the client's
//! address go through them.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::error::Error;

/// The header that the app's proxies write the client's address into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProxyHeader {
    /// `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`, HAProxy's `option forwardfor`),
    /// with `X-Forwarded-Proto` for the scheme.
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239), `for=` and `proto=`.
    Forwarded,
    /// `X-Real-IP` (one address, set by the proxy), with `X-Forwarded-Proto`.
    XRealIp,
}

impl FromStr for ProxyHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ProxyHeader::XForwardedFor),
            "forwarded" => Ok(ProxyHeader::Forwarded),
            "x-real-ip" => Ok(ProxyHeader::XRealIp),
            _ => Err(format!(
                "{s:?} is not a header torn reads the client's address from; expected \
                 x-forwarded-for, forwarded or x-real-ip"
            )),
        }
    }
}

/// The proxies whose forwarding header is believed: addresses and networks, and which header
/// they write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ProxyHeader,
}

impl TrustedProxies {
    /// Parse a list of addresses (`10.0.0.5`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let net = IpNet::from_str(entry)
                .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "{entry:?} is not an IP address or network (examples: 10.0.0.5, \
                         10.0.0.0/8, ::1, fd00::/8)"
                    )
                })?;
            nets.push(net);
        }
        Ok(TrustedProxies {
            nets,
            header: ProxyHeader::default(),
        })
    }

    /// The same proxies, writing the client's address into `header`.
    #[must_use]
    pub fn with_header(mut self, header: ProxyHeader) -> Self {
        self.header = header;
        self
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Is `ip` a trusted proxy? (An IPv4 address mapped into IPv6 counts as itself.)
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

/// Who sent a request, as [`resolve`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    /// The client's address.
    pub ip: IpAddr,
    /// Whether the client used HTTPS (as its nearest trusted proxy says; the connection to
    /// torn itself is plain HTTP).
    pub https: bool,
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy, else the nearest
/// untrusted hop its forwarding headers name.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> Client {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return Client {
            ip: peer,
            https: false,
        };
    }
    let hops = forwarded_hops(headers, trusted.header);
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if trusted.contains(*ip) => client = *ip,
            Some(ip) => {
                client = *ip;
                break;
            }
            // A hop that is not an address (`unknown`, an obfuscated name): nothing to its
            // left can be checked, so the client is the proxy that wrote it.
            None => break,
        }
    }
    Client {
        ip: client,
        https: forwarded_https(headers, trusted.header),
    }
}

/// The values of every `name` header line, as one comma-separated list.
fn header_list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

/// The elements of the `Forwarded` header lines, split on commas outside quoted strings;
/// `None` when a quoted string is left open (a client's attempt to swallow what the proxy
/// appended: nothing in it is believed).
fn forwarded_elements(headers: &HeaderMap) -> Option<Vec<String>> {
    let mut elements = Vec::new();
    for value in headers.get_all("forwarded") {
        let value = value.to_str().ok()?;
        let mut current = String::new();
        let (mut quoted, mut escaped) = (false, false);
        for c in value.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    elements.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        if quoted || escaped {
            return None;
        }
        elements.push(current);
    }
    Some(
        elements
            .into_iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect(),
    )
}

/// The hops that the proxies named in `header`, leftmost (farthest) first; `None` for a hop
/// that is not an IP address.
fn forwarded_hops(headers: &HeaderMap, header: ProxyHeader) -> Vec<Option<IpAddr>> {
    match header {
        ProxyHeader::XForwardedFor => header_list(headers, "x-forwarded-for")
            .iter()
            .map(|node| parse_node(node))
            .collect(),
        ProxyHeader::XRealIp => header_list(headers, "x-real-ip")
            .iter()
            .map(|node| parse_node(node))
            .collect(),
        ProxyHeader::Forwarded => match forwarded_elements(headers) {
            Some(elements) => elements
                .iter()
                .map(|element| param(element, "for").and_then(|node| parse_node(&node)))
                .collect(),
            None => vec![None],
        },
    }
}

/// Whether the nearest trusted proxy says the client used HTTPS: the last `proto=` of
/// `Forwarded`, or the last value of `X-Forwarded-Proto`.
fn forwarded_https(headers: &HeaderMap, header: ProxyHeader) -> bool {
    let proto = match header {
        ProxyHeader::Forwarded => forwarded_elements(headers)
            .and_then(|elements| elements.last().and_then(|e| param(e, "proto"))),
        ProxyHeader::XForwardedFor | ProxyHeader::XRealIp => {
            header_list(headers, "x-forwarded-proto").pop()
        }
    };
    proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The value of `name=` in one `Forwarded` element (`for=…;proto=…`), unquoted. Pairs are split
/// on `;` outside quoted strings.
fn param(element: &str, name: &str) -> Option<String> {
    let mut pairs = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in element.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                pairs.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    pairs.push(current);
    pairs.iter().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim().eq_ignore_ascii_case(name).then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
                .replace('\\', "")
        })
    })
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = IpAddr::from_str(node) {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return IpAddr::from_str(ip).ok().map(|ip| ip.to_canonical());
    }
    SocketAddr::from_str(node)
        .ok()
        .map(|a| a.ip().to_canonical())
}

/// The client's address: the TCP peer, or behind a trusted proxy the address it forwarded
/// (see the [module](self)).
///
/// ```ignore
/// async fn log_in(ClientIp(client): ClientIp, /* … */) { /* accounts.authenticate(…, client) */ }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Whether the client used HTTPS, as [`ClientIp`] reads the client's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientScheme {
    /// `true` for HTTPS.
    pub https: bool,
}

/// The client of a request: resolved by the request frame, else (a router served without
/// torn's frame) from the connection alone.
fn client_of(parts: &Parts) -> Result<Client, Error> {
    if let Some(client) = parts.extensions.get::<Client>() {
        return Ok(*client);
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| Client {
            ip: peer.ip().to_canonical(),
            https: false,
        })
        .ok_or_else(|| {
            Error::internal(
                "the client's address is unknown: serve the app with torn (App::serve), which \
                 records each connection's peer",
            )
        })
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        client_of(parts).map(|c| ClientIp(c.ip))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientScheme {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        client_of(parts).map(|c| ClientScheme { https: c.https })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("forwarded", "for=5.6.7.8;proto=https"),
            ("x-real-ip", "9.9.9.9"),
            ("x-forwarded-proto", "https"),
        ]);
        for trusted in [proxies(&[]), proxies(&["10.0.0.0/8"])] {
            let c = resolve(ip("203.0.113.7"), &h, &trusted);
            assert_eq!(c.ip, ip("203.0.113.7"));
            assert!(!c.https);
        }
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.168.1.1"]);
        // The client wrote 6.6.6.6 itself; the first proxy appended the real address.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.9, 10.1.2.3")]);
        assert_eq!(
            resolve(ip("192.168.1.1"), &h, &trusted).ip,
            ip("198.51.100.9")
        );
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.9"),
        ]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted).ip, ip("198.51.100.9"));
        // Every hop trusted: the farthest one.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted).ip, ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(
            resolve(ip("10.0.0.1"), &HeaderMap::new(), &trusted).ip,
            ip("10.0.0.1")
        );
    }

    #[test]
    fn only_the_proxy_header_counts() {
        // nginx sets X-Forwarded-For and passes a client's own Forwarded through: that one is
        // the client's word.
        let trusted = proxies(&["10.0.0.1"]);
        let h = headers(&[
            ("forwarded", "for=6.6.6.6;proto=https"),
            ("x-real-ip", "7.7.7.7"),
            ("x-forwarded-for", "198.51.100.9"),
        ]);
        let c = resolve(ip("10.0.0.1"), &h, &trusted);
        assert_eq!(c.ip, ip("198.51.100.9"));
        assert!(!c.https);
        let real_ip = trusted.clone().with_header(ProxyHeader::XRealIp);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &real_ip).ip, ip("7.7.7.7"));
        let forwarded = trusted.with_header(ProxyHeader::Forwarded);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &forwarded).ip, ip("6.6.6.6"));
        assert_eq!("Forwarded".parse(), Ok(ProxyHeader::Forwarded));
        assert!("x-client-ip".parse::<ProxyHeader>().is_err());
    }

    #[test]
    fn quotes_cannot_swallow_what_the_proxy_appended() {
        let trusted = proxies(&["10.0.0.1"]);
        // X-Forwarded-For has no quoted strings: the proxy's entry stays the last one.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, \", 198.51.100.9")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted).ip, ip("198.51.100.9"));
        // In Forwarded, a quoted string left open makes the whole header unbelievable.
        let forwarded = trusted.with_header(ProxyHeader::Forwarded);
        let h = headers(&[("forwarded", "for=6.6.6.6;x=\", for=198.51.100.9")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &forwarded).ip, ip("10.0.0.1"));
        // A `;` inside quotes does not start a pair.
        let h = headers(&[("forwarded", "x=\"a;for=6.6.6.6\";for=198.51.100.9")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &h, &forwarded).ip,
            ip("198.51.100.9")
        );
    }

    #[test]
    fn forwarded_is_parsed_as_the_rfc_writes_it() {
        let trusted = proxies(&["10.0.0.1"]).with_header(ProxyHeader::Forwarded);
        let h = headers(&[
            (
                "forwarded",
                "for=\"6.6.6.6\", for=\"[2001:db8::7]:4711\";proto=https;by=10.0.0.1",
            ),
            ("x-forwarded-for", "1.1.1.1"),
        ]);
        let c = resolve(ip("10.0.0.1"), &h, &trusted);
        assert_eq!(c.ip, ip("2001:db8::7"));
        assert!(c.https);
        let h = headers(&[("forwarded", "for=192.0.2.60:8080;proto=http")]);
        let c = resolve(ip("10.0.0.1"), &h, &trusted);
        assert_eq!(c.ip, ip("192.0.2.60"));
        assert!(!c.https);
    }

    #[test]
    fn a_hop_that_is_no_address_stops_the_walk() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "6.6.6.6, unknown, 10.0.0.2")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted).ip, ip("10.0.0.2"));
        let forwarded = trusted.with_header(ProxyHeader::Forwarded);
        let h = headers(&[("forwarded", "for=6.6.6.6, for=_hidden")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &forwarded).ip, ip("10.0.0.1"));
    }

    #[test]
    fn x_real_ip_and_the_scheme() {
        let trusted = proxies(&["127.0.0.1"]).with_header(ProxyHeader::XRealIp);
        let h = headers(&[
            ("x-real-ip", "198.51.100.1"),
            ("x-forwarded-proto", "HTTPS"),
        ]);
        let c = resolve(ip("127.0.0.1"), &h, &trusted);
        assert_eq!(c.ip, ip("198.51.100.1"));
        assert!(c.https);
        // The nearest proxy's word counts: the last value.
        let h = headers(&[("x-forwarded-proto", "https, http")]);
        assert!(!resolve(ip("127.0.0.1"), &h, &trusted).https);
    }

    #[test]
    fn ipv4_mapped_addresses_are_the_ipv4_address() {
        let trusted = proxies(&["127.0.0.1"]);
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.2")]);
        let c = resolve(ip("::ffff:127.0.0.1"), &h, &trusted);
        assert_eq!(c.ip, ip("198.51.100.2"));
    }

    #[test]
    fn bad_entries_are_refused_with_examples() {
        let e = TrustedProxies::parse(&["10.0.0.0/33"]).unwrap_err();
        assert!(
            e.contains("\"10.0.0.0/33\" is not an IP address or network"),
            "{e}"
        );
        assert!(TrustedProxies::parse(&["proxy.example"]).is_err());
        assert!(TrustedProxies::parse(&[" ", ""]).unwrap().is_empty());
    }
}
