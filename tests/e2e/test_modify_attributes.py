"""The update calls of Terraform's alicloud_instance, alicloud_security_group and
alicloud_eip_address: ModifyInstanceAttribute, RebootInstance, ModifySecurityGroupAttribute and
ModifyEipAddressAttribute, each followed by the read the provider does, and their refusals."""

import base64

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
    h.expect_tea_error(lambda: ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=inst, security_group_ids=[sg])), "InvalidParameter", 400)
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
