//! A filtered listing of one table in creation order (`seq`), for the Describe calls of the
//! resources an account holds few of next to its ENIs (instances, EIPs, VPCs, vSwitches,
//! security groups): the account's rows in the region, every filter a condition on them. ENIs
//! have a planner of their own (`eni_find`). Port of the SQLite backend's `tx/find.rs`; the
//! VPC and vSwitch listings are here too.

use super::{account_to_sql, get, vpc_from_row, vswitch_from_row, PgTx};
use eni_store::{Position, StoreError, VSwitch, VSwitchFilter, Vpc, VpcFilter, Window};
use eni_types::ids::AccountId;
use postgres::types::ToSql;
use postgres::Row;

/// One argument of a listing.
pub(crate) enum Value {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl Value {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Text(v) => v,
            Value::Int(v) => v,
            Value::Bool(v) => v,
        }
    }
}

/// The conditions and positional arguments of one listing of table alias `t`.
pub(crate) struct Find {
    table: &'static str,
    conds: Vec<String>,
    args: Vec<Value>,
}

impl Find {
    /// The rows of `account` in `region` of `table`.
    pub(crate) fn new(table: &'static str, account: AccountId, region: &str) -> Self {
        Find {
            table,
            conds: vec!["t.account_id = $1 AND t.region_id = $2".into()],
            args: vec![
                Value::Int(account_to_sql(account)),
                Value::Text(region.to_string()),
            ],
        }
    }

    /// Adds an argument; returns its placeholder.
    fn arg(&mut self, value: Value) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    /// `t.column = value`, when a value is given.
    pub(crate) fn eq(&mut self, column: &str, value: Option<&str>) {
        if let Some(v) = value {
            let a = self.arg(Value::Text(v.to_string()));
            self.conds.push(format!("t.{column} = {a}"));
        }
    }

    /// `t.column = flag` (a BOOLEAN column), when a flag is given.
    pub(crate) fn flag(&mut self, column: &str, value: Option<bool>) {
        if let Some(v) = value {
            let a = self.arg(Value::Bool(v));
            self.conds.push(format!("t.{column} = {a}"));
        }
    }

    /// `t.column` is one of `values` (none: no row), when a list is given.
    pub(crate) fn one_of<T: serde::Serialize>(
        &mut self,
        column: &str,
        values: Option<&[T]>,
    ) -> Result<(), StoreError> {
        if let Some(values) = values {
            let a = self.arg(Value::Text(json(values)?));
            self.conds.push(format!(
                "t.{column} IN (SELECT jsonb_array_elements_text({a}::text::jsonb))"
            ));
        }
        Ok(())
    }

    /// A condition of its own, with one argument named `{}` in it.
    pub(crate) fn cond(&mut self, clause: &str, value: Value) {
        let a = self.arg(value);
        self.conds.push(clause.replace("{}", &a));
    }

    /// Every tag present in the row's JSON `tags` column (pairs `[key, value]`); a tag
    /// without a value matches any value of its key.
    pub(crate) fn tags(&mut self, tags: &[(String, Option<String>)]) {
        for (key, value) in tags {
            let k = self.arg(Value::Text(key.clone()));
            let mut clause = format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements(t.tags::jsonb) j WHERE j->>0 = {k}"
            );
            if let Some(v) = value {
                let v = self.arg(Value::Text(v.clone()));
                clause.push_str(&format!(" AND j->>1 = {v}"));
            }
            clause.push(')');
            self.conds.push(clause);
        }
    }

    /// The rows in `window` with their positions: `columns` as the row reader expects
    /// them, each column prefixed `t.`.
    pub(crate) fn rows<T>(
        mut self,
        tx: &mut PgTx<'_>,
        columns: &str,
        window: Window,
        mut read: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<(Position, T)>, StoreError> {
        if let Some(after) = window.after {
            let a = self.arg(Value::Int(after.0));
            self.conds.push(format!("t.seq > {a}"));
        }
        let limit = self.arg(Value::Int(window.limit.min(i64::MAX as u64) as i64));
        let offset = self.arg(Value::Int(window.offset.min(i64::MAX as u64) as i64));
        let n = columns.split(',').count();
        let sql = format!(
            "SELECT {columns}, t.seq FROM {} t WHERE {} ORDER BY t.seq LIMIT {limit} OFFSET {offset}",
            self.table,
            self.conds.join(" AND ")
        );
        let args: Vec<&(dyn ToSql + Sync)> = self.args.iter().map(Value::as_sql).collect();
        tx.query_all(&sql, &args, |r| Ok((Position(get(r, n)?), read(r)?)))
    }

    /// How many rows match.
    pub(crate) fn count(self, tx: &mut PgTx<'_>) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT count(*) FROM {} t WHERE {}",
            self.table,
            self.conds.join(" AND ")
        );
        let args: Vec<&(dyn ToSql + Sync)> = self.args.iter().map(Value::as_sql).collect();
        tx.count(&sql, &args)
    }
}

/// JSON text of a list argument.
fn json(list: &(impl serde::Serialize + ?Sized)) -> Result<String, StoreError> {
    serde_json::to_string(list)
        .map_err(|e| StoreError::Backend(format!("encoding a filter list: {e}")))
}

/// The columns of [`vpc_from_row`] over alias `t`.
const VPC_COLUMNS: &str = "t.id, t.account_id, t.region_id, t.cidr_block, t.ipv6_cidr_block, \
     t.name, t.description, t.status, t.is_default, t.vrouter_id, t.route_table_id, \
     t.resource_group_id, t.tags, t.created_at, t.ipv6_isp, t.route_table_name, \
     t.route_table_description, t.route_table_tags";

fn vpc_query(account: AccountId, region: &str, f: &VpcFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("vpcs", account, region);
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

fn vswitch_query(account: AccountId, region: &str, f: &VSwitchFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("vswitches", account, region);
    q.one_of("id", f.ids.as_deref())?;
    q.eq("vpc_id", f.vpc_id.as_ref().map(|v| v.as_str()));
    q.eq("zone_id", f.zone_id.as_deref());
    q.eq("name", f.name.as_deref());
    q.flag("is_default", f.is_default);
    q.eq("resource_group_id", f.resource_group_id.as_deref());
    if let Some(rt) = &f.route_table_id {
        q.cond(
            "t.vpc_id IN (SELECT id FROM vpcs WHERE route_table_id = {})",
            Value::Text(rt.clone()),
        );
    }
    q.tags(&f.tags);
    Ok(q)
}

pub(crate) fn vpc_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &VpcFilter,
    window: Window,
) -> Result<Vec<(Position, Vpc)>, StoreError> {
    vpc_query(account, region, filter)?.rows(tx, VPC_COLUMNS, window, vpc_from_row)
}

pub(crate) fn vpc_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &VpcFilter,
) -> Result<u64, StoreError> {
    vpc_query(account, region, filter)?.count(tx)
}

pub(crate) fn vswitch_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &VSwitchFilter,
    window: Window,
) -> Result<Vec<(Position, VSwitch)>, StoreError> {
    vswitch_query(account, region, filter)?.rows(tx, VSWITCH_COLUMNS, window, vswitch_from_row)
}

pub(crate) fn vswitch_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &VSwitchFilter,
) -> Result<u64, StoreError> {
    vswitch_query(account, region, filter)?.count(tx)
}
