"""IPv6 addresses, IPv6 /80 prefixes and IPv4 /28 prefixes on ENIs."""

import ipaddress

import pytest
from alibabacloud_ecs20140526 import models as em
from alibabacloud_vpc20160428 import models as vm

import e2e_helpers as h

R = h.REGION
err = h.expect_tea_error


@pytest.fixture
def v6(vpc, cloud):
    """A VPC with IPv6 and a vSwitch with an IPv6 /64, one without, and a group."""
    v = cloud.vpc("192.168.0.0/16", enable_ipv_6=True)
    with_v6 = cloud.vswitch(v, "192.168.1.0/24", ipv_6cidr_block=1)
    without = cloud.vswitch(v, "192.168.2.0/24")
    (s,) = vpc.describe_vswitches(vm.DescribeVSwitchesRequest(region_id=R, v_switch_id=with_v6)).body.v_switches.v_switch
    return v, with_v6, without, ipaddress.ip_network(s.ipv_6cidr_block), cloud.group(v)


def v6_of(e):
    return [s.ipv_6address for s in e.ipv_6sets.ipv_6set]


def assign_v6(ecs, eni_id, **kw):
    return lambda: ecs.assign_ipv_6addresses(em.AssignIpv6AddressesRequest(region_id=R, network_interface_id=eni_id, **kw))


def unassign_v6(ecs, eni_id, **kw):
    return lambda: ecs.unassign_ipv_6addresses(em.UnassignIpv6AddressesRequest(region_id=R, network_interface_id=eni_id, **kw))


def test_ipv6_create_assign_unassign(ecs, cloud, v6):
    _, vsw, _, block, g = v6
    created = cloud.eni(vsw, [g], ipv_6address_count=2)
    eni_id = created.network_interface_id
    first = v6_of(created)
    assert len(first) == 2 and len(set(first)) == 2
    assert all(ipaddress.ip_address(a) in block for a in first)
    assert sorted(v6_of(cloud.eni_get(eni_id))) == sorted(first)

    by_count = assign_v6(ecs, eni_id, ipv_6address_count=1)().body
    assert by_count.network_interface_id == eni_id
    (counted,) = by_count.ipv_6sets.ipv_6address
    assert ipaddress.ip_address(counted) in block and counted not in first
    assert by_count.ipv_6prefix_sets.ipv_6prefix == []

    explicit = str(block.network_address + 0xABCD)
    got = assign_v6(ecs, eni_id, ipv_6address=[explicit])().body
    assert got.ipv_6sets.ipv_6address == [explicit]
    have = v6_of(cloud.eni_get(eni_id))
    assert sorted(have) == sorted(first + [counted, explicit])

    # Taken by this ENI already, or outside the vSwitch's /64.
    err(assign_v6(ecs, eni_id, ipv_6address=[explicit]), "InvalidIp.IpAssigned", 403)
    outside = str(block.network_address + (1 << 64) + 5)
    err(assign_v6(ecs, eni_id, ipv_6address=[outside]), "InvalidVSwitchId.IpInvalid", 403)
    err(assign_v6(ecs, eni_id, ipv_6address=["not-an-ipv6"]), "InvalidIp.Address", 403)

    assert unassign_v6(ecs, eni_id, ipv_6address=[first[0], explicit])().status_code == 200
    assert sorted(v6_of(cloud.eni_get(eni_id))) == sorted([first[1], counted])
    err(unassign_v6(ecs, eni_id, ipv_6address=[explicit]), "InvalidIp.IpUnassigned", 403)

    # The unassigned address is free again: another ENI can take it.
    other = cloud.eni(vsw, [g], ipv_6address=[explicit])
    assert v6_of(other) == [explicit]


def test_ipv6_needs_an_ipv6_vswitch(ecs, cloud, v6):
    _, _, without, _, g = v6
    err(lambda: cloud.eni(without, [g], ipv_6address_count=1), "InvalidVSwitch.Ipv6NotTurnOn", 403)
    eni_id = cloud.eni(without, [g]).network_interface_id
    err(assign_v6(ecs, eni_id, ipv_6address_count=1), "InvalidVSwitch.Ipv6NotTurnOn", 403)
    assert v6_of(cloud.eni_get(eni_id)) == []


def test_ipv6_limit_while_available(ecs, cloud, v6):
    _, vsw, _, _, g = v6
    eni_id = cloud.eni(vsw, [g], ipv_6address_count=10).network_interface_id
    err(assign_v6(ecs, eni_id, ipv_6address_count=1), "MaxEniIpv6IpsCountExceeded", 403)
    assert len(v6_of(cloud.eni_get(eni_id))) == 10


def prefixes_of(e):
    return [p.ipv_4prefix for p in e.ipv_4prefix_sets.ipv_4prefix_set]


def test_ipv4_prefixes(ecs, vpc, cloud, net):
    vsw_net = ipaddress.ip_network("10.0.1.0/24")

    def available():
        (s,) = vpc.describe_vswitches(vm.DescribeVSwitchesRequest(region_id=R, v_switch_id=net.vsw_a)).body.v_switches.v_switch
        return s.available_ip_address_count

    created = cloud.eni(net.vsw_a, [net.g1], ipv_4prefix_count=1)
    eni_id = created.network_interface_id
    (p0,) = prefixes_of(created)
    p0n = ipaddress.ip_network(p0)
    assert p0n.prefixlen == 28 and p0n.subnet_of(vsw_net)
    assert ipaddress.ip_address(created.private_ip_address) not in p0n
    assert available() == 252 - 1 - 16

    got = ecs.assign_private_ip_addresses(
        em.AssignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, ipv_4prefix_count=2)
    ).body.assigned_private_ip_addresses_set
    added = got.ipv_4prefix_set.ipv_4prefixes
    assert got.private_ip_set.private_ip_address == []
    assert len(added) == 2
    nets = [ipaddress.ip_network(p) for p in [p0] + added]
    assert all(n.prefixlen == 28 and n.subnet_of(vsw_net) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert sorted(prefixes_of(cloud.eni_get(eni_id))) == sorted([p0] + added)
    assert available() == 252 - 1 - 48

    # No address of a prefix is handed out as a single IP.
    more = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=20)
    singles = [ipaddress.ip_address(p.private_ip_address) for p in more.private_ip_sets.private_ip_set]
    assert not any(a in n for a in singles for n in nets)

    r = ecs.unassign_private_ip_addresses(
        em.UnassignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, ipv_4prefix=[added[0]])
    )
    assert r.status_code == 200
    assert sorted(prefixes_of(cloud.eni_get(eni_id))) == sorted([p0, added[1]])
    assert available() == 252 - 1 - 32 - 21
    err(lambda: ecs.unassign_private_ip_addresses(
        em.UnassignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, ipv_4prefix=[added[0]])
    ), "InvalidIp.IpUnassigned", 403)

    # An explicit prefix: the freed one, and one that is taken.
    again = ecs.assign_private_ip_addresses(
        em.AssignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, ipv_4prefix=[added[0]])
    ).body.assigned_private_ip_addresses_set
    assert again.ipv_4prefix_set.ipv_4prefixes == [added[0]]
    err(lambda: ecs.assign_private_ip_addresses(
        em.AssignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, ipv_4prefix=[p0])
    ), "InvalidIp.IpAssigned", 403)


def test_ipv6_limits_once_attached(ecs, cloud, v6):
    _, vsw, _, block, g = v6
    inst = cloud.instance(vsw, [g], "ecs.g6.large")  # 1 IPv6 per ENI
    two = cloud.eni(vsw, [g], ipv_6address_count=2).network_interface_id
    err(lambda: cloud.attach(two, inst), "InvalidOperation.Ipv6CountExceeded", 403)
    assert cloud.eni_status(two) == "Available"
    one = cloud.eni(vsw, [g], ipv_6address_count=1).network_interface_id
    cloud.attach(one, inst)
    err(assign_v6(ecs, one, ipv_6address_count=1), "InvalidOperation.Ipv6CountExceeded", 403)
    assert len(v6_of(cloud.eni_get(one))) == 1


def test_run_instances_with_ipv6(ecs, cloud, v6):
    _, vsw, _, block, g = v6
    inst = cloud.instance(vsw, [g], ipv_6address_count=1)
    (nic,) = cloud.instance_get(inst).network_interfaces.network_interface
    (a,) = [s.ipv_6address for s in nic.ipv_6sets.ipv_6set]
    assert ipaddress.ip_address(a) in block
    (p,) = cloud.describe_enis(instance_id=inst).network_interface_sets.network_interface_set
    assert v6_of(p) == [a]
    assert [e.network_interface_id for e in
            cloud.describe_enis(ipv_6address=[a]).network_interface_sets.network_interface_set] == [p.network_interface_id]


def v6_prefixes_of(e):
    return [p.ipv_6prefix for p in e.ipv_6prefix_sets.ipv_6prefix_set]


def test_ipv6_prefixes_count_against_the_ipv6_limits(ecs, cloud, v6):
    """The ECS "IP prefixes" page: each prefix counts as one address against the ENI's IPv6
    limit: 10 while Available, the type's EniIpv6AddressQuantity once attached."""
    _, vsw, _, block, g = v6
    err(lambda: cloud.eni(vsw, [g], ipv_6address_count=6, ipv_6prefix_count=5), "MaxEniIpv6IpsCountExceeded", 403)
    created = cloud.eni(vsw, [g], ipv_6address_count=5, ipv_6prefix_count=5)
    eni_id = created.network_interface_id
    prefixes = v6_prefixes_of(created)
    assert len(prefixes) == 5 and len(v6_of(created)) == 5
    nets = [ipaddress.ip_network(p) for p in prefixes]
    assert all(n.prefixlen == 80 and n.subnet_of(block) for n in nets)
    assert not any(ipaddress.ip_address(a) in n for a in v6_of(created) for n in nets)
    err(assign_v6(ecs, eni_id, ipv_6prefix_count=1), "MaxEniIpv6IpsCountExceeded", 403)
    err(assign_v6(ecs, eni_id, ipv_6address_count=1), "MaxEniIpv6IpsCountExceeded", 403)
    assert unassign_v6(ecs, eni_id, ipv_6prefix=[prefixes[0]])().status_code == 200
    got = assign_v6(ecs, eni_id, ipv_6prefix_count=1)().body
    (again,) = got.ipv_6prefix_sets.ipv_6prefix
    assert got.ipv_6sets.ipv_6address == []
    assert sorted(v6_prefixes_of(cloud.eni_get(eni_id))) == sorted(prefixes[1:] + [again])

    inst = cloud.instance(vsw, [g], "ecs.g6.large")  # 1 IPv6 per ENI
    two = cloud.eni(vsw, [g], ipv_6address_count=1, ipv_6prefix_count=1).network_interface_id
    err(lambda: cloud.attach(two, inst), "InvalidOperation.Ipv6CountExceeded", 403)
    assert cloud.eni_status(two) == "Available"
    one = cloud.eni(vsw, [g], ipv_6prefix_count=1).network_interface_id
    cloud.attach(one, inst)
    err(assign_v6(ecs, one, ipv_6prefix_count=1), "InvalidOperation.Ipv6CountExceeded", 403)
    err(assign_v6(ecs, one, ipv_6address_count=1), "InvalidOperation.Ipv6CountExceeded", 403)
    assert len(v6_prefixes_of(cloud.eni_get(one))) == 1


def test_ipv6_prefix_never_contains_an_assigned_address(ecs, cloud, v6):
    """A prefix must not overlap an address in use, and an address must not fall inside a
    prefix in use (InvalidIp.IpAssigned either way)."""
    _, vsw, _, block, g = v6
    base = int(block.network_address)
    addr = str(ipaddress.ip_address(base | (3 << 48) | 5))
    around = str(ipaddress.ip_network((base | (3 << 48), 80)))
    holder = cloud.eni(vsw, [g], ipv_6address=[addr]).network_interface_id
    other = cloud.eni(vsw, [g]).network_interface_id
    err(lambda: cloud.eni(vsw, [g], ipv_6prefix=[around]), "InvalidIp.IpAssigned", 403)
    for eni_id in (other, holder):
        err(assign_v6(ecs, eni_id, ipv_6prefix=[around]), "InvalidIp.IpAssigned", 403)
    assert v6_prefixes_of(cloud.eni_get(other)) == []

    nxt = str(ipaddress.ip_network((base | (4 << 48), 80)))
    got = assign_v6(ecs, other, ipv_6prefix=[nxt])().body
    assert got.ipv_6prefix_sets.ipv_6prefix == [nxt]
    inside = str(ipaddress.ip_address(base | (4 << 48) | 9))
    err(assign_v6(ecs, holder, ipv_6address=[inside]), "InvalidIp.IpAssigned", 403)

    assert unassign_v6(ecs, holder, ipv_6address=[addr])().status_code == 200
    assert assign_v6(ecs, other, ipv_6prefix=[around])().body.ipv_6prefix_sets.ipv_6prefix == [around]
    assert v6_prefixes_of(cloud.eni_get(other)) == [nxt, around]
