//! DescribeDedicatedHosts: the data-plane hosts (agents) as Alibaba dedicated hosts. What eni
//! has no notion of (billing, sockets, GPUs, memory and disk accounting, clusters, locks) is
//! shown with its neutral value; vCPUs are the host's registered capacity, less its
//! instances' types' vCPUs.

use super::{minutes, object, page, Ctx};
use eni_core::hosts::{DescribeDedicatedHosts, HostView};
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

type Out = Result<Map<String, Value>, ApiError>;

/// At most this many IDs in `DedicatedHostIds` (Alibaba's limit).
const MAX_IDS: usize = 100;

/// `DedicatedHostIds`: a JSON array (`["dh-…"]`, as Alibaba's example and Terraform send it)
/// or a comma-separated list (as its description says).
fn host_ids(raw: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let ids: Vec<String> = if raw.starts_with('[') {
        serde_json::from_str(raw).map_err(|_| ApiError::DedicatedHostIdsMalformed)?
    } else {
        raw.split(',').map(|s| s.trim().to_string()).collect()
    };
    if ids.len() > MAX_IDS {
        return Err(ApiError::DedicatedHostIdsMalformed);
    }
    Ok(Some(ids))
}

fn host_view(v: &HostView) -> Value {
    let h = &v.host;
    let total = u64::from(h.capacity_vcpus);
    let instances: Vec<Value> = v
        .instances
        .iter()
        .map(|i| {
            json!({
                "InstanceId": i.id,
                "InstanceType": i.instance_type,
                "InstanceOwnerId": i.account_id.0,
                "SocketId": "",
            })
        })
        .collect();
    json!({
        "DedicatedHostId": h.id,
        "DedicatedHostName": h.name,
        "Description": "",
        "DedicatedHostType": "ddh.eni",
        "RegionId": v.region_id,
        "ZoneId": h.zone_id,
        "Status": v.status,
        "Capacity": {
            "TotalVcpus": total,
            "AvailableVcpus": total.saturating_sub(v.used_vcpus),
            "TotalMemory": 0.0,
            "AvailableMemory": 0.0,
            "TotalLocalStorage": 0,
            "AvailableLocalStorage": 0,
            "LocalStorageCategory": "",
            "TotalVgpus": 0,
            "AvailableVgpus": 0,
            "AvailableInstanceTypes": { "AvailableInstanceType": [] },
            "SocketCapacities": { "SocketCapacity": [] },
        },
        "Instances": { "Instance": instances },
        "Cores": 0,
        "Sockets": 0,
        "CpuOverCommitRatio": 1.0,
        "PhysicalGpus": 0,
        "GPUSpec": "",
        "ChargeType": "PostPaid",
        "SaleCycle": "",
        "ExpiredTime": "2099-12-31T15:59Z",
        "AutoReleaseTime": "",
        "CreationTime": minutes(h.created_at),
        "AutoPlacement": "on",
        "ActionOnMaintenance": "Migrate",
        "DedicatedHostClusterId": "",
        "ResourceGroupId": "",
        "MachineId": h.name,
        "SupportedInstanceTypeFamilies": { "SupportedInstanceTypeFamily": [] },
        "SupportedCustomInstanceTypeFamilies": { "SupportedCustomInstanceTypeFamily": [] },
        "SupportedInstanceTypesList": { "SupportedInstanceTypesList": [] },
        "OperationLocks": { "OperationLock": [] },
        "Tags": { "Tag": [] },
        "NetworkAttributes": { "UdpTimeout": 0, "SlbUdpTimeout": 0 },
        "HostDetailInfo": { "SerialNumber": "" },
        "SchedulerOptions": { "ManagedPrivateSpaceId": "" },
    })
}

/// DescribeDedicatedHosts.
pub fn describe(ctx: &Ctx<'_>, p: &Params) -> Out {
    let req = DescribeDedicatedHosts {
        region: p.required("RegionId")?.to_string(),
        ids: host_ids(p.opt("DedicatedHostIds"))?,
        zone_id: p.opt("ZoneId").map(String::from),
        name: p.opt("DedicatedHostName").map(String::from),
        status: p.opt("Status").map(String::from),
        page: page(p, 100)?,
    };
    let r = ctx.core.describe_dedicated_hosts(&ctx.caller, req)?;
    let list: Vec<Value> = r.items.iter().map(host_view).collect();
    Ok(object(json!({
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "NextToken": "",
        "DedicatedHosts": { "DedicatedHost": list },
    })))
}

#[cfg(test)]
mod tests {
    use super::host_ids;

    #[test]
    fn host_ids_take_a_json_array_or_a_comma_list() {
        assert_eq!(host_ids(None).unwrap(), None);
        assert_eq!(host_ids(Some(" ")).unwrap(), None);
        assert_eq!(
            host_ids(Some(r#"["dh-a","dh-b"]"#)).unwrap(),
            Some(vec!["dh-a".to_string(), "dh-b".to_string()])
        );
        assert_eq!(
            host_ids(Some("dh-a, dh-b")).unwrap(),
            Some(vec!["dh-a".to_string(), "dh-b".to_string()])
        );
        assert!(host_ids(Some("[dh-a")).is_err());
        let many = format!("[{}]", vec!["\"dh-x\""; 101].join(","));
        assert!(host_ids(Some(&many)).is_err());
    }
}
