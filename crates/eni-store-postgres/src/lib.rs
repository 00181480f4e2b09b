//! The PostgreSQL backend of [`eni_store`]: [`PgStore`] implements [`Store`] over one
//! database that several API servers share.
//!
//! # Transactions
//!
//! A write transaction is `BEGIN` (READ COMMITTED) followed by a transaction-scoped advisory
//! lock ([`WRITE_LOCK`]) that every writer of every server takes: writers run one at a time
//! across the whole deployment, exactly as SQLite's single writer does, so each sees every
//! earlier commit and none can interleave with it. Races are still decided by the schema's
//! constraints (a MAC, an IP per vSwitch), which is what the application relies on. Reads are
//! `REPEATABLE READ READ ONLY`: one snapshot for the whole read, never waiting for a writer.
//! Serialization failures and deadlocks (`40001`, `40P01`), which this scheme should not
//! produce, become [`StoreError::Busy`], which [`eni_store::with_write`] retries.
//!
//! PostgreSQL aborts a whole transaction when one statement fails, where the [`Tx`] contract
//! (and SQLite) keeps it usable: every write statement runs inside a savepoint, rolled back
//! alone when the statement fails.
//!
//! # Connections
//!
//! Connections are pooled; a connection that failed (the server restarted, the network
//! dropped) is discarded, and a new one is made on the next request. Connecting fails after
//! [`CONNECT_TIMEOUT`] with [`StoreError::Unavailable`], so an outage answers quickly instead
//! of hanging. The `postgres` client is synchronous and runs its own small runtime: call the
//! store from plain threads (or `spawn_blocking`), not from an async task.
//!
//! # Schema
//!
//! Numbered SQL files in `migrations/` (the port of SQLite's, with the same constraint names)
//! are embedded and applied on connect under an advisory lock, so servers starting together
//! apply each once (see `migrate.rs`).

mod errors;
mod migrate;
mod tx;

use crate::errors::db_err;
use crate::tx::PgTx;
use eni_store::{Store, StoreError, Tx};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How long connecting to the database may take before the request fails as unavailable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The advisory lock every write transaction takes (the bytes of "eni-writ").
pub const WRITE_LOCK: i64 = 0x656e_692d_7772_6974;

/// Idle connections kept between transactions; more are opened on demand.
const MAX_IDLE: usize = 16;

/// One pooled connection and its prepared statements.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Conn {
    /// The prepared form of `sql`, prepared once per connection.
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql).map_err(db_err)?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// A [`Store`] on one PostgreSQL database. Cheap to share: wrap it in an `Arc`.
pub struct PgStore {
    config: postgres::Config,
    idle: Mutex<Vec<Conn>>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://USER:PASS@HOST:PORT/DB`) and migrates it
    /// to the newest schema.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("database URL: {e}")))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("eni");
        let store = PgStore {
            config,
            idle: Mutex::new(Vec::new()),
        };
        let mut conn = store.take()?;
        migrate::apply(&mut conn.client)?;
        store.give_back(conn);
        Ok(store)
    }

    fn take(&self) -> Result<Conn, StoreError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match pooled {
            Some(c) if !c.client.is_closed() => Ok(c),
            _ => {
                let client = self.config.connect(NoTls).map_err(|e| {
                    StoreError::Unavailable(format!("connecting to PostgreSQL: {e}"))
                })?;
                Ok(Conn {
                    client,
                    statements: HashMap::new(),
                })
            }
        }
    }

    /// Returns a connection to the pool; one that failed or is still in a transaction is
    /// closed instead.
    pub(crate) fn give_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    fn begin(&self, write: bool) -> Result<PgTx<'_>, StoreError> {
        let mut conn = self.take()?;
        let begin = if write {
            // The savepoint is where `restart` goes back to, the lock still held.
            format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK}); SAVEPOINT tx_start")
        } else {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string()
        };
        conn.client.batch_execute(&begin).map_err(db_err)?;
        Ok(PgTx::new(conn, self, write))
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing a connection blocks on the client's own runtime, which panics inside another
        // runtime (the server drops its store from async code): close them on a thread.
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("eni-pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

impl Store for PgStore {
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.begin(false)?))
    }

    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.begin(true)?))
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
