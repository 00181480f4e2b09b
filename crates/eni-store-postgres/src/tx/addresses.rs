//! Addresses held in vSwitches: private IPv4 addresses with their kind, the IPv4 allocator's
//! free ranges, and IPv6 addresses and prefixes. Port of the SQLite backend's
//! `tx/addresses.rs`.
//!
//! A refused write names its constraint itself (`private_ip_vswitch_fk`,
//! `private_ip_vswitch_ip_unique`, `ipv6_prefix_overlap`, ...): PostgreSQL reports it, so
//! plain [`PgTx::exec`] gives the right `Conflict`.

use super::{get, id_from, u32_from, PgTx};
use eni_store::{IpKind, Ipv6Entry, PrivateIp, StoreError};
use eni_types::ids::VSwitchId;
use postgres::Row;
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

fn private_ip_from_row(r: &Row) -> Result<PrivateIp, StoreError> {
    let kind: String = get(r, 3)?;
    let prefix: Option<i64> = get(r, 4)?;
    Ok(PrivateIp {
        vswitch_id: id_from(r, 0)?,
        ip: u32_from(r, 1)?,
        owner: get(r, 2)?,
        kind: IpKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("column 3: address kind {kind:?}")))?,
        prefix: prefix
            .map(|p| {
                u32::try_from(p)
                    .map_err(|_| StoreError::Backend(format!("column 4: {p} is not a u32")))
            })
            .transpose()?,
    })
}

/// JSON text of a list parameter.
fn json_list(items: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(items)
        .map_err(|e| StoreError::Backend(format!("encoding a list parameter: {e}")))
}

pub(crate) fn private_ip_insert(tx: &mut PgTx<'_>, ip: &PrivateIp) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO private_ips (vswitch_id, ip, owner, kind, prefix)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &ip.vswitch_id.as_str(),
            &i64::from(ip.ip),
            &ip.owner,
            &ip.kind.as_str(),
            &ip.prefix.map(i64::from),
        ],
    )?;
    Ok(())
}

pub(crate) fn private_ip_delete(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM private_ips WHERE vswitch_id = $1 AND ip = $2",
        &[&vswitch.as_str(), &i64::from(ip)],
    )?;
    Ok(n > 0)
}

pub(crate) fn private_ip_count(tx: &mut PgTx<'_>, vswitch: &VSwitchId) -> Result<u64, StoreError> {
    // Kept by triggers (vswitch_ip_counts, SQLite's 0012).
    tx.count(
        "SELECT coalesce(sum(n), 0)::bigint FROM vswitch_ip_counts WHERE vswitch_id = $1",
        &[&vswitch.as_str()],
    )
}

pub(crate) fn private_ip_get(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<Option<PrivateIp>, StoreError> {
    tx.query_opt(
        select_private_ip!("WHERE vswitch_id = $1 AND ip = $2"),
        &[&vswitch.as_str(), &i64::from(ip)],
        private_ip_from_row,
    )
}

pub(crate) const PRIVATE_IPS_OF: &str = select_private_ip!("WHERE owner = $1 ORDER BY seq");

pub(crate) fn private_ips_of(tx: &mut PgTx<'_>, owner: &str) -> Result<Vec<PrivateIp>, StoreError> {
    tx.query_all(PRIVATE_IPS_OF, &[&owner], private_ip_from_row)
}

pub(crate) fn private_ips_all(tx: &mut PgTx<'_>) -> Result<Vec<PrivateIp>, StoreError> {
    tx.query_all(select_private_ip!("ORDER BY seq"), &[], private_ip_from_row)
}

/// Each owner's addresses in insertion order, owners in the order given: one statement over
/// the owner index, however many owners.
pub(crate) fn private_ips_of_many(
    tx: &mut PgTx<'_>,
    owners: &[&str],
) -> Result<Vec<PrivateIp>, StoreError> {
    let owners = json_list(&owners)?;
    tx.query_all(
        "SELECT p.vswitch_id, p.ip, p.owner, p.kind, p.prefix
         FROM jsonb_array_elements_text($1::text::jsonb) WITH ORDINALITY AS o(value, key)
         JOIN private_ips p ON p.owner = o.value
         ORDER BY o.key, p.seq",
        &[&owners],
        private_ip_from_row,
    )
}

fn range_from_row(r: &Row) -> Result<(u32, u32), StoreError> {
    Ok((u32_from(r, 0)?, u32_from(r, 1)?))
}

pub(crate) fn ip_free_first(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Option<(u32, u32)>, StoreError> {
    tx.query_opt(
        "SELECT lo, hi FROM ip_free_ranges WHERE vswitch_id = $1 ORDER BY lo LIMIT 1",
        &[&vswitch.as_str()],
        range_from_row,
    )
}

/// The first range, by `lo`, that holds an aligned block of `$2` addresses: the block starting
/// at `lo` rounded up to a multiple of `$2` ends at or before `hi`. (BIGINT division
/// truncates, as SQLite's INTEGER division does; `lo` is never negative.)
pub(crate) const FREE_FIRST_ALIGNED: &str = "SELECT lo, hi FROM ip_free_ranges
    WHERE vswitch_id = $1 AND (lo + $2 - 1) / $2 * $2 + $2 - 1 <= hi ORDER BY lo LIMIT 1";

pub(crate) fn ip_free_first_aligned(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    size: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    if size == 0 {
        return Ok(None);
    }
    tx.query_opt(
        FREE_FIRST_ALIGNED,
        &[&vswitch.as_str(), &i64::from(size)],
        range_from_row,
    )
}

/// The last free range starting at or below an address.
pub(crate) const FREE_AT_OR_BELOW: &str = "SELECT lo, hi FROM ip_free_ranges
    WHERE vswitch_id = $1 AND lo <= $2 ORDER BY lo DESC LIMIT 1";

pub(crate) fn ip_free_containing(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    ip: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    // Ranges do not overlap, so only the last one starting at or below `ip` can contain it:
    // one probe of the primary key, however many ranges there are.
    let below = tx.query_opt(
        FREE_AT_OR_BELOW,
        &[&vswitch.as_str(), &i64::from(ip)],
        range_from_row,
    )?;
    Ok(below.filter(|&(_, hi)| ip <= hi))
}

pub(crate) fn ip_free_list(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Vec<(u32, u32)>, StoreError> {
    tx.query_all(
        "SELECT lo, hi FROM ip_free_ranges WHERE vswitch_id = $1 ORDER BY lo",
        &[&vswitch.as_str()],
        range_from_row,
    )
}

pub(crate) fn ip_free_insert(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    lo: u32,
    hi: u32,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO ip_free_ranges (vswitch_id, lo, hi) VALUES ($1, $2, $3)",
        &[&vswitch.as_str(), &i64::from(lo), &i64::from(hi)],
    )?;
    Ok(())
}

pub(crate) fn ip_free_delete(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    lo: u32,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM ip_free_ranges WHERE vswitch_id = $1 AND lo = $2",
        &[&vswitch.as_str(), &i64::from(lo)],
    )?;
    Ok(n > 0)
}

pub(crate) fn ip_free_clear(tx: &mut PgTx<'_>, vswitch: &VSwitchId) -> Result<(), StoreError> {
    tx.exec(
        "DELETE FROM ip_free_ranges WHERE vswitch_id = $1",
        &[&vswitch.as_str()],
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

fn ipv6_from_row(r: &Row) -> Result<Ipv6Entry, StoreError> {
    Ok(Ipv6Entry {
        vswitch_id: id_from(r, 0)?,
        addr: get(r, 1)?,
        owner: get(r, 2)?,
        is_prefix: get(r, 3)?,
    })
}

/// Bits of an IPv6 address below its /80.
const BELOW_80: u128 = (1 << 48) - 1;

/// The /80 an IPv6 row lies in, as `net/80` in canonical text: a prefix's own text, or the
/// /80 around an address. Text that is no address is returned as it is, for the schema's
/// checks to name what is wrong with it. (The SQLite backend's function, unchanged: both
/// backends must compute the same `net`.)
pub(crate) fn ipv6_net80(addr: &str, is_prefix: bool) -> String {
    if is_prefix {
        return addr.to_string();
    }
    match addr.parse::<Ipv6Addr>() {
        Ok(a) => format!("{}/80", Ipv6Addr::from(u128::from(a) & !BELOW_80)),
        Err(_) => addr.to_string(),
    }
}

pub(crate) fn ipv6_insert(tx: &mut PgTx<'_>, entry: &Ipv6Entry) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO ipv6_addrs (vswitch_id, addr, owner, is_prefix, net)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &entry.vswitch_id.as_str(),
            &entry.addr,
            &entry.owner,
            &entry.is_prefix,
            &ipv6_net80(&entry.addr, entry.is_prefix),
        ],
    )?;
    Ok(())
}

pub(crate) fn ipv6_delete(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    addr: &str,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM ipv6_addrs WHERE vswitch_id = $1 AND addr = $2",
        &[&vswitch.as_str(), &addr],
    )?;
    Ok(n > 0)
}

pub(crate) fn ipv6_get(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
    addr: &str,
) -> Result<Option<Ipv6Entry>, StoreError> {
    tx.query_opt(
        select_ipv6!("WHERE vswitch_id = $1 AND addr = $2"),
        &[&vswitch.as_str(), &addr],
        ipv6_from_row,
    )
}

pub(crate) const IPV6_OF: &str = select_ipv6!("WHERE owner = $1 ORDER BY seq");

pub(crate) fn ipv6_of(tx: &mut PgTx<'_>, owner: &str) -> Result<Vec<Ipv6Entry>, StoreError> {
    tx.query_all(IPV6_OF, &[&owner], ipv6_from_row)
}

/// Each owner's entries in insertion order, owners in the order given.
pub(crate) fn ipv6_of_many(
    tx: &mut PgTx<'_>,
    owners: &[&str],
) -> Result<Vec<Ipv6Entry>, StoreError> {
    let owners = json_list(&owners)?;
    tx.query_all(
        "SELECT x.vswitch_id, x.addr, x.owner, x.is_prefix
         FROM jsonb_array_elements_text($1::text::jsonb) WITH ORDINALITY AS o(value, key)
         JOIN ipv6_addrs x ON x.owner = o.value
         ORDER BY o.key, x.seq",
        &[&owners],
        ipv6_from_row,
    )
}

pub(crate) fn ipv6_all(tx: &mut PgTx<'_>) -> Result<Vec<Ipv6Entry>, StoreError> {
    tx.query_all(select_ipv6!("ORDER BY seq"), &[], ipv6_from_row)
}

/// The /80s of a vSwitch that hold anything; read from `ipv6_addrs_net_idx` alone.
pub(crate) const IPV6_NETS_IN_USE: &str =
    "SELECT DISTINCT net FROM ipv6_addrs WHERE vswitch_id = $1";

pub(crate) fn ipv6_nets_in_use(
    tx: &mut PgTx<'_>,
    vswitch: &VSwitchId,
) -> Result<Vec<String>, StoreError> {
    tx.query_all(IPV6_NETS_IN_USE, &[&vswitch.as_str()], |r| get(r, 0))
}
