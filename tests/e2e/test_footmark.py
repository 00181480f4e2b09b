"""Ansible's Alibaba Cloud modules run on footmark (installed from PyPI, with its own legacy-SDK
request classes): its VPC, vSwitch, security group, ENI and EIP calls, with their own waiters,
run against eni unchanged but for the endpoint. An instance comes from the official SDK
(footmark's run_instances sleeps 10 s before it looks)."""

import pytest

import e2e_helpers as h

import footmark.ecs
import footmark.vpc as footmark_vpc
from aliyunsdkcore.profile import region_provider


@pytest.fixture
def fm(server):
    # footmark resolves endpoints through the legacy SDK: point both products at the server.
    for product in ("Vpc", "Ecs"):
        region_provider.add_endpoint(product, h.REGION, server.endpoint)
    keys = dict(acs_access_key_id=h.ROOT_AK, acs_secret_access_key=h.ROOT_SECRET)
    return footmark_vpc.connect_to_region(h.REGION, **keys), footmark.ecs.connect_to_region(h.REGION, **keys)


def test_footmark_vpc_vswitch_group_eni_and_eip(fm, cloud, unique):
    vpc, ecs = fm
    # create_vpc waits on DescribeVpcAttribute, create_vswitch on DescribeVSwitchAttributes.
    v = vpc.create_vpc(cidr_block="10.30.0.0/16", vpc_name=unique, description="by footmark")
    cloud.res.track_vpc(v.id)
    assert v.id.startswith("vpc-") and v.status == "Available" and v.vpc_name == unique
    s = vpc.create_vswitch(vpc_id=v.id, cidr_block="10.30.1.0/24", zone_id="cn-hangzhou-h", vswitch_name=unique)
    cloud.res.vswitches.append(s.id)
    assert s.id.startswith("vsw-") and s.status == "Available"
    assert vpc.modify_vpc_attribute(vpc_id=v.id, vpc_name=unique + "-2")
    assert [x.id for x in vpc.describe_vpcs(vpc_id=v.id)] == [v.id]
    assert vpc.describe_vpc_attribute(vpc_id=v.id).vpc_name == unique + "-2"
    assert vpc.modify_vswitch_attribute(vswitch_id=s.id, vswitch_name=unique + "-2")

    g = ecs.create_security_group(group_name=unique, description="footmark group", vpc_id=v.id)
    assert g is not None and g.id.startswith("sg-")
    cloud.groups.append(g.id)
    assert ecs.authorize_security_group(security_group_id=g.id, ip_protocol="tcp", port_range="22/22",
                                        source_cidr_ip="10.0.0.0/8")

    n = ecs.create_network_interface(vswitch_id=s.id, security_group_id=g.id, name=unique)
    assert n.id.startswith("eni-") and str(n.status).lower() == "available"
    inst = cloud.instance(s.id, [g.id])
    assert ecs.attach_network_interface(network_interface_id=n.id, instance_id=inst)
    assert ecs.detach_network_interface(network_interface_id=n.id, instance_id=inst)

    e = vpc.allocate_eip_address(bandwidth=5)
    assert e.allocation_id.startswith("eip-") and str(e.status).lower() == "available"
    assert vpc.associate_eip_address(allocation_id=e.allocation_id, instance_id=inst)
    assert vpc.unassociate_eip_address(allocation_id=e.allocation_id, instance_id=inst)
    assert vpc.release_eip_address(allocation_id=e.allocation_id)

    assert ecs.delete_network_interface(network_interface_id=n.id)
    # Deleting, then gone.
    h.wait_for(lambda: ecs.describe_network_interfaces(network_interface_ids=[n.id]) == [], what="ENI gone")
