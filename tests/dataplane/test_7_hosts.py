"""The one host of `--dataplane linux` is a dedicated host, `local`, in every zone: listed by
DescribeDedicatedHosts while its agent polls, and where every instance is placed."""

import json
import os

import pytest
from alibabacloud_ecs20140526 import models as em

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402


def hosts(api):
    return api.ecs.describe_dedicated_hosts(
        em.DescribeDedicatedHostsRequest(region_id=d.REGION)).body.dedicated_hosts.dedicated_host


def test_the_local_host_serves_every_zone_and_takes_the_instances(dp, api, procs):
    # The in-process agent registers on its first round.
    listed = d.h.wait_for(lambda: hosts(api), lambda hs: len(hs) == 3, timeout=10.0, what="local registered")
    assert sorted(x.zone_id for x in listed) == ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    assert {(x.dedicated_host_name, x.status) for x in listed} == {("local", "Available")}
    in_h = next(x for x in listed if x.zone_id == "cn-hangzhou-h")
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    server, client = api.instance(sw, sg), api.instance(sw, sg)
    after = next(x for x in hosts(api) if x.zone_id == "cn-hangzhou-h")
    assert after.dedicated_host_id == in_h.dedicated_host_id
    assert {i.instance_id for i in after.instances.instance} == {server, client}
    assert after.capacity.available_vcpus == after.capacity.total_vcpus - 4
    # Placed by the server, not asked for: DescribeInstances shows no host, as on Alibaba.
    got = api.ecs.describe_instances(em.DescribeInstancesRequest(
        region_id=d.REGION, instance_ids=json.dumps([server, client]))).body.instances.instance
    assert {i.dedicated_host_attribute.dedicated_host_id for i in got} == {""}
    # Placed instances are still this agent's: traffic flows.
    procs.echo(server, "S")
    assert d.tag_of(d.ask_one(client, api.ip_of(server))) == "S"
