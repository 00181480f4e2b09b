//! CreateVpc, DescribeVpcs, DeleteVpc, CreateVSwitch, DescribeVSwitches, DeleteVSwitch.

use super::{object, page, tags_view, time, Ctx};
use eni_core::vpc::{
    CreateVSwitch, CreateVpc, DescribeVSwitches, DescribeVpcs, VSwitchView, VpcView,
};
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

type Out = Result<Map<String, Value>, ApiError>;

/// CreateVpc.
pub fn create_vpc(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = CreateVpc {
        region: p.required("RegionId")?.to_string(),
        cidr_block: p.opt("CidrBlock").map(String::from),
        name: p.raw("VpcName").map(String::from),
        description: p.raw("Description").map(String::from),
        enable_ipv6: p.bool("EnableIpv6")?.unwrap_or(false),
        ipv6_cidr_block: p.opt("Ipv6CidrBlock").map(String::from),
        ipv6_isp: p.opt("Ipv6Isp").map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        client_token: p.opt("ClientToken").map(String::from),
    };
    let c = ctx.core.create_vpc(&ctx.caller, req)?;
    Ok(object(json!({
        "VpcId": c.vpc_id,
        "VRouterId": c.vrouter_id,
        "RouteTableId": c.route_table_id,
        "ResourceGroupId": c.resource_group_id,
    })))
}

fn vpc_view(v: &VpcView) -> Value {
    let vpc = &v.vpc;
    let ipv6 = vpc.ipv6_cidr_block.clone().unwrap_or_default();
    let ipv6_blocks: Vec<Value> = vpc
        .ipv6_cidr_block
        .iter()
        .map(|b| json!({"Ipv6CidrBlock": b, "Ipv6Isp": vpc.ipv6_isp.as_deref().unwrap_or("BGP")}))
        .collect();
    json!({
        "VpcId": vpc.id,
        "RegionId": vpc.region_id,
        "Status": vpc.status,
        "VpcName": vpc.name,
        "CidrBlock": vpc.cidr_block,
        "CreationTime": time(vpc.created_at),
        "Description": vpc.description,
        "IsDefault": vpc.is_default,
        "VRouterId": vpc.vrouter_id,
        "VSwitchIds": { "VSwitchId": v.vswitch_ids },
        "RouterTableIds": { "RouterTableIds": [vpc.route_table_id] },
        "NatGatewayIds": { "NatGatewayIds": [] },
        "UserCidrs": { "UserCidr": [] },
        "SecondaryCidrBlocks": { "SecondaryCidrBlock": [] },
        "EnabledIpv6": vpc.ipv6_cidr_block.is_some(),
        "Ipv6CidrBlock": ipv6,
        "Ipv6CidrBlocks": { "Ipv6CidrBlock": ipv6_blocks },
        "OwnerId": vpc.account_id.0,
        "ResourceGroupId": vpc.resource_group_id,
        "DhcpOptionsSetId": "",
        "DhcpOptionsSetStatus": "",
        "DnsHostnameStatus": "DISABLED",
        "CenStatus": "",
        "Tags": tags_view(&vpc.tags),
    })
}

fn owner(p: &Params, name: &str) -> Result<Option<u64>, ApiError> {
    p.int(name, 0, i64::MAX).map(|o| o.map(|o| o as u64))
}

/// DescribeVpcs.
pub fn describe_vpcs(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = DescribeVpcs {
        region: p.required("RegionId")?.to_string(),
        vpc_ids: p.comma_list("VpcId"),
        name: p.opt("VpcName").map(String::from),
        is_default: p.bool("IsDefault")?,
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        owner_id: owner(p, "VpcOwnerId")?,
        tags: p.tags()?,
        page: page(p, 50)?,
    };
    let r = ctx.core.describe_vpcs(&ctx.caller, req)?;
    let list: Vec<Value> = r.items.iter().map(vpc_view).collect();
    Ok(object(json!({
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "Vpcs": { "Vpc": list },
    })))
}

/// DeleteVpc.
pub fn delete_vpc(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core
        .delete_vpc(&ctx.caller, p.opt("RegionId"), p.required("VpcId")?)?;
    Ok(Map::new())
}

/// CreateVSwitch.
pub fn create_vswitch(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = CreateVSwitch {
        region: p.opt("RegionId").map(String::from),
        vpc_id: p.required("VpcId")?.to_string(),
        zone_id: p.required("ZoneId")?.to_string(),
        cidr_block: p.required("CidrBlock")?.to_string(),
        ipv6_cidr_block: p.int("Ipv6CidrBlock", i64::MIN, i64::MAX)?,
        name: p.raw("VSwitchName").map(String::from),
        description: p.raw("Description").map(String::from),
        tags: p.tags()?,
        client_token: p.opt("ClientToken").map(String::from),
    };
    let c = ctx.core.create_vswitch(&ctx.caller, req)?;
    Ok(object(json!({ "VSwitchId": c.vswitch_id })))
}

fn vswitch_view(v: &VSwitchView) -> Value {
    let s = &v.vswitch;
    json!({
        "VSwitchId": s.id,
        "VpcId": s.vpc_id,
        "Status": s.status,
        "CidrBlock": s.cidr_block,
        "ZoneId": s.zone_id,
        "AvailableIpAddressCount": v.available_ip_count,
        "Description": s.description,
        "VSwitchName": s.name,
        "CreationTime": time(s.created_at),
        "IsDefault": s.is_default,
        "ResourceGroupId": s.resource_group_id,
        "OwnerId": s.account_id.0,
        "EnabledIpv6": s.ipv6_cidr_block.is_some(),
        "Ipv6CidrBlock": s.ipv6_cidr_block.clone().unwrap_or_default(),
        "NetworkAclId": "",
        "ShareType": "",
        "RouteTable": {
            "RouteTableId": v.route_table_id.as_ref().map(|r| r.to_string()).unwrap_or_default(),
            "RouteTableType": "System",
        },
        "Tags": tags_view(&s.tags),
    })
}

/// DescribeVSwitches.
pub fn describe_vswitches(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = DescribeVSwitches {
        region: p.opt("RegionId").map(String::from),
        vpc_id: p.opt("VpcId").map(String::from),
        vswitch_ids: p.comma_list("VSwitchId"),
        zone_id: p.opt("ZoneId").map(String::from),
        name: p.opt("VSwitchName").map(String::from),
        is_default: p.bool("IsDefault")?,
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        route_table_id: p.opt("RouteTableId").map(String::from),
        owner_id: owner(p, "VSwitchOwnerId")?,
        tags: p.tags()?,
        page: page(p, 50)?,
    };
    let r = ctx.core.describe_vswitches(&ctx.caller, req)?;
    let list: Vec<Value> = r.items.iter().map(vswitch_view).collect();
    Ok(object(json!({
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "VSwitches": { "VSwitch": list },
    })))
}

/// DeleteVSwitch.
pub fn delete_vswitch(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core
        .delete_vswitch(&ctx.caller, p.opt("RegionId"), p.required("VSwitchId")?)?;
    Ok(Map::new())
}
