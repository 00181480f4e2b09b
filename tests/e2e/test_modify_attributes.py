"""The update calls of Terraform's alicloud_instance, alicloud_security_group and
alicloud_eip_address: ModifyInstanceAttribute, RebootInstance, JoinSecurityGroup and
LeaveSecurityGroup, ModifySecurityGroupAttribute and ModifyEipAddressAttribute, each followed
by the read the provider does, and their refusals."""

import base64
import json

from alibabacloud_ecs20140526 import models as em
from alibabacloud_vpc20160428 import models as vm

import e2e_helpers as h

R = h.REGION


def test_modify_instance_attribute_and_reboot(ecs, cloud, unique):
    vpc_id = cloud.vpc("10.52.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.52.1.0/24")
    sg = cloud.group(vpc_id)
    inst = cloud.instance(vsw, [sg])
    ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=inst, instance_name=unique, description="renamed by tf", host_name="web-1"))
    got = cloud.instance_get(inst)
    assert (got.instance_name, got.description, got.host_name) == (unique, "renamed by tf", "web-1")
    # UserData changes only while Stopped, as on Alibaba; then DescribeUserData shows it.
    data = base64.b64encode(b"#cloud-config\n").decode()
    h.expect_tea_error(lambda: ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=inst, user_data=data)), "IncorrectInstanceStatus", 403)
    # What eni does not model is refused, not silently kept.
    h.expect_tea_error(lambda: ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=inst, password="Secret123!")), "InvalidParameter", 400)
    h.expect_tea_error(lambda: ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=inst, host_name="-bad")), "InvalidParameter", 400)
    # SecurityGroupIds.N replaces the instance's groups (its primary ENI's).
    sg2 = cloud.group(vpc_id)
    ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(instance_id=inst, security_group_ids=[sg2, sg]))
    assert cloud.instance_get(inst).security_group_ids.security_group_id == [sg2, sg]
    other_vpc_group = cloud.group(cloud.vpc("10.62.0.0/16"))
    h.expect_tea_error(lambda: ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=inst, security_group_ids=[other_vpc_group])), "InvalidInstanceId.Mismatch", 400)
    six = [cloud.group(vpc_id) for _ in range(5)] + [sg]
    h.expect_tea_error(lambda: ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=inst, security_group_ids=six)), "InstanceSecurityGroupLimitExceeded", 400)
    ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(instance_id=inst, security_group_ids=[sg]))
    # RebootInstance: Starting, then Running again (Terraform's waiter).
    ecs.reboot_instance(em.RebootInstanceRequest(instance_id=inst))
    assert cloud.instance_get(inst).status in ("Starting", "Running")
    cloud.wait_instance(inst, "Running")
    ecs.stop_instance(em.StopInstanceRequest(instance_id=inst))
    cloud.wait_instance(inst, "Stopped")
    h.expect_tea_error(lambda: ecs.reboot_instance(em.RebootInstanceRequest(instance_id=inst)),
                       "IncorrectInstanceStatus", 403)
    ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(instance_id=inst, user_data=data))
    assert ecs.describe_user_data(em.DescribeUserDataRequest(region_id=R, instance_id=inst)).body.user_data == data
    h.expect_tea_error(lambda: ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id="i-bp1doesnotexist00000", instance_name="x")), "InvalidInstanceId.NotFound", 404)


def test_modify_security_group_attribute(ecs, cloud, unique):
    vpc_id = cloud.vpc("10.53.0.0/16")
    sg = cloud.group(vpc_id, security_group_name="before", description="old description")
    ecs.modify_security_group_attribute(em.ModifySecurityGroupAttributeRequest(
        region_id=R, security_group_id=sg, security_group_name=unique, description="new description"))
    (g,) = ecs.describe_security_groups(em.DescribeSecurityGroupsRequest(
        region_id=R, security_group_id=sg)).body.security_groups.security_group
    assert (g.security_group_name, g.description) == (unique, "new description")
    h.expect_tea_error(lambda: ecs.modify_security_group_attribute(em.ModifySecurityGroupAttributeRequest(
        region_id=R, security_group_id=sg, security_group_name="1bad")), "InvalidParameter", 400)
    h.expect_tea_error(lambda: ecs.modify_security_group_attribute(em.ModifySecurityGroupAttributeRequest(
        region_id=R, security_group_id="sg-bp1doesnotexist0000", security_group_name="x1")),
        "InvalidSecurityGroupId.NotFound", 404)


def test_modify_eip_address_attribute(vpc):
    eip = vpc.allocate_eip_address(vm.AllocateEipAddressRequest(region_id=R, bandwidth="5")).body
    try:
        vpc.modify_eip_address_attribute(vm.ModifyEipAddressAttributeRequest(
            region_id=R, allocation_id=eip.allocation_id, name="tf-eip", description="from tf", bandwidth="10"))
        (e,) = vpc.describe_eip_addresses(vm.DescribeEipAddressesRequest(
            region_id=R, allocation_id=eip.allocation_id)).body.eip_addresses.eip_address
        assert (e.name, e.description, e.bandwidth) == ("tf-eip", "from tf", "10")
        h.expect_tea_error(lambda: vpc.modify_eip_address_attribute(vm.ModifyEipAddressAttributeRequest(
            region_id=R, allocation_id=eip.allocation_id, bandwidth="0")), "InvalidParameter", 400)
        h.expect_tea_error(lambda: vpc.modify_eip_address_attribute(vm.ModifyEipAddressAttributeRequest(
            region_id=R, allocation_id="eip-bp1doesnotexist0000", name="x")), "InvalidAllocationId.NotFound", 404)
    finally:
        vpc.release_eip_address(vm.ReleaseEipAddressRequest(region_id=R, allocation_id=eip.allocation_id))


def old_sdk(server, legacy_client, action, **params):
    req = h.legacy_request(server.endpoint, action, version=h.ECS_VERSION, **params)
    return json.loads(legacy_client.do_action_with_exception(req))


def legacy_error(fn) -> tuple[str, int]:
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    try:
        fn()
    except ServerException as e:
        return e.get_error_code(), e.get_http_status()
    raise AssertionError("the call succeeded")


def test_join_and_leave_security_group(server, legacy, ecs, cloud):
    """alicloud_instance's `security_groups` update: one JoinSecurityGroup or LeaveSecurityGroup
    per group (old SDK), then DescribeInstances shows the set; an ENI takes the same calls."""
    vpc_id = cloud.vpc("10.54.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.54.1.0/24")
    sg1, sg2 = cloud.group(vpc_id), cloud.group(vpc_id)
    inst = cloud.instance(vsw, [sg1])
    call = lambda action, **kw: old_sdk(server, legacy, action, RegionId=R, **kw)  # noqa: E731
    call("JoinSecurityGroup", InstanceId=inst, SecurityGroupId=sg2)
    assert cloud.instance_get(inst).security_group_ids.security_group_id == [sg1, sg2]
    (primary,) = [n for n in cloud.instance_get(inst).network_interfaces.network_interface if n.type == "Primary"]
    (eni,) = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
        region_id=R, network_interface_id=[primary.network_interface_id])).body.network_interface_sets.network_interface_set
    assert eni.security_group_ids.security_group_id == [sg1, sg2]
    assert legacy_error(lambda: call("JoinSecurityGroup", InstanceId=inst, SecurityGroupId=sg2)) == (
        "InvalidInstanceId.AlreadyExists", 403)
    call("LeaveSecurityGroup", InstanceId=inst, SecurityGroupId=sg1)
    assert cloud.instance_get(inst).security_group_ids.security_group_id == [sg2]
    assert legacy_error(lambda: call("LeaveSecurityGroup", InstanceId=inst, SecurityGroupId=sg1)) == (
        "InvalidSecurityGroupAssociation.NotFound", 404)
    assert legacy_error(lambda: call("LeaveSecurityGroup", InstanceId=inst, SecurityGroupId=sg2)) == (
        "InstanceLastSecurityGroup", 403)
    other = cloud.group(cloud.vpc("10.63.0.0/16"))
    assert legacy_error(lambda: call("JoinSecurityGroup", InstanceId=inst, SecurityGroupId=other)) == (
        "InvalidInstanceId.Mismatch", 400)
    assert legacy_error(lambda: call("JoinSecurityGroup", InstanceId=inst, SecurityGroupId="sg-bp1doesnotexist0000")) == (
        "InvalidSecurityGroupId.NotFound", 404)
    assert legacy_error(lambda: call("JoinSecurityGroup", InstanceId=inst, NetworkInterfaceId=primary.network_interface_id,
                                     SecurityGroupId=sg1)) == ("InvalidParameter.Conflict", 400)
    # A secondary ENI, by NetworkInterfaceId; RegionId may be left out.
    sg3 = cloud.group(vpc_id)
    sec = cloud.eni(vsw, [sg1]).network_interface_id
    old_sdk(server, legacy, "JoinSecurityGroup", NetworkInterfaceId=sec, SecurityGroupId=sg3)
    (e,) = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
        region_id=R, network_interface_id=[sec])).body.network_interface_sets.network_interface_set
    assert e.security_group_ids.security_group_id == [sg1, sg3]
    call("LeaveSecurityGroup", NetworkInterfaceId=sec, SecurityGroupId=sg1)
    (e,) = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
        region_id=R, network_interface_id=[sec])).body.network_interface_sets.network_interface_set
    assert e.security_group_ids.security_group_id == [sg3]
    # sg3 is that ENI's alone: it cannot be deleted until the ENI leaves it.
    h.expect_tea_error(lambda: ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=R, security_group_id=sg3)),
                       "DependencyViolation.SecurityGroupInUse", 400)
    # A refused group change in ModifyInstanceAttribute leaves the other attributes as they were.
    h.expect_tea_error(lambda: ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=inst, instance_name="not-kept", security_group_ids=[other])), "InvalidInstanceId.Mismatch", 400)
    assert cloud.instance_get(inst).instance_name != "not-kept"
    assert legacy_error(lambda: call("JoinSecurityGroup", NetworkInterfaceId="eni-bp1doesnotexist000", SecurityGroupId=sg1)) == (
        "InvalidEniId.NotFound", 404)
