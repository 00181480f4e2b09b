//! Schema migrations: numbered SQL files under `migrations/`, embedded in the binary and
//! applied in order, all pending ones in one `BEGIN IMMEDIATE` transaction, recorded in
//! `schema_migrations`. Opening an up-to-date database applies nothing; two processes opening
//! the same new file at once serialize on the write lock, and the second finds nothing to do.

use crate::errors::db_err;
use eni_store::StoreError;
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
    conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
    let result = apply_in_tx(conn, migrations);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.execute_batch(end).map_err(db_err);
    result.and(ended)
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
}
