//! Elastic IP addresses. The binding (what an EIP is NAT-ed to) lives in the EIP's row as
//! nullable columns that the schema keeps all set or all NULL; the trigger
//! `private_ips_unbind_eip` clears them when the private address is released.

use super::{
    account_from_sql, account_to_sql, corrupt, id_from_row, opt_id_from_row, tags_from_row,
    tags_to_sql, SqliteTx,
};
use crate::errors::db_err;
use eni_store::{Eip, EipAssociation, EipBinding, StoreError};
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
             created_at FROM eips ",
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
                Some(mode),
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
                mode,
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
    })
}

pub(super) fn insert(tx: &SqliteTx<'_>, eip: &Eip) -> Result<(), StoreError> {
    let b = eip.binding.as_ref();
    tx.exec(
        "INSERT INTO eips (id, account_id, region_id, ip, bandwidth, internet_charge_type,
             instance_charge_type, isp, name, description, resource_group_id, tags, status,
             due_at, instance_id, instance_type, eni_id, vpc_id, vswitch_id, private_ip, mode,
             created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21, ?22)",
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
            b.map(|b| b.mode.as_str()),
            eip.created_at,
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
             mode = ?21, created_at = ?22
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
            b.map(|b| b.mode.as_str()),
            eip.created_at,
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

/// The lowest free address is `lo` itself, or the address after a held one whose successor
/// is free; both probes walk the unique index of `ip`, so the cost grows with the number of
/// held addresses below the answer, never with the size of the pool.
pub(super) fn first_free_ip(
    tx: &SqliteTx<'_>,
    lo: u32,
    hi: u32,
) -> Result<Option<u32>, StoreError> {
    let (lo, hi) = (i64::from(lo), i64::from(hi));
    if lo > hi {
        return Ok(None);
    }
    let lo_held = tx.count("SELECT count(*) FROM eips WHERE ip = ?1", [lo])? > 0;
    if !lo_held {
        return Ok(Some(lo as u32));
    }
    let next: Option<i64> = tx.query_opt(
        "SELECT e.ip + 1 FROM eips AS e
         WHERE e.ip BETWEEN ?1 AND ?2 - 1
           AND NOT EXISTS (SELECT 1 FROM eips AS f WHERE f.ip = e.ip + 1)
         ORDER BY e.ip LIMIT 1",
        params![lo, hi],
        |r| r.get(0),
    )?;
    Ok(next.map(|n| n as u32))
}

/// `SELECT` of the live associations, in the order [`association_from_row`] reads them,
/// then the VPC.
macro_rules! select_association {
    ($rest:literal) => {
        concat!(
            "SELECT id, ip, private_ip, eni_id, vpc_id FROM eips \
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
