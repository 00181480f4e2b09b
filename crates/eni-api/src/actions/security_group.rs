//! CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup.

use super::eni::ecs_tags;
use super::{object, page, time, Ctx};
use eni_core::security_group::{CreateSecurityGroup, DescribeSecurityGroups};
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
    let token = super::token(p, |p| {
        Ok(p.int("MaxResults", 1, 100)?.unwrap_or(10) as usize)
    })?;
    let region = p.required("RegionId")?.to_string();
    let req = DescribeSecurityGroups {
        region: region.clone(),
        vpc_id: p.opt("VpcId").map(String::from),
        ids,
        name: p.opt("SecurityGroupName").map(String::from),
        group_type: p.opt("SecurityGroupType").map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        page: page(p, 50)?,
        token,
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
                "RuleCount": 0,
                "GroupToGroupRuleCount": 0,
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
