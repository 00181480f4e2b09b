"""Instance lifecycle: RunInstances Pending → Running, StopInstance Stopping → Stopped,
StartInstance Starting → Running, CreateInstance lands Stopped; the primary ENI in
DescribeInstances and DescribeNetworkInterfaces."""

import ipaddress

from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h

R = h.REGION
err = h.expect_tea_error


def test_run_stop_start(ecs, cloud, net, unique):
    ids = cloud.run(net.vsw_a, [net.g1], amount=2, wait=False, instance_name=unique)
    assert len(ids) == 2 and len(set(ids)) == 2 and all(i.startswith("i-") for i in ids)
    assert [cloud.instance_status(i) for i in ids] == ["Pending", "Pending"]
    pending = cloud.describe_instances(vpc_id=net.vpc, status="Pending").instances.instance
    assert sorted(i.instance_id for i in pending) == sorted(ids)
    for i in ids:
        cloud.wait_instance(i, "Running")
    inst = ids[0]
    got = cloud.instance_get(inst)
    assert (got.instance_name, got.instance_type, got.zone_id, got.region_id) == (unique, "ecs.g7.large", "cn-hangzhou-h", R)
    assert got.start_time and got.creation_time.endswith("Z")

    resp = ecs.stop_instance(em.StopInstanceRequest(instance_id=inst))
    assert resp.status_code == 200 and resp.body.request_id
    assert cloud.instance_status(inst) == "Stopping"
    assert [i.instance_id for i in cloud.describe_instances(vpc_id=net.vpc, status="Stopping").instances.instance] == [inst]
    err(lambda: ecs.start_instance(em.StartInstanceRequest(instance_id=inst)), "IncorrectInstanceStatus", 403)
    cloud.wait_instance(inst, "Stopped")
    err(lambda: ecs.stop_instance(em.StopInstanceRequest(instance_id=inst)), "IncorrectInstanceStatus", 403)

    ecs.start_instance(em.StartInstanceRequest(instance_id=inst))
    assert cloud.instance_status(inst) == "Starting"
    cloud.wait_instance(inst, "Running")
    assert cloud.instance_status(ids[1]) == "Running"
    err(lambda: ecs.start_instance(em.StartInstanceRequest(instance_id="i-doesnotexist00000000000")),
        "InvalidInstanceId.NotFound", 404)


def test_create_instance_lands_stopped(ecs, cloud, net):
    inst = cloud.create_instance(net.vsw_a, net.g1, private_ip_address="10.0.1.77")
    assert cloud.instance_status(inst) == "Stopped"
    got = cloud.instance_get(inst)
    assert got.vpc_attributes.private_ip_address.ip_address == ["10.0.1.77"]
    ecs.start_instance(em.StartInstanceRequest(instance_id=inst))
    cloud.wait_instance(inst, "Running")


def test_primary_eni_of_an_instance(cloud, net):
    inst = cloud.instance(net.vsw_b, [net.g1, net.g2])
    i = cloud.instance_get(inst)
    assert i.instance_network_type == "vpc"
    assert (i.vpc_attributes.vpc_id, i.vpc_attributes.v_switch_id) == (net.vpc, net.vsw_b)
    assert sorted(i.security_group_ids.security_group_id) == sorted([net.g1, net.g2])
    (nic,) = i.network_interfaces.network_interface
    assert nic.type == "Primary"
    (ip,) = i.vpc_attributes.private_ip_address.ip_address
    assert nic.primary_ip_address == ip
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.0.2.0/24")
    assert [(p.private_ip_address, p.primary) for p in nic.private_ip_sets.private_ip_set] == [(ip, True)]

    (e,) = cloud.describe_enis(instance_id=inst).network_interface_sets.network_interface_set
    assert (e.network_interface_id, e.type, e.status, e.instance_id) == (nic.network_interface_id, "Primary", "InUse", inst)
    assert (e.attachment.instance_id, e.attachment.device_index) == (inst, 0)
    assert (e.private_ip_address, e.mac_address, e.v_switch_id) == (ip, nic.mac_address, net.vsw_b)
    assert sorted(e.security_group_ids.security_group_id) == sorted([net.g1, net.g2])
    assert e.delete_on_release is True

    # Every instance's primary ENI is distinct.
    other = cloud.instance(net.vsw_b, [net.g1])
    (o,) = cloud.instance_get(other).network_interfaces.network_interface
    assert o.network_interface_id != nic.network_interface_id and o.mac_address != nic.mac_address
    assert o.primary_ip_address != ip


def test_run_instances_with_secondary_eni(ecs, cloud, net):
    """RunInstances NetworkInterface.N of type Secondary creates and attaches one at launch."""
    req = em.RunInstancesRequest(
        region_id=R, instance_type="ecs.g7.large", v_switch_id=net.vsw_a, security_group_ids=[net.g1], amount=1,
        network_interface=[em.RunInstancesRequestNetworkInterface(
            instance_type="Secondary", v_switch_id=net.vsw_b, security_group_ids=[net.g2], network_interface_name="data",
        )],
    )
    (inst,) = ecs.run_instances(req).body.instance_id_sets.instance_id_set
    cloud.instances.append(inst)
    cloud.wait_instance(inst, "Running")
    nics = {n.type: n for n in cloud.instance_get(inst).network_interfaces.network_interface}
    assert sorted(nics) == ["Primary", "Secondary"]
    sec = cloud.eni_get(nics["Secondary"].network_interface_id)
    assert (sec.v_switch_id, sec.security_group_ids.security_group_id, sec.network_interface_name) == (net.vsw_b, [net.g2], "data")
    assert (sec.status, sec.instance_id, sec.attachment.device_index) == ("InUse", inst, 1)
