//! CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup, and the rule calls:
//! AuthorizeSecurityGroup[Egress], RevokeSecurityGroup[Egress], DescribeSecurityGroupAttribute,
//! ModifySecurityGroupPolicy; JoinSecurityGroup and LeaveSecurityGroup.
//!
//! A rule arrives as `Permissions.N.*` (N 1 to 100) or, from older tools (Terraform, the
//! legacy Python SDK), as the deprecated top-level fields describing one rule. The reference
//! forbids mixing the two in one call.

use super::eni::ecs_tags;
use super::{object, time, Ctx};
use eni_core::security_group::{CreateSecurityGroup, DescribeSecurityGroups, Member, Membership};
use eni_core::security_group_rules::{
    AuthorizeRules, DescribeGroupAttribute, Direction as SgDirection, ModifyRule,
    PortRange as SgPortRange, RevokeRules, Rule as SecurityGroupRule, RuleInput,
};
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

type Out = Result<Map<String, Value>, ApiError>;

/// CreateSecurityGroup.
pub fn create(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = CreateSecurityGroup {
        region: p.required("RegionId")?.to_string(),
        vpc_id: p.opt("VpcId").map(String::from),
        name: p.raw("SecurityGroupName").map(String::from),
        description: p.raw("Description").map(String::from),
        group_type: p.opt("SecurityGroupType").map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        client_token: p.opt("ClientToken").map(String::from),
    };
    let id = ctx.core.create_security_group(&ctx.caller, req)?;
    Ok(object(json!({ "SecurityGroupId": id })))
}

/// DescribeSecurityGroups.
pub fn describe(ctx: &Ctx<'_>, p: &Params) -> Out {
    let mut ids = p.json_string_array("SecurityGroupIds")?.unwrap_or_default();
    if let Some(one) = p.opt("SecurityGroupId") {
        ids.push(one.to_string());
    }
    let paging = super::paging(
        p,
        |p| Ok(p.int("MaxResults", 1, 100)?.unwrap_or(10) as usize),
        50,
    )?;
    let region = p.required("RegionId")?.to_string();
    let req = DescribeSecurityGroups {
        region: region.clone(),
        vpc_id: p.opt("VpcId").map(String::from),
        ids,
        name: p.opt("SecurityGroupName").map(String::from),
        group_type: p.opt("SecurityGroupType").map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        paging,
    };
    let r = ctx.core.describe_security_groups(&ctx.caller, req)?;
    let list: Vec<Value> = r
        .items
        .iter()
        .map(|v| {
            let g = &v.group;
            json!({
                "SecurityGroupId": g.id,
                "SecurityGroupName": g.name,
                "Description": g.description,
                "VpcId": g.vpc_id,
                "CreationTime": time(g.created_at),
                "SecurityGroupType": g.group_type,
                "ResourceGroupId": g.resource_group_id,
                "EcsCount": v.members,
                "AvailableInstanceAmount": 2000u64.saturating_sub(v.members),
                "ServiceManaged": false,
                "ServiceID": 0,
                "RuleCount": v.rules,
                "GroupToGroupRuleCount": v.group_rules,
                "Tags": ecs_tags(&g.tags),
            })
        })
        .collect();
    Ok(object(json!({
        "RegionId": region,
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "NextToken": r.next_token,
        "SecurityGroups": { "SecurityGroup": list },
    })))
}

/// DeleteSecurityGroup.
pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.delete_security_group(
        &ctx.caller,
        p.required("RegionId")?,
        p.required("SecurityGroupId")?,
    )?;
    Ok(Map::new())
}

/// The fields of one rule, under the names of `direction`'s calls.
fn rule_fields(direction: SgDirection) -> [&'static str; 12] {
    let peer = match direction {
        SgDirection::Ingress => "SourceGroupId",
        SgDirection::Egress => "DestGroupId",
    };
    [
        "IpProtocol",
        "PortRange",
        "SourcePortRange",
        "SourceCidrIp",
        "Ipv6SourceCidrIp",
        "DestCidrIp",
        "Ipv6DestCidrIp",
        peer,
        "Policy",
        "Priority",
        "NicType",
        "Description",
    ]
}

/// One rule from `p` (a `Permissions.N` element, or the request itself).
fn rule_input(p: &Params, direction: SgDirection) -> RuleInput {
    let [proto, ports, src_ports, src, src6, dst, dst6, peer, policy, priority, nic, desc] =
        rule_fields(direction).map(|name| p.opt(name).map(String::from));
    RuleInput {
        ip_protocol: proto,
        port_range: ports,
        source_port_range: src_ports,
        source_cidr_ip: src,
        ipv6_source_cidr_ip: src6,
        dest_cidr_ip: dst,
        ipv6_dest_cidr_ip: dst6,
        peer_group_id: peer,
        policy,
        priority,
        nic_type: nic,
        description: desc,
    }
}

/// The rules of an Authorize or Revoke call: `Permissions.N.*`, or the deprecated
/// top-level fields as one rule, never both.
fn rule_inputs(p: &Params, direction: SgDirection) -> Result<Vec<RuleInput>, ApiError> {
    p.check_max_index("Permissions", 100)?;
    let listed = p.struct_list("Permissions")?;
    let top_level = rule_fields(direction)
        .into_iter()
        .find(|name| p.opt(name).is_some());
    match (listed.is_empty(), top_level) {
        (false, Some(name)) => Err(ApiError::PermissionsConflict {
            name: name.to_string(),
        }),
        (true, Some(_)) => Ok(vec![rule_input(p, direction)]),
        (false, None) => Ok(listed.iter().map(|r| rule_input(r, direction)).collect()),
        (true, None) => Ok(Vec::new()),
    }
}

fn authorize_in(ctx: &Ctx<'_>, p: &Params, direction: SgDirection) -> Out {
    let rules = rule_inputs(p, direction)?;
    if rules.is_empty() {
        return Err(ApiError::missing("Permissions"));
    }
    if let Some(t) = p.opt("ClientToken") {
        // Authorizing is idempotent by itself (a repeat creates nothing); the token only has
        // to be well-formed.
        if t.len() > 64 || !t.is_ascii() {
            return Err(ApiError::invalid_param("ClientToken"));
        }
    }
    let req = AuthorizeRules {
        region: p.required("RegionId")?.to_string(),
        group_id: p.required("SecurityGroupId")?.to_string(),
        direction,
        rules,
    };
    ctx.core.authorize_security_group(&ctx.caller, req)?;
    Ok(Map::new())
}

fn revoke_in(ctx: &Ctx<'_>, p: &Params, direction: SgDirection) -> Out {
    let rules = rule_inputs(p, direction)?;
    let rule_ids = p.list_max("SecurityGroupRuleId", 100)?;
    if rules.is_empty() && rule_ids.is_empty() {
        return Err(ApiError::missing("Permissions"));
    }
    let req = RevokeRules {
        region: p.required("RegionId")?.to_string(),
        group_id: p.required("SecurityGroupId")?.to_string(),
        direction,
        rules,
        rule_ids,
    };
    ctx.core.revoke_security_group(&ctx.caller, req)?;
    Ok(Map::new())
}

fn modify_rule_in(ctx: &Ctx<'_>, p: &Params, direction: SgDirection) -> Out {
    let rule_id = p.opt("SecurityGroupRuleId").map(String::from);
    let req = ModifyRule {
        region: p.required("RegionId")?.to_string(),
        group_id: p.required("SecurityGroupId")?.to_string(),
        direction,
        rule_id,
        rule: rule_input(p, direction),
    };
    ctx.core.modify_security_group_rule(&ctx.caller, req)?;
    Ok(Map::new())
}

/// ModifySecurityGroupRule: an inbound rule (by ID, any field; by permission, its description).
pub fn modify_rule(ctx: &Ctx<'_>, p: &Params) -> Out {
    modify_rule_in(ctx, p, SgDirection::Ingress)
}

/// ModifySecurityGroupEgressRule: an outbound rule, likewise.
pub fn modify_egress_rule(ctx: &Ctx<'_>, p: &Params) -> Out {
    modify_rule_in(ctx, p, SgDirection::Egress)
}

/// AuthorizeSecurityGroup: inbound rules.
pub fn authorize(ctx: &Ctx<'_>, p: &Params) -> Out {
    authorize_in(ctx, p, SgDirection::Ingress)
}

/// AuthorizeSecurityGroupEgress: outbound rules.
pub fn authorize_egress(ctx: &Ctx<'_>, p: &Params) -> Out {
    authorize_in(ctx, p, SgDirection::Egress)
}

/// RevokeSecurityGroup: removes inbound rules.
pub fn revoke(ctx: &Ctx<'_>, p: &Params) -> Out {
    revoke_in(ctx, p, SgDirection::Ingress)
}

/// RevokeSecurityGroupEgress: removes outbound rules.
pub fn revoke_egress(ctx: &Ctx<'_>, p: &Params) -> Out {
    revoke_in(ctx, p, SgDirection::Egress)
}

fn ports(r: SgPortRange) -> String {
    format!("{}/{}", r.0, r.1)
}

/// One `Permission` of DescribeSecurityGroupAttribute: every field the SDK model has, empty
/// strings for what is unset, Priority a string.
fn permission_view(r: &SecurityGroupRule) -> Value {
    let peer = r.peer_group_id.as_ref().map_or("", |g| g.as_str());
    let (source_group, dest_group) = match r.direction {
        SgDirection::Ingress => (peer, ""),
        SgDirection::Egress => ("", peer),
    };
    json!({
        "SecurityGroupRuleId": r.id,
        "Direction": r.direction.as_str(),
        "IpProtocol": r.protocol.as_str(),
        "PortRange": ports(r.port_range),
        "SourcePortRange": r.source_port_range.map(ports).unwrap_or_default(),
        "SourceCidrIp": r.source_cidr_ip,
        "Ipv6SourceCidrIp": r.ipv6_source_cidr_ip,
        "DestCidrIp": r.dest_cidr_ip,
        "Ipv6DestCidrIp": r.ipv6_dest_cidr_ip,
        "SourceGroupId": source_group,
        "SourceGroupName": "",
        "SourceGroupOwnerAccount": "",
        "DestGroupId": dest_group,
        "DestGroupName": "",
        "DestGroupOwnerAccount": "",
        "SourcePrefixListId": "",
        "SourcePrefixListName": "",
        "DestPrefixListId": "",
        "DestPrefixListName": "",
        "PortRangeListId": "",
        "PortRangeListName": "",
        "Policy": r.policy.as_str(),
        "Priority": r.priority.to_string(),
        "NicType": r.nic_type,
        "Description": r.description,
        "CreateTime": time(r.created_at),
    })
}

/// DescribeSecurityGroupAttribute.
pub fn describe_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    let region = p.required("RegionId")?.to_string();
    let direction = match p.opt("Direction") {
        None | Some("all") => None,
        Some("ingress") => Some(SgDirection::Ingress),
        Some("egress") => Some(SgDirection::Egress),
        Some(_) => {
            return Err(ApiError::invalid_param_because(
                "Direction",
                "ingress, egress or all",
            ))
        }
    };
    // Every rule of a VPC group is intranet; internet is read as intranet, as the reference
    // says.
    match p.opt("NicType") {
        None | Some("intranet") | Some("internet") => {}
        Some(_) => return Err(ApiError::NicTypeNotSupported),
    }
    let max_results = p.int("MaxResults", 10, 1000)?.unwrap_or(500) as usize;
    let start = match p.opt("NextToken") {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::invalid_param("NextToken"))?,
    };
    let req = DescribeGroupAttribute {
        region: region.clone(),
        group_id: p.required("SecurityGroupId")?.to_string(),
        direction,
        max_results,
        start,
    };
    let a = ctx
        .core
        .describe_security_group_attribute(&ctx.caller, req)?;
    let g = &a.group;
    let list: Vec<Value> = a.rules.iter().map(permission_view).collect();
    Ok(object(json!({
        "RegionId": region,
        "SecurityGroupId": g.id,
        "SecurityGroupName": g.name,
        "Description": g.description,
        "VpcId": g.vpc_id,
        "InnerAccessPolicy": g.inner_access_policy.as_str(),
        "NextToken": a.next_token,
        "Permissions": { "Permission": list },
        // No snapshot policy guards a group here.
        "SnapshotPolicyIds": { "SnapshotPolicyId": [] },
    })))
}

/// ModifySecurityGroupAttribute: SecurityGroupName and Description.
pub fn modify_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.modify_security_group_attribute(
        &ctx.caller,
        p.required("RegionId")?,
        p.required("SecurityGroupId")?,
        p.raw("SecurityGroupName"),
        p.raw("Description"),
    )?;
    Ok(Map::new())
}

/// The member of JoinSecurityGroup and LeaveSecurityGroup: `InstanceId` or
/// `NetworkInterfaceId`, exactly one.
fn member(p: &Params) -> Result<Member<'_>, ApiError> {
    match (p.opt("InstanceId"), p.opt("NetworkInterfaceId")) {
        (Some(i), None) => Ok(Member::Instance(i)),
        (None, Some(e)) => Ok(Member::Eni(e)),
        (None, None) => Err(ApiError::missing("InstanceId")),
        (Some(_), Some(_)) => Err(ApiError::ParameterConflict {
            message: "InstanceId and NetworkInterfaceId cannot be given together.".into(),
        }),
    }
}

/// JoinSecurityGroup (`RegionId` optional, as Alibaba documents it).
pub fn join(ctx: &Ctx<'_>, p: &Params) -> Out {
    let group = p.required("SecurityGroupId")?.to_string();
    ctx.core.change_membership(
        &ctx.caller,
        p.opt("RegionId"),
        member(p)?,
        Membership::Join(group),
    )?;
    Ok(Map::new())
}

/// LeaveSecurityGroup.
pub fn leave(ctx: &Ctx<'_>, p: &Params) -> Out {
    let group = p.required("SecurityGroupId")?.to_string();
    ctx.core.change_membership(
        &ctx.caller,
        p.opt("RegionId"),
        member(p)?,
        Membership::Leave(group),
    )?;
    Ok(Map::new())
}

/// ModifySecurityGroupPolicy.
pub fn modify_policy(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.modify_security_group_policy(
        &ctx.caller,
        p.required("RegionId")?,
        p.required("SecurityGroupId")?,
        p.required("InnerAccessPolicy")?,
    )?;
    Ok(Map::new())
}
