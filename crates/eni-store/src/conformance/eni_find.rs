//! `eni_find` and its batch loaders: every filter of DescribeNetworkInterfaces, alone and
//! combined, against a naive model of the same rows; keyset and offset paging; a cursor that
//! stays right while rows come and go; scoping by account and region.

use super::*;
use crate::{EniFilter, Position, Window};
use std::collections::{BTreeMap, BTreeSet};

/// Every check of this file, in the order they run.
pub const CHECKS: &[Check] = &[
    (
        "eni_find_matches_a_naive_model",
        check_eni_find_matches_a_naive_model,
    ),
    (
        "eni_find_pages_by_cursor_and_offset_cover_each_eni_once",
        check_eni_find_pages_cover_each_eni_once,
    ),
    (
        "eni_find_cursor_returns_each_stable_eni_once_under_writes",
        check_eni_find_cursor_is_stable_under_writes,
    ),
    (
        "eni_find_follows_tag_and_membership_changes",
        check_eni_find_follows_changes,
    ),
    (
        "eni_find_batch_loaders_keep_each_owner_in_order",
        check_batch_loaders,
    ),
    (
        "eni_find_count_follows_inserts_moves_and_deletes",
        check_eni_find_count_follows_writes,
    ),
];

/// A small deterministic generator: the suite must pick the same rows on every backend.
pub(super) struct Lcg(pub(super) u64);

impl Lcg {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The rows the checks search: one account's ENIs in one region (of every type, status and
/// shape), and ENIs of another account and another region that no filter may return.
struct World {
    account: AccountId,
    vpcs: Vec<VpcId>,
    vswitches: Vec<VSwitchId>,
    groups: Vec<SecurityGroupId>,
    instances: Vec<InstanceId>,
    /// The searched ENIs, in creation order.
    enis: Vec<Eni>,
    ips: BTreeMap<EniId, Vec<PrivateIp>>,
    ipv6: BTreeMap<EniId, Vec<Ipv6Entry>>,
}

const NAMES: [&str; 3] = ["", "web", "db"];
const STATUSES: [&str; 5] = ["Available", "Attaching", "InUse", "Detaching", "Deleting"];
const TAG_KEYS: [&str; 3] = ["env", "team", "标签"];
const TAG_VALUES: [&str; 3] = ["prod", "dev", ""];

fn build_world(store: &dyn Store, n: usize) -> World {
    let mut rng = Lcg(7);
    let a = account("searcher");
    let b = account("bystander");
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.account_insert(&b)
    });
    let mut vpcs = Vec::new();
    let mut vsws = Vec::new();
    let mut groups = Vec::new();
    for v in 0..2u32 {
        let vp = vpc(a.id, REGION);
        let mut sws = Vec::new();
        for s in 0..2u32 {
            sws.push(VSwitch {
                cidr_block: format!("172.16.{}.0/24", v * 2 + s),
                ..vswitch(&vp)
            });
        }
        let gs = [security_group(&vp), security_group(&vp)];
        ok(store, |tx| {
            tx.vpc_insert(&vp)?;
            for s in &sws {
                tx.vswitch_insert(s)?;
            }
            for g in &gs {
                tx.security_group_insert(g)?;
            }
            Ok(())
        });
        for s in sws {
            vsws.push((vp.id.clone(), s));
        }
        groups.extend(gs.iter().map(|g| (vp.id.clone(), g.id.clone())));
        vpcs.push(vp.id.clone());
    }
    let instances: Vec<Instance> = (0..3).map(|i| vpc_instance(&vsws[i].1)).collect();
    ok(store, |tx| {
        for i in &instances {
            tx.instance_insert(i)?;
        }
        Ok(())
    });
    let rgs = [
        ResourceGroupId::generate(REGION),
        ResourceGroupId::generate(REGION),
    ];

    let mut enis = Vec::new();
    let mut ips = BTreeMap::new();
    let mut ipv6 = BTreeMap::new();
    let mut next_index: BTreeMap<InstanceId, u32> = BTreeMap::new();
    for k in 0..n {
        let (vpc_id, sw) = rng.pick(&vsws).clone();
        let status = *rng.pick(&STATUSES);
        let mut e = eni(&sw);
        e.primary_ip = 0xAC10_0000 | ((k as u32 + 10) & 0xffff);
        e.name = rng.pick(&NAMES).to_string();
        e.resource_group_id = rng.pick(&rgs).clone();
        e.status = status.into();
        if rng.below(4) == 0 {
            e.eni_type = "Primary".into();
        }
        // Attached in three of the five statuses, to an instance of the same vSwitch or not:
        // the store does not check, the filter only compares.
        if matches!(status, "Attaching" | "InUse" | "Detaching") {
            let inst = rng.pick(&instances).id.clone();
            let idx = next_index.entry(inst.clone()).or_insert(0);
            e.device_index = Some(*idx);
            *idx += 1;
            e.instance_id = Some(inst);
        }
        let own_groups: Vec<_> = groups.iter().filter(|(v, _)| *v == vpc_id).collect();
        let mut gs: Vec<SecurityGroupId> = own_groups
            .iter()
            .filter(|_| rng.below(2) == 0)
            .map(|(_, g)| g.clone())
            .collect();
        if rng.below(3) == 0 {
            gs.reverse();
        }
        e.security_group_ids = gs;
        let mut tags = Vec::new();
        for key in TAG_KEYS {
            if rng.below(2) == 0 {
                tags.push((key.to_string(), rng.pick(&TAG_VALUES).to_string()));
            }
        }
        e.tags = tags;
        let mut held = vec![PrivateIp {
            kind: IpKind::Primary,
            ..pip(&sw.id, e.primary_ip, e.id.as_str())
        }];
        for s in 0..rng.below(3) {
            held.push(pip(
                &sw.id,
                0x0A00_0000 | ((k as u32) << 8) | s as u32,
                e.id.as_str(),
            ));
        }
        if rng.below(5) == 0 {
            let base = 0x0B00_0000 | ((k as u32) << 8);
            for o in 0..16 {
                held.push(PrivateIp {
                    kind: IpKind::Prefix,
                    prefix: Some(base),
                    ..pip(&sw.id, base + o, e.id.as_str())
                });
            }
        }
        let mut v6s = Vec::new();
        if rng.below(3) == 0 {
            v6s.push(v6(&sw.id, &format!("2408:4000::{k:x}:1"), e.id.as_str()));
        }
        if rng.below(6) == 0 {
            v6s.push(v6(
                &sw.id,
                &format!("2408:4000:0:{k:x}::/80"),
                e.id.as_str(),
            ));
        }
        ok(store, |tx| {
            tx.eni_insert(&e)?;
            for ip in &held {
                tx.private_ip_insert(ip)?;
            }
            for x in &v6s {
                tx.ipv6_insert(x)?;
            }
            Ok(())
        });
        ips.insert(e.id.clone(), held);
        ipv6.insert(e.id.clone(), v6s);
        enis.push(e);
    }

    // ENIs no search of the account in REGION may return: another account's in the same
    // VPC-less world (same tags and names), and the account's own in another region.
    let (_, other_sw) = network(store, b.id, REGION);
    let (_, far_sw) = network(store, a.id, OTHER_REGION);
    for sw in [other_sw, far_sw] {
        let mut e = eni(&sw);
        e.name = "web".into();
        e.tags = vec![("env".into(), "prod".into())];
        ok(store, |tx| tx.eni_insert(&e));
    }

    World {
        account: a.id,
        vpcs,
        vswitches: vsws.into_iter().map(|(_, s)| s.id).collect(),
        groups: groups.into_iter().map(|(_, g)| g).collect(),
        instances: instances.into_iter().map(|i| i.id).collect(),
        enis,
        ips,
        ipv6,
    }
}

/// What `eni_find` must return for `f`: the model's ENIs in creation order.
fn naive(w: &World, f: &EniFilter) -> Vec<EniId> {
    w.enis
        .iter()
        .filter(|e| {
            let ips = &w.ips[&e.id];
            let v6 = &w.ipv6[&e.id];
            f.ids.as_ref().is_none_or(|ids| ids.contains(&e.id))
                && f.instance_id
                    .as_ref()
                    .is_none_or(|i| e.instance_id.as_ref() == Some(i))
                && f.vpc_id.as_ref().is_none_or(|v| &e.vpc_id == v)
                && f.vswitch_id.as_ref().is_none_or(|v| &e.vswitch_id == v)
                && f.eni_types.as_ref().is_none_or(|t| t.contains(&e.eni_type))
                && f.status.as_ref().is_none_or(|s| &e.status == s)
                && f.name.as_ref().is_none_or(|n| &e.name == n)
                && f.resource_group_id
                    .as_ref()
                    .is_none_or(|r| e.resource_group_id.as_str() == r)
                && f.security_group_id
                    .as_ref()
                    .is_none_or(|g| e.security_group_ids.contains(g))
                && f.primary_ip.is_none_or(|p| e.primary_ip == p)
                && f.private_ips.as_ref().is_none_or(|want| {
                    ips.iter()
                        .any(|ip| ip.kind != IpKind::Prefix && want.contains(&ip.ip))
                })
                && f.ipv6
                    .as_ref()
                    .is_none_or(|want| v6.iter().any(|x| !x.is_prefix && want.contains(&x.addr)))
                && f.tags.iter().all(|(k, v)| {
                    e.tags
                        .iter()
                        .any(|(hk, hv)| hk == k && v.as_ref().is_none_or(|v| v == hv))
                })
        })
        .map(|e| e.id.clone())
        .collect()
}

fn find_all(store: &dyn Store, w: &World, f: &EniFilter) -> Vec<(Position, Eni)> {
    read(store, |tx| {
        tx.eni_find(w.account, REGION, f, Window::after(None, u64::MAX / 2))
    })
}

/// A random filter of one to three parts, drawn from the values the world holds (and a
/// few it does not).
fn random_filter(rng: &mut Lcg, w: &World) -> EniFilter {
    let mut f = EniFilter::default();
    let parts = 1 + rng.below(3);
    for _ in 0..parts {
        let e = rng.pick(&w.enis).clone();
        match rng.below(13) {
            0 => {
                let mut ids = vec![e.id.clone(), rng.pick(&w.enis).id.clone()];
                if rng.below(4) == 0 {
                    ids.push(EniId::generate(REGION));
                }
                f.ids = Some(ids);
            }
            1 => f.instance_id = Some(rng.pick(&w.instances).clone()),
            2 => f.vpc_id = Some(rng.pick(&w.vpcs).clone()),
            3 => f.vswitch_id = Some(rng.pick(&w.vswitches).clone()),
            4 => {
                f.eni_types = Some(match rng.below(3) {
                    0 => vec!["Primary".into()],
                    1 => vec!["Secondary".into()],
                    _ => vec!["Secondary".into(), "Trunk".into()],
                })
            }
            5 => f.status = Some(rng.pick(&STATUSES).to_string()),
            6 => f.name = Some(rng.pick(&NAMES).to_string()),
            7 => f.resource_group_id = Some(e.resource_group_id.to_string()),
            8 => f.security_group_id = Some(rng.pick(&w.groups).clone()),
            9 => f.primary_ip = Some(e.primary_ip),
            10 => {
                let held = &w.ips[&e.id];
                f.private_ips = Some(vec![rng.pick(held).ip, 0x0C00_0001]);
            }
            11 => {
                let other = rng.pick(&w.enis).id.clone();
                let addrs: Vec<String> = w.ipv6[&e.id]
                    .iter()
                    .chain(&w.ipv6[&other])
                    .map(|x| x.addr.clone())
                    .collect();
                f.ipv6 = Some(addrs);
            }
            _ => {
                let key = rng.pick(&TAG_KEYS).to_string();
                let value = match rng.below(3) {
                    0 => None,
                    _ => Some(rng.pick(&TAG_VALUES).to_string()),
                };
                f.tags.push((key, value));
            }
        }
    }
    f
}

fn check_eni_find_matches_a_naive_model(store: &dyn Store) {
    let w = build_world(store, 60);
    // Every value of every filter, alone.
    let mut filters = vec![EniFilter::default()];
    for e in &w.enis {
        filters.push(EniFilter {
            ids: Some(vec![e.id.clone()]),
            ..EniFilter::default()
        });
    }
    filters.push(EniFilter {
        ids: Some(Vec::new()),
        ..EniFilter::default()
    });
    filters.push(EniFilter {
        private_ips: Some(Vec::new()),
        ..EniFilter::default()
    });
    for i in &w.instances {
        filters.push(EniFilter {
            instance_id: Some(i.clone()),
            ..EniFilter::default()
        });
    }
    for v in &w.vpcs {
        filters.push(EniFilter {
            vpc_id: Some(v.clone()),
            ..EniFilter::default()
        });
    }
    for v in &w.vswitches {
        filters.push(EniFilter {
            vswitch_id: Some(v.clone()),
            ..EniFilter::default()
        });
    }
    for s in STATUSES {
        filters.push(EniFilter {
            status: Some(s.into()),
            ..EniFilter::default()
        });
    }
    for n in NAMES {
        filters.push(EniFilter {
            name: Some(n.into()),
            ..EniFilter::default()
        });
    }
    for g in &w.groups {
        filters.push(EniFilter {
            security_group_id: Some(g.clone()),
            ..EniFilter::default()
        });
        // A group in each vSwitch (a store may list a group's members per vSwitch), with and
        // without a condition on the ENI row.
        for v in &w.vswitches {
            for status in [None, Some(STATUSES[0].to_string())] {
                filters.push(EniFilter {
                    security_group_id: Some(g.clone()),
                    vswitch_id: Some(v.clone()),
                    status,
                    ..EniFilter::default()
                });
            }
        }
    }
    for k in TAG_KEYS {
        filters.push(EniFilter {
            tags: vec![(k.into(), None)],
            ..EniFilter::default()
        });
        for v in TAG_VALUES {
            filters.push(EniFilter {
                tags: vec![(k.into(), Some(v.into()))],
                ..EniFilter::default()
            });
        }
    }
    // Then combinations.
    let mut rng = Lcg(11);
    for _ in 0..400 {
        filters.push(random_filter(&mut rng, &w));
    }
    let mut nonempty = 0;
    for f in &filters {
        let want = naive(&w, f);
        let got = find_all(store, &w, f);
        let ids: Vec<EniId> = got.iter().map(|(_, e)| e.id.clone()).collect();
        assert_eq!(ids, want, "eni_find({f:?})");
        // Rows come whole (groups in their order, tags as written) and in position order.
        for (_, e) in &got {
            let stored = w.enis.iter().find(|x| x.id == e.id).unwrap();
            assert_eq!(e, stored);
        }
        assert!(
            got.windows(2).all(|p| p[0].0 < p[1].0),
            "{f:?}: positions ascend"
        );
        let count = read(store, |tx| tx.eni_find_count(w.account, REGION, f));
        assert_eq!(count, want.len() as u64, "eni_find_count({f:?})");
        nonempty += usize::from(!want.is_empty());
    }
    // The model must have had something to find most of the time.
    assert!(
        nonempty * 2 > filters.len(),
        "{nonempty} of {} filters matched",
        filters.len()
    );
}

fn check_eni_find_pages_cover_each_eni_once(store: &dyn Store) {
    let w = build_world(store, 40);
    let mut rng = Lcg(3);
    let mut filters = vec![EniFilter::default()];
    filters.extend((0..30).map(|_| random_filter(&mut rng, &w)));
    for f in &filters {
        let want = naive(&w, f);
        for limit in [1u64, 3, 7] {
            // By cursor.
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let page = read(store, |tx| {
                    tx.eni_find(w.account, REGION, f, Window::after(after, limit))
                });
                assert!(page.len() as u64 <= limit);
                got.extend(page.iter().map(|(_, e)| e.id.clone()));
                if (page.len() as u64) < limit {
                    break;
                }
                after = page.last().map(|(p, _)| *p);
            }
            assert_eq!(got, want, "cursor pages of {limit} for {f:?}");
            // By offset.
            let mut got = Vec::new();
            for offset in (0..).step_by(limit as usize) {
                let page = read(store, |tx| {
                    tx.eni_find(
                        w.account,
                        REGION,
                        f,
                        Window {
                            after: None,
                            offset,
                            limit,
                        },
                    )
                });
                if page.is_empty() {
                    break;
                }
                got.extend(page.into_iter().map(|(_, e)| e.id));
            }
            assert_eq!(got, want, "offset pages of {limit} for {f:?}");
        }
    }
}

fn check_eni_find_cursor_is_stable_under_writes(store: &dyn Store) {
    let (v, s) = network(store, AccountId::generate(), REGION);
    let account = v.account_id;
    let tagged = |i: u32| Eni {
        tags: vec![("walk".into(), "yes".into())],
        primary_ip: 0xAC10_0100 + i,
        ..eni(&s)
    };
    let mut existing: Vec<Eni> = (0..30).map(tagged).collect();
    ok(store, |tx| {
        for e in &existing {
            tx.eni_insert(e)?;
        }
        Ok(())
    });
    let filters = [
        EniFilter::default(),
        EniFilter {
            tags: vec![("walk".into(), Some("yes".into()))],
            ..EniFilter::default()
        },
        EniFilter {
            vswitch_id: Some(s.id.clone()),
            ..EniFilter::default()
        },
    ];
    for (round, f) in filters.iter().enumerate() {
        let stable: BTreeSet<EniId> = existing.iter().map(|e| e.id.clone()).collect();
        let mut deleted = BTreeSet::new();
        let mut seen: Vec<EniId> = Vec::new();
        let mut after = None;
        let mut step = 0u32;
        loop {
            let page = read(store, |tx| {
                tx.eni_find(account, REGION, f, Window::after(after, 4))
            });
            seen.extend(page.iter().map(|(_, e)| e.id.clone()));
            if page.len() < 4 {
                break;
            }
            after = page.last().map(|(p, _)| *p);
            // Between pages: new ENIs arrive (at the end), and some are deleted, seen or not.
            step += 1;
            let fresh: Vec<Eni> = (0..2).map(|i| tagged(1000 + 10 * step + i)).collect();
            let victims: Vec<EniId> = existing
                .iter()
                .filter(|e| !deleted.contains(&e.id))
                .skip(step as usize * 3 % 7)
                .step_by(9)
                .take(1)
                .map(|e| e.id.clone())
                .collect();
            ok(store, |tx| {
                for e in &fresh {
                    tx.eni_insert(e)?;
                }
                for id in &victims {
                    tx.eni_delete(account, id)?;
                }
                Ok(())
            });
            deleted.extend(victims);
            existing.extend(fresh);
        }
        let mut counts: BTreeMap<&EniId, usize> = BTreeMap::new();
        for id in &seen {
            *counts.entry(id).or_default() += 1;
        }
        assert!(
            counts.values().all(|&c| c == 1),
            "round {round}: an ENI came twice"
        );
        for id in stable.difference(&deleted) {
            assert_eq!(
                counts.get(id),
                Some(&1),
                "round {round}: stable {id} missed"
            );
        }
        // Start the next walk from what is there now.
        existing.retain(|e| !deleted.contains(&e.id));
    }
}

fn check_eni_find_follows_changes(store: &dyn Store) {
    let (v, s) = network(store, AccountId::generate(), REGION);
    let g = security_group(&v);
    ok(store, |tx| tx.security_group_insert(&g));
    let mut e = Eni {
        tags: vec![("env".into(), "dev".into())],
        ..eni(&s)
    };
    ok(store, |tx| tx.eni_insert(&e));
    let by_tag = |k: &str, val: &str| EniFilter {
        tags: vec![(k.into(), Some(val.into()))],
        ..EniFilter::default()
    };
    let by_group = EniFilter {
        security_group_id: Some(g.id.clone()),
        ..EniFilter::default()
    };
    let found = |f: &EniFilter| {
        read(store, |tx| {
            tx.eni_find(v.account_id, REGION, f, Window::after(None, 10))
        })
        .len()
    };
    assert_eq!(found(&by_tag("env", "dev")), 1);
    e.tags = vec![("env".into(), "prod".into()), ("tier".into(), "".into())];
    e.security_group_ids = vec![g.id.clone()];
    ok(store, |tx| tx.eni_update(&e));
    assert_eq!(found(&by_tag("env", "dev")), 0);
    assert_eq!(found(&by_tag("env", "prod")), 1);
    assert_eq!(found(&by_tag("tier", "")), 1);
    assert_eq!(found(&by_group), 1);
    ok(store, |tx| tx.eni_delete(v.account_id, &e.id).map(|_| ()));
    assert_eq!(found(&by_tag("env", "prod")), 0);
    assert_eq!(found(&by_group), 0);
    // A new ENI with the old one's tags is found, the old is not.
    let again = Eni {
        tags: vec![("env".into(), "prod".into())],
        ..eni(&s)
    };
    ok(store, |tx| tx.eni_insert(&again));
    let got = read(store, |tx| {
        tx.eni_find(
            v.account_id,
            REGION,
            &by_tag("env", "prod"),
            Window::after(None, 10),
        )
    });
    assert_eq!(eni_ids(got.iter().map(|(_, e)| e)), vec![again.id.clone()]);
}

fn check_batch_loaders(store: &dyn Store) {
    let (v, s) = network(store, AccountId::generate(), REGION);
    let a = eni(&s);
    let b = eni(&s);
    let c = eni(&s);
    let ips_a = [pip(&s.id, 30, a.id.as_str()), pip(&s.id, 10, a.id.as_str())];
    let ips_b = [pip(&s.id, 20, b.id.as_str())];
    let v6_a = v6(&s.id, "2408:4000::a", a.id.as_str());
    let v6_b = [
        v6(&s.id, "2408:4000::b", b.id.as_str()),
        v6(&s.id, "2408:4000:0:1::/80", b.id.as_str()),
    ];
    let e1 = bound(eip(v.account_id, REGION, 0xC612_0001), &a, 30, "InUse");
    let e2 = bound(
        eip(v.account_id, REGION, 0xC612_0002),
        &b,
        20,
        "Associating",
    );
    let e3 = eip(v.account_id, REGION, 0xC612_0003);
    ok(store, |tx| {
        for e in [&a, &b, &c] {
            tx.eni_insert(e)?;
        }
        for ip in ips_a.iter().chain(&ips_b) {
            tx.private_ip_insert(ip)?;
        }
        tx.ipv6_insert(&v6_a)?;
        for x in &v6_b {
            tx.ipv6_insert(x)?;
        }
        for e in [&e1, &e2, &e3] {
            tx.eip_insert(e)?;
        }
        Ok(())
    });
    read(store, |tx| {
        let owners = [b.id.as_str(), c.id.as_str(), a.id.as_str()];
        let got = tx.private_ips_of_many(&owners)?;
        let want: Vec<PrivateIp> = ips_b.iter().chain(&ips_a).cloned().collect();
        assert_eq!(
            got, want,
            "owners in the order given, each in insertion order"
        );
        let got = tx.ipv6_of_many(&owners)?;
        let want: Vec<Ipv6Entry> = v6_b.iter().chain([&v6_a]).cloned().collect();
        assert_eq!(got, want);
        assert_eq!(tx.private_ips_of_many(&[])?, vec![]);
        let got = tx.eips_of_enis(&[b.id.clone(), a.id.clone(), c.id.clone()])?;
        assert_eq!(
            got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
            vec![e1.id.clone(), e2.id.clone()],
            "oldest first"
        );
        assert_eq!(tx.eips_of_enis(std::slice::from_ref(&c.id))?, vec![]);
        Ok(())
    });
}

/// Counts a store may keep rather than walk (one broad filter, or none) stay equal to what
/// `eni_find` returns while ENIs are inserted, change status, vSwitch, VPC, resource group,
/// type and groups, are deleted, and while a write is rolled back.
fn check_eni_find_count_follows_writes(store: &dyn Store) {
    let account = AccountId::generate();
    let (v1, s1) = network(store, account, REGION);
    let s2 = vswitch(&v1);
    let (v2, s3) = network(store, account, REGION);
    ok(store, |tx| tx.vswitch_insert(&s2));
    let groups: Vec<SecurityGroup> = (0..3).map(|_| security_group(&v1)).collect();
    ok(store, |tx| {
        for g in &groups {
            tx.security_group_insert(g)?;
        }
        Ok(())
    });
    // A bystander in another region, counted apart.
    let (_, far) = network(store, account, "cn-shanghai");
    ok(store, |tx| tx.eni_insert(&eni(&far)));
    let vswitches = [&s1, &s2, &s3];
    let rgs = [
        ResourceGroupId::generate(REGION),
        ResourceGroupId::generate(REGION),
    ];
    let types = ["Primary", "Secondary", "Trunk"];
    let mut rng = Lcg(29);
    let mut live: Vec<Eni> = Vec::new();
    let filters = |live: &[Eni]| -> Vec<EniFilter> {
        let mut out = vec![EniFilter::default()];
        for v in [&v1.id, &v2.id] {
            out.push(EniFilter {
                vpc_id: Some(v.clone()),
                ..EniFilter::default()
            });
        }
        for s in vswitches {
            out.push(EniFilter {
                vswitch_id: Some(s.id.clone()),
                ..EniFilter::default()
            });
        }
        for st in STATUSES {
            out.push(EniFilter {
                status: Some(st.into()),
                ..EniFilter::default()
            });
        }
        for rg in &rgs {
            out.push(EniFilter {
                resource_group_id: Some(rg.to_string()),
                ..EniFilter::default()
            });
        }
        for t in [
            vec!["Primary"],
            vec!["Secondary"],
            vec!["Trunk", "Secondary"],
        ] {
            out.push(EniFilter {
                eni_types: Some(t.into_iter().map(String::from).collect()),
                ..EniFilter::default()
            });
        }
        for g in &groups {
            for t in [vec!["Secondary", "Trunk"], vec!["Trunk", "Secondary"]] {
                out.push(EniFilter {
                    security_group_id: Some(g.id.clone()),
                    eni_types: Some(t.into_iter().map(String::from).collect()),
                    ..EniFilter::default()
                });
            }
        }
        // A group in each vSwitch (a store may list a group's members per vSwitch: they must
        // follow a move and a change of groups).
        for g in &groups {
            for s in vswitches {
                out.push(EniFilter {
                    security_group_id: Some(g.id.clone()),
                    vswitch_id: Some(s.id.clone()),
                    eni_types: Some(vec!["Secondary".into(), "Trunk".into()]),
                    ..EniFilter::default()
                });
            }
        }
        // A tag with each vSwitch and type (a tag's rows carry both, and follow a move).
        for s in vswitches {
            for t in ["Primary", "Secondary"] {
                out.push(EniFilter {
                    vswitch_id: Some(s.id.clone()),
                    eni_types: Some(vec![t.into()]),
                    tags: vec![("team".into(), Some("a".into()))],
                    ..EniFilter::default()
                });
            }
        }
        // And two that a store must walk, as a control.
        if let Some(e) = live.first() {
            out.push(EniFilter {
                vpc_id: Some(e.vpc_id.clone()),
                status: Some(e.status.clone()),
                ..EniFilter::default()
            });
        }
        out
    };
    for step in 0..120 {
        match rng.below(6) {
            0 | 1 if live.len() < 30 || step < 20 => {
                let s = vswitches[rng.below(3)];
                let mut e = Eni {
                    eni_type: rng.pick(&types).to_string(),
                    status: rng.pick(&STATUSES).to_string(),
                    resource_group_id: rng.pick(&rgs).clone(),
                    tags: vec![("team".into(), rng.pick(&["a", "b"]).to_string())],
                    ..eni(s)
                };
                if s.vpc_id == v1.id {
                    e.security_group_ids = groups
                        .iter()
                        .filter(|_| rng.below(2) == 0)
                        .map(|g| g.id.clone())
                        .collect();
                }
                ok(store, |tx| tx.eni_insert(&e));
                live.push(e);
            }
            0..=2 if !live.is_empty() => {
                let i = rng.below(live.len());
                let e = &mut live[i];
                match rng.below(5) {
                    0 => e.status = rng.pick(&STATUSES).to_string(),
                    1 => e.resource_group_id = rng.pick(&rgs).clone(),
                    2 => e.eni_type = rng.pick(&types).to_string(),
                    3 if e.vpc_id == v1.id => {
                        let s = if e.vswitch_id == s1.id { &s2 } else { &s1 };
                        e.vswitch_id = s.id.clone();
                    }
                    _ if e.vpc_id == v1.id => {
                        e.security_group_ids = groups
                            .iter()
                            .filter(|_| rng.below(2) == 0)
                            .map(|g| g.id.clone())
                            .collect();
                    }
                    _ => e.status = rng.pick(&STATUSES).to_string(),
                }
                let e = e.clone();
                ok(store, |tx| tx.eni_update(&e));
            }
            3 if !live.is_empty() => {
                // A write that fails after changing an ENI leaves no count behind.
                let mut e = live[rng.below(live.len())].clone();
                e.status = "Deleting".into();
                let refused = write(store, |tx| {
                    tx.eni_update(&e)?;
                    Err::<(), _>(StoreError::Backend("abandoned".into()))
                });
                assert!(refused.is_err());
            }
            _ if !live.is_empty() => {
                let e = live.swap_remove(rng.below(live.len()));
                ok(store, |tx| tx.eni_delete(account, &e.id).map(|_| ()));
            }
            _ => {}
        }
        for f in filters(&live) {
            let found = read(store, |tx| {
                tx.eni_find(account, REGION, &f, Window::after(None, u64::MAX / 2))
            })
            .len() as u64;
            let count = read(store, |tx| tx.eni_find_count(account, REGION, &f));
            assert_eq!(count, found, "step {step}: eni_find_count({f:?})");
        }
        // A group's members in a vSwitch, against the model.
        for g in &groups {
            for s in vswitches {
                let f = EniFilter {
                    security_group_id: Some(g.id.clone()),
                    vswitch_id: Some(s.id.clone()),
                    ..EniFilter::default()
                };
                let want = live
                    .iter()
                    .filter(|e| e.security_group_ids.contains(&g.id) && e.vswitch_id == s.id)
                    .count();
                let found = read(store, |tx| {
                    tx.eni_find(account, REGION, &f, Window::after(None, u64::MAX / 2))
                });
                assert_eq!(found.len(), want, "step {step}: eni_find({f:?})");
                let count = read(store, |tx| tx.eni_find_count(account, REGION, &f));
                assert_eq!(count, want as u64, "step {step}: eni_find_count({f:?})");
            }
        }
        // A group's member count takes every type.
        for g in &groups {
            let want = live
                .iter()
                .filter(|e| e.security_group_ids.contains(&g.id))
                .count() as u64;
            let got = read(store, |tx| tx.security_group_member_count(&g.id));
            assert_eq!(got, want, "step {step}: members of {}", g.id);
        }
    }
    assert!(live.len() > 5, "the check should end with ENIs to count");
    // A grouped ENI that becomes primary leaves its groups' counts, and comes back.
    let mut e = Eni {
        security_group_ids: vec![groups[0].id.clone()],
        ..eni(&s1)
    };
    ok(store, |tx| tx.eni_insert(&e));
    let by_group = EniFilter {
        security_group_id: Some(groups[0].id.clone()),
        eni_types: Some(vec!["Secondary".into(), "Trunk".into()]),
        ..EniFilter::default()
    };
    for ty in ["Primary", "Trunk", "Primary", "Secondary"] {
        e.eni_type = ty.into();
        ok(store, |tx| tx.eni_update(&e));
        let found = read(store, |tx| {
            tx.eni_find(
                account,
                REGION,
                &by_group,
                Window::after(None, u64::MAX / 2),
            )
        })
        .len() as u64;
        let count = read(store, |tx| tx.eni_find_count(account, REGION, &by_group));
        assert_eq!(count, found, "as {ty}: eni_find_count({by_group:?})");
    }
}
