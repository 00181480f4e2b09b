//! What a durable SQLite commit costs on this machine, by the number of B-trees it changes:
//! `cargo bench -p eni-store-sqlite --bench wal_floor`.
//!
//! A floor for every write of the store: one table with `k` indexes on a fresh file with the
//! store's settings (WAL, `synchronous = NORMAL`, [`PAGE_SIZE`] pages), and `rows` single-row
//! INSERTs per transaction; each index is on (one of four keys, seq), so a row appends near
//! the end of one of four runs, as an ENI does in most of its indexes (by VPC, vSwitch, status,
//! type, ... and creation order): a commit changes about one page of each B-tree. It prints the process's CPU (user and kernel: the WAL `pwrite`s are
//! most of it) per commit and per row. No application logic, no statement beyond the INSERT:
//! whatever a request does on top of the B-trees it changes costs more than this.
//! `bench/wal_pages.py` shows how many B-trees, and pages, a CreateNetworkInterface changes.

use eni_store_sqlite::PAGE_SIZE;
use rusqlite::Connection;

/// Commits measured per configuration.
const COMMITS: u64 = 3000;

/// CPU time of this process's threads so far, in nanoseconds.
fn process_cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// CPU per commit, in µs, of `rows` INSERTs a transaction into a table with `indexes` indexes.
fn floor(indexes: usize, rows: u64) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = Connection::open(dir.path().join("floor.db")).expect("open");
    conn.execute_batch(&format!(
        "PRAGMA page_size = {PAGE_SIZE}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE t (seq INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL);"
    ))
    .expect("schema");
    for i in 0..indexes {
        conn.execute_batch(&format!("CREATE INDEX t_{i} ON t (k, seq)"))
            .expect("index");
    }
    let mut n = 0u64;
    let mut commit = |conn: &Connection| {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        let mut insert = conn
            .prepare_cached("INSERT INTO t (k, v) VALUES (?1, 'eni-0123456789abcdef')")
            .expect("prepare");
        for _ in 0..rows {
            n += 1;
            let key = format!("key-{}", n % 4);
            insert.execute([key]).expect("insert");
        }
        drop(insert);
        conn.execute_batch("COMMIT").expect("commit");
    };
    // A thousand rows first, so that the B-trees have some depth.
    for _ in 0..1000 / rows {
        commit(&conn);
    }
    let before = process_cpu_ns();
    for _ in 0..COMMITS {
        commit(&conn);
    }
    (process_cpu_ns() - before) as f64 / COMMITS as f64 / 1e3
}

fn main() {
    println!("CPU per durable commit (WAL, synchronous=NORMAL, {PAGE_SIZE}-byte pages), {COMMITS} commits each");
    println!(
        "{:>8} {:>12} {:>16} {:>12}",
        "B-trees", "rows/commit", "CPU us/commit", "CPU us/row"
    );
    for indexes in [0, 8, 16, 24, 31] {
        for rows in [1, 8] {
            let us = floor(indexes, rows);
            println!(
                "{:>8} {:>12} {:>16.1} {:>12.1}",
                indexes + 1,
                rows,
                us,
                us / rows as f64
            );
        }
    }
}
