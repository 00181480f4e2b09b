//! RunInstances, CreateInstance, StartInstance, StopInstance, DeleteInstance(s),
//! DescribeInstances.

use super::eni::ecs_tags;
use super::{object, Ctx};
use eni_core::instance::{DescribeInstances, InstanceView, NetworkInterfaceSpec, RunInstances};
use eni_types::time::format_utc;
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

type Out = Result<Map<String, Value>, ApiError>;

fn count(p: &Params, name: &str) -> Result<Option<u32>, ApiError> {
    Ok(p.int(name, 0, 1000)?.map(|v| v as u32))
}

fn run_request(p: &Params, start: bool) -> Result<RunInstances, ApiError> {
    let mut nis = Vec::new();
    for n in p.struct_list("NetworkInterface")? {
        nis.push(NetworkInterfaceSpec {
            kind: n.opt("InstanceType").map(String::from),
            vswitch_id: n.opt("VSwitchId").map(String::from),
            security_group_id: n.opt("SecurityGroupId").map(String::from),
            security_group_ids: n.list("SecurityGroupIds")?,
            primary_ip: n.opt("PrimaryIpAddress").map(String::from),
            secondary_count: count(&n, "SecondaryPrivateIpAddressCount")?,
            ipv6: n.list("Ipv6Address")?,
            ipv6_count: count(&n, "Ipv6AddressCount")?,
            name: n.raw("NetworkInterfaceName").map(String::from),
            description: n.raw("Description").map(String::from),
            delete_on_release: n.bool("DeleteOnRelease")?,
            queue_number: n.int("QueueNumber", 1, 2048)?.map(|v| v as u32),
            traffic_mode: n.opt("NetworkInterfaceTrafficMode").map(String::from),
        });
        if n.opt("NetworkInterfaceId").is_some() {
            return Err(ApiError::invalid_param_because(
                "NetworkInterface.N.NetworkInterfaceId",
                "attaching an existing ENI at launch is not supported; use AttachNetworkInterface",
            ));
        }
    }
    Ok(RunInstances {
        region: p.required("RegionId")?.to_string(),
        zone_id: p.opt("ZoneId").map(String::from),
        instance_type: p.required("InstanceType")?.to_string(),
        image_id: p.opt("ImageId").map(String::from),
        vswitch_id: p.opt("VSwitchId").map(String::from),
        security_group_id: p.opt("SecurityGroupId").map(String::from),
        security_group_ids: p.list("SecurityGroupIds")?,
        amount: if start {
            p.int("Amount", i64::MIN, i64::MAX)?
                .unwrap_or(1)
                .clamp(0, 1000) as u32
        } else {
            1
        },
        name: p.raw("InstanceName").map(String::from),
        host_name: p.opt("HostName").map(String::from),
        description: p.raw("Description").map(String::from),
        private_ip: p.opt("PrivateIpAddress").map(String::from),
        ipv6: p.list("Ipv6Address")?,
        ipv6_count: count(p, "Ipv6AddressCount")?,
        network_interfaces: nis,
        tags: p.tags()?,
        start,
        dry_run: p.bool("DryRun")?.unwrap_or(false),
        client_token: p.opt("ClientToken").map(String::from),
    })
}

/// RunInstances.
pub fn run(ctx: &Ctx<'_>, p: &Params) -> Out {
    let ids = ctx.core.run_instances(&ctx.caller, run_request(p, true)?)?;
    Ok(object(json!({
        "InstanceIdSets": { "InstanceIdSet": ids },
        "OrderId": "",
        "TradePrice": 0.0,
    })))
}

/// CreateInstance: one instance, Stopped.
pub fn create(ctx: &Ctx<'_>, p: &Params) -> Out {
    let ids = ctx
        .core
        .run_instances(&ctx.caller, run_request(p, false)?)?;
    Ok(object(
        json!({ "InstanceId": ids[0], "OrderId": "", "TradePrice": 0.0 }),
    ))
}

/// StartInstance.
pub fn start(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core
        .start_instance(&ctx.caller, p.opt("RegionId"), p.required("InstanceId")?)?;
    Ok(Map::new())
}

/// StopInstance.
pub fn stop(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core
        .stop_instance(&ctx.caller, p.opt("RegionId"), p.required("InstanceId")?)?;
    Ok(Map::new())
}

/// DeleteInstance.
pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Out {
    let id = p.required("InstanceId")?.to_string();
    ctx.core.delete_instances(
        &ctx.caller,
        p.opt("RegionId"),
        &[id],
        p.bool("Force")?.unwrap_or(false),
    )?;
    Ok(Map::new())
}

/// DeleteInstances.
pub fn delete_many(ctx: &Ctx<'_>, p: &Params) -> Out {
    let ids = p.list("InstanceId")?;
    ctx.core.delete_instances(
        &ctx.caller,
        Some(p.required("RegionId")?),
        &ids,
        p.bool("Force")?.unwrap_or(false),
    )?;
    Ok(Map::new())
}

fn minutes(t: i64) -> String {
    // Instance times carry minutes only: yyyy-MM-ddTHH:mmZ.
    let s = format_utc(t);
    format!("{}Z", &s[..16])
}

fn instance_view(v: &InstanceView) -> Value {
    let i = &v.instance;
    let primary = v.enis.iter().find(|e| e.eni.eni_type == "Primary");
    let nics: Vec<Value> = v
        .enis
        .iter()
        .map(|e| {
            let ips: Vec<Value> = e
                .private_ips
                .iter()
                .enumerate()
                .map(|(n, ip)| json!({"PrivateIpAddress": ip.to_string(), "Primary": n == 0, "PrivateDnsName": ""}))
                .collect();
            json!({
                "NetworkInterfaceId": e.eni.id,
                "Type": e.eni.eni_type,
                "MacAddress": e.eni.mac,
                "PrimaryIpAddress": e.private_ips.first().map(|a| a.to_string()).unwrap_or_default(),
                "PrivateIpSets": { "PrivateIpSet": ips },
                "Ipv6Sets": { "Ipv6Set": e.ipv6.iter().map(|a| json!({"Ipv6Address": a})).collect::<Vec<_>>() },
                "Ipv4PrefixSets": { "Ipv4PrefixSet": e.ipv4_prefixes.iter().map(|a| json!({"Ipv4Prefix": a})).collect::<Vec<_>>() },
                "Ipv6PrefixSets": { "Ipv6PrefixSet": e.ipv6_prefixes.iter().map(|a| json!({"Ipv6Prefix": a})).collect::<Vec<_>>() },
            })
        })
        .collect();
    // The EIP NAT-ed to the primary IP of the primary ENI (associated with the instance or
    // with that ENI); a classic or EIP-less instance shows the empty entry.
    let eip = primary
        .and_then(|p| {
            let ip = u32::from(*p.private_ips.first()?);
            p.eips
                .iter()
                .find(|e| e.binding.as_ref().is_some_and(|b| b.private_ip == ip))
        })
        .map_or_else(
            || json!({ "AllocationId": "", "IpAddress": "", "Bandwidth": 0, "InternetChargeType": "", "IsSupportUnassociate": false }),
            |e| {
                json!({
                    "AllocationId": e.id,
                    "IpAddress": std::net::Ipv4Addr::from(e.ip).to_string(),
                    "Bandwidth": e.bandwidth,
                    "InternetChargeType": e.internet_charge_type,
                    "IsSupportUnassociate": true,
                })
            },
        );
    let ty = &v.instance_type;
    json!({
        "InstanceId": i.id,
        "InstanceName": i.name,
        "HostName": i.host_name,
        "Description": i.description,
        "RegionId": i.region_id,
        "ZoneId": i.zone_id,
        "InstanceType": i.instance_type,
        "InstanceTypeFamily": ty.instance_type_family,
        "Cpu": ty.cpu_core_count,
        "Memory": (ty.memory_size * 1024.0) as u64,
        "Status": i.status,
        "InstanceNetworkType": if i.vpc_id.is_some() { "vpc" } else { "classic" },
        "ImageId": i.image_id,
        "OSType": "linux",
        "OSName": "Alibaba Cloud Linux 3",
        "CreationTime": minutes(i.created_at),
        "StartTime": i.started_at.map(minutes).unwrap_or_default(),
        "ExpiredTime": "2099-12-31T15:59Z",
        "InstanceChargeType": "PostPaid",
        "InternetChargeType": "PayByTraffic",
        "InternetMaxBandwidthIn": -1,
        "InternetMaxBandwidthOut": 0,
        "IoOptimized": ty.io_optimized,
        "DeletionProtection": false,
        "StoppedMode": if i.status == "Stopped" { "KeepCharging" } else { "Not-applicable" },
        "ResourceGroupId": i.resource_group_id,
        "SecurityGroupIds": { "SecurityGroupId": primary.map(|p| p.eni.security_group_ids.clone()).unwrap_or_default() },
        "VpcAttributes": {
            "VpcId": i.vpc_id.as_ref().map(|x| x.to_string()).unwrap_or_default(),
            "VSwitchId": i.vswitch_id.as_ref().map(|x| x.to_string()).unwrap_or_default(),
            "PrivateIpAddress": { "IpAddress": primary.map(|p| vec![p.private_ips[0].to_string()]).unwrap_or_default() },
            "NatIpAddress": "",
        },
        "PublicIpAddress": { "IpAddress": [] },
        "InnerIpAddress": { "IpAddress": [] },
        "EipAddress": eip,
        "NetworkInterfaces": { "NetworkInterface": nics },
        "OperationLocks": { "LockReason": [] },
        "Tags": ecs_tags(&i.tags),
    })
}

/// DescribeInstances.
pub fn describe(ctx: &Ctx<'_>, p: &Params) -> Out {
    let paging = super::paging(
        p,
        |p| Ok(p.int("MaxResults", 1, 100)?.unwrap_or(10) as usize),
        100,
    )?;
    let req = DescribeInstances {
        region: p.required("RegionId")?.to_string(),
        ids: p.json_string_array("InstanceIds")?,
        vpc_id: p.opt("VpcId").map(String::from),
        vswitch_id: p.opt("VSwitchId").map(String::from),
        zone_id: p.opt("ZoneId").map(String::from),
        security_group_id: p.opt("SecurityGroupId").map(String::from),
        instance_type: p.opt("InstanceType").map(String::from),
        status: p.opt("Status").map(String::from),
        private_ips: p.json_string_array("PrivateIpAddresses")?,
        name: p.opt("InstanceName").map(String::from),
        tags: p.tags()?,
        paging,
    };
    let r = ctx.core.describe_instances(&ctx.caller, req)?;
    let list: Vec<Value> = r.items.iter().map(instance_view).collect();
    Ok(object(json!({
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "NextToken": r.next_token,
        "Instances": { "Instance": list },
    })))
}
