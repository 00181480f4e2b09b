//! ECS instances. A classic-network instance has neither VPC nor vSwitch (the schema refuses
//! one without the other); nothing references an instance, so deletes never conflict.

use super::{
    account_from_sql, account_to_sql, id_from_row, opt_id_from_row, tags_from_row, tags_to_sql,
    SqliteTx,
};
use crate::errors::{db_err, db_err_fk, fk};
use eni_store::{Instance, InstanceFilter, Position, StoreError, Window};
use eni_types::ids::{AccountId, InstanceId, VSwitchId};
use rusqlite::types::Value;
use rusqlite::{params, Row};

/// `SELECT` of every instance column, in the order [`instance_from_row`] reads them.
macro_rules! select_instance {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, region_id, zone_id, instance_type, vpc_id, vswitch_id, \
             status, due_at, name, host_name, description, image_id, resource_group_id, tags, \
             created_at, started_at FROM instances ",
            $rest
        )
    };
}

fn instance_from_row(r: &Row<'_>) -> rusqlite::Result<Instance> {
    Ok(Instance {
        id: id_from_row(r, 0)?,
        account_id: account_from_sql(r.get(1)?),
        region_id: r.get(2)?,
        zone_id: r.get(3)?,
        instance_type: r.get(4)?,
        vpc_id: opt_id_from_row(r, 5)?,
        vswitch_id: opt_id_from_row(r, 6)?,
        status: r.get(7)?,
        due_at: r.get(8)?,
        name: r.get(9)?,
        host_name: r.get(10)?,
        description: r.get(11)?,
        image_id: r.get(12)?,
        resource_group_id: id_from_row(r, 13)?,
        tags: tags_from_row(r, 14)?,
        created_at: r.get(15)?,
        started_at: r.get(16)?,
    })
}

pub(super) fn insert(tx: &SqliteTx<'_>, i: &Instance) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO instances (id, account_id, region_id, zone_id, instance_type, vpc_id,
             vswitch_id, status, due_at, name, host_name, description, image_id,
             resource_group_id, tags, created_at, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            i.id.as_str(),
            account_to_sql(i.account_id),
            i.region_id,
            i.zone_id,
            i.instance_type,
            i.vpc_id.as_ref().map(|v| v.as_str()),
            i.vswitch_id.as_ref().map(|v| v.as_str()),
            i.status,
            i.due_at,
            i.name,
            i.host_name,
            i.description,
            i.image_id,
            i.resource_group_id.as_str(),
            tags_to_sql(&i.tags)?,
            i.created_at,
            i.started_at
        ],
        db_err_fk(fk::INSTANCE_VSWITCH),
    )?;
    Ok(())
}

pub(super) fn get(
    tx: &SqliteTx<'_>,
    account: AccountId,
    id: &InstanceId,
) -> Result<Option<Instance>, StoreError> {
    tx.query_opt(
        select_instance!("WHERE account_id = ?1 AND id = ?2"),
        params![account_to_sql(account), id.as_str()],
        instance_from_row,
    )
}

pub(super) fn update(tx: &SqliteTx<'_>, i: &Instance) -> Result<(), StoreError> {
    let n = tx.exec(
        "UPDATE instances SET region_id = ?3, zone_id = ?4, instance_type = ?5, vpc_id = ?6,
             vswitch_id = ?7, status = ?8, due_at = ?9, name = ?10, host_name = ?11,
             description = ?12, image_id = ?13, resource_group_id = ?14, tags = ?15,
             created_at = ?16, started_at = ?17
         WHERE id = ?1 AND account_id = ?2",
        params![
            i.id.as_str(),
            account_to_sql(i.account_id),
            i.region_id,
            i.zone_id,
            i.instance_type,
            i.vpc_id.as_ref().map(|v| v.as_str()),
            i.vswitch_id.as_ref().map(|v| v.as_str()),
            i.status,
            i.due_at,
            i.name,
            i.host_name,
            i.description,
            i.image_id,
            i.resource_group_id.as_str(),
            tags_to_sql(&i.tags)?,
            i.created_at,
            i.started_at
        ],
        db_err_fk(fk::INSTANCE_VSWITCH),
    )?;
    if n == 0 {
        // As for eni_update: the trait has no "not found" for an update.
        return Err(StoreError::Backend(format!(
            "instance_update: no instance {} in account {}",
            i.id, i.account_id
        )));
    }
    Ok(())
}

pub(super) fn delete(
    tx: &SqliteTx<'_>,
    account: AccountId,
    id: &InstanceId,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM instances WHERE account_id = ?1 AND id = ?2",
        params![account_to_sql(account), id.as_str()],
        db_err,
    )?;
    Ok(n > 0)
}

pub(super) fn list(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(
        select_instance!("WHERE account_id = ?1 AND region_id = ?2 ORDER BY seq"),
        params![account_to_sql(account), region],
        instance_from_row,
    )
}

pub(super) fn list_all(tx: &SqliteTx<'_>) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(
        select_instance!("ORDER BY seq"),
        params![],
        instance_from_row,
    )
}

/// As for ENIs: the partial index instances_due_idx holds only instances in transition.
pub(crate) const DUE: &str =
    select_instance!("WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY seq LIMIT ?2");

pub(super) fn due(tx: &SqliteTx<'_>, now: i64, limit: u32) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(DUE, params![now, i64::from(limit)], instance_from_row)
}

pub(super) fn count_in_vswitch(tx: &SqliteTx<'_>, vswitch: &VSwitchId) -> Result<u64, StoreError> {
    tx.count(
        "SELECT count(*) FROM instances WHERE vswitch_id = ?1",
        [vswitch.as_str()],
    )
}

/// The statement of `instance_find` (without the window when `count`) and its arguments. The
/// account's instances in the region are few next to its ENIs (each takes a primary ENI and
/// at least a vCPU), so the filters are checked on the rows of the account index, or of the
/// ID index when IDs are given; the primary ENI's groups and addresses are index probes.
fn find_statement(
    account: AccountId,
    region: &str,
    f: &InstanceFilter,
    window: Option<Window>,
) -> Result<(String, Vec<(String, Value)>), StoreError> {
    let mut args: Vec<(String, Value)> = vec![
        (":account".into(), Value::Integer(account_to_sql(account))),
        (":region".into(), Value::Text(region.to_string())),
    ];
    let mut conds = vec![if f.ids.is_some() {
        "+i.account_id = :account AND +i.region_id = :region".to_string()
    } else {
        "i.account_id = :account AND i.region_id = :region".to_string()
    }];
    let mut text = |conds: &mut Vec<String>, clause: &str, name: &str, value: &str| {
        conds.push(clause.to_string());
        args.push((name.to_string(), Value::Text(value.to_string())));
    };
    if let Some(ids) = &f.ids {
        text(
            &mut conds,
            "i.id IN (SELECT value FROM json_each(:ids))",
            ":ids",
            &json(ids)?,
        );
    }
    if let Some(v) = &f.vpc_id {
        text(&mut conds, "i.vpc_id = :vpc", ":vpc", v.as_str());
    }
    if let Some(v) = &f.vswitch_id {
        text(
            &mut conds,
            "i.vswitch_id = :vswitch",
            ":vswitch",
            v.as_str(),
        );
    }
    if let Some(z) = &f.zone_id {
        text(&mut conds, "i.zone_id = :zone", ":zone", z);
    }
    if let Some(t) = &f.instance_type {
        text(&mut conds, "i.instance_type = :type", ":type", t);
    }
    if let Some(s) = &f.status {
        text(&mut conds, "i.status = :status", ":status", s);
    }
    if let Some(n) = &f.name {
        text(&mut conds, "i.name = :name", ":name", n);
    }
    if let Some(g) = &f.security_group_id {
        text(
            &mut conds,
            "EXISTS (SELECT 1 FROM enis e JOIN eni_security_groups g ON g.eni_id = e.id \
             WHERE e.instance_id = i.id AND e.eni_type = 'Primary' AND g.security_group_id = :group)",
            ":group",
            g.as_str(),
        );
    }
    if let Some(ips) = &f.private_ips {
        text(
            &mut conds,
            "EXISTS (SELECT 1 FROM enis e JOIN private_ips p ON p.owner = e.id \
             WHERE e.instance_id = i.id AND e.eni_type = 'Primary' AND p.kind <> 'prefix' \
             AND p.ip IN (SELECT value FROM json_each(:ips)))",
            ":ips",
            &json(ips)?,
        );
    }
    for (n, (key, value)) in f.tags.iter().enumerate() {
        let mut clause = format!(
            "EXISTS (SELECT 1 FROM json_each(i.tags) t WHERE json_extract(t.value, '$[0]') = :tag_key_{n}"
        );
        args.push((format!(":tag_key_{n}"), Value::Text(key.clone())));
        if let Some(v) = value {
            clause.push_str(&format!(
                " AND json_extract(t.value, '$[1]') = :tag_value_{n}"
            ));
            args.push((format!(":tag_value_{n}"), Value::Text(v.clone())));
        }
        clause.push(')');
        conds.push(clause);
    }
    let sql = match window {
        None => format!(
            "SELECT count(*) FROM instances i WHERE {}",
            conds.join(" AND ")
        ),
        Some(w) => {
            if let Some(after) = w.after {
                conds.push("i.seq > :after".into());
                args.push((":after".into(), Value::Integer(after.0)));
            }
            args.push((
                ":limit".into(),
                Value::Integer(w.limit.min(i64::MAX as u64) as i64),
            ));
            args.push((
                ":offset".into(),
                Value::Integer(w.offset.min(i64::MAX as u64) as i64),
            ));
            format!(
                "SELECT i.id, i.account_id, i.region_id, i.zone_id, i.instance_type, i.vpc_id, \
                 i.vswitch_id, i.status, i.due_at, i.name, i.host_name, i.description, \
                 i.image_id, i.resource_group_id, i.tags, i.created_at, i.started_at, i.seq \
                 FROM instances i WHERE {} ORDER BY i.seq LIMIT :limit OFFSET :offset",
                conds.join(" AND ")
            )
        }
    };
    Ok((sql, args))
}

/// JSON text of a list argument.
fn json(list: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(list)
        .map_err(|e| StoreError::Backend(format!("encoding a filter list: {e}")))
}

fn named(args: &[(String, Value)]) -> Vec<(&str, &dyn rusqlite::ToSql)> {
    args.iter()
        .map(|(n, v)| (n.as_str(), v as &dyn rusqlite::ToSql))
        .collect()
}

pub(super) fn find(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &InstanceFilter,
    window: Window,
) -> Result<Vec<(Position, Instance)>, StoreError> {
    let (sql, args) = find_statement(account, region, f, Some(window))?;
    tx.query_all(&sql, named(&args).as_slice(), |r| {
        Ok((Position(r.get(17)?), instance_from_row(r)?))
    })
}

pub(super) fn find_count(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &InstanceFilter,
) -> Result<u64, StoreError> {
    let (sql, args) = find_statement(account, region, f, None)?;
    tx.count(&sql, named(&args).as_slice())
}
