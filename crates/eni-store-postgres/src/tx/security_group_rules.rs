//! Security group rules and inner access policies. Port of the SQLite backend's `tx/security_group_rules.rs`.

use super::{not_yet, PgTx};
#[allow(unused_imports)]
use eni_store::*;
#[allow(unused_imports)]
use eni_types::ids::*;

pub(crate) fn sg_rule_insert(
    tx: &mut PgTx<'_>,
    rule: &SecurityGroupRule,
) -> Result<(), StoreError> {
    let _ = (tx, rule);
    Err(not_yet("sg_rule_insert"))
}

pub(crate) fn sg_rule_delete(
    tx: &mut PgTx<'_>,
    group: &SecurityGroupId,
    id: &SecurityGroupRuleId,
) -> Result<bool, StoreError> {
    let _ = (tx, group, id);
    Err(not_yet("sg_rule_delete"))
}

pub(crate) fn sg_rules_of(
    tx: &mut PgTx<'_>,
    group: &SecurityGroupId,
) -> Result<Vec<SecurityGroupRule>, StoreError> {
    let _ = (tx, group);
    Err(not_yet("sg_rules_of"))
}

pub(crate) fn sg_rules_all(tx: &mut PgTx<'_>) -> Result<Vec<SecurityGroupRule>, StoreError> {
    let _ = tx;
    Err(not_yet("sg_rules_all"))
}

pub(crate) fn sg_inner_access_policy(
    tx: &mut PgTx<'_>,
    group: &SecurityGroupId,
) -> Result<Option<SgPolicy>, StoreError> {
    let _ = (tx, group);
    Err(not_yet("sg_inner_access_policy"))
}

pub(crate) fn sg_inner_access_policies_all(
    tx: &mut PgTx<'_>,
) -> Result<Vec<(SecurityGroupId, SgPolicy)>, StoreError> {
    let _ = tx;
    Err(not_yet("sg_inner_access_policies_all"))
}

pub(crate) fn sg_inner_access_policy_set(
    tx: &mut PgTx<'_>,
    account: AccountId,
    group: &SecurityGroupId,
    policy: SgPolicy,
) -> Result<bool, StoreError> {
    let _ = (tx, account, group, policy);
    Err(not_yet("sg_inner_access_policy_set"))
}
