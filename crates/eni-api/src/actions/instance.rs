//! RunInstances, CreateInstance, StartInstance, StopInstance, DeleteInstance(s),
//! DescribeInstances.

use super::eni::{EcsTags, GroupIds, PrivateIps};
use super::typed::{or_empty, token_page, Entries, Field, MapSeq};
use super::{minutes, object, Ctx};
use crate::render::Reply;
use eni_core::eni::EniView;
use eni_core::instance::{DescribeInstances, InstanceView, NetworkInterfaceSpec, RunInstances};
use eni_core::query::TokenPage;
use eni_types::{ApiError, Params};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::net::Ipv4Addr;
use std::sync::LazyLock;

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
        dedicated_host_id: p.opt("DedicatedHostId").map(String::from),
        tenancy: p.opt("Tenancy").map(String::from),
        user_data: p.opt("UserData").map(String::from),
        system_disk_category: p.opt("SystemDisk.Category").map(String::from),
        system_disk_size: p
            .int("SystemDisk.Size", i64::MIN, i64::MAX)?
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
        system_disk_name: p.raw("SystemDisk.DiskName").map(String::from),
        http_endpoint: p.opt("HttpEndpoint").map(String::from),
        http_tokens: p.opt("HttpTokens").map(String::from),
        hop_limit: p
            .int("HttpPutResponseHopLimit", i64::MIN, i64::MAX)?
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
        system_disk_description: p.raw("SystemDisk.Description").map(String::from),
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

/// RebootInstance.
pub fn reboot(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core
        .reboot_instance(&ctx.caller, p.opt("RegionId"), p.required("InstanceId")?)?;
    Ok(Map::new())
}

/// ModifyInstanceAttribute: InstanceName, Description, HostName, UserData and
/// SecurityGroupIds.N (the primary ENI's groups). What eni does not model (a password,
/// deletion protection, a credit specification, jumbo frames, CPU options) is refused, never
/// silently kept.
pub fn modify_attribute(ctx: &Ctx<'_>, p: &Params) -> Out {
    super::refuse_unsupported(
        p,
        &[
            "Password",
            "CreditSpecification",
            "NetworkInterfaceQueueNumber",
            "Recyclable",
            "EnableNetworkEncryption",
        ],
        &["DeletionProtection", "EnableJumboFrame"],
        &[
            "RemoteConnectionOptions.",
            "PrivateDnsNameOptions.",
            "CpuOptions.",
        ],
    )?;
    let req = eni_core::instance::ModifyInstance {
        name: p.raw("InstanceName").map(String::from),
        description: p.raw("Description").map(String::from),
        host_name: p.raw("HostName").map(String::from),
        user_data: p.raw("UserData").map(String::from),
        security_group_ids: p.list_max("SecurityGroupIds", 16)?,
    };
    ctx.core.modify_instance_attribute(
        &ctx.caller,
        p.opt("RegionId"),
        p.required("InstanceId")?,
        req,
    )?;
    Ok(Map::new())
}

/// ModifyInstanceMetadataOptions: HttpEndpoint, HttpTokens and HttpPutResponseHopLimit (each
/// kept when not given).
pub fn modify_metadata_options(ctx: &Ctx<'_>, p: &Params) -> Out {
    if p.opt("InstanceMetadataTags")
        .is_some_and(|v| v != "disabled")
    {
        return Err(ApiError::InstanceMetadataTagsNotSupported);
    }
    let change = eni_core::instance::MetadataChange {
        http_endpoint: p.opt("HttpEndpoint").map(String::from),
        http_tokens: p.opt("HttpTokens").map(String::from),
        hop_limit: p
            .int("HttpPutResponseHopLimit", i64::MIN, i64::MAX)?
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
    };
    ctx.core.modify_instance_metadata_options(
        &ctx.caller,
        Some(p.required("RegionId")?),
        p.required("InstanceId")?,
        change,
    )?;
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

/// One instance as DescribeInstances shows it, borrowed from its view. Fields are in
/// alphabetical order (see [`super::typed`]).
#[derive(Serialize)]
pub(super) struct InstanceJson<'a> {
    #[serde(rename = "AdditionalInfo")]
    additional_info: &'static Value,
    #[serde(rename = "AutoReleaseTime")]
    auto_release_time: &'static str,
    #[serde(rename = "ClockOptions")]
    clock_options: &'static Value,
    #[serde(rename = "ClusterId")]
    cluster_id: &'static str,
    #[serde(rename = "Cpu")]
    cpu: u32,
    #[serde(rename = "CpuOptions")]
    cpu_options: CpuOptions,
    #[serde(rename = "CreationTime")]
    creation_time: String,
    #[serde(rename = "CreditSpecification")]
    credit_specification: &'static str,
    #[serde(rename = "DedicatedHostAttribute")]
    dedicated_host_attribute: DedicatedHostAttribute<'a>,
    #[serde(rename = "DedicatedInstanceAttribute")]
    dedicated_instance_attribute: DedicatedInstanceAttribute,
    #[serde(rename = "DeletionProtection")]
    deletion_protection: bool,
    #[serde(rename = "DeploymentSetGroupNo")]
    deployment_set_group_no: u32,
    #[serde(rename = "DeploymentSetId")]
    deployment_set_id: &'static str,
    #[serde(rename = "Description")]
    description: &'a str,
    #[serde(rename = "DeviceAvailable")]
    device_available: bool,
    #[serde(rename = "EcsCapacityReservationAttr")]
    ecs_capacity_reservation_attr: &'static Value,
    #[serde(rename = "EipAddress")]
    eip_address: EipAddress<'a>,
    #[serde(rename = "EnableNVS")]
    enable_nvs: bool,
    #[serde(rename = "ExpiredTime")]
    expired_time: &'static str,
    #[serde(rename = "GPUAmount")]
    gpu_amount: u32,
    #[serde(rename = "GPUSpec")]
    gpu_spec: &'static str,
    #[serde(rename = "HibernationOptions")]
    hibernation_options: &'static Value,
    #[serde(rename = "HostName")]
    host_name: &'a str,
    #[serde(rename = "HpcClusterId")]
    hpc_cluster_id: &'static str,
    #[serde(rename = "ISP")]
    isp: &'static str,
    #[serde(rename = "ImageId")]
    image_id: &'a str,
    #[serde(rename = "ImageOptions")]
    image_options: &'static Value,
    #[serde(rename = "InnerIpAddress")]
    inner_ip_address: Field<&'static [&'static str]>,
    #[serde(rename = "InstanceChargeType")]
    instance_charge_type: &'static str,
    #[serde(rename = "InstanceId")]
    instance_id: &'a str,
    #[serde(rename = "InstanceName")]
    instance_name: &'a str,
    #[serde(rename = "InstanceNetworkType")]
    instance_network_type: &'static str,
    #[serde(rename = "InstanceType")]
    instance_type: &'a str,
    #[serde(rename = "InstanceTypeFamily")]
    instance_type_family: &'a str,
    #[serde(rename = "InternetChargeType")]
    internet_charge_type: &'static str,
    #[serde(rename = "InternetMaxBandwidthIn")]
    internet_max_bandwidth_in: i32,
    #[serde(rename = "InternetMaxBandwidthOut")]
    internet_max_bandwidth_out: i32,
    #[serde(rename = "IoOptimized")]
    io_optimized: bool,
    #[serde(rename = "KeyPairName")]
    key_pair_name: &'static str,
    #[serde(rename = "LocalStorageAmount")]
    local_storage_amount: u32,
    #[serde(rename = "LocalStorageCapacity")]
    local_storage_capacity: u64,
    #[serde(rename = "Memory")]
    memory: u64,
    #[serde(rename = "MetadataOptions")]
    metadata_options: MetadataOptionsJson<'a>,
    #[serde(rename = "NetworkInterfaces")]
    network_interfaces: Field<NicList<'a>>,
    #[serde(rename = "OSName")]
    os_name: &'static str,
    #[serde(rename = "OSNameEn")]
    os_name_en: &'static str,
    #[serde(rename = "OSType")]
    os_type: &'static str,
    #[serde(rename = "OperationLocks")]
    operation_locks: Field<&'static [&'static str]>,
    #[serde(rename = "PrivateDnsNameOptions")]
    private_dns_name_options: &'static Value,
    #[serde(rename = "PublicIpAddress")]
    public_ip_address: Field<&'static [&'static str]>,
    #[serde(rename = "RdmaIpAddress")]
    rdma_ip_address: Field<&'static [&'static str]>,
    #[serde(rename = "Recyclable")]
    recyclable: bool,
    #[serde(rename = "RegionId")]
    region_id: &'a str,
    #[serde(rename = "ResourceGroupId")]
    resource_group_id: &'a str,
    #[serde(rename = "SaleCycle")]
    sale_cycle: &'static str,
    #[serde(rename = "SecurityGroupIds")]
    security_group_ids: Field<GroupIds<'a>>,
    #[serde(rename = "SecurityOptions")]
    security_options: &'static Value,
    #[serde(rename = "SerialNumber")]
    serial_number: &'static str,
    #[serde(rename = "SpotDuration")]
    spot_duration: u32,
    #[serde(rename = "SpotInterruptionBehavior")]
    spot_interruption_behavior: &'static str,
    #[serde(rename = "SpotPriceLimit")]
    spot_price_limit: f64,
    #[serde(rename = "SpotStrategy")]
    spot_strategy: &'static str,
    #[serde(rename = "StartTime")]
    start_time: String,
    #[serde(rename = "Status")]
    status: &'a str,
    #[serde(rename = "StoppedMode")]
    stopped_mode: &'static str,
    #[serde(rename = "Tags")]
    tags: EcsTags<'a>,
    #[serde(rename = "VlanId")]
    vlan_id: &'static str,
    #[serde(rename = "VpcAttributes")]
    vpc_attributes: VpcAttributes<'a>,
    #[serde(rename = "ZoneId")]
    zone_id: &'a str,
}

/// `CpuOptions`: the type's vCPUs as cores of two threads (one for a single vCPU).
#[derive(Serialize)]
struct CpuOptions {
    #[serde(rename = "CoreCount")]
    core_count: u32,
    #[serde(rename = "Numa")]
    numa: &'static str,
    #[serde(rename = "ThreadsPerCore")]
    threads_per_core: u32,
    #[serde(rename = "TopologyType")]
    topology_type: &'static str,
}

// What every instance here shows of the features eni does not model (Alibaba's defaults).
static ADDITIONAL_INFO: LazyLock<Value> =
    LazyLock::new(|| json!({ "EnableHighDensityMode": false }));
static CLOCK_OPTIONS: LazyLock<Value> = LazyLock::new(|| json!({ "PtpStatus": "disabled" }));
static CAPACITY_RESERVATION: LazyLock<Value> =
    LazyLock::new(|| json!({ "CapacityReservationId": "", "CapacityReservationPreference": "" }));
static HIBERNATION_OPTIONS: LazyLock<Value> = LazyLock::new(|| json!({ "Configured": false }));
static IMAGE_OPTIONS: LazyLock<Value> =
    LazyLock::new(|| json!({ "CurrentOSNVMeSupported": true, "LoginAsNonRoot": false }));
/// `MetadataOptions`: the instance's metadata-service options.
#[derive(Serialize)]
pub(super) struct MetadataOptionsJson<'a> {
    #[serde(rename = "HttpEndpoint")]
    http_endpoint: &'a str,
    #[serde(rename = "HttpPutResponseHopLimit")]
    hop_limit: u32,
    #[serde(rename = "HttpTokens")]
    http_tokens: &'a str,
    /// Instance tags in the metadata: not served here (ModifyInstanceMetadataOptions refuses
    /// to enable them).
    #[serde(rename = "InstanceMetadataTags")]
    instance_metadata_tags: &'static str,
}
static PRIVATE_DNS_NAME_OPTIONS: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "EnableInstanceIdDnsAAAARecord": false,
        "EnableInstanceIdDnsARecord": false,
        "EnableIpDnsARecord": false,
        "EnableIpDnsPtrRecord": false,
        "HostnameType": "",
    })
});
static SECURITY_OPTIONS: LazyLock<Value> =
    LazyLock::new(|| json!({ "ConfidentialComputingMode": "", "TrustedSystemMode": "" }));

/// `DedicatedHostAttribute`: the host an instance runs on, every field empty without one
/// (eni has no host clusters).
#[derive(Serialize, Default)]
struct DedicatedHostAttribute<'a> {
    #[serde(rename = "DedicatedHostClusterId")]
    dedicated_host_cluster_id: &'a str,
    #[serde(rename = "DedicatedHostId")]
    dedicated_host_id: &'a str,
    #[serde(rename = "DedicatedHostName")]
    dedicated_host_name: &'a str,
}

/// `DedicatedInstanceAttribute`: `host` tenancy on a host, else `default`.
#[derive(Serialize)]
struct DedicatedInstanceAttribute {
    #[serde(rename = "Affinity")]
    affinity: &'static str,
    #[serde(rename = "Tenancy")]
    tenancy: &'static str,
}

/// The instance's ENIs, each rendered as it is written.
type NicList<'a> = MapSeq<'a, EniView, fn(&'a EniView) -> Nic<'a>>;

/// `EipAddress`: the EIP NAT-ed to the primary IP of the primary ENI, every field empty
/// (`Bandwidth` 0) without one.
#[derive(Serialize, Default)]
struct EipAddress<'a> {
    #[serde(rename = "AllocationId")]
    allocation_id: &'a str,
    #[serde(rename = "Bandwidth")]
    bandwidth: u32,
    #[serde(rename = "InternetChargeType")]
    internet_charge_type: &'a str,
    #[serde(rename = "IpAddress", serialize_with = "or_empty")]
    ip_address: Option<Ipv4Addr>,
    #[serde(rename = "IsSupportUnassociate")]
    is_support_unassociate: bool,
}

/// A `NetworkInterface` entry.
#[derive(Serialize)]
struct Nic<'a> {
    #[serde(rename = "Ipv4PrefixSets")]
    ipv4_prefix_sets: Field<Entries<'a, String>>,
    #[serde(rename = "Ipv6PrefixSets")]
    ipv6_prefix_sets: Field<Entries<'a, String>>,
    #[serde(rename = "Ipv6Sets")]
    ipv6_sets: Field<Entries<'a, String>>,
    #[serde(rename = "MacAddress")]
    mac_address: &'a str,
    #[serde(rename = "NetworkInterfaceId")]
    network_interface_id: &'a str,
    #[serde(rename = "PrimaryIpAddress", serialize_with = "or_empty")]
    primary_ip_address: Option<Ipv4Addr>,
    #[serde(rename = "PrivateIpSets")]
    private_ip_sets: Field<PrivateIps<'a>>,
    #[serde(rename = "Type")]
    eni_type: &'a str,
}

impl<'a> Nic<'a> {
    fn of(e: &'a EniView) -> Nic<'a> {
        Nic {
            ipv4_prefix_sets: Field("Ipv4PrefixSet", Entries("Ipv4Prefix", &e.ipv4_prefixes)),
            ipv6_prefix_sets: Field("Ipv6PrefixSet", Entries("Ipv6Prefix", &e.ipv6_prefixes)),
            ipv6_sets: Field("Ipv6Set", Entries("Ipv6Address", &e.ipv6)),
            mac_address: &e.eni.mac,
            network_interface_id: e.eni.id.as_str(),
            primary_ip_address: e.private_ips.first().copied(),
            private_ip_sets: Field(
                "PrivateIpSet",
                PrivateIps {
                    ips: &e.private_ips,
                    eips: None,
                    dns_name: true,
                },
            ),
            eni_type: &e.eni.eni_type,
        }
    }
}

/// `VpcAttributes`, empty strings and list for a classic instance.
#[derive(Serialize)]
struct VpcAttributes<'a> {
    #[serde(rename = "NatIpAddress")]
    nat_ip_address: &'static str,
    #[serde(rename = "PrivateIpAddress")]
    private_ip_address: Field<&'a [Ipv4Addr]>,
    #[serde(rename = "VSwitchId", serialize_with = "or_empty")]
    vswitch_id: Option<&'a str>,
    #[serde(rename = "VpcId", serialize_with = "or_empty")]
    vpc_id: Option<&'a str>,
}

impl<'a> InstanceJson<'a> {
    pub(super) fn of(v: &'a InstanceView) -> InstanceJson<'a> {
        let i = &v.instance;
        let primary = v.enis.iter().find(|e| e.eni.eni_type == "Primary");
        // The EIP NAT-ed to the primary IP of the primary ENI (associated with the instance
        // or with that ENI); a classic or EIP-less instance shows the empty entry.
        let eip = primary.and_then(|p| {
            let ip = u32::from(*p.private_ips.first()?);
            p.eips
                .iter()
                .find(|e| e.binding.as_ref().is_some_and(|b| b.private_ip == ip))
        });
        let eip_address = eip.map_or_else(EipAddress::default, |e| EipAddress {
            allocation_id: e.id.as_str(),
            bandwidth: e.bandwidth,
            internet_charge_type: &e.internet_charge_type,
            ip_address: Some(Ipv4Addr::from(e.ip)),
            is_support_unassociate: true,
        });
        let ty = &v.instance_type;
        let nics: NicList<'a> = MapSeq(&v.enis, Nic::of);
        InstanceJson {
            cpu: ty.cpu_core_count,
            creation_time: minutes(i.created_at),
            // The host shows only where a dedicated host was asked for, as on Alibaba (a
            // host the server picked for its data plane is its own business).
            dedicated_host_attribute: match (&i.host_id, i.tenancy.as_str()) {
                (Some(h), "host") => DedicatedHostAttribute {
                    dedicated_host_cluster_id: "",
                    dedicated_host_id: h.as_str(),
                    dedicated_host_name: v.host_name.as_deref().unwrap_or(""),
                },
                _ => DedicatedHostAttribute::default(),
            },
            dedicated_instance_attribute: DedicatedInstanceAttribute {
                affinity: "default",
                tenancy: if i.tenancy == "host" {
                    "host"
                } else {
                    "default"
                },
            },
            deletion_protection: false,
            description: &i.description,
            eip_address,
            expired_time: "2099-12-31T15:59Z",
            host_name: &i.host_name,
            image_id: &i.image_id,
            inner_ip_address: Field("IpAddress", &[]),
            instance_charge_type: "PostPaid",
            instance_id: i.id.as_str(),
            instance_name: &i.name,
            instance_network_type: if i.vpc_id.is_some() { "vpc" } else { "classic" },
            instance_type: &i.instance_type,
            instance_type_family: &ty.instance_type_family,
            internet_charge_type: "PayByTraffic",
            internet_max_bandwidth_in: -1,
            internet_max_bandwidth_out: 0,
            io_optimized: ty.io_optimized,
            memory: (ty.memory_size * 1024.0) as u64,
            network_interfaces: Field("NetworkInterface", nics),
            // The image's, from the built-in catalog (RunInstances takes no other).
            os_name: eni_core::images::image(&i.image_id).map_or("", |im| im.os_name),
            os_type: eni_core::images::image(&i.image_id).map_or("linux", |im| im.os_type),
            operation_locks: Field("LockReason", &[]),
            public_ip_address: Field("IpAddress", &[]),
            region_id: &i.region_id,
            resource_group_id: i.resource_group_id.as_str(),
            security_group_ids: Field(
                "SecurityGroupId",
                GroupIds(primary.map_or(&[][..], |p| &p.eni.security_group_ids)),
            ),
            start_time: i.started_at.map(minutes).unwrap_or_default(),
            status: &i.status,
            stopped_mode: if i.status == "Stopped" {
                "KeepCharging"
            } else {
                "Not-applicable"
            },
            tags: EcsTags(&i.tags),
            vpc_attributes: VpcAttributes {
                nat_ip_address: "",
                private_ip_address: Field(
                    "IpAddress",
                    primary.map_or(&[][..], |p| &p.private_ips[..1]),
                ),
                vswitch_id: i.vswitch_id.as_ref().map(|x| x.as_str()),
                vpc_id: i.vpc_id.as_ref().map(|x| x.as_str()),
            },
            additional_info: &ADDITIONAL_INFO,
            auto_release_time: "",
            clock_options: &CLOCK_OPTIONS,
            cluster_id: "",
            cpu_options: CpuOptions {
                core_count: (ty.cpu_core_count / 2).max(1),
                numa: "",
                threads_per_core: if ty.cpu_core_count >= 2 { 2 } else { 1 },
                topology_type: "",
            },
            credit_specification: "",
            deployment_set_group_no: 0,
            deployment_set_id: "",
            device_available: true,
            ecs_capacity_reservation_attr: &CAPACITY_RESERVATION,
            enable_nvs: false,
            gpu_amount: 0,
            gpu_spec: "",
            hibernation_options: &HIBERNATION_OPTIONS,
            hpc_cluster_id: "",
            isp: "",
            image_options: &IMAGE_OPTIONS,
            key_pair_name: "",
            local_storage_amount: 0,
            local_storage_capacity: 0,
            metadata_options: MetadataOptionsJson {
                http_endpoint: &i.metadata.http_endpoint,
                hop_limit: i.metadata.hop_limit,
                http_tokens: &i.metadata.http_tokens,
                instance_metadata_tags: "disabled",
            },
            os_name_en: eni_core::images::image(&i.image_id).map_or("", |im| im.os_name_en),
            private_dns_name_options: &PRIVATE_DNS_NAME_OPTIONS,
            rdma_ip_address: Field("IpAddress", &[]),
            recyclable: false,
            sale_cycle: "",
            security_options: &SECURITY_OPTIONS,
            serial_number: "",
            spot_duration: 0,
            spot_interruption_behavior: "Terminate",
            spot_price_limit: 0.0,
            spot_strategy: "NoSpot",
            vlan_id: "",
            zone_id: &i.zone_id,
        }
    }
}

/// About the JSON text of one instance with its primary ENI.
const INSTANCE_JSON_BYTES: usize = 2048;

/// The answer of DescribeInstances for page `r`.
fn describe_page(r: &TokenPage<InstanceView>) -> Reply {
    token_page(
        "Instances",
        "Instance",
        r,
        InstanceJson::of,
        INSTANCE_JSON_BYTES,
    )
}

/// DescribeInstances.
pub fn describe(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
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
    Ok(describe_page(&r))
}

#[cfg(test)]
#[path = "instance_render_tests.rs"]
mod render_tests;
