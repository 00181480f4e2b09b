//! [`SqliteTx`]: one transaction on a connection it owns for its lifetime, and the SQL of
//! every [`Tx`] method.
//!
//! Conversions between rows and SQL values live here too: IPv4 addresses and other u32s are
//! integers, account IDs are their u64 bits in an i64, tags are a JSON array of
//! `[key, value]` pairs, typed IDs are text parsed back through their `FromStr` (a row that
//! does not parse is a backend error).
//!
//! Accounts, keys, nonces, idempotency records, VPCs and vSwitches are written here; the
//! resources added later (ENIs, addresses, instances, security groups and their rules, EIPs)
//! have a file each under `tx/`, and the [`Tx`] impl below only delegates to them.

// Visible to the crate so that its tests can check the plans of the hot statements.
pub(crate) mod addresses;
pub(crate) mod eips;
pub(crate) mod eni_find;
pub(crate) mod find;
use find::Find;
pub(crate) mod enis;
pub(crate) mod instances;
pub(crate) mod security_group_rules;
pub(crate) mod security_groups;

use crate::errors::{
    conflict, db_err, db_err_fk, is_foreign_key_failure, FOREIGN_KEYS, UNNAMED_FOREIGN_KEY,
};
use crate::ReaderPool;
use eni_store::constraints::VSWITCH_VPC_FK;
use eni_store::{
    AccessKey, Account, ConsoleSession, Eip, EipAssociation, EipFilter, Eni, EniFilter, EniQuery,
    Host, IdempotencyRecord, Instance, InstanceFilter, Ipv6Entry, Labels, Position, PrivateIp,
    SecurityGroup, SecurityGroupFilter, SecurityGroupRule, SgPolicy, StoreError, Table, Tags, Tx,
    VSwitch, VSwitchFilter, Vpc, VpcFilter, Window,
};
use eni_types::ids::{
    AccountId, EipId, EniId, HostId, InstanceId, ResourceGroupId, SecurityGroupId,
    SecurityGroupRuleId, VSwitchId, VpcId,
};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::ops::Deref;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::MutexGuard;

/// A quota's count: the row the triggers of migration 0011 keep per (account, region, kind).
pub(crate) const RESOURCE_COUNT: &str =
    "SELECT n FROM resource_counts WHERE account_id = ?1 AND region_id = ?2 AND kind = ?3";

/// Whether any transition is due: `due_at IS NOT NULL` matches the partial due indexes, so each
/// probe looks at transitions only.
pub(crate) const DUE_ANY: &str = "SELECT \
    EXISTS (SELECT 1 FROM enis WHERE due_at IS NOT NULL AND due_at <= ?1) \
    OR EXISTS (SELECT 1 FROM instances WHERE due_at IS NOT NULL AND due_at <= ?1) \
    OR EXISTS (SELECT 1 FROM eips WHERE due_at IS NOT NULL AND due_at <= ?1)";

/// The connection a transaction runs on.
pub(crate) enum Handle<'a> {
    /// The store's only writer, locked for the transaction, and the count of its commits
    /// (the checkpointer's cue).
    Writer(MutexGuard<'a, Connection>, &'a AtomicU64),
    /// A reader borrowed from the pool.
    Reader(Pooled<'a>),
}

impl Deref for Handle<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Handle::Writer(c, _) => c,
            Handle::Reader(c) => c,
        }
    }
}

/// A reader connection that goes back to its pool when dropped.
pub(crate) struct Pooled<'a> {
    // Always Some until Drop takes it.
    conn: Option<Connection>,
    pool: &'a ReaderPool,
}

impl<'a> Pooled<'a> {
    pub(crate) fn new(conn: Connection, pool: &'a ReaderPool) -> Self {
        Self {
            conn: Some(conn),
            pool,
        }
    }
}

impl Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match &self.conn {
            Some(c) => c,
            // Only Drop empties the option, and nothing derefs after Drop.
            None => unreachable!("pooled connection used after drop"),
        }
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A connection still inside a transaction (its ROLLBACK failed) is closed instead.
            if conn.is_autocommit() {
                self.pool.give_back(conn);
            }
        }
    }
}

/// One transaction; rolled back on drop unless committed.
pub(crate) struct SqliteTx<'a> {
    conn: Handle<'a>,
    /// The last ENI filter's driver (a Describe asks for a page and a count of one filter).
    pub(crate) eni_driver: std::cell::RefCell<Option<eni_find::Chosen>>,
}

impl<'a> SqliteTx<'a> {
    /// Wraps a connection on which `BEGIN` has just succeeded.
    pub(crate) fn new(conn: Handle<'a>) -> Self {
        Self {
            conn,
            eni_driver: Default::default(),
        }
    }
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        // After a successful COMMIT, or a failed one that SQLite already rolled back, the
        // connection is in autocommit mode and there is nothing to undo.
        if !self.conn.is_autocommit() {
            // An error here cannot be returned; the connection's state is checked again
            // before reuse (Store::write, Pooled::drop).
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Account IDs are u64 and SQLite integers i64: the bits are stored unchanged, so every ID
/// round-trips (those above i64::MAX merely look negative to the sqlite3 shell).
fn account_to_sql(id: AccountId) -> i64 {
    id.0 as i64
}

fn account_from_sql(v: i64) -> AccountId {
    AccountId(v as u64)
}

fn tags_to_sql(tags: &Tags) -> Result<String, StoreError> {
    serde_json::to_string(tags).map_err(|e| StoreError::Backend(format!("encoding tags: {e}")))
}

fn tags_from_row(r: &Row<'_>, i: usize) -> rusqlite::Result<Tags> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

/// A typed ID column; a value that does not parse is a corrupt row.
fn id_from_row<T>(r: &Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(i)?;
    text.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

/// A nullable typed ID column.
fn opt_id_from_row<T>(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: Option<String> = r.get(i)?;
    text.map(|t| {
        t.parse()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
    })
    .transpose()
}

/// A column whose value the schema allows but the row type cannot hold: a corrupt row.
fn corrupt(i: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, Type::Text, what.into())
}

fn count_from_sql(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Backend(format!("negative count {n}")))
}

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: account_from_sql(r.get(0)?),
        name: r.get(1)?,
        created_at: r.get(2)?,
    })
}

fn access_key_from_row(r: &Row<'_>) -> rusqlite::Result<AccessKey> {
    Ok(AccessKey {
        id: r.get(0)?,
        secret: r.get(1)?,
        account_id: account_from_sql(r.get(2)?),
        created_at: r.get(3)?,
    })
}

fn idempotency_from_row(r: &Row<'_>) -> rusqlite::Result<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        account_id: account_from_sql(r.get(0)?),
        action: r.get(1)?,
        token: r.get(2)?,
        params_digest: r.get(3)?,
        response: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// `SELECT` of every VPC column, in the order [`vpc_from_row`] reads them.
macro_rules! select_vpc {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, region_id, cidr_block, ipv6_cidr_block, name, description, \
             status, is_default, vrouter_id, route_table_id, resource_group_id, tags, created_at, \
             ipv6_isp, route_table_name, route_table_description, route_table_tags FROM vpcs ",
            $rest
        )
    };
}

fn vpc_from_row(r: &Row<'_>) -> rusqlite::Result<Vpc> {
    Ok(Vpc {
        id: id_from_row(r, 0)?,
        account_id: account_from_sql(r.get(1)?),
        region_id: r.get(2)?,
        cidr_block: r.get(3)?,
        ipv6_cidr_block: r.get(4)?,
        name: r.get(5)?,
        description: r.get(6)?,
        status: r.get(7)?,
        is_default: r.get(8)?,
        vrouter_id: id_from_row(r, 9)?,
        route_table_id: id_from_row(r, 10)?,
        resource_group_id: id_from_row(r, 11)?,
        tags: tags_from_row(r, 12)?,
        created_at: r.get(13)?,
        ipv6_isp: r.get(14)?,
        route_table: Labels {
            name: r.get(15)?,
            description: r.get(16)?,
            tags: tags_from_row(r, 17)?,
        },
    })
}

/// `SELECT` of every vSwitch column, in the order [`vswitch_from_row`] reads them.
macro_rules! select_vswitch {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, region_id, vpc_id, zone_id, cidr_block, ipv6_cidr_block, name, \
             description, status, is_default, resource_group_id, tags, created_at \
             FROM vswitches ",
            $rest
        )
    };
}

fn vswitch_from_row(r: &Row<'_>) -> rusqlite::Result<VSwitch> {
    Ok(VSwitch {
        id: id_from_row(r, 0)?,
        account_id: account_from_sql(r.get(1)?),
        region_id: r.get(2)?,
        vpc_id: id_from_row(r, 3)?,
        zone_id: r.get(4)?,
        cidr_block: r.get(5)?,
        ipv6_cidr_block: r.get(6)?,
        name: r.get(7)?,
        description: r.get(8)?,
        status: r.get(9)?,
        is_default: r.get(10)?,
        resource_group_id: id_from_row(r, 11)?,
        tags: tags_from_row(r, 12)?,
        created_at: r.get(13)?,
    })
}

/// The columns of [`vpc_from_row`] over alias `t`.
const VPC_COLUMNS: &str = "t.id, t.account_id, t.region_id, t.cidr_block, t.ipv6_cidr_block, \
     t.name, t.description, t.status, t.is_default, t.vrouter_id, t.route_table_id, \
     t.resource_group_id, t.tags, t.created_at, t.ipv6_isp, t.route_table_name, \
     t.route_table_description, t.route_table_tags";

fn vpc_find(account: AccountId, region: &str, f: &VpcFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("vpcs", account, region, f.ids.is_some());
    q.one_of("id", f.ids.as_deref())?;
    q.eq("name", f.name.as_deref());
    q.flag("is_default", f.is_default);
    q.eq("resource_group_id", f.resource_group_id.as_deref());
    q.tags(&f.tags);
    Ok(q)
}

/// The columns of [`vswitch_from_row`] over alias `t`.
const VSWITCH_COLUMNS: &str = "t.id, t.account_id, t.region_id, t.vpc_id, t.zone_id, \
     t.cidr_block, t.ipv6_cidr_block, t.name, t.description, t.status, t.is_default, \
     t.resource_group_id, t.tags, t.created_at";

fn vswitch_find(account: AccountId, region: &str, f: &VSwitchFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("vswitches", account, region, f.ids.is_some());
    q.one_of("id", f.ids.as_deref())?;
    q.eq("vpc_id", f.vpc_id.as_ref().map(|v| v.as_str()));
    q.eq("zone_id", f.zone_id.as_deref());
    q.eq("name", f.name.as_deref());
    q.flag("is_default", f.is_default);
    q.eq("resource_group_id", f.resource_group_id.as_deref());
    if let Some(rt) = &f.route_table_id {
        q.cond(
            "t.vpc_id IN (SELECT id FROM vpcs WHERE route_table_id = {})",
            rusqlite::types::Value::Text(rt.clone()),
        );
    }
    q.tags(&f.tags);
    Ok(q)
}

impl SqliteTx<'_> {
    fn query_opt<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(db_err)?;
        st.query_row(params, f).optional().map_err(db_err)
    }

    fn query_all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(db_err)?;
        let rows = st.query_map(params, f).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// The count the triggers of 0011 keep for (account, region, kind): one primary-key probe.
    pub(crate) fn resource_count(
        &self,
        account: AccountId,
        region: &str,
        kind: &str,
    ) -> Result<u64, StoreError> {
        let n: Option<i64> = self.query_opt(
            RESOURCE_COUNT,
            params![account_to_sql(account), region, kind],
            |r| r.get(0),
        )?;
        count_from_sql(n.unwrap_or(0))
    }

    fn count(&self, sql: &str, params: impl rusqlite::Params) -> Result<u64, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(db_err)?;
        count_from_sql(st.query_row(params, |r| r.get(0)).map_err(db_err)?)
    }

    /// Runs a write statement; `map` names the foreign key it can trip. Returns rows changed.
    fn exec(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl Fn(rusqlite::Error) -> StoreError,
    ) -> Result<usize, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(db_err)?;
        st.execute(params).map_err(map)
    }

    /// Deletes rows of `parent` (the row whose `id` is `id`, at most) that other tables may
    /// reference. SQLite reports a foreign-key refusal without saying which key, so the
    /// referencing tables are then asked in turn, and the first that still points at `id`
    /// names the conflict.
    fn delete_parent(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        parent: &str,
        id: &str,
    ) -> Result<usize, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(db_err)?;
        match st.execute(params) {
            Ok(n) => Ok(n),
            Err(e) if is_foreign_key_failure(&e) => Err(self.key_referencing(parent, id)),
            Err(e) => Err(db_err(e)),
        }
    }

    fn key_referencing(&self, parent: &str, id: &str) -> StoreError {
        for key in FOREIGN_KEYS
            .iter()
            .filter(|k| k.parent == parent && !k.cascade)
        {
            let sql = format!(
                "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ?1)",
                key.child, key.column
            );
            let found = self
                .conn
                .prepare_cached(&sql)
                .and_then(|mut st| st.query_row([id], |r| r.get::<_, bool>(0)));
            match found {
                Ok(true) => return conflict(key.name),
                Ok(false) => {}
                Err(e) => return db_err(e),
            }
        }
        conflict(UNNAMED_FOREIGN_KEY)
    }

    /// Runs several statements as one: if `f` fails, everything it wrote is undone and the
    /// transaction stays usable, just as after one failed statement.
    fn atomically<T>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn
            .execute_batch("SAVEPOINT tx_method")
            .map_err(db_err)?;
        match f(self) {
            Ok(v) => {
                self.conn
                    .execute_batch("RELEASE tx_method")
                    .map_err(db_err)?;
                Ok(v)
            }
            Err(e) => {
                // ROLLBACK TO undoes but keeps the savepoint open; RELEASE then closes it.
                self.conn
                    .execute_batch("ROLLBACK TO tx_method; RELEASE tx_method")
                    .map_err(db_err)?;
                Err(e)
            }
        }
    }
}

impl Tx for SqliteTx<'_> {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        // On failure Drop rolls back whatever SQLite left open.
        self.conn.execute_batch("COMMIT").map_err(db_err)?;
        if let Handle::Writer(_, commits) = &self.conn {
            commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn restart(&mut self) -> Result<(), StoreError> {
        // The writer's mutex guard stays held, so no writer of this store comes between;
        // another process can (BEGIN IMMEDIATE then waits for it, or fails as Busy).
        let begin = match self.conn {
            Handle::Writer(..) => "BEGIN IMMEDIATE",
            Handle::Reader(_) => "BEGIN",
        };
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK").map_err(db_err)?;
        }
        self.conn.execute_batch(begin).map_err(db_err)
    }

    fn account_insert(&mut self, account: &Account) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)",
            params![account_to_sql(account.id), account.name, account.created_at],
            db_err,
        )?;
        Ok(())
    }

    fn account_get(&mut self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.query_opt(
            "SELECT id, name, created_at FROM accounts WHERE id = ?1",
            [account_to_sql(id)],
            account_from_row,
        )
    }

    fn account_by_name(&mut self, name: &str) -> Result<Option<Account>, StoreError> {
        self.query_opt(
            "SELECT id, name, created_at FROM accounts WHERE name = ?1",
            [name],
            account_from_row,
        )
    }

    fn access_key_insert(&mut self, key: &AccessKey) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO access_keys (id, secret, account_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                key.id,
                key.secret,
                account_to_sql(key.account_id),
                key.created_at
            ],
            db_err,
        )?;
        Ok(())
    }

    fn access_key_get(&mut self, id: &str) -> Result<Option<AccessKey>, StoreError> {
        self.query_opt(
            "SELECT id, secret, account_id, created_at FROM access_keys WHERE id = ?1",
            [id],
            access_key_from_row,
        )
    }

    fn access_key_for_account(
        &mut self,
        account: AccountId,
    ) -> Result<Option<AccessKey>, StoreError> {
        self.query_opt(
            "SELECT id, secret, account_id, created_at FROM access_keys
             WHERE account_id = ?1 ORDER BY seq LIMIT 1",
            [account_to_sql(account)],
            access_key_from_row,
        )
    }

    fn access_key_list_for_account(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<AccessKey>, StoreError> {
        self.query_all(
            "SELECT id, secret, account_id, created_at FROM access_keys
             WHERE account_id = ?1 ORDER BY seq",
            [account_to_sql(account)],
            access_key_from_row,
        )
    }

    fn access_key_delete(&mut self, id: &str) -> Result<bool, StoreError> {
        let n = self.exec("DELETE FROM access_keys WHERE id = ?1", [id], db_err)?;
        Ok(n == 1)
    }

    fn nonce_record(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        // One statement: insert, or take over a row that expired before `now`. A live row
        // makes the WHERE false, nothing changes, and the caller sees a replay.
        let changed = self.exec(
            "INSERT INTO nonces (access_key_id, nonce, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
             WHERE nonces.expires_at < ?4",
            params![access_key_id, nonce, expires_at, now],
            db_err,
        )?;
        Ok(changed == 1)
    }

    fn nonce_live(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = self.count(
            "SELECT count(*) FROM nonces
             WHERE access_key_id = ?1 AND nonce = ?2 AND expires_at >= ?3",
            params![access_key_id, nonce, now],
        )?;
        Ok(n > 0)
    }

    fn nonce_purge(&mut self, now: i64) -> Result<u64, StoreError> {
        let n = self.exec("DELETE FROM nonces WHERE expires_at < ?1", [now], db_err)?;
        Ok(n as u64)
    }

    fn console_session_insert(&mut self, s: &ConsoleSession) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO console_sessions
                 (token_hash, account_id, access_key_id, csrf, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.token_hash,
                account_to_sql(s.account_id),
                s.access_key_id,
                s.csrf,
                s.created_at,
                s.expires_at
            ],
            db_err,
        )?;
        Ok(())
    }

    fn console_session_get(
        &mut self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        self.query_opt(
            "SELECT token_hash, account_id, access_key_id, csrf, created_at, expires_at
             FROM console_sessions WHERE token_hash = ?1 AND expires_at > ?2",
            params![token_hash, now],
            |r| {
                Ok(ConsoleSession {
                    token_hash: r.get(0)?,
                    account_id: account_from_sql(r.get(1)?),
                    access_key_id: r.get(2)?,
                    csrf: r.get(3)?,
                    created_at: r.get(4)?,
                    expires_at: r.get(5)?,
                })
            },
        )
    }

    fn console_session_delete(&mut self, token_hash: &str) -> Result<bool, StoreError> {
        let n = self.exec(
            "DELETE FROM console_sessions WHERE token_hash = ?1",
            [token_hash],
            db_err,
        )?;
        Ok(n == 1)
    }

    fn console_session_purge(&mut self, now: i64) -> Result<u64, StoreError> {
        let n = self.exec(
            "DELETE FROM console_sessions WHERE expires_at <= ?1",
            [now],
            db_err,
        )?;
        Ok(n as u64)
    }

    fn idempotency_get(
        &mut self,
        account: AccountId,
        action: &str,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.query_opt(
            "SELECT account_id, action, token, params_digest, response, created_at FROM idempotency
             WHERE account_id = ?1 AND action = ?2 AND token = ?3",
            params![account_to_sql(account), action, token],
            idempotency_from_row,
        )
    }

    fn idempotency_insert(&mut self, record: &IdempotencyRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO idempotency (account_id, action, token, params_digest, response, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                account_to_sql(record.account_id),
                record.action,
                record.token,
                record.params_digest,
                record.response,
                record.created_at
            ],
            db_err,
        )?;
        Ok(())
    }

    fn host_insert(&mut self, host: &Host) -> Result<(), StoreError> {
        instances::host_insert(self, host)
    }

    fn host_update(&mut self, host: &Host) -> Result<(), StoreError> {
        instances::host_update(self, host)
    }

    fn host_use(&mut self, id: &HostId, vcpus: i64) -> Result<(), StoreError> {
        instances::host_use(self, id, vcpus)
    }

    fn host_delete(&mut self, id: &HostId) -> Result<bool, StoreError> {
        instances::host_delete(self, id)
    }

    fn host_seen(&mut self, name: &str, now: i64) -> Result<u64, StoreError> {
        instances::host_seen(self, name, now)
    }

    fn host_get(&mut self, id: &HostId) -> Result<Option<Host>, StoreError> {
        instances::host_get(self, id)
    }

    fn host_by_name(&mut self, name: &str, zone: &str) -> Result<Option<Host>, StoreError> {
        instances::host_by_name(self, name, zone)
    }

    fn host_list(&mut self) -> Result<Vec<Host>, StoreError> {
        instances::host_list(self)
    }

    fn instances_on_host(&mut self, host: &HostId) -> Result<Vec<Instance>, StoreError> {
        instances::on_host(self, host)
    }

    fn instances_unplaced(&mut self) -> Result<Vec<Instance>, StoreError> {
        instances::unplaced(self)
    }

    fn instances_by_ids(&mut self, ids: &[InstanceId]) -> Result<Vec<Instance>, StoreError> {
        instances::by_ids(self, ids)
    }

    fn departure_insert(
        &mut self,
        instance: &InstanceId,
        host: Option<&HostId>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO departures (instance_id, host_id) VALUES (?1, ?2)
             ON CONFLICT (instance_id) DO UPDATE SET host_id = excluded.host_id",
            params![instance.as_str(), host.map(|h| h.as_str())],
            db_err,
        )?;
        Ok(())
    }

    fn departures_all(&mut self) -> Result<Vec<(InstanceId, Option<HostId>)>, StoreError> {
        self.query_all(
            "SELECT instance_id, host_id FROM departures ORDER BY instance_id",
            [],
            |r| {
                let host: Option<String> = r.get(1)?;
                Ok((id_from_row(r, 0)?, host.and_then(|h| h.parse().ok())))
            },
        )
    }

    fn departure_delete(&mut self, instance: &InstanceId) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM departures WHERE instance_id = ?1",
            [instance.as_str()],
            db_err,
        )?;
        Ok(())
    }

    fn setting_get(&mut self, name: &str) -> Result<Option<String>, StoreError> {
        self.query_opt("SELECT value FROM settings WHERE name = ?1", [name], |r| {
            r.get(0)
        })
    }

    fn setting_insert(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO settings (name, value) VALUES (?1, ?2)",
            params![name, value],
            db_err,
        )?;
        Ok(())
    }

    fn vpc_insert(&mut self, vpc: &Vpc) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO vpcs (id, account_id, region_id, cidr_block, ipv6_cidr_block, name,
                 description, status, is_default, vrouter_id, route_table_id, resource_group_id,
                 tags, created_at, ipv6_isp, route_table_name, route_table_description,
                 route_table_tags)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18)",
            params![
                vpc.id.as_str(),
                account_to_sql(vpc.account_id),
                vpc.region_id,
                vpc.cidr_block,
                vpc.ipv6_cidr_block,
                vpc.name,
                vpc.description,
                vpc.status,
                vpc.is_default,
                vpc.vrouter_id.as_str(),
                vpc.route_table_id.as_str(),
                vpc.resource_group_id.as_str(),
                tags_to_sql(&vpc.tags)?,
                vpc.created_at,
                vpc.ipv6_isp,
                vpc.route_table.name,
                vpc.route_table.description,
                tags_to_sql(&vpc.route_table.tags)?
            ],
            db_err,
        )?;
        Ok(())
    }

    fn name_set(
        &mut self,
        table: Table,
        account: AccountId,
        id: &str,
        name: &str,
        description: &str,
    ) -> Result<bool, StoreError> {
        let [name_col, description_col, _] = table.label_columns();
        let sql = format!(
            "UPDATE {} SET {name_col} = ?3, {description_col} = ?4 WHERE account_id = ?1 AND id = ?2",
            table.name()
        );
        let n = self.exec(
            &sql,
            params![account_to_sql(account), id, name, description],
            db_err,
        )?;
        Ok(n > 0)
    }

    fn resource_group_set(
        &mut self,
        table: Table,
        account: AccountId,
        id: &str,
        group: &ResourceGroupId,
    ) -> Result<bool, StoreError> {
        let Some(column) = table.resource_group_column() else {
            return Ok(false);
        };
        let sql = format!(
            "UPDATE {} SET {column} = ?3 WHERE account_id = ?1 AND id = ?2",
            table.name()
        );
        let n = self.exec(
            &sql,
            params![account_to_sql(account), id, group.as_str()],
            db_err,
        )?;
        Ok(n > 0)
    }

    fn tags_set(
        &mut self,
        table: Table,
        account: AccountId,
        id: &str,
        tags: &Tags,
    ) -> Result<bool, StoreError> {
        let [_, _, tags_col] = table.label_columns();
        let sql = format!(
            "UPDATE {} SET {tags_col} = ?3 WHERE account_id = ?1 AND id = ?2",
            table.name()
        );
        let n = self.exec(
            &sql,
            params![account_to_sql(account), id, tags_to_sql(tags)?],
            db_err,
        )?;
        Ok(n > 0)
    }

    fn vpc_get(&mut self, account: AccountId, id: &VpcId) -> Result<Option<Vpc>, StoreError> {
        self.query_opt(
            select_vpc!("WHERE account_id = ?1 AND id = ?2"),
            params![account_to_sql(account), id.as_str()],
            vpc_from_row,
        )
    }

    fn vpc_list(&mut self, account: AccountId, region: &str) -> Result<Vec<Vpc>, StoreError> {
        self.query_all(
            select_vpc!("WHERE account_id = ?1 AND region_id = ?2 ORDER BY seq"),
            params![account_to_sql(account), region],
            vpc_from_row,
        )
    }

    fn vpc_delete(&mut self, account: AccountId, id: &VpcId) -> Result<bool, StoreError> {
        let n = self.delete_parent(
            "DELETE FROM vpcs WHERE account_id = ?1 AND id = ?2",
            params![account_to_sql(account), id.as_str()],
            "vpcs",
            id.as_str(),
        )?;
        Ok(n > 0)
    }

    fn vpc_count(&mut self, account: AccountId, region: &str) -> Result<u64, StoreError> {
        self.resource_count(account, region, "vpc")
    }

    fn vpc_list_all(&mut self) -> Result<Vec<Vpc>, StoreError> {
        self.query_all(select_vpc!("ORDER BY seq"), [], vpc_from_row)
    }

    fn vpc_seqs_all(&mut self) -> Result<Vec<(VpcId, i64)>, StoreError> {
        self.query_all("SELECT id, seq FROM vpcs ORDER BY seq", [], |r| {
            Ok((id_from_row(r, 0)?, r.get(1)?))
        })
    }

    fn vpc_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VpcFilter,
        window: Window,
    ) -> Result<Vec<(Position, Vpc)>, StoreError> {
        vpc_find(account, region, filter)?.rows(self, VPC_COLUMNS, window, vpc_from_row)
    }

    fn vpc_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VpcFilter,
    ) -> Result<u64, StoreError> {
        vpc_find(account, region, filter)?.count(self)
    }

    fn vswitch_insert(&mut self, vsw: &VSwitch) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO vswitches (id, account_id, region_id, vpc_id, zone_id, cidr_block,
                 ipv6_cidr_block, name, description, status, is_default, resource_group_id, tags,
                 created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                vsw.id.as_str(),
                account_to_sql(vsw.account_id),
                vsw.region_id,
                vsw.vpc_id.as_str(),
                vsw.zone_id,
                vsw.cidr_block,
                vsw.ipv6_cidr_block,
                vsw.name,
                vsw.description,
                vsw.status,
                vsw.is_default,
                vsw.resource_group_id.as_str(),
                tags_to_sql(&vsw.tags)?,
                vsw.created_at
            ],
            db_err_fk(VSWITCH_VPC_FK),
        )?;
        Ok(())
    }

    fn vswitch_get(
        &mut self,
        account: AccountId,
        id: &VSwitchId,
    ) -> Result<Option<VSwitch>, StoreError> {
        self.query_opt(
            select_vswitch!("WHERE account_id = ?1 AND id = ?2"),
            params![account_to_sql(account), id.as_str()],
            vswitch_from_row,
        )
    }

    fn vswitch_list(
        &mut self,
        account: AccountId,
        region: &str,
        vpc: Option<&VpcId>,
    ) -> Result<Vec<VSwitch>, StoreError> {
        // Two statements rather than `?3 IS NULL OR vpc_id = ?3`, so each can use its index.
        match vpc {
            None => self.query_all(
                select_vswitch!("WHERE account_id = ?1 AND region_id = ?2 ORDER BY seq"),
                params![account_to_sql(account), region],
                vswitch_from_row,
            ),
            Some(vpc) => self.query_all(
                select_vswitch!(
                    "WHERE vpc_id = ?3 AND account_id = ?1 AND region_id = ?2 ORDER BY seq"
                ),
                params![account_to_sql(account), region, vpc.as_str()],
                vswitch_from_row,
            ),
        }
    }

    fn vswitch_delete(&mut self, account: AccountId, id: &VSwitchId) -> Result<bool, StoreError> {
        let n = self.delete_parent(
            "DELETE FROM vswitches WHERE account_id = ?1 AND id = ?2",
            params![account_to_sql(account), id.as_str()],
            "vswitches",
            id.as_str(),
        )?;
        Ok(n > 0)
    }

    fn vswitch_list_all(&mut self) -> Result<Vec<VSwitch>, StoreError> {
        self.query_all(select_vswitch!("ORDER BY seq"), [], vswitch_from_row)
    }

    fn vswitch_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VSwitchFilter,
        window: Window,
    ) -> Result<Vec<(Position, VSwitch)>, StoreError> {
        vswitch_find(account, region, filter)?.rows(self, VSWITCH_COLUMNS, window, vswitch_from_row)
    }

    fn vswitch_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VSwitchFilter,
    ) -> Result<u64, StoreError> {
        vswitch_find(account, region, filter)?.count(self)
    }

    // ---- private IPs, the free list, IPv6 (tx/addresses.rs) ----

    fn private_ip_insert(&mut self, ip: &PrivateIp) -> Result<(), StoreError> {
        addresses::private_ip_insert(self, ip)
    }

    fn private_ip_delete(&mut self, vswitch: &VSwitchId, ip: u32) -> Result<bool, StoreError> {
        addresses::private_ip_delete(self, vswitch, ip)
    }

    fn private_ip_count(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError> {
        addresses::private_ip_count(self, vswitch)
    }

    fn private_ip_get(
        &mut self,
        vswitch: &VSwitchId,
        ip: u32,
    ) -> Result<Option<PrivateIp>, StoreError> {
        addresses::private_ip_get(self, vswitch, ip)
    }

    fn private_ips_of(&mut self, owner: &str) -> Result<Vec<PrivateIp>, StoreError> {
        addresses::private_ips_of(self, owner)
    }

    fn private_ips_all(&mut self) -> Result<Vec<PrivateIp>, StoreError> {
        addresses::private_ips_all(self)
    }

    fn ip_free_first(&mut self, vswitch: &VSwitchId) -> Result<Option<(u32, u32)>, StoreError> {
        addresses::ip_free_first(self, vswitch)
    }

    fn ip_free_containing(
        &mut self,
        vswitch: &VSwitchId,
        ip: u32,
    ) -> Result<Option<(u32, u32)>, StoreError> {
        addresses::ip_free_containing(self, vswitch, ip)
    }

    fn ip_free_list(&mut self, vswitch: &VSwitchId) -> Result<Vec<(u32, u32)>, StoreError> {
        addresses::ip_free_list(self, vswitch)
    }

    fn ip_free_first_aligned(
        &mut self,
        vswitch: &VSwitchId,
        size: u32,
    ) -> Result<Option<(u32, u32)>, StoreError> {
        addresses::ip_free_first_aligned(self, vswitch, size)
    }

    fn ip_free_insert(&mut self, vswitch: &VSwitchId, lo: u32, hi: u32) -> Result<(), StoreError> {
        addresses::ip_free_insert(self, vswitch, lo, hi)
    }

    fn ip_free_delete(&mut self, vswitch: &VSwitchId, lo: u32) -> Result<bool, StoreError> {
        addresses::ip_free_delete(self, vswitch, lo)
    }

    fn ip_free_clear(&mut self, vswitch: &VSwitchId) -> Result<(), StoreError> {
        addresses::ip_free_clear(self, vswitch)
    }

    fn ipv6_insert(&mut self, entry: &Ipv6Entry) -> Result<(), StoreError> {
        addresses::ipv6_insert(self, entry)
    }

    fn ipv6_delete(&mut self, vswitch: &VSwitchId, addr: &str) -> Result<bool, StoreError> {
        addresses::ipv6_delete(self, vswitch, addr)
    }

    fn ipv6_get(
        &mut self,
        vswitch: &VSwitchId,
        addr: &str,
    ) -> Result<Option<Ipv6Entry>, StoreError> {
        addresses::ipv6_get(self, vswitch, addr)
    }

    fn ipv6_of(&mut self, owner: &str) -> Result<Vec<Ipv6Entry>, StoreError> {
        addresses::ipv6_of(self, owner)
    }

    fn ipv6_all(&mut self) -> Result<Vec<Ipv6Entry>, StoreError> {
        addresses::ipv6_all(self)
    }

    fn ipv6_nets_in_use(&mut self, vswitch: &VSwitchId) -> Result<Vec<String>, StoreError> {
        addresses::ipv6_nets_in_use(self, vswitch)
    }

    // ---- security groups (tx/security_groups.rs) ----

    fn security_group_insert(&mut self, sg: &SecurityGroup) -> Result<(), StoreError> {
        security_groups::insert(self, sg)
    }

    fn security_group_get(
        &mut self,
        account: AccountId,
        id: &SecurityGroupId,
    ) -> Result<Option<SecurityGroup>, StoreError> {
        security_groups::get(self, account, id)
    }

    fn security_group_list(
        &mut self,
        account: AccountId,
        region: &str,
    ) -> Result<Vec<SecurityGroup>, StoreError> {
        security_groups::list(self, account, region)
    }

    fn security_group_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &SecurityGroupFilter,
        window: Window,
    ) -> Result<Vec<(Position, SecurityGroup)>, StoreError> {
        security_groups::find_rows(self, account, region, filter, window)
    }

    fn security_group_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &SecurityGroupFilter,
    ) -> Result<u64, StoreError> {
        security_groups::find_count(self, account, region, filter)
    }

    fn security_group_delete(
        &mut self,
        account: AccountId,
        id: &SecurityGroupId,
    ) -> Result<bool, StoreError> {
        security_groups::delete(self, account, id)
    }

    fn security_group_member_count(&mut self, id: &SecurityGroupId) -> Result<u64, StoreError> {
        security_groups::member_count(self, id)
    }

    fn security_group_count_in_vpc(&mut self, vpc: &VpcId) -> Result<u64, StoreError> {
        security_groups::count_in_vpc(self, vpc)
    }

    // ---- security group rules (tx/security_group_rules.rs) ----

    fn sg_rule_insert(&mut self, rule: &SecurityGroupRule) -> Result<(), StoreError> {
        security_group_rules::insert(self, rule)
    }

    fn sg_rule_update(&mut self, rule: &SecurityGroupRule) -> Result<bool, StoreError> {
        security_group_rules::update(self, rule)
    }

    fn sg_rule_delete(
        &mut self,
        group: &SecurityGroupId,
        id: &SecurityGroupRuleId,
    ) -> Result<bool, StoreError> {
        security_group_rules::delete(self, group, id)
    }

    fn sg_rules_of(
        &mut self,
        group: &SecurityGroupId,
    ) -> Result<Vec<SecurityGroupRule>, StoreError> {
        security_group_rules::rules_of(self, group)
    }

    fn sg_rules_all(&mut self) -> Result<Vec<SecurityGroupRule>, StoreError> {
        security_group_rules::rules_all(self)
    }

    fn sg_inner_access_policy(
        &mut self,
        group: &SecurityGroupId,
    ) -> Result<Option<SgPolicy>, StoreError> {
        security_group_rules::inner_access_policy(self, group)
    }

    fn sg_inner_access_policies_all(
        &mut self,
    ) -> Result<Vec<(SecurityGroupId, SgPolicy)>, StoreError> {
        security_group_rules::inner_access_policies_all(self)
    }

    fn sg_inner_access_policy_set(
        &mut self,
        account: AccountId,
        group: &SecurityGroupId,
        policy: SgPolicy,
    ) -> Result<bool, StoreError> {
        security_group_rules::set_inner_access_policy(self, account, group, policy)
    }

    // ---- ENIs (tx/enis.rs) ----

    fn eni_insert(&mut self, eni: &Eni) -> Result<(), StoreError> {
        enis::insert(self, eni)
    }

    fn eni_get(&mut self, account: AccountId, id: &EniId) -> Result<Option<Eni>, StoreError> {
        enis::get(self, account, id)
    }

    fn eni_update(&mut self, eni: &Eni) -> Result<(), StoreError> {
        enis::update(self, eni)
    }

    fn eni_delete(&mut self, account: AccountId, id: &EniId) -> Result<bool, StoreError> {
        enis::delete(self, account, id)
    }

    fn eni_list(
        &mut self,
        account: AccountId,
        region: &str,
        query: &EniQuery,
    ) -> Result<Vec<Eni>, StoreError> {
        enis::list(self, account, region, query)
    }

    fn eni_count(
        &mut self,
        account: AccountId,
        region: &str,
        eni_type: &str,
    ) -> Result<u64, StoreError> {
        enis::count(self, account, region, eni_type)
    }

    fn eni_due(&mut self, now: i64, limit: u32) -> Result<Vec<Eni>, StoreError> {
        enis::due(self, now, limit)
    }

    fn due_any(&mut self, now: i64) -> Result<bool, StoreError> {
        let any: Option<bool> = self.query_opt(DUE_ANY, [now], |r| r.get(0))?;
        Ok(any.unwrap_or(false))
    }

    fn eni_count_in_vswitch(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError> {
        enis::count_in_vswitch(self, vswitch)
    }

    fn eni_list_all(&mut self) -> Result<Vec<Eni>, StoreError> {
        enis::list_all(self)
    }

    fn eni_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EniFilter,
        window: Window,
    ) -> Result<Vec<(Position, Eni)>, StoreError> {
        eni_find::find(self, account, region, filter, window)
    }

    fn eni_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EniFilter,
    ) -> Result<u64, StoreError> {
        eni_find::count(self, account, region, filter)
    }

    fn private_ips_of_many(&mut self, owners: &[&str]) -> Result<Vec<PrivateIp>, StoreError> {
        addresses::private_ips_of_many(self, owners)
    }

    fn ipv6_of_many(&mut self, owners: &[&str]) -> Result<Vec<Ipv6Entry>, StoreError> {
        addresses::ipv6_of_many(self, owners)
    }

    fn eips_of_enis(&mut self, enis: &[EniId]) -> Result<Vec<Eip>, StoreError> {
        eips::of_enis(self, enis)
    }

    // ---- instances (tx/instances.rs) ----

    fn instance_insert(&mut self, instance: &Instance) -> Result<(), StoreError> {
        instances::insert(self, instance)
    }

    fn instance_get(
        &mut self,
        account: AccountId,
        id: &InstanceId,
    ) -> Result<Option<Instance>, StoreError> {
        instances::get(self, account, id)
    }

    fn instance_update(&mut self, instance: &Instance) -> Result<(), StoreError> {
        instances::update(self, instance)
    }

    fn instance_delete(&mut self, account: AccountId, id: &InstanceId) -> Result<bool, StoreError> {
        instances::delete(self, account, id)
    }

    fn instance_list(
        &mut self,
        account: AccountId,
        region: &str,
    ) -> Result<Vec<Instance>, StoreError> {
        instances::list(self, account, region)
    }

    fn instance_due(&mut self, now: i64, limit: u32) -> Result<Vec<Instance>, StoreError> {
        instances::due(self, now, limit)
    }

    fn instance_count_in_vswitch(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError> {
        instances::count_in_vswitch(self, vswitch)
    }

    fn instance_list_all(&mut self) -> Result<Vec<Instance>, StoreError> {
        instances::list_all(self)
    }

    fn instance_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &InstanceFilter,
        window: Window,
    ) -> Result<Vec<(Position, Instance)>, StoreError> {
        instances::find_rows(self, account, region, filter, window)
    }

    fn instance_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &InstanceFilter,
    ) -> Result<u64, StoreError> {
        instances::find_count(self, account, region, filter)
    }

    fn enis_of_instances(&mut self, instances: &[InstanceId]) -> Result<Vec<Eni>, StoreError> {
        enis::of_instances(self, instances)
    }

    // ---- elastic IP addresses (tx/eips.rs) ----

    fn eip_insert(&mut self, eip: &Eip) -> Result<(), StoreError> {
        eips::insert(self, eip)
    }

    fn eip_get(&mut self, account: AccountId, id: &EipId) -> Result<Option<Eip>, StoreError> {
        eips::get(self, account, id)
    }

    fn eip_update(&mut self, eip: &Eip) -> Result<(), StoreError> {
        eips::update(self, eip)
    }

    fn eip_delete(&mut self, account: AccountId, id: &EipId) -> Result<bool, StoreError> {
        eips::delete(self, account, id)
    }

    fn eip_list(&mut self, account: AccountId, region: &str) -> Result<Vec<Eip>, StoreError> {
        eips::list(self, account, region)
    }

    fn eip_due(&mut self, now: i64, limit: u32) -> Result<Vec<Eip>, StoreError> {
        eips::due(self, now, limit)
    }

    fn eips_awaiting_dataplane(&mut self) -> Result<Vec<Eip>, StoreError> {
        eips::awaiting_dataplane(self)
    }

    fn eip_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EipFilter,
        window: Window,
    ) -> Result<Vec<(Position, Eip)>, StoreError> {
        eips::find_rows(self, account, region, filter, window)
    }

    fn eip_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EipFilter,
    ) -> Result<u64, StoreError> {
        eips::find_count(self, account, region, filter)
    }

    fn eips_of_eni(&mut self, eni: &EniId) -> Result<Vec<Eip>, StoreError> {
        eips::of_eni(self, eni)
    }

    fn eip_count(&mut self, account: AccountId, region: &str) -> Result<u64, StoreError> {
        eips::count(self, account, region)
    }

    fn eip_ips_in(&mut self, lo: u32, hi: u32) -> Result<Vec<u32>, StoreError> {
        eips::ips_in(self, lo, hi)
    }

    fn eips_associated_in_vpc(&mut self, vpc: &VpcId) -> Result<Vec<EipAssociation>, StoreError> {
        eips::associated_in_vpc(self, vpc)
    }

    fn eips_associated_all(&mut self) -> Result<Vec<(VpcId, EipAssociation)>, StoreError> {
        eips::associated_all(self)
    }

    fn eip_pool_exists(&mut self, pool: &str) -> Result<bool, StoreError> {
        eips::pool_exists(self, pool)
    }

    fn eip_pool_reset(&mut self, pool: &str) -> Result<(), StoreError> {
        eips::pool_reset(self, pool)
    }

    fn eip_free_first(&mut self, pool: &str) -> Result<Option<(u32, u32)>, StoreError> {
        eips::free_first(self, pool)
    }

    fn eip_free_containing(
        &mut self,
        pool: &str,
        ip: u32,
    ) -> Result<Option<(u32, u32)>, StoreError> {
        eips::free_containing(self, pool, ip)
    }

    fn eip_free_list(&mut self, pool: &str) -> Result<Vec<(u32, u32)>, StoreError> {
        eips::free_list(self, pool)
    }

    fn eip_free_insert(&mut self, pool: &str, lo: u32, hi: u32) -> Result<(), StoreError> {
        eips::free_insert(self, pool, lo, hi)
    }

    fn eip_free_delete(&mut self, pool: &str, lo: u32) -> Result<bool, StoreError> {
        eips::free_delete(self, pool, lo)
    }

    fn dataplane_generation(&mut self) -> Result<u64, StoreError> {
        let v: Option<i64> = self.query_opt(
            "SELECT value FROM counters WHERE name = 'dataplane'",
            [],
            |r| r.get(0),
        )?;
        Ok(v.unwrap_or(0) as u64)
    }

    fn dataplane_changes_since(
        &mut self,
        after: u64,
    ) -> Result<Option<std::collections::BTreeSet<String>>, StoreError> {
        let bounds: Option<(i64, i64)> = self.query_opt(
            "SELECT (SELECT value FROM counters WHERE name = 'dataplane'),
                    (SELECT value FROM counters WHERE name = 'dataplane_log_floor')",
            [],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                    r.get::<_, Option<i64>>(1)?.unwrap_or(i64::MAX),
                ))
            },
        )?;
        let Some((now, floor)) = bounds else {
            return Ok(None);
        };
        let Ok(after) = i64::try_from(after) else {
            return Ok(None);
        };
        if after > now || after < floor {
            return Ok(None);
        }
        let scopes = self.query_all(
            "SELECT DISTINCT scope FROM dataplane_changes WHERE generation > ?1",
            [after],
            |r| r.get(0),
        )?;
        Ok(Some(scopes.into_iter().collect()))
    }
}
