//! What Terraform's `alicloud_instance` reads on every refresh besides DescribeInstances, each
//! answered from the instance as stored: DescribeInstanceAttribute, DescribeUserData,
//! DescribeDisks and ModifyDiskAttribute (the system disk every instance has; eni makes no data disks),
//! DescribeInstanceAttachmentAttributes (no private pool), DescribeInstanceMaintenanceAttributes
//! (Alibaba's defaults: a window of 18:00 to 21:00 UTC, AutoRecover, no notice) and
//! DescribeInstanceRamRole (no RAM roles: every instance with an empty one).

use super::instance::InstanceJson;
use super::{object, page, Ctx};
use eni_core::instance::{DescribeInstances, InstanceView};
use eni_core::query::{Page, Paging};
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

type Out = Result<Map<String, Value>, ApiError>;

/// The caller's instances among `ids` in `region`, a page of them (IDs as given; unknown
/// ones are left out), with the total.
fn instances(
    ctx: &Ctx<'_>,
    region: &str,
    ids: Option<Vec<String>>,
    zone: Option<String>,
    page: Page,
) -> Result<(Vec<InstanceView>, u64), ApiError> {
    let req = DescribeInstances {
        region: region.to_string(),
        ids,
        vpc_id: None,
        vswitch_id: None,
        zone_id: zone,
        security_group_id: None,
        instance_type: None,
        status: None,
        private_ips: None,
        name: None,
        tags: Vec::new(),
        paging: Paging::Pages(page),
    };
    let r = ctx.core.describe_instances(&ctx.caller, req)?;
    Ok((r.items, r.total))
}

/// The one instance `InstanceId` names; `InvalidInstanceId.NotFound` (404) if the caller has
/// none such in the region.
fn one(ctx: &Ctx<'_>, p: &Params) -> Result<InstanceView, ApiError> {
    let region = p.required("RegionId")?;
    let id = p.required("InstanceId")?.to_string();
    let (mut items, _) = instances(
        ctx,
        region,
        Some(vec![id]),
        None,
        Page { number: 1, size: 1 },
    )?;
    items.pop().ok_or(ApiError::InstanceNotFound)
}

/// DescribeInstanceAttribute: DescribeInstances' fields of one instance, at the top level.
pub fn describe_instance_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    let v = one(ctx, p)?;
    let mut out = match serde_json::to_value(InstanceJson::of(&v)) {
        Ok(Value::Object(m)) => m,
        _ => return Err(ApiError::InternalError),
    };
    out.extend(object(json!({
        "EnableJumboFrame": false,
        "ClusterId": "",
        "SerialNumber": "",
        "VlanId": "",
        "CreditSpecification": "",
    })));
    Ok(out)
}

/// DescribeUserData: the UserData the instance was launched with (Base64, `""` for none).
pub fn describe_user_data(ctx: &Ctx<'_>, p: &Params) -> Out {
    let v = one(ctx, p)?;
    Ok(object(json!({
        "RegionId": v.instance.region_id,
        "InstanceId": v.instance.id,
        "UserData": v.instance.user_data,
    })))
}

fn system_disk(v: &InstanceView) -> Value {
    let i = &v.instance;
    let created = super::time(i.created_at);
    let level = if i.system_disk_category == "cloud_essd" {
        "PL1"
    } else {
        ""
    };
    json!({
        "DiskId": eni_core::instance::system_disk_id(i.id.as_str()),
        "DiskName": i.system_disk.name,
        "Description": i.system_disk.description,
        "Type": "system",
        "Category": i.system_disk_category,
        "Size": i.system_disk_size,
        "PerformanceLevel": level,
        "ImageId": i.image_id,
        "SourceSnapshotId": "",
        "Status": "In_use",
        "InstanceId": i.id,
        "Device": "/dev/xvda",
        "Portable": false,
        "DeleteWithInstance": true,
        "DeleteAutoSnapshot": true,
        "EnableAutoSnapshot": false,
        "EnableAutomatedSnapshotPolicy": false,
        "AutoSnapshotPolicyId": "",
        "Encrypted": false,
        "KMSKeyId": "",
        "StorageClusterId": "",
        "BurstingEnabled": false,
        "ProvisionedIops": 0,
        "MultiAttach": "Disabled",
        "DiskChargeType": "PostPaid",
        "RegionId": i.region_id,
        "ZoneId": i.zone_id,
        "ResourceGroupId": i.resource_group_id,
        "CreationTime": created,
        "AttachedTime": created,
        "DetachedTime": "",
        "ExpiredTime": "",
        "Attachments": { "Attachment": [
            { "InstanceId": i.id, "Device": "/dev/xvda", "AttachedTime": created }
        ] },
        "OperationLocks": { "OperationLock": [] },
        "MountInstances": { "MountInstance": [] },
        "Tags": super::eni::ecs_tags(&i.system_disk.tags),
    })
}

/// ModifyDiskAttribute of system disks: DiskName and Description, of `DiskId` or of every
/// `DiskIds.N` (RegionId optional, as Terraform leaves it out). What eni does not model is
/// refused: a disk kept after its instance, automatic snapshots, bursting.
pub fn modify_disk_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    super::refuse_unsupported(p, &[], &["EnableAutoSnapshot", "BurstingEnabled"], &[])?;
    for kept in ["DeleteWithInstance", "DeleteAutoSnapshot"] {
        if p.bool(kept)? == Some(false) {
            return Err(ApiError::invalid_param_because(
                kept,
                "a system disk here is always deleted with its instance and its snapshots",
            ));
        }
    }
    let mut disks = p.list_max("DiskIds", 100)?;
    match (p.opt("DiskId"), disks.is_empty()) {
        (Some(d), true) => disks.push(d.to_string()),
        (None, false) => {}
        (None, true) => return Err(ApiError::missing("DiskId")),
        (Some(_), false) => {
            return Err(ApiError::ParameterConflict {
                message: "DiskId and DiskIds.N cannot be given together.".into(),
            })
        }
    }
    ctx.core.modify_disk_attribute(
        &ctx.caller,
        p.opt("RegionId"),
        &disks,
        p.raw("DiskName"),
        p.raw("Description"),
    )?;
    Ok(Map::new())
}

/// DescribeDisks: each instance's system disk (eni makes no data disks). Filters: InstanceId,
/// DiskIds (a JSON array), DiskType (`all`, `system`, `data`), ZoneId, Category, Status;
/// PageNumber and PageSize (at most 100), over the caller's instances in the region.
pub fn describe_disks(ctx: &Ctx<'_>, p: &Params) -> Out {
    let region = p.required("RegionId")?;
    let page = page(p, 100)?;
    let disk_type = p.opt("DiskType").unwrap_or("all");
    if !matches!(disk_type, "all" | "system" | "data") {
        return Err(ApiError::invalid_param_because(
            "DiskType",
            "all, system or data",
        ));
    }
    let mut ids: Option<Vec<String>> = p.opt("InstanceId").map(|i| vec![i.to_string()]);
    if let Some(disks) = p.json_string_array("DiskIds")? {
        if disks.len() > 100 {
            return Err(ApiError::invalid_param_because(
                "DiskIds",
                "at most 100 disks",
            ));
        }
        let of_disks: Vec<String> = disks
            .iter()
            .filter_map(|d| d.strip_prefix("d-"))
            .map(|b| format!("i-{b}"))
            .collect();
        ids = Some(match ids {
            Some(i) => i.into_iter().filter(|x| of_disks.contains(x)).collect(),
            None => of_disks,
        });
    }
    // Every disk here is a system disk in use: another status or type matches none.
    let in_use = p
        .opt("Status")
        .is_none_or(|s| s.eq_ignore_ascii_case("All") || s == "In_use");
    let zone = p.opt("ZoneId").map(String::from);
    let (items, total) =
        if disk_type == "data" || !in_use || ids.as_ref().is_some_and(|i| i.is_empty()) {
            (Vec::new(), 0)
        } else if let Some(category) = p.opt("Category") {
            // The category is the disk's, not indexed with the instance: the caller's instances
            // in the region (and zone), filtered and paged here.
            let mut all = Vec::new();
            for number in 1.. {
                let page = Page { number, size: 100 };
                let (chunk, _) = instances(ctx, region, ids.clone(), zone.clone(), page)?;
                let done = chunk.len() < 100;
                all.extend(chunk);
                if done {
                    break;
                }
            }
            all.retain(|v| v.instance.system_disk_category == category);
            let paged = eni_core::query::paginate(all, page);
            (paged.items, paged.total)
        } else {
            // One system disk per instance: the instances' page is the disks' page.
            instances(ctx, region, ids, zone, page)?
        };
    let disks: Vec<Value> = items.iter().map(system_disk).collect();
    Ok(object(json!({
        "TotalCount": total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "NextToken": "",
        "Disks": { "Disk": disks },
    })))
}

/// The instances a list call names: `InstanceIds` (a JSON array) or `InstanceId.N`.
fn named(p: &Params) -> Result<Option<Vec<String>>, ApiError> {
    if let Some(ids) = p.json_string_array("InstanceIds")? {
        return Ok(Some(ids));
    }
    let listed = p.list("InstanceId")?;
    Ok((!listed.is_empty()).then_some(listed))
}

/// DescribeInstanceAttachmentAttributes: no instance is in a private pool.
pub fn describe_instance_attachment_attributes(ctx: &Ctx<'_>, p: &Params) -> Out {
    let page = page(p, 100)?;
    let (items, total) = instances(ctx, p.required("RegionId")?, named(p)?, None, page)?;
    let list: Vec<Value> = items
        .iter()
        .map(|v| {
            json!({
                "InstanceId": v.instance.id,
                "PrivatePoolOptionsMatchCriteria": "None",
                "PrivatePoolOptionsId": "",
            })
        })
        .collect();
    Ok(object(json!({
        "TotalCount": total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "Instances": { "Instance": list },
    })))
}

/// DescribeInstanceMaintenanceAttributes: Alibaba's defaults for every instance.
pub fn describe_instance_maintenance_attributes(ctx: &Ctx<'_>, p: &Params) -> Out {
    let page = page(p, 100)?;
    let (items, total) = instances(ctx, p.required("RegionId")?, named(p)?, None, page)?;
    let list: Vec<Value> = items
        .iter()
        .map(|v| {
            json!({
                "InstanceId": v.instance.id,
                "RegionId": v.instance.region_id,
                "MaintenanceWindows": { "MaintenanceWindow": [
                    { "StartTime": "18:00:00Z", "EndTime": "21:00:00Z" }
                ] },
                "ActionOnMaintenance": {
                    "Value": "AutoRecover",
                    "DefaultValue": "AutoRecover",
                    "SupportedValues": { "SupportedValue": ["Stop", "AutoRecover", "AutoRedeploy"] },
                },
                "NotifyOnMaintenance": false,
            })
        })
        .collect();
    Ok(object(json!({
        "TotalCount": total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "MaintenanceAttributes": { "MaintenanceAttribute": list },
    })))
}

/// DescribeInstanceRamRole: eni has no RAM roles; each instance named has none.
pub fn describe_instance_ram_role(ctx: &Ctx<'_>, p: &Params) -> Out {
    let region = p.required("RegionId")?;
    let page = page(p, 100)?;
    if p.opt("RamRoleName").is_some_and(|r| !r.is_empty()) {
        return Ok(object(json!({
            "RegionId": region,
            "TotalCount": 0,
            "InstanceRamRoleSets": { "InstanceRamRoleSet": [] },
        })));
    }
    let (items, total) = instances(ctx, region, named(p)?, None, page)?;
    let list: Vec<Value> = items
        .iter()
        .map(|v| json!({ "InstanceId": v.instance.id, "RamRoleName": "" }))
        .collect();
    Ok(object(json!({
        "RegionId": region,
        "TotalCount": total,
        "InstanceRamRoleSets": { "InstanceRamRoleSet": list },
    })))
}
