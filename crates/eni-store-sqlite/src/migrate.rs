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
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("../migrations/0001_init.sql"),
}];

const CREATE_TRACKING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER CONSTRAINT schema_migrations_pk PRIMARY KEY,
    name        TEXT    NOT NULL,
    applied_at  INTEGER NOT NULL
)";

/// Brings the database on `conn` (which must be outside a transaction) up to the newest
/// migration. Refuses a database migrated by a newer binary, or one whose recorded history
/// disagrees with the embedded migrations.
pub(crate) fn apply(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
    let result = apply_in_tx(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.execute_batch(end).map_err(db_err);
    result.and(ended)
}

fn apply_in_tx(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(CREATE_TRACKING).map_err(db_err)?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.version);
    for m in MIGRATIONS {
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
}
