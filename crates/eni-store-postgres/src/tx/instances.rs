//! ECS instances. Port of the SQLite backend's `tx/instances.rs`. A classic-network instance
//! has neither VPC nor vSwitch (the schema refuses one without the other); nothing references
//! an instance, so deletes never conflict. `enis_of_instances` reads ENIs with a private copy
//! of the ENI row reader (`enis.rs` is ported separately).

use super::find::{Find, Value};
use super::{
    account_from, account_to_sql, get, id_from, opt_id_from, tags_from, tags_to_sql, u32_from, PgTx,
};
use eni_store::{Eni, Instance, InstanceFilter, Position, StoreError, Window};
use eni_types::ids::{AccountId, InstanceId, SecurityGroupId, VSwitchId};
use postgres::Row;

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

fn instance_from_row(r: &Row) -> Result<Instance, StoreError> {
    Ok(Instance {
        id: id_from(r, 0)?,
        account_id: account_from(r, 1)?,
        region_id: get(r, 2)?,
        zone_id: get(r, 3)?,
        instance_type: get(r, 4)?,
        vpc_id: opt_id_from(r, 5)?,
        vswitch_id: opt_id_from(r, 6)?,
        status: get(r, 7)?,
        due_at: get(r, 8)?,
        name: get(r, 9)?,
        host_name: get(r, 10)?,
        description: get(r, 11)?,
        image_id: get(r, 12)?,
        resource_group_id: id_from(r, 13)?,
        tags: tags_from(r, 14)?,
        created_at: get(r, 15)?,
        started_at: get(r, 16)?,
    })
}

/// Writes every column of `i`: `sql` names them `$1` (id) .. `$17` (started_at) in
/// [`select_instance`]'s order. A missing vSwitch is instance_vswitch_fk, named by
/// PostgreSQL.
fn write(tx: &mut PgTx<'_>, sql: &str, i: &Instance) -> Result<u64, StoreError> {
    tx.exec(
        sql,
        &[
            &i.id.as_str(),
            &account_to_sql(i.account_id),
            &i.region_id,
            &i.zone_id,
            &i.instance_type,
            &i.vpc_id.as_ref().map(|v| v.as_str()),
            &i.vswitch_id.as_ref().map(|v| v.as_str()),
            &i.status,
            &i.due_at,
            &i.name,
            &i.host_name,
            &i.description,
            &i.image_id,
            &i.resource_group_id.as_str(),
            &tags_to_sql(&i.tags)?,
            &i.created_at,
            &i.started_at,
        ],
    )
}

pub(crate) fn instance_insert(tx: &mut PgTx<'_>, instance: &Instance) -> Result<(), StoreError> {
    write(
        tx,
        "INSERT INTO instances (id, account_id, region_id, zone_id, instance_type, vpc_id,
             vswitch_id, status, due_at, name, host_name, description, image_id,
             resource_group_id, tags, created_at, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        instance,
    )?;
    Ok(())
}

pub(crate) fn instance_get(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &InstanceId,
) -> Result<Option<Instance>, StoreError> {
    tx.query_opt(
        select_instance!("WHERE account_id = $1 AND id = $2"),
        &[&account_to_sql(account), &id.as_str()],
        instance_from_row,
    )
}

pub(crate) fn instance_update(tx: &mut PgTx<'_>, instance: &Instance) -> Result<(), StoreError> {
    let n = write(
        tx,
        "UPDATE instances SET region_id = $3, zone_id = $4, instance_type = $5, vpc_id = $6,
             vswitch_id = $7, status = $8, due_at = $9, name = $10, host_name = $11,
             description = $12, image_id = $13, resource_group_id = $14, tags = $15,
             created_at = $16, started_at = $17
         WHERE id = $1 AND account_id = $2",
        instance,
    )?;
    if n == 0 {
        // As for eni_update: the trait has no "not found" for an update.
        return Err(StoreError::Backend(format!(
            "instance_update: no instance {} in account {}",
            instance.id, instance.account_id
        )));
    }
    Ok(())
}

pub(crate) fn instance_delete(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &InstanceId,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM instances WHERE account_id = $1 AND id = $2",
        &[&account_to_sql(account), &id.as_str()],
    )?;
    Ok(n > 0)
}

pub(crate) fn instance_list(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(
        select_instance!("WHERE account_id = $1 AND region_id = $2 ORDER BY seq"),
        &[&account_to_sql(account), &region],
        instance_from_row,
    )
}

/// As for ENIs: the partial index instances_due_idx holds only instances in transition.
const DUE: &str =
    select_instance!("WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY seq LIMIT $2");

pub(crate) fn instance_due(
    tx: &mut PgTx<'_>,
    now: i64,
    limit: u32,
) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(DUE, &[&now, &i64::from(limit)], instance_from_row)
}

pub(crate) fn instance_count_in_vswitch(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<u64, StoreError> {
    tx.count(
        "SELECT count(*) FROM instances WHERE vswitch_id = $1",
        &[&vswitch.as_str()],
    )
}

pub(crate) fn instance_list_all(tx: &mut PgTx<'_>) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(select_instance!("ORDER BY seq"), &[], instance_from_row)
}

/// The columns of [`instance_from_row`] over alias `t`.
const COLUMNS: &str = "t.id, t.account_id, t.region_id, t.zone_id, t.instance_type, t.vpc_id, \
     t.vswitch_id, t.status, t.due_at, t.name, t.host_name, t.description, t.image_id, \
     t.resource_group_id, t.tags, t.created_at, t.started_at";

/// `instance_find`'s conditions. The primary ENI's groups and addresses are index probes.
fn find(account: AccountId, region: &str, f: &InstanceFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("instances", account, region);
    q.one_of("id", f.ids.as_deref())?;
    q.eq("vpc_id", f.vpc_id.as_ref().map(|v| v.as_str()));
    q.eq("vswitch_id", f.vswitch_id.as_ref().map(|v| v.as_str()));
    q.eq("zone_id", f.zone_id.as_deref());
    q.eq("instance_type", f.instance_type.as_deref());
    q.eq("status", f.status.as_deref());
    q.eq("name", f.name.as_deref());
    if let Some(g) = &f.security_group_id {
        q.cond(
            "EXISTS (SELECT 1 FROM enis e JOIN eni_security_groups g ON g.eni_id = e.id \
             WHERE e.instance_id = t.id AND e.eni_type = 'Primary' AND g.security_group_id = {})",
            Value::Text(g.to_string()),
        );
    }
    if let Some(ips) = &f.private_ips {
        let list = serde_json::to_string(ips)
            .map_err(|e| StoreError::Backend(format!("encoding addresses: {e}")))?;
        q.cond(
            "EXISTS (SELECT 1 FROM enis e JOIN private_ips p ON p.owner = e.id \
             WHERE e.instance_id = t.id AND e.eni_type = 'Primary' AND p.kind <> 'prefix' \
             AND p.ip IN (SELECT x::bigint FROM jsonb_array_elements_text({}::text::jsonb) AS x))",
            Value::Text(list),
        );
    }
    q.tags(&f.tags);
    Ok(q)
}

pub(crate) fn instance_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &InstanceFilter,
    window: Window,
) -> Result<Vec<(Position, Instance)>, StoreError> {
    find(account, region, filter)?.rows(tx, COLUMNS, window, instance_from_row)
}

pub(crate) fn instance_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &InstanceFilter,
) -> Result<u64, StoreError> {
    find(account, region, filter)?.count(tx)
}

/// `SELECT` of every ENI column and its groups in order, as [`eni_from_row`] reads them (a
/// private copy of `enis.rs`'s).
macro_rules! select_eni {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, region_id, zone_id, vpc_id, vswitch_id, eni_type, status, \
             due_at, instance_id, device_index, mac, primary_ip, name, description, \
             ARRAY(SELECT security_group_id FROM eni_security_groups \
                   WHERE eni_id = enis.id ORDER BY position), \
             delete_on_release, source_dest_check, queue_number, traffic_mode, \
             resource_group_id, tags, created_at \
             FROM enis ",
            $rest
        )
    };
}

fn eni_from_row(r: &Row) -> Result<Eni, StoreError> {
    let device_index: Option<i64> = get(r, 10)?;
    let groups: Vec<String> = get(r, 15)?;
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
        device_index: device_index
            .map(|v| {
                u32::try_from(v)
                    .map_err(|_| StoreError::Backend(format!("column 10: {v} is not a u32")))
            })
            .transpose()?,
        mac: get(r, 11)?,
        primary_ip: u32_from(r, 12)?,
        name: get(r, 13)?,
        description: get(r, 14)?,
        security_group_ids: groups
            .iter()
            .map(|g| {
                g.parse::<SecurityGroupId>()
                    .map_err(|e| StoreError::Backend(format!("column 15: {g:?}: {e}")))
            })
            .collect::<Result<_, _>>()?,
        delete_on_release: get(r, 16)?,
        source_dest_check: get(r, 17)?,
        queue_number: u32_from(r, 18)?,
        traffic_mode: get(r, 19)?,
        resource_group_id: id_from(r, 20)?,
        tags: tags_from(r, 21)?,
        created_at: get(r, 22)?,
    })
}

pub(crate) fn enis_of_instances(
    tx: &mut PgTx<'_>,
    instances: &[InstanceId],
) -> Result<Vec<Eni>, StoreError> {
    let ids = serde_json::to_string(instances)
        .map_err(|e| StoreError::Backend(format!("encoding instance IDs: {e}")))?;
    tx.query_all(
        select_eni!(
            "WHERE instance_id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) \
             ORDER BY seq"
        ),
        &[&ids],
        eni_from_row,
    )
}
