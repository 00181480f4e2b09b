//! DescribeNetworkInterfaces' filtered, keyset-paged queries and their counts. Port of the SQLite backend's `tx/eni_find.rs`.

use super::{not_yet, PgTx};
#[allow(unused_imports)]
use eni_store::*;
#[allow(unused_imports)]
use eni_types::ids::*;

pub(crate) fn eni_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &EniFilter,
    window: Window,
) -> Result<Vec<(Position, Eni)>, StoreError> {
    let _ = (tx, account, region, filter, window);
    Err(not_yet("eni_find"))
}

pub(crate) fn eni_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &EniFilter,
) -> Result<u64, StoreError> {
    let _ = (tx, account, region, filter);
    Err(not_yet("eni_find_count"))
}
