//! The typed ENI views against the `json!` rendering they replaced (kept here as the
//! reference): the same JSON, byte for byte, and the same XML.

use super::*;
use crate::render::{success_body, Format};
use eni_store::rows::{EipBinding, Eni};
use eni_types::ids::{AccountId, EipId, EniId, InstanceId, ResourceGroupId, VSwitchId, VpcId};
use serde_json::{json, Map, Value};

fn old_time(t: i64) -> Value {
    Value::String(format_utc(t))
}

fn old_ecs_tags(tags: &[(String, String)]) -> Value {
    let list: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    json!({ "Tag": list })
}

fn old_associated_public_ip(eips: &[Eip], ip: Ipv4Addr) -> Value {
    eips.iter()
        .find(|e| {
            e.binding
                .as_ref()
                .is_some_and(|b| b.private_ip == u32::from(ip))
        })
        .map_or_else(
            || json!({}),
            |e| {
                json!({
                    "PublicIpAddress": Ipv4Addr::from(e.ip).to_string(),
                    "AllocationId": e.id,
                })
            },
        )
}

fn old_eni_fields(v: &EniView) -> Map<String, Value> {
    let e = &v.eni;
    let ips: Vec<Value> = v
        .private_ips
        .iter()
        .enumerate()
        .map(|(i, ip)| json!({"PrivateIpAddress": ip.to_string(), "Primary": i == 0, "PrivateDnsName": "", "AssociatedPublicIp": old_associated_public_ip(&v.eips, *ip)}))
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
        "AssociatedPublicIp": v.private_ips.first().map_or_else(|| json!({}), |ip| old_associated_public_ip(&v.eips, *ip)),
        "SecurityGroupIds": { "SecurityGroupId": e.security_group_ids },
        "Tags": old_ecs_tags(&e.tags),
        "ResourceGroupId": e.resource_group_id,
        "OwnerId": e.account_id.0.to_string(),
        "ServiceManaged": false,
        "ServiceID": 0,
        "CreationTime": old_time(e.created_at),
        "DeleteOnRelease": e.delete_on_release,
        "QueueNumber": e.queue_number,
        "QueuePairNumber": 0,
        "NetworkInterfaceTrafficMode": e.traffic_mode,
        "SourceDestCheck": e.source_dest_check,
    }))
}

fn old_describe(r: &TokenPage<EniView>) -> Map<String, Value> {
    let list: Vec<Value> = r
        .items
        .iter()
        .map(|v| Value::Object(old_eni_fields(v)))
        .collect();
    object(json!({
        "TotalCount": r.total,
        "PageNumber": r.page.number,
        "PageSize": r.page.size,
        "NextToken": r.next_token,
        "NetworkInterfaceSets": { "NetworkInterfaceSet": list },
    }))
}

fn old_attribute(v: &EniView) -> Map<String, Value> {
    let mut f = old_eni_fields(v);
    f.insert(
        "NetworkInterfaceTrafficConfig".into(),
        json!({"NetworkInterfaceTrafficMode": v.eni.traffic_mode, "QueueNumber": v.eni.queue_number, "QueuePairNumber": 0}),
    );
    f
}

fn old_create(v: &EniView) -> Map<String, Value> {
    let mut f = old_eni_fields(v);
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
    let ips: Vec<Value> = v
        .private_ips
        .iter()
        .enumerate()
        .map(|(i, ip)| json!({"PrivateIpAddress": ip.to_string(), "Primary": i == 0}))
        .collect();
    out.insert("PrivateIpSets".into(), json!({ "PrivateIpSet": ips }));
    out
}

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

/// An attached ENI with everything: secondary IPs, IPv6, both prefixes, tags (one needing
/// escapes), two groups, and EIPs bound to its primary and one secondary address.
pub(in crate::actions) fn full_view() -> EniView {
    let eip = |n: u8, ip: Ipv4Addr| Eip {
        id: id::<EipId>(&format!("eip-bp1eip{n}")),
        account_id: AccountId(1234567890123456),
        region_id: "cn-hangzhou".into(),
        ip: u32::from(Ipv4Addr::new(198, 18, 0, n)),
        bandwidth: 5,
        internet_charge_type: "PayByBandwidth".into(),
        instance_charge_type: "PostPaid".into(),
        isp: "BGP".into(),
        name: String::new(),
        description: String::new(),
        resource_group_id: id::<ResourceGroupId>("rg-acfmdefault00"),
        tags: vec![],
        status: "InUse".into(),
        due_at: None,
        binding: Some(EipBinding {
            instance_id: "eni-bp1full".into(),
            instance_type: "NetworkInterface".into(),
            eni_id: id::<EniId>("eni-bp1full"),
            vpc_id: id::<VpcId>("vpc-bp1vpc"),
            vswitch_id: id::<VSwitchId>("vsw-bp1vsw"),
            private_ip: u32::from(ip),
        }),
        created_at: 1_700_000_000,
        mode: "NAT".into(),
    };
    let ips = vec![
        Ipv4Addr::new(10, 0, 0, 5),
        Ipv4Addr::new(10, 0, 0, 6),
        Ipv4Addr::new(10, 0, 0, 7),
    ];
    EniView {
        eni: Eni {
            id: id("eni-bp1full"),
            account_id: AccountId(1234567890123456),
            region_id: "cn-hangzhou".into(),
            zone_id: "cn-hangzhou-h".into(),
            vpc_id: id("vpc-bp1vpc"),
            vswitch_id: id("vsw-bp1vsw"),
            eni_type: "Secondary".into(),
            status: "InUse".into(),
            due_at: None,
            instance_id: Some(id::<InstanceId>("i-bp1inst")),
            device_index: Some(2),
            mac: "00:16:3e:01:02:03".into(),
            primary_ip: u32::from(ips[0]),
            name: "name \"quoted\" <x>".into(),
            description: "tab\tand é".into(),
            security_group_ids: vec![id("sg-bp1a"), id("sg-bp1b")],
            delete_on_release: true,
            source_dest_check: false,
            queue_number: 4,
            traffic_mode: "Standard".into(),
            resource_group_id: id("rg-acfmdefault00"),
            tags: vec![("k".into(), "v".into()), ("a&b".into(), "\u{1}".into())],
            created_at: 1_700_000_123,
        },
        eips: vec![eip(1, ips[0]), eip(2, ips[2])],
        private_ips: ips,
        ipv4_prefixes: vec!["10.0.0.16/28".into()],
        ipv6: vec!["2408:4000::1".into(), "2408:4000::2".into()],
        ipv6_prefixes: vec!["2408:4000:0:1::/80".into()],
    }
}

/// A detached ENI with no addresses, EIPs, tags or prefixes: every empty form.
pub(in crate::actions) fn bare_view() -> EniView {
    let mut v = full_view();
    v.eni.instance_id = None;
    v.eni.device_index = None;
    v.eni.status = "Available".into();
    v.eni.tags.clear();
    v.eni.security_group_ids.clear();
    v.private_ips.clear();
    v.ipv4_prefixes.clear();
    v.ipv6.clear();
    v.ipv6_prefixes.clear();
    v.eips.clear();
    v
}

fn text(r: Reply) -> String {
    match r {
        Reply::Json(t) => t,
        Reply::Fields(m) => panic!("expected a typed reply, got {m:?}"),
    }
}

/// Same bytes as the old rendering (so also the same JSON when parsed).
fn assert_same(new: &str, old: &Map<String, Value>) {
    let parsed: Value = serde_json::from_str(new).unwrap();
    assert_eq!(parsed, Value::Object(old.clone()));
    assert_eq!(new, Value::Object(old.clone()).to_string());
}

fn page(items: Vec<EniView>, next_token: &str) -> TokenPage<EniView> {
    TokenPage {
        total: 7,
        page: eni_core::query::Page {
            number: 1,
            size: items.len() as u64,
        },
        items,
        next_token: next_token.into(),
    }
}

#[test]
fn eni_view_is_the_old_rendering() {
    for v in [full_view(), bare_view()] {
        let new = serde_json::to_string(&EniJson::of(&v)).unwrap();
        assert_same(&new, &old_eni_fields(&v));
    }
}

#[test]
fn describe_and_attribute_are_the_old_rendering() {
    let r = page(vec![full_view(), bare_view()], "tok");
    assert_same(&text(describe_page(&r)), &old_describe(&r));
    let empty = page(vec![], "");
    assert_same(&text(describe_page(&empty)), &old_describe(&empty));
    for v in [full_view(), bare_view()] {
        assert_same(&text(attribute_reply(&v)), &old_attribute(&v));
        assert_same(
            &text(Reply::typed(&EniJson::created(&v), 0)),
            &old_create(&v),
        );
    }
}

/// The success body as it was: the handler's map with `RequestId` added.
fn old_body(format: Format, action: &str, mut m: Map<String, Value>) -> String {
    m.insert("RequestId".into(), json!("rid-1"));
    match format {
        Format::Json => Value::Object(m).to_string(),
        Format::Xml => crate::render::xml_document(&format!("{action}Response"), &m),
    }
}

#[test]
fn success_bodies_are_unchanged() {
    let r = page(vec![full_view(), bare_view()], "tok");
    let v = full_view();
    let cases = [
        (
            "DescribeNetworkInterfaces",
            describe_page(&r),
            old_describe(&r),
        ),
        (
            "DescribeNetworkInterfaceAttribute",
            attribute_reply(&v),
            old_attribute(&v),
        ),
        (
            "CreateNetworkInterface",
            Reply::typed(&EniJson::created(&v), 0),
            old_create(&v),
        ),
        (
            "DeleteNetworkInterface",
            Reply::Json("{}".into()),
            Map::new(),
        ),
        (
            "DeleteNetworkInterface",
            Reply::Fields(Map::new()),
            Map::new(),
        ),
    ];
    for (action, new, old) in cases {
        // XML byte for byte; JSON the same object (RequestId now comes first).
        assert_eq!(
            success_body("rid-1", action, Format::Xml, new.clone()),
            old_body(Format::Xml, action, old.clone())
        );
        let json = success_body("rid-1", action, Format::Json, new);
        assert!(json.starts_with("{\"RequestId\":\"rid-1\""), "{json}");
        let parsed: Value = serde_json::from_str(&json).unwrap();
        let old: Value = serde_json::from_str(&old_body(Format::Json, action, old)).unwrap();
        assert_eq!(parsed, old);
    }
}
