//! From observed to desired: the ordered operations between two [`KernelState`]s.
//!
//! The order is make-before-break. Everything new is built first (namespaces, sysctls, veth
//! pairs, addresses, links up), then routes and neighbours are replaced — for a moving ENI the
//! `/32` route flips from the old port to the new one in one atomic replace — and only then is
//! what is no longer wanted removed. Planning runs the ops against a copy of the observed
//! state ([`apply_op`], the same semantics the fake kernel uses), so objects the kernel
//! removes implicitly (addresses of a deleted link, links of a deleted namespace, the filters
//! of a deleted port) are planned for correctly.
//!
//! Bandwidth caps follow the same order: shapers (IFBs) are built before the redirects that
//! point at them, and a new port's redirects are in place before its links come up and its
//! routes flip, so no packet of a capped instance ever passes unshaped. Removal runs the
//! other way: ports (and with them their redirects) go first, then redirects no longer
//! wanted, then the shapers nothing points at any more.

use crate::model::*;

/// The `main` route table.
pub const MAIN_TABLE: u32 = 254;

/// Applies one op to a model of the kernel, with the kernel's implicit effects.
pub fn apply_op(s: &mut KernelState, op: &Op) {
    match op {
        Op::CreateNamespace(ns) => {
            s.namespaces.insert(ns.clone());
        }
        Op::DeleteNamespace(ns) => {
            let gone: Vec<LinkRef> = s
                .veths
                .iter()
                .filter(|(_, v)| v.a.at.ns == *ns || v.b.at.ns == *ns)
                .map(|(k, _)| k.clone())
                .collect();
            for k in gone {
                apply_op(s, &Op::DeleteVeth(k));
            }
            s.namespaces.remove(ns);
            s.loopback_up.remove(ns);
            s.addrs.retain(|a| a.dev.ns != *ns);
            s.routes.retain(|k, _| k.ns != *ns);
            s.rules.retain(|r| r.ns != *ns);
            s.neighs.retain(|k, _| k.dev.ns != *ns);
            s.sysctls.retain(|k, _| k.ns != *ns);
            s.shapers.retain(|k, _| k.ns != *ns);
            s.redirects.retain(|k, _| k.port.ns != *ns);
            s.addr_redirects.retain(|k, _| k.port.ns != *ns);
            s.rulesets.remove(ns);
            s.vxlans.retain(|k, _| k.ns != *ns);
            s.fdbs.retain(|k, _| k.dev.ns != *ns);
        }
        Op::SetLoopbackUp(ns) => {
            if s.namespaces.contains(ns) {
                s.loopback_up.insert(ns.clone());
            }
        }
        Op::SetSysctl(k, v) => {
            if s.namespaces.contains(&k.ns) {
                s.sysctls.insert(k.clone(), v.clone());
            }
        }
        Op::CreateVeth(v) => {
            let free = |r: &LinkRef| s.link(r).is_none() && !s.shapers.contains_key(r);
            if free(&v.a.at) && free(&v.b.at) {
                let mut v = v.clone();
                v.a.up = false;
                v.b.up = false;
                s.veths.insert(v.a.at.clone(), v);
            }
        }
        Op::DeleteVeth(r) => {
            let key = s
                .veths
                .iter()
                .find(|(_, v)| v.a.at == *r || v.b.at == *r)
                .map(|(k, _)| k.clone());
            if let Some(k) = key {
                let v = s.veths.remove(&k).expect("present");
                for end in [&v.a.at, &v.b.at] {
                    forget_link(s, end);
                }
            }
        }
        Op::CreateVxlan(x) => {
            let at = &x.end.at;
            if s.namespaces.contains(&at.ns) && s.link(at).is_none() && !s.shapers.contains_key(at)
            {
                let mut x = x.clone();
                x.end.up = false;
                s.vxlans.insert(at.clone(), x);
            }
        }
        Op::DeleteVxlan(r) => {
            if s.vxlans.remove(r).is_some() {
                forget_link(s, r);
            }
        }
        Op::ReplaceFdb(k, dst) => {
            if s.vxlans.contains_key(&k.dev) {
                s.fdbs.insert(k.clone(), dst.clone());
            }
        }
        Op::DelFdb(k) => {
            s.fdbs.remove(k);
        }
        Op::SetLinkUp(r, up) => {
            let was_up = s.link(r).is_some_and(|l| l.up);
            for v in s.veths.values_mut() {
                for end in [&mut v.a, &mut v.b] {
                    if end.at == *r {
                        end.up = *up;
                    }
                }
            }
            if let Some(x) = s.vxlans.get_mut(r) {
                x.end.up = *up;
            }
            if !*up {
                // A link that goes down loses its routes, as the kernel does.
                s.routes.retain(|rk, t| !(rk.ns == r.ns && t.dev == r.name));
                if was_up {
                    // And its neighbours, permanent ones included (measured: `ip link set
                    // down` flushes them; a link already down keeps entries added to it).
                    s.neighs.retain(|nk, _| nk.dev != *r);
                }
            }
        }
        Op::AddAddr(a) => {
            let on_lo = a.dev.name == "lo" && s.namespaces.contains(&a.dev.ns);
            if on_lo || s.link(&a.dev).is_some() {
                s.addrs.insert(a.clone());
            }
        }
        Op::DelAddr(a) => {
            s.addrs.remove(a);
        }
        Op::ReplaceRoute(k, t) => {
            let dev = LinkRef::new(k.ns.clone(), t.dev.clone());
            if s.link(&dev).is_some_and(|l| l.up) {
                s.routes.insert(k.clone(), t.clone());
            }
        }
        Op::DelRoute(k) => {
            s.routes.remove(k);
        }
        Op::AddRule(r) => {
            if s.namespaces.contains(&r.ns) {
                s.rules.insert(r.clone());
            }
        }
        Op::DelRule(r) => {
            s.rules.remove(r);
        }
        Op::ReplaceNeigh(k, mac) => {
            if s.link(&k.dev).is_some() {
                s.neighs.insert(k.clone(), mac.clone());
            }
        }
        Op::DelNeigh(k) => {
            s.neighs.remove(k);
        }
        Op::CreateIfb(r) => {
            if s.namespaces.contains(&r.ns) && s.link(r).is_none() {
                s.shapers.entry(r.clone()).or_insert(0);
            }
        }
        Op::DeleteIfb(r) => {
            if s.shapers.remove(r).is_some() {
                dangle(s, r);
            }
        }
        Op::SetShaperRate(r, kbit) => {
            if let Some(rate) = s.shapers.get_mut(r) {
                *rate = *kbit;
            }
        }
        Op::SetRedirect(k, target) => {
            let to = LinkRef::new(k.port.ns.clone(), target.clone());
            let target_exists = s.shapers.contains_key(&to) || s.link(&to).is_some();
            if s.link(&k.port).is_some() && target_exists {
                s.redirects.insert(k.clone(), target.clone());
            }
        }
        Op::DelRedirect(k) => {
            s.redirects.remove(k);
        }
        Op::SetAddrRedirects(k, list) => {
            let exists = |t: &String| {
                let to = LinkRef::new(k.port.ns.clone(), t.clone());
                s.shapers.contains_key(&to) || s.link(&to).is_some()
            };
            if list.is_empty() {
                s.addr_redirects.remove(k);
            } else if s.link(&k.port).is_some() && list.iter().all(|(_, t)| exists(t)) {
                s.addr_redirects.insert(k.clone(), list.clone());
            }
        }
        Op::LoadRuleset(ns, r) => {
            if s.namespaces.contains(ns) {
                s.rulesets.insert(ns.clone(), r.clone());
            }
        }
        Op::DeleteRuleset(ns) => {
            s.rulesets.remove(ns);
        }
    }
}

/// What goes with a deleted link: everything on it, and the redirects that pointed at it.
fn forget_link(s: &mut KernelState, end: &LinkRef) {
    s.addrs.retain(|a| &a.dev != end);
    s.routes
        .retain(|rk, t| !(rk.ns == end.ns && t.dev == end.name));
    s.neighs.retain(|nk, _| &nk.dev != end);
    s.fdbs.retain(|k, _| &k.dev != end);
    // Per-device sysctls vanish with their device.
    let conf = format!("ipv4/conf/{}/", end.name);
    let neigh = format!("ipv4/neigh/{}/", end.name);
    s.sysctls.retain(|sk, _| {
        !(sk.ns == end.ns && (sk.key.starts_with(&conf) || sk.key.starts_with(&neigh)))
    });
    // Its clsact qdisc and filters go with it; filters elsewhere that pointed at it are left
    // without a target.
    s.redirects.retain(|k, _| &k.port != end);
    s.addr_redirects.retain(|k, _| &k.port != end);
    dangle(s, end);
}

/// The op that deletes whatever link is at `r` (a veth end, a VXLAN or an IFB), if any.
fn clear(cur: &KernelState, r: &LinkRef) -> Option<Op> {
    if cur.vxlans.contains_key(r) {
        Some(Op::DeleteVxlan(r.clone()))
    } else if cur.link(r).is_some() {
        Some(Op::DeleteVeth(r.clone()))
    } else if cur.shapers.contains_key(r) {
        Some(Op::DeleteIfb(r.clone()))
    } else {
        None
    }
}

/// The kernel keeps a redirect whose target link is deleted, pointing nowhere (it drops what
/// it matches); a link of the same name created later is not picked up again.
fn dangle(s: &mut KernelState, gone: &LinkRef) {
    for (k, target) in s.redirects.iter_mut() {
        if k.port.ns == gone.ns && *target == gone.name {
            target.clear();
        }
    }
    for (k, list) in s.addr_redirects.iter_mut() {
        for (_, target) in list.iter_mut() {
            if k.port.ns == gone.ns && *target == gone.name {
                target.clear();
            }
        }
    }
}

fn same_shape(a: &LinkEnd, b: &LinkEnd) -> bool {
    a.at == b.at && a.mac == b.mac && a.mtu == b.mtu
}

/// The operations that turn `observed` into `desired`, make-before-break. Sysctls are only
/// ever set: one that `desired` does not mention is left as it is.
pub fn plan(observed: &KernelState, desired: &KernelState) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut cur = observed.clone();
    let push = |cur: &mut KernelState, ops: &mut Vec<Op>, op: Op| {
        apply_op(cur, &op);
        ops.push(op);
    };

    // 1. Namespaces, loopback, sysctls.
    for ns in desired.namespaces.difference(&observed.namespaces) {
        push(&mut cur, &mut ops, Op::CreateNamespace(ns.clone()));
    }
    for ns in &desired.loopback_up {
        if !cur.loopback_up.contains(ns) {
            push(&mut cur, &mut ops, Op::SetLoopbackUp(ns.clone()));
        }
    }

    // 2. Veth pairs: a pair whose shape changed is rebuilt; a pair in the way of a new one
    //    (same name at either end) goes first. Everything else new is created alongside the
    //    old, which stays up until the routes have moved.
    for (k, want) in &desired.veths {
        let same = cur
            .veths
            .get(k)
            .is_some_and(|have| same_shape(&have.a, &want.a) && same_shape(&have.b, &want.b));
        if same {
            continue;
        }
        if cur.veths.contains_key(k) {
            push(&mut cur, &mut ops, Op::DeleteVeth(k.clone()));
        }
        for end in [&want.a.at, &want.b.at] {
            while let Some(op) = clear(&cur, end) {
                push(&mut cur, &mut ops, op);
            }
        }
        push(&mut cur, &mut ops, Op::CreateVeth(want.clone()));
    }
    // VXLAN devices likewise: one whose shape changed is rebuilt.
    for (k, want) in &desired.vxlans {
        let same = cur.vxlans.get(k).is_some_and(|have| {
            same_shape(&have.end, &want.end)
                && (have.vni, &have.local, have.port) == (want.vni, &want.local, want.port)
        });
        if same {
            continue;
        }
        while let Some(op) = clear(&cur, k) {
            push(&mut cur, &mut ops, op);
        }
        push(&mut cur, &mut ops, Op::CreateVxlan(want.clone()));
    }
    // Sysctls after links exist: per-device keys need their device.
    for (k, v) in &desired.sysctls {
        if cur.sysctls.get(k) != Some(v) {
            push(&mut cur, &mut ops, Op::SetSysctl(k.clone(), v.clone()));
        }
    }

    // Security groups: keyed by address, not by port, so they are in force before any new
    //    port comes up or is routed to.
    for (ns, want) in &desired.rulesets {
        if cur.rulesets.get(ns) != Some(want) {
            push(
                &mut cur,
                &mut ops,
                Op::LoadRuleset(ns.clone(), want.clone()),
            );
        }
    }

    // Shapers, then the redirects into them: before any new port comes up or is routed to.
    // A shaper that is well formed changes its rate in place; one observed as not shaping
    // (rate 0: down, or its qdisc is not eni's) is rebuilt, and its redirects with it.
    for (r, &rate) in &desired.shapers {
        let have = cur.shapers.get(r).copied();
        if have == Some(rate) {
            continue;
        }
        match have {
            Some(h) if h != 0 && rate != 0 => {
                push(&mut cur, &mut ops, Op::SetShaperRate(r.clone(), rate));
                continue;
            }
            Some(_) => push(&mut cur, &mut ops, Op::DeleteIfb(r.clone())),
            None => {
                while let Some(op) = clear(&cur, r) {
                    push(&mut cur, &mut ops, op);
                }
            }
        }
        push(&mut cur, &mut ops, Op::CreateIfb(r.clone()));
        if rate != 0 {
            push(&mut cur, &mut ops, Op::SetShaperRate(r.clone(), rate));
        }
    }
    for (k, target) in &desired.redirects {
        if cur.redirects.get(k) != Some(target) {
            push(
                &mut cur,
                &mut ops,
                Op::SetRedirect(k.clone(), target.clone()),
            );
        }
    }
    for (k, list) in &desired.addr_redirects {
        if cur.addr_redirects.get(k) != Some(list) {
            push(
                &mut cur,
                &mut ops,
                Op::SetAddrRedirects(k.clone(), list.clone()),
            );
        }
    }

    // 3. Addresses, then links up (down first for links that must go down).
    for a in desired.addrs.difference(&cur.addrs.clone()) {
        push(&mut cur, &mut ops, Op::AddAddr(a.clone()));
    }
    let ends = desired.veths.values().flat_map(|v| [&v.a, &v.b]);
    for end in ends.chain(desired.vxlans.values().map(|x| &x.end)) {
        if cur.link(&end.at).is_some_and(|l| l.up != end.up) {
            push(&mut cur, &mut ops, Op::SetLinkUp(end.at.clone(), end.up));
        }
    }

    // 4. Policy first: rules and the per-NIC tables only matter once traffic arrives, so
    //    they go in before it can — a moved ENI's new instance must answer from the right NIC
    //    the moment the router flips. Then neighbours, then the main-table routes: the switch
    //    point, where the router's /32 moves to the new port in one replace.
    for r in desired.rules.difference(&cur.rules.clone()) {
        push(&mut cur, &mut ops, Op::AddRule(r.clone()));
    }
    for (k, t) in &desired.routes {
        if k.table != MAIN_TABLE && cur.routes.get(k) != Some(t) {
            push(&mut cur, &mut ops, Op::ReplaceRoute(k.clone(), t.clone()));
        }
    }
    for (k, mac) in &desired.neighs {
        if cur.neighs.get(k) != Some(mac) {
            push(&mut cur, &mut ops, Op::ReplaceNeigh(k.clone(), mac.clone()));
        }
    }
    // Where a remote host's MAC is on the underlay: before routes send traffic to it.
    for (k, dst) in &desired.fdbs {
        if cur.fdbs.get(k) != Some(dst) {
            push(&mut cur, &mut ops, Op::ReplaceFdb(k.clone(), dst.clone()));
        }
    }
    for (k, t) in &desired.routes {
        if k.table == MAIN_TABLE && cur.routes.get(k) != Some(t) {
            push(&mut cur, &mut ops, Op::ReplaceRoute(k.clone(), t.clone()));
        }
    }

    // 5. Break: remove what is no longer wanted.
    for r in cur.rules.clone().difference(&desired.rules) {
        push(&mut cur, &mut ops, Op::DelRule(r.clone()));
    }
    for k in cur.routes.clone().keys() {
        if !desired.routes.contains_key(k) {
            push(&mut cur, &mut ops, Op::DelRoute(k.clone()));
        }
    }
    for k in cur.neighs.clone().keys() {
        if !desired.neighs.contains_key(k) {
            push(&mut cur, &mut ops, Op::DelNeigh(k.clone()));
        }
    }
    for k in cur.fdbs.clone().keys() {
        if !desired.fdbs.contains_key(k) {
            push(&mut cur, &mut ops, Op::DelFdb(k.clone()));
        }
    }
    for a in cur.addrs.clone().difference(&desired.addrs) {
        let guests = desired
            .guest_ranges
            .iter()
            .any(|g| g.dev == a.dev && within(&g.cidr, &a.cidr));
        if !guests {
            push(&mut cur, &mut ops, Op::DelAddr(a.clone()));
        }
    }
    for k in cur.veths.clone().keys() {
        if !desired.veths.contains_key(k) {
            push(&mut cur, &mut ops, Op::DeleteVeth(k.clone()));
        }
    }
    for k in cur.vxlans.clone().keys() {
        if !desired.vxlans.contains_key(k) {
            push(&mut cur, &mut ops, Op::DeleteVxlan(k.clone()));
        }
    }
    // Deleted ports took their redirects along; the rest go before the shapers they point at.
    for k in cur.redirects.clone().keys() {
        if !desired.redirects.contains_key(k) {
            push(&mut cur, &mut ops, Op::DelRedirect(k.clone()));
        }
    }
    for k in cur.addr_redirects.clone().keys() {
        if !desired.addr_redirects.contains_key(k) {
            push(
                &mut cur,
                &mut ops,
                Op::SetAddrRedirects(k.clone(), Vec::new()),
            );
        }
    }
    for r in cur.shapers.clone().keys() {
        if !desired.shapers.contains_key(r) {
            push(&mut cur, &mut ops, Op::DeleteIfb(r.clone()));
        }
    }
    for ns in cur.rulesets.clone().keys() {
        if !desired.rulesets.contains_key(ns) && desired.namespaces.contains(ns) {
            push(&mut cur, &mut ops, Op::DeleteRuleset(ns.clone()));
        }
    }
    for ns in cur.namespaces.clone().difference(&desired.namespaces) {
        push(&mut cur, &mut ops, Op::DeleteNamespace(ns.clone()));
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeDataplane;
    use crate::Dataplane;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Raw random choices, normalised into a state the kernel could hold.
    type Spec = (
        Vec<bool>,
        Vec<(usize, usize, usize, usize, usize, u8, bool, bool)>,
        Vec<(usize, usize)>,
        Vec<(usize, usize, usize, usize, bool)>,
        Vec<(usize, u32, usize, usize)>,
        Vec<(usize, usize, usize)>,
        Vec<(usize, usize, usize)>,
        Vec<(usize, usize, usize)>,
        Vec<(usize, bool, usize, bool)>,
    );

    const NAMES: [&str; 5] = ["p1", "p2", "p3", "eth0", "eth1"];
    /// IFB names; "p3" may collide with a veth end, which the planner must clear first.
    const IFBS: [&str; 4] = ["b1u", "b1d", "b2u", "p3"];
    /// Index 0 is the "not shaping" rate 0, which only observed states hold.
    const RATES: [u64; 3] = [0, 1000, 20480];
    const IPS: [&str; 4] = ["10.0.0.1", "10.0.0.2", "10.0.1.7", "192.168.0.9"];
    const MACS: [&str; 3] = [
        "00:16:3e:00:00:01",
        "00:16:3e:00:00:02",
        "ee:ff:ff:ff:ff:ff",
    ];
    const KEYS: [&str; 3] = [
        "ipv4/ip_forward",
        "ipv4/conf/all/rp_filter",
        "ipv4/conf/all/arp_ignore",
    ];

    fn spec() -> impl Strategy<Value = Spec> {
        (
            proptest::collection::vec(any::<bool>(), 4),
            proptest::collection::vec(
                (
                    0..4usize,
                    0..5usize,
                    0..4usize,
                    0..5usize,
                    0..3usize,
                    0..2u8,
                    any::<bool>(),
                    any::<bool>(),
                ),
                0..5,
            ),
            proptest::collection::vec((0..10usize, 0..4usize), 0..8),
            proptest::collection::vec(
                (0..4usize, 0..2usize, 0..5usize, 0..10usize, any::<bool>()),
                0..8,
            ),
            proptest::collection::vec((0..4usize, 1000..1003u32, 0..4usize, 0..2usize), 0..6),
            proptest::collection::vec((0..10usize, 0..4usize, 0..3usize), 0..5),
            proptest::collection::vec((0..4usize, 0..3usize, 0..2usize), 0..6),
            proptest::collection::vec((0..4usize, 0..4usize, 0..3usize), 0..5),
            proptest::collection::vec((0..10usize, any::<bool>(), 0..10usize, any::<bool>()), 0..6),
        )
    }

    /// A state built from `spec`; `observed` allows what only a kernel can hold and a desired
    /// state never does (shapers that are not shaping, redirects pointing nowhere).
    fn build(spec: &Spec, nss: &[&str], observed: bool) -> KernelState {
        let (present, veths, addrs, routes, rules, neighs, sysctls, shapers, redirects) = spec;
        let mut s = KernelState::default();
        let ns_of = |i: usize| nss[i % nss.len()].to_string();
        for (i, p) in present.iter().enumerate() {
            if *p {
                s.namespaces.insert(ns_of(i));
                s.loopback_up.insert(ns_of(i));
            }
        }
        let mut links: Vec<LinkEnd> = Vec::new();
        for (na, a, nb, b, mac, mtu, upa, upb) in veths {
            let (ra, rb) = (
                LinkRef::new(ns_of(*na), NAMES[*a]),
                LinkRef::new(ns_of(*nb), NAMES[*b]),
            );
            if ra == rb
                || !s.namespaces.contains(&ra.ns)
                || !s.namespaces.contains(&rb.ns)
                || s.link(&ra).is_some()
                || s.link(&rb).is_some()
            {
                continue;
            }
            let mtu = if *mtu == 0 { 1500 } else { 1450 };
            let v = Veth {
                a: LinkEnd {
                    at: ra.clone(),
                    mac: MACS[2].into(),
                    mtu,
                    up: *upa,
                },
                b: LinkEnd {
                    at: rb,
                    mac: MACS[*mac].into(),
                    mtu,
                    up: *upb,
                },
            };
            links.push(v.a.clone());
            links.push(v.b.clone());
            s.veths.insert(ra, v);
        }
        if !links.is_empty() {
            for (l, ip) in addrs {
                s.addrs.insert(Addr {
                    dev: links[l % links.len()].at.clone(),
                    cidr: format!("{}/24", IPS[*ip]),
                });
            }
            for (l, ip, mac) in neighs {
                s.neighs.insert(
                    NeighKey {
                        dev: links[l % links.len()].at.clone(),
                        ip: IPS[*ip].into(),
                    },
                    MACS[*mac].into(),
                );
            }
            for (_ns, table, dst, l, via) in routes {
                let end = &links[l % links.len()];
                if !end.up {
                    continue;
                }
                let table = if *table == 0 { 254 } else { 1001 };
                let dst = if *dst == 4 {
                    "default".to_string()
                } else {
                    format!("{}/32", IPS[*dst])
                };
                let target = RouteTarget {
                    dev: end.at.name.clone(),
                    via: via.then(|| "10.0.0.253".to_string()),
                    src: None,
                    onlink: false,
                };
                s.routes.insert(
                    RouteKey {
                        ns: end.at.ns.clone(),
                        table,
                        dst,
                    },
                    target,
                );
            }
            for end in &links {
                s.sysctls.insert(
                    SysctlKey {
                        ns: end.at.ns.clone(),
                        key: format!("ipv4/conf/{}/proxy_arp", end.at.name),
                    },
                    "1".into(),
                );
            }
        }
        for (ns, table, from, pref) in rules {
            let ns = ns_of(*ns);
            if s.namespaces.contains(&ns) {
                s.rules.insert(Rule {
                    ns,
                    pref: table + *pref as u32,
                    from: format!("{}/32", IPS[*from]),
                    table: *table,
                });
            }
        }
        for (ns, key, v) in sysctls {
            let ns = ns_of(*ns);
            if s.namespaces.contains(&ns) {
                s.sysctls.insert(
                    SysctlKey {
                        ns,
                        key: KEYS[*key].into(),
                    },
                    v.to_string(),
                );
            }
        }
        for (ns, name, rate) in shapers {
            let r = LinkRef::new(ns_of(*ns), IFBS[*name]);
            let rate = if observed {
                RATES[*rate]
            } else {
                RATES[1 + *rate % 2]
            };
            if s.namespaces.contains(&r.ns) && s.link(&r).is_none() {
                s.shapers.insert(r, rate);
            }
        }
        let ifbs: Vec<LinkRef> = s.shapers.keys().cloned().collect();
        if !links.is_empty() {
            for (l, ingress, target, dangling) in redirects {
                let port = links[l % links.len()].at.clone();
                let in_ns: Vec<&LinkRef> = ifbs.iter().filter(|r| r.ns == port.ns).collect();
                let target = if observed && *dangling {
                    String::new()
                } else if in_ns.is_empty() {
                    continue;
                } else {
                    in_ns[target % in_ns.len()].name.clone()
                };
                let hook = if *ingress {
                    Hook::Ingress
                } else {
                    Hook::Egress
                };
                s.redirects.insert(RedirectKey { port, hook }, target);
            }
        }
        s
    }

    fn merge(a: &KernelState, b: &KernelState) -> KernelState {
        let mut m = a.clone();
        m.namespaces.extend(b.namespaces.iter().cloned());
        m.veths
            .extend(b.veths.iter().map(|(k, v)| (k.clone(), v.clone())));
        m.loopback_up.extend(b.loopback_up.iter().cloned());
        m.addrs.extend(b.addrs.iter().cloned());
        m.routes
            .extend(b.routes.iter().map(|(k, v)| (k.clone(), v.clone())));
        m.rules.extend(b.rules.iter().cloned());
        m.neighs
            .extend(b.neighs.iter().map(|(k, v)| (k.clone(), v.clone())));
        m.sysctls
            .extend(b.sysctls.iter().map(|(k, v)| (k.clone(), v.clone())));
        m.shapers
            .extend(b.shapers.iter().map(|(k, v)| (k.clone(), *v)));
        m.redirects
            .extend(b.redirects.iter().map(|(k, v)| (k.clone(), v.clone())));
        m
    }

    /// Plans from `initial` (next to `others`, which are not eni's) to `desired`, applies the
    /// plan to a fake host and checks that it converged, that a second plan is empty, that
    /// the foreign namespaces are untouched, and that caps are make-before-break: no port
    /// with a wanted redirect comes up or is routed to before the redirect is in place, and no
    /// shaper that goes away is deleted while a redirect still points at it.
    fn check(
        initial: &KernelState,
        others: &KernelState,
        desired: &KernelState,
    ) -> Result<(), TestCaseError> {
        let fake = FakeDataplane::with_world(merge(initial, others), initial.namespaces.clone());
        let ops = plan(&fake.observe().unwrap(), desired);
        let mut cur = fake.observe().unwrap();
        for op in &ops {
            let port = match op {
                Op::ReplaceRoute(k, t) => Some(LinkRef::new(k.ns.clone(), t.dev.clone())),
                Op::SetLinkUp(r, true) => Some(r.clone()),
                _ => None,
            };
            for (k, target) in desired
                .redirects
                .iter()
                .filter(|(k, _)| Some(&k.port) == port.as_ref())
            {
                prop_assert_eq!(
                    cur.redirects.get(k),
                    Some(target),
                    "{:?} before its redirect: {:?}",
                    op,
                    ops
                );
            }
            if let Op::DeleteIfb(r) = op {
                // (One in the way of a new veth end of its name goes first, whatever it held.)
                if !desired.shapers.contains_key(r) && desired.link(r).is_none() {
                    prop_assert!(
                        !cur.redirects
                            .iter()
                            .any(|(k, t)| k.port.ns == r.ns && *t == r.name),
                        "{:?} while a redirect points at it: {:?}",
                        op,
                        ops
                    );
                }
            }
            apply_op(&mut cur, op);
        }
        fake.apply(&ops).unwrap();
        // Sysctls cannot be removed, only set: those eni does not want are left as they are.
        let mut seen = fake.observe().unwrap();
        seen.sysctls.retain(|k, _| desired.sysctls.contains_key(k));
        prop_assert_eq!(&seen, desired);
        prop_assert!(plan(&fake.observe().unwrap(), desired).is_empty());
        let after = fake.world();
        let foreign_ns: BTreeSet<String> = others.namespaces.clone();
        prop_assert_eq!(&crate::fake::restrict(&after, &foreign_ns), others);
        Ok(())
    }

    const OURS: [&str; 4] = ["eni-a", "eni-b", "i-1", "i-2"];
    const THEIRS: [&str; 2] = ["x-1", "x-2"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// From any starting state, one reconcile reaches the desired state, a second plans
        /// nothing, and namespaces that are not eni's are untouched.
        #[test]
        fn one_pass_converges_and_a_second_changes_nothing(start in spec(), want in spec(), foreign in spec()) {
            check(
                &build(&start, &OURS, true),
                &build(&foreign, &THEIRS, true),
                &build(&want, &OURS, false),
            )?;
        }

        /// The same when only the caps change: the ports stay, so redirects are re-pointed
        /// or removed on live ports and shapers change rate in place.
        #[test]
        fn changing_only_caps_converges(start in spec(), want in spec(), foreign in spec()) {
            let mut same_links = start.clone();
            same_links.7 = want.7.clone();
            same_links.8 = want.8.clone();
            check(
                &build(&start, &OURS, true),
                &build(&foreign, &THEIRS, true),
                &build(&same_links, &OURS, false),
            )?;
        }
    }

    #[test]
    fn a_moving_route_flips_before_the_old_port_goes() {
        let port = |n: &str, ns: &str| Veth {
            a: LinkEnd {
                at: LinkRef::new("eni-v", n),
                mac: "ee:ff:ff:ff:ff:ff".into(),
                mtu: 1500,
                up: true,
            },
            b: LinkEnd {
                at: LinkRef::new(ns, "eth1"),
                mac: "00:16:3e:00:00:01".into(),
                mtu: 1500,
                up: true,
            },
        };
        let route = |dev: &str| {
            (
                RouteKey {
                    ns: "eni-v".into(),
                    table: 254,
                    dst: "10.0.0.5/32".into(),
                },
                RouteTarget {
                    dev: dev.into(),
                    via: None,
                    src: None,
                    onlink: false,
                },
            )
        };
        let mut before = KernelState::default();
        before
            .namespaces
            .extend(["eni-v".to_string(), "i-a".to_string(), "i-b".to_string()]);
        let old = port("pold", "i-a");
        before.veths.insert(old.a.at.clone(), old);
        let (k, t) = route("pold");
        before.routes.insert(k, t);
        let mut after = before.clone();
        after.veths.clear();
        let new = port("pnew", "i-b");
        after.veths.insert(new.a.at.clone(), new);
        let (k, t) = route("pnew");
        after.routes.insert(k, t);
        let ops = plan(&before, &after);
        let pos = |f: &dyn Fn(&Op) -> bool| ops.iter().position(f).unwrap();
        let create = pos(&|o| matches!(o, Op::CreateVeth(_)));
        let flip = pos(&|o| matches!(o, Op::ReplaceRoute(_, t) if t.dev == "pnew"));
        let delete = pos(&|o| matches!(o, Op::DeleteVeth(r) if r.name == "pold"));
        assert!(create < flip && flip < delete, "{ops:?}");
        assert!(
            !ops.iter().any(|o| matches!(o, Op::DelRoute(_))),
            "the route is replaced, never removed: {ops:?}"
        );
    }

    #[test]
    fn a_new_port_is_shaped_before_it_is_used_and_a_cap_goes_after_its_redirects() {
        let mut base = KernelState::default();
        base.namespaces
            .extend(["eni-v".to_string(), "i-a".to_string()]);
        let port = |s: &mut KernelState, p: &str, nic: &str, host: u8| {
            let v = Veth {
                a: LinkEnd {
                    at: LinkRef::new("eni-v", p),
                    mac: "ee:ff:ff:ff:ff:ff".into(),
                    mtu: 1500,
                    up: true,
                },
                b: LinkEnd {
                    at: LinkRef::new("i-a", nic),
                    mac: "00:16:3e:00:00:01".into(),
                    mtu: 1500,
                    up: true,
                },
            };
            s.veths.insert(v.a.at.clone(), v);
            s.routes.insert(
                RouteKey {
                    ns: "eni-v".into(),
                    table: 254,
                    dst: format!("10.0.0.{host}/32"),
                },
                RouteTarget {
                    dev: p.into(),
                    via: None,
                    src: None,
                    onlink: false,
                },
            );
        };
        let capped = |s: &mut KernelState, ports: &[&str]| {
            for (ifb, hook) in [("b1u", Hook::Ingress), ("b1d", Hook::Egress)] {
                s.shapers.insert(LinkRef::new("eni-v", ifb), 20_480);
                for p in ports {
                    let key = RedirectKey {
                        port: LinkRef::new("eni-v", *p),
                        hook,
                    };
                    s.redirects.insert(key, ifb.into());
                }
            }
        };
        let mut one = base.clone();
        port(&mut one, "p1", "eth0", 1);
        capped(&mut one, &["p1"]);
        let mut two = base.clone();
        port(&mut two, "p1", "eth0", 1);
        port(&mut two, "p2", "eth1", 2);
        capped(&mut two, &["p1", "p2"]);

        let ops = plan(&one, &two);
        let pos = |f: &dyn Fn(&Op) -> bool| ops.iter().position(f).unwrap();
        let shaped = pos(&|o| matches!(o, Op::SetRedirect(k, _) if k.port.name == "p2"));
        let up = pos(&|o| matches!(o, Op::SetLinkUp(r, true) if r.name == "p2"));
        let routed = pos(&|o| matches!(o, Op::ReplaceRoute(_, t) if t.dev == "p2"));
        assert!(shaped < up && up < routed, "{ops:?}");
        assert!(
            !ops.iter()
                .any(|o| matches!(o, Op::CreateIfb(_) | Op::SetShaperRate(..))),
            "the instance's shapers are shared, not added: {ops:?}"
        );

        let mut uncapped = two.clone();
        uncapped.shapers.clear();
        uncapped.redirects.clear();
        let ops = plan(&two, &uncapped);
        let last_unhooked = ops
            .iter()
            .rposition(|o| matches!(o, Op::DelRedirect(_)))
            .unwrap();
        let first_gone = ops
            .iter()
            .position(|o| matches!(o, Op::DeleteIfb(_)))
            .unwrap();
        assert!(last_unhooked < first_gone, "{ops:?}");
        assert_eq!(ops.len(), 6, "four redirects, two shapers: {ops:?}");
    }
    #[test]
    fn a_ruleset_is_loaded_before_ports_come_up_and_deleted_with_the_rest() {
        let ns = "eni-v".to_string();
        let mut want = KernelState::default();
        want.namespaces.insert(ns.clone());
        want.veths.insert(
            LinkRef::new(&ns, "p1"),
            Veth {
                a: LinkEnd {
                    at: LinkRef::new(&ns, "p1"),
                    mac: "ee:ff:ff:ff:ff:ff".into(),
                    mtu: 1500,
                    up: true,
                },
                b: LinkEnd {
                    at: LinkRef::new("i-1", "eth0"),
                    mac: "00:16:3e:00:00:01".into(),
                    mtu: 1500,
                    up: true,
                },
            },
        );
        want.namespaces.insert("i-1".into());
        want.rulesets
            .insert(ns.clone(), Ruleset::new("\tchain c {\n\t}".into()));
        let ops = plan(&KernelState::default(), &want);
        let load = ops
            .iter()
            .position(|o| matches!(o, Op::LoadRuleset(n, _) if *n == ns))
            .unwrap();
        let up = ops
            .iter()
            .position(|o| matches!(o, Op::SetLinkUp(_, true)))
            .unwrap();
        assert!(load < up, "{ops:#?}");
        // Observed, a ruleset is its digest: the same one plans nothing.
        let mut seen = want.clone();
        let digest = want.rulesets[&ns].digest.clone();
        seen.rulesets.insert(ns.clone(), Ruleset::observed(digest));
        assert!(plan(&seen, &want).is_empty());
        let mut none = want.clone();
        none.rulesets.clear();
        assert_eq!(plan(&seen, &none), vec![Op::DeleteRuleset(ns.clone())]);
        // A namespace that goes takes its ruleset along.
        let ops = plan(&seen, &KernelState::default());
        assert!(
            !ops.iter().any(|o| matches!(o, Op::DeleteRuleset(_))),
            "{ops:#?}"
        );
    }
    #[test]
    fn addresses_the_guest_put_in_its_prefixes_stay() {
        let nic = LinkRef::new("i-1", "eth0");
        let mut want = KernelState::default();
        want.namespaces.insert("i-1".into());
        want.guest_ranges.insert(Addr {
            dev: nic.clone(),
            cidr: "10.0.1.16/28".into(),
        });
        let mut seen = want.clone();
        seen.guest_ranges.clear();
        let addr = |cidr: &str| Addr {
            dev: nic.clone(),
            cidr: cidr.into(),
        };
        seen.addrs.insert(addr("10.0.1.19/32"));
        seen.addrs.insert(addr("10.0.1.99/24"));
        // The stray address outside the prefix goes; the guest's stays.
        assert_eq!(plan(&seen, &want), vec![Op::DelAddr(addr("10.0.1.99/24"))]);
    }
}
