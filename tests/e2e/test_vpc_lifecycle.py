"""VPC and vSwitch lifecycle through the new VPC SDK (ACS3-HMAC-SHA256)."""

import ipaddress

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as m

import e2e_helpers as h

R = h.REGION


def describe_vpcs(vpc, **kw):
    kw.setdefault("region_id", R)
    return vpc.describe_vpcs(m.DescribeVpcsRequest(**kw)).body


def describe_vswitches(vpc, **kw):
    return vpc.describe_vswitches(m.DescribeVSwitchesRequest(**kw)).body


def test_create_vpc_with_cidr(vpc, res, unique):
    resp = vpc.create_vpc(m.CreateVpcRequest(region_id=R, cidr_block="10.10.0.0/16", vpc_name=unique, description="e2e vpc"))
    body = resp.body
    res.track_vpc(body.vpc_id)
    assert body.vpc_id.startswith("vpc-")
    assert body.vrouter_id.startswith("vrt-")
    assert body.route_table_id.startswith("vtb-")
    assert body.resource_group_id.startswith("rg-")

    got = describe_vpcs(vpc, vpc_id=body.vpc_id)
    assert got.total_count == 1
    (v,) = got.vpcs.vpc
    assert v.vpc_id == body.vpc_id
    assert v.region_id == R
    assert v.cidr_block == "10.10.0.0/16"
    assert v.vpc_name == unique
    assert v.description == "e2e vpc"
    assert v.status == "Available"
    assert v.vrouter_id == body.vrouter_id
    assert v.router_table_ids.router_table_ids == [body.route_table_id]
    assert v.resource_group_id == body.resource_group_id
    assert v.v_switch_ids.v_switch_id == []
    assert v.is_default is False and v.enabled_ipv_6 is False
    assert v.ipv_6cidr_block == ""
    assert type(v.owner_id) is int
    assert isinstance(v.creation_time, str) and v.creation_time.endswith("Z")


def test_create_vpc_default_cidr(vpc, res):
    vpc_id = res.vpc()
    (v,) = describe_vpcs(vpc, vpc_id=vpc_id).vpcs.vpc
    assert v.cidr_block == "172.16.0.0/12"


def test_create_vpc_with_ipv6(vpc, res):
    vpc_id = res.vpc(cidr_block="192.168.0.0/16", enable_ipv_6=True)
    (v,) = describe_vpcs(vpc, vpc_id=vpc_id).vpcs.vpc
    assert v.enabled_ipv_6 is True
    net = ipaddress.ip_network(v.ipv_6cidr_block)
    assert net.version == 6 and net.prefixlen == 56
    assert [b.ipv_6cidr_block for b in v.ipv_6cidr_blocks.ipv_6cidr_block] == [v.ipv_6cidr_block]


def test_describe_vpcs_by_id_list_and_name(vpc, res, unique):
    a = res.vpc(cidr_block="10.1.0.0/16", vpc_name=unique)
    b = res.vpc(cidr_block="10.2.0.0/16", vpc_name=unique + "-b")
    c = res.vpc(cidr_block="10.3.0.0/16", vpc_name=unique + "-c")

    both = describe_vpcs(vpc, vpc_id=f"{a},{c}")
    assert both.total_count == 2
    assert sorted(v.vpc_id for v in both.vpcs.vpc) == sorted([a, c])

    by_name = describe_vpcs(vpc, vpc_name=unique + "-b")
    assert [v.vpc_id for v in by_name.vpcs.vpc] == [b]
    assert by_name.total_count == 1

    none = describe_vpcs(vpc, vpc_name=unique + "-none")
    assert none.total_count == 0 and none.vpcs.vpc == []


def test_describe_vpcs_pagination(vpc, res, unique):
    ids = {res.vpc(cidr_block=f"10.{20 + i}.0.0/16", vpc_name=unique) for i in range(5)}
    p1 = describe_vpcs(vpc, vpc_name=unique, page_size=2, page_number=1)
    p2 = describe_vpcs(vpc, vpc_name=unique, page_size=2, page_number=2)
    p3 = describe_vpcs(vpc, vpc_name=unique, page_size=2, page_number=3)
    p4 = describe_vpcs(vpc, vpc_name=unique, page_size=2, page_number=4)
    for p, n, count in ((p1, 1, 2), (p2, 2, 2), (p3, 3, 1), (p4, 4, 0)):
        assert (p.total_count, p.page_number, p.page_size) == (5, n, 2)
        assert len(p.vpcs.vpc) == count
        assert type(p.total_count) is int and type(p.page_number) is int
    seen = [v.vpc_id for p in (p1, p2, p3) for v in p.vpcs.vpc]
    assert sorted(seen) == sorted(ids)
    default = describe_vpcs(vpc, vpc_name=unique)
    assert (default.page_number, default.page_size, len(default.vpcs.vpc)) == (1, 10, 5)


def test_delete_vpc(vpc, unique):
    vpc_id = vpc.create_vpc(m.CreateVpcRequest(region_id=R, cidr_block="10.9.0.0/16", vpc_name=unique)).body.vpc_id
    resp = vpc.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))
    assert resp.status_code == 200 and resp.body.request_id
    assert describe_vpcs(vpc, vpc_id=vpc_id).vpcs.vpc == []
    with pytest.raises(ClientException) as ei:
        vpc.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))
    assert h.tea_error(ei.value)[:2] == ("InvalidVpcId.NotFound", 404)


def test_vswitch_lifecycle(vpc, res, unique):
    vpc_id = res.vpc(cidr_block="172.20.0.0/16")
    resp = vpc.create_vswitch(
        m.CreateVSwitchRequest(
            region_id=R, vpc_id=vpc_id, zone_id="cn-hangzhou-i", cidr_block="172.20.1.0/24",
            v_switch_name=unique, description="e2e vsw",
        )
    )
    vsw_a = resp.body.v_switch_id
    res.vswitches.append(vsw_a)
    assert vsw_a.startswith("vsw-")
    vsw_b = res.vswitch(vpc_id, "172.20.2.0/29", zone_id="cn-hangzhou-j")

    by_vpc = describe_vswitches(vpc, vpc_id=vpc_id)
    assert by_vpc.total_count == 2
    by_id = {s.v_switch_id: s for s in by_vpc.v_switches.v_switch}
    assert set(by_id) == {vsw_a, vsw_b}

    a = by_id[vsw_a]
    assert (a.vpc_id, a.zone_id, a.cidr_block) == (vpc_id, "cn-hangzhou-i", "172.20.1.0/24")
    assert (a.v_switch_name, a.description, a.status) == (unique, "e2e vsw", "Available")
    assert a.available_ip_address_count == 252
    assert type(a.available_ip_address_count) is int
    assert a.is_default is False and a.enabled_ipv_6 is False and a.ipv_6cidr_block == ""
    assert type(a.owner_id) is int
    assert a.route_table.route_table_type == "System"
    assert a.tags.tag == []

    b = by_id[vsw_b]
    assert b.available_ip_address_count == 4
    assert b.zone_id == "cn-hangzhou-j"

    only_a = describe_vswitches(vpc, region_id=R, v_switch_id=vsw_a)
    assert [s.v_switch_id for s in only_a.v_switches.v_switch] == [vsw_a]
    assert only_a.total_count == 1

    in_zone = describe_vswitches(vpc, vpc_id=vpc_id, zone_id="cn-hangzhou-j")
    assert [s.v_switch_id for s in in_zone.v_switches.v_switch] == [vsw_b]

    # The VPC lists its vSwitches.
    (v,) = describe_vpcs(vpc, vpc_id=vpc_id).vpcs.vpc
    assert sorted(v.v_switch_ids.v_switch_id) == sorted([vsw_a, vsw_b])

    for s in (vsw_a, vsw_b):
        assert vpc.delete_vswitch(m.DeleteVSwitchRequest(region_id=R, v_switch_id=s)).status_code == 200
    assert describe_vswitches(vpc, vpc_id=vpc_id).v_switches.v_switch == []
    # Now the VPC can go.
    vpc.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))
    assert describe_vpcs(vpc, vpc_id=vpc_id).total_count == 0


def test_ipv6_vswitch(vpc, res):
    vpc_id = res.vpc(cidr_block="192.168.0.0/16", enable_ipv_6=True)
    (v,) = describe_vpcs(vpc, vpc_id=vpc_id).vpcs.vpc
    vpc_net = ipaddress.ip_network(v.ipv_6cidr_block)
    vsw = res.vswitch(vpc_id, "192.168.1.0/24", ipv_6cidr_block=1)
    (s,) = describe_vswitches(vpc, vpc_id=vpc_id, v_switch_id=vsw).v_switches.v_switch
    assert s.enabled_ipv_6 is True
    expected = list(vpc_net.subnets(new_prefix=64))[1]
    assert ipaddress.ip_network(s.ipv_6cidr_block) == expected
    assert s.ipv_6cidr_block == str(expected)


def test_create_vpc_ipv6_isp(vpc, res):
    """Ipv6Isp (BGP by default) is the line type of the VPC's /56, shown beside it."""
    for isp, want in ((None, "BGP"), ("ChinaUnicom", "ChinaUnicom")):
        kw = {"ipv_6isp": isp} if isp else {}
        vpc_id = res.vpc(cidr_block="192.168.0.0/16", enable_ipv_6=True, **kw)
        (v,) = describe_vpcs(vpc, vpc_id=vpc_id).vpcs.vpc
        assert ipaddress.ip_network(v.ipv_6cidr_block).prefixlen == 56
        (b,) = v.ipv_6cidr_blocks.ipv_6cidr_block
        assert (b.ipv_6cidr_block, b.ipv_6isp) == (v.ipv_6cidr_block, want)
    h.expect_tea_error(
        lambda: res.vpc(cidr_block="192.168.0.0/16", enable_ipv_6=True, ipv_6isp="Cogent"), "InvalidParameter", 400
    )


def test_create_vpc_refuses_an_unreserved_ipv6_block(vpc, res):
    """Ipv6CidrBlock must have been reserved with AllocateVpcIpv6Cidr, which this server does
    not serve: a chosen block is refused, not silently replaced by a random one."""
    e = h.expect_tea_error(
        lambda: res.vpc(cidr_block="192.168.0.0/16", enable_ipv_6=True, ipv_6cidr_block="2408:4005:3ea::/56"),
        "InvalidParameter",
        400,
    )
    assert "AllocateVpcIpv6Cidr" in h.tea_error(e)[2]
    h.expect_tea_error(
        lambda: res.vpc(cidr_block="192.168.0.0/16", enable_ipv_6=True, ipv_6cidr_block="2408:4005:3ea::1/56"),
        "InvalidIpv6CidrBlock.Malformed",
        400,
    )
