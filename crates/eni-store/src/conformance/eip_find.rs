//! `eip_find`: DescribeEipAddresses' filters against a naive model, with paging.

use super::eni_find::Lcg;
use super::*;
use crate::{EipFilter, Window};

/// Every check of this file, in the order they run.
pub const CHECKS: &[Check] = &[(
    "eip_find_matches_a_naive_model_and_pages",
    check_eip_find_matches_a_naive_model,
)];

fn check_eip_find_matches_a_naive_model(store: &dyn Store) {
    let mut rng = Lcg(9);
    let (v, s) = network(store, AccountId::generate(), REGION);
    let owner = v.account_id;
    let enis: Vec<Eni> = (0..4).map(|_| eni(&s)).collect();
    ok(store, |tx| {
        for (k, e) in enis.iter().enumerate() {
            tx.eni_insert(e)?;
            tx.private_ip_insert(&pip(&s.id, 100 + k as u32, e.id.as_str()))?;
        }
        Ok(())
    });
    let statuses = ["Associating", "InUse", "Unassociating"];
    let names = ["", "a", "b"];
    let isps = ["BGP", "BGP_PRO"];
    let rgs = [
        ResourceGroupId::generate(REGION),
        ResourceGroupId::generate(REGION),
    ];
    let mut eips = Vec::new();
    for k in 0..40u32 {
        let mut e = eip(owner, REGION, 0xC612_0000 + k);
        e.name = rng.pick(&names).to_string();
        e.isp = rng.pick(&isps).to_string();
        e.instance_charge_type = ["PostPaid", "PrePaid"][rng.below(2)].into();
        e.resource_group_id = rng.pick(&rgs).clone();
        if rng.below(2) == 0 {
            e.tags = vec![("env".into(), ["prod", "dev"][rng.below(2)].into())];
        }
        // A quarter bound, each to its own ENI address (one EIP per private address).
        let i = k as usize;
        if i % 10 < enis.len() && rng.below(2) == 0 {
            let status: &str = statuses[rng.below(statuses.len())];
            e = bound(e, &enis[i % 10], 100 + (i % 10) as u32, status);
        }
        eips.push(e);
    }
    // Binding an address twice is refused by the schema: keep the first EIP of each address.
    let mut used = std::collections::BTreeSet::new();
    eips.retain(|e| {
        e.binding
            .as_ref()
            .is_none_or(|b| used.insert((b.vswitch_id.clone(), b.private_ip)))
    });
    ok(store, |tx| {
        for e in &eips {
            tx.eip_insert(e)?;
        }
        Ok(())
    });
    let stranger = eip(AccountId::generate(), REGION, 0xC613_0000);
    let far = eip(owner, OTHER_REGION, 0xC613_0001);
    ok(store, |tx| {
        tx.eip_insert(&stranger)?;
        tx.eip_insert(&far)
    });

    let naive = |f: &EipFilter| -> Vec<EipId> {
        eips.iter()
            .filter(|e| {
                let b = e.binding.as_ref();
                f.ids.as_ref().is_none_or(|ids| ids.contains(&e.id))
                    && f.ips.as_ref().is_none_or(|ips| ips.contains(&e.ip))
                    && f.instance_id
                        .as_ref()
                        .is_none_or(|i| b.is_some_and(|b| &b.instance_id == i))
                    && f.instance_type
                        .as_ref()
                        .is_none_or(|t| b.is_some_and(|b| &b.instance_type == t))
                    && f.status.as_ref().is_none_or(|s| &e.status == s)
                    && f.name.as_ref().is_none_or(|n| &e.name == n)
                    && f.isp.as_ref().is_none_or(|i| &e.isp == i)
                    && f.instance_charge_type
                        .as_ref()
                        .is_none_or(|c| &e.instance_charge_type == c)
                    && f.resource_group_id
                        .as_ref()
                        .is_none_or(|r| e.resource_group_id.as_str() == r)
                    && f.tags.iter().all(|(k, v)| {
                        e.tags
                            .iter()
                            .any(|(hk, hv)| hk == k && v.as_ref().is_none_or(|v| v == hv))
                    })
            })
            .map(|e| e.id.clone())
            .collect()
    };
    let mut filters = vec![EipFilter::default()];
    for _ in 0..150 {
        let e = rng.pick(&eips).clone();
        let mut f = EipFilter::default();
        for _ in 0..1 + rng.below(2) {
            match rng.below(10) {
                0 => f.ids = Some(vec![e.id.clone(), stranger.id.clone()]),
                1 => f.ips = Some(vec![e.ip, far.ip]),
                2 => f.instance_id = Some(rng.pick(&enis).id.to_string()),
                3 => f.instance_type = Some("NetworkInterface".into()),
                4 => f.status = Some(["Available", "InUse", "Associating"][rng.below(3)].into()),
                5 => f.name = Some(rng.pick(&names).to_string()),
                6 => f.isp = Some(rng.pick(&isps).to_string()),
                7 => f.instance_charge_type = Some("PrePaid".into()),
                8 => f.resource_group_id = Some(e.resource_group_id.to_string()),
                _ => {
                    f.tags = vec![(
                        "env".into(),
                        [None, Some("dev".into())][rng.below(2)].clone(),
                    )]
                }
            }
        }
        filters.push(f);
    }
    let mut nonempty = 0;
    for f in &filters {
        let want = naive(f);
        nonempty += usize::from(!want.is_empty());
        let got = read(store, |tx| {
            tx.eip_find(owner, REGION, f, Window::after(None, 1000))
        });
        let ids: Vec<EipId> = got.iter().map(|(_, e)| e.id.clone()).collect();
        assert_eq!(ids, want, "eip_find({f:?})");
        for (_, e) in &got {
            assert_eq!(Some(e), eips.iter().find(|x| x.id == e.id));
        }
        let count = read(store, |tx| tx.eip_find_count(owner, REGION, f));
        assert_eq!(count, want.len() as u64, "eip_find_count({f:?})");
        let mut paged = Vec::new();
        for offset in (0..).step_by(4) {
            let page = read(store, |tx| {
                tx.eip_find(
                    owner,
                    REGION,
                    f,
                    Window {
                        after: None,
                        offset,
                        limit: 4,
                    },
                )
            });
            if page.is_empty() {
                break;
            }
            paged.extend(page.into_iter().map(|(_, e)| e.id));
        }
        assert_eq!(paged, want, "offset pages of {f:?}");
    }
    assert!(nonempty * 2 > filters.len());
}
