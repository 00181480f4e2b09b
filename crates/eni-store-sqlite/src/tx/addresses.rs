//! Addresses held in vSwitches: private IPv4 addresses with their kind, the IPv4 allocator's
//! free ranges, and IPv6 addresses and prefixes.

use super::{corrupt, id_from_row, SqliteTx};
use crate::errors::{db_err, db_err_fk, fk};
use eni_store::constraints::PRIVATE_IP_VSWITCH_FK;
use eni_store::{IpKind, Ipv6Entry, PrivateIp, StoreError};
use eni_types::ids::VSwitchId;
use rusqlite::{params, Row};
use std::net::Ipv6Addr;

/// `SELECT` of every private IP column, in the order [`private_ip_from_row`] reads them.
macro_rules! select_private_ip {
    ($rest:literal) => {
        concat!(
            "SELECT vswitch_id, ip, owner, kind, prefix FROM private_ips ",
            $rest
        )
    };
}

fn private_ip_from_row(r: &Row<'_>) -> rusqlite::Result<PrivateIp> {
    let kind: String = r.get(3)?;
    Ok(PrivateIp {
        vswitch_id: id_from_row(r, 0)?,
        ip: r.get(1)?,
        owner: r.get(2)?,
        kind: IpKind::parse(&kind).ok_or_else(|| corrupt(3, format!("address kind {kind:?}")))?,
        prefix: r.get(4)?,
    })
}

pub(super) fn private_ip_insert(tx: &SqliteTx<'_>, ip: &PrivateIp) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO private_ips (vswitch_id, ip, owner, kind, prefix)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            ip.vswitch_id.as_str(),
            i64::from(ip.ip),
            ip.owner,
            ip.kind.as_str(),
            ip.prefix.map(i64::from)
        ],
        db_err_fk(PRIVATE_IP_VSWITCH_FK),
    )?;
    Ok(())
}

pub(super) fn private_ip_delete(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM private_ips WHERE vswitch_id = ?1 AND ip = ?2",
        params![vswitch.as_str(), i64::from(ip)],
        db_err,
    )?;
    Ok(n > 0)
}

pub(super) fn private_ip_count(tx: &SqliteTx<'_>, vswitch: &VSwitchId) -> Result<u64, StoreError> {
    // Kept by 0012's triggers.
    tx.count(
        "SELECT coalesce(sum(n), 0) FROM vswitch_ip_counts WHERE vswitch_id = ?1",
        [vswitch.as_str()],
    )
}

pub(super) fn private_ip_get(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<Option<PrivateIp>, StoreError> {
    tx.query_opt(
        select_private_ip!("WHERE vswitch_id = ?1 AND ip = ?2"),
        params![vswitch.as_str(), i64::from(ip)],
        private_ip_from_row,
    )
}

pub(crate) const PRIVATE_IPS_OF: &str = select_private_ip!("WHERE owner = ?1 ORDER BY seq");

pub(super) fn private_ips_of(tx: &SqliteTx<'_>, owner: &str) -> Result<Vec<PrivateIp>, StoreError> {
    tx.query_all(PRIVATE_IPS_OF, [owner], private_ip_from_row)
}

/// Each owner's addresses in insertion order, owners in the order given: one statement over
/// the owner index, however many owners.
pub(super) fn private_ips_of_many(
    tx: &SqliteTx<'_>,
    owners: &[&str],
) -> Result<Vec<PrivateIp>, StoreError> {
    let owners = serde_json::to_string(owners)
        .map_err(|e| StoreError::Backend(format!("encoding owners: {e}")))?;
    tx.query_all(
        select_private_ip!(
            "JOIN json_each(?1) AS o ON private_ips.owner = o.value ORDER BY o.key, private_ips.seq"
        ),
        [owners],
        private_ip_from_row,
    )
}

pub(super) fn private_ips_all(tx: &SqliteTx<'_>) -> Result<Vec<PrivateIp>, StoreError> {
    tx.query_all(select_private_ip!("ORDER BY seq"), [], private_ip_from_row)
}

fn range_from_row(r: &Row<'_>) -> rusqlite::Result<(u32, u32)> {
    Ok((r.get(0)?, r.get(1)?))
}

pub(super) fn ip_free_first(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Option<(u32, u32)>, StoreError> {
    tx.query_opt(
        "SELECT lo, hi FROM ip_free_ranges WHERE vswitch_id = ?1 ORDER BY lo LIMIT 1",
        [vswitch.as_str()],
        range_from_row,
    )
}

/// The first range, by `lo`, that holds an aligned block of `?2` addresses: the block starting
/// at `lo` rounded up to a multiple of `?2` ends at or before `hi`.
pub(crate) const FREE_FIRST_ALIGNED: &str = "SELECT lo, hi FROM ip_free_ranges
    WHERE vswitch_id = ?1 AND (lo + ?2 - 1) / ?2 * ?2 + ?2 - 1 <= hi ORDER BY lo LIMIT 1";

pub(super) fn ip_free_first_aligned(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
    size: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    if size == 0 {
        return Ok(None);
    }
    tx.query_opt(
        FREE_FIRST_ALIGNED,
        params![vswitch.as_str(), i64::from(size)],
        range_from_row,
    )
}

/// The last free range starting at or below an address.
pub(crate) const FREE_AT_OR_BELOW: &str = "SELECT lo, hi FROM ip_free_ranges
    WHERE vswitch_id = ?1 AND lo <= ?2 ORDER BY lo DESC LIMIT 1";

pub(super) fn ip_free_containing(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    // Ranges do not overlap, so only the last one starting at or below `ip` can contain it:
    // one probe of the primary key, however many ranges there are.
    let below = tx.query_opt(
        FREE_AT_OR_BELOW,
        params![vswitch.as_str(), i64::from(ip)],
        range_from_row,
    )?;
    Ok(below.filter(|&(_, hi)| ip <= hi))
}

pub(super) fn ip_free_list(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Vec<(u32, u32)>, StoreError> {
    tx.query_all(
        "SELECT lo, hi FROM ip_free_ranges WHERE vswitch_id = ?1 ORDER BY lo",
        [vswitch.as_str()],
        range_from_row,
    )
}

pub(super) fn ip_free_insert(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
    lo: u32,
    hi: u32,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO ip_free_ranges (vswitch_id, lo, hi) VALUES (?1, ?2, ?3)",
        params![vswitch.as_str(), i64::from(lo), i64::from(hi)],
        db_err_fk(fk::IP_FREE_RANGE_VSWITCH),
    )?;
    Ok(())
}

pub(super) fn ip_free_delete(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
    lo: u32,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM ip_free_ranges WHERE vswitch_id = ?1 AND lo = ?2",
        params![vswitch.as_str(), i64::from(lo)],
        db_err,
    )?;
    Ok(n > 0)
}

pub(super) fn ip_free_clear(tx: &SqliteTx<'_>, vswitch: &VSwitchId) -> Result<(), StoreError> {
    tx.exec(
        "DELETE FROM ip_free_ranges WHERE vswitch_id = ?1",
        [vswitch.as_str()],
        db_err,
    )?;
    Ok(())
}

/// `SELECT` of every IPv6 column, in the order [`ipv6_from_row`] reads them.
macro_rules! select_ipv6 {
    ($rest:literal) => {
        concat!(
            "SELECT vswitch_id, addr, owner, is_prefix FROM ipv6_addrs ",
            $rest
        )
    };
}

fn ipv6_from_row(r: &Row<'_>) -> rusqlite::Result<Ipv6Entry> {
    Ok(Ipv6Entry {
        vswitch_id: id_from_row(r, 0)?,
        addr: r.get(1)?,
        owner: r.get(2)?,
        is_prefix: r.get(3)?,
    })
}

/// Bits of an IPv6 address below its /80.
const BELOW_80: u128 = (1 << 48) - 1;

/// The /80 an IPv6 row lies in, as `net/80` in canonical text: a prefix's own text, or the
/// /80 around an address. Text that is no address is returned as it is, for the schema's
/// checks to name what is wrong with it.
pub(crate) fn ipv6_net80(addr: &str, is_prefix: bool) -> String {
    if is_prefix {
        return addr.to_string();
    }
    match addr.parse::<Ipv6Addr>() {
        Ok(a) => format!("{}/80", Ipv6Addr::from(u128::from(a) & !BELOW_80)),
        Err(_) => addr.to_string(),
    }
}

pub(super) fn ipv6_insert(tx: &SqliteTx<'_>, entry: &Ipv6Entry) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO ipv6_addrs (vswitch_id, addr, owner, is_prefix, net)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            entry.vswitch_id.as_str(),
            entry.addr,
            entry.owner,
            entry.is_prefix,
            ipv6_net80(&entry.addr, entry.is_prefix)
        ],
        db_err_fk(fk::IPV6_VSWITCH),
    )?;
    Ok(())
}

pub(super) fn ipv6_delete(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
    addr: &str,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM ipv6_addrs WHERE vswitch_id = ?1 AND addr = ?2",
        params![vswitch.as_str(), addr],
        db_err,
    )?;
    Ok(n > 0)
}

pub(super) fn ipv6_get(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
    addr: &str,
) -> Result<Option<Ipv6Entry>, StoreError> {
    tx.query_opt(
        select_ipv6!("WHERE vswitch_id = ?1 AND addr = ?2"),
        params![vswitch.as_str(), addr],
        ipv6_from_row,
    )
}

pub(crate) const IPV6_OF: &str = select_ipv6!("WHERE owner = ?1 ORDER BY seq");

pub(super) fn ipv6_of(tx: &SqliteTx<'_>, owner: &str) -> Result<Vec<Ipv6Entry>, StoreError> {
    tx.query_all(IPV6_OF, [owner], ipv6_from_row)
}

/// Each owner's entries in insertion order, owners in the order given.
pub(super) fn ipv6_of_many(
    tx: &SqliteTx<'_>,
    owners: &[&str],
) -> Result<Vec<Ipv6Entry>, StoreError> {
    let owners = serde_json::to_string(owners)
        .map_err(|e| StoreError::Backend(format!("encoding owners: {e}")))?;
    tx.query_all(
        select_ipv6!(
            "JOIN json_each(?1) AS o ON ipv6_addrs.owner = o.value ORDER BY o.key, ipv6_addrs.seq"
        ),
        [owners],
        ipv6_from_row,
    )
}

pub(super) fn ipv6_all(tx: &SqliteTx<'_>) -> Result<Vec<Ipv6Entry>, StoreError> {
    tx.query_all(select_ipv6!("ORDER BY seq"), [], ipv6_from_row)
}

/// The /80s of a vSwitch that hold anything; read from `ipv6_addrs_net_idx` alone.
pub(crate) const IPV6_NETS_IN_USE: &str =
    "SELECT DISTINCT net FROM ipv6_addrs WHERE vswitch_id = ?1";

pub(super) fn ipv6_nets_in_use(
    tx: &SqliteTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Vec<String>, StoreError> {
    tx.query_all(IPV6_NETS_IN_USE, [vswitch.as_str()], |r| r.get(0))
}
