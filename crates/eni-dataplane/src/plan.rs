//! From observed to desired: the ordered operations between two [`KernelState`]s.
//!
//! The order is make-before-break. Everything new is built first (namespaces, sysctls, veth
//! pairs, addresses, links up), then routes and neighbours are replaced — for a moving ENI the
//! `/32` route flips from the old port to the new one in one atomic replace — and only then is
//! what is no longer wanted removed. Planning runs the ops against a copy of the observed
//! state ([`apply_op`], the same semantics the fake kernel uses), so objects the kernel
//! removes implicitly (addresses of a deleted link, links of a deleted namespace) are planned
//! for correctly.

use crate::model::*;

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
            if s.link(&v.a.at).is_none() && s.link(&v.b.at).is_none() {
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
                    s.addrs.retain(|a| &a.dev != end);
                    s.routes
                        .retain(|rk, t| !(rk.ns == end.ns && t.dev == end.name));
                    s.neighs.retain(|nk, _| &nk.dev != end);
                    // Per-device sysctls vanish with their device.
                    let conf = format!("ipv4/conf/{}/", end.name);
                    let neigh = format!("ipv4/neigh/{}/", end.name);
                    s.sysctls.retain(|sk, _| {
                        !(sk.ns == end.ns
                            && (sk.key.starts_with(&conf) || sk.key.starts_with(&neigh)))
                    });
                }
            }
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
            if cur.link(end).is_some() {
                push(&mut cur, &mut ops, Op::DeleteVeth(end.clone()));
            }
        }
        push(&mut cur, &mut ops, Op::CreateVeth(want.clone()));
    }
    // Sysctls after links exist: per-device keys need their device.
    for (k, v) in &desired.sysctls {
        if cur.sysctls.get(k) != Some(v) {
            push(&mut cur, &mut ops, Op::SetSysctl(k.clone(), v.clone()));
        }
    }

    // 3. Addresses, then links up (down first for links that must go down).
    for a in desired.addrs.difference(&cur.addrs.clone()) {
        push(&mut cur, &mut ops, Op::AddAddr(a.clone()));
    }
    for want in desired.veths.values() {
        for end in [&want.a, &want.b] {
            if cur.link(&end.at).is_some_and(|l| l.up != end.up) {
                push(&mut cur, &mut ops, Op::SetLinkUp(end.at.clone(), end.up));
            }
        }
    }

    // 4. Neighbours, routes (the switch point), rules.
    for (k, mac) in &desired.neighs {
        if cur.neighs.get(k) != Some(mac) {
            push(&mut cur, &mut ops, Op::ReplaceNeigh(k.clone(), mac.clone()));
        }
    }
    for (k, t) in &desired.routes {
        if cur.routes.get(k) != Some(t) {
            push(&mut cur, &mut ops, Op::ReplaceRoute(k.clone(), t.clone()));
        }
    }
    for r in desired.rules.difference(&cur.rules.clone()) {
        push(&mut cur, &mut ops, Op::AddRule(r.clone()));
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
    for a in cur.addrs.clone().difference(&desired.addrs) {
        push(&mut cur, &mut ops, Op::DelAddr(a.clone()));
    }
    for k in cur.veths.clone().keys() {
        if !desired.veths.contains_key(k) {
            push(&mut cur, &mut ops, Op::DeleteVeth(k.clone()));
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
    );

    const NAMES: [&str; 5] = ["p1", "p2", "p3", "eth0", "eth1"];
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
        )
    }

    fn build(spec: &Spec, nss: &[&str]) -> KernelState {
        let (present, veths, addrs, routes, rules, neighs, sysctls) = spec;
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
        m
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// From any starting state, one reconcile reaches the desired state, a second plans
        /// nothing, and namespaces that are not eni's are untouched.
        #[test]
        fn one_pass_converges_and_a_second_changes_nothing(start in spec(), want in spec(), foreign in spec()) {
            let ours = ["eni-a", "eni-b", "i-1", "i-2"];
            let initial = build(&start, &ours);
            let others = build(&foreign, &["x-1", "x-2"]);
            let desired = build(&want, &ours);
            let fake = FakeDataplane::with_world(merge(&initial, &others), initial.namespaces.clone());
            let ops = plan(&fake.observe().unwrap(), &desired);
            fake.apply(&ops).unwrap();
            // Sysctls cannot be removed, only set: those eni does not want are left as they are.
            let mut seen = fake.observe().unwrap();
            seen.sysctls.retain(|k, _| desired.sysctls.contains_key(k));
            prop_assert_eq!(&seen, &desired);
            prop_assert!(plan(&fake.observe().unwrap(), &desired).is_empty());
            let after = fake.world();
            let foreign_ns: BTreeSet<String> = others.namespaces.clone();
            prop_assert_eq!(crate::fake::restrict(&after, &foreign_ns), others);
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
}
