//! Security groups. Their members are rows of `eni_security_groups`, written with the ENI
//! (see `enis.rs`); a group with members, or named by another group's rule, cannot be
//! deleted. Rules and the inner access policy are in `security_group_rules.rs`.

use super::find::Find;
use super::{
    account_from_sql, account_to_sql, corrupt, id_from_row, tags_from_row, tags_to_sql, SqliteTx,
};
use crate::errors::db_err_fk;
use eni_store::{Position, SecurityGroup, SecurityGroupFilter, SgPolicy, StoreError, Window};
use eni_types::ids::{AccountId, SecurityGroupId, VpcId};
use rusqlite::{params, Row};

/// `SELECT` of every security group column, in the order [`security_group_from_row`] reads
/// them.
macro_rules! select_security_group {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, region_id, vpc_id, name, description, group_type, \
             resource_group_id, tags, created_at, inner_access_policy FROM security_groups ",
            $rest
        )
    };
}

fn security_group_from_row(r: &Row<'_>) -> rusqlite::Result<SecurityGroup> {
    Ok(SecurityGroup {
        id: id_from_row(r, 0)?,
        account_id: account_from_sql(r.get(1)?),
        region_id: r.get(2)?,
        vpc_id: id_from_row(r, 3)?,
        name: r.get(4)?,
        description: r.get(5)?,
        group_type: r.get(6)?,
        resource_group_id: id_from_row(r, 7)?,
        tags: tags_from_row(r, 8)?,
        created_at: r.get(9)?,
        inner_access_policy: {
            let text: String = r.get(10)?;
            SgPolicy::parse(&text)
                .ok_or_else(|| corrupt(10, format!("inner access policy {text:?}")))?
        },
    })
}

pub(super) fn insert(tx: &SqliteTx<'_>, sg: &SecurityGroup) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO security_groups (id, account_id, region_id, vpc_id, name, description,
             group_type, resource_group_id, tags, created_at, inner_access_policy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            sg.id.as_str(),
            account_to_sql(sg.account_id),
            sg.region_id,
            sg.vpc_id.as_str(),
            sg.name,
            sg.description,
            sg.group_type,
            sg.resource_group_id.as_str(),
            tags_to_sql(&sg.tags)?,
            sg.created_at,
            sg.inner_access_policy.as_str()
        ],
        db_err_fk(eni_store::constraints::SECURITY_GROUP_VPC_FK),
    )?;
    Ok(())
}

pub(super) fn get(
    tx: &SqliteTx<'_>,
    account: AccountId,
    id: &SecurityGroupId,
) -> Result<Option<SecurityGroup>, StoreError> {
    tx.query_opt(
        select_security_group!("WHERE account_id = ?1 AND id = ?2"),
        params![account_to_sql(account), id.as_str()],
        security_group_from_row,
    )
}

pub(super) fn list(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<SecurityGroup>, StoreError> {
    tx.query_all(
        select_security_group!("WHERE account_id = ?1 AND region_id = ?2 ORDER BY seq"),
        params![account_to_sql(account), region],
        security_group_from_row,
    )
}

pub(super) fn delete(
    tx: &SqliteTx<'_>,
    account: AccountId,
    id: &SecurityGroupId,
) -> Result<bool, StoreError> {
    let n = tx.delete_parent(
        "DELETE FROM security_groups WHERE account_id = ?1 AND id = ?2",
        params![account_to_sql(account), id.as_str()],
        "security_groups",
        id.as_str(),
    )?;
    Ok(n > 0)
}

/// A group's members, kept by 0012's triggers under the group's account and region (one
/// probe, where counting the memberships grew with the group).
pub(crate) const MEMBER_COUNT: &str = "SELECT coalesce(sum(n), 0) FROM eni_counts \
     WHERE (account_id, region_id) = \
         (SELECT account_id, region_id FROM security_groups WHERE id = ?1) \
     AND dim = 'members' AND value = ?1";

pub(super) fn member_count(tx: &SqliteTx<'_>, id: &SecurityGroupId) -> Result<u64, StoreError> {
    tx.count(MEMBER_COUNT, [id.as_str()])
}

pub(super) fn count_in_vpc(tx: &SqliteTx<'_>, vpc: &VpcId) -> Result<u64, StoreError> {
    tx.count(
        "SELECT count(*) FROM security_groups WHERE vpc_id = ?1",
        [vpc.as_str()],
    )
}

/// The columns of [`security_group_from_row`] over alias `t`.
const COLUMNS: &str = "t.id, t.account_id, t.region_id, t.vpc_id, t.name, t.description, \
     t.group_type, t.resource_group_id, t.tags, t.created_at, t.inner_access_policy";

fn find(account: AccountId, region: &str, f: &SecurityGroupFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("security_groups", account, region, f.ids.is_some());
    q.one_of("id", f.ids.as_deref())?;
    q.eq("vpc_id", f.vpc_id.as_ref().map(|v| v.as_str()));
    q.eq("name", f.name.as_deref());
    q.eq("group_type", f.group_type.as_deref());
    q.eq("resource_group_id", f.resource_group_id.as_deref());
    q.tags(&f.tags);
    Ok(q)
}

pub(super) fn find_rows(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &SecurityGroupFilter,
    window: Window,
) -> Result<Vec<(Position, SecurityGroup)>, StoreError> {
    find(account, region, f)?.rows(tx, COLUMNS, window, security_group_from_row)
}

pub(super) fn find_count(
    tx: &SqliteTx<'_>,
    account: AccountId,
    region: &str,
    f: &SecurityGroupFilter,
) -> Result<u64, StoreError> {
    find(account, region, f)?.count(tx)
}
