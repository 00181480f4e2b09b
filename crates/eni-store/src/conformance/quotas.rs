//! The quota counts (`eni_count`, `vpc_count`, `eip_count`): exact in every transaction
//! through inserts, deletes, changes of type and region, refused writes and rollbacks, equal
//! to what the lists show, and right under concurrent writers, where a count-then-insert in
//! one write transaction never goes past its limit.

use super::*;
use std::collections::BTreeMap;

/// Every check of this file, in the order they run.
pub const CHECKS: &[Check] = &[
    (
        "quota_counts_follow_inserts_deletes_and_moves",
        check_counts_follow_inserts_deletes_and_moves,
    ),
    (
        "quota_counts_ignore_refused_and_rolled_back_writes",
        check_counts_ignore_refused_and_rolled_back_writes,
    ),
    (
        "quota_counts_stay_exact_under_concurrent_writers",
        check_counts_stay_exact_under_concurrent_writers,
    ),
    (
        "quota_count_then_insert_never_passes_the_limit",
        check_count_then_insert_never_passes_the_limit,
    ),
];

const TYPES: [&str; 3] = ["Primary", "Secondary", "Trunk"];

/// The ENI counts by (account, region, type) that `eni_list_all` shows.
fn listed(tx: &mut dyn Tx) -> Result<BTreeMap<(AccountId, String, String), u64>, StoreError> {
    let mut m = BTreeMap::new();
    for e in tx.eni_list_all()? {
        *m.entry((e.account_id, e.region_id, e.eni_type))
            .or_default() += 1;
    }
    Ok(m)
}

/// Every count `eni_count` gives for `accounts` × both regions × every type equals the list.
#[track_caller]
fn assert_eni_counts_match_list(tx: &mut dyn Tx, accounts: &[AccountId]) {
    let m = listed(tx).unwrap();
    for &a in accounts {
        for region in [REGION, OTHER_REGION] {
            for t in TYPES {
                let want = m
                    .get(&(a, region.to_string(), t.to_string()))
                    .copied()
                    .unwrap_or(0);
                assert_eq!(
                    tx.eni_count(a, region, t).unwrap(),
                    want,
                    "eni_count({a}, {region}, {t})"
                );
            }
        }
    }
}

fn typed(s: &VSwitch, t: &str) -> Eni {
    Eni {
        eni_type: t.into(),
        ..eni(s)
    }
}

fn check_counts_follow_inserts_deletes_and_moves(store: &dyn Store) {
    let a = AccountId::generate();
    let b = AccountId::generate();
    let (va, sa) = network(store, a, REGION);
    let (_, sa_far) = network(store, a, OTHER_REGION);
    let (_, sb) = network(store, b, REGION);
    let enis: Vec<Eni> = (0..12)
        .map(|i| {
            let s = [&sa, &sa_far, &sb][i % 3];
            typed(s, TYPES[(i / 3) % TYPES.len()])
        })
        .collect();
    ok(store, |tx| {
        for e in &enis {
            tx.eni_insert(e)?;
        }
        // Inside the transaction that wrote them, the counts already include them.
        assert_eni_counts_match_list(tx, &[a, b]);
        Ok(())
    });
    read(store, |tx| {
        assert_eni_counts_match_list(tx, &[a, b]);
        assert_eq!(tx.eni_count(a, REGION, "Primary")?, 2);
        Ok(())
    });

    // A change of type moves the ENI between counts; rewriting the same type changes nothing.
    let mut moved = enis[0].clone();
    assert_eq!(moved.eni_type, "Primary");
    moved.eni_type = "Trunk".into();
    ok(store, |tx| {
        tx.eni_update(&moved)?;
        tx.eni_update(&enis[3])?;
        assert_eni_counts_match_list(tx, &[a, b]);
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(tx.eni_count(a, REGION, "Primary")?, 1);
        assert_eq!(tx.eni_count(a, REGION, "Trunk")?, 2);
        Ok(())
    });
    // So does a change of region (with its vSwitch).
    let mut far = enis[3].clone();
    assert_eq!(
        (far.region_id.as_str(), far.eni_type.as_str()),
        (REGION, "Secondary")
    );
    far.region_id = OTHER_REGION.into();
    far.zone_id = sa_far.zone_id.clone();
    far.vpc_id = sa_far.vpc_id.clone();
    far.vswitch_id = sa_far.id.clone();
    ok(store, |tx| tx.eni_update(&far));
    read(store, |tx| {
        assert_eni_counts_match_list(tx, &[a, b]);
        assert_eq!(tx.eni_count(a, REGION, "Secondary")?, 0);
        assert_eq!(tx.eni_count(a, OTHER_REGION, "Secondary")?, 2);
        Ok(())
    });

    // Deletes, down to zero and not below.
    ok(store, |tx| {
        for e in &enis {
            assert!(tx.eni_delete(e.account_id, &e.id)?);
        }
        assert!(!tx.eni_delete(a, &enis[0].id)?, "already gone");
        Ok(())
    });
    read(store, |tx| {
        assert_eni_counts_match_list(tx, &[a, b]);
        for t in TYPES {
            assert_eq!(tx.eni_count(a, REGION, t)?, 0);
        }
        Ok(())
    });

    // VPCs: inserts and deletes, per account and region.
    let extra: Vec<Vpc> = (0..3).map(|_| vpc(a, REGION)).collect();
    ok(store, |tx| {
        for v in &extra {
            tx.vpc_insert(v)?;
        }
        tx.vpc_insert(&vpc(b, OTHER_REGION))
    });
    read(store, |tx| {
        assert_eq!(tx.vpc_count(a, REGION)?, 4, "va and three more");
        assert_eq!(tx.vpc_count(a, OTHER_REGION)?, 1);
        assert_eq!(tx.vpc_count(b, REGION)?, 1);
        assert_eq!(tx.vpc_count(b, OTHER_REGION)?, 1);
        Ok(())
    });
    ok(store, |tx| {
        for v in &extra {
            assert!(tx.vpc_delete(a, &v.id)?);
        }
        Ok(())
    });
    assert_eq!(read(store, |tx| tx.vpc_count(a, REGION)), 1);
    assert_eq!(va.region_id, REGION);

    // EIPs: inserts, a change of region, deletes.
    let e1 = eip(a, REGION, PUBLIC + 10);
    let e2 = eip(a, REGION, PUBLIC + 11);
    ok(store, |tx| {
        tx.eip_insert(&e1)?;
        tx.eip_insert(&e2)
    });
    assert_eq!(read(store, |tx| tx.eip_count(a, REGION)), 2);
    let mut e2_far = e2.clone();
    e2_far.region_id = OTHER_REGION.into();
    ok(store, |tx| tx.eip_update(&e2_far));
    read(store, |tx| {
        assert_eq!(tx.eip_count(a, REGION)?, 1);
        assert_eq!(tx.eip_count(a, OTHER_REGION)?, 1);
        Ok(())
    });
    ok(store, |tx| {
        assert!(tx.eip_delete(a, &e1.id)?);
        assert!(tx.eip_delete(a, &e2.id)?);
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(tx.eip_count(a, REGION)?, 0);
        assert_eq!(tx.eip_count(a, OTHER_REGION)?, 0);
        Ok(())
    });
}

fn check_counts_ignore_refused_and_rolled_back_writes(store: &dyn Store) {
    let a = AccountId::generate();
    let (v, s) = network(store, a, REGION);
    let first = eni(&s);
    ok(store, |tx| tx.eni_insert(&first));

    // A refused insert (its MAC is taken) counts nothing, and the transaction goes on.
    let twin = Eni {
        mac: first.mac.clone(),
        ..eni(&s)
    };
    ok(store, |tx| {
        assert_conflict(tx.eni_insert(&twin), ENI_MAC_UNIQUE);
        assert_eq!(tx.eni_count(a, REGION, "Secondary")?, 1);
        Ok(())
    });
    // A refused membership undoes the ENI it came with.
    let orphan = Eni {
        security_group_ids: vec![SecurityGroupId::generate(REGION)],
        ..eni(&s)
    };
    ok(store, |tx| {
        assert_conflict(tx.eni_insert(&orphan), ENI_SECURITY_GROUP_FK);
        assert_eq!(tx.eni_count(a, REGION, "Secondary")?, 1);
        Ok(())
    });
    // A refused VPC delete (it has a vSwitch) keeps its count.
    ok(store, |tx| {
        assert_conflict(tx.vpc_delete(a, &v.id), VSWITCH_VPC_FK);
        assert_eq!(tx.vpc_count(a, REGION)?, 1);
        Ok(())
    });
    // A refused EIP (its address is taken) counts nothing.
    ok(store, |tx| {
        tx.eip_insert(&eip(a, REGION, PUBLIC))?;
        assert_conflict(tx.eip_insert(&eip(a, REGION, PUBLIC)), EIP_ADDRESS_UNIQUE);
        assert_eq!(tx.eip_count(a, REGION)?, 1);
        Ok(())
    });

    // Writes rolled back, by drop or by an error in with_write, leave every count as it was.
    {
        let mut tx = store.write().unwrap();
        tx.eni_insert(&eni(&s)).unwrap();
        tx.eni_delete(a, &first.id).unwrap();
        tx.vpc_insert(&vpc(a, REGION)).unwrap();
        tx.eip_insert(&eip(a, REGION, PUBLIC + 1)).unwrap();
        assert_eq!(tx.eni_count(a, REGION, "Secondary").unwrap(), 1);
        assert_eq!(tx.vpc_count(a, REGION).unwrap(), 2);
        assert_eq!(tx.eip_count(a, REGION).unwrap(), 2);
    }
    let failed: Result<(), StoreError> = with_write(store, |tx| {
        tx.eni_insert(&eni(&s))?;
        tx.vpc_insert(&vpc(a, REGION))?;
        Err(StoreError::Backend("the caller gives up".into()))
    });
    assert!(failed.is_err());
    read(store, |tx| {
        assert_eq!(tx.eni_count(a, REGION, "Secondary")?, 1);
        assert_eq!(tx.vpc_count(a, REGION)?, 1);
        assert_eq!(tx.eip_count(a, REGION)?, 1);
        assert_eni_counts_match_list(tx, &[a]);
        Ok(())
    });
}

fn check_counts_stay_exact_under_concurrent_writers(store: &dyn Store) {
    const THREADS: usize = 6;
    const ROUNDS: usize = 40;
    let accounts = [AccountId::generate(), AccountId::generate()];
    let nets: Vec<VSwitch> = accounts
        .iter()
        .flat_map(|&a| {
            [
                network(store, a, REGION).1,
                network(store, a, OTHER_REGION).1,
            ]
        })
        .collect();
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (barrier, nets) = (&barrier, &nets);
            scope.spawn(move || {
                let mut rng = t as u64 * 7919 + 1;
                let mut next = || {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (rng >> 33) as usize
                };
                let mut mine: Vec<Eni> = Vec::new();
                barrier.wait();
                for round in 0..ROUNDS {
                    let s = &nets[next() % nets.len()];
                    let e = typed(s, TYPES[next() % TYPES.len()]);
                    let drop_one = round % 3 == 2 && !mine.is_empty();
                    let victim = drop_one.then(|| mine.remove(next() % mine.len()));
                    let give_up = round % 5 == 4;
                    let r: Result<(), StoreError> = with_write(store, |tx| {
                        tx.eni_insert(&e)?;
                        if let Some(v) = &victim {
                            assert!(tx.eni_delete(v.account_id, &v.id)?);
                        }
                        if give_up {
                            return Err(StoreError::Backend("rolled back on purpose".into()));
                        }
                        Ok(())
                    });
                    match (r, give_up) {
                        (Ok(()), false) => mine.push(e),
                        (Err(_), true) => mine.extend(victim),
                        (r, _) => panic!("thread {t}, round {round}: {r:?}"),
                    }
                }
            });
        }
    });
    read(store, |tx| {
        assert_eni_counts_match_list(tx, &accounts);
        Ok(())
    });
}

fn check_count_then_insert_never_passes_the_limit(store: &dyn Store) {
    const THREADS: usize = 8;
    const LIMIT: u64 = 5;
    let a = AccountId::generate();
    let (_, s) = network(store, a, REGION);
    let barrier = Barrier::new(THREADS);
    let won: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (barrier, s) = (&barrier, &s);
                scope.spawn(move || {
                    barrier.wait();
                    let mut won = 0u64;
                    // Each thread tries twice the limit: every try reads the count and
                    // inserts only below the limit, in one write transaction.
                    for _ in 0..2 * LIMIT {
                        let inserted = ok(store, |tx| {
                            if tx.eni_count(a, REGION, "Secondary")? >= LIMIT {
                                return Ok(false);
                            }
                            tx.eni_insert(&eni(s))?;
                            Ok(true)
                        });
                        won += u64::from(inserted);
                    }
                    won
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    assert_eq!(won.iter().sum::<u64>(), LIMIT, "{won:?}");
    read(store, |tx| {
        assert_eq!(tx.eni_count(a, REGION, "Secondary")?, LIMIT);
        assert_eni_counts_match_list(tx, &[a]);
        Ok(())
    });
}
