"""Security group rules through the SDKs: Authorize/Describe/Revoke with `Permissions.N` in
the new ECS SDK (V3 signatures), the deprecated top-level rule fields through the legacy
aliyun-python-sdk-ecs request class (HMAC-SHA1), ModifySecurityGroupPolicy, and the documented
refusals with their codes and HTTP statuses."""

import json

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException as LegacyServerException
from aliyunsdkecs.request.v20140526.AuthorizeSecurityGroupRequest import AuthorizeSecurityGroupRequest
from aliyunsdkecs.request.v20140526.DescribeSecurityGroupAttributeRequest import (
    DescribeSecurityGroupAttributeRequest,
)
from aliyunsdkecs.request.v20140526.RevokeSecurityGroupRequest import RevokeSecurityGroupRequest
from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h

R = h.REGION
err = h.expect_tea_error


def attribute(ecs, sg, **kw):
    return ecs.describe_security_group_attribute(
        em.DescribeSecurityGroupAttributeRequest(region_id=R, security_group_id=sg, **kw)
    ).body


def authorize(ecs, sg, *perms, **kw):
    return lambda: ecs.authorize_security_group(
        em.AuthorizeSecurityGroupRequest(
            region_id=R,
            security_group_id=sg,
            permissions=[em.AuthorizeSecurityGroupRequestPermissions(**p) for p in perms],
            **kw,
        )
    )


def authorize_egress(ecs, sg, *perms):
    return lambda: ecs.authorize_security_group_egress(
        em.AuthorizeSecurityGroupEgressRequest(
            region_id=R,
            security_group_id=sg,
            permissions=[em.AuthorizeSecurityGroupEgressRequestPermissions(**p) for p in perms],
        )
    )


def legacy_call(server, legacy, req):
    req.set_endpoint(server.endpoint)
    req.set_protocol_type("http")
    return json.loads(legacy.do_action_with_exception(req))


def test_permissions_round_trip_with_the_new_sdk(ecs, cloud):
    v = cloud.vpc("10.0.0.0/16")
    sg = cloud.group(v)
    peer = cloud.group(v)  # created after sg, so teardown deletes the referencing group first
    authorize(
        ecs,
        sg,
        dict(ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0", description="ssh"),
        dict(ip_protocol="ALL", port_range="-1/-1", source_group_id=peer, priority="5", policy="drop"),
        dict(ip_protocol="icmpv6", port_range="-1/-1", ipv_6source_cidr_ip="2408:4000::/32"),
    )()
    authorize_egress(ecs, sg, dict(ip_protocol="udp", port_range="53/53", dest_cidr_ip="10.1.2.3"))()

    body = attribute(ecs, sg)
    assert body.security_group_id == sg
    assert body.vpc_id == v
    assert body.inner_access_policy == "Accept"
    assert body.next_token == ""
    perms = body.permissions.permission
    assert [(p.direction, p.ip_protocol) for p in perms] == [
        ("ingress", "TCP"),
        ("ingress", "ALL"),
        ("ingress", "ICMPv6"),
        ("egress", "UDP"),
    ]
    ssh, grp, icmp6, dns = perms
    assert ssh.security_group_rule_id.startswith("sgr-")
    assert (ssh.port_range, ssh.source_cidr_ip, ssh.policy, ssh.priority, ssh.nic_type, ssh.description) == (
        "22/22", "0.0.0.0/0", "Accept", "1", "intranet", "ssh")
    assert (ssh.source_group_id, ssh.dest_cidr_ip, ssh.ipv_6source_cidr_ip, ssh.source_port_range) == ("", "", "", "")
    assert ssh.create_time.endswith("Z")
    assert (grp.source_group_id, grp.port_range, grp.priority, grp.policy) == (peer, "-1/-1", "5", "Drop")
    assert icmp6.ipv_6source_cidr_ip == "2408:4000::/32"
    assert (dns.dest_cidr_ip, dns.port_range, dns.source_cidr_ip) == ("10.1.2.3", "53/53", "")
    assert [p.direction for p in attribute(ecs, sg, direction="egress").permissions.permission] == ["egress"]
    assert len(attribute(ecs, sg, direction="ingress").permissions.permission) == 3

    # Authorizing an existing rule succeeds and creates nothing.
    authorize(ecs, sg, dict(ip_protocol="TCP", port_range="22/22", source_cidr_ip="0.0.0.0/0"))()
    assert len(attribute(ecs, sg).permissions.permission) == 4

    # Revoke by fields, then by rule ID.
    ecs.revoke_security_group(
        em.RevokeSecurityGroupRequest(
            region_id=R,
            security_group_id=sg,
            permissions=[em.RevokeSecurityGroupRequestPermissions(ip_protocol="tcp", port_range="22/22",
                                                                  source_cidr_ip="0.0.0.0/0")],
        )
    )
    ecs.revoke_security_group(
        em.RevokeSecurityGroupRequest(region_id=R, security_group_id=sg,
                                      security_group_rule_id=[grp.security_group_rule_id])
    )
    ecs.revoke_security_group_egress(
        em.RevokeSecurityGroupEgressRequest(region_id=R, security_group_id=sg,
                                            security_group_rule_id=[dns.security_group_rule_id])
    )
    left = attribute(ecs, sg).permissions.permission
    assert [p.security_group_rule_id for p in left] == [icmp6.security_group_rule_id]
    err(
        lambda: ecs.revoke_security_group(
            em.RevokeSecurityGroupRequest(region_id=R, security_group_id=sg,
                                          security_group_rule_id=[dns.security_group_rule_id])
        ),
        "InvalidSecurityGroupRuleId.NotFound",
        404,
    )


def test_legacy_sdk_sends_the_deprecated_top_level_rule(server, legacy, ecs, cloud):
    v = cloud.vpc("10.0.0.0/16")
    sg = cloud.group(v)
    req = AuthorizeSecurityGroupRequest()
    req.set_SecurityGroupId(sg)
    req.set_IpProtocol("tcp")
    req.set_PortRange("80/80")
    req.set_SourceCidrIp("192.168.0.0/16")
    req.set_NicType("intranet")
    req.set_Policy("accept")
    req.set_Priority("10")
    assert "RequestId" in legacy_call(server, legacy, req)
    # Again: a repeat is a success that changes nothing.
    legacy_call(server, legacy, req)

    d = DescribeSecurityGroupAttributeRequest()
    d.set_SecurityGroupId(sg)
    body = legacy_call(server, legacy, d)
    perms = body["Permissions"]["Permission"]
    assert len(perms) == 1
    assert perms[0]["IpProtocol"] == "TCP"
    assert perms[0]["PortRange"] == "80/80"
    assert perms[0]["Priority"] == "10"
    assert perms[0]["SourceCidrIp"] == "192.168.0.0/16"
    # The new SDK sees the same rule.
    assert attribute(ecs, sg).permissions.permission[0].security_group_rule_id == perms[0]["SecurityGroupRuleId"]

    bad = AuthorizeSecurityGroupRequest()
    bad.set_SecurityGroupId(sg)
    bad.set_IpProtocol("tcp")
    bad.set_PortRange("80/22")
    bad.set_SourceCidrIp("0.0.0.0/0")
    with pytest.raises(LegacyServerException) as ei:
        legacy_call(server, legacy, bad)
    assert (ei.value.get_error_code(), ei.value.get_http_status()) == ("InvalidPortRange.Malformed", 400)

    r = RevokeSecurityGroupRequest()
    r.set_SecurityGroupId(sg)
    r.set_IpProtocol("TCP")
    r.set_PortRange("80/80")
    r.set_SourceCidrIp("192.168.0.0/16")
    r.set_NicType("intranet")
    r.set_Priority("10")
    legacy_call(server, legacy, r)
    assert attribute(ecs, sg).permissions.permission == []


@pytest.mark.parametrize(
    "perm,code,status",
    [
        (dict(ip_protocol="sctp", port_range="1/1", source_cidr_ip="0.0.0.0/0"), "InvalidIpProtocol.ValueNotSupported", 400),
        (dict(ip_protocol="tcp", port_range="0/22", source_cidr_ip="0.0.0.0/0"), "InvalidPortRange.Malformed", 400),
        (dict(ip_protocol="tcp", source_cidr_ip="0.0.0.0/0"), "InvalidPortRange.Malformed", 400),
        (dict(ip_protocol="icmp", port_range="22/22", source_cidr_ip="0.0.0.0/0"), "OperationDenied", 400),
        (dict(ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0", priority="0"),
         "InvalidPriority.ValueNotSupported", 400),
        (dict(ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0", priority="one"),
         "InvalidPriority.Malformed", 400),
        (dict(ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0", policy="deny"), "InvalidPolicy.Malformed", 400),
        (dict(ip_protocol="tcp", port_range="22/22", source_cidr_ip="300.0.0.0/8"), "InvalidSourceCidrIp.Malformed", 400),
        (dict(ip_protocol="tcp", port_range="22/22"), "MissingParameter.Source", 400),
        (dict(ip_protocol="icmpv6", port_range="-1/-1", source_cidr_ip="10.0.0.0/8"),
         "InvalidParam.Ipv6ProtocolConflictWithIpv4Address", 400),
        (dict(ip_protocol="gre", port_range="-1/-1", ipv_6source_cidr_ip="::/0"),
         "InvalidParam.Ipv4ProtocolConflictWithIpv6Address", 400),
        (dict(ip_protocol="tcp", port_range="22/22", source_group_id="sg-bp1nothere0000000000"),
         "InvalidSourceGroupId.NotFound", 404),
    ],
)
def test_bad_rules_are_refused_with_documented_codes(ecs, cloud, perm, code, status):
    sg = cloud.group(cloud.vpc("10.0.0.0/16"))
    err(authorize(ecs, sg, perm), code, status)
    assert attribute(ecs, sg).permissions.permission == []


def test_group_references_policy_and_deletion(ecs, cloud):
    v = cloud.vpc("10.0.0.0/16")
    sg = cloud.group(v)
    peer = cloud.group(v)
    far = cloud.group(cloud.vpc("10.1.0.0/16"))
    err(authorize(ecs, sg, dict(ip_protocol="tcp", port_range="1/1", source_group_id=sg)), "InvalidParamter.Conflict", 403)
    err(authorize(ecs, sg, dict(ip_protocol="tcp", port_range="1/1", source_group_id=far)),
        "InvalidSourceGroupId.Mismatch", 400)
    err(authorize_egress(ecs, sg, dict(ip_protocol="tcp", port_range="1/1", source_cidr_ip="10.0.0.0/8")),
        "MissingParameter.Dest", 400)
    authorize_egress(ecs, sg, dict(ip_protocol="tcp", port_range="1/1", dest_group_id=peer))()
    err(lambda: ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=R, security_group_id=peer)),
        "DependencyViolation", 403)

    ecs.modify_security_group_policy(
        em.ModifySecurityGroupPolicyRequest(region_id=R, security_group_id=sg, inner_access_policy="Drop")
    )
    assert attribute(ecs, sg).inner_access_policy == "Drop"
    err(
        lambda: ecs.modify_security_group_policy(
            em.ModifySecurityGroupPolicyRequest(region_id=R, security_group_id=sg, inner_access_policy="Maybe")
        ),
        "InvalidParameter",
        400,
    )
    ent = cloud.group(v, security_group_type="enterprise")
    assert attribute(ecs, ent).inner_access_policy == "Drop"
    err(
        lambda: ecs.modify_security_group_policy(
            em.ModifySecurityGroupPolicyRequest(region_id=R, security_group_id=ent, inner_access_policy="Accept")
        ),
        "InvalidGroupParameter.OperationDenied",
        400,
    )
    err(authorize(ecs, ent, dict(ip_protocol="tcp", port_range="1/1", source_group_id=peer)),
        "InvalidGroupAuthParameter.OperationDenied", 400)

    # Deleting the referencing group takes its rules along and frees the peer.
    ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=R, security_group_id=sg))
    ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=R, security_group_id=peer))
