//! Security group rules (`security_group_rules`) and each group's inner access policy (a
//! column of `security_groups`). Port of the SQLite backend's `tx/security_group_rules.rs`.
//! Unset optional fields are stored as '' so that the unique key `security_group_rule_unique`
//! compares them; the peer group is a nullable foreign key mirrored in `peer_key` for that
//! key. PostgreSQL names a refusing foreign key itself (`security_group_rule_group_fk`, or
//! `security_group_rule_peer_fk`), so no guessing is needed.

use super::security_groups::policy_from;
use super::{account_to_sql, get, id_from, opt_id_from, u32_from, PgTx};
use eni_store::{SecurityGroupRule, SgDirection, SgPolicy, SgPortRange, SgProtocol, StoreError};
use eni_types::ids::{AccountId, SecurityGroupId, SecurityGroupRuleId};
use postgres::Row;

/// `SELECT` of every rule column, in the order [`rule_from_row`] reads them.
macro_rules! select_rule {
    ($rest:literal) => {
        concat!(
            "SELECT id, security_group_id, direction, ip_protocol, port_from, port_to, \
             source_port_range, source_cidr_ip, ipv6_source_cidr_ip, dest_cidr_ip, \
             ipv6_dest_cidr_ip, peer_group_id, policy, priority, nic_type, description, \
             created_at FROM security_group_rules ",
            $rest
        )
    };
}

/// Every rule of a group, oldest first (served by `security_group_rules_group_idx`).
const RULES_OF: &str = select_rule!("WHERE security_group_id = $1 ORDER BY seq");

const INSERT: &str = "INSERT INTO security_group_rules (id, security_group_id, direction,
         ip_protocol, port_from, port_to, source_port_range, source_cidr_ip, ipv6_source_cidr_ip,
         dest_cidr_ip, ipv6_dest_cidr_ip, peer_group_id, peer_key, policy, priority, nic_type,
         description, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

fn corrupt(i: usize, what: String) -> StoreError {
    StoreError::Backend(format!("column {i}: {what}"))
}

fn port_range_to_sql(r: Option<SgPortRange>) -> String {
    r.map_or_else(String::new, |(a, b)| format!("{a}/{b}"))
}

fn port_range_from(r: &Row, i: usize) -> Result<Option<SgPortRange>, StoreError> {
    let text: String = get(r, i)?;
    if text.is_empty() {
        return Ok(None);
    }
    let parsed = text
        .split_once('/')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    parsed
        .map(Some)
        .ok_or_else(|| corrupt(i, format!("port range {text:?}")))
}

/// A port (an i32 in a BIGINT).
fn port_from(r: &Row, i: usize) -> Result<i32, StoreError> {
    let v: i64 = get(r, i)?;
    i32::try_from(v).map_err(|_| corrupt(i, format!("port {v}")))
}

fn rule_from_row(r: &Row) -> Result<SecurityGroupRule, StoreError> {
    let direction: String = get(r, 2)?;
    let protocol: String = get(r, 3)?;
    Ok(SecurityGroupRule {
        id: id_from(r, 0)?,
        security_group_id: id_from(r, 1)?,
        direction: SgDirection::parse(&direction)
            .ok_or_else(|| corrupt(2, format!("direction {direction:?}")))?,
        protocol: SgProtocol::parse(&protocol)
            .ok_or_else(|| corrupt(3, format!("protocol {protocol:?}")))?,
        port_range: (port_from(r, 4)?, port_from(r, 5)?),
        source_port_range: port_range_from(r, 6)?,
        source_cidr_ip: get(r, 7)?,
        ipv6_source_cidr_ip: get(r, 8)?,
        dest_cidr_ip: get(r, 9)?,
        ipv6_dest_cidr_ip: get(r, 10)?,
        peer_group_id: opt_id_from(r, 11)?,
        policy: policy_from(r, 12)?,
        priority: u32_from(r, 13)?,
        nic_type: get(r, 14)?,
        description: get(r, 15)?,
        created_at: get(r, 16)?,
    })
}

/// Runs `sql` (INSERT or UPDATE) with every column of `rule`, in [`INSERT`]'s order.
fn write(tx: &mut PgTx<'_>, sql: &str, rule: &SecurityGroupRule) -> Result<u64, StoreError> {
    let peer = rule.peer_group_id.as_ref().map(|g| g.as_str());
    tx.exec(
        sql,
        &[
            &rule.id.as_str(),
            &rule.security_group_id.as_str(),
            &rule.direction.as_str(),
            &rule.protocol.as_str(),
            &i64::from(rule.port_range.0),
            &i64::from(rule.port_range.1),
            &port_range_to_sql(rule.source_port_range),
            &rule.source_cidr_ip,
            &rule.ipv6_source_cidr_ip,
            &rule.dest_cidr_ip,
            &rule.ipv6_dest_cidr_ip,
            &peer,
            &peer.unwrap_or(""),
            &rule.policy.as_str(),
            &i64::from(rule.priority),
            &rule.nic_type,
            &rule.description,
            &rule.created_at,
        ],
    )
}

pub(crate) fn sg_rule_insert(
    tx: &mut PgTx<'_>,
    rule: &SecurityGroupRule,
) -> Result<(), StoreError> {
    write(tx, INSERT, rule).map(|_| ())
}

/// Every column but the ID, the group, the direction and the creation time, which stay.
const UPDATE: &str = "UPDATE security_group_rules SET ip_protocol = $4, port_from = $5,
         port_to = $6, source_port_range = $7, source_cidr_ip = $8, ipv6_source_cidr_ip = $9,
         dest_cidr_ip = $10, ipv6_dest_cidr_ip = $11, peer_group_id = $12, peer_key = $13,
         policy = $14, priority = $15, nic_type = $16, description = $17
     WHERE id = $1 AND security_group_id = $2 AND direction = $3 AND created_at = $18";

pub(crate) fn sg_rule_update(
    tx: &mut PgTx<'_>,
    rule: &SecurityGroupRule,
) -> Result<bool, StoreError> {
    Ok(write(tx, UPDATE, rule)? > 0)
}

pub(crate) fn sg_rule_delete(
    tx: &mut PgTx<'_>,
    group: &SecurityGroupId,
    id: &SecurityGroupRuleId,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM security_group_rules WHERE security_group_id = $1 AND id = $2",
        &[&group.as_str(), &id.as_str()],
    )?;
    Ok(n > 0)
}

pub(crate) fn sg_rules_of(
    tx: &mut PgTx<'_>,
    group: &SecurityGroupId,
) -> Result<Vec<SecurityGroupRule>, StoreError> {
    tx.query_all(RULES_OF, &[&group.as_str()], rule_from_row)
}

pub(crate) fn sg_rules_all(tx: &mut PgTx<'_>) -> Result<Vec<SecurityGroupRule>, StoreError> {
    tx.query_all(select_rule!("ORDER BY seq"), &[], rule_from_row)
}

pub(crate) fn sg_inner_access_policy(
    tx: &mut PgTx<'_>,
    group: &SecurityGroupId,
) -> Result<Option<SgPolicy>, StoreError> {
    tx.query_opt(
        "SELECT inner_access_policy FROM security_groups WHERE id = $1",
        &[&group.as_str()],
        |r| policy_from(r, 0),
    )
}

pub(crate) fn sg_inner_access_policies_all(
    tx: &mut PgTx<'_>,
) -> Result<Vec<(SecurityGroupId, SgPolicy)>, StoreError> {
    tx.query_all(
        "SELECT id, inner_access_policy FROM security_groups ORDER BY seq",
        &[],
        |r| Ok((id_from(r, 0)?, policy_from(r, 1)?)),
    )
}

pub(crate) fn sg_inner_access_policy_set(
    tx: &mut PgTx<'_>,
    account: AccountId,
    group: &SecurityGroupId,
    policy: SgPolicy,
) -> Result<bool, StoreError> {
    // The WHERE skips an unchanged row, so setting the same policy again wakes no agent.
    let n = tx.exec(
        "UPDATE security_groups SET inner_access_policy = $3
         WHERE account_id = $1 AND id = $2 AND inner_access_policy <> $3",
        &[&account_to_sql(account), &group.as_str(), &policy.as_str()],
    )?;
    if n > 0 {
        return Ok(true);
    }
    Ok(tx.count(
        "SELECT count(*) FROM security_groups WHERE account_id = $1 AND id = $2",
        &[&account_to_sql(account), &group.as_str()],
    )? > 0)
}
