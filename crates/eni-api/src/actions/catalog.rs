//! DescribeRegions, DescribeZones (ECS and VPC shapes) and DescribeInstanceTypes.

use super::{object, Ctx};
use eni_core::catalog::InstanceType;
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

fn regions(ctx: &Ctx<'_>, endpoint: impl Fn(&str) -> String) -> Map<String, Value> {
    let list: Vec<Value> = ctx
        .core
        .catalog()
        .regions
        .iter()
        .map(|r| {
            json!({
                "RegionId": r.region_id,
                "LocalName": r.local_name,
                "RegionEndpoint": endpoint(&r.region_id),
                "Status": "available",
            })
        })
        .collect();
    object(json!({ "Regions": { "Region": list } }))
}

/// ECS DescribeRegions.
pub fn describe_regions_ecs(ctx: &Ctx<'_>, _p: &Params) -> Result<Map<String, Value>, ApiError> {
    Ok(regions(ctx, |r| format!("ecs.{r}.aliyuncs.com")))
}

/// VPC DescribeRegions.
pub fn describe_regions_vpc(ctx: &Ctx<'_>, _p: &Params) -> Result<Map<String, Value>, ApiError> {
    Ok(regions(ctx, |r| format!("vpc.{r}.aliyuncs.com")))
}

fn zones(ctx: &Ctx<'_>, p: &Params, ecs: bool) -> Result<Map<String, Value>, ApiError> {
    let region_id = p.required("RegionId")?;
    let region = ctx
        .core
        .catalog()
        .region(region_id)
        .ok_or(ApiError::RegionNotFound)?;
    let types: Vec<&str> = ctx
        .core
        .catalog()
        .instance_types
        .iter()
        .map(|t| t.instance_type_id.as_str())
        .collect();
    let list: Vec<Value> = region
        .zones
        .iter()
        .map(|z| {
            if ecs {
                json!({
                    "ZoneId": z.zone_id,
                    "LocalName": z.local_name,
                    "ZoneType": "AvailabilityZone",
                    "AvailableResourceCreation": { "ResourceTypes": ["Instance", "Disk", "VSwitch"] },
                    "AvailableInstanceTypes": { "InstanceTypes": types },
                    "AvailableDiskCategories": { "DiskCategories": ["cloud_essd", "cloud_efficiency"] },
                    "AvailableVolumeCategories": { "VolumeCategories": ["cloud_essd"] },
                    "AvailableResources": { "ResourcesInfo": [] },
                    "AvailableDedicatedHostTypes": { "DedicatedHostType": [] },
                    "DedicatedHostGenerations": { "DedicatedHostGeneration": [] },
                })
            } else {
                json!({ "ZoneId": z.zone_id, "LocalName": z.local_name, "ZoneType": "AvailabilityZone" })
            }
        })
        .collect();
    Ok(object(json!({ "Zones": { "Zone": list } })))
}

/// ECS DescribeZones.
pub fn describe_zones_ecs(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, ApiError> {
    zones(ctx, p, true)
}

/// VPC DescribeZones.
pub fn describe_zones_vpc(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, ApiError> {
    zones(ctx, p, false)
}

fn instance_type_view(t: &InstanceType) -> Value {
    json!({
        "InstanceTypeId": t.instance_type_id,
        "InstanceTypeFamily": t.instance_type_family,
        "CpuCoreCount": t.cpu_core_count,
        "MemorySize": t.memory_size,
        "EniQuantity": t.eni_quantity,
        "EniPrivateIpAddressQuantity": t.eni_private_ip_address_quantity,
        "EniIpv6AddressQuantity": t.eni_ipv6_address_quantity,
        "EniTotalQuantity": t.eni_quantity,
        "EniTrunkSupported": false,
        "EriQuantity": 0,
        "InstanceBandwidthRx": t.instance_bandwidth_rx,
        "InstanceBandwidthTx": t.instance_bandwidth_tx,
        "InstancePpsRx": t.instance_pps_rx,
        "InstancePpsTx": t.instance_pps_tx,
        "MaximumQueueNumberPerEni": 2,
        "PrimaryEniQueueNumber": 2,
        "SecondaryEniQueueNumber": 2,
        "TotalEniQueueQuantity": 2 * t.eni_quantity,
        "NetworkCardQuantity": 1,
        "NetworkCards": { "NetworkCardInfo": [ { "NetworkCardIndex": 0 } ] },
        "InstanceFamilyLevel": if t.attach_requires_stopped { "CreditEntryLevel" } else { "EnterpriseLevel" },
        "InstanceCategory": "General-purpose",
        "CpuArchitecture": "X86",
        "GPUAmount": 0,
        "GPUSpec": "",
        "LocalStorageCategory": "",
        "IoOptimized": t.io_optimized,
    })
}

/// DescribeInstanceTypes: `InstanceTypes.N`, `InstanceTypeFamily`, the `Minimum*`/`Maximum*`
/// filters on the ENI figures, CPU and memory, and `MaxResults`/`NextToken` paging.
pub fn describe_instance_types(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, ApiError> {
    if let Some(r) = p.opt("RegionId") {
        ctx.core.check_region(r)?;
    }
    let wanted = p.list("InstanceTypes")?;
    if wanted.len() > 10 {
        return Err(ApiError::invalid_param_because(
            "InstanceTypes",
            "at most 10 types",
        ));
    }
    let family = p.opt("InstanceTypeFamily");
    let max_results = p.int("MaxResults", 1, 1600)?.unwrap_or(1600) as usize;
    let start: usize = match p.opt("NextToken") {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::invalid_param("NextToken"))?,
    };
    let min = |name: &str| p.int(name, 0, i64::MAX).map(|v| v.unwrap_or(0) as u64);
    let max = |name: &str| {
        p.int(name, 0, i64::MAX)
            .map(|v| v.map(|v| v as u64).unwrap_or(u64::MAX))
    };
    let mem = |name: &str| -> Result<Option<f64>, ApiError> {
        match p.opt(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<f64>()
                .map(Some)
                .map_err(|_| ApiError::invalid_param(name)),
        }
    };
    let (min_eni, min_ip, min_v6) = (
        min("MinimumEniQuantity")?,
        min("MinimumEniPrivateIpAddressQuantity")?,
        min("MinimumEniIpv6AddressQuantity")?,
    );
    let (min_rx, min_tx) = (
        min("MinimumInstanceBandwidthRx")?,
        min("MinimumInstanceBandwidthTx")?,
    );
    let (min_cpu, max_cpu) = (min("MinimumCpuCoreCount")?, max("MaximumCpuCoreCount")?);
    let (min_mem, max_mem) = (mem("MinimumMemorySize")?, mem("MaximumMemorySize")?);
    let matching: Vec<&InstanceType> = ctx
        .core
        .catalog()
        .instance_types
        .iter()
        .filter(|t| wanted.is_empty() || wanted.contains(&t.instance_type_id))
        .filter(|t| family.is_none_or(|f| f == t.instance_type_family))
        .filter(|t| u64::from(t.eni_quantity) >= min_eni)
        .filter(|t| u64::from(t.eni_private_ip_address_quantity) >= min_ip)
        .filter(|t| u64::from(t.eni_ipv6_address_quantity) >= min_v6)
        .filter(|t| t.instance_bandwidth_rx >= min_rx && t.instance_bandwidth_tx >= min_tx)
        .filter(|t| (min_cpu..=max_cpu).contains(&u64::from(t.cpu_core_count)))
        .filter(|t| {
            min_mem.is_none_or(|m| t.memory_size >= m) && max_mem.is_none_or(|m| t.memory_size <= m)
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(max_results)
        .map(|t| instance_type_view(t))
        .collect();
    let next = start + page.len();
    let next_token = if next < matching.len() {
        next.to_string()
    } else {
        String::new()
    };
    Ok(object(
        json!({ "NextToken": next_token, "InstanceTypes": { "InstanceType": page } }),
    ))
}
