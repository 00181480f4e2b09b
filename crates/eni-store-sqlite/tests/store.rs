//! SqliteStore against the shared conformance suite (on files and "in memory"), plus what only
//! a file-backed database can show: data survives a restart, and a second store on the same
//! file (the `eni account create` CLI while the server runs) can write.

use eni_store::{conformance, with_read, with_write, Account, Store, StoreError, Tx};
use eni_store_sqlite::SqliteStore;
use eni_types::ids::AccountId;
use std::path::Path;
use std::time::Duration;

/// A store on a fresh file in its own temporary directory. The directory is removed when the
/// store is dropped, unless a panic is unwinding: then it is kept for inspection.
struct TempStore {
    // Declared first so that the database is closed before the directory goes.
    store: SqliteStore,
    dir: tempfile::TempDir,
}

impl TempStore {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("eni-store-test-")
            .tempdir()
            .unwrap();
        let store = SqliteStore::open(&dir.path().join("eni.db")).unwrap();
        Self { store, dir }
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!(
                "keeping the database of the failed test: {}",
                self.store.path().display()
            );
        }
    }
}

impl Store for TempStore {
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.store.read()
    }
    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.store.write()
    }
    fn backend(&self) -> &'static str {
        self.store.backend()
    }
}

#[test]
fn conformance_on_files() {
    conformance::run_all(&|| Box::new(TempStore::new()));
}

#[test]
fn conformance_in_memory() {
    conformance::run_all(&|| Box::new(SqliteStore::open_in_memory().unwrap()));
}

fn insert_account(store: &dyn Store, name: &str) -> Account {
    let a = Account {
        id: AccountId::generate(),
        name: name.into(),
        created_at: 1,
    };
    with_write(store, |tx| tx.account_insert(&a)).unwrap();
    a
}

fn account_named(store: &dyn Store, name: &str) -> Option<Account> {
    with_read(store, |tx| tx.account_by_name(name)).unwrap()
}

#[test]
fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eni.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.backend(), "sqlite");
    let a = insert_account(&store, "alice");
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(account_named(&store, "alice"), Some(a.clone()));
    // Reopening did not re-run the migrations over the data, and the store still writes.
    let b = insert_account(&store, "bob");
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(account_named(&store, "alice"), Some(a));
    assert_eq!(account_named(&store, "bob"), Some(b));
}

#[test]
fn relative_paths_work() {
    let dir = tempfile::tempdir_in(".").unwrap();
    let rel = Path::new(dir.path().file_name().unwrap()).join("eni.db");
    let store = SqliteStore::open(&rel).unwrap();
    insert_account(&store, "alice");
    assert!(account_named(&store, "alice").is_some());
    assert!(store.path().is_absolute());
}

#[test]
fn a_second_store_on_the_same_file_can_write_while_the_first_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eni.db");
    let server = SqliteStore::open(&path).unwrap();
    insert_account(&server, "root");

    let cli = SqliteStore::open(&path).unwrap();
    let a = insert_account(&cli, "alice");
    assert_eq!(
        account_named(&server, "alice"),
        Some(a),
        "the server sees the CLI's write"
    );

    // While the server is inside a write transaction, the CLI waits for it instead of failing.
    let mut held = server.write().unwrap();
    held.account_insert(&Account {
        id: AccountId::generate(),
        name: "bob".into(),
        created_at: 1,
    })
    .unwrap();
    let waited = std::thread::scope(|s| {
        let cli_write = s.spawn(|| {
            let start = std::time::Instant::now();
            let carol = insert_account(&cli, "carol");
            (carol, start.elapsed())
        });
        std::thread::sleep(Duration::from_millis(300));
        held.commit().unwrap();
        cli_write.join().unwrap()
    });
    assert!(
        waited.1 >= Duration::from_millis(200),
        "the CLI waited for the lock: {:?}",
        waited.1
    );
    for name in ["root", "alice", "bob", "carol"] {
        assert!(account_named(&server, name).is_some(), "{name}");
        assert!(account_named(&cli, name).is_some(), "{name}");
    }
}

#[test]
fn opening_while_another_store_writes_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eni.db");
    let server = SqliteStore::open(&path).unwrap();
    let mut held = server.write().unwrap();
    held.account_insert(&Account {
        id: AccountId::generate(),
        name: "bob".into(),
        created_at: 1,
    })
    .unwrap();
    let cli = std::thread::scope(|s| {
        let open = s.spawn(|| SqliteStore::open(&path));
        std::thread::sleep(Duration::from_millis(200));
        held.commit().unwrap();
        open.join().unwrap()
    })
    .unwrap();
    assert!(account_named(&cli, "bob").is_some());
}
