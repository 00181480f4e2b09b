//! Elastic IP addresses and the EIP pool's free list. Port of the SQLite backend's `tx/eips.rs`.

use super::{not_yet, PgTx};
#[allow(unused_imports)]
use eni_store::*;
#[allow(unused_imports)]
use eni_types::ids::*;

pub(crate) fn eips_of_enis(tx: &mut PgTx<'_>, enis: &[EniId]) -> Result<Vec<Eip>, StoreError> {
    let _ = (tx, enis);
    Err(not_yet("eips_of_enis"))
}

pub(crate) fn eip_insert(tx: &mut PgTx<'_>, eip: &Eip) -> Result<(), StoreError> {
    let _ = (tx, eip);
    Err(not_yet("eip_insert"))
}

pub(crate) fn eip_get(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &EipId,
) -> Result<Option<Eip>, StoreError> {
    let _ = (tx, account, id);
    Err(not_yet("eip_get"))
}

pub(crate) fn eip_update(tx: &mut PgTx<'_>, eip: &Eip) -> Result<(), StoreError> {
    let _ = (tx, eip);
    Err(not_yet("eip_update"))
}

pub(crate) fn eip_delete(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &EipId,
) -> Result<bool, StoreError> {
    let _ = (tx, account, id);
    Err(not_yet("eip_delete"))
}

pub(crate) fn eip_list(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<Eip>, StoreError> {
    let _ = (tx, account, region);
    Err(not_yet("eip_list"))
}

pub(crate) fn eip_due(tx: &mut PgTx<'_>, now: i64, limit: u32) -> Result<Vec<Eip>, StoreError> {
    let _ = (tx, now, limit);
    Err(not_yet("eip_due"))
}

pub(crate) fn eips_awaiting_dataplane(tx: &mut PgTx<'_>) -> Result<Vec<Eip>, StoreError> {
    let _ = tx;
    Err(not_yet("eips_awaiting_dataplane"))
}

pub(crate) fn eip_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &EipFilter,
    window: Window,
) -> Result<Vec<(Position, Eip)>, StoreError> {
    let _ = (tx, account, region, filter, window);
    Err(not_yet("eip_find"))
}

pub(crate) fn eip_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &EipFilter,
) -> Result<u64, StoreError> {
    let _ = (tx, account, region, filter);
    Err(not_yet("eip_find_count"))
}

pub(crate) fn eips_of_eni(tx: &mut PgTx<'_>, eni: &EniId) -> Result<Vec<Eip>, StoreError> {
    let _ = (tx, eni);
    Err(not_yet("eips_of_eni"))
}

pub(crate) fn eip_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<u64, StoreError> {
    let _ = (tx, account, region);
    Err(not_yet("eip_count"))
}

pub(crate) fn eip_ips_in(tx: &mut PgTx<'_>, lo: u32, hi: u32) -> Result<Vec<u32>, StoreError> {
    let _ = (tx, lo, hi);
    Err(not_yet("eip_ips_in"))
}

pub(crate) fn eips_associated_in_vpc(
    tx: &mut PgTx<'_>,
    vpc: &VpcId,
) -> Result<Vec<EipAssociation>, StoreError> {
    let _ = (tx, vpc);
    Err(not_yet("eips_associated_in_vpc"))
}

pub(crate) fn eips_associated_all(
    tx: &mut PgTx<'_>,
) -> Result<Vec<(VpcId, EipAssociation)>, StoreError> {
    let _ = tx;
    Err(not_yet("eips_associated_all"))
}

pub(crate) fn eip_pool_exists(tx: &mut PgTx<'_>, pool: &str) -> Result<bool, StoreError> {
    let _ = (tx, pool);
    Err(not_yet("eip_pool_exists"))
}

pub(crate) fn eip_pool_reset(tx: &mut PgTx<'_>, pool: &str) -> Result<(), StoreError> {
    let _ = (tx, pool);
    Err(not_yet("eip_pool_reset"))
}

pub(crate) fn eip_free_first(
    tx: &mut PgTx<'_>,
    pool: &str,
) -> Result<Option<(u32, u32)>, StoreError> {
    let _ = (tx, pool);
    Err(not_yet("eip_free_first"))
}

pub(crate) fn eip_free_containing(
    tx: &mut PgTx<'_>,
    pool: &str,
    ip: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    let _ = (tx, pool, ip);
    Err(not_yet("eip_free_containing"))
}

pub(crate) fn eip_free_list(tx: &mut PgTx<'_>, pool: &str) -> Result<Vec<(u32, u32)>, StoreError> {
    let _ = (tx, pool);
    Err(not_yet("eip_free_list"))
}

pub(crate) fn eip_free_insert(
    tx: &mut PgTx<'_>,
    pool: &str,
    lo: u32,
    hi: u32,
) -> Result<(), StoreError> {
    let _ = (tx, pool, lo, hi);
    Err(not_yet("eip_free_insert"))
}

pub(crate) fn eip_free_delete(tx: &mut PgTx<'_>, pool: &str, lo: u32) -> Result<bool, StoreError> {
    let _ = (tx, pool, lo);
    Err(not_yet("eip_free_delete"))
}
