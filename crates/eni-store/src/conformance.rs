//! The behaviour every [`Store`] backend must show, as one suite each backend's tests run:
//!
//! ```text
//! eni_store::conformance::run_all(&|| Box::new(MyStore::fresh()));
//! ```
//!
//! Each check gets a fresh, empty store from `make` and panics on the first deviation; the
//! check's name is printed first so a failure says which behaviour broke. Checks use only
//! the [`Store`] and [`Tx`] traits, so they pin semantics, not SQL: constraint names, scoping
//! by account, ordering, snapshot reads, rollback, and races decided by the schema.

use crate::constraints::{
    ACCESS_KEY_PK, ACCOUNT_NAME_UNIQUE, IDEMPOTENCY_PK, PRIVATE_IP_UNIQUE, PRIVATE_IP_VSWITCH_FK,
    VSWITCH_VPC_FK,
};
use crate::{
    with_read, with_write, AccessKey, Account, IdempotencyRecord, Store, StoreError, Tx, VSwitch,
    Vpc,
};
use eni_types::ids::{AccountId, ResourceGroupId, RouteTableId, VRouterId, VSwitchId, VpcId};
use std::sync::Barrier;

/// A named check: takes a fresh store, panics if the store misbehaves.
pub type Check = (&'static str, fn(&dyn Store));

/// Every check, in the order [`run_all`] runs them.
pub const CHECKS: &[Check] = &[
    (
        "account_insert_get_and_by_name",
        check_account_insert_get_and_by_name,
    ),
    (
        "account_duplicate_name_conflicts",
        check_account_duplicate_name_conflicts,
    ),
    (
        "account_duplicate_id_conflicts",
        check_account_duplicate_id_conflicts,
    ),
    (
        "access_key_insert_get_and_duplicate_conflicts",
        check_access_key_insert_get_and_duplicate_conflicts,
    ),
    (
        "access_key_for_account_is_the_oldest",
        check_access_key_for_account_is_the_oldest,
    ),
    (
        "access_key_debug_redacts_secret",
        check_access_key_debug_redacts_secret,
    ),
    ("nonce_replay_is_detected", check_nonce_replay_is_detected),
    ("nonce_expired_is_reusable", check_nonce_expired_is_reusable),
    (
        "nonce_purge_counts_expired",
        check_nonce_purge_counts_expired,
    ),
    (
        "idempotency_insert_get_and_duplicate_conflicts",
        check_idempotency_insert_get_and_duplicate_conflicts,
    ),
    (
        "vpc_round_trips_tags_and_options_exactly",
        check_vpc_round_trips_tags_and_options_exactly,
    ),
    (
        "vpc_list_is_oldest_first_per_region",
        check_vpc_list_is_oldest_first_per_region,
    ),
    (
        "vpc_count_per_account_and_region",
        check_vpc_count_per_account_and_region,
    ),
    (
        "vpc_delete_reports_removal",
        check_vpc_delete_reports_removal,
    ),
    (
        "vpc_duplicate_id_conflicts",
        check_vpc_duplicate_id_conflicts,
    ),
    (
        "vpc_of_other_account_does_not_exist",
        check_vpc_of_other_account_does_not_exist,
    ),
    (
        "vpc_delete_refused_while_vswitches_exist",
        check_vpc_delete_refused_while_vswitches_exist,
    ),
    (
        "vswitch_round_trips_tags_and_options_exactly",
        check_vswitch_round_trips_tags_and_options_exactly,
    ),
    (
        "vswitch_list_filters_by_vpc_oldest_first",
        check_vswitch_list_filters_by_vpc_oldest_first,
    ),
    (
        "vswitch_of_other_account_does_not_exist",
        check_vswitch_of_other_account_does_not_exist,
    ),
    (
        "vswitch_insert_requires_vpc",
        check_vswitch_insert_requires_vpc,
    ),
    (
        "vswitch_delete_refused_while_ips_held",
        check_vswitch_delete_refused_while_ips_held,
    ),
    (
        "private_ip_duplicate_conflicts_per_vswitch",
        check_private_ip_duplicate_conflicts_per_vswitch,
    ),
    (
        "private_ip_count_and_delete_frees_address",
        check_private_ip_count_and_delete_frees_address,
    ),
    (
        "private_ip_whole_ipv4_range_round_trips",
        check_private_ip_whole_ipv4_range_round_trips,
    ),
    (
        "private_ip_insert_requires_vswitch",
        check_private_ip_insert_requires_vswitch,
    ),
    (
        "conflict_leaves_transaction_usable",
        check_conflict_leaves_transaction_usable,
    ),
    (
        "rollback_on_drop_leaves_nothing",
        check_rollback_on_drop_leaves_nothing,
    ),
    (
        "app_error_in_with_write_rolls_back",
        check_app_error_in_with_write_rolls_back,
    ),
    (
        "uncommitted_writes_are_invisible_to_readers",
        check_uncommitted_writes_are_invisible_to_readers,
    ),
    (
        "read_transaction_is_a_snapshot",
        check_read_transaction_is_a_snapshot,
    ),
    (
        "concurrent_inserts_of_same_ips_are_decided_by_schema",
        check_concurrent_inserts_of_same_ips_are_decided_by_schema,
    ),
];

/// Runs every check in [`CHECKS`], each on its own fresh store from `make`.
pub fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    for (name, check) in CHECKS {
        eprintln!("conformance: {name}");
        let store = make();
        check(&*store);
    }
}

// ---- fixtures ----

const REGION: &str = "cn-hangzhou";
const OTHER_REGION: &str = "cn-beijing";
const T0: i64 = 1_700_000_000;

fn account(name: &str) -> Account {
    Account {
        id: AccountId::generate(),
        name: name.into(),
        created_at: T0,
    }
}

fn key(account: AccountId) -> AccessKey {
    AccessKey {
        id: eni_types::ids::generate_access_key_id(),
        secret: eni_types::ids::generate_access_key_secret(),
        account_id: account,
        created_at: T0,
    }
}

fn vpc(account: AccountId, region: &str) -> Vpc {
    Vpc {
        id: VpcId::generate(region),
        account_id: account,
        region_id: region.into(),
        cidr_block: "172.16.0.0/12".into(),
        ipv6_cidr_block: None,
        name: String::new(),
        description: String::new(),
        status: "Available".into(),
        is_default: false,
        vrouter_id: VRouterId::generate(region),
        route_table_id: RouteTableId::generate(region),
        resource_group_id: ResourceGroupId::generate(region),
        tags: Vec::new(),
        created_at: T0,
    }
}

fn vswitch(vpc: &Vpc) -> VSwitch {
    VSwitch {
        id: VSwitchId::generate(&vpc.region_id),
        account_id: vpc.account_id,
        region_id: vpc.region_id.clone(),
        vpc_id: vpc.id.clone(),
        zone_id: format!("{}-h", vpc.region_id),
        cidr_block: "172.16.0.0/24".into(),
        ipv6_cidr_block: None,
        name: String::new(),
        description: String::new(),
        status: "Available".into(),
        is_default: false,
        resource_group_id: vpc.resource_group_id.clone(),
        tags: Vec::new(),
        created_at: T0,
    }
}

/// Tags that trip naive encodings: order, duplicates, empty strings, quotes, non-ASCII.
fn tricky_tags() -> Vec<(String, String)> {
    [
        ("zeta", "1"),
        ("alpha", ""),
        ("", "empty key"),
        ("quote\"s", "back\\slash\n"),
        ("标签", "值"),
        ("zeta", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Runs `f` in a write transaction and commits it.
fn write<T>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    with_write(store, |tx| f(tx))
}

/// Runs `f` in a read transaction; a store error fails the check.
fn read<T>(store: &dyn Store, f: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>) -> T {
    match with_read(store, f) {
        Ok(v) => v,
        Err(e) => panic!("read failed: {e:?}"),
    }
}

/// Commits `f`; a store error fails the check.
fn ok<T>(store: &dyn Store, f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>) -> T {
    match write(store, f) {
        Ok(v) => v,
        Err(e) => panic!("write failed: {e:?}"),
    }
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, constraint: &str) {
    match result {
        Err(e) if e.is_conflict_on(constraint) => {}
        other => panic!("expected Conflict on {constraint}, got {other:?}"),
    }
}

#[track_caller]
fn assert_any_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected a Conflict, got {other:?}"),
    }
}

// ---- accounts and keys ----

fn check_account_insert_get_and_by_name(store: &dyn Store) {
    let a = account("alice");
    let b = account("bob");
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.account_insert(&b)
    });
    read(store, |tx| {
        assert_eq!(tx.account_get(a.id)?, Some(a.clone()));
        assert_eq!(tx.account_by_name("bob")?, Some(b.clone()));
        assert_eq!(tx.account_by_name("carol")?, None);
        assert_eq!(
            tx.account_by_name("Alice")?,
            None,
            "names are case-sensitive"
        );
        assert_eq!(tx.account_get(AccountId(a.id.0.wrapping_add(1)))?, None);
        Ok(())
    });
}

fn check_account_duplicate_name_conflicts(store: &dyn Store) {
    let first = account("alice");
    ok(store, |tx| tx.account_insert(&first));
    assert_conflict(
        write(store, |tx| tx.account_insert(&account("alice"))),
        ACCOUNT_NAME_UNIQUE,
    );
    read(store, |tx| {
        assert_eq!(
            tx.account_by_name("alice")?,
            Some(first.clone()),
            "the first account is untouched"
        );
        Ok(())
    });
}

fn check_account_duplicate_id_conflicts(store: &dyn Store) {
    let first = account("alice");
    ok(store, |tx| tx.account_insert(&first));
    let same_id = Account {
        name: "bob".into(),
        ..first.clone()
    };
    assert_any_conflict(write(store, |tx| tx.account_insert(&same_id)));
    // Extreme IDs round-trip too.
    for id in [0, u64::MAX, 1 << 63] {
        let a = Account {
            id: AccountId(id),
            name: format!("acct-{id}"),
            created_at: -1,
        };
        ok(store, |tx| tx.account_insert(&a));
        read(store, |tx| {
            assert_eq!(tx.account_get(AccountId(id))?, Some(a.clone()));
            Ok(())
        });
    }
}

fn check_access_key_insert_get_and_duplicate_conflicts(store: &dyn Store) {
    let a = account("alice");
    let k = key(a.id);
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.access_key_insert(&k)
    });
    read(store, |tx| {
        assert_eq!(tx.access_key_get(&k.id)?, Some(k.clone()));
        assert_eq!(tx.access_key_get("LTAInothere")?, None);
        Ok(())
    });
    let again = AccessKey {
        secret: "other".into(),
        ..k.clone()
    };
    assert_conflict(
        write(store, |tx| tx.access_key_insert(&again)),
        ACCESS_KEY_PK,
    );
    read(store, |tx| {
        assert_eq!(
            tx.access_key_get(&k.id)?.map(|k| k.secret),
            Some(k.secret.clone())
        );
        Ok(())
    });
}

fn check_access_key_for_account_is_the_oldest(store: &dyn Store) {
    let a = account("alice");
    let b = account("bob");
    let first = key(a.id);
    // A later key with an earlier timestamp: "oldest" means first inserted.
    let second = AccessKey {
        created_at: T0 - 100,
        ..key(a.id)
    };
    let other = key(b.id);
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.account_insert(&b)?;
        tx.access_key_insert(&first)?;
        tx.access_key_insert(&other)?;
        tx.access_key_insert(&second)
    });
    read(store, |tx| {
        assert_eq!(tx.access_key_for_account(a.id)?, Some(first.clone()));
        assert_eq!(tx.access_key_for_account(b.id)?, Some(other.clone()));
        assert_eq!(tx.access_key_for_account(AccountId::generate())?, None);
        Ok(())
    });
}

fn check_access_key_debug_redacts_secret(store: &dyn Store) {
    let a = account("alice");
    let k = AccessKey {
        secret: "s3cr3t-do-not-log".into(),
        ..key(a.id)
    };
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.access_key_insert(&k)
    });
    let stored = read(store, |tx| tx.access_key_get(&k.id));
    let shown = format!("{stored:?} {stored:#?}");
    assert!(
        !shown.contains("s3cr3t"),
        "secret leaked into Debug: {shown}"
    );
    assert!(shown.contains(&k.id), "the key ID is still shown: {shown}");
}

// ---- nonces ----

fn check_nonce_replay_is_detected(store: &dyn Store) {
    assert!(ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0, T0 + 900)));
    assert!(
        !ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0 + 1, T0 + 901)),
        "replay"
    );
    // Still live at its expiry instant.
    assert!(
        !ok(store, |tx| tx.nonce_record(
            "LTAIa",
            "n1",
            T0 + 900,
            T0 + 1800
        )),
        "replay at expiry"
    );
    // Nonces are per key.
    assert!(ok(store, |tx| tx.nonce_record("LTAIb", "n1", T0, T0 + 900)));
    assert!(ok(store, |tx| tx.nonce_record("LTAIa", "n2", T0, T0 + 900)));
}

fn check_nonce_expired_is_reusable(store: &dyn Store) {
    assert!(ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0, T0 + 10)));
    assert!(
        ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0 + 11, T0 + 20)),
        "expired nonce reused"
    );
    // The reuse renewed it.
    assert!(!ok(store, |tx| tx.nonce_record(
        "LTAIa",
        "n1",
        T0 + 15,
        T0 + 30
    )));
    assert!(ok(store, |tx| tx.nonce_record(
        "LTAIa",
        "n1",
        T0 + 21,
        T0 + 30
    )));
}

fn check_nonce_purge_counts_expired(store: &dyn Store) {
    ok(store, |tx| {
        tx.nonce_record("LTAIa", "n100", T0, T0 + 100)?;
        tx.nonce_record("LTAIa", "n200", T0, T0 + 200)?;
        tx.nonce_record("LTAIb", "n200", T0, T0 + 200)?;
        tx.nonce_record("LTAIa", "n300", T0, T0 + 300)
    });
    assert_eq!(
        ok(store, |tx| tx.nonce_purge(T0 + 100)),
        0,
        "nothing expired before its expiry instant"
    );
    assert_eq!(ok(store, |tx| tx.nonce_purge(T0 + 250)), 3);
    assert_eq!(ok(store, |tx| tx.nonce_purge(T0 + 250)), 0);
    assert!(
        !ok(store, |tx| tx.nonce_record(
            "LTAIa",
            "n300",
            T0 + 250,
            T0 + 400
        )),
        "survivor still guards"
    );
    assert!(ok(store, |tx| tx.nonce_record(
        "LTAIa",
        "n100",
        T0 + 250,
        T0 + 400
    )));
}

// ---- idempotency ----

fn check_idempotency_insert_get_and_duplicate_conflicts(store: &dyn Store) {
    let acct = AccountId::generate();
    let rec = IdempotencyRecord {
        account_id: acct,
        action: "CreateVpc".into(),
        token: "tok-1".into(),
        params_digest: r#"{"CidrBlock":"10.0.0.0/8"}"#.into(),
        response: r#"{"VpcId":"vpc-x","RequestId":"R"}"#.into(),
        created_at: T0,
    };
    read(store, |tx| {
        assert_eq!(tx.idempotency_get(acct, "CreateVpc", "tok-1")?, None);
        Ok(())
    });
    ok(store, |tx| tx.idempotency_insert(&rec));
    read(store, |tx| {
        assert_eq!(
            tx.idempotency_get(acct, "CreateVpc", "tok-1")?,
            Some(rec.clone())
        );
        assert_eq!(tx.idempotency_get(acct, "CreateVSwitch", "tok-1")?, None);
        assert_eq!(tx.idempotency_get(acct, "CreateVpc", "tok-2")?, None);
        assert_eq!(
            tx.idempotency_get(AccountId::generate(), "CreateVpc", "tok-1")?,
            None
        );
        Ok(())
    });
    let again = IdempotencyRecord {
        params_digest: "other".into(),
        ..rec.clone()
    };
    assert_conflict(
        write(store, |tx| tx.idempotency_insert(&again)),
        IDEMPOTENCY_PK,
    );
    // The same token under another action or account is a different record.
    ok(store, |tx| {
        tx.idempotency_insert(&IdempotencyRecord {
            action: "DeleteVpc".into(),
            ..rec.clone()
        })
    });
    ok(store, |tx| {
        tx.idempotency_insert(&IdempotencyRecord {
            account_id: AccountId::generate(),
            ..rec.clone()
        })
    });
}

// ---- VPCs ----

fn check_vpc_round_trips_tags_and_options_exactly(store: &dyn Store) {
    let acct = AccountId::generate();
    let plain = vpc(acct, REGION);
    let full = Vpc {
        ipv6_cidr_block: Some("2408:4005:3ea::/56".into()),
        name: "prod-vpc".into(),
        description: "línea 1\nline \"2\"".into(),
        is_default: true,
        tags: tricky_tags(),
        created_at: T0 + 1,
        ..vpc(acct, REGION)
    };
    ok(store, |tx| {
        tx.vpc_insert(&plain)?;
        tx.vpc_insert(&full)
    });
    read(store, |tx| {
        assert_eq!(tx.vpc_get(acct, &plain.id)?, Some(plain.clone()));
        assert_eq!(tx.vpc_get(acct, &full.id)?, Some(full.clone()));
        assert_eq!(
            tx.vpc_list(acct, REGION)?,
            vec![plain.clone(), full.clone()]
        );
        Ok(())
    });
}

fn check_vpc_list_is_oldest_first_per_region(store: &dyn Store) {
    let acct = AccountId::generate();
    // Timestamps run backwards so that only insertion order gives the expected list.
    let vpcs: Vec<Vpc> = (0..5)
        .map(|i| Vpc {
            name: format!("v{i}"),
            created_at: T0 - i,
            ..vpc(acct, REGION)
        })
        .collect();
    let elsewhere = vpc(acct, OTHER_REGION);
    for (i, v) in vpcs.iter().enumerate() {
        ok(store, |tx| tx.vpc_insert(v));
        if i == 2 {
            ok(store, |tx| tx.vpc_insert(&elsewhere));
        }
    }
    read(store, |tx| {
        assert_eq!(tx.vpc_list(acct, REGION)?, vpcs);
        assert_eq!(tx.vpc_list(acct, OTHER_REGION)?, vec![elsewhere.clone()]);
        assert_eq!(tx.vpc_list(acct, "cn-nowhere")?, Vec::new());
        Ok(())
    });
    // Deleting from the middle keeps the others' order; a new VPC goes last.
    ok(store, |tx| tx.vpc_delete(acct, &vpcs[1].id));
    let newest = vpc(acct, REGION);
    ok(store, |tx| tx.vpc_insert(&newest));
    let mut expected = vpcs.clone();
    expected.remove(1);
    expected.push(newest.clone());
    read(store, |tx| {
        assert_eq!(tx.vpc_list(acct, REGION)?, expected);
        Ok(())
    });
}

fn check_vpc_count_per_account_and_region(store: &dyn Store) {
    let a = AccountId::generate();
    let b = AccountId::generate();
    ok(store, |tx| {
        for _ in 0..3 {
            tx.vpc_insert(&vpc(a, REGION))?;
        }
        tx.vpc_insert(&vpc(a, OTHER_REGION))?;
        tx.vpc_insert(&vpc(b, REGION))
    });
    read(store, |tx| {
        assert_eq!(tx.vpc_count(a, REGION)?, 3);
        assert_eq!(tx.vpc_count(a, OTHER_REGION)?, 1);
        assert_eq!(tx.vpc_count(b, REGION)?, 1);
        assert_eq!(tx.vpc_count(b, OTHER_REGION)?, 0);
        Ok(())
    });
}

fn check_vpc_delete_reports_removal(store: &dyn Store) {
    let acct = AccountId::generate();
    let keep = vpc(acct, REGION);
    let gone = vpc(acct, REGION);
    ok(store, |tx| {
        tx.vpc_insert(&keep)?;
        tx.vpc_insert(&gone)
    });
    assert!(ok(store, |tx| tx.vpc_delete(acct, &gone.id)));
    assert!(
        !ok(store, |tx| tx.vpc_delete(acct, &gone.id)),
        "second delete removes nothing"
    );
    read(store, |tx| {
        assert_eq!(tx.vpc_get(acct, &gone.id)?, None);
        assert_eq!(tx.vpc_list(acct, REGION)?, vec![keep.clone()]);
        assert_eq!(tx.vpc_count(acct, REGION)?, 1);
        Ok(())
    });
}

fn check_vpc_duplicate_id_conflicts(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    ok(store, |tx| tx.vpc_insert(&v));
    // Even for another account: IDs are global.
    let again = Vpc {
        account_id: AccountId::generate(),
        ..v.clone()
    };
    assert_any_conflict(write(store, |tx| tx.vpc_insert(&again)));
}

fn check_vpc_of_other_account_does_not_exist(store: &dyn Store) {
    let owner = AccountId::generate();
    let other = AccountId::generate();
    let v = vpc(owner, REGION);
    ok(store, |tx| tx.vpc_insert(&v));
    read(store, |tx| {
        assert_eq!(tx.vpc_get(other, &v.id)?, None);
        assert_eq!(tx.vpc_list(other, REGION)?, Vec::new());
        assert_eq!(tx.vpc_count(other, REGION)?, 0);
        Ok(())
    });
    assert!(!ok(store, |tx| tx.vpc_delete(other, &v.id)));
    read(store, |tx| {
        assert_eq!(
            tx.vpc_get(owner, &v.id)?,
            Some(v.clone()),
            "the owner's VPC survives"
        );
        Ok(())
    });
}

fn check_vpc_delete_refused_while_vswitches_exist(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let s = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&s)
    });
    assert_conflict(
        write(store, |tx| tx.vpc_delete(acct, &v.id)),
        VSWITCH_VPC_FK,
    );
    assert!(ok(store, |tx| tx.vswitch_delete(acct, &s.id)));
    assert!(ok(store, |tx| tx.vpc_delete(acct, &v.id)));
}

// ---- vSwitches ----

fn check_vswitch_round_trips_tags_and_options_exactly(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    let plain = vswitch(&v);
    let full = VSwitch {
        ipv6_cidr_block: Some("2408:4005:3ea:ff00::/64".into()),
        name: "web".into(),
        description: "zone h, \"web\" tier".into(),
        is_default: true,
        tags: tricky_tags(),
        created_at: T0 + 5,
        ..vswitch(&v)
    };
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&plain)?;
        tx.vswitch_insert(&full)
    });
    read(store, |tx| {
        assert_eq!(
            tx.vswitch_get(v.account_id, &plain.id)?,
            Some(plain.clone())
        );
        assert_eq!(tx.vswitch_get(v.account_id, &full.id)?, Some(full.clone()));
        Ok(())
    });
}

fn check_vswitch_list_filters_by_vpc_oldest_first(store: &dyn Store) {
    let acct = AccountId::generate();
    let v1 = vpc(acct, REGION);
    let v2 = vpc(acct, REGION);
    let far = vpc(acct, OTHER_REGION);
    let s1 = VSwitch {
        created_at: T0 + 9,
        ..vswitch(&v1)
    };
    let s2 = VSwitch {
        created_at: T0 + 5,
        ..vswitch(&v2)
    };
    let s3 = VSwitch {
        created_at: T0 + 1,
        ..vswitch(&v1)
    };
    let s_far = vswitch(&far);
    ok(store, |tx| {
        for v in [&v1, &v2, &far] {
            tx.vpc_insert(v)?;
        }
        for s in [&s1, &s2, &s3, &s_far] {
            tx.vswitch_insert(s)?;
        }
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(
            tx.vswitch_list(acct, REGION, None)?,
            vec![s1.clone(), s2.clone(), s3.clone()]
        );
        assert_eq!(
            tx.vswitch_list(acct, REGION, Some(&v1.id))?,
            vec![s1.clone(), s3.clone()]
        );
        assert_eq!(
            tx.vswitch_list(acct, REGION, Some(&v2.id))?,
            vec![s2.clone()]
        );
        // A VPC of another region lists nothing in this one.
        assert_eq!(tx.vswitch_list(acct, REGION, Some(&far.id))?, Vec::new());
        assert_eq!(
            tx.vswitch_list(acct, OTHER_REGION, None)?,
            vec![s_far.clone()]
        );
        assert_eq!(
            tx.vswitch_list(acct, REGION, Some(&VpcId::generate(REGION)))?,
            Vec::new()
        );
        Ok(())
    });
}

fn check_vswitch_of_other_account_does_not_exist(store: &dyn Store) {
    let owner = AccountId::generate();
    let other = AccountId::generate();
    let v = vpc(owner, REGION);
    let s = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&s)
    });
    read(store, |tx| {
        assert_eq!(tx.vswitch_get(other, &s.id)?, None);
        assert_eq!(tx.vswitch_list(other, REGION, None)?, Vec::new());
        assert_eq!(tx.vswitch_list(other, REGION, Some(&v.id))?, Vec::new());
        Ok(())
    });
    assert!(!ok(store, |tx| tx.vswitch_delete(other, &s.id)));
    read(store, |tx| {
        assert_eq!(tx.vswitch_get(owner, &s.id)?, Some(s.clone()));
        Ok(())
    });
}

fn check_vswitch_insert_requires_vpc(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    assert_conflict(
        write(store, |tx| tx.vswitch_insert(&vswitch(&v))),
        VSWITCH_VPC_FK,
    );
}

fn check_vswitch_delete_refused_while_ips_held(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let s = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&s)?;
        tx.private_ip_insert(&s.id, 0xAC10_0005, "eni-a")?;
        tx.private_ip_insert(&s.id, 0xAC10_0006, "eni-a")
    });
    assert_conflict(
        write(store, |tx| tx.vswitch_delete(acct, &s.id)),
        PRIVATE_IP_VSWITCH_FK,
    );
    ok(store, |tx| tx.private_ip_delete(&s.id, 0xAC10_0005));
    assert_conflict(
        write(store, |tx| tx.vswitch_delete(acct, &s.id)),
        PRIVATE_IP_VSWITCH_FK,
    );
    ok(store, |tx| tx.private_ip_delete(&s.id, 0xAC10_0006));
    assert!(ok(store, |tx| tx.vswitch_delete(acct, &s.id)));
}

// ---- private IPs ----

/// A store holding one VPC with two vSwitches.
fn two_vswitches(store: &dyn Store) -> (VSwitch, VSwitch) {
    let v = vpc(AccountId::generate(), REGION);
    let a = vswitch(&v);
    let b = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&a)?;
        tx.vswitch_insert(&b)
    });
    (a, b)
}

fn check_private_ip_duplicate_conflicts_per_vswitch(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    let ip = 0xAC10_000A; // 172.16.0.10
    ok(store, |tx| tx.private_ip_insert(&a.id, ip, "eni-1"));
    assert_conflict(
        write(store, |tx| tx.private_ip_insert(&a.id, ip, "eni-2")),
        PRIVATE_IP_UNIQUE,
    );
    assert_conflict(
        write(store, |tx| tx.private_ip_insert(&a.id, ip, "eni-1")),
        PRIVATE_IP_UNIQUE,
    );
    ok(store, |tx| tx.private_ip_insert(&b.id, ip, "eni-2"));
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 1);
        assert_eq!(tx.private_ip_count(&b.id)?, 1);
        Ok(())
    });
}

fn check_private_ip_count_and_delete_frees_address(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 0);
        Ok(())
    });
    ok(store, |tx| {
        for ip in 10..20 {
            tx.private_ip_insert(&a.id, 0xAC10_0000 + ip, "eni-1")?;
        }
        tx.private_ip_insert(&b.id, 0xAC10_000A, "eni-2")
    });
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 10);
        assert_eq!(tx.private_ip_count(&b.id)?, 1);
        assert_eq!(tx.private_ip_count(&VSwitchId::generate(REGION))?, 0);
        Ok(())
    });
    assert!(ok(store, |tx| tx.private_ip_delete(&a.id, 0xAC10_000A)));
    assert!(
        !ok(store, |tx| tx.private_ip_delete(&a.id, 0xAC10_000A)),
        "already free"
    );
    assert!(
        !ok(store, |tx| tx.private_ip_delete(&a.id, 0xAC10_00FF)),
        "never held"
    );
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 9);
        assert_eq!(
            tx.private_ip_count(&b.id)?,
            1,
            "the other vSwitch's copy is untouched"
        );
        Ok(())
    });
    ok(store, |tx| {
        tx.private_ip_insert(&a.id, 0xAC10_000A, "eni-3")
    });
}

fn check_private_ip_whole_ipv4_range_round_trips(store: &dyn Store) {
    let (a, _) = two_vswitches(store);
    for ip in [0, 1, 0x7FFF_FFFF, 0x8000_0000, u32::MAX] {
        ok(store, |tx| tx.private_ip_insert(&a.id, ip, "eni-1"));
        assert_conflict(
            write(store, |tx| tx.private_ip_insert(&a.id, ip, "eni-1")),
            PRIVATE_IP_UNIQUE,
        );
    }
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 5);
        Ok(())
    });
    for ip in [0, 1, 0x7FFF_FFFF, 0x8000_0000, u32::MAX] {
        assert!(ok(store, |tx| tx.private_ip_delete(&a.id, ip)), "{ip:#x}");
    }
}

fn check_private_ip_insert_requires_vswitch(store: &dyn Store) {
    let missing = VSwitchId::generate(REGION);
    assert_conflict(
        write(store, |tx| tx.private_ip_insert(&missing, 1, "eni-1")),
        PRIVATE_IP_VSWITCH_FK,
    );
}

// ---- transactions ----

fn check_conflict_leaves_transaction_usable(store: &dyn Store) {
    let (a, _) = two_vswitches(store);
    ok(store, |tx| tx.private_ip_insert(&a.id, 10, "eni-1"));
    // The allocation pattern: try an address, on conflict try the next, in one transaction.
    let mut tx = match store.write() {
        Ok(tx) => tx,
        Err(e) => panic!("write: {e:?}"),
    };
    let mut picked = None;
    for ip in 10..13 {
        match tx.private_ip_insert(&a.id, ip, "eni-2") {
            Ok(()) => {
                picked = Some(ip);
                break;
            }
            Err(e) if e.is_conflict_on(PRIVATE_IP_UNIQUE) => continue,
            Err(e) => panic!("insert {ip}: {e:?}"),
        }
    }
    assert_eq!(picked, Some(11));
    let v2 = vpc(a.account_id, REGION);
    assert!(tx.vpc_insert(&v2).is_ok(), "further writes work");
    if let Err(e) = tx.commit() {
        panic!("commit after a conflict: {e:?}");
    }
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 2);
        assert!(tx.vpc_get(a.account_id, &v2.id)?.is_some());
        Ok(())
    });
}

fn check_rollback_on_drop_leaves_nothing(store: &dyn Store) {
    let acct = account("alice");
    let v = vpc(acct.id, REGION);
    let s = vswitch(&v);
    {
        let mut tx = match store.write() {
            Ok(tx) => tx,
            Err(e) => panic!("write: {e:?}"),
        };
        let wrote = (|| {
            tx.account_insert(&acct)?;
            tx.vpc_insert(&v)?;
            tx.vswitch_insert(&s)?;
            tx.private_ip_insert(&s.id, 7, "eni-1")?;
            tx.nonce_record("LTAIa", "n", T0, T0 + 60)
        })();
        assert!(matches!(wrote, Ok(true)), "{wrote:?}");
        // Dropped here without commit.
    }
    read(store, |tx| {
        assert_eq!(tx.account_get(acct.id)?, None);
        assert_eq!(tx.vpc_get(acct.id, &v.id)?, None);
        assert_eq!(tx.vswitch_get(acct.id, &s.id)?, None);
        assert_eq!(tx.private_ip_count(&s.id)?, 0);
        Ok(())
    });
    assert!(
        ok(store, |tx| tx.nonce_record("LTAIa", "n", T0, T0 + 60)),
        "the nonce was never kept"
    );
    // The store is usable afterwards, and the same rows can be written for real.
    ok(store, |tx| {
        tx.account_insert(&acct)?;
        tx.vpc_insert(&v)
    });
}

fn check_app_error_in_with_write_rolls_back(store: &dyn Store) {
    #[derive(Debug)]
    enum AppError {
        Refused,
        Store(StoreError),
    }
    impl From<StoreError> for AppError {
        fn from(e: StoreError) -> Self {
            AppError::Store(e)
        }
    }
    let v = vpc(AccountId::generate(), REGION);
    let result: Result<(), AppError> = with_write(store, |tx| {
        tx.vpc_insert(&v)?;
        Err(AppError::Refused)
    });
    match result {
        Err(AppError::Refused) => {}
        Err(AppError::Store(e)) => panic!("store error: {e:?}"),
        Ok(()) => panic!("the refusal was lost"),
    }
    read(store, |tx| {
        assert_eq!(tx.vpc_get(v.account_id, &v.id)?, None);
        Ok(())
    });
}

fn check_uncommitted_writes_are_invisible_to_readers(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    let mut w = match store.write() {
        Ok(tx) => tx,
        Err(e) => panic!("write: {e:?}"),
    };
    assert!(w.vpc_insert(&v).is_ok());
    // A reader opened while the writer is open neither waits for it nor sees its rows.
    read(store, |tx| {
        assert_eq!(tx.vpc_get(v.account_id, &v.id)?, None);
        Ok(())
    });
    if let Err(e) = w.commit() {
        panic!("commit: {e:?}");
    }
    read(store, |tx| {
        assert_eq!(tx.vpc_get(v.account_id, &v.id)?, Some(v.clone()));
        Ok(())
    });
}

fn check_read_transaction_is_a_snapshot(store: &dyn Store) {
    let acct = AccountId::generate();
    ok(store, |tx| tx.vpc_insert(&vpc(acct, REGION)));
    let mut r = match store.read() {
        Ok(tx) => tx,
        Err(e) => panic!("read: {e:?}"),
    };
    assert_eq!(r.vpc_count(acct, REGION), Ok(1));
    let later = vpc(acct, REGION);
    ok(store, |tx| tx.vpc_insert(&later));
    assert_eq!(
        r.vpc_count(acct, REGION),
        Ok(1),
        "a commit after the snapshot is not seen"
    );
    assert_eq!(r.vpc_get(acct, &later.id), Ok(None));
    drop(r);
    read(store, |tx| {
        assert_eq!(tx.vpc_count(acct, REGION)?, 2);
        Ok(())
    });
}

fn check_concurrent_inserts_of_same_ips_are_decided_by_schema(store: &dyn Store) {
    const THREADS: usize = 8;
    const IPS: u32 = 50;
    let (a, _) = two_vswitches(store);
    let barrier = Barrier::new(THREADS);
    let outcomes: Vec<(u32, u32)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (barrier, vsw) = (&barrier, &a.id);
                scope.spawn(move || {
                    let owner = format!("eni-{t}");
                    let (mut won, mut lost) = (0u32, 0u32);
                    barrier.wait();
                    // Each thread walks the addresses from a different start, to collide often.
                    for i in 0..IPS {
                        let ip = 0xAC10_0000 + (i + t as u32 * 7) % IPS;
                        match with_write(store, |tx| tx.private_ip_insert(vsw, ip, &owner)) {
                            Ok(()) => won += 1,
                            Err(e) if e.is_conflict_on(PRIVATE_IP_UNIQUE) => lost += 1,
                            Err(e) => panic!("thread {t}, ip {ip:#x}: {e:?}"),
                        }
                    }
                    (won, lost)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let won: u32 = outcomes.iter().map(|o| o.0).sum();
    let lost: u32 = outcomes.iter().map(|o| o.1).sum();
    assert_eq!(won, IPS, "each address is won exactly once: {outcomes:?}");
    assert_eq!(
        lost,
        IPS * (THREADS as u32 - 1),
        "every other attempt conflicts: {outcomes:?}"
    );
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, u64::from(IPS));
        Ok(())
    });
}
