//! Elastic IP addresses. The binding (what an EIP is NAT-ed to) lives in the EIP's row as
//! nullable columns that the schema keeps all set or all NULL; the trigger
//! `private_ips_unbind_eip` clears them when the private address is released.
//!
//! Also the pool's free list (`eip_pools`, `eip_free_ranges`): the free public addresses as
//! disjoint ranges, like a vSwitch's `ip_free_ranges`.

use super::find::Find;
use super::{
    account_from_sql, account_to_sql, corrupt, id_from_row, opt_id_from_row, tags_from_row,
    tags_to_sql, SqliteTx,
};
use crate::errors::{db_err, db_err_fk, fk};
use eni_store::{Eip, EipAssociation, EipBinding, EipFilter, Position, StoreError, Window};
use eni_types::ids::{AccountId, EipId, EniId, VSwitchId, VpcId};
use rusqlite::{params, Row};
use std::net::Ipv4Addr;

/// `SELECT` of every EIP column, in the order [`eip_from_row`] reads them.
macro_rules! select_eip {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, region_id, ip, bandwidth, internet_charge_type, \
             instance_charge_type, isp, name, description, resource_group_id, tags, status, \
             due_at, instance_id, instance_type, eni_id, vpc_id, vswitch_id, private_ip, mode, \
             created_at, forward_mode FROM eips ",
            $rest
        )
    };
}

fn eip_from_row(r: &Row<'_>) -> rusqlite::Result<Eip> {
    let instance_id: Option<String> = r.get(14)?;
    let binding = match instance_id {
        None => None,
        Some(instance_id) => {
            let eni_id: Option<EniId> = opt_id_from_row(r, 16)?;
            let vpc_id: Option<VpcId> = opt_id_from_row(r, 17)?;
            let vswitch_id: Option<VSwitchId> = opt_id_from_row(r, 18)?;
            let (
                Some(instance_type),
                Some(eni_id),
                Some(vpc_id),
                Some(vswitch_id),
                Some(ip),
                Some(_nat),
            ) = (
                r.get::<_, Option<String>>(15)?,
                eni_id,
                vpc_id,
                vswitch_id,
                r.get::<_, Option<u32>>(19)?,
                r.get::<_, Option<String>>(20)?,
            )
            else {
                // eip_binding_complete makes this impossible.
                return Err(corrupt(14, "a partial EIP binding".into()));
            };
            Some(EipBinding {
                instance_id,
                instance_type,
                eni_id,
                vpc_id,
                vswitch_id,
                private_ip: ip,
            })
        }
    };
    Ok(Eip {
        id: id_from_row(r, 0)?,
        account_id: account_from_sql(r.get(1)?),
        region_id: r.get(2)?,
        ip: r.get(3)?,
        bandwidth: r.get(4)?,
        internet_charge_type: r.get(5)?,
        instance_charge_type: r.get(6)?,
        isp: r.get(7)?,
        name: r.get(8)?,
        description: r.get(9)?,
        resource_group_id: id_from_row(r, 10)?,
        tags: tags_from_row(r, 11)?,
        status: r.get(12)?,
        due_at: r.get(13)?,
        binding,
        created_at: r.get(21)?,
        mode: r.get(22)?,
    })
}

pub(super) fn insert(tx: &SqliteTx<'_>, eip: &Eip) -> Result<(), StoreError> {
    let b = eip.binding.as_ref();
    tx.exec(
        "INSERT INTO eips (id, account_id, region_id, ip, bandwidth, internet_charge_type,
             instance_charge_type, isp, name, description, resource_group_id, tags, status,
             due_at, instance_id, instance_type, eni_id, vpc_id, vswitch_id, private_ip, mode,
             created_at, forward_mode)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21, ?22, ?23)",
        params![
            eip.id.as_str(),
            account_to_sql(eip.account_id),
            eip.region_id,
            i64::from(eip.ip),
            i64::from(eip.bandwidth),
            eip.internet_charge_type,
            eip.instance_charge_type,
            eip.isp,
            eip.name,
            eip.description,
            eip.resource_group_id.as_str(),
            tags_to_sql(&eip.tags)?,
            eip.status,
            eip.due_at,
            b.map(|b| b.instance_id.as_str()),
            b.map(|b| b.instance_type.as_str()),
            b.map(|b| b.eni_id.as_str()),
            b.map(|b| b.vpc_id.as_str()),
            b.map(|b| b.vswitch_id.as_str()),
            b.map(|b| i64::from(b.private_ip)),
            b.map(|_| "NAT"),
            eip.created_at,
            eip.mode,
        ],
        db_err,
    )?;
    Ok(())
}

pub(super) fn get(
    tx: &SqliteTx<'_>,
    account: AccountId,
    id: &EipId,
) -> Result<Option<Eip>, StoreError> {
    tx.query_opt(
        select_eip!("WHERE id = ?1 AND account_id = ?2"),
        params![id.as_str(), account_to_sql(account)],
        eip_from_row,
    )
}

pub(super) fn update(tx: &SqliteTx<'_>, eip: &Eip) -> Result<(), StoreError> {
    let b = eip.binding.as_ref();
    let n = tx.exec(
        "UPDATE eips SET region_id = ?3, ip = ?4, bandwidth = ?5, internet_charge_type = ?6,
             instance_charge_type = ?7, isp = ?8, name = ?9, description = ?10,
             resource_group_id = ?11, tags = ?12, status = ?13, due_at = ?14, instance_id = ?15,
             instance_type = ?16, eni_id = ?17, vpc_id = ?18, vswitch_id = ?19, private_ip = ?20,
             mode = ?21, created_at = ?22, forward_mode = ?23
         WHERE id = ?1 AND account_id = ?2",
        params![
            eip.id.as_str(),
            account_to_sql(eip.account_id),
            eip.region_id,
            i64::from(eip.ip),
            i64::from(eip.bandwidth),
            eip.internet_charge_type,
            eip.instance_charge_type,
            eip.isp,
            eip.name,
            eip.description,
            eip.resource_group_id.as_str(),
            tags_to_sql(&eip.tags)?,
            eip.status,
            eip.due_at,
            b.map(|b| b.instance_id.as_str()),
            b.map(|b| b.instance_type.as_str()),
            b.map(|b| b.eni_id.as_str()),
            b.map(|b| b.vpc_id.as_str()),
            b.map(|b| b.vswitch_id.as_str()),
            b.map(|b| i64::from(b.private_ip)),
            b.map(|_| "NAT"),
            eip.created_at,
            eip.mode,
        ],
        db_err,
    )?;
    if n == 0 {
        // As for ENIs: updating a row the caller did not just read is a bug in the caller.
        return Err(StoreError::Backend(format!(
            "eip_update: no EIP {} in account {}",
            eip.id, eip.account_id
        )));
    }
    Ok(())
}

pub(super) fn delete(
    tx: &SqliteTx<'_>,
    account: AccountId,
    id: &EipId,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM eips WHERE account_id = ?1 AND id = ?2",
        params![account_to_sql(account), id.as_str()],
        db_err,
    )?;
    Ok(n > 0)
}

pub(super) fn list(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<Eip>, StoreError> {
    tx.query_all(
        select_eip!("WHERE account_id = ?1 AND region_id = ?2 ORDER BY seq"),
        params![account_to_sql(account), region],
        eip_from_row,
    )
}

pub(super) fn due(tx: &SqliteTx<'_>, now: i64, limit: u32) -> Result<Vec<Eip>, StoreError> {
    // due_at IS NOT NULL matches the partial index eips_due_idx.
    tx.query_all(
        select_eip!("WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY seq LIMIT ?2"),
        params![now, i64::from(limit)],
        eip_from_row,
    )
}

pub(super) fn awaiting_dataplane(tx: &SqliteTx<'_>) -> Result<Vec<Eip>, StoreError> {
    tx.query_all(
        select_eip!(
            "WHERE due_at IS NULL AND status IN ('Associating', 'Unassociating') ORDER BY seq"
        ),
        [],
        eip_from_row,
    )
}

pub(super) fn of_eni(tx: &SqliteTx<'_>, eni: &EniId) -> Result<Vec<Eip>, StoreError> {
    tx.query_all(
        select_eip!("WHERE eni_id = ?1 ORDER BY seq"),
        [eni.as_str()],
        eip_from_row,
    )
}

pub(super) fn of_enis(tx: &SqliteTx<'_>, enis: &[EniId]) -> Result<Vec<Eip>, StoreError> {
    let ids = serde_json::to_string(enis)
        .map_err(|e| StoreError::Backend(format!("encoding ENI IDs: {e}")))?;
    tx.query_all(
        select_eip!("WHERE eni_id IN (SELECT value FROM json_each(?1)) ORDER BY seq"),
        [ids],
        eip_from_row,
    )
}

/// How many EIPs an account has in a region: the count the triggers keep (0011).
pub(super) fn count(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<u64, StoreError> {
    tx.resource_count(account, region, "eip")
}

/// The held addresses of a range: a range of the unique index of `ip`.
pub(crate) const IPS_IN: &str = "SELECT ip FROM eips WHERE ip BETWEEN ?1 AND ?2 ORDER BY ip";

pub(super) fn ips_in(tx: &SqliteTx<'_>, lo: u32, hi: u32) -> Result<Vec<u32>, StoreError> {
    tx.query_all(IPS_IN, params![i64::from(lo), i64::from(hi)], |r| r.get(0))
}

pub(super) fn pool_exists(tx: &SqliteTx<'_>, pool: &str) -> Result<bool, StoreError> {
    Ok(tx.count("SELECT count(*) FROM eip_pools WHERE id = ?1", [pool])? > 0)
}

pub(super) fn pool_reset(tx: &SqliteTx<'_>, pool: &str) -> Result<(), StoreError> {
    // Every other pool's ranges go with it (eip_free_range_pool_fk cascades), and this
    // pool's own: it starts empty.
    tx.exec("DELETE FROM eip_pools", [], db_err)?;
    tx.exec("INSERT INTO eip_pools (id) VALUES (?1)", [pool], db_err)?;
    Ok(())
}

fn range_from_row(r: &Row<'_>) -> rusqlite::Result<(u32, u32)> {
    Ok((r.get(0)?, r.get(1)?))
}

pub(super) fn free_first(tx: &SqliteTx<'_>, pool: &str) -> Result<Option<(u32, u32)>, StoreError> {
    tx.query_opt(
        "SELECT lo, hi FROM eip_free_ranges WHERE pool_id = ?1 ORDER BY lo LIMIT 1",
        [pool],
        range_from_row,
    )
}

/// The last free range of a pool starting at or below an address.
pub(crate) const FREE_AT_OR_BELOW: &str = "SELECT lo, hi FROM eip_free_ranges
    WHERE pool_id = ?1 AND lo <= ?2 ORDER BY lo DESC LIMIT 1";

pub(super) fn free_containing(
    tx: &SqliteTx<'_>,
    pool: &str,
    ip: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    // Ranges do not overlap: only the last one starting at or below `ip` can contain it.
    let below = tx.query_opt(
        FREE_AT_OR_BELOW,
        params![pool, i64::from(ip)],
        range_from_row,
    )?;
    Ok(below.filter(|&(_, hi)| ip <= hi))
}

pub(super) fn free_list(tx: &SqliteTx<'_>, pool: &str) -> Result<Vec<(u32, u32)>, StoreError> {
    tx.query_all(
        "SELECT lo, hi FROM eip_free_ranges WHERE pool_id = ?1 ORDER BY lo",
        [pool],
        range_from_row,
    )
}

pub(super) fn free_insert(
    tx: &SqliteTx<'_>,
    pool: &str,
    lo: u32,
    hi: u32,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO eip_free_ranges (pool_id, lo, hi) VALUES (?1, ?2, ?3)",
        params![pool, i64::from(lo), i64::from(hi)],
        db_err_fk(fk::EIP_FREE_RANGE_POOL),
    )?;
    Ok(())
}

pub(super) fn free_delete(tx: &SqliteTx<'_>, pool: &str, lo: u32) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM eip_free_ranges WHERE pool_id = ?1 AND lo = ?2",
        params![pool, i64::from(lo)],
        db_err,
    )?;
    Ok(n > 0)
}

/// `SELECT` of the live associations, in the order [`association_from_row`] reads them,
/// then the VPC.
macro_rules! select_association {
    ($rest:literal) => {
        concat!(
            "SELECT id, ip, private_ip, eni_id, vpc_id, bandwidth, forward_mode FROM eips \
             WHERE status IN ('Associating', 'InUse') ",
            $rest
        )
    };
}

fn association_from_row(r: &Row<'_>) -> rusqlite::Result<EipAssociation> {
    Ok(EipAssociation {
        allocation_id: id_from_row(r, 0)?,
        public_ip: Ipv4Addr::from(r.get::<_, u32>(1)?),
        private_ip: Ipv4Addr::from(r.get::<_, u32>(2)?),
        eni_id: id_from_row(r, 3)?,
        bandwidth: r.get(5)?,
        mode: r.get(6)?,
    })
}

pub(super) fn associated_in_vpc(
    tx: &SqliteTx<'_>,
    vpc: &VpcId,
) -> Result<Vec<EipAssociation>, StoreError> {
    tx.query_all(
        select_association!("AND vpc_id = ?1 ORDER BY seq"),
        [vpc.as_str()],
        association_from_row,
    )
}

pub(super) fn associated_all(
    tx: &SqliteTx<'_>,
) -> Result<Vec<(VpcId, EipAssociation)>, StoreError> {
    tx.query_all(select_association!("ORDER BY seq"), [], |r| {
        Ok((id_from_row(r, 4)?, association_from_row(r)?))
    })
}

/// The columns of [`eip_from_row`] over alias `t`.
const COLUMNS: &str = "t.id, t.account_id, t.region_id, t.ip, t.bandwidth, \
     t.internet_charge_type, t.instance_charge_type, t.isp, t.name, t.description, \
     t.resource_group_id, t.tags, t.status, t.due_at, t.instance_id, t.instance_type, t.eni_id, \
     t.vpc_id, t.vswitch_id, t.private_ip, t.mode, t.created_at, t.forward_mode";

fn find(account: AccountId, region: &str, f: &EipFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("eips", account, region, f.ids.is_some() || f.ips.is_some());
    q.one_of("id", f.ids.as_deref())?;
    q.one_of("ip", f.ips.as_deref())?;
    q.eq("instance_id", f.instance_id.as_deref());
    q.eq("instance_type", f.instance_type.as_deref());
    q.eq("status", f.status.as_deref());
    q.eq("name", f.name.as_deref());
    q.eq("isp", f.isp.as_deref());
    q.eq("instance_charge_type", f.instance_charge_type.as_deref());
    q.eq("resource_group_id", f.resource_group_id.as_deref());
    q.tags(&f.tags);
    Ok(q)
}

pub(super) fn find_rows(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &EipFilter,
    window: Window,
) -> Result<Vec<(Position, Eip)>, StoreError> {
    find(account, region, f)?.rows(tx, COLUMNS, window, eip_from_row)
}

pub(super) fn find_count(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &EipFilter,
) -> Result<u64, StoreError> {
    find(account, region, f)?.count(tx)
}
