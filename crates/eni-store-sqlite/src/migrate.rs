//! Schema migrations: numbered SQL files under `migrations/`, embedded in the binary and
//! applied in order, all pending ones in one `BEGIN IMMEDIATE` transaction, recorded in
//! `schema_migrations`. Opening an up-to-date database applies nothing; two processes opening
//! the same new file at once serialize on the write lock, and the second finds nothing to do.

use crate::errors::db_err;
use eni_store::StoreError;
use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, OptionalExtension};

/// One migration: its number, its name (the file name without number and extension) and SQL.
pub(crate) struct Migration {
    pub(crate) version: u32,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// Every migration, in order. Append only: a released migration is never edited.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "enis",
        sql: include_str!("../migrations/0002_enis.sql"),
    },
    Migration {
        version: 3,
        name: "dataplane_generation",
        sql: include_str!("../migrations/0003_dataplane_generation.sql"),
    },
    Migration {
        version: 4,
        name: "ipv6_prefix_overlap",
        sql: include_str!("../migrations/0004_ipv6_prefix_overlap.sql"),
    },
    Migration {
        version: 5,
        name: "vpc_ipv6_isp",
        sql: include_str!("../migrations/0005_vpc_ipv6_isp.sql"),
    },
    Migration {
        version: 6,
        name: "ipv6_dataplane_generation",
        sql: include_str!("../migrations/0006_ipv6_dataplane_generation.sql"),
    },
    Migration {
        version: 7,
        name: "security_group_rules",
        sql: include_str!("../migrations/0007_security_group_rules.sql"),
    },
    Migration {
        version: 8,
        name: "eips",
        sql: include_str!("../migrations/0008_eips.sql"),
    },
    Migration {
        version: 9,
        name: "eip_pool",
        sql: include_str!("../migrations/0009_eip_pool.sql"),
    },
    Migration {
        version: 10,
        name: "eni_find",
        sql: include_str!("../migrations/0010_eni_find.sql"),
    },
    Migration {
        version: 11,
        name: "resource_counts",
        sql: include_str!("../migrations/0011_resource_counts.sql"),
    },
    Migration {
        version: 12,
        name: "eni_filter_counts",
        sql: include_str!("../migrations/0012_eni_filter_counts.sql"),
    },
    Migration {
        version: 13,
        name: "group_vswitch",
        sql: include_str!("../migrations/0013_group_vswitch.sql"),
    },
    Migration {
        version: 14,
        name: "settings",
        sql: include_str!("../migrations/0014_settings.sql"),
    },
    Migration {
        version: 15,
        name: "hosts",
        sql: include_str!("../migrations/0015_hosts.sql"),
    },
    Migration {
        version: 16,
        name: "overlay",
        sql: include_str!("../migrations/0016_overlay.sql"),
    },
    Migration {
        version: 17,
        name: "dataplane_changes",
        sql: include_str!("../migrations/0017_dataplane_changes.sql"),
    },
    Migration {
        version: 18,
        name: "instance_launch",
        sql: include_str!("../migrations/0018_instance_launch.sql"),
    },
    Migration {
        version: 19,
        name: "labels_and_metadata",
        sql: include_str!("../migrations/0019_labels_and_metadata.sql"),
    },
    Migration {
        version: 20,
        name: "eip_forward_mode",
        sql: include_str!("../migrations/0020_eip_forward_mode.sql"),
    },
    Migration {
        version: 21,
        name: "console_sessions",
        sql: include_str!("../migrations/0021_console_sessions.sql"),
    },
];

const CREATE_TRACKING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER CONSTRAINT schema_migrations_pk PRIMARY KEY,
    name        TEXT    NOT NULL,
    applied_at  INTEGER NOT NULL
)";

/// Brings the database on `conn` (which must be outside a transaction) up to the newest
/// migration. Refuses a database migrated by a newer binary, or one whose recorded history
/// disagrees with the embedded migrations.
pub(crate) fn apply(conn: &Connection) -> Result<(), StoreError> {
    apply_these(conn, MIGRATIONS)
}

/// [`apply`] with a given list: tests build databases of older schema versions with a prefix
/// of [`MIGRATIONS`].
pub(crate) fn apply_these(conn: &Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    register_functions(conn)?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
    let result = apply_in_tx(conn, migrations);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.execute_batch(end).map_err(db_err);
    result.and(ended)
}

/// SQL functions the migrations use to rewrite existing rows; they exist only on the
/// connection that migrates (the statements of the running store compute the same values in
/// Rust, with the same functions).
fn register_functions(conn: &Connection) -> Result<(), StoreError> {
    // eni_ipv6_net80(addr, is_prefix): the /80 an IPv6 row lies in (0004).
    conn.create_scalar_function(
        "eni_ipv6_net80",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let addr: String = ctx.get(0)?;
            let is_prefix: bool = ctx.get(1)?;
            Ok(crate::tx::addresses::ipv6_net80(&addr, is_prefix))
        },
    )
    .map_err(db_err)
}

fn apply_in_tx(conn: &Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    conn.execute_batch(CREATE_TRACKING).map_err(db_err)?;
    let newest = migrations.last().map_or(0, |m| m.version);
    for m in migrations {
        let recorded: Option<String> = conn
            .query_row(
                "SELECT name FROM schema_migrations WHERE version = ?1",
                [m.version],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        match recorded {
            Some(name) if name == m.name => {}
            Some(name) => {
                return Err(StoreError::Backend(format!(
                    "migration {} is recorded as {name:?} but this binary calls it {:?}",
                    m.version, m.name
                )))
            }
            None => {
                conn.execute_batch(m.sql).map_err(|e| {
                    StoreError::Backend(format!("migration {:04}_{}: {e}", m.version, m.name))
                })?;
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, unixepoch())",
                    params![m.version, m.name],
                )
                .map_err(db_err)?;
            }
        }
    }
    let max: Option<u32> = conn
        .query_row("SELECT max(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .map_err(db_err)?;
    match max {
        Some(v) if v > newest => Err(StoreError::Backend(format!(
            "database schema version {v} is newer than this binary's {newest}"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "migration {}", m.name);
        }
    }

    #[test]
    fn migration_files_on_disk_match_the_embedded_list() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, embedded);
    }

    #[test]
    fn applying_twice_is_a_no_op() {
        let conn = Connection::open_in_memory().unwrap();
        apply(&conn).unwrap();
        let schema = |c: &Connection| -> Vec<String> {
            let mut st = c
                .prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let before = schema(&conn);
        apply(&conn).unwrap();
        assert_eq!(schema(&conn), before);
        let n: u32 = conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_database_from_a_newer_binary_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        apply(&conn).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (9999, 'future', 0)",
            [],
        )
        .unwrap();
        let err = apply(&conn).unwrap_err();
        assert!(
            matches!(&err, StoreError::Backend(m) if m.contains("newer")),
            "{err:?}"
        );
        assert!(conn.is_autocommit(), "the failed attempt was rolled back");
    }

    #[test]
    fn a_renamed_migration_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        apply(&conn).unwrap();
        conn.execute(
            "UPDATE schema_migrations SET name = 'other' WHERE version = 1",
            [],
        )
        .unwrap();
        assert!(matches!(apply(&conn), Err(StoreError::Backend(_))));
    }

    #[test]
    fn upgrading_from_0001_keeps_private_ips_in_order_as_secondary() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        apply_these(&conn, &MIGRATIONS[..1]).unwrap();
        conn.execute_batch(
            "INSERT INTO vpcs (id, account_id, region_id, cidr_block, name, description, status,
                 is_default, vrouter_id, route_table_id, resource_group_id, created_at)
             VALUES ('vpc-a', 1, 'r', 'c', '', '', 's', 0, 'vrt-a', 'vtb-a', 'rg-a', 0);
             INSERT INTO vswitches (id, account_id, region_id, vpc_id, zone_id, cidr_block, name,
                 description, status, is_default, resource_group_id, created_at)
             VALUES ('vsw-a', 1, 'r', 'vpc-a', 'z', 'c', '', '', 's', 0, 'rg-a', 0);
             INSERT INTO private_ips VALUES ('vsw-a', 30, 'eni-1');
             INSERT INTO private_ips VALUES ('vsw-a', 99, 'eni-9');
             INSERT INTO private_ips VALUES ('vsw-a', 10, 'eni-1');
             INSERT INTO private_ips VALUES ('vsw-a', 20, 'eni-2');
             INSERT INTO private_ips VALUES ('vsw-a', 5, 'eni-1');
             DELETE FROM private_ips WHERE ip = 99;",
        )
        .unwrap();
        apply(&conn).unwrap();
        let rows: Vec<(i64, u32, String, String, Option<u32>)> = conn
            .prepare("SELECT seq, ip, owner, kind, prefix FROM private_ips ORDER BY seq")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let secondary = |seq: i64, ip: u32, owner: &str| {
            (seq, ip, owner.to_string(), "secondary".to_string(), None)
        };
        assert_eq!(
            rows,
            vec![
                secondary(1, 30, "eni-1"),
                secondary(2, 10, "eni-1"),
                secondary(3, 20, "eni-2"),
                secondary(4, 5, "eni-1"),
            ]
        );
        // Still guarded by the same named constraints and key, and new rows go last.
        let dup = conn
            .execute(
                "INSERT INTO private_ips (vswitch_id, ip, owner) VALUES ('vsw-a', 10, 'x')",
                [],
            )
            .unwrap_err();
        assert_eq!(
            db_err(dup),
            StoreError::Conflict {
                constraint: eni_store::constraints::PRIVATE_IP_UNIQUE.into()
            }
        );
        let orphan = conn
            .execute(
                "INSERT INTO private_ips (vswitch_id, ip, owner) VALUES ('vsw-b', 1, 'x')",
                [],
            )
            .unwrap_err();
        assert!(matches!(db_err(orphan), StoreError::Conflict { .. }));
        conn.execute(
            "INSERT INTO private_ips (vswitch_id, ip, owner) VALUES ('vsw-a', 1, 'x')",
            [],
        )
        .unwrap();
        let last: i64 = conn
            .query_row("SELECT seq FROM private_ips WHERE ip = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(last, 5);
        let problems: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(problems, 0);
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }

    #[test]
    fn upgrading_from_0003_gives_ipv6_rows_their_80_and_ipv6_vpcs_bgp() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        apply_these(&conn, &MIGRATIONS[..3]).unwrap();
        conn.execute_batch(
            "INSERT INTO vpcs (id, account_id, region_id, cidr_block, ipv6_cidr_block, name,
                 description, status, is_default, vrouter_id, route_table_id, resource_group_id,
                 created_at)
             VALUES ('vpc-a', 1, 'r', 'c', NULL, '', '', 's', 0, 'vrt-a', 'vtb-a', 'rg-a', 0),
                    ('vpc-6', 1, 'r', 'c', '2408:4005:3ea::/56', '', '', 's', 0, 'vrt-6',
                     'vtb-6', 'rg-6', 0);
             INSERT INTO vswitches (id, account_id, region_id, vpc_id, zone_id, cidr_block, name,
                 description, status, is_default, resource_group_id, created_at)
             VALUES ('vsw-a', 1, 'r', 'vpc-a', 'z', 'c', '', '', 's', 0, 'rg-a', 0);
             INSERT INTO ipv6_addrs (vswitch_id, addr, owner, is_prefix)
             VALUES ('vsw-a', '2408:4005:3ea:ff00:7:0:ab:1', 'eni-1', 0),
                    ('vsw-a', '2408:4005:3ea:ff00:1::/80', 'eni-2', 1),
                    ('vsw-a', '2408:4005:3ea:ff00::9', 'eni-9', 0),
                    ('vsw-a', '2408:4005:3ea:ff00:0:ffff:ffff:ffff', 'eni-1', 0);
             DELETE FROM ipv6_addrs WHERE owner = 'eni-9';",
        )
        .unwrap();
        apply(&conn).unwrap();
        let rows: Vec<(i64, String, String, bool, String)> = conn
            .prepare("SELECT seq, addr, owner, is_prefix, net FROM ipv6_addrs ORDER BY seq")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let row = |seq: i64, addr: &str, owner: &str, is_prefix: bool, net: &str| {
            (seq, addr.into(), owner.into(), is_prefix, net.into())
        };
        assert_eq!(
            rows,
            vec![
                row(
                    1,
                    "2408:4005:3ea:ff00:7:0:ab:1",
                    "eni-1",
                    false,
                    "2408:4005:3ea:ff00:7::/80"
                ),
                row(
                    2,
                    "2408:4005:3ea:ff00:1::/80",
                    "eni-2",
                    true,
                    "2408:4005:3ea:ff00:1::/80"
                ),
                row(
                    4,
                    "2408:4005:3ea:ff00:0:ffff:ffff:ffff",
                    "eni-1",
                    false,
                    "2408:4005:3ea:ff00::/80"
                ),
            ]
        );
        // The rule holds for new rows, under its name; new rows go last.
        let insert = |addr: &str, is_prefix: bool| {
            conn.execute(
                "INSERT INTO ipv6_addrs (vswitch_id, addr, owner, is_prefix, net)
                 VALUES ('vsw-a', ?1, 'x', ?2, ?3)",
                params![
                    addr,
                    is_prefix,
                    crate::tx::addresses::ipv6_net80(addr, is_prefix)
                ],
            )
            .map_err(db_err)
        };
        for (addr, is_prefix) in [
            ("2408:4005:3ea:ff00::/80", true),
            ("2408:4005:3ea:ff00:1::5", false),
        ] {
            assert_eq!(
                insert(addr, is_prefix).unwrap_err(),
                StoreError::Conflict {
                    constraint: eni_store::constraints::IPV6_PREFIX_OVERLAP.into()
                }
            );
        }
        assert_eq!(
            insert("2408:4005:3ea:ff00:1::/80", true).unwrap_err(),
            StoreError::Conflict {
                constraint: eni_store::constraints::IPV6_UNIQUE.into()
            }
        );
        insert("2408:4005:3ea:ff00:2::/80", true).unwrap();
        let last: i64 = conn
            .query_row(
                "SELECT seq FROM ipv6_addrs WHERE addr = '2408:4005:3ea:ff00:2::/80'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(last, 5);

        let isps: Vec<(String, Option<String>)> = conn
            .prepare("SELECT id, ipv6_isp FROM vpcs ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            isps,
            vec![
                ("vpc-6".to_string(), Some("BGP".to_string())),
                ("vpc-a".to_string(), None)
            ]
        );
        let problems: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(problems, 0);
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
}
