"""ENI, instance and security-group rules: each refusal with its exact code and HTTP status
through the new ECS SDK, and what is (not) left behind."""

import json

import pytest
from alibabacloud_ecs20140526 import models as em
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vm

import e2e_helpers as h

R = h.REGION
err = h.expect_tea_error


def attach(ecs, eni_id, inst):
    return lambda: ecs.attach_network_interface(
        em.AttachNetworkInterfaceRequest(region_id=R, network_interface_id=eni_id, instance_id=inst)
    )


def detach(ecs, eni_id, inst):
    return lambda: ecs.detach_network_interface(
        em.DetachNetworkInterfaceRequest(region_id=R, network_interface_id=eni_id, instance_id=inst)
    )


def delete_eni(ecs, eni_id):
    return lambda: ecs.delete_network_interface(em.DeleteNetworkInterfaceRequest(region_id=R, network_interface_id=eni_id))


def assign(ecs, eni_id, **kw):
    return lambda: ecs.assign_private_ip_addresses(
        em.AssignPrivateIpAddressesRequest(region_id=R, network_interface_id=eni_id, **kw)
    )


def create(ecs, vsw, **kw):
    kw.setdefault("region_id", R)
    return lambda: ecs.create_network_interface(em.CreateNetworkInterfaceRequest(v_switch_id=vsw, **kw))


def eni_ids_in(cloud, vpc_id, **kw):
    sets = cloud.describe_enis(vpc_id=vpc_id, max_results=100, **kw).network_interface_sets.network_interface_set
    return sorted(e.network_interface_id for e in sets)


def primary_of(cloud, inst):
    (p,) = cloud.describe_enis(instance_id=inst, type="Primary").network_interface_sets.network_interface_set
    return p


def ip_count(cloud, eni_id):
    return len(cloud.eni_get(eni_id).private_ip_sets.private_ip_set)


# ---------------------------------------------------------------- primary ENI


def test_primary_eni_cannot_be_detached_or_deleted(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])
    p = primary_of(cloud, inst)
    assert (p.status, p.instance_id, p.attachment.device_index) == ("InUse", inst, 0)
    err(detach(ecs, p.network_interface_id, inst), "InvalidOperation.DetachPrimaryEniNotAllowed", 400)
    err(delete_eni(ecs, p.network_interface_id), "InvalidOperation.InvalidEniType", 403)
    # A primary ENI is attached already; attaching it elsewhere is refused too.
    other = cloud.instance(net.vsw_a, [net.g1])
    err(attach(ecs, p.network_interface_id, other), "InvalidOperation.InvalidEniType", 403)
    again = cloud.eni_get(p.network_interface_id)
    assert (again.status, again.instance_id) == ("InUse", inst)


# ---------------------------------------------------------------- attach


def test_attach_eni_in_use_elsewhere(ecs, cloud, net):
    i1, i2 = cloud.run(net.vsw_a, [net.g1], amount=2)
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    cloud.attach(e, i1, wait=False)
    err(attach(ecs, e, i2), "InvalidOperation.InvalidEniState", 400)  # while Attaching
    cloud.wait_eni(e, "InUse")
    err(attach(ecs, e, i2), "InvalidOperation.InvalidEniState", 400)
    err(attach(ecs, e, i1), "InvalidOperation.InvalidEniState", 400)
    # Deleting an attached ENI is refused as well, and detaching from the wrong instance.
    err(delete_eni(ecs, e), "InvalidOperation.InvalidEniState", 400)
    err(detach(ecs, e, i2), "InvalidOperation.InvalidEniState", 400)
    got = cloud.eni_get(e)
    assert (got.status, got.instance_id) == ("InUse", i1)
    # Re-issuing a detach while Detaching is accepted.
    cloud.detach(e, i1, wait=False)
    detach(ecs, e, i1)()
    cloud.wait_eni(e, "Available")
    err(detach(ecs, e, i1), "InvalidOperation.InvalidEniState", 400)


def test_attach_unknown_ids(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    err(attach(ecs, "eni-doesnotexist000000000", inst), "InvalidEniId.NotFound", 404)
    err(attach(ecs, e, "i-doesnotexist00000000000"), "InvalidEcsId.NotFound", 404)
    err(delete_eni(ecs, "eni-doesnotexist000000000"), "InvalidEniId.NotFound", 404)
    assert cloud.eni_status(e) == "Available"


def test_attach_other_vpc(ecs, cloud, net):
    other = cloud.vpc("10.0.0.0/16")
    other_vsw = cloud.vswitch(other, "10.0.1.0/24")  # same zone, same CIDR, other VPC
    inst = cloud.instance(other_vsw, [cloud.group(other)])
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    err(attach(ecs, e, inst), "InvalidOperation.VpcMismatch", 403)
    assert cloud.eni_status(e) == "Available"


def test_attach_other_zone(ecs, cloud, net):
    inst = cloud.instance(net.vsw_i, [net.g1])  # cn-hangzhou-i
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id  # cn-hangzhou-h
    err(attach(ecs, e, inst), "InvalidOperation.AvailabilityZoneMismatch", 403)
    assert cloud.eni_status(e) == "Available"
    # Another vSwitch of the same zone is fine.
    cloud.attach(cloud.eni(net.vsw_i, [net.g2]).network_interface_id, inst)


# ---------------------------------------------------------------- security groups


def test_security_group_rules_on_create(ecs, cloud, net):
    vsw = net.vsw_a
    err(create(ecs, vsw), "MissingParameter", 400)
    six = [net.g1, net.g2] + [cloud.group(net.vpc) for _ in range(4)]
    err(create(ecs, vsw, security_group_ids=six), "JoinedGroupLimitExceed", 400)
    other = cloud.vpc("10.1.0.0/16")
    foreign = cloud.group(other)
    err(create(ecs, vsw, security_group_id=foreign), "InvalidOperation.VpcMismatch", 403)
    err(create(ecs, vsw, security_group_ids=[net.g1, foreign]), "InvalidOperation.VpcMismatch", 403)
    err(create(ecs, vsw, security_group_id="sg-doesnotexist000000000"), "InvalidSecurityGroupId.NotFound", 404)
    err(create(ecs, vsw, security_group_ids=[net.g1, "sg-doesnotexist000000000"]), "InvalidSecurityGroupId.NotFound", 404)
    err(create(ecs, vsw, security_group_id=net.g1, security_group_ids=[net.g2]), "InvalidParameter.Conflict", 400)
    assert eni_ids_in(cloud, net.vpc) == []
    # Five is the limit, not more.
    five = cloud.eni(vsw, six[:5])
    assert sorted(five.security_group_ids.security_group_id) == sorted(six[:5])
    # Unknown vSwitch.
    err(create(ecs, "vsw-doesnotexist000000000", security_group_id=net.g1), "InvalidVSwitchId.NotFound", 404)


# ---------------------------------------------------------------- per-type limits


def test_eni_per_instance_limit(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1], "ecs.g6.large")  # 2 ENIs, primary included
    e1 = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    e2 = cloud.eni(net.vsw_b, [net.g1]).network_interface_id
    cloud.attach(e1, inst, wait=False)
    # An ENI still Attaching counts.
    err(attach(ecs, e2, inst), "EniPerInstanceLimitExceeded", 403)
    cloud.wait_eni(e1, "InUse")
    err(attach(ecs, e2, inst), "EniPerInstanceLimitExceeded", 403)
    assert cloud.eni_status(e2) == "Available"
    # ecs.g7.large takes 3.
    big = cloud.instance(net.vsw_a, [net.g1], "ecs.g7.large")
    e3 = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    cloud.attach(e2, big)
    cloud.attach(e3, big)
    e4 = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    err(attach(ecs, e4, big), "EniPerInstanceLimitExceeded", 403)


def test_ipv4_limit_on_attach(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1], "ecs.g6.large")  # 6 IPv4 per ENI, primary included
    seven = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=6).network_interface_id
    err(attach(ecs, seven, inst), "InvalidOperation.Ipv4CountExceeded", 403)
    assert cloud.eni_status(seven) == "Available"
    six = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=5).network_interface_id
    cloud.attach(six, inst)
    assert ip_count(cloud, six) == 6


def test_ipv4_limit_on_assign_when_attached(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1], "ecs.g6.large")
    e = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=3).network_interface_id
    cloud.attach(e, inst)
    assign(ecs, e, secondary_private_ip_address_count=2)()
    assert ip_count(cloud, e) == 6
    err(assign(ecs, e, secondary_private_ip_address_count=1), "InvalidOperation.Ipv4CountExceeded", 403)
    err(assign(ecs, e, private_ip_address=["10.0.1.99"]), "InvalidOperation.Ipv4CountExceeded", 403)
    assert ip_count(cloud, e) == 6
    # The primary ENI has the same limit.
    p = primary_of(cloud, inst).network_interface_id
    assign(ecs, p, secondary_private_ip_address_count=5)()
    err(assign(ecs, p, secondary_private_ip_address_count=1), "InvalidOperation.Ipv4CountExceeded", 403)


def test_available_eni_takes_49_secondary_ips(ecs, cloud, net):
    full = cloud.eni(net.vsw_a, [net.g1], secondary_private_ip_address_count=49).network_interface_id
    assert ip_count(cloud, full) == 50
    err(assign(ecs, full, secondary_private_ip_address_count=1), "MaxEniPrivateIpsCountExceeded", 403)
    err(assign(ecs, full, private_ip_address=["10.0.1.250"]), "MaxEniPrivateIpsCountExceeded", 403)
    almost = cloud.eni(net.vsw_b, [net.g1], secondary_private_ip_address_count=45).network_interface_id
    assign(ecs, almost, secondary_private_ip_address_count=4)()
    assert ip_count(cloud, almost) == 50
    err(assign(ecs, almost, secondary_private_ip_address_count=1), "MaxEniPrivateIpsCountExceeded", 403)
    assert ip_count(cloud, almost) == 50


# ---------------------------------------------------------------- instance kinds and states


def test_not_io_optimized_type(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1], "ecs.t1.small")
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    err(attach(ecs, e, inst), "InvalidInstanceType.ValueNotSupported", 400)
    assert cloud.eni_status(e) == "Available"


def test_classic_instance(ecs, cloud, net):
    inst = cloud.instance(None, None)  # RunInstances without VSwitchId
    i = cloud.instance_get(inst)
    assert i.instance_network_type == "classic"
    assert i.network_interfaces.network_interface == []
    assert i.vpc_attributes.vpc_id == ""
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    err(attach(ecs, e, inst), "InvalidVpc.Empty", 403)
    assert cloud.eni_status(e) == "Available"


def test_attach_while_pending(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1], wait=False)
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    assert cloud.instance_status(inst) == "Pending"
    err(attach(ecs, e, inst), "InvalidOperation.InvalidEcsState", 400)
    assert cloud.eni_status(e) == "Available"
    cloud.wait_instance(inst, "Running")
    cloud.attach(e, inst)


def test_burstable_type_attaches_only_while_stopped(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1], "ecs.t6-c1m2.large")
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    err(attach(ecs, e, inst), "InvalidOperation.InvalidEcsState", 400)
    ecs.stop_instance(em.StopInstanceRequest(instance_id=inst))
    assert cloud.instance_status(inst) == "Stopping"
    err(attach(ecs, e, inst), "InvalidOperation.InvalidEcsState", 400)
    cloud.wait_instance(inst, "Stopped")
    cloud.attach(e, inst)
    assert cloud.eni_get(e).instance_id == inst


# ---------------------------------------------------------------- region ENI quota


def test_region_eni_quota(extra_server):
    srv, ecs, vpc, c = extra_server("--eni-quota", "2")
    try:
        v = c.vpc("10.0.0.0/16")
        vsw = c.vswitch(v, "10.0.1.0/24")
        g = c.group(v)
        first = c.eni(vsw, [g]).network_interface_id
        c.eni(vsw, [g])
        err(create(ecs, vsw, security_group_id=g), "MaxEniCountExceeded", 403)
        assert len(eni_ids_in(c, v)) == 2
        # Primary ENIs are not secondary ENIs: instances still launch.
        inst = c.instance(vsw, [g])
        assert primary_of(c, inst).type == "Primary"
        # Deleting one frees a slot once it is gone.
        c.delete_eni(first)
        c.eni(vsw, [g])
        err(create(ecs, vsw, security_group_id=g), "MaxEniCountExceeded", 403)
    finally:
        c.cleanup()
        c.res.cleanup()


def test_transition_delay_flag(extra_server):
    """--transition-delay-ms 0: attach, detach, delete and instance start complete in the call."""
    srv, ecs, vpc, c = extra_server("--transition-delay-ms", "0")
    try:
        v = c.vpc("10.0.0.0/16")
        vsw = c.vswitch(v, "10.0.1.0/24")
        g = c.group(v)
        inst = c.instance(vsw, [g], wait=False)
        assert c.instance_status(inst) == "Running"
        e = c.eni(vsw, [g]).network_interface_id
        c.attach(e, inst, wait=False)
        assert c.eni_status(e) == "InUse"
        c.detach(e, inst, wait=False)
        assert c.eni_status(e) == "Available"
        c.delete_eni(e, wait=False)
        assert c.eni_get(e) is None
    finally:
        c.cleanup()
        c.res.cleanup()


# ---------------------------------------------------------------- explicit addresses


@pytest.mark.parametrize("ip", ["10.0.2.5", "192.168.0.1", "10.0.1.0", "10.0.1.253", "10.0.1.254", "10.0.1.255"])
def test_ip_outside_or_reserved(ecs, cloud, net, ip):
    err(create(ecs, net.vsw_a, security_group_id=net.g1, primary_ip_address=ip), "InvalidVSwitchId.IpInvalid", 403)
    err(create(ecs, net.vsw_a, security_group_id=net.g1, private_ip_address=[ip]), "InvalidVSwitchId.IpInvalid", 403)
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    err(assign(ecs, e, private_ip_address=[ip]), "InvalidVSwitchId.IpInvalid", 403)
    assert ip_count(cloud, e) == 1
    assert eni_ids_in(cloud, net.vpc) == [e]


def test_ip_taken_and_repeated(ecs, cloud, net):
    # The first and last usable addresses are fine.
    low = cloud.eni(net.vsw_a, [net.g1], primary_ip_address="10.0.1.1")
    high = cloud.eni(net.vsw_a, [net.g1], primary_ip_address="10.0.1.252", private_ip_address=["10.0.1.11"])
    assert (low.private_ip_address, high.private_ip_address) == ("10.0.1.1", "10.0.1.252")
    e = cloud.eni(net.vsw_a, [net.g1], primary_ip_address="10.0.1.10").network_interface_id

    g = net.g1
    err(create(ecs, net.vsw_a, security_group_id=g, primary_ip_address="10.0.1.10"), "InvalidPrivateIpAddress.Duplicated", 400)
    err(create(ecs, net.vsw_a, security_group_id=g, primary_ip_address="10.0.1.11"), "InvalidPrivateIpAddress.Duplicated", 400)
    err(create(ecs, net.vsw_a, security_group_id=g, private_ip_address=["10.0.1.10"]), "InvalidPrivateIpAddress.Duplicated", 400)
    err(assign(ecs, e, private_ip_address=["10.0.1.252"]), "InvalidIp.IpAssigned", 403)
    err(assign(ecs, e, private_ip_address=["10.0.1.11"]), "InvalidIp.IpAssigned", 403)
    err(assign(ecs, e, private_ip_address=["10.0.1.10"]), "InvalidIp.IpAssigned", 403)

    err(create(ecs, net.vsw_a, security_group_id=g, private_ip_address=["10.0.1.20", "10.0.1.20"]), "InvalidIp.IpRepeated", 403)
    err(create(ecs, net.vsw_a, security_group_id=g, primary_ip_address="10.0.1.21", private_ip_address=["10.0.1.21"]),
        "InvalidIp.IpRepeated", 403)
    err(assign(ecs, e, private_ip_address=["10.0.1.30", "10.0.1.30"]), "InvalidIp.IpRepeated", 403)

    # Nothing was taken by the refused calls.
    assert sorted(eni_ids_in(cloud, net.vpc)) == sorted([low.network_interface_id, high.network_interface_id, e])
    got = assign(ecs, e, private_ip_address=["10.0.1.20", "10.0.1.21", "10.0.1.30"])()
    assert got.body.assigned_private_ip_addresses_set.private_ip_set.private_ip_address == ["10.0.1.20", "10.0.1.21", "10.0.1.30"]


# ---------------------------------------------------------------- describe unknown IDs


def test_describe_unknown_ids_is_empty(cloud, net):
    cloud.eni(net.vsw_a, [net.g1])
    for kw in (
        {"network_interface_id": ["eni-doesnotexist000000000"]},
        {"network_interface_id": ["eni-doesnotexist000000000", "not-an-eni-id"]},
        {"instance_id": "i-doesnotexist00000000000"},
        {"vpc_id": "vpc-doesnotexist000000000"},
        {"v_switch_id": "vsw-doesnotexist000000000"},
    ):
        resp = cloud.ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(region_id=R, **kw))
        assert resp.status_code == 200
        assert resp.body.network_interface_sets.network_interface_set == [], kw
        assert resp.body.total_count == 0


# ---------------------------------------------------------------- instance release


def test_delete_instance_releases_per_delete_on_release(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])  # ecs.g7.large: 3 ENIs
    primary = primary_of(cloud, inst).network_interface_id
    goes = cloud.eni(net.vsw_a, [net.g1], delete_on_release=True, secondary_private_ip_address_count=2).network_interface_id
    stays = cloud.eni(net.vsw_b, [net.g2], delete_on_release=False).network_interface_id
    assert cloud.eni_get(goes).delete_on_release is True
    assert cloud.eni_get(stays).delete_on_release is False
    cloud.attach(goes, inst)
    cloud.attach(stays, inst)

    resp = cloud.delete_instance(inst, force=True)
    assert resp.status_code == 200
    h.wait_for(lambda: cloud.instance_get(inst), lambda i: i is None, what="instance gone")
    h.wait_for(lambda: cloud.eni_get(goes), lambda e: e is None, what="DeleteOnRelease ENI gone")
    assert cloud.eni_get(primary) is None
    back = cloud.wait_eni(stays, "Available")
    assert back.instance_id == ""
    assert (back.v_switch_id, back.security_group_ids.security_group_id) == (net.vsw_b, [net.g2])
    assert eni_ids_in(cloud, net.vpc) == [stays]
    # The addresses of the primary ENI and of `goes` are free again; `stays` keeps its own.
    assert available_ips(cloud.res.client, net.vsw_a) == 252
    assert available_ips(cloud.res.client, net.vsw_b) == 251


def test_delete_running_instance_needs_force(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])
    err(lambda: cloud.delete_instance(inst, force=False), "IncorrectInstanceStatus", 403)
    assert cloud.instance_status(inst) == "Running"
    ecs.stop_instance(em.StopInstanceRequest(instance_id=inst))
    err(lambda: cloud.delete_instance(inst, force=False), "IncorrectInstanceStatus", 403)  # Stopping
    cloud.wait_instance(inst, "Stopped")
    cloud.delete_instance(inst, force=False)
    assert cloud.instance_get(inst) is None
    err(lambda: cloud.delete_instance(inst, force=True), "InvalidInstanceId.NotFound", 404)


# ---------------------------------------------------------------- dependencies


def test_delete_security_group_in_use(ecs, cloud, net):
    def delete_group(g):
        return lambda: ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=R, security_group_id=g))

    e = cloud.eni(net.vsw_a, [net.g2]).network_interface_id
    inst = cloud.instance(net.vsw_a, [net.g1])
    err(delete_group(net.g2), "DependencyViolation.SecurityGroupInUse", 400)  # by a secondary ENI
    err(delete_group(net.g1), "DependencyViolation.SecurityGroupInUse", 400)  # by an instance's primary ENI
    cloud.delete_eni(e)
    assert delete_group(net.g2)().status_code == 200
    cloud.delete_instance(inst, force=True)
    assert delete_group(net.g1)().status_code == 200
    err(delete_group(net.g1), "InvalidSecurityGroupId.NotFound", 404)


def test_delete_vpc_with_security_group(vpc, cloud):
    v = cloud.vpc("10.0.0.0/16")
    g = cloud.group(v)
    err(lambda: vpc.delete_vpc(vm.DeleteVpcRequest(region_id=R, vpc_id=v)), "DependencyViolation.SecurityGroup", 400)
    cloud.ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=R, security_group_id=g))
    assert vpc.delete_vpc(vm.DeleteVpcRequest(region_id=R, vpc_id=v)).status_code == 200


def delete_vsw(vpc, s):
    return lambda: vpc.delete_vswitch(vm.DeleteVSwitchRequest(region_id=R, v_switch_id=s))


def available_ips(vpc, s):
    (x,) = vpc.describe_vswitches(vm.DescribeVSwitchesRequest(region_id=R, v_switch_id=s)).body.v_switches.v_switch
    return x.available_ip_address_count


def test_delete_vswitch_with_eni_or_instance(vpc, cloud, net):
    e = cloud.eni(net.vsw_b, [net.g1]).network_interface_id
    err(delete_vsw(vpc, net.vsw_b), "DependencyViolation", 400)
    cloud.delete_eni(e, wait=False)
    err(delete_vsw(vpc, net.vsw_b), "DependencyViolation", 400)  # still Deleting
    assert available_ips(vpc, net.vsw_b) == 251
    cloud.wait_enis_gone([e])
    h.wait_for(lambda: available_ips(vpc, net.vsw_b), lambda n: n == 252, what="address released")
    assert delete_vsw(vpc, net.vsw_b)().status_code == 200

    inst = cloud.instance(net.vsw_i, [net.g1])
    err(delete_vsw(vpc, net.vsw_i), "DependencyViolation", 400)
    cloud.delete_instance(inst, force=True)
    assert delete_vsw(vpc, net.vsw_i)().status_code == 200


def test_eni_gone_from_describe_is_gone_everywhere(vpc, cloud, net):
    """The moment DescribeNetworkInterfaces no longer lists a deleted ENI (what Terway and
    Terraform wait for), its address is free in DescribeVSwitches and the vSwitch can be
    deleted. Polled tightly, so the check lands before the server's background sweep."""
    e = cloud.eni(net.vsw_b, [net.g1]).network_interface_id
    cloud.delete_eni(e, wait=False)
    h.wait_for(lambda: cloud.eni_get(e), lambda x: x is None, step=0.002, what="ENI gone")
    free_now = available_ips(vpc, net.vsw_b)
    try:
        deleted = delete_vsw(vpc, net.vsw_b)().status_code
    except ClientException as ex:
        deleted = h.tea_error(ex)[:2]
    assert (free_now, deleted) == (252, 200)


# ---------------------------------------------------------------- more states


def test_detach_needs_running_or_stopped_instance_and_in_use_eni(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    cloud.attach(e, inst, wait=False)
    err(detach(ecs, e, inst), "InvalidOperation.InvalidEniState", 400)  # still Attaching
    err(assign(ecs, e, secondary_private_ip_address_count=1), "InvalidOperation.InvalidEniState", 400)
    cloud.wait_eni(e, "InUse")
    ecs.stop_instance(em.StopInstanceRequest(instance_id=inst))
    err(detach(ecs, e, inst), "InvalidOperation.InvalidEcsState", 400)  # Stopping
    assert cloud.eni_status(e) == "InUse"
    cloud.wait_instance(inst, "Stopped")
    cloud.detach(e, inst)  # fine on a Stopped instance
    cloud.attach(e, inst)  # and so is attaching


def test_assign_ip_list_and_count_conflict(ecs, cloud, net):
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    err(assign(ecs, e, private_ip_address=["10.0.1.50"], secondary_private_ip_address_count=1), "InvalidParameter.Conflict", 400)
    err(create(ecs, net.vsw_a, security_group_id=net.g1, private_ip_address=["10.0.1.50"], secondary_private_ip_address_count=1),
        "InvalidParameter.Conflict", 400)
    err(assign(ecs, e), "MissingParameter", 400)
    assert ip_count(cloud, e) == 1


# ---------------------------------------------------------------- races


def race(server, calls):
    """Runs each `calls[k](client)` in its own thread with its own SDK client, all released at
    once; returns [("ok", result) | ("err", (code, status))]."""
    import threading

    barrier = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def worker(k):
        client = h.ecs_client(server.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        barrier.wait()
        try:
            out[k] = ("ok", calls[k](client))
        except ClientException as e:
            out[k] = ("err", h.tea_error(e)[:2])
        except Exception as e:  # noqa: BLE001
            out[k] = ("exc", repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def test_parallel_attach_same_eni_to_several_instances(server, cloud, net):
    insts = cloud.run(net.vsw_a, [net.g1], amount=4)
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    out = race(server, [lambda c, i=i: attach(c, e, i)() for i in insts])
    ok = [k for k, (kind, _) in enumerate(out) if kind == "ok"]
    assert len(ok) == 1, out
    assert all(r == ("err", ("InvalidOperation.InvalidEniState", 400)) for k, r in enumerate(out) if k not in ok), out
    assert cloud.wait_eni(e, "InUse").instance_id == insts[ok[0]]


def test_parallel_attach_respects_the_type_limit(server, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1], "ecs.g6.large")  # room for one secondary ENI
    enis = [cloud.eni(net.vsw_a, [net.g1]).network_interface_id for _ in range(4)]
    out = race(server, [lambda c, e=e: attach(c, e, inst)() for e in enis])
    assert [kind for kind, _ in out].count("ok") == 1, out
    assert all(r == ("err", ("EniPerInstanceLimitExceeded", 403)) for r in out if r[0] != "ok"), out
    h.wait_for(lambda: len(cloud.describe_enis(instance_id=inst).network_interface_sets.network_interface_set),
               lambda n: n == 2, what="primary + one")


# ---------------------------------------------------------------- accounts and regions


def test_other_account_cannot_touch_enis(server, ecs, cloud, net, new_account):
    acct = new_account()
    other_ecs = h.ecs_client(server.endpoint, acct["AccessKeyId"], acct["AccessKeySecret"])
    other_vpc = h.vpc_client(server.endpoint, acct["AccessKeyId"], acct["AccessKeySecret"])
    from conftest import Cloud, Resources

    theirs = Cloud(other_ecs, Resources(other_vpc))
    try:
        mine = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
        my_inst = cloud.instance(net.vsw_a, [net.g1])
        tv = theirs.vpc("10.0.0.0/16")
        tvsw = theirs.vswitch(tv, "10.0.1.0/24")
        tg = theirs.group(tv)
        their_inst = theirs.instance(tvsw, [tg])
        their_eni = theirs.eni(tvsw, [tg]).network_interface_id

        assert theirs.eni_get(mine) is None
        assert theirs.describe_enis(vpc_id=net.vpc).network_interface_sets.network_interface_set == []
        assert cloud.describe_enis(vpc_id=tv).network_interface_sets.network_interface_set == []
        err(attach(other_ecs, mine, their_inst), "InvalidEniId.NotFound", 404)
        err(attach(ecs, mine, their_inst), "InvalidEcsId.NotFound", 404)
        err(attach(ecs, their_eni, my_inst), "InvalidEniId.NotFound", 404)
        err(delete_eni(other_ecs, mine), "InvalidEniId.NotFound", 404)
        err(create(other_ecs, net.vsw_a, security_group_id=tg), "InvalidVSwitchId.NotFound", 404)
        err(create(other_ecs, tvsw, security_group_id=net.g1), "InvalidSecurityGroupId.NotFound", 404)
        err(lambda: other_ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=R, security_group_id=net.g1)),
            "InvalidSecurityGroupId.NotFound", 404)
        err(lambda: other_ecs.delete_instance(em.DeleteInstanceRequest(instance_id=my_inst, force=True)),
            "InvalidInstanceId.NotFound", 404)
        assert theirs.instance_get(my_inst) is None
        assert cloud.eni_status(mine) == "Available" and cloud.instance_status(my_inst) == "Running"
    finally:
        theirs.cleanup()
        theirs.res.cleanup()


def test_other_region_sees_nothing(ecs, cloud, net):
    e = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    inst = cloud.instance(net.vsw_a, [net.g1])
    bj = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(region_id="cn-beijing", network_interface_id=[e]))
    assert bj.body.network_interface_sets.network_interface_set == []
    err(lambda: ecs.attach_network_interface(
        em.AttachNetworkInterfaceRequest(region_id="cn-beijing", network_interface_id=e, instance_id=inst)
    ), "InvalidEniId.NotFound", 404)
    assert cloud.describe_instances(region_id="cn-beijing", instance_ids=json.dumps([inst])).instances.instance == []
    err(lambda: ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(region_id="cn-nowhere")),
        "InvalidRegionId.NotFound", 404)
