//! Schema migrations: the numbered SQL files of `migrations/`, embedded, each applied once in
//! its own transaction and recorded in `schema_migrations`. A session advisory lock
//! ([`MIGRATE_LOCK`]) makes servers that start together take turns: the first applies, the
//! others find it done. A database newer than this binary (a migration it does not know) is
//! refused rather than served with the wrong schema.

use crate::errors::db_err;
use eni_store::StoreError;
use postgres::Client;

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
];

const CREATE_TRACKING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version     BIGINT CONSTRAINT schema_migrations_pk PRIMARY KEY,
    name        TEXT   NOT NULL,
    applied_at  BIGINT NOT NULL
)";

pub(crate) fn apply(client: &mut Client) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
        .map_err(db_err)?;
    let result = apply_locked(client);
    // The lock goes with the session too, should this fail.
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK])
        .map_err(db_err);
    result.and(unlock.map(|_| ()))
}

fn apply_locked(client: &mut Client) -> Result<(), StoreError> {
    client.batch_execute(CREATE_TRACKING).map_err(db_err)?;
    let newest: Option<i64> = client
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .map_err(db_err)?
        .get(0);
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
        let mut tx = client.transaction().map_err(db_err)?;
        tx.batch_execute(m.sql)
            .map_err(|e| StoreError::Backend(format!("migration {}: {}", m.name, db_err(e))))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)
             VALUES ($1, $2, extract(epoch FROM now())::bigint)",
            &[&m.version, &m.name],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}
