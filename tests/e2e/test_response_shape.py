"""Response shapes the SDKs and Terraform rely on (spec §1.4, §1.5), checked on the raw HTTP
responses of hand-signed requests."""

import re

import pytest
import requests

import e2e_helpers as h

R = h.REGION
REQUEST_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


def is_json(resp):
    assert resp.headers["Content-Type"].split(";")[0].strip().lower() == "application/json", resp.headers


def check_error_body(resp, code, status):
    is_json(resp)
    body = h.assert_error(resp, code, status)
    for key in ("RequestId", "HostId", "Code", "Message", "Recommend"):
        assert isinstance(body.get(key), str), f"{key} missing or not a string in {body}"
    assert body["Message"]
    assert REQUEST_ID.match(body["RequestId"]), body["RequestId"]
    return body


def rpc(server, action, version, params=None, **kw):
    return h.rpc_call(server.url, action, version, h.ROOT_AK, h.ROOT_SECRET, params, **kw).send()


def test_error_body_shape_not_found(server):
    r = rpc(server, "DeleteVpc", h.VPC_VERSION, {"RegionId": R, "VpcId": "vpc-doesnotexist000000000"})
    body = check_error_body(r, "InvalidVpcId.NotFound", 404)
    assert body["HostId"] == server.endpoint
    assert body["RequestId"] in body["Recommend"]


@pytest.mark.parametrize(
    "kind,code,status",
    [
        ("bad-signature", "SignatureDoesNotMatch", 400),
        ("unknown-action", "InvalidAction.NotFound", 404),
        ("missing-param", "MissingParameter", 400),
        ("unknown-region", "InvalidRegionId.NotFound", 404),
    ],
)
def test_error_body_shape(server, kind, code, status):
    if kind == "bad-signature":
        r = h.rpc_call(server.url, "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, "nope").send()
    elif kind == "unknown-action":
        r = rpc(server, "Nope", h.ECS_VERSION)
    elif kind == "missing-param":
        r = rpc(server, "DescribeVpcs", h.VPC_VERSION)
    else:
        r = rpc(server, "DescribeZones", h.ECS_VERSION, {"RegionId": "xx-nowhere-1"})
    check_error_body(r, code, status)


def test_unsigned_request_error_shape(server):
    r = requests.post(server.url + "?Action=DescribeRegions&Version=2014-05-26", timeout=10)
    is_json(r)
    body = r.json()
    assert 400 <= r.status_code < 500 and r.status_code != 404
    for key in ("RequestId", "HostId", "Code", "Message", "Recommend"):
        assert isinstance(body.get(key), str)


def test_success_body_shape(server):
    r = rpc(server, "DescribeRegions", h.ECS_VERSION)
    assert r.status_code == 200
    is_json(r)
    body = r.json()
    assert REQUEST_ID.match(body["RequestId"])
    assert "Code" not in body and "Message" not in body


def test_empty_lists_keep_their_wrappers(server, res, unique):
    r = rpc(server, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R, "VpcName": unique})
    assert r.status_code == 200
    is_json(r)
    body = r.json()
    assert body["Vpcs"] == {"Vpc": []}
    assert body["TotalCount"] == 0 and body["PageNumber"] == 1 and body["PageSize"] == 10
    assert "Code" not in body

    vpc_id = res.vpc(cidr_block="10.100.0.0/16", vpc_name=unique)
    r = rpc(server, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R, "VpcId": vpc_id})
    (v,) = r.json()["Vpcs"]["Vpc"]
    # Every list wrapper is present, with a (possibly empty) array inside.
    assert v["VSwitchIds"] == {"VSwitchId": []}
    assert v["Tags"] == {"Tag": []}
    for wrapper, inner in [("RouterTableIds", "RouterTableIds"), ("NatGatewayIds", "NatGatewayIds"),
                           ("UserCidrs", "UserCidr"), ("SecondaryCidrBlocks", "SecondaryCidrBlock")]:
        assert isinstance(v[wrapper][inner], list), wrapper
    assert isinstance(v["OwnerId"], int) and isinstance(v["IsDefault"], bool) and isinstance(v["EnabledIpv6"], bool)

    r = rpc(server, "DescribeVSwitches", h.VPC_VERSION, {"RegionId": R, "VpcId": vpc_id})
    body = r.json()
    assert body["VSwitches"] == {"VSwitch": []} and body["TotalCount"] == 0

    r = rpc(server, "DescribeInstanceTypes", h.ECS_VERSION, {"InstanceTypes.1": "ecs.none.nothing"})
    body = r.json()
    assert body["InstanceTypes"] == {"InstanceType": []} and body["NextToken"] == ""


def test_delete_answers_request_id_only(server, vpc):
    from alibabacloud_vpc20160428 import models as m

    vpc_id = vpc.create_vpc(m.CreateVpcRequest(region_id=R, cidr_block="10.101.0.0/16")).body.vpc_id
    r = rpc(server, "DeleteVpc", h.VPC_VERSION, {"RegionId": R, "VpcId": vpc_id})
    assert r.status_code == 200, r.text
    is_json(r)
    assert list(r.json()) == ["RequestId"]


def test_every_field_of_the_sdk_models_is_answered(ecs, cloud):
    """DescribeInstances and DescribeSecurityGroupAttribute fill every field the 7.x SDK models
    have (none left out as unknown), with the model's types."""
    from alibabacloud_ecs20140526 import models as em

    vpc_id = cloud.vpc("10.55.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.55.1.0/24")
    sg = cloud.group(vpc_id)
    inst = cloud.instance(vsw, [sg])
    body = ecs.describe_instances(em.DescribeInstancesRequest(region_id=h.REGION, instance_ids=f'["{inst}"]')).body
    (i,) = body.instances.instance
    model = em.DescribeInstancesResponseBodyInstancesInstance()
    unset = [k for k, v in vars(i).items() if v is None and hasattr(model, k)]
    assert unset == [], unset
    assert i.cpu_options.core_count >= 1 and i.metadata_options.http_endpoint == "enabled"
    # Nested models too, where eni fills them: every field of MetadataOptions.
    assert [k for k, v in vars(i.metadata_options).items() if v is None] == []
    assert i.spot_strategy == "NoSpot" and i.osname_en
    attr = ecs.describe_security_group_attribute(em.DescribeSecurityGroupAttributeRequest(
        region_id=h.REGION, security_group_id=sg)).body
    assert attr.snapshot_policy_ids.snapshot_policy_id == []
