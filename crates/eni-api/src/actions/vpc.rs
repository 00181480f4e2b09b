//! CreateVpc, DescribeVpcs, DescribeVpcAttribute, ModifyVpcAttribute, DeleteVpc, CreateVSwitch,
//! DescribeVSwitches, DescribeVSwitchAttributes, ModifyVSwitchAttribute, DeleteVSwitch, and DescribeRouteTableList (each VPC's `System`
//! route table, which CreateVpc makes with it and DeleteVpc removes).

use super::{object, page, tags_view, time, Ctx};
use eni_core::query::Page;
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

/// DescribeVpcAttribute: one VPC, its fields at the top level (what DescribeVpcs lists, and
/// the attributes only this call shows). `InvalidVpcId.NotFound` (404) when the caller has no
/// such VPC in the region.
pub fn describe_vpc_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    let id = p.required("VpcId")?.to_string();
    let req = DescribeVpcs {
        region: p.required("RegionId")?.to_string(),
        vpc_ids: vec![id],
        name: None,
        is_default: p.bool("IsDefault")?,
        resource_group_id: None,
        owner_id: None,
        tags: Vec::new(),
        page: Page { number: 1, size: 1 },
    };
    let r = ctx.core.describe_vpcs(&ctx.caller, req)?;
    let v = r.items.first().ok_or(ApiError::VpcNotFound)?;
    let mut out = object(vpc_view(v));
    for key in ["RouterTableIds", "NatGatewayIds", "CenStatus"] {
        out.remove(key);
    }
    let extra = json!({
        "ClassicLinkEnabled": false,
        "SupportIpv4Gateway": false,
        "Ipv4GatewayId": "",
        "Ipv6Isp": v.vpc.ipv6_isp.clone().unwrap_or_default(),
        "CloudResources": { "CloudResourceSetType": [] },
        "AssociatedCens": { "AssociatedCen": [] },
        "AssociatedPropagationSources": { "AssociatedPropagationSources": [] },
    });
    out.extend(object(extra));
    Ok(out)
}

/// DescribeRouteTableList: every VPC's one route table, of type `System` on its vRouter
/// (named and described by nothing; custom route tables are not served). Filters: VpcId,
/// RouteTableId, RouterId, RouterType (`VRouter`), RouteTableName, RouteTableType (`System`),
/// ResourceGroupId (the VPC's); PageNumber and PageSize (at most 50). The account's VPCs in the
/// region are few (a quota), so they are listed whole and filtered here.
pub fn describe_route_table_list(ctx: &Ctx<'_>, p: &Params) -> Out {
    let region = p.required("RegionId")?.to_string();
    let page = page(p, 50)?;
    let vpc_ids: Vec<String> = p
        .opt("VpcId")
        .map(|v| vec![v.to_string()])
        .unwrap_or_default();
    let table = p.opt("RouteTableId");
    let router = p.opt("RouterId");
    let matches_type = p.opt("RouteTableType").is_none_or(|t| t == "System")
        && p.opt("RouterType").is_none_or(|t| t == "VRouter");
    let name = p.opt("RouteTableName");
    let tags = p.tags()?;
    let mut all: Vec<VpcView> = Vec::new();
    for number in 1.. {
        let req = DescribeVpcs {
            region: region.clone(),
            vpc_ids: vpc_ids.clone(),
            name: None,
            is_default: None,
            resource_group_id: p.opt("ResourceGroupId").map(String::from),
            owner_id: None,
            tags: Vec::new(),
            page: Page { number, size: 50 },
        };
        let r = ctx.core.describe_vpcs(&ctx.caller, req)?;
        let done = r.items.len() < 50;
        all.extend(r.items);
        if done {
            break;
        }
    }
    let tables: Vec<Value> = all
        .iter()
        .filter(|_| matches_type)
        .filter(|v| table.is_none_or(|t| v.vpc.route_table_id.as_str() == t))
        .filter(|v| router.is_none_or(|r| v.vpc.vrouter_id.as_str() == r))
        .filter(|v| name.is_none_or(|n| v.vpc.route_table.name == n))
        .filter(|v| {
            tags.iter()
                .all(|t| v.vpc.route_table.tags.iter().any(|have| have == t))
        })
        .map(|v| {
            json!({
                "VpcId": v.vpc.id,
                "RouteTableId": v.vpc.route_table_id,
                "RouterId": v.vpc.vrouter_id,
                "RouterType": "VRouter",
                "RouteTableType": "System",
                "RouteTableName": v.vpc.route_table.name,
                "Description": v.vpc.route_table.description,
                "CreationTime": time(v.vpc.created_at),
                "Status": "Available",
                "ResourceGroupId": v.vpc.resource_group_id,
                "OwnerId": v.vpc.account_id.0,
                "AssociateType": "VSwitch",
                "RoutePropagationEnable": true,
                "VSwitchIds": { "VSwitchId": v.vswitch_ids },
                "GatewayIds": { "GatewayIds": [] },
                "Tags": tags_view(&v.vpc.route_table.tags),
            })
        })
        .collect();
    let paged = eni_core::query::paginate(tables, page);
    Ok(object(json!({
        "TotalCount": paged.total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "RouterTableList": { "RouterTableListType": paged.items },
    })))
}

/// ModifyVpcAttribute: VpcName and Description.
pub fn modify_vpc_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    // The CIDR blocks, IPv6 and DNS hostnames of an existing VPC are not changed here.
    super::refuse_unsupported(
        p,
        &["CidrBlock", "Ipv6CidrBlock", "Ipv6Isp"],
        &["EnableIPv6", "EnableDnsHostname"],
        &[],
    )?;
    ctx.core.modify_vpc_attribute(
        &ctx.caller,
        p.required("RegionId")?,
        p.required("VpcId")?,
        p.raw("VpcName"),
        p.raw("Description"),
    )?;
    Ok(Map::new())
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

/// DescribeVSwitchAttributes: one vSwitch, its fields at the top level.
/// `InvalidVSwitchId.NotFound` (404) when the caller has no such vSwitch.
pub fn describe_vswitch_attributes(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = DescribeVSwitches {
        region: p.opt("RegionId").map(String::from),
        vpc_id: None,
        vswitch_ids: vec![p.required("VSwitchId")?.to_string()],
        zone_id: None,
        name: None,
        is_default: None,
        resource_group_id: None,
        route_table_id: None,
        owner_id: None,
        tags: Vec::new(),
        page: Page { number: 1, size: 1 },
    };
    let r = ctx.core.describe_vswitches(&ctx.caller, req)?;
    let v = r.items.first().ok_or(ApiError::VSwitchNotFound)?;
    Ok(object(vswitch_view(v)))
}

/// ModifyRouteTableAttributes of a System route table: RouteTableName and Description. Route
/// propagation is always on here: turning it off is refused.
pub fn modify_route_table_attributes(ctx: &Ctx<'_>, p: &Params) -> Out {
    if p.bool("RoutePropagationEnable")? == Some(false) {
        return Err(ApiError::invalid_param_because(
            "RoutePropagationEnable",
            "route propagation cannot be turned off on this server",
        ));
    }
    ctx.core.modify_route_table_attributes(
        &ctx.caller,
        p.required("RegionId")?,
        p.required("RouteTableId")?,
        p.raw("RouteTableName"),
        p.raw("Description"),
    )?;
    Ok(Map::new())
}

/// ModifyVSwitchAttribute: VSwitchName and Description.
pub fn modify_vswitch_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    super::refuse_unsupported(
        p,
        &["Ipv6CidrBlock", "VpcIpv6CidrBlock"],
        &["EnableIPv6"],
        &[],
    )?;
    ctx.core.modify_vswitch_attribute(
        &ctx.caller,
        p.opt("RegionId"),
        p.required("VSwitchId")?,
        p.raw("VSwitchName"),
        p.raw("Description"),
    )?;
    Ok(Map::new())
}

/// DeleteVSwitch.
pub fn delete_vswitch(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core
        .delete_vswitch(&ctx.caller, p.opt("RegionId"), p.required("VSwitchId")?)?;
    Ok(Map::new())
}
