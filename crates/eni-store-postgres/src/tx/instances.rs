//! ECS instances, and the data-plane hosts they are placed on. Port of the SQLite backend's
//! `tx/instances.rs`. A classic-network instance has neither VPC nor vSwitch (the schema
//! refuses one without the other); nothing references an instance, so deletes never conflict.
//! `enis_of_instances` reads ENIs with `enis.rs`'s row reader.

use super::enis::{eni_from_row, ENI_COLUMNS};
use super::find::{Find, Value};
use super::{
    account_from, account_to_sql, count_from_sql, get, id_from, opt_id_from, tags_from,
    tags_to_sql, u32_from, PgTx,
};
use eni_store::{
    Eni, Host, Instance, InstanceFilter, Labels, MetadataOptions, Position, StoreError, Window,
};
use eni_types::ids::{AccountId, HostId, InstanceId, VSwitchId};
use postgres::Row;

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
        host_id: opt_id_from(r, 17)?,
        tenancy: get(r, 18)?,
        host_vcpus: u32_from(r, 19)?,
        user_data: get(r, 20)?,
        system_disk_category: get(r, 21)?,
        system_disk_size: u32_from(r, 22)?,
        system_disk: Labels {
            name: get(r, 23)?,
            description: get(r, 24)?,
            tags: tags_from(r, 25)?,
        },
        metadata: MetadataOptions {
            http_endpoint: get(r, 26)?,
            http_tokens: get(r, 27)?,
            hop_limit: u32_from(r, 28)?,
        },
    })
}

/// Writes every column of `i`: `sql` names them `$1` (id) .. `$29` (metadata_hop_limit) in
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
            &i.host_id.as_ref().map(|h| h.as_str()),
            &i.tenancy,
            &i64::from(i.host_vcpus),
            &i.user_data,
            &i.system_disk_category,
            &i64::from(i.system_disk_size),
            &i.system_disk.name,
            &i.system_disk.description,
            &tags_to_sql(&i.system_disk.tags)?,
            &i.metadata.http_endpoint,
            &i.metadata.http_tokens,
            &i64::from(i.metadata.hop_limit),
        ],
    )
}

pub(crate) fn instance_insert(tx: &mut PgTx<'_>, instance: &Instance) -> Result<(), StoreError> {
    write(
        tx,
        "INSERT INTO instances (id, account_id, region_id, zone_id, instance_type, vpc_id,
             vswitch_id, status, due_at, name, host_name, description, image_id,
             resource_group_id, tags, created_at, started_at, host_id, tenancy, host_vcpus,
             user_data, system_disk_category, system_disk_size, system_disk_name,
             system_disk_description, system_disk_tags, metadata_http_endpoint,
             metadata_http_tokens, metadata_hop_limit)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
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
             created_at = $16, started_at = $17, host_id = $18, tenancy = $19,
             host_vcpus = $20, user_data = $21, system_disk_category = $22,
             system_disk_size = $23, system_disk_name = $24, system_disk_description = $25,
             system_disk_tags = $26, metadata_http_endpoint = $27, metadata_http_tokens = $28,
             metadata_hop_limit = $29
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

/// The partial index instances_host_idx holds only placed instances, in seq order.
pub(crate) fn instances_on_host(
    tx: &mut PgTx<'_>,
    host: &HostId,
) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(
        select_instance!("WHERE host_id = $1 ORDER BY seq"),
        &[&host.as_str()],
        instance_from_row,
    )
}

/// One probe of the ID's unique index per ID.
pub(crate) fn instances_by_ids(
    tx: &mut PgTx<'_>,
    ids: &[InstanceId],
) -> Result<Vec<Instance>, StoreError> {
    let ids = super::enis::json_list(&ids)?;
    tx.query_all(
        select_instance!(
            "WHERE id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) ORDER BY seq"
        ),
        &[&ids],
        instance_from_row,
    )
}

/// The partial index instances_unplaced_idx holds only instances with no host, in seq order.
pub(crate) fn instances_unplaced(tx: &mut PgTx<'_>) -> Result<Vec<Instance>, StoreError> {
    tx.query_all(
        select_instance!("WHERE host_id IS NULL ORDER BY seq"),
        &[],
        instance_from_row,
    )
}

// ---- hosts ----

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

fn host_from_row(r: &Row) -> Result<Host, StoreError> {
    Ok(Host {
        id: id_from(r, 0)?,
        seq: get(r, 8)?,
        name: get(r, 1)?,
        zone_id: get(r, 2)?,
        underlay_address: get(r, 3)?,
        capacity_vcpus: u32_from(r, 4)?,
        last_seen_at: get(r, 5)?,
        created_at: get(r, 6)?,
        used_vcpus: count_from_sql(get(r, 7)?)?,
    })
}

/// A second host of the same name and zone is host_name_zone_unique, named by PostgreSQL.
pub(crate) fn host_insert(tx: &mut PgTx<'_>, h: &Host) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO hosts (id, name, zone_id, underlay_address, capacity_vcpus, last_seen_at,
             created_at, used_vcpus)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &h.id.as_str(),
            &h.name,
            &h.zone_id,
            &h.underlay_address,
            &i64::from(h.capacity_vcpus),
            &h.last_seen_at,
            &h.created_at,
            &i64::try_from(h.used_vcpus).unwrap_or(i64::MAX),
        ],
    )?;
    Ok(())
}

/// Never below 0 (`greatest`, SQLite's two-argument `max`).
pub(crate) fn host_use(tx: &mut PgTx<'_>, id: &HostId, vcpus: i64) -> Result<(), StoreError> {
    tx.exec(
        "UPDATE hosts SET used_vcpus = greatest(0, used_vcpus + $2) WHERE id = $1",
        &[&id.as_str(), &vcpus],
    )?;
    Ok(())
}

/// Name, zone and creation time are the host's identity and stay as they are.
pub(crate) fn host_update(tx: &mut PgTx<'_>, h: &Host) -> Result<(), StoreError> {
    let n = tx.exec(
        "UPDATE hosts SET underlay_address = $2, capacity_vcpus = $3, last_seen_at = $4
         WHERE id = $1",
        &[
            &h.id.as_str(),
            &h.underlay_address,
            &i64::from(h.capacity_vcpus),
            &h.last_seen_at,
        ],
    )?;
    if n == 0 {
        // As for instance_update: the trait has no "not found" for an update.
        return Err(StoreError::Backend(format!(
            "host_update: no host {}",
            h.id
        )));
    }
    Ok(())
}

pub(crate) fn host_delete(tx: &mut PgTx<'_>, id: &HostId) -> Result<bool, StoreError> {
    let n = tx.exec("DELETE FROM hosts WHERE id = $1", &[&id.as_str()])?;
    Ok(n > 0)
}

/// `greatest` (SQLite's two-argument `max`) keeps a late, older call from moving it back.
pub(crate) fn host_seen(tx: &mut PgTx<'_>, name: &str, now: i64) -> Result<u64, StoreError> {
    tx.exec(
        "UPDATE hosts SET last_seen_at = greatest(last_seen_at, $2) WHERE name = $1",
        &[&name, &now],
    )
}

pub(crate) fn host_get(tx: &mut PgTx<'_>, id: &HostId) -> Result<Option<Host>, StoreError> {
    tx.query_opt(
        select_host!("WHERE id = $1"),
        &[&id.as_str()],
        host_from_row,
    )
}

pub(crate) fn host_by_name(
    tx: &mut PgTx<'_>,
    name: &str,
    zone: &str,
) -> Result<Option<Host>, StoreError> {
    tx.query_opt(
        select_host!("WHERE name = $1 AND zone_id = $2"),
        &[&name, &zone],
        host_from_row,
    )
}

pub(crate) fn host_list(tx: &mut PgTx<'_>) -> Result<Vec<Host>, StoreError> {
    tx.query_all(select_host!("ORDER BY seq"), &[], host_from_row)
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

pub(crate) fn enis_of_instances(
    tx: &mut PgTx<'_>,
    instances: &[InstanceId],
) -> Result<Vec<Eni>, StoreError> {
    let ids = serde_json::to_string(instances)
        .map_err(|e| StoreError::Backend(format!("encoding instance IDs: {e}")))?;
    let sql = format!(
        "SELECT {ENI_COLUMNS} FROM enis e \
         WHERE e.instance_id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) \
         ORDER BY e.seq"
    );
    tx.query_all(&sql, &[&ids], eni_from_row)
}
