//! The kernel objects eni manages, as plain data, and the operations that change them.
//!
//! Keys are chosen so that two objects the kernel would treat as the same collide: a route is
//! keyed by (namespace, table, destination), so changing where it points is a single atomic
//! `replace`; a link by (namespace, name); a veth pair is one object, created and deleted whole.
//!
//! Bandwidth caps (spec §3.5) are two kinds of object: a *shaper*, an IFB link with an HTB
//! root whose one default class holds the rate, and a *redirect*, a match-all filter on a
//! port's clsact hook that hands every packet to a shaper (`mirred egress redirect`). All the
//! ENI ports of an instance redirect to the same two shapers, so their traffic shares one cap.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A link name inside a namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LinkRef {
    pub ns: String,
    pub name: String,
}

impl LinkRef {
    pub fn new(ns: impl Into<String>, name: impl Into<String>) -> Self {
        LinkRef {
            ns: ns.into(),
            name: name.into(),
        }
    }
}

/// One end of a veth pair (or any link): what eni sets on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkEnd {
    pub at: LinkRef,
    /// Lower-case, colon-separated.
    pub mac: String,
    pub mtu: u32,
    pub up: bool,
}

/// A veth pair. eni keys it by its first end (`a`, the router-side port).
///
/// The kernel does not remember which end was created first, so observing reads `a` back by a
/// rule, and a desired state must follow it or the pair is rebuilt on every pass: `a` is the
/// end whose namespace starts with eni's prefix (the vrouter namespace); if both ends or
/// neither are in such a namespace, `a` is the end with the smaller `(ns, name)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Veth {
    pub a: LinkEnd,
    pub b: LinkEnd,
}

/// A VXLAN device of the overlay (spec §3.7): it lives in a router namespace, but its UDP
/// socket is opened in the namespace the data plane runs in (the host's), where the underlay
/// is. No learning: where each remote MAC is comes from static [`FdbKey`] entries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Vxlan {
    pub end: LinkEnd,
    /// The VXLAN network identifier (24 bits).
    pub vni: u32,
    /// This host's underlay address, the tunnels' source.
    pub local: String,
    /// The UDP port, sending and receiving.
    pub port: u16,
}

/// A static forwarding entry of a VXLAN device: frames for `mac` are tunnelled to the
/// underlay address it maps to (`bridge fdb replace MAC dev D dst IP self permanent`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FdbKey {
    pub dev: LinkRef,
    /// Lower-case, colon-separated.
    pub mac: String,
}

/// An address on a link: `cidr` is `ip/prefix_len`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Addr {
    pub dev: LinkRef,
    pub cidr: String,
}

/// Where a route lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteKey {
    pub ns: String,
    /// 254 is `main`.
    pub table: u32,
    /// `a.b.c.d/n` or `default`; for IPv6 `x:y::z/n`, its default route being `::/0`.
    pub dst: String,
}

/// Where a route points.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RouteTarget {
    pub dev: String,
    pub via: Option<String>,
    pub src: Option<String>,
    /// The gateway is on the link whatever the link's addresses say (`onlink`): how a route
    /// reaches another host's router over the overlay.
    #[serde(default)]
    pub onlink: bool,
}

/// A policy rule: `from <from> lookup <table> pref <pref>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rule {
    pub ns: String,
    pub pref: u32,
    pub from: String,
    pub table: u32,
}

/// A permanent neighbour entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NeighKey {
    pub dev: LinkRef,
    pub ip: String,
}

/// A per-namespace sysctl under `/proc/sys/net/`, e.g. `ipv4/ip_forward`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SysctlKey {
    pub ns: String,
    pub key: String,
}

/// A tc hook of a link's clsact qdisc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Hook {
    /// Packets the link receives. On a router port: what the instance sends (its upload, Tx).
    Ingress,
    /// Packets the link transmits. On a router port: what the instance receives (its
    /// download, Rx).
    Egress,
}

impl Hook {
    /// The hook's name in `tc filter … dev X <hook>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Ingress => "ingress",
            Hook::Egress => "egress",
        }
    }

    /// The filter priority eni uses on this hook. The two hooks of one clsact share the u32
    /// classifier's hash-table space, so each direction keeps to its own priority: a filter
    /// of one never shows up in, or is replaced through, the other.
    pub fn prio(self) -> u32 {
        match self {
            Hook::Ingress => 1,
            Hook::Egress => 2,
        }
    }
}

/// The priority of the first address-matching filter of a hook (the next ones follow).
pub const ADDR_PRIO: u32 = 100;

impl Hook {
    /// The priority of the `i`-th address-matching filter of this hook: ingress from
    /// [`ADDR_PRIO`], egress 10,000 above (the hooks share the u32 classifier's tables, so a
    /// priority must not be used on both).
    pub fn addr_prio(self, i: usize) -> u32 {
        let base = match self {
            Hook::Ingress => ADDR_PRIO,
            Hook::Egress => ADDR_PRIO + 10_000,
        };
        base + i as u32
    }
}

/// Where a redirect sits: a link (a router port) and one of its hooks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RedirectKey {
    pub port: LinkRef,
    pub hook: Hook,
}

/// An nftables table eni loads whole: the security groups of a VPC in its router namespace
/// (spec §3.3). It is known by the digest of its text, which the loaded table carries in its
/// comment: two rulesets are the same exactly when their digests are, so observing needs
/// only the comment back, and what is in force is reloaded when the wanted text changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ruleset {
    /// 16 hex digits of FNV-1a over `text`.
    pub digest: String,
    /// What `nft -f` loads; empty in an observed ruleset.
    pub text: String,
}

impl Ruleset {
    pub fn new(text: String) -> Ruleset {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Ruleset {
            digest: format!("{h:016x}"),
            text,
        }
    }

    /// A ruleset seen in the kernel: its digest only.
    pub fn observed(digest: impl Into<String>) -> Ruleset {
        Ruleset {
            digest: digest.into(),
            text: String::new(),
        }
    }
}

impl PartialEq for Ruleset {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
    }
}

impl Eq for Ruleset {}

/// Everything eni manages on one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelState {
    pub namespaces: BTreeSet<String>,
    /// Keyed by the pair's first end.
    pub veths: BTreeMap<LinkRef, Veth>,
    /// Loopback state per namespace (`lo` exists in every namespace).
    pub loopback_up: BTreeSet<String>,
    pub addrs: BTreeSet<Addr>,
    pub routes: BTreeMap<RouteKey, RouteTarget>,
    pub rules: BTreeSet<Rule>,
    pub neighs: BTreeMap<NeighKey, String>,
    pub sysctls: BTreeMap<SysctlKey, String>,
    /// IFB links and the rate (kbit/s) of the HTB class every packet through them shares.
    /// Observed as 0 when the IFB is down or its qdisc or class is not the one eni sets (a
    /// shaper that must be rebuilt); a desired state never holds 0. Rates are rounded to
    /// what the kernel reports back exactly ([`representable_kbit`]).
    pub shapers: BTreeMap<LinkRef, u64>,
    /// Match-all filters handing a link's packets to a shaper: the value names the target,
    /// a link in the port's namespace. Observed as `""` when the filter is not the one eni
    /// sets, or its target was deleted (the kernel then drops every packet it matches).
    /// Read only in router namespaces (those with eni's prefix) and namespaces holding an
    /// IFB, so a desired state sets them on router ports.
    pub redirects: BTreeMap<RedirectKey, String>,
    /// Filters handing a link's packets of one IPv4 address to a shaper, per (link, hook):
    /// the (address, target) pairs, egress matching the source and ingress the destination
    /// (an EIP's traffic on its router's uplink, after its SNAT and before its DNAT). Set and
    /// observed as one list per hook, at priorities [`Hook::addr_prio`] of its index.
    #[serde(default)]
    pub addr_redirects: BTreeMap<RedirectKey, Vec<(String, String)>>,
    /// The security-group table of each namespace that has one (router namespaces).
    pub rulesets: BTreeMap<String, Ruleset>,
    /// Address ranges handed to the guest on a link (an ENI's IPv4 /28 and IPv6 /80
    /// prefixes on its NIC): addresses inside them are the instance's own business, never
    /// removed. Desired states hold them; the kernel has no such notion (observed: empty).
    #[serde(default)]
    pub guest_ranges: BTreeSet<Addr>,
    /// VXLAN devices, keyed by where they are.
    #[serde(default)]
    pub vxlans: BTreeMap<LinkRef, Vxlan>,
    /// Static VXLAN forwarding entries: the underlay address of each remote MAC.
    #[serde(default)]
    pub fdbs: BTreeMap<FdbKey, String>,
}

/// Whether the address `cidr` (`ip/len`) lies inside the block `range` (`net/len`), both of
/// one family; text that is not an address is inside nothing.
pub fn within(range: &str, cidr: &str) -> bool {
    use std::net::IpAddr;
    let parse = |s: &str| -> Option<(IpAddr, u32)> {
        let (ip, len) = s.split_once('/')?;
        Some((ip.parse().ok()?, len.parse().ok()?))
    };
    match (parse(range), parse(cidr)) {
        (Some((IpAddr::V4(n), l)), Some((IpAddr::V4(a), _))) if l <= 32 => {
            let mask = u32::MAX.checked_shl(32 - l).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (Some((IpAddr::V6(n), l)), Some((IpAddr::V6(a), _))) if l <= 128 => {
            let mask = u128::MAX.checked_shl(128 - l).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// One change. Every op is idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    CreateNamespace(String),
    /// Deleting a namespace deletes every link in it (and the far ends of its veths).
    DeleteNamespace(String),
    SetLoopbackUp(String),
    SetSysctl(SysctlKey, String),
    /// Creates the pair with both ends' MAC and MTU, both down.
    CreateVeth(Veth),
    DeleteVeth(LinkRef),
    SetLinkUp(LinkRef, bool),
    AddAddr(Addr),
    DelAddr(Addr),
    ReplaceRoute(RouteKey, RouteTarget),
    DelRoute(RouteKey),
    AddRule(Rule),
    DelRule(Rule),
    ReplaceNeigh(NeighKey, String),
    DelNeigh(NeighKey),
    /// Creates an IFB, up, not shaping yet (rate 0). Nothing happens if a link of that name
    /// exists.
    CreateIfb(LinkRef),
    /// Deletes an IFB; redirects pointing at it are left dangling (target `""`), as the
    /// kernel leaves them.
    DeleteIfb(LinkRef),
    /// Gives an IFB its HTB root and sets the rate (kbit/s, > 0) of its one class, in place.
    SetShaperRate(LinkRef, u64),
    /// Points a hook of a link at a target link in the same namespace (the link gets a clsact
    /// qdisc if it has none). Needs both to exist.
    SetRedirect(RedirectKey, String),
    DelRedirect(RedirectKey),
    /// Replaces every address-matching filter of a link's hook with these (address, target)
    /// pairs, in order (none: removes them). Needs the link and the targets to exist.
    SetAddrRedirects(RedirectKey, Vec<(String, String)>),
    /// Creates a VXLAN device, down, in its namespace, its socket in the data plane's own.
    CreateVxlan(Vxlan),
    /// Deletes a VXLAN device and its forwarding entries.
    DeleteVxlan(LinkRef),
    /// Points a remote MAC of a VXLAN device at an underlay address.
    ReplaceFdb(FdbKey, String),
    DelFdb(FdbKey),
    /// Replaces a namespace's security-group table with this one, atomically.
    LoadRuleset(String, Ruleset),
    DeleteRuleset(String),
}

impl KernelState {
    /// Every link name present in a namespace (both ends of the veths, the IFBs and VXLANs).
    pub fn link_names(&self, ns: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for v in self.veths.values() {
            for end in [&v.a, &v.b] {
                if end.at.ns == ns {
                    out.insert(end.at.name.clone());
                }
            }
        }
        out.extend(
            self.shapers
                .keys()
                .filter(|r| r.ns == ns)
                .map(|r| r.name.clone()),
        );
        out.extend(
            self.vxlans
                .keys()
                .filter(|r| r.ns == ns)
                .map(|r| r.name.clone()),
        );
        out
    }

    /// The veth end or VXLAN device at `r`, if any (IFBs are not links of this kind).
    pub fn link(&self, r: &LinkRef) -> Option<&LinkEnd> {
        if let Some(x) = self.vxlans.get(r) {
            return Some(&x.end);
        }
        self.veths
            .values()
            .flat_map(|v| [&v.a, &v.b])
            .find(|e| &e.at == r)
    }
}

/// Namespace-wide sysctls eni may set; `observe` reads exactly these (and [`DEVICE_SYSCTLS`]).
pub const NAMESPACE_SYSCTLS: [&str; 10] = [
    "ipv4/ip_forward",
    "ipv6/conf/all/forwarding",
    "ipv4/conf/all/send_redirects",
    "ipv4/conf/default/send_redirects",
    "ipv4/conf/all/rp_filter",
    "ipv4/conf/default/rp_filter",
    "ipv4/conf/all/arp_ignore",
    "ipv4/conf/all/arp_announce",
    "ipv6/conf/all/disable_ipv6",
    "ipv6/conf/default/disable_ipv6",
];

/// Per-device sysctls eni may set, with `{dev}` standing for the link name.
pub const DEVICE_SYSCTLS: [&str; 3] = [
    "ipv4/conf/{dev}/proxy_arp",
    "ipv4/neigh/{dev}/proxy_delay",
    "ipv4/conf/{dev}/rp_filter",
];

/// Route tables eni manages: `main` and 1000..=1999 (one per secondary NIC).
pub fn is_managed_table(t: u32) -> bool {
    t == 254 || (1000..2000).contains(&t)
}

/// The rate nearest to `kbit` (and not above it) that a shaper reports back exactly. `tc`
/// prints a rate with the largest unit that keeps it whole, but above 1000 of a unit it moves
/// on and drops the remainder (1 234 567 kbit/s reads back as 1234 Mbit/s), so a desired
/// rate must already be rounded that way or every pass would set it again. Rates below
/// 1 Gbit/s, and whole Mbit/s below 1 Tbit/s, are kept as they are.
pub fn representable_kbit(kbit: u64) -> u64 {
    // The steps of iproute2's sprint_rate on the same value in bit/s, units of 1000.
    let mut v = kbit.saturating_mul(1000);
    let mut unit: u64 = 1;
    for _ in 0..4 {
        if v < 1000 || (!v.is_multiple_of(1000) && v < 1_000_000) {
            break;
        }
        v /= 1000;
        unit *= 1000;
    }
    v.saturating_mul(unit) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_within_blocks_of_their_family() {
        assert!(within("10.0.1.16/28", "10.0.1.19/32"));
        assert!(!within("10.0.1.16/28", "10.0.1.32/32"));
        assert!(within("2408::1:0:0:0/80", "2408::1:0:0:5/128"));
        assert!(!within("2408::1:0:0:0/80", "10.0.1.19/32"));
        assert!(!within("not a block", "10.0.1.19/32"));
        assert!(within("0.0.0.0/0", "10.0.1.19/32"));
    }

    #[test]
    fn rates_round_down_to_what_tc_prints_whole() {
        assert_eq!(representable_kbit(20_480), 20_480);
        assert_eq!(representable_kbit(999_999), 999_999);
        assert_eq!(representable_kbit(1_000_000), 1_000_000);
        assert_eq!(representable_kbit(1_500_000), 1_500_000);
        assert_eq!(representable_kbit(1_234_567), 1_234_000);
        assert_eq!(representable_kbit(25_000_000), 25_000_000);
        assert_eq!(representable_kbit(1), 1);
        assert_eq!(representable_kbit(0), 0);
    }
}
