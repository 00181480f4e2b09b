"""Elastic IP addresses through the VPC SDK (alibabacloud_vpc20160428): allocate from the
pool, associate in NAT mode with a secondary ENI's address or an ECS instance (its primary
ENI's primary IP), the asynchronous Associating/Unassociating states, the refusals, release;
and where the ECS SDK reads associations: AssociatedPublicIp of DescribeNetworkInterfaces and
DescribeNetworkInterfaceAttribute, EipAddress of DescribeInstances."""

import e2e_helpers as h
from e2e_helpers import Eips

R = h.REGION
err = h.expect_tea_error


def test_allocate_describe_release(eips, unique):
    body = eips.allocate(bandwidth="10", internet_charge_type="PayByTraffic", name=unique, description="e2e eip")
    assert body.allocation_id.startswith("eip-")
    assert isinstance(body.order_id, int)
    assert body.resource_group_id.startswith("rg-")
    e = eips.get(body.allocation_id)
    assert e.ip_address == body.eip_address
    assert e.status == "Available"
    assert (e.bandwidth, e.internet_charge_type, e.charge_type, e.isp) == ("10", "PayByTraffic", "PostPaid", "BGP")
    assert (e.name, e.description, e.region_id, e.netmode) == (unique, "e2e eip", R, "public")
    assert e.service_managed == 0 and e.hdmonitor_status == "false" and e.deletion_protection is False
    assert e.instance_id == "" and e.private_ip_address == ""
    assert e.operation_locks.lock_reason == [] and e.tags.tag == []
    assert eips.describe(eip_address=body.eip_address).total_count == 1

    # Defaults: 5 Mbit/s, pay by bandwidth, BGP.
    d = eips.get(eips.allocate().allocation_id)
    assert (d.bandwidth, d.internet_charge_type, d.isp) == ("5", "PayByBandwidth", "BGP")
    assert d.ip_address != e.ip_address

    eips.release(body.allocation_id)
    assert eips.get(body.allocation_id) is None
    err(lambda: eips.release(body.allocation_id), "InvalidAllocationId.NotFound", 404)


def test_allocate_refusals_and_client_token(eips):
    err(lambda: eips.allocate(bandwidth="0"), "InvalidParameter", 400)
    err(lambda: eips.allocate(bandwidth="300", internet_charge_type="PayByTraffic"), "InvalidParameter", 400)
    err(lambda: eips.allocate(internet_charge_type="PayByMood"), "InvalidParameter", 400)
    err(lambda: eips.allocate(isp="Nope"), "InvalidParameter", 400)
    err(lambda: eips.allocate(name="https://x"), "InvalidParameter", 400)
    a = eips.allocate(client_token="e2e-eip-token-1")
    b = eips.allocate(client_token="e2e-eip-token-1")
    assert (a.allocation_id, a.eip_address) == (b.allocation_id, b.eip_address)
    err(lambda: eips.allocate(client_token="e2e-eip-token-1", bandwidth="7"), "IdempotentParameterMismatch", 400)


def test_associate_with_a_secondary_eni_in_nat_mode(eips, cloud, net):
    created = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=1)
    eni = created.network_interface_id
    primary = created.private_ip_address
    secondary = [p.private_ip_address for p in created.private_ip_sets.private_ip_set if not p.primary][0]
    a = eips.allocate()
    b = eips.allocate()
    eips.associate(a.allocation_id, eni, wait=False, instance_type="NetworkInterface")
    assert eips.status(a.allocation_id) == "Associating"
    err(lambda: eips.release(a.allocation_id), "IncorrectEipStatus", 400)
    e = eips.wait(a.allocation_id, "InUse")
    assert (e.instance_id, e.instance_type, e.private_ip_address, e.mode, e.vpc_id) == (
        eni, "NetworkInterface", primary, "NAT", net.vpc)
    eips.associate(b.allocation_id, eni, instance_type="NetworkInterface", private_ip_address=secondary, mode="NAT")

    # The ECS SDK reads the associations on the ENI.
    attr = cloud.eni_attr(eni)
    assert (attr.associated_public_ip.public_ip_address, attr.associated_public_ip.allocation_id) == (
        a.eip_address, a.allocation_id)
    by_ip = {p.private_ip_address: p.associated_public_ip for p in attr.private_ip_sets.private_ip_set}
    assert by_ip[primary].public_ip_address == a.eip_address
    assert (by_ip[secondary].public_ip_address, by_ip[secondary].allocation_id) == (b.eip_address, b.allocation_id)
    listed = cloud.eni_get(eni)
    assert listed.associated_public_ip.allocation_id == a.allocation_id
    assert {e.allocation_id for e in eips.describe(associated_instance_id=eni).eip_addresses.eip_address} == {
        a.allocation_id, b.allocation_id}

    # One EIP per private IP; an EIP in use is not associated again.
    c = eips.allocate()
    err(lambda: eips.associate(c.allocation_id, eni, wait=False, instance_type="NetworkInterface"),
        "InvalidAssociation.Duplicated", 400)
    err(lambda: eips.associate(a.allocation_id, eni, wait=False, instance_type="NetworkInterface",
                               private_ip_address=secondary), "IncorrectEipStatus", 400)

    eips.unassociate(b.allocation_id, wait=False, instance_id=eni, instance_type="NetworkInterface")
    assert eips.status(b.allocation_id) == "Unassociating"
    eips.wait(b.allocation_id, "Available")
    attr = cloud.eni_attr(eni)
    by_ip = {p.private_ip_address: p.associated_public_ip for p in attr.private_ip_sets.private_ip_set}
    assert by_ip[secondary].public_ip_address is None

    # Deleting the ENI frees its remaining EIP.
    cloud.delete_eni(eni)
    assert eips.status(a.allocation_id) == "Available"


def test_associate_refusals(eips, cloud, net):
    eni = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    a = eips.allocate()
    assoc = lambda **kw: (lambda: eips.associate(a.allocation_id, eni, wait=False, **kw))  # noqa: E731
    err(lambda: eips.associate("eip-doesnotexist0000000", eni, wait=False, instance_type="NetworkInterface"),
        "InvalidAllocationId.NotFound", 404)
    err(lambda: eips.associate(a.allocation_id, "eni-doesnotexist00000000", wait=False,
                               instance_type="NetworkInterface"), "InvalidInstanId.NotFound", 404)
    err(assoc(instance_type="HaVip"), "InvalidInstanceType.ValueNotSupported", 400)
    err(assoc(instance_type="NetworkInterface", mode="FOO"), "IllegalParam.Mode", 400)
    err(assoc(instance_type="NetworkInterface", private_ip_address="10.0.1.250"),
        "OperationFailed.PrivateIpAddressNotExist", 400)
    err(lambda: eips.unassociate(a.allocation_id, wait=False), "InvalidBindingStatus", 400)
    assert eips.status(a.allocation_id) == "Available"


def test_associate_with_an_instance(eips, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])
    a = eips.allocate(bandwidth="20")
    eips.associate(a.allocation_id, inst)  # InstanceType defaults to EcsInstance
    e = eips.get(a.allocation_id)
    got = cloud.instance_get(inst)
    assert (e.instance_id, e.instance_type) == (inst, "EcsInstance")
    assert e.private_ip_address == got.vpc_attributes.private_ip_address.ip_address[0]
    ea = got.eip_address
    assert (ea.ip_address, ea.allocation_id, ea.bandwidth, ea.internet_charge_type, ea.is_support_unassociate) == (
        a.eip_address, a.allocation_id, 20, "PayByBandwidth", True)
    (nic,) = got.network_interfaces.network_interface
    assert cloud.eni_attr(nic.network_interface_id).associated_public_ip.allocation_id == a.allocation_id
    assert [x.allocation_id for x in eips.describe(associated_instance_type="EcsInstance",
                                                   associated_instance_id=inst).eip_addresses.eip_address] == [a.allocation_id]
    b = eips.allocate()
    err(lambda: eips.associate(b.allocation_id, inst, wait=False), "InvalidAssociation.Duplicated", 400)
    err(lambda: eips.unassociate(a.allocation_id, wait=False, instance_id="i-someoneelse0000000000"),
        "InvalidBindingStatus", 400)
    eips.unassociate(a.allocation_id, instance_id=inst)
    assert cloud.instance_get(inst).eip_address.ip_address == ""

    # Deleting the instance frees its EIP, which stays allocated.
    eips.associate(b.allocation_id, inst)
    cloud.delete_instance(inst)
    assert eips.status(b.allocation_id) == "Available"


def test_eip_pool_flag_and_exhaustion(extra_server):
    s, _, vpc, _ = extra_server("--eip-pool", "203.0.113.8/30", "--transition-delay-ms", "0")
    e = Eips(vpc)
    try:
        assert [e.allocate().eip_address for _ in range(2)] == ["203.0.113.9", "203.0.113.10"]
        # The server's pool is out of addresses, not the account's quota.
        err(lambda: e.allocate(), "OperationFailed.InsufficientEIP", 400)
    finally:
        e.cleanup()


def test_eip_quota_flag_per_account_and_region(extra_server):
    """--eip-quota: an account holds at most that many EIPs per region (QuotaExceeded.Eip, the
    code AllocateEipAddress documents); other accounts and regions are unaffected, and a
    release frees quota."""
    s, _, vpc, _ = extra_server("--eip-quota", "2", "--transition-delay-ms", "0")
    mine = Eips(vpc)
    acct = s.create_account()
    theirs = Eips(h.vpc_client(s.endpoint, acct["AccessKeyId"], acct["AccessKeySecret"]))
    try:
        a, _ = mine.allocate(), mine.allocate()
        e = err(lambda: mine.allocate(), "QuotaExceeded.Eip", 400)
        assert "2" in h.tea_error(e)[2]
        theirs.allocate()
        theirs.allocate()
        err(lambda: theirs.allocate(), "QuotaExceeded.Eip", 400)
        mine.allocate(region_id="cn-beijing")
        mine.release(a.allocation_id)
        mine.ids.remove(a.allocation_id)
        mine.allocate()
        err(lambda: mine.allocate(), "QuotaExceeded.Eip", 400)
    finally:
        mine.cleanup()
        theirs.cleanup()


def test_raw_json_types(server, eips):
    """The JSON types the typed Go SDKs unmarshal into (spec §1.4): Bandwidth and
    HDMonitorStatus strings, ServiceManaged an integer, list wrappers present."""
    a = eips.allocate()
    r = h.rpc_call(server.url, "DescribeEipAddresses", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET,
                   {"RegionId": R, "AllocationId": a.allocation_id}).send()
    assert r.status_code == 200, r.text
    (e,) = r.json()["EipAddresses"]["EipAddress"]
    assert isinstance(e["Bandwidth"], str) and isinstance(e["HDMonitorStatus"], str)
    assert isinstance(e["ServiceManaged"], int) and isinstance(e["DeletionProtection"], bool)
    assert e["OperationLocks"] == {"LockReason": []} and e["Tags"] == {"Tag": []}
