"""Terraform's alicloud_security_group, alicloud_ecs_network_interface (and its attachment),
alicloud_eip_address, alicloud_eip_association and the data sources alicloud_vpcs,
alicloud_vswitches, alicloud_security_groups and alicloud_ecs_network_interfaces, replayed
from the provider's source (reference/client-call-sets.md, Part A): create, the waiters,
read twice as a refresh does, update, delete and the gone waiters, each answer judged as the
provider judges it (list wrappers present, IDs matching, JSON types)."""

import json

from alibabacloud_ecs20140526 import models as em
from alibabacloud_vpc20160428 import models as vm

import e2e_helpers as h

R = h.REGION


def eni_read(ecs, eni_id):
    """What the provider reads of an ENI on refresh: [0] with a matching ID, every asserted
    wrapper present, then its tags by ListTagResources."""
    body = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
        region_id=R, network_interface_id=[eni_id])).body
    items = body.network_interface_sets.network_interface_set
    if not items:
        return None
    (n,) = items
    assert n.network_interface_id == eni_id
    m = n.to_map()
    for wrapper, inner in (("PrivateIpSets", "PrivateIpSet"), ("Ipv6Sets", "Ipv6Set"),
                           ("Ipv4PrefixSets", "Ipv4PrefixSet"), ("SecurityGroupIds", "SecurityGroupId")):
        assert isinstance(m[wrapper][inner], list), wrapper
    tags = ecs.list_tag_resources(em.ListTagResourcesRequest(region_id=R, resource_type="eni",
                                                             resource_id=[eni_id])).body
    assert isinstance(tags.tag_resources.tag_resource, list)
    m["_tags"] = sorted((t.tag_key, t.tag_value) for t in tags.tag_resources.tag_resource)
    m.pop("CreationTime", None)
    return m


def test_alicloud_security_group(ecs, cloud, unique):
    vpc_id = cloud.vpc("10.62.0.0/16")
    sg = ecs.create_security_group(em.CreateSecurityGroupRequest(
        region_id=R, vpc_id=vpc_id, security_group_name=unique, description="tf group",
        security_group_type="normal", client_token=unique,
        tag=[em.CreateSecurityGroupRequestTag(key="tf", value="yes")])).body.security_group_id
    cloud.groups.append(sg)

    def read():
        (g,) = ecs.describe_security_groups(em.DescribeSecurityGroupsRequest(
            region_id=R, security_group_id=sg)).body.security_groups.security_group
        attr = ecs.describe_security_group_attribute(em.DescribeSecurityGroupAttributeRequest(
            region_id=R, security_group_id=sg)).body
        return g.to_map(), attr.inner_access_policy

    first, second = read(), read()
    assert first == second
    g, policy = first
    assert (g["SecurityGroupId"], g["SecurityGroupName"], g["VpcId"], g["SecurityGroupType"]) == \
        (sg, unique, vpc_id, "normal")
    assert g["Tags"]["Tag"] == [{"TagKey": "tf", "TagValue": "yes"}] and policy == "Accept"
    ecs.modify_security_group_policy(em.ModifySecurityGroupPolicyRequest(
        region_id=R, security_group_id=sg, inner_access_policy="Drop"))
    ecs.modify_security_group_attribute(em.ModifySecurityGroupAttributeRequest(
        region_id=R, security_group_id=sg, security_group_name=unique + "-2"))
    g, policy = read()
    assert g["SecurityGroupName"] == unique + "-2" and policy == "Drop"
    ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=R, security_group_id=sg))
    assert ecs.describe_security_groups(em.DescribeSecurityGroupsRequest(
        region_id=R, security_group_id=sg)).body.security_groups.security_group == []


def test_alicloud_ecs_network_interface_and_attachment(ecs, cloud, unique):
    vpc_id = cloud.vpc("10.63.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.63.1.0/24")
    sg = cloud.group(vpc_id)
    created = ecs.create_network_interface(em.CreateNetworkInterfaceRequest(
        region_id=R, v_switch_id=vsw, security_group_ids=[sg], network_interface_name=unique,
        description="tf eni", secondary_private_ip_address_count=1,
        tag=[em.CreateNetworkInterfaceRequestTag(key="tf", value="yes")])).body
    eni = created.network_interface_id
    cloud.enis.append(eni)
    h.wait_for(lambda: (eni_read(ecs, eni) or {}).get("Status") == "Available", what="Available")
    first, second = eni_read(ecs, eni), eni_read(ecs, eni)
    assert first == second
    assert first["NetworkInterfaceName"] == unique and first["_tags"] == [("tf", "yes")]
    assert sum(1 for p in first["PrivateIpSets"]["PrivateIpSet"] if p["Primary"] is True) == 1
    assert len(first["PrivateIpSets"]["PrivateIpSet"]) == 2
    # Update: name and description, one more secondary address (then poll until it shows).
    ecs.modify_network_interface_attribute(em.ModifyNetworkInterfaceAttributeRequest(
        region_id=R, network_interface_id=eni, network_interface_name=unique + "-2", description="tf eni 2"))
    ecs.assign_private_ip_addresses(em.AssignPrivateIpAddressesRequest(
        region_id=R, network_interface_id=eni, secondary_private_ip_address_count=1))
    h.wait_for(lambda: len(eni_read(ecs, eni)["PrivateIpSets"]["PrivateIpSet"]) == 3, what="3 addresses")
    assert eni_read(ecs, eni)["NetworkInterfaceName"] == unique + "-2"
    # The attachment: create, wait InUse, read (top-level InstanceId), delete, wait Available.
    inst = cloud.instance(vsw, [sg])
    ecs.attach_network_interface(em.AttachNetworkInterfaceRequest(
        region_id=R, network_interface_id=eni, instance_id=inst))
    h.wait_for(lambda: eni_read(ecs, eni)["Status"] == "InUse", what="InUse")
    pages = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
        region_id=R, network_interface_id=[eni], max_results=100)).body
    (n,) = pages.network_interface_sets.network_interface_set
    assert n.instance_id == inst and n.attachment.instance_id == inst
    ecs.detach_network_interface(em.DetachNetworkInterfaceRequest(
        region_id=R, network_interface_id=eni, instance_id=inst))
    h.wait_for(lambda: eni_read(ecs, eni)["Status"] == "Available", what="Available again")
    # Delete, and the gone waiter.
    ecs.delete_network_interface(em.DeleteNetworkInterfaceRequest(region_id=R, network_interface_id=eni))
    h.wait_for(lambda: eni_read(ecs, eni) is None, what="ENI gone")


def test_alicloud_eip_address_and_association(vpc, ecs, cloud):
    vpc_id = cloud.vpc("10.64.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.64.1.0/24")
    sg = cloud.group(vpc_id)
    inst = cloud.instance(vsw, [sg])
    eip = vpc.allocate_eip_address(vm.AllocateEipAddressRequest(
        region_id=R, bandwidth="5", internet_charge_type="PayByTraffic", name="tf-eip")).body.allocation_id

    def read():
        items = vpc.describe_eip_addresses(vm.DescribeEipAddressesRequest(
            region_id=R, allocation_id=eip)).body.eip_addresses.eip_address
        return items[0].to_map() if items else None

    try:
        h.wait_for(lambda: read()["Status"] in ("Available", "InUse"), what="Available")
        assert read() == read() and read()["Name"] == "tf-eip"
        vpc.modify_eip_address_attribute(vm.ModifyEipAddressAttributeRequest(
            region_id=R, allocation_id=eip, bandwidth="10", description="tf"))
        assert (read()["Bandwidth"], read()["Description"]) == ("10", "tf")
        # The association: no waiter, so the very next read must see the instance.
        vpc.associate_eip_address(vm.AssociateEipAddressRequest(
            region_id=R, allocation_id=eip, instance_id=inst, instance_type="EcsInstance"))
        got = read()
        assert got["InstanceId"] == inst and got["InstanceType"] == "EcsInstance"
        h.wait_for(lambda: read()["Status"] == "InUse", what="InUse")
        vpc.unassociate_eip_address(vm.UnassociateEipAddressRequest(
            region_id=R, allocation_id=eip, instance_id=inst, instance_type="EcsInstance"))
        h.wait_for(lambda: read()["InstanceId"] == "", what="unassociated")
        h.wait_for(lambda: read()["Status"] == "Available", what="Available again")
    finally:
        vpc.release_eip_address(vm.ReleaseEipAddressRequest(region_id=R, allocation_id=eip))
    h.wait_for(lambda: read() is None, what="EIP gone")


def test_data_sources(vpc, ecs, cloud, unique):
    vpc_id = cloud.vpc("10.65.0.0/16", vpc_name=unique)
    vsw = cloud.vswitch(vpc_id, "10.65.1.0/24", v_switch_name=unique)
    sg = cloud.group(vpc_id, security_group_name=unique)
    eni = cloud.eni(vsw, [sg], network_interface_name=unique).network_interface_id
    # alicloud_vpcs: DescribeVpcs (PageSize 50, until a short page), then the route table of each.
    vpcs, page = [], 1
    while True:
        body = vpc.describe_vpcs(vm.DescribeVpcsRequest(region_id=R, vpc_name=unique, page_size=50,
                                                        page_number=page)).body
        vpcs += body.vpcs.vpc
        if len(body.vpcs.vpc) < 50:
            break
        page += 1
    assert [v.vpc_id for v in vpcs] == [vpc_id]
    m = vpcs[0].to_map()
    for wrapper in ("SecondaryCidrBlocks", "UserCidrs", "VSwitchIds"):
        assert isinstance(m[wrapper], dict), wrapper
    tables = vpc.describe_route_table_list(vm.DescribeRouteTableListRequest(
        region_id=R, vpc_id=vpc_id, page_size=50, page_number=1)).body
    assert [t.route_table_type for t in tables.router_table_list.router_table_list_type] == ["System"]
    # alicloud_vswitches.
    sw = vpc.describe_vswitches(vm.DescribeVSwitchesRequest(region_id=R, vpc_id=vpc_id, page_size=50)).body
    (s,) = sw.v_switches.v_switch
    assert s.v_switch_id == vsw and isinstance(s.to_map()["RouteTable"], dict)
    # alicloud_security_groups: the list, then each group's attribute.
    groups = ecs.describe_security_groups(em.DescribeSecurityGroupsRequest(
        region_id=R, vpc_id=vpc_id, page_size=50, page_number=1)).body.security_groups.security_group
    assert [g.security_group_id for g in groups] == [sg]
    attr = ecs.describe_security_group_attribute(em.DescribeSecurityGroupAttributeRequest(
        region_id=R, security_group_id=sg)).body
    assert attr.security_group_id == sg
    # alicloud_ecs_network_interfaces: PageSize 50, asserted wrappers.
    body = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
        region_id=R, vpc_id=vpc_id, network_interface_name=unique, page_size=50, page_number=1)).body
    (n,) = body.network_interface_sets.network_interface_set
    m = n.to_map()
    assert m["NetworkInterfaceId"] == eni
    assert isinstance(m["SecurityGroupIds"]["SecurityGroupId"], list)
    assert isinstance(m["PrivateIpSets"]["PrivateIpSet"], list)
    assert json.dumps(m)  # every value JSON-serializable (no SDK placeholder objects)
