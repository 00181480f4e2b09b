"""EIP binding modes on ENIs, judged against docs/eip-binding-modes.md: BINDED (the EIP visible
on a detached secondary ENI in place of its primary private address) and MULTI_BINDED (up to
ten EIPs visible beside the ENI's private addresses), beside the default NAT.

Through the VPC SDK (alibabacloud_vpc20160428): AssociateEipAddress with `Mode`, each refusal of
the doc's table with its code and HTTP status, and the order of the checks where two could
answer; UnassociateEipAddress while the ENI is attached (or attaching, detaching);
ModifyEipForwardMode on unbound and bound EIPs and its refusals (also once through the legacy
aliyunsdkcore CommonRequest); DescribeEipAddresses `Mode`; DescribeEipGatewayInfo. Through the
ECS SDK: AssociatedPublicIp of DescribeNetworkInterfaces and DescribeNetworkInterfaceAttribute
in the visible modes, DescribeInstances' EipAddress (the primary ENI's only), attach and detach
of an ENI carrying visible EIPs, and AssignPrivateIpAddresses / UnassignPrivateIpAddresses on
such an ENI (Eni.HasDirectEip; unassigning a bound address unbinds its EIP)."""

import ipaddress
import json

from alibabacloud_ecs20140526 import models as em
from alibabacloud_tea_openapi.exceptions import ClientException

import e2e_helpers as h

R = h.REGION
err = h.expect_tea_error
NIC = "NetworkInterface"
VSW_A = "10.0.1.0/24"  # net.vsw_a
VSW_B = "10.0.2.0/24"  # net.vsw_b
HOST_MASK = "255.255.255.255"


# ---------------------------------------------------------------- helpers


def gateway_of(cidr: str) -> str:
    """The vSwitch gateway: its block's last-but-two address (as tests/dataplane computes it)."""
    return str(ipaddress.ip_network(cidr)[-3])


def bind(eips, allocation_id, eni_id, mode=None, wait=True, **kw):
    """AssociateEipAddress with an ENI (InstanceType=NetworkInterface)."""
    if mode is not None:
        kw["mode"] = mode
    return eips.associate(allocation_id, eni_id, wait=wait, instance_type=NIC, **kw)


def refused(eips, allocation_id, target, code, status=400, **kw):
    """AssociateEipAddress must answer `code`/`status`; the EIP (if it exists) is left as it was."""
    before = eips.get(allocation_id)
    err(lambda: eips.associate(allocation_id, target, wait=False, **kw), code, status)
    after = eips.get(allocation_id)
    if before is not None:
        assert (after.status, after.instance_id, after.private_ip_address, after.mode) == (
            before.status, before.instance_id, before.private_ip_address, before.mode)


def modify_refused(eips, allocation_id, mode, code, status=400):
    err(lambda: eips.modify_mode(allocation_id, mode), code, status)


def assign(ecs, eni_id, **kw):
    return ecs.assign_private_ip_addresses(
        em.AssignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, **kw)
    ).body.assigned_private_ip_addresses_set


def assign_call(ecs, eni_id, **kw):
    return lambda: assign(ecs, eni_id, **kw)


def unassign(ecs, eni_id, ips):
    return ecs.unassign_private_ip_addresses(
        em.UnassignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, private_ip_address=ips)
    )


def secondaries(created) -> list[str]:
    return [p.private_ip_address for p in created.private_ip_sets.private_ip_set if not p.primary]


def _pub(a):
    """(PublicIpAddress, AllocationId) of an AssociatedPublicIp, '' for none."""
    return (a.public_ip_address or "", a.allocation_id or "") if a else ("", "")


def public_by_ip(eni):
    """{private IP: (PublicIpAddress, AllocationId)} of an ENI's PrivateIpSet."""
    return {p.private_ip_address: _pub(p.associated_public_ip) for p in eni.private_ip_sets.private_ip_set}


def eni_public(eni):
    """The ENI's own AssociatedPublicIp (its primary address's EIP)."""
    return _pub(eni.associated_public_ip)


def both_views(cloud, eni_id):
    """DescribeNetworkInterfaceAttribute and the DescribeNetworkInterfaces entry, checked to
    agree on the EIPs; the attribute answer."""
    attr, listed = cloud.eni_attr(eni_id), cloud.eni_get(eni_id)
    assert eni_public(attr) == eni_public(listed)
    assert public_by_ip(attr) == public_by_ip(listed)
    return attr


def pick_free(taken, n, cidr=VSW_A, candidates=(200, 100, 150, 50, 220, 120)) -> list[str]:
    """n addresses of the block, in the order given (not ascending), none of `taken`."""
    net = ipaddress.ip_network(cidr)
    out = [str(net[c]) for c in candidates if str(net[c]) not in taken]
    assert len(out) >= n
    return out[:n]


def gateway_infos(eips, eni_id):
    return sorted(((i.ip, i.ip_gw, i.ip_mask) for i in eips.gateway_info(eni_id).eip_infos.eip_info))


# ---------------------------------------------------------------- what a new EIP shows


def test_a_new_eip_is_in_nat_mode(server, eips):
    a = eips.allocate()
    e = eips.get(a.allocation_id)
    assert (e.mode, e.status, e.instance_id, e.instance_type) == ("NAT", "Available", "", "")
    # On the wire: a string field "Mode".
    r = h.rpc_call(server.url, "DescribeEipAddresses", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET,
                   {"RegionId": R, "AllocationId": a.allocation_id}).send()
    assert r.status_code == 200, r.text
    (raw,) = r.json()["EipAddresses"]["EipAddress"]
    assert raw["Mode"] == "NAT"


# ---------------------------------------------------------------- BINDED


def test_binded_on_a_detached_secondary_eni(eips, cloud, net):
    created = cloud.eni(net.vsw_a, [net.g1])
    eni, primary = created.network_interface_id, created.private_ip_address
    a = eips.allocate()
    bind(eips, a.allocation_id, eni, "BINDED")  # no PrivateIpAddress: the primary
    e = eips.get(a.allocation_id)
    assert (e.status, e.mode, e.instance_type, e.instance_id, e.private_ip_address) == (
        "InUse", "BINDED", NIC, eni, primary)
    assert [x.allocation_id for x in eips.describe(associated_instance_type=NIC,
                                                   associated_instance_id=eni).eip_addresses.eip_address] == [a.allocation_id]

    # The ENI shows it on itself and on its primary address, which stays listed.
    attr = both_views(cloud, eni)
    assert eni_public(attr) == (a.eip_address, a.allocation_id)
    assert public_by_ip(attr) == {primary: (a.eip_address, a.allocation_id)}
    assert attr.private_ip_address == primary and attr.status == "Available"

    # With PrivateIpAddress = the primary, on another ENI.
    other = cloud.eni(net.vsw_a, [net.g1])
    b = eips.allocate()
    bind(eips, b.allocation_id, other.network_interface_id, "BINDED", private_ip_address=other.private_ip_address)
    e = eips.get(b.allocation_id)
    assert (e.mode, e.instance_id, e.private_ip_address) == ("BINDED", other.network_interface_id,
                                                              other.private_ip_address)

    # Attach: the EIP moves with the ENI. While attaching, attached or detaching it stays bound.
    inst = cloud.instance(net.vsw_a, [net.g1])
    cloud.attach(eni, inst, wait=False)
    err(lambda: eips.unassociate(a.allocation_id, wait=False), "Eni.Attached", 400)
    got = cloud.wait_eni(eni, "InUse")
    assert got.instance_id == inst
    e = eips.get(a.allocation_id)
    assert (e.status, e.mode, e.instance_id, e.private_ip_address) == ("InUse", "BINDED", eni, primary)
    assert eni_public(both_views(cloud, eni)) == (a.eip_address, a.allocation_id)
    err(lambda: eips.unassociate(a.allocation_id, wait=False), "Eni.Attached", 400)
    err(lambda: eips.unassociate(a.allocation_id, wait=False, instance_id=eni, instance_type=NIC),
        "Eni.Attached", 400)
    assert eips.status(a.allocation_id) == "InUse"

    # DescribeInstances' EipAddress is the primary ENI's, which only NAT binds.
    assert cloud.instance_get(inst).eip_address.ip_address == ""
    n = eips.allocate()
    eips.associate(n.allocation_id, inst)
    ea = cloud.instance_get(inst).eip_address
    assert (ea.ip_address, ea.allocation_id) == (n.eip_address, n.allocation_id)
    assert eips.get(n.allocation_id).mode == "NAT"

    cloud.detach(eni, inst, wait=False)
    err(lambda: eips.unassociate(a.allocation_id, wait=False), "Eni.Attached", 400)
    cloud.wait_eni(eni, "Available")
    assert eips.status(a.allocation_id) == "InUse"
    eips.unassociate(a.allocation_id, instance_id=eni, instance_type=NIC)
    e = eips.get(a.allocation_id)
    assert (e.status, e.instance_id, e.private_ip_address) == ("Available", "", "")
    attr = both_views(cloud, eni)
    assert eni_public(attr) == ("", "") and public_by_ip(attr) == {primary: ("", "")}
    assert cloud.instance_get(inst).eip_address.allocation_id == n.allocation_id

    # Deleting the ENI frees its BINDED EIP.
    cloud.delete_eni(other.network_interface_id)
    assert eips.status(b.allocation_id) == "Available"


def test_assign_on_an_eni_with_a_binded_eip(ecs, eips, cloud, net):
    created = cloud.eni(net.vsw_a, [net.g1])
    eni, primary = created.network_interface_id, created.private_ip_address
    a = eips.allocate()
    bind(eips, a.allocation_id, eni, "BINDED")
    (free,) = pick_free({primary}, 1)
    err(assign_call(ecs, eni, secondary_private_ip_address_count=1), "Eni.HasDirectEip", 400)
    err(assign_call(ecs, eni, private_ip_address=[free]), "Eni.HasDirectEip", 400)
    err(assign_call(ecs, eni, ipv_4prefix_count=1), "Eni.HasDirectEip", 400)
    got = cloud.eni_get(eni)
    assert [p.private_ip_address for p in got.private_ip_sets.private_ip_set] == [primary]
    assert got.ipv_4prefix_sets.ipv_4prefix_set == []
    # Unbound, the ENI takes addresses again.
    eips.unassociate(a.allocation_id)
    assert assign(ecs, eni, private_ip_address=[free]).private_ip_set.private_ip_address == [free]


# ---------------------------------------------------------------- AssociateEipAddress refusals


def test_associate_checks_in_order_before_the_target(eips, cloud, net):
    """The first rows of the table: Mode, InstanceType, the EIP, its status, the target."""
    eni = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    a = eips.allocate()
    nope_eip, nope_eni, nope_inst = "eip-doesnotexist0000000", "eni-doesnotexist00000000", "i-doesnotexist00000000"
    # A bad Mode answers first, whatever else is wrong.
    refused(eips, nope_eip, nope_eni, "IllegalParam.Mode", instance_type="HaVip", mode="FOO")
    refused(eips, a.allocation_id, eni, "IllegalParam.Mode", instance_type=NIC, mode="FOO")
    refused(eips, a.allocation_id, eni, "IllegalParam.Mode", instance_type=NIC, mode="binded")
    refused(eips, a.allocation_id, eni, "IllegalParam.Mode", instance_type=NIC, mode="MULTI-BINDED")
    # Then InstanceType, then the EIP.
    refused(eips, nope_eip, nope_eni, "InvalidInstanceType.ValueNotSupported", instance_type="HaVip", mode="BINDED")
    refused(eips, nope_eip, nope_eni, "InvalidAllocationId.NotFound", 404, instance_type=NIC, mode="BINDED")
    refused(eips, nope_eip, eni, "InvalidAllocationId.NotFound", 404, instance_type=NIC, mode="MULTI_BINDED")
    # An EIP in use answers before an unknown target.
    used = eips.allocate()
    bind(eips, used.allocation_id, eni, "BINDED")
    refused(eips, used.allocation_id, nope_eni, "IncorrectEipStatus", instance_type=NIC, mode="MULTI_BINDED")
    refused(eips, used.allocation_id, eni, "IncorrectEipStatus", instance_type=NIC, mode="BINDED")
    # An unknown target answers before the visible modes' kind rule.
    refused(eips, a.allocation_id, nope_eni, "InvalidInstanId.NotFound", 404, instance_type=NIC, mode="BINDED")
    refused(eips, a.allocation_id, nope_inst, "InvalidInstanId.NotFound", 404, mode="MULTI_BINDED")
    assert eips.get(a.allocation_id).status == "Available"


def test_visible_modes_need_a_detached_secondary_eni(eips, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])
    (p,) = cloud.describe_enis(instance_id=inst, type="Primary").network_interface_sets.network_interface_set
    primary_eni = p.network_interface_id
    a = eips.allocate()
    pre = eips.allocate(instance_charge_type="PrePaid")
    assert eips.get(pre.allocation_id).charge_type == "PrePaid"

    # Invalid.DirectEip.BindType: an ECS instance (the default InstanceType or named), or a
    # primary ENI named as NetworkInterface; it answers before the PrePaid rule.
    for mode in ("BINDED", "MULTI_BINDED"):
        refused(eips, a.allocation_id, inst, "Invalid.DirectEip.BindType", mode=mode)
        refused(eips, a.allocation_id, inst, "Invalid.DirectEip.BindType", mode=mode, instance_type="EcsInstance")
        refused(eips, a.allocation_id, primary_eni, "Invalid.DirectEip.BindType", mode=mode, instance_type=NIC)
    refused(eips, pre.allocation_id, inst, "Invalid.DirectEip.BindType", mode="BINDED")

    # An attached secondary ENI: PrePaid (BINDED) first, then Eni.Attached.
    attached = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    cloud.attach(attached, inst)
    refused(eips, pre.allocation_id, attached, "Forbidden.PrePaidBindedEip", mode="BINDED", instance_type=NIC)
    refused(eips, a.allocation_id, attached, "Eni.Attached", mode="BINDED", instance_type=NIC)
    refused(eips, a.allocation_id, attached, "Eni.Attached", mode="MULTI_BINDED", instance_type=NIC)
    refused(eips, pre.allocation_id, attached, "Eni.Attached", mode="MULTI_BINDED", instance_type=NIC)
    # NAT binds an attached ENI.
    bind(eips, a.allocation_id, attached, "NAT")
    assert eips.get(a.allocation_id).mode == "NAT"
    eips.unassociate(a.allocation_id)

    # A detached one: PrePaid cannot be BINDED, but can be MULTI_BINDED.
    detached = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    refused(eips, pre.allocation_id, detached, "Forbidden.PrePaidBindedEip", mode="BINDED", instance_type=NIC)
    bind(eips, pre.allocation_id, detached, "MULTI_BINDED")
    assert eips.get(pre.allocation_id).mode == "MULTI_BINDED"
    eips.unassociate(pre.allocation_id)

    # Attaching and Detaching: InvalidStatus.EniStatusNotSupport.
    cloud.attach(detached, inst, wait=False)
    refused(eips, a.allocation_id, detached, "InvalidStatus.EniStatusNotSupport", mode="BINDED", instance_type=NIC)
    cloud.wait_eni(detached, "InUse")
    cloud.detach(detached, inst, wait=False)
    refused(eips, a.allocation_id, detached, "InvalidStatus.EniStatusNotSupport", mode="MULTI_BINDED",
            instance_type=NIC)
    cloud.wait_eni(detached, "Available")
    bind(eips, a.allocation_id, detached, "BINDED")
    assert eips.get(a.allocation_id).mode == "BINDED"


def test_mode_conflicts_and_binded_rules(eips, cloud, net):
    z = eips.allocate()
    zid = z.allocation_id

    # An ENI with a NAT EIP: MULTI_BINDED is EipBindModeConflict, BINDED Mode.Conflict (which
    # answers before Eni.HasSubIp: the ENI has a secondary address).
    c = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=1)
    nat_eni, (nat_sec,) = c.network_interface_id, secondaries(c)
    x = eips.allocate()
    bind(eips, x.allocation_id, nat_eni, "NAT")
    refused(eips, zid, nat_eni, "OperationFailed.EipBindModeConflict", instance_type=NIC, mode="MULTI_BINDED")
    refused(eips, zid, nat_eni, "OperationFailed.EipBindModeConflict", instance_type=NIC, mode="MULTI_BINDED",
            private_ip_address=nat_sec)
    refused(eips, zid, nat_eni, "Mode.Conflict", instance_type=NIC, mode="BINDED")
    # Without the NAT EIP, MULTI_BINDED binds.
    eips.unassociate(x.allocation_id)
    bind(eips, zid, nat_eni, "MULTI_BINDED", private_ip_address=nat_sec)
    assert (eips.get(zid).mode, eips.get(zid).private_ip_address) == ("MULTI_BINDED", nat_sec)

    # An ENI with a MULTI_BINDED EIP (now z): NAT is EipBindModeConflict, even on the address
    # that already has z (before InvalidAssociation.Duplicated); BINDED is Mode.Conflict.
    refused(eips, x.allocation_id, nat_eni, "OperationFailed.EipBindModeConflict", instance_type=NIC, mode="NAT")
    refused(eips, x.allocation_id, nat_eni, "OperationFailed.EipBindModeConflict", instance_type=NIC,
            private_ip_address=nat_sec)
    refused(eips, x.allocation_id, nat_eni, "Mode.Conflict", instance_type=NIC, mode="BINDED")
    eips.unassociate(zid)

    # An ENI with a BINDED EIP: NAT and MULTI_BINDED are Mode.Conflict (before Duplicated);
    # a second BINDED is InvalidAssociation.Duplicated.
    b = cloud.eni(net.vsw_a, [net.g1])
    binded_eni = b.network_interface_id
    bind(eips, x.allocation_id, binded_eni, "BINDED")
    refused(eips, zid, binded_eni, "Mode.Conflict", instance_type=NIC, mode="NAT")
    refused(eips, zid, binded_eni, "Mode.Conflict", instance_type=NIC)  # Mode absent: z's own, not BINDED
    refused(eips, zid, binded_eni, "Mode.Conflict", instance_type=NIC, mode="MULTI_BINDED")
    refused(eips, zid, binded_eni, "InvalidAssociation.Duplicated", instance_type=NIC, mode="BINDED")
    refused(eips, zid, binded_eni, "InvalidAssociation.Duplicated", instance_type=NIC, mode="BINDED",
            private_ip_address=b.private_ip_address)

    # Eni.HasSubIp: a secondary address or an IPv4 prefix; before PrivateIpAddressNotExist.
    refused(eips, zid, nat_eni, "Eni.HasSubIp", instance_type=NIC, mode="BINDED")
    refused(eips, zid, nat_eni, "Eni.HasSubIp", instance_type=NIC, mode="BINDED", private_ip_address=nat_sec)
    prefixed = cloud.eni(net.vsw_a, [net.g1], ipv_4prefix_count=1).network_interface_id
    refused(eips, zid, prefixed, "Eni.HasSubIp", instance_type=NIC, mode="BINDED")

    # BINDED takes only the primary address: any other is OperationFailed.PrivateIpAddressNotExist.
    plain = cloud.eni(net.vsw_a, [net.g1])
    refused(eips, zid, plain.network_interface_id, "OperationFailed.PrivateIpAddressNotExist",
            instance_type=NIC, mode="BINDED", private_ip_address=b.private_ip_address)
    (free,) = pick_free({plain.private_ip_address}, 1)
    refused(eips, zid, plain.network_interface_id, "OperationFailed.PrivateIpAddressNotExist",
            instance_type=NIC, mode="BINDED", private_ip_address=free)
    refused(eips, zid, plain.network_interface_id, "OperationFailed.PrivateIpAddressNotExist",
            instance_type=NIC, mode="MULTI_BINDED", private_ip_address=free)
    assert eips.status(zid) == "Available"
    bind(eips, zid, plain.network_interface_id, "BINDED", private_ip_address=plain.private_ip_address)


# ---------------------------------------------------------------- MULTI_BINDED


def test_multi_binded_addresses_and_views(ecs, eips, cloud, net):
    created = cloud.eni(net.vsw_a, [net.g1])
    eni, primary = created.network_interface_id, created.private_ip_address
    # Secondaries assigned one at a time, the higher address first: assignment order is not
    # address order.
    s1, s2 = pick_free({primary}, 2)
    assert ipaddress.ip_address(s1) > ipaddress.ip_address(s2)
    assign(ecs, eni, private_ip_address=[s1])
    assign(ecs, eni, private_ip_address=[s2])
    a, b, c, d = (eips.allocate() for _ in range(4))

    bind(eips, a.allocation_id, eni, "MULTI_BINDED")  # the primary
    bind(eips, c.allocation_id, eni, "MULTI_BINDED")  # the first free in assignment order: s1, not s2
    bind(eips, b.allocation_id, eni, "MULTI_BINDED", private_ip_address=s2)
    for eip, ip in ((a, primary), (b, s2), (c, s1)):
        e = eips.get(eip.allocation_id)
        assert (e.status, e.mode, e.instance_type, e.instance_id, e.private_ip_address) == (
            "InUse", "MULTI_BINDED", NIC, eni, ip), eip.allocation_id
    assert {e.allocation_id for e in eips.describe(associated_instance_id=eni).eip_addresses.eip_address} == {
        a.allocation_id, b.allocation_id, c.allocation_id}

    # Every address is taken: without PrivateIpAddress, InvalidEip.EipQuotaExceeded; on a taken
    # one, InvalidAssociation.Duplicated; on one not the ENI's, PrivateIpAddressNotExist.
    refused(eips, d.allocation_id, eni, "InvalidEip.EipQuotaExceeded", instance_type=NIC, mode="MULTI_BINDED")
    refused(eips, d.allocation_id, eni, "InvalidAssociation.Duplicated", instance_type=NIC, mode="MULTI_BINDED",
            private_ip_address=primary)
    refused(eips, d.allocation_id, eni, "InvalidAssociation.Duplicated", instance_type=NIC, mode="MULTI_BINDED",
            private_ip_address=s1)
    (elsewhere,) = pick_free({primary, s1, s2}, 1)
    refused(eips, d.allocation_id, eni, "OperationFailed.PrivateIpAddressNotExist", instance_type=NIC,
            mode="MULTI_BINDED", private_ip_address=elsewhere)

    # The ENI's views: its own AssociatedPublicIp is the primary's; each address its own.
    attr = both_views(cloud, eni)
    assert eni_public(attr) == (a.eip_address, a.allocation_id)
    assert public_by_ip(attr) == {primary: (a.eip_address, a.allocation_id), s1: (c.eip_address, c.allocation_id),
                                  s2: (b.eip_address, b.allocation_id)}

    # DescribeEipGatewayInfo: each MULTI_BINDED EIP, the vSwitch gateway, a host mask.
    gw = gateway_of(VSW_A)
    assert gw == "10.0.1.253"
    assert gateway_infos(eips, eni) == sorted((e.eip_address, gw, HOST_MASK) for e in (a, b, c))

    # A MULTI_BINDED ENI takes more addresses; the new one takes the next default EIP.
    (s3,) = assign(ecs, eni, secondary_private_ip_address_count=1).private_ip_set.private_ip_address
    bind(eips, d.allocation_id, eni, "MULTI_BINDED")
    assert eips.get(d.allocation_id).private_ip_address == s3

    # Unassigning a bound address unbinds its EIP; the others stay.
    unassign(ecs, eni, [s2])
    e = eips.wait(b.allocation_id, "Available")
    assert (e.instance_id, e.private_ip_address) == ("", "")
    assert all(eips.status(x.allocation_id) == "InUse" for x in (a, c, d))
    attr = both_views(cloud, eni)
    assert set(public_by_ip(attr)) == {primary, s1, s3}
    assert gateway_infos(eips, eni) == sorted((e.eip_address, gw, HOST_MASK) for e in (a, c, d))

    # Unbound from the primary (the ENI is detached), the primary is the first free again.
    eips.unassociate(a.allocation_id)
    assert eni_public(both_views(cloud, eni)) == ("", "")
    bind(eips, b.allocation_id, eni, "MULTI_BINDED")
    assert eips.get(b.allocation_id).private_ip_address == primary

    # Attached, the EIPs stay and cannot be unbound; detached, they can.
    inst = cloud.instance(net.vsw_a, [net.g1])
    cloud.attach(eni, inst)
    assert all(eips.get(x.allocation_id).instance_id == eni for x in (b, c, d))
    err(lambda: eips.unassociate(c.allocation_id, wait=False), "Eni.Attached", 400)
    refused(eips, a.allocation_id, eni, "Eni.Attached", instance_type=NIC, mode="MULTI_BINDED")
    assert public_by_ip(both_views(cloud, eni))[s1] == (c.eip_address, c.allocation_id)
    assert cloud.instance_get(inst).eip_address.ip_address == ""
    cloud.detach(eni, inst)
    eips.unassociate(c.allocation_id)

    # Deleting the ENI unbinds every EIP it has.
    cloud.delete_eni(eni)
    assert all(eips.status(x.allocation_id) == "Available" for x in (a, b, c, d))


def test_multi_binded_quota_is_ten_per_eni(eips, cloud, net):
    created = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=11)
    eni = created.network_interface_id
    addresses = [p.private_ip_address for p in created.private_ip_sets.private_ip_set]
    assert len(addresses) == 12
    ten = [eips.allocate() for _ in range(10)]
    for e in ten:
        bind(eips, e.allocation_id, eni, "MULTI_BINDED", wait=False)
    for e in ten:
        eips.wait(e.allocation_id, "InUse")
    bound = {eips.get(e.allocation_id).private_ip_address for e in ten}
    assert len(bound) == 10 and bound <= set(addresses)
    free = sorted(set(addresses) - bound)
    assert len(free) == 2

    eleventh = eips.allocate()
    refused(eips, eleventh.allocation_id, eni, "QuotaExceed.MultiBindedEip", instance_type=NIC, mode="MULTI_BINDED")
    refused(eips, eleventh.allocation_id, eni, "QuotaExceed.MultiBindedEip", instance_type=NIC,
            mode="MULTI_BINDED", private_ip_address=free[0])
    # Before PrivateIpAddressNotExist.
    (elsewhere,) = pick_free(set(addresses), 1)
    refused(eips, eleventh.allocation_id, eni, "QuotaExceed.MultiBindedEip", instance_type=NIC,
            mode="MULTI_BINDED", private_ip_address=elsewhere)
    # One unbound, the eleventh fits.
    eips.unassociate(ten[0].allocation_id)
    bind(eips, eleventh.allocation_id, eni, "MULTI_BINDED", private_ip_address=free[1])
    assert eips.get(eleventh.allocation_id).private_ip_address == free[1]


def test_eip_gateway_info(server, eips, cloud, net):
    on_b = cloud.eni(net.vsw_b, [net.g1], secondary_private_ip_address_count=1)
    eni_b = on_b.network_interface_id
    m = eips.allocate()
    bind(eips, m.allocation_id, eni_b, "MULTI_BINDED")
    assert gateway_infos(eips, eni_b) == [(m.eip_address, gateway_of(VSW_B), HOST_MASK)]
    assert gateway_of(VSW_B) == "10.0.2.253"
    # On the wire: EipInfos.EipInfo[] of strings.
    r = h.rpc_call(server.url, "DescribeEipGatewayInfo", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET,
                   {"RegionId": R, "InstanceId": eni_b}).send()
    assert r.status_code == 200, r.text
    assert r.json()["EipInfos"] == {"EipInfo": [{"Ip": m.eip_address, "IpGw": "10.0.2.253", "IpMask": HOST_MASK}]}

    # An ENI with no EIP, or only a NAT one: nothing listed.
    nat_eni = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    assert gateway_infos(eips, nat_eni) == []
    n = eips.allocate()
    bind(eips, n.allocation_id, nat_eni, "NAT")
    assert gateway_infos(eips, nat_eni) == []
    # An unknown ENI is an error.
    try:
        eips.gateway_info("eni-doesnotexist00000000")
    except ClientException as e:
        code, status, _, _ = h.tea_error(e)
        assert 400 <= status < 500 and code, (code, status)
    else:
        raise AssertionError("DescribeEipGatewayInfo of an unknown ENI succeeded")


# ---------------------------------------------------------------- ModifyEipForwardMode


def test_modify_forward_mode_of_an_unbound_eip(eips, cloud, net):
    a = eips.allocate()
    assert eips.modify_mode(a.allocation_id, "NAT").body.request_id
    assert eips.get(a.allocation_id).mode == "NAT"
    eips.modify_mode(a.allocation_id, "BINDED")
    e = eips.get(a.allocation_id)  # synchronous: the very next read
    assert (e.mode, e.status, e.instance_id) == ("BINDED", "Available", "")
    eips.modify_mode(a.allocation_id, "MULTI_BINDED")
    assert eips.get(a.allocation_id).mode == "MULTI_BINDED"
    eips.modify_mode(a.allocation_id, "NAT")
    assert eips.get(a.allocation_id).mode == "NAT"

    # An explicit Mode wins over the EIP's own.
    multi = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=1).network_interface_id
    c = eips.allocate()
    eips.modify_mode(c.allocation_id, "BINDED")
    bind(eips, c.allocation_id, multi, "NAT")
    assert eips.get(c.allocation_id).mode == "NAT"
    inst = cloud.instance(net.vsw_a, [net.g1])
    d = eips.allocate()
    eips.modify_mode(d.allocation_id, "BINDED")
    eips.modify_mode(d.allocation_id, "NAT")
    eips.associate(d.allocation_id, inst)
    e = eips.get(d.allocation_id)
    assert (e.mode, e.instance_type, e.instance_id) == ("NAT", "EcsInstance", inst)

    # Refusals.
    pre = eips.allocate(instance_charge_type="PrePaid")
    modify_refused(eips, pre.allocation_id, "BINDED", "Forbidden.PrePaidBindedEip")
    assert eips.get(pre.allocation_id).mode == "NAT"
    eips.modify_mode(pre.allocation_id, "MULTI_BINDED")
    assert eips.get(pre.allocation_id).mode == "MULTI_BINDED"
    modify_refused(eips, a.allocation_id, "FOO", "IllegalParam.Mode")
    modify_refused(eips, a.allocation_id, "binded", "IllegalParam.Mode")
    assert eips.get(a.allocation_id).mode == "NAT"
    modify_refused(eips, "eip-doesnotexist0000000", "FOO", "IllegalParam.Mode")
    modify_refused(eips, "eip-doesnotexist0000000", "BINDED", "InvalidAllocationId.NotFound", 404)


def test_association_without_mode_is_nat_whatever_the_eips_mode(eips, cloud, net):
    """Without Mode, AssociateEipAddress binds in NAT, its documented default, even when
    ModifyEipForwardMode gave the unbound EIP another mode; an explicit Mode still decides."""
    inst = cloud.instance(net.vsw_a, [net.g1])
    a = eips.allocate()
    eips.modify_mode(a.allocation_id, "BINDED")
    assert eips.get(a.allocation_id).mode == "BINDED"
    eips.associate(a.allocation_id, inst)
    e = eips.get(a.allocation_id)
    assert (e.mode, e.instance_type, e.instance_id) == ("NAT", "EcsInstance", inst)
    eips.unassociate(a.allocation_id)

    # To a detached secondary ENI as well; with Mode=BINDED it is BINDED.
    b = eips.allocate()
    eips.modify_mode(b.allocation_id, "MULTI_BINDED")
    created = cloud.eni(net.vsw_a, [net.g1])
    eni = created.network_interface_id
    bind(eips, b.allocation_id, eni)
    assert eips.get(b.allocation_id).mode == "NAT"
    eips.unassociate(b.allocation_id)
    bind(eips, b.allocation_id, eni, "BINDED")
    e = eips.get(b.allocation_id)
    assert (e.mode, e.instance_id, e.private_ip_address) == ("BINDED", eni, created.private_ip_address)


def test_modify_forward_mode_of_a_bound_eip(eips, cloud, net):
    # Terraform's alicloud_eip_association flow: NAT to a detached ENI, then BINDED.
    created = cloud.eni(net.vsw_a, [net.g1])
    eni, primary = created.network_interface_id, created.private_ip_address
    a = eips.allocate()
    bind(eips, a.allocation_id, eni)
    assert eips.get(a.allocation_id).mode == "NAT"
    eips.modify_mode(a.allocation_id, "BINDED")
    e = eips.get(a.allocation_id)
    assert (e.status, e.mode, e.instance_type, e.instance_id, e.private_ip_address) == (
        "InUse", "BINDED", NIC, eni, primary)
    assert eni_public(both_views(cloud, eni)) == (a.eip_address, a.allocation_id)

    # Attached: ENI.BindEcs whatever the new mode.
    inst = cloud.instance(net.vsw_a, [net.g1])
    cloud.attach(eni, inst)
    err(lambda: eips.unassociate(a.allocation_id, wait=False), "Eni.Attached", 400)
    for mode in ("NAT", "MULTI_BINDED"):
        modify_refused(eips, a.allocation_id, mode, "ENI.BindEcs")
    modify_refused(eips, a.allocation_id, "FOO", "IllegalParam.Mode")
    assert eips.get(a.allocation_id).mode == "BINDED"
    cloud.detach(eni, inst)
    eips.modify_mode(a.allocation_id, "MULTI_BINDED")
    assert eips.get(a.allocation_id).mode == "MULTI_BINDED"
    assert gateway_infos(eips, eni) == [(a.eip_address, gateway_of(VSW_A), HOST_MASK)]
    eips.modify_mode(a.allocation_id, "NAT")
    e = eips.get(a.allocation_id)
    assert (e.status, e.mode, e.instance_id) == ("InUse", "NAT", eni)

    # A NAT EIP on an attached secondary ENI: ENI.BindEcs.
    att = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    cloud.attach(att, inst)
    n = eips.allocate()
    bind(eips, n.allocation_id, att, "NAT")
    modify_refused(eips, n.allocation_id, "BINDED", "ENI.BindEcs")
    # Bound to the instance: BindInstance.NotSupport.
    i = eips.allocate()
    eips.associate(i.allocation_id, inst)
    for mode in ("BINDED", "MULTI_BINDED"):
        modify_refused(eips, i.allocation_id, mode, "BindInstance.NotSupport")
    assert eips.get(i.allocation_id).mode == "NAT"

    # The association rules for the new mode, counting the ENI's other EIPs.
    c = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=1)
    sub_eni, (sec,) = c.network_interface_id, secondaries(c)
    x, y = eips.allocate(), eips.allocate()
    bind(eips, x.allocation_id, sub_eni, "NAT")
    modify_refused(eips, x.allocation_id, "BINDED", "Eni.HasSubIp")
    bind(eips, y.allocation_id, sub_eni, "NAT", private_ip_address=sec)
    modify_refused(eips, x.allocation_id, "BINDED", "Mode.Conflict")
    modify_refused(eips, x.allocation_id, "MULTI_BINDED", "OperationFailed.EipBindModeConflict")
    assert eips.get(x.allocation_id).mode == "NAT"
    eips.unassociate(y.allocation_id)
    eips.modify_mode(x.allocation_id, "MULTI_BINDED")
    assert eips.get(x.allocation_id).mode == "MULTI_BINDED"
    bind(eips, y.allocation_id, sub_eni, "MULTI_BINDED", private_ip_address=sec)
    modify_refused(eips, x.allocation_id, "NAT", "OperationFailed.EipBindModeConflict")
    modify_refused(eips, x.allocation_id, "BINDED", "Mode.Conflict")
    eips.unassociate(y.allocation_id)
    modify_refused(eips, x.allocation_id, "BINDED", "Eni.HasSubIp")

    # A bound PrePaid EIP cannot become BINDED.
    plain = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    pre = eips.allocate(instance_charge_type="PrePaid")
    bind(eips, pre.allocation_id, plain, "NAT")
    modify_refused(eips, pre.allocation_id, "BINDED", "Forbidden.PrePaidBindedEip")
    eips.unassociate(pre.allocation_id)

    # Associating and Unassociating: IncorrectStatus.EipInstance (after the Mode check).
    bind(eips, y.allocation_id, plain, "NAT", wait=False)
    modify_refused(eips, y.allocation_id, "BINDED", "IncorrectStatus.EipInstance")
    modify_refused(eips, y.allocation_id, "NAT", "IncorrectStatus.EipInstance")
    modify_refused(eips, y.allocation_id, "FOO", "IllegalParam.Mode")
    eips.wait(y.allocation_id, "InUse")
    eips.unassociate(y.allocation_id, wait=False)
    modify_refused(eips, y.allocation_id, "BINDED", "IncorrectStatus.EipInstance")
    eips.wait(y.allocation_id, "Available")


def test_modify_to_the_current_mode_is_refused_alike(eips, cloud, net):
    """The refusals of ModifyEipForwardMode hold when Mode is the EIP's current mode too: the
    doc's table has no exception for it."""
    inst = cloud.instance(net.vsw_a, [net.g1])
    i = eips.allocate()
    eips.associate(i.allocation_id, inst)
    modify_refused(eips, i.allocation_id, "NAT", "BindInstance.NotSupport")
    eni = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    a = eips.allocate()
    bind(eips, a.allocation_id, eni, "BINDED")
    cloud.attach(eni, inst)
    modify_refused(eips, a.allocation_id, "BINDED", "ENI.BindEcs")
    assert eips.get(a.allocation_id).mode == "BINDED"


def test_modify_forward_mode_through_the_legacy_sdk(server, legacy, eips):
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    a = eips.allocate()
    req = h.legacy_request(server.endpoint, "ModifyEipForwardMode", RegionId=R, InstanceId=a.allocation_id,
                           Mode="BINDED")
    body = json.loads(legacy.do_action_with_exception(req))
    assert body["RequestId"]
    assert eips.get(a.allocation_id).mode == "BINDED"
    bad = h.legacy_request(server.endpoint, "ModifyEipForwardMode", RegionId=R, InstanceId=a.allocation_id,
                           Mode="FOO")
    try:
        legacy.do_action_with_exception(bad)
    except ServerException as e:
        assert (e.get_error_code(), e.get_http_status()) == ("IllegalParam.Mode", 400)
    else:
        raise AssertionError("ModifyEipForwardMode with Mode=FOO succeeded")
    assert eips.get(a.allocation_id).mode == "BINDED"
