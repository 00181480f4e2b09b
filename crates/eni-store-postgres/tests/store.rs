//! PgStore against the shared conformance suite, each check on a database of its own in the
//! PostgreSQL that `ENI_TEST_DATABASE_URL` names (an admin URL; `scripts/test` starts a
//! throwaway cluster and sets it).

use eni_store::{conformance, with_read, with_write, Account, Store, StoreError, Tx};
use eni_store_postgres::PgStore;
use eni_types::ids::AccountId;
use std::sync::atomic::{AtomicU32, Ordering};

/// Checks whose methods are not yet ported to PostgreSQL; the list shrinks to nothing as the
/// port goes on, and `run_all_except` fails on a name that is not a check.
const PENDING: &[&str] = &[];

fn admin_url() -> String {
    std::env::var("ENI_TEST_DATABASE_URL").expect(
        "ENI_TEST_DATABASE_URL must name a PostgreSQL admin URL \
         (scripts/test starts a throwaway cluster and sets it)",
    )
}

/// `url` with its database replaced by `db`.
fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{db}{query}", &base[..host_end])
}

/// A store on a fresh database, dropped (connections and all) when the store is.
struct TempDb {
    store: Option<PgStore>,
    name: String,
}

impl TempDb {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "eni_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&admin_url(), postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let store = PgStore::connect(&with_db(&admin_url(), &name)).unwrap();
        TempDb {
            store: Some(store),
            name,
        }
    }

    fn store(&self) -> &PgStore {
        self.store.as_ref().expect("store")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        drop(self.store.take());
        if std::thread::panicking() {
            eprintln!("keeping the database of the failed test: {}", self.name);
            return;
        }
        if let Ok(mut admin) = postgres::Client::connect(&admin_url(), postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
        }
    }
}

impl Store for TempDb {
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.store().read()
    }
    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.store().write()
    }
    fn backend(&self) -> &'static str {
        self.store().backend()
    }
}

#[test]
fn conformance() {
    // ENI_CONFORMANCE_ONLY=a,b runs only the checks whose names contain a or b (while
    // porting); otherwise every check but the PENDING ones.
    let only = std::env::var("ENI_CONFORMANCE_ONLY").ok();
    let skip: Vec<&str> = match &only {
        Some(only) => conformance::check_names()
            .into_iter()
            .filter(|n| !only.split(',').any(|o| n.contains(o.trim())))
            .collect(),
        None => PENDING.to_vec(),
    };
    conformance::run_all_except(&|| Box::new(TempDb::new()), &skip);
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

#[test]
fn data_survives_reconnecting_and_migrations_apply_once() {
    let db = TempDb::new();
    let a = insert_account(db.store(), "alice");
    // A second store on the same database (another API server) finds the schema in place
    // and sees the first one's commit.
    let other = PgStore::connect(&with_db(&admin_url(), &db.name)).unwrap();
    assert_eq!(other.backend(), "postgres");
    assert_eq!(
        with_read(&other, |tx| tx.account_by_name("alice")).unwrap(),
        Some(a)
    );
}

#[test]
fn a_failed_statement_leaves_the_transaction_usable() {
    let db = TempDb::new();
    let a = insert_account(db.store(), "alice");
    let mut tx = db.store().write().unwrap();
    let dup = Account {
        id: AccountId::generate(),
        ..a.clone()
    };
    let e = tx.account_insert(&dup).unwrap_err();
    assert!(
        e.is_conflict_on(eni_store::constraints::ACCOUNT_NAME_UNIQUE),
        "{e:?}"
    );
    let b = Account {
        id: AccountId::generate(),
        name: "bob".into(),
        created_at: 1,
    };
    tx.account_insert(&b).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        with_read(db.store(), |tx| tx.account_by_name("bob")).unwrap(),
        Some(b)
    );
}

#[test]
fn an_unreachable_database_is_unavailable_not_a_hang() {
    // A port nothing listens on: connecting fails at once, as an outage.
    let e = PgStore::connect("postgres://postgres@127.0.0.1:1/eni")
        .err()
        .expect("no server there");
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
}

#[test]
fn urls_get_their_database_replaced() {
    assert_eq!(
        with_db("postgres://u:p@h:5432/postgres", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(
        with_db("postgres://h/postgres?sslmode=disable", "x"),
        "postgres://h/x?sslmode=disable"
    );
    assert_eq!(with_db("postgres://h", "x"), "postgres://h/x");
}
