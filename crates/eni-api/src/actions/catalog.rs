//! DescribeRegions, DescribeZones (ECS and VPC shapes), DescribeInstanceTypes,
//! DescribeAvailableResource (every zone has every type, the system disk categories and the
//! VPC network, in stock), and the built-in images: DescribeImages and
//! DescribeImageSupportInstanceTypes.

use super::{object, Ctx};
use eni_core::catalog::InstanceType;
use eni_core::images::{Image, IMAGES};
use eni_core::instance::SYSTEM_DISK_CATEGORIES;
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
                    "AvailableDiskCategories": { "DiskCategories": SYSTEM_DISK_CATEGORIES },
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

fn image_view(i: &Image, region: &str) -> Value {
    json!({
        "ImageId": i.id,
        "ImageName": i.name,
        "ImageFamily": "",
        "ImageVersion": "",
        "Description": "",
        "Size": i.size,
        "ImageOwnerAlias": "system",
        "ImageOwnerId": 0,
        "OSName": i.os_name,
        "OSNameEn": i.os_name_en,
        "OSType": i.os_type,
        "Platform": i.platform,
        "Architecture": i.architecture,
        "Status": "Available",
        "Progress": "100%",
        "Usage": "instance",
        "CreationTime": i.creation_time,
        "IsSelfShared": "",
        "IsSubscribed": false,
        "IsCopied": false,
        "IsPublic": true,
        "IsSupportIoOptimized": true,
        "IsSupportCloudinit": true,
        "ProductCode": "",
        "ResourceGroupId": "",
        "BootMode": "BIOS",
        "LoginAsNonRootSupported": false,
        "SupplierName": "",
        "DiskDeviceMappings": { "DiskDeviceMapping": [{
            "Device": "/dev/xvda",
            "Size": i.size.to_string(),
            "SnapshotId": "",
            "Type": "system",
            "Format": "",
            "ImportOSSBucket": "",
            "ImportOSSObject": "",
            "RemainTime": 0,
            "Progress": "100%",
        }] },
        "Features": { "NvmeSupport": "supported" },
        "Tags": { "Tag": [] },
        "RegionId": region,
    })
}

/// DescribeImages: the built-in public images. Filters: ImageId (comma-separated), ImageName,
/// ImageOwnerAlias (`system` only has any), Status (default `Available`; comma-separated),
/// OSType, Architecture, Usage, IsSupportIoOptimized, IsSupportCloudinit, ImageFamily, Tag.N
/// (the images have none); PageNumber and PageSize (at most 100).
pub fn describe_images(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, ApiError> {
    let region = p.required("RegionId")?;
    ctx.core.check_region(region)?;
    let page = super::page(p, 100)?;
    let ids = p.comma_list("ImageId");
    let statuses: Vec<String> = match p.opt("Status") {
        Some(_) => p.comma_list("Status"),
        None => vec!["Available".to_string()],
    };
    let owner_ok = p
        .opt("ImageOwnerAlias")
        .is_none_or(|o| o.split(',').any(|x| x.trim() == "system"));
    let tagged = !p.tags()?.is_empty();
    let matches = |i: &&Image| {
        owner_ok
            && !tagged
            && statuses.iter().any(|s| s == "Available")
            && (ids.is_empty() || ids.iter().any(|x| x == i.id))
            && p.opt("ImageName").is_none_or(|n| n == i.name)
            && p.opt("OSType")
                .is_none_or(|o| o.eq_ignore_ascii_case(i.os_type))
            && p.opt("Architecture").is_none_or(|a| a == i.architecture)
            && p.opt("Usage").is_none_or(|u| u == "instance")
            && p.opt("ImageFamily").is_none_or(str::is_empty)
            && p.opt("InstanceType")
                .is_none_or(|t| ctx.core.catalog().instance_type(t).is_some())
    };
    let all: Vec<&Image> = IMAGES.iter().filter(matches).collect();
    let paged = eni_core::query::paginate(all, page);
    let list: Vec<Value> = paged.items.iter().map(|i| image_view(i, region)).collect();
    Ok(object(json!({
        "RegionId": region,
        "TotalCount": paged.total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "Images": { "Image": list },
    })))
}

/// DescribeImageSupportInstanceTypes: every type of the catalog runs every image.
pub fn describe_image_support_instance_types(
    ctx: &Ctx<'_>,
    p: &Params,
) -> Result<Map<String, Value>, ApiError> {
    let region = p.required("RegionId")?;
    ctx.core.check_region(region)?;
    let id = p.required("ImageId")?;
    let image = eni_core::images::image(id).ok_or(ApiError::ImageNotFound)?;
    let types: Vec<Value> = ctx
        .core
        .catalog()
        .instance_types
        .iter()
        .map(|t| {
            json!({
                "InstanceTypeId": t.instance_type_id,
                "InstanceTypeFamily": t.instance_type_family,
                "CpuCoreCount": t.cpu_core_count,
                "MemorySize": t.memory_size,
            })
        })
        .collect();
    Ok(object(json!({
        "RegionId": region,
        "ImageId": image.id,
        "InstanceTypes": { "InstanceType": types },
    })))
}

/// DescribeAvailableResource: what each zone of the region offers, every item in stock.
/// DestinationResource: `Zone`, `IoOptimized`, `InstanceType` (filtered by InstanceType,
/// Cores, Memory), `SystemDisk` (filtered by SystemDiskCategory), `DataDisk` (none: eni makes
/// no data disks) or `Network` (`vpc`); ZoneId narrows the zones.
pub fn describe_available_resource(
    ctx: &Ctx<'_>,
    p: &Params,
) -> Result<Map<String, Value>, ApiError> {
    let region_id = p.required("RegionId")?;
    let region = ctx
        .core
        .catalog()
        .region(region_id)
        .ok_or(ApiError::RegionNotFound)?;
    let dest = p.required("DestinationResource")?;
    let stock = |value: &str| json!({ "Value": value, "Status": "Available", "StatusCategory": "WithStock" });
    let cores = p.int("Cores", 1, i64::from(u32::MAX))?;
    let memory: Option<f64> = match p.opt("Memory") {
        None => None,
        Some(m) => Some(
            m.parse()
                .map_err(|_| ApiError::invalid_param_because("Memory", "a number of GiB"))?,
        ),
    };
    let resources: Vec<Value> = match dest {
        "Zone" => Vec::new(),
        "IoOptimized" => vec![stock("optimized")],
        "InstanceType" => ctx
            .core
            .catalog()
            .instance_types
            .iter()
            .filter(|t| {
                p.opt("InstanceType")
                    .is_none_or(|w| w == t.instance_type_id)
            })
            .filter(|t| cores.is_none_or(|c| i64::from(t.cpu_core_count) == c))
            .filter(|t| memory.is_none_or(|m| (t.memory_size - m).abs() < 1e-9))
            .map(|t| stock(&t.instance_type_id))
            .collect(),
        "SystemDisk" => SYSTEM_DISK_CATEGORIES
            .iter()
            .filter(|c| p.opt("SystemDiskCategory").is_none_or(|w| w == **c))
            .map(|c| {
                let mut v = stock(c);
                v["Min"] = json!(20);
                v["Max"] = json!(2048);
                v["Unit"] = json!("GiB");
                v
            })
            .collect(),
        "DataDisk" => Vec::new(),
        "Network" => vec![stock("vpc")],
        _ => {
            return Err(ApiError::invalid_param_because(
                "DestinationResource",
                "Zone, IoOptimized, InstanceType, SystemDisk, DataDisk or Network",
            ))
        }
    };
    let zones: Vec<Value> = region
        .zones
        .iter()
        .filter(|z| p.opt("ZoneId").is_none_or(|w| w == z.zone_id))
        .map(|z| {
            let available = if dest == "Zone" {
                vec![json!({ "Type": "Zone", "SupportedResources": { "SupportedResource": [stock(&z.zone_id)] } })]
            } else {
                vec![json!({ "Type": dest, "SupportedResources": { "SupportedResource": resources } })]
            };
            json!({
                "RegionId": region.region_id,
                "ZoneId": z.zone_id,
                "Status": "Available",
                "StatusCategory": "WithStock",
                "AvailableResources": { "AvailableResource": available },
            })
        })
        .collect();
    Ok(object(
        json!({ "AvailableZones": { "AvailableZone": zones } }),
    ))
}
