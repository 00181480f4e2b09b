//! `instance_find` and `enis_of_instances`: DescribeInstances' filters against a naive model,
//! with paging in both windows.

use super::eni_find::Lcg;
use super::*;
use crate::{InstanceFilter, Window};

/// Every check of this file, in the order they run.
pub const CHECKS: &[Check] = &[
    (
        "instance_find_matches_a_naive_model_and_pages",
        check_instance_find_matches_a_naive_model,
    ),
    (
        "enis_of_instances_lists_attached_enis_oldest_first",
        check_enis_of_instances,
    ),
];

struct Model {
    inst: Instance,
    primary: Eni,
    ips: Vec<u32>,
}

fn check_instance_find_matches_a_naive_model(store: &dyn Store) {
    let mut rng = Lcg(5);
    let a = account("owner");
    ok(store, |tx| tx.account_insert(&a));
    let vp = vpc(a.id, REGION);
    let sws: Vec<VSwitch> = (0..3)
        .map(|i| VSwitch {
            cidr_block: format!("172.16.{i}.0/24"),
            zone_id: format!("{REGION}-{}", ["h", "i"][i % 2]),
            ..vswitch(&vp)
        })
        .collect();
    let groups = [security_group(&vp), security_group(&vp)];
    ok(store, |tx| {
        tx.vpc_insert(&vp)?;
        for s in &sws {
            tx.vswitch_insert(s)?;
        }
        for g in &groups {
            tx.security_group_insert(g)?;
        }
        Ok(())
    });
    let statuses = ["Pending", "Running", "Stopping", "Stopped"];
    let types = ["ecs.g7.large", "ecs.g6.large"];
    let names = ["", "web", "db"];
    let mut models = Vec::new();
    for k in 0..40u32 {
        let sw = rng.pick(&sws).clone();
        let mut inst = vpc_instance(&sw);
        inst.status = rng.pick(&statuses).to_string();
        inst.instance_type = rng.pick(&types).to_string();
        inst.name = rng.pick(&names).to_string();
        if rng.below(2) == 0 {
            inst.tags = vec![("env".into(), ["prod", "dev"][rng.below(2)].into())];
        }
        let mut primary = attached_eni(&sw, &inst.id, 0);
        primary.eni_type = "Primary".into();
        primary.primary_ip = 0xAC10_0000 + k;
        primary.security_group_ids = vec![rng.pick(&groups).id.clone()];
        let ips = vec![primary.primary_ip, 0x0A00_0000 + k];
        // A secondary ENI on the instance too: its groups and addresses do not count.
        let mut secondary = attached_eni(&sw, &inst.id, 1);
        secondary.primary_ip = 0x0B00_0000 + k;
        secondary.security_group_ids = groups.iter().map(|g| g.id.clone()).collect();
        ok(store, |tx| {
            tx.instance_insert(&inst)?;
            tx.eni_insert(&primary)?;
            tx.eni_insert(&secondary)?;
            tx.private_ip_insert(&PrivateIp {
                kind: IpKind::Primary,
                ..pip(&sw.id, ips[0], primary.id.as_str())
            })?;
            tx.private_ip_insert(&pip(&sw.id, ips[1], primary.id.as_str()))?;
            tx.private_ip_insert(&PrivateIp {
                kind: IpKind::Primary,
                ..pip(&sw.id, secondary.primary_ip, secondary.id.as_str())
            })
        });
        models.push(Model { inst, primary, ips });
    }
    // Another account's and another region's instances never come.
    let b = account("other");
    ok(store, |tx| tx.account_insert(&b));
    let (_, other_sw) = network(store, b.id, REGION);
    let (_, far_sw) = network(store, a.id, OTHER_REGION);
    ok(store, |tx| {
        tx.instance_insert(&vpc_instance(&other_sw))?;
        tx.instance_insert(&vpc_instance(&far_sw))
    });

    let naive = |f: &InstanceFilter| -> Vec<InstanceId> {
        models
            .iter()
            .filter(|m| {
                let i = &m.inst;
                f.ids.as_ref().is_none_or(|ids| ids.contains(&i.id))
                    && f.vpc_id
                        .as_ref()
                        .is_none_or(|v| i.vpc_id.as_ref() == Some(v))
                    && f.vswitch_id
                        .as_ref()
                        .is_none_or(|v| i.vswitch_id.as_ref() == Some(v))
                    && f.zone_id.as_ref().is_none_or(|z| &i.zone_id == z)
                    && f.instance_type
                        .as_ref()
                        .is_none_or(|t| &i.instance_type == t)
                    && f.status.as_ref().is_none_or(|s| &i.status == s)
                    && f.name.as_ref().is_none_or(|n| &i.name == n)
                    && f.security_group_id
                        .as_ref()
                        .is_none_or(|g| m.primary.security_group_ids.contains(g))
                    && f.private_ips
                        .as_ref()
                        .is_none_or(|want| m.ips.iter().any(|ip| want.contains(ip)))
                    && f.tags.iter().all(|(k, v)| {
                        i.tags
                            .iter()
                            .any(|(hk, hv)| hk == k && v.as_ref().is_none_or(|v| v == hv))
                    })
            })
            .map(|m| m.inst.id.clone())
            .collect()
    };
    let mut filters = vec![InstanceFilter::default()];
    for _ in 0..200 {
        let m = rng.pick(&models);
        let mut f = InstanceFilter::default();
        for _ in 0..1 + rng.below(2) {
            match rng.below(10) {
                0 => f.ids = Some(vec![m.inst.id.clone(), rng.pick(&models).inst.id.clone()]),
                1 => f.vpc_id = Some(vp.id.clone()),
                2 => f.vswitch_id = Some(rng.pick(&sws).id.clone()),
                3 => f.zone_id = Some(m.inst.zone_id.clone()),
                4 => f.instance_type = Some(rng.pick(&types).to_string()),
                5 => f.status = Some(rng.pick(&statuses).to_string()),
                6 => f.name = Some(rng.pick(&names).to_string()),
                7 => f.security_group_id = Some(rng.pick(&groups).id.clone()),
                8 => f.private_ips = Some(vec![m.ips[rng.below(2)], 0x0B00_0000]),
                _ => {
                    f.tags = vec![(
                        "env".into(),
                        [None, Some("prod".into())][rng.below(2)].clone(),
                    )]
                }
            }
        }
        filters.push(f);
    }
    for f in &filters {
        let want = naive(f);
        let got = read(store, |tx| {
            tx.instance_find(a.id, REGION, f, Window::after(None, 1000))
        });
        let ids: Vec<InstanceId> = got.iter().map(|(_, i)| i.id.clone()).collect();
        assert_eq!(ids, want, "instance_find({f:?})");
        for (_, i) in &got {
            assert_eq!(
                Some(i),
                models.iter().map(|m| &m.inst).find(|x| x.id == i.id)
            );
        }
        let count = read(store, |tx| tx.instance_find_count(a.id, REGION, f));
        assert_eq!(count, want.len() as u64, "instance_find_count({f:?})");
        // Paged by cursor, three at a time.
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = read(store, |tx| {
                tx.instance_find(a.id, REGION, f, Window::after(after, 3))
            });
            paged.extend(page.iter().map(|(_, i)| i.id.clone()));
            match page.last() {
                Some((p, _)) if page.len() == 3 => after = Some(*p),
                _ => break,
            }
        }
        assert_eq!(paged, want, "cursor pages of {f:?}");
    }
}

fn check_enis_of_instances(store: &dyn Store) {
    let (_, s) = network(store, AccountId::generate(), REGION);
    let (i1, i2, i3) = (vpc_instance(&s), vpc_instance(&s), vpc_instance(&s));
    let a = attached_eni(&s, &i1.id, 0);
    let b = attached_eni(&s, &i2.id, 0);
    let c = attached_eni(&s, &i1.id, 1);
    let loose = eni(&s);
    ok(store, |tx| {
        for i in [&i1, &i2, &i3] {
            tx.instance_insert(i)?;
        }
        for e in [&a, &b, &c, &loose] {
            tx.eni_insert(e)?;
        }
        Ok(())
    });
    read(store, |tx| {
        let got = tx.enis_of_instances(&[i2.id.clone(), i1.id.clone(), i3.id.clone()])?;
        assert_eq!(
            eni_ids(&got),
            vec![a.id.clone(), b.id.clone(), c.id.clone()]
        );
        assert_eq!(tx.enis_of_instances(&[])?, vec![]);
        Ok(())
    });
}
