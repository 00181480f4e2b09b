//! The typed DescribeInstances view against the `json!` rendering it replaced (kept here as
//! the reference): the same JSON, byte for byte, and the same XML.

use super::*;
use crate::actions::eni::render_tests::{bare_view, full_view};
use crate::render::{success_body, xml_document, Format};
use eni_core::Catalog;
use eni_store::rows::Instance;
use eni_types::ids::{AccountId, InstanceId};

fn ecs_tags(tags: &[(String, String)]) -> Value {
    super::super::eni::ecs_tags(tags)
}

fn old_instance_view(v: &InstanceView) -> Value {
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
    let base = json!({
        "DedicatedHostAttribute": {
            "DedicatedHostClusterId": "",
            "DedicatedHostId": if i.tenancy == "host" { i.host_id.as_ref().map_or("", |h| h.as_str()) } else { "" },
            "DedicatedHostName": if i.tenancy == "host" { v.host_name.as_deref().unwrap_or("") } else { "" },
        },
        "DedicatedInstanceAttribute": {
            "Affinity": "default",
            "Tenancy": i.tenancy,
        },
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
        "OSName": eni_core::images::image(&i.image_id).map_or("", |im| im.os_name),
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
    });
    // The fields of the 7.x SDK model that eni answers with Alibaba's defaults (a second map:
    // one json! of them all passes the macro's recursion limit).
    let more = json!({
        "AdditionalInfo": { "EnableHighDensityMode": false },
        "AutoReleaseTime": "",
        "ClockOptions": { "PtpStatus": "disabled" },
        "ClusterId": "",
        "CpuOptions": {
            "CoreCount": (ty.cpu_core_count / 2).max(1),
            "Numa": "",
            "ThreadsPerCore": if ty.cpu_core_count >= 2 { 2 } else { 1 },
            "TopologyType": "",
        },
        "CreditSpecification": "",
        "DeploymentSetGroupNo": 0,
        "DeploymentSetId": "",
        "DeviceAvailable": true,
        "EcsCapacityReservationAttr": { "CapacityReservationId": "", "CapacityReservationPreference": "" },
        "EnableNVS": false,
        "GPUAmount": 0,
        "GPUSpec": "",
        "HibernationOptions": { "Configured": false },
        "HpcClusterId": "",
        "ISP": "",
        "ImageOptions": { "CurrentOSNVMeSupported": true, "LoginAsNonRoot": false },
        "KeyPairName": "",
        "LocalStorageAmount": 0,
        "LocalStorageCapacity": 0,
        "MetadataOptions": { "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1, "HttpTokens": "optional", "InstanceMetadataTags": "disabled" },
        "OSNameEn": eni_core::images::image(&i.image_id).map_or("", |im| im.os_name_en),
        "PrivateDnsNameOptions": {
            "EnableInstanceIdDnsAAAARecord": false,
            "EnableInstanceIdDnsARecord": false,
            "EnableIpDnsARecord": false,
            "EnableIpDnsPtrRecord": false,
            "HostnameType": "",
        },
        "RdmaIpAddress": { "IpAddress": [] },
        "Recyclable": false,
        "SaleCycle": "",
        "SecurityOptions": { "ConfidentialComputingMode": "", "TrustedSystemMode": "" },
        "SerialNumber": "",
        "SpotDuration": 0,
        "SpotInterruptionBehavior": "Terminate",
        "SpotPriceLimit": 0.0,
        "SpotStrategy": "NoSpot",
        "VlanId": "",
    });
    let (Value::Object(mut all), Value::Object(more)) = (base, more) else {
        unreachable!()
    };
    all.extend(more);
    Value::Object(all)
}

fn old_describe(r: &TokenPage<InstanceView>) -> Map<String, Value> {
    let list: Vec<Value> = r.items.iter().map(old_instance_view).collect();
    object(json!({
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "NextToken": r.next_token,
        "Instances": { "Instance": list },
    }))
}

fn instance(id: &str, status: &str, vpc: bool, enis: Vec<EniView>) -> InstanceView {
    let catalog = Catalog::default();
    let ty = catalog.instance_types[0].clone();
    let e = full_view().eni;
    InstanceView {
        instance: Instance {
            id: id.parse::<InstanceId>().unwrap(),
            account_id: AccountId(1234567890123456),
            region_id: "cn-hangzhou".into(),
            zone_id: "cn-hangzhou-h".into(),
            instance_type: ty.instance_type_id.clone(),
            vpc_id: vpc.then(|| e.vpc_id.clone()),
            vswitch_id: vpc.then(|| e.vswitch_id.clone()),
            status: status.into(),
            due_at: None,
            name: "web <1>".into(),
            host_name: "web-1".into(),
            description: "d\"q".into(),
            image_id: eni_core::instance::DEFAULT_IMAGE.into(),
            resource_group_id: e.resource_group_id.clone(),
            tags: vec![("env".into(), "prod".into())],
            created_at: 1_700_000_000,
            started_at: (status == "Running").then_some(1_700_000_100),
            host_id: None,
            tenancy: "default".into(),
            host_vcpus: 0,
            user_data: String::new(),
            system_disk_category: "cloud_essd".into(),
            system_disk_size: 40,
            system_disk: Default::default(),
            metadata: Default::default(),
        },
        instance_type: ty,
        enis,
        host_name: None,
    }
}

/// A VPC instance whose primary ENI holds an EIP, with a secondary ENI; one whose primary ENI
/// has none; a stopped classic instance without ENIs.
fn views() -> Vec<InstanceView> {
    let mut primary = full_view();
    primary.eni.eni_type = "Primary".into();
    let mut plain_primary = bare_view();
    plain_primary.eni.eni_type = "Primary".into();
    plain_primary.private_ips = vec![std::net::Ipv4Addr::new(10, 0, 0, 9)];
    plain_primary.eni.security_group_ids = full_view().eni.security_group_ids;
    // One on a host it asked for; one the server placed (its host is not shown).
    let mut on_host = instance("i-bp1two", "Running", true, vec![plain_primary]);
    on_host.instance.host_id = Some("dh-bp1hostxxxxxxxxxxxxx".parse().unwrap());
    on_host.instance.tenancy = "host".into();
    on_host.host_name = Some("rack-1".into());
    let mut placed = instance("i-bp1four", "Running", false, vec![]);
    placed.instance.host_id = Some("dh-bp1hostxxxxxxxxxxxxx".parse().unwrap());
    placed.host_name = Some("rack-1".into());
    vec![
        instance("i-bp1one", "Running", true, vec![primary, bare_view()]),
        on_host,
        instance("i-bp1three", "Stopped", false, vec![]),
        placed,
    ]
}

fn page(items: Vec<InstanceView>, next_token: &str) -> TokenPage<InstanceView> {
    TokenPage {
        total: 9,
        page: eni_core::query::Page {
            number: 1,
            size: items.len() as u64,
        },
        items,
        next_token: next_token.into(),
    }
}

#[test]
fn describe_instances_is_the_old_rendering() {
    for r in [page(views(), "tok"), page(vec![], "")] {
        let old = old_describe(&r);
        let Reply::Json(new) = describe_page(&r) else {
            panic!("expected a typed reply")
        };
        assert_eq!(
            serde_json::from_str::<Value>(&new).unwrap(),
            Value::Object(old.clone())
        );
        assert_eq!(new, Value::Object(old.clone()).to_string());
        // XML byte for byte, as it was: the handler's map with RequestId added.
        let mut with_id = old;
        with_id.insert("RequestId".into(), json!("rid"));
        assert_eq!(
            success_body("rid", "DescribeInstances", Format::Xml, describe_page(&r)),
            xml_document("DescribeInstancesResponse", &with_id)
        );
    }
}
