//! Instances. Port of the SQLite backend's `tx/instances.rs`.

use super::{not_yet, PgTx};
#[allow(unused_imports)]
use eni_store::*;
#[allow(unused_imports)]
use eni_types::ids::*;

pub(crate) fn instance_insert(tx: &mut PgTx<'_>, instance: &Instance) -> Result<(), StoreError> {
    let _ = (tx, instance);
    Err(not_yet("instance_insert"))
}

pub(crate) fn instance_get(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &InstanceId,
) -> Result<Option<Instance>, StoreError> {
    let _ = (tx, account, id);
    Err(not_yet("instance_get"))
}

pub(crate) fn instance_update(tx: &mut PgTx<'_>, instance: &Instance) -> Result<(), StoreError> {
    let _ = (tx, instance);
    Err(not_yet("instance_update"))
}

pub(crate) fn instance_delete(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &InstanceId,
) -> Result<bool, StoreError> {
    let _ = (tx, account, id);
    Err(not_yet("instance_delete"))
}

pub(crate) fn instance_list(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<Instance>, StoreError> {
    let _ = (tx, account, region);
    Err(not_yet("instance_list"))
}

pub(crate) fn instance_due(
    tx: &mut PgTx<'_>,
    now: i64,
    limit: u32,
) -> Result<Vec<Instance>, StoreError> {
    let _ = (tx, now, limit);
    Err(not_yet("instance_due"))
}

pub(crate) fn instance_count_in_vswitch(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<u64, StoreError> {
    let _ = (tx, vswitch);
    Err(not_yet("instance_count_in_vswitch"))
}

pub(crate) fn instance_list_all(tx: &mut PgTx<'_>) -> Result<Vec<Instance>, StoreError> {
    let _ = tx;
    Err(not_yet("instance_list_all"))
}

pub(crate) fn instance_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &InstanceFilter,
    window: Window,
) -> Result<Vec<(Position, Instance)>, StoreError> {
    let _ = (tx, account, region, filter, window);
    Err(not_yet("instance_find"))
}

pub(crate) fn instance_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &InstanceFilter,
) -> Result<u64, StoreError> {
    let _ = (tx, account, region, filter);
    Err(not_yet("instance_find_count"))
}

pub(crate) fn enis_of_instances(
    tx: &mut PgTx<'_>,
    instances: &[InstanceId],
) -> Result<Vec<Eni>, StoreError> {
    let _ = (tx, instances);
    Err(not_yet("enis_of_instances"))
}
