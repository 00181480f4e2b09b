//! VPC and vSwitch rules through the API: CIDR checks, dependencies, paging, filters,
//! IPv6 blocks, ClientToken and account isolation.

mod common;

use common::*;
use serde_json::Value;

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn vpc_lifecycle_and_defaults() {
    let s = TestServer::start().await;
    let c = s.client();
    let b = c
        .call(
            VPC,
            "CreateVpc",
            &[
                ("RegionId", "cn-hangzhou"),
                ("VpcName", "prod"),
                ("Tag.1.Key", "env"),
                ("Tag.1.Value", "p"),
            ],
        )
        .await
        .ok();
    let id = b["VpcId"].as_str().unwrap().to_string();
    assert!(id.starts_with("vpc-bp1"));
    for k in ["VRouterId", "RouteTableId", "ResourceGroupId"] {
        assert!(b[k].is_string(), "{k}");
    }
    let d = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", "cn-hangzhou"), ("VpcId", &id)],
        )
        .await
        .ok();
    let v = &d["Vpcs"]["Vpc"][0];
    assert_eq!(v["CidrBlock"], "172.16.0.0/12");
    assert_eq!(v["Status"], "Available");
    assert_eq!(v["VpcName"], "prod");
    assert!(v["OwnerId"].is_u64());
    assert_eq!(v["EnabledIpv6"], false);
    assert_eq!(v["IsDefault"], false);
    assert_eq!(v["Tags"]["Tag"][0]["Key"], "env");
    assert_eq!(v["VSwitchIds"]["VSwitchId"], serde_json::json!([]));
    assert!(v["CreationTime"].as_str().unwrap().ends_with('Z'));
    c.call(VPC, "DeleteVpc", &[("VpcId", &id)]).await.ok();
    c.call(VPC, "DeleteVpc", &[("VpcId", &id)])
        .await
        .err("InvalidVpcId.NotFound", 404);
    let d = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", "cn-hangzhou"), ("VpcId", &id)],
        )
        .await
        .ok();
    assert_eq!(d["TotalCount"], 0);
}

#[tokio::test]
async fn vpc_cidr_rules() {
    let s = TestServer::start().await;
    let c = s.client();
    let mk = |cidr: &'static str| {
        let c = &c;
        async move {
            c.call(
                VPC,
                "CreateVpc",
                &[("RegionId", "cn-hangzhou"), ("CidrBlock", cidr)],
            )
            .await
        }
    };
    for bad in [
        "100.64.0.0/16",
        "127.0.0.0/16",
        "169.254.0.0/16",
        "224.0.0.0/16",
    ] {
        mk(bad).await.err("OperationDenied.CidrInExcludeCidrs", 400);
    }
    mk("10.0.0.0/29")
        .await
        .err("IllegalParam.CidrBlockMask", 400);
    mk("10.0.0.0/7")
        .await
        .err("IllegalParam.CidrBlockMask", 400);
    mk("10.0.0.1/16")
        .await
        .err("InvalidCidrBlock.Malformed", 400);
    mk("10.0.0.0").await.err("InvalidCidrBlock.Malformed", 400);
    mk("10.0.0.0/8").await.ok();
    mk("192.168.0.0/28").await.ok();
    c.call(
        VPC,
        "CreateVpc",
        &[("RegionId", "cn-hangzhou"), ("VpcName", "http://x")],
    )
    .await
    .err("InvalidVpcName.Malformed", 400);
    let long = "d".repeat(257);
    c.call(
        VPC,
        "CreateVpc",
        &[("RegionId", "cn-hangzhou"), ("Description", &long)],
    )
    .await
    .err("InvalidVpcDiscription.Malformed", 400);
    c.call(VPC, "CreateVpc", &[("RegionId", "xx")])
        .await
        .err("InvalidRegionId.NotFound", 404);
    c.call(VPC, "CreateVpc", &[])
        .await
        .err("MissingParameter", 400);
}

#[tokio::test]
async fn vswitch_cidr_rules_and_available_count() {
    let s = TestServer::start().await;
    let c = s.client();
    let vpc = c.vpc("10.0.0.0/16").await;
    let mk = |cidr: &'static str, zone: &'static str| {
        let vpc = vpc.clone();
        let c = &c;
        async move {
            c.call(
                VPC,
                "CreateVSwitch",
                &[("VpcId", &vpc), ("ZoneId", zone), ("CidrBlock", cidr)],
            )
            .await
        }
    };
    let a = mk("10.0.1.0/24", "cn-hangzhou-h").await.ok()["VSwitchId"]
        .as_str()
        .unwrap()
        .to_string();
    let b = mk("10.0.2.0/29", "cn-hangzhou-i").await.ok()["VSwitchId"]
        .as_str()
        .unwrap()
        .to_string();
    mk("10.0.1.128/25", "cn-hangzhou-h")
        .await
        .err("InvalidCidrBlock.Overlapped", 400);
    mk("10.0.0.0/16", "cn-hangzhou-h")
        .await
        .err("InvalidCidrBlock.Overlapped", 400);
    mk("10.1.0.0/24", "cn-hangzhou-h")
        .await
        .err("InvalidParameter", 400);
    mk("10.0.3.0/30", "cn-hangzhou-h")
        .await
        .err("InvalidCirdrBlock.MaskLength", 400);
    mk("10.0.0.0/15", "cn-hangzhou-h")
        .await
        .err("InvalidCirdrBlock.MaskLength", 400);
    mk("10.0.3.0/33", "cn-hangzhou-h")
        .await
        .err("InvalidCidrBlock.Malformed", 400);
    mk("10.0.3.0/24", "cn-beijing-a")
        .await
        .err("InvalidZoneId.NotFound", 404);
    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", "vpc-nothere"),
            ("ZoneId", "cn-hangzhou-h"),
            ("CidrBlock", "10.0.3.0/24"),
        ],
    )
    .await
    .err("InvalidVpcId.NotFound", 404);
    c.call(
        VPC,
        "CreateVSwitch",
        &[("VpcId", &vpc), ("CidrBlock", "10.0.3.0/24")],
    )
    .await
    .err("MissingParameter", 400);

    let d = c
        .call(VPC, "DescribeVSwitches", &[("VpcId", &vpc)])
        .await
        .ok();
    assert_eq!(d["TotalCount"], 2);
    let list = d["VSwitches"]["VSwitch"].as_array().unwrap();
    let count = |id: &str| {
        list.iter().find(|v| v["VSwitchId"] == id).unwrap()["AvailableIpAddressCount"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(count(&a), 252);
    assert_eq!(count(&b), 4);
    let d = c
        .call(
            VPC,
            "DescribeVSwitches",
            &[("RegionId", "cn-hangzhou"), ("VSwitchId", &b)],
        )
        .await
        .ok();
    assert_eq!(ids(&d["VSwitches"]["VSwitch"], "VSwitchId"), [b.as_str()]);
    let d = c
        .call(
            VPC,
            "DescribeVSwitches",
            &[("RegionId", "cn-hangzhou"), ("ZoneId", "cn-hangzhou-i")],
        )
        .await
        .ok();
    assert_eq!(ids(&d["VSwitches"]["VSwitch"], "VSwitchId"), [b.as_str()]);
    let d = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", "cn-hangzhou"), ("VpcId", &vpc)],
        )
        .await
        .ok();
    assert_eq!(
        d["Vpcs"]["Vpc"][0]["VSwitchIds"]["VSwitchId"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    c.call(VPC, "DescribeVSwitches", &[])
        .await
        .err("MissingParameter", 400);

    c.call(VPC, "DeleteVpc", &[("VpcId", &vpc)])
        .await
        .err("DependencyViolation.VSwitch", 400);
    c.call(VPC, "DeleteVSwitch", &[("VSwitchId", &a)])
        .await
        .ok();
    c.call(VPC, "DeleteVSwitch", &[("VSwitchId", &a)])
        .await
        .err("InvalidVSwitchId.NotFound", 404);
    c.call(VPC, "DeleteVSwitch", &[("VSwitchId", &b)])
        .await
        .ok();
    c.call(VPC, "DeleteVpc", &[("VpcId", &vpc)]).await.ok();
}

#[tokio::test]
async fn ipv6_blocks_for_vpc_and_vswitch() {
    let s = TestServer::start().await;
    let c = s.client();
    let b = c
        .call(
            VPC,
            "CreateVpc",
            &[
                ("RegionId", "cn-hangzhou"),
                ("CidrBlock", "10.0.0.0/16"),
                ("EnableIpv6", "True"),
            ],
        )
        .await
        .ok();
    let vpc = b["VpcId"].as_str().unwrap().to_string();
    let d = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", "cn-hangzhou"), ("VpcId", &vpc)],
        )
        .await
        .ok();
    let v6 = d["Vpcs"]["Vpc"][0]["Ipv6CidrBlock"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(v6.ends_with("/56"), "{v6}");
    assert_eq!(d["Vpcs"]["Vpc"][0]["EnabledIpv6"], true);
    let sw = c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", &vpc),
                ("ZoneId", "cn-hangzhou-h"),
                ("CidrBlock", "10.0.1.0/24"),
                ("Ipv6CidrBlock", "1"),
            ],
        )
        .await
        .ok()["VSwitchId"]
        .as_str()
        .unwrap()
        .to_string();
    let d = c
        .call(VPC, "DescribeVSwitches", &[("VpcId", &vpc)])
        .await
        .ok();
    let s6 = d["VSwitches"]["VSwitch"][0]["Ipv6CidrBlock"]
        .as_str()
        .unwrap();
    assert!(s6.ends_with("/64"));
    let vpc_net: std::net::Ipv6Addr = v6.split('/').next().unwrap().parse().unwrap();
    let sw_net: std::net::Ipv6Addr = s6.split('/').next().unwrap().parse().unwrap();
    assert_eq!(u128::from(sw_net) - u128::from(vpc_net), 1u128 << 64);
    assert_eq!(d["VSwitches"]["VSwitch"][0]["VSwitchId"], sw.as_str());
    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", &vpc),
            ("ZoneId", "cn-hangzhou-h"),
            ("CidrBlock", "10.0.2.0/24"),
            ("Ipv6CidrBlock", "1"),
        ],
    )
    .await
    .err("InvalidCidrBlock.Overlapped", 400);
    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", &vpc),
            ("ZoneId", "cn-hangzhou-h"),
            ("CidrBlock", "10.0.2.0/24"),
            ("Ipv6CidrBlock", "256"),
        ],
    )
    .await
    .err("InvalidIpv6CidrBlock.Malformed", 400);
    let plain = c.vpc("10.1.0.0/16").await;
    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", &plain),
            ("ZoneId", "cn-hangzhou-h"),
            ("CidrBlock", "10.1.2.0/24"),
            ("Ipv6CidrBlock", "0"),
        ],
    )
    .await
    .err("IllegalParam.Ipv6CidrBlock", 400);
}

#[tokio::test]
async fn describe_vpcs_pages_and_filters() {
    let s = TestServer::start().await;
    let c = s.client();
    let mut made = Vec::new();
    for i in 0..5 {
        let name = format!("n{i}");
        let b = c
            .call(
                VPC,
                "CreateVpc",
                &[("RegionId", "cn-hangzhou"), ("VpcName", &name)],
            )
            .await
            .ok();
        made.push(b["VpcId"].as_str().unwrap().to_string());
    }
    c.call(VPC, "CreateVpc", &[("RegionId", "cn-beijing")])
        .await
        .ok();
    let p1 = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", "cn-hangzhou"), ("PageSize", "2")],
        )
        .await
        .ok();
    let p3 = c
        .call(
            VPC,
            "DescribeVpcs",
            &[
                ("RegionId", "cn-hangzhou"),
                ("PageSize", "2"),
                ("PageNumber", "3"),
            ],
        )
        .await
        .ok();
    assert_eq!(p1["TotalCount"], 5);
    assert_eq!(ids(&p1["Vpcs"]["Vpc"], "VpcId"), made[0..2]);
    assert_eq!(ids(&p3["Vpcs"]["Vpc"], "VpcId"), made[4..5]);
    let two = format!("{},{}", made[1], made[3]);
    let d = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", "cn-hangzhou"), ("VpcId", &two)],
        )
        .await
        .ok();
    assert_eq!(
        ids(&d["Vpcs"]["Vpc"], "VpcId"),
        [made[1].clone(), made[3].clone()]
    );
    let d = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", "cn-hangzhou"), ("VpcName", "n2")],
        )
        .await
        .ok();
    assert_eq!(ids(&d["Vpcs"]["Vpc"], "VpcId"), [made[2].clone()]);
    let d = c
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-beijing")])
        .await
        .ok();
    assert_eq!(d["TotalCount"], 1);
    let many: String = (0..21)
        .map(|i| format!("vpc-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    c.call(
        VPC,
        "DescribeVpcs",
        &[("RegionId", "cn-hangzhou"), ("VpcId", &many)],
    )
    .await
    .err("InvalidVpcIdNumber.NotSupported", 400);
}

#[tokio::test]
async fn client_token_makes_create_idempotent() {
    let s = TestServer::start().await;
    let c = s.client();
    let p = [
        ("RegionId", "cn-hangzhou"),
        ("CidrBlock", "10.0.0.0/16"),
        ("ClientToken", "tok-1"),
    ];
    let a = c.call(VPC, "CreateVpc", &p).await.ok();
    let b = c.call(VPC, "CreateVpc", &p).await.ok();
    assert_eq!(a["VpcId"], b["VpcId"]);
    assert_ne!(a["RequestId"], b["RequestId"]);
    let d = c
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok();
    assert_eq!(d["TotalCount"], 1);
    c.call(
        VPC,
        "CreateVpc",
        &[
            ("RegionId", "cn-hangzhou"),
            ("CidrBlock", "10.1.0.0/16"),
            ("ClientToken", "tok-1"),
        ],
    )
    .await
    .err("IdempotentParameterMismatch", 400);
    // Tokens are per account: another account's same token creates its own VPC.
    let other = s.new_account("other");
    let o = other.call(VPC, "CreateVpc", &p).await.ok();
    assert_ne!(o["VpcId"], a["VpcId"]);
    let vpc = a["VpcId"].as_str().unwrap();
    let vp = [
        ("VpcId", vpc),
        ("ZoneId", "cn-hangzhou-h"),
        ("CidrBlock", "10.0.1.0/24"),
        ("ClientToken", "sw-1"),
    ];
    let x = c.call(VPC, "CreateVSwitch", &vp).await.ok();
    let y = c.call(VPC, "CreateVSwitch", &vp).await.ok();
    assert_eq!(x["VSwitchId"], y["VSwitchId"]);
}

#[tokio::test]
async fn another_accounts_resources_do_not_exist() {
    let s = TestServer::start().await;
    let root = s.client();
    let other = s.new_account("tenant-b");
    let vpc = root.vpc("10.0.0.0/16").await;
    let sw = root.vswitch(&vpc, "10.0.1.0/24").await;
    let d = other
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", "cn-hangzhou"), ("VpcId", &vpc)],
        )
        .await
        .ok();
    assert_eq!(d["TotalCount"], 0);
    let d = other
        .call(VPC, "DescribeVSwitches", &[("VpcId", &vpc)])
        .await
        .ok();
    assert_eq!(d["TotalCount"], 0);
    other
        .call(VPC, "DeleteVpc", &[("VpcId", &vpc)])
        .await
        .err("InvalidVpcId.NotFound", 404);
    other
        .call(VPC, "DeleteVSwitch", &[("VSwitchId", &sw)])
        .await
        .err("InvalidVSwitchId.NotFound", 404);
    other
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", &vpc),
                ("ZoneId", "cn-hangzhou-h"),
                ("CidrBlock", "10.0.2.0/24"),
            ],
        )
        .await
        .err("InvalidVpcId.NotFound", 404);
    let mine = other.vpc("10.0.0.0/16").await;
    let d = root
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok();
    assert_eq!(ids(&d["Vpcs"]["Vpc"], "VpcId"), [vpc.as_str()]);
    let d = other
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok();
    assert_eq!(ids(&d["Vpcs"]["Vpc"], "VpcId"), [mine]);
}

#[tokio::test]
async fn vswitch_in_use_cannot_be_deleted() {
    let s = TestServer::start().await;
    let c = s.client();
    let vpc = c.vpc("10.0.0.0/16").await;
    let sw = c.vswitch(&vpc, "10.0.1.0/24").await;
    let sg = c.group(&vpc).await;
    let eni = c.eni(&sw, &sg, &[("PrimaryIpAddress", "10.0.1.7")]).await;
    c.call(VPC, "DeleteVSwitch", &[("VSwitchId", &sw)])
        .await
        .err("DependencyViolation", 400);
    let d = c
        .call(VPC, "DescribeVSwitches", &[("VpcId", &vpc)])
        .await
        .ok();
    assert_eq!(d["VSwitches"]["VSwitch"][0]["AvailableIpAddressCount"], 251);
    let id = eni["NetworkInterfaceId"].as_str().unwrap();
    c.call(
        ECS,
        "DeleteNetworkInterface",
        &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", id)],
    )
    .await
    .ok();
    c.call(VPC, "DeleteVSwitch", &[("VSwitchId", &sw)])
        .await
        .ok();
}

#[tokio::test]
async fn tag_errors_have_their_codes() {
    let s = TestServer::start().await;
    let c = s.client();
    let r = ("RegionId", "cn-hangzhou");
    c.call(
        VPC,
        "CreateVpc",
        &[r, ("Tag.1.Key", "a"), ("Tag.2.Key", "a")],
    )
    .await
    .err("Duplicate.TagKey", 400);
    c.call(VPC, "CreateVpc", &[r, ("Tag.1.Key", "acs:x")])
        .await
        .err("InvalidTagKey.Malformed", 400);
    c.call(
        VPC,
        "CreateVpc",
        &[r, ("Tag.1.Key", "k"), ("Tag.1.Value", "https://x")],
    )
    .await
    .err("InvalidTagValue.Malformed", 400);
    let keys: Vec<String> = (1..=21).map(|i| format!("Tag.{i}.Key")).collect();
    let vals: Vec<String> = (1..=21).map(|i| format!("k{i}")).collect();
    let mut p = vec![r];
    for (k, v) in keys.iter().zip(&vals) {
        p.push((k.as_str(), v.as_str()));
    }
    c.call(VPC, "CreateVpc", &p)
        .await
        .err("QuotaExceed.Tags", 403);
}

// CreateVpc's IPv6 parameters, as the VPC SDK model documents them: EnableIpv6 allocates a
// /56; Ipv6Isp is BGP (default), ChinaMobile, ChinaUnicom or ChinaTelecom and is shown beside
// the block; Ipv6CidrBlock must be a block reserved with AllocateVpcIpv6Cidr, which this
// server does not serve, so a caller-chosen block is refused rather than ignored.
#[tokio::test]
async fn create_vpc_ipv6_isp_and_block() {
    let s = TestServer::start().await;
    let c = s.client();
    let create = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![("RegionId", "cn-hangzhou"), ("CidrBlock", "10.0.0.0/16")];
        p.extend_from_slice(extra);
        p
    };
    let describe = |vpc: String| {
        let c = &c;
        async move {
            let d = c
                .call(
                    VPC,
                    "DescribeVpcs",
                    &[("RegionId", "cn-hangzhou"), ("VpcId", &vpc)],
                )
                .await
                .ok();
            d["Vpcs"]["Vpc"][0].clone()
        }
    };
    for (isp, want) in [(None, "BGP"), (Some("ChinaMobile"), "ChinaMobile")] {
        let mut p = create(&[("EnableIpv6", "true")]);
        if let Some(i) = isp {
            p.push(("Ipv6Isp", i));
        }
        let id = c.call(VPC, "CreateVpc", &p).await.ok()["VpcId"]
            .as_str()
            .unwrap()
            .to_string();
        let v = describe(id.clone()).await;
        assert_eq!(v["EnabledIpv6"], true);
        let block = v["Ipv6CidrBlock"].as_str().unwrap().to_string();
        assert!(block.ends_with("/56"), "{block}");
        assert_eq!(
            v["Ipv6CidrBlocks"]["Ipv6CidrBlock"],
            serde_json::json!([{"Ipv6CidrBlock": block, "Ipv6Isp": want}])
        );
        // The vSwitch's /64 is still the n-th of the VPC's /56, whatever the line type.
        let vsw = c
            .call(
                VPC,
                "CreateVSwitch",
                &[
                    ("VpcId", &id),
                    ("ZoneId", "cn-hangzhou-h"),
                    ("CidrBlock", "10.0.1.0/24"),
                    ("Ipv6CidrBlock", "2"),
                ],
            )
            .await
            .ok()["VSwitchId"]
            .as_str()
            .unwrap()
            .to_string();
        let d = c
            .call(
                VPC,
                "DescribeVSwitches",
                &[("VpcId", &id), ("VSwitchId", &vsw)],
            )
            .await
            .ok();
        let vpc_net: std::net::Ipv6Addr = block.split('/').next().unwrap().parse().unwrap();
        let want_sw = format!(
            "{}/64",
            std::net::Ipv6Addr::from(u128::from(vpc_net) | (2 << 64))
        );
        assert_eq!(
            d["VSwitches"]["VSwitch"][0]["Ipv6CidrBlock"],
            want_sw.as_str()
        );
    }
    // A line type without IPv6 is checked, and gives no block.
    let plain = c
        .call(VPC, "CreateVpc", &create(&[("Ipv6Isp", "ChinaTelecom")]))
        .await
        .ok()["VpcId"]
        .as_str()
        .unwrap()
        .to_string();
    let v = describe(plain).await;
    assert_eq!(v["EnabledIpv6"], false);
    assert_eq!(v["Ipv6CidrBlock"], "");
    assert_eq!(v["Ipv6CidrBlocks"]["Ipv6CidrBlock"], serde_json::json!([]));

    let before = c
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok()["TotalCount"]
        .clone();
    for (extra, code) in [
        (
            vec![("EnableIpv6", "true"), ("Ipv6Isp", "Cogent")],
            "InvalidParameter",
        ),
        (vec![("Ipv6Isp", "bgp")], "InvalidParameter"),
        (
            vec![
                ("EnableIpv6", "true"),
                ("Ipv6CidrBlock", "2408:4005:3ea::/56"),
            ],
            "InvalidParameter",
        ),
        (
            vec![("Ipv6CidrBlock", "2408:4005:3ea::/56")],
            "InvalidParameter",
        ),
        (
            vec![("EnableIpv6", "true"), ("Ipv6CidrBlock", "not-a-block")],
            "InvalidIpv6CidrBlock.Malformed",
        ),
        (
            vec![
                ("EnableIpv6", "true"),
                ("Ipv6CidrBlock", "2408:4005:3ea::1/56"),
            ],
            "InvalidIpv6CidrBlock.Malformed",
        ),
    ] {
        let body = c
            .call(VPC, "CreateVpc", &create(&extra))
            .await
            .err(code, 400);
        if extra
            .iter()
            .any(|(k, v)| *k == "Ipv6CidrBlock" && v.ends_with("::/56"))
        {
            let m = body["Message"].as_str().unwrap();
            assert!(m.contains("AllocateVpcIpv6Cidr"), "{m}");
        }
    }
    let after = c
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok()["TotalCount"]
        .clone();
    assert_eq!(before, after, "no VPC was created by a refused call");
}
