//! ENI rules through the API: attach/detach/delete and their states, the VPC, zone, group,
//! per-type and quota limits, explicit addresses, IPv6 and prefixes, idempotency, and what an
//! instance's deletion does to its ENIs.

mod common;

use common::*;
use eni_core::CoreConfig;
use serde_json::Value;
use std::collections::HashSet;

const R: (&str, &str) = ("RegionId", "cn-hangzhou");

struct Net {
    vpc: String,
    vsw: String,
    vsw2: String,
    vsw_i: String,
    sg: String,
}

async fn net(c: &Client) -> Net {
    let vpc = c.vpc("10.0.0.0/16").await;
    let vsw = c.vswitch(&vpc, "10.0.1.0/24").await;
    let vsw2 = c.vswitch(&vpc, "10.0.2.0/24").await;
    let vsw_i = c.vswitch_in(&vpc, "10.0.3.0/24", "cn-hangzhou-i").await;
    let sg = c.group(&vpc).await;
    Net {
        vpc,
        vsw,
        vsw2,
        vsw_i,
        sg,
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

fn ips(attr: &Value) -> Vec<String> {
    attr["PrivateIpSets"]["PrivateIpSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| s(&i["PrivateIpAddress"]))
        .collect()
}

async fn attach(c: &Client, eni: &str, inst: &str) -> Answer {
    c.call(
        ECS,
        "AttachNetworkInterface",
        &[R, ("NetworkInterfaceId", eni), ("InstanceId", inst)],
    )
    .await
}

async fn detach(c: &Client, eni: &str, inst: &str) -> Answer {
    c.call(
        ECS,
        "DetachNetworkInterface",
        &[R, ("NetworkInterfaceId", eni), ("InstanceId", inst)],
    )
    .await
}

#[tokio::test]
async fn create_returns_an_available_eni_with_the_documented_shape() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let b = c
        .eni(
            &n.vsw,
            &n.sg,
            &[
                ("SecondaryPrivateIpAddressCount", "2"),
                ("NetworkInterfaceName", "eni-a"),
                ("Tag.1.Key", "k"),
                ("Tag.1.Value", "v"),
            ],
        )
        .await;
    assert_eq!(b["Status"], "Available");
    assert_eq!(b["Type"], "Secondary");
    assert_eq!(b["VpcId"], n.vpc.as_str());
    assert_eq!(b["ZoneId"], "cn-hangzhou-h");
    assert!(b["OwnerId"].is_string());
    assert!(s(&b["MacAddress"]).starts_with("00:16:3e:"));
    let set = b["PrivateIpSets"]["PrivateIpSet"].as_array().unwrap();
    assert_eq!(set.len(), 3);
    assert_eq!(set[0]["Primary"], true);
    assert_eq!(set[1]["Primary"], false);
    assert_eq!(b["PrivateIpAddress"], set[0]["PrivateIpAddress"]);
    assert_eq!(b["Tags"]["Tag"][0]["TagKey"], "k");
    for w in [
        "Ipv6Sets",
        "Ipv4PrefixSets",
        "Ipv6PrefixSets",
        "SecurityGroupIds",
    ] {
        assert!(b[w].is_object(), "{w}");
    }
    let d = c
        .call(
            VPC,
            "DescribeVSwitches",
            &[("VpcId", &n.vpc), ("VSwitchId", &n.vsw)],
        )
        .await
        .ok();
    assert_eq!(
        d["VSwitches"]["VSwitch"][0]["AvailableIpAddressCount"],
        252 - 3
    );
}

#[tokio::test]
async fn failover_keeps_every_attribute() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let sg2 = c.group(&n.vpc).await;
    let a = c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    let b = c.instance("ecs.g7.large", &n.vsw2, &n.sg).await;
    let e = c
        .eni(
            &n.vsw,
            &n.sg,
            &[
                ("SecondaryPrivateIpAddressCount", "2"),
                ("NetworkInterfaceName", "svc"),
                ("Description", "the service"),
                ("Tag.1.Key", "app"),
                ("Tag.1.Value", "db"),
            ],
        )
        .await;
    let id = s(&e["NetworkInterfaceId"]);
    c.call(
        ECS,
        "ModifyNetworkInterfaceAttribute",
        &[
            R,
            ("NetworkInterfaceId", &id),
            ("SecurityGroupId.1", &n.sg),
            ("SecurityGroupId.2", &sg2),
        ],
    )
    .await
    .ok();
    let before = c.eni_attr(&id).await;
    attach(&c, &id, &a).await.ok();
    let on_a = c.eni_attr(&id).await;
    assert_eq!(
        (on_a["Status"].as_str(), on_a["InstanceId"].as_str()),
        (Some("InUse"), Some(a.as_str()))
    );
    assert_eq!(on_a["Attachment"]["DeviceIndex"], 1);
    detach(&c, &id, &a).await.ok();
    attach(&c, &id, &b).await.ok();
    let after = c.eni_attr(&id).await;
    assert_eq!(after["InstanceId"], b.as_str());
    for k in [
        "MacAddress",
        "PrivateIpSets",
        "SecurityGroupIds",
        "NetworkInterfaceName",
        "Description",
        "Tags",
        "PrivateIpAddress",
    ] {
        assert_eq!(before[k], after[k], "{k} changed");
    }
    let d = c
        .call(
            ECS,
            "DescribeInstances",
            &[R, ("InstanceIds", &format!("[\"{b}\"]"))],
        )
        .await
        .ok();
    let nics = d["Instances"]["Instance"][0]["NetworkInterfaces"]["NetworkInterface"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nics.len(), 2);
    assert_eq!(nics[0]["Type"], "Primary");
    assert_eq!(nics[1]["NetworkInterfaceId"], id.as_str());
}

async fn instance_status(c: &Client, i: &str) -> String {
    let d = c
        .call(
            ECS,
            "DescribeInstances",
            &[R, ("InstanceIds", &format!("[\"{i}\"]"))],
        )
        .await
        .ok();
    s(&d["Instances"]["Instance"][0]["Status"])
}

#[tokio::test]
async fn transitions_are_observable() {
    let s_ = TestServer::start_with(CoreConfig {
        transition_delay_ms: 400,
        ..CoreConfig::default()
    })
    .await;
    let c = s_.client();
    let n = net(&c).await;
    let inst = c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    assert_eq!(instance_status(&c, &inst).await, "Pending");
    let eni = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    attach(&c, &eni, &inst)
        .await
        .err("InvalidOperation.InvalidEcsState", 400);
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(instance_status(&c, &inst).await, "Running");
    attach(&c, &eni, &inst).await.ok();
    assert_eq!(c.eni_attr(&eni).await["Status"], "Attaching");
    // A second operation while Attaching is refused.
    detach(&c, &eni, &inst)
        .await
        .err("InvalidOperation.InvalidEniState", 400);
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(c.eni_attr(&eni).await["Status"], "InUse");
    detach(&c, &eni, &inst).await.ok();
    assert_eq!(c.eni_attr(&eni).await["Status"], "Detaching");
    detach(&c, &eni, &inst).await.ok();
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    let a = c.eni_attr(&eni).await;
    assert_eq!(
        (a["Status"].as_str(), a["InstanceId"].as_str()),
        (Some("Available"), Some(""))
    );
    c.call(
        ECS,
        "DeleteNetworkInterface",
        &[R, ("NetworkInterfaceId", &eni)],
    )
    .await
    .ok();
    assert_eq!(c.eni_attr(&eni).await["Status"], "Deleting");
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    c.call(
        ECS,
        "DescribeNetworkInterfaceAttribute",
        &[R, ("NetworkInterfaceId", &eni)],
    )
    .await
    .err("InvalidEniId.NotFound", 404);
    let d = c
        .call(
            ECS,
            "DescribeNetworkInterfaces",
            &[R, ("NetworkInterfaceId.1", &eni)],
        )
        .await
        .ok();
    assert_eq!(
        d["NetworkInterfaceSets"]["NetworkInterfaceSet"],
        serde_json::json!([])
    );
    c.call(ECS, "StopInstance", &[("InstanceId", &inst)])
        .await
        .ok();
    assert_eq!(instance_status(&c, &inst).await, "Stopping");
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(instance_status(&c, &inst).await, "Stopped");
    c.call(ECS, "StartInstance", &[("InstanceId", &inst)])
        .await
        .ok();
    assert_eq!(instance_status(&c, &inst).await, "Starting");
}

#[tokio::test]
async fn primary_eni_cannot_be_detached_or_deleted() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let inst = c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    let d = c
        .call(
            ECS,
            "DescribeNetworkInterfaces",
            &[R, ("InstanceId", &inst)],
        )
        .await
        .ok();
    let p = &d["NetworkInterfaceSets"]["NetworkInterfaceSet"][0];
    assert_eq!(
        (p["Type"].as_str(), p["Status"].as_str()),
        (Some("Primary"), Some("InUse"))
    );
    assert_eq!(p["Attachment"]["DeviceIndex"], 0);
    let id = s(&p["NetworkInterfaceId"]);
    detach(&c, &id, &inst)
        .await
        .err("InvalidOperation.DetachPrimaryEniNotAllowed", 400);
    c.call(
        ECS,
        "DeleteNetworkInterface",
        &[R, ("NetworkInterfaceId", &id)],
    )
    .await
    .err("InvalidOperation.InvalidEniType", 403);
    // It goes with its instance.
    c.call(
        ECS,
        "DeleteInstance",
        &[("InstanceId", &inst), ("Force", "true")],
    )
    .await
    .ok();
    c.call(
        ECS,
        "DescribeNetworkInterfaceAttribute",
        &[R, ("NetworkInterfaceId", &id)],
    )
    .await
    .err("InvalidEniId.NotFound", 404);
}

#[tokio::test]
async fn attach_rules() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let inst = c.instance("ecs.g6.large", &n.vsw, &n.sg).await;
    let other = c.instance("ecs.g6.large", &n.vsw, &n.sg).await;
    let e1 = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let e2 = s(&c.eni(&n.vsw2, &n.sg, &[]).await["NetworkInterfaceId"]);
    attach(&c, &e1, &inst).await.ok();
    // On at most one instance.
    attach(&c, &e1, &other)
        .await
        .err("InvalidOperation.InvalidEniState", 400);
    // ecs.g6.large: 2 ENIs, the primary included.
    attach(&c, &e2, &inst)
        .await
        .err("EniPerInstanceLimitExceeded", 403);
    // Zone.
    let e_i = s(&c.eni(&n.vsw_i, &n.sg, &[]).await["NetworkInterfaceId"]);
    attach(&c, &e_i, &other)
        .await
        .err("InvalidOperation.AvailabilityZoneMismatch", 403);
    // VPC.
    let vpc2 = c.vpc("10.9.0.0/16").await;
    let vsw9 = c.vswitch(&vpc2, "10.9.1.0/24").await;
    let sg9 = c.group(&vpc2).await;
    let e9 = s(&c.eni(&vsw9, &sg9, &[]).await["NetworkInterfaceId"]);
    attach(&c, &e9, &other)
        .await
        .err("InvalidOperation.VpcMismatch", 403);
    // Unknown IDs.
    attach(&c, "eni-nothere", &other)
        .await
        .err("InvalidEniId.NotFound", 404);
    attach(&c, &e2, "i-nothere")
        .await
        .err("InvalidEcsId.NotFound", 404);
    detach(&c, &e2, &other)
        .await
        .err("InvalidOperation.InvalidEniState", 400);
    // Detach from an instance it is not on.
    detach(&c, &e1, &other)
        .await
        .err("InvalidOperation.InvalidEniState", 400);
    // An attached ENI cannot be deleted.
    c.call(
        ECS,
        "DeleteNetworkInterface",
        &[R, ("NetworkInterfaceId", &e1)],
    )
    .await
    .err("InvalidOperation.InvalidEniState", 400);
}

#[tokio::test]
async fn instance_kinds_and_states_that_refuse_enis() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let e = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let legacy = c.instance("ecs.t1.small", &n.vsw, &n.sg).await;
    attach(&c, &e, &legacy)
        .await
        .err("InvalidInstanceType.ValueNotSupported", 400);
    let b = c
        .call(ECS, "RunInstances", &[R, ("InstanceType", "ecs.g7.large")])
        .await
        .ok();
    let classic = s(&b["InstanceIdSets"]["InstanceIdSet"][0]);
    let d = c
        .call(
            ECS,
            "DescribeInstances",
            &[R, ("InstanceIds", &format!("[\"{classic}\"]"))],
        )
        .await
        .ok();
    assert_eq!(
        d["Instances"]["Instance"][0]["InstanceNetworkType"],
        "classic"
    );
    attach(&c, &e, &classic).await.err("InvalidVpc.Empty", 403);
    let burst = c.instance("ecs.t6-c1m2.large", &n.vsw, &n.sg).await;
    attach(&c, &e, &burst)
        .await
        .err("InvalidOperation.InvalidEcsState", 400);
    c.call(ECS, "StopInstance", &[("InstanceId", &burst)])
        .await
        .ok();
    attach(&c, &e, &burst).await.ok();
    // A Stopped instance takes ENIs too.
    let g7 = c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    c.call(ECS, "StopInstance", &[("InstanceId", &g7)])
        .await
        .ok();
    let e2 = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    attach(&c, &e2, &g7).await.ok();
}

#[tokio::test]
async fn security_group_rules() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let mk = |extra: Vec<(&'static str, String)>| {
        let n_vsw = n.vsw.clone();
        let c = &c;
        async move {
            let mut p: Vec<(&str, &str)> = vec![R, ("VSwitchId", &n_vsw)];
            for (k, v) in &extra {
                p.push((k, v));
            }
            c.call(ECS, "CreateNetworkInterface", &p).await
        }
    };
    mk(vec![]).await.err("MissingParameter", 400);
    let mut six = Vec::new();
    let names = [
        "SecurityGroupIds.1",
        "SecurityGroupIds.2",
        "SecurityGroupIds.3",
        "SecurityGroupIds.4",
        "SecurityGroupIds.5",
        "SecurityGroupIds.6",
    ];
    for name in names {
        six.push((name, c.group(&n.vpc).await));
    }
    mk(six.clone()).await.err("JoinedGroupLimitExceed", 400);
    six.pop();
    mk(six).await.ok();
    mk(vec![
        ("SecurityGroupId", n.sg.clone()),
        ("SecurityGroupIds.1", n.sg.clone()),
    ])
    .await
    .err("InvalidParameter.Conflict", 400);
    mk(vec![("SecurityGroupId", "sg-nothere".into())])
        .await
        .err("InvalidSecurityGroupId.NotFound", 404);
    let vpc2 = c.vpc("10.9.0.0/16").await;
    let sg9 = c.group(&vpc2).await;
    mk(vec![("SecurityGroupId", sg9.clone())])
        .await
        .err("InvalidOperation.VpcMismatch", 403);
    // In use: cannot be deleted; nor can its VPC.
    c.call(ECS, "DeleteSecurityGroup", &[R, ("SecurityGroupId", &n.sg)])
        .await
        .ok();
    let used = c.group(&n.vpc).await;
    let e = s(&mk(vec![("SecurityGroupId", used.clone())]).await.ok()["NetworkInterfaceId"]);
    c.call(ECS, "DeleteSecurityGroup", &[R, ("SecurityGroupId", &used)])
        .await
        .err("DependencyViolation.SecurityGroupInUse", 400);
    c.call(
        ECS,
        "DeleteNetworkInterface",
        &[R, ("NetworkInterfaceId", &e)],
    )
    .await
    .ok();
    c.call(ECS, "DeleteSecurityGroup", &[R, ("SecurityGroupId", &used)])
        .await
        .ok();
    c.call(VPC, "DeleteVpc", &[("VpcId", &vpc2)])
        .await
        .err("DependencyViolation.SecurityGroup", 400);
    let d = c
        .call(ECS, "DescribeSecurityGroups", &[R, ("VpcId", &vpc2)])
        .await
        .ok();
    assert_eq!(
        d["SecurityGroups"]["SecurityGroup"][0]["SecurityGroupId"],
        sg9.as_str()
    );
}

#[tokio::test]
async fn explicit_addresses_are_checked() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let p = |ip: &'static str| [("PrimaryIpAddress", ip)];
    for bad in [
        "10.0.1.0",
        "10.0.1.253",
        "10.0.1.254",
        "10.0.1.255",
        "10.0.2.5",
    ] {
        let (vsw, sg) = (&n.vsw, &n.sg);
        c.call(
            ECS,
            "CreateNetworkInterface",
            &[
                R,
                ("VSwitchId", vsw),
                ("SecurityGroupId", sg),
                ("PrimaryIpAddress", bad),
            ],
        )
        .await
        .err("InvalidVSwitchId.IpInvalid", 403);
    }
    let e = c.eni(&n.vsw, &n.sg, &p("10.0.1.1")).await;
    assert_eq!(e["PrivateIpAddress"], "10.0.1.1");
    let id = s(&e["NetworkInterfaceId"]);
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &n.vsw),
            ("SecurityGroupId", &n.sg),
            ("PrimaryIpAddress", "10.0.1.1"),
        ],
    )
    .await
    .err("InvalidPrivateIpAddress.Duplicated", 400);
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &n.vsw),
            ("SecurityGroupId", &n.sg),
            ("PrimaryIpAddress", "10.0.1.9"),
            ("PrivateIpAddress.1", "10.0.1.9"),
        ],
    )
    .await
    .err("InvalidIp.IpRepeated", 403);
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &n.vsw),
            ("SecurityGroupId", &n.sg),
            ("PrimaryIpAddress", "10.0.1.x"),
        ],
    )
    .await
    .err("InvalidParameter", 400);
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &n.vsw),
            ("SecurityGroupId", &n.sg),
            ("PrivateIpAddress.1", "10.0.1.20"),
            ("SecondaryPrivateIpAddressCount", "1"),
        ],
    )
    .await
    .err("InvalidParameter.Conflict", 400);
    let assign = |ips: &[&str]| {
        let mut q: Vec<(String, String)> = vec![
            ("RegionId".into(), "cn-hangzhou".into()),
            ("NetworkInterfaceId".into(), id.clone()),
        ];
        for (i, ip) in ips.iter().enumerate() {
            q.push((format!("PrivateIpAddress.{}", i + 1), ip.to_string()));
        }
        let c = &c;
        async move {
            let r: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            c.call(ECS, "AssignPrivateIpAddresses", &r).await
        }
    };
    assign(&["10.0.1.1"]).await.err("InvalidIp.IpAssigned", 403);
    assign(&["10.0.1.30", "10.0.1.30"])
        .await
        .err("InvalidIp.IpRepeated", 403);
    assign(&["10.0.1.254"])
        .await
        .err("InvalidVSwitchId.IpInvalid", 403);
    let a = assign(&["10.0.1.30", "10.0.1.31"]).await.ok();
    assert_eq!(
        a["AssignedPrivateIpAddressesSet"]["PrivateIpSet"]["PrivateIpAddress"],
        serde_json::json!(["10.0.1.30", "10.0.1.31"])
    );
    assert_eq!(
        ips(&c.eni_attr(&id).await),
        ["10.0.1.1", "10.0.1.30", "10.0.1.31"]
    );
    let un = |ip: &'static str| {
        let id = id.clone();
        let c = &c;
        async move {
            c.call(
                ECS,
                "UnassignPrivateIpAddresses",
                &[R, ("NetworkInterfaceId", &id), ("PrivateIpAddress.1", ip)],
            )
            .await
        }
    };
    un("10.0.1.1").await.err("InvalidIp.IpUnassigned", 403);
    un("10.0.1.99").await.err("InvalidIp.IpUnassigned", 403);
    un("10.0.1.30").await.ok();
    assert_eq!(ips(&c.eni_attr(&id).await), ["10.0.1.1", "10.0.1.31"]);
    // A freed address is usable again.
    c.eni(&n.vsw, &n.sg, &p("10.0.1.30")).await;
}

#[tokio::test]
async fn address_limits_while_available_and_attached() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let id = s(&c
        .eni(&n.vsw, &n.sg, &[("SecondaryPrivateIpAddressCount", "49")])
        .await["NetworkInterfaceId"]);
    c.call(
        ECS,
        "AssignPrivateIpAddresses",
        &[
            R,
            ("NetworkInterfaceId", &id),
            ("SecondaryPrivateIpAddressCount", "1"),
        ],
    )
    .await
    .err("MaxEniPrivateIpsCountExceeded", 403);
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &n.vsw),
            ("SecurityGroupId", &n.sg),
            ("SecondaryPrivateIpAddressCount", "50"),
        ],
    )
    .await
    .err("InvalidParameter", 400);
    // ecs.g6.large: 6 IPs per ENI, the primary included.
    let inst = c.instance("ecs.g6.large", &n.vsw, &n.sg).await;
    let seven = s(&c
        .eni(&n.vsw, &n.sg, &[("SecondaryPrivateIpAddressCount", "6")])
        .await["NetworkInterfaceId"]);
    attach(&c, &seven, &inst)
        .await
        .err("InvalidOperation.Ipv4CountExceeded", 403);
    let six = s(&c
        .eni(&n.vsw, &n.sg, &[("SecondaryPrivateIpAddressCount", "4")])
        .await["NetworkInterfaceId"]);
    attach(&c, &six, &inst).await.ok();
    c.call(
        ECS,
        "AssignPrivateIpAddresses",
        &[
            R,
            ("NetworkInterfaceId", &six),
            ("SecondaryPrivateIpAddressCount", "1"),
        ],
    )
    .await
    .ok();
    c.call(
        ECS,
        "AssignPrivateIpAddresses",
        &[
            R,
            ("NetworkInterfaceId", &six),
            ("SecondaryPrivateIpAddressCount", "1"),
        ],
    )
    .await
    .err("InvalidOperation.Ipv4CountExceeded", 403);
}

#[tokio::test]
async fn exhausted_vswitch_and_parallel_creates_give_no_duplicates() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let vpc = c.vpc("10.0.0.0/16").await;
    let vsw = c.vswitch(&vpc, "10.0.5.0/28").await;
    let sg = c.group(&vpc).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (vsw, sg) = (vsw.clone(), sg.clone());
        let c = Client {
            addr: c.addr,
            ak: c.ak.clone(),
            secret: c.secret.clone(),
            http: reqwest::Client::new(),
        };
        tasks.push(tokio::spawn(async move {
            c.call(
                ECS,
                "CreateNetworkInterface",
                &[R, ("VSwitchId", &vsw), ("SecurityGroupId", &sg)],
            )
            .await
        }));
    }
    let mut got = HashSet::new();
    let mut refused = 0;
    for t in tasks {
        let a = t.await.unwrap();
        if a.status == 200 {
            assert!(got.insert(s(&a.body["PrivateIpAddress"])), "duplicate IP");
        } else {
            a.err("InvalidVSwitchId.IpNotEnough", 403);
            refused += 1;
        }
    }
    assert_eq!((got.len(), refused), (12, 8));
    let d = c
        .call(VPC, "DescribeVSwitches", &[("VpcId", &vpc)])
        .await
        .ok();
    assert_eq!(d["VSwitches"]["VSwitch"][0]["AvailableIpAddressCount"], 0);
}

#[tokio::test]
async fn eni_quota_per_region() {
    let s_ = TestServer::start_with(CoreConfig {
        transition_delay_ms: 0,
        eni_quota: 2,
        ..CoreConfig::default()
    })
    .await;
    let c = s_.client();
    let n = net(&c).await;
    c.eni(&n.vsw, &n.sg, &[]).await;
    let e = c.eni(&n.vsw, &n.sg, &[]).await;
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[R, ("VSwitchId", &n.vsw), ("SecurityGroupId", &n.sg)],
    )
    .await
    .err("MaxEniCountExceeded", 403);
    // Primary ENIs do not count.
    c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    c.call(
        ECS,
        "DeleteNetworkInterface",
        &[R, ("NetworkInterfaceId", &s(&e["NetworkInterfaceId"]))],
    )
    .await
    .ok();
    c.eni(&n.vsw, &n.sg, &[]).await;
}

#[tokio::test]
async fn describe_filters_and_paging() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let inst = c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    let mut made = Vec::new();
    for i in 0..5 {
        let name = format!("n{i}");
        let b = c
            .eni(
                &n.vsw2,
                &n.sg,
                &[
                    ("NetworkInterfaceName", &name),
                    ("Tag.1.Key", "i"),
                    ("Tag.1.Value", &name),
                ],
            )
            .await;
        made.push(s(&b["NetworkInterfaceId"]));
    }
    let d = |p: Vec<(&'static str, String)>| {
        let c = &c;
        async move {
            let mut q: Vec<(&str, &str)> = vec![R];
            for (k, v) in &p {
                q.push((k, v));
            }
            let b = c.call(ECS, "DescribeNetworkInterfaces", &q).await.ok();
            b["NetworkInterfaceSets"]["NetworkInterfaceSet"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| s(&e["NetworkInterfaceId"]))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(d(vec![("VSwitchId", n.vsw2.clone())]).await, made);
    assert_eq!(
        d(vec![("NetworkInterfaceName", "n3".into())]).await,
        [made[3].clone()]
    );
    assert_eq!(
        d(vec![
            ("Tag.1.Key", "i".into()),
            ("Tag.1.Value", "n1".into())
        ])
        .await,
        [made[1].clone()]
    );
    assert_eq!(
        d(vec![
            ("NetworkInterfaceId.1", made[2].clone()),
            ("NetworkInterfaceId.2", "eni-unknown".into())
        ])
        .await,
        [made[2].clone()]
    );
    assert!(d(vec![("NetworkInterfaceId.1", "eni-unknown".into())])
        .await
        .is_empty());
    assert!(d(vec![("NetworkInterfaceId.1", "not-an-id".into())])
        .await
        .is_empty());
    assert_eq!(d(vec![("InstanceId", inst.clone())]).await.len(), 1);
    assert_eq!(d(vec![("Type", "Primary".into())]).await.len(), 1);
    assert_eq!(d(vec![("Status", "Available".into())]).await, made);
    let first = c.eni_attr(&made[4]).await;
    let ip = s(&first["PrivateIpAddress"]);
    assert_eq!(
        d(vec![("PrimaryIpAddress", ip.clone())]).await,
        [made[4].clone()]
    );
    assert_eq!(d(vec![("PrivateIpAddress.1", ip)]).await, [made[4].clone()]);
    assert_eq!(d(vec![("SecurityGroupId", n.sg.clone())]).await, made);
    // Token paging visits each once; MaxResults below 10 means 10.
    let all = d(vec![]).await;
    assert_eq!(all.len(), 6);
    let b = c
        .call(ECS, "DescribeNetworkInterfaces", &[R, ("MaxResults", "3")])
        .await
        .ok();
    assert_eq!(
        b["NetworkInterfaceSets"]["NetworkInterfaceSet"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(b["NextToken"], "");
    let b = c
        .call(
            ECS,
            "DescribeNetworkInterfaces",
            &[R, ("PageSize", "4"), ("PageNumber", "2")],
        )
        .await
        .ok();
    assert_eq!(b["TotalCount"], 6);
    assert_eq!(
        b["NetworkInterfaceSets"]["NetworkInterfaceSet"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn ipv6_and_prefixes() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let b = c
        .call(
            VPC,
            "CreateVpc",
            &[R, ("CidrBlock", "10.0.0.0/16"), ("EnableIpv6", "true")],
        )
        .await
        .ok();
    let vpc = s(&b["VpcId"]);
    let vsw = s(&c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", &vpc),
                ("ZoneId", "cn-hangzhou-h"),
                ("CidrBlock", "10.0.1.0/24"),
                ("Ipv6CidrBlock", "3"),
            ],
        )
        .await
        .ok()["VSwitchId"]);
    let plain = c.vswitch(&vpc, "10.0.2.0/24").await;
    let sg = c.group(&vpc).await;
    let e = c
        .eni(
            &vsw,
            &sg,
            &[("Ipv6AddressCount", "2"), ("Ipv4PrefixCount", "1")],
        )
        .await;
    let id = s(&e["NetworkInterfaceId"]);
    assert_eq!(e["Ipv6Sets"]["Ipv6Set"].as_array().unwrap().len(), 2);
    let pfx = s(&e["Ipv4PrefixSets"]["Ipv4PrefixSet"][0]["Ipv4Prefix"]);
    assert!(pfx.starts_with("10.0.1.") && pfx.ends_with("/28"), "{pfx}");
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &plain),
            ("SecurityGroupId", &sg),
            ("Ipv6AddressCount", "1"),
        ],
    )
    .await
    .err("InvalidVSwitch.Ipv6NotTurnOn", 403);
    let a = c
        .call(
            ECS,
            "AssignIpv6Addresses",
            &[R, ("NetworkInterfaceId", &id), ("Ipv6AddressCount", "1")],
        )
        .await
        .ok();
    let new = s(&a["Ipv6Sets"]["Ipv6Address"][0]);
    assert_eq!(
        c.eni_attr(&id).await["Ipv6Sets"]["Ipv6Set"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    c.call(
        ECS,
        "AssignIpv6Addresses",
        &[
            R,
            ("NetworkInterfaceId", &id),
            ("Ipv6Address.1", "2001:db8::1"),
        ],
    )
    .await
    .err("InvalidVSwitchId.IpInvalid", 403);
    c.call(
        ECS,
        "AssignIpv6Addresses",
        &[R, ("NetworkInterfaceId", &id), ("Ipv6Address.1", "zz::1::")],
    )
    .await
    .err("InvalidIp.Address", 403);
    c.call(
        ECS,
        "UnassignIpv6Addresses",
        &[R, ("NetworkInterfaceId", &id), ("Ipv6Address.1", &new)],
    )
    .await
    .ok();
    c.call(
        ECS,
        "UnassignIpv6Addresses",
        &[R, ("NetworkInterfaceId", &id), ("Ipv6Address.1", &new)],
    )
    .await
    .err("InvalidIp.IpUnassigned", 403);
    let a = c
        .call(
            ECS,
            "AssignPrivateIpAddresses",
            &[R, ("NetworkInterfaceId", &id), ("Ipv4PrefixCount", "2")],
        )
        .await
        .ok();
    let got = a["AssignedPrivateIpAddressesSet"]["Ipv4PrefixSet"]["Ipv4Prefixes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(got.len(), 2);
    c.call(
        ECS,
        "UnassignPrivateIpAddresses",
        &[
            R,
            ("NetworkInterfaceId", &id),
            ("Ipv4Prefix.1", got[0].as_str().unwrap()),
        ],
    )
    .await
    .ok();
    assert_eq!(
        c.eni_attr(&id).await["Ipv4PrefixSets"]["Ipv4PrefixSet"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // 1 primary + 2 prefixes of 16 addresses in use.
    let d = c
        .call(
            VPC,
            "DescribeVSwitches",
            &[("VpcId", &vpc), ("VSwitchId", &vsw)],
        )
        .await
        .ok();
    assert_eq!(
        d["VSwitches"]["VSwitch"][0]["AvailableIpAddressCount"],
        252 - 1 - 2 * 16
    );
}

#[tokio::test]
async fn client_tokens_make_creates_and_assigns_idempotent() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let p = [
        R,
        ("VSwitchId", n.vsw.as_str()),
        ("SecurityGroupId", n.sg.as_str()),
        ("ClientToken", "t-1"),
    ];
    let a = c.call(ECS, "CreateNetworkInterface", &p).await.ok();
    let b = c.call(ECS, "CreateNetworkInterface", &p).await.ok();
    assert_eq!(a["NetworkInterfaceId"], b["NetworkInterfaceId"]);
    let d = c
        .call(
            ECS,
            "DescribeNetworkInterfaces",
            &[R, ("VSwitchId", &n.vsw)],
        )
        .await
        .ok();
    assert_eq!(d["TotalCount"], 1);
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &n.vsw2),
            ("SecurityGroupId", &n.sg),
            ("ClientToken", "t-1"),
        ],
    )
    .await
    .err("IdempotentParameterMismatch", 400);
    let id = s(&a["NetworkInterfaceId"]);
    let q = [
        R,
        ("NetworkInterfaceId", id.as_str()),
        ("SecondaryPrivateIpAddressCount", "2"),
        ("ClientToken", "t-2"),
    ];
    let x = c.call(ECS, "AssignPrivateIpAddresses", &q).await.ok();
    let y = c.call(ECS, "AssignPrivateIpAddresses", &q).await.ok();
    assert_eq!(
        x["AssignedPrivateIpAddressesSet"],
        y["AssignedPrivateIpAddressesSet"]
    );
    assert_eq!(ips(&c.eni_attr(&id).await).len(), 3);
    let r = [
        R,
        ("InstanceType", "ecs.g7.large"),
        ("VSwitchId", n.vsw.as_str()),
        ("SecurityGroupId", n.sg.as_str()),
        ("ClientToken", "t-3"),
        ("Amount", "2"),
    ];
    let i1 = c.call(ECS, "RunInstances", &r).await.ok();
    let i2 = c.call(ECS, "RunInstances", &r).await.ok();
    assert_eq!(i1["InstanceIdSets"], i2["InstanceIdSets"]);
    let d = c.call(ECS, "DescribeInstances", &[R]).await.ok();
    assert_eq!(d["TotalCount"], 2);
}

#[tokio::test]
async fn deleting_an_instance_follows_delete_on_release() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let inst = c.instance("ecs.g7.large", &n.vsw, &n.sg).await;
    let keep = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let gone = s(&c.eni(&n.vsw, &n.sg, &[("DeleteOnRelease", "True")]).await["NetworkInterfaceId"]);
    attach(&c, &keep, &inst).await.ok();
    attach(&c, &gone, &inst).await.ok();
    c.call(ECS, "DeleteInstance", &[("InstanceId", &inst)])
        .await
        .err("IncorrectInstanceStatus", 403);
    c.call(
        ECS,
        "DeleteInstance",
        &[("InstanceId", &inst), ("Force", "true")],
    )
    .await
    .ok();
    let k = c.eni_attr(&keep).await;
    assert_eq!(
        (k["Status"].as_str(), k["InstanceId"].as_str()),
        (Some("Available"), Some(""))
    );
    c.call(
        ECS,
        "DescribeNetworkInterfaceAttribute",
        &[R, ("NetworkInterfaceId", &gone)],
    )
    .await
    .err("InvalidEniId.NotFound", 404);
    c.call(
        ECS,
        "DescribeInstances",
        &[R, ("InstanceIds", &format!("[\"{inst}\"]"))],
    )
    .await
    .ok();
    c.call(ECS, "StartInstance", &[("InstanceId", &inst)])
        .await
        .err("InvalidInstanceId.NotFound", 404);
    // The vSwitch still holds `keep`.
    c.call(VPC, "DeleteVSwitch", &[("VSwitchId", &n.vsw)])
        .await
        .err("DependencyViolation", 400);
}

#[tokio::test]
async fn run_instances_with_secondary_network_interfaces() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let sg2 = c.group(&n.vpc).await;
    let b = c
        .call(
            ECS,
            "RunInstances",
            &[
                R,
                ("InstanceType", "ecs.g7.large"),
                ("VSwitchId", &n.vsw),
                ("SecurityGroupId", &n.sg),
                ("NetworkInterface.1.InstanceType", "Secondary"),
                ("NetworkInterface.1.VSwitchId", &n.vsw2),
                ("NetworkInterface.1.SecurityGroupIds.1", &sg2),
                ("Tag.1.Key", "role"),
                ("Tag.1.Value", "web"),
            ],
        )
        .await
        .ok();
    let inst = s(&b["InstanceIdSets"]["InstanceIdSet"][0]);
    let d = c
        .call(
            ECS,
            "DescribeInstances",
            &[R, ("InstanceIds", &format!("[\"{inst}\"]"))],
        )
        .await
        .ok();
    let i = &d["Instances"]["Instance"][0];
    assert_eq!(i["Status"], "Running");
    assert_eq!(i["VpcAttributes"]["VSwitchId"], n.vsw.as_str());
    assert_eq!(i["SecurityGroupIds"]["SecurityGroupId"][0], n.sg.as_str());
    assert_eq!(i["Tags"]["Tag"][0]["TagValue"], "web");
    let nics = i["NetworkInterfaces"]["NetworkInterface"]
        .as_array()
        .unwrap();
    assert_eq!(nics.len(), 2);
    let sec = c.eni_attr(&s(&nics[1]["NetworkInterfaceId"])).await;
    assert_eq!(sec["VSwitchId"], n.vsw2.as_str());
    assert_eq!(sec["SecurityGroupIds"]["SecurityGroupId"][0], sg2.as_str());
    assert_eq!(sec["DeleteOnRelease"], true);
    // Too many ENIs for the type, and a zone mismatch.
    let mut p = vec![
        R,
        ("InstanceType", "ecs.g6.large"),
        ("VSwitchId", n.vsw.as_str()),
        ("SecurityGroupId", n.sg.as_str()),
    ];
    p.push(("NetworkInterface.1.InstanceType", "Secondary"));
    p.push(("NetworkInterface.2.InstanceType", "Secondary"));
    c.call(ECS, "RunInstances", &p)
        .await
        .err("EniPerInstanceLimitExceeded", 403);
    let p = [
        R,
        ("InstanceType", "ecs.g7.large"),
        ("VSwitchId", n.vsw.as_str()),
        ("SecurityGroupId", n.sg.as_str()),
        ("NetworkInterface.1.VSwitchId", n.vsw_i.as_str()),
    ];
    c.call(ECS, "RunInstances", &p)
        .await
        .err("InvalidOperation.AvailabilityZoneMismatch", 403);
    c.call(ECS, "RunInstances", &[R, ("InstanceType", "ecs.nope")])
        .await
        .err("InvalidInstanceType.ValueNotSupported", 400);
    let p = [
        R,
        ("InstanceType", "ecs.g7.large"),
        ("VSwitchId", n.vsw.as_str()),
        ("SecurityGroupId", n.sg.as_str()),
        ("DryRun", "true"),
    ];
    c.call(ECS, "RunInstances", &p)
        .await
        .err("DryRunOperation", 400);
    let b = c
        .call(
            ECS,
            "CreateInstance",
            &[
                R,
                ("InstanceType", "ecs.g7.large"),
                ("VSwitchId", &n.vsw),
                ("SecurityGroupId", &n.sg),
            ],
        )
        .await
        .ok();
    let d = c
        .call(
            ECS,
            "DescribeInstances",
            &[
                R,
                ("InstanceIds", &format!("[\"{}\"]", s(&b["InstanceId"]))),
            ],
        )
        .await
        .ok();
    assert_eq!(d["Instances"]["Instance"][0]["Status"], "Stopped");
}

#[tokio::test]
async fn other_accounts_enis_do_not_exist() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    let e = s(&c.eni(&n.vsw, &n.sg, &[]).await["NetworkInterfaceId"]);
    let o = s_.new_account("other");
    o.call(
        ECS,
        "DescribeNetworkInterfaceAttribute",
        &[R, ("NetworkInterfaceId", &e)],
    )
    .await
    .err("InvalidEniId.NotFound", 404);
    let d = o
        .call(
            ECS,
            "DescribeNetworkInterfaces",
            &[R, ("NetworkInterfaceId.1", &e)],
        )
        .await
        .ok();
    assert_eq!(d["TotalCount"], 0);
    o.call(
        ECS,
        "CreateNetworkInterface",
        &[R, ("VSwitchId", &n.vsw), ("SecurityGroupId", &n.sg)],
    )
    .await
    .err("InvalidVSwitchId.NotFound", 404);
    o.call(
        ECS,
        "DeleteNetworkInterface",
        &[R, ("NetworkInterfaceId", &e)],
    )
    .await
    .err("InvalidEniId.NotFound", 404);
}

#[tokio::test]
async fn review_findings_stay_fixed() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let n = net(&c).await;
    // RunInstances applies the type's per-ENI limits to the ENIs it creates.
    let p = [
        R,
        ("InstanceType", "ecs.g6.large"),
        ("VSwitchId", n.vsw.as_str()),
        ("SecurityGroupId", n.sg.as_str()),
        ("NetworkInterface.1.InstanceType", "Primary"),
        ("NetworkInterface.1.SecondaryPrivateIpAddressCount", "6"),
    ];
    c.call(ECS, "RunInstances", &p)
        .await
        .err("InvalidOperation.Ipv4CountExceeded", 403);
    // A ClientToken replay answers the first result even after the ENI is gone.
    let q = [
        R,
        ("VSwitchId", n.vsw.as_str()),
        ("SecurityGroupId", n.sg.as_str()),
        ("ClientToken", "once"),
    ];
    let first = c.call(ECS, "CreateNetworkInterface", &q).await.ok();
    let id = s(&first["NetworkInterfaceId"]);
    c.call(
        ECS,
        "DeleteNetworkInterface",
        &[R, ("NetworkInterfaceId", &id)],
    )
    .await
    .ok();
    let again = c.call(ECS, "CreateNetworkInterface", &q).await.ok();
    assert_eq!(again["NetworkInterfaceId"], first["NetworkInterfaceId"]);
    assert_eq!(again["PrivateIpSets"], first["PrivateIpSets"]);
    // Non-canonical list indexes are refused rather than silently dropped.
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &n.vsw),
            ("SecurityGroupId", &n.sg),
            ("PrivateIpAddress.01", "10.0.1.5"),
        ],
    )
    .await
    .err("InvalidParameter", 400);
}

#[tokio::test]
async fn an_ipv6_address_inside_a_held_prefix_is_taken() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let (vsw, sg, _) = v6_net(&c).await;
    let a = c.eni(&vsw, &sg, &[("Ipv6PrefixCount", "1")]).await;
    let prefix = s(&a["Ipv6PrefixSets"]["Ipv6PrefixSet"][0]["Ipv6Prefix"]);
    let net: std::net::Ipv6Addr = prefix.split('/').next().unwrap().parse().unwrap();
    let inside = std::net::Ipv6Addr::from(u128::from(net) | 7).to_string();
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &vsw),
            ("SecurityGroupId", &sg),
            ("Ipv6Address.1", &inside),
        ],
    )
    .await
    .err("InvalidIp.IpAssigned", 403);
}

/// A VPC with IPv6, a vSwitch holding its first /64, and a group; with the /64's network.
async fn v6_net(c: &Client) -> (String, String, std::net::Ipv6Addr) {
    let vpc = s(&c
        .call(
            VPC,
            "CreateVpc",
            &[R, ("CidrBlock", "10.0.0.0/16"), ("EnableIpv6", "true")],
        )
        .await
        .ok()["VpcId"]);
    let vsw = s(&c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", &vpc),
                ("ZoneId", "cn-hangzhou-h"),
                ("CidrBlock", "10.0.1.0/24"),
                ("Ipv6CidrBlock", "0"),
            ],
        )
        .await
        .ok()["VSwitchId"]);
    let d = c
        .call(
            VPC,
            "DescribeVSwitches",
            &[("VpcId", &vpc), ("VSwitchId", &vsw)],
        )
        .await
        .ok();
    let block = s(&d["VSwitches"]["VSwitch"][0]["Ipv6CidrBlock"]);
    let net = block.strip_suffix("/64").unwrap().parse().unwrap();
    (vsw, c.group(&vpc).await, net)
}

fn v6_prefixes(e: &Value) -> Vec<String> {
    e["Ipv6PrefixSets"]["Ipv6PrefixSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| s(&p["Ipv6Prefix"]))
        .collect()
}

fn v6_addresses(e: &Value) -> Vec<String> {
    e["Ipv6Sets"]["Ipv6Set"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| s(&p["Ipv6Address"]))
        .collect()
}

/// The `i`-th /80 of the /64 at `net`, and an address `iid` inside it.
fn nth_80(net: std::net::Ipv6Addr, i: u128) -> String {
    format!(
        "{}/80",
        std::net::Ipv6Addr::from(u128::from(net) | (i << 48))
    )
}

fn in_80(net: std::net::Ipv6Addr, i: u128, iid: u128) -> String {
    std::net::Ipv6Addr::from(u128::from(net) | (i << 48) | iid).to_string()
}

async fn assign_v6(c: &Client, eni: &str, extra: &[(&str, &str)]) -> Answer {
    let mut p = vec![R, ("NetworkInterfaceId", eni)];
    p.extend_from_slice(extra);
    c.call(ECS, "AssignIpv6Addresses", &p).await
}

// The "IP prefixes" page of the ECS docs: "Each IP prefix counts as one IP address" — an
// IPv6 /80 takes one of the ENI's IPv6 slots: 10 while Available (MaxEniIpv6IpsCountExceeded),
// the type's EniIpv6AddressQuantity once attached (InvalidOperation.Ipv6CountExceeded).
#[tokio::test]
async fn ipv6_prefixes_count_against_the_ipv6_address_limits() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let (vsw, sg, _) = v6_net(&c).await;
    let create = |extra: Vec<(&'static str, &'static str)>| {
        let mut p = vec![
            R,
            ("VSwitchId", vsw.as_str()),
            ("SecurityGroupId", sg.as_str()),
        ];
        p.extend(extra);
        p
    };
    let p = create(vec![("Ipv6AddressCount", "6"), ("Ipv6PrefixCount", "5")]);
    c.call(ECS, "CreateNetworkInterface", &p)
        .await
        .err("MaxEniIpv6IpsCountExceeded", 403);
    let d = c
        .call(
            ECS,
            "DescribeNetworkInterfaces",
            &[R, ("VSwitchId", vsw.as_str())],
        )
        .await
        .ok();
    assert_eq!(d["TotalCount"], 0, "nothing was created");

    // Available: 5 addresses and 5 prefixes fill the 10 slots.
    let e = c
        .eni(
            &vsw,
            &sg,
            &[("Ipv6AddressCount", "5"), ("Ipv6PrefixCount", "5")],
        )
        .await;
    let full = s(&e["NetworkInterfaceId"]);
    assert_eq!((v6_addresses(&e).len(), v6_prefixes(&e).len()), (5, 5));
    for extra in [("Ipv6PrefixCount", "1"), ("Ipv6AddressCount", "1")] {
        assign_v6(&c, &full, &[extra])
            .await
            .err("MaxEniIpv6IpsCountExceeded", 403);
    }
    let gone = v6_prefixes(&e)[0].clone();
    c.call(
        ECS,
        "UnassignIpv6Addresses",
        &[R, ("NetworkInterfaceId", &full), ("Ipv6Prefix.1", &gone)],
    )
    .await
    .ok();
    let a = assign_v6(&c, &full, &[("Ipv6PrefixCount", "1")]).await.ok();
    assert_eq!(
        a["Ipv6PrefixSets"]["Ipv6Prefix"].as_array().unwrap().len(),
        1
    );
    let attr = c.eni_attr(&full).await;
    assert_eq!(
        (v6_addresses(&attr).len(), v6_prefixes(&attr).len()),
        (5, 5)
    );
    let ten = s(&c.eni(&vsw, &sg, &[("Ipv6PrefixCount", "10")]).await["NetworkInterfaceId"]);
    assign_v6(&c, &ten, &[("Ipv6AddressCount", "1")])
        .await
        .err("MaxEniIpv6IpsCountExceeded", 403);

    // Attached to an ecs.g6.large: one IPv6 slot per ENI.
    let inst = c.instance("ecs.g6.large", &vsw, &sg).await;
    for extra in [
        vec![("Ipv6PrefixCount", "2")],
        vec![("Ipv6AddressCount", "1"), ("Ipv6PrefixCount", "1")],
    ] {
        let id = s(&c.eni(&vsw, &sg, &extra).await["NetworkInterfaceId"]);
        attach(&c, &id, &inst)
            .await
            .err("InvalidOperation.Ipv6CountExceeded", 403);
    }
    let one = s(&c.eni(&vsw, &sg, &[("Ipv6PrefixCount", "1")]).await["NetworkInterfaceId"]);
    attach(&c, &one, &inst).await.ok();
    for extra in [("Ipv6PrefixCount", "1"), ("Ipv6AddressCount", "1")] {
        assign_v6(&c, &one, &[extra])
            .await
            .err("InvalidOperation.Ipv6CountExceeded", 403);
    }
    let attr = c.eni_attr(&one).await;
    assert_eq!(
        (v6_addresses(&attr).len(), v6_prefixes(&attr).len()),
        (0, 1)
    );
}

// The "IP prefixes" page: a prefix "must not overlap with existing IP prefixes or IP
// addresses" — in both directions, whoever holds the address.
#[tokio::test]
async fn ipv6_prefixes_and_addresses_never_share_a_80() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let (vsw, sg, net) = v6_net(&c).await;
    let addr = in_80(net, 3, 5);
    let holder = s(&c.eni(&vsw, &sg, &[("Ipv6Address.1", &addr)]).await["NetworkInterfaceId"]);
    let other = s(&c.eni(&vsw, &sg, &[]).await["NetworkInterfaceId"]);
    let around = nth_80(net, 3);
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &vsw),
            ("SecurityGroupId", &sg),
            ("Ipv6Prefix.1", &around),
        ],
    )
    .await
    .err("InvalidIp.IpAssigned", 403);
    for eni in [&other, &holder] {
        assign_v6(&c, eni, &[("Ipv6Prefix.1", &around)])
            .await
            .err("InvalidIp.IpAssigned", 403);
    }
    // Nothing of the refused calls stays behind.
    assert!(v6_prefixes(&c.eni_attr(&other).await).is_empty());
    // The neighbouring /80 is free; then an address inside it is taken.
    let next = nth_80(net, 4);
    let a = assign_v6(&c, &other, &[("Ipv6Prefix.1", &next)]).await.ok();
    assert_eq!(a["Ipv6PrefixSets"]["Ipv6Prefix"][0], next.as_str());
    assign_v6(&c, &holder, &[("Ipv6Address.1", &in_80(net, 4, 9))])
        .await
        .err("InvalidIp.IpAssigned", 403);
    // Once the address is released, its /80 can be a prefix.
    c.call(
        ECS,
        "UnassignIpv6Addresses",
        &[R, ("NetworkInterfaceId", &holder), ("Ipv6Address.1", &addr)],
    )
    .await
    .ok();
    assign_v6(&c, &other, &[("Ipv6Prefix.1", &around)])
        .await
        .ok();
    assert_eq!(
        v6_prefixes(&c.eni_attr(&other).await),
        vec![next.clone(), around.clone()]
    );
}

// Counted prefixes skip every /80 that holds an address: in a /64 where all /80s but three
// hold one, those three are what a count gets, and then the vSwitch has no prefix left.
#[tokio::test]
async fn counted_ipv6_prefixes_skip_80s_that_hold_addresses() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let (vsw, sg, net) = v6_net(&c).await;
    let free = [0u128, 4711, 0xffff];
    let vsw_id: eni_types::ids::VSwitchId = vsw.parse().unwrap();
    eni_store::with_write(&*s_.store, |tx| {
        for i in (0..=0xffffu128).filter(|i| !free.contains(i)) {
            tx.ipv6_insert(&eni_store::Ipv6Entry {
                vswitch_id: vsw_id.clone(),
                addr: in_80(net, i, 0x1234),
                owner: "eni-filler".into(),
                is_prefix: false,
            })?;
        }
        Ok::<_, eni_store::StoreError>(())
    })
    .unwrap();
    let e = c.eni(&vsw, &sg, &[("Ipv6PrefixCount", "3")]).await;
    let mut got = v6_prefixes(&e);
    got.sort();
    let mut want: Vec<String> = free.iter().map(|i| nth_80(net, *i)).collect();
    want.sort();
    assert_eq!(got, want);
    c.call(
        ECS,
        "CreateNetworkInterface",
        &[
            R,
            ("VSwitchId", &vsw),
            ("SecurityGroupId", &sg),
            ("Ipv6PrefixCount", "1"),
        ],
    )
    .await
    .err("InvalidVSwitchId.IpNotEnough", 403);
}

/// The create's answer is built from what it wrote, not read back: it must say exactly what a
/// Describe says afterwards, every kind of address in the same order.
#[tokio::test]
async fn create_answers_what_describe_then_shows() {
    let s_ = TestServer::start().await;
    let c = s_.client();
    let vpc = s(&c
        .call(
            VPC,
            "CreateVpc",
            &[R, ("CidrBlock", "10.0.0.0/16"), ("EnableIpv6", "true")],
        )
        .await
        .ok()["VpcId"]);
    let vsw = s(&c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", &vpc),
                ("ZoneId", "cn-hangzhou-h"),
                ("CidrBlock", "10.0.1.0/24"),
                ("Ipv6CidrBlock", "3"),
            ],
        )
        .await
        .ok()["VSwitchId"]);
    let sg = c.group(&vpc).await;
    let sg2 = c.group(&vpc).await;
    // Addresses of every kind, explicit ones out of order, so that any order can be told
    // apart.
    let created = c
        .call(
            ECS,
            "CreateNetworkInterface",
            &[
                R,
                ("VSwitchId", &vsw),
                ("SecurityGroupIds.1", &sg2),
                ("SecurityGroupIds.2", &sg),
                ("PrimaryIpAddress", "10.0.1.200"),
                ("PrivateIpAddress.1", "10.0.1.100"),
                ("PrivateIpAddress.2", "10.0.1.50"),
                ("Ipv4PrefixCount", "2"),
                ("Ipv6AddressCount", "2"),
                ("Ipv6PrefixCount", "1"),
                ("NetworkInterfaceName", "both-ways"),
                ("Description", "said twice"),
                ("Tag.1.Key", "z"),
                ("Tag.1.Value", "1"),
                ("Tag.2.Key", "a"),
                ("Tag.2.Value", "2"),
            ],
        )
        .await
        .ok();
    let id = s(&created["NetworkInterfaceId"]);
    let described = c.eni_attr(&id).await;
    let mut compared = 0;
    for (k, v) in created.as_object().unwrap() {
        if k == "RequestId" || k == "PrivateIpSets" {
            continue;
        }
        assert_eq!(&described[k], v, "{k}");
        compared += 1;
    }
    assert!(compared >= 15, "{created}");
    assert_eq!(
        ips(&created),
        ips(&described),
        "primary first, then secondaries in order"
    );
    assert_eq!(ips(&created), ["10.0.1.200", "10.0.1.100", "10.0.1.50"]);
    for (set, item, n) in [
        ("Ipv4PrefixSets", "Ipv4PrefixSet", 2),
        ("Ipv6Sets", "Ipv6Set", 2),
        ("Ipv6PrefixSets", "Ipv6PrefixSet", 1),
    ] {
        assert_eq!(
            created[set][item].as_array().map(Vec::len),
            Some(n),
            "{set}: {created}"
        );
    }
    assert_eq!(
        created["SecurityGroupIds"]["SecurityGroupId"][0],
        sg2.as_str()
    );
}
