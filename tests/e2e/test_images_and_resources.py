"""The built-in images and what each zone offers, as Terraform's data sources read them:
alicloud_images (DescribeImages, paged), alicloud_zones (DescribeAvailableResource then
DescribeZones), alicloud_instance_types (DescribeAvailableResource, DescribeInstanceTypes with
NextToken, DescribeImageSupportInstanceTypes); and RunInstances refusing an unknown image."""

import json

from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h

R = h.REGION
DEFAULT_IMAGE = "aliyun_3_x64_20G_alibase_20240101.vhd"


def test_alicloud_images_data_source(server, legacy):
    def page(n):
        req = h.legacy_request(server.endpoint, "DescribeImages", version=h.ECS_VERSION, RegionId=R,
                               PageNumber=str(n), PageSize="100", ImageOwnerAlias="system", Status="Available")
        return json.loads(legacy.do_action_with_exception(req))

    images, n = [], 1
    while True:
        got = page(n)
        images += got["Images"]["Image"]
        if len(got["Images"]["Image"]) < 50:
            break
        n += 1
    ids = [i["ImageId"] for i in images]
    assert DEFAULT_IMAGE in ids and len(ids) == len(set(ids)) >= 3
    for i in images:
        assert i["Status"] == "Available" and i["ImageOwnerAlias"] == "system" and i["OSType"] == "linux"
        assert isinstance(i["Size"], int) and i["CreationTime"].endswith("Z")
        assert i["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Device"] == "/dev/xvda"
        assert i["Tags"]["Tag"] == []


def test_describe_images_filters(ecs):
    def images(**kw):
        return ecs.describe_images(em.DescribeImagesRequest(region_id=R, **kw)).body

    one = images(image_id=DEFAULT_IMAGE)
    assert one.total_count == 1 and one.images.image[0].image_id == DEFAULT_IMAGE
    assert one.images.image[0].is_support_io_optimized is True
    assert images(image_owner_alias="self").total_count == 0
    assert images(status="Deprecated").total_count == 0
    assert images(ostype="windows").total_count == 0
    paged = images(page_size=2, page_number=1)
    assert len(paged.images.image) == 2 and paged.total_count >= 3
    h.expect_tea_error(lambda: images(page_size=101), "InvalidParameter", 400)


def test_alicloud_zones_and_instance_types_data_sources(ecs):
    dar = ecs.describe_available_resource(em.DescribeAvailableResourceRequest(
        region_id=R, destination_resource="Zone", io_optimized="optimized", instance_charge_type="PostPaid",
        network_category="vpc")).body
    zones = {z.zone_id for z in dar.available_zones.available_zone if z.status != "SoldOut"}
    assert zones, "an empty list is an error to Terraform"
    dz = ecs.describe_zones(em.DescribeZonesRequest(region_id=R, instance_charge_type="PostPaid")).body
    for z in dz.zones.zone:
        if z.zone_id in zones:
            assert z.available_instance_types.instance_types and z.available_disk_categories.disk_categories
    # alicloud_instance_types: the types DAR lists, then DescribeInstanceTypes by NextToken.
    dar = ecs.describe_available_resource(em.DescribeAvailableResourceRequest(
        region_id=R, destination_resource="InstanceType", zone_id="cn-hangzhou-h", io_optimized="optimized")).body
    (zone,) = dar.available_zones.available_zone
    listed = {r.value for a in zone.available_resources.available_resource
              for r in a.supported_resources.supported_resource if r.status == "Available"}
    assert "ecs.g7.large" in listed
    seen, token = set(), None
    while True:
        body = ecs.describe_instance_types(em.DescribeInstanceTypesRequest(next_token=token)).body
        seen |= {t.instance_type_id for t in body.instance_types.instance_type}
        token = body.next_token
        if not token:
            break
    assert listed <= seen
    sup = ecs.describe_image_support_instance_types(em.DescribeImageSupportInstanceTypesRequest(
        region_id=R, image_id=DEFAULT_IMAGE)).body
    assert {t.instance_type_id for t in sup.instance_types.instance_type} == seen
    h.expect_tea_error(lambda: ecs.describe_image_support_instance_types(
        em.DescribeImageSupportInstanceTypesRequest(region_id=R, image_id="no-such-image")),
        "InvalidImageId.NotFound", 404)
    # The system disk categories RunInstances takes, with their size range.
    disks = ecs.describe_available_resource(em.DescribeAvailableResourceRequest(
        region_id=R, destination_resource="SystemDisk", zone_id="cn-hangzhou-h")).body
    cats = {r.value: (r.min, r.max) for a in disks.available_zones.available_zone[0].available_resources.available_resource
            for r in a.supported_resources.supported_resource}
    assert cats["cloud_essd"] == (20, 2048)
    h.expect_tea_error(lambda: ecs.describe_available_resource(em.DescribeAvailableResourceRequest(
        region_id=R, destination_resource="Toaster")), "InvalidParameter", 400)


def test_run_instances_takes_only_catalog_images(ecs, cloud):
    vpc_id = cloud.vpc("10.54.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.54.1.0/24")
    sg = cloud.group(vpc_id)
    h.expect_tea_error(lambda: ecs.run_instances(em.RunInstancesRequest(
        region_id=R, instance_type="ecs.g7.large", image_id="no-such-image", v_switch_id=vsw,
        security_group_ids=[sg])), "InvalidImageId.NotFound", 404)
    assert ecs.describe_instances(em.DescribeInstancesRequest(region_id=R, v_switch_id=vsw)).body.total_count == 0
    inst = cloud.instance(vsw, [sg], image_id="ubuntu_22_04_x64_20G_alibase_20240130.vhd")
    assert cloud.instance_get(inst).image_id == "ubuntu_22_04_x64_20G_alibase_20240130.vhd"
