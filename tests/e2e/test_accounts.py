"""Accounts: a second account made with `eni account create` while the server runs is isolated
from the root account, both ways."""

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as m

import e2e_helpers as h

R = h.REGION


def ids(client, **kw):
    body = client.describe_vpcs(m.DescribeVpcsRequest(region_id=R, **kw)).body
    return [v.vpc_id for v in body.vpcs.vpc], body.total_count


def test_account_create_output(new_account, server):
    acct = new_account()
    assert acct["AccessKeyId"] and acct["AccessKeySecret"]
    assert acct["AccessKeyId"] != h.ROOT_AK
    assert acct["AccountId"].isdigit()
    other = new_account()
    assert other["AccountId"] != acct["AccountId"]
    assert other["AccessKeyId"] != acct["AccessKeyId"]


def test_second_account_isolation(server, vpc, res, new_account, unique):
    acct = new_account()
    other = h.vpc_client(server.endpoint, acct["AccessKeyId"], acct["AccessKeySecret"])

    root_vpc = res.vpc(cidr_block="10.60.0.0/16", vpc_name=unique)
    # The other account neither sees nor deletes the root's VPC.
    assert ids(other, vpc_id=root_vpc) == ([], 0)
    assert ids(other, vpc_name=unique) == ([], 0)
    with pytest.raises(ClientException) as ei:
        other.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=root_vpc))
    assert h.tea_error(ei.value)[:2] == ("InvalidVpcId.NotFound", 404)
    # … nor puts a vSwitch in it.
    with pytest.raises(ClientException) as ei:
        other.create_vswitch(
            m.CreateVSwitchRequest(region_id=R, vpc_id=root_vpc, zone_id="cn-hangzhou-h", cidr_block="10.60.1.0/24")
        )
    assert h.tea_error(ei.value)[:2] == ("InvalidVpcId.NotFound", 404)
    assert ids(vpc, vpc_id=root_vpc) == ([root_vpc], 1)

    # Its own VPC is visible to it only.
    own = other.create_vpc(m.CreateVpcRequest(region_id=R, cidr_block="10.60.0.0/16", vpc_name=unique)).body.vpc_id
    try:
        assert ids(other, vpc_id=own) == ([own], 1)
        assert ids(other, vpc_name=unique) == ([own], 1)
        (v,) = other.describe_vpcs(m.DescribeVpcsRequest(region_id=R, vpc_id=own)).body.vpcs.vpc
        assert v.owner_id == int(acct["AccountId"])
        assert ids(vpc, vpc_id=own) == ([], 0)
        assert ids(vpc, vpc_name=unique) == ([root_vpc], 1)
        with pytest.raises(ClientException) as ei:
            vpc.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=own))
        assert h.tea_error(ei.value)[:2] == ("InvalidVpcId.NotFound", 404)
    finally:
        other.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=own))
    assert ids(other, vpc_id=own) == ([], 0)
