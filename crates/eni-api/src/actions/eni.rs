//! The ENI actions of ECS 2014-05-26.

use super::eip::associated_public_ip;
use super::{object, time, Ctx};
use eni_core::eni::{AddressRequest, CreateEni, DescribeEnis, EniView, ModifyEni};
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

type Out = Result<Map<String, Value>, ApiError>;

/// ECS tags: `Tags: {Tag: [{TagKey, TagValue}]}`.
pub fn ecs_tags(tags: &[(String, String)]) -> Value {
    let list: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    json!({ "Tag": list })
}

fn count(p: &Params, name: &str) -> Result<Option<u32>, ApiError> {
    Ok(p.int(name, i64::MIN, i64::MAX)?.map(|v| {
        // Out-of-range counts are reported by core with the documented limits.
        v.clamp(0, i64::from(u32::MAX)) as u32
    }))
}

fn region(p: &Params) -> Result<String, ApiError> {
    Ok(p.required("RegionId")?.to_string())
}

/// The per-ENI fields shared by DescribeNetworkInterfaces and DescribeNetworkInterfaceAttribute.
pub fn eni_fields(v: &EniView) -> Map<String, Value> {
    let e = &v.eni;
    let ips: Vec<Value> = v
        .private_ips
        .iter()
        .enumerate()
        .map(|(i, ip)| json!({"PrivateIpAddress": ip.to_string(), "Primary": i == 0, "PrivateDnsName": "", "AssociatedPublicIp": associated_public_ip(&v.eips, *ip)}))
        .collect();
    let instance = e
        .instance_id
        .as_ref()
        .map(|i| i.to_string())
        .unwrap_or_default();
    let attachment = match (&e.instance_id, e.device_index) {
        (Some(i), Some(d)) => {
            json!({"InstanceId": i, "DeviceIndex": d, "NetworkCardIndex": 0, "TrunkNetworkInterfaceId": ""})
        }
        _ => json!({}),
    };
    object(json!({
        "NetworkInterfaceId": e.id,
        "NetworkInterfaceName": e.name,
        "Description": e.description,
        "Status": e.status,
        "Type": e.eni_type,
        "InstanceId": instance,
        "Attachment": attachment,
        "VpcId": e.vpc_id,
        "VSwitchId": e.vswitch_id,
        "ZoneId": e.zone_id,
        "MacAddress": e.mac,
        "PrivateIpAddress": v.private_ips.first().map(|i| i.to_string()).unwrap_or_default(),
        "PrivateIpSets": { "PrivateIpSet": ips },
        "Ipv6Sets": { "Ipv6Set": v.ipv6.iter().map(|a| json!({"Ipv6Address": a})).collect::<Vec<_>>() },
        "Ipv4PrefixSets": { "Ipv4PrefixSet": v.ipv4_prefixes.iter().map(|a| json!({"Ipv4Prefix": a})).collect::<Vec<_>>() },
        "Ipv6PrefixSets": { "Ipv6PrefixSet": v.ipv6_prefixes.iter().map(|a| json!({"Ipv6Prefix": a})).collect::<Vec<_>>() },
        // The ENI's own entry is its primary IP's.
        "AssociatedPublicIp": v.private_ips.first().map_or_else(|| json!({}), |ip| associated_public_ip(&v.eips, *ip)),
        "SecurityGroupIds": { "SecurityGroupId": e.security_group_ids },
        "Tags": ecs_tags(&e.tags),
        "ResourceGroupId": e.resource_group_id,
        "OwnerId": e.account_id.0.to_string(),
        "ServiceManaged": false,
        "ServiceID": 0,
        "CreationTime": time(e.created_at),
        "DeleteOnRelease": e.delete_on_release,
        "QueueNumber": e.queue_number,
        "QueuePairNumber": 0,
        "NetworkInterfaceTrafficMode": e.traffic_mode,
        "SourceDestCheck": e.source_dest_check,
    }))
}

fn address_request(p: &Params) -> Result<AddressRequest, ApiError> {
    Ok(AddressRequest {
        primary_ip: p.opt("PrimaryIpAddress").map(String::from),
        private_ips: p.list("PrivateIpAddress")?,
        secondary_count: count(p, "SecondaryPrivateIpAddressCount")?,
        ipv4_prefixes: p.list("Ipv4Prefix")?,
        ipv4_prefix_count: count(p, "Ipv4PrefixCount")?,
        ipv6: p.list("Ipv6Address")?,
        ipv6_count: count(p, "Ipv6AddressCount")?,
        ipv6_prefixes: p.list("Ipv6Prefix")?,
        ipv6_prefix_count: count(p, "Ipv6PrefixCount")?,
    })
}

/// CreateNetworkInterface.
pub fn create(ctx: &Ctx<'_>, p: &Params) -> Out {
    let traffic = p
        .opt("NetworkInterfaceTrafficMode")
        .or(p.opt("NetworkInterfaceTrafficConfig.NetworkInterfaceTrafficMode"));
    let queue = p.int("QueueNumber", 1, 2048)?.or(p.int(
        "NetworkInterfaceTrafficConfig.QueueNumber",
        1,
        2048,
    )?);
    let req = CreateEni {
        region: region(p)?,
        vswitch_id: p.required("VSwitchId")?.to_string(),
        security_group_id: p.opt("SecurityGroupId").map(String::from),
        security_group_ids: p.list("SecurityGroupIds")?,
        addresses: address_request(p)?,
        name: p.raw("NetworkInterfaceName").map(String::from),
        description: p.raw("Description").map(String::from),
        eni_type: p.opt("InstanceType").map(String::from),
        delete_on_release: p.bool("DeleteOnRelease")?,
        source_dest_check: p.bool("SourceDestCheck")?,
        queue_number: queue.map(|q| q as u32),
        traffic_mode: traffic.map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        client_token: p.opt("ClientToken").map(String::from),
    };
    let v = ctx.core.create_network_interface(&ctx.caller, req)?;
    let mut f = eni_fields(&v);
    let mut out = Map::new();
    for k in [
        "NetworkInterfaceId",
        "Status",
        "Type",
        "VpcId",
        "VSwitchId",
        "ZoneId",
        "PrivateIpAddress",
        "MacAddress",
        "NetworkInterfaceName",
        "Description",
        "ResourceGroupId",
        "OwnerId",
        "ServiceID",
        "ServiceManaged",
        "SourceDestCheck",
        "SecurityGroupIds",
        "Ipv6Sets",
        "Ipv4PrefixSets",
        "Ipv6PrefixSets",
        "Tags",
    ] {
        if let Some(v) = f.remove(k) {
            out.insert(k.to_string(), v);
        }
    }
    // Create answers PrivateIpSet entries without the Describe-only fields.
    let ips: Vec<Value> = v
        .private_ips
        .iter()
        .enumerate()
        .map(|(i, ip)| json!({"PrivateIpAddress": ip.to_string(), "Primary": i == 0}))
        .collect();
    out.insert("PrivateIpSets".into(), json!({ "PrivateIpSet": ips }));
    Ok(out)
}

/// DeleteNetworkInterface.
pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.delete_network_interface(
        &ctx.caller,
        &region(p)?,
        p.required("NetworkInterfaceId")?,
    )?;
    Ok(Map::new())
}

/// DescribeNetworkInterfaces: `MaxResults`/`NextToken` paging when either is given, else
/// `PageNumber`/`PageSize`.
pub fn describe(ctx: &Ctx<'_>, p: &Params) -> Out {
    // MaxResults below 10 means 10, above 500 means 500.
    let paging = super::paging(
        p,
        |p| {
            Ok(p.int("MaxResults", i64::MIN, i64::MAX)?
                .unwrap_or(10)
                .clamp(10, 500) as usize)
        },
        100,
    )?;
    let req = DescribeEnis {
        region: region(p)?,
        ids: p.list_max("NetworkInterfaceId", 100)?,
        instance_id: p.opt("InstanceId").map(String::from),
        vpc_id: p.opt("VpcId").map(String::from),
        vswitch_id: p.opt("VSwitchId").map(String::from),
        security_group_id: p.opt("SecurityGroupId").map(String::from),
        primary_ip: p.opt("PrimaryIpAddress").map(String::from),
        name: p.opt("NetworkInterfaceName").map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        private_ips: p.list("PrivateIpAddress")?,
        ipv6: p.list("Ipv6Address")?,
        eni_type: p.opt("Type").map(String::from),
        status: p.opt("Status").map(String::from),
        service_managed: p.bool("ServiceManaged")?,
        tags: p.tags()?,
        paging,
    };
    let r = ctx.core.describe_network_interfaces(&ctx.caller, req)?;
    let list: Vec<Value> = r
        .items
        .iter()
        .map(|v| Value::Object(eni_fields(v)))
        .collect();
    Ok(object(json!({
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "NextToken": r.next_token,
        "NetworkInterfaceSets": { "NetworkInterfaceSet": list },
    })))
}

/// DescribeNetworkInterfaceAttribute.
pub fn describe_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    let v = ctx
        .core
        .eni_view(&ctx.caller, &region(p)?, p.required("NetworkInterfaceId")?)?;
    let mut f = eni_fields(&v);
    f.insert(
        "NetworkInterfaceTrafficConfig".into(),
        json!({"NetworkInterfaceTrafficMode": v.eni.traffic_mode, "QueueNumber": v.eni.queue_number, "QueuePairNumber": 0}),
    );
    Ok(f)
}

/// AttachNetworkInterface.
pub fn attach(ctx: &Ctx<'_>, p: &Params) -> Out {
    if let Some(i) = p.int("NetworkCardIndex", 0, 7)? {
        if i != 0 {
            return Err(ApiError::invalid_param_because(
                "NetworkCardIndex",
                "these instance types have one network card (index 0)",
            ));
        }
    }
    ctx.core.attach_network_interface(
        &ctx.caller,
        &region(p)?,
        p.required("NetworkInterfaceId")?,
        p.required("InstanceId")?,
    )?;
    Ok(Map::new())
}

/// DetachNetworkInterface.
pub fn detach(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.detach_network_interface(
        &ctx.caller,
        &region(p)?,
        p.required("NetworkInterfaceId")?,
        p.required("InstanceId")?,
    )?;
    Ok(Map::new())
}

/// AssignPrivateIpAddresses.
pub fn assign_private_ips(ctx: &Ctx<'_>, p: &Params) -> Out {
    let a = ctx.core.assign_private_ips(
        &ctx.caller,
        &region(p)?,
        p.required("NetworkInterfaceId")?,
        p.list("PrivateIpAddress")?,
        count(p, "SecondaryPrivateIpAddressCount")?,
        p.list("Ipv4Prefix")?,
        count(p, "Ipv4PrefixCount")?,
        p.opt("ClientToken").map(String::from),
    )?;
    Ok(object(json!({
        "AssignedPrivateIpAddressesSet": {
            "NetworkInterfaceId": a.eni_id,
            "PrivateIpSet": { "PrivateIpAddress": a.private_ips },
            "Ipv4PrefixSet": { "Ipv4Prefixes": a.ipv4_prefixes },
        }
    })))
}

/// UnassignPrivateIpAddresses.
pub fn unassign_private_ips(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.unassign_private_ips(
        &ctx.caller,
        &region(p)?,
        p.required("NetworkInterfaceId")?,
        p.list("PrivateIpAddress")?,
        p.list("Ipv4Prefix")?,
    )?;
    Ok(Map::new())
}

/// AssignIpv6Addresses.
pub fn assign_ipv6(ctx: &Ctx<'_>, p: &Params) -> Out {
    let a = ctx.core.assign_ipv6(
        &ctx.caller,
        &region(p)?,
        p.required("NetworkInterfaceId")?,
        p.list("Ipv6Address")?,
        count(p, "Ipv6AddressCount")?,
        p.list("Ipv6Prefix")?,
        count(p, "Ipv6PrefixCount")?,
        p.opt("ClientToken").map(String::from),
    )?;
    Ok(object(json!({
        "NetworkInterfaceId": a.eni_id,
        "Ipv6Sets": { "Ipv6Address": a.ipv6 },
        "Ipv6PrefixSets": { "Ipv6Prefix": a.ipv6_prefixes },
    })))
}

/// UnassignIpv6Addresses.
pub fn unassign_ipv6(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.unassign_ipv6(
        &ctx.caller,
        &region(p)?,
        p.required("NetworkInterfaceId")?,
        p.list("Ipv6Address")?,
        p.list("Ipv6Prefix")?,
    )?;
    Ok(Map::new())
}

/// ModifyNetworkInterfaceAttribute.
pub fn modify(ctx: &Ctx<'_>, p: &Params) -> Out {
    let queue = p.int("QueueNumber", i64::MIN, i64::MAX)?.or(p.int(
        "NetworkInterfaceTrafficConfig.QueueNumber",
        i64::MIN,
        i64::MAX,
    )?);
    let req = ModifyEni {
        region: region(p)?,
        eni_id: p.required("NetworkInterfaceId")?.to_string(),
        name: p.raw("NetworkInterfaceName").map(String::from),
        description: p.raw("Description").map(String::from),
        security_group_ids: p.list("SecurityGroupId")?,
        delete_on_release: p.bool("DeleteOnRelease")?,
        source_dest_check: p.bool("SourceDestCheck")?,
        queue_number: queue.map(|q| q.clamp(0, i64::from(u32::MAX)) as u32),
    };
    ctx.core.modify_network_interface(&ctx.caller, req)?;
    Ok(Map::new())
}
