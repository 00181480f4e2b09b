//! Reading the kernel: one `ip -4 -j -d -batch` run per namespace (links, addresses, routes,
//! rules, permanent neighbours, the namespace-id map) plus the sysctls read in-process, then
//! stitching the namespaces together into a [`KernelState`].
//!
//! Veth peers are resolved through the kernel's own pointers, not through names: each end
//! reports its peer's ifindex (`link_index`) and, when the peer lives in another namespace,
//! that namespace's id *as seen from this one* (`link_netnsid`); `netns list-id`, run in the
//! same namespace, maps those ids to the names under `/run/netns`. A same-namespace peer is
//! reported by name (`link`).

use super::netns::{self, EnterError};
use super::{Observation, Unmanaged};
use crate::model::*;
use crate::DataplaneError;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The commands of one namespace dump, answered as one JSON document each.
const DUMP: &str = "link show\naddress show\nroute show table all\nrule show\nneigh show nud permanent\nnetns list-id\n";
const DUMP_PARTS: usize = 6;

/// Where a link's veth peer is.
#[derive(Debug, Clone)]
enum Peer {
    None,
    SameNs(String),
    SameNsIndex(i64),
    Other { nsid: i64, ifindex: Option<i64> },
}

#[derive(Debug, Clone)]
struct LinkInfo {
    ifindex: i64,
    name: String,
    mac: String,
    mtu: u32,
    up: bool,
    kind: Option<String>,
    peer: Peer,
}

/// Everything read from one namespace.
#[derive(Debug)]
pub(crate) struct NsDump {
    ns: String,
    links: Vec<LinkInfo>,
    /// (device, `ip/len`)
    addrs: Vec<(String, String)>,
    routes: Vec<Value>,
    rules: Vec<Value>,
    neighs: Vec<Value>,
    nsids: HashMap<i64, String>,
    /// Namespace sysctls and the device sysctls of every veth, by model key.
    sysctls: BTreeMap<String, String>,
}

fn observe_err(ns: &str, what: impl std::fmt::Display) -> DataplaneError {
    DataplaneError::Observe(format!("netns {ns}: {what}"))
}

/// Reads one namespace; `Ok(None)` when it vanished before it could be entered.
pub(crate) fn dump(ns: &str) -> Result<Option<NsDump>, DataplaneError> {
    let owned_ns = ns.to_string();
    let r = netns::in_netns(ns, move || {
        let out = netns::ip(&["-4", "-j", "-d", "-batch", "-"], DUMP)?;
        if !out.ok {
            return Err(observe_err(
                &owned_ns,
                format!("ip -batch failed: {}", out.stderr),
            ));
        }
        let mut d = parse(&owned_ns, &out.stdout)?;
        for key in NAMESPACE_SYSCTLS {
            if let Some(v) = read_sysctl(key) {
                d.sysctls.insert(key.to_string(), v);
            }
        }
        for l in d.links.iter().filter(|l| l.kind.as_deref() == Some("veth")) {
            for pat in DEVICE_SYSCTLS {
                let key = pat.replace("{dev}", &l.name);
                if let Some(v) = read_sysctl(&key) {
                    d.sysctls.insert(key, v);
                }
            }
        }
        Ok(d)
    });
    match r {
        Ok(d) => Ok(Some(d)),
        Err(EnterError::Missing) => Ok(None),
        Err(EnterError::Other(e)) => Err(e),
    }
}

/// Parses the answer to [`DUMP`] (sysctls are read separately).
fn parse(ns: &str, stdout: &str) -> Result<NsDump, DataplaneError> {
    let docs: Vec<Value> = serde_json::Deserializer::from_str(stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .map_err(|e| observe_err(ns, format!("unparsable ip -j output: {e}")))?;
    if docs.len() != DUMP_PARTS {
        return Err(observe_err(
            ns,
            format!(
                "ip -j answered {} documents, expected {DUMP_PARTS}",
                docs.len()
            ),
        ));
    }
    let arr = |i: usize| docs[i].as_array().cloned().unwrap_or_default();
    let mut addrs = Vec::new();
    for l in arr(1) {
        let Some(dev) = l["ifname"].as_str() else {
            continue;
        };
        for a in l["addr_info"].as_array().into_iter().flatten() {
            if a["family"] == "inet" {
                if let (Some(ip), Some(len)) = (a["local"].as_str(), a["prefixlen"].as_u64()) {
                    addrs.push((dev.to_string(), format!("{ip}/{len}")));
                }
            }
        }
    }
    Ok(NsDump {
        ns: ns.to_string(),
        links: arr(0).iter().filter_map(parse_link).collect(),
        addrs,
        routes: arr(2),
        rules: arr(3),
        neighs: arr(4),
        nsids: arr(5)
            .iter()
            .filter_map(|v| Some((v["nsid"].as_i64()?, v["name"].as_str()?.to_string())))
            .collect(),
        sysctls: BTreeMap::new(),
    })
}

/// Reads `/proc/sys/net/<key>` in the calling thread's namespace; `None` if it does not exist
/// (a device that just vanished, IPv6 compiled out).
fn read_sysctl(key: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/sys/net/{key}"))
        .ok()
        .map(|s| s.trim().to_string())
}

fn parse_link(v: &Value) -> Option<LinkInfo> {
    let peer = if let Some(nsid) = v["link_netnsid"].as_i64() {
        Peer::Other {
            nsid,
            ifindex: v["link_index"].as_i64(),
        }
    } else if let Some(name) = v["link"].as_str() {
        Peer::SameNs(name.to_string())
    } else if let Some(i) = v["link_index"].as_i64() {
        Peer::SameNsIndex(i)
    } else {
        Peer::None
    };
    Some(LinkInfo {
        ifindex: v["ifindex"].as_i64()?,
        name: v["ifname"].as_str()?.to_string(),
        mac: v["address"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        mtu: v["mtu"].as_u64().unwrap_or_default() as u32,
        up: v["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "UP")),
        kind: v["linkinfo"]["info_kind"].as_str().map(str::to_string),
        peer,
    })
}

/// Dumps `names` with a few threads in parallel (each dump is mostly waiting for `ip`).
pub(crate) fn dump_all(names: &[String]) -> Result<Vec<NsDump>, DataplaneError> {
    const WORKERS: usize = 4;
    let next = AtomicUsize::new(0);
    type Slot = (usize, Result<Option<NsDump>, DataplaneError>);
    let results: Mutex<Vec<Slot>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS.min(names.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(ns) = names.get(i) else { break };
                let r = dump(ns);
                results.lock().expect("dump results").push((i, r));
            });
        }
    });
    let mut results = results.into_inner().expect("dump results");
    results.sort_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    for (_, r) in results {
        if let Some(d) = r? {
            out.push(d);
        }
    }
    Ok(out)
}

/// The table number of an `ip -j` table field.
fn table_id(v: &Value) -> Option<u32> {
    match v.as_str()? {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        s => s.parse().ok(),
    }
}

/// `ip -j` prints host routes and neighbours without `/32`; the model always has a length.
fn route_dst(dst: &str) -> String {
    if dst == "default" || dst.contains('/') {
        dst.to_string()
    } else {
        format!("{dst}/32")
    }
}

/// Which end of a pair is `a`: the one in a namespace carrying the prefix (the vrouter);
/// if both or neither are, the smaller `(ns, name)`.
pub(crate) fn orient(prefix: &str, x: LinkEnd, y: LinkEnd) -> Veth {
    let (px, py) = (x.at.ns.starts_with(prefix), y.at.ns.starts_with(prefix));
    let x_first = if px != py { px } else { x.at <= y.at };
    if x_first {
        Veth { a: x, b: y }
    } else {
        Veth { a: y, b: x }
    }
}

/// Stitches per-namespace dumps into the model. Links, addresses, routes and neighbours on
/// links the model cannot express (non-veth kinds, veths whose peer is outside the dumped
/// namespaces) are left out of the state and listed in `unmanaged`, so a plan never touches them.
pub(crate) fn assemble(prefix: &str, dumps: &[NsDump]) -> Observation {
    let mut state = KernelState::default();
    let mut unmanaged = Vec::new();
    let mut note = |ns: &str, what: String| {
        unmanaged.push(Unmanaged {
            ns: ns.to_string(),
            what,
        })
    };
    let by_ns: HashMap<&str, &NsDump> = dumps.iter().map(|d| (d.ns.as_str(), d)).collect();
    let end = |ns: &str, l: &LinkInfo| LinkEnd {
        at: LinkRef::new(ns, l.name.clone()),
        mac: l.mac.clone(),
        mtu: l.mtu,
        up: l.up,
    };

    for d in dumps {
        state.namespaces.insert(d.ns.clone());
        if d.links.iter().any(|l| l.name == "lo" && l.up) {
            state.loopback_up.insert(d.ns.clone());
        }
        for l in &d.links {
            if l.name == "lo" {
                continue;
            }
            if l.kind.as_deref() != Some("veth") {
                note(
                    &d.ns,
                    format!(
                        "link {} of kind {}",
                        l.name,
                        l.kind.as_deref().unwrap_or("unknown")
                    ),
                );
                continue;
            }
            let (peer_ns, peer) = match &l.peer {
                Peer::SameNs(name) => (d.ns.as_str(), d.links.iter().find(|p| &p.name == name)),
                Peer::SameNsIndex(i) => (d.ns.as_str(), d.links.iter().find(|p| p.ifindex == *i)),
                Peer::Other { nsid, ifindex } => {
                    let Some(name) = d.nsids.get(nsid) else {
                        note(
                            &d.ns,
                            format!(
                                "veth {}: its peer is in an unnamed namespace (nsid {nsid})",
                                l.name
                            ),
                        );
                        continue;
                    };
                    let Some(pd) = by_ns.get(name.as_str()) else {
                        note(
                            &d.ns,
                            format!(
                                "veth {}: its peer is in namespace {name}, which is not eni's",
                                l.name
                            ),
                        );
                        continue;
                    };
                    (
                        pd.ns.as_str(),
                        ifindex.and_then(|i| pd.links.iter().find(|p| p.ifindex == i)),
                    )
                }
                Peer::None => {
                    note(&d.ns, format!("veth {} without a peer", l.name));
                    continue;
                }
            };
            let Some(peer) = peer else {
                note(
                    &d.ns,
                    format!(
                        "veth {}: its peer was not found in namespace {peer_ns}",
                        l.name
                    ),
                );
                continue;
            };
            let v = orient(prefix, end(&d.ns, l), end(peer_ns, peer));
            state.veths.insert(v.a.at.clone(), v);
        }
    }

    let managed: BTreeSet<LinkRef> = state
        .veths
        .values()
        .flat_map(|v| [v.a.at.clone(), v.b.at.clone()])
        .collect();
    let on_managed = |ns: &str, dev: &str| dev == "lo" || managed.contains(&LinkRef::new(ns, dev));

    for d in dumps {
        for (dev, cidr) in &d.addrs {
            if dev == "lo" && cidr.starts_with("127.0.0.1/") {
                continue;
            }
            if on_managed(&d.ns, dev) {
                state.addrs.insert(Addr {
                    dev: LinkRef::new(d.ns.clone(), dev.clone()),
                    cidr: cidr.clone(),
                });
            }
        }
        for r in &d.routes {
            let Some(table) = table_id(&r["table"]) else {
                note(&d.ns, format!("route in unknown table: {r}"));
                continue;
            };
            let kind = r["type"].as_str().unwrap_or("unicast");
            if !is_managed_table(table)
                || r["protocol"] == "kernel"
                || kind == "local"
                || kind == "broadcast"
            {
                continue;
            }
            let Some(dst) = r["dst"].as_str() else {
                continue;
            };
            let plain = kind == "unicast"
                && r.get("nexthops").is_none()
                && r["metric"].as_u64().unwrap_or(0) == 0
                && r.get("tos")
                    .filter(|t| *t != "default" && *t != 0)
                    .is_none();
            let dev = r["dev"].as_str();
            match dev {
                Some(dev) if plain => {
                    if !on_managed(&d.ns, dev) {
                        continue;
                    }
                    let key = RouteKey {
                        ns: d.ns.clone(),
                        table,
                        dst: route_dst(dst),
                    };
                    let target = RouteTarget {
                        dev: dev.to_string(),
                        via: r["gateway"].as_str().map(str::to_string),
                        src: r["prefsrc"].as_str().map(str::to_string),
                    };
                    // Two routes to one destination differ only in what the model cannot
                    // express (it was excluded above); keep the first, as the kernel prefers it.
                    state.routes.entry(key).or_insert(target);
                }
                _ => note(&d.ns, format!("route the model cannot express: {r}")),
            }
        }
        for r in &d.rules {
            let Some(pref) = r["priority"].as_u64() else {
                continue;
            };
            if matches!(pref, 0 | 32766 | 32767) {
                continue;
            }
            let simple = r.as_object().is_some_and(|o| {
                o.keys().all(|k| {
                    ["priority", "src", "srclen", "table", "protocol"].contains(&k.as_str())
                })
            });
            match (simple, r["src"].as_str(), table_id(&r["table"])) {
                (true, Some(src), Some(table)) => {
                    let from = if src == "all" {
                        "all".to_string()
                    } else {
                        format!("{src}/{}", r["srclen"].as_u64().unwrap_or(32))
                    };
                    state.rules.insert(Rule {
                        ns: d.ns.clone(),
                        pref: pref as u32,
                        from,
                        table,
                    });
                }
                _ => note(&d.ns, format!("rule the model cannot express: {r}")),
            }
        }
        for n in &d.neighs {
            let (Some(ip), Some(dev), Some(mac)) =
                (n["dst"].as_str(), n["dev"].as_str(), n["lladdr"].as_str())
            else {
                continue;
            };
            if on_managed(&d.ns, dev) {
                let key = NeighKey {
                    dev: LinkRef::new(d.ns.clone(), dev),
                    ip: ip.to_string(),
                };
                state.neighs.insert(key, mac.to_ascii_lowercase());
            }
        }
        for (key, v) in &d.sysctls {
            let device = DEVICE_SYSCTLS.iter().find_map(|pat| {
                let (pre, post) = pat.split_once("{dev}").expect("pattern has {dev}");
                key.strip_prefix(pre)?.strip_suffix(post)
            });
            // `ipv4/conf/all/rp_filter` also fits the device pattern; it is namespace-wide.
            let namespace_wide = NAMESPACE_SYSCTLS.contains(&key.as_str());
            if namespace_wide
                || device.is_some_and(|dev| managed.contains(&LinkRef::new(d.ns.clone(), dev)))
            {
                state.sysctls.insert(
                    SysctlKey {
                        ns: d.ns.clone(),
                        key: key.clone(),
                    },
                    v.clone(),
                );
            }
        }
    }
    Observation { state, unmanaged }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from real `ip -4 -j -d -batch` answers (iproute2 6.1).
    const ROUTER: &str = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"address":"00:00:00:00:00:00"},
{"ifindex":2,"link_index":2,"ifname":"pA","flags":["BROADCAST","UP"],"mtu":1450,"address":"EE:FF:FF:FF:FF:FF","link_netnsid":0,"linkinfo":{"info_kind":"veth"}},
{"ifindex":3,"link":"s1","ifname":"s2","flags":["BROADCAST"],"mtu":1500,"address":"06:19:fd:b6:5c:0a","linkinfo":{"info_kind":"veth"}},
{"ifindex":4,"link":"s2","ifname":"s1","flags":["BROADCAST"],"mtu":1500,"address":"42:f2:30:36:e5:05","linkinfo":{"info_kind":"veth"}},
{"ifindex":5,"link_index":9,"ifname":"x1","flags":["BROADCAST"],"mtu":1500,"address":"42:f2:30:36:e5:06","link_netnsid":1,"linkinfo":{"info_kind":"veth"}},
{"ifindex":6,"ifname":"br0","flags":["BROADCAST"],"mtu":1500,"address":"42:f2:30:36:e5:07","linkinfo":{"info_kind":"bridge"}}]
[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},{"family":"inet","local":"10.9.9.253","prefixlen":32}]},
{"ifindex":6,"ifname":"br0","addr_info":[{"family":"inet","local":"10.8.0.1","prefixlen":24}]}]
[{"type":"unicast","dst":"10.9.9.1","dev":"pA","table":"main","protocol":"boot","scope":"link","flags":[]},
{"type":"local","dst":"10.9.9.253","dev":"lo","table":"local","protocol":"kernel","scope":"host","prefsrc":"10.9.9.253","flags":[]},
{"type":"blackhole","dst":"10.66.0.0/16","table":"main","protocol":"boot","flags":[]},
{"type":"unicast","dst":"10.8.0.0/24","dev":"br0","table":"main","protocol":"boot","flags":[]}]
[{"priority":0,"src":"all","table":"local","protocol":"kernel"},{"priority":100,"src":"all","fwmark":"0x1","table":"1005"},
{"priority":32766,"src":"all","table":"main","protocol":"kernel"},{"priority":32767,"src":"all","table":"default","protocol":"kernel"}]
[{"dst":"10.9.9.1","dev":"pA","lladdr":"00:16:3e:00:00:01","state":["PERMANENT"]},{"dst":"10.8.0.9","dev":"br0","lladdr":"00:16:3e:00:00:09","state":["PERMANENT"]}]
[{"nsid":0,"name":"i-1"},{"nsid":1,"name":"other"}]
"#;

    const INSTANCE: &str = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"address":"00:00:00:00:00:00"},
{"ifindex":2,"link_index":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1450,"address":"00:16:3e:00:00:01","link_netnsid":0,"linkinfo":{"info_kind":"veth"}}]
[{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"10.9.9.1","prefixlen":24}]}]
[{"type":"unicast","dst":"default","gateway":"10.9.9.253","dev":"eth0","table":"1001","protocol":"boot","scope":"global","flags":[]},
{"type":"unicast","dst":"10.9.9.0/24","dev":"eth0","table":"main","protocol":"kernel","scope":"link","prefsrc":"10.9.9.1","flags":[]},
{"type":"unicast","dst":"10.1.0.0/16","dev":"eth0","table":"main","protocol":"boot","metric":100,"flags":[]}]
[{"priority":0,"src":"all","table":"local","protocol":"kernel"},{"priority":1001,"src":"10.9.9.1","table":"1001","protocol":"unspec"},
{"priority":1002,"src":"10.9.9.0","srclen":24,"table":"1001"}]
[]
[{"nsid":0,"name":"eni-v"}]"#;

    #[test]
    fn dumps_stitch_into_the_model_and_the_rest_is_reported() {
        let mut router = parse("eni-v", ROUTER).unwrap();
        router
            .sysctls
            .insert("ipv4/conf/all/rp_filter".into(), "1".into());
        router
            .sysctls
            .insert("ipv4/conf/pA/proxy_arp".into(), "1".into());
        router
            .sysctls
            .insert("ipv4/conf/x1/proxy_arp".into(), "0".into());
        let inst = parse("i-1", INSTANCE).unwrap();
        let seen = assemble("eni-", &[router, inst]);
        let s = &seen.state;

        let port = &s.veths[&LinkRef::new("eni-v", "pA")];
        assert_eq!(port.b.at, LinkRef::new("i-1", "eth0"));
        assert_eq!(
            (port.a.mac.as_str(), port.a.mtu, port.a.up),
            ("ee:ff:ff:ff:ff:ff", 1450, true)
        );
        assert!(
            s.veths.contains_key(&LinkRef::new("eni-v", "s1")),
            "a same-namespace pair is keyed by its smaller end"
        );
        assert_eq!(s.veths.len(), 2);
        assert_eq!(s.loopback_up, BTreeSet::from(["eni-v".to_string()]));

        let addrs: Vec<String> = s
            .addrs
            .iter()
            .map(|a| format!("{}/{} {}", a.dev.ns, a.dev.name, a.cidr))
            .collect();
        assert_eq!(addrs, ["eni-v/lo 10.9.9.253/32", "i-1/eth0 10.9.9.1/24"]);
        let routes: Vec<String> = s
            .routes
            .iter()
            .map(|(k, t)| format!("{} {} {} {} {:?}", k.ns, k.table, k.dst, t.dev, t.via))
            .collect();
        assert_eq!(
            routes,
            [
                "eni-v 254 10.9.9.1/32 pA None",
                "i-1 1001 default eth0 Some(\"10.9.9.253\")"
            ]
        );
        let rules: Vec<String> = s
            .rules
            .iter()
            .map(|r| format!("{} {} {} {}", r.ns, r.pref, r.from, r.table))
            .collect();
        assert_eq!(
            rules,
            ["i-1 1001 10.9.9.1/32 1001", "i-1 1002 10.9.9.0/24 1001"]
        );
        assert_eq!(s.neighs.len(), 1);
        let keys: Vec<&str> = s.sysctls.keys().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["ipv4/conf/all/rp_filter", "ipv4/conf/pA/proxy_arp"]);

        let what: Vec<&str> = seen.unmanaged.iter().map(|u| u.what.as_str()).collect();
        assert!(
            what.iter().any(|w| w.contains("x1") && w.contains("other")),
            "{what:?}"
        );
        assert!(
            what.iter()
                .any(|w| w.contains("br0") && w.contains("bridge")),
            "{what:?}"
        );
        assert!(what.iter().any(|w| w.contains("blackhole")), "{what:?}");
        assert!(what.iter().any(|w| w.contains("metric")), "{what:?}");
        assert!(what.iter().any(|w| w.contains("fwmark")), "{what:?}");
        assert_eq!(what.len(), 5, "{what:?}");
    }

    #[test]
    fn the_router_end_is_a() {
        let end = |ns: &str, n: &str| LinkEnd {
            at: LinkRef::new(ns, n),
            mac: String::new(),
            mtu: 1500,
            up: true,
        };
        assert_eq!(
            orient("eni-", end("i-1", "eth0"), end("eni-v", "p1"))
                .a
                .at
                .ns,
            "eni-v"
        );
        assert_eq!(
            orient("eni-", end("i-2", "eth0"), end("i-1", "eth9"))
                .a
                .at
                .ns,
            "i-1"
        );
        assert_eq!(
            orient("eni-", end("eni-v", "p2"), end("eni-v", "p1"))
                .a
                .at
                .name,
            "p1"
        );
    }
}
