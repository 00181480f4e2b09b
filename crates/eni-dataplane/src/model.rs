//! The kernel objects eni manages, as plain data, and the operations that change them.
//!
//! Keys are chosen so that two objects the kernel would treat as the same collide: a route is
//! keyed by (namespace, table, destination), so changing where it points is a single atomic
//! `replace`; a link by (namespace, name); a veth pair is one object, created and deleted whole.

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
    /// `a.b.c.d/n`, or `default`.
    pub dst: String,
}

/// Where a route points.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RouteTarget {
    pub dev: String,
    pub via: Option<String>,
    pub src: Option<String>,
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
}

impl KernelState {
    /// Every link name present in a namespace (both ends of the veths).
    pub fn link_names(&self, ns: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for v in self.veths.values() {
            for end in [&v.a, &v.b] {
                if end.at.ns == ns {
                    out.insert(end.at.name.clone());
                }
            }
        }
        out
    }

    /// The veth end at `r`, if any.
    pub fn link(&self, r: &LinkRef) -> Option<&LinkEnd> {
        self.veths
            .values()
            .flat_map(|v| [&v.a, &v.b])
            .find(|e| &e.at == r)
    }
}

/// Namespace-wide sysctls eni may set; `observe` reads exactly these (and [`DEVICE_SYSCTLS`]).
pub const NAMESPACE_SYSCTLS: [&str; 9] = [
    "ipv4/ip_forward",
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
