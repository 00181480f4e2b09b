//! [`PgTx`]: one transaction on a pooled connection it owns for its lifetime, and the SQL of
//! every [`Tx`] method.
//!
//! Conversions as in the SQLite backend: IPv4 addresses and other u32s are BIGINTs, account
//! IDs their u64 bits in a BIGINT, tags a JSON array of `[key, value]` pairs in TEXT, typed IDs
//! text parsed back through their `FromStr` (a row that does not parse is a backend error).
//!
//! Accounts, keys, nonces, idempotency records, VPCs and vSwitches are written here; the other
//! resources have a file each under `tx/`, and the [`Tx`] impl below only delegates to them.

pub(crate) mod addresses;
pub(crate) mod eips;
pub(crate) mod eni_find;
pub(crate) mod enis;
pub(crate) mod find;
pub(crate) mod instances;
pub(crate) mod security_group_rules;
pub(crate) mod security_groups;

use crate::conn::Conn;
use crate::PgStore;
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
use postgres::types::FromSql;
use postgres::Row;
use std::str::FromStr;

pub(crate) use crate::conn::Params;

/// Records a nonce, or takes over a row that expired before `$4`; a live row makes the WHERE
/// false, nothing changes, and the caller sees a replay.
pub(crate) const NONCE_RECORD: &str =
    "INSERT INTO nonces (access_key_id, nonce, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
     WHERE nonces.expires_at < $4";

/// The count the triggers keep for (account, region, kind): one primary-key probe.
pub(crate) const RESOURCE_COUNT: &str =
    "SELECT n FROM resource_counts WHERE account_id = $1 AND region_id = $2 AND kind = $3";

/// Whether any transition is due: `due_at IS NOT NULL` matches the partial due indexes.
pub(crate) const DUE_ANY: &str = "SELECT \
    EXISTS (SELECT 1 FROM enis WHERE due_at IS NOT NULL AND due_at <= $1) \
    OR EXISTS (SELECT 1 FROM instances WHERE due_at IS NOT NULL AND due_at <= $1) \
    OR EXISTS (SELECT 1 FROM eips WHERE due_at IS NOT NULL AND due_at <= $1)";

/// One transaction; rolled back on drop unless committed.
pub(crate) struct PgTx<'a> {
    // Always Some until commit or Drop takes it.
    conn: Option<Conn>,
    store: &'a PgStore,
    write: bool,
    /// The last ENI filter's driver (a Describe asks for a page and a count of one filter).
    pub(crate) eni_driver: Option<eni_find::Chosen>,
}

impl<'a> PgTx<'a> {
    /// Wraps a connection on which the transaction has just begun.
    pub(crate) fn new(conn: Conn, store: &'a PgStore, write: bool) -> Self {
        PgTx {
            conn: Some(conn),
            store,
            write,
            eni_driver: None,
        }
    }

    pub(crate) fn conn(&mut self) -> Result<&mut Conn, StoreError> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Backend("transaction already ended".into()))
    }

    /// The first row of `sql`, if any, through `f`.
    pub(crate) fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &Params<'_>,
        f: impl FnOnce(&Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let row = self.conn()?.query_opt(sql, params)?;
        row.as_ref().map(f).transpose()
    }

    /// Every row of `sql` through `f`.
    pub(crate) fn query_all<T>(
        &mut self,
        sql: &str,
        params: &Params<'_>,
        f: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self.conn()?.query(sql, params)?;
        rows.iter().map(f).collect()
    }

    /// A `count(*)` (or any single BIGINT) query.
    pub(crate) fn count(&mut self, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
        let n: Option<i64> = self.query_opt(sql, params, |r| get(r, 0))?;
        count_from_sql(n.unwrap_or(0))
    }

    /// The count the triggers keep for (account, region, kind).
    pub(crate) fn resource_count(
        &mut self,
        account: AccountId,
        region: &str,
        kind: &str,
    ) -> Result<u64, StoreError> {
        self.count(RESOURCE_COUNT, &[&account_to_sql(account), &region, &kind])
    }

    /// Runs a write statement in a savepoint of its own (sent with it, one round trip), so
    /// that a failure (a constraint) undoes it alone and leaves the transaction usable.
    /// Returns the rows changed.
    pub(crate) fn exec(&mut self, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
        self.conn()?.execute_alone(sql, params)
    }

    /// Runs several statements as one: if `f` fails, everything it wrote is undone and the
    /// transaction stays usable, just as after one failed statement. Nests.
    pub(crate) fn atomically<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn()?.batch("SAVEPOINT tx_method")?;
        match f(self) {
            Ok(v) => {
                self.conn()?.batch("RELEASE tx_method")?;
                Ok(v)
            }
            Err(e) => {
                // ROLLBACK TO undoes but keeps the savepoint open; RELEASE then closes it.
                self.conn()?
                    .batch("ROLLBACK TO tx_method; RELEASE tx_method")?;
                Err(e)
            }
        }
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            // A connection whose ROLLBACK failed is closed rather than reused.
            if conn.batch("ROLLBACK").is_ok() {
                self.store.give_back(conn);
            }
        }
    }
}

/// Column `i` of `r`; a value of the wrong type is a backend error, not a panic.
pub(crate) fn get<'r, T: FromSql<'r>>(r: &'r Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i)
        .map_err(|e| StoreError::Backend(format!("column {i}: {e}")))
}

/// Account IDs are u64 and PostgreSQL has no unsigned type: the bits are stored unchanged in a
/// BIGINT, so every ID round-trips.
pub(crate) fn account_to_sql(id: AccountId) -> i64 {
    id.0 as i64
}

pub(crate) fn account_from_sql(v: i64) -> AccountId {
    AccountId(v as u64)
}

pub(crate) fn account_from(r: &Row, i: usize) -> Result<AccountId, StoreError> {
    Ok(account_from_sql(get(r, i)?))
}

pub(crate) fn tags_to_sql(tags: &Tags) -> Result<String, StoreError> {
    serde_json::to_string(tags).map_err(|e| StoreError::Backend(format!("encoding tags: {e}")))
}

pub(crate) fn tags_from(r: &Row, i: usize) -> Result<Tags, StoreError> {
    let text: String = get(r, i)?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::Backend(format!("column {i}: tags {text:?}: {e}")))
}

/// A typed ID column; a value that does not parse is a corrupt row.
pub(crate) fn id_from<T>(r: &Row, i: usize) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = get(r, i)?;
    text.parse()
        .map_err(|e| StoreError::Backend(format!("column {i}: {text:?}: {e}")))
}

/// A nullable typed ID column.
pub(crate) fn opt_id_from<T>(r: &Row, i: usize) -> Result<Option<T>, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = get(r, i)?;
    text.map(|t| {
        t.parse()
            .map_err(|e| StoreError::Backend(format!("column {i}: {t:?}: {e}")))
    })
    .transpose()
}

/// A u32 stored in a BIGINT (IPv4 addresses, device indexes).
pub(crate) fn u32_from(r: &Row, i: usize) -> Result<u32, StoreError> {
    let v: i64 = get(r, i)?;
    u32::try_from(v).map_err(|_| StoreError::Backend(format!("column {i}: {v} is not a u32")))
}

pub(crate) fn count_from_sql(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Backend(format!("negative count {n}")))
}

fn account_from_row(r: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: account_from(r, 0)?,
        name: get(r, 1)?,
        created_at: get(r, 2)?,
    })
}

fn access_key_from_row(r: &Row) -> Result<AccessKey, StoreError> {
    Ok(AccessKey {
        id: get(r, 0)?,
        secret: get(r, 1)?,
        account_id: account_from(r, 2)?,
        created_at: get(r, 3)?,
    })
}

fn idempotency_from_row(r: &Row) -> Result<IdempotencyRecord, StoreError> {
    Ok(IdempotencyRecord {
        account_id: account_from(r, 0)?,
        action: get(r, 1)?,
        token: get(r, 2)?,
        params_digest: get(r, 3)?,
        response: get(r, 4)?,
        created_at: get(r, 5)?,
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

pub(crate) fn vpc_from_row(r: &Row) -> Result<Vpc, StoreError> {
    Ok(Vpc {
        id: id_from(r, 0)?,
        account_id: account_from(r, 1)?,
        region_id: get(r, 2)?,
        cidr_block: get(r, 3)?,
        ipv6_cidr_block: get(r, 4)?,
        name: get(r, 5)?,
        description: get(r, 6)?,
        status: get(r, 7)?,
        is_default: get(r, 8)?,
        vrouter_id: id_from(r, 9)?,
        route_table_id: id_from(r, 10)?,
        resource_group_id: id_from(r, 11)?,
        tags: tags_from(r, 12)?,
        created_at: get(r, 13)?,
        ipv6_isp: get(r, 14)?,
        route_table: Labels {
            name: get(r, 15)?,
            description: get(r, 16)?,
            tags: tags_from(r, 17)?,
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

pub(crate) fn vswitch_from_row(r: &Row) -> Result<VSwitch, StoreError> {
    Ok(VSwitch {
        id: id_from(r, 0)?,
        account_id: account_from(r, 1)?,
        region_id: get(r, 2)?,
        vpc_id: id_from(r, 3)?,
        zone_id: get(r, 4)?,
        cidr_block: get(r, 5)?,
        ipv6_cidr_block: get(r, 6)?,
        name: get(r, 7)?,
        description: get(r, 8)?,
        status: get(r, 9)?,
        is_default: get(r, 10)?,
        resource_group_id: id_from(r, 11)?,
        tags: tags_from(r, 12)?,
        created_at: get(r, 13)?,
    })
}

impl Tx for PgTx<'_> {
    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Backend("transaction already ended".into()))?;
        match conn.batch("COMMIT") {
            Ok(()) => {
                self.store.give_back(conn);
                Ok(())
            }
            // A failed COMMIT has ended the transaction, or the connection is gone; either
            // way the connection is not reused.
            Err(e) => Err(e),
        }
    }

    fn restart(&mut self) -> Result<(), StoreError> {
        let sql = if self.write {
            // Back to the savepoint taken after the write lock: the lock stays held, so no
            // writer of any server comes between.
            "ROLLBACK TO SAVEPOINT tx_start"
        } else {
            "ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        };
        self.conn()?.batch(sql)
    }

    fn account_insert(&mut self, account: &Account) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)",
            &[
                &account_to_sql(account.id),
                &account.name,
                &account.created_at,
            ],
        )?;
        Ok(())
    }

    fn account_get(&mut self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.query_opt(
            "SELECT id, name, created_at FROM accounts WHERE id = $1",
            &[&account_to_sql(id)],
            account_from_row,
        )
    }

    fn account_by_name(&mut self, name: &str) -> Result<Option<Account>, StoreError> {
        self.query_opt(
            "SELECT id, name, created_at FROM accounts WHERE name = $1",
            &[&name],
            account_from_row,
        )
    }

    fn access_key_insert(&mut self, key: &AccessKey) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO access_keys (id, secret, account_id, created_at) VALUES ($1, $2, $3, $4)",
            &[
                &key.id,
                &key.secret,
                &account_to_sql(key.account_id),
                &key.created_at,
            ],
        )?;
        Ok(())
    }

    fn access_key_get(&mut self, id: &str) -> Result<Option<AccessKey>, StoreError> {
        self.query_opt(
            "SELECT id, secret, account_id, created_at FROM access_keys WHERE id = $1",
            &[&id],
            access_key_from_row,
        )
    }

    fn access_key_for_account(
        &mut self,
        account: AccountId,
    ) -> Result<Option<AccessKey>, StoreError> {
        self.query_opt(
            "SELECT id, secret, account_id, created_at FROM access_keys
             WHERE account_id = $1 ORDER BY seq LIMIT 1",
            &[&account_to_sql(account)],
            access_key_from_row,
        )
    }

    fn access_key_list_for_account(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<AccessKey>, StoreError> {
        self.query_all(
            "SELECT id, secret, account_id, created_at FROM access_keys
             WHERE account_id = $1 ORDER BY seq",
            &[&account_to_sql(account)],
            access_key_from_row,
        )
    }

    fn access_key_delete(&mut self, id: &str) -> Result<bool, StoreError> {
        let n = self.exec("DELETE FROM access_keys WHERE id = $1", &[&id])?;
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
        let changed = self.exec(NONCE_RECORD, &[&access_key_id, &nonce, &expires_at, &now])?;
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
             WHERE access_key_id = $1 AND nonce = $2 AND expires_at >= $3",
            &[&access_key_id, &nonce, &now],
        )?;
        Ok(n > 0)
    }

    fn nonce_purge(&mut self, now: i64) -> Result<u64, StoreError> {
        self.exec("DELETE FROM nonces WHERE expires_at < $1", &[&now])
    }

    fn console_session_insert(&mut self, s: &ConsoleSession) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO console_sessions
                 (token_hash, account_id, access_key_id, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &s.token_hash,
                &account_to_sql(s.account_id),
                &s.access_key_id,
                &s.csrf,
                &s.created_at,
                &s.expires_at,
            ],
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
             FROM console_sessions WHERE token_hash = $1 AND expires_at > $2",
            &[&token_hash, &now],
            |r| {
                Ok(ConsoleSession {
                    token_hash: get(r, 0)?,
                    account_id: account_from(r, 1)?,
                    access_key_id: get(r, 2)?,
                    csrf: get(r, 3)?,
                    created_at: get(r, 4)?,
                    expires_at: get(r, 5)?,
                })
            },
        )
    }

    fn console_session_delete(&mut self, token_hash: &str) -> Result<bool, StoreError> {
        let n = self.exec(
            "DELETE FROM console_sessions WHERE token_hash = $1",
            &[&token_hash],
        )?;
        Ok(n == 1)
    }

    fn console_session_purge(&mut self, now: i64) -> Result<u64, StoreError> {
        self.exec(
            "DELETE FROM console_sessions WHERE expires_at <= $1",
            &[&now],
        )
    }

    fn idempotency_get(
        &mut self,
        account: AccountId,
        action: &str,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.query_opt(
            "SELECT account_id, action, token, params_digest, response, created_at FROM idempotency
             WHERE account_id = $1 AND action = $2 AND token = $3",
            &[&account_to_sql(account), &action, &token],
            idempotency_from_row,
        )
    }

    fn idempotency_insert(&mut self, record: &IdempotencyRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO idempotency (account_id, action, token, params_digest, response, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &account_to_sql(record.account_id),
                &record.action,
                &record.token,
                &record.params_digest,
                &record.response,
                &record.created_at,
            ],
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
        instances::instances_on_host(self, host)
    }

    fn instances_unplaced(&mut self) -> Result<Vec<Instance>, StoreError> {
        instances::instances_unplaced(self)
    }

    fn instances_by_ids(&mut self, ids: &[InstanceId]) -> Result<Vec<Instance>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        instances::instances_by_ids(self, ids)
    }

    fn departure_insert(
        &mut self,
        instance: &InstanceId,
        host: Option<&HostId>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO departures (instance_id, host_id) VALUES ($1, $2)
             ON CONFLICT (instance_id) DO UPDATE SET host_id = excluded.host_id",
            &[&instance.as_str(), &host.map(|h| h.as_str())],
        )?;
        Ok(())
    }

    fn departures_all(&mut self) -> Result<Vec<(InstanceId, Option<HostId>)>, StoreError> {
        self.query_all(
            "SELECT instance_id, host_id FROM departures ORDER BY instance_id",
            &[],
            |r| {
                let host: Option<String> = get(r, 1)?;
                Ok((id_from(r, 0)?, host.and_then(|h| h.parse().ok())))
            },
        )
    }

    fn departure_delete(&mut self, instance: &InstanceId) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM departures WHERE instance_id = $1",
            &[&instance.as_str()],
        )?;
        Ok(())
    }

    fn setting_get(&mut self, name: &str) -> Result<Option<String>, StoreError> {
        self.query_opt(
            "SELECT value FROM settings WHERE name = $1",
            &[&name],
            |r| get(r, 0),
        )
    }

    fn setting_insert(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO settings (name, value) VALUES ($1, $2)",
            &[&name, &value],
        )?;
        Ok(())
    }

    fn vpc_insert(&mut self, vpc: &Vpc) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO vpcs (id, account_id, region_id, cidr_block, ipv6_cidr_block, name,
                 description, status, is_default, vrouter_id, route_table_id, resource_group_id,
                 tags, created_at, ipv6_isp, route_table_name, route_table_description,
                 route_table_tags)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18)",
            &[
                &vpc.id.as_str(),
                &account_to_sql(vpc.account_id),
                &vpc.region_id,
                &vpc.cidr_block,
                &vpc.ipv6_cidr_block,
                &vpc.name,
                &vpc.description,
                &vpc.status,
                &vpc.is_default,
                &vpc.vrouter_id.as_str(),
                &vpc.route_table_id.as_str(),
                &vpc.resource_group_id.as_str(),
                &tags_to_sql(&vpc.tags)?,
                &vpc.created_at,
                &vpc.ipv6_isp,
                &vpc.route_table.name,
                &vpc.route_table.description,
                &tags_to_sql(&vpc.route_table.tags)?,
            ],
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
            "UPDATE {} SET {name_col} = $3, {description_col} = $4 WHERE account_id = $1 AND id = $2",
            table.name()
        );
        let n = self.exec(&sql, &[&account_to_sql(account), &id, &name, &description])?;
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
            "UPDATE {} SET {column} = $3 WHERE account_id = $1 AND id = $2",
            table.name()
        );
        let n = self.exec(&sql, &[&account_to_sql(account), &id, &group.as_str()])?;
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
            "UPDATE {} SET {tags_col} = $3 WHERE account_id = $1 AND id = $2",
            table.name()
        );
        let n = self.exec(&sql, &[&account_to_sql(account), &id, &tags_to_sql(tags)?])?;
        Ok(n > 0)
    }

    fn vpc_get(&mut self, account: AccountId, id: &VpcId) -> Result<Option<Vpc>, StoreError> {
        self.query_opt(
            select_vpc!("WHERE account_id = $1 AND id = $2"),
            &[&account_to_sql(account), &id.as_str()],
            vpc_from_row,
        )
    }

    fn vpc_list(&mut self, account: AccountId, region: &str) -> Result<Vec<Vpc>, StoreError> {
        self.query_all(
            select_vpc!("WHERE account_id = $1 AND region_id = $2 ORDER BY seq"),
            &[&account_to_sql(account), &region],
            vpc_from_row,
        )
    }

    fn vpc_delete(&mut self, account: AccountId, id: &VpcId) -> Result<bool, StoreError> {
        // A refusing foreign key names itself (vswitch_vpc_fk, security_group_vpc_fk, ...).
        let n = self.exec(
            "DELETE FROM vpcs WHERE account_id = $1 AND id = $2",
            &[&account_to_sql(account), &id.as_str()],
        )?;
        Ok(n > 0)
    }

    fn vpc_count(&mut self, account: AccountId, region: &str) -> Result<u64, StoreError> {
        self.resource_count(account, region, "vpc")
    }

    fn vpc_list_all(&mut self) -> Result<Vec<Vpc>, StoreError> {
        self.query_all(select_vpc!("ORDER BY seq"), &[], vpc_from_row)
    }

    fn vpc_seqs_all(&mut self) -> Result<Vec<(VpcId, i64)>, StoreError> {
        self.query_all("SELECT id, seq FROM vpcs ORDER BY seq", &[], |r| {
            Ok((id_from(r, 0)?, get(r, 1)?))
        })
    }

    fn vswitch_insert(&mut self, vsw: &VSwitch) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO vswitches (id, account_id, region_id, vpc_id, zone_id, cidr_block,
                 ipv6_cidr_block, name, description, status, is_default, resource_group_id, tags,
                 created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &vsw.id.as_str(),
                &account_to_sql(vsw.account_id),
                &vsw.region_id,
                &vsw.vpc_id.as_str(),
                &vsw.zone_id,
                &vsw.cidr_block,
                &vsw.ipv6_cidr_block,
                &vsw.name,
                &vsw.description,
                &vsw.status,
                &vsw.is_default,
                &vsw.resource_group_id.as_str(),
                &tags_to_sql(&vsw.tags)?,
                &vsw.created_at,
            ],
        )?;
        Ok(())
    }

    fn vswitch_get(
        &mut self,
        account: AccountId,
        id: &VSwitchId,
    ) -> Result<Option<VSwitch>, StoreError> {
        self.query_opt(
            select_vswitch!("WHERE account_id = $1 AND id = $2"),
            &[&account_to_sql(account), &id.as_str()],
            vswitch_from_row,
        )
    }

    fn vswitch_list(
        &mut self,
        account: AccountId,
        region: &str,
        vpc: Option<&VpcId>,
    ) -> Result<Vec<VSwitch>, StoreError> {
        match vpc {
            None => self.query_all(
                select_vswitch!("WHERE account_id = $1 AND region_id = $2 ORDER BY seq"),
                &[&account_to_sql(account), &region],
                vswitch_from_row,
            ),
            Some(vpc) => self.query_all(
                select_vswitch!(
                    "WHERE vpc_id = $3 AND account_id = $1 AND region_id = $2 ORDER BY seq"
                ),
                &[&account_to_sql(account), &region, &vpc.as_str()],
                vswitch_from_row,
            ),
        }
    }

    fn vswitch_delete(&mut self, account: AccountId, id: &VSwitchId) -> Result<bool, StoreError> {
        let n = self.exec(
            "DELETE FROM vswitches WHERE account_id = $1 AND id = $2",
            &[&account_to_sql(account), &id.as_str()],
        )?;
        Ok(n > 0)
    }

    fn vswitch_list_all(&mut self) -> Result<Vec<VSwitch>, StoreError> {
        self.query_all(select_vswitch!("ORDER BY seq"), &[], vswitch_from_row)
    }

    fn due_any(&mut self, now: i64) -> Result<bool, StoreError> {
        let any: Option<bool> = self.query_opt(DUE_ANY, &[&now], |r| get(r, 0))?;
        Ok(any.unwrap_or(false))
    }

    fn dataplane_generation(&mut self) -> Result<u64, StoreError> {
        let v: Option<i64> = self.query_opt(
            "SELECT value FROM counters WHERE name = 'dataplane'",
            &[],
            |r| get(r, 0),
        )?;
        Ok(v.unwrap_or(0) as u64)
    }

    fn dataplane_changes_since(
        &mut self,
        after: u64,
    ) -> Result<Option<std::collections::BTreeSet<String>>, StoreError> {
        let bounds: Option<(Option<i64>, Option<i64>)> = self.query_opt(
            "SELECT (SELECT value FROM counters WHERE name = 'dataplane'),
                    (SELECT value FROM counters WHERE name = 'dataplane_log_floor')",
            &[],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
        )?;
        let Some((now, floor)) = bounds else {
            return Ok(None);
        };
        let (now, floor) = (now.unwrap_or(0), floor.unwrap_or(i64::MAX));
        let Ok(after) = i64::try_from(after) else {
            return Ok(None);
        };
        if after > now || after < floor {
            return Ok(None);
        }
        let scopes: Vec<String> = self.query_all(
            "SELECT DISTINCT scope FROM dataplane_changes WHERE generation > $1",
            &[&after],
            |r| get(r, 0),
        )?;
        Ok(Some(scopes.into_iter().collect()))
    }

    // ---- delegated to the files under tx/ ----
    fn vpc_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VpcFilter,
        window: Window,
    ) -> Result<Vec<(Position, Vpc)>, StoreError> {
        find::vpc_find(self, account, region, filter, window)
    }

    fn vpc_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VpcFilter,
    ) -> Result<u64, StoreError> {
        find::vpc_find_count(self, account, region, filter)
    }

    fn vswitch_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VSwitchFilter,
        window: Window,
    ) -> Result<Vec<(Position, VSwitch)>, StoreError> {
        find::vswitch_find(self, account, region, filter, window)
    }

    fn vswitch_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VSwitchFilter,
    ) -> Result<u64, StoreError> {
        find::vswitch_find_count(self, account, region, filter)
    }

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

    fn security_group_insert(&mut self, sg: &SecurityGroup) -> Result<(), StoreError> {
        security_groups::security_group_insert(self, sg)
    }

    fn security_group_get(
        &mut self,
        account: AccountId,
        id: &SecurityGroupId,
    ) -> Result<Option<SecurityGroup>, StoreError> {
        security_groups::security_group_get(self, account, id)
    }

    fn security_group_list(
        &mut self,
        account: AccountId,
        region: &str,
    ) -> Result<Vec<SecurityGroup>, StoreError> {
        security_groups::security_group_list(self, account, region)
    }

    fn security_group_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &SecurityGroupFilter,
        window: Window,
    ) -> Result<Vec<(Position, SecurityGroup)>, StoreError> {
        security_groups::security_group_find(self, account, region, filter, window)
    }

    fn security_group_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &SecurityGroupFilter,
    ) -> Result<u64, StoreError> {
        security_groups::security_group_find_count(self, account, region, filter)
    }

    fn security_group_delete(
        &mut self,
        account: AccountId,
        id: &SecurityGroupId,
    ) -> Result<bool, StoreError> {
        security_groups::security_group_delete(self, account, id)
    }

    fn security_group_member_count(&mut self, id: &SecurityGroupId) -> Result<u64, StoreError> {
        security_groups::security_group_member_count(self, id)
    }

    fn security_group_count_in_vpc(&mut self, vpc: &VpcId) -> Result<u64, StoreError> {
        security_groups::security_group_count_in_vpc(self, vpc)
    }

    fn sg_rule_insert(&mut self, rule: &SecurityGroupRule) -> Result<(), StoreError> {
        security_group_rules::sg_rule_insert(self, rule)
    }

    fn sg_rule_update(&mut self, rule: &SecurityGroupRule) -> Result<bool, StoreError> {
        security_group_rules::sg_rule_update(self, rule)
    }

    fn sg_rule_delete(
        &mut self,
        group: &SecurityGroupId,
        id: &SecurityGroupRuleId,
    ) -> Result<bool, StoreError> {
        security_group_rules::sg_rule_delete(self, group, id)
    }

    fn sg_rules_of(
        &mut self,
        group: &SecurityGroupId,
    ) -> Result<Vec<SecurityGroupRule>, StoreError> {
        security_group_rules::sg_rules_of(self, group)
    }

    fn sg_rules_all(&mut self) -> Result<Vec<SecurityGroupRule>, StoreError> {
        security_group_rules::sg_rules_all(self)
    }

    fn sg_inner_access_policy(
        &mut self,
        group: &SecurityGroupId,
    ) -> Result<Option<SgPolicy>, StoreError> {
        security_group_rules::sg_inner_access_policy(self, group)
    }

    fn sg_inner_access_policies_all(
        &mut self,
    ) -> Result<Vec<(SecurityGroupId, SgPolicy)>, StoreError> {
        security_group_rules::sg_inner_access_policies_all(self)
    }

    fn sg_inner_access_policy_set(
        &mut self,
        account: AccountId,
        group: &SecurityGroupId,
        policy: SgPolicy,
    ) -> Result<bool, StoreError> {
        security_group_rules::sg_inner_access_policy_set(self, account, group, policy)
    }

    fn eni_insert(&mut self, eni: &Eni) -> Result<(), StoreError> {
        enis::eni_insert(self, eni)
    }

    fn eni_get(&mut self, account: AccountId, id: &EniId) -> Result<Option<Eni>, StoreError> {
        enis::eni_get(self, account, id)
    }

    fn eni_update(&mut self, eni: &Eni) -> Result<(), StoreError> {
        enis::eni_update(self, eni)
    }

    fn eni_delete(&mut self, account: AccountId, id: &EniId) -> Result<bool, StoreError> {
        enis::eni_delete(self, account, id)
    }

    fn eni_list(
        &mut self,
        account: AccountId,
        region: &str,
        query: &EniQuery,
    ) -> Result<Vec<Eni>, StoreError> {
        enis::eni_list(self, account, region, query)
    }

    fn eni_count(
        &mut self,
        account: AccountId,
        region: &str,
        eni_type: &str,
    ) -> Result<u64, StoreError> {
        enis::eni_count(self, account, region, eni_type)
    }

    fn eni_due(&mut self, now: i64, limit: u32) -> Result<Vec<Eni>, StoreError> {
        enis::eni_due(self, now, limit)
    }

    fn eni_count_in_vswitch(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError> {
        enis::eni_count_in_vswitch(self, vswitch)
    }

    fn eni_list_all(&mut self) -> Result<Vec<Eni>, StoreError> {
        enis::eni_list_all(self)
    }

    fn eni_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EniFilter,
        window: Window,
    ) -> Result<Vec<(Position, Eni)>, StoreError> {
        eni_find::eni_find(self, account, region, filter, window)
    }

    fn eni_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EniFilter,
    ) -> Result<u64, StoreError> {
        eni_find::eni_find_count(self, account, region, filter)
    }

    // An empty list asks nothing: no statement (a round trip) for an empty page.
    fn private_ips_of_many(&mut self, owners: &[&str]) -> Result<Vec<PrivateIp>, StoreError> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        addresses::private_ips_of_many(self, owners)
    }

    fn ipv6_of_many(&mut self, owners: &[&str]) -> Result<Vec<Ipv6Entry>, StoreError> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        addresses::ipv6_of_many(self, owners)
    }

    fn eips_of_enis(&mut self, enis: &[EniId]) -> Result<Vec<Eip>, StoreError> {
        if enis.is_empty() {
            return Ok(Vec::new());
        }
        eips::eips_of_enis(self, enis)
    }

    fn instance_insert(&mut self, instance: &Instance) -> Result<(), StoreError> {
        instances::instance_insert(self, instance)
    }

    fn instance_get(
        &mut self,
        account: AccountId,
        id: &InstanceId,
    ) -> Result<Option<Instance>, StoreError> {
        instances::instance_get(self, account, id)
    }

    fn instance_update(&mut self, instance: &Instance) -> Result<(), StoreError> {
        instances::instance_update(self, instance)
    }

    fn instance_delete(&mut self, account: AccountId, id: &InstanceId) -> Result<bool, StoreError> {
        instances::instance_delete(self, account, id)
    }

    fn instance_list(
        &mut self,
        account: AccountId,
        region: &str,
    ) -> Result<Vec<Instance>, StoreError> {
        instances::instance_list(self, account, region)
    }

    fn instance_due(&mut self, now: i64, limit: u32) -> Result<Vec<Instance>, StoreError> {
        instances::instance_due(self, now, limit)
    }

    fn instance_count_in_vswitch(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError> {
        instances::instance_count_in_vswitch(self, vswitch)
    }

    fn instance_list_all(&mut self) -> Result<Vec<Instance>, StoreError> {
        instances::instance_list_all(self)
    }

    fn instance_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &InstanceFilter,
        window: Window,
    ) -> Result<Vec<(Position, Instance)>, StoreError> {
        instances::instance_find(self, account, region, filter, window)
    }

    fn instance_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &InstanceFilter,
    ) -> Result<u64, StoreError> {
        instances::instance_find_count(self, account, region, filter)
    }

    fn enis_of_instances(&mut self, instances: &[InstanceId]) -> Result<Vec<Eni>, StoreError> {
        if instances.is_empty() {
            return Ok(Vec::new());
        }
        instances::enis_of_instances(self, instances)
    }

    fn eip_insert(&mut self, eip: &Eip) -> Result<(), StoreError> {
        eips::eip_insert(self, eip)
    }

    fn eip_get(&mut self, account: AccountId, id: &EipId) -> Result<Option<Eip>, StoreError> {
        eips::eip_get(self, account, id)
    }

    fn eip_update(&mut self, eip: &Eip) -> Result<(), StoreError> {
        eips::eip_update(self, eip)
    }

    fn eip_delete(&mut self, account: AccountId, id: &EipId) -> Result<bool, StoreError> {
        eips::eip_delete(self, account, id)
    }

    fn eip_list(&mut self, account: AccountId, region: &str) -> Result<Vec<Eip>, StoreError> {
        eips::eip_list(self, account, region)
    }

    fn eip_due(&mut self, now: i64, limit: u32) -> Result<Vec<Eip>, StoreError> {
        eips::eip_due(self, now, limit)
    }

    fn eips_awaiting_dataplane(&mut self) -> Result<Vec<Eip>, StoreError> {
        eips::eips_awaiting_dataplane(self)
    }

    fn eip_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EipFilter,
        window: Window,
    ) -> Result<Vec<(Position, Eip)>, StoreError> {
        eips::eip_find(self, account, region, filter, window)
    }

    fn eip_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EipFilter,
    ) -> Result<u64, StoreError> {
        eips::eip_find_count(self, account, region, filter)
    }

    fn eips_of_eni(&mut self, eni: &EniId) -> Result<Vec<Eip>, StoreError> {
        eips::eips_of_eni(self, eni)
    }

    fn eip_count(&mut self, account: AccountId, region: &str) -> Result<u64, StoreError> {
        eips::eip_count(self, account, region)
    }

    fn eip_ips_in(&mut self, lo: u32, hi: u32) -> Result<Vec<u32>, StoreError> {
        eips::eip_ips_in(self, lo, hi)
    }

    fn eips_associated_in_vpc(&mut self, vpc: &VpcId) -> Result<Vec<EipAssociation>, StoreError> {
        eips::eips_associated_in_vpc(self, vpc)
    }

    fn eips_associated_all(&mut self) -> Result<Vec<(VpcId, EipAssociation)>, StoreError> {
        eips::eips_associated_all(self)
    }

    fn eip_pool_exists(&mut self, pool: &str) -> Result<bool, StoreError> {
        eips::eip_pool_exists(self, pool)
    }

    fn eip_pool_reset(&mut self, pool: &str) -> Result<(), StoreError> {
        eips::eip_pool_reset(self, pool)
    }

    fn eip_free_first(&mut self, pool: &str) -> Result<Option<(u32, u32)>, StoreError> {
        eips::eip_free_first(self, pool)
    }

    fn eip_free_containing(
        &mut self,
        pool: &str,
        ip: u32,
    ) -> Result<Option<(u32, u32)>, StoreError> {
        eips::eip_free_containing(self, pool, ip)
    }

    fn eip_free_list(&mut self, pool: &str) -> Result<Vec<(u32, u32)>, StoreError> {
        eips::eip_free_list(self, pool)
    }

    fn eip_free_insert(&mut self, pool: &str, lo: u32, hi: u32) -> Result<(), StoreError> {
        eips::eip_free_insert(self, pool, lo, hi)
    }

    fn eip_free_delete(&mut self, pool: &str, lo: u32) -> Result<bool, StoreError> {
        eips::eip_free_delete(self, pool, lo)
    }
}
