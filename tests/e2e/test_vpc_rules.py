"""VPC and vSwitch rules: each refusal with its exact code and HTTP status, through the new VPC
SDK (which must parse every error body into a ClientException)."""

import uuid

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as m

import e2e_helpers as h

R = h.REGION


def expect_error(fn, code, status):
    with pytest.raises(ClientException) as ei:
        fn()
    got_code, got_status, message, data = h.tea_error(ei.value)
    assert (got_code, got_status) == (code, status), f"{got_code} {got_status}: {message}"
    assert data.get("Code") == code
    assert isinstance(message, str) and message
    return ei.value


def create_vswitch(vpc, vpc_id, cidr, zone="cn-hangzhou-h", **kw):
    return lambda: vpc.create_vswitch(
        m.CreateVSwitchRequest(region_id=R, vpc_id=vpc_id, zone_id=zone, cidr_block=cidr, **kw)
    )


def create_vpc(vpc, **kw):
    kw.setdefault("region_id", R)
    return lambda: vpc.create_vpc(m.CreateVpcRequest(**kw))


def vpc_count(vpc, name):
    return vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=R, vpc_name=name)).body.total_count


@pytest.fixture
def a_vpc(res):
    return res.vpc(cidr_block="10.0.0.0/16")


def test_vswitch_outside_vpc(vpc, a_vpc):
    expect_error(create_vswitch(vpc, a_vpc, "10.1.0.0/24"), "InvalidParameter", 400)


def test_vswitch_overlapping(vpc, res, a_vpc):
    res.vswitch(a_vpc, "10.0.1.0/24")
    expect_error(create_vswitch(vpc, a_vpc, "10.0.1.128/25"), "InvalidCidrBlock.Overlapped", 400)
    expect_error(create_vswitch(vpc, a_vpc, "10.0.0.0/16"), "InvalidCidrBlock.Overlapped", 400)
    # Same block in another VPC is fine.
    other = res.vpc(cidr_block="10.0.0.0/16")
    res.vswitch(other, "10.0.1.0/24")


@pytest.mark.parametrize("cidr", ["10.0.1.0/30", "10.0.0.0/15"])
def test_vswitch_mask_length(vpc, cidr):
    # A /8 VPC so that the /15 lies inside it and the mask is the only problem.
    vpc_id = vpc.create_vpc(m.CreateVpcRequest(region_id=R, cidr_block="10.0.0.0/8")).body.vpc_id
    try:
        expect_error(create_vswitch(vpc, vpc_id, cidr), "InvalidCirdrBlock.MaskLength", 400)
    finally:
        vpc.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))


@pytest.mark.parametrize("cidr", ["10.0.1.0/33", "10.0.1.x/24", "not-a-cidr", "10.0.1.0", "10.0.1.5/24"])
def test_vswitch_malformed_cidr(vpc, a_vpc, cidr):
    expect_error(create_vswitch(vpc, a_vpc, cidr), "InvalidCidrBlock.Malformed", 400)


def test_vpc_malformed_cidr(vpc, unique):
    expect_error(create_vpc(vpc, cidr_block="10.0.0.0/abc", vpc_name=unique), "InvalidCidrBlock.Malformed", 400)
    assert vpc_count(vpc, unique) == 0


@pytest.mark.parametrize("cidr", ["100.64.0.0/16", "127.0.0.0/16", "169.254.0.0/16", "224.0.0.0/16"])
def test_vpc_forbidden_ranges(vpc, unique, cidr):
    expect_error(create_vpc(vpc, cidr_block=cidr, vpc_name=unique), "OperationDenied.CidrInExcludeCidrs", 400)
    assert vpc_count(vpc, unique) == 0


def test_vpc_mask_29(vpc, unique):
    expect_error(create_vpc(vpc, cidr_block="10.0.0.0/29", vpc_name=unique), "IllegalParam.CidrBlockMask", 400)
    assert vpc_count(vpc, unique) == 0


def test_vswitch_unknown_zone(vpc, a_vpc):
    expect_error(create_vswitch(vpc, a_vpc, "10.0.2.0/24", zone="cn-hangzhou-z"), "InvalidZoneId.NotFound", 404)
    # A zone of another region is unknown in this VPC's region too.
    expect_error(create_vswitch(vpc, a_vpc, "10.0.2.0/24", zone="cn-beijing-a"), "InvalidZoneId.NotFound", 404)


def test_vswitch_unknown_vpc(vpc):
    expect_error(create_vswitch(vpc, "vpc-doesnotexist000000000", "10.0.2.0/24"), "InvalidVpcId.NotFound", 404)


def test_delete_unknown_vpc(vpc):
    expect_error(
        lambda: vpc.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id="vpc-doesnotexist000000000")),
        "InvalidVpcId.NotFound",
        404,
    )


def test_delete_vpc_with_vswitch(vpc, res, a_vpc):
    res.vswitch(a_vpc, "10.0.3.0/24")
    expect_error(
        lambda: vpc.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=a_vpc)), "DependencyViolation.VSwitch", 400
    )
    # Still there.
    got = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=R, vpc_id=a_vpc)).body
    assert got.total_count == 1


def test_delete_unknown_vswitch(vpc):
    expect_error(
        lambda: vpc.delete_vswitch(m.DeleteVSwitchRequest(region_id=R, v_switch_id="vsw-doesnotexist000000000")),
        "InvalidVSwitchId.NotFound",
        404,
    )


def test_create_vpc_client_token(vpc, res, unique):
    token = uuid.uuid4().hex
    req = m.CreateVpcRequest(region_id=R, cidr_block="10.50.0.0/16", vpc_name=unique, client_token=token)
    first = vpc.create_vpc(req).body
    res.track_vpc(first.vpc_id)
    again = vpc.create_vpc(req).body
    assert again.vpc_id == first.vpc_id
    assert again.vrouter_id == first.vrouter_id
    assert again.route_table_id == first.route_table_id
    assert again.request_id != first.request_id
    got = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=R, vpc_name=unique)).body
    assert [v.vpc_id for v in got.vpcs.vpc] == [first.vpc_id]

    expect_error(
        create_vpc(vpc, cidr_block="10.51.0.0/16", vpc_name=unique, client_token=token),
        "IdempotentParameterMismatch",
        400,
    )
    assert vpc_count(vpc, unique) == 1
