//! Reading the kernel: one `ip -j -d -batch` run per namespace (links, addresses, routes,
//! IPv4 rules, permanent neighbours, the namespace-id map), one `ip -6` run for IPv6 rules
//! where there can be some, plus the sysctls read in-process, then stitching the namespaces
//! together into a [`KernelState`].
//!
//! Shapers and redirects: in router namespaces, and in any namespace holding an IFB, one
//! `tc -j -batch` run more, listing per IFB its classes and then its qdiscs, and per veth end
//! the filters of both clsact hooks. Every `show` answers one JSON document except `class
//! show`, which iproute2 6.1 prints as text lines even with `-j`; the qdisc document that
//! follows each IFB's classes marks where they end.
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

/// The commands of one namespace dump, answered as one JSON document each. With no family
/// given, addresses, routes (of all tables) and neighbours come in both families, but rules
/// in IPv4 only.
const DUMP: &str = "link show\naddress show\nroute show table all\nrule show\nneigh show nud permanent\nnetns list-id\n";
const DUMP_PARTS: usize = 6;
/// The IPv6 rules, from a second `ip -6` run (a batch line takes no family), made only where
/// eni may have put some: a namespace with a global IPv6 address or a route in a per-NIC table.
const DUMP6: &str = "rule show\n";

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
    /// A VXLAN device's (VNI, local address, UDP port).
    vxlan: Option<(u32, String, u16)>,
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
    /// IFB name → rate in kbit/s (0: not shaping as eni shapes).
    shapers: BTreeMap<String, u64>,
    /// (link, hook) → redirect target (`""`: not eni's filter, or pointing nowhere).
    redirects: BTreeMap<(String, Hook), String>,
    /// (link, hook) → its address-matching redirects, by priority ([`Hook::addr_prio`]).
    addr_redirects: BTreeMap<(String, Hook), Vec<(String, String)>>,
    /// tc objects the model does not cover.
    tc_unmanaged: Vec<String>,
    /// The digest of eni's security-group table, if the namespace has one (`""` if its
    /// comment is not eni's).
    ruleset: Option<String>,
    /// The permanent forwarding entries of VXLAN devices with a remote: (device, MAC) → where.
    fdbs: BTreeMap<(String, String), String>,
}

fn observe_err(ns: &str, what: impl std::fmt::Display) -> DataplaneError {
    DataplaneError::Observe(format!("netns {ns}: {what}"))
}

/// Reads one namespace; `Ok(None)` when it vanished before it could be entered. `tc` says
/// whether to read filters even without an IFB there (a router namespace).
pub(crate) fn dump(ns: &str, tc: bool) -> Result<Option<NsDump>, DataplaneError> {
    let owned_ns = ns.to_string();
    let r = netns::in_netns(ns, move || {
        let out = netns::ip(&["-j", "-d", "-batch", "-"], DUMP)?;
        if !out.ok {
            return Err(observe_err(
                &owned_ns,
                format!("ip -batch failed: {}", out.stderr),
            ));
        }
        let mut d = parse(&owned_ns, &out.stdout)?;
        let v6_rules_possible = d.addrs.iter().any(|(_, a)| a.contains(':'))
            || d.routes.iter().any(|r| {
                r["dst"].as_str().is_some_and(|a| a.contains(':'))
                    && table_id(&r["table"]).is_some_and(|t| t != 254 && is_managed_table(t))
            });
        if v6_rules_possible {
            let out = netns::ip(&["-6", "-j", "-d", "-batch", "-"], DUMP6)?;
            if out.ok {
                parse6(&mut d, &out.stdout)?;
            } else if !out.stderr.contains("Address family not supported") {
                // (A kernel without IPv6 has no IPv6 rules to read.)
                return Err(observe_err(
                    &owned_ns,
                    format!("ip -6 -batch failed: {}", out.stderr),
                ));
            }
        }
        for key in NAMESPACE_SYSCTLS {
            if let Some(v) = read_sysctl(key) {
                d.sysctls.insert(key.to_string(), v);
            }
        }
        let devices = |k: &Option<String>| matches!(k.as_deref(), Some("veth" | "vxlan"));
        for l in d.links.iter().filter(|l| devices(&l.kind)) {
            for pat in DEVICE_SYSCTLS {
                let key = pat.replace("{dev}", &l.name);
                if let Some(v) = read_sysctl(&key) {
                    d.sysctls.insert(key, v);
                }
            }
        }
        let has = |kind: &str| d.links.iter().any(|l| l.kind.as_deref() == Some(kind));
        if has("vxlan") {
            let out = netns::bridge(&["-j", "fdb", "show"], "")?;
            if !out.ok {
                return Err(observe_err(
                    &owned_ns,
                    format!("bridge fdb show failed: {}", out.stderr),
                ));
            }
            d.fdbs = parse_fdbs(&d, &out.stdout)
                .map_err(|e| observe_err(&owned_ns, format!("unparsable bridge -j output: {e}")))?;
        }
        if has("ifb") || (tc && has("veth")) {
            let (ifbs, veths) = tc_devices(&d);
            let out = netns::tc(&["-j", "-batch", "-"], &tc_commands(&ifbs, &veths))?;
            if !out.ok {
                return Err(observe_err(
                    &owned_ns,
                    format!("tc -batch failed: {}", out.stderr),
                ));
            }
            parse_tc(&mut d, &out.stdout)?;
        }
        if tc {
            // The security-group table, known by the digest in its comment.
            let table = super::apply::RULESET_TABLE;
            let out = netns::nft(&["list", "table", "inet", table], "")?;
            if out.ok {
                d.ruleset = Some(ruleset_digest(&out.stdout));
            } else if !out.stderr.contains("No such file or directory") {
                return Err(observe_err(
                    &owned_ns,
                    format!("nft list table failed: {}", out.stderr),
                ));
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

/// The permanent entries with a remote (`dst`) of the VXLAN devices in `bridge -j fdb show`.
fn parse_fdbs(
    d: &NsDump,
    stdout: &str,
) -> Result<BTreeMap<(String, String), String>, serde_json::Error> {
    let all: Vec<Value> = serde_json::from_str(stdout)?;
    let vxlans: BTreeSet<&str> = d
        .links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("vxlan"))
        .map(|l| l.name.as_str())
        .collect();
    Ok(all
        .iter()
        .filter(|e| e["state"] == "permanent")
        .filter_map(|e| {
            let dev = e["ifname"].as_str().filter(|n| vxlans.contains(n))?;
            let key = (dev.to_string(), e["mac"].as_str()?.to_ascii_lowercase());
            Some((key, e["dst"].as_str()?.to_string()))
        })
        .collect())
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
            // IPv6 link-local addresses are the kernel's, on every link: not eni's to manage.
            if a["family"] == "inet" || (a["family"] == "inet6" && a["scope"] == "global") {
                if let (Some(ip), Some(len)) = (a["local"].as_str(), a["prefixlen"].as_u64()) {
                    addrs.push((dev.to_string(), format!("{ip}/{len}")));
                }
            }
        }
    }
    // IPv6 routes come in the same list; `ip` calls both families' default route `default`,
    // the model IPv6's `::/0`. (Rules are IPv4 only here: IPv6 ones come from [`parse6`].)
    let v6 = |v: &Value| {
        v.get("pref").is_some()
            || ["dst", "gateway", "prefsrc"]
                .iter()
                .any(|k| v[k].as_str().is_some_and(|a| a.contains(':')))
    };
    let routes = arr(2)
        .into_iter()
        .map(|mut r| {
            if v6(&r) && r["dst"] == "default" {
                r["dst"] = Value::from("::/0");
            }
            r
        })
        .collect();
    let v4_rule = |v: &Value| !v["src"].as_str().is_some_and(|a| a.contains(':'));
    Ok(NsDump {
        ns: ns.to_string(),
        links: arr(0).iter().filter_map(parse_link).collect(),
        addrs,
        routes,
        rules: arr(3).into_iter().filter(v4_rule).collect(),
        neighs: arr(4),
        nsids: arr(5)
            .iter()
            .filter_map(|v| Some((v["nsid"].as_i64()?, v["name"].as_str()?.to_string())))
            .collect(),
        sysctls: BTreeMap::new(),
        shapers: BTreeMap::new(),
        redirects: BTreeMap::new(),
        addr_redirects: BTreeMap::new(),
        tc_unmanaged: Vec::new(),
        ruleset: None,
        fdbs: BTreeMap::new(),
    })
}

/// The digest in the comment of `nft list table` output (the table's first line inside its
/// braces), `""` if there is none of eni's.
fn ruleset_digest(listing: &str) -> String {
    listing
        .lines()
        .nth(1)
        .and_then(|l| l.trim().strip_prefix("comment \"eni:"))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_default()
        .to_string()
}

/// Adds the answer to [`DUMP6`] (the IPv6 rules) to a dump.
fn parse6(d: &mut NsDump, stdout: &str) -> Result<(), DataplaneError> {
    let docs: Vec<Value> = serde_json::Deserializer::from_str(stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .map_err(|e| observe_err(&d.ns, format!("unparsable ip -6 -j output: {e}")))?;
    let [rules] = docs.as_slice() else {
        return Err(observe_err(
            &d.ns,
            format!("ip -6 -j answered {} documents, expected 1", docs.len()),
        ));
    };
    d.rules
        .extend(rules.as_array().cloned().unwrap_or_default());
    Ok(())
}

/// The IFBs (with whether they are up) and veth ends of a dump, in link order. Names that
/// are not one plain `tc -batch` token (a link name may hold quotes or `#`) are left out: no
/// such link is eni's.
fn tc_devices(d: &NsDump) -> (Vec<(String, bool)>, Vec<String>) {
    let plain = |n: &str| {
        n.chars()
            .all(|c| c.is_ascii_graphic() && !"\"'\\#".contains(c))
    };
    let of = |kind: &'static str| {
        d.links
            .iter()
            .filter(move |l| l.kind.as_deref() == Some(kind) && plain(&l.name))
    };
    (
        of("ifb").map(|l| (l.name.clone(), l.up)).collect(),
        of("veth").map(|l| l.name.clone()).collect(),
    )
}

/// The `tc -j -batch` input reading the shapers and filters of a namespace.
fn tc_commands(ifbs: &[(String, bool)], veths: &[String]) -> String {
    let mut cmds = String::new();
    for (b, _) in ifbs {
        cmds += &format!("class show dev {b}\nqdisc show dev {b}\n");
    }
    for v in veths {
        for hook in [Hook::Ingress, Hook::Egress] {
            cmds += &format!("filter show dev {v} {}\n", hook.as_str());
        }
    }
    cmds
}

/// One piece of `tc -j -batch` output: a JSON document or a line of text.
enum TcItem {
    Doc(Value),
    Text(String),
}

fn tc_items(ns: &str, stdout: &str) -> Result<Vec<TcItem>, DataplaneError> {
    let mut items = Vec::new();
    let mut rest = stdout;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(items);
        }
        if rest.starts_with('[') || rest.starts_with('{') {
            let mut docs = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
            let doc = docs
                .next()
                .expect("non-empty input")
                .map_err(|e| observe_err(ns, format!("unparsable tc -j output: {e}")))?;
            rest = &rest[docs.byte_offset()..];
            items.push(TcItem::Doc(doc));
        } else {
            let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
            items.push(TcItem::Text(line.trim_end().to_string()));
            rest = tail;
        }
    }
}

/// Parses the answer to [`tc_commands`] into the dump's shapers and redirects.
fn parse_tc(d: &mut NsDump, stdout: &str) -> Result<(), DataplaneError> {
    let (ifbs, veths) = tc_devices(d);
    let expected = ifbs.len() + 2 * veths.len();
    let mut docs: Vec<(Vec<String>, Value)> = Vec::new();
    let mut text = Vec::new();
    for item in tc_items(&d.ns, stdout)? {
        match item {
            TcItem::Text(t) => text.push(t),
            TcItem::Doc(v) => docs.push((std::mem::take(&mut text), v)),
        }
    }
    if docs.len() != expected || !text.is_empty() {
        return Err(observe_err(
            &d.ns,
            format!(
                "tc -j answered {} documents and {} trailing lines, expected {expected} and none \
                 (this reader knows iproute2 6.1, which prints classes as text)",
                docs.len(),
                text.len()
            ),
        ));
    }
    let mut docs = docs.into_iter();
    for (name, up) in &ifbs {
        let (classes, qdiscs) = docs.next().expect("counted");
        let rate = if *up {
            htb_rate_kbit(&qdiscs, &classes)
        } else {
            0
        };
        d.shapers.insert(name.clone(), rate);
    }
    for v in &veths {
        for hook in [Hook::Ingress, Hook::Egress] {
            let (_, filters) = docs.next().expect("counted");
            let (target, others) = redirect_of(&filters, hook.prio());
            if let Some(t) = target {
                d.redirects.insert((v.clone(), hook), t);
            }
            let (list, others) = addr_redirects_of(&filters, hook, others);
            if !list.is_empty() {
                d.addr_redirects.insert((v.clone(), hook), list);
            }
            for pref in others {
                d.tc_unmanaged.push(format!(
                    "{} filter of {v} at priority {pref}",
                    hook.as_str()
                ));
            }
        }
    }
    Ok(())
}

/// A rate as `tc` prints it (`20480Kbit`, `1500Mbit`, `800bit`), in bit/s.
fn parse_rate(s: &str) -> Option<u64> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits].parse().ok()?;
    let unit: u64 = match &s[digits..] {
        "bit" => 1,
        "Kbit" => 1_000,
        "Mbit" => 1_000_000,
        "Gbit" => 1_000_000_000,
        "Tbit" => 1_000_000_000_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// The rate of an IFB's shaper in kbit/s if it is exactly what eni sets (an HTB root `1:`
/// sending everything to its one class `1:1`, whose ceil is its rate), else 0.
fn htb_rate_kbit(qdiscs: &Value, classes: &[String]) -> u64 {
    let roots: Vec<&Value> = qdiscs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|q| q["root"] == true)
        .collect();
    let root_ok = matches!(roots.as_slice(), [q] if q["kind"] == "htb"
        && q["handle"] == "1:"
        && q["options"]["default"] == "0x1");
    let [class] = classes else { return 0 };
    let words: Vec<&str> = class.split_whitespace().collect();
    let after = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1).copied())
    };
    let class_ok = words.starts_with(&["class", "htb", "1:1", "root"]);
    match (
        after("rate").and_then(parse_rate),
        after("ceil").and_then(parse_rate),
    ) {
        (Some(rate), Some(ceil))
            if root_ok && class_ok && rate == ceil && rate.is_multiple_of(1000) =>
        {
            rate / 1000
        }
        _ => 0,
    }
}

/// The redirect eni keeps at priority `prio` of one hook, from that hook's `tc -j filter
/// show`: `None` if there is no filter at that priority, the target of a match-all
/// `mirred egress redirect` if that is all there is, else `""`. Also the other priorities
/// in use, which are not eni's.
fn redirect_of(filters: &Value, prio: u32) -> (Option<String>, BTreeSet<u64>) {
    let all: Vec<&Value> = filters.as_array().into_iter().flatten().collect();
    let others: BTreeSet<u64> = all
        .iter()
        .filter_map(|f| f["pref"].as_u64())
        .filter(|p| *p != u64::from(prio))
        .collect();
    // The classifier's own entries (its head, u32 hash tables) carry no match or action.
    let nodes: Vec<&&Value> = all
        .iter()
        .filter(|f| f["pref"].as_u64() == Some(u64::from(prio)))
        .filter(|f| {
            f["kind"] != "u32"
                || f["options"].get("match").is_some()
                || f["options"].get("actions").is_some()
        })
        .collect();
    let target = match nodes.as_slice() {
        [] => None,
        [f] => {
            let m = &f["options"]["match"];
            let acts = f["options"]["actions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let matches_all =
                m["value"] == "0" && m["mask"] == "0" && m["off"] == 0 && f["protocol"] == "all";
            let to = match acts.as_slice() {
                [a] if a["kind"] == "mirred"
                    && a["mirred_action"] == "redirect"
                    && a["direction"] == "egress" =>
                {
                    a["to_dev"].as_str().filter(|d| *d != "*")
                }
                _ => None,
            };
            Some(match to {
                Some(dev) if f["kind"] == "u32" && matches_all => dev.to_string(),
                _ => String::new(),
            })
        }
        _ => Some(String::new()),
    };
    (target, others)
}

/// The address-matching redirects of one hook (priorities [`Hook::addr_prio`] 0, 1, …, each one
/// u32 filter matching the whole IPv4 source on egress or destination on ingress, redirecting
/// to a link), from the priorities `others` that are not the match-all's; and what is left.
/// A filter in that range eni would not have set reads as an entry with no target, so the
/// list differs from any desired one and is rebuilt.
fn addr_redirects_of(
    filters: &Value,
    hook: Hook,
    others: BTreeSet<u64>,
) -> (Vec<(String, String)>, BTreeSet<u64>) {
    let all: Vec<&Value> = filters.as_array().into_iter().flatten().collect();
    let off = if hook == Hook::Egress { 12 } else { 16 };
    let mut list = Vec::new();
    let mut rest = BTreeSet::new();
    let mut next = u64::from(hook.addr_prio(0));
    for pref in others {
        if pref != next {
            rest.insert(pref);
            continue;
        }
        next += 1;
        let nodes: Vec<&&Value> = all
            .iter()
            .filter(|f| f["pref"].as_u64() == Some(pref))
            .filter(|f| {
                f["options"].get("match").is_some() || f["options"].get("actions").is_some()
            })
            .collect();
        let entry = match nodes.as_slice() {
            [f] if f["kind"] == "u32" && f["protocol"] == "ip" => {
                let m = &f["options"]["match"];
                let ip = m["value"]
                    .as_str()
                    .and_then(|v| u32::from_str_radix(v, 16).ok())
                    .filter(|_| m["mask"] == "ffffffff" && m["off"] == off)
                    .map(|v| std::net::Ipv4Addr::from(v).to_string());
                let acts = f["options"]["actions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let to = match acts.as_slice() {
                    [a] if a["kind"] == "mirred"
                        && a["mirred_action"] == "redirect"
                        && a["direction"] == "egress" =>
                    {
                        a["to_dev"].as_str().filter(|d| *d != "*").map(String::from)
                    }
                    _ => None,
                };
                (ip.unwrap_or_default(), to.unwrap_or_default())
            }
            _ => (String::new(), String::new()),
        };
        list.push(entry);
    }
    (list, rest)
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
        vxlan: vxlan_of(&v["linkinfo"]),
    })
}

/// The (VNI, local address, port) of a VXLAN device eni could have made: no learning.
fn vxlan_of(info: &Value) -> Option<(u32, String, u16)> {
    let data = &info["info_data"];
    if info["info_kind"] != "vxlan" || data["learning"] != false {
        return None;
    }
    let local = data["local"].as_str().or(data["local6"].as_str())?;
    Some((
        u32::try_from(data["id"].as_u64()?).ok()?,
        local.to_string(),
        u16::try_from(data["port"].as_u64()?).ok()?,
    ))
}

/// Dumps `names` with a few threads in parallel (each dump is mostly waiting for `ip`); tc
/// filters are read in those named with `prefix` (the routers) and wherever an IFB is.
pub(crate) fn dump_all(names: &[String], prefix: &str) -> Result<Vec<NsDump>, DataplaneError> {
    const WORKERS: usize = 4;
    let next = AtomicUsize::new(0);
    type Slot = (usize, Result<Option<NsDump>, DataplaneError>);
    let results: Mutex<Vec<Slot>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS.min(names.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(ns) = names.get(i) else { break };
                let r = dump(ns, ns.starts_with(prefix));
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

/// `ip -j` prints host routes and neighbours without `/32` (`/128`); the model always has a
/// length.
fn route_dst(dst: &str) -> String {
    if dst == "default" || dst.contains('/') {
        dst.to_string()
    } else if dst.contains(':') {
        format!("{dst}/128")
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
            // IFBs are shapers, read from tc below (but for names eni never gives).
            if l.kind.as_deref() == Some("ifb") {
                if !d.shapers.contains_key(&l.name) {
                    note(
                        &d.ns,
                        format!("ifb {:?} with a name eni does not use", l.name),
                    );
                }
                continue;
            }
            if let Some((vni, local, port)) = &l.vxlan {
                let x = Vxlan {
                    end: end(&d.ns, l),
                    vni: *vni,
                    local: local.clone(),
                    port: *port,
                };
                state.vxlans.insert(x.end.at.clone(), x);
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
        .chain(state.vxlans.keys().cloned())
        .collect();
    let on_managed = |ns: &str, dev: &str| dev == "lo" || managed.contains(&LinkRef::new(ns, dev));

    for d in dumps {
        for (name, rate) in &d.shapers {
            state
                .shapers
                .insert(LinkRef::new(d.ns.clone(), name.clone()), *rate);
        }
        for ((dev, hook), target) in &d.redirects {
            let port = LinkRef::new(d.ns.clone(), dev.clone());
            if managed.contains(&port) {
                let key = RedirectKey { port, hook: *hook };
                state.redirects.insert(key, target.clone());
            }
        }
        for ((dev, hook), list) in &d.addr_redirects {
            let port = LinkRef::new(d.ns.clone(), dev.clone());
            if managed.contains(&port) {
                let key = RedirectKey { port, hook: *hook };
                state.addr_redirects.insert(key, list.clone());
            }
        }
        for ((dev, mac), dst) in &d.fdbs {
            let key = FdbKey {
                dev: LinkRef::new(d.ns.clone(), dev.clone()),
                mac: mac.clone(),
            };
            state.fdbs.insert(key, dst.clone());
        }
        if let Some(digest) = &d.ruleset {
            state
                .rulesets
                .insert(d.ns.clone(), Ruleset::observed(digest.clone()));
        }
        for what in &d.tc_unmanaged {
            note(&d.ns, what.clone());
        }
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
            // IPv6 routes always carry a metric; 1024 is the one a route gets by default.
            let default_metric = if dst.contains(':') { 1024 } else { 0 };
            let plain = kind == "unicast"
                && r.get("nexthops").is_none()
                && r["metric"].as_u64().unwrap_or(0) == default_metric
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
                        onlink: r["flags"]
                            .as_array()
                            .is_some_and(|f| f.iter().any(|x| x == "onlink")),
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
                        let host = if src.contains(':') { 128 } else { 32 };
                        format!("{src}/{}", r["srclen"].as_u64().unwrap_or(host))
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
    fn a_ruleset_is_known_by_the_digest_in_its_comment() {
        let listing =
            "table inet eni_sg {\n\tcomment \"eni:00ff00ff00ff00ff\"\n\tchain forward {\n";
        assert_eq!(ruleset_digest(listing), "00ff00ff00ff00ff");
        // Someone else's table of that name: a digest no desired ruleset has.
        assert_eq!(ruleset_digest("table inet eni_sg {\n\tchain c {\n"), "");
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

    /// A router namespace as `ip -j` shows it: a same-namespace veth pair, an IFB up and one
    /// down.
    const SHAPED: &str = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"address":"00:00:00:00:00:00"},
{"ifindex":2,"link":"eA","ifname":"pA","flags":["BROADCAST","UP"],"mtu":1500,"address":"ee:ff:ff:ff:ff:ff","linkinfo":{"info_kind":"veth"}},
{"ifindex":3,"link":"pA","ifname":"eA","flags":["BROADCAST","UP"],"mtu":1500,"address":"00:16:3e:00:00:01","linkinfo":{"info_kind":"veth"}},
{"ifindex":4,"ifname":"bu","flags":["BROADCAST","NOARP","UP","LOWER_UP"],"mtu":1500,"address":"7a:94:14:31:87:77","linkinfo":{"info_kind":"ifb"}},
{"ifindex":5,"ifname":"bd","flags":["BROADCAST","NOARP"],"mtu":1500,"address":"7a:94:14:31:87:78","linkinfo":{"info_kind":"ifb"}}]
[]
[]
[]
[]
[]"#;

    /// The real answer (iproute2 6.1) to `tc_commands` for [`SHAPED`]: `bu` shapes at
    /// 20480 kbit/s, `bd` was deleted and re-created bare, so `pA`'s egress redirect points
    /// nowhere, and someone added an egress filter at priority 7.
    const TC_OUT: &str = r#"class htb 1:1 root prio 0 rate 20480Kbit ceil 20480Kbit burst 64Kb cburst 64Kb 
[{"kind":"htb","handle":"1:","root":true,"refcnt":2,"options":{"r2q":10,"default":"0x1","direct_packets_stat":0,"direct_qlen":32}}]
[]
[{"protocol":"all","pref":1,"kind":"u32","chain":0},{"protocol":"all","pref":1,"kind":"u32","chain":0,"options":{"fh":"800:","ht_divisor":1}},{"protocol":"all","pref":1,"kind":"u32","chain":0,"options":{"fh":"800::800","order":2048,"key_ht":"800","bkt":"0","not_in_hw":true,"match":{"value":"0","mask":"0","offmask":"","off":0},"actions":[{"order":1,"kind":"mirred","mirred_action":"redirect","direction":"egress","to_dev":"bu","control_action":{"type":"stolen"},"index":1,"ref":1,"bind":1}]}}]
[{"protocol":"all","pref":2,"kind":"u32","chain":0},{"protocol":"all","pref":2,"kind":"u32","chain":0,"options":{"fh":"801:","ht_divisor":1}},{"protocol":"all","pref":2,"kind":"u32","chain":0,"options":{"fh":"801::800","order":2048,"key_ht":"801","bkt":"0","not_in_hw":true,"match":{"value":"0","mask":"0","offmask":"","off":0},"actions":[{"order":1,"kind":"mirred","mirred_action":"redirect","direction":"egress","to_dev":"*","control_action":{"type":"stolen"},"index":2,"ref":1,"bind":1}]}},{"protocol":"all","pref":7,"kind":"u32","chain":0},{"protocol":"all","pref":7,"kind":"u32","chain":0,"options":{"fh":"802:","ht_divisor":1}},{"protocol":"all","pref":7,"kind":"u32","chain":0,"options":{"fh":"802::800","order":2048,"key_ht":"802","bkt":"0","flowid":"1:1","not_in_hw":true,"match":{"value":"0","mask":"0","offmask":"","off":0}}}]
[]
[]
"#;

    #[test]
    fn shapers_and_redirects_are_read_from_tc() {
        let mut d = parse("enit-v", SHAPED).unwrap();
        let (ifbs, veths) = tc_devices(&d);
        assert_eq!(
            tc_commands(&ifbs, &veths),
            "class show dev bu\nqdisc show dev bu\nclass show dev bd\nqdisc show dev bd\n\
             filter show dev pA ingress\nfilter show dev pA egress\n\
             filter show dev eA ingress\nfilter show dev eA egress\n"
        );
        parse_tc(&mut d, TC_OUT).unwrap();
        let seen = assemble("enit-", &[d]);
        let s = &seen.state;
        let r = |n: &str| LinkRef::new("enit-v", n);
        assert_eq!(s.shapers, BTreeMap::from([(r("bu"), 20_480), (r("bd"), 0)]));
        let key = |hook| RedirectKey {
            port: r("pA"),
            hook,
        };
        assert_eq!(
            s.redirects,
            BTreeMap::from([
                (key(Hook::Ingress), "bu".to_string()),
                (key(Hook::Egress), String::new()),
            ])
        );
        let what: Vec<&str> = seen.unmanaged.iter().map(|u| u.what.as_str()).collect();
        assert_eq!(what, ["egress filter of pA at priority 7"]);

        // Classes printed as JSON (a newer iproute2) are not guessed at.
        let mut d = parse("enit-v", SHAPED).unwrap();
        let json_classes = TC_OUT.replacen("class htb 1:1", "[{\"class\":\"htb\"}]\nx", 1);
        assert!(parse_tc(&mut d, &json_classes).is_err());
    }

    #[test]
    fn only_eni_shaped_classes_report_a_rate() {
        let root = serde_json::json!([{"kind":"htb","handle":"1:","root":true,"options":{"default":"0x1"}}]);
        let class = |s: &str| vec![s.to_string()];
        let good = "class htb 1:1 root prio 0 rate 1500Mbit ceil 1500Mbit burst 1Mb cburst 1Mb";
        assert_eq!(htb_rate_kbit(&root, &class(good)), 1_500_000);
        let ceil = "class htb 1:1 root prio 0 rate 10Mbit ceil 20Mbit burst 1Mb cburst 1Mb";
        assert_eq!(htb_rate_kbit(&root, &class(ceil)), 0);
        assert_eq!(htb_rate_kbit(&root, &[]), 0);
        assert_eq!(htb_rate_kbit(&root, &[good.into(), good.into()]), 0);
        let other_default = serde_json::json!([{"kind":"htb","handle":"1:","root":true,"options":{"default":"0x5"}}]);
        assert_eq!(htb_rate_kbit(&other_default, &class(good)), 0);
        let tbf = serde_json::json!([{"kind":"tbf","handle":"1:","root":true,"options":{}}]);
        assert_eq!(htb_rate_kbit(&tbf, &class(good)), 0);
        assert_eq!(parse_rate("20480Kbit"), Some(20_480_000));
        assert_eq!(parse_rate("800bit"), Some(800));
        assert_eq!(parse_rate("2Gbit"), Some(2_000_000_000));
        assert_eq!(parse_rate("2Gibit"), None);
    }

    /// `tc -j filter show dev tup egress` (iproute2 6.1) with two address filters of eni's
    /// and the u32 heads tc prints for each priority.
    #[test]
    fn address_redirects_are_read_back_in_priority_order() {
        let f = |pref: u32, ht: &str, hex: &str, off: u32, to: &str| {
            format!(
                r#"{{"protocol":"ip","pref":{pref},"kind":"u32","chain":0}},
{{"protocol":"ip","pref":{pref},"kind":"u32","chain":0,"options":{{"fh":"{ht}:","ht_divisor":1}}}},
{{"protocol":"ip","pref":{pref},"kind":"u32","chain":0,"options":{{"fh":"{ht}::800","order":2048,"key_ht":"{ht}","bkt":"0","not_in_hw":true,"match":{{"value":"{hex}","mask":"ffffffff","offmask":"","off":{off}}},"actions":[{{"order":1,"kind":"mirred","mirred_action":"redirect","direction":"egress","to_dev":"{to}","control_action":{{"type":"stolen"}},"index":1,"ref":1,"bind":1}}]}}}}"#
            )
        };
        let e0 = Hook::Egress.addr_prio(0);
        let text = format!(
            "[{},{}]",
            f(e0, "800", "c6120007", 12, "eu7"),
            f(e0 + 1, "801", "c6120009", 12, "eu9")
        );
        let filters: Value = serde_json::from_str(&text).unwrap();
        let (list, rest) = addr_redirects_of(
            &filters,
            Hook::Egress,
            BTreeSet::from([e0 as u64, e0 as u64 + 1, 7]),
        );
        assert_eq!(
            list,
            vec![
                ("198.18.0.7".to_string(), "eu7".to_string()),
                ("198.18.0.9".to_string(), "eu9".to_string())
            ]
        );
        assert_eq!(rest, BTreeSet::from([7]));
        // A destination match where a source match belongs reads as no match: rebuilt.
        let text = format!("[{}]", f(e0, "800", "c6120007", 16, "eu7"));
        let filters: Value = serde_json::from_str(&text).unwrap();
        let (list, _) = addr_redirects_of(&filters, Hook::Egress, BTreeSet::from([e0 as u64]));
        assert_eq!(list, vec![(String::new(), "eu7".to_string())]);
    }
}
