//! `eni_find` and `eni_find_count`: DescribeNetworkInterfaces' filters, answered from indexes.
//! Port of the SQLite backend's `tx/eni_find.rs`.
//!
//! One filter drives the query: its index lists the matching ENIs, and every other filter is
//! checked on those rows only (a condition on the row, or an `EXISTS` probe of one index
//! entry). A page is then a range of the driving index after the cursor, read in creation
//! order (`seq`), and costs about as many rows as it returns when the filters agree; a count
//! walks the driver's matches once.
//!
//! The driver: a short list first (ENI IDs, addresses, an instance: at most a few hundred
//! rows), else whichever of the remaining filters matches fewest ENIs. That number comes from
//! `eni_counts` for a VPC, vSwitch, status, type, resource group or group (one probe each),
//! and from a capped walk of the index for a tag or a name (at most [`PROBE_CAP`] entries, and
//! no further than the best size already known).
//!
//! PostgreSQL has no index hints (SQLite's unary `+`), so the statement's shape makes the
//! driver's index the one walked; without it, the planner often prefers the ENIs' primary key
//! (`seq`, the page's order, physically sequential) with every filter checked on the way,
//! which reads every later ENI of every account:
//! * A tag or a security group drives from its own table (`eni_tags`, `eni_security_groups`,
//!   whose indexes list an entry's ENIs in creation order); a group's ENI is joined by ID, not
//!   by `seq`, which would let the primary key give the page's order too.
//! * Any other driver is a condition on `enis`; the page is ordered by the driver's leading
//!   column (the account, or the VPC or vSwitch), then `seq`, that column compared with
//!   `= ANY(ARRAY[..])`, which the planner does not treat as a constant: only the driver's
//!   index gives that order (for the same rows, in the same order, as the column has one
//!   value), so a page is a range of it after the cursor, never a sort.
//! * Every other filter is checked on the driver's rows, as a condition or an `EXISTS` probe
//!   of one index entry fenced with `OFFSET 0` ([`PROBE`]), so that it is not made a join.
//! * A count walks the driver's rows the same way, probing the ENI row from a tag's or a
//!   group's rows rather than joining it.
//!
//! Short lists are array parameters compared with `= ANY`, an index condition on their
//! column; their few matches are sorted.
//!
//! A count with a single broad filter (a VPC, a vSwitch, a status, a type, a resource group,
//! a security group), or none, is read from `eni_counts` (kept by triggers): one probe instead
//! of a walk over most of the account.

use super::enis::{eni_from_row, ENI_COLUMNS};
use super::{account_to_sql, get, PgTx};
use eni_store::{Eni, EniFilter, Position, StoreError, Window};
use eni_types::ids::AccountId;
use postgres::types::ToSql;
use postgres::Row;
use std::fmt::Write;

/// Ends the subquery of an `EXISTS` probe. `OFFSET 0` keeps PostgreSQL from turning the probe
/// into a semi-join (it is the planner's documented optimization fence): the probe stays one
/// index lookup per row the driver yields, as in SQLite, where a semi-join could instead be a
/// merge join along the ENIs' primary key (every ENI of every account) or a scan of every
/// entry of the probed tag.
const PROBE: &str = " OFFSET 0";

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

/// One argument of a statement.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
    Texts(Vec<String>),
    Ints(Vec<i64>),
}

impl Arg {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Int(v) => v,
            Arg::Text(v) => v,
            Arg::Texts(v) => v,
            Arg::Ints(v) => v,
        }
    }
}

fn run<T>(
    tx: &mut PgTx<'_>,
    sql: &str,
    args: &[Arg],
    f: impl FnMut(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(Arg::as_sql).collect();
    tx.query_all(sql, &params, f)
}

/// A statement under construction; arguments are named while building and numbered in the
/// order first named (`$1`, `$2`, ...), a name used twice being one argument.
struct Query {
    from: String,
    /// The conditions the driving table's index answers, when the driver is not `enis`.
    driver_conds: Vec<String>,
    /// The conditions on the rows the driver yields.
    conds: Vec<String>,
    /// When the driver is not `enis`: its table alone, and how the ENI row matches one of its
    /// rows (a count's shape, below).
    driven: Option<(&'static str, &'static str)>,
    args: Vec<(String, Arg)>,
    /// The ORDER BY of a page: the driver's index order, ending with the paging column.
    order_by: &'static str,
    /// The column rows are paged by (the ENI's seq, or the driver's copy of it).
    seq_col: &'static str,
    /// Whether a condition reads the ENI row (else a tag-driven count needs no join).
    reads_row: bool,
    /// A security group that does not drive: its probe.
    group_probe: Option<String>,
    /// A group in a vSwitch drives (its own index, 0004): a page and a count take the shapes of
    /// [`Query::group_in_vswitch_page`] and [`Query::count_sql`].
    group_in_vswitch: bool,
}

impl Query {
    /// The conditions on the driver's rows, group probe included.
    fn row_conds(&self) -> Vec<String> {
        let mut conds = self.conds.clone();
        if let Some(exists) = &self.group_probe {
            conds.push(exists.clone());
        }
        conds
    }

    /// FROM and WHERE of a page.
    fn page_parts(&self) -> (String, String) {
        let mut conds = self.driver_conds.clone();
        conds.extend(self.row_conds());
        (self.from.clone(), conds.join(" AND "))
    }

    /// A count: the driver's rows alone when no condition reads the ENI row (a tag's rows are
    /// the ENI's, kept by triggers); else, with a tag or a group driving, the driver's rows
    /// each probing its ENI row; else the ENIs. Joins are avoided (a group that does not drive
    /// is probed, as on a page): PostgreSQL could merge one along the ENIs' primary key,
    /// reading every ENI of every account, where the driver's rows are the ones to walk.
    fn count_sql(&self, driver: Driver) -> String {
        match (driver, self.driven) {
            // A group in a vSwitch: both sides are a range of an index in seq order (the
            // group's members there, the vSwitch's ENIs with the row's conditions in the
            // index), which PostgreSQL merges or hashes, walking each once; a probe of the ENI
            // row per member costs an index descent and a table visit each (about 4 ms against
            // 18 ms for 2,500 members at 100k ENIs).
            (Driver::Group, Some(_)) if self.group_in_vswitch => format!(
                "SELECT count(*) FROM eni_security_groups g JOIN enis e ON e.seq = g.eni_seq \
                 WHERE {}",
                self.page_parts().1
            ),
            (Driver::Tag(_), _) if !self.reads_row => format!(
                "SELECT count(*) FROM eni_tags t WHERE {}",
                self.page_parts().1
            ),
            (_, Some((table, on))) => format!(
                "SELECT count(*) FROM {table} WHERE {} AND EXISTS (SELECT 1 FROM enis e \
                 WHERE {on} AND {}{PROBE})",
                self.driver_conds.join(" AND "),
                self.row_conds().join(" AND ")
            ),
            (_, None) => {
                let (from, conds) = self.page_parts();
                format!("SELECT count(*) FROM {from} WHERE {conds}")
            }
        }
    }

    /// A page of a group in a vSwitch. The page's seqs come first: the group's members in the
    /// vSwitch, after the cursor, in order, each probing the vSwitch's index for the row's
    /// conditions (account, region, status and type are in that index, so the probe reads no
    /// table page); then each of those at most `limit` ENIs is read by seq. Both steps are
    /// fenced (`OFFSET 0`): joined, PostgreSQL estimates a few rows where a group and a vSwitch
    /// that coincide give thousands, and hashes them all and sorts.
    fn group_in_vswitch_page(&self, limit: &str, offset: &str) -> String {
        format!(
            "SELECT {ENI_COLUMNS}, e.seq FROM \
             (SELECT g.eni_seq FROM eni_security_groups g WHERE {} \
              AND EXISTS (SELECT 1 FROM enis e WHERE e.seq = g.eni_seq AND {}{PROBE}) \
              ORDER BY g.eni_seq LIMIT {limit} OFFSET {offset}) p \
             CROSS JOIN LATERAL (SELECT * FROM enis e WHERE e.seq = p.eni_seq{PROBE}) e \
             ORDER BY p.eni_seq",
            self.driver_conds.join(" AND "),
            self.row_conds().join(" AND ")
        )
    }

    /// The placeholder of argument `name`, added with `value` if new.
    fn arg(&mut self, name: &str, value: Arg) -> String {
        let i = match self.args.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.args.push((name.to_string(), value));
                self.args.len() - 1
            }
        };
        format!("${}", i + 1)
    }

    fn text(&mut self, name: &str, value: &str) -> String {
        self.arg(name, Arg::Text(value.to_string()))
    }

    fn texts<T: ToString>(&mut self, name: &str, values: &[T]) -> String {
        let list = values.iter().map(ToString::to_string).collect();
        format!("{}::text[]", self.arg(name, Arg::Texts(list)))
    }

    fn args(&self) -> Vec<Arg> {
        self.args.iter().map(|(_, v)| v.clone()).collect()
    }
}

/// How a candidate driver's size is learnt.
enum Size {
    /// The least of some `eni_counts` entries (dim, value), read with every other candidate's
    /// in one statement: exact for one entry, a bound for more (a group in a vSwitch: at most
    /// either's count).
    Kept(Vec<(&'static str, String)>),
    /// A walk of its index (the statement lists one row per match), capped.
    Walk(&'static str, Vec<Arg>),
}

/// The candidate drivers of `f` that a size can rank.
fn candidates(account: i64, region: &str, f: &EniFilter) -> Vec<(Driver, Size)> {
    let mut out = Vec::new();
    let acct = Arg::Int(account);
    let t = |s: &str| Arg::Text(s.to_string());
    let reg = t(region);
    if let Some(g) = &f.security_group_id {
        // All of the group's members (the walk passes primary ENIs too); with a vSwitch, only
        // its members in that vSwitch (0004), no more than either count.
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
                     WHERE account_id = $1 AND region_id = $2 AND key = $3 AND value = $4",
                    vec![acct.clone(), reg.clone(), t(key), t(v)],
                ),
                None => Size::Walk(
                    "SELECT 1 FROM eni_tags WHERE account_id = $1 AND region_id = $2 AND key = $3",
                    vec![acct.clone(), reg.clone(), t(key)],
                ),
            },
        ));
    }
    if let Some(n) = &f.name {
        out.push((
            Driver::Name,
            Size::Walk(
                "SELECT 1 FROM enis WHERE account_id = $1 AND region_id = $2 AND name = $3",
                vec![acct.clone(), reg.clone(), t(n)],
            ),
        ));
    }
    out
}

/// The driver chosen for a filter, kept for the rest of the transaction: a Describe asks for
/// a page and then the count of the same filter, and choosing costs round trips and walks.
/// (Within one transaction a choice stays right: it only decides speed, never the rows.)
pub(crate) struct Chosen {
    account: i64,
    region: String,
    filter: EniFilter,
    driver: Driver,
}

/// [`choose`], once per filter and transaction.
fn choose_once(
    tx: &mut PgTx<'_>,
    account: i64,
    region: &str,
    f: &EniFilter,
) -> Result<Driver, StoreError> {
    if let Some(c) = &tx.eni_driver {
        if c.account == account && c.region == region && &c.filter == f {
            return Ok(c.driver);
        }
    }
    let driver = choose(tx, account, region, f)?;
    tx.eni_driver = Some(Chosen {
        account,
        region: region.to_string(),
        filter: f.clone(),
        driver,
    });
    Ok(driver)
}

/// The `eni_counts` entries (dim, value) of (account, region), in one statement; an absent
/// entry is 0.
fn kept_many(
    tx: &mut PgTx<'_>,
    account: i64,
    region: &str,
    entries: &[(&'static str, String)],
) -> Result<Vec<i64>, StoreError> {
    let dims: Vec<&str> = entries.iter().map(|(d, _)| *d).collect();
    let values: Vec<&str> = entries.iter().map(|(_, v)| v.as_str()).collect();
    let found: Vec<(String, String, i64)> = tx.query_all(
        "SELECT dim, value, n FROM eni_counts \
         WHERE account_id = $1 AND region_id = $2 \
         AND (dim, value) IN (SELECT * FROM unnest($3::text[], $4::text[]))",
        &[&account, &region, &dims, &values],
        |r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)),
    )?;
    Ok(entries
        .iter()
        .map(|(d, v)| {
            found
                .iter()
                .find(|(fd, fv, _)| fd == d && fv == v)
                .map_or(0, |(_, _, n)| *n)
        })
        .collect())
}

/// The `eni_counts` entry (account, region, dim, value), 0 when absent.
fn kept(
    tx: &mut PgTx<'_>,
    account: i64,
    region: &str,
    dim: &str,
    value: &str,
) -> Result<i64, StoreError> {
    let n: Option<i64> = tx.query_opt(
        "SELECT n FROM eni_counts \
         WHERE account_id = $1 AND region_id = $2 AND dim = $3 AND value = $4",
        &[&account, &region, &dim, &value],
        |r| get(r, 0),
    )?;
    Ok(n.unwrap_or(0))
}

/// Picks the driver of `f` (see the module doc).
fn choose(
    tx: &mut PgTx<'_>,
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
    // Kept sizes come first (they are exact and cheap: all of them in one statement), so
    // that a walk stops at the best size known: a walk that reaches it cannot win.
    let candidates = candidates(account, region, f);
    let entries: Vec<(&'static str, String)> = candidates
        .iter()
        .filter_map(|(_, size)| match size {
            Size::Kept(e) => Some(e.clone()),
            Size::Walk(..) => None,
        })
        .flatten()
        .collect();
    let mut counts = if entries.is_empty() {
        Vec::new()
    } else {
        kept_many(tx, account, region, &entries)?
    }
    .into_iter();
    let mut best: Option<(i64, Driver)> = None;
    for (driver, size) in candidates {
        let n = match size {
            Size::Kept(entries) => {
                let mut least = i64::MAX;
                for _ in entries {
                    least = least.min(counts.next().unwrap_or(0));
                }
                least
            }
            Size::Walk(sql, args) => {
                let cap = best.map_or(PROBE_CAP, |(m, _)| m.min(PROBE_CAP));
                if cap == 0 {
                    continue;
                }
                let capped = format!("SELECT count(*) FROM ({sql} LIMIT {cap}) walk");
                let n: Vec<i64> = run(tx, &capped, &args, |r| get(r, 0))?;
                n.first().copied().unwrap_or(0)
            }
        };
        if best.is_none_or(|(m, _)| n < m) {
            best = Some((n, driver));
        }
    }
    Ok(best.map_or(Driver::All, |(_, d)| d))
}

/// The FROM clause and conditions of `f` driven by `driver`.
fn build(account: i64, region: &str, f: &EniFilter, driver: Driver) -> Query {
    let mut q = Query {
        from: "enis e".to_string(),
        driver_conds: Vec::new(),
        conds: Vec::new(),
        driven: None,
        args: Vec::new(),
        order_by: "e.seq",
        seq_col: "e.seq",
        reads_row: false,
        group_probe: None,
        group_in_vswitch: false,
    };
    let acct = q.arg("account", Arg::Int(account));
    let reg = q.text("region", region);
    // The page's order is the driver's index's (see the module doc). A tag's rows carry the
    // account and region (kept with the ENI's by triggers), so a tag-driven count reads no
    // ENI row.
    match driver {
        Driver::All | Driver::Status | Driver::Type | Driver::Name | Driver::ResourceGroup => {
            // The indexes of the account's own columns lead with the account and region.
            q.order_by = "e.account_id, e.seq";
            q.conds.push(format!(
                "e.account_id = ANY(ARRAY[{acct}::bigint]) AND e.region_id = {reg}"
            ));
        }
        Driver::Tag(_) => {}
        _ => q
            .conds
            .push(format!("e.account_id = {acct} AND e.region_id = {reg}")),
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
        let a = q.texts("ids", ids);
        q.conds.push(format!("e.id = ANY({a})"));
    }
    if let Some(ips) = &f.private_ips {
        let a = q.arg(
            "ips",
            Arg::Ints(ips.iter().copied().map(i64::from).collect()),
        );
        // The ENI's own addresses: its primary and secondaries, not the members of its /28s.
        if driver == Driver::PrivateIps {
            q.conds.push(format!(
                "e.id IN (SELECT p.owner FROM private_ips p WHERE p.kind <> 'prefix' \
                 AND p.ip = ANY({a}::bigint[]))"
            ));
        } else {
            q.conds.push(format!(
                "EXISTS (SELECT 1 FROM private_ips p WHERE p.owner = e.id \
                 AND p.kind <> 'prefix' AND p.ip = ANY({a}::bigint[]){PROBE})"
            ));
        }
    }
    if let Some(v6) = &f.ipv6 {
        let a = q.texts("ipv6", v6);
        if driver == Driver::Ipv6 {
            q.conds.push(format!(
                "e.id IN (SELECT x.owner FROM ipv6_addrs x WHERE NOT x.is_prefix \
                 AND x.addr = ANY({a}))"
            ));
        } else {
            q.conds.push(format!(
                "EXISTS (SELECT 1 FROM ipv6_addrs x WHERE x.owner = e.id AND NOT x.is_prefix \
                 AND x.addr = ANY({a}){PROBE})"
            ));
        }
    }
    if let Some(ip) = f.primary_ip {
        let a = q.arg("primary_ip", Arg::Int(i64::from(ip)));
        if driver == Driver::PrimaryIp {
            q.conds.push(format!(
                "e.id IN (SELECT p.owner FROM private_ips p WHERE p.ip = {a} \
                 AND p.kind = 'primary')"
            ));
        }
        q.conds.push(format!("e.primary_ip = {a}"));
    }
    if let Some(i) = &f.instance_id {
        let a = q.text("instance", i.as_str());
        q.conds.push(format!("e.instance_id = {a}"));
    }
    if let Some(v) = &f.vpc_id {
        let a = q.text("vpc", v.as_str());
        if driver == Driver::Vpc {
            q.order_by = "e.vpc_id, e.seq";
            q.conds.push(format!("e.vpc_id = ANY(ARRAY[{a}::text])"));
        } else {
            q.conds.push(format!("{own}.vpc_id = {a}"));
        }
    }
    if let Some(v) = &f.vswitch_id {
        let a = q.text("vswitch", v.as_str());
        if driver == Driver::VSwitch {
            q.order_by = "e.vswitch_id, e.seq";
            q.conds
                .push(format!("e.vswitch_id = ANY(ARRAY[{a}::text])"));
        } else {
            q.conds.push(format!("{own}.vswitch_id = {a}"));
        }
    }
    if let Some(types) = &f.eni_types {
        if driver == Driver::Type {
            let a = q.text("eni_type", &types[0]);
            q.conds.push(format!("e.eni_type = {a}"));
        } else {
            let a = q.texts("eni_types", types);
            q.conds.push(format!("{own}.eni_type = ANY({a})"));
        }
    }
    if let Some(s) = &f.status {
        let a = q.text("status", s);
        q.conds.push(format!("e.status = {a}"));
    }
    if let Some(n) = &f.name {
        let a = q.text("name", n);
        q.conds.push(format!("e.name = {a}"));
    }
    if let Some(rg) = &f.resource_group_id {
        let a = q.text("resource_group", rg);
        q.conds.push(format!("e.resource_group_id = {a}"));
    }
    if let Some(g) = &f.security_group_id {
        let a = q.text("group", g.as_str());
        if driver == Driver::Group {
            // The group's index walks its members in creation order. The ENI joins by ID,
            // not seq: joined by seq, the ENI's primary key could give the same order, and
            // PostgreSQL would merge-join along it.
            q.from = "eni_security_groups g JOIN enis e ON e.id = g.eni_id".to_string();
            q.order_by = "g.eni_seq";
            q.seq_col = "g.eni_seq";
            q.driven = Some(("eni_security_groups g", "e.id = g.eni_id"));
            q.driver_conds.push(format!("g.security_group_id = {a}"));
            if let Some(v) = &f.vswitch_id {
                // Only the members in the vSwitch (0004). (`= ANY(..)` would not do here: on
                // an index's second column PostgreSQL 15 checks it as a filter, not a range.)
                // The ENI's vSwitch is checked on its row too (`e`), so that the ENI side is a
                // range of the vSwitch's index.
                let v = q.text("vswitch", v.as_str());
                q.driver_conds.push(format!("g.vswitch_id = {v}"));
                q.group_in_vswitch = true;
            }
        } else {
            // Probed for each row the driver yields (on `OFFSET 0`, see [`PROBE`]).
            q.group_probe = Some(format!(
                "EXISTS (SELECT 1 FROM eni_security_groups g \
                 WHERE g.security_group_id = {a} AND g.eni_seq = {seq}{PROBE})"
            ));
        }
    }
    for (i, (key, value)) in f.tags.iter().enumerate() {
        let k = q.text(&format!("tag_key_{i}"), key);
        let v = value.as_ref().map(|v| q.text(&format!("tag_value_{i}"), v));
        if driver == Driver::Tag(i) {
            // The tag's index walks its ENIs in creation order; the ENI row joins by seq.
            q.from = "eni_tags t JOIN enis e ON e.seq = t.eni_seq".to_string();
            q.order_by = "t.account_id, t.eni_seq";
            q.seq_col = "t.eni_seq";
            q.driven = Some(("eni_tags t", "e.seq = t.eni_seq"));
            q.driver_conds.push(format!(
                "t.account_id = ANY(ARRAY[{acct}::bigint]) AND t.region_id = {reg} \
                 AND t.key = {k}"
            ));
            if let Some(v) = v {
                q.driver_conds.push(format!("t.value = {v}"));
            }
        } else {
            let mut probe = format!(
                "EXISTS (SELECT 1 FROM eni_tags t{i} WHERE t{i}.eni_seq = {seq} AND t{i}.key = {k}"
            );
            if let Some(v) = v {
                let _ = write!(probe, " AND t{i}.value = {v}");
            }
            probe.push_str(PROBE);
            probe.push(')');
            q.conds.push(probe);
        }
    }
    q
}

pub(crate) fn eni_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &EniFilter,
    window: Window,
) -> Result<Vec<(Position, Eni)>, StoreError> {
    let account = account_to_sql(account);
    let driver = choose_once(tx, account, region, filter)?;
    let mut q = build(account, region, filter, driver);
    if let Some(after) = window.after {
        let a = q.arg("after", Arg::Int(after.0));
        let seq = q.seq_col;
        // A range of the driver's index.
        if q.group_in_vswitch {
            q.driver_conds.push(format!("{seq} > {a}"));
        } else {
            q.conds.push(format!("{seq} > {a}"));
        }
    }
    let limit = q.arg("limit", Arg::Int(window.limit.min(i64::MAX as u64) as i64));
    let offset = q.arg(
        "offset",
        Arg::Int(window.offset.min(i64::MAX as u64) as i64),
    );
    let sql = if q.group_in_vswitch {
        q.group_in_vswitch_page(&limit, &offset)
    } else {
        let (from, conds) = q.page_parts();
        format!(
            "SELECT {ENI_COLUMNS}, e.seq FROM {from} WHERE {conds} \
             ORDER BY {} LIMIT {limit} OFFSET {offset}",
            q.order_by
        )
    };
    run(tx, &sql, &q.args(), |r| {
        Ok((Position(get(r, 23)?), eni_from_row(r)?))
    })
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

pub(crate) fn eni_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &EniFilter,
) -> Result<u64, StoreError> {
    let account = account_to_sql(account);
    if let Some(entries) = kept_counts(filter) {
        let mut total = 0u64;
        for (dim, value) in entries {
            let n = match value {
                None => {
                    let n: Option<Option<i64>> = tx.query_opt(
                        "SELECT sum(n)::bigint FROM eni_counts \
                         WHERE account_id = $1 AND region_id = $2 AND dim = $3",
                        &[&account, &region, &dim],
                        |r| get(r, 0),
                    )?;
                    n.flatten().unwrap_or(0)
                }
                Some(value) => kept(tx, account, region, dim, &value)?,
            };
            total += n.max(0) as u64;
        }
        return Ok(total);
    }
    let driver = choose_once(tx, account, region, filter)?;
    let q = build(account, region, filter, driver);
    let sql = q.count_sql(driver);
    let n: Vec<i64> = run(tx, &sql, &q.args(), |r| get(r, 0))?;
    Ok(n.first().copied().unwrap_or(0).max(0) as u64)
}
