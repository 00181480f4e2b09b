"""Terraform's alicloud_instance, replayed from the provider's source (it is not run here):
RunInstances with an image, a system disk and user data; the Running waiter; the ten reads of
a refresh, twice, each judged as the provider judges it; DeleteInstance and the gone waiter.
The old-SDK calls go through the legacy SDK (every parameter in the query), the others
through the official SDK."""

import base64
import json

from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h

R = h.REGION
USER_DATA = base64.b64encode(b"#!/bin/sh\necho hello from eni\n").decode()


def old_sdk(server, legacy_client, action, **params):
    req = h.legacy_request(server.endpoint, action, version=h.ECS_VERSION, **params)
    return json.loads(legacy_client.do_action_with_exception(req))


def refresh(server, legacy_client, ecs, inst):
    """The reads of one `terraform refresh` of alicloud_instance, in the provider's order."""
    got = {}
    # 1. DescribeInstances (old SDK, InstanceIds as a JSON string, AdditionalAttributes).
    d = old_sdk(server, legacy_client, "DescribeInstances", RegionId=R, InstanceIds=json.dumps([inst]),
               **{f"AdditionalAttributes.{n}": a for n, a in enumerate(
                   ["META_OPTIONS", "NETWORK_PRIMARY_ENI_IP", "LOGIN_AS_NON_ROOT", "DISK_HIGH_DENSITY_MODE"], 1)})
    (i,) = d["Instances"]["Instance"]
    assert i["InstanceId"] == inst
    got["instance"] = i
    # 2. DescribeDisks, the system disk whose InstanceId is the instance (missing = an error).
    disks = ecs.describe_disks(em.DescribeDisksRequest(region_id=R, instance_id=inst, disk_type="system")).body
    (disk,) = [x for x in disks.disks.disk if x.instance_id == inst]
    got["disk"] = disk.to_map()
    # 3. DescribeUserData.
    got["user_data"] = old_sdk(server, legacy_client, "DescribeUserData", RegionId=R, InstanceId=inst)["UserData"]
    # 4. DescribeInstanceRamRole: entry [0].
    roles = old_sdk(server, legacy_client, "DescribeInstanceRamRole", RegionId=R, InstanceIds=json.dumps([inst]))
    got["role"] = roles["InstanceRamRoleSets"]["InstanceRamRoleSet"][0]["RamRoleName"]
    # 5. DescribeNetworkInterfaces per ENI of the instance (the Primary one must be known).
    for nic in i["NetworkInterfaces"]["NetworkInterface"]:
        body = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
            region_id=R, network_interface_id=[nic["NetworkInterfaceId"]])).body
        (eni,) = body.network_interface_sets.network_interface_set
        assert eni.network_interface_id == nic["NetworkInterfaceId"]
        assert any(p.primary is True for p in eni.private_ip_sets.private_ip_set)
    # 6. DescribeInstanceMaintenanceAttributes: an entry for the instance (empty = an error).
    m = ecs.describe_instance_maintenance_attributes(
        em.DescribeInstanceMaintenanceAttributesRequest(region_id=R, instance_id=[inst])).body
    (ma,) = [x for x in m.maintenance_attributes.maintenance_attribute if x.instance_id == inst]
    got["maintenance"] = ma.to_map()
    # 7. DescribeInstanceAttribute (old SDK): the same InstanceId, EnableJumboFrame.
    attr = old_sdk(server, legacy_client, "DescribeInstanceAttribute", RegionId=R, InstanceId=inst)
    assert attr["InstanceId"] == inst and attr["EnableJumboFrame"] is False
    # 9. DescribeInstanceAttachmentAttributes (InstanceIds as a JSON string): an entry.
    a = ecs.describe_instance_attachment_attributes(
        em.DescribeInstanceAttachmentAttributesRequest(region_id=R, instance_ids=json.dumps([inst]))).body
    (aa,) = a.instances.instance
    assert aa.instance_id == inst
    got["attachment"] = aa.to_map()
    # 10. DescribeInstances again (RpcPost) with the CPU options attribute.
    again = ecs.describe_instances(em.DescribeInstancesRequest(
        region_id=R, instance_ids=json.dumps([inst]), additional_attributes=["CPU_OPTIONS_TOPOLOGY_TYPE"])).body
    assert [x.instance_id for x in again.instances.instance] == [inst]
    return got


def test_alicloud_instance_create_refresh_delete(server, legacy, ecs, cloud, unique):
    vpc_id = cloud.vpc("10.50.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.50.1.0/24")
    sg = cloud.group(vpc_id)
    run = ecs.run_instances(em.RunInstancesRequest(
        region_id=R, instance_type="ecs.g7.large", image_id="aliyun_3_x64_20G_alibase_20240528.vhd",
        v_switch_id=vsw, security_group_ids=[sg], instance_name=unique, amount=1,
        system_disk=em.RunInstancesRequestSystemDisk(category="cloud_essd", size="60"),
        user_data=USER_DATA, client_token=unique)).body
    (inst,) = run.instance_id_sets.instance_id_set
    cloud.instances.append(inst)
    # The create waiter: pending Pending, Starting, Stopped; target Running; others abort.
    def status():
        d = legacy_describe(server, legacy, inst)
        return d[0]["Status"] if d else None
    h.wait_for(lambda: status() == "Running", what="Running")
    first = refresh(server, legacy, ecs, inst)
    second = refresh(server, legacy, ecs, inst)
    assert first == second, "a refresh with nothing changed reads the same"
    assert first["instance"]["InstanceName"] == unique
    assert first["instance"]["ImageId"] == "aliyun_3_x64_20G_alibase_20240528.vhd"
    assert first["user_data"] == USER_DATA
    assert first["role"] == ""
    disk = first["disk"]
    assert (disk["Category"], disk["Size"], disk["Type"], disk["Status"]) == ("cloud_essd", 60, "system", "In_use")
    assert disk["DiskId"].startswith("d-") and disk["ImageId"] == first["instance"]["ImageId"]
    # DescribeDisks by the disk's ID finds it; a data-disk listing is empty.
    by_id = ecs.describe_disks(em.DescribeDisksRequest(region_id=R, disk_ids=json.dumps([disk["DiskId"]]))).body
    assert [x.disk_id for x in by_id.disks.disk] == [disk["DiskId"]]
    assert ecs.describe_disks(em.DescribeDisksRequest(region_id=R, instance_id=inst, disk_type="data")).body.total_count == 0
    # The other filters: zone, status (a system disk is In_use), category.
    def count(**kw):
        return ecs.describe_disks(em.DescribeDisksRequest(region_id=R, instance_id=inst, **kw)).body.total_count
    zone = first["instance"]["ZoneId"]
    assert (count(zone_id=zone), count(zone_id="cn-hangzhou-j" if zone != "cn-hangzhou-j" else "cn-hangzhou-i")) == (1, 0)
    assert (count(status="In_use"), count(status="All"), count(status="Available")) == (1, 1, 0)
    assert (count(category="cloud_essd"), count(category="cloud_ssd")) == (1, 0)
    # Delete: DeleteInstance Force=true, then DescribeInstances until it is gone.
    old_sdk(server, legacy, "DeleteInstance", RegionId=R, InstanceId=inst, Force="true")
    h.wait_for(lambda: legacy_describe(server, legacy, inst) == [], what="instance gone")
    h.expect_tea_error(lambda: ecs.describe_user_data(em.DescribeUserDataRequest(region_id=R, instance_id=inst)),
                       "InvalidInstanceId.NotFound", 404)
    h.expect_tea_error(lambda: ecs.describe_instance_attribute(em.DescribeInstanceAttributeRequest(instance_id=inst)),
                       "MissingParameter", 400)


def legacy_describe(server, legacy_client, inst):
    return old_sdk(server, legacy_client, "DescribeInstances", RegionId=R,
                  InstanceIds=json.dumps([inst]))["Instances"]["Instance"]


def test_launch_settings_are_checked(ecs, cloud):
    vpc_id = cloud.vpc("10.51.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.51.1.0/24")
    sg = cloud.group(vpc_id)

    def run(**kw):
        return ecs.run_instances(em.RunInstancesRequest(region_id=R, instance_type="ecs.g7.large",
                                                        v_switch_id=vsw, security_group_ids=[sg], **kw))

    h.expect_tea_error(lambda: run(user_data="not base64!"), "InvalidUserData.Base64FormatInvalid", 400)
    big = base64.b64encode(b"x" * (32 * 1024 + 1)).decode()
    h.expect_tea_error(lambda: run(user_data=big), "InvalidUserData.SizeExceeded", 400)
    h.expect_tea_error(lambda: run(system_disk=em.RunInstancesRequestSystemDisk(category="floppy")),
                       "InvalidSystemDiskCategory.ValueNotSupported", 400)
    h.expect_tea_error(lambda: run(system_disk=em.RunInstancesRequestSystemDisk(size="10")),
                       "InvalidSystemDiskSize.ValueNotSupported", 400)
    # Nothing was created by the refused calls.
    got = ecs.describe_instances(em.DescribeInstancesRequest(region_id=R, v_switch_id=vsw)).body
    assert got.total_count == 0
