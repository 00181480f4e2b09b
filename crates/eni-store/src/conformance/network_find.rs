//! `vpc_find`, `vswitch_find` and `security_group_find`: each filter of DescribeVpcs,
//! DescribeVSwitches and DescribeSecurityGroups against a naive model, with paging.

use super::eni_find::Lcg;
use super::*;
use crate::{Position, SecurityGroupFilter, VSwitchFilter, VpcFilter, Window};

/// Every check of this file, in the order they run.
pub const CHECKS: &[Check] = &[(
    "vpc_vswitch_and_group_finds_match_a_naive_model",
    check_network_finds_match_a_naive_model,
)];

/// Every `limit`-page by cursor of a listing, concatenated.
fn walk<T>(limit: u64, mut page: impl FnMut(Window) -> Vec<(Position, T)>) -> Vec<T> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let rows = page(Window::after(after, limit));
        let full = rows.len() as u64 == limit;
        after = rows.last().map(|(p, _)| *p);
        out.extend(rows.into_iter().map(|(_, t)| t));
        if !full {
            return out;
        }
    }
}

fn tags_hold(have: &[(String, String)], want: &[(String, Option<String>)]) -> bool {
    want.iter().all(|(k, v)| {
        have.iter()
            .any(|(hk, hv)| hk == k && v.as_ref().is_none_or(|v| v == hv))
    })
}

fn check_network_finds_match_a_naive_model(store: &dyn Store) {
    let mut rng = Lcg(21);
    let a = AccountId::generate();
    let names = ["", "x", "y"];
    let rgs = [
        ResourceGroupId::generate(REGION),
        ResourceGroupId::generate(REGION),
    ];
    let mut vpcs = Vec::new();
    let mut sws = Vec::new();
    let mut groups = Vec::new();
    for k in 0..6u32 {
        let mut v = vpc(a, REGION);
        v.name = rng.pick(&names).to_string();
        v.is_default = k == 0;
        v.resource_group_id = rng.pick(&rgs).clone();
        if rng.below(2) == 0 {
            v.tags = vec![("env".into(), ["a", "b"][rng.below(2)].into())];
        }
        let mut these = Vec::new();
        for i in 0..3u32 {
            let mut s = vswitch(&v);
            s.cidr_block = format!("172.16.{i}.0/24");
            s.zone_id = format!("{REGION}-{}", ["h", "i"][rng.below(2)]);
            s.name = rng.pick(&names).to_string();
            s.resource_group_id = rng.pick(&rgs).clone();
            if rng.below(2) == 0 {
                s.tags = vec![("tier".into(), ["web", "db"][rng.below(2)].into())];
            }
            these.push(s);
        }
        let mut g = security_group(&v);
        g.name = rng.pick(&names).to_string();
        g.group_type = ["normal", "enterprise"][rng.below(2)].into();
        if rng.below(2) == 0 {
            g.tags = vec![("env".into(), "a".into())];
        }
        ok(store, |tx| {
            tx.vpc_insert(&v)?;
            for s in &these {
                tx.vswitch_insert(s)?;
            }
            tx.security_group_insert(&g)
        });
        vpcs.push(v);
        sws.extend(these);
        groups.push(g);
    }
    // Another account and another region: never listed.
    let (ov, _) = network(store, AccountId::generate(), REGION);
    let (fv, _) = network(store, a, OTHER_REGION);
    ok(store, |tx| {
        tx.security_group_insert(&security_group(&ov))?;
        tx.security_group_insert(&security_group(&fv))
    });

    for _ in 0..60 {
        let v = rng.pick(&vpcs).clone();
        let tag = [None, Some("a".to_string())][rng.below(2)].clone();
        // VPCs.
        let f = VpcFilter {
            ids: (rng.below(3) == 0).then(|| vec![v.id.clone(), ov.id.clone()]),
            name: (rng.below(3) == 0).then(|| rng.pick(&names).to_string()),
            is_default: (rng.below(4) == 0).then(|| rng.below(2) == 0),
            resource_group_id: (rng.below(3) == 0).then(|| rng.pick(&rgs).to_string()),
            tags: if rng.below(3) == 0 {
                vec![("env".into(), tag.clone())]
            } else {
                vec![]
            },
        };
        let want: Vec<VpcId> = vpcs
            .iter()
            .filter(|x| {
                f.ids.as_ref().is_none_or(|i| i.contains(&x.id))
                    && f.name.as_ref().is_none_or(|n| &x.name == n)
                    && f.is_default.is_none_or(|d| x.is_default == d)
                    && f.resource_group_id
                        .as_ref()
                        .is_none_or(|r| x.resource_group_id.as_str() == r)
                    && tags_hold(&x.tags, &f.tags)
            })
            .map(|x| x.id.clone())
            .collect();
        let got: Vec<VpcId> = walk(2, |w| read(store, |tx| tx.vpc_find(a, REGION, &f, w)))
            .into_iter()
            .map(|x| x.id)
            .collect();
        assert_eq!(got, want, "vpc_find({f:?})");
        assert_eq!(
            read(store, |tx| tx.vpc_find_count(a, REGION, &f)),
            want.len() as u64
        );

        // vSwitches.
        let f = VSwitchFilter {
            ids: (rng.below(4) == 0).then(|| vec![rng.pick(&sws).id.clone()]),
            vpc_id: (rng.below(2) == 0).then(|| v.id.clone()),
            zone_id: (rng.below(3) == 0).then(|| format!("{REGION}-h")),
            name: (rng.below(3) == 0).then(|| rng.pick(&names).to_string()),
            is_default: None,
            resource_group_id: (rng.below(4) == 0).then(|| rng.pick(&rgs).to_string()),
            route_table_id: (rng.below(4) == 0).then(|| v.route_table_id.to_string()),
            tags: if rng.below(3) == 0 {
                vec![("tier".into(), Some("web".into()))]
            } else {
                vec![]
            },
        };
        let want: Vec<VSwitchId> = sws
            .iter()
            .filter(|x| {
                let vpc = vpcs.iter().find(|p| p.id == x.vpc_id).unwrap();
                f.ids.as_ref().is_none_or(|i| i.contains(&x.id))
                    && f.vpc_id.as_ref().is_none_or(|i| &x.vpc_id == i)
                    && f.zone_id.as_ref().is_none_or(|z| &x.zone_id == z)
                    && f.name.as_ref().is_none_or(|n| &x.name == n)
                    && f.resource_group_id
                        .as_ref()
                        .is_none_or(|r| x.resource_group_id.as_str() == r)
                    && f.route_table_id
                        .as_ref()
                        .is_none_or(|r| vpc.route_table_id.as_str() == r)
                    && tags_hold(&x.tags, &f.tags)
            })
            .map(|x| x.id.clone())
            .collect();
        let got: Vec<VSwitchId> = walk(4, |w| read(store, |tx| tx.vswitch_find(a, REGION, &f, w)))
            .into_iter()
            .map(|x| x.id)
            .collect();
        assert_eq!(got, want, "vswitch_find({f:?})");
        assert_eq!(
            read(store, |tx| tx.vswitch_find_count(a, REGION, &f)),
            want.len() as u64
        );

        // Security groups.
        let f = SecurityGroupFilter {
            ids: (rng.below(3) == 0).then(|| vec![rng.pick(&groups).id.clone()]),
            vpc_id: (rng.below(3) == 0).then(|| v.id.clone()),
            name: (rng.below(3) == 0).then(|| rng.pick(&names).to_string()),
            group_type: (rng.below(3) == 0).then(|| "enterprise".to_string()),
            resource_group_id: None,
            tags: if rng.below(3) == 0 {
                vec![("env".into(), tag)]
            } else {
                vec![]
            },
        };
        let want: Vec<SecurityGroupId> = groups
            .iter()
            .filter(|x| {
                f.ids.as_ref().is_none_or(|i| i.contains(&x.id))
                    && f.vpc_id.as_ref().is_none_or(|i| &x.vpc_id == i)
                    && f.name.as_ref().is_none_or(|n| &x.name == n)
                    && f.group_type.as_ref().is_none_or(|t| &x.group_type == t)
                    && tags_hold(&x.tags, &f.tags)
            })
            .map(|x| x.id.clone())
            .collect();
        let got: Vec<SecurityGroupId> = walk(2, |w| {
            read(store, |tx| tx.security_group_find(a, REGION, &f, w))
        })
        .into_iter()
        .map(|x| x.id)
        .collect();
        assert_eq!(got, want, "security_group_find({f:?})");
        assert_eq!(
            read(store, |tx| tx.security_group_find_count(a, REGION, &f)),
            want.len() as u64
        );
    }
}
