//! Security group rules (`security_group_rules`, 0007) and each group's inner access policy
//! (a column of `security_groups`). Unset optional fields are stored as '' so that the unique
//! key `security_group_rule_unique` compares them; the peer group is a nullable foreign key
//! mirrored in `peer_key` for that key.

use super::{account_to_sql, corrupt, id_from_row, opt_id_from_row, SqliteTx};
use crate::errors::{conflict, db_err, is_foreign_key_failure};
use eni_store::constraints::{SG_RULE_GROUP_FK, SG_RULE_PEER_FK};
use eni_store::{SecurityGroupRule, SgDirection, SgPolicy, SgPortRange, SgProtocol, StoreError};
use eni_types::ids::{AccountId, SecurityGroupId, SecurityGroupRuleId};
use rusqlite::{params, Row};

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
pub(crate) const RULES_OF: &str = select_rule!("WHERE security_group_id = ?1 ORDER BY seq");

const INSERT: &str = "INSERT INTO security_group_rules (id, security_group_id, direction,
         ip_protocol, port_from, port_to, source_port_range, source_cidr_ip, ipv6_source_cidr_ip,
         dest_cidr_ip, ipv6_dest_cidr_ip, peer_group_id, peer_key, policy, priority, nic_type,
         description, created_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

fn port_range_to_sql(r: Option<SgPortRange>) -> String {
    r.map_or_else(String::new, |(a, b)| format!("{a}/{b}"))
}

fn port_range_from_row(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<SgPortRange>> {
    let text: String = r.get(i)?;
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

fn rule_from_row(r: &Row<'_>) -> rusqlite::Result<SecurityGroupRule> {
    let direction: String = r.get(2)?;
    let protocol: String = r.get(3)?;
    let policy: String = r.get(12)?;
    Ok(SecurityGroupRule {
        id: id_from_row(r, 0)?,
        security_group_id: id_from_row(r, 1)?,
        direction: SgDirection::parse(&direction)
            .ok_or_else(|| corrupt(2, format!("direction {direction:?}")))?,
        protocol: SgProtocol::parse(&protocol)
            .ok_or_else(|| corrupt(3, format!("protocol {protocol:?}")))?,
        port_range: (r.get(4)?, r.get(5)?),
        source_port_range: port_range_from_row(r, 6)?,
        source_cidr_ip: r.get(7)?,
        ipv6_source_cidr_ip: r.get(8)?,
        dest_cidr_ip: r.get(9)?,
        ipv6_dest_cidr_ip: r.get(10)?,
        peer_group_id: opt_id_from_row(r, 11)?,
        policy: SgPolicy::parse(&policy)
            .ok_or_else(|| corrupt(12, format!("policy {policy:?}")))?,
        priority: r.get(13)?,
        nic_type: r.get(14)?,
        description: r.get(15)?,
        created_at: r.get(16)?,
    })
}

/// Runs `sql` (INSERT or UPDATE) with every column of `rule`, in [`INSERT`]'s order.
fn write(tx: &SqliteTx<'_>, sql: &str, rule: &SecurityGroupRule) -> rusqlite::Result<usize> {
    let peer = rule.peer_group_id.as_ref().map(|g| g.as_str());
    tx.conn.prepare_cached(sql)?.execute(params![
        rule.id.as_str(),
        rule.security_group_id.as_str(),
        rule.direction.as_str(),
        rule.protocol.as_str(),
        rule.port_range.0,
        rule.port_range.1,
        port_range_to_sql(rule.source_port_range),
        rule.source_cidr_ip,
        rule.ipv6_source_cidr_ip,
        rule.dest_cidr_ip,
        rule.ipv6_dest_cidr_ip,
        peer,
        peer.unwrap_or(""),
        rule.policy.as_str(),
        rule.priority,
        rule.nic_type,
        rule.description,
        rule.created_at
    ])
}

pub(super) fn insert(tx: &SqliteTx<'_>, rule: &SecurityGroupRule) -> Result<(), StoreError> {
    match write(tx, INSERT, rule) {
        Ok(_) => Ok(()),
        Err(e) if is_foreign_key_failure(&e) => {
            // SQLite does not say which key failed: the group's, unless the group exists.
            let group_exists = tx.count(
                "SELECT count(*) FROM security_groups WHERE id = ?1",
                [rule.security_group_id.as_str()],
            )? > 0;
            Err(conflict(if group_exists {
                SG_RULE_PEER_FK
            } else {
                SG_RULE_GROUP_FK
            }))
        }
        Err(e) => Err(db_err(e)),
    }
}

/// Every column but the ID, the group, the direction and the creation time, which stay.
const UPDATE: &str = "UPDATE security_group_rules SET ip_protocol = ?4, port_from = ?5,
         port_to = ?6, source_port_range = ?7, source_cidr_ip = ?8, ipv6_source_cidr_ip = ?9,
         dest_cidr_ip = ?10, ipv6_dest_cidr_ip = ?11, peer_group_id = ?12, peer_key = ?13,
         policy = ?14, priority = ?15, nic_type = ?16, description = ?17
     WHERE id = ?1 AND security_group_id = ?2 AND direction = ?3 AND created_at = ?18";

pub(super) fn update(tx: &SqliteTx<'_>, rule: &SecurityGroupRule) -> Result<bool, StoreError> {
    match write(tx, UPDATE, rule) {
        Ok(n) => Ok(n > 0),
        // The group is the row's own: a key that fails is the peer's.
        Err(e) if is_foreign_key_failure(&e) => Err(conflict(SG_RULE_PEER_FK)),
        Err(e) => Err(db_err(e)),
    }
}

pub(super) fn delete(
    tx: &SqliteTx<'_>,
    group: &SecurityGroupId,
    id: &SecurityGroupRuleId,
) -> Result<bool, StoreError> {
    let n = tx.exec(
        "DELETE FROM security_group_rules WHERE security_group_id = ?1 AND id = ?2",
        params![group.as_str(), id.as_str()],
        db_err,
    )?;
    Ok(n > 0)
}

pub(super) fn rules_of(
    tx: &SqliteTx<'_>,
    group: &SecurityGroupId,
) -> Result<Vec<SecurityGroupRule>, StoreError> {
    tx.query_all(RULES_OF, [group.as_str()], rule_from_row)
}

pub(super) fn rules_all(tx: &SqliteTx<'_>) -> Result<Vec<SecurityGroupRule>, StoreError> {
    tx.query_all(select_rule!("ORDER BY seq"), [], rule_from_row)
}

pub(super) fn inner_access_policy(
    tx: &SqliteTx<'_>,
    group: &SecurityGroupId,
) -> Result<Option<SgPolicy>, StoreError> {
    let text: Option<String> = tx.query_opt(
        "SELECT inner_access_policy FROM security_groups WHERE id = ?1",
        [group.as_str()],
        |r| r.get(0),
    )?;
    text.map(|t| {
        SgPolicy::parse(&t).ok_or_else(|| StoreError::Backend(format!("inner access policy {t:?}")))
    })
    .transpose()
}

pub(super) fn inner_access_policies_all(
    tx: &SqliteTx<'_>,
) -> Result<Vec<(SecurityGroupId, SgPolicy)>, StoreError> {
    tx.query_all(
        "SELECT id, inner_access_policy FROM security_groups ORDER BY seq",
        [],
        |r| {
            let text: String = r.get(1)?;
            let policy = SgPolicy::parse(&text)
                .ok_or_else(|| corrupt(1, format!("inner access policy {text:?}")))?;
            Ok((id_from_row(r, 0)?, policy))
        },
    )
}

pub(super) fn set_inner_access_policy(
    tx: &SqliteTx<'_>,
    account: AccountId,
    group: &SecurityGroupId,
    policy: SgPolicy,
) -> Result<bool, StoreError> {
    // The WHERE skips an unchanged row, so setting the same policy again wakes no agent.
    let n = tx.exec(
        "UPDATE security_groups SET inner_access_policy = ?3
         WHERE account_id = ?1 AND id = ?2 AND inner_access_policy <> ?3",
        params![account_to_sql(account), group.as_str(), policy.as_str()],
        db_err,
    )?;
    if n > 0 {
        return Ok(true);
    }
    Ok(tx.count(
        "SELECT count(*) FROM security_groups WHERE account_id = ?1 AND id = ?2",
        params![account_to_sql(account), group.as_str()],
    )? > 0)
}
