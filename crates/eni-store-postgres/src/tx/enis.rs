//! ENIs: rows, their security groups, transitions and counts. Port of the SQLite backend's `tx/enis.rs`.

use super::{not_yet, PgTx};
#[allow(unused_imports)]
use eni_store::*;
#[allow(unused_imports)]
use eni_types::ids::*;

pub(crate) fn eni_insert(tx: &mut PgTx<'_>, eni: &Eni) -> Result<(), StoreError> {
    let _ = (tx, eni);
    Err(not_yet("eni_insert"))
}

pub(crate) fn eni_get(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &EniId,
) -> Result<Option<Eni>, StoreError> {
    let _ = (tx, account, id);
    Err(not_yet("eni_get"))
}

pub(crate) fn eni_update(tx: &mut PgTx<'_>, eni: &Eni) -> Result<(), StoreError> {
    let _ = (tx, eni);
    Err(not_yet("eni_update"))
}

pub(crate) fn eni_delete(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &EniId,
) -> Result<bool, StoreError> {
    let _ = (tx, account, id);
    Err(not_yet("eni_delete"))
}

pub(crate) fn eni_list(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    query: &EniQuery,
) -> Result<Vec<Eni>, StoreError> {
    let _ = (tx, account, region, query);
    Err(not_yet("eni_list"))
}

pub(crate) fn eni_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    eni_type: &str,
) -> Result<u64, StoreError> {
    let _ = (tx, account, region, eni_type);
    Err(not_yet("eni_count"))
}

pub(crate) fn eni_due(tx: &mut PgTx<'_>, now: i64, limit: u32) -> Result<Vec<Eni>, StoreError> {
    let _ = (tx, now, limit);
    Err(not_yet("eni_due"))
}

pub(crate) fn eni_count_in_vswitch(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<u64, StoreError> {
    let _ = (tx, vswitch);
    Err(not_yet("eni_count_in_vswitch"))
}

pub(crate) fn eni_list_all(tx: &mut PgTx<'_>) -> Result<Vec<Eni>, StoreError> {
    let _ = tx;
    Err(not_yet("eni_list_all"))
}
