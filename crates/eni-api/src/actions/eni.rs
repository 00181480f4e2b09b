//! The ENI actions of ECS 2014-05-26.

use super::eip::{associated_public_ip, PublicIp};
use super::typed::{display, or_empty, token_page, Entries, Field, MapSeq};
use super::{object, Ctx};
use crate::render::Reply;
use eni_core::eip::Eip;
use eni_core::eni::{AddressRequest, CreateEni, DescribeEnis, EniView, ModifyEni};
use eni_core::query::TokenPage;
use eni_types::ids::SecurityGroupId;
use eni_types::time::format_utc;
use eni_types::{ApiError, Params};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::net::Ipv4Addr;

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

/// One ENI as DescribeNetworkInterfaces and DescribeNetworkInterfaceAttribute show it,
/// borrowed from its view, or as CreateNetworkInterface answers it (without the fields that
/// are `None` then). Fields are in alphabetical order (see [`super::typed`]).
#[derive(Serialize)]
pub struct EniJson<'a> {
    /// The ENI's own entry is its primary IP's.
    #[serde(rename = "AssociatedPublicIp", skip_serializing_if = "Option::is_none")]
    associated_public_ip: Option<PublicIp<'a>>,
    #[serde(rename = "Attachment", skip_serializing_if = "Option::is_none")]
    attachment: Option<Attachment<'a>>,
    #[serde(rename = "CreationTime", skip_serializing_if = "Option::is_none")]
    creation_time: Option<String>,
    #[serde(rename = "DeleteOnRelease", skip_serializing_if = "Option::is_none")]
    delete_on_release: Option<bool>,
    #[serde(rename = "Description")]
    description: &'a str,
    /// `""` when detached.
    #[serde(rename = "InstanceId", skip_serializing_if = "Option::is_none")]
    instance_id: Option<&'a str>,
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
    #[serde(rename = "NetworkInterfaceName")]
    network_interface_name: &'a str,
    /// DescribeNetworkInterfaceAttribute only.
    #[serde(
        rename = "NetworkInterfaceTrafficConfig",
        skip_serializing_if = "Option::is_none"
    )]
    traffic_config: Option<TrafficConfig<'a>>,
    #[serde(
        rename = "NetworkInterfaceTrafficMode",
        skip_serializing_if = "Option::is_none"
    )]
    traffic_mode: Option<&'a str>,
    #[serde(rename = "OwnerId", serialize_with = "display")]
    owner_id: u64,
    #[serde(rename = "PrivateIpAddress", serialize_with = "or_empty")]
    private_ip_address: Option<Ipv4Addr>,
    #[serde(rename = "PrivateIpSets")]
    private_ip_sets: Field<PrivateIps<'a>>,
    #[serde(rename = "QueueNumber", skip_serializing_if = "Option::is_none")]
    queue_number: Option<u32>,
    #[serde(rename = "QueuePairNumber", skip_serializing_if = "Option::is_none")]
    queue_pair_number: Option<u32>,
    #[serde(rename = "ResourceGroupId")]
    resource_group_id: &'a str,
    #[serde(rename = "SecurityGroupIds")]
    security_group_ids: Field<GroupIds<'a>>,
    #[serde(rename = "ServiceID")]
    service_id: u32,
    #[serde(rename = "ServiceManaged")]
    service_managed: bool,
    #[serde(rename = "SourceDestCheck")]
    source_dest_check: bool,
    #[serde(rename = "Status")]
    status: &'a str,
    #[serde(rename = "Tags")]
    tags: EcsTags<'a>,
    #[serde(rename = "Type")]
    eni_type: &'a str,
    #[serde(rename = "VSwitchId")]
    vswitch_id: &'a str,
    #[serde(rename = "VpcId")]
    vpc_id: &'a str,
    #[serde(rename = "ZoneId")]
    zone_id: &'a str,
}

/// `PrivateIpSet`: an entry per address, the primary first. With the EIPs of the ENI
/// (DescribeNetworkInterfaces), an entry has its `AssociatedPublicIp`; with `dns_name`
/// (the Describe calls) a `PrivateDnsName`; CreateNetworkInterface's has neither.
pub(super) struct PrivateIps<'a> {
    pub ips: &'a [Ipv4Addr],
    pub eips: Option<&'a [Eip]>,
    pub dns_name: bool,
}

impl Serialize for PrivateIps<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entry = |(i, ip): (usize, &Ipv4Addr)| PrivateIp {
            associated_public_ip: self.eips.map(|eips| associated_public_ip(eips, *ip)),
            primary: i == 0,
            private_dns_name: self.dns_name.then_some(""),
            private_ip_address: *ip,
        };
        s.collect_seq(self.ips.iter().enumerate().map(entry))
    }
}

/// `Attachment`: `{DeviceIndex, InstanceId, NetworkCardIndex, TrunkNetworkInterfaceId}` of an
/// attached ENI, `{}` otherwise.
#[derive(Serialize, Default)]
struct Attachment<'a> {
    #[serde(rename = "DeviceIndex", skip_serializing_if = "Option::is_none")]
    device_index: Option<u32>,
    #[serde(rename = "InstanceId", skip_serializing_if = "Option::is_none")]
    instance_id: Option<&'a str>,
    #[serde(rename = "NetworkCardIndex", skip_serializing_if = "Option::is_none")]
    network_card_index: Option<u32>,
    #[serde(
        rename = "TrunkNetworkInterfaceId",
        skip_serializing_if = "Option::is_none"
    )]
    trunk_network_interface_id: Option<&'static str>,
}

/// A `PrivateIpSet` entry; CreateNetworkInterface's has no `AssociatedPublicIp` nor
/// `PrivateDnsName`.
#[derive(Serialize)]
struct PrivateIp<'a> {
    #[serde(rename = "AssociatedPublicIp", skip_serializing_if = "Option::is_none")]
    associated_public_ip: Option<PublicIp<'a>>,
    #[serde(rename = "Primary")]
    primary: bool,
    #[serde(rename = "PrivateDnsName", skip_serializing_if = "Option::is_none")]
    private_dns_name: Option<&'static str>,
    #[serde(rename = "PrivateIpAddress")]
    private_ip_address: Ipv4Addr,
}

/// DescribeNetworkInterfaceAttribute's `NetworkInterfaceTrafficConfig`.
#[derive(Serialize)]
struct TrafficConfig<'a> {
    #[serde(rename = "NetworkInterfaceTrafficMode")]
    traffic_mode: &'a str,
    #[serde(rename = "QueueNumber")]
    queue_number: u32,
    #[serde(rename = "QueuePairNumber")]
    queue_pair_number: u32,
}

/// Security group IDs, written from their text: an ID's own `Serialize` goes through a
/// `String` copy.
pub struct GroupIds<'a>(pub &'a [SecurityGroupId]);

impl Serialize for GroupIds<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(SecurityGroupId::as_str))
    }
}

/// ECS tags: `Tags: {Tag: [{TagKey, TagValue}]}`.
pub struct EcsTags<'a>(pub &'a [(String, String)]);

impl Serialize for EcsTags<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tag<'a> {
            #[serde(rename = "TagKey")]
            key: &'a str,
            #[serde(rename = "TagValue")]
            value: &'a str,
        }
        fn tag((key, value): &(String, String)) -> Tag<'_> {
            Tag { key, value }
        }
        Field("Tag", MapSeq(self.0, tag)).serialize(s)
    }
}

impl<'a> EniJson<'a> {
    /// The view of `v` in a Describe.
    pub fn of(v: &'a EniView) -> EniJson<'a> {
        let e = &v.eni;
        let attachment = match (&e.instance_id, e.device_index) {
            (Some(i), Some(d)) => Attachment {
                device_index: Some(d),
                instance_id: Some(i.as_str()),
                network_card_index: Some(0),
                trunk_network_interface_id: Some(""),
            },
            _ => Attachment::default(),
        };
        let eips = &v.eips;
        let primary = v.private_ips.first();
        EniJson {
            associated_public_ip: Some(
                primary.map_or_else(PublicIp::default, |ip| associated_public_ip(eips, *ip)),
            ),
            attachment: Some(attachment),
            creation_time: Some(format_utc(e.created_at)),
            delete_on_release: Some(e.delete_on_release),
            instance_id: Some(e.instance_id.as_ref().map_or("", |i| i.as_str())),
            private_ip_sets: Field(
                "PrivateIpSet",
                PrivateIps {
                    ips: &v.private_ips,
                    eips: Some(eips),
                    dns_name: true,
                },
            ),
            queue_number: Some(e.queue_number),
            queue_pair_number: Some(0),
            traffic_mode: Some(&e.traffic_mode),
            ..Self::created(v)
        }
    }

    /// The view of `v` in CreateNetworkInterface's answer: some of the ENI's fields, and
    /// `PrivateIpSet` entries without the Describe-only fields.
    fn created(v: &'a EniView) -> EniJson<'a> {
        let e = &v.eni;
        EniJson {
            associated_public_ip: None,
            attachment: None,
            creation_time: None,
            delete_on_release: None,
            description: &e.description,
            instance_id: None,
            ipv4_prefix_sets: Field("Ipv4PrefixSet", Entries("Ipv4Prefix", &v.ipv4_prefixes)),
            ipv6_prefix_sets: Field("Ipv6PrefixSet", Entries("Ipv6Prefix", &v.ipv6_prefixes)),
            ipv6_sets: Field("Ipv6Set", Entries("Ipv6Address", &v.ipv6)),
            mac_address: &e.mac,
            network_interface_id: e.id.as_str(),
            network_interface_name: &e.name,
            traffic_config: None,
            traffic_mode: None,
            owner_id: e.account_id.0,
            private_ip_address: v.private_ips.first().copied(),
            private_ip_sets: Field(
                "PrivateIpSet",
                PrivateIps {
                    ips: &v.private_ips,
                    eips: None,
                    dns_name: false,
                },
            ),
            queue_number: None,
            queue_pair_number: None,
            resource_group_id: e.resource_group_id.as_str(),
            security_group_ids: Field("SecurityGroupId", GroupIds(&e.security_group_ids)),
            service_id: 0,
            service_managed: false,
            source_dest_check: e.source_dest_check,
            status: &e.status,
            tags: EcsTags(&e.tags),
            eni_type: &e.eni_type,
            vswitch_id: e.vswitch_id.as_str(),
            vpc_id: e.vpc_id.as_str(),
            zone_id: &e.zone_id,
        }
    }
}

/// About the JSON text of one ENI, so that a page is written into one allocation.
const ENI_JSON_BYTES: usize = 2048;

/// The answer of DescribeNetworkInterfaces for page `r`.
fn describe_page(r: &TokenPage<EniView>) -> Reply {
    token_page(
        "NetworkInterfaceSets",
        "NetworkInterfaceSet",
        r,
        EniJson::of,
        ENI_JSON_BYTES,
    )
}

/// The answer of DescribeNetworkInterfaceAttribute for `v`.
fn attribute_reply(v: &EniView) -> Reply {
    let mut view = EniJson::of(v);
    view.traffic_config = Some(TrafficConfig {
        traffic_mode: &v.eni.traffic_mode,
        queue_number: v.eni.queue_number,
        queue_pair_number: 0,
    });
    Reply::typed(&view, ENI_JSON_BYTES)
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
pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
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
    Ok(Reply::typed(&EniJson::created(&v), ENI_JSON_BYTES))
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
pub fn describe(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
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
    Ok(describe_page(&r))
}

/// DescribeNetworkInterfaceAttribute.
pub fn describe_attribute(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let v = ctx
        .core
        .eni_view(&ctx.caller, &region(p)?, p.required("NetworkInterfaceId")?)?;
    Ok(attribute_reply(&v))
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

#[cfg(test)]
#[path = "eni_render_tests.rs"]
pub(super) mod render_tests;
