//! What the eni-core benchmarks share: a core on a fresh SQLite file, with its root caller.

use eni_core::{Caller, Catalog, Core, CoreConfig};
use eni_store_sqlite::SqliteStore;
use std::sync::Arc;

/// A core over a new database in a temporary dir (kept alive by the returned guard), and the
/// root account as a caller.
pub fn fresh_core(config: CoreConfig) -> (tempfile::TempDir, Core, Caller) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).expect("open store"));
    let core = Core::new(store, Catalog::default(), config);
    let root = core
        .ensure_root(Some(("bench".into(), "bench".into())))
        .expect("root");
    let caller = Caller {
        account: root
            .key()
            .expect("a fresh database gets the given key")
            .account_id,
    };
    (dir, core, caller)
}
