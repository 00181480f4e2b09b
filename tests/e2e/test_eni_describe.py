"""DescribeNetworkInterfaces (every filter, both paging styles), DescribeNetworkInterfaceAttribute
and DescribeInstances (JSON-array InstanceIds, Status, both paging styles), and the response
shapes: types as the SDK models declare them, list wrappers present even when empty."""

import json
from types import SimpleNamespace

import pytest
from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h

R = h.REGION


def ids(body):
    return sorted(e.network_interface_id for e in body.network_interface_sets.network_interface_set)


@pytest.fixture
def world(cloud, net, unique):
    """An instance in vsw_a (g1) with e3 (vsw_a, g2) attached; e1 (vsw_a, g1, tags env=prod) and
    e2 (vsw_b, g2, 2 secondary IPs, tag env=dev) Available."""
    inst = cloud.instance(net.vsw_a, [net.g1])
    e1 = cloud.eni(net.vsw_a, [net.g1], network_interface_name=f"{unique}-1", tags={"env": "prod", "team": unique})
    e2 = cloud.eni(net.vsw_b, [net.g2], network_interface_name=f"{unique}-2", secondary_private_ip_address_count=2,
                   tags={"env": "dev", "team": unique})
    e3 = cloud.eni(net.vsw_a, [net.g2], network_interface_name=f"{unique}-3")
    cloud.attach(e3.network_interface_id, inst)
    (p,) = cloud.describe_enis(instance_id=inst, type="Primary").network_interface_sets.network_interface_set
    return SimpleNamespace(
        net=net, inst=inst, name=unique, e1=e1, e2=e2, e3=e3, primary=p,
        i1=e1.network_interface_id, i2=e2.network_interface_id, i3=e3.network_interface_id, ip=p.network_interface_id,
    )


def test_filters(cloud, world):
    w, n = world, world.net
    d = cloud.describe_enis
    assert ids(d(network_interface_id=[w.i1, w.i2])) == sorted([w.i1, w.i2])
    assert ids(d(network_interface_id=[w.i1, "eni-doesnotexist000000000"])) == [w.i1]
    assert ids(d(instance_id=w.inst)) == sorted([w.ip, w.i3])
    assert ids(d(vpc_id=n.vpc)) == sorted([w.ip, w.i1, w.i2, w.i3])
    assert ids(d(v_switch_id=n.vsw_b)) == [w.i2]
    assert ids(d(v_switch_id=n.vsw_a)) == sorted([w.ip, w.i1, w.i3])
    # SecurityGroupId: secondary ENIs only (the primary ENI is in g1 too).
    assert ids(d(security_group_id=n.g2)) == sorted([w.i2, w.i3])
    assert ids(d(security_group_id=n.g1)) == [w.i1]
    assert ids(d(primary_ip_address=w.e2.private_ip_address)) == [w.i2]
    secondary_ip = w.e2.private_ip_sets.private_ip_set[1].private_ip_address
    assert ids(d(primary_ip_address=secondary_ip)) == []
    assert ids(d(primary_ip_address=w.primary.private_ip_address)) == [w.ip]
    assert ids(d(network_interface_name=f"{w.name}-1")) == [w.i1]
    assert ids(d(network_interface_name=w.name)) == []  # exact match
    assert ids(d(private_ip_address=[secondary_ip])) == [w.i2]
    assert ids(d(private_ip_address=[secondary_ip, w.e1.private_ip_address])) == sorted([w.i1, w.i2])
    assert ids(d(vpc_id=n.vpc, type="Primary")) == [w.ip]
    assert ids(d(vpc_id=n.vpc, type="Secondary")) == sorted([w.i1, w.i2, w.i3])
    assert ids(d(vpc_id=n.vpc, status="InUse")) == sorted([w.ip, w.i3])
    assert ids(d(vpc_id=n.vpc, status="Available")) == sorted([w.i1, w.i2])
    assert ids(d(vpc_id=n.vpc, status="Detaching")) == []

    def tag(k, v=None):
        return [em.DescribeNetworkInterfacesRequestTag(key=k, value=v)]

    assert ids(d(tag=tag("team", w.name))) == sorted([w.i1, w.i2])
    assert ids(d(tag=tag("team", w.name) + tag("env", "prod"))) == [w.i1]
    assert ids(d(vpc_id=n.vpc, tag=tag("env", "dev"))) == [w.i2]
    assert ids(d(tag=tag("team", w.name + "-none"))) == []
    # Filters combine.
    assert ids(d(vpc_id=n.vpc, v_switch_id=n.vsw_a, status="Available")) == [w.i1]
    assert ids(d(instance_id=w.inst, type="Secondary")) == [w.i3]


def test_status_filter_sees_transitions(cloud, world):
    d = cloud.describe_enis
    cloud.detach(world.i3, world.inst, wait=False)
    assert ids(d(vpc_id=world.net.vpc, status="Detaching")) == [world.i3]
    cloud.wait_eni(world.i3, "Available")
    assert ids(d(vpc_id=world.net.vpc, status="Detaching")) == []
    assert ids(d(instance_id=world.inst)) == [world.ip]
    cloud.attach(world.i3, world.inst, wait=False)
    assert ids(d(vpc_id=world.net.vpc, status="Attaching")) == [world.i3]
    cloud.delete_eni(world.i1, wait=False)
    assert ids(d(vpc_id=world.net.vpc, status="Deleting")) == [world.i1]


def test_shapes_through_sdk_models(cloud, world):
    (e,) = cloud.describe_enis(network_interface_id=[world.i3]).network_interface_sets.network_interface_set
    assert type(e.owner_id) is str and e.owner_id.isdigit()
    assert type(e.attachment.device_index) is int and e.attachment.device_index == 1
    assert e.attachment.instance_id == world.inst
    assert all(type(p.primary) is bool for p in e.private_ip_sets.private_ip_set)
    assert [p.primary for p in e.private_ip_sets.private_ip_set] == [True]
    assert e.ipv_6sets.ipv_6set == [] and e.ipv_4prefix_sets.ipv_4prefix_set == [] and e.ipv_6prefix_sets.ipv_6prefix_set == []
    assert e.tags.tag == []
    assert type(e.delete_on_release) is bool and type(e.service_managed) is bool and type(e.source_dest_check) is bool
    assert type(e.queue_number) is int
    assert e.creation_time.endswith("Z") and len(e.creation_time) == len("2024-01-01T12:00:00Z")
    assert e.mac_address.startswith("00:16:3e:")

    (e2,) = cloud.describe_enis(network_interface_id=[world.i2]).network_interface_sets.network_interface_set
    assert [p.primary for p in e2.private_ip_sets.private_ip_set] == [True, False, False]
    assert e2.instance_id == ""

    a = cloud.eni_attr(world.i2)
    assert (a.network_interface_id, a.status, a.type, a.v_switch_id) == (world.i2, "Available", "Secondary", world.net.vsw_b)
    assert type(a.owner_id) is str
    assert [p.private_ip_address for p in a.private_ip_sets.private_ip_set] == [
        p.private_ip_address for p in e2.private_ip_sets.private_ip_set]
    assert {t.tag_key: t.tag_value for t in a.tags.tag} == {"env": "dev", "team": world.name}
    assert a.network_interface_traffic_config.network_interface_traffic_mode == "Standard"

    h.expect_tea_error(lambda: cloud.eni_attr("eni-doesnotexist000000000"), "InvalidEniId.NotFound", 404)

    empty = cloud.describe_enis(network_interface_id=["eni-doesnotexist000000000"])
    assert empty.network_interface_sets.network_interface_set == []
    assert (empty.total_count, empty.next_token) == (0, "")


def test_raw_json_wrappers(server, cloud, world):
    """The JSON itself: every list wrapper is there even when empty, with the declared types."""
    def call(action, params):
        r = h.acs3_call(server.endpoint, action, h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET, {"RegionId": R, **params}).send()
        assert r.status_code == 200, r.text
        return r.json()

    body = call("DescribeNetworkInterfaces", {"NetworkInterfaceId.1": world.i1})
    (e,) = body["NetworkInterfaceSets"]["NetworkInterfaceSet"]
    for k, inner in (("Ipv6Sets", "Ipv6Set"), ("Ipv4PrefixSets", "Ipv4PrefixSet"), ("Ipv6PrefixSets", "Ipv6PrefixSet"),
                     ("PrivateIpSets", "PrivateIpSet"), ("SecurityGroupIds", "SecurityGroupId"), ("Tags", "Tag")):
        assert isinstance(e[k][inner], list), (k, e[k])
    assert e["Ipv6Sets"]["Ipv6Set"] == [] and e["Ipv4PrefixSets"]["Ipv4PrefixSet"] == []
    assert isinstance(e["OwnerId"], str) and isinstance(e["DeleteOnRelease"], bool)
    assert e["PrivateIpSets"]["PrivateIpSet"][0]["Primary"] is True
    assert isinstance(body["TotalCount"], int) and body["NextToken"] == ""

    none = call("DescribeNetworkInterfaces", {"NetworkInterfaceId.1": "eni-doesnotexist000000000"})
    assert none["NetworkInterfaceSets"] == {"NetworkInterfaceSet": []} and none["TotalCount"] == 0

    (i,) = call("DescribeInstances", {"InstanceIds": json.dumps([world.inst])})["Instances"]["Instance"]
    assert isinstance(i["Cpu"], int) and isinstance(i["Memory"], int)
    assert i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"] == [world.primary.private_ip_address]
    for k, inner in (("PublicIpAddress", "IpAddress"), ("InnerIpAddress", "IpAddress"), ("OperationLocks", "LockReason"),
                     ("Tags", "Tag"), ("SecurityGroupIds", "SecurityGroupId"), ("NetworkInterfaces", "NetworkInterface")):
        assert isinstance(i[k][inner], list), (k, i[k])
    nics = i["NetworkInterfaces"]["NetworkInterface"]
    assert [n["Type"] for n in nics] == ["Primary", "Secondary"]
    for n in nics:
        assert n["Ipv6Sets"] == {"Ipv6Set": []} and n["Ipv4PrefixSets"] == {"Ipv4PrefixSet": []}
        assert isinstance(n["PrivateIpSets"]["PrivateIpSet"][0]["Primary"], bool)
    no_instances = call("DescribeInstances", {"InstanceIds": json.dumps(["i-doesnotexist00000000000"])})
    assert no_instances["Instances"] == {"Instance": []} and no_instances["TotalCount"] == 0


# ---------------------------------------------------------------- paging


@pytest.fixture
def twelve(cloud, net):
    for _ in range(12):
        cloud.eni(net.vsw_a, [net.g1])
    return set(cloud.enis)


def test_token_paging_walks_every_eni_once(cloud, net, twelve):
    seen, token, pages = [], None, 0
    while True:
        kw = {"next_token": token} if token else {}
        body = cloud.describe_enis(vpc_id=net.vpc, max_results=10, **kw)
        page = [e.network_interface_id for e in body.network_interface_sets.network_interface_set]
        pages += 1
        seen += page
        token = body.next_token
        if not token:
            break
        assert len(page) == 10
    assert pages == 2
    assert len(seen) == 12 and set(seen) == twelve
    # MaxResults below 10 counts as 10; above 500 as 500.
    small = cloud.describe_enis(vpc_id=net.vpc, max_results=5)
    assert len(small.network_interface_sets.network_interface_set) == 10 and small.next_token
    large = cloud.describe_enis(vpc_id=net.vpc, max_results=1000)
    assert len(large.network_interface_sets.network_interface_set) == 12 and large.next_token == ""


def test_token_paging_returns_each_stable_eni_once_while_others_come_and_go(cloud, net, twelve):
    """NextToken is a cursor, not an offset: ENIs created and deleted during the walk shift
    nothing, and every ENI that exists for the whole walk comes exactly once."""
    stable = set(twelve)
    order = list(cloud.enis)
    seen, token, pages = [], None, 0
    while True:
        kw = {"next_token": token} if token else {}
        body = cloud.describe_enis(vpc_id=net.vpc, max_results=10, **kw)
        seen += [e.network_interface_id for e in body.network_interface_sets.network_interface_set]
        token = body.next_token
        if not token:
            break
        pages += 1
        # After the first page: delete two ENIs already seen (an offset would then skip two
        # unseen ones) and add two (which may come or not: they were not there throughout).
        for gone in order[:2]:
            cloud.ecs.delete_network_interface(em.DeleteNetworkInterfaceRequest(region_id=h.REGION, network_interface_id=gone))
            stable.discard(gone)
        for gone in order[:2]:  # (deleting passes through Deleting)
            h.wait_for(lambda: cloud.eni_get(gone), lambda e: e is None, what=f"{gone} gone")
        order = order[2:]
        for _ in range(2):
            cloud.eni(net.vsw_a, [net.g1])
    assert pages >= 1
    assert len(seen) == len(set(seen)), "an ENI came twice"
    assert stable <= set(seen), f"missed {stable - set(seen)}"


def test_total_count_follows_the_filters(cloud, net, twelve):
    tagged = cloud.eni(net.vsw_b, [net.g2], tags={"walk": "yes"}).network_interface_id
    assert cloud.describe_enis(vpc_id=net.vpc, page_size=5).total_count == 13
    assert cloud.describe_enis(v_switch_id=net.vsw_a, page_size=5).total_count == 12
    assert cloud.describe_enis(security_group_id=net.g2).total_count == 1
    body = cloud.describe_enis(tag=[em.DescribeNetworkInterfacesRequestTag(key="walk", value="yes")], vpc_id=net.vpc)
    assert body.total_count == 1 and body.network_interface_sets.network_interface_set[0].network_interface_id == tagged
    # In token mode TotalCount is the walk's: counted on its first page.
    first = cloud.describe_enis(vpc_id=net.vpc, max_results=10)
    assert first.total_count == 13 and first.next_token
    second = cloud.describe_enis(vpc_id=net.vpc, max_results=10, next_token=first.next_token)
    assert second.total_count == 13 and len(second.network_interface_sets.network_interface_set) == 3


def test_a_next_token_this_server_did_not_make_is_refused(cloud, net):
    from alibabacloud_tea_openapi.exceptions import ClientException

    with pytest.raises(ClientException) as ei:
        cloud.describe_enis(vpc_id=net.vpc, max_results=10, next_token="not-a-token")
    assert h.tea_error(ei.value)[:2] == ("InvalidParameter", 400)


def test_page_number_paging(cloud, net, twelve):
    seen = []
    for number, count in ((1, 5), (2, 5), (3, 2), (4, 0)):
        body = cloud.describe_enis(vpc_id=net.vpc, page_number=number, page_size=5)
        assert (body.total_count, body.page_number, body.page_size) == (12, number, 5)
        page = body.network_interface_sets.network_interface_set
        assert len(page) == count
        seen += [e.network_interface_id for e in page]
    assert len(seen) == 12 and set(seen) == twelve
    default = cloud.describe_enis(vpc_id=net.vpc)
    assert (default.page_number, default.page_size, default.total_count) == (1, 10, 12)
    assert len(default.network_interface_sets.network_interface_set) == 10


# ---------------------------------------------------------------- DescribeInstances


def test_describe_instances_filters_and_paging(ecs, cloud, net):
    ids_ = cloud.run(net.vsw_a, [net.g1], amount=3)
    stopped = cloud.create_instance(net.vsw_a, net.g1)
    all_ids = sorted(ids_ + [stopped])

    def inst_ids(body):
        return sorted(i.instance_id for i in body.instances.instance)

    two = cloud.describe_instances(instance_ids=json.dumps(ids_[:2]))
    assert inst_ids(two) == sorted(ids_[:2]) and two.total_count == 2
    assert inst_ids(cloud.describe_instances(instance_ids=json.dumps([ids_[0], "i-doesnotexist00000000000"]))) == [ids_[0]]
    assert inst_ids(cloud.describe_instances(vpc_id=net.vpc)) == all_ids
    assert inst_ids(cloud.describe_instances(vpc_id=net.vpc, status="Running")) == sorted(ids_)
    assert inst_ids(cloud.describe_instances(vpc_id=net.vpc, status="Stopped")) == [stopped]
    assert inst_ids(cloud.describe_instances(vpc_id=net.vpc, status="Pending")) == []
    assert inst_ids(cloud.describe_instances(v_switch_id=net.vsw_a, instance_type="ecs.g7.large")) == all_ids
    assert inst_ids(cloud.describe_instances(vpc_id=net.vpc, instance_type="ecs.g6.large")) == []

    seen, token = [], None
    while True:
        kw = {"next_token": token} if token else {}
        body = cloud.describe_instances(vpc_id=net.vpc, max_results=3, **kw)
        seen += [i.instance_id for i in body.instances.instance]
        token = body.next_token
        if not token:
            break
        assert len(body.instances.instance) == 3
    assert sorted(seen) == all_ids and len(seen) == 4

    seen = []
    for number, count in ((1, 3), (2, 1), (3, 0)):
        body = cloud.describe_instances(vpc_id=net.vpc, page_number=number, page_size=3)
        assert (body.total_count, body.page_number, body.page_size) == (4, number, 3)
        assert len(body.instances.instance) == count
        seen += [i.instance_id for i in body.instances.instance]
    assert sorted(seen) == all_ids


def test_describe_instances_by_address_and_group(cloud, net):
    a = cloud.instance(net.vsw_a, [net.g1])
    b = cloud.instance(net.vsw_a, [net.g2])
    ip_a = cloud.instance_get(a).vpc_attributes.private_ip_address.ip_address[0]

    def inst_ids(**kw):
        return sorted(i.instance_id for i in cloud.describe_instances(**kw).instances.instance)

    assert inst_ids(vpc_id=net.vpc, private_ip_addresses=json.dumps([ip_a])) == [a]
    assert inst_ids(vpc_id=net.vpc, security_group_id=net.g2) == [b]
    assert inst_ids(vpc_id=net.vpc, zone_id="cn-hangzhou-h") == sorted([a, b])
    assert inst_ids(vpc_id=net.vpc, zone_id="cn-hangzhou-i") == []
