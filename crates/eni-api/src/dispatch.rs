//! Dispatch on (version, action). ECS 2014-05-26 and VPC 2016-04-28 share one endpoint, and
//! some action names exist in both (ECS keeps deprecated CreateVpc, DescribeVSwitches, …), so
//! the version picks the table and the action picks the handler.

use crate::actions::{catalog, eip, eni, instance, security_group, vpc, Ctx};
use crate::auth::{authenticate, scheme_of, Scheme};
use crate::params::RawRequest;
use crate::render::Format;
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

/// What [`handle`] did: the action (for logs and the XML root), the body format asked for,
/// and the outcome.
pub struct Outcome {
    pub action: String,
    pub format: Format,
    pub result: Result<Map<String, Value>, ApiError>,
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
        let handler = actions_of(&version)
            .ok_or(ApiError::InvalidVersion {
                version: version.clone(),
            })
            .and_then(|table| {
                table
                    .iter()
                    .find(|(name, _)| *name == action)
                    .map(|(_, h)| *h)
                    .ok_or_else(|| ApiError::InvalidActionNotFound {
                        action: action.clone(),
                    })
            });
        let handler = match handler {
            Ok(h) => h,
            Err(e) => {
                core.record_nonce(&nonce)?;
                return Err(e);
            }
        };
        // A read records the nonce before it runs; a write in its own write transaction, so
        // that the request commits once (`Core::with_nonce`).
        let nonce = std::sync::Arc::new(nonce);
        let scoped;
        let core = if writes(&action) {
            scoped = core.with_nonce(nonce.clone());
            &scoped
        } else {
            core.record_nonce(&nonce)?;
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
