//! Schema migrations: the numbered SQL files of `migrations/`, embedded, each applied once in
//! its own transaction and recorded in `schema_migrations`. A session advisory lock
//! ([`MIGRATE_LOCK`]) makes servers that start together take turns: the first applies, the
//! others find it done. A database newer than this binary (a migration it does not know) is
//! refused rather than served with the wrong schema.

use crate::conn::Conn;
use eni_store::StoreError;

/// The advisory lock held while migrating (the bytes of "eni-migr").
const MIGRATE_LOCK: i64 = 0x656e_692d_6d69_6772;

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_notify",
        sql: include_str!("../migrations/0002_notify.sql"),
    },
    Migration {
        version: 3,
        name: "0003_autovacuum",
        sql: include_str!("../migrations/0003_autovacuum.sql"),
    },
    Migration {
        version: 4,
        name: "0004_group_vswitch",
        sql: include_str!("../migrations/0004_group_vswitch.sql"),
    },
    Migration {
        version: 5,
        name: "0005_settings",
        sql: include_str!("../migrations/0005_settings.sql"),
    },
    Migration {
        version: 6,
        name: "0006_hosts",
        sql: include_str!("../migrations/0006_hosts.sql"),
    },
    Migration {
        version: 7,
        name: "0007_overlay",
        sql: include_str!("../migrations/0007_overlay.sql"),
    },
    Migration {
        version: 8,
        name: "0008_dataplane_changes",
        sql: include_str!("../migrations/0008_dataplane_changes.sql"),
    },
    Migration {
        version: 9,
        name: "0009_instance_launch",
        sql: include_str!("../migrations/0009_instance_launch.sql"),
    },
    Migration {
        version: 10,
        name: "0010_labels_and_metadata",
        sql: include_str!("../migrations/0010_labels_and_metadata.sql"),
    },
    Migration {
        version: 11,
        name: "0011_eip_forward_mode",
        sql: include_str!("../migrations/0011_eip_forward_mode.sql"),
    },
    Migration {
        version: 12,
        name: "0012_console_sessions",
        sql: include_str!("../migrations/0012_console_sessions.sql"),
    },
];

const CREATE_TRACKING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version     BIGINT CONSTRAINT schema_migrations_pk PRIMARY KEY,
    name        TEXT   NOT NULL,
    applied_at  BIGINT NOT NULL
)";

pub(crate) fn apply(conn: &mut Conn) -> Result<(), StoreError> {
    conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])?;
    let result = apply_locked(conn);
    // The lock goes with the session too, should this fail.
    let unlock = conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]);
    result.and(unlock.map(|_| ()))
}

fn apply_locked(conn: &mut Conn) -> Result<(), StoreError> {
    conn.batch(CREATE_TRACKING)?;
    let newest: Option<i64> =
        match conn.query_opt("SELECT max(version) FROM schema_migrations", &[])? {
            Some(row) => row
                .try_get(0)
                .map_err(|e| StoreError::Backend(format!("schema_migrations: {e}")))?,
            None => None,
        };
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(v) = newest.filter(|v| *v > known) {
        return Err(StoreError::Backend(format!(
            "the database has schema version {v}, newer than this binary's {known}: upgrade eni"
        )));
    }
    for m in MIGRATIONS {
        if newest.is_some_and(|v| v >= m.version) {
            continue;
        }
        conn.batch("BEGIN")?;
        let applied = conn
            .batch(m.sql)
            .map_err(|e| StoreError::Backend(format!("migration {}: {e}", m.name)))
            .and_then(|()| {
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at)
                     VALUES ($1, $2, extract(epoch FROM now())::bigint)",
                    &[&m.version, &m.name],
                )
            })
            .and_then(|_| conn.batch("COMMIT"));
        if let Err(e) = applied {
            let _ = conn.batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(())
}
