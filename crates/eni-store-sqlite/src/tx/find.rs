//! A filtered listing of one table in creation order (`seq`), for the Describe calls of the
//! resources an account holds few of next to its ENIs (instances, EIPs, VPCs, vSwitches,
//! security groups): the account's rows in the region come from its index, or from the ID
//! index when IDs are given, and every filter is a condition on those rows. ENIs, which an
//! account may hold by the hundred thousand, have a planner of their own (`eni_find`).

use super::{account_to_sql, SqliteTx};
use eni_store::{Position, StoreError, Window};
use eni_types::ids::AccountId;
use rusqlite::types::Value;
use rusqlite::{Row, ToSql};

/// The conditions and named arguments of one listing of table alias `t`.
pub(crate) struct Find {
    table: &'static str,
    conds: Vec<String>,
    args: Vec<(String, Value)>,
}

impl Find {
    /// The rows of `account` in `region` of `table`, read through the account index unless
    /// `by_ids` (the ID index serves then, and the account is only checked).
    pub(crate) fn new(table: &'static str, account: AccountId, region: &str, by_ids: bool) -> Self {
        let plus = if by_ids { "+" } else { "" };
        Find {
            table,
            conds: vec![format!(
                "{plus}t.account_id = :account AND {plus}t.region_id = :region"
            )],
            args: vec![
                (":account".into(), Value::Integer(account_to_sql(account))),
                (":region".into(), Value::Text(region.to_string())),
            ],
        }
    }

    fn arg(&mut self, value: Value) -> String {
        let name = format!(":a{}", self.args.len());
        self.args.push((name.clone(), value));
        name
    }

    /// `t.column = value`, when a value is given.
    pub(crate) fn eq(&mut self, column: &str, value: Option<&str>) {
        if let Some(v) = value {
            let a = self.arg(Value::Text(v.to_string()));
            self.conds.push(format!("t.{column} = {a}"));
        }
    }

    /// `t.column = flag` (stored 0 or 1), when a flag is given.
    pub(crate) fn flag(&mut self, column: &str, value: Option<bool>) {
        if let Some(v) = value {
            let a = self.arg(Value::Integer(i64::from(v)));
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
            self.conds
                .push(format!("t.{column} IN (SELECT value FROM json_each({a}))"));
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
                "EXISTS (SELECT 1 FROM json_each(t.tags) j WHERE json_extract(j.value, '$[0]') = {k}"
            );
            if let Some(v) = value {
                let v = self.arg(Value::Text(v.clone()));
                clause.push_str(&format!(" AND json_extract(j.value, '$[1]') = {v}"));
            }
            clause.push(')');
            self.conds.push(clause);
        }
    }

    /// The rows in `window` with their positions: `columns` as the row reader expects
    /// them, each column prefixed `t.`.
    pub(crate) fn rows<T>(
        mut self,
        tx: &SqliteTx<'_>,
        columns: &str,
        window: Window,
        mut read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<(Position, T)>, StoreError> {
        if let Some(after) = window.after {
            let a = self.arg(Value::Integer(after.0));
            self.conds.push(format!("t.seq > {a}"));
        }
        let limit = self.arg(Value::Integer(window.limit.min(i64::MAX as u64) as i64));
        let offset = self.arg(Value::Integer(window.offset.min(i64::MAX as u64) as i64));
        let n = columns.split(',').count();
        let sql = format!(
            "SELECT {columns}, t.seq FROM {} t WHERE {} ORDER BY t.seq LIMIT {limit} OFFSET {offset}",
            self.table,
            self.conds.join(" AND ")
        );
        tx.query_all(&sql, named(&self.args).as_slice(), |r| {
            Ok((Position(r.get(n)?), read(r)?))
        })
    }

    /// How many rows match.
    pub(crate) fn count(self, tx: &SqliteTx<'_>) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT count(*) FROM {} t WHERE {}",
            self.table,
            self.conds.join(" AND ")
        );
        tx.count(&sql, named(&self.args).as_slice())
    }
}

/// JSON text of a list argument.
pub(crate) fn json(list: &(impl serde::Serialize + ?Sized)) -> Result<String, StoreError> {
    serde_json::to_string(list)
        .map_err(|e| StoreError::Backend(format!("encoding a filter list: {e}")))
}

fn named(args: &[(String, Value)]) -> Vec<(&str, &dyn ToSql)> {
    args.iter()
        .map(|(n, v)| (n.as_str(), v as &dyn ToSql))
        .collect()
}
