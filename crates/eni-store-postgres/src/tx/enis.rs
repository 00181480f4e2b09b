//! ENIs and their ordered security-group memberships (`eni_security_groups`, one row per
//! group, by `position`). Port of the SQLite backend's `tx/enis.rs`.
//!
//! An ENI and its memberships are written together, as one ([`PgTx::atomically`]): a refused
//! membership (a missing group) undoes the row too, so a refused write leaves no half-written
//! ENI behind. They are read together too, the memberships folded into an array by a
//! correlated subquery, so a list is one statement however many ENIs it returns. A refused
//! write names its constraint itself (PostgreSQL reports it).

use super::{
    account_from, account_to_sql, get, id_from, opt_id_from, tags_from, tags_to_sql, u32_from,
};
use super::{Params, PgTx};
use eni_store::{Eni, EniQuery, StoreError};
use eni_types::ids::{AccountId, EniId, SecurityGroupId, VSwitchId};
use postgres::types::ToSql;
use postgres::Row;

/// Every ENI column over alias `e` and its groups in order, as [`eni_from_row`] reads them.
macro_rules! eni_columns {
    () => {
        "e.id, e.account_id, e.region_id, e.zone_id, e.vpc_id, e.vswitch_id, e.eni_type, \
         e.status, e.due_at, e.instance_id, e.device_index, e.mac, e.primary_ip, e.name, \
         e.description, \
         ARRAY(SELECT sgm.security_group_id FROM eni_security_groups sgm \
               WHERE sgm.eni_id = e.id ORDER BY sgm.position), \
         e.delete_on_release, e.source_dest_check, e.queue_number, e.traffic_mode, \
         e.resource_group_id, e.tags, e.created_at"
    };
}

/// `SELECT` of every ENI column from `enis e`, as [`eni_from_row`] reads them.
macro_rules! select_eni {
    ($rest:literal) => {
        concat!("SELECT ", eni_columns!(), " FROM enis e ", $rest)
    };
}

/// The columns of [`eni_from_row`] over alias `e` (23 of them: a caller may select more after).
pub(crate) const ENI_COLUMNS: &str = eni_columns!();

/// An ENI from the columns of [`ENI_COLUMNS`].
pub(crate) fn eni_from_row(r: &Row) -> Result<Eni, StoreError> {
    Ok(Eni {
        id: id_from(r, 0)?,
        account_id: account_from(r, 1)?,
        region_id: get(r, 2)?,
        zone_id: get(r, 3)?,
        vpc_id: id_from(r, 4)?,
        vswitch_id: id_from(r, 5)?,
        eni_type: get(r, 6)?,
        status: get(r, 7)?,
        due_at: get(r, 8)?,
        instance_id: opt_id_from(r, 9)?,
        device_index: opt_u32(r, 10)?,
        mac: get(r, 11)?,
        primary_ip: u32_from(r, 12)?,
        name: get(r, 13)?,
        description: get(r, 14)?,
        security_group_ids: group_ids_from(r, 15)?,
        delete_on_release: get(r, 16)?,
        source_dest_check: get(r, 17)?,
        queue_number: u32_from(r, 18)?,
        traffic_mode: get(r, 19)?,
        resource_group_id: id_from(r, 20)?,
        tags: tags_from(r, 21)?,
        created_at: get(r, 22)?,
    })
}

fn opt_u32(r: &Row, i: usize) -> Result<Option<u32>, StoreError> {
    let v: Option<i64> = get(r, i)?;
    v.map(|v| {
        u32::try_from(v).map_err(|_| StoreError::Backend(format!("column {i}: {v} is not a u32")))
    })
    .transpose()
}

fn group_ids_from(r: &Row, i: usize) -> Result<Vec<SecurityGroupId>, StoreError> {
    let ids: Vec<String> = get(r, i)?;
    ids.into_iter()
        .map(|t| {
            t.parse()
                .map_err(|e| StoreError::Backend(format!("column {i}: group {t:?}: {e}")))
        })
        .collect()
}

/// JSON text of a list parameter.
pub(crate) fn json_list(items: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(items)
        .map_err(|e| StoreError::Backend(format!("encoding a list parameter: {e}")))
}

/// Runs `sql` (an INSERT or UPDATE of `enis`) with the ENI's columns as $1..$22, in the order
/// of the INSERT's column list.
fn write_row(tx: &mut PgTx<'_>, sql: &str, eni: &Eni) -> Result<u64, StoreError> {
    let tags = tags_to_sql(&eni.tags)?;
    tx.exec(
        sql,
        &[
            &eni.id.as_str(),
            &account_to_sql(eni.account_id),
            &eni.region_id,
            &eni.zone_id,
            &eni.vpc_id.as_str(),
            &eni.vswitch_id.as_str(),
            &eni.eni_type,
            &eni.status,
            &eni.due_at,
            &eni.instance_id.as_ref().map(|i| i.as_str()),
            &eni.device_index.map(i64::from),
            &eni.mac,
            &i64::from(eni.primary_ip),
            &eni.name,
            &eni.description,
            &eni.delete_on_release,
            &eni.source_dest_check,
            &i64::from(eni.queue_number),
            &eni.traffic_mode,
            &eni.resource_group_id.as_str(),
            &tags,
            &eni.created_at,
        ],
    )
}

pub(crate) fn eni_insert(tx: &mut PgTx<'_>, eni: &Eni) -> Result<(), StoreError> {
    tx.atomically(|tx| {
        write_row(
            tx,
            "INSERT INTO enis (id, account_id, region_id, zone_id, vpc_id, vswitch_id, eni_type,
                 status, due_at, instance_id, device_index, mac, primary_ip, name, description,
                 delete_on_release, source_dest_check, queue_number, traffic_mode,
                 resource_group_id, tags, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20, $21, $22)",
            eni,
        )?;
        insert_memberships(tx, &eni.id, &eni.security_group_ids)
    })
}

/// The memberships of `eni` (whose row exists), in order: one statement for all of them. The
/// ENI's seq orders a group's members; a primary ENI is not counted under its groups; its
/// vSwitch lets a group list its members per vSwitch.
fn insert_memberships(
    tx: &mut PgTx<'_>,
    eni: &EniId,
    groups: &[SecurityGroupId],
) -> Result<(), StoreError> {
    if groups.is_empty() {
        return Ok(());
    }
    let groups = json_list(&groups)?;
    tx.exec(
        "INSERT INTO eni_security_groups
             (eni_id, position, security_group_id, eni_seq, counted, vswitch_id)
         SELECT e.id, g.position - 1, g.group_id, e.seq, e.eni_type <> 'Primary', e.vswitch_id
         FROM enis e,
              jsonb_array_elements_text($2::text::jsonb) WITH ORDINALITY AS g(group_id, position)
         WHERE e.id = $1
         ORDER BY g.position",
        &[&eni.as_str(), &groups],
    )?;
    Ok(())
}

pub(crate) fn eni_get(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &EniId,
) -> Result<Option<Eni>, StoreError> {
    tx.query_opt(
        select_eni!("WHERE e.account_id = $1 AND e.id = $2"),
        &[&account_to_sql(account), &id.as_str()],
        eni_from_row,
    )
}

pub(crate) fn eni_update(tx: &mut PgTx<'_>, eni: &Eni) -> Result<(), StoreError> {
    tx.atomically(|tx| {
        let n = write_row(
            tx,
            "UPDATE enis SET region_id = $3, zone_id = $4, vpc_id = $5, vswitch_id = $6,
                 eni_type = $7, status = $8, due_at = $9, instance_id = $10, device_index = $11,
                 mac = $12, primary_ip = $13, name = $14, description = $15,
                 delete_on_release = $16, source_dest_check = $17, queue_number = $18,
                 traffic_mode = $19, resource_group_id = $20, tags = $21, created_at = $22
             WHERE id = $1 AND account_id = $2",
            eni,
        )?;
        if n == 0 {
            // The trait has no "not found" for an update: updating a row the caller did not
            // just read is a bug in the caller.
            return Err(StoreError::Backend(format!(
                "eni_update: no ENI {} in account {}",
                eni.id, eni.account_id
            )));
        }
        // Most updates (a status, an attachment) keep the groups: rewrite them only when
        // they changed, sparing the membership indexes and counts two writes each.
        // (A change of type to or from Primary changes whether the memberships count; the
        // vSwitch never changes, but a membership row holds a copy of it.)
        let counted = eni.eni_type != "Primary";
        let current: Vec<(String, bool, String)> = tx.query_all(
            "SELECT security_group_id, counted, vswitch_id FROM eni_security_groups
             WHERE eni_id = $1 ORDER BY position",
            &[&eni.id.as_str()],
            |r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)),
        )?;
        if current
            .iter()
            .all(|(_, c, v)| *c == counted && v == eni.vswitch_id.as_str())
            && current
                .iter()
                .map(|(g, _, _)| g.as_str())
                .eq(eni.security_group_ids.iter().map(|g| g.as_str()))
        {
            return Ok(());
        }
        tx.exec(
            "DELETE FROM eni_security_groups WHERE eni_id = $1",
            &[&eni.id.as_str()],
        )?;
        insert_memberships(tx, &eni.id, &eni.security_group_ids)
    })
}

pub(crate) fn eni_delete(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &EniId,
) -> Result<bool, StoreError> {
    // Memberships go with the ENI (ON DELETE CASCADE); nothing else references it.
    let n = tx.exec(
        "DELETE FROM enis WHERE account_id = $1 AND id = $2",
        &[&account_to_sql(account), &id.as_str()],
    )?;
    Ok(n > 0)
}

/// One argument of [`list_statement`].
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

impl Arg {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Int(v) => v,
            Arg::Text(v) => v,
        }
    }
}

/// The SQL of one `eni_list` and its positional arguments. Only the filters given become SQL,
/// so each shape of query gets a plan of its own (and a prepared statement: there are 32
/// shapes at most).
pub(crate) fn list_statement(
    account: AccountId,
    region: &str,
    query: &EniQuery,
) -> Result<(String, Vec<Arg>), StoreError> {
    let mut sql = String::from(select_eni!("WHERE e.account_id = $1 AND e.region_id = $2"));
    let mut args = vec![
        Arg::Int(account_to_sql(account)),
        Arg::Text(region.to_string()),
    ];
    let mut filter = |clause: &str, value: String| {
        args.push(Arg::Text(value));
        sql.push_str(" AND ");
        sql.push_str(&clause.replace("{}", &format!("${}", args.len())));
    };
    if let Some(ids) = &query.ids {
        // The IDs travel as one JSON array; an empty one matches nothing.
        filter(
            "e.id IN (SELECT jsonb_array_elements_text({}::text::jsonb))",
            json_list(ids)?,
        );
    }
    if let Some(instance) = &query.instance_id {
        filter("e.instance_id = {}", instance.to_string());
    }
    if let Some(vpc) = &query.vpc_id {
        filter("e.vpc_id = {}", vpc.to_string());
    }
    if let Some(vswitch) = &query.vswitch_id {
        filter("e.vswitch_id = {}", vswitch.to_string());
    }
    if let Some(eni_type) = &query.eni_type {
        filter("e.eni_type = {}", eni_type.clone());
    }
    sql.push_str(" ORDER BY e.seq");
    Ok((sql, args))
}

pub(crate) fn eni_list(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    query: &EniQuery,
) -> Result<Vec<Eni>, StoreError> {
    let (sql, args) = list_statement(account, region, query)?;
    let args: Vec<&(dyn ToSql + Sync)> = args.iter().map(Arg::as_sql).collect();
    let params: &Params<'_> = &args;
    tx.query_all(&sql, params, eni_from_row)
}

pub(crate) fn eni_list_all(tx: &mut PgTx<'_>) -> Result<Vec<Eni>, StoreError> {
    tx.query_all(select_eni!("ORDER BY e.seq"), &[], eni_from_row)
}

pub(crate) fn eni_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    eni_type: &str,
) -> Result<u64, StoreError> {
    tx.resource_count(account, region, &format!("eni:{eni_type}"))
}

/// `due_at IS NOT NULL` matches the partial index enis_due_idx, so only ENIs in transition
/// are looked at; the few that are due are then sorted by age.
pub(crate) const DUE: &str =
    select_eni!("WHERE e.due_at IS NOT NULL AND e.due_at <= $1 ORDER BY e.seq LIMIT $2");

pub(crate) fn eni_due(tx: &mut PgTx<'_>, now: i64, limit: u32) -> Result<Vec<Eni>, StoreError> {
    tx.query_all(DUE, &[&now, &i64::from(limit)], eni_from_row)
}

pub(crate) fn eni_count_in_vswitch(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<u64, StoreError> {
    tx.count(
        "SELECT count(*) FROM enis WHERE vswitch_id = $1",
        &[&vswitch.as_str()],
    )
}
