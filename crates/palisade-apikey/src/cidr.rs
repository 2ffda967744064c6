//! CIDR blocks for IP allow-lists, IPv4 and IPv6, matched on the integer
//! forms of the addresses (no dependency: this is arithmetic, not crypto).

use std::net::IpAddr;

use crate::error::ApiKeyError;

/// An IP network `address/prefix-length`, IPv4 or IPv6, with no host bits set.
///
/// An IPv4-mapped IPv6 client address (`::ffff:a.b.c.d`) is matched as the
/// IPv4 address it carries, and blocks are normalised the same way: a block
/// written inside `::ffff:0:0/96` (`::ffff:10.0.0.0/104`) is stored as the
/// IPv4 block it denotes (`10.0.0.0/8`), and an IPv6 block that covers
/// `::ffff:0:0/96` (such as `::/0`) contains IPv4 clients.
///
/// ```
/// use palisade_apikey::Cidr;
/// let net: Cidr = "10.1.0.0/16".parse()?;
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("10.2.0.1".parse().unwrap()));
/// # Ok::<(), palisade_apikey::ApiKeyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl Cidr {
    /// The block `addr/prefix`.
    ///
    /// # Errors
    /// [`ApiKeyError::Cidr`] when the prefix is longer than the address
    /// (32 or 128 bits) or `addr` has bits set beyond the prefix.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, ApiKeyError> {
        let bad = || ApiKeyError::Cidr {
            input: format!("{addr}/{prefix}"),
        };
        let host_bits_clear = match addr {
            IpAddr::V4(a) => prefix <= 32 && u32::from(a) & !mask_v4(prefix) == 0,
            IpAddr::V6(a) => prefix <= 128 && u128::from(a) & !mask_v6(prefix) == 0,
        };
        if !host_bits_clear {
            return Err(bad());
        }
        // Normalise a block inside ::ffff:0:0/96 to the IPv4 block it denotes.
        if let IpAddr::V6(a) = addr
            && prefix >= 96
            && let Some(v4) = a.to_ipv4_mapped()
        {
            return Ok(Self {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
        Ok(Self { addr, prefix })
    }

    /// The network address.
    #[must_use]
    pub const fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    #[must_use]
    pub const fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// True when `ip` lies in this block. IPv4 blocks never contain IPv6
    /// addresses (other than IPv4-mapped ones) and vice versa.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                u32::from(a) & mask_v4(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                u128::from(a) & mask_v6(self.prefix) == u128::from(net)
            }
            // An IPv4 client is `::ffff:a.b.c.d` to an IPv6 block.
            (IpAddr::V6(net), IpAddr::V4(a)) => {
                u128::from(a.to_ipv6_mapped()) & mask_v6(self.prefix) == u128::from(net)
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

impl core::str::FromStr for Cidr {
    type Err = ApiKeyError;

    /// Parse `addr/len`, or a bare address as a single-host block.
    fn from_str(s: &str) -> Result<Self, ApiKeyError> {
        let bad = || ApiKeyError::Cidr {
            input: crate::error::clip(s, 60),
        };
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let prefix = match p {
            None => match addr {
                IpAddr::V4(_) => 32,
                IpAddr::V6(_) => 128,
            },
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        Self::new(addr, prefix).map_err(|_| bad())
    }
}

impl core::fmt::Display for Cidr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl core::fmt::Debug for Cidr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Cidr({self})")
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Cidr;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a CIDR block such as `10.0.0.0/8` or `2001:db8::/32`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Cidr, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_and_v6_blocks() {
        let v4: Cidr = "192.168.0.0/16".parse().unwrap();
        assert!(v4.contains(ip("192.168.255.1")));
        assert!(!v4.contains(ip("192.169.0.1")));
        assert!(
            v4.contains(ip("::ffff:192.168.1.1")),
            "mapped v4 matches v4 blocks"
        );
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("192.168.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let host: Cidr = "2001:db8::7".parse().unwrap();
        assert_eq!(host.prefix_len(), 128);
        assert!(host.contains(ip("2001:db8::7")) && !host.contains(ip("2001:db8::8")));
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("::1")));
    }

    /// Issue 10 A3: a v4-mapped block matches (it is normalised to IPv4),
    /// and `::/0` admits v4 clients, written either way.
    #[test]
    fn v4_mapped_blocks_are_normalised_like_client_addresses() {
        let mapped: Cidr = "::ffff:10.0.0.0/104".parse().unwrap();
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        assert!(mapped.contains(ip("10.1.2.3")));
        assert!(mapped.contains(ip("::ffff:10.1.2.3")));
        assert!(!mapped.contains(ip("11.0.0.1")));
        let host: Cidr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(host, "192.0.2.7/32".parse().unwrap());
        let all: Cidr = "::/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(all.contains(ip("::ffff:8.8.8.8")));
        assert!(all.contains(ip("2001:db8::1")));
        let mapped_all: Cidr = "::ffff:0:0/96".parse().unwrap();
        assert!(mapped_all.contains(ip("203.0.113.9")));
        // A v6 block that does not cover ::ffff:0:0/96 still refuses v4.
        assert!(
            !"2001:db8::/32"
                .parse::<Cidr>()
                .unwrap()
                .contains(ip("10.0.0.1"))
        );
        assert!(!"::1/128".parse::<Cidr>().unwrap().contains(ip("0.0.0.1")));
        // Host bits inside the mapped range are still refused.
        assert!("::ffff:10.0.0.1/104".parse::<Cidr>().is_err());
    }

    #[test]
    fn bad_blocks_are_rejected() {
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "nope/8",
            "10.0.0.0/0008",
        ] {
            assert!(
                matches!(bad.parse::<Cidr>(), Err(ApiKeyError::Cidr { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn serde_round_trip() {
        let c: Cidr = "2001:db8::/48".parse().unwrap();
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(j, "\"2001:db8::/48\"");
        assert_eq!(serde_json::from_str::<Cidr>(&j).unwrap(), c);
    }
}
