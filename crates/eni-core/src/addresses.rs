//! Address requests of the ENI APIs, shared by CreateNetworkInterface, AssignPrivateIpAddresses,
//! AssignIpv6Addresses and RunInstances: explicit addresses are checked (well formed, inside
//! the vSwitch, not reserved, not twice in one request, free) and taken; counts are taken from
//! the allocator. Everything runs inside the caller's write transaction.
//!
//! IPv6 addresses and /80 prefixes are drawn at random in the vSwitch's /64; the store's
//! constraints decide what is free: an entry is held once, and a /80 is held whole by one
//! prefix or by single addresses, never both.

use crate::{ipam, CoreError};
use eni_ipam::{Ipv4Cidr, Ipv6Cidr};
use eni_store::{constraints, IpKind, Ipv6Entry, PrivateIp, Tx, VSwitch};
use eni_types::ids::EniId;
use eni_types::ApiError;
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Which error an address already held in the vSwitch gives (the APIs differ).
#[derive(Debug, Clone, Copy)]
pub enum TakenError {
    /// `InvalidPrivateIpAddress.Duplicated` (create calls).
    Duplicated,
    /// `InvalidIp.IpAssigned` (assign calls).
    Assigned,
}

impl TakenError {
    fn error(self, ip: &str) -> ApiError {
        match self {
            TakenError::Duplicated => ApiError::PrivateIpDuplicated { ip: ip.to_string() },
            TakenError::Assigned => ApiError::IpAssigned { ip: ip.to_string() },
        }
    }
}

/// Which error an exhausted vSwitch gives.
#[derive(Debug, Clone, Copy)]
pub enum ExhaustedError {
    /// `InvalidVSwitchId.IpNotEnough` (ENI APIs).
    IpNotEnough,
    /// `QuotaExceeded.PrivateIpAddress` (RunInstances).
    Quota,
}

impl ExhaustedError {
    fn error(self) -> ApiError {
        match self {
            ExhaustedError::IpNotEnough => ApiError::VSwitchIpNotEnough,
            ExhaustedError::Quota => ApiError::PrivateIpQuotaExceeded,
        }
    }
}

/// Parses an IPv4 address parameter.
pub fn parse_v4(name: &str, s: &str) -> Result<Ipv4Addr, ApiError> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::invalid_param_because(name, format!("{s:?} is not an IPv4 address")))
}

/// Fails with `InvalidIp.IpRepeated` if a value appears twice.
pub fn no_repeats<T: std::hash::Hash + Eq + ToString>(items: &[T]) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for i in items {
        if !seen.insert(i) {
            return Err(ApiError::IpRepeated { ip: i.to_string() });
        }
    }
    Ok(())
}

/// The vSwitch's IPv4 block.
pub fn cidr_of(vsw: &VSwitch) -> Result<Ipv4Cidr, ApiError> {
    vsw.cidr_block.parse().map_err(|_| ApiError::InternalError)
}

fn check_inside(cidr: &Ipv4Cidr, ip: Ipv4Addr) -> Result<(), ApiError> {
    if !cidr.contains_ip(ip) || cidr.is_reserved(ip) {
        return Err(ApiError::VSwitchIpInvalid {
            ip: ip.to_string(),
            cidr: cidr.to_string(),
        });
    }
    Ok(())
}

/// Takes IPv4 addresses for `owner`: each of `explicit`, then `count` more from the allocator.
/// Returns them in that order.
#[allow(clippy::too_many_arguments)]
pub fn take_ipv4(
    tx: &mut dyn Tx,
    vsw: &VSwitch,
    owner: &EniId,
    kind: IpKind,
    explicit: &[Ipv4Addr],
    count: u32,
    taken: TakenError,
    exhausted: ExhaustedError,
) -> Result<Vec<u32>, CoreError> {
    let cidr = cidr_of(vsw)?;
    no_repeats(explicit)?;
    for ip in explicit {
        check_inside(&cidr, *ip)?;
    }
    let mut out = Vec::new();
    for ip in explicit {
        let n = u32::from(*ip);
        if !ipam::take(tx, &vsw.id, n)? {
            return Err(taken.error(&ip.to_string()).into());
        }
        insert_v4(tx, vsw, owner, kind, n, None, taken)?;
        out.push(n);
    }
    for _ in 0..count {
        let n = ipam::take_any(tx, &vsw.id)?.ok_or(exhausted.error())?;
        insert_v4(tx, vsw, owner, kind, n, None, taken)?;
        out.push(n);
    }
    Ok(out)
}

fn insert_v4(
    tx: &mut dyn Tx,
    vsw: &VSwitch,
    owner: &EniId,
    kind: IpKind,
    ip: u32,
    prefix: Option<u32>,
    taken: TakenError,
) -> Result<(), CoreError> {
    let row = PrivateIp {
        vswitch_id: vsw.id.clone(),
        ip,
        owner: owner.to_string(),
        kind,
        prefix,
    };
    match tx.private_ip_insert(&row) {
        Ok(()) => Ok(()),
        Err(e) if e.is_conflict_on(constraints::PRIVATE_IP_UNIQUE) => {
            Err(taken.error(&Ipv4Addr::from(ip).to_string()).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Parses `a.b.c.d/28` prefixes.
pub fn parse_v4_prefixes(name: &str, items: &[String]) -> Result<Vec<Ipv4Cidr>, ApiError> {
    items
        .iter()
        .map(|s| {
            let c: Ipv4Cidr = s.parse().map_err(|_| {
                ApiError::invalid_param_because(name, format!("{s:?} is not an IPv4 /28 prefix"))
            })?;
            if c.prefix() != 28 {
                return Err(ApiError::invalid_param_because(
                    name,
                    format!("{s} is not a /28"),
                ));
            }
            Ok(c)
        })
        .collect()
}

/// Takes IPv4 /28 prefixes for `owner`: each of `explicit`, then `count` more. Returns their
/// network addresses.
pub fn take_v4_prefixes(
    tx: &mut dyn Tx,
    vsw: &VSwitch,
    owner: &EniId,
    explicit: &[Ipv4Cidr],
    count: u32,
    taken: TakenError,
) -> Result<Vec<u32>, CoreError> {
    let cidr = cidr_of(vsw)?;
    no_repeats(&explicit.iter().map(|c| c.to_string()).collect::<Vec<_>>())?;
    let mut nets = Vec::new();
    for p in explicit {
        let first = p.network();
        let last = Ipv4Addr::from(p.last_u32());
        check_inside(&cidr, first)?;
        check_inside(&cidr, last)?;
        if !ipam::take_range(tx, &vsw.id, p.first_u32(), p.last_u32())? {
            return Err(taken.error(&p.to_string()).into());
        }
        nets.push(p.first_u32());
    }
    for _ in 0..count {
        let n = ipam::take_prefix(tx, &vsw.id)?.ok_or(ApiError::VSwitchIpNotEnough)?;
        nets.push(n);
    }
    let start = nets.len() - count as usize;
    for (i, net) in nets.iter().enumerate() {
        for ip in *net..*net + ipam::PREFIX_SIZE {
            let t = if i < start {
                taken
            } else {
                TakenError::Assigned
            };
            insert_v4(tx, vsw, owner, IpKind::Prefix, ip, Some(*net), t)?;
        }
    }
    Ok(nets)
}

/// Gives back one IPv4 address (or a whole prefix, given its network).
pub fn release_v4(
    tx: &mut dyn Tx,
    vsw_id: &eni_types::ids::VSwitchId,
    first: u32,
    last: u32,
) -> Result<(), CoreError> {
    for ip in first..=last {
        tx.private_ip_delete(vsw_id, ip)?;
    }
    ipam::release_range(tx, vsw_id, first, last)
}

/// The vSwitch's IPv6 /64, or `InvalidVSwitch.Ipv6NotTurnOn`.
pub fn ipv6_block(vsw: &VSwitch) -> Result<Ipv6Cidr, ApiError> {
    vsw.ipv6_cidr_block
        .as_deref()
        .ok_or(ApiError::Ipv6NotTurnOn)?
        .parse()
        .map_err(|_| ApiError::InternalError)
}

/// Parses IPv6 address parameters (`InvalidIp.Address` when malformed).
pub fn parse_v6(items: &[String]) -> Result<Vec<Ipv6Addr>, ApiError> {
    items
        .iter()
        .map(|s| {
            s.trim()
                .parse::<Ipv6Addr>()
                .map_err(|_| ApiError::Ipv6AddressInvalid { ip: s.clone() })
        })
        .collect()
}

/// Takes IPv6 addresses (`prefix == false`) or /80 prefixes for `owner`.
pub fn take_ipv6(
    tx: &mut dyn Tx,
    vsw: &VSwitch,
    owner: &EniId,
    explicit: &[String],
    count: u32,
    prefix: bool,
) -> Result<Vec<String>, CoreError> {
    let block = ipv6_block(vsw)?;
    let mut wanted: Vec<String> = Vec::new();
    for s in explicit {
        if prefix {
            let c: Ipv6Cidr = s
                .parse()
                .map_err(|_| ApiError::Ipv6AddressInvalid { ip: s.clone() })?;
            if c.prefix() != 80 || !block.contains_ip(c.network()) {
                return Err(ApiError::VSwitchIpInvalid {
                    ip: s.clone(),
                    cidr: block.to_string(),
                }
                .into());
            }
            wanted.push(c.to_string());
        } else {
            let a: Ipv6Addr = s
                .trim()
                .parse()
                .map_err(|_| ApiError::Ipv6AddressInvalid { ip: s.clone() })?;
            // The subnet-router anycast address (interface ID 0) is never handed out.
            if !block.contains_ip(a) || u128::from(a) == u128::from(block.network()) {
                return Err(ApiError::VSwitchIpInvalid {
                    ip: s.clone(),
                    cidr: block.to_string(),
                }
                .into());
            }
            wanted.push(a.to_string());
        }
    }
    no_repeats(&wanted)?;
    let mut out = Vec::new();
    for addr in wanted {
        insert_v6(tx, vsw, owner, &addr, prefix, true)?;
        out.push(addr);
    }
    if prefix {
        out.extend(take_random_v6_prefixes(tx, vsw, owner, &block, count)?);
        return Ok(out);
    }
    let mut made = 0;
    let mut tries = 0;
    while made < count {
        tries += 1;
        if tries > count * 64 + 64 {
            return Err(ApiError::VSwitchIpNotEnough.into());
        }
        let iid = u128::from(rand::random::<u64>()).max(1);
        let addr = Ipv6Addr::from(u128::from(block.network()) | iid).to_string();
        // A drawn address that is taken (held, or inside a held prefix) is drawn again.
        if insert_v6(tx, vsw, owner, &addr, false, false)? {
            out.push(addr);
            made += 1;
        }
    }
    Ok(out)
}

/// /80 prefixes in a /64.
const V6_PREFIXES_PER_64: u32 = 1 << 16;

/// Random /80s tried before a prefix request walks the /64 instead.
const V6_PREFIX_TRIES: u32 = 32;

/// Takes `count` free /80s of `block` for `owner`, each a random /80 that holds nothing,
/// neither a prefix nor an address. The store's constraints say whether a drawn /80 is free
/// (the insert is refused otherwise), so a draw costs an insert, however many /80s are held.
/// Only after [`V6_PREFIX_TRIES`] taken draws in a row (the /64 is nearly full) does it read
/// what the vSwitch holds and walk the /64 from a random /80 on; `InvalidVSwitchId.IpNotEnough`
/// when every /80 holds something.
fn take_random_v6_prefixes(
    tx: &mut dyn Tx,
    vsw: &VSwitch,
    owner: &EniId,
    block: &Ipv6Cidr,
    count: u32,
) -> Result<Vec<String>, CoreError> {
    let mut out = Vec::new();
    'prefix: while (out.len() as u32) < count {
        for _ in 0..V6_PREFIX_TRIES {
            let Some(net) = block.subnet(80, u128::from(rand::random::<u16>())) else {
                break;
            };
            let text = net.to_string();
            if insert_v6(tx, vsw, owner, &text, true, false)? {
                out.push(text);
                continue 'prefix;
            }
        }
        let rest = count - out.len() as u32;
        out.extend(take_v6_prefixes_by_walk(tx, vsw, owner, block, rest)?);
    }
    Ok(out)
}

/// [`take_random_v6_prefixes`] in a nearly full /64: the /80s in use are read once and the
/// /64 walked from a random /80 on.
fn take_v6_prefixes_by_walk(
    tx: &mut dyn Tx,
    vsw: &VSwitch,
    owner: &EniId,
    block: &Ipv6Cidr,
    count: u32,
) -> Result<Vec<String>, CoreError> {
    let mut out = Vec::new();
    let mut held: HashSet<Ipv6Cidr> = tx
        .ipv6_nets_in_use(&vsw.id)?
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect();
    while (out.len() as u32) < count {
        let start = u32::from(rand::random::<u16>());
        let free = (0..V6_PREFIXES_PER_64)
            .filter_map(|i| block.subnet(80, u128::from((start + i) % V6_PREFIXES_PER_64)))
            .find(|c| !held.contains(c))
            .ok_or(ApiError::VSwitchIpNotEnough)?;
        held.insert(free);
        // The store still decides: a /80 taken since the list was read is skipped too.
        let text = free.to_string();
        if insert_v6(tx, vsw, owner, &text, true, false)? {
            out.push(text);
        }
    }
    Ok(out)
}

/// Inserts one IPv6 entry. A taken entry is `InvalidIp.IpAssigned` when explicit, and a
/// quiet `false` (draw again) when random. Taken means held already, or sharing its /80 with
/// an entry of the other kind: an address inside a held prefix, a prefix containing a held
/// address. The store's constraints decide both, so a random prefix skips every /80 that
/// holds an address.
fn insert_v6(
    tx: &mut dyn Tx,
    vsw: &VSwitch,
    owner: &EniId,
    addr: &str,
    is_prefix: bool,
    explicit: bool,
) -> Result<bool, CoreError> {
    let e = Ipv6Entry {
        vswitch_id: vsw.id.clone(),
        addr: addr.to_string(),
        owner: owner.to_string(),
        is_prefix,
    };
    match tx.ipv6_insert(&e) {
        Ok(()) => Ok(true),
        Err(err)
            if err.is_conflict_on(constraints::IPV6_UNIQUE)
                || err.is_conflict_on(constraints::IPV6_PREFIX_OVERLAP) =>
        {
            if explicit {
                Err(ApiError::IpAssigned {
                    ip: addr.to_string(),
                }
                .into())
            } else {
                Ok(false)
            }
        }
        Err(err) => Err(err.into()),
    }
}
