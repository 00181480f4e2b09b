//! SQLite-specific behaviour the conformance suite cannot see: connection settings, the busy
//! timeout, read-only readers, the constraint-name table against the live schema, and rows
//! that fail to decode.

use super::*;
use crate::errors::FOREIGN_KEYS;
use crate::errors::UNIQUE_CONSTRAINTS;
use crate::migrate::MIGRATIONS;
use eni_store::{
    constraints, Eni, EniQuery, Instance, IpKind, Ipv6Entry, PrivateIp, SecurityGroup, VSwitch, Vpc,
};
use eni_types::ids::{
    AccountId, EniId, InstanceId, ResourceGroupId, RouteTableId, SecurityGroupId, VRouterId,
    VSwitchId, VpcId,
};

fn vpc(account: AccountId) -> Vpc {
    Vpc {
        id: VpcId::generate("cn-hangzhou"),
        account_id: account,
        region_id: "cn-hangzhou".into(),
        cidr_block: "10.0.0.0/8".into(),
        ipv6_cidr_block: None,
        ipv6_isp: None,
        name: String::new(),
        description: String::new(),
        status: "Available".into(),
        is_default: false,
        vrouter_id: VRouterId::generate("cn-hangzhou"),
        route_table_id: RouteTableId::generate("cn-hangzhou"),
        route_table: Default::default(),
        resource_group_id: ResourceGroupId::generate("cn-hangzhou"),
        tags: vec![],
        created_at: 0,
    }
}

fn vswitch(vpc: &Vpc) -> VSwitch {
    VSwitch {
        id: VSwitchId::generate(&vpc.region_id),
        account_id: vpc.account_id,
        region_id: vpc.region_id.clone(),
        vpc_id: vpc.id.clone(),
        zone_id: "cn-hangzhou-h".into(),
        cidr_block: "10.0.0.0/24".into(),
        ipv6_cidr_block: None,
        name: String::new(),
        description: String::new(),
        status: "Available".into(),
        is_default: false,
        resource_group_id: vpc.resource_group_id.clone(),
        tags: vec![],
        created_at: 0,
    }
}

fn security_group(vpc: &Vpc) -> SecurityGroup {
    SecurityGroup {
        id: SecurityGroupId::generate(&vpc.region_id),
        account_id: vpc.account_id,
        region_id: vpc.region_id.clone(),
        vpc_id: vpc.id.clone(),
        name: String::new(),
        description: String::new(),
        group_type: "normal".into(),
        resource_group_id: vpc.resource_group_id.clone(),
        tags: vec![],
        created_at: 0,
        inner_access_policy: eni_store::SgPolicy::Accept,
    }
}

fn eni(vsw: &VSwitch, mac: &str) -> Eni {
    Eni {
        id: EniId::generate(&vsw.region_id),
        account_id: vsw.account_id,
        region_id: vsw.region_id.clone(),
        zone_id: vsw.zone_id.clone(),
        vpc_id: vsw.vpc_id.clone(),
        vswitch_id: vsw.id.clone(),
        eni_type: "Secondary".into(),
        status: "Available".into(),
        due_at: None,
        instance_id: None,
        device_index: None,
        mac: mac.into(),
        primary_ip: 0x0A00_0001,
        name: String::new(),
        description: String::new(),
        security_group_ids: vec![],
        delete_on_release: false,
        source_dest_check: false,
        queue_number: 1,
        traffic_mode: "Standard".into(),
        resource_group_id: vsw.resource_group_id.clone(),
        tags: vec![],
        created_at: 0,
    }
}

fn instance(vsw: &VSwitch) -> Instance {
    Instance {
        id: InstanceId::generate(&vsw.region_id),
        account_id: vsw.account_id,
        region_id: vsw.region_id.clone(),
        zone_id: vsw.zone_id.clone(),
        instance_type: "ecs.g7.large".into(),
        vpc_id: Some(vsw.vpc_id.clone()),
        vswitch_id: Some(vsw.id.clone()),
        status: "Running".into(),
        due_at: None,
        name: String::new(),
        host_name: String::new(),
        description: String::new(),
        image_id: "img".into(),
        resource_group_id: vsw.resource_group_id.clone(),
        tags: vec![],
        created_at: 0,
        started_at: None,
        host_id: None,
        tenancy: "default".into(),
        host_vcpus: 0,
        user_data: String::new(),
        system_disk_category: "cloud_essd".into(),
        system_disk_size: 40,
        system_disk: Default::default(),
        metadata: Default::default(),
    }
}

fn v4(vsw: &VSwitch, ip: u32, kind: IpKind, prefix: Option<u32>) -> PrivateIp {
    PrivateIp {
        vswitch_id: vsw.id.clone(),
        ip,
        owner: "eni-x".into(),
        kind,
        prefix,
    }
}

fn v6(vsw: &VSwitch, addr: &str, is_prefix: bool) -> Ipv6Entry {
    Ipv6Entry {
        vswitch_id: vsw.id.clone(),
        addr: addr.into(),
        owner: "eni-x".into(),
        is_prefix,
    }
}

/// A store with one VPC and one vSwitch in it.
fn store_with_vswitch() -> (SqliteStore, Vpc, VSwitch) {
    let store = SqliteStore::open_in_memory().unwrap();
    let v = vpc(AccountId(7));
    let s = vswitch(&v);
    let mut tx = store.write().unwrap();
    tx.vpc_insert(&v).unwrap();
    tx.vswitch_insert(&s).unwrap();
    tx.commit().unwrap();
    (store, v, s)
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
fn new_databases_get_the_page_size_and_writers_the_checkpoint_settings() {
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    let get = |name: &str| -> i64 {
        w.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(get("page_size"), i64::from(PAGE_SIZE));
    assert_eq!(get("wal_autocheckpoint"), i64::from(WAL_AUTOCHECKPOINT));
    assert_eq!(get("temp_store"), 2, "MEMORY");
}

#[test]
fn the_checkpointer_copies_commits_into_the_database_file_unasked() {
    let store = SqliteStore::open_in_memory().unwrap();
    let db = store.path().to_path_buf();
    let size = || std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    // About 2 MB in many small commits: far below the writer's own WAL_AUTOCHECKPOINT, so
    // only the background thread copies them into the database file.
    let big = "x".repeat(2000);
    for _ in 0..1000 {
        let mut v = vpc(AccountId(1));
        v.description = big.clone();
        let mut tx = store.write().unwrap();
        tx.vpc_insert(&v).unwrap();
        tx.commit().unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while size() < 2_000_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes",
            size()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        store.read().unwrap().vpc_count(AccountId(1), "cn-hangzhou"),
        Ok(1000)
    );
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
        constraints::ENI_MAC_UNIQUE,
        constraints::ENI_DEVICE_INDEX_UNIQUE,
        constraints::IPV6_UNIQUE,
        constraints::ENI_SECURITY_GROUP_FK,
        constraints::SG_RULE_UNIQUE,
        constraints::SG_RULE_GROUP_FK,
        constraints::SG_RULE_PEER_FK,
    ] {
        assert!(
            sql.contains(&format!("CONSTRAINT {name} ")),
            "{name} is not in the schema"
        );
    }
    // A rule SQLite can only state as a trigger raises under the rule's name.
    let name = constraints::IPV6_PREFIX_OVERLAP;
    assert!(
        sql.contains(&format!("RAISE(ABORT, '{name}')")),
        "{name} is not in the schema"
    );
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

/// `EXPLAIN QUERY PLAN` of `sql`, one detail line per step.
fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    // The plan does not depend on the values; every parameter is bound to NULL.
    let nulls = (0..st.parameter_count()).map(|_| rusqlite::types::Null);
    st.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn hot_statements_use_indexes() {
    use crate::tx::{addresses, eips, enis, instances, security_group_rules, security_groups};
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    let tables: Vec<String> = w
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let full = EniQuery {
        ids: Some(vec![]),
        instance_id: Some(InstanceId::generate("r")),
        vpc_id: Some(VpcId::generate("r")),
        vswitch_id: Some(VSwitchId::generate("r")),
        eni_type: Some("Secondary".into()),
    };
    let mut statements: Vec<(String, Option<&str>)> = vec![
        (enis::DUE.into(), Some("enis_due_idx")),
        // Every write transaction's first question; each kind's probe is checked below.
        (crate::tx::DUE_ANY.into(), Some("enis_due_idx")),
        (crate::tx::DUE_ANY.into(), Some("instances_due_idx")),
        (crate::tx::DUE_ANY.into(), Some("eips_due_idx")),
        (instances::DUE.into(), Some("instances_due_idx")),
        (addresses::FREE_AT_OR_BELOW.into(), None),
        (addresses::FREE_FIRST_ALIGNED.into(), None),
        (eips::FREE_AT_OR_BELOW.into(), None),
        (eips::IPS_IN.into(), None),
        // The quotas' counts (CreateNetworkInterface, RunInstances, CreateVpc,
        // AllocateEipAddress).
        (crate::tx::RESOURCE_COUNT.into(), Some("PRIMARY KEY")),
        (
            addresses::PRIVATE_IPS_OF.into(),
            Some("private_ips_owner_idx"),
        ),
        (addresses::IPV6_OF.into(), Some("ipv6_addrs_owner_idx")),
        (
            addresses::IPV6_NETS_IN_USE.into(),
            Some("ipv6_addrs_net_idx"),
        ),
        // The probe of the ipv6_addrs_prefix_overlap trigger (0004).
        (
            "SELECT 1 FROM ipv6_addrs WHERE vswitch_id = ?1 AND net = ?2 AND addr <> ?3 \
             AND (is_prefix = 1 OR ?4 = 1)"
                .into(),
            Some("ipv6_addrs_net_idx"),
        ),
        (security_groups::MEMBER_COUNT.into(), None),
        (
            security_group_rules::RULES_OF.into(),
            Some("security_group_rules_group_idx"),
        ),
        // The foreign-key probe when a referenced group is deleted.
        (
            "SELECT 1 FROM security_group_rules WHERE peer_group_id = ?1".into(),
            Some("security_group_rules_peer_idx"),
        ),
    ];
    // Each shape of eni_list, and the index that should serve it.
    let shapes = [
        (EniQuery::default(), "(account_id=? AND region_id=?)"),
        (
            EniQuery {
                ids: full.ids.clone(),
                ..EniQuery::default()
            },
            "(id=?)",
        ),
        (
            EniQuery {
                instance_id: full.instance_id.clone(),
                ..EniQuery::default()
            },
            "(instance_id=?)",
        ),
        (
            EniQuery {
                vpc_id: full.vpc_id.clone(),
                ..EniQuery::default()
            },
            "(vpc_id=?)",
        ),
        (
            EniQuery {
                vswitch_id: full.vswitch_id.clone(),
                ..EniQuery::default()
            },
            "(vswitch_id=?)",
        ),
        (
            EniQuery {
                eni_type: full.eni_type.clone(),
                ..EniQuery::default()
            },
            "(account_id=? AND region_id=? AND eni_type=?)",
        ),
    ];
    for (q, index) in &shapes {
        let (sql, _) = enis::list_statement(AccountId(1), "r", q).unwrap();
        statements.push((sql, Some(index)));
    }
    // With every filter, any of the narrow indexes will do.
    let (sql, _) = enis::list_statement(AccountId(1), "r", &full).unwrap();
    statements.push((sql, None));
    for (sql, index) in &statements {
        let steps = plan(&w, sql);
        for step in &steps {
            // "SCAN t" (with or without a covering index) reads the whole table.
            let scanned = step
                .strip_prefix("SCAN ")
                .and_then(|rest| rest.split_whitespace().next());
            assert!(
                !scanned.is_some_and(|t| tables.iter().any(|x| x == t)),
                "full scan in {sql}:\n{steps:#?}"
            );
        }
        if let Some(index) = index {
            assert!(
                steps
                    .iter()
                    .any(|s| s.starts_with("SEARCH ") && s.contains(index)),
                "{index} unused by {sql}:\n{steps:#?}"
            );
        }
    }
}

/// Each driver of eni_find walks its own index, reads no table whole, and (but for the short
/// lists) needs no sort for the page: the page costs about the rows it returns.
#[test]
fn eni_find_drivers_use_their_indexes() {
    use crate::tx::eni_find;
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    // Every filter at once, so every driver can be built; the driver's index must win.
    let f = eni_store::EniFilter {
        ids: Some(vec![EniId::generate("r")]),
        instance_id: Some(InstanceId::generate("r")),
        vpc_id: Some(VpcId::generate("r")),
        vswitch_id: Some(VSwitchId::generate("r")),
        eni_types: Some(vec!["Secondary".into()]),
        status: Some("InUse".into()),
        name: Some("web".into()),
        resource_group_id: Some("rg-x".into()),
        security_group_id: Some(SecurityGroupId::generate("r")),
        primary_ip: Some(1),
        private_ips: Some(vec![1, 2]),
        ipv6: Some(vec!["2408::1".into()]),
        tags: vec![("env".into(), Some("prod".into())), ("team".into(), None)],
    };
    // Without a vSwitch, a group walks all its members; with one, only those in it (0013).
    // (As the API asks: a group filter lists no primary ENIs.)
    let no_vswitch = eni_store::EniFilter {
        security_group_id: f.security_group_id.clone(),
        eni_types: Some(vec!["Secondary".into(), "Trunk".into()]),
        ..Default::default()
    };
    let expect = |driver: &str, f: &eni_store::EniFilter| -> (&'static str, bool) {
        match driver {
            "Group" if f.vswitch_id.is_some() => (
                "eni_security_groups_vswitch_idx (security_group_id=? AND vswitch_id=?",
                true,
            ),
            "Ids" => ("(id=?", false),
            "PrivateIps" => ("private_ips_ip_idx", false),
            "Ipv6" => ("ipv6_addrs_addr_idx", false),
            "PrimaryIp" => ("private_ips_ip_idx", false),
            "Instance" => ("(instance_id=?", false),
            // The group's unique key (group, eni_seq), SQLite's automatic index.
            "Group" => ("eni_security_groups_2 (security_group_id=?", true),
            "VSwitch" => ("enis_vswitch_idx", true),
            "Vpc" => ("enis_vpc_seq_idx", true),
            "Status" => ("enis_status_idx", true),
            "Type" => ("enis_type_idx", true),
            "Name" => ("enis_name_idx", true),
            "ResourceGroup" => ("enis_resource_group_idx", true),
            "All" => ("(account_id=? AND region_id=?", true),
            "Tag(0)" => ("eni_tags_value_idx", true),
            "Tag(1)" => ("eni_tags_key_idx", true),
            other => panic!("no expectation for {other}"),
        }
    };
    let with_filter = |f: &eni_store::EniFilter| {
        eni_find::statements_by_driver(f)
            .into_iter()
            .map(|(d, page, count)| (expect(&d, f), d, page, count))
            .collect::<Vec<_>>()
    };
    let all = with_filter(&f).into_iter();
    let group_alone = with_filter(&no_vswitch)
        .into_iter()
        .filter(|(_, d, _, _)| d == "Group");
    for ((index, ordered), driver, page, count) in all.chain(group_alone) {
        for (what, sql) in [("page", &page), ("count", &count)] {
            let steps = plan(&w, sql);
            // (The lists of IDs and addresses arrive as json_each rows: those are scanned.)
            assert!(
                !steps
                    .iter()
                    .any(|s| s.starts_with("SCAN ") && !s.starts_with("SCAN json_each")),
                "{driver} {what} scans a table:\n{steps:#?}\n{sql}"
            );
            assert!(
                steps.iter().any(|s| s.contains(index)),
                "{driver} {what} does not use {index}:\n{steps:#?}\n{sql}"
            );
            if what == "page" && ordered {
                assert!(
                    !steps.iter().any(|s| s.contains("FOR ORDER BY")),
                    "{driver} page sorts:\n{steps:#?}"
                );
            }
        }
    }
}

#[test]
fn broad_counts_read_their_index_alone() {
    use crate::tx::eni_find;
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    let by_tag = eni_store::EniFilter {
        tags: vec![("team".into(), Some("a".into()))],
        ..Default::default()
    };
    let by_vswitch_and_status = eni_store::EniFilter {
        vswitch_id: Some(VSwitchId::generate("r")),
        status: Some("Available".into()),
        eni_types: Some(vec!["Secondary".into()]),
        ..Default::default()
    };
    let by_tag_vpc_and_type = eni_store::EniFilter {
        vpc_id: Some(VpcId::generate("r")),
        eni_types: Some(vec!["Secondary".into()]),
        security_group_id: Some(SecurityGroupId::generate("r")),
        ..by_tag.clone()
    };
    for (f, driver, index) in [
        (&by_tag, "Tag(0)", "COVERING INDEX eni_tags_value_idx"),
        (
            &by_tag_vpc_and_type,
            "Tag(0)",
            "COVERING INDEX eni_tags_value_idx",
        ),
        (
            &by_vswitch_and_status,
            "VSwitch",
            "COVERING INDEX enis_vswitch_idx",
        ),
    ] {
        let (_, _, count) = eni_find::statements_by_driver(f)
            .into_iter()
            .find(|(d, _, _)| d == driver)
            .unwrap();
        let steps = plan(&w, &count);
        assert!(
            steps.iter().any(|s| s.contains(index)),
            "{driver} count does not read {index} alone:\n{steps:#?}\n{count}"
        );
        assert!(
            !steps.iter().any(|s| s.contains("INTEGER PRIMARY KEY")),
            "{driver} count reads ENI rows:\n{steps:#?}"
        );
    }
}

#[test]
fn every_foreign_key_of_the_schema_is_in_the_table() {
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    let mut found: Vec<String> = w
        .prepare(
            "SELECT t.name, f.\"from\", f.\"table\", f.\"to\", f.on_delete
             FROM sqlite_schema AS t, pragma_foreign_key_list(t.name) AS f
             WHERE t.type = 'table'",
        )
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{}.{} -> {}.{} on delete {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    found.sort();
    let mut listed: Vec<String> = FOREIGN_KEYS
        .iter()
        .map(|k| {
            let action = if k.cascade { "CASCADE" } else { "NO ACTION" };
            format!(
                "{}.{} -> {}.id on delete {action}",
                k.child, k.column, k.parent
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "errors::FOREIGN_KEYS must list exactly the schema's foreign keys"
    );
    // And each under the name the schema gives it.
    let sql: String = MIGRATIONS.iter().map(|m| m.sql).collect();
    for k in FOREIGN_KEYS {
        let declared = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} (id)",
            k.name, k.column, k.parent
        );
        assert!(sql.contains(&declared), "{declared} is not in the schema");
    }
}

#[test]
fn foreign_key_refusals_name_the_key_that_fired() {
    let (store, v, s) = store_with_vswitch();
    let acct = v.account_id;
    let other_vpc = vpc(acct);
    let nowhere = vswitch(&other_vpc);
    let mut tx = store.write().unwrap();
    // Inserts referencing a missing parent.
    let refused = [
        (
            tx.security_group_insert(&security_group(&other_vpc)),
            "security_group_vpc_fk",
        ),
        (
            tx.eni_insert(&eni(&nowhere, "02:00:00:00:00:01")),
            "eni_vswitch_fk",
        ),
        (
            tx.instance_insert(&instance(&nowhere)),
            "instance_vswitch_fk",
        ),
        (
            tx.ipv6_insert(&v6(&nowhere, "2408::1", false)),
            "ipv6_vswitch_fk",
        ),
        (
            tx.ip_free_insert(&nowhere.id, 1, 2),
            "ip_free_range_vswitch_fk",
        ),
        (
            tx.eip_free_insert("192.0.2.0/24", 1, 2),
            "eip_free_range_pool_fk",
        ),
        (
            tx.private_ip_insert(&v4(&nowhere, 1, IpKind::Secondary, None)),
            constraints::PRIVATE_IP_VSWITCH_FK,
        ),
    ];
    for (result, name) in refused {
        assert_eq!(conflict_name(result.unwrap_err()), name);
    }
    // Deletes of a parent that one kind of child still references.
    let g = security_group(&v);
    tx.security_group_insert(&g).unwrap();
    let s2 = vswitch(&v);
    tx.vswitch_insert(&s2).unwrap();
    assert_eq!(
        conflict_name(tx.vpc_delete(acct, &v.id).unwrap_err()),
        constraints::VSWITCH_VPC_FK,
        "vSwitches are named before security groups"
    );
    tx.vswitch_delete(acct, &s2.id).unwrap();
    tx.vswitch_delete(acct, &s.id).unwrap();
    assert_eq!(
        conflict_name(tx.vpc_delete(acct, &v.id).unwrap_err()),
        "security_group_vpc_fk"
    );
    tx.security_group_delete(acct, &g.id).unwrap();
    let s = vswitch(&v);
    tx.vswitch_insert(&s).unwrap();
    let e = eni(&s, "02:00:00:00:00:02");
    let i = instance(&s);
    let addr = v6(&s, "2408::2", false);
    tx.eni_insert(&e).unwrap();
    assert_eq!(
        conflict_name(tx.vswitch_delete(acct, &s.id).unwrap_err()),
        "eni_vswitch_fk"
    );
    tx.eni_delete(acct, &e.id).unwrap();
    tx.instance_insert(&i).unwrap();
    assert_eq!(
        conflict_name(tx.vswitch_delete(acct, &s.id).unwrap_err()),
        "instance_vswitch_fk"
    );
    tx.instance_delete(acct, &i.id).unwrap();
    tx.ipv6_insert(&addr).unwrap();
    assert_eq!(
        conflict_name(tx.vswitch_delete(acct, &s.id).unwrap_err()),
        "ipv6_vswitch_fk"
    );
    tx.eni_insert(&e).unwrap();
    tx.private_ip_insert(&v4(&s, 9, IpKind::Primary, None))
        .unwrap();
    assert_eq!(
        conflict_name(tx.vswitch_delete(acct, &s.id).unwrap_err()),
        constraints::PRIVATE_IP_VSWITCH_FK,
        "addresses are named first"
    );
    tx.commit().unwrap();
}

#[test]
fn new_check_constraints_fail_as_conflicts_named_by_the_schema() {
    let (store, v, s) = store_with_vswitch();
    let mut tx = store.write().unwrap();
    let name = |r: Result<(), StoreError>| conflict_name(r.unwrap_err());

    assert_eq!(
        name(tx.private_ip_insert(&v4(&s, 40, IpKind::Prefix, None))),
        "private_ip_prefix_iff_kind"
    );
    assert_eq!(
        name(tx.private_ip_insert(&v4(&s, 40, IpKind::Secondary, Some(32)))),
        "private_ip_prefix_iff_kind"
    );
    assert_eq!(
        name(tx.private_ip_insert(&v4(&s, 40, IpKind::Prefix, Some(36)))),
        "private_ip_prefix_contains_ip",
        "an unaligned prefix"
    );
    assert_eq!(
        name(tx.private_ip_insert(&v4(&s, 48, IpKind::Prefix, Some(32)))),
        "private_ip_prefix_contains_ip",
        "an address outside its prefix"
    );
    tx.private_ip_insert(&v4(&s, 47, IpKind::Prefix, Some(32)))
        .unwrap();
    assert_eq!(
        name(tx.ip_free_insert(&s.id, 5, 4)),
        "ip_free_range_ordered"
    );
    tx.eip_pool_reset("192.0.2.0/24").unwrap();
    assert_eq!(
        name(tx.eip_free_insert("192.0.2.0/24", 5, 4)),
        "eip_free_range_ordered"
    );
    assert_eq!(
        name(tx.ipv6_insert(&v6(&s, "2408::", true))),
        "ipv6_prefix_has_length"
    );
    assert_eq!(
        name(tx.ipv6_insert(&v6(&s, "2408::/80", false))),
        "ipv6_prefix_has_length"
    );
    assert_eq!(
        name(tx.ipv6_insert(&v6(&s, "2408::/64", true))),
        "ipv6_net_is_a_80",
        "a prefix is a /80"
    );
    let ipv6_vpc = |isp: Option<&str>, block: Option<&str>| Vpc {
        ipv6_cidr_block: block.map(String::from),
        ipv6_isp: isp.map(String::from),
        ..vpc(v.account_id)
    };
    assert_eq!(
        name(tx.vpc_insert(&ipv6_vpc(Some("Cogent"), Some("2408:4005:3ea::/56")))),
        "vpc_ipv6_isp_valid"
    );
    assert_eq!(
        name(tx.vpc_insert(&ipv6_vpc(Some("BGP"), None))),
        "vpc_ipv6_isp_only_with_block"
    );
    assert_eq!(
        name(tx.vpc_insert(&ipv6_vpc(None, Some("2408:4005:3ea::/56")))),
        "vpc_ipv6_block_has_isp"
    );
    tx.vpc_insert(&ipv6_vpc(Some("ChinaUnicom"), Some("2408:4005:3ea::/56")))
        .unwrap();
    assert_eq!(
        name(tx.security_group_insert(&SecurityGroup {
            group_type: "special".into(),
            ..security_group(&v)
        })),
        "security_group_type_valid"
    );

    let e = |mac: &str| eni(&s, mac);
    let ok_mac = "02:00:00:00:00:0a";
    for (bad, constraint) in [
        (
            Eni {
                status: "Attached".into(),
                ..e(ok_mac)
            },
            "eni_status_valid",
        ),
        (
            Eni {
                eni_type: "secondary".into(),
                ..e(ok_mac)
            },
            "eni_type_valid",
        ),
        (
            Eni {
                due_at: Some(1),
                ..e(ok_mac)
            },
            "eni_due_only_in_transition",
        ),
        (e("02:00:00:00:00:0A"), "eni_mac_canonical"),
        (e("02-00-00-00-00-0a"), "eni_mac_canonical"),
        (e("02:00:00:00:00:0a:"), "eni_mac_canonical"),
        (e("2:0:0:0:0:a"), "eni_mac_canonical"),
    ] {
        assert_eq!(name(tx.eni_insert(&bad)), constraint, "{bad:?}");
    }
    let good = e(ok_mac);
    tx.eni_insert(&good).unwrap();

    for (bad, constraint) in [
        (
            Instance {
                status: "Rebooting".into(),
                ..instance(&s)
            },
            "instance_status_valid",
        ),
        (
            Instance {
                vswitch_id: None,
                ..instance(&s)
            },
            "instance_network_complete",
        ),
        (
            Instance {
                due_at: Some(1),
                ..instance(&s)
            },
            "instance_due_only_in_transition",
        ),
    ] {
        assert_eq!(name(tx.instance_insert(&bad)), constraint, "{bad:?}");
    }
    tx.commit().unwrap();

    // What the typed rows cannot express, written behind the store's back.
    let w = writer(&store);
    for (sql, constraint) in [
        (
            "UPDATE private_ips SET kind = 'tertiary'",
            "private_ip_kind_valid",
        ),
        (
            "UPDATE enis SET delete_on_release = 2",
            "eni_delete_on_release_bool",
        ),
        (
            "UPDATE enis SET source_dest_check = -1",
            "eni_source_dest_check_bool",
        ),
        ("UPDATE enis SET device_index = -1", "eni_device_index_u32"),
        (
            "UPDATE enis SET queue_number = 4294967296",
            "eni_queue_number_u32",
        ),
        (
            "UPDATE enis SET primary_ip = -1",
            "eni_primary_ip_ipv4_range",
        ),
        ("UPDATE enis SET tags = '{}'", "eni_tags_json_array"),
        (
            "UPDATE ip_free_ranges SET hi = 4294967296",
            "ip_free_range_ipv4_range",
        ),
        (
            "UPDATE eip_free_ranges SET hi = 4294967296",
            "eip_free_range_ipv4_range",
        ),
    ] {
        if sql.contains("UPDATE ip_free_ranges") {
            w.execute_batch("INSERT INTO ip_free_ranges SELECT id, 1, 2 FROM vswitches")
                .unwrap();
        }
        if sql.contains("eip_free_ranges") {
            w.execute_batch("INSERT INTO eip_free_ranges SELECT id, 1, 2 FROM eip_pools")
                .unwrap();
        }
        let e = w.execute(sql, []).map_err(db_err).unwrap_err();
        assert_eq!(conflict_name(e), constraint, "{sql}");
    }
}

#[test]
fn updating_a_row_that_is_not_there_is_a_backend_error() {
    let (store, _, s) = store_with_vswitch();
    let mut tx = store.write().unwrap();
    let e = eni(&s, "02:00:00:00:00:01");
    let i = instance(&s);
    assert!(matches!(tx.eni_update(&e), Err(StoreError::Backend(_))));
    assert!(matches!(
        tx.instance_update(&i),
        Err(StoreError::Backend(_))
    ));
    tx.eni_insert(&e).unwrap();
    tx.instance_insert(&i).unwrap();
    // Nor is another account's row there to update.
    let theirs = Eni {
        account_id: AccountId(8),
        name: "stolen".into(),
        ..e.clone()
    };
    assert!(matches!(
        tx.eni_update(&theirs),
        Err(StoreError::Backend(_))
    ));
    let theirs = Instance {
        account_id: AccountId(8),
        name: "stolen".into(),
        ..i.clone()
    };
    assert!(matches!(
        tx.instance_update(&theirs),
        Err(StoreError::Backend(_))
    ));
    assert_eq!(tx.eni_get(e.account_id, &e.id), Ok(Some(e.clone())));
    assert_eq!(tx.instance_get(i.account_id, &i.id), Ok(Some(i.clone())));
    tx.commit().unwrap();
}

#[test]
fn a_database_of_schema_1_opens_migrated_and_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eni.db");
    {
        let old = Connection::open(&path).unwrap();
        crate::migrate::apply_these(&old, &MIGRATIONS[..1]).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let v = vpc(AccountId(7));
    let s = vswitch(&v);
    let e = eni(&s, "02:00:00:00:00:01");
    let mut tx = store.write().unwrap();
    tx.vpc_insert(&v).unwrap();
    tx.vswitch_insert(&s).unwrap();
    tx.eni_insert(&e).unwrap();
    tx.private_ip_insert(&v4(&s, e.primary_ip, IpKind::Primary, None))
        .unwrap();
    tx.commit().unwrap();
    let version: u32 = writer(&store)
        .query_row("SELECT max(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version as usize, MIGRATIONS.len());
    assert_eq!(
        store.read().unwrap().eni_get(e.account_id, &e.id),
        Ok(Some(e))
    );
}

#[test]
fn rule_checks_fail_as_conflicts_named_by_the_schema() {
    let (store, v, _) = store_with_vswitch();
    let g = security_group(&v);
    let mut tx = store.write().unwrap();
    tx.security_group_insert(&g).unwrap();
    tx.commit().unwrap();
    let w = writer(&store);
    let insert = |cols: &str, vals: &str| {
        w.execute(
            &format!(
                "INSERT INTO security_group_rules (id, security_group_id, direction, ip_protocol,
                     port_from, port_to, source_port_range, source_cidr_ip, ipv6_source_cidr_ip,
                     dest_cidr_ip, ipv6_dest_cidr_ip, peer_group_id, peer_key, policy, priority,
                     nic_type, description, created_at{cols})
                 SELECT 'sgr-x', id, 'ingress', 'TCP', 22, 22, '', '10.0.0.0/8', '', '', '',
                     NULL, '', 'Accept', 1, 'intranet', '', 0{vals} FROM security_groups"
            ),
            [],
        )
        .map_err(db_err)
    };
    insert("", "").unwrap();
    w.execute_batch("DELETE FROM security_group_rules").unwrap();
    for (sql, constraint) in [
        ("UPDATE security_group_rules SET direction = 'in'", "security_group_rule_direction_valid"),
        ("UPDATE security_group_rules SET ip_protocol = 'tcp'", "security_group_rule_protocol_valid"),
        ("UPDATE security_group_rules SET port_from = 23", "security_group_rule_ports_valid"),
        ("UPDATE security_group_rules SET port_to = 65536", "security_group_rule_ports_valid"),
        ("UPDATE security_group_rules SET ip_protocol = 'ICMP'", "security_group_rule_ports_valid"),
        ("UPDATE security_group_rules SET policy = 'accept'", "security_group_rule_policy_valid"),
        ("UPDATE security_group_rules SET priority = 101", "security_group_rule_priority_valid"),
        ("UPDATE security_group_rules SET peer_key = 'sg-x'", "security_group_rule_peer_key_matches"),
        (
            "UPDATE security_group_rules SET peer_group_id = security_group_id, peer_key = security_group_id, source_cidr_ip = ''",
            "security_group_rule_peer_not_self",
        ),
        ("UPDATE security_group_rules SET source_cidr_ip = ''", "security_group_rule_one_remote"),
        (
            "UPDATE security_group_rules SET ipv6_source_cidr_ip = '2408::/16'",
            "security_group_rule_one_remote",
        ),
        (
            "UPDATE security_groups SET inner_access_policy = 'accept'",
            "security_group_inner_access_policy_valid",
        ),
    ] {
        insert("", "").unwrap();
        let e = w.execute(sql, []).map_err(db_err).unwrap_err();
        assert_eq!(conflict_name(e), constraint, "{sql}");
        w.execute_batch("DELETE FROM security_group_rules").unwrap();
    }
}

#[test]
fn upgrading_from_0006_gives_groups_their_inner_access_policy() {
    let conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    crate::migrate::apply_these(&conn, &MIGRATIONS[..6]).unwrap();
    conn.execute_batch(
        "INSERT INTO vpcs (id, account_id, region_id, cidr_block, name, description, status,
             is_default, vrouter_id, route_table_id, resource_group_id, created_at)
         VALUES ('vpc-a', 1, 'r', 'c', '', '', 's', 0, 'vrt-a', 'vtb-a', 'rg-a', 0);
         INSERT INTO security_groups (id, account_id, region_id, vpc_id, name, description,
             group_type, resource_group_id, created_at)
         VALUES ('sg-n', 1, 'r', 'vpc-a', '', '', 'normal', 'rg-a', 0),
                ('sg-e', 1, 'r', 'vpc-a', '', '', 'enterprise', 'rg-a', 0);",
    )
    .unwrap();
    crate::migrate::apply(&conn).unwrap();
    let policies: Vec<(String, String)> = conn
        .prepare("SELECT id, inner_access_policy FROM security_groups ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        policies,
        vec![
            ("sg-e".to_string(), "Drop".to_string()),
            ("sg-n".to_string(), "Accept".to_string())
        ]
    );
}

#[test]
fn upgrading_from_0011_orders_memberships_and_counts_what_is_there() {
    let conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    crate::migrate::apply_these(&conn, &MIGRATIONS[..11]).unwrap();
    let eni = |seq: i64, ty: &str, status: &str| {
        format!(
            "INSERT INTO enis (seq, id, account_id, region_id, zone_id, vpc_id, vswitch_id,
                 eni_type, status, mac, primary_ip, name, description, delete_on_release,
                 source_dest_check, queue_number, traffic_mode, resource_group_id, created_at)
             VALUES ({seq}, 'eni-{seq}', 1, 'r', 'z', 'vpc-a', 'vsw-a', '{ty}', '{status}',
                 '02:00:00:00:00:0{seq}', {seq}, '', '', 0, 0, 1, 'Standard', 'rg-a', 0);"
        )
    };
    conn.execute_batch(&format!(
        "INSERT INTO vpcs (id, account_id, region_id, cidr_block, name, description, status,
             is_default, vrouter_id, route_table_id, resource_group_id, created_at)
         VALUES ('vpc-a', 1, 'r', 'c', '', '', 's', 0, 'vrt-a', 'vtb-a', 'rg-a', 0);
         INSERT INTO vswitches (id, account_id, region_id, vpc_id, zone_id, cidr_block, name,
             description, status, is_default, resource_group_id, created_at)
         VALUES ('vsw-a', 1, 'r', 'vpc-a', 'z', 'c', '', '', 's', 0, 'rg-a', 0);
         INSERT INTO security_groups (id, account_id, region_id, vpc_id, name, description,
             group_type, resource_group_id, created_at)
         VALUES ('sg-a', 1, 'r', 'vpc-a', '', '', 'normal', 'rg-a', 0);
         {}{}{}
         INSERT INTO eni_security_groups (eni_id, position, security_group_id)
         VALUES ('eni-3', 0, 'sg-a'), ('eni-5', 0, 'sg-a'), ('eni-7', 0, 'sg-a');",
        eni(3, "Secondary", "Available"),
        eni(5, "Primary", "InUse"),
        eni(7, "Trunk", "InUse"),
    ))
    .unwrap();
    crate::migrate::apply(&conn).unwrap();
    let rows = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        rows(
            "SELECT eni_id || ' ' || eni_seq || ' ' || counted FROM eni_security_groups
             ORDER BY security_group_id, eni_seq"
        ),
        vec!["eni-3 3 1", "eni-5 5 0", "eni-7 7 1"]
    );
    assert_eq!(
        rows("SELECT dim || ' ' || value || ' ' || n FROM eni_counts ORDER BY dim, value"),
        vec![
            "members sg-a 3",
            "rg rg-a 3",
            "sg sg-a 2",
            "status Available 1",
            "status InUse 2",
            "type Primary 1",
            "type Secondary 1",
            "type Trunk 1",
            "vpc vpc-a 3",
            "vswitch vsw-a 3",
        ]
    );
}

#[test]
fn a_full_database_is_unavailable_and_reads_go_on() {
    let store = SqliteStore::open_in_memory().unwrap();
    let v = vpc(AccountId(7));
    let mut tx = store.write().unwrap();
    tx.vpc_insert(&v).unwrap();
    tx.commit().unwrap();
    // A page limit at the current size is a full disk to SQLite (SQLITE_FULL).
    {
        let w = writer(&store);
        let pages: i64 = w.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        w.pragma_update(None, "max_page_count", pages).unwrap();
    }
    let mut big = vpc(AccountId(7));
    big.description = "x".repeat(64 * 1024);
    let got = eni_store::with_write(&store, |tx| tx.vpc_insert(&big));
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    assert_eq!(
        store.read().unwrap().vpc_get(v.account_id, &v.id),
        Ok(Some(v.clone()))
    );
    // Room again: writes work at once.
    writer(&store)
        .pragma_update(None, "max_page_count", 1_000_000_000i64)
        .unwrap();
    eni_store::with_write(&store, |tx| tx.vpc_insert(&big)).unwrap();
}

/// The agents' deltas trust the log: a trigger that moved the generation without logging a
/// scope would hide its change from every agent until the next resync.
#[test]
fn every_trigger_that_moves_the_dataplane_generation_logs_its_scope() {
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    let triggers: Vec<(String, String)> = w
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let bumps: Vec<&(String, String)> = triggers
        .iter()
        .filter(|(_, sql)| sql.contains("name = 'dataplane'"))
        .collect();
    assert!(bumps.len() >= 19, "{bumps:?}");
    for (name, sql) in bumps {
        assert!(
            sql.contains("INSERT OR IGNORE INTO dataplane_changes"),
            "{name} moves the generation but logs no scope"
        );
    }
}

/// The ENI and instance update triggers skip writes of what no host renders (0019): every
/// other column must be in their WHEN clause, or a change to it would never reach an agent.
#[test]
fn quiet_update_triggers_watch_every_rendered_column() {
    let store = SqliteStore::open_in_memory().unwrap();
    let w = writer(&store);
    let quiet: &[(&str, &[&str])] = &[
        (
            "enis",
            &[
                "name",
                "description",
                "resource_group_id",
                "tags",
                "delete_on_release",
            ],
        ),
        (
            "instances",
            &[
                "name",
                "description",
                "resource_group_id",
                "tags",
                "system_disk_name",
                "system_disk_description",
                "system_disk_tags",
                "metadata_hop_limit",
            ],
        ),
    ];
    for (table, skipped) in quiet {
        let sql: String = w
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?1",
                [format!("{table}_bump_update")],
                |r| r.get(0),
            )
            .unwrap();
        let columns: Vec<String> = w
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for c in &columns {
            let watched = sql.contains(&format!("OLD.{c} IS NOT NEW.{c}"));
            assert_eq!(
                watched,
                !skipped.contains(&c.as_str()),
                "{table}.{c}: watched {watched} by {table}_bump_update"
            );
        }
    }
}

/// The log keeps the last 50,000 generations: at each 1,024th it drops the older ones and
/// raises the floor, and a delta from below the floor is refused (the agent reads everything).
#[test]
fn the_dataplane_change_log_is_pruned_and_its_floor_refuses_older_deltas() {
    let store = SqliteStore::open_in_memory().unwrap();
    {
        let w = writer(&store);
        w.execute_batch(
            "UPDATE counters SET value = 101376 WHERE name = 'dataplane';
             INSERT INTO dataplane_changes (generation, scope) VALUES (10, 'vpc-old');
             INSERT INTO dataplane_changes (generation, scope) VALUES (51377, 'vpc-kept');
             INSERT INTO dataplane_changes (generation, scope) VALUES (101376, 'vpc-new');",
        )
        .unwrap();
        let floor: i64 = w
            .query_row(
                "SELECT value FROM counters WHERE name = 'dataplane_log_floor'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(floor, 101_376 - 50_000);
        let rows: i64 = w
            .query_row("SELECT count(*) FROM dataplane_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2, "generation 10 is pruned");
    }
    let mut tx = store.read().unwrap();
    assert_eq!(tx.dataplane_changes_since(51_375), Ok(None));
    let kept: std::collections::BTreeSet<String> = ["vpc-kept", "vpc-new"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(tx.dataplane_changes_since(51_376), Ok(Some(kept)));
    assert_eq!(tx.dataplane_changes_since(101_377), Ok(None));
}
