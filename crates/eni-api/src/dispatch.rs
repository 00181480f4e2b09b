//! Dispatch on (version, action). ECS 2014-05-26 and VPC 2016-04-28 share one endpoint, and
//! some action names exist in both (ECS keeps deprecated CreateVpc, DescribeVSwitches, …), so
//! the version picks the table and the action picks the handler.

use crate::actions::{catalog, eip, eni, instance, security_group, vpc, Ctx};
use crate::auth::authenticate;
use crate::params::RawRequest;
use axum::http::Method;
use eni_core::Core;
use eni_types::{ApiError, Params};
use serde_json::{Map, Value};

/// The ECS API version.
pub const ECS_VERSION: &str = "2014-05-26";
/// The VPC API version.
pub const VPC_VERSION: &str = "2016-04-28";

/// A handler: typed request from parameters, one core call, a JSON object back.
pub type Handler = fn(&Ctx<'_>, &Params) -> Result<Map<String, Value>, ApiError>;

/// The ECS actions.
pub const ECS_ACTIONS: &[(&str, Handler)] = &[
    ("DescribeRegions", catalog::describe_regions_ecs),
    ("DescribeZones", catalog::describe_zones_ecs),
    ("DescribeInstanceTypes", catalog::describe_instance_types),
    ("CreateSecurityGroup", security_group::create),
    ("DescribeSecurityGroups", security_group::describe),
    ("DeleteSecurityGroup", security_group::delete),
    ("AuthorizeSecurityGroup", security_group::authorize),
    (
        "AuthorizeSecurityGroupEgress",
        security_group::authorize_egress,
    ),
    ("RevokeSecurityGroup", security_group::revoke),
    ("RevokeSecurityGroupEgress", security_group::revoke_egress),
    (
        "DescribeSecurityGroupAttribute",
        security_group::describe_attribute,
    ),
    ("ModifySecurityGroupPolicy", security_group::modify_policy),
    ("RunInstances", instance::run),
    ("CreateInstance", instance::create),
    ("StartInstance", instance::start),
    ("StopInstance", instance::stop),
    ("DeleteInstance", instance::delete),
    ("DeleteInstances", instance::delete_many),
    ("DescribeInstances", instance::describe),
    ("CreateNetworkInterface", eni::create),
    ("DeleteNetworkInterface", eni::delete),
    ("DescribeNetworkInterfaces", eni::describe),
    ("DescribeNetworkInterfaceAttribute", eni::describe_attribute),
    ("AttachNetworkInterface", eni::attach),
    ("DetachNetworkInterface", eni::detach),
    ("AssignPrivateIpAddresses", eni::assign_private_ips),
    ("UnassignPrivateIpAddresses", eni::unassign_private_ips),
    ("AssignIpv6Addresses", eni::assign_ipv6),
    ("UnassignIpv6Addresses", eni::unassign_ipv6),
    ("ModifyNetworkInterfaceAttribute", eni::modify),
    // Deprecated in ECS, still served there by Alibaba.
    ("CreateVpc", vpc::create_vpc),
    ("DescribeVpcs", vpc::describe_vpcs),
    ("DeleteVpc", vpc::delete_vpc),
    ("CreateVSwitch", vpc::create_vswitch),
    ("DescribeVSwitches", vpc::describe_vswitches),
    ("DeleteVSwitch", vpc::delete_vswitch),
];

/// The VPC actions.
pub const VPC_ACTIONS: &[(&str, Handler)] = &[
    ("DescribeRegions", catalog::describe_regions_vpc),
    ("DescribeZones", catalog::describe_zones_vpc),
    ("CreateVpc", vpc::create_vpc),
    ("DescribeVpcs", vpc::describe_vpcs),
    ("DeleteVpc", vpc::delete_vpc),
    ("CreateVSwitch", vpc::create_vswitch),
    ("DescribeVSwitches", vpc::describe_vswitches),
    ("DeleteVSwitch", vpc::delete_vswitch),
    ("AllocateEipAddress", eip::allocate),
    ("AssociateEipAddress", eip::associate),
    ("UnassociateEipAddress", eip::unassociate),
    ("DescribeEipAddresses", eip::describe),
    ("ReleaseEipAddress", eip::release),
];

/// The action table of `version`, if it is one we serve.
pub fn actions_of(version: &str) -> Option<&'static [(&'static str, Handler)]> {
    match version {
        ECS_VERSION => Some(ECS_ACTIONS),
        VPC_VERSION => Some(VPC_ACTIONS),
        _ => None,
    }
}

/// Handles one request end to end; returns the action name (for logs) and the outcome.
pub fn handle(core: &Core, req: &RawRequest<'_>) -> (String, Result<Map<String, Value>, ApiError>) {
    let params = req.params();
    let action = params
        .opt("Action")
        .map(String::from)
        .or_else(|| req.header("x-acs-action").map(String::from))
        .unwrap_or_default();
    let result = (|| {
        if req.method != Method::GET && req.method != Method::POST {
            return Err(ApiError::UnsupportedHttpMethod);
        }
        if action.is_empty() {
            return Err(ApiError::missing("Action"));
        }
        let version = params
            .opt("Version")
            .map(String::from)
            .or_else(|| req.header("x-acs-version").map(String::from))
            .ok_or_else(|| ApiError::missing("Version"))?;
        let caller = authenticate(core, req, &params)?;
        let table = actions_of(&version).ok_or(ApiError::InvalidVersion {
            version: version.clone(),
        })?;
        let handler = table
            .iter()
            .find(|(name, _)| *name == action)
            .map(|(_, h)| *h)
            .ok_or_else(|| ApiError::InvalidActionNotFound {
                action: action.clone(),
            })?;
        handler(
            &Ctx {
                core,
                caller,
                version: &version,
            },
            &params,
        )
    })();
    (action, result)
}
