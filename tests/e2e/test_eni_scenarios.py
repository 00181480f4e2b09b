"""The product scenarios of the ENI overview, end to end through the official SDKs: low-cost
failover, several private IPs on one instance, management and business traffic on separate
ENIs, and a small vSwitch filled to exhaustion by parallel clients. One legacy-SDK round trip."""

import ipaddress
import json
import threading

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException as LegacyServerException
from alibabacloud_ecs20140526 import models as em
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vm

import e2e_helpers as h

R = h.REGION


def ip_sets(e):
    return [(p.private_ip_address, p.primary) for p in e.private_ip_sets.private_ip_set]


def group_ids(e):
    return sorted(e.security_group_ids.security_group_id)


def tag_map(e):
    return {t.tag_key: t.tag_value for t in e.tags.tag}


def available_ips(vpc, vsw_id):
    (s,) = vpc.describe_vswitches(vm.DescribeVSwitchesRequest(region_id=R, v_switch_id=vsw_id)).body.v_switches.v_switch
    return s.available_ip_address_count


def assign(ecs, eni_id, **kw):
    return ecs.assign_private_ip_addresses(
        em.AssignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, **kw)
    ).body.assigned_private_ip_addresses_set


def unassign(ecs, eni_id, ips):
    return ecs.unassign_private_ip_addresses(
        em.UnassignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, private_ip_address=ips)
    )


# ---------------------------------------------------------------- (a) low-cost failover


def test_failover_moves_the_eni_unchanged(ecs, cloud, unique):
    v = cloud.vpc("10.20.0.0/16")
    vsw_a = cloud.vswitch(v, "10.20.1.0/24")
    vsw_b = cloud.vswitch(v, "10.20.2.0/24")  # same zone (cn-hangzhou-h), other vSwitch
    g1, g2 = cloud.group(v), cloud.group(v)
    inst_a = cloud.instance(vsw_a, [g1])
    inst_b = cloud.instance(vsw_b, [g1])

    created = cloud.eni(
        vsw_a, [g1, g2], secondary_private_ip_address_count=2, network_interface_name=unique,
        description="failover eni", tags={"app": "db", "role": "vip"},
    )
    eni_id = created.network_interface_id
    assert eni_id.startswith("eni-")
    assert (created.status, created.type, created.vpc_id, created.v_switch_id) == ("Available", "Secondary", v, vsw_a)
    assert created.zone_id == "cn-hangzhou-h"
    ips = ip_sets(created)
    assert [p for _, p in ips] == [True, False, False]
    assert ips[0][0] == created.private_ip_address
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.20.1.0/24") for ip, _ in ips)
    assert created.mac_address.startswith("00:16:3e:")
    assert group_ids(created) == sorted([g1, g2])
    assert tag_map(created) == {"app": "db", "role": "vip"}

    resp = cloud.attach(eni_id, inst_a, wait=False)
    assert resp.status_code == 200 and resp.body.request_id
    assert cloud.eni_status(eni_id) == "Attaching"
    on_a = cloud.wait_eni(eni_id, "InUse")
    assert on_a.instance_id == inst_a
    assert (on_a.attachment.instance_id, on_a.attachment.device_index) == (inst_a, 1)

    # Instance A fails: move the ENI.
    resp = cloud.detach(eni_id, inst_a, wait=False)
    assert resp.status_code == 200
    assert cloud.eni_status(eni_id) == "Detaching"
    free = cloud.wait_eni(eni_id, "Available")
    assert free.instance_id == ""

    cloud.attach(eni_id, inst_b, wait=False)
    assert cloud.eni_status(eni_id) == "Attaching"
    cloud.wait_eni(eni_id, "InUse")

    after = cloud.eni_attr(eni_id)
    assert after.instance_id == inst_b and after.attachment.instance_id == inst_b
    assert after.mac_address == created.mac_address
    assert ip_sets(after) == ips
    assert after.private_ip_address == created.private_ip_address
    assert group_ids(after) == sorted([g1, g2])
    assert (after.network_interface_name, after.description) == (unique, "failover eni")
    assert tag_map(after) == {"app": "db", "role": "vip"}
    assert (after.v_switch_id, after.vpc_id, after.type) == (vsw_a, v, "Secondary")

    b = cloud.instance_get(inst_b)
    nics = {n.network_interface_id: n for n in b.network_interfaces.network_interface}
    assert len(nics) == 2
    assert nics[eni_id].type == "Secondary"
    assert nics[eni_id].mac_address == created.mac_address
    assert nics[eni_id].primary_ip_address == created.private_ip_address
    assert [(p.private_ip_address, p.primary) for p in nics[eni_id].private_ip_sets.private_ip_set] == ips
    (primary_b,) = [n for n in nics.values() if n.type == "Primary"]
    assert ipaddress.ip_address(primary_b.primary_ip_address) in ipaddress.ip_network("10.20.2.0/24")
    # A keeps only its primary ENI.
    a = cloud.instance_get(inst_a)
    assert [n.type for n in a.network_interfaces.network_interface] == ["Primary"]


# ---------------------------------------------------------------- (b) several private IPs


def test_several_private_ips_on_one_instance(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])  # ecs.g7.large: 6 IPv4 per ENI
    (primary,) = cloud.describe_enis(instance_id=inst, type="Primary").network_interface_sets.network_interface_set
    pid, pip = primary.network_interface_id, primary.private_ip_address

    by_count = assign(ecs, pid, secondary_private_ip_address_count=2)
    assert by_count.network_interface_id == pid
    counted = by_count.private_ip_set.private_ip_address
    assert len(counted) == 2 and pip not in counted and len(set(counted)) == 2
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.0.1.0/24") for ip in counted)
    assert by_count.ipv_4prefix_set.ipv_4prefixes == []

    explicit = ["10.0.1.100", "10.0.1.101"]
    by_ip = assign(ecs, pid, private_ip_address=explicit)
    assert by_ip.private_ip_set.private_ip_address == explicit

    got = ip_sets(cloud.eni_get(pid))
    assert got[0] == (pip, True)
    assert sorted(ip for ip, p in got[1:] if p is False) == sorted(counted + explicit)
    assert len(got) == 5
    # DescribeInstances shows them on the primary ENI as well.
    (nic,) = cloud.instance_get(inst).network_interfaces.network_interface
    assert [(p.private_ip_address, p.primary) for p in nic.private_ip_sets.private_ip_set] == got

    resp = unassign(ecs, pid, counted)
    assert resp.status_code == 200 and resp.body.request_id
    assert ip_sets(cloud.eni_get(pid)) == [(pip, True)] + [(ip, False) for ip in explicit]

    # An unassigned address is free for anyone again.
    reuse = cloud.eni(net.vsw_a, [net.g1], primary_ip_address=counted[1])
    assert reuse.private_ip_address == counted[1]

    h.expect_tea_error(lambda: unassign(ecs, pid, [pip]), "InvalidIp.IpUnassigned", 403)
    # Neither an address that was just unassigned.
    h.expect_tea_error(lambda: unassign(ecs, pid, [counted[0]]), "InvalidIp.IpUnassigned", 403)
    assert ip_sets(cloud.eni_get(pid))[0] == (pip, True)


# ---------------------------------------------------------------- (c) management + business


def test_management_and_business_traffic(cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])
    business = cloud.eni(net.vsw_b, [net.g2], network_interface_name="business").network_interface_id
    cloud.attach(business, inst)

    enis = cloud.describe_enis(instance_id=inst).network_interface_sets.network_interface_set
    by_type = {e.type: e for e in enis}
    assert sorted(by_type) == ["Primary", "Secondary"]
    mgmt, biz = by_type["Primary"], by_type["Secondary"]
    assert (mgmt.v_switch_id, group_ids(mgmt), mgmt.status) == (net.vsw_a, [net.g1], "InUse")
    assert mgmt.attachment.device_index == 0 and mgmt.instance_id == inst
    assert ipaddress.ip_address(mgmt.private_ip_address) in ipaddress.ip_network("10.0.1.0/24")
    assert (biz.network_interface_id, biz.v_switch_id, group_ids(biz)) == (business, net.vsw_b, [net.g2])
    assert biz.attachment.device_index == 1 and biz.instance_id == inst
    assert ipaddress.ip_address(biz.private_ip_address) in ipaddress.ip_network("10.0.2.0/24")
    assert mgmt.vpc_id == biz.vpc_id == net.vpc and mgmt.zone_id == biz.zone_id

    i = cloud.instance_get(inst)
    assert (i.vpc_attributes.vpc_id, i.vpc_attributes.v_switch_id) == (net.vpc, net.vsw_a)
    assert i.vpc_attributes.private_ip_address.ip_address == [mgmt.private_ip_address]
    assert i.security_group_ids.security_group_id == [net.g1]
    nics = {n.type: n for n in i.network_interfaces.network_interface}
    assert nics["Primary"].network_interface_id == mgmt.network_interface_id
    assert nics["Secondary"].network_interface_id == business
    assert nics["Secondary"].primary_ip_address == biz.private_ip_address

    # The groups tell the two apart.
    by_g2 = cloud.describe_enis(security_group_id=net.g2).network_interface_sets.network_interface_set
    assert [e.network_interface_id for e in by_g2] == [business]


# ---------------------------------------------------------------- (d) vSwitch exhaustion


@pytest.mark.parametrize("mask,usable", [(28, 12), (29, 4)])
def test_small_vswitch_exhausted_by_parallel_clients(server, vpc, cloud, mask, usable):
    v = cloud.vpc("10.30.0.0/16")
    cidr = f"10.30.5.0/{mask}"
    vsw = cloud.vswitch(v, cidr)
    g = cloud.group(v)
    assert available_ips(vpc, vsw) == usable

    n = usable + 6
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(k):
        client = h.ecs_client(server.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        req = em.CreateNetworkInterfaceRequest(region_id=R, v_switch_id=vsw, security_group_id=g)
        barrier.wait()
        try:
            results[k] = ("ok", client.create_network_interface(req).body)
        except ClientException as e:
            results[k] = ("err", h.tea_error(e)[:3])
        except Exception as e:  # noqa: BLE001 - reported below
            results[k] = ("exc", repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ok = [r for kind, r in results if kind == "ok"]
    cloud.enis.extend(b.network_interface_id for b in ok)
    failed = [r for kind, r in results if kind != "ok"]
    assert len(ok) == usable, failed
    assert all(f[:2] == ("InvalidVSwitchId.IpNotEnough", 403) for f in failed), failed
    assert len(failed) == n - usable

    ips = [b.private_ip_address for b in ok]
    assert len(set(ips)) == usable, f"duplicate IPs: {sorted(ips)}"
    net_ = ipaddress.ip_network(cidr)
    hosts = list(net_)
    assert set(ips) == {str(a) for a in hosts[1:-3]}  # all but the first and the last three
    assert len({b.network_interface_id for b in ok}) == usable
    assert len({b.mac_address for b in ok}) == usable
    assert available_ips(vpc, vsw) == 0
    h.expect_tea_error(lambda: cloud.eni(vsw, [g]), "InvalidVSwitchId.IpNotEnough", 403)

    # Delete one: its address comes back once Deleting completes.
    victim = ok[0]
    cloud.delete_eni(victim.network_interface_id, wait=False)
    assert cloud.eni_status(victim.network_interface_id) in ("Deleting", None)
    cloud.wait_enis_gone([victim.network_interface_id])
    h.wait_for(lambda: available_ips(vpc, vsw), lambda c: c == 1, what="one free address")
    again = cloud.eni(vsw, [g], primary_ip_address=victim.private_ip_address)
    assert again.private_ip_address == victim.private_ip_address
    assert available_ips(vpc, vsw) == 0


# ---------------------------------------------------------------- legacy SDK round trip


def legacy_call(legacy, endpoint, request_cls, **params):
    req = request_cls()
    req.set_endpoint(endpoint)
    req.set_protocol_type("http")
    req.set_accept_format("json")
    for k, val in params.items():
        getattr(req, f"set_{k}")(val)
    return json.loads(legacy.do_action_with_exception(req))


def test_legacy_sdk_eni_round_trip(server, legacy, cloud, net, unique):
    from aliyunsdkecs.request.v20140526.AssignPrivateIpAddressesRequest import AssignPrivateIpAddressesRequest
    from aliyunsdkecs.request.v20140526.AttachNetworkInterfaceRequest import AttachNetworkInterfaceRequest
    from aliyunsdkecs.request.v20140526.CreateNetworkInterfaceRequest import CreateNetworkInterfaceRequest
    from aliyunsdkecs.request.v20140526.DeleteNetworkInterfaceRequest import DeleteNetworkInterfaceRequest
    from aliyunsdkecs.request.v20140526.DescribeNetworkInterfacesRequest import DescribeNetworkInterfacesRequest
    from aliyunsdkecs.request.v20140526.DetachNetworkInterfaceRequest import DetachNetworkInterfaceRequest

    ep = server.endpoint
    inst = cloud.instance(net.vsw_a, [net.g1])
    created = legacy_call(
        legacy, ep, CreateNetworkInterfaceRequest, VSwitchId=net.vsw_a, SecurityGroupIdss=[net.g1, net.g2],
        SecondaryPrivateIpAddressCount=1, NetworkInterfaceName=unique, Tags=[{"Key": "via", "Value": "legacy"}],
    )
    eni_id = created["NetworkInterfaceId"]
    cloud.enis.append(eni_id)
    assert created["Status"] == "Available" and created["Type"] == "Secondary"
    assert [p["Primary"] for p in created["PrivateIpSets"]["PrivateIpSet"]] == [True, False]
    assert sorted(created["SecurityGroupIds"]["SecurityGroupId"]) == sorted([net.g1, net.g2])
    assert isinstance(created["OwnerId"], str)

    def describe():
        body = legacy_call(legacy, ep, DescribeNetworkInterfacesRequest, NetworkInterfaceIds=[eni_id])
        return body["NetworkInterfaceSets"]["NetworkInterfaceSet"]

    (e,) = describe()
    assert (e["NetworkInterfaceName"], e["Tags"]["Tag"]) == (unique, [{"TagKey": "via", "TagValue": "legacy"}])

    added = legacy_call(legacy, ep, AssignPrivateIpAddressesRequest, NetworkInterfaceId=eni_id, PrivateIpAddresss=["10.0.1.200"])
    assert added["AssignedPrivateIpAddressesSet"]["PrivateIpSet"]["PrivateIpAddress"] == ["10.0.1.200"]

    assert set(legacy_call(legacy, ep, AttachNetworkInterfaceRequest, NetworkInterfaceId=eni_id, InstanceId=inst)) == {"RequestId"}
    h.wait_for(lambda: describe()[0]["Status"], lambda s: s == "InUse", what="InUse")
    (e,) = describe()
    assert e["InstanceId"] == inst and e["Attachment"]["DeviceIndex"] == 1
    assert "10.0.1.200" in [p["PrivateIpAddress"] for p in e["PrivateIpSets"]["PrivateIpSet"]]

    # A legacy-SDK error: the primary ENI cannot be detached.
    (primary,) = legacy_call(legacy, ep, DescribeNetworkInterfacesRequest, InstanceId=inst, Type="Primary")[
        "NetworkInterfaceSets"]["NetworkInterfaceSet"]
    with pytest.raises(LegacyServerException) as ei:
        legacy_call(legacy, ep, DetachNetworkInterfaceRequest, NetworkInterfaceId=primary["NetworkInterfaceId"], InstanceId=inst)
    assert (ei.value.get_error_code(), ei.value.get_http_status()) == ("InvalidOperation.DetachPrimaryEniNotAllowed", 400)

    legacy_call(legacy, ep, DetachNetworkInterfaceRequest, NetworkInterfaceId=eni_id, InstanceId=inst)
    h.wait_for(lambda: describe()[0]["Status"], lambda s: s == "Available", what="Available")
    legacy_call(legacy, ep, DeleteNetworkInterfaceRequest, NetworkInterfaceId=eni_id)
    h.wait_for(describe, lambda sets: sets == [], what="ENI gone")
