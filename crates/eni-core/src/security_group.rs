//! Security groups as objects: CreateSecurityGroup, DescribeSecurityGroups,
//! DeleteSecurityGroup. A group lives in one VPC and cannot be deleted while an ENI (and so an
//! instance, through its primary ENI) is a member, or while another group's rule names it.
//! Rules are in `security_group_rules.rs`.

use crate::default_resource_group;
use crate::idempotency::{check_token, once};
use crate::query::{page_of, Paging};
use crate::{internal, now, Caller, Core, CoreError};
use eni_store::{with_read, SecurityGroup, SecurityGroupFilter, SgPolicy, StoreError, Tags, Tx};
use eni_types::ids::{ResourceGroupId, SecurityGroupId, VpcId};
use eni_types::ApiError;
use serde::Serialize;

/// CreateSecurityGroup.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateSecurityGroup {
    pub region: String,
    pub vpc_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub group_type: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Tags,
    #[serde(skip)]
    pub client_token: Option<String>,
}

/// DescribeSecurityGroups filters and paging.
#[derive(Debug, Clone, Default)]
pub struct DescribeSecurityGroups {
    pub region: String,
    pub vpc_id: Option<String>,
    pub ids: Vec<String>,
    pub name: Option<String>,
    pub group_type: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Tags,
    pub paging: Paging,
}

/// A group with its member and rule counts.
#[derive(Debug, Clone)]
pub struct SecurityGroupView {
    pub group: SecurityGroup,
    pub members: u64,
    /// Its rules, in both directions.
    pub rules: u64,
    /// Those of its rules whose remote side is a group.
    pub group_rules: u64,
}

/// The caller's group `id` in `region`, or `InvalidSecurityGroupId.NotFound`.
pub(crate) fn group_in_region(
    tx: &mut dyn Tx,
    caller: &Caller,
    region: &str,
    id: &str,
) -> Result<SecurityGroup, CoreError> {
    let id: SecurityGroupId = id.parse().map_err(|_| ApiError::SecurityGroupNotFound)?;
    match tx.security_group_get(caller.account, &id)? {
        Some(g) if g.region_id == region => Ok(g),
        _ => Err(ApiError::SecurityGroupNotFound.into()),
    }
}

/// One page of groups.
pub type SecurityGroupPage = crate::query::TokenPage<SecurityGroupView>;

impl Core {
    /// ModifySecurityGroupAttribute: the name and the description (each kept when not
    /// given).
    pub fn modify_security_group_attribute(
        &self,
        caller: &Caller,
        region: &str,
        group_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        if let Some(n) = name {
            check_name(n)?;
        }
        if let Some(d) = description {
            crate::eni::check_eni_description(d, 256)?;
        }
        self.write(|tx| -> Result<(), CoreError> {
            let g = group_in_region(tx, caller, region, group_id)?;
            let name = name.unwrap_or(&g.name);
            let description = description.unwrap_or(&g.description);
            if !tx.name_set(
                eni_store::Table::SecurityGroup,
                caller.account,
                g.id.as_str(),
                name,
                description,
            )? {
                return Err(ApiError::SecurityGroupNotFound.into());
            }
            Ok(())
        })
        .map_err(Into::into)
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let n = name.chars().count();
    let first_ok = name.chars().next().is_some_and(|c| c.is_alphabetic());
    let lower = name.to_ascii_lowercase();
    let ok = (2..=128).contains(&n)
        && first_ok
        && !lower.starts_with("http://")
        && !lower.starts_with("https://")
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || ".:_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_param_because(
            "SecurityGroupName",
            "2 to 128 characters, starting with a letter; letters, digits, '.', ':', '_' and '-'",
        ))
    }
}

impl Core {
    /// CreateSecurityGroup: the group lives in `VpcId`, which must exist.
    pub fn create_security_group(
        &self,
        caller: &Caller,
        req: CreateSecurityGroup,
    ) -> Result<SecurityGroupId, ApiError> {
        self.check_region(&req.region)?;
        let vpc_text = req
            .vpc_id
            .clone()
            .ok_or_else(|| ApiError::missing("VpcId"))?;
        if let Some(n) = &req.name {
            check_name(n)?;
        }
        if let Some(d) = &req.description {
            crate::eni::check_eni_description(d, 256)?;
        }
        let group_type = match req.group_type.as_deref() {
            None | Some("normal") => "normal",
            Some("enterprise") => "enterprise",
            Some(_) => {
                return Err(ApiError::invalid_param_because(
                    "SecurityGroupType",
                    "normal or enterprise",
                ))
            }
        };
        if let Some(t) = &req.client_token {
            check_token(t)?;
        }
        let rg = match &req.resource_group_id {
            Some(r) => r
                .parse::<ResourceGroupId>()
                .map_err(|_| ApiError::invalid_param("ResourceGroupId"))?,
            None => default_resource_group(caller),
        };
        let t = now();
        self.write(|tx| {
            once(
                tx,
                caller.account,
                "CreateSecurityGroup",
                req.client_token.as_deref(),
                &req,
                t,
                |tx| {
                    let vpc_id: VpcId = vpc_text.parse().map_err(|_| ApiError::VpcNotFound)?;
                    match tx.vpc_get(caller.account, &vpc_id)? {
                        Some(v) if v.region_id == req.region => {}
                        _ => return Err(ApiError::VpcNotFound.into()),
                    }
                    let sg = SecurityGroup {
                        id: SecurityGroupId::generate(&req.region),
                        account_id: caller.account,
                        region_id: req.region.clone(),
                        vpc_id,
                        name: req.name.clone().unwrap_or_default(),
                        description: req.description.clone().unwrap_or_default(),
                        group_type: group_type.into(),
                        resource_group_id: rg.clone(),
                        tags: req.tags.clone(),
                        created_at: t,
                        // Members of an enterprise group never reach each other.
                        inner_access_policy: if group_type == "enterprise" {
                            SgPolicy::Drop
                        } else {
                            SgPolicy::Accept
                        },
                    };
                    tx.security_group_insert(&sg)?;
                    Ok(sg.id)
                },
            )
        })
        .map_err(Into::into)
    }

    /// DescribeSecurityGroups.
    pub fn describe_security_groups(
        &self,
        caller: &Caller,
        req: DescribeSecurityGroups,
    ) -> Result<SecurityGroupPage, ApiError> {
        // Members whose deletion is due are gone: persist that before counting.
        self.settle()?;
        self.check_region(&req.region)?;
        let start = req.paging.start()?;
        let vpc_id = match &req.vpc_id {
            None => None,
            Some(v) => match v.parse() {
                Ok(v) => Some(v),
                Err(_) => {
                    return Ok(SecurityGroupPage {
                        items: Vec::new(),
                        total: 0,
                        page: start.page(),
                        next_token: String::new(),
                    })
                }
            },
        };
        let filter = SecurityGroupFilter {
            ids: (!req.ids.is_empty())
                .then(|| req.ids.iter().filter_map(|i| i.parse().ok()).collect()),
            vpc_id,
            name: req.name.clone(),
            group_type: req.group_type.clone(),
            resource_group_id: req.resource_group_id.clone(),
            tags: crate::query::tag_filter(&req.tags),
        };
        let (account, region) = (caller.account, req.region.as_str());
        with_read(
            self.store(),
            |tx| -> Result<SecurityGroupPage, StoreError> {
                let page = page_of(
                    tx,
                    start,
                    |tx| tx.security_group_find_count(account, region, &filter),
                    |tx, w| tx.security_group_find(account, region, &filter, w),
                    Some,
                )?;
                // Member and rule counts for the page only.
                let mut items = Vec::with_capacity(page.items.len());
                for g in page.items {
                    let members = tx.security_group_member_count(&g.id)?;
                    let rules = tx.sg_rules_of(&g.id)?;
                    let group_rules =
                        rules.iter().filter(|r| r.peer_group_id.is_some()).count() as u64;
                    items.push(SecurityGroupView {
                        group: g,
                        members,
                        rules: rules.len() as u64,
                        group_rules,
                    });
                }
                Ok(SecurityGroupPage {
                    items,
                    total: page.total,
                    page: page.page,
                    next_token: page.next_token,
                })
            },
        )
        .map_err(internal)
    }

    /// DeleteSecurityGroup: refused while an ENI or instance uses the group, or another
    /// group's rule names it (its own rules go with it).
    pub fn delete_security_group(
        &self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        let id: SecurityGroupId = id.parse().map_err(|_| ApiError::SecurityGroupNotFound)?;
        let t = crate::now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            crate::transitions::settle_due(tx, t)?;
            match tx.security_group_get(caller.account, &id)? {
                Some(g) if g.region_id == region => {}
                _ => return Err(ApiError::SecurityGroupNotFound.into()),
            }
            // Members refuse the delete through their foreign key (an index probe), not a
            // count of them.
            match tx.security_group_delete(caller.account, &id) {
                Ok(_) => Ok(()),
                Err(e) if e.is_conflict_on(eni_store::constraints::ENI_SECURITY_GROUP_FK) => {
                    Err(ApiError::SecurityGroupInUse.into())
                }
                Err(e) if e.is_conflict_on(eni_store::constraints::SG_RULE_PEER_FK) => {
                    Err(ApiError::SecurityGroupReferenced.into())
                }
                Err(e) => Err(e.into()),
            }
        })
        .map_err(Into::into)
    }
}

/// Whose group memberships JoinSecurityGroup, LeaveSecurityGroup and
/// ModifyInstanceAttribute's `SecurityGroupIds.N` change: an instance's are its primary
/// ENI's.
#[derive(Debug, Clone, Copy)]
pub enum Member<'a> {
    Instance(&'a str),
    Eni(&'a str),
}

/// A change of memberships.
#[derive(Debug, Clone)]
pub enum Membership {
    Join(String),
    Leave(String),
    /// The whole set (ModifyInstanceAttribute's `SecurityGroupIds.N`).
    Set(Vec<String>),
}

impl Core {
    /// JoinSecurityGroup, LeaveSecurityGroup, and ModifyInstanceAttribute's
    /// `SecurityGroupIds.N`: an instance must be Running or Stopped, an ENI Available or
    /// InUse; the groups must be the member's VPC's; at most five, at least one.
    pub fn change_membership(
        &self,
        caller: &Caller,
        region: Option<&str>,
        member: Member<'_>,
        change: Membership,
    ) -> Result<(), ApiError> {
        if let Some(r) = region {
            self.check_region(r)?;
        }
        let t = crate::now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            crate::transitions::settle_due(tx, t)?;
            change_membership_in(tx, caller, region, member, &change)
        })
        .map_err(Into::into)
    }
}

/// [`Core::change_membership`] inside a write transaction (ModifyInstanceAttribute changes
/// the groups in the same transaction as the rest).
pub(crate) fn change_membership_in(
    tx: &mut dyn Tx,
    caller: &Caller,
    region: Option<&str>,
    member: Member<'_>,
    change: &Membership,
) -> Result<(), CoreError> {
    let what = match member {
        Member::Instance(_) => "instance",
        Member::Eni(_) => "network interface",
    };
    {
        {
            let mut eni = match member {
                Member::Instance(id) => {
                    let inst = crate::instance::own_instance(tx, caller, region, id)?;
                    if inst.status != "Running" && inst.status != "Stopped" {
                        return Err(ApiError::IncorrectInstanceStatus {
                            detail: format!(
                                "The instance is {}; its security groups change while Running or Stopped.",
                                inst.status
                            ),
                        }
                        .into());
                    }
                    let primary = tx
                        .enis_of_instances(std::slice::from_ref(&inst.id))?
                        .into_iter()
                        .find(|e| e.eni_type == "Primary");
                    match primary {
                        Some(e) => e,
                        // A classic-network instance is in no VPC, so in no group's.
                        None => return Err(ApiError::SecurityGroupVpcMismatch { what }.into()),
                    }
                }
                Member::Eni(id) => {
                    let eid: eni_types::ids::EniId =
                        id.parse().map_err(|_| ApiError::EniNotFound)?;
                    let e = match tx.eni_get(caller.account, &eid)? {
                        Some(e) if region.is_none_or(|r| r == e.region_id) => e,
                        _ => return Err(ApiError::EniNotFound.into()),
                    };
                    if e.status != "Available" && e.status != "InUse" {
                        return Err(ApiError::InvalidEniState {
                            detail: format!("The ENI is {}.", e.status),
                        }
                        .into());
                    }
                    e
                }
            };
            let group = |tx: &mut dyn Tx, raw: &str| -> Result<SecurityGroupId, CoreError> {
                let id: SecurityGroupId =
                    raw.parse().map_err(|_| ApiError::SecurityGroupNotFound)?;
                let g = tx
                    .security_group_get(caller.account, &id)?
                    .ok_or(ApiError::SecurityGroupNotFound)?;
                if g.region_id != eni.region_id {
                    return Err(ApiError::SecurityGroupNotFound.into());
                }
                if g.vpc_id != eni.vpc_id {
                    return Err(ApiError::SecurityGroupVpcMismatch { what }.into());
                }
                Ok(id)
            };
            let limit = crate::eni::MAX_GROUPS;
            let too_many = || -> CoreError {
                match member {
                    Member::Instance(_) => ApiError::InstanceSecurityGroupLimitExceeded {
                        limit: limit as u32,
                    },
                    Member::Eni(_) => ApiError::JoinedGroupLimitExceed {
                        limit: limit as u32,
                    },
                }
                .into()
            };
            match change {
                Membership::Join(raw) => {
                    let id = group(tx, raw)?;
                    if eni.security_group_ids.contains(&id) {
                        return Err(ApiError::AlreadyInSecurityGroup { what }.into());
                    }
                    if eni.security_group_ids.len() >= limit {
                        return Err(too_many());
                    }
                    eni.security_group_ids.push(id);
                }
                Membership::Leave(raw) => {
                    let id = group(tx, raw)?;
                    let Some(at) = eni.security_group_ids.iter().position(|g| g == &id) else {
                        return Err(ApiError::SecurityGroupAssociationNotFound { what }.into());
                    };
                    if eni.security_group_ids.len() == 1 {
                        return Err(ApiError::LastSecurityGroup { what }.into());
                    }
                    eni.security_group_ids.remove(at);
                }
                Membership::Set(list) => {
                    let mut ids: Vec<SecurityGroupId> = Vec::new();
                    for raw in list {
                        let id = group(tx, raw)?;
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    if ids.is_empty() {
                        return Err(ApiError::missing("SecurityGroupIds.1").into());
                    }
                    if ids.len() > limit {
                        return Err(too_many());
                    }
                    if ids == eni.security_group_ids {
                        return Ok(());
                    }
                    eni.security_group_ids = ids;
                }
            }
            tx.eni_update(&eni)?;
            Ok(())
        }
    }
}
