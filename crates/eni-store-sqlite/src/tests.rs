//! SQLite-specific behaviour the conformance suite cannot see: connection settings, the busy
//! timeout, read-only readers, the constraint-name table against the live schema, and rows
//! that fail to decode.

use super::*;
use crate::errors::UNIQUE_CONSTRAINTS;
use crate::migrate::MIGRATIONS;
use eni_store::{constraints, Vpc};
use eni_types::ids::{AccountId, ResourceGroupId, RouteTableId, VRouterId, VpcId};

fn vpc(account: AccountId) -> Vpc {
    Vpc {
        id: VpcId::generate("cn-hangzhou"),
        account_id: account,
        region_id: "cn-hangzhou".into(),
        cidr_block: "10.0.0.0/8".into(),
        ipv6_cidr_block: None,
        name: String::new(),
        description: String::new(),
        status: "Available".into(),
        is_default: false,
        vrouter_id: VRouterId::generate("cn-hangzhou"),
        route_table_id: RouteTableId::generate("cn-hangzhou"),
        resource_group_id: ResourceGroupId::generate("cn-hangzhou"),
        tags: vec![],
        created_at: 0,
    }
}

fn writer(store: &SqliteStore) -> std::sync::MutexGuard<'_, Connection> {
    store.writer.lock().unwrap()
}

fn conflict_name(e: StoreError) -> String {
    match e {
        StoreError::Conflict { constraint } => constraint,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn connections_use_wal_normal_sync_foreign_keys_and_busy_timeout() {
    let store = SqliteStore::open_in_memory().unwrap();
    let pragma = |c: &Connection, name: &str| -> String {
        c.query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| format!("{v:?}"))
        .unwrap()
    };
    {
        let w = writer(&store);
        assert_eq!(pragma(&w, "journal_mode"), "Text(\"wal\")");
        assert_eq!(pragma(&w, "synchronous"), "Integer(1)"); // NORMAL
        assert_eq!(pragma(&w, "foreign_keys"), "Integer(1)");
        assert_eq!(pragma(&w, "busy_timeout"), "Integer(5000)");
        assert_eq!(pragma(&w, "query_only"), "Integer(0)");
    }
    drop(store.read().unwrap()); // leaves one reader in the pool
    let r = store.readers.take().unwrap();
    assert_eq!(pragma(&r, "query_only"), "Integer(1)");
    assert_eq!(pragma(&r, "busy_timeout"), "Integer(5000)");
}

#[test]
fn write_lock_held_past_the_busy_timeout_is_busy() {
    let server = SqliteStore::open_in_memory().unwrap();
    let cli = SqliteStore::open_with(server.path(), Duration::from_millis(50), None).unwrap();
    let held = server.write().unwrap();
    assert_eq!(cli.write().err(), Some(StoreError::Busy));
    // Readers are not blocked by the writer.
    assert_eq!(
        cli.read().unwrap().vpc_count(AccountId(1), "cn-hangzhou"),
        Ok(0)
    );
    drop(held);
    cli.write().unwrap().commit().unwrap();
}

#[test]
fn a_read_transaction_cannot_write() {
    let store = SqliteStore::open_in_memory().unwrap();
    let v = vpc(AccountId(7));
    let mut tx = store.read().unwrap();
    assert!(matches!(tx.vpc_insert(&v), Err(StoreError::Backend(_))));
    tx.commit().unwrap();
    assert_eq!(store.read().unwrap().vpc_get(v.account_id, &v.id), Ok(None));
}

#[test]
fn a_panic_inside_a_write_transaction_rolls_back_and_frees_the_writer() {
    let store = SqliteStore::open_in_memory().unwrap();
    let v = vpc(AccountId(7));
    let panicked = std::thread::scope(|s| {
        s.spawn(|| {
            let mut tx = store.write().unwrap();
            tx.vpc_insert(&v).unwrap();
            panic!("boom");
        })
        .join()
        .is_err()
    });
    assert!(panicked);
    assert_eq!(store.read().unwrap().vpc_get(v.account_id, &v.id), Ok(None));
    let mut tx = store.write().unwrap();
    tx.vpc_insert(&v).unwrap();
    tx.commit().unwrap();
}

#[test]
fn more_concurrent_readers_than_the_pool_keeps_all_work() {
    let store = SqliteStore::open_in_memory().unwrap();
    let txs: Vec<_> = (0..MAX_IDLE_READERS * 2)
        .map(|_| store.read().unwrap())
        .collect();
    for mut tx in txs {
        assert_eq!(tx.vpc_count(AccountId(1), "r"), Ok(0));
    }
    assert_eq!(store.readers.idle.lock().unwrap().len(), MAX_IDLE_READERS);
}

#[test]
fn in_memory_stores_are_independent_and_cleaned_up() {
    let a = SqliteStore::open_in_memory().unwrap();
    let b = SqliteStore::open_in_memory().unwrap();
    assert_ne!(a.path(), b.path());
    let v = vpc(AccountId(7));
    let mut tx = a.write().unwrap();
    tx.vpc_insert(&v).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        b.read().unwrap().vpc_count(v.account_id, &v.region_id),
        Ok(0)
    );
    let dir = a.path().parent().unwrap().to_path_buf();
    assert!(dir.exists());
    drop(a);
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn open_in_a_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/eni.db");
    match SqliteStore::open(&path) {
        Err(StoreError::Backend(m)) => assert!(m.contains("no/such/dir"), "{m}"),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[test]
fn every_unique_constraint_of_the_schema_has_a_name_mapping() {
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    let tables: Vec<String> = w
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut found = Vec::new();
    for table in &tables {
        // Unique indexes, from UNIQUE and non-integer PRIMARY KEY constraints.
        let indexes: Vec<(String, bool)> = w
            .prepare("SELECT name, \"unique\" FROM pragma_index_list(?1)")
            .unwrap()
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (index, _) in indexes.into_iter().filter(|(_, unique)| *unique) {
            let cols: Vec<String> = w
                .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .unwrap()
                .query_map([&index], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            found.push(
                cols.iter()
                    .map(|c| format!("{table}.{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        // INTEGER PRIMARY KEY columns are the rowid and have no index of their own.
        let pk: Vec<(String, String)> = w
            .prepare("SELECT name, type FROM pragma_table_info(?1) WHERE pk > 0")
            .unwrap()
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        if let [(col, ty)] = pk.as_slice() {
            if ty.eq_ignore_ascii_case("INTEGER") {
                found.push(format!("{table}.{col}"));
            }
        }
    }
    found.sort();
    let mut mapped: Vec<String> = UNIQUE_CONSTRAINTS
        .iter()
        .map(|(cols, _)| (*cols).to_string())
        .collect();
    mapped.sort();
    assert_eq!(
        found, mapped,
        "errors::UNIQUE_CONSTRAINTS must list exactly the schema's unique keys"
    );
}

#[test]
fn every_constraint_in_the_migrations_is_named() {
    for m in MIGRATIONS {
        for line in m.sql.lines().map(str::trim) {
            if line.starts_with("--") || line.starts_with("CREATE ") || line.starts_with(')') {
                continue;
            }
            let is_constraint = [
                "CHECK",
                "UNIQUE",
                "PRIMARY KEY",
                "FOREIGN KEY",
                "REFERENCES",
            ]
            .iter()
            .any(|k| line.contains(k));
            assert!(
                !is_constraint || line.contains("CONSTRAINT "),
                "unnamed constraint in {:04}_{}: {line}",
                m.version,
                m.name
            );
        }
    }
}

#[test]
fn shared_constraint_names_are_in_the_schema() {
    let sql: String = MIGRATIONS.iter().map(|m| m.sql).collect();
    for name in [
        constraints::ACCESS_KEY_PK,
        constraints::ACCOUNT_NAME_UNIQUE,
        constraints::NONCE_PK,
        constraints::PRIVATE_IP_UNIQUE,
        constraints::IDEMPOTENCY_PK,
        constraints::PRIVATE_IP_VSWITCH_FK,
        constraints::VSWITCH_VPC_FK,
    ] {
        assert!(
            sql.contains(&format!("CONSTRAINT {name} ")),
            "{name} is not in the schema"
        );
    }
}

#[test]
fn check_constraints_fail_as_conflicts_named_by_the_schema() {
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    let vpc_row = |is_default: i64, tags: &str| {
        w.execute(
            "INSERT INTO vpcs (id, account_id, region_id, cidr_block, name, description, status,
                 is_default, vrouter_id, route_table_id, resource_group_id, tags, created_at)
             VALUES ('vpc-x', 1, 'r', 'c', '', '', 's', ?1, 'vrt-x', 'vtb-x', 'rg-x', ?2, 0)",
            rusqlite::params![is_default, tags],
        )
        .map_err(db_err)
    };
    assert_eq!(
        conflict_name(vpc_row(2, "[]").unwrap_err()),
        "vpc_is_default_bool"
    );
    assert_eq!(
        conflict_name(vpc_row(0, "{}").unwrap_err()),
        "vpc_tags_json_array"
    );
    assert_eq!(
        conflict_name(vpc_row(0, "not json").unwrap_err()),
        "vpc_tags_json_array"
    );
    vpc_row(0, "[]").unwrap();
    w.execute_batch(
        "INSERT INTO vswitches (id, account_id, region_id, vpc_id, zone_id, cidr_block, name,
             description, status, is_default, resource_group_id, tags, created_at)
         VALUES ('vsw-x', 1, 'r', 'vpc-x', 'z', 'c', '', '', 's', 0, 'rg-x', '[]', 0)",
    )
    .unwrap();
    let ip = |v: i64| {
        w.execute(
            "INSERT INTO private_ips (vswitch_id, ip, owner) VALUES ('vsw-x', ?1, 'o')",
            [v],
        )
        .map_err(db_err)
    };
    assert_eq!(
        conflict_name(ip(1 << 32).unwrap_err()),
        "private_ip_ipv4_range"
    );
    assert_eq!(conflict_name(ip(-1).unwrap_err()), "private_ip_ipv4_range");
    ip(0xFFFF_FFFF).unwrap();
}

#[test]
fn a_row_that_does_not_decode_is_a_backend_error() {
    let store = SqliteStore::open_in_memory().unwrap();
    let v = vpc(AccountId(7));
    let mut tx = store.write().unwrap();
    tx.vpc_insert(&v).unwrap();
    tx.commit().unwrap();
    writer(&store)
        .execute("UPDATE vpcs SET vrouter_id = 'not-a-vrouter'", [])
        .unwrap();
    let got = store.read().unwrap().vpc_list(v.account_id, &v.region_id);
    assert!(matches!(got, Err(StoreError::Backend(_))), "{got:?}");
}
