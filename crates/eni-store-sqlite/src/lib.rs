//! The SQLite backend of [`eni_store`]: [`SqliteStore`] implements [`Store`] over one
//! database file.
//!
//! # Connections and transactions
//!
//! One writer connection sits behind a mutex; [`Store::write`] locks it and runs
//! `BEGIN IMMEDIATE`, so writers of this process queue on the mutex and writers of other
//! processes (the `eni account create` CLI while the server runs) queue on SQLite's write lock
//! for up to [`BUSY_TIMEOUT`]; past that the transaction fails with [`StoreError::Busy`], which
//! [`eni_store::with_write`] retries. Reads use a small pool of separate, `query_only`
//! connections: in WAL mode a deferred `BEGIN` sees one consistent snapshot, taken at its first
//! read, and never waits for the writer. Transactions are plain `BEGIN`/`COMMIT`/`ROLLBACK`
//! statements on a connection the transaction owns (the mutex guard or a pooled connection),
//! which avoids borrowing a `rusqlite::Transaction` from a guard in the same struct.
//!
//! Holding a write transaction while asking the same store for another one deadlocks, as with
//! any mutex; a read transaction may be opened while writing.
//!
//! # Durability and the WAL
//!
//! A commit appends its pages to the write-ahead log and returns (`synchronous = NORMAL`): the
//! log is in the OS page cache, so a killed process loses nothing it committed. The log is
//! fsynced, and copied into the database file, by a checkpoint; a thread of the store
//! ([`Checkpointer`]) runs one (`PASSIVE`: it never waits for, nor blocks, a writer or a
//! reader) every [`CHECKPOINT_INTERVAL`] while there are new commits, so requests do not pay
//! for checkpoints, and a power loss can lose only the commits of about the last interval
//! (and of a checkpoint in progress), never the database's consistency. A commit still
//! checkpoints by itself past [`WAL_AUTOCHECKPOINT`] frames, should the thread fall behind.
//! New databases use [`PAGE_SIZE`] pages: every commit writes each page it changed whole to
//! the log, and a create changes about thirty.
//!
//! # Schema
//!
//! Numbered SQL files in `migrations/` are embedded and applied on open (see `migrate.rs`).
//! Every constraint is named, and every constraint violation comes back as
//! [`StoreError::Conflict`] naming it (see `errors.rs` for how SQLite's messages are mapped).

mod errors;
mod migrate;
mod tx;

use crate::errors::db_err;
use crate::tx::{Handle, Pooled, SqliteTx};
use eni_store::{Store, StoreError, Tx};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// How long a connection waits for another connection's lock before reporting
/// [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections kept open between read transactions; more are opened on demand and
/// closed when returned to a full pool.
const MAX_IDLE_READERS: usize = 4;

/// Prepared statements cached per connection: the store has about eighty, plus up to 32
/// shapes of `eni_list`.
const STATEMENT_CACHE: usize = 128;

/// A reader's page cache, KiB. SQLite's default (2 MiB, 1,000 pages of 2 KiB) is smaller than
/// what one filtered Describe touches at 100k ENIs (a page of rows, their addresses, and a
/// count's walk), so every page came from the OS again within one request. The cache lasts
/// from one read to the next until something commits; a read commits nothing (its nonce is
/// flushed in batches), so while reads come alone they find their pages here.
const READER_CACHE_KIB: i64 = 16 * 1024;

/// The page size of a new database (an existing one keeps its own). A commit writes every
/// page it changed to the WAL whole: 2 KiB pages halve the bytes written, synced and copied
/// per create compared with SQLite's 4 KiB default, and keep b-trees shallow.
pub const PAGE_SIZE: u32 = 2048;

/// How long a commit waits, at most, for the [`Checkpointer`] to sync and copy it.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Commits of this store after which the [`Checkpointer`] runs without waiting for the
/// interval (about 7,000 WAL frames of creates).
pub const CHECKPOINT_COMMITS: u64 = 256;

/// How often the [`Checkpointer`] looks at the commit count.
const CHECKPOINT_POLL: Duration = Duration::from_millis(25);

/// WAL frames past which a commit checkpoints by itself (SQLite's `wal_autocheckpoint`):
/// only when the [`Checkpointer`] falls behind (about 40 MB of log with 2 KiB pages).
pub const WAL_AUTOCHECKPOINT: u32 = 20_000;

/// A [`Store`] on one SQLite database file. Cheap to share: wrap it in an `Arc`.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: ReaderPool,
    checkpointer: Checkpointer,
    // Declared last so that the connections above are closed before the directory goes.
    _temp_dir: Option<tempfile::TempDir>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it to the newest schema.
    /// The parent directory must exist; SQLite keeps `-wal` and `-shm` files beside the
    /// database. Any number of stores, in this process or others, may have the same file open.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, BUSY_TIMEOUT, None)
    }

    /// A fresh, private database that disappears when the store is dropped.
    ///
    /// It lives in a file in a new temporary directory rather than in SQLite's memory: a
    /// shared-cache `:memory:` database cannot use WAL, so readers would not get snapshots
    /// while a write is open, and its table locks fail with `SQLITE_LOCKED` at once instead of
    /// waiting. A temporary file behaves exactly like a real one, and is mostly in the page
    /// cache anyway.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let dir = tempfile::Builder::new()
            .prefix("eni-store-")
            .tempdir()
            .map_err(|e| StoreError::Backend(format!("creating a temporary directory: {e}")))?;
        let path = dir.path().join("eni.db");
        Self::open_with(&path, BUSY_TIMEOUT, Some(dir))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.readers.path
    }

    pub(crate) fn open_with(
        path: &Path,
        busy_timeout: Duration,
        temp_dir: Option<tempfile::TempDir>,
    ) -> Result<Self, StoreError> {
        let writer = connect(path, busy_timeout, Role::Writer)?;
        migrate::apply(&writer)?;
        // Readers open the same file even if the process changes directory later.
        let path = path
            .canonicalize()
            .map_err(|e| StoreError::Backend(format!("resolving {}: {e}", path.display())))?;
        let checkpointer = Checkpointer::start(connect(&path, busy_timeout, Role::Checkpointer)?)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: ReaderPool {
                path,
                busy_timeout,
                idle: Mutex::new(Vec::new()),
            },
            checkpointer,
            _temp_dir: temp_dir,
        })
    }

    /// Runs a checkpoint now, as the [`Checkpointer`] does; whether every frame of the log
    /// was copied into the database (a reader may hold some back).
    pub fn checkpoint(&self) -> Result<bool, StoreError> {
        self.checkpointer.run_now()
    }
}

/// The thread that checkpoints the WAL off the request path, on a connection of its own, with
/// `PASSIVE` checkpoints (they copy what no reader still needs, and neither wait for nor block
/// anyone): after every [`CHECKPOINT_COMMITS`] commits of this store, and
/// [`CHECKPOINT_INTERVAL`] after any other commit (of this store or of another process), so
/// the log stays short under load and is synced soon after a quiet spell begins. Stops when
/// the store is dropped.
struct Checkpointer {
    conn: Arc<Mutex<Connection>>,
    /// Commits of this store's writer, counted by its transactions.
    commits: Arc<AtomicU64>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(conn: Connection) -> Result<Self, StoreError> {
        let conn = Arc::new(Mutex::new(conn));
        let commits = Arc::new(AtomicU64::new(0));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let (conn, commits, stop) = (conn.clone(), commits.clone(), stop.clone());
            std::thread::Builder::new()
                .name("eni-checkpoint".into())
                .spawn(move || checkpoint_loop(&conn, &commits, &stop))
                .map_err(|e| StoreError::Backend(format!("starting the checkpointer: {e}")))?
        };
        Ok(Self {
            conn,
            commits,
            stop,
            thread: Some(thread),
        })
    }

    fn run_now(&self) -> Result<bool, StoreError> {
        checkpoint(&self.conn.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The [`Checkpointer`]'s thread: it looks every [`CHECKPOINT_POLL`] (an atomic read) and
/// checkpoints when there is enough to copy or the log has waited long enough.
fn checkpoint_loop(conn: &Mutex<Connection>, commits: &AtomicU64, stop: &(Mutex<bool>, Condvar)) {
    let (mut done_commits, mut done_version) = (u64::MAX, None);
    let mut last_run = std::time::Instant::now();
    loop {
        let (lock, wake) = stop;
        let stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (stopped, _) = wake
            .wait_timeout_while(stopped, CHECKPOINT_POLL, |s| !*s)
            .unwrap_or_else(PoisonError::into_inner);
        if *stopped {
            return;
        }
        drop(stopped);
        let now_commits = commits.load(Ordering::Relaxed);
        let many = now_commits.wrapping_sub(done_commits) >= CHECKPOINT_COMMITS
            && done_commits != u64::MAX;
        if !many && last_run.elapsed() < CHECKPOINT_INTERVAL {
            continue;
        }
        let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
        // data_version changes when another connection (this store's writer, another
        // process) commits: nothing new, nothing to do.
        let version = conn
            .query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))
            .ok();
        last_run = std::time::Instant::now();
        if version.is_some() && version == done_version {
            done_commits = now_commits;
            continue;
        }
        // Looked at again next time unless every frame was copied: a reader may have held
        // some back, or the checkpoint failed (a full disk). Either way a commit checkpoints
        // by itself past WAL_AUTOCHECKPOINT.
        (done_commits, done_version) = match checkpoint(&conn) {
            Ok(true) => (now_commits, version),
            Ok(false) | Err(_) => (u64::MAX, None),
        };
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(t) = self.thread.take() {
            // A panic in the thread has nothing left to report.
            let _ = t.join();
        }
    }
}

/// One `PASSIVE` checkpoint: it fsyncs the WAL, then copies into the database the frames no
/// reader still needs. Whether every frame of the log was copied.
fn checkpoint(conn: &Connection) -> Result<bool, StoreError> {
    let (log, copied): (i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(1)?, r.get(2)?))
        })
        .map_err(db_err)?;
    Ok(copied == log)
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.readers.path)
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        let conn = Pooled::new(self.readers.take()?, &self.readers);
        conn.execute_batch("BEGIN").map_err(db_err)?;
        Ok(Box::new(SqliteTx::new(Handle::Reader(conn))))
    }

    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        // A thread that panicked inside a write transaction rolled it back while unwinding
        // (SqliteTx's Drop), so a poisoned lock still guards a clean connection.
        let conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if !conn.is_autocommit() {
            // Only if a ROLLBACK in Drop failed; start from a clean state regardless.
            conn.execute_batch("ROLLBACK").map_err(db_err)?;
        }
        conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
        Ok(Box::new(SqliteTx::new(Handle::Writer(
            conn,
            &self.checkpointer.commits,
        ))))
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

/// Idle reader connections of one database.
pub(crate) struct ReaderPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn take(&self) -> Result<Connection, StoreError> {
        // The pool is a plain list; a panic elsewhere cannot leave it inconsistent.
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => connect(&self.path, self.busy_timeout, Role::Reader),
        }
    }

    /// Returns a connection that is outside any transaction.
    pub(crate) fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
    /// The [`Checkpointer`]'s connection: it writes the database file, never a transaction.
    Checkpointer,
}

/// Opens and configures one connection.
fn connect(path: &Path, busy_timeout: Duration, role: Role) -> Result<Connection, StoreError> {
    let with_context = |e: rusqlite::Error| match db_err(e) {
        StoreError::Backend(m) => StoreError::Backend(format!("opening {}: {m}", path.display())),
        other => other,
    };
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if role == Role::Writer {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(with_context)?;
    // First, so that the pragmas below wait for other processes' locks too.
    conn.busy_timeout(busy_timeout).map_err(with_context)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(with_context)?;
    // Statement journals and savepoints in memory: on disk, every statement that writes more
    // than a few pages (an ENI insert and its indexes) would create, write and delete a
    // temporary file.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(with_context)?;
    match role {
        Role::Writer => {
            // Only a database without tables takes it (before WAL mode is set on a new file).
            conn.pragma_update(None, "page_size", PAGE_SIZE)
                .map_err(with_context)?;
            // WAL is a property of the file, set once and kept; readers inherit it.
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(with_context)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Backend(format!(
                    "{}: journal_mode is {mode}, WAL is required",
                    path.display()
                )));
            }
            // In WAL mode NORMAL loses at most the last commits on power loss, never
            // consistency, and spares an fsync per commit (see the module's documentation).
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(with_context)?;
            conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)
                .map_err(with_context)?;
        }
        Role::Checkpointer => {
            // The checkpoint syncs the WAL before it copies it, as a commit's would.
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(with_context)?;
            conn.pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(with_context)?;
        }
        Role::Reader => {
            // A write through a read transaction fails instead of slipping past the writer
            // lock.
            conn.pragma_update(None, "query_only", true)
                .map_err(with_context)?;
            conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)
                .map_err(with_context)?;
        }
    }
    Ok(conn)
}

#[cfg(test)]
mod tests;
