"""ClientToken on CreateNetworkInterface, AssignPrivateIpAddresses and RunInstances: the same
token and parameters give the first result and create nothing more; other parameters are
IdempotentParameterMismatch."""

import json
import uuid

from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h

R = h.REGION


def test_create_eni_client_token(ecs, cloud, net, unique):
    token = uuid.uuid4().hex
    req = em.CreateNetworkInterfaceRequest(
        region_id=R, v_switch_id=net.vsw_a, security_group_id=net.g1, network_interface_name=unique,
        secondary_private_ip_address_count=1, client_token=token,
    )
    first = ecs.create_network_interface(req).body
    cloud.enis.append(first.network_interface_id)
    again = ecs.create_network_interface(req).body
    assert again.network_interface_id == first.network_interface_id
    assert again.request_id != first.request_id
    assert again.private_ip_address == first.private_ip_address
    assert again.mac_address == first.mac_address
    got = cloud.describe_enis(network_interface_name=unique).network_interface_sets.network_interface_set
    assert [e.network_interface_id for e in got] == [first.network_interface_id]
    assert len(got[0].private_ip_sets.private_ip_set) == 2

    other = em.CreateNetworkInterfaceRequest(
        region_id=R, v_switch_id=net.vsw_b, security_group_id=net.g1, network_interface_name=unique,
        secondary_private_ip_address_count=1, client_token=token,
    )
    h.expect_tea_error(lambda: ecs.create_network_interface(other), "IdempotentParameterMismatch", 400)
    assert len(cloud.describe_enis(network_interface_name=unique).network_interface_sets.network_interface_set) == 1
    # Another token makes another ENI.
    req.client_token = uuid.uuid4().hex
    third = ecs.create_network_interface(req).body
    cloud.enis.append(third.network_interface_id)
    assert third.network_interface_id != first.network_interface_id


def test_assign_private_ips_client_token(ecs, cloud, net):
    eni_id = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    token = uuid.uuid4().hex
    req = em.AssignPrivateIpAddressesRequest(
        region_id=R, network_interface_id=eni_id, secondary_private_ip_address_count=2, client_token=token
    )
    first = ecs.assign_private_ip_addresses(req).body.assigned_private_ip_addresses_set.private_ip_set.private_ip_address
    again = ecs.assign_private_ip_addresses(req).body.assigned_private_ip_addresses_set.private_ip_set.private_ip_address
    assert len(first) == 2 and again == first
    ips = [p.private_ip_address for p in cloud.eni_get(eni_id).private_ip_sets.private_ip_set]
    assert len(ips) == 3 and sorted(ips[1:]) == sorted(first)

    req.secondary_private_ip_address_count = 3
    h.expect_tea_error(lambda: ecs.assign_private_ip_addresses(req), "IdempotentParameterMismatch", 400)
    assert len(cloud.eni_get(eni_id).private_ip_sets.private_ip_set) == 3


def test_run_instances_client_token(ecs, cloud, net):
    token = uuid.uuid4().hex
    req = em.RunInstancesRequest(
        region_id=R, instance_type="ecs.g7.large", v_switch_id=net.vsw_a, security_group_ids=[net.g1], amount=2,
        client_token=token,
    )
    first = ecs.run_instances(req).body.instance_id_sets.instance_id_set
    cloud.instances.extend(first)
    again = ecs.run_instances(req).body.instance_id_sets.instance_id_set
    assert len(first) == 2 and again == first
    got = cloud.describe_instances(vpc_id=net.vpc).instances.instance
    assert sorted(i.instance_id for i in got) == sorted(first)
    assert len(cloud.describe_enis(vpc_id=net.vpc, type="Primary").network_interface_sets.network_interface_set) == 2

    req.amount = 3
    h.expect_tea_error(lambda: ecs.run_instances(req), "IdempotentParameterMismatch", 400)
    assert len(cloud.describe_instances(instance_ids=json.dumps(first), vpc_id=net.vpc).instances.instance) == 2
    assert cloud.describe_instances(vpc_id=net.vpc).total_count == 2


def test_parallel_create_same_token(server, cloud, net, unique):
    """Eight clients retry the same create at once: one ENI, one ID for all."""
    import threading

    token = uuid.uuid4().hex
    n = 8
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def worker(k):
        client = h.ecs_client(server.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        req = em.CreateNetworkInterfaceRequest(
            region_id=R, v_switch_id=net.vsw_a, security_group_id=net.g1, network_interface_name=unique, client_token=token
        )
        barrier.wait()
        try:
            out[k] = client.create_network_interface(req).body.network_interface_id
        except Exception as e:  # noqa: BLE001
            out[k] = repr(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    got = cloud.describe_enis(network_interface_name=unique).network_interface_sets.network_interface_set
    cloud.enis.extend(e.network_interface_id for e in got)
    assert len(set(out)) == 1 and out[0].startswith("eni-"), out
    assert [e.network_interface_id for e in got] == [out[0]]
