//! IPv4 and IPv6 CIDR blocks and the rules a VPC or vSwitch block must follow.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a string is not an acceptable CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("{0:?} is not a CIDR block (expected a.b.c.d/n)")]
    Malformed(String),
    #[error("{0} has host bits set; did you mean {1}?")]
    HostBitsSet(String, String),
}

/// Ranges no VPC or vSwitch may use: shared address space, loopback, link-local, multicast.
pub const FORBIDDEN_V4: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
];

/// An IPv4 block whose address has no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    network: u32,
    prefix: u8,
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl Ipv4Cidr {
    /// A block from a network address and prefix; `None` if host bits are set or prefix > 32.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        let a = u32::from(addr);
        (prefix <= 32 && a & !mask(prefix) == 0).then_some(Self { network: a, prefix })
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Number of addresses in the block.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// First address as an integer.
    pub fn first_u32(&self) -> u32 {
        self.network
    }

    /// Last address as an integer.
    pub fn last_u32(&self) -> u32 {
        self.network | !mask(self.prefix)
    }

    /// Whether `ip` is inside the block.
    pub fn contains_ip(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == self.network
    }

    /// Whether `other` lies entirely inside this block.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && other.network & mask(self.prefix) == self.network
    }

    /// Whether the two blocks share any address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// Whether the block touches a range no VPC may use ([`FORBIDDEN_V4`]).
    pub fn is_forbidden(&self) -> bool {
        FORBIDDEN_V4
            .iter()
            .any(|(a, p)| Ipv4Cidr::new(*a, *p).is_some_and(|f| f.overlaps(self)))
    }

    /// Whether `ip` is one of the four addresses a vSwitch reserves: the first and the last
    /// three of its block.
    pub fn is_reserved(&self, ip: Ipv4Addr) -> bool {
        let a = u32::from(ip);
        a == self.first_u32() || a >= self.last_u32().saturating_sub(2)
    }

    /// Addresses a vSwitch of this block can hand out (size minus the four reserved).
    pub fn usable_count(&self) -> u64 {
        self.size().saturating_sub(4)
    }

    /// First and last usable address as integers (inclusive), if any.
    pub fn usable_range(&self) -> Option<(u32, u32)> {
        (self.size() > 4).then(|| (self.first_u32() + 1, self.last_u32() - 3))
    }

    /// The gateway of a vSwitch of this block: the last-but-two address.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.last_u32().wrapping_sub(2))
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let bad = || CidrError::Malformed(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        Ipv4Cidr::new(addr, prefix).ok_or_else(|| {
            let fixed = Ipv4Cidr {
                network: u32::from(addr) & mask(prefix),
                prefix,
            };
            CidrError::HostBitsSet(s.to_string(), fixed.to_string())
        })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

/// An IPv6 block whose address has no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Cidr {
    network: u128,
    prefix: u8,
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

impl Ipv6Cidr {
    /// A block from a network address and prefix; `None` if host bits are set or prefix > 128.
    pub fn new(addr: Ipv6Addr, prefix: u8) -> Option<Self> {
        let a = u128::from(addr);
        (prefix <= 128 && a & !mask6(prefix) == 0).then_some(Self { network: a, prefix })
    }

    /// The network address.
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.network)
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside the block.
    pub fn contains_ip(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & mask6(self.prefix) == self.network
    }

    /// The `index`-th sub-block of length `prefix` (e.g. the n-th /64 of a VPC's /56).
    pub fn subnet(&self, prefix: u8, index: u128) -> Option<Ipv6Cidr> {
        if prefix < self.prefix || prefix > 128 {
            return None;
        }
        let bits = u32::from(prefix - self.prefix);
        if bits < 128 && index >> bits != 0 {
            return None;
        }
        let shift = 128 - u32::from(prefix);
        let offset = if shift >= 128 { 0 } else { index << shift };
        Some(Ipv6Cidr {
            network: self.network | offset,
            prefix,
        })
    }
}

impl FromStr for Ipv6Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let bad = || CidrError::Malformed(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv6Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > 128 {
            return Err(bad());
        }
        Ipv6Cidr::new(addr, prefix).ok_or_else(|| {
            let fixed = Ipv6Cidr {
                network: u128::from(addr) & mask6(prefix),
                prefix,
            };
            CidrError::HostBitsSet(s.to_string(), fixed.to_string())
        })
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(c("192.168.1.0/24").to_string(), "192.168.1.0/24");
        assert!("192.168.1.5/24".parse::<Ipv4Cidr>().is_err());
        for bad in [
            "192.168.1.0",
            "192.168.1.0/33",
            "192.168.1.0/",
            "a/24",
            "192.168.1.0/+4",
            "1.2.3.4/024",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_are_first_and_last_three() {
        let v = c("192.168.1.0/24");
        let r: Vec<u32> = (0..=255u32)
            .filter(|i| v.is_reserved(Ipv4Addr::new(192, 168, 1, *i as u8)))
            .collect();
        assert_eq!(r, vec![0, 253, 254, 255]);
        assert_eq!(v.usable_count(), 252);
        assert_eq!(v.gateway(), Ipv4Addr::new(192, 168, 1, 253));
        assert_eq!(c("10.0.0.0/29").usable_count(), 4);
        assert_eq!(c("10.0.0.0/16").usable_count(), 65532);
    }

    #[test]
    fn forbidden_ranges() {
        assert!(c("100.64.0.0/16").is_forbidden());
        assert!(c("127.0.0.0/24").is_forbidden());
        assert!(c("169.254.0.0/16").is_forbidden());
        assert!(c("224.0.0.0/8").is_forbidden());
        assert!(
            c("96.0.0.0/4").is_forbidden(),
            "a block containing 100.64/10 touches it"
        );
        assert!(!c("10.0.0.0/8").is_forbidden());
        assert!(!c("172.16.0.0/12").is_forbidden());
    }

    #[test]
    fn ipv6_subnets() {
        let vpc: Ipv6Cidr = "2408:4005:300:1a00::/56".parse().unwrap();
        assert_eq!(
            vpc.subnet(64, 0).unwrap().to_string(),
            "2408:4005:300:1a00::/64"
        );
        assert_eq!(
            vpc.subnet(64, 255).unwrap().to_string(),
            "2408:4005:300:1aff::/64"
        );
        assert!(vpc.subnet(64, 256).is_none());
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric_and_matches_ranges(a in any::<u32>(), pa in 8u8..=30, b in any::<u32>(), pb in 8u8..=30) {
            let x = Ipv4Cidr::new(Ipv4Addr::from(a & mask(pa)), pa).unwrap();
            let y = Ipv4Cidr::new(Ipv4Addr::from(b & mask(pb)), pb).unwrap();
            let by_range = x.first_u32() <= y.last_u32() && y.first_u32() <= x.last_u32();
            prop_assert_eq!(x.overlaps(&y), by_range);
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
        }

        #[test]
        fn usable_range_excludes_exactly_the_reserved(a in any::<u32>(), p in 16u8..=29) {
            let x = Ipv4Cidr::new(Ipv4Addr::from(a & mask(p)), p).unwrap();
            let (lo, hi) = x.usable_range().unwrap();
            prop_assert_eq!(u64::from(hi - lo) + 1, x.usable_count());
            prop_assert!(x.is_reserved(Ipv4Addr::from(lo - 1)));
            prop_assert!(!x.is_reserved(Ipv4Addr::from(lo)));
            prop_assert!(!x.is_reserved(Ipv4Addr::from(hi)));
            prop_assert!(x.is_reserved(Ipv4Addr::from(hi + 1)));
        }
    }
}
