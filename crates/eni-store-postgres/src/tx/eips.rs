//! Elastic IP addresses and the EIP pool's free list. Port of the SQLite backend's
//! `tx/eips.rs`. The binding (what an EIP is NAT-ed to) lives in the EIP's row as nullable
//! columns that the schema keeps all set or all NULL; the trigger `private_ips_unbind_eip`
//! clears them when the private address is released.
//!
//! The pool's free list (`eip_pools`, `eip_free_ranges`) holds the free public addresses as
//! disjoint ranges, like a vSwitch's `ip_free_ranges`. Addresses are BIGINTs.

use super::find::{Find, Value};
use super::{
    account_from, account_to_sql, get, id_from, opt_id_from, tags_from, tags_to_sql, u32_from, PgTx,
};
use eni_store::{Eip, EipAssociation, EipBinding, EipFilter, Position, StoreError, Window};
use eni_types::ids::{AccountId, EipId, EniId, VSwitchId, VpcId};
use postgres::Row;
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

/// A nullable u32 stored in a BIGINT.
fn opt_u32_from(r: &Row, i: usize) -> Result<Option<u32>, StoreError> {
    let v: Option<i64> = get(r, i)?;
    v.map(|v| {
        u32::try_from(v).map_err(|_| StoreError::Backend(format!("column {i}: {v} is not a u32")))
    })
    .transpose()
}

fn eip_from_row(r: &Row) -> Result<Eip, StoreError> {
    let instance_id: Option<String> = get(r, 14)?;
    let binding = match instance_id {
        None => None,
        Some(instance_id) => {
            let eni_id: Option<EniId> = opt_id_from(r, 16)?;
            let vpc_id: Option<VpcId> = opt_id_from(r, 17)?;
            let vswitch_id: Option<VSwitchId> = opt_id_from(r, 18)?;
            let (
                Some(instance_type),
                Some(eni_id),
                Some(vpc_id),
                Some(vswitch_id),
                Some(ip),
                Some(_nat),
            ) = (
                get::<Option<String>>(r, 15)?,
                eni_id,
                vpc_id,
                vswitch_id,
                opt_u32_from(r, 19)?,
                get::<Option<String>>(r, 20)?,
            )
            else {
                // eip_binding_complete makes this impossible.
                return Err(StoreError::Backend(
                    "column 14: a partial EIP binding".into(),
                ));
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
        id: id_from(r, 0)?,
        account_id: account_from(r, 1)?,
        region_id: get(r, 2)?,
        ip: u32_from(r, 3)?,
        bandwidth: u32_from(r, 4)?,
        internet_charge_type: get(r, 5)?,
        instance_charge_type: get(r, 6)?,
        isp: get(r, 7)?,
        name: get(r, 8)?,
        description: get(r, 9)?,
        resource_group_id: id_from(r, 10)?,
        tags: tags_from(r, 11)?,
        status: get(r, 12)?,
        due_at: get(r, 13)?,
        binding,
        created_at: get(r, 21)?,
        mode: get(r, 22)?,
    })
}

/// Writes every column of `eip`: `sql` names them `$1` (id) .. `$23` (forward_mode) in
/// [`select_eip`]'s order. The binding's own `mode` column is NAT while bound (0008's CHECK);
/// the mode is `forward_mode`.
fn write(tx: &mut PgTx<'_>, sql: &str, eip: &Eip) -> Result<u64, StoreError> {
    let b = eip.binding.as_ref();
    tx.exec(
        sql,
        &[
            &eip.id.as_str(),
            &account_to_sql(eip.account_id),
            &eip.region_id,
            &i64::from(eip.ip),
            &i64::from(eip.bandwidth),
            &eip.internet_charge_type,
            &eip.instance_charge_type,
            &eip.isp,
            &eip.name,
            &eip.description,
            &eip.resource_group_id.as_str(),
            &tags_to_sql(&eip.tags)?,
            &eip.status,
            &eip.due_at,
            &b.map(|b| b.instance_id.as_str()),
            &b.map(|b| b.instance_type.as_str()),
            &b.map(|b| b.eni_id.as_str()),
            &b.map(|b| b.vpc_id.as_str()),
            &b.map(|b| b.vswitch_id.as_str()),
            &b.map(|b| i64::from(b.private_ip)),
            &b.map(|_| "NAT"),
            &eip.created_at,
            &eip.mode,
        ],
    )
}

pub(crate) fn eip_insert(tx: &mut PgTx<'_>, eip: &Eip) -> Result<(), StoreError> {
    write(
        tx,
        "INSERT INTO eips (id, account_id, region_id, ip, bandwidth, internet_charge_type,
             instance_charge_type, isp, name, description, resource_group_id, tags, status,
             due_at, instance_id, instance_type, eni_id, vpc_id, vswitch_id, private_ip, mode,
             created_at, forward_mode)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20, $21, $22, $23)",
        eip,
    )?;
    Ok(())
}

pub(crate) fn eip_get(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &EipId,
) -> Result<Option<Eip>, StoreError> {
    tx.query_opt(
        select_eip!("WHERE id = $1 AND account_id = $2"),
        &[&id.as_str(), &account_to_sql(account)],
        eip_from_row,
    )
}

pub(crate) fn eip_update(tx: &mut PgTx<'_>, eip: &Eip) -> Result<(), StoreError> {
    let n = write(
        tx,
        "UPDATE eips SET region_id = $3, ip = $4, bandwidth = $5, internet_charge_type = $6,
             instance_charge_type = $7, isp = $8, name = $9, description = $10,
             resource_group_id = $11, tags = $12, status = $13, due_at = $14, instance_id = $15,
             instance_type = $16, eni_id = $17, vpc_id = $18, vswitch_id = $19, private_ip = $20,
             mode = $21, created_at = $22, forward_mode = $23
         WHERE id = $1 AND account_id = $2",
        eip,
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

pub(crate) fn eip_delete(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &EipId,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM eips WHERE account_id = $1 AND id = $2",
        &[&account_to_sql(account), &id.as_str()],
    )?;
    Ok(n > 0)
}

pub(crate) fn eip_list(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<Eip>, StoreError> {
    tx.query_all(
        select_eip!("WHERE account_id = $1 AND region_id = $2 ORDER BY seq"),
        &[&account_to_sql(account), &region],
        eip_from_row,
    )
}

pub(crate) fn eip_due(tx: &mut PgTx<'_>, now: i64, limit: u32) -> Result<Vec<Eip>, StoreError> {
    // due_at IS NOT NULL matches the partial index eips_due_idx.
    tx.query_all(
        select_eip!("WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY seq LIMIT $2"),
        &[&now, &i64::from(limit)],
        eip_from_row,
    )
}

pub(crate) fn eips_awaiting_dataplane(tx: &mut PgTx<'_>) -> Result<Vec<Eip>, StoreError> {
    tx.query_all(
        select_eip!(
            "WHERE due_at IS NULL AND status IN ('Associating', 'Unassociating') ORDER BY seq"
        ),
        &[],
        eip_from_row,
    )
}

pub(crate) fn eips_of_eni(tx: &mut PgTx<'_>, eni: &EniId) -> Result<Vec<Eip>, StoreError> {
    tx.query_all(
        select_eip!("WHERE eni_id = $1 ORDER BY seq"),
        &[&eni.as_str()],
        eip_from_row,
    )
}

pub(crate) fn eips_of_enis(tx: &mut PgTx<'_>, enis: &[EniId]) -> Result<Vec<Eip>, StoreError> {
    let ids = serde_json::to_string(enis)
        .map_err(|e| StoreError::Backend(format!("encoding ENI IDs: {e}")))?;
    tx.query_all(
        select_eip!(
            "WHERE eni_id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) ORDER BY seq"
        ),
        &[&ids],
        eip_from_row,
    )
}

/// How many EIPs an account has in a region: the count the triggers keep.
pub(crate) fn eip_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<u64, StoreError> {
    tx.resource_count(account, region, "eip")
}

/// The held addresses of a range: a range of the unique index of `ip`.
const IPS_IN: &str = "SELECT ip FROM eips WHERE ip BETWEEN $1 AND $2 ORDER BY ip";

pub(crate) fn eip_ips_in(tx: &mut PgTx<'_>, lo: u32, hi: u32) -> Result<Vec<u32>, StoreError> {
    tx.query_all(IPS_IN, &[&i64::from(lo), &i64::from(hi)], |r| {
        u32_from(r, 0)
    })
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

fn association_from_row(r: &Row) -> Result<EipAssociation, StoreError> {
    Ok(EipAssociation {
        allocation_id: id_from(r, 0)?,
        public_ip: Ipv4Addr::from(u32_from(r, 1)?),
        private_ip: Ipv4Addr::from(u32_from(r, 2)?),
        eni_id: id_from(r, 3)?,
        bandwidth: u32_from(r, 5)?,
        mode: get(r, 6)?,
    })
}

pub(crate) fn eips_associated_in_vpc(
    tx: &mut PgTx<'_>,
    vpc: &VpcId,
) -> Result<Vec<EipAssociation>, StoreError> {
    tx.query_all(
        select_association!("AND vpc_id = $1 ORDER BY seq"),
        &[&vpc.as_str()],
        association_from_row,
    )
}

pub(crate) fn eips_associated_all(
    tx: &mut PgTx<'_>,
) -> Result<Vec<(VpcId, EipAssociation)>, StoreError> {
    tx.query_all(select_association!("ORDER BY seq"), &[], |r| {
        Ok((id_from(r, 4)?, association_from_row(r)?))
    })
}

/// The columns of [`eip_from_row`] over alias `t`.
const COLUMNS: &str = "t.id, t.account_id, t.region_id, t.ip, t.bandwidth, \
     t.internet_charge_type, t.instance_charge_type, t.isp, t.name, t.description, \
     t.resource_group_id, t.tags, t.status, t.due_at, t.instance_id, t.instance_type, t.eni_id, \
     t.vpc_id, t.vswitch_id, t.private_ip, t.mode, t.created_at, t.forward_mode";

fn find(account: AccountId, region: &str, f: &EipFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("eips", account, region);
    q.one_of("id", f.ids.as_deref())?;
    if let Some(ips) = &f.ips {
        // `one_of` compares text; the addresses are BIGINTs.
        let list = serde_json::to_string(ips)
            .map_err(|e| StoreError::Backend(format!("encoding addresses: {e}")))?;
        q.cond(
            "t.ip IN (SELECT x::bigint FROM jsonb_array_elements_text({}::text::jsonb) AS x)",
            Value::Text(list),
        );
    }
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

pub(crate) fn eip_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &EipFilter,
    window: Window,
) -> Result<Vec<(Position, Eip)>, StoreError> {
    find(account, region, filter)?.rows(tx, COLUMNS, window, eip_from_row)
}

pub(crate) fn eip_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &EipFilter,
) -> Result<u64, StoreError> {
    find(account, region, filter)?.count(tx)
}

pub(crate) fn eip_pool_exists(tx: &mut PgTx<'_>, pool: &str) -> Result<bool, StoreError> {
    Ok(tx.count("SELECT count(*) FROM eip_pools WHERE id = $1", &[&pool])? > 0)
}

pub(crate) fn eip_pool_reset(tx: &mut PgTx<'_>, pool: &str) -> Result<(), StoreError> {
    // Every other pool's ranges go with it (eip_free_range_pool_fk cascades), and this
    // pool's own: it starts empty.
    tx.atomically(|tx| {
        tx.exec("DELETE FROM eip_pools", &[])?;
        tx.exec("INSERT INTO eip_pools (id) VALUES ($1)", &[&pool])?;
        Ok(())
    })
}

fn range_from_row(r: &Row) -> Result<(u32, u32), StoreError> {
    Ok((u32_from(r, 0)?, u32_from(r, 1)?))
}

pub(crate) fn eip_free_first(
    tx: &mut PgTx<'_>,
    pool: &str,
) -> Result<Option<(u32, u32)>, StoreError> {
    tx.query_opt(
        "SELECT lo, hi FROM eip_free_ranges WHERE pool_id = $1 ORDER BY lo LIMIT 1",
        &[&pool],
        range_from_row,
    )
}

/// The last free range of a pool starting at or below an address.
const FREE_AT_OR_BELOW: &str = "SELECT lo, hi FROM eip_free_ranges
    WHERE pool_id = $1 AND lo <= $2 ORDER BY lo DESC LIMIT 1";

pub(crate) fn eip_free_containing(
    tx: &mut PgTx<'_>,
    pool: &str,
    ip: u32,
) -> Result<Option<(u32, u32)>, StoreError> {
    // Ranges do not overlap: only the last one starting at or below `ip` can contain it.
    let below = tx.query_opt(FREE_AT_OR_BELOW, &[&pool, &i64::from(ip)], range_from_row)?;
    Ok(below.filter(|&(_, hi)| ip <= hi))
}

pub(crate) fn eip_free_list(tx: &mut PgTx<'_>, pool: &str) -> Result<Vec<(u32, u32)>, StoreError> {
    tx.query_all(
        "SELECT lo, hi FROM eip_free_ranges WHERE pool_id = $1 ORDER BY lo",
        &[&pool],
        range_from_row,
    )
}

pub(crate) fn eip_free_insert(
    tx: &mut PgTx<'_>,
    pool: &str,
    lo: u32,
    hi: u32,
) -> Result<(), StoreError> {
    // An unrecorded pool is eip_free_range_pool_fk, named by PostgreSQL.
    tx.exec(
        "INSERT INTO eip_free_ranges (pool_id, lo, hi) VALUES ($1, $2, $3)",
        &[&pool, &i64::from(lo), &i64::from(hi)],
    )?;
    Ok(())
}

pub(crate) fn eip_free_delete(tx: &mut PgTx<'_>, pool: &str, lo: u32) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM eip_free_ranges WHERE pool_id = $1 AND lo = $2",
        &[&pool, &i64::from(lo)],
    )?;
    Ok(n > 0)
}
