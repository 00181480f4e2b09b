//! `eni_find` and `eni_find_count`: DescribeNetworkInterfaces' filters, answered from indexes.
//!
//! One filter drives the query: its index lists the matching ENIs, and every other filter is
//! checked on those rows only (a column kept out of index selection with a unary `+`, or an
//! `EXISTS` probe of one index entry). A page is then a range of the driving index after the
//! cursor, read in creation order (`seq`) with no sort, and costs about as many rows as it
//! returns when the filters agree; a count walks the driver's matches once.
//!
//! The driver: a short list first (ENI IDs, addresses, an instance: at most a few hundred
//! rows, sorted), else whichever of the remaining filters matches fewest ENIs. That number
//! comes from `eni_counts` for a VPC, vSwitch, status, type, resource group or group (one
//! probe each), and from a capped walk of the index for a tag or a name (at most
//! [`PROBE_CAP`] entries, and no further than the best size already known), so choosing
//! costs little and a filter that matches a handful of ENIs never waits behind one that
//! matches most of them.
//!
//! A count with a single broad filter (a VPC, a vSwitch, a status, a type, a resource group,
//! a security group), or none, is read from `eni_counts` (kept by triggers, 0012): one probe
//! instead of a walk over most of the account.

use super::{account_to_sql, SqliteTx};
use crate::tx::enis::eni_from_row;
use eni_store::{Eni, EniFilter, Position, StoreError, Window};
use eni_types::ids::AccountId;
use rusqlite::types::Value;
use rusqlite::ToSql;
use std::fmt::Write;

/// How far a candidate driver's index is counted when choosing one.
const PROBE_CAP: i64 = 4096;

/// The filter whose index a query walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    Ids,
    PrivateIps,
    Ipv6,
    PrimaryIp,
    Instance,
    Tag(usize),
    Group,
    VSwitch,
    Vpc,
    Status,
    Type,
    Name,
    ResourceGroup,
    /// The account's ENIs in the region.
    All,
}

/// A statement under construction, with named arguments.
struct Query {
    from: String,
    conds: Vec<String>,
    args: Vec<(String, Value)>,
    /// The column rows are ordered and paged by.
    order: &'static str,
    /// Whether a condition reads the ENI row (else a tag-driven count needs no join).
    reads_row: bool,
    /// A security group that does not drive: the page's condition and the count's join.
    group_probe: Option<(String, String)>,
}

impl Query {
    /// FROM and WHERE of a page.
    fn page_parts(&self) -> (String, String) {
        let mut conds = self.conds.clone();
        if let Some((exists, _)) = &self.group_probe {
            conds.push(exists.clone());
        }
        (self.from.clone(), conds.join(" AND "))
    }

    /// FROM and WHERE of a count: the driver's rows alone when no condition reads the ENI
    /// row (a tag's rows are the ENI's, kept by triggers), else the join.
    fn count_parts(&self, driver: Driver) -> (String, String) {
        let mut from = match driver {
            Driver::Tag(_) if !self.reads_row => "eni_tags t".to_string(),
            _ => self.from.clone(),
        };
        if let Some((_, join)) = &self.group_probe {
            from.push_str(join);
        }
        (from, self.conds.join(" AND "))
    }
}

impl Query {
    fn arg(&mut self, name: &str, value: Value) -> String {
        let name = format!(":{name}");
        if !self.args.iter().any(|(n, _)| n == &name) {
            self.args.push((name.clone(), value));
        }
        name
    }

    fn text(&mut self, name: &str, value: &str) -> String {
        self.arg(name, Value::Text(value.to_string()))
    }

    fn run<T>(
        &self,
        tx: &SqliteTx<'_>,
        sql: &str,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let args: Vec<(&str, &dyn ToSql)> = self
            .args
            .iter()
            .map(|(n, v)| (n.as_str(), v as &dyn ToSql))
            .collect();
        tx.query_all(sql, args.as_slice(), f)
    }
}

fn json_list(items: &impl serde::Serialize) -> Result<Value, StoreError> {
    serde_json::to_string(items)
        .map(Value::Text)
        .map_err(|e| StoreError::Backend(format!("encoding a filter list: {e}")))
}

/// How a candidate driver's size is learnt.
enum Size {
    /// The least of some `eni_counts` entries (dim, value), one probe each: exact for one
    /// entry, a bound for more (a group in a vSwitch: at most either's count).
    Kept(Vec<(&'static str, String)>),
    /// A walk of its index (the statement lists one row per match), capped.
    Walk(&'static str, Vec<Value>),
}

/// The candidate drivers of `f` that a size can rank.
fn candidates(account: i64, region: &str, f: &EniFilter) -> Vec<(Driver, Size)> {
    let mut out = Vec::new();
    let acct = Value::Integer(account);
    let t = |s: &str| Value::Text(s.to_string());
    let reg = t(region);
    if let Some(g) = &f.security_group_id {
        // All of the group's members (the walk passes primary ENIs too); with a vSwitch, only
        // its members in that vSwitch (0013), no more than either count.
        let mut kept = vec![("members", g.to_string())];
        if let Some(v) = &f.vswitch_id {
            kept.push(("vswitch", v.to_string()));
        }
        out.push((Driver::Group, Size::Kept(kept)));
    }
    if let Some(v) = &f.vswitch_id {
        out.push((
            Driver::VSwitch,
            Size::Kept(vec![("vswitch", v.to_string())]),
        ));
    }
    if let Some(v) = &f.vpc_id {
        out.push((Driver::Vpc, Size::Kept(vec![("vpc", v.to_string())])));
    }
    if let Some(s) = &f.status {
        out.push((Driver::Status, Size::Kept(vec![("status", s.clone())])));
    }
    if let Some([ty]) = f.eni_types.as_deref() {
        out.push((Driver::Type, Size::Kept(vec![("type", ty.clone())])));
    }
    if let Some(rg) = &f.resource_group_id {
        out.push((Driver::ResourceGroup, Size::Kept(vec![("rg", rg.clone())])));
    }
    for (i, (key, value)) in f.tags.iter().enumerate() {
        out.push((
            Driver::Tag(i),
            match value {
                Some(v) => Size::Walk(
                    "SELECT 1 FROM eni_tags \
                     WHERE account_id = ?1 AND region_id = ?2 AND key = ?3 AND value = ?4",
                    vec![acct.clone(), reg.clone(), t(key), t(v)],
                ),
                None => Size::Walk(
                    "SELECT 1 FROM eni_tags WHERE account_id = ?1 AND region_id = ?2 AND key = ?3",
                    vec![acct.clone(), reg.clone(), t(key)],
                ),
            },
        ));
    }
    if let Some(n) = &f.name {
        out.push((
            Driver::Name,
            Size::Walk(
                "SELECT 1 FROM enis WHERE account_id = ?1 AND region_id = ?2 AND name = ?3",
                vec![acct.clone(), reg.clone(), t(n)],
            ),
        ));
    }
    out
}

/// The driver chosen for a filter, kept for the rest of the transaction: a Describe asks for
/// a page and then the count of the same filter, and choosing may walk an index. (Within one
/// transaction a choice stays right: it only decides speed, never the rows.)
pub(crate) struct Chosen {
    account: i64,
    region: String,
    filter: EniFilter,
    driver: Driver,
}

/// [`choose`], once per filter and transaction.
fn choose_once(
    tx: &SqliteTx<'_>,
    account: i64,
    region: &str,
    f: &EniFilter,
) -> Result<Driver, StoreError> {
    if let Some(c) = &*tx.eni_driver.borrow() {
        if c.account == account && c.region == region && &c.filter == f {
            return Ok(c.driver);
        }
    }
    let driver = choose(tx, account, region, f)?;
    *tx.eni_driver.borrow_mut() = Some(Chosen {
        account,
        region: region.to_string(),
        filter: f.clone(),
        driver,
    });
    Ok(driver)
}

/// Picks the driver of `f` (see the module doc).
fn choose(
    tx: &SqliteTx<'_>,
    account: i64,
    region: &str,
    f: &EniFilter,
) -> Result<Driver, StoreError> {
    if f.ids.is_some() {
        return Ok(Driver::Ids);
    }
    if f.private_ips.is_some() {
        return Ok(Driver::PrivateIps);
    }
    if f.ipv6.is_some() {
        return Ok(Driver::Ipv6);
    }
    if f.primary_ip.is_some() {
        return Ok(Driver::PrimaryIp);
    }
    if f.instance_id.is_some() {
        return Ok(Driver::Instance);
    }
    // Kept sizes come first (they are exact and cheap), so that a walk stops at the best
    // size known: a walk that reaches it cannot win.
    let mut best: Option<(i64, Driver)> = None;
    for (driver, size) in candidates(account, region, f) {
        let n = match size {
            Size::Kept(entries) => {
                let mut least = i64::MAX;
                for (dim, value) in entries {
                    let n: Vec<Option<i64>> = tx.query_all(
                        "SELECT sum(n) FROM eni_counts \
                         WHERE account_id = ?1 AND region_id = ?2 AND dim = ?3 AND value = ?4",
                        rusqlite::params![account, region, dim, value],
                        |r| r.get(0),
                    )?;
                    least = least.min(n.first().copied().flatten().unwrap_or(0));
                }
                least
            }
            Size::Walk(sql, args) => {
                let cap = best.map_or(PROBE_CAP, |(m, _)| m.min(PROBE_CAP));
                if cap == 0 {
                    continue;
                }
                let capped = format!("SELECT count(*) FROM ({sql} LIMIT {cap})");
                tx.count(&capped, rusqlite::params_from_iter(args.iter()))? as i64
            }
        };
        if best.is_none_or(|(m, _)| n < m) {
            best = Some((n, driver));
        }
    }
    Ok(best.map_or(Driver::All, |(_, d)| d))
}

/// The FROM clause and conditions of `f` driven by `driver`.
fn build(account: i64, region: &str, f: &EniFilter, driver: Driver) -> Result<Query, StoreError> {
    let mut q = Query {
        from: "enis e".to_string(),
        conds: Vec::new(),
        args: Vec::new(),
        order: "e.seq",
        reads_row: false,
        group_probe: None,
    };
    let acct = q.arg("account", Value::Integer(account));
    let reg = q.text("region", region);
    // A unary + keeps a column out of index selection, so the driver's index is the one used.
    let keep = |d: Driver| if d == driver { "" } else { "+" };
    // The indexes of the account's own columns lead with the account and region; a tag's
    // rows carry them (kept with the ENI's by triggers), so a tag-driven count reads no row.
    let by_account = matches!(
        driver,
        Driver::All | Driver::Status | Driver::Type | Driver::Name | Driver::ResourceGroup
    );
    if by_account {
        q.conds
            .push(format!("e.account_id = {acct} AND e.region_id = {reg}"));
    } else if !matches!(driver, Driver::Tag(_)) {
        q.conds
            .push(format!("+e.account_id = {acct} AND +e.region_id = {reg}"));
    }
    // A tag's rows carry the ENI's seq, VPC, vSwitch and type: with a tag driving, those
    // filters and a group's probe read the tag's row. Every other filter reads the ENI row.
    let (seq, own) = match driver {
        Driver::Tag(_) => ("t.eni_seq", "t"),
        _ => ("e.seq", "e"),
    };
    q.reads_row = [
        f.ids.is_some(),
        f.private_ips.is_some(),
        f.ipv6.is_some(),
        f.primary_ip.is_some(),
        f.instance_id.is_some(),
        f.status.is_some(),
        f.name.is_some(),
        f.resource_group_id.is_some(),
    ]
    .into_iter()
    .any(|b| b);
    if let Some(ids) = &f.ids {
        let a = q.arg("ids", json_list(ids)?);
        q.conds.push(format!(
            "{}e.id IN (SELECT value FROM json_each({a}))",
            keep(Driver::Ids)
        ));
    }
    if let Some(ips) = &f.private_ips {
        let a = q.arg("ips", json_list(ips)?);
        // The ENI's own addresses: its primary and secondaries, not the members of its /28s.
        let sub = format!(
            "SELECT 1 FROM private_ips p WHERE p.owner = e.id AND p.kind <> 'prefix' \
             AND p.ip IN (SELECT value FROM json_each({a}))"
        );
        if driver == Driver::PrivateIps {
            q.conds.push(format!(
                "e.id IN (SELECT p.owner FROM private_ips p WHERE p.kind <> 'prefix' \
                 AND p.ip IN (SELECT value FROM json_each({a})))"
            ));
        } else {
            q.conds.push(format!("EXISTS ({sub})"));
        }
    }
    if let Some(v6) = &f.ipv6 {
        let a = q.arg("ipv6", json_list(v6)?);
        if driver == Driver::Ipv6 {
            q.conds.push(format!(
                "e.id IN (SELECT x.owner FROM ipv6_addrs x WHERE x.is_prefix = 0 \
                 AND x.addr IN (SELECT value FROM json_each({a})))"
            ));
        } else {
            q.conds.push(format!(
                "EXISTS (SELECT 1 FROM ipv6_addrs x WHERE x.owner = e.id AND x.is_prefix = 0 \
                 AND x.addr IN (SELECT value FROM json_each({a})))"
            ));
        }
    }
    if let Some(ip) = f.primary_ip {
        let a = q.arg("primary_ip", Value::Integer(i64::from(ip)));
        if driver == Driver::PrimaryIp {
            q.conds.push(format!(
                "e.id IN (SELECT p.owner FROM private_ips p WHERE p.ip = {a} \
                 AND p.kind = 'primary')"
            ));
        }
        q.conds.push(format!("+e.primary_ip = {a}"));
    }
    if let Some(i) = &f.instance_id {
        let a = q.text("instance", i.as_str());
        q.conds
            .push(format!("{}e.instance_id = {a}", keep(Driver::Instance)));
    }
    if let Some(v) = &f.vpc_id {
        let a = q.text("vpc", v.as_str());
        q.conds
            .push(format!("{}{own}.vpc_id = {a}", keep(Driver::Vpc)));
    }
    if let Some(v) = &f.vswitch_id {
        let a = q.text("vswitch", v.as_str());
        q.conds
            .push(format!("{}{own}.vswitch_id = {a}", keep(Driver::VSwitch)));
    }
    if let Some(types) = &f.eni_types {
        if driver == Driver::Type {
            let a = q.text("eni_type", &types[0]);
            q.conds.push(format!("e.eni_type = {a}"));
        } else {
            let a = q.arg("eni_types", json_list(types)?);
            q.conds.push(format!(
                "+{own}.eni_type IN (SELECT value FROM json_each({a}))"
            ));
        }
    }
    if let Some(s) = &f.status {
        let a = q.text("status", s);
        q.conds
            .push(format!("{}e.status = {a}", keep(Driver::Status)));
    }
    if let Some(n) = &f.name {
        let a = q.text("name", n);
        q.conds.push(format!("{}e.name = {a}", keep(Driver::Name)));
    }
    if let Some(rg) = &f.resource_group_id {
        let a = q.text("resource_group", rg);
        q.conds.push(format!(
            "{}e.resource_group_id = {a}",
            keep(Driver::ResourceGroup)
        ));
    }
    if let Some(g) = &f.security_group_id {
        let a = q.text("group", g.as_str());
        if driver == Driver::Group {
            // The group's index walks its members in creation order; the ENI joins by seq.
            // With a vSwitch, the (group, vSwitch) index walks only the members there; named,
            // since SQLite otherwise takes the group's own index for a cursor's range on seq.
            q.order = "g.eni_seq";
            q.conds.push(format!("g.security_group_id = {a}"));
            let index = match &f.vswitch_id {
                Some(v) => {
                    let v = q.text("vswitch", v.as_str());
                    q.conds.push(format!("g.vswitch_id = {v}"));
                    " INDEXED BY eni_security_groups_vswitch_idx"
                }
                None => "",
            };
            q.from = format!("eni_security_groups g{index} CROSS JOIN enis e ON e.seq = g.eni_seq");
        } else {
            // A page probes with EXISTS (a join would make SQLite sort the page); a count,
            // which has no order, joins: one index probe per row either way, but a
            // correlated subquery costs a subprogram call per row on top. (group, seq) is
            // unique, so the join yields each ENI at most once; CROSS keeps the driver the
            // outer loop.
            q.group_probe = Some((
                format!(
                    "EXISTS (SELECT 1 FROM eni_security_groups g \
                     WHERE g.security_group_id = {a} AND g.eni_seq = {seq})"
                ),
                format!(
                    " CROSS JOIN eni_security_groups g \
                     ON g.security_group_id = {a} AND g.eni_seq = {seq}"
                ),
            ));
        }
    }
    for (i, (key, value)) in f.tags.iter().enumerate() {
        let k = q.text(&format!("tag_key_{i}"), key);
        let v = value.as_ref().map(|v| q.text(&format!("tag_value_{i}"), v));
        if driver == Driver::Tag(i) {
            // The tag's index walks its ENIs in creation order; the ENI row joins by seq.
            q.from = "eni_tags t CROSS JOIN enis e ON e.seq = t.eni_seq".to_string();
            q.order = "t.eni_seq";
            q.conds.push(format!(
                "t.account_id = {acct} AND t.region_id = {reg} AND t.key = {k}"
            ));
            if let Some(v) = v {
                q.conds.push(format!("t.value = {v}"));
            }
        } else {
            let mut probe = format!(
                "EXISTS (SELECT 1 FROM eni_tags t{i} WHERE t{i}.eni_seq = {seq} AND t{i}.key = {k}"
            );
            if let Some(v) = v {
                let _ = write!(probe, " AND t{i}.value = {v}");
            }
            probe.push(')');
            q.conds.push(probe);
        }
    }
    Ok(q)
}

/// The SELECT columns of [`eni_from_row`] over alias `e`, then the row's position.
const COLUMNS: &str = "e.id, e.account_id, e.region_id, e.zone_id, e.vpc_id, e.vswitch_id, \
     e.eni_type, e.status, e.due_at, e.instance_id, e.device_index, e.mac, e.primary_ip, e.name, \
     e.description, (SELECT json_group_array(security_group_id ORDER BY position) \
     FROM eni_security_groups WHERE eni_id = e.id), e.delete_on_release, e.source_dest_check, \
     e.queue_number, e.traffic_mode, e.resource_group_id, e.tags, e.created_at, e.seq";

pub(super) fn find(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &EniFilter,
    window: Window,
) -> Result<Vec<(Position, Eni)>, StoreError> {
    let account = account_to_sql(account);
    let driver = choose_once(tx, account, region, f)?;
    let mut q = build(account, region, f, driver)?;
    if let Some(after) = window.after {
        let a = q.arg("after", Value::Integer(after.0));
        let order = q.order;
        q.conds.push(format!("{order} > {a}"));
    }
    let limit = q.arg(
        "limit",
        Value::Integer(window.limit.min(i64::MAX as u64) as i64),
    );
    let offset = q.arg(
        "offset",
        Value::Integer(window.offset.min(i64::MAX as u64) as i64),
    );
    let (from, conds) = q.page_parts();
    let sql = format!(
        "SELECT {COLUMNS} FROM {from} WHERE {conds} ORDER BY {} LIMIT {limit} OFFSET {offset}",
        q.order
    );
    q.run(tx, &sql, |r| Ok((Position(r.get(23)?), eni_from_row(r)?)))
}

/// The `eni_counts` entries whose sum is the number of ENIs `f` matches, when it has one
/// counted filter or none; `None` when only a walk can tell.
fn kept_counts(f: &EniFilter) -> Option<Vec<(&'static str, Option<String>)>> {
    let short_lists = f.ids.is_some()
        || f.instance_id.is_some()
        || f.primary_ip.is_some()
        || f.private_ips.is_some()
        || f.ipv6.is_some();
    if short_lists || f.name.is_some() || !f.tags.is_empty() {
        return None;
    }
    let mut dims: Vec<(&'static str, Option<String>)> = Vec::new();
    if let Some(v) = &f.vpc_id {
        dims.push(("vpc", Some(v.to_string())));
    }
    if let Some(v) = &f.vswitch_id {
        dims.push(("vswitch", Some(v.to_string())));
    }
    if let Some(s) = &f.status {
        dims.push(("status", Some(s.clone())));
    }
    if let Some(rg) = &f.resource_group_id {
        dims.push(("rg", Some(rg.clone())));
    }
    match (&f.security_group_id, &f.eni_types) {
        // A group counts its members but primary ENIs: exactly the types a group filter
        // implies (Secondary and Trunk, in any order), no narrower.
        (Some(g), Some(types)) => {
            let mut t: Vec<&str> = types.iter().map(String::as_str).collect();
            t.sort_unstable();
            t.dedup();
            if t != ["Secondary", "Trunk"] {
                return None;
            }
            dims.push(("sg", Some(g.to_string())));
        }
        (Some(_), None) => return None,
        (None, Some(types)) => {
            if !dims.is_empty() {
                return None;
            }
            let mut t: Vec<String> = types.clone();
            t.sort_unstable();
            t.dedup();
            return Some(t.into_iter().map(|ty| ("type", Some(ty))).collect());
        }
        (None, None) => {}
    }
    match dims.len() {
        // No filter: every ENI has one type (no value sums them all, below).
        0 => Some(vec![("type", None)]),
        1 => Some(dims),
        _ => None,
    }
}

pub(super) fn count(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &EniFilter,
) -> Result<u64, StoreError> {
    let account = account_to_sql(account);
    if let Some(entries) = kept_counts(f) {
        let mut total = 0u64;
        for (dim, value) in entries {
            let sql = match value {
                None => {
                    "SELECT sum(n) FROM eni_counts WHERE account_id = ?1 AND region_id = ?2 \
                     AND dim = ?3 AND ?4 IS NULL"
                }
                Some(_) => {
                    "SELECT n FROM eni_counts \
                     WHERE account_id = ?1 AND region_id = ?2 AND dim = ?3 AND value = ?4"
                }
            };
            let n: Vec<Option<i64>> =
                tx.query_all(sql, rusqlite::params![account, region, dim, value], |r| {
                    r.get(0)
                })?;
            let n = n.first().copied().flatten();
            total += n.unwrap_or(0).max(0) as u64;
        }
        return Ok(total);
    }
    let driver = choose_once(tx, account, region, f)?;
    let q = build(account, region, f, driver)?;
    let (from, conds) = q.count_parts(driver);
    let sql = format!("SELECT count(*) FROM {from} WHERE {conds}");
    let n: Vec<i64> = q.run(tx, &sql, |r| r.get(0))?;
    Ok(n.first().copied().unwrap_or(0).max(0) as u64)
}

/// For the query-plan tests: every driver `f` could have, with the page statement it drives
/// (after a cursor) and the count, both with their arguments named in order.
#[cfg(test)]
pub(crate) fn statements_by_driver(f: &EniFilter) -> Vec<(String, String, String)> {
    let mut drivers = vec![
        Driver::Ids,
        Driver::PrivateIps,
        Driver::Ipv6,
        Driver::PrimaryIp,
        Driver::Instance,
        Driver::Group,
        Driver::VSwitch,
        Driver::Vpc,
        Driver::Status,
        Driver::Type,
        Driver::Name,
        Driver::ResourceGroup,
        Driver::All,
    ];
    drivers.extend((0..f.tags.len()).map(Driver::Tag));
    drivers
        .into_iter()
        .map(|d| {
            let mut q = build(1, "r", f, d).unwrap();
            let a = q.arg("after", Value::Integer(0));
            let order = q.order;
            let (from, conds) = q.count_parts(d);
            let count = format!("SELECT count(*) FROM {from} WHERE {conds}");
            q.conds.push(format!("{order} > {a}"));
            let (from, conds) = q.page_parts();
            let page =
                format!("SELECT {COLUMNS} FROM {from} WHERE {conds} ORDER BY {order} LIMIT 100");
            (format!("{d:?}"), page, count)
        })
        .collect()
}
