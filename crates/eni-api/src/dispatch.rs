//! Dispatch on (version, action). ECS 2014-05-26 and VPC 2016-04-28 share one endpoint, and
//! some action names exist in both (ECS keeps deprecated CreateVpc, DescribeVSwitches, …), so
//! the version picks the table and the action picks the handler.

use crate::actions::{
    catalog, eip, eni, host, instance, instance_reads, security_group, tags, vpc, Ctx,
};
use crate::auth::{authenticate, scheme_of, Scheme};
use crate::params::RawRequest;
use crate::render::{Format, Reply};
use axum::http::Method;
use eni_core::Core;
use eni_types::{ApiError, Params};

/// The ECS API version.
pub const ECS_VERSION: &str = "2014-05-26";
/// The VPC API version.
pub const VPC_VERSION: &str = "2016-04-28";

/// A handler: typed request from parameters, one core call, a JSON object back.
pub type Handler = fn(&Ctx<'_>, &Params) -> Result<Reply, ApiError>;

/// A handler that answers a `Value` map, as most do (their bodies are small).
macro_rules! fields {
    ($f:path) => {
        |ctx, p| $f(ctx, p).map(Reply::from)
    };
}

/// The ECS actions.
pub const ECS_ACTIONS: &[(&str, Handler)] = &[
    ("DescribeRegions", fields!(catalog::describe_regions_ecs)),
    ("DescribeZones", fields!(catalog::describe_zones_ecs)),
    (
        "DescribeInstanceTypes",
        fields!(catalog::describe_instance_types),
    ),
    (
        "DescribeAvailableResource",
        fields!(catalog::describe_available_resource),
    ),
    ("DescribeImages", fields!(catalog::describe_images)),
    (
        "DescribeImageSupportInstanceTypes",
        fields!(catalog::describe_image_support_instance_types),
    ),
    ("CreateSecurityGroup", fields!(security_group::create)),
    ("DescribeSecurityGroups", fields!(security_group::describe)),
    ("DeleteSecurityGroup", fields!(security_group::delete)),
    ("AuthorizeSecurityGroup", fields!(security_group::authorize)),
    (
        "AuthorizeSecurityGroupEgress",
        fields!(security_group::authorize_egress),
    ),
    ("RevokeSecurityGroup", fields!(security_group::revoke)),
    (
        "RevokeSecurityGroupEgress",
        fields!(security_group::revoke_egress),
    ),
    (
        "DescribeSecurityGroupAttribute",
        fields!(security_group::describe_attribute),
    ),
    (
        "ModifySecurityGroupPolicy",
        fields!(security_group::modify_policy),
    ),
    (
        "ModifySecurityGroupAttribute",
        fields!(security_group::modify_attribute),
    ),
    (
        "ModifySecurityGroupRule",
        fields!(security_group::modify_rule),
    ),
    (
        "ModifySecurityGroupEgressRule",
        fields!(security_group::modify_egress_rule),
    ),
    ("JoinSecurityGroup", fields!(security_group::join)),
    ("LeaveSecurityGroup", fields!(security_group::leave)),
    ("RunInstances", fields!(instance::run)),
    ("CreateInstance", fields!(instance::create)),
    ("StartInstance", fields!(instance::start)),
    ("StopInstance", fields!(instance::stop)),
    ("RebootInstance", fields!(instance::reboot)),
    (
        "ModifyInstanceAttribute",
        fields!(instance::modify_attribute),
    ),
    (
        "ModifyInstanceMetadataOptions",
        fields!(instance::modify_metadata_options),
    ),
    ("DeleteInstance", fields!(instance::delete)),
    ("DeleteInstances", fields!(instance::delete_many)),
    ("DescribeInstances", instance::describe),
    ("DescribeDedicatedHosts", fields!(host::describe)),
    (
        "DescribeInstanceAttribute",
        fields!(instance_reads::describe_instance_attribute),
    ),
    (
        "DescribeUserData",
        fields!(instance_reads::describe_user_data),
    ),
    ("DescribeDisks", fields!(instance_reads::describe_disks)),
    (
        "ModifyDiskAttribute",
        fields!(instance_reads::modify_disk_attribute),
    ),
    (
        "DescribeInstanceAttachmentAttributes",
        fields!(instance_reads::describe_instance_attachment_attributes),
    ),
    (
        "DescribeInstanceMaintenanceAttributes",
        fields!(instance_reads::describe_instance_maintenance_attributes),
    ),
    (
        "DescribeInstanceRamRole",
        fields!(instance_reads::describe_instance_ram_role),
    ),
    ("CreateNetworkInterface", eni::create),
    ("DeleteNetworkInterface", fields!(eni::delete)),
    ("DescribeNetworkInterfaces", eni::describe),
    ("DescribeNetworkInterfaceAttribute", eni::describe_attribute),
    ("AttachNetworkInterface", fields!(eni::attach)),
    ("DetachNetworkInterface", fields!(eni::detach)),
    ("AssignPrivateIpAddresses", fields!(eni::assign_private_ips)),
    (
        "UnassignPrivateIpAddresses",
        fields!(eni::unassign_private_ips),
    ),
    ("AssignIpv6Addresses", fields!(eni::assign_ipv6)),
    ("UnassignIpv6Addresses", fields!(eni::unassign_ipv6)),
    ("ModifyNetworkInterfaceAttribute", fields!(eni::modify)),
    ("TagResources", fields!(tags::ecs_tag)),
    ("UntagResources", fields!(tags::ecs_untag)),
    ("ListTagResources", fields!(tags::ecs_list)),
    ("DescribeTags", fields!(tags::ecs_describe_tags)),
    ("JoinResourceGroup", fields!(tags::join_resource_group)),
    // Deprecated in ECS, still served there by Alibaba.
    ("CreateVpc", fields!(vpc::create_vpc)),
    ("DescribeVpcs", fields!(vpc::describe_vpcs)),
    ("DeleteVpc", fields!(vpc::delete_vpc)),
    ("CreateVSwitch", fields!(vpc::create_vswitch)),
    ("DescribeVSwitches", fields!(vpc::describe_vswitches)),
    ("DeleteVSwitch", fields!(vpc::delete_vswitch)),
];

/// The VPC actions.
pub const VPC_ACTIONS: &[(&str, Handler)] = &[
    ("DescribeRegions", fields!(catalog::describe_regions_vpc)),
    ("DescribeZones", fields!(catalog::describe_zones_vpc)),
    ("CreateVpc", fields!(vpc::create_vpc)),
    ("DescribeVpcs", fields!(vpc::describe_vpcs)),
    ("DescribeVpcAttribute", fields!(vpc::describe_vpc_attribute)),
    ("ModifyVpcAttribute", fields!(vpc::modify_vpc_attribute)),
    ("DeleteVpc", fields!(vpc::delete_vpc)),
    ("CreateVSwitch", fields!(vpc::create_vswitch)),
    ("DescribeVSwitches", fields!(vpc::describe_vswitches)),
    (
        "DescribeVSwitchAttributes",
        fields!(vpc::describe_vswitch_attributes),
    ),
    (
        "ModifyVSwitchAttribute",
        fields!(vpc::modify_vswitch_attribute),
    ),
    ("DeleteVSwitch", fields!(vpc::delete_vswitch)),
    (
        "DescribeRouteTableList",
        fields!(vpc::describe_route_table_list),
    ),
    (
        "ModifyRouteTableAttributes",
        fields!(vpc::modify_route_table_attributes),
    ),
    ("AllocateEipAddress", fields!(eip::allocate)),
    ("AssociateEipAddress", fields!(eip::associate)),
    ("UnassociateEipAddress", fields!(eip::unassociate)),
    ("DescribeEipAddresses", fields!(eip::describe)),
    ("ReleaseEipAddress", fields!(eip::release)),
    ("ModifyEipAddressAttribute", fields!(eip::modify)),
    ("ModifyEipForwardMode", fields!(eip::modify_forward_mode)),
    ("DescribeEipGatewayInfo", fields!(eip::gateway_info)),
    ("TagResources", fields!(tags::vpc_tag)),
    ("UnTagResources", fields!(tags::vpc_untag)),
    ("ListTagResources", fields!(tags::vpc_list)),
];

/// The handler of `action` in `version` (`InvalidVersion`, `InvalidAction.NotFound`).
pub fn handler_of(version: &str, action: &str) -> Result<Handler, ApiError> {
    actions_of(version)
        .ok_or_else(|| ApiError::InvalidVersion {
            version: version.to_string(),
        })?
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, h)| *h)
        .ok_or_else(|| ApiError::InvalidActionNotFound {
            action: action.to_string(),
        })
}

/// The action table of `version`, if it is one we serve.
pub fn actions_of(version: &str) -> Option<&'static [(&'static str, Handler)]> {
    match version {
        ECS_VERSION => Some(ECS_ACTIONS),
        VPC_VERSION => Some(VPC_ACTIONS),
        _ => None,
    }
}

/// What [`handle`] did: the action (for logs and the XML root), the body format asked for,
/// and the outcome.
pub struct Outcome {
    pub action: String,
    pub format: Format,
    pub result: Result<Reply, ApiError>,
}

/// Handles one request end to end.
pub fn handle(core: &Core, req: &RawRequest<'_>) -> Outcome {
    let params = req.params();
    let format = Format::from_param(params.opt("Format"));
    let mut action = String::new();
    let result = (|| {
        if req.method != Method::GET && req.method != Method::POST {
            return Err(ApiError::UnsupportedHttpMethod);
        }
        // The signature decides where Action and Version come from: an RPC signature covers
        // the parameters only, so they must be among them; ACS3 signs the x-acs-action and
        // x-acs-version headers, and a parameter that disagrees with them is refused rather
        // than left to decide what runs.
        let scheme = scheme_of(req, &params);
        let (found_action, version) = match scheme {
            Scheme::Acs3 => (
                acs3_routing(req, &params, "Action", "x-acs-action"),
                acs3_routing(req, &params, "Version", "x-acs-version"),
            ),
            Scheme::Rpc | Scheme::None => (
                Ok(params.opt("Action").map(String::from)),
                Ok(params.opt("Version").map(String::from)),
            ),
        };
        action = found_action.clone().ok().flatten().unwrap_or_default();
        let action = found_action?.ok_or_else(|| ApiError::missing("Action"))?;
        let version = version?.ok_or_else(|| ApiError::missing("Version"))?;
        let (caller, nonce) = authenticate(core, req, &params, scheme)?;
        let handler = match handler_of(&version, &action) {
            Ok(h) => h,
            Err(e) => {
                core.keep_nonce(&nonce)?;
                return Err(e);
            }
        };
        // A read keeps its nonce before it runs (in memory, flushed to the store within
        // 250 ms: `Core::keep_nonce`); a write records it in its own write transaction, so
        // that the request commits once (`Core::with_nonce`).
        let nonce = std::sync::Arc::new(nonce);
        let scoped;
        let core = if writes(&action) {
            scoped = core.with_nonce(nonce.clone());
            &scoped
        } else {
            core.keep_nonce(&nonce)?;
            core
        };
        let result = handler(
            &Ctx {
                core,
                caller,
                version: &version,
            },
            &params,
        );
        // A write that ended before its write transaction (a parameter refused, a resource
        // not found) or whose transaction failed: record the nonce now, so that the request
        // cannot be replayed later, when it might succeed.
        if !nonce.is_recorded() {
            match core.record_nonce(&nonce) {
                Ok(()) => {}
                // A replay is told as one, whatever its handler answered.
                Err(e @ ApiError::SignatureNonceUsed) => return Err(e),
                Err(e) => return result.and(Err(e)),
            }
        }
        result
    })();
    Outcome {
        action,
        format,
        result,
    }
}

/// Whether an action may write: every one but the Describe calls. A write's nonce is recorded
/// by its write transaction; a read's before it runs.
pub fn writes(action: &str) -> bool {
    !action.starts_with("Describe")
}

/// Action or Version of an ACS3 request: the signed header, which a parameter of the same
/// name may repeat but not contradict.
fn acs3_routing(
    req: &RawRequest<'_>,
    params: &Params,
    param: &str,
    header: &str,
) -> Result<Option<String>, ApiError> {
    let from_header = req.header(header).map(str::trim).filter(|h| !h.is_empty());
    match (from_header, params.opt(param)) {
        (Some(h), Some(p)) if h != p => Err(ApiError::invalid_param_because(
            param,
            format!("it differs from the signed {header} header"),
        )),
        (Some(h), _) => Ok(Some(h.to_string())),
        (None, p) => Ok(p.map(String::from)),
    }
}
