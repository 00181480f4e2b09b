//! Security group rules through the API: Authorize/Revoke in both directions with
//! `Permissions.N` and the deprecated top-level fields, DescribeSecurityGroupAttribute's shape
//! and paging, ModifySecurityGroupPolicy, and every refusal with its code and HTTP status.

mod common;

use common::*;
use serde_json::Value;

const R: (&str, &str) = ("RegionId", "cn-hangzhou");

/// A client with a VPC and two groups in it.
async fn setup() -> (TestServer, Client, String, String, String) {
    let server = TestServer::start().await;
    let c = server.client();
    let vpc = c.vpc("10.0.0.0/16").await;
    let sg = c.group(&vpc).await;
    let peer = c.group(&vpc).await;
    (server, c, vpc, sg, peer)
}

/// The group's rules in `direction` ("all" for both).
async fn rules(c: &Client, sg: &str, direction: &str) -> Vec<Value> {
    let b = c
        .call(
            ECS,
            "DescribeSecurityGroupAttribute",
            &[R, ("SecurityGroupId", sg), ("Direction", direction)],
        )
        .await
        .ok();
    b["Permissions"]["Permission"].as_array().unwrap().clone()
}

async fn authorize(c: &Client, action: &str, sg: &str, extra: &[(&str, &str)]) -> Answer {
    let mut p = vec![R, ("SecurityGroupId", sg)];
    p.extend_from_slice(extra);
    c.call(ECS, action, &p).await
}

/// Request parameters of one call.
type Params<'a> = Vec<(&'a str, &'a str)>;

const IN: &str = "AuthorizeSecurityGroup";
const OUT: &str = "AuthorizeSecurityGroupEgress";

#[tokio::test]
async fn permissions_n_create_ingress_rules_with_the_documented_shape() {
    let (_s, c, vpc, sg, _) = setup().await;
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("Permissions.1.IpProtocol", "tcp"),
            ("Permissions.1.PortRange", "22/22"),
            ("Permissions.1.SourceCidrIp", "0.0.0.0/0"),
            ("Permissions.2.IpProtocol", "icmp"),
            ("Permissions.2.PortRange", "-1/-1"),
            ("Permissions.2.SourceCidrIp", "10.1.2.3/16"),
            ("Permissions.2.Policy", "Drop"),
            ("Permissions.2.Priority", "100"),
            ("Permissions.2.Description", "no ping"),
        ],
    )
    .await
    .ok();
    let b = c
        .call(
            ECS,
            "DescribeSecurityGroupAttribute",
            &[R, ("SecurityGroupId", &sg)],
        )
        .await
        .ok();
    assert_eq!(b["SecurityGroupId"], sg.as_str());
    assert_eq!(b["VpcId"], vpc.as_str());
    assert_eq!(b["RegionId"], "cn-hangzhou");
    assert_eq!(b["InnerAccessPolicy"], "Accept");
    assert_eq!(b["NextToken"], "");
    assert_eq!(b["Description"], "");
    let p = b["Permissions"]["Permission"].as_array().unwrap();
    assert_eq!(p.len(), 2);
    let ssh = &p[0];
    assert!(ssh["SecurityGroupRuleId"]
        .as_str()
        .unwrap()
        .starts_with("sgr-bp1"));
    assert_eq!(ssh["Direction"], "ingress");
    assert_eq!(ssh["IpProtocol"], "TCP");
    assert_eq!(ssh["PortRange"], "22/22");
    assert_eq!(ssh["SourceCidrIp"], "0.0.0.0/0");
    assert_eq!(ssh["Policy"], "Accept");
    assert_eq!(ssh["Priority"], "1");
    assert_eq!(ssh["NicType"], "intranet");
    for empty in [
        "SourcePortRange",
        "DestCidrIp",
        "Ipv6SourceCidrIp",
        "Ipv6DestCidrIp",
        "SourceGroupId",
        "DestGroupId",
        "Description",
    ] {
        assert_eq!(ssh[empty], "", "{empty}");
    }
    assert!(ssh["CreateTime"].as_str().unwrap().ends_with('Z'));
    let ping = &p[1];
    assert_eq!(ping["IpProtocol"], "ICMP");
    assert_eq!(ping["PortRange"], "-1/-1");
    // A block is stored as its network.
    assert_eq!(ping["SourceCidrIp"], "10.1.0.0/16");
    assert_eq!(ping["Policy"], "Drop");
    assert_eq!(ping["Priority"], "100");
    assert_eq!(ping["Description"], "no ping");
    // DescribeSecurityGroups counts them.
    let d = c
        .call(
            ECS,
            "DescribeSecurityGroups",
            &[R, ("SecurityGroupId", &sg)],
        )
        .await
        .ok();
    assert_eq!(d["SecurityGroups"]["SecurityGroup"][0]["RuleCount"], 2);
}

#[tokio::test]
async fn deprecated_top_level_fields_make_one_rule_and_cannot_mix_with_permissions() {
    let (_s, c, _, sg, _) = setup().await;
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("IpProtocol", "UDP"),
            ("PortRange", "53/53"),
            ("SourceCidrIp", "192.168.0.0/24"),
            ("NicType", "intranet"),
            ("Policy", "accept"),
        ],
    )
    .await
    .ok();
    let r = rules(&c, &sg, "ingress").await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["IpProtocol"], "UDP");
    assert_eq!(r[0]["PortRange"], "53/53");
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("IpProtocol", "tcp"),
            ("Permissions.1.IpProtocol", "tcp"),
            ("Permissions.1.PortRange", "80/80"),
            ("Permissions.1.SourceCidrIp", "0.0.0.0/0"),
        ],
    )
    .await
    .err("InvalidParam.Permissions", 400);
    authorize(&c, IN, &sg, &[])
        .await
        .err("MissingParameter", 400);
    // Permissions.N runs 1 to 100.
    authorize(&c, IN, &sg, &[("Permissions.101.IpProtocol", "tcp")])
        .await
        .err("InvalidParameter", 400);
}

#[tokio::test]
async fn authorizing_an_existing_rule_succeeds_and_creates_nothing() {
    let (_s, c, _, sg, _) = setup().await;
    let rule = [
        ("Permissions.1.IpProtocol", "TCP"),
        ("Permissions.1.PortRange", "443/443"),
        ("Permissions.1.SourceCidrIp", "0.0.0.0/0"),
    ];
    authorize(&c, IN, &sg, &rule).await.ok();
    let first = rules(&c, &sg, "all").await;
    // Same rule, other case and description: still the one rule.
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("Permissions.1.IpProtocol", "tcp"),
            ("Permissions.1.PortRange", "443/443"),
            ("Permissions.1.SourceCidrIp", "0.0.0.0/0"),
            ("Permissions.1.Description", "again"),
        ],
    )
    .await
    .ok();
    assert_eq!(rules(&c, &sg, "all").await, first);
    // Another priority is another rule.
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("Permissions.1.IpProtocol", "tcp"),
            ("Permissions.1.PortRange", "443/443"),
            ("Permissions.1.SourceCidrIp", "0.0.0.0/0"),
            ("Permissions.1.Priority", "2"),
        ],
    )
    .await
    .ok();
    assert_eq!(rules(&c, &sg, "all").await.len(), 2);
    // The same rule twice in one call is refused.
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("Permissions.1.IpProtocol", "tcp"),
            ("Permissions.1.PortRange", "8/8"),
            ("Permissions.1.SourceCidrIp", "0.0.0.0/0"),
            ("Permissions.2.IpProtocol", "TCP"),
            ("Permissions.2.PortRange", "8/8"),
            ("Permissions.2.SourceCidrIp", "0.0.0.0/0"),
        ],
    )
    .await
    .err("InvalidParam.DuplicatePermissions", 400);
}

#[tokio::test]
async fn egress_rules_use_destinations_and_directions_filter() {
    let (_s, c, _, sg, peer) = setup().await;
    authorize(
        &c,
        OUT,
        &sg,
        &[
            ("Permissions.1.IpProtocol", "ALL"),
            ("Permissions.1.PortRange", "-1/-1"),
            ("Permissions.1.DestGroupId", &peer),
            ("Permissions.2.IpProtocol", "icmpv6"),
            ("Permissions.2.PortRange", "-1/-1"),
            ("Permissions.2.Ipv6DestCidrIp", "2408:4000::1/32"),
            ("Permissions.3.IpProtocol", "gre"),
            ("Permissions.3.PortRange", "-1/-1"),
            ("Permissions.3.DestCidrIp", "10.0.0.1"),
        ],
    )
    .await
    .ok();
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("Permissions.1.IpProtocol", "tcp"),
            ("Permissions.1.PortRange", "1/65535"),
            ("Permissions.1.SourceGroupId", &peer),
        ],
    )
    .await
    .ok();
    let out = rules(&c, &sg, "egress").await;
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|r| r["Direction"] == "egress"));
    assert_eq!(out[0]["IpProtocol"], "ALL");
    assert_eq!(out[0]["DestGroupId"], peer.as_str());
    assert_eq!(out[0]["SourceGroupId"], "");
    assert_eq!(out[1]["IpProtocol"], "ICMPv6");
    assert_eq!(out[1]["Ipv6DestCidrIp"], "2408:4000::/32");
    assert_eq!(out[2]["IpProtocol"], "GRE");
    assert_eq!(out[2]["DestCidrIp"], "10.0.0.1");
    let ins = rules(&c, &sg, "ingress").await;
    assert_eq!(ins.len(), 1);
    assert_eq!(ins[0]["SourceGroupId"], peer.as_str());
    assert_eq!(rules(&c, &sg, "all").await.len(), 4);
    let d = c
        .call(
            ECS,
            "DescribeSecurityGroups",
            &[R, ("SecurityGroupId", &sg)],
        )
        .await
        .ok();
    assert_eq!(
        d["SecurityGroups"]["SecurityGroup"][0]["GroupToGroupRuleCount"],
        2
    );
    c.call(
        ECS,
        "DescribeSecurityGroupAttribute",
        &[R, ("SecurityGroupId", &sg), ("Direction", "up")],
    )
    .await
    .err("InvalidParameter", 400);
}

#[tokio::test]
async fn revoke_by_fields_and_by_id_in_each_direction() {
    let (_s, c, _, sg, _) = setup().await;
    let ssh = [
        ("IpProtocol", "tcp"),
        ("PortRange", "22/22"),
        ("SourceCidrIp", "0.0.0.0/0"),
    ];
    authorize(&c, IN, &sg, &ssh).await.ok();
    authorize(
        &c,
        OUT,
        &sg,
        &[
            ("IpProtocol", "udp"),
            ("PortRange", "53/53"),
            ("DestCidrIp", "8.8.8.8"),
        ],
    )
    .await
    .ok();
    // A rule that is not there: nothing to do, no error.
    authorize(
        &c,
        "RevokeSecurityGroup",
        &sg,
        &[
            ("IpProtocol", "tcp"),
            ("PortRange", "23/23"),
            ("SourceCidrIp", "0.0.0.0/0"),
        ],
    )
    .await
    .ok();
    assert_eq!(rules(&c, &sg, "all").await.len(), 2);
    authorize(&c, "RevokeSecurityGroup", &sg, &ssh).await.ok();
    assert_eq!(rules(&c, &sg, "ingress").await.len(), 0);
    let egress_id = rules(&c, &sg, "egress").await[0]["SecurityGroupRuleId"]
        .as_str()
        .unwrap()
        .to_string();
    // An egress rule's ID is no ingress rule.
    authorize(
        &c,
        "RevokeSecurityGroup",
        &sg,
        &[("SecurityGroupRuleId.1", &egress_id)],
    )
    .await
    .err("InvalidSecurityGroupRuleId.NotFound", 404);
    authorize(
        &c,
        "RevokeSecurityGroupEgress",
        &sg,
        &[("SecurityGroupRuleId.1", &egress_id)],
    )
    .await
    .ok();
    assert_eq!(rules(&c, &sg, "all").await.len(), 0);
    authorize(
        &c,
        "RevokeSecurityGroupEgress",
        &sg,
        &[("SecurityGroupRuleId.1", &egress_id)],
    )
    .await
    .err("InvalidSecurityGroupRuleId.NotFound", 404);
    authorize(&c, "RevokeSecurityGroup", &sg, &[])
        .await
        .err("MissingParameter", 400);
}

#[tokio::test]
async fn each_bad_rule_is_refused_with_its_documented_code() {
    let (_s, c, _, sg, _) = setup().await;
    let other_vpc = c.vpc("10.1.0.0/16").await;
    let far = c.group(&other_vpc).await;
    let base = |over: &[(&'static str, &'static str)]| {
        let mut p: Vec<(&str, &str)> = vec![
            ("IpProtocol", "tcp"),
            ("PortRange", "22/22"),
            ("SourceCidrIp", "10.0.0.0/8"),
        ];
        for (k, v) in over {
            p.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                p.push((k, v));
            }
        }
        p
    };
    let cases: Vec<(Params, &str, u16)> = vec![
        (
            base(&[("IpProtocol", "sctp")]),
            "InvalidIpProtocol.ValueNotSupported",
            400,
        ),
        (base(&[("IpProtocol", "")]), "MissingParameter", 400),
        (
            base(&[("PortRange", "")]),
            "InvalidPortRange.Malformed",
            400,
        ),
        (
            base(&[("PortRange", "0/22")]),
            "InvalidPortRange.Malformed",
            400,
        ),
        (
            base(&[("PortRange", "22/65536")]),
            "InvalidPortRange.Malformed",
            400,
        ),
        (
            base(&[("PortRange", "80/22")]),
            "InvalidPortRange.Malformed",
            400,
        ),
        (
            base(&[("PortRange", "ssh")]),
            "InvalidPortRange.Malformed",
            400,
        ),
        (base(&[("PortRange", "-1/-1")]), "OperationDenied", 400),
        (
            base(&[("IpProtocol", "icmp"), ("PortRange", "22/22")]),
            "OperationDenied",
            400,
        ),
        (
            base(&[("IpProtocol", "all"), ("PortRange", "1/65535")]),
            "OperationDenied",
            400,
        ),
        (
            base(&[("SourcePortRange", "0/1")]),
            "InvalidSourcePortRange.Malformed",
            400,
        ),
        (
            base(&[("Priority", "high")]),
            "InvalidPriority.Malformed",
            400,
        ),
        (
            base(&[("Priority", "0")]),
            "InvalidPriority.ValueNotSupported",
            400,
        ),
        (
            base(&[("Priority", "101")]),
            "InvalidPriority.ValueNotSupported",
            400,
        ),
        (
            base(&[("Policy", "reject")]),
            "InvalidPolicy.Malformed",
            400,
        ),
        (
            base(&[("NicType", "wan")]),
            "InvalidNicType.ValueNotSupported",
            400,
        ),
        (
            base(&[("SourceCidrIp", "10.0.0.0/33")]),
            "InvalidSourceCidrIp.Malformed",
            400,
        ),
        (
            base(&[("SourceCidrIp", "2408::/16")]),
            "InvalidSourceCidrIp.Malformed",
            400,
        ),
        (
            base(&[("DestCidrIp", "10.0.0")]),
            "InvalidDestCidrIp.Malformed",
            400,
        ),
        (
            base(&[("SourceCidrIp", ""), ("Ipv6SourceCidrIp", "10.0.0.0/8")]),
            "InvalidParam.Ipv6SourceCidrIp",
            400,
        ),
        (
            base(&[("Ipv6SourceCidrIp", "2408::/16")]),
            "InvalidParam.SourceIp",
            400,
        ),
        (
            base(&[("DestCidrIp", "10.0.0.1"), ("Ipv6DestCidrIp", "2408::1")]),
            "InvalidParam.DestIp",
            400,
        ),
        (
            base(&[
                ("SourceCidrIp", ""),
                ("Ipv6SourceCidrIp", "2408::/16"),
                ("DestCidrIp", "10.0.0.1"),
            ]),
            "InvalidParameter.Conflict",
            400,
        ),
        (
            base(&[
                ("IpProtocol", "icmp"),
                ("PortRange", "-1/-1"),
                ("SourceCidrIp", ""),
                ("Ipv6SourceCidrIp", "::/0"),
            ]),
            "InvalidParam.Ipv4ProtocolConflictWithIpv6Address",
            400,
        ),
        (
            base(&[("IpProtocol", "ICMPv6"), ("PortRange", "-1/-1")]),
            "InvalidParam.Ipv6ProtocolConflictWithIpv4Address",
            400,
        ),
        (
            base(&[("SourceCidrIp", "")]),
            "MissingParameter.Source",
            400,
        ),
        (
            base(&[("Description", "http://x")]),
            "InvalidSecurityGroupDiscription.Malformed",
            400,
        ),
        (
            base(&[
                ("SourceCidrIp", ""),
                ("SourceGroupId", "sg-bp1nothere000000000"),
            ]),
            "InvalidSourceGroupId.NotFound",
            404,
        ),
        (
            base(&[("SourceCidrIp", ""), ("SourceGroupId", "not-a-group")]),
            "InvalidSourceGroupId.NotFound",
            404,
        ),
    ];
    for (params, code, status) in cases {
        let b = authorize(&c, IN, &sg, &params).await;
        assert_eq!((b.code(), b.status), (code, status), "{params:?}");
    }
    let refs = [
        (
            vec![("SourceGroupId", sg.as_str())],
            "InvalidParamter.Conflict",
            403,
        ),
        (
            vec![("SourceGroupId", far.as_str())],
            "InvalidSourceGroupId.Mismatch",
            400,
        ),
    ];
    for (extra, code, status) in refs {
        let mut p = vec![("IpProtocol", "tcp"), ("PortRange", "22/22")];
        p.extend(extra);
        authorize(&c, IN, &sg, &p).await.err(code, status);
    }
    let egress = [
        (
            vec![("DestGroupId", sg.as_str())],
            "InvalidSecurityGroup.IsSame",
            403,
        ),
        (
            vec![("DestGroupId", far.as_str())],
            "InvalidDestGroupId.Mismatch",
            400,
        ),
        (
            vec![("DestGroupId", "sg-bp1nothere000000000")],
            "InvalidDestGroupId.NotFound",
            404,
        ),
        (
            vec![("SourceCidrIp", "10.0.0.0/8")],
            "MissingParameter.Dest",
            400,
        ),
    ];
    for (extra, code, status) in egress {
        let mut p = vec![("IpProtocol", "tcp"), ("PortRange", "22/22")];
        p.extend(extra);
        authorize(&c, OUT, &sg, &p).await.err(code, status);
    }
    // A group that does not exist, or another account's.
    authorize(&c, IN, "sg-bp1nothere000000000", &base(&[]))
        .await
        .err("InvalidSecurityGroupId.NotFound", 404);
    let other = _s.new_account("other");
    authorize(&other, IN, &sg, &base(&[]))
        .await
        .err("InvalidSecurityGroupId.NotFound", 404);
    // Nothing was written by any refusal.
    assert!(rules(&c, &sg, "all").await.is_empty());
}

#[tokio::test]
async fn a_group_holds_at_most_200_rules_and_20_group_rules() {
    let (_s, c, vpc, sg, _) = setup().await;
    let ports: Vec<String> = (1..=201).map(|p| format!("{p}/{p}")).collect();
    for chunk in ports[..200].chunks(100) {
        let mut p: Vec<(String, String)> = Vec::new();
        for (i, range) in chunk.iter().enumerate() {
            let n = i + 1;
            p.push((format!("Permissions.{n}.IpProtocol"), "tcp".into()));
            p.push((format!("Permissions.{n}.PortRange"), range.clone()));
            p.push((format!("Permissions.{n}.SourceCidrIp"), "0.0.0.0/0".into()));
        }
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        authorize(&c, IN, &sg, &p).await.ok();
    }
    assert_eq!(rules(&c, &sg, "all").await.len(), 200);
    // A repeat still succeeds at the limit; a new rule does not.
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("IpProtocol", "tcp"),
            ("PortRange", "1/1"),
            ("SourceCidrIp", "0.0.0.0/0"),
        ],
    )
    .await
    .ok();
    authorize(
        &c,
        OUT,
        &sg,
        &[
            ("IpProtocol", "tcp"),
            ("PortRange", "1/1"),
            ("DestCidrIp", "0.0.0.0/0"),
        ],
    )
    .await
    .err("AuthorizationLimitExceed", 403);
    // Paging: MaxResults 10 to 1000, NextToken the offset.
    let mut seen = 0;
    let mut token = String::new();
    loop {
        let mut p = vec![R, ("SecurityGroupId", sg.as_str()), ("MaxResults", "64")];
        if !token.is_empty() {
            p.push(("NextToken", &token));
        }
        let b = c.call(ECS, "DescribeSecurityGroupAttribute", &p).await.ok();
        seen += b["Permissions"]["Permission"].as_array().unwrap().len();
        token = b["NextToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, 200);
    c.call(
        ECS,
        "DescribeSecurityGroupAttribute",
        &[R, ("SecurityGroupId", &sg), ("MaxResults", "5")],
    )
    .await
    .err("InvalidParameter", 400);

    let g = c.group(&vpc).await;
    let mut peers = Vec::new();
    for _ in 0..21 {
        peers.push(c.group(&vpc).await);
    }
    for (i, peer) in peers.iter().enumerate() {
        let b = authorize(
            &c,
            IN,
            &g,
            &[
                ("IpProtocol", "all"),
                ("PortRange", "-1/-1"),
                ("SourceGroupId", peer),
            ],
        )
        .await;
        if i < 20 {
            b.ok();
        } else {
            b.err("AuthorizedGroupRule.LimitExceed", 400);
        }
    }
}

#[tokio::test]
async fn a_referenced_group_cannot_be_deleted_and_a_group_takes_its_rules_along() {
    let (_s, c, _, sg, peer) = setup().await;
    authorize(
        &c,
        IN,
        &sg,
        &[
            ("IpProtocol", "tcp"),
            ("PortRange", "22/22"),
            ("SourceGroupId", &peer),
        ],
    )
    .await
    .ok();
    c.call(ECS, "DeleteSecurityGroup", &[R, ("SecurityGroupId", &peer)])
        .await
        .err("DependencyViolation", 403);
    // The referencing group can go, and its rules with it; then the peer can too.
    c.call(ECS, "DeleteSecurityGroup", &[R, ("SecurityGroupId", &sg)])
        .await
        .ok();
    c.call(ECS, "DeleteSecurityGroup", &[R, ("SecurityGroupId", &peer)])
        .await
        .ok();
}

#[tokio::test]
async fn inner_access_policy_is_modified_and_enterprise_groups_stay_isolated() {
    let (_s, c, vpc, sg, peer) = setup().await;
    assert_eq!(policy(&c, &sg).await, "Accept");
    modify(&c, &sg, "drop").await.ok();
    assert_eq!(policy(&c, &sg).await, "Drop");
    modify(&c, &sg, "Accept").await.ok();
    assert_eq!(policy(&c, &sg).await, "Accept");
    modify(&c, &sg, "open").await.err("InvalidParameter", 400);
    modify(&c, "sg-bp1nothere000000000", "Drop")
        .await
        .err("InvalidSecurityGroupId.NotFound", 404);
    c.call(
        ECS,
        "ModifySecurityGroupPolicy",
        &[R, ("SecurityGroupId", &sg)],
    )
    .await
    .err("MissingParameter", 400);

    let ent = s(&c
        .call(
            ECS,
            "CreateSecurityGroup",
            &[R, ("VpcId", &vpc), ("SecurityGroupType", "enterprise")],
        )
        .await
        .ok()["SecurityGroupId"]);
    assert_eq!(policy(&c, &ent).await, "Drop");
    modify(&c, &ent, "Accept")
        .await
        .err("InvalidGroupParameter.OperationDenied", 400);
    modify(&c, &ent, "Drop").await.ok();
    authorize(
        &c,
        IN,
        &ent,
        &[
            ("IpProtocol", "tcp"),
            ("PortRange", "22/22"),
            ("SourceGroupId", &peer),
        ],
    )
    .await
    .err("InvalidGroupAuthParameter.OperationDenied", 400);
    authorize(
        &c,
        IN,
        &ent,
        &[
            ("IpProtocol", "tcp"),
            ("PortRange", "22/22"),
            ("SourceCidrIp", "0.0.0.0/0"),
            ("Policy", "drop"),
        ],
    )
    .await
    .err("InvalidGroupParameter.OperationDenied", 400);
    authorize(
        &c,
        IN,
        &ent,
        &[
            ("IpProtocol", "tcp"),
            ("PortRange", "22/22"),
            ("SourceCidrIp", "0.0.0.0/0"),
        ],
    )
    .await
    .ok();
}

async fn policy(c: &Client, g: &str) -> Value {
    c.call(
        ECS,
        "DescribeSecurityGroupAttribute",
        &[R, ("SecurityGroupId", g)],
    )
    .await
    .ok()["InnerAccessPolicy"]
        .clone()
}

async fn modify(c: &Client, g: &str, v: &str) -> Answer {
    c.call(
        ECS,
        "ModifySecurityGroupPolicy",
        &[R, ("SecurityGroupId", g), ("InnerAccessPolicy", v)],
    )
    .await
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}
