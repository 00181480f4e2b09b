//! Security groups. Port of the SQLite backend's `tx/security_groups.rs`. Their members are
//! rows of `eni_security_groups`, written with the ENI (see `enis.rs`); a group with members,
//! or named by another group's rule, cannot be deleted, and PostgreSQL names the refusing
//! key itself. Rules and the inner access policy are in `security_group_rules.rs`.

use super::find::Find;
use super::{account_from, account_to_sql, get, id_from, tags_from, tags_to_sql, PgTx};
use eni_store::constraints::{ENI_SECURITY_GROUP_FK, SG_RULE_PEER_FK};
use eni_store::{Position, SecurityGroup, SecurityGroupFilter, SgPolicy, StoreError, Window};
use eni_types::ids::{AccountId, SecurityGroupId, VpcId};
use postgres::Row;

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

/// A policy column (`Accept` or `Drop`); anything else is a corrupt row.
pub(super) fn policy_from(r: &Row, i: usize) -> Result<SgPolicy, StoreError> {
    let text: String = get(r, i)?;
    SgPolicy::parse(&text)
        .ok_or_else(|| StoreError::Backend(format!("column {i}: policy {text:?}")))
}

fn security_group_from_row(r: &Row) -> Result<SecurityGroup, StoreError> {
    Ok(SecurityGroup {
        id: id_from(r, 0)?,
        account_id: account_from(r, 1)?,
        region_id: get(r, 2)?,
        vpc_id: id_from(r, 3)?,
        name: get(r, 4)?,
        description: get(r, 5)?,
        group_type: get(r, 6)?,
        resource_group_id: id_from(r, 7)?,
        tags: tags_from(r, 8)?,
        created_at: get(r, 9)?,
        inner_access_policy: policy_from(r, 10)?,
    })
}

pub(crate) fn security_group_insert(
    tx: &mut PgTx<'_>,
    sg: &SecurityGroup,
) -> Result<(), StoreError> {
    // A missing VPC is security_group_vpc_fk, named by PostgreSQL.
    tx.exec(
        "INSERT INTO security_groups (id, account_id, region_id, vpc_id, name, description,
             group_type, resource_group_id, tags, created_at, inner_access_policy)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &sg.id.as_str(),
            &account_to_sql(sg.account_id),
            &sg.region_id,
            &sg.vpc_id.as_str(),
            &sg.name,
            &sg.description,
            &sg.group_type,
            &sg.resource_group_id.as_str(),
            &tags_to_sql(&sg.tags)?,
            &sg.created_at,
            &sg.inner_access_policy.as_str(),
        ],
    )?;
    Ok(())
}

pub(crate) fn security_group_get(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &SecurityGroupId,
) -> Result<Option<SecurityGroup>, StoreError> {
    tx.query_opt(
        select_security_group!("WHERE account_id = $1 AND id = $2"),
        &[&account_to_sql(account), &id.as_str()],
        security_group_from_row,
    )
}

pub(crate) fn security_group_list(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
) -> Result<Vec<SecurityGroup>, StoreError> {
    tx.query_all(
        select_security_group!("WHERE account_id = $1 AND region_id = $2 ORDER BY seq"),
        &[&account_to_sql(account), &region],
        security_group_from_row,
    )
}

/// The columns of [`security_group_from_row`] over alias `t`.
const COLUMNS: &str = "t.id, t.account_id, t.region_id, t.vpc_id, t.name, t.description, \
     t.group_type, t.resource_group_id, t.tags, t.created_at, t.inner_access_policy";

fn find(account: AccountId, region: &str, f: &SecurityGroupFilter) -> Result<Find, StoreError> {
    let mut q = Find::new("security_groups", account, region);
    q.one_of("id", f.ids.as_deref())?;
    q.eq("vpc_id", f.vpc_id.as_ref().map(|v| v.as_str()));
    q.eq("name", f.name.as_deref());
    q.eq("group_type", f.group_type.as_deref());
    q.eq("resource_group_id", f.resource_group_id.as_deref());
    q.tags(&f.tags);
    Ok(q)
}

pub(crate) fn security_group_find(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &SecurityGroupFilter,
    window: Window,
) -> Result<Vec<(Position, SecurityGroup)>, StoreError> {
    find(account, region, filter)?.rows(tx, COLUMNS, window, security_group_from_row)
}

pub(crate) fn security_group_find_count(
    tx: &mut PgTx<'_>,
    account: AccountId,
    region: &str,
    filter: &SecurityGroupFilter,
) -> Result<u64, StoreError> {
    find(account, region, filter)?.count(tx)
}

pub(crate) fn security_group_delete(
    tx: &mut PgTx<'_>,
    account: AccountId,
    id: &SecurityGroupId,
) -> Result<bool, StoreError> {
    // A refusing key names itself (eni_security_group_sg_fk for a member,
    // security_group_rule_peer_fk for another group's rule); the group's own rules cascade.
    // When both refuse, PostgreSQL names whichever check runs first (the order its foreign
    // keys were created in); the contract names members before references, so a refusal by
    // a rule is checked for members too.
    let result = tx.exec(
        "DELETE FROM security_groups WHERE account_id = $1 AND id = $2",
        &[&account_to_sql(account), &id.as_str()],
    );
    match result {
        Ok(n) => Ok(n > 0),
        Err(e) if e.is_conflict_on(SG_RULE_PEER_FK) => {
            let members = tx.count(
                "SELECT count(*) FROM (SELECT 1 FROM eni_security_groups
                     WHERE security_group_id = $1 LIMIT 1) m",
                &[&id.as_str()],
            )?;
            if members > 0 {
                return Err(StoreError::Conflict {
                    constraint: ENI_SECURITY_GROUP_FK.to_string(),
                });
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// A group's members, kept by the triggers under the group's account and region (one probe,
/// where counting the memberships grew with the group). `sum` of a BIGINT is NUMERIC in
/// PostgreSQL, hence the cast.
const MEMBER_COUNT: &str = "SELECT coalesce(sum(n), 0)::bigint FROM eni_counts \
     WHERE (account_id, region_id) = \
         (SELECT account_id, region_id FROM security_groups WHERE id = $1) \
     AND dim = 'members' AND value = $1";

pub(crate) fn security_group_member_count(
    tx: &mut PgTx<'_>,
    id: &SecurityGroupId,
) -> Result<u64, StoreError> {
    tx.count(MEMBER_COUNT, &[&id.as_str()])
}

pub(crate) fn security_group_count_in_vpc(
    tx: &mut PgTx<'_>,
    vpc: &VpcId,
) -> Result<u64, StoreError> {
    tx.count(
        "SELECT count(*) FROM security_groups WHERE vpc_id = $1",
        &[&vpc.as_str()],
    )
}
