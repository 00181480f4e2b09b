//! Security groups. Port of the SQLite backend's `tx/security_groups.rs`.

use super::{not_yet, PgTx};
#[allow(unused_imports)]
use eni_store::*;
#[allow(unused_imports)]
use eni_types::ids::*;

pub(crate) fn security_group_insert(
    tx: &mut PgTx<'_>,
    sg: &SecurityGroup,
) -> Result<(), StoreError> {
    let _ = (tx, sg);
    Err(not_yet("security_group_insert"))
}

pub(crate) fn security_group_get(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &SecurityGroupId,
) -> Result<Option<SecurityGroup>, StoreError> {
    let _ = (tx, account, id);
    Err(not_yet("security_group_get"))
}

pub(crate) fn security_group_list(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<SecurityGroup>, StoreError> {
    let _ = (tx, account, region);
    Err(not_yet("security_group_list"))
}

pub(crate) fn security_group_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &SecurityGroupFilter,
    window: Window,
) -> Result<Vec<(Position, SecurityGroup)>, StoreError> {
    let _ = (tx, account, region, filter, window);
    Err(not_yet("security_group_find"))
}

pub(crate) fn security_group_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &SecurityGroupFilter,
) -> Result<u64, StoreError> {
    let _ = (tx, account, region, filter);
    Err(not_yet("security_group_find_count"))
}

pub(crate) fn security_group_delete(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &SecurityGroupId,
) -> Result<bool, StoreError> {
    let _ = (tx, account, id);
    Err(not_yet("security_group_delete"))
}

pub(crate) fn security_group_member_count(
    tx: &mut PgTx<'_>,
    id: &SecurityGroupId,
) -> Result<u64, StoreError> {
    let _ = (tx, id);
    Err(not_yet("security_group_member_count"))
}

pub(crate) fn security_group_count_in_vpc(
    tx: &mut PgTx<'_>,
    vpc: &VpcId,
) -> Result<u64, StoreError> {
    let _ = (tx, vpc);
    Err(not_yet("security_group_count_in_vpc"))
}
