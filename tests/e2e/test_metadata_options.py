"""ModifyInstanceMetadataOptions and RunInstances' metadata options (HttpEndpoint, HttpTokens,
HttpPutResponseHopLimit): what DescribeInstances then shows, and Alibaba's codes for bad values.
(The service itself, inside instances, is tested in tests/dataplane/test_9_metadata.py.)"""

import json

from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h

R = h.REGION


def options(ecs, inst):
    (i,) = ecs.describe_instances(em.DescribeInstancesRequest(
        region_id=R, instance_ids=json.dumps([inst]), additional_attributes=["META_OPTIONS"])).body.instances.instance
    m = i.metadata_options
    assert m.instance_metadata_tags == "disabled"
    return m.http_endpoint, m.http_tokens, m.http_put_response_hop_limit


def test_metadata_options_at_launch_and_after(ecs, cloud):
    vpc_id = cloud.vpc("10.66.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.66.1.0/24")
    sg = cloud.group(vpc_id)
    plain = cloud.instance(vsw, [sg])
    assert options(ecs, plain) == ("enabled", "optional", 1)
    hardened = cloud.instance(vsw, [sg], http_tokens="required", http_put_response_hop_limit=2)
    assert options(ecs, hardened) == ("enabled", "required", 2)
    ecs.modify_instance_metadata_options(em.ModifyInstanceMetadataOptionsRequest(
        region_id=R, instance_id=plain, http_endpoint="disabled"))
    assert options(ecs, plain) == ("disabled", "optional", 1), "what is not given stays"
    ecs.modify_instance_metadata_options(em.ModifyInstanceMetadataOptionsRequest(
        region_id=R, instance_id=plain, http_endpoint="enabled", http_tokens="required",
        http_put_response_hop_limit=64))
    assert options(ecs, plain) == ("enabled", "required", 64)
    # Bad values, each with Alibaba's code; nothing changes.
    for kw, code in [({"http_endpoint": "on"}, "InvalidHttpEndpoint.NotSupported"),
                     ({"http_tokens": "sometimes"}, "InvalidHttpTokens.NotSupported"),
                     ({"http_put_response_hop_limit": 65}, "InvalidHttpPutResponseHopLimit.NotSupported"),
                     ({"http_put_response_hop_limit": 0}, "InvalidHttpPutResponseHopLimit.NotSupported"),
                     ({"instance_metadata_tags": "enabled"}, "InvalidInstanceMetadataTags.NotSupported")]:
        h.expect_tea_error(lambda: ecs.modify_instance_metadata_options(em.ModifyInstanceMetadataOptionsRequest(
            region_id=R, instance_id=plain, **kw)), code, 400)
    assert options(ecs, plain) == ("enabled", "required", 64)
    h.expect_tea_error(lambda: ecs.modify_instance_metadata_options(em.ModifyInstanceMetadataOptionsRequest(
        region_id=R, instance_id="i-bp1doesnotexist00000", http_endpoint="enabled")), "InvalidInstanceId.NotFound", 404)
    h.expect_tea_error(lambda: cloud.instance(vsw, [sg], http_tokens="always"), "InvalidHttpTokens.NotSupported", 400)
