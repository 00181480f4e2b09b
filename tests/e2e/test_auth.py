"""Authentication and the common gateway errors: new SDK (ACS3-HMAC-SHA256), legacy core SDK
(HMAC-SHA1), and hand-made requests for what no SDK sends (stale timestamps, replayed nonces,
form bodies)."""

import json
import uuid

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException as LegacyServerException
from alibabacloud_ecs20140526 import models as ecs_m
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_m

import e2e_helpers as h

R = h.REGION
SIG_PREFIX = "Specified signature is not matched with our calculation. server string to sign is:"


# ---------------------------------------------------------------- our own signers, offline


def test_helper_signers_match_spec_vectors():
    """The hand-made signers below are checked against the spec's vectors (§2.1, §2.2)."""
    params = {
        "Timestamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid",
        "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert h.rpc_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    call = h.acs3_call(
        "ecs.cn-hangzhou.aliyuncs.com", "DescribeNetworkInterfaces", "2014-05-26", "testid", "testsecret",
        {"RegionId": "cn-hangzhou", "NetworkInterfaceId.1": "eni-bp1aaaa", "NetworkInterfaceId.2": "eni-bp1bbbb", "MaxResults": 100},
        date="2024-01-01T12:00:00Z", nonce="3ee8c1b883d344afa94f4e0ad82fd6cf",
    )
    assert call.headers["Authorization"].endswith(
        "Signature=324e885eb94fc45183619b24a1e9154c034199b97835c3046ad6530105c2cece"
    )


# ---------------------------------------------------------------- new SDK (V3)


def test_v3_wrong_secret(server):
    client = h.ecs_client(server.endpoint, h.ROOT_AK, h.ROOT_SECRET + "x")
    with pytest.raises(ClientException) as ei:
        client.describe_regions(ecs_m.DescribeRegionsRequest())
    code, status, message, data = h.tea_error(ei.value)
    assert (code, status) == ("SignatureDoesNotMatch", 400)
    # The SDK decorates .message ("code: 400, <Message> request id: <id>"); the body is in .data.
    assert SIG_PREFIX in message
    assert data["Code"] == "SignatureDoesNotMatch"
    assert data["Message"].startswith(SIG_PREFIX + "ACS3-HMAC-SHA256\n")
    assert isinstance(data.get("RequestId"), str) and data["RequestId"]


def test_v3_unknown_access_key(server):
    client = h.vpc_client(server.endpoint, "LTAIdoesnotexist000000", "whatever")
    with pytest.raises(ClientException) as ei:
        client.describe_vpcs(vpc_m.DescribeVpcsRequest(region_id=R))
    assert h.tea_error(ei.value)[:2] == ("InvalidAccessKeyId.NotFound", 404)


def test_v3_missing_required_parameter(vpc, res):
    vpc_id = res.vpc(cidr_block="10.70.0.0/16")
    with pytest.raises(ClientException) as ei:
        vpc.create_vswitch(vpc_m.CreateVSwitchRequest(region_id=R, vpc_id=vpc_id, cidr_block="10.70.1.0/24"))
    code, status, message, _ = h.tea_error(ei.value)
    assert (code, status) == ("MissingParameter", 400)
    assert '"ZoneId"' in message


# ---------------------------------------------------------------- legacy core SDK (HMAC-SHA1)


def test_legacy_ecs_describe_regions(server, legacy):
    from aliyunsdkecs.request.v20140526.DescribeRegionsRequest import DescribeRegionsRequest

    req = DescribeRegionsRequest()
    req.set_endpoint(server.endpoint)
    req.set_protocol_type("http")
    req.set_accept_format("json")
    body = json.loads(legacy.do_action_with_exception(req))
    assert sorted(r["RegionId"] for r in body["Regions"]["Region"]) == ["cn-beijing", "cn-hangzhou"]
    assert "Code" not in body and body["RequestId"]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_legacy_vpc_round_trip(server, legacy, unique, method):
    ep = server.endpoint
    created = json.loads(
        legacy.do_action_with_exception(
            h.legacy_request(ep, "CreateVpc", method=method, RegionId=R, CidrBlock="10.80.0.0/16", VpcName=unique,
                             Description="legacy sdk")
        )
    )
    vpc_id = created["VpcId"]
    try:
        got = json.loads(
            legacy.do_action_with_exception(h.legacy_request(ep, "DescribeVpcs", method=method, RegionId=R, VpcId=vpc_id))
        )
        assert got["TotalCount"] == 1
        (v,) = got["Vpcs"]["Vpc"]
        assert (v["VpcId"], v["VpcName"], v["CidrBlock"], v["Description"]) == (vpc_id, unique, "10.80.0.0/16", "legacy sdk")
    finally:
        deleted = json.loads(legacy.do_action_with_exception(h.legacy_request(ep, "DeleteVpc", method=method, RegionId=R, VpcId=vpc_id)))
    assert set(deleted) == {"RequestId"}
    gone = json.loads(legacy.do_action_with_exception(h.legacy_request(ep, "DescribeVpcs", RegionId=R, VpcId=vpc_id)))
    assert gone["Vpcs"]["Vpc"] == [] and gone["TotalCount"] == 0


def test_legacy_wrong_secret(server):
    """CommonRequest: the SDK parses the SignatureDoesNotMatch body (it evaluates
    Message.split(':')[1], which must not raise) and reports it as is."""
    client = h.legacy_client(h.ROOT_AK, h.ROOT_SECRET + "x")
    with pytest.raises(LegacyServerException) as ei:
        client.do_action_with_exception(h.legacy_request(server.endpoint, "DescribeRegions", version=h.ECS_VERSION))
    e = ei.value
    assert (e.get_error_code(), e.get_http_status()) == ("SignatureDoesNotMatch", 400)
    assert e.get_error_msg().startswith(SIG_PREFIX + "POST&%2F&")
    assert e.get_request_id()


def test_legacy_wrong_secret_request_class(server):
    """With an aliyunsdkecs request class the SDK keeps its own string-to-sign and compares it
    with the one after the ':' in the server's message; when they are equal (the server
    canonicalised the request exactly as the SDK did, so only the secret can be wrong) it
    reports InvalidAccessKeySecret."""
    from aliyunsdkecs.request.v20140526.DescribeRegionsRequest import DescribeRegionsRequest

    client = h.legacy_client(h.ROOT_AK, h.ROOT_SECRET + "x")
    req = DescribeRegionsRequest()
    req.set_endpoint(server.endpoint)
    req.set_protocol_type("http")
    with pytest.raises(LegacyServerException) as ei:
        client.do_action_with_exception(req)
    e = ei.value
    assert (e.get_error_code(), e.get_http_status()) == ("InvalidAccessKeySecret", 400), e.get_error_msg()


def test_legacy_wrong_secret_raw_code(server):
    """What the server sent the legacy SDK in the test above, with a request signed as it does."""
    call = h.rpc_call(server.url, "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET + "x",
                      {"RegionId": R, "SignatureType": ""})
    body = h.assert_error(call.send(), "SignatureDoesNotMatch", 400)
    assert body["Message"].startswith(SIG_PREFIX)
    sts = body["Message"].split(":")[1]  # exactly what aliyunsdkcore does
    assert sts.startswith("POST&%2F&AccessKeyId%3D")
    # The server's string-to-sign is the canonical one: signing it with the right secret gives
    # the signature a correct client would send.
    signed = {k: v for k, v in call.query.items() if k != "Signature"}
    assert sts == "POST&%2F&" + h.pct("&".join(f"{h.pct(k)}={h.pct(v)}" for k, v in sorted(signed.items())))


def test_legacy_unknown_access_key(server):
    client = h.legacy_client("LTAIdoesnotexist000000", "whatever")
    with pytest.raises(LegacyServerException) as ei:
        client.do_action_with_exception(h.legacy_request(server.endpoint, "DescribeVpcs", RegionId=R))
    assert (ei.value.get_error_code(), ei.value.get_http_status()) == ("InvalidAccessKeyId.NotFound", 404)


# ---------------------------------------------------------------- hand-made RPC (HMAC-SHA1)


def rpc(server, action="DescribeRegions", version=h.ECS_VERSION, params=None, **kw):
    return h.rpc_call(server.url, action, version, h.ROOT_AK, h.ROOT_SECRET, params, **kw)


def test_rpc_hand_signed_ok(server):
    r = rpc(server).send()
    assert r.status_code == 200, r.text
    assert "Regions" in r.json()


@pytest.mark.parametrize("offset", [-20 * 60, 20 * 60])
def test_rpc_timestamp_expired(server, offset):
    r = rpc(server, timestamp=h.utc_now(offset)).send()
    h.assert_error(r, "InvalidTimeStamp.Expired", 400)


def test_rpc_timestamp_within_window(server):
    assert rpc(server, timestamp=h.utc_now(-10 * 60)).send().status_code == 200


@pytest.mark.parametrize("ts", ["2024-13-01T00:00:00Z", "yesterday", "2024-01-01 00:00:00", "2024-01-01T00:00:00"])
def test_rpc_malformed_timestamp(server, ts):
    h.assert_error(rpc(server, timestamp=ts).send(), "IllegalTimestamp", 400)


def test_rpc_nonce_reuse(server):
    call = rpc(server, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R})
    first = call.send()
    assert first.status_code == 200, first.text
    h.assert_error(call.send(), "SignatureNonceUsed", 400)
    # A fresh request with the same nonce (other timestamp/signature) is refused too.
    again = rpc(server, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R, "PageSize": 5},
                nonce=call.query["SignatureNonce"])
    h.assert_error(again.send(), "SignatureNonceUsed", 400)


def test_rpc_forged_request_does_not_burn_nonce(server):
    nonce = uuid.uuid4().hex
    bad = h.rpc_call(server.url, "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, "wrong", nonce=nonce)
    h.assert_error(bad.send(), "SignatureDoesNotMatch", 400)
    assert rpc(server, nonce=nonce).send().status_code == 200


def test_rpc_unknown_action(server):
    body = h.assert_error(rpc(server, "DescribeNothing", h.ECS_VERSION).send(), "InvalidAction.NotFound", 404)
    assert "DescribeNothing" in body["Message"]
    # An ECS-only action under the VPC version is unknown too.
    h.assert_error(rpc(server, "DescribeInstanceTypes", h.VPC_VERSION).send(), "InvalidAction.NotFound", 404)


def test_rpc_unknown_version(server):
    h.assert_error(rpc(server, "DescribeRegions", "2099-01-01").send(), "InvalidVersion", 400)


def test_rpc_missing_required_parameter(server, res):
    vpc_id = res.vpc(cidr_block="10.71.0.0/16")
    r = rpc(server, "CreateVSwitch", h.VPC_VERSION, {"RegionId": R, "VpcId": vpc_id, "CidrBlock": "10.71.1.0/24"}).send()
    body = h.assert_error(r, "MissingParameter", 400)
    assert "ZoneId" in body["Message"]


def test_rpc_form_body(server, vpc, unique):
    """tea-rpc style: API params in a form-urlencoded body, signature params in the query, the
    body covered by the signature."""
    created = h.rpc_call(
        server.url, "CreateVpc", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET,
        body_params={"RegionId": R, "CidrBlock": "10.90.0.0/16", "VpcName": unique, "Description": "form body + * ~"},
    ).send()
    assert created.status_code == 200, created.text
    vpc_id = created.json()["VpcId"]
    try:
        (v,) = vpc.describe_vpcs(vpc_m.DescribeVpcsRequest(region_id=R, vpc_id=vpc_id)).body.vpcs.vpc
        assert (v.vpc_name, v.cidr_block, v.description) == (unique, "10.90.0.0/16", "form body + * ~")
        listed = h.rpc_call(server.url, "DescribeVpcs", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET,
                            body_params={"RegionId": R, "VpcId": vpc_id}).send()
        assert listed.status_code == 200, listed.text
        assert [x["VpcId"] for x in listed.json()["Vpcs"]["Vpc"]] == [vpc_id]
    finally:
        vpc.delete_vpc(vpc_m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))


def test_rpc_form_body_is_signed(server, vpc, unique):
    """Changing a body parameter after signing breaks the signature."""
    call = h.rpc_call(server.url, "CreateVpc", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET,
                      body_params={"RegionId": R, "CidrBlock": "10.91.0.0/16", "VpcName": unique})
    call.body["VpcName"] = unique + "-tampered"
    h.assert_error(call.send(), "SignatureDoesNotMatch", 400)
    for name in (unique, unique + "-tampered"):
        assert vpc.describe_vpcs(vpc_m.DescribeVpcsRequest(region_id=R, vpc_name=name)).body.total_count == 0


# ---------------------------------------------------------------- hand-made ACS3


def acs3(server, action="DescribeRegions", version=h.ECS_VERSION, params=None, **kw):
    return h.acs3_call(server.endpoint, action, version, h.ROOT_AK, h.ROOT_SECRET, params, **kw)


def test_acs3_hand_signed_ok(server):
    r = acs3(server, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R, "PageSize": 1}).send()
    assert r.status_code == 200, r.text
    assert r.json()["PageSize"] == 1


@pytest.mark.parametrize("offset", [-20 * 60, 20 * 60])
def test_acs3_date_expired(server, offset):
    h.assert_error(acs3(server, date=h.utc_now(offset)).send(), "InvalidTimeStamp.Expired", 400)


def test_acs3_malformed_date(server):
    h.assert_error(acs3(server, date="Mon, 01 Jan 2024 00:00:00 GMT").send(), "IllegalTimestamp", 400)


def test_acs3_nonce_reuse(server):
    call = acs3(server, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R})
    first = call.send()
    assert first.status_code == 200, first.text
    h.assert_error(call.send(), "SignatureNonceUsed", 400)


def test_acs3_unknown_action_and_version(server):
    h.assert_error(acs3(server, "DescribeNothing", h.VPC_VERSION).send(), "InvalidAction.NotFound", 404)
    h.assert_error(acs3(server, "DescribeRegions", "2099-01-01").send(), "InvalidVersion", 400)


def test_a_reads_nonce_outlives_a_restart(tmp_path):
    # A read keeps its nonce in memory and the store takes it within 250 ms, or at shutdown.
    srv = h.EniServer(tmp_path / "data").start()
    try:
        call = rpc(srv, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R})
        assert call.send().status_code == 200
    finally:
        assert srv.stop() == 0
    srv.start()
    try:
        again = rpc(srv, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R, "PageSize": 5},
                    nonce=call.query["SignatureNonce"])
        h.assert_error(again.send(), "SignatureNonceUsed", 400)
    finally:
        srv.stop()
