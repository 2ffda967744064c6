//! Trusted proxies: the client address behind load balancers.
//!
//! A forwarding header (`Forwarded`, RFC 7239, or `X-Forwarded-For`) is
//! only as trustworthy as whoever appended its last entry. Each proxy
//! appends the address of the peer that connected to it, so the header is
//! read right to left from the connection's peer: while the address at hand
//! is a trusted proxy, step to the entry it appended; the first address
//! that is not a trusted proxy is the client. A peer that is not a trusted
//! proxy is the client itself, whatever headers it sends (spoofing them
//! changes nothing).

use std::net::IpAddr;

use crate::error::{PalisadeError, Result};

/// Most forwarding entries read per request (a longer chain stops at the
/// last trusted hop reached).
const MAX_HOPS: usize = 32;

const FIELD: &str = "http.trusted_proxies";

/// The networks of the proxies whose forwarding headers are believed
/// (`http.trusted_proxies` in the configuration).
///
/// ```
/// use palisade::TrustedProxies;
/// let proxies = TrustedProxies::parse(["10.0.0.0/8", "2001:db8:1::/48"])?;
/// let peer = "10.1.2.3".parse().unwrap();
/// // Right to left: 10.9.9.9 is another trusted proxy, 198.51.100.7 the client.
/// let xff = ["203.0.113.66, 198.51.100.7, 10.9.9.9"];
/// assert_eq!(proxies.client_addr(peer, [], xff).to_string(), "198.51.100.7");
/// // An untrusted peer is the client, whatever it claims.
/// let peer = "192.0.2.1".parse().unwrap();
/// assert_eq!(proxies.client_addr(peer, [], xff).to_string(), "192.0.2.1");
/// # Ok::<(), palisade::PalisadeError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<(IpAddr, u8)>,
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

fn parse_cidr(s: &str) -> core::result::Result<(IpAddr, u8), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{s}` is not an address or `address/prefix`"))?;
    let ip = ip.to_canonical();
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("`{s}`: the prefix length is 0–{max}"))?,
    };
    if prefix == 0 {
        return Err(format!(
            "`{s}` trusts every address as a proxy, so any client could choose its own address"
        ));
    }
    if mask(ip, prefix) != ip {
        return Err(format!(
            "`{s}` has host bits set; write `{}/{prefix}`",
            mask(ip, prefix)
        ));
    }
    Ok((ip, prefix))
}

/// One node of a forwarding entry: `192.0.2.1`, `192.0.2.1:80`,
/// `[2001:db8::1]`, `[2001:db8::1]:80`, a bare IPv6 address, optionally in
/// double quotes. `unknown` and obfuscated names (`_hidden`) give `None`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s);
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inner, _port) = rest.split_once(']')?;
        return inner.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// Split at commas outside double quotes.
fn split_elements(value: &str) -> impl DoubleEndedIterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, b) in value.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                parts.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default());
    parts.into_iter()
}

/// The `for=` node of one `Forwarded` element (`None` when absent or unusable).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(v))
            .flatten()
    })
}

impl TrustedProxies {
    /// Parse proxy networks (`10.0.0.0/8`, `2001:db8::/48`, or a single
    /// address).
    ///
    /// # Errors
    /// [`PalisadeError::Config`] for a malformed entry, a prefix with host
    /// bits set, or a `/0` (which would let any client pick its address).
    pub fn parse<I, S>(cidrs: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut nets = Vec::new();
        for c in cidrs {
            nets.push(parse_cidr(c.as_ref().trim()).map_err(|r| PalisadeError::config(FIELD, r))?);
        }
        Ok(Self { nets })
    }

    /// True when no proxy is trusted (forwarding headers are ignored).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// True when `ip` is in a trusted proxy network.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets
            .iter()
            .any(|&(net, p)| net.is_ipv4() == ip.is_ipv4() && mask(ip, p) == net)
    }

    /// The client address of a request that arrived from `peer` with these
    /// `Forwarded` header values and `X-Forwarded-For` values (every header
    /// line, in order). `Forwarded` is used when present, else
    /// `X-Forwarded-For`. Read right to left from `peer`, stopping at the
    /// first address that is not a trusted proxy; an unusable entry
    /// (`unknown`, an obfuscated name, garbage) stops the walk at the
    /// trusted proxy that wrote it.
    #[must_use]
    pub fn client_addr<'h>(
        &self,
        peer: IpAddr,
        forwarded: impl IntoIterator<Item = &'h str>,
        x_forwarded_for: impl IntoIterator<Item = &'h str>,
    ) -> IpAddr {
        let mut addr = peer.to_canonical();
        if !self.contains(addr) {
            return addr;
        }
        let fwd: Vec<&str> = forwarded.into_iter().collect();
        let hops: Vec<Option<IpAddr>> = if fwd.is_empty() {
            x_forwarded_for
                .into_iter()
                .flat_map(split_elements)
                .map(parse_node)
                .collect()
        } else {
            fwd.into_iter()
                .flat_map(split_elements)
                .map(forwarded_for)
                .collect()
        };
        for hop in hops.into_iter().rev().take(MAX_HOPS) {
            match hop {
                Some(ip) => addr = ip,
                None => return addr,
            }
            if !self.contains(addr) {
                return addr;
            }
        }
        addr
    }
}
