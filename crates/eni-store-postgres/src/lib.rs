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

mod conn;
mod errors;
mod migrate;
mod tx;

use crate::conn::Conn;
use crate::tx::PgTx;
use eni_store::{ChangeHook, Store, StoreError, Tx};
use postgres::fallible_iterator::FallibleIterator;
use postgres::NoTls;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long connecting to the database may take before the request fails as unavailable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The advisory lock every write transaction takes (the bytes of "eni-writ").
pub const WRITE_LOCK: i64 = 0x656e_692d_7772_6974;

/// Idle connections kept between transactions; more are opened on demand.
const MAX_IDLE: usize = 16;

/// A [`Store`] on one PostgreSQL database. Cheap to share: wrap it in an `Arc`.
pub struct PgStore {
    /// For the pool's connections.
    config: tokio_postgres::Config,
    /// For the change listener's (a blocking client of its own).
    listen_config: postgres::Config,
    idle: Mutex<Vec<Conn>>,
    /// Tells the change listener ([`Store::watch_changes`]) to stop.
    stop: Arc<AtomicBool>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://USER:PASS@HOST:PORT/DB`) and migrates it
    /// to the newest schema.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let bad_url = |e: tokio_postgres::Error| StoreError::Backend(format!("database URL: {e}"));
        let mut config: tokio_postgres::Config = url.parse().map_err(bad_url)?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("eni");
        // Every statement is planned for its parameters: a generic plan of a filtered
        // listing (after five runs PostgreSQL may switch to one) walks the account's ENIs in
        // creation order instead of starting from the filter's index, which grows with the
        // account.
        // Notices (a CREATE ... IF NOT EXISTS that skipped) are not worth a log line.
        config.options("-c plan_cache_mode=force_custom_plan -c client_min_messages=warning");
        let mut listen_config: postgres::Config = url.parse().map_err(bad_url)?;
        listen_config.connect_timeout(CONNECT_TIMEOUT);
        listen_config.application_name("eni-listen");
        let store = PgStore {
            config,
            listen_config,
            idle: Mutex::new(Vec::new()),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (mut conn, _) = store.take()?;
        migrate::apply(&mut conn)?;
        store.give_back(conn);
        Ok(store)
    }

    /// A pooled connection (`true`) or a new one (`false`).
    fn take(&self) -> Result<(Conn, bool), StoreError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match pooled {
            Some(c) if !c.is_closed() => Ok((c, true)),
            _ => Ok((self.connect_new()?, false)),
        }
    }

    fn connect_new(&self) -> Result<Conn, StoreError> {
        Conn::connect(&self.config)
    }

    /// Returns a connection to the pool; one that failed or is still in a transaction is
    /// closed instead.
    pub(crate) fn give_back(&self, conn: Conn) {
        if conn.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    fn begin(&self, write: bool) -> Result<PgTx<'_>, StoreError> {
        let begin = if write {
            // The savepoint is where `restart` goes back to, the lock still held.
            format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK}); SAVEPOINT tx_start")
        } else {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string()
        };
        let (conn, ()) = self.first_on_a_connection(|c| c.batch(&begin))?;
        Ok(PgTx::new(conn, self, write))
    }

    /// Takes a connection and runs `first` on it, the first thing sent on it. A pooled
    /// connection found broken (the database restarted, say) means the others went with it:
    /// they are all dropped and `first` runs once more on a new connection; nothing it sent
    /// took effect, so that is safe. On an error the connection goes (it may be inside a
    /// transaction `first` began).
    fn first_on_a_connection<T>(
        &self,
        mut first: impl FnMut(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<(Conn, T), StoreError> {
        let (mut conn, pooled) = self.take()?;
        match first(&mut conn) {
            Ok(v) => Ok((conn, v)),
            Err(StoreError::Unavailable(_)) if pooled => {
                drop(conn);
                self.close_idle();
                let mut conn = self.connect_new()?;
                let v = first(&mut conn)?;
                Ok((conn, v))
            }
            Err(e) => Err(e),
        }
    }

    /// Closes every idle connection (on a thread: closing blocks on the client's runtime,
    /// which must not happen on an async worker).
    fn close_idle(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("eni-pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // The server drops its store from async code.
        self.close_idle();
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

    fn shared(&self) -> bool {
        true
    }

    /// One statement in a transaction of its own, in one round trip: it needs no write lock
    /// (the key decides a race between two servers), nor to wait for the disk: a read's nonce
    /// lost with the database's last 200 ms would let that read be replayed once, as a
    /// crash of the SQLite server would (README, Durability).
    fn nonce_record_now(
        &self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let params: &[&(dyn postgres::types::ToSql + Sync)] =
            &[&access_key_id, &nonce, &expires_at, &now];
        let (conn, changed) =
            self.first_on_a_connection(|c| c.execute_unsynced(tx::NONCE_RECORD, params))?;
        self.give_back(conn);
        Ok(changed == 1)
    }

    /// A thread of its own LISTENs on channel `eni_changes` (migration 0002) over a dedicated
    /// connection and calls `on_change` per notification; when that connection breaks it
    /// reconnects (every [`LISTEN_RETRY`]) and calls `on_change` once, for what it may have
    /// missed.
    fn watch_changes(&self, on_change: ChangeHook) -> Result<bool, StoreError> {
        let config = self.listen_config.clone();
        let stop = self.stop.clone();
        std::thread::Builder::new()
            .name("eni-pg-listen".into())
            .spawn(move || listen(&config, &stop, &*on_change))
            .map_err(|e| StoreError::Backend(format!("starting the change listener: {e}")))?;
        Ok(true)
    }
}

/// How long the change listener waits before reconnecting, and how often it looks whether
/// the store is gone while nothing arrives.
pub const LISTEN_RETRY: Duration = Duration::from_millis(500);

fn listen(config: &postgres::Config, stop: &AtomicBool, on_change: &(dyn Fn() + Send + Sync)) {
    let mut first = true;
    while !stop.load(Ordering::Acquire) {
        let mut client = match config.connect(NoTls) {
            Ok(c) => c,
            Err(_) => {
                std::thread::sleep(LISTEN_RETRY);
                continue;
            }
        };
        if client.batch_execute("LISTEN eni_changes").is_err() {
            std::thread::sleep(LISTEN_RETRY);
            continue;
        }
        if !first {
            // Changes made while the connection was down were not heard: say so once.
            on_change();
        }
        first = false;
        while !stop.load(Ordering::Acquire) && !client.is_closed() {
            let mut notifications = client.notifications();
            let mut broken = false;
            let mut heard = notifications.timeout_iter(LISTEN_RETRY);
            loop {
                match heard.next() {
                    Ok(Some(_)) => on_change(),
                    // Quiet for LISTEN_RETRY: look at `stop`, then listen again.
                    Ok(None) => break,
                    Err(_) => {
                        broken = true;
                        break;
                    }
                }
            }
            if broken {
                break;
            }
        }
    }
}
