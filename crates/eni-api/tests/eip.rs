//! EIPs through the API (VPC 2016-04-28): allocation from the pool with its defaults, checks
//! and ClientToken replays, pool exhaustion, the per-account and per-region quota, NAT association with an ENI address or an
//! instance and every refusal, the asynchronous states, unassociation and release, where
//! associations show (DescribeEipAddresses, the ENI's AssociatedPublicIp, DescribeInstances'
//! EipAddress), what deleting an ENI, an address or an instance does to its EIP, and the
//! data plane's view.

mod common;

use common::*;
use eni_core::CoreConfig;
use eni_types::ids::VpcId;
use serde_json::Value;
use std::time::Duration;

const R: (&str, &str) = ("RegionId", "cn-hangzhou");

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

struct Net {
    vpc: String,
    vsw: String,
    sg: String,
}

async fn net(c: &Client) -> Net {
    let vpc = c.vpc("10.0.0.0/16").await;
    let vsw = c.vswitch(&vpc, "10.0.1.0/24").await;
    let sg = c.group(&vpc).await;
    Net { vpc, vsw, sg }
}

/// Allocates an EIP with `extra` parameters; returns (AllocationId, EipAddress).
async fn allocate(c: &Client, extra: &[(&str, &str)]) -> (String, String) {
    let mut p = vec![R];
    p.extend_from_slice(extra);
    let b = c.call(VPC, "AllocateEipAddress", &p).await.ok();
    (s(&b["AllocationId"]), s(&b["EipAddress"]))
}

async fn associate(c: &Client, eip: &str, extra: &[(&str, &str)]) -> Answer {
    let mut p = vec![R, ("AllocationId", eip)];
    p.extend_from_slice(extra);
    c.call(VPC, "AssociateEipAddress", &p).await
}

async fn unassociate(c: &Client, eip: &str, extra: &[(&str, &str)]) -> Answer {
    let mut p = vec![R, ("AllocationId", eip)];
    p.extend_from_slice(extra);
    c.call(VPC, "UnassociateEipAddress", &p).await
}

async fn release(c: &Client, eip: &str) -> Answer {
    c.call(VPC, "ReleaseEipAddress", &[R, ("AllocationId", eip)])
        .await
}

/// The one EIP `id` as DescribeEipAddresses shows it.
async fn eip(c: &Client, id: &str) -> Value {
    let b = c
        .call(VPC, "DescribeEipAddresses", &[R, ("AllocationId", id)])
        .await
        .ok();
    assert_eq!(b["TotalCount"], 1, "{b}");
    b["EipAddresses"]["EipAddress"][0].clone()
}

async fn describe(c: &Client, filters: &[(&str, &str)]) -> Vec<String> {
    let mut p = vec![R];
    p.extend_from_slice(filters);
    let b = c.call(VPC, "DescribeEipAddresses", &p).await.ok();
    b["EipAddresses"]["EipAddress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["AllocationId"]))
        .collect()
}

#[tokio::test]
async fn allocate_takes_the_pool_in_order_with_documented_defaults() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let (a, ip_a) = allocate(&c, &[]).await;
    assert!(a.starts_with("eip-bp1"), "{a}");
    // The pool's first address is skipped: 198.18.0.0/15 starts at .1.
    assert_eq!(ip_a, "198.18.0.1");
    let (_, ip_b) = allocate(&c, &[]).await;
    assert_eq!(ip_b, "198.18.0.2");
    let e = eip(&c, &a).await;
    assert_eq!(e["IpAddress"], "198.18.0.1");
    assert_eq!(e["Status"], "Available");
    assert_eq!(e["RegionId"], "cn-hangzhou");
    // Types as the SDK models declare them.
    assert_eq!(e["Bandwidth"], "5");
    assert_eq!(e["ServiceManaged"], 0);
    assert_eq!(e["HDMonitorStatus"], "false");
    assert_eq!(e["DeletionProtection"], false);
    assert_eq!(e["InternetChargeType"], "PayByBandwidth");
    assert_eq!(e["ChargeType"], "PostPaid");
    assert_eq!(e["ISP"], "BGP");
    assert_eq!(e["Netmode"], "public");
    assert_eq!(e["InstanceId"], "");
    assert_eq!(e["PrivateIpAddress"], "");
    assert!(e["OperationLocks"]["LockReason"].is_array());
    assert!(e["Tags"]["Tag"].is_array());
    assert!(e["AllocationTime"].as_str().unwrap().ends_with('Z'));

    let (named, _) = allocate(
        &c,
        &[
            ("Bandwidth", "200"),
            ("InternetChargeType", "PayByTraffic"),
            ("ISP", "BGP_PRO"),
            ("Name", "web"),
            ("Description", "front door"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
        ],
    )
    .await;
    let e = eip(&c, &named).await;
    assert_eq!(e["Bandwidth"], "200");
    assert_eq!(e["InternetChargeType"], "PayByTraffic");
    assert_eq!(e["ISP"], "BGP_PRO");
    assert_eq!(e["Name"], "web");
    assert_eq!(e["Description"], "front door");
    assert_eq!(e["Tags"]["Tag"][0]["Key"], "env");
}

#[tokio::test]
async fn allocate_refuses_bad_parameters() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    for bad in [
        vec![("Bandwidth", "0")],
        vec![("Bandwidth", "five")],
        vec![("Bandwidth", "501")],
        vec![("Bandwidth", "201"), ("InternetChargeType", "PayByTraffic")],
        vec![("InternetChargeType", "PayByTime")],
        vec![
            ("InstanceChargeType", "PrePaid"),
            ("InternetChargeType", "PayByTraffic"),
        ],
        vec![("InstanceChargeType", "Monthly")],
        vec![("ISP", "Carrier-Pigeon")],
        vec![("Name", "http://x")],
        vec![("Description", "https://x")],
        vec![("ResourceGroupId", "nope")],
        vec![("ClientToken", "ü")],
    ] {
        let mut p = vec![R];
        p.extend_from_slice(&bad);
        c.call(VPC, "AllocateEipAddress", &p)
            .await
            .err("InvalidParameter", 400);
    }
    c.call(VPC, "AllocateEipAddress", &[])
        .await
        .err("MissingParameter", 400);
    c.call(VPC, "AllocateEipAddress", &[("RegionId", "xx-nowhere-1")])
        .await
        .err("InvalidRegionId.NotFound", 404);
    // A PrePaid EIP may have up to 1000 Mbit/s.
    allocate(
        &c,
        &[("InstanceChargeType", "PrePaid"), ("Bandwidth", "1000")],
    )
    .await;
    // Nothing refused was allocated.
    assert_eq!(describe(&c, &[]).await.len(), 1);
}

#[tokio::test]
async fn allocate_with_a_client_token_allocates_once() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let a = allocate(&c, &[("ClientToken", "t-1")]).await;
    let b = allocate(&c, &[("ClientToken", "t-1")]).await;
    assert_eq!(a, b);
    assert_eq!(describe(&c, &[]).await.len(), 1);
    c.call(
        VPC,
        "AllocateEipAddress",
        &[R, ("ClientToken", "t-1"), ("Bandwidth", "10")],
    )
    .await
    .err("IdempotentParameterMismatch", 400);
}

#[tokio::test]
async fn an_exhausted_pool_is_insufficient_eip_and_addresses_are_unique_across_accounts() {
    let s_ = TestServer::start_with(CoreConfig {
        transition_delay_ms: 0,
        eip_pool: "203.0.113.0/30".parse().unwrap(),
        ..CoreConfig::default()
    })
    .await;
    let c = s_.client();
    let other = s_.new_account("other");
    let (a, ip_a) = allocate(&c, &[]).await;
    let (_, ip_b) = allocate(&other, &[]).await;
    assert_eq!(
        (ip_a.as_str(), ip_b.as_str()),
        ("203.0.113.1", "203.0.113.2")
    );
    // Well within its quota, the account meets the server's own limit: not QuotaExceeded.Eip,
    // which would tell it to release EIPs or ask for a higher quota.
    c.call(VPC, "AllocateEipAddress", &[R])
        .await
        .err("OperationFailed.InsufficientEIP", 400);
    // Each account sees only its own.
    assert_eq!(describe(&other, &[]).await.len(), 1);
    other
        .call(VPC, "ReleaseEipAddress", &[R, ("AllocationId", &a)])
        .await
        .err("InvalidAllocationId.NotFound", 404);
    // A released address goes back to the pool.
    release(&c, &a).await.ok();
    let (_, again) = allocate(&other, &[]).await;
    assert_eq!(again, "203.0.113.1");
}

#[tokio::test]
async fn the_default_quota_is_twenty_eips_per_account_and_region() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    for _ in 0..20 {
        allocate(&c, &[]).await;
    }
    let b = c
        .call(VPC, "AllocateEipAddress", &[R])
        .await
        .err("QuotaExceeded.Eip", 400);
    assert!(b["Message"].as_str().unwrap().contains("20"), "{b}");
    assert_eq!(describe(&c, &[("PageSize", "50")]).await.len(), 20);
}

#[tokio::test]
async fn the_eip_quota_is_per_account_and_region_in_every_state_and_release_frees_it() {
    let s_ = TestServer::start_with(CoreConfig {
        transition_delay_ms: 0,
        eip_quota: 2,
        ..CoreConfig::default()
    })
    .await;
    let c = s_.client();
    let n = net(&c).await;
    let created = c.eni(&n.vsw, &n.sg, &[]).await;
    let eni = s(&created["NetworkInterfaceId"]);
    let (a, _) = allocate(&c, &[("ClientToken", "first")]).await;
    let (b, _) = allocate(&c, &[]).await;
    // An associated EIP counts like an idle one.
    associate(
        &c,
        &a,
        &[("InstanceId", &eni), ("InstanceType", "NetworkInterface")],
    )
    .await
    .ok();
    c.call(VPC, "AllocateEipAddress", &[R])
        .await
        .err("QuotaExceeded.Eip", 400);
    // A replay of an allocation made within the quota answers as it did the first time.
    assert_eq!(allocate(&c, &[("ClientToken", "first")]).await.0, a);
    // Another account, and another region of the same account, have quotas of their own.
    let other = s_.new_account("other");
    allocate(&other, &[]).await;
    allocate(&other, &[]).await;
    other
        .call(VPC, "AllocateEipAddress", &[R])
        .await
        .err("QuotaExceeded.Eip", 400);
    let beijing = c
        .call(VPC, "AllocateEipAddress", &[("RegionId", "cn-beijing")])
        .await
        .ok();
    assert!(beijing["AllocationId"]
        .as_str()
        .unwrap()
        .starts_with("eip-"));
    // Nothing refused was allocated; a release frees a unit of quota.
    assert_eq!(describe(&c, &[]).await.len(), 2);
    release(&c, &b).await.ok();
    allocate(&c, &[]).await;
    c.call(VPC, "AllocateEipAddress", &[R])
        .await
        .err("QuotaExceeded.Eip", 400);
}

#[tokio::test]
async fn the_quota_stops_one_account_taking_a_small_pool() {
    // The case: one account took every address of a /28 and every other account got
    // an error. With a quota below the pool's size, the others still get addresses.
    let s_ = TestServer::start_with(CoreConfig {
        transition_delay_ms: 0,
        eip_pool: "198.18.0.0/28".parse().unwrap(),
        eip_quota: 5,
        ..CoreConfig::default()
    })
    .await;
    let greedy = s_.client();
    for _ in 0..5 {
        allocate(&greedy, &[]).await;
    }
    greedy
        .call(VPC, "AllocateEipAddress", &[R])
        .await
        .err("QuotaExceeded.Eip", 400);
    let second = s_.new_account("second");
    let third = s_.new_account("third");
    for _ in 0..5 {
        allocate(&second, &[]).await;
    }
    let got: Vec<String> = [allocate(&third, &[]).await.1, allocate(&third, &[]).await.1]
        .into_iter()
        .collect();
    assert_eq!(got, ["198.18.0.11", "198.18.0.12"]);
    allocate(&third, &[]).await;
    allocate(&third, &[]).await;
    // 14 usable addresses: the fifth of the third account finds none.
    third
        .call(VPC, "AllocateEipAddress", &[R])
        .await
        .err("OperationFailed.InsufficientEIP", 400);
}

#[tokio::test]
async fn associating_with_an_eni_shows_on_the_eip_and_the_eni() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let created = c
        .eni(&n.vsw, &n.sg, &[("SecondaryPrivateIpAddressCount", "1")])
        .await;
    let eni = s(&created["NetworkInterfaceId"]);
    let primary = s(&created["PrivateIpAddress"]);
    let secondary = s(&created["PrivateIpSets"]["PrivateIpSet"][1]["PrivateIpAddress"]);
    let (a, ip_a) = allocate(&c, &[]).await;
    let (b, ip_b) = allocate(&c, &[]).await;
    associate(
        &c,
        &a,
        &[("InstanceId", &eni), ("InstanceType", "NetworkInterface")],
    )
    .await
    .ok();
    associate(
        &c,
        &b,
        &[
            ("InstanceId", &eni),
            ("InstanceType", "NetworkInterface"),
            ("PrivateIpAddress", &secondary),
            ("Mode", "NAT"),
        ],
    )
    .await
    .ok();
    let e = eip(&c, &a).await;
    assert_eq!(e["Status"], "InUse");
    assert_eq!(e["InstanceId"], eni.as_str());
    assert_eq!(e["InstanceType"], "NetworkInterface");
    assert_eq!(e["InstanceRegionId"], "cn-hangzhou");
    assert_eq!(e["PrivateIpAddress"], primary.as_str());
    assert_eq!(e["Mode"], "NAT");
    assert_eq!(e["VpcId"], n.vpc.as_str());
    assert_eq!(eip(&c, &b).await["PrivateIpAddress"], secondary.as_str());

    let attr = c.eni_attr(&eni).await;
    assert_eq!(attr["AssociatedPublicIp"]["PublicIpAddress"], ip_a.as_str());
    assert_eq!(attr["AssociatedPublicIp"]["AllocationId"], a.as_str());
    let set = &attr["PrivateIpSets"]["PrivateIpSet"];
    assert_eq!(
        set[0]["AssociatedPublicIp"]["PublicIpAddress"],
        ip_a.as_str()
    );
    assert_eq!(
        set[1]["AssociatedPublicIp"]["PublicIpAddress"],
        ip_b.as_str()
    );
    assert_eq!(set[1]["AssociatedPublicIp"]["AllocationId"], b.as_str());
    let listed = c
        .call(
            ECS,
            "DescribeNetworkInterfaces",
            &[R, ("NetworkInterfaceId.1", &eni)],
        )
        .await
        .ok();
    let one = &listed["NetworkInterfaceSets"]["NetworkInterfaceSet"][0];
    assert_eq!(one["AssociatedPublicIp"]["AllocationId"], a.as_str());

    // Filters.
    let (idle, ip_idle) = allocate(&c, &[]).await;
    assert_eq!(
        describe(&c, &[("AssociatedInstanceId", &eni)]).await,
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        describe(&c, &[("AssociatedInstanceType", "NetworkInterface")])
            .await
            .len(),
        2
    );
    assert_eq!(
        describe(&c, &[("AssociatedInstanceType", "EcsInstance")])
            .await
            .len(),
        0
    );
    assert_eq!(
        describe(&c, &[("Status", "Available")]).await,
        vec![idle.clone()]
    );
    assert_eq!(
        describe(&c, &[("EipAddress", &ip_idle)]).await,
        vec![idle.clone()]
    );
    assert_eq!(
        describe(&c, &[("AllocationId", &format!("{a},{idle}"))]).await,
        vec![a.clone(), idle.clone()]
    );
    assert_eq!(
        describe(&c, &[("AllocationId", "eip-doesnotexist")]).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn associate_refuses_what_the_rules_forbid() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let eni = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let as_eni = [
        ("InstanceId", eni.as_str()),
        ("InstanceType", "NetworkInterface"),
    ];
    let (a, _) = allocate(&c, &[]).await;
    let (b, _) = allocate(&c, &[]).await;

    associate(&c, "eip-bp1doesnotexist", &as_eni)
        .await
        .err("InvalidAllocationId.NotFound", 404);
    associate(&c, "vpc-notaneip", &as_eni)
        .await
        .err("InvalidAllocationId.NotFound", 404);
    associate(
        &c,
        &a,
        &[
            ("InstanceId", "eni-bp1nosuch"),
            ("InstanceType", "NetworkInterface"),
        ],
    )
    .await
    .err("InvalidInstanId.NotFound", 404);
    associate(&c, &a, &[("InstanceId", "i-bp1nosuch")])
        .await
        .err("InvalidInstanId.NotFound", 404);
    associate(&c, &a, &[("InstanceId", &eni), ("InstanceType", "Nat")])
        .await
        .err("InvalidInstanceType.ValueNotSupported", 400);
    for mode in ["nat", "DIRECT"] {
        let mut p = as_eni.to_vec();
        p.push(("Mode", mode));
        associate(&c, &a, &p).await.err("IllegalParam.Mode", 400);
    }
    let mut p = as_eni.to_vec();
    p.push(("PrivateIpAddress", "10.0.1.200"));
    associate(&c, &a, &p)
        .await
        .err("OperationFailed.PrivateIpAddressNotExist", 400);
    let mut p = as_eni.to_vec();
    p.push(("PrivateIpAddress", "not-an-ip"));
    associate(&c, &a, &p).await.err("InvalidParameter", 400);
    associate(&c, &a, &[("InstanceType", "NetworkInterface")])
        .await
        .err("MissingParameter", 400);
    // Another account's ENI does not exist for the caller.
    let other = s_.new_account("other");
    let (theirs, _) = allocate(&other, &[]).await;
    associate(&other, &theirs, &as_eni)
        .await
        .err("InvalidInstanId.NotFound", 404);
    // An EIP of another region.
    let b2 = c
        .call(VPC, "AllocateEipAddress", &[("RegionId", "cn-beijing")])
        .await
        .ok();
    c.call(
        VPC,
        "AssociateEipAddress",
        &[
            ("RegionId", "cn-beijing"),
            ("AllocationId", b2["AllocationId"].as_str().unwrap()),
            ("InstanceId", &eni),
            ("InstanceType", "NetworkInterface"),
        ],
    )
    .await
    .err("InvalidParameter.Mismatch", 400);
    // Nothing above associated anything.
    assert_eq!(describe(&c, &[("Status", "InUse")]).await.len(), 0);

    associate(&c, &a, &as_eni).await.ok();
    // An EIP in use cannot be associated again, and a private IP takes one EIP.
    associate(&c, &a, &as_eni)
        .await
        .err("IncorrectEipStatus", 400);
    associate(&c, &b, &as_eni)
        .await
        .err("InvalidAssociation.Duplicated", 400);
    assert_eq!(eip(&c, &b).await["Status"], "Available");
}

#[tokio::test]
async fn associating_with_an_instance_uses_its_primary_ip() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let inst = c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    let (a, ip_a) = allocate(&c, &[("Bandwidth", "20")]).await;
    let (b, _) = allocate(&c, &[]).await;
    associate(&c, &a, &[("InstanceId", &inst)]).await.ok();
    let d = c
        .call(
            ECS,
            "DescribeInstances",
            &[R, ("InstanceIds", &format!("[\"{inst}\"]"))],
        )
        .await
        .ok();
    let i = &d["Instances"]["Instance"][0];
    assert_eq!(i["EipAddress"]["IpAddress"], ip_a.as_str());
    assert_eq!(i["EipAddress"]["AllocationId"], a.as_str());
    assert_eq!(i["EipAddress"]["Bandwidth"], 20);
    assert_eq!(i["EipAddress"]["InternetChargeType"], "PayByBandwidth");
    assert_eq!(i["EipAddress"]["IsSupportUnassociate"], true);
    let primary_ip = s(&i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]);
    let primary_eni = s(&i["NetworkInterfaces"]["NetworkInterface"][0]["NetworkInterfaceId"]);
    let e = eip(&c, &a).await;
    assert_eq!(e["InstanceId"], inst.as_str());
    assert_eq!(e["InstanceType"], "EcsInstance");
    assert_eq!(e["PrivateIpAddress"], primary_ip.as_str());
    let attr = c.eni_attr(&primary_eni).await;
    assert_eq!(attr["AssociatedPublicIp"]["AllocationId"], a.as_str());
    // One EIP per instance (its primary IP).
    associate(
        &c,
        &b,
        &[("InstanceId", &inst), ("InstanceType", "EcsInstance")],
    )
    .await
    .err("InvalidAssociation.Duplicated", 400);
    // The instance's primary ENI named directly is the same address.
    associate(
        &c,
        &b,
        &[
            ("InstanceId", &primary_eni),
            ("InstanceType", "NetworkInterface"),
        ],
    )
    .await
    .err("InvalidAssociation.Duplicated", 400);
    // A classic-network instance has no VPC.
    let classic = c
        .call(ECS, "RunInstances", &[R, ("InstanceType", "ecs.g7.large")])
        .await
        .ok();
    let classic = s(&classic["InstanceIdSets"]["InstanceIdSet"][0]);
    associate(&c, &b, &[("InstanceId", &classic)])
        .await
        .err("OperationDenied", 400);
    // Unassociating by instance.
    unassociate(
        &c,
        &a,
        &[("InstanceId", &inst), ("InstanceType", "EcsInstance")],
    )
    .await
    .ok();
    let d = c
        .call(
            ECS,
            "DescribeInstances",
            &[R, ("InstanceIds", &format!("[\"{inst}\"]"))],
        )
        .await
        .ok();
    let i = &d["Instances"]["Instance"][0];
    assert_eq!(i["EipAddress"]["IpAddress"], "");
    assert_eq!(i["EipAddress"]["Bandwidth"], 0);
    assert_eq!(
        c.eni_attr(&primary_eni).await["AssociatedPublicIp"],
        serde_json::json!({})
    );
}

#[tokio::test]
async fn unassociate_and_release_follow_the_binding() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let eni = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let (a, _) = allocate(&c, &[]).await;
    unassociate(&c, &a, &[])
        .await
        .err("InvalidBindingStatus", 400);
    unassociate(&c, "eip-bp1nosuch", &[])
        .await
        .err("InvalidAllocationId.NotFound", 404);
    associate(
        &c,
        &a,
        &[("InstanceId", &eni), ("InstanceType", "NetworkInterface")],
    )
    .await
    .ok();
    release(&c, &a).await.err("IncorrectEipStatus", 400);
    unassociate(&c, &a, &[("InstanceId", "eni-bp1someother")])
        .await
        .err("InvalidBindingStatus", 400);
    unassociate(
        &c,
        &a,
        &[("InstanceId", &eni), ("InstanceType", "EcsInstance")],
    )
    .await
    .err("InvalidBindingStatus", 400);
    unassociate(&c, &a, &[("PrivateIpAddress", "10.0.1.250")])
        .await
        .err("InvalidBindingStatus", 400);
    unassociate(&c, &a, &[("InstanceType", "HaVip")])
        .await
        .err("InvalidInstanceType.ValueNotSupported", 400);
    unassociate(&c, &a, &[("Force", "maybe")])
        .await
        .err("InvalidParameter", 400);
    assert_eq!(eip(&c, &a).await["Status"], "InUse");
    unassociate(
        &c,
        &a,
        &[
            ("InstanceId", &eni),
            ("InstanceType", "NetworkInterface"),
            ("Force", "false"),
        ],
    )
    .await
    .ok();
    let e = eip(&c, &a).await;
    assert_eq!(e["Status"], "Available");
    assert_eq!(e["InstanceId"], "");
    assert_eq!(
        c.eni_attr(&eni).await["AssociatedPublicIp"],
        serde_json::json!({})
    );
    release(&c, &a).await.ok();
    assert!(describe(&c, &[]).await.is_empty());
    release(&c, &a)
        .await
        .err("InvalidAllocationId.NotFound", 404);
}

#[tokio::test]
async fn association_passes_through_associating_and_unassociating() {
    let s_ = TestServer::start_with(CoreConfig {
        transition_delay_ms: 300,
        ..CoreConfig::default()
    })
    .await;
    let c = s_.client();
    let n = net(&c).await;
    let eni = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let as_eni = [
        ("InstanceId", eni.as_str()),
        ("InstanceType", "NetworkInterface"),
    ];
    let (a, _) = allocate(&c, &[]).await;
    associate(&c, &a, &as_eni).await.ok();
    assert_eq!(eip(&c, &a).await["Status"], "Associating");
    // While Associating only queries are allowed.
    associate(&c, &a, &as_eni)
        .await
        .err("IncorrectEipStatus", 400);
    unassociate(&c, &a, &[])
        .await
        .err("IncorrectEipStatus", 400);
    release(&c, &a).await.err("IncorrectEipStatus", 400);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(eip(&c, &a).await["Status"], "InUse");
    unassociate(&c, &a, &[]).await.ok();
    let e = eip(&c, &a).await;
    assert_eq!(e["Status"], "Unassociating");
    assert_eq!(e["InstanceId"], eni.as_str());
    release(&c, &a).await.err("IncorrectEipStatus", 400);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let e = eip(&c, &a).await;
    assert_eq!(e["Status"], "Available");
    assert_eq!(e["InstanceId"], "");
    release(&c, &a).await.ok();
}

#[tokio::test]
async fn an_eip_with_a_client_token_associates_once() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let eni = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let (a, _) = allocate(&c, &[]).await;
    let p = [
        ("InstanceId", eni.as_str()),
        ("InstanceType", "NetworkInterface"),
        ("ClientToken", "assoc-1"),
    ];
    associate(&c, &a, &p).await.ok();
    // A retry after success is answered like the first call, not IncorrectEipStatus.
    associate(&c, &a, &p).await.ok();
    associate(
        &c,
        &a,
        &[("InstanceId", eni.as_str()), ("ClientToken", "assoc-1")],
    )
    .await
    .err("IdempotentParameterMismatch", 400);
}

#[tokio::test]
async fn releasing_the_private_address_unbinds_the_eip() {
    let s_ = TestServer::start_with(CoreConfig {
        transition_delay_ms: 300,
        ..CoreConfig::default()
    })
    .await;
    let c = s_.client();
    let n = net(&c).await;
    let created = c
        .eni(&n.vsw, &n.sg, &[("SecondaryPrivateIpAddressCount", "1")])
        .await;
    let eni = s(&created["NetworkInterfaceId"]);
    let secondary = s(&created["PrivateIpSets"]["PrivateIpSet"][1]["PrivateIpAddress"]);
    let (a, _) = allocate(&c, &[]).await;
    let (b, _) = allocate(&c, &[]).await;
    associate(
        &c,
        &a,
        &[("InstanceId", &eni), ("InstanceType", "NetworkInterface")],
    )
    .await
    .ok();
    associate(
        &c,
        &b,
        &[
            ("InstanceId", &eni),
            ("InstanceType", "NetworkInterface"),
            ("PrivateIpAddress", &secondary),
        ],
    )
    .await
    .ok();
    // Unassigning the secondary address frees its EIP at once.
    c.call(
        ECS,
        "UnassignPrivateIpAddresses",
        &[
            R,
            ("NetworkInterfaceId", &eni),
            ("PrivateIpAddress.1", &secondary),
        ],
    )
    .await
    .ok();
    let e = eip(&c, &b).await;
    assert_eq!(e["Status"], "Available");
    assert_eq!(e["PrivateIpAddress"], "");
    // Deleting the ENI frees the other when the deletion starts.
    c.call(
        ECS,
        "DeleteNetworkInterface",
        &[R, ("NetworkInterfaceId", &eni)],
    )
    .await
    .ok();
    assert_eq!(eip(&c, &a).await["Status"], "Available");
    release(&c, &a).await.ok();
}

#[tokio::test]
async fn deleting_an_instance_unbinds_its_eip() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let inst = c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    let (a, _) = allocate(&c, &[]).await;
    associate(&c, &a, &[("InstanceId", &inst)]).await.ok();
    c.call(
        ECS,
        "DeleteInstance",
        &[("InstanceId", inst.as_str()), ("Force", "true")],
    )
    .await
    .ok();
    let e = eip(&c, &a).await;
    assert_eq!(e["Status"], "Available");
    assert_eq!(e["InstanceId"], "");
    // The EIP stays with the account and can be used again.
    let eni = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    associate(
        &c,
        &a,
        &[("InstanceId", &eni), ("InstanceType", "NetworkInterface")],
    )
    .await
    .ok();
}

#[tokio::test]
async fn describe_pages_and_checks_its_limits() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let (a, _) = allocate(&c, &[]).await;
    let (b, _) = allocate(&c, &[]).await;
    let p = c
        .call(
            VPC,
            "DescribeEipAddresses",
            &[R, ("PageSize", "1"), ("PageNumber", "2")],
        )
        .await
        .ok();
    assert_eq!(p["TotalCount"], 2);
    assert_eq!(p["PageNumber"], 2);
    assert_eq!(p["PageSize"], 1);
    assert_eq!(
        p["EipAddresses"]["EipAddress"][0]["AllocationId"],
        b.as_str()
    );
    c.call(VPC, "DescribeEipAddresses", &[R, ("PageSize", "101")])
        .await
        .err("InvalidParameter", 400);
    let many: Vec<String> = (0..51).map(|i| format!("eip-x{i}")).collect();
    c.call(
        VPC,
        "DescribeEipAddresses",
        &[R, ("AllocationId", &many.join(","))],
    )
    .await
    .err("InvalidParameter", 400);
    c.call(VPC, "DescribeEipAddresses", &[])
        .await
        .err("MissingParameter", 400);
    // The EIP actions are VPC actions; the ECS table does not serve them.
    c.call(ECS, "DescribeEipAddresses", &[R])
        .await
        .err("InvalidAction.NotFound", 404);
    assert_eq!(describe(&c, &[]).await, vec![a, b]);
}

#[tokio::test]
async fn associations_reach_the_data_plane_view_and_bump_its_generation() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let eni = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let primary = s(&c.eni_attr(&eni).await["PrivateIpAddress"]);
    let (a, ip_a) = allocate(&c, &[]).await;
    let vpc: VpcId = n.vpc.parse().unwrap();
    let gen = || {
        let mut tx = s_.store.read().unwrap();
        tx.dataplane_generation().unwrap()
    };
    let view = || {
        let mut tx = s_.store.read().unwrap();
        tx.eips_associated_in_vpc(&vpc).unwrap()
    };
    assert!(view().is_empty());
    let g0 = gen();
    associate(
        &c,
        &a,
        &[("InstanceId", &eni), ("InstanceType", "NetworkInterface")],
    )
    .await
    .ok();
    let g1 = gen();
    assert!(g1 > g0);
    let v = view();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].allocation_id.as_str(), a);
    assert_eq!(v[0].public_ip.to_string(), ip_a);
    assert_eq!(v[0].private_ip.to_string(), primary);
    assert_eq!(v[0].eni_id.as_str(), eni);
    unassociate(&c, &a, &[]).await.ok();
    assert!(gen() > g1);
    assert!(view().is_empty());
}
