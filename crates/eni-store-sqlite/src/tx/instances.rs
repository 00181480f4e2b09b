//! ECS instances. A classic-network instance has neither VPC nor vSwitch (the schema refuses
//! one without the other); nothing references an instance, so deletes never conflict.

use super::find::Find;
use super::{
    account_from_sql, account_to_sql, id_from_row, opt_id_from_row, tags_from_row, tags_to_sql,
    SqliteTx,
};
use crate::errors::{db_err, db_err_fk, fk};
use eni_store::{
    Host, Instance, InstanceFilter, Labels, MetadataOptions, Position, StoreError, Window,
};
use eni_types::ids::{AccountId, HostId, InstanceId, VSwitchId};
use rusqlite::types::Value;
use rusqlite::{params, Row};

/// `SELECT` of every instance column, in the order [`instance_from_row`] reads them.
macro_rules! select_instance {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, region_id, zone_id, instance_type, vpc_id, vswitch_id, \
             status, due_at, name, host_name, description, image_id, resource_group_id, tags, \
             created_at, started_at, host_id, tenancy, host_vcpus, user_data, \
             system_disk_category, system_disk_size, system_disk_name, system_disk_description, \
             system_disk_tags, metadata_http_endpoint, metadata_http_tokens, metadata_hop_limit \
             FROM instances ",
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
        host_id: opt_id_from_row(r, 17)?,
        tenancy: r.get(18)?,
        host_vcpus: r.get(19)?,
        user_data: r.get(20)?,
        system_disk_category: r.get(21)?,
        system_disk_size: r.get(22)?,
        system_disk: Labels {
            name: r.get(23)?,
            description: r.get(24)?,
            tags: tags_from_row(r, 25)?,
        },
        metadata: MetadataOptions {
            http_endpoint: r.get(26)?,
            http_tokens: r.get(27)?,
            hop_limit: r.get(28)?,
        },
    })
}

/// Writes every column of `i`: `sql` names them `?1` (id) .. `?29` (metadata_hop_limit) in
/// [`select_instance`]'s order; how many rows it changed.
fn write(tx: &SqliteTx<'_>, sql: &str, i: &Instance) -> Result<usize, StoreError> {
    tx.exec(
        sql,
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
            i.started_at,
            i.host_id.as_ref().map(|h| h.as_str()),
            i.tenancy,
            i.host_vcpus,
            i.user_data,
            i.system_disk_category,
            i.system_disk_size,
            i.system_disk.name,
            i.system_disk.description,
            tags_to_sql(&i.system_disk.tags)?,
            i.metadata.http_endpoint,
            i.metadata.http_tokens,
            i.metadata.hop_limit
        ],
        db_err_fk(fk::INSTANCE_VSWITCH),
    )
}

pub(super) fn insert(tx: &SqliteTx<'_>, i: &Instance) -> Result<(), StoreError> {
    write(
        tx,
        "INSERT INTO instances (id, account_id, region_id, zone_id, instance_type, vpc_id,
             vswitch_id, status, due_at, name, host_name, description, image_id,
             resource_group_id, tags, created_at, started_at, host_id, tenancy, host_vcpus,
             user_data, system_disk_category, system_disk_size, system_disk_name,
             system_disk_description, system_disk_tags, metadata_http_endpoint,
             metadata_http_tokens, metadata_hop_limit)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)",
        i,
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
    let n = write(
        tx,
        "UPDATE instances SET region_id = ?3, zone_id = ?4, instance_type = ?5, vpc_id = ?6,
             vswitch_id = ?7, status = ?8, due_at = ?9, name = ?10, host_name = ?11,
             description = ?12, image_id = ?13, resource_group_id = ?14, tags = ?15,
             created_at = ?16, started_at = ?17, host_id = ?18, tenancy = ?19,
             host_vcpus = ?20, user_data = ?21, system_disk_category = ?22,
             system_disk_size = ?23, system_disk_name = ?24, system_disk_description = ?25,
             system_disk_tags = ?26, metadata_http_endpoint = ?27, metadata_http_tokens = ?28,
             metadata_hop_limit = ?29
         WHERE id = ?1 AND account_id = ?2",
        i,
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

pub(super) fn on_host(tx: &SqliteTx<'_>, host: &HostId) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(
        select_instance!("WHERE host_id = ?1 ORDER BY seq"),
        [host.as_str()],
        instance_from_row,
    )
}

/// One probe of the ID's unique index per ID.
pub(super) fn by_ids(tx: &SqliteTx<'_>, ids: &[InstanceId]) -> Result<Vec<Instance>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = super::find::json(ids)?;
    tx.query_all(
        select_instance!("WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY seq"),
        [ids],
        instance_from_row,
    )
}

/// The partial index instances_unplaced_idx holds only instances with no host, in seq order.
pub(super) fn unplaced(tx: &SqliteTx<'_>) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(
        select_instance!("WHERE host_id IS NULL ORDER BY seq"),
        [],
        instance_from_row,
    )
}

// ---- hosts ----

fn host_from_row(r: &Row<'_>) -> rusqlite::Result<Host> {
    Ok(Host {
        id: id_from_row(r, 0)?,
        seq: r.get(8)?,
        name: r.get(1)?,
        zone_id: r.get(2)?,
        underlay_address: r.get(3)?,
        capacity_vcpus: r.get(4)?,
        last_seen_at: r.get(5)?,
        created_at: r.get(6)?,
        used_vcpus: r.get(7)?,
    })
}

/// `SELECT` of every host column, in the order [`host_from_row`] reads them.
macro_rules! select_host {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, zone_id, underlay_address, capacity_vcpus, last_seen_at, \
             created_at, used_vcpus, seq FROM hosts ",
            $rest
        )
    };
}

pub(super) fn host_insert(tx: &SqliteTx<'_>, h: &Host) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO hosts (id, name, zone_id, underlay_address, capacity_vcpus, last_seen_at,
             created_at, used_vcpus)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            h.id.as_str(),
            h.name,
            h.zone_id,
            h.underlay_address,
            h.capacity_vcpus,
            h.last_seen_at,
            h.created_at,
            i64::try_from(h.used_vcpus).unwrap_or(i64::MAX)
        ],
        db_err,
    )?;
    Ok(())
}

pub(super) fn host_update(tx: &SqliteTx<'_>, h: &Host) -> Result<(), StoreError> {
    let n = tx.exec(
        "UPDATE hosts SET underlay_address = ?2, capacity_vcpus = ?3, last_seen_at = ?4
         WHERE id = ?1",
        params![
            h.id.as_str(),
            h.underlay_address,
            h.capacity_vcpus,
            h.last_seen_at
        ],
        db_err,
    )?;
    if n == 0 {
        return Err(StoreError::Backend(format!(
            "host_update: no host {}",
            h.id
        )));
    }
    Ok(())
}

pub(super) fn host_use(tx: &SqliteTx<'_>, id: &HostId, vcpus: i64) -> Result<(), StoreError> {
    tx.exec(
        "UPDATE hosts SET used_vcpus = max(0, used_vcpus + ?2) WHERE id = ?1",
        params![id.as_str(), vcpus],
        db_err,
    )?;
    Ok(())
}

pub(super) fn host_delete(tx: &SqliteTx<'_>, id: &HostId) -> Result<bool, StoreError> {
    let n = tx.exec("DELETE FROM hosts WHERE id = ?1", [id.as_str()], db_err)?;
    Ok(n > 0)
}

pub(super) fn host_seen(tx: &SqliteTx<'_>, name: &str, now: i64) -> Result<u64, StoreError> {
    let n = tx.exec(
        "UPDATE hosts SET last_seen_at = max(last_seen_at, ?2) WHERE name = ?1",
        params![name, now],
        db_err,
    )?;
    Ok(n as u64)
}

pub(super) fn host_get(tx: &SqliteTx<'_>, id: &HostId) -> Result<Option<Host>, StoreError> {
    tx.query_opt(select_host!("WHERE id = ?1"), [id.as_str()], host_from_row)
}

pub(super) fn host_by_name(
    tx: &SqliteTx<'_>,
    name: &str,
    zone: &str,
) -> Result<Option<Host>, StoreError> {
    tx.query_opt(
        select_host!("WHERE name = ?1 AND zone_id = ?2"),
        [name, zone],
        host_from_row,
    )
}

pub(super) fn host_list(tx: &SqliteTx<'_>) -> Result<Vec<Host>, StoreError> {
    tx.query_all(select_host!("ORDER BY seq"), params![], host_from_row)
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

/// The columns of [`instance_from_row`] over alias `t`.
const COLUMNS: &str = "t.id, t.account_id, t.region_id, t.zone_id, t.instance_type, t.vpc_id, \
     t.vswitch_id, t.status, t.due_at, t.name, t.host_name, t.description, t.image_id, \
     t.resource_group_id, t.tags, t.created_at, t.started_at, t.host_id, t.tenancy, t.host_vcpus, \
     t.user_data, t.system_disk_category, t.system_disk_size, t.system_disk_name, \
     t.system_disk_description, t.system_disk_tags, t.metadata_http_endpoint, \
     t.metadata_http_tokens, t.metadata_hop_limit";

/// `instance_find`'s conditions. The primary ENI's groups and addresses are index probes.
fn find(account: AccountId, region: &str, f: &InstanceFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("instances", account, region, f.ids.is_some());
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
             AND p.ip IN (SELECT value FROM json_each({})))",
            Value::Text(list),
        );
    }
    q.tags(&f.tags);
    Ok(q)
}

pub(super) fn find_rows(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &InstanceFilter,
    window: Window,
) -> Result<Vec<(Position, Instance)>, StoreError> {
    find(account, region, f)?.rows(tx, COLUMNS, window, instance_from_row)
}

pub(super) fn find_count(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &InstanceFilter,
) -> Result<u64, StoreError> {
    find(account, region, f)?.count(tx)
}
