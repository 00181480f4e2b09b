"""A signature covers everything that decides what runs (issue 8, item 3). Each request here is
correctly signed by a hand-made signer; what it tries is to make the server run something the
signature does not cover: an Action or Version from an unsigned header (RPC), one of two values
of a repeated query key (ACS3), a body read as parameters on an unsigned content-type (ACS3)."""

import uuid

import requests

import e2e_helpers as h

R = h.REGION


def group_names(endpoint: str, vpc_id: str) -> list[str]:
    call = h.acs3_call(
        endpoint, "DescribeSecurityGroups", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET,
        {"RegionId": R, "VpcId": vpc_id},
    )
    r = call.send()
    assert r.status_code == 200, r.text
    return sorted(g["SecurityGroupName"] for g in r.json()["SecurityGroups"]["SecurityGroup"])


# ---------------------------------------------------------------- RPC (HMAC-SHA1)


def test_rpc_takes_action_only_from_signed_parameters(server):
    """Signed parameters without Action and Version, and the two in x-acs-* headers no RPC
    signature covers: the server must not run the header's action."""
    call = h.rpc_call(server.url, "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET)
    # Re-sign without Action/Version, as a forger holding one signed request could not change them.
    del call.query["Action"], call.query["Version"], call.query["Signature"]
    call.query["Signature"] = h.rpc_signature("POST", call.query, h.ROOT_SECRET)
    qs = "&".join(f"{h.pct(k)}={h.pct(v)}" for k, v in call.query.items())
    r = requests.post(
        f"{server.url}?{qs}",
        headers={"x-acs-action": "DescribeRegions", "x-acs-version": h.ECS_VERSION},
        timeout=10,
    )
    body = h.assert_error(r, "MissingParameter", 400)
    assert '"Action"' in body["Message"]


def test_rpc_version_from_an_unsigned_header_is_not_used(server):
    call = h.rpc_call(server.url, "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET)
    del call.query["Version"], call.query["Signature"]
    call.query["Signature"] = h.rpc_signature("POST", call.query, h.ROOT_SECRET)
    qs = "&".join(f"{h.pct(k)}={h.pct(v)}" for k, v in call.query.items())
    r = requests.post(f"{server.url}?{qs}", headers={"x-acs-version": h.ECS_VERSION}, timeout=10)
    body = h.assert_error(r, "MissingParameter", 400)
    assert '"Version"' in body["Message"]


# ---------------------------------------------------------------- ACS3 (HMAC-SHA256)


def test_acs3_refuses_a_repeated_query_key(server, res):
    """The canonical query sorts a repeated key's values, so `Name=a&Name=b` and `Name=b&Name=a`
    carry one signature; whichever value ran would be the sender's choice, not the signer's."""
    vpc_id = res.vpc(cidr_block="10.71.0.0/16")
    a, b = f"sg-a-{uuid.uuid4().hex[:6]}", f"sg-b-{uuid.uuid4().hex[:6]}"
    for order in ([a, b], [b, a]):
        query = [("RegionId", R), ("VpcId", vpc_id)] + [("SecurityGroupName", n) for n in order]
        r = h.acs3_raw(
            server.endpoint, h.ROOT_AK, h.ROOT_SECRET,
            action="CreateSecurityGroup", version=h.ECS_VERSION, query=query,
        ).send()
        body = h.assert_error(r, "InvalidParameter", 400)
        assert "SecurityGroupName" in body["Message"]
    assert group_names(server.endpoint, vpc_id) == []


def test_acs3_form_body_needs_a_signed_content_type(server):
    body = f"RegionId={R}".encode()
    unsigned = h.acs3_raw(
        server.endpoint, h.ROOT_AK, h.ROOT_SECRET,
        action="DescribeZones", version=h.ECS_VERSION, body=body,
        content_type="application/x-www-form-urlencoded", sign_content_type=False,
    ).send()
    resp = h.assert_error(unsigned, "IncompleteSignature", 400)
    assert "content-type" in resp["Message"]
    signed = h.acs3_raw(
        server.endpoint, h.ROOT_AK, h.ROOT_SECRET,
        action="DescribeZones", version=h.ECS_VERSION, body=body,
        content_type="application/x-www-form-urlencoded", sign_content_type=True,
    ).send()
    assert signed.status_code == 200, signed.text
    assert signed.json()["Zones"]["Zone"]


def test_acs3_a_body_not_read_as_parameters_may_leave_content_type_unsigned(server):
    """Without a form content-type the body is only hashed, never read: nothing to bind."""
    r = h.acs3_raw(
        server.endpoint, h.ROOT_AK, h.ROOT_SECRET,
        action="DescribeRegions", version=h.ECS_VERSION, query=[("RegionId", R)],
    ).send()
    assert r.status_code == 200, r.text


def test_acs3_action_parameter_must_agree_with_the_signed_header(server):
    r = h.acs3_raw(
        server.endpoint, h.ROOT_AK, h.ROOT_SECRET,
        action="DescribeRegions", version=h.ECS_VERSION,
        query=[("Action", "DescribeZones"), ("RegionId", R)],
    ).send()
    body = h.assert_error(r, "InvalidParameter", 400)
    assert "x-acs-action" in body["Message"]
    same = h.acs3_raw(
        server.endpoint, h.ROOT_AK, h.ROOT_SECRET,
        action="DescribeRegions", version=h.ECS_VERSION,
        query=[("Action", "DescribeRegions")],
    ).send()
    assert same.status_code == 200, same.text
    assert "Regions" in same.json()
