"""Data-plane hosts as Alibaba dedicated hosts: agents register through the internal API
(`PUT /internal/v1/hosts/{host}`), DescribeDedicatedHosts lists them, RunInstances and
CreateInstance place instances on them (pinned with DedicatedHostId, else on the host of the
zone with the most vCPUs free), and DescribeInstances shows DedicatedHostAttribute where a
dedicated host was asked for (DedicatedHostId or Tenancy=host).

Hosts are server-wide, so every test here runs a server of its own, with `--dataplane agents`
(placement is for a data plane: a server without one places only what asks for a host).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests
from alibabacloud_ecs20140526 import models as em
from alibabacloud_tea_openapi.exceptions import ClientException

import e2e_helpers as h
from conftest import Cloud, Resources

ZONE_H, ZONE_K = "cn-hangzhou-h", "cn-hangzhou-j"


def own_server(tmp_path, *extra: str):
    """A server of this test's own, with its clients and a way to register hosts."""
    srv = h.EniServer(tmp_path / "data", extra_args=["--dataplane", "agents", *extra]).start()
    ecs = h.ecs_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
    cloud = Cloud(ecs, Resources(h.vpc_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)))
    token = (srv.data_dir / "agent-token").read_text().strip()

    def register(name: str, zone: str, vcpus: int, underlay: str = "192.0.2.1", auth: str | None = None):
        return requests.put(f"http://{srv.endpoint}/internal/v1/hosts/{name}",
                            headers={"Authorization": f"Bearer {auth or token}"},
                            json={"zone_id": zone, "underlay_address": underlay, "capacity_vcpus": vcpus},
                            timeout=10)

    def poll(name: str):
        r = requests.get(f"http://{srv.endpoint}/internal/v1/hosts/{name}/desired",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200, r.text

    def remove(name: str, zone: str | None = None, auth: str | None = None):
        return requests.delete(f"http://{srv.endpoint}/internal/v1/hosts/{name}",
                               params={"zone_id": zone} if zone else None,
                               headers={"Authorization": f"Bearer {auth or token}"}, timeout=10)

    cloud.register, cloud.poll, cloud.remove, cloud.srv = register, poll, remove, srv
    return cloud


@pytest.fixture
def own(tmp_path):
    cloud = own_server(tmp_path)
    yield cloud
    cloud.srv.stop()


@pytest.fixture
def quick(tmp_path):
    """As `own`, with hosts silent for 2 s turning UnderAssessment."""
    cloud = own_server(tmp_path, "--host-silence-timeout", "2")
    yield cloud
    cloud.srv.stop()


def hosts(cloud: Cloud, **kw) -> list:
    kw.setdefault("region_id", h.REGION)
    return cloud.ecs.describe_dedicated_hosts(em.DescribeDedicatedHostsRequest(**kw)).body.dedicated_hosts.dedicated_host


def error_of(call) -> ClientException:
    with pytest.raises(ClientException) as e:
        call()
    return e.value


def test_without_hosts_instances_have_none(own):
    v = own.vpc()
    vsw = own.vswitch(v, "10.0.1.0/24")
    sg = own.group(v)
    assert hosts(own) == []
    i = own.instance(vsw, [sg])
    attr = own.instance_get(i).dedicated_host_attribute
    assert (attr.dedicated_host_id, attr.dedicated_host_name) == ("", "")
    # Pinned to a host that does not exist: refused, nothing made.
    before = own.describe_instances().total_count
    e = error_of(lambda: own.run(vsw, [sg], dedicated_host_id="dh-bp1nonexistent00000"))
    assert (e.code, e.status_code) == ("InvalidDedicatedHostId.NotFound", 400), e
    assert own.describe_instances().total_count == before
    # Asking for any dedicated host where there is none: refused too.
    e = error_of(lambda: own.run(vsw, [sg], tenancy="host"))
    assert (e.code, e.status_code) == ("NoAvaliableDedicatedHost", 400), e
    e = error_of(lambda: own.run(vsw, [sg], tenancy="shared"))
    assert e.code.startswith("InvalidParameter"), e
    assert own.describe_instances().total_count == before


def test_registered_hosts_are_listed_and_filtered(own):
    r = own.register("rack-a", ZONE_H, 8)
    assert r.status_code == 200, r.text
    a = r.json()["DedicatedHostId"]
    assert a.startswith("dh-")
    assert own.register("rack-b", ZONE_H, 4).status_code == 200
    assert own.register("rack-a", ZONE_K, 16).status_code == 200
    # Registering again keeps the ID and takes the new address and capacity.
    again = own.register("rack-a", ZONE_H, 12, underlay="192.0.2.7")
    assert again.json()["DedicatedHostId"] == a
    listed = hosts(own)
    assert [(x.dedicated_host_name, x.zone_id) for x in listed] == [("rack-a", ZONE_H), ("rack-b", ZONE_H), ("rack-a", ZONE_K)]
    first = listed[0]
    assert (first.dedicated_host_id, first.status, first.region_id) == (a, "Available", h.REGION)
    assert (first.capacity.total_vcpus, first.capacity.available_vcpus) == (12, 12)
    assert first.instances.instance == []
    # Filters: IDs as a JSON array (Terraform) or a comma list, zone, name, status.
    assert [x.dedicated_host_id for x in hosts(own, dedicated_host_ids=json.dumps([a]))] == [a]
    assert [x.dedicated_host_id for x in hosts(own, dedicated_host_ids=a)] == [a]
    assert [x.zone_id for x in hosts(own, zone_id=ZONE_K)] == [ZONE_K]
    assert len(hosts(own, dedicated_host_name="rack-a")) == 2
    assert hosts(own, status="UnderAssessment") == []
    assert hosts(own, status="PermanentFailure") == []
    assert hosts(own, region_id="cn-beijing") == []
    # Paged: each page holds its hosts, with their instances; TotalCount counts them all.
    def page(n):
        return own.ecs.describe_dedicated_hosts(em.DescribeDedicatedHostsRequest(
            region_id=h.REGION, page_size=2, page_number=n)).body
    p1, p2 = page(1), page(2)
    assert (p1.total_count, p2.total_count) == (3, 3)
    got = [x.dedicated_host_id for x in p1.dedicated_hosts.dedicated_host + p2.dedicated_hosts.dedicated_host]
    assert got == [x.dedicated_host_id for x in listed]
    assert len(p1.dedicated_hosts.dedicated_host) == 2
    # Bad filters: Alibaba's codes for DescribeDedicatedHosts.
    e = error_of(lambda: hosts(own, status="Broken"))
    assert (e.code, e.status_code) == ("InvalidStatus.ValueNotSupported", 400), e
    e = error_of(lambda: hosts(own, zone_id="cn-hangzhou-zz"))
    assert (e.code, e.status_code) == ("InvalidZone.NotFound", 404), e
    e = error_of(lambda: hosts(own, dedicated_host_ids=json.dumps([f"dh-{k}" for k in range(101)])))
    assert (e.code, e.status_code) == ("InvalidDedicatedHostIds.Malformed", 403), e
    e = error_of(lambda: hosts(own, dedicated_host_ids='["dh-a"'))
    assert (e.code, e.status_code) == ("InvalidDedicatedHostIds.Malformed", 403), e


def test_instances_spread_over_hosts_and_a_full_zone_refuses(own):
    v = own.vpc()
    vsw = own.vswitch(v, "10.0.1.0/24", zone=ZONE_H)
    vsw_k = own.vswitch(v, "10.0.2.0/24", zone=ZONE_K)
    sg = own.group(v)
    big = own.register("big", ZONE_H, 8).json()["DedicatedHostId"]
    small = own.register("small", ZONE_H, 4).json()["DedicatedHostId"]
    other = own.register("other", ZONE_K, 64).json()["DedicatedHostId"]
    # ecs.g7.large takes 2 vCPUs; each goes to the host with the most free, the older one on a
    # tie: big (8 free), big (6), big (4, tied with small), small (4), big (2, tied).
    ids = own.run(vsw, [sg], amount=5)
    by_id = {x.dedicated_host_id: x for x in hosts(own)}
    on = {x.instance_id: dh for dh, x_ in by_id.items() for x in x_.instances.instance}
    assert [on.get(i) for i in ids] == [big, big, big, small, big], on
    # Placed by the server, not asked for: DescribeInstances shows no host, as on Alibaba
    # (Terraform reads DedicatedHostAttribute into a field that forces a new instance).
    for i in ids:
        got = own.instance_get(i)
        assert got.dedicated_host_attribute.dedicated_host_id == "", i
        assert got.dedicated_instance_attribute.tenancy == "default", i
    assert by_id[big].capacity.available_vcpus == 0
    assert by_id[small].capacity.available_vcpus == 2
    assert sorted(x.instance_id for x in by_id[big].instances.instance + by_id[small].instances.instance) == sorted(ids)
    # Another account sees the hosts and their room, not this account's instances.
    peer = own.srv.create_account()
    theirs = Cloud(h.ecs_client(own.srv.endpoint, peer["AccessKeyId"], peer["AccessKeySecret"]),
                   Resources(h.vpc_client(own.srv.endpoint, peer["AccessKeyId"], peer["AccessKeySecret"])))
    seen = {x.dedicated_host_id: x for x in hosts(theirs)}
    assert seen[big].capacity.available_vcpus == 0 and seen[big].instances.instance == []
    # One more fits (2 vCPUs on small); then the zone is full: refused, nothing made.
    own.instance(vsw, [sg])
    before = own.describe_instances().total_count
    e = error_of(lambda: own.run(vsw, [sg]))
    assert (e.code, e.status_code) == ("NoAvaliableDedicatedHost", 400), e
    e = error_of(lambda: own.create_instance(vsw, sg))
    assert e.code == "NoAvaliableDedicatedHost", e
    assert own.describe_instances().total_count == before
    # A batch that does not fit whole makes nothing: 64 vCPUs take four 16-vCPU instances
    # and refuse the fifth.
    e = error_of(lambda: own.run(vsw_k, [sg], instance_type="ecs.g7.4xlarge", amount=5))
    assert e.code == "NoAvaliableDedicatedHost", e
    assert own.describe_instances().total_count == before
    assert [x.capacity.available_vcpus for x in hosts(own, zone_id=ZONE_K)] == [64]
    # Pinned: to a host of another zone, refused; to one with room, there.
    e = error_of(lambda: own.run(vsw, [sg], dedicated_host_id=other))
    assert (e.code, e.status_code) == ("ResourcesNotInSameZone", 403), e
    k = own.instance(vsw_k, [sg], dedicated_host_id=other)
    pinned = own.instance_get(k)
    assert (pinned.dedicated_host_attribute.dedicated_host_id, pinned.dedicated_host_attribute.dedicated_host_name) == (other, "other")
    assert pinned.dedicated_instance_attribute.tenancy == "host"
    # Tenancy=host without an ID: the server picks the host, and shows it.
    anyhost = own.instance(vsw_k, [sg], tenancy="host")
    assert own.instance_get(anyhost).dedicated_host_attribute.dedicated_host_id == other
    # Deleting frees the room.
    own.ecs.delete_instances(em.DeleteInstancesRequest(region_id=h.REGION, instance_id=[ids[0]], force=True))
    h.wait_for(lambda: own.instance_status(ids[0]), lambda s: s is None, what="instance gone")
    freed = {x.dedicated_host_id: x for x in hosts(own)}
    assert freed[big].capacity.available_vcpus + freed[small].capacity.available_vcpus == 2
    own.instance(vsw, [sg])


def test_a_silent_host_turns_under_assessment_and_takes_nothing(quick):
    own = quick
    v = own.vpc()
    vsw = own.vswitch(v, "10.0.1.0/24")
    sg = own.group(v)
    dh = own.register("quiet", ZONE_H, 8).json()["DedicatedHostId"]
    own.poll("quiet")
    assert [x.status for x in hosts(own)] == ["Available"]
    # The server was started with --host-silence-timeout 2.
    time.sleep(2.5)
    assert [x.status for x in hosts(own)] == ["UnderAssessment"]
    assert [x.dedicated_host_id for x in hosts(own, status="UnderAssessment")] == [dh]
    e = error_of(lambda: own.run(vsw, [sg]))
    assert e.code == "NoAvaliableDedicatedHost", e
    e = error_of(lambda: own.run(vsw, [sg], dedicated_host_id=dh))
    assert e.code == "InvalidDedicatedHostStatus.NotSupport", e
    # Its agent calls again: Available, and it takes instances.
    own.poll("quiet")
    assert [x.status for x in hosts(own)] == ["Available"]
    i = own.instance(vsw, [sg], dedicated_host_id=dh)
    assert own.instance_get(i).dedicated_host_attribute.dedicated_host_id == dh


def test_registration_is_checked(own):
    assert own.register("rack", "cn-nowhere-z", 8).status_code == 404
    bad = own.register("rack", ZONE_H, 8, underlay="not-an-address")
    assert bad.status_code == 400 and bad.json()["Code"].startswith("InvalidParameter"), bad.text
    assert own.register("bad host!", ZONE_H, 8).status_code == 400
    assert own.register("rack", ZONE_H, 8, auth="wrong-token").status_code in (401, 403)
    r = requests.put(f"http://{own.srv.endpoint}/internal/v1/hosts/rack",
                     headers={"Authorization": f"Bearer {(own.srv.data_dir / 'agent-token').read_text().strip()}"},
                     data=b"{\"zone_id\": 1}", timeout=10)
    assert r.status_code == 400, r.text
    assert hosts(own) == []


def test_dataplane_agents_waits_for_the_agents(tmp_path):
    # --dataplane agents: no data plane in the server; an attach completes when an agent
    # reports it, so with no agent it stays Attaching (where no data plane completes it at once).
    srv = h.EniServer(tmp_path / "data", extra_args=["--dataplane", "agents", "--transition-delay-ms", "0"]).start()
    try:
        cloud = Cloud(h.ecs_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET),
                      Resources(h.vpc_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)))
        v = cloud.vpc()
        vsw = cloud.vswitch(v, "10.0.1.0/24")
        sg = cloud.group(v)
        i = cloud.instance(vsw, [sg])
        e = cloud.eni(vsw, [sg]).network_interface_id
        cloud.attach(e, i, wait=False)
        time.sleep(1)
        assert cloud.eni_status(e) == "Attaching"
    finally:
        srv.stop()


def test_a_host_gone_for_good_is_removed_once_it_holds_no_instance(own):
    v = own.vpc()
    vsw = own.vswitch(v, "10.0.1.0/24")
    sg = own.group(v)
    dh = own.register("gone", ZONE_H, 8).json()["DedicatedHostId"]
    own.register("gone", ZONE_K, 8)
    i = own.instance(vsw, [sg])
    assert own.remove("gone", auth="wrong-token").status_code in (401, 403)
    busy = own.remove("gone", ZONE_H)
    assert (busy.status_code, busy.json()["Code"]) == (400, "DependencyViolation"), busy.text
    assert len(hosts(own)) == 2
    # Its zone's other host goes at once.
    assert own.remove("gone", ZONE_K).status_code == 204
    assert [x.dedicated_host_id for x in hosts(own)] == [dh]
    own.ecs.delete_instances(em.DeleteInstancesRequest(region_id=h.REGION, instance_id=[i], force=True))
    h.wait_for(lambda: own.instance_status(i), lambda s: s is None, what="instance gone")
    assert own.remove("gone").status_code == 204
    assert hosts(own) == []
    gone = own.remove("gone")
    assert (gone.status_code, gone.json()["Code"]) == (400, "InvalidDedicatedHostId.NotFound"), gone.text
    assert own.remove("gone", auth=None, zone="cn-nowhere-z").status_code == 400
    # A zone with no host again: instances are made, with no host.
    j = own.instance(vsw, [sg])
    assert own.instance_get(j).dedicated_host_attribute.dedicated_host_id == ""
    # Registered again, it is a new host.
    assert own.register("gone", ZONE_H, 8).json()["DedicatedHostId"] != dh


def test_eni_host_remove_removes_a_host_from_the_command_line(own):
    """`eni host remove NAME [--zone Z] --data-dir D` (the server may be running): as the
    internal API's DELETE, refused while the host holds instances."""
    def remove(*args):
        out = subprocess.run(
            [h.eni_bin(), "host", "remove", *args, "--data-dir", str(own.srv.data_dir),
             *(["--database-url", own.srv.database_url] if own.srv.database_url else [])],
            capture_output=True, text=True, timeout=30, env=h._clean_env(None))
        return out.returncode, out.stdout, out.stderr

    v = own.vpc()
    vsw = own.vswitch(v, "10.0.1.0/24")
    sg = own.group(v)
    own.register("cli", ZONE_H, 8)
    own.register("cli", ZONE_K, 8)
    i = own.instance(vsw, [sg])
    rc, _, err = remove("cli")
    assert rc != 0 and "DependencyViolation" in err, err
    rc, out, err = remove("cli", "--zone", ZONE_K)
    assert rc == 0 and json.loads(out) == {"Removed": 1}, (out, err)
    own.ecs.delete_instances(em.DeleteInstancesRequest(region_id=h.REGION, instance_id=[i], force=True))
    h.wait_for(lambda: own.instance_status(i), lambda s: s is None, what="instance gone")
    rc, out, err = remove("cli")
    assert rc == 0 and json.loads(out) == {"Removed": 1}, (out, err)
    assert hosts(own) == []
    rc, _, err = remove("cli")
    assert rc != 0 and "InvalidDedicatedHostId.NotFound" in err, err
