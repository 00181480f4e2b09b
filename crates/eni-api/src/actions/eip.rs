//! The EIP actions of VPC 2016-04-28: AllocateEipAddress, AssociateEipAddress,
//! UnassociateEipAddress, ReleaseEipAddress, DescribeEipAddresses, ModifyEipAddressAttribute,
//! ModifyEipForwardMode and DescribeEipGatewayInfo.

use super::{object, page, tags_view, time, Ctx};
use eni_core::eip::{AllocateEip, AssociateEip, DescribeEips, Eip, UnassociateEip};
use eni_types::{ApiError, Params};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::net::Ipv4Addr;

type Out = Result<Map<String, Value>, ApiError>;

fn region(p: &Params) -> Result<String, ApiError> {
    Ok(p.required("RegionId")?.to_string())
}

/// AllocateEipAddress.
pub fn allocate(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = AllocateEip {
        region: region(p)?,
        bandwidth: p.opt("Bandwidth").map(String::from),
        internet_charge_type: p.opt("InternetChargeType").map(String::from),
        instance_charge_type: p.opt("InstanceChargeType").map(String::from),
        isp: p.opt("ISP").map(String::from),
        name: p.raw("Name").map(String::from),
        description: p.raw("Description").map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        client_token: p.opt("ClientToken").map(String::from),
    };
    let a = ctx.core.allocate_eip(&ctx.caller, req)?;
    // Pay-as-you-go makes no order; the SDK models OrderId as an integer.
    Ok(object(json!({
        "AllocationId": a.allocation_id,
        "EipAddress": a.eip_address.to_string(),
        "ResourceGroupId": a.resource_group_id,
        "OrderId": 0,
    })))
}

/// AssociateEipAddress.
pub fn associate(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = AssociateEip {
        region: region(p)?,
        allocation_id: p.required("AllocationId")?.to_string(),
        instance_id: p.required("InstanceId")?.to_string(),
        instance_type: p.opt("InstanceType").map(String::from),
        private_ip: p.opt("PrivateIpAddress").map(String::from),
        mode: p.opt("Mode").map(String::from),
        client_token: p.opt("ClientToken").map(String::from),
    };
    ctx.core.associate_eip(&ctx.caller, req)?;
    Ok(Map::new())
}

/// UnassociateEipAddress.
pub fn unassociate(ctx: &Ctx<'_>, p: &Params) -> Out {
    // Force only matters for NAT gateways with DNAT or SNAT entries; it is read so that a
    // malformed value is still refused.
    p.bool("Force")?;
    let req = UnassociateEip {
        region: region(p)?,
        allocation_id: p.required("AllocationId")?.to_string(),
        instance_id: p.opt("InstanceId").map(String::from),
        instance_type: p.opt("InstanceType").map(String::from),
        private_ip: p.opt("PrivateIpAddress").map(String::from),
        client_token: p.opt("ClientToken").map(String::from),
    };
    ctx.core.unassociate_eip(&ctx.caller, req)?;
    Ok(Map::new())
}

/// ModifyEipAddressAttribute: Name, Description and Bandwidth.
pub fn modify(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.modify_eip_attribute(
        &ctx.caller,
        &region(p)?,
        p.required("AllocationId")?,
        p.raw("Name"),
        p.raw("Description"),
        p.opt("Bandwidth"),
    )?;
    Ok(Map::new())
}

/// ModifyEipForwardMode: `InstanceId` is the EIP's allocation ID.
pub fn modify_forward_mode(ctx: &Ctx<'_>, p: &Params) -> Out {
    // A retry sets the mode it set: no ClientToken record is needed.
    ctx.core.modify_eip_forward_mode(
        &ctx.caller,
        &region(p)?,
        p.required("InstanceId")?,
        p.required("Mode")?,
    )?;
    Ok(Map::new())
}

/// DescribeEipGatewayInfo: the MULTI_BINDED EIPs of the ENI `InstanceId`.
pub fn gateway_info(ctx: &Ctx<'_>, p: &Params) -> Out {
    let infos =
        ctx.core
            .describe_eip_gateway_info(&ctx.caller, &region(p)?, p.required("InstanceId")?)?;
    let list: Vec<Value> = infos
        .into_iter()
        .map(|(ip, gw, mask)| {
            json!({"Ip": ip.to_string(), "IpGw": gw.to_string(), "IpMask": mask.to_string()})
        })
        .collect();
    Ok(object(json!({
        "Code": "200",
        "Message": "successful",
        "EipInfos": { "EipInfo": list },
    })))
}

/// ReleaseEipAddress.
pub fn release(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core
        .release_eip(&ctx.caller, &region(p)?, p.required("AllocationId")?)?;
    Ok(Map::new())
}

/// One `EipAddresses.EipAddress[]` entry, every field of the SDK model with its type
/// (`Bandwidth` a string, `ServiceManaged` an integer, `HDMonitorStatus` a string).
fn eip_view(e: &Eip) -> Value {
    let b = e.binding.as_ref();
    let bandwidth = e.bandwidth.to_string();
    let first = json!({
        "AllocationId": e.id,
        "IpAddress": Ipv4Addr::from(e.ip).to_string(),
        "Status": e.status,
        "RegionId": e.region_id,
        "InstanceId": b.map(|b| b.instance_id.clone()).unwrap_or_default(),
        "InstanceType": b.map(|b| b.instance_type.clone()).unwrap_or_default(),
        "InstanceRegionId": if b.is_some() { e.region_id.clone() } else { String::new() },
        "PrivateIpAddress": b.map(|b| Ipv4Addr::from(b.private_ip).to_string()).unwrap_or_default(),
        "Mode": e.mode,
        "VpcId": b.map(|b| b.vpc_id.to_string()).unwrap_or_default(),
        "Bandwidth": bandwidth,
        "EipBandwidth": bandwidth,
        "InternetChargeType": e.internet_charge_type,
        "ChargeType": e.instance_charge_type,
        "AllocationTime": time(e.created_at),
        "ExpiredTime": "",
        "ISP": e.isp,
        "Netmode": "public",
        "Name": e.name,
        "Description": e.description,
        "ResourceGroupId": e.resource_group_id,
        "OperationLocks": { "LockReason": [] },
        "Tags": tags_view(&e.tags),
        "SecurityProtectionTypes": { "SecurityProtectionType": [] },
    });
    // Split in two: one json! of this size exceeds the macro's recursion limit.
    let rest = json!({
        "DeletionProtection": false,
        "SecondLimited": false,
        "ServiceManaged": 0,
        "ServiceID": 0,
        "HDMonitorStatus": "false",
        "BusinessStatus": "Normal",
        "BandwidthPackageId": "",
        "BandwidthPackageType": "",
        "BandwidthPackageBandwidth": "",
        "HasReservationData": "false",
        "ReservationActiveTime": "",
        "ReservationBandwidth": "",
        "ReservationInternetChargeType": "",
        "ReservationOrderType": "",
        "PublicIpAddressPoolId": "",
        "SegmentInstanceId": "",
        "BizType": "",
        "Zone": "",
    });
    let mut out = object(first);
    out.extend(object(rest));
    Value::Object(out)
}

/// DescribeEipAddresses: `PageNumber`/`PageSize` (at most 100).
pub fn describe(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = DescribeEips {
        region: region(p)?,
        allocation_ids: p.comma_list("AllocationId"),
        addresses: p.comma_list("EipAddress"),
        associated_instance_id: p.opt("AssociatedInstanceId").map(String::from),
        associated_instance_type: p.opt("AssociatedInstanceType").map(String::from),
        status: p.opt("Status").map(String::from),
        name: p.opt("EipName").map(String::from),
        isp: p.opt("ISP").map(String::from),
        charge_type: p.opt("ChargeType").map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        page: page(p, 100)?,
    };
    let r = ctx.core.describe_eips(&ctx.caller, req)?;
    let list: Vec<Value> = r.items.iter().map(eip_view).collect();
    Ok(object(json!({
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "EipAddresses": { "EipAddress": list },
    })))
}

/// `AssociatedPublicIp` of an ENI address: `{AllocationId, PublicIpAddress}` of the EIP
/// NAT-ed to it, or `{}`.
#[derive(Serialize, Default)]
pub struct PublicIp<'a> {
    #[serde(rename = "AllocationId", skip_serializing_if = "Option::is_none")]
    allocation_id: Option<&'a str>,
    #[serde(rename = "PublicIpAddress", skip_serializing_if = "Option::is_none")]
    public_ip_address: Option<Ipv4Addr>,
}

/// The [`PublicIp`] of `ip` among `eips`, the EIPs bound to an ENI's addresses.
pub fn associated_public_ip(eips: &[Eip], ip: Ipv4Addr) -> PublicIp<'_> {
    eips.iter()
        .find(|e| {
            e.binding
                .as_ref()
                .is_some_and(|b| b.private_ip == u32::from(ip))
        })
        .map_or_else(PublicIp::default, |e| PublicIp {
            allocation_id: Some(e.id.as_str()),
            public_ip_address: Some(Ipv4Addr::from(e.ip)),
        })
}
