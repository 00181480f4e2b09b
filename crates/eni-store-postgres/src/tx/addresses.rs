//! Private IPv4 addresses, the IPv4 free list and IPv6 entries. Port of the SQLite backend's `tx/addresses.rs`.

use super::{not_yet, PgTx};
#[allow(unused_imports)]
use eni_store::*;
#[allow(unused_imports)]
use eni_types::ids::*;

pub(crate) fn private_ip_insert(tx: &mut PgTx<'_>, ip: &PrivateIp) -> Result<(), StoreError> {
    let _ = (tx, ip);
    Err(not_yet("private_ip_insert"))
}

pub(crate) fn private_ip_delete(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<bool, StoreError> {
    let _ = (tx, vswitch, ip);
    Err(not_yet("private_ip_delete"))
}

pub(crate) fn private_ip_count(tx: &mut PgTx<'_>, vswitch: &VSwitchId) -> Result<u64, StoreError> {
    let _ = (tx, vswitch);
    Err(not_yet("private_ip_count"))
}

pub(crate) fn private_ip_get(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<Option<PrivateIp>, StoreError> {
    let _ = (tx, vswitch, ip);
    Err(not_yet("private_ip_get"))
}

pub(crate) fn private_ips_of(tx: &mut PgTx<'_>, owner: &str) -> Result<Vec<PrivateIp>, StoreError> {
    let _ = (tx, owner);
    Err(not_yet("private_ips_of"))
}

pub(crate) fn private_ips_all(tx: &mut PgTx<'_>) -> Result<Vec<PrivateIp>, StoreError> {
    let _ = tx;
    Err(not_yet("private_ips_all"))
}

pub(crate) fn ip_free_first(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Option<(u32, u32)>, StoreError> {
    let _ = (tx, vswitch);
    Err(not_yet("ip_free_first"))
}

pub(crate) fn ip_free_containing(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    let _ = (tx, vswitch, ip);
    Err(not_yet("ip_free_containing"))
}

pub(crate) fn ip_free_list(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Vec<(u32, u32)>, StoreError> {
    let _ = (tx, vswitch);
    Err(not_yet("ip_free_list"))
}

pub(crate) fn ip_free_first_aligned(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    size: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    let _ = (tx, vswitch, size);
    Err(not_yet("ip_free_first_aligned"))
}

pub(crate) fn ip_free_insert(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    lo: u32,
    hi: u32,
) -> Result<(), StoreError> {
    let _ = (tx, vswitch, lo, hi);
    Err(not_yet("ip_free_insert"))
}

pub(crate) fn ip_free_delete(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    lo: u32,
) -> Result<bool, StoreError> {
    let _ = (tx, vswitch, lo);
    Err(not_yet("ip_free_delete"))
}

pub(crate) fn ip_free_clear(tx: &mut PgTx<'_>, vswitch: &VSwitchId) -> Result<(), StoreError> {
    let _ = (tx, vswitch);
    Err(not_yet("ip_free_clear"))
}

pub(crate) fn ipv6_insert(tx: &mut PgTx<'_>, entry: &Ipv6Entry) -> Result<(), StoreError> {
    let _ = (tx, entry);
    Err(not_yet("ipv6_insert"))
}

pub(crate) fn ipv6_delete(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    addr: &str,
) -> Result<bool, StoreError> {
    let _ = (tx, vswitch, addr);
    Err(not_yet("ipv6_delete"))
}

pub(crate) fn ipv6_get(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    addr: &str,
) -> Result<Option<Ipv6Entry>, StoreError> {
    let _ = (tx, vswitch, addr);
    Err(not_yet("ipv6_get"))
}

pub(crate) fn ipv6_of(tx: &mut PgTx<'_>, owner: &str) -> Result<Vec<Ipv6Entry>, StoreError> {
    let _ = (tx, owner);
    Err(not_yet("ipv6_of"))
}

pub(crate) fn ipv6_all(tx: &mut PgTx<'_>) -> Result<Vec<Ipv6Entry>, StoreError> {
    let _ = tx;
    Err(not_yet("ipv6_all"))
}

pub(crate) fn ipv6_nets_in_use(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Vec<String>, StoreError> {
    let _ = (tx, vswitch);
    Err(not_yet("ipv6_nets_in_use"))
}

pub(crate) fn private_ips_of_many(
    tx: &mut PgTx<'_>,
    owners: &[&str],
) -> Result<Vec<PrivateIp>, StoreError> {
    let _ = (tx, owners);
    Err(not_yet("private_ips_of_many"))
}

pub(crate) fn ipv6_of_many(
    tx: &mut PgTx<'_>,
    owners: &[&str],
) -> Result<Vec<Ipv6Entry>, StoreError> {
    let _ = (tx, owners);
    Err(not_yet("ipv6_of_many"))
}
