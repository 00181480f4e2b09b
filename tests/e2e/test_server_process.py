"""Server processes of their own: the generated root key (no ENI_ROOT_* variables) and state
kept across a restart. Each test starts and stops its own `eni serve` on a fresh data dir."""

import json
import stat

import pytest
from alibabacloud_ecs20140526 import models as ecs_m
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_m

import e2e_helpers as h

R = h.REGION


@pytest.fixture
def own_server(tmp_path):
    started = []

    def start(data_dir, root_key=(h.ROOT_AK, h.ROOT_SECRET)):
        s = h.EniServer(data_dir, root_key=root_key).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_generated_root_credentials(own_server, tmp_path):
    data = tmp_path / "data"
    srv = own_server(data, root_key=None)
    cred_file = data / "root-credentials.json"
    assert cred_file.is_file()
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600
    creds = json.loads(cred_file.read_text())
    assert set(creds) >= {"AccountId", "AccessKeyId", "AccessKeySecret"}
    assert creds["AccessKeyId"] != h.ROOT_AK
    # Printed once on stdout, before the 'listening on' line.
    printed = "\n".join(srv.stdout_lines)
    assert creds["AccessKeyId"] in printed and creds["AccessKeySecret"] in printed

    client = h.ecs_client(srv.endpoint, creds["AccessKeyId"], creds["AccessKeySecret"])
    regions = client.describe_regions(ecs_m.DescribeRegionsRequest()).body.regions.region
    assert {r.region_id for r in regions} == {"cn-hangzhou", "cn-beijing"}
    # The session's fixed key means nothing to this server.
    other = h.ecs_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
    with pytest.raises(ClientException) as ei:
        other.describe_regions(ecs_m.DescribeRegionsRequest())
    assert h.tea_error(ei.value)[:2] == ("InvalidAccessKeyId.NotFound", 404)

    # A restart keeps the generated key and does not print or rewrite it.
    assert srv.stop() == 0
    srv2 = own_server(data, root_key=None)
    assert creds["AccessKeySecret"] not in "\n".join(srv2.stdout_lines)
    assert json.loads(cred_file.read_text()) == creds
    client = h.ecs_client(srv2.endpoint, creds["AccessKeyId"], creds["AccessKeySecret"])
    assert client.describe_regions(ecs_m.DescribeRegionsRequest()).status_code == 200


def test_restart_keeps_state(own_server, tmp_path):
    data = tmp_path / "data"
    srv = own_server(data)
    c = h.vpc_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
    vpc_id = c.create_vpc(vpc_m.CreateVpcRequest(region_id=R, cidr_block="10.7.0.0/16", vpc_name="persisted")).body.vpc_id
    vsw_id = c.create_vswitch(
        vpc_m.CreateVSwitchRequest(region_id=R, vpc_id=vpc_id, zone_id="cn-hangzhou-h", cidr_block="10.7.1.0/24")
    ).body.v_switch_id
    acct = srv.create_account()
    assert srv.stop() == 0

    srv2 = own_server(data)
    c = h.vpc_client(srv2.endpoint, h.ROOT_AK, h.ROOT_SECRET)
    (v,) = c.describe_vpcs(vpc_m.DescribeVpcsRequest(region_id=R, vpc_id=vpc_id)).body.vpcs.vpc
    assert (v.vpc_id, v.vpc_name, v.cidr_block) == (vpc_id, "persisted", "10.7.0.0/16")
    assert v.v_switch_ids.v_switch_id == [vsw_id]
    (s,) = c.describe_vswitches(vpc_m.DescribeVSwitchesRequest(vpc_id=vpc_id)).body.v_switches.v_switch
    assert (s.v_switch_id, s.cidr_block, s.available_ip_address_count) == (vsw_id, "10.7.1.0/24", 252)
    # The account made with `eni account create` survives too.
    other = h.vpc_client(srv2.endpoint, acct["AccessKeyId"], acct["AccessKeySecret"])
    assert other.describe_vpcs(vpc_m.DescribeVpcsRequest(region_id=R)).body.total_count == 0

    c.delete_vswitch(vpc_m.DeleteVSwitchRequest(region_id=R, v_switch_id=vsw_id))
    c.delete_vpc(vpc_m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))
    assert c.describe_vpcs(vpc_m.DescribeVpcsRequest(region_id=R, vpc_id=vpc_id)).body.total_count == 0
