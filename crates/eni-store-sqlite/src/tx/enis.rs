//! ENIs and their ordered security-group memberships (`eni_security_groups`, one row per
//! group, by `position`). An ENI and its memberships are written together: an update inside
//! a savepoint, an insert without one (a savepoint copies every page the statements touch,
//! on the create path), deleting the new row again if a membership is refused, so a refused
//! write leaves no half-written ENI behind either way; they are read
//! together too, the memberships folded into a JSON array by a correlated subquery, so a list
//! is one statement however many ENIs it returns.

use super::{
    account_from_sql, account_to_sql, corrupt, id_from_row, opt_id_from_row, tags_from_row,
    tags_to_sql, SqliteTx,
};
use crate::errors::{db_err, db_err_fk, fk};
use eni_store::constraints::ENI_SECURITY_GROUP_FK;
use eni_store::{Eni, EniQuery, StoreError};
use eni_types::ids::{AccountId, EniId, InstanceId, SecurityGroupId, VSwitchId};
use rusqlite::types::Value;
use rusqlite::{params, Row, ToSql};

/// `SELECT` of every ENI column and its groups in order, as [`eni_from_row`] reads them.
macro_rules! select_eni {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, region_id, zone_id, vpc_id, vswitch_id, eni_type, status, \
             due_at, instance_id, device_index, mac, primary_ip, name, description, \
             (SELECT json_group_array(security_group_id ORDER BY position) \
              FROM eni_security_groups WHERE eni_id = enis.id), \
             delete_on_release, source_dest_check, queue_number, traffic_mode, \
             resource_group_id, tags, created_at \
             FROM enis ",
            $rest
        )
    };
}

pub(crate) fn eni_from_row(r: &Row<'_>) -> rusqlite::Result<Eni> {
    Ok(Eni {
        id: id_from_row(r, 0)?,
        account_id: account_from_sql(r.get(1)?),
        region_id: r.get(2)?,
        zone_id: r.get(3)?,
        vpc_id: id_from_row(r, 4)?,
        vswitch_id: id_from_row(r, 5)?,
        eni_type: r.get(6)?,
        status: r.get(7)?,
        due_at: r.get(8)?,
        instance_id: opt_id_from_row(r, 9)?,
        device_index: r.get(10)?,
        mac: r.get(11)?,
        primary_ip: r.get(12)?,
        name: r.get(13)?,
        description: r.get(14)?,
        security_group_ids: group_ids_from_row(r, 15)?,
        delete_on_release: r.get(16)?,
        source_dest_check: r.get(17)?,
        queue_number: r.get(18)?,
        traffic_mode: r.get(19)?,
        resource_group_id: id_from_row(r, 20)?,
        tags: tags_from_row(r, 21)?,
        created_at: r.get(22)?,
    })
}

fn group_ids_from_row(r: &Row<'_>, i: usize) -> rusqlite::Result<Vec<SecurityGroupId>> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| corrupt(i, format!("security groups {text}: {e}")))
}

pub(super) fn insert(tx: &SqliteTx<'_>, eni: &Eni) -> Result<(), StoreError> {
    let tags = tags_to_sql(&eni.tags)?;
    // The row first: a refused row (a taken MAC, a missing vSwitch) is one failed statement
    // and changed nothing.
    tx.exec(
        "INSERT INTO enis (id, account_id, region_id, zone_id, vpc_id, vswitch_id, eni_type,
                 status, due_at, instance_id, device_index, mac, primary_ip, name, description,
                 delete_on_release, source_dest_check, queue_number, traffic_mode,
                 resource_group_id, tags, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22)",
        params![
            eni.id.as_str(),
            account_to_sql(eni.account_id),
            eni.region_id,
            eni.zone_id,
            eni.vpc_id.as_str(),
            eni.vswitch_id.as_str(),
            eni.eni_type,
            eni.status,
            eni.due_at,
            eni.instance_id.as_ref().map(|i| i.as_str()),
            eni.device_index.map(i64::from),
            eni.mac,
            i64::from(eni.primary_ip),
            eni.name,
            eni.description,
            eni.delete_on_release,
            eni.source_dest_check,
            i64::from(eni.queue_number),
            eni.traffic_mode,
            eni.resource_group_id.as_str(),
            tags,
            eni.created_at
        ],
        db_err_fk(fk::ENI_VSWITCH),
    )?;
    if let Err(refused) = insert_memberships(tx, &eni.id, &eni.security_group_ids) {
        // Undo the row: the memberships written so far go with it (cascade), and its
        // triggers undo theirs (tags, counts). Only the data-plane generation keeps the
        // bumps, which a number that must merely grow allows.
        tx.exec("DELETE FROM enis WHERE id = ?1", [eni.id.as_str()], db_err)?;
        return Err(refused);
    }
    Ok(())
}

fn insert_memberships(
    tx: &SqliteTx<'_>,
    eni: &EniId,
    groups: &[SecurityGroupId],
) -> Result<(), StoreError> {
    for (position, group) in (0i64..).zip(groups) {
        // The ENI's seq orders a group's members; a primary ENI is not counted under its
        // groups (0012); its vSwitch lets a group list its members per vSwitch (0013).
        tx.exec(
            "INSERT INTO eni_security_groups
                 (eni_id, position, security_group_id, eni_seq, counted, vswitch_id)
             SELECT ?1, ?2, ?3, seq, eni_type <> 'Primary', vswitch_id FROM enis WHERE id = ?1",
            params![eni.as_str(), position, group.as_str()],
            // The ENI row exists (it was just written or updated), so only the group's key
            // can fail.
            db_err_fk(ENI_SECURITY_GROUP_FK),
        )?;
    }
    Ok(())
}

pub(super) fn get(
    tx: &SqliteTx<'_>,
    account: AccountId,
    id: &EniId,
) -> Result<Option<Eni>, StoreError> {
    tx.query_opt(
        select_eni!("WHERE account_id = ?1 AND id = ?2"),
        params![account_to_sql(account), id.as_str()],
        eni_from_row,
    )
}

pub(super) fn update(tx: &SqliteTx<'_>, eni: &Eni) -> Result<(), StoreError> {
    let tags = tags_to_sql(&eni.tags)?;
    tx.atomically(|tx| {
        let n = tx.exec(
            "UPDATE enis SET region_id = ?3, zone_id = ?4, vpc_id = ?5, vswitch_id = ?6,
                 eni_type = ?7, status = ?8, due_at = ?9, instance_id = ?10, device_index = ?11,
                 mac = ?12, primary_ip = ?13, name = ?14, description = ?15,
                 delete_on_release = ?16, source_dest_check = ?17, queue_number = ?18,
                 traffic_mode = ?19, resource_group_id = ?20, tags = ?21, created_at = ?22
             WHERE id = ?1 AND account_id = ?2",
            params![
                eni.id.as_str(),
                account_to_sql(eni.account_id),
                eni.region_id,
                eni.zone_id,
                eni.vpc_id.as_str(),
                eni.vswitch_id.as_str(),
                eni.eni_type,
                eni.status,
                eni.due_at,
                eni.instance_id.as_ref().map(|i| i.as_str()),
                eni.device_index.map(i64::from),
                eni.mac,
                i64::from(eni.primary_ip),
                eni.name,
                eni.description,
                eni.delete_on_release,
                eni.source_dest_check,
                i64::from(eni.queue_number),
                eni.traffic_mode,
                eni.resource_group_id.as_str(),
                tags,
                eni.created_at
            ],
            db_err_fk(fk::ENI_VSWITCH),
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
             WHERE eni_id = ?1 ORDER BY position",
            [eni.id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
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
            "DELETE FROM eni_security_groups WHERE eni_id = ?1",
            [eni.id.as_str()],
            db_err,
        )?;
        insert_memberships(tx, &eni.id, &eni.security_group_ids)
    })
}

pub(super) fn delete(
    tx: &SqliteTx<'_>,
    account: AccountId,
    id: &EniId,
) -> Result<bool, StoreError> {
    // Memberships go with the ENI (ON DELETE CASCADE); nothing else references it.
    let n = tx.exec(
        "DELETE FROM enis WHERE account_id = ?1 AND id = ?2",
        params![account_to_sql(account), id.as_str()],
        db_err,
    )?;
    Ok(n > 0)
}

pub(super) fn list(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    query: &EniQuery,
) -> Result<Vec<Eni>, StoreError> {
    let (sql, args) = list_statement(account, region, query)?;
    let args: Vec<(&str, &dyn ToSql)> = args.iter().map(|(n, v)| (*n, v as &dyn ToSql)).collect();
    tx.query_all(&sql, args.as_slice(), eni_from_row)
}

pub(super) fn of_instances(
    tx: &SqliteTx<'_>,
    instances: &[InstanceId],
) -> Result<Vec<Eni>, StoreError> {
    let ids = serde_json::to_string(instances)
        .map_err(|e| StoreError::Backend(format!("encoding instance IDs: {e}")))?;
    tx.query_all(
        select_eni!("WHERE instance_id IN (SELECT value FROM json_each(?1)) ORDER BY seq"),
        [ids],
        eni_from_row,
    )
}

pub(super) fn list_all(tx: &SqliteTx<'_>) -> Result<Vec<Eni>, StoreError> {
    tx.query_all(select_eni!("ORDER BY seq"), [], eni_from_row)
}

/// Named arguments of a statement.
pub(crate) type NamedArgs = Vec<(&'static str, Value)>;

/// The SQL of one `eni_list` and its named arguments. Only the filters given become SQL, so
/// each shape of query gets a plan of its own (and a cached statement: there are 32 shapes at
/// most).
pub(crate) fn list_statement(
    account: AccountId,
    region: &str,
    query: &EniQuery,
) -> Result<(String, NamedArgs), StoreError> {
    // Without statistics SQLite prefers the two equalities of the account index even when a
    // far narrower index applies (an ID list, an instance, a vSwitch), and would walk all of
    // the account's ENIs. A unary + keeps a term out of index selection, so the account and
    // region are then merely checked on the few rows the narrower index finds. A VPC is never
    // wider than its account (the data plane lists one VPC's ENIs of an account of many VPCs).
    let narrower = query.ids.is_some()
        || query.instance_id.is_some()
        || query.vswitch_id.is_some()
        || query.vpc_id.is_some();
    let mut sql = String::from(if narrower {
        select_eni!("WHERE +account_id = :account AND +region_id = :region")
    } else {
        select_eni!("WHERE account_id = :account AND region_id = :region")
    });
    let mut args = vec![
        (":account", Value::Integer(account_to_sql(account))),
        (":region", Value::Text(region.to_string())),
    ];
    let mut filter = |clause: &str, name: &'static str, value: String| {
        sql.push_str(" AND ");
        sql.push_str(clause);
        args.push((name, Value::Text(value)));
    };
    if let Some(ids) = &query.ids {
        // The IDs travel as one JSON array; an empty one matches nothing.
        let ids = serde_json::to_string(ids)
            .map_err(|e| StoreError::Backend(format!("encoding ENI IDs: {e}")))?;
        filter("id IN (SELECT value FROM json_each(:ids))", ":ids", ids);
    }
    if let Some(instance) = &query.instance_id {
        filter("instance_id = :instance", ":instance", instance.to_string());
    }
    if let Some(vpc) = &query.vpc_id {
        filter("vpc_id = :vpc", ":vpc", vpc.to_string());
    }
    if let Some(vswitch) = &query.vswitch_id {
        filter("vswitch_id = :vswitch", ":vswitch", vswitch.to_string());
    }
    if let Some(eni_type) = &query.eni_type {
        filter("eni_type = :eni_type", ":eni_type", eni_type.clone());
    }
    sql.push_str(" ORDER BY seq");
    Ok((sql, args))
}

pub(super) fn count(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    eni_type: &str,
) -> Result<u64, StoreError> {
    tx.resource_count(account, region, &format!("eni:{eni_type}"))
}

/// `due_at IS NOT NULL` matches the partial index enis_due_idx, so only ENIs in transition
/// are looked at; the few that are due are then sorted by age.
pub(crate) const DUE: &str =
    select_eni!("WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY seq LIMIT ?2");

pub(super) fn due(tx: &SqliteTx<'_>, now: i64, limit: u32) -> Result<Vec<Eni>, StoreError> {
    tx.query_all(DUE, params![now, i64::from(limit)], eni_from_row)
}

pub(super) fn count_in_vswitch(tx: &SqliteTx<'_>, vswitch: &VSwitchId) -> Result<u64, StoreError> {
    tx.count(
        "SELECT count(*) FROM enis WHERE vswitch_id = ?1",
        [vswitch.as_str()],
    )
}
