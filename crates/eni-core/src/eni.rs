//! Elastic network interfaces: create, describe, attach, detach, delete, private IPv4 and IPv6
//! addresses and prefixes, and attribute changes, with every rule of the product description:
//! a primary ENI stays with its instance; an ENI is on at most one instance, in the same VPC
//! and zone; 1 to 5 security groups of its VPC; per-type ENI and address limits once attached,
//! 49 secondary IPv4 slots and 10 IPv6 slots while Available; the per-region ENI quota.
//!
//! A prefix counts as one address against these limits (the ECS "IP prefixes" page: "Each IP
//! prefix counts as one IP address"): an IPv4 /28 takes one of the IPv4 slots, which
//! `EniPrivateIpAddressQuantity` counts with the primary IP, and an IPv6 /80 takes one of the
//! IPv6 slots, which `EniIpv6AddressQuantity` counts.

use crate::addresses::{self, ExhaustedError, TakenError};
use crate::default_resource_group;
use crate::idempotency::{check_token, once};
use crate::query::page_of;
use crate::transitions::{
    complete_eni, effective_eip, effective_eni, effective_instance, settle_due,
};
use crate::{internal, now, now_ms, Caller, Core, CoreError};
use eni_ipam::Mac;
use eni_store::{
    constraints, with_read, Eip, Eni, EniFilter, EniQuery, Instance, IpKind, Ipv6Entry, PrivateIp,
    StoreError, Tags, Tx, VSwitch,
};
use eni_types::ids::{EniId, InstanceId, ResourceGroupId, SecurityGroupId, VSwitchId};
use eni_types::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Security groups an ENI may join.
pub const MAX_GROUPS: usize = 5;
/// Secondary IPv4 slots (addresses and /28 prefixes) of an ENI that is not attached.
pub const MAX_SECONDARY_WHILE_AVAILABLE: u32 = 49;
/// IPv6 slots (addresses and /80 prefixes) of an ENI that is not attached.
pub const MAX_IPV6_WHILE_AVAILABLE: u32 = 10;

/// An ENI with its addresses, as the Describe calls show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EniView {
    pub eni: Eni,
    /// Primary first, then secondaries in assignment order.
    pub private_ips: Vec<Ipv4Addr>,
    pub ipv4_prefixes: Vec<String>,
    pub ipv6: Vec<String>,
    pub ipv6_prefixes: Vec<String>,
    /// The EIPs bound to its addresses (`AssociatedPublicIp`). Absent from answers recorded
    /// before EIPs existed, hence the default.
    #[serde(default)]
    pub eips: Vec<Eip>,
}

/// Loads the addresses of `eni`, and the EIPs bound to them as a reader sees them now.
pub fn load_view(tx: &mut dyn Tx, eni: Eni) -> Result<EniView, StoreError> {
    let ips = tx.private_ips_of(eni.id.as_str())?;
    let ipv6 = tx.ipv6_of(eni.id.as_str())?;
    let t = now_ms();
    let eips = tx
        .eips_of_eni(&eni.id)?
        .into_iter()
        .map(|e| effective_eip(e, t))
        .filter(|e| e.binding.is_some())
        .collect();
    Ok(view_from_rows(eni, &ips, &ipv6, eips))
}

/// The views of a page of ENIs, their addresses and EIPs read in three statements.
pub(crate) fn load_views(
    tx: &mut dyn Tx,
    enis: Vec<Eni>,
    t: i64,
) -> Result<Vec<EniView>, StoreError> {
    let owners: Vec<&str> = enis.iter().map(|e| e.id.as_str()).collect();
    let mut ips: HashMap<String, Vec<PrivateIp>> = HashMap::new();
    for ip in tx.private_ips_of_many(&owners)? {
        ips.entry(ip.owner.clone()).or_default().push(ip);
    }
    let mut v6: HashMap<String, Vec<Ipv6Entry>> = HashMap::new();
    for e in tx.ipv6_of_many(&owners)? {
        v6.entry(e.owner.clone()).or_default().push(e);
    }
    let ids: Vec<EniId> = enis.iter().map(|e| e.id.clone()).collect();
    let mut eips: HashMap<EniId, Vec<Eip>> = HashMap::new();
    for e in tx.eips_of_enis(&ids)? {
        let e = effective_eip(e, t);
        if let Some(b) = &e.binding {
            eips.entry(b.eni_id.clone()).or_default().push(e);
        }
    }
    Ok(enis
        .into_iter()
        .map(|e| {
            let key = e.id.to_string();
            let ips = ips.remove(&key).unwrap_or_default();
            let v6 = v6.remove(&key).unwrap_or_default();
            let eips = eips.remove(&e.id).unwrap_or_default();
            view_from_rows(e, &ips, &v6, eips)
        })
        .collect())
}

/// The store filter of a DescribeNetworkInterfaces request; `None` when a value cannot match
/// anything (an ID or an address that does not parse, a primary ENI asked by its group).
fn eni_filter(req: &DescribeEnis) -> Option<EniFilter> {
    fn parsed<T: std::str::FromStr>(v: &Option<String>) -> Option<Option<T>> {
        match v {
            None => Some(None),
            Some(s) => s.parse().ok().map(Some),
        }
    }
    let mut f = EniFilter {
        instance_id: parsed(&req.instance_id)?,
        vpc_id: parsed(&req.vpc_id)?,
        vswitch_id: parsed(&req.vswitch_id)?,
        security_group_id: parsed(&req.security_group_id)?,
        status: req.status.clone(),
        name: req.name.clone(),
        resource_group_id: req.resource_group_id.clone(),
        primary_ip: parsed::<Ipv4Addr>(&req.primary_ip)?.map(u32::from),
        tags: crate::query::tag_filter(&req.tags),
        ..EniFilter::default()
    };
    if req.service_managed == Some(true) {
        return None;
    }
    if !req.ids.is_empty() {
        // IDs that cannot exist are left out; none left matches nothing.
        f.ids = Some(req.ids.iter().filter_map(|s| s.parse().ok()).collect());
    }
    if !req.private_ips.is_empty() {
        f.private_ips = Some(
            req.private_ips
                .iter()
                .filter_map(|s| s.parse::<Ipv4Addr>().ok().map(u32::from))
                .collect(),
        );
    }
    if !req.ipv6.is_empty() {
        // Addresses are kept in canonical text.
        f.ipv6 = Some(
            req.ipv6
                .iter()
                .filter_map(|s| s.parse::<std::net::Ipv6Addr>().ok().map(|a| a.to_string()))
                .collect(),
        );
    }
    // SecurityGroupId lists secondary ENIs only (a primary ENI's groups are its instance's).
    f.eni_types = match (&req.eni_type, f.security_group_id.is_some()) {
        (Some(t), true) if t == "Primary" => return None,
        (Some(t), _) => Some(vec![t.clone()]),
        (None, true) => Some(vec!["Secondary".into(), "Trunk".into()]),
        (None, false) => None,
    };
    Some(f)
}

/// Assembles a view from rows already read: `ips` and `ipv6` are the ENI's own rows in the
/// order `private_ips_of` and `ipv6_of` return them (so a caller that read whole tables can
/// build views without a query per ENI).
pub(crate) fn view_from_rows(
    eni: Eni,
    ips: &[PrivateIp],
    ipv6: &[Ipv6Entry],
    eips: Vec<Eip>,
) -> EniView {
    let mut primary = Vec::new();
    let mut secondary = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    for ip in ips {
        match ip.kind {
            IpKind::Primary => primary.push(Ipv4Addr::from(ip.ip)),
            IpKind::Secondary => secondary.push(Ipv4Addr::from(ip.ip)),
            IpKind::Prefix => {
                // A /28 is 16 rows; the one at its base stands for it.
                if ip.prefix == Some(ip.ip) {
                    prefixes.push(format!("{}/28", Ipv4Addr::from(ip.ip)));
                }
            }
        }
    }
    primary.extend(secondary);
    let (mut v6, mut v6_prefixes) = (Vec::new(), Vec::new());
    for e in ipv6 {
        if e.is_prefix {
            v6_prefixes.push(e.addr.clone());
        } else {
            v6.push(e.addr.clone());
        }
    }
    EniView {
        eni,
        private_ips: primary,
        ipv4_prefixes: prefixes,
        ipv6: v6,
        ipv6_prefixes: v6_prefixes,
        eips,
    }
}

/// Releases every address of `eni` and deletes it.
pub(crate) fn destroy_eni(tx: &mut dyn Tx, eni: &Eni) -> Result<(), CoreError> {
    for ip in tx.private_ips_of(eni.id.as_str())? {
        match ip.kind {
            IpKind::Prefix => {
                if ip.prefix == Some(ip.ip) {
                    addresses::release_v4(
                        tx,
                        &ip.vswitch_id,
                        ip.ip,
                        ip.ip + crate::ipam::PREFIX_SIZE - 1,
                    )?;
                }
            }
            _ => addresses::release_v4(tx, &ip.vswitch_id, ip.ip, ip.ip)?,
        }
    }
    for e in tx.ipv6_of(eni.id.as_str())? {
        tx.ipv6_delete(&e.vswitch_id, &e.addr)?;
    }
    tx.eni_delete(eni.account_id, &eni.id)?;
    Ok(())
}

/// Validates an ENI name: 2–128 characters of letters, digits, `:`, `_`, `.` and `-`.
pub fn check_eni_name(name: &str) -> Result<(), ApiError> {
    let n = name.chars().count();
    let ok = (2..=128).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || ":_.-".contains(c));
    if ok && !name.to_ascii_lowercase().starts_with("http") {
        Ok(())
    } else {
        Err(ApiError::invalid_param_because(
            "NetworkInterfaceName",
            "2 to 128 characters of letters, digits, ':', '_', '.' and '-'",
        ))
    }
}

/// Validates an ENI description: 2–`max` characters, no `http://`/`https://` prefix.
pub fn check_eni_description(d: &str, max: usize) -> Result<(), ApiError> {
    let n = d.chars().count();
    let lower = d.to_ascii_lowercase();
    if (2..=max).contains(&n) && !lower.starts_with("http://") && !lower.starts_with("https://") {
        Ok(())
    } else {
        Err(ApiError::invalid_param_because(
            "Description",
            format!("2 to {max} characters, not starting with http:// or https://"),
        ))
    }
}

/// Checks a list of security groups for an ENI of `vpc`: 1 to 5, existing, all in the VPC.
pub(crate) fn check_groups(
    tx: &mut dyn Tx,
    caller: &Caller,
    vpc: &eni_types::ids::VpcId,
    ids: &[String],
) -> Result<Vec<SecurityGroupId>, CoreError> {
    let mut out: Vec<SecurityGroupId> = Vec::new();
    for raw in ids {
        let id: SecurityGroupId = raw.parse().map_err(|_| ApiError::SecurityGroupNotFound)?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    if out.is_empty() {
        return Err(ApiError::missing("SecurityGroupIds.1").into());
    }
    if out.len() > MAX_GROUPS {
        return Err(ApiError::JoinedGroupLimitExceed {
            limit: MAX_GROUPS as u32,
        }
        .into());
    }
    for id in &out {
        let sg = tx
            .security_group_get(caller.account, id)?
            .ok_or(ApiError::SecurityGroupNotFound)?;
        if &sg.vpc_id != vpc {
            return Err(ApiError::VpcMismatch {
                detail: format!("Security group {id} is in {}, the ENI in {vpc}.", sg.vpc_id),
            }
            .into());
        }
    }
    Ok(out)
}

/// What the address part of a create asks for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AddressRequest {
    pub primary_ip: Option<String>,
    pub private_ips: Vec<String>,
    pub secondary_count: Option<u32>,
    pub ipv4_prefixes: Vec<String>,
    pub ipv4_prefix_count: Option<u32>,
    pub ipv6: Vec<String>,
    pub ipv6_count: Option<u32>,
    pub ipv6_prefixes: Vec<String>,
    pub ipv6_prefix_count: Option<u32>,
}

fn exclusive(
    list_name: &str,
    list: &[String],
    count_name: &str,
    count: Option<u32>,
    max: u32,
) -> Result<u32, ApiError> {
    if !list.is_empty() && count.is_some() {
        return Err(ApiError::ParameterConflict {
            message: format!("{list_name}.N and {count_name} cannot be specified together."),
        });
    }
    if list.len() as u32 > max {
        return Err(ApiError::invalid_param_because(
            &format!("{list_name}.N"),
            format!("at most {max}"),
        ));
    }
    match count {
        Some(c) if !(1..=max).contains(&c) => Err(ApiError::invalid_param_because(
            count_name,
            format!("must be 1 to {max}"),
        )),
        Some(c) => Ok(c),
        None => Ok(0),
    }
}

impl AddressRequest {
    /// Checks the mutually exclusive pairs and the counts of a create call.
    pub fn check(&self) -> Result<(), ApiError> {
        exclusive(
            "PrivateIpAddress",
            &self.private_ips,
            "SecondaryPrivateIpAddressCount",
            self.secondary_count,
            MAX_SECONDARY_WHILE_AVAILABLE,
        )?;
        if self.private_ips.len() > 10 {
            return Err(ApiError::invalid_param_because(
                "PrivateIpAddress.N",
                "at most 10",
            ));
        }
        exclusive(
            "Ipv4Prefix",
            &self.ipv4_prefixes,
            "Ipv4PrefixCount",
            self.ipv4_prefix_count,
            10,
        )?;
        exclusive(
            "Ipv6Address",
            &self.ipv6,
            "Ipv6AddressCount",
            self.ipv6_count,
            10,
        )?;
        exclusive(
            "Ipv6Prefix",
            &self.ipv6_prefixes,
            "Ipv6PrefixCount",
            self.ipv6_prefix_count,
            10,
        )?;
        Ok(())
    }

    pub(crate) fn v4_slots(&self) -> u32 {
        self.private_ips.len() as u32
            + self.secondary_count.unwrap_or(0)
            + self.ipv4_prefixes.len() as u32
            + self.ipv4_prefix_count.unwrap_or(0)
    }

    pub(crate) fn v6_count(&self) -> u32 {
        self.ipv6.len() as u32 + self.ipv6_count.unwrap_or(0)
    }

    /// IPv6 slots asked for: addresses and /80 prefixes, one slot each.
    pub(crate) fn v6_slots(&self) -> u32 {
        self.v6_count() + self.ipv6_prefixes.len() as u32 + self.ipv6_prefix_count.unwrap_or(0)
    }
}

/// Everything needed to create one ENI inside a transaction.
pub(crate) struct NewEni<'a> {
    pub vswitch: &'a VSwitch,
    pub groups: Vec<SecurityGroupId>,
    pub addresses: &'a AddressRequest,
    pub eni_type: &'a str,
    pub name: String,
    pub description: String,
    pub delete_on_release: bool,
    pub source_dest_check: bool,
    pub queue_number: u32,
    pub traffic_mode: String,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    /// Attached from birth (a primary ENI, or a RunInstances secondary): instance and index.
    pub attached: Option<(InstanceId, u32)>,
    pub taken: TakenError,
    pub exhausted: ExhaustedError,
}

/// Creates an ENI and takes its addresses. Returns the new ENI's view, built from what was
/// written (the store holds exactly this: the same rows, in the orders `load_view` reads).
pub(crate) fn insert_eni(
    tx: &mut dyn Tx,
    caller: &Caller,
    new: NewEni<'_>,
) -> Result<EniView, CoreError> {
    let vsw = new.vswitch;
    let a = new.addresses;
    let id = EniId::generate(&vsw.region_id);
    let primary_explicit: Vec<Ipv4Addr> = a
        .primary_ip
        .iter()
        .map(|s| addresses::parse_v4("PrimaryIpAddress", s))
        .collect::<Result<_, _>>()?;
    let secondary_explicit: Vec<Ipv4Addr> = a
        .private_ips
        .iter()
        .map(|s| addresses::parse_v4("PrivateIpAddress.N", s))
        .collect::<Result<_, _>>()?;
    let mut all = primary_explicit.clone();
    all.extend(&secondary_explicit);
    addresses::no_repeats(&all)?;
    let v4_prefixes = addresses::parse_v4_prefixes("Ipv4Prefix.N", &a.ipv4_prefixes)?;
    if (a.v6_count() > 0 || !a.ipv6_prefixes.is_empty() || a.ipv6_prefix_count.is_some())
        && vsw.ipv6_cidr_block.is_none()
    {
        return Err(ApiError::Ipv6NotTurnOn.into());
    }

    let primary = addresses::take_ipv4(
        tx,
        vsw,
        &id,
        IpKind::Primary,
        &primary_explicit,
        u32::from(primary_explicit.is_empty()),
        new.taken,
        new.exhausted,
    )?[0];
    let secondaries = addresses::take_ipv4(
        tx,
        vsw,
        &id,
        IpKind::Secondary,
        &secondary_explicit,
        a.secondary_count.unwrap_or(0),
        new.taken,
        new.exhausted,
    )?;
    let v4_nets = addresses::take_v4_prefixes(
        tx,
        vsw,
        &id,
        &v4_prefixes,
        a.ipv4_prefix_count.unwrap_or(0),
        new.taken,
    )?;
    let mut ipv6 = Vec::new();
    if a.v6_count() > 0 {
        ipv6 = addresses::take_ipv6(tx, vsw, &id, &a.ipv6, a.ipv6_count.unwrap_or(0), false)?;
    }
    let mut ipv6_prefixes = Vec::new();
    if !a.ipv6_prefixes.is_empty() || a.ipv6_prefix_count.is_some() {
        ipv6_prefixes = addresses::take_ipv6(
            tx,
            vsw,
            &id,
            &a.ipv6_prefixes,
            a.ipv6_prefix_count.unwrap_or(0),
            true,
        )?;
    }

    let (instance_id, device_index) = match new.attached {
        Some((i, d)) => (Some(i), Some(d)),
        None => (None, None),
    };
    let mut eni = Eni {
        id: id.clone(),
        account_id: caller.account,
        region_id: vsw.region_id.clone(),
        zone_id: vsw.zone_id.clone(),
        vpc_id: vsw.vpc_id.clone(),
        vswitch_id: vsw.id.clone(),
        eni_type: new.eni_type.to_string(),
        status: if instance_id.is_some() {
            "InUse".into()
        } else {
            "Available".into()
        },
        due_at: None,
        instance_id,
        device_index,
        mac: Mac::random().to_string(),
        primary_ip: primary,
        name: new.name,
        description: new.description,
        security_group_ids: new.groups,
        delete_on_release: new.delete_on_release,
        source_dest_check: new.source_dest_check,
        queue_number: new.queue_number,
        traffic_mode: new.traffic_mode,
        resource_group_id: new.resource_group_id,
        tags: new.tags,
        created_at: now(),
    };
    // A MAC collision (2^24 per OUI) is rare; the unique constraint catches it and we redraw.
    for _ in 0..16 {
        match tx.eni_insert(&eni) {
            Ok(()) => {
                let private_ips = std::iter::once(primary)
                    .chain(secondaries)
                    .map(Ipv4Addr::from)
                    .collect();
                let ipv4_prefixes = v4_nets
                    .into_iter()
                    .map(|n| format!("{}/28", Ipv4Addr::from(n)))
                    .collect();
                return Ok(EniView {
                    eni,
                    private_ips,
                    ipv4_prefixes,
                    ipv6,
                    ipv6_prefixes,
                    // A new ENI's addresses are new: no EIP is bound to them.
                    eips: Vec::new(),
                });
            }
            Err(e) if e.is_conflict_on(constraints::ENI_MAC_UNIQUE) => {
                eni.mac = Mac::random().to_string()
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::ServiceUnavailable.into())
}

/// CreateNetworkInterface.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateEni {
    pub region: String,
    pub vswitch_id: String,
    pub security_group_id: Option<String>,
    pub security_group_ids: Vec<String>,
    pub addresses: AddressRequest,
    pub name: Option<String>,
    pub description: Option<String>,
    pub eni_type: Option<String>,
    pub delete_on_release: Option<bool>,
    pub source_dest_check: Option<bool>,
    pub queue_number: Option<u32>,
    pub traffic_mode: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Tags,
    #[serde(skip)]
    pub client_token: Option<String>,
}

/// DescribeNetworkInterfaces filters and paging.
#[derive(Debug, Clone, Default)]
pub struct DescribeEnis {
    pub region: String,
    pub ids: Vec<String>,
    pub instance_id: Option<String>,
    pub vpc_id: Option<String>,
    pub vswitch_id: Option<String>,
    pub security_group_id: Option<String>,
    pub primary_ip: Option<String>,
    pub name: Option<String>,
    pub resource_group_id: Option<String>,
    pub private_ips: Vec<String>,
    pub ipv6: Vec<String>,
    pub eni_type: Option<String>,
    pub status: Option<String>,
    pub service_managed: Option<bool>,
    pub tags: Tags,
    pub paging: Paging,
}

pub use crate::query::Paging;

/// One page of ENIs.
pub type EniPage = crate::query::TokenPage<EniView>;

/// What AssignPrivateIpAddresses answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Assigned {
    pub eni_id: EniId,
    pub private_ips: Vec<String>,
    pub ipv4_prefixes: Vec<String>,
}

/// What AssignIpv6Addresses answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssignedV6 {
    pub eni_id: EniId,
    pub ipv6: Vec<String>,
    pub ipv6_prefixes: Vec<String>,
}

/// ModifyNetworkInterfaceAttribute.
#[derive(Debug, Clone, Default)]
pub struct ModifyEni {
    pub region: String,
    pub eni_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub security_group_ids: Vec<String>,
    pub delete_on_release: Option<bool>,
    pub source_dest_check: Option<bool>,
    pub queue_number: Option<u32>,
}

impl Core {
    fn delay_ms(&self) -> Option<i64> {
        let d = self.config().transition_delay_ms;
        (d > 0).then_some(d as i64)
    }

    /// How a transition the data plane carries out (attach, detach, EIP associate and
    /// unassociate) completes: `Ok(Some(due))` after a delay, `Ok(None)` at once, `Err(())`
    /// when an agent must confirm it.
    pub(crate) fn transition_completion(&self, now: i64) -> Result<Option<i64>, ()> {
        if self.config().dataplane {
            return Err(());
        }
        Ok(self.delay_ms().map(|d| now + d))
    }

    /// Loads an ENI of the caller in `region`, settled, or `InvalidEniId.NotFound`.
    pub(crate) fn eni_in(
        tx: &mut dyn Tx,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<Eni, CoreError> {
        let id: EniId = id.parse().map_err(|_| ApiError::EniNotFound)?;
        match tx.eni_get(caller.account, &id)? {
            Some(e) if e.region_id == region => Ok(e),
            _ => Err(ApiError::EniNotFound.into()),
        }
    }

    /// CreateNetworkInterface.
    pub fn create_network_interface(
        &self,
        caller: &Caller,
        req: CreateEni,
    ) -> Result<EniView, ApiError> {
        self.check_region(&req.region)?;
        if let Some(t) = &req.client_token {
            check_token(t)?;
        }
        req.addresses.check()?;
        if let Some(n) = &req.name {
            check_eni_name(n)?;
        }
        if let Some(d) = &req.description {
            check_eni_description(d, 256)?;
        }
        let groups: Vec<String> = match (&req.security_group_id, req.security_group_ids.is_empty())
        {
            (Some(_), false) => {
                return Err(ApiError::ParameterConflict {
                    message: "SecurityGroupId and SecurityGroupIds.N cannot be specified together."
                        .into(),
                })
            }
            (Some(g), true) => vec![g.clone()],
            (None, false) => req.security_group_ids.clone(),
            (None, true) => return Err(ApiError::missing("SecurityGroupId")),
        };
        let eni_type = match req.eni_type.as_deref() {
            None | Some("Secondary") => "Secondary",
            Some("Trunk") => "Trunk",
            Some(_) => {
                return Err(ApiError::invalid_param_because(
                    "InstanceType",
                    "Secondary or Trunk",
                ))
            }
        };
        let traffic_mode = match req.traffic_mode.as_deref() {
            None | Some("Standard") => "Standard",
            Some("HighPerformance") => "HighPerformance",
            Some(_) => {
                return Err(ApiError::invalid_param_because(
                    "NetworkInterfaceTrafficMode",
                    "Standard or HighPerformance",
                ))
            }
        };
        if req.addresses.v4_slots() > MAX_SECONDARY_WHILE_AVAILABLE {
            return Err(ApiError::MaxEniPrivateIpsCountExceeded {
                limit: MAX_SECONDARY_WHILE_AVAILABLE,
            });
        }
        if req.addresses.v6_slots() > MAX_IPV6_WHILE_AVAILABLE {
            return Err(ApiError::MaxEniIpv6IpsCountExceeded {
                limit: MAX_IPV6_WHILE_AVAILABLE,
            });
        }
        let rg = match &req.resource_group_id {
            Some(r) => r
                .parse::<ResourceGroupId>()
                .map_err(|_| ApiError::invalid_param("ResourceGroupId"))?,
            None => default_resource_group(caller),
        };
        let quota = self.config().eni_quota;
        let (t, t_ms) = (now(), now_ms());
        let view = self
            .write(|tx| {
                settle_due(tx, t_ms)?;
                once(
                    tx,
                    caller.account,
                    "CreateNetworkInterface",
                    req.client_token.as_deref(),
                    &req,
                    t,
                    |tx| {
                        let vsw_id: VSwitchId = req
                            .vswitch_id
                            .parse()
                            .map_err(|_| ApiError::VSwitchNotFound)?;
                        let vsw = match tx.vswitch_get(caller.account, &vsw_id)? {
                            Some(v) if v.region_id == req.region => v,
                            _ => return Err(ApiError::VSwitchNotFound.into()),
                        };
                        let groups = check_groups(tx, caller, &vsw.vpc_id, &groups)?;
                        let used = tx.eni_count(caller.account, &req.region, "Secondary")?
                            + tx.eni_count(caller.account, &req.region, "Trunk")?;
                        if used >= quota {
                            return Err(ApiError::MaxEniCountExceeded { limit: quota }.into());
                        }
                        // The answer is recorded whole: a replay gets the first result, even
                        // after the ENI changed or is gone.
                        insert_eni(
                            tx,
                            caller,
                            NewEni {
                                vswitch: &vsw,
                                groups,
                                addresses: &req.addresses,
                                eni_type,
                                name: req.name.clone().unwrap_or_default(),
                                description: req.description.clone().unwrap_or_default(),
                                delete_on_release: req.delete_on_release.unwrap_or(false),
                                source_dest_check: req.source_dest_check.unwrap_or(false),
                                queue_number: req.queue_number.unwrap_or(2),
                                traffic_mode: traffic_mode.to_string(),
                                resource_group_id: rg.clone(),
                                tags: req.tags.clone(),
                                attached: None,
                                taken: TakenError::Duplicated,
                                exhausted: ExhaustedError::IpNotEnough,
                            },
                        )
                    },
                )
            })
            .map_err(ApiError::from)?;
        Ok(view)
    }

    /// One ENI with its addresses, as a reader sees it now.
    pub fn eni_view(&self, caller: &Caller, region: &str, id: &str) -> Result<EniView, ApiError> {
        self.check_region(region)?;
        let t = now_ms();
        with_read(self.store(), |tx| -> Result<EniView, CoreError> {
            let eni = Self::eni_in(tx, caller, region, id)?;
            let eni = effective_eni(eni, t).ok_or(ApiError::EniNotFound)?;
            Ok(load_view(tx, eni)?)
        })
        .map_err(Into::into)
    }

    /// DescribeNetworkInterfaces.
    pub fn describe_network_interfaces(
        &self,
        caller: &Caller,
        req: DescribeEnis,
    ) -> Result<EniPage, ApiError> {
        self.check_region(&req.region)?;
        if req.ids.len() > 100 || req.private_ips.len() > 100 || req.ipv6.len() > 100 {
            return Err(ApiError::invalid_param_because(
                "NetworkInterfaceId.N",
                "at most 100 values",
            ));
        }
        let start = req.paging.start()?;
        let Some(filter) = eni_filter(&req) else {
            // A filter value that cannot exist (an ID or address that does not parse).
            return Ok(EniPage {
                items: Vec::new(),
                total: 0,
                page: start.page(),
                next_token: String::new(),
            });
        };
        // The store filters status and instance as stored: what is due is settled first, so
        // they are what a reader sees.
        let t = now_ms();
        let (account, region) = (caller.account, req.region.as_str());
        self.read_settled(t, |tx| -> Result<EniPage, StoreError> {
            let page = page_of(
                tx,
                start,
                |tx| tx.eni_find_count(account, region, &filter),
                |tx, w| tx.eni_find(account, region, &filter, w),
                // A row that completed a transition since the settle is shown as it is now;
                // dropped if it no longer matches.
                |e| {
                    effective_eni(e, t).filter(|e| {
                        req.status.as_ref().is_none_or(|s| s == &e.status)
                            && filter
                                .instance_id
                                .as_ref()
                                .is_none_or(|i| e.instance_id.as_ref() == Some(i))
                    })
                },
            )?;
            Ok(EniPage {
                items: load_views(tx, page.items, t)?,
                total: page.total,
                page: page.page,
                next_token: page.next_token,
            })
        })
        .map_err(internal)
    }

    /// AttachNetworkInterface: `Available → Attaching → InUse`.
    pub fn attach_network_interface(
        &self,
        caller: &Caller,
        region: &str,
        eni_id: &str,
        instance_id: &str,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut eni = Self::eni_in(tx, caller, region, eni_id)?;
            if eni.eni_type == "Primary" {
                return Err(ApiError::InvalidEniType {
                    detail: "A primary ENI cannot be attached.".into(),
                }
                .into());
            }
            if eni.status != "Available" {
                return Err(ApiError::InvalidEniState {
                    detail: format!(
                        "Expecting status \"Available\" while current status is \"{}\".",
                        eni.status
                    ),
                }
                .into());
            }
            let inst = self.instance_in(tx, caller, region, instance_id, ApiError::EcsNotFound)?;
            let ty = self.check_can_take_eni(&inst)?;
            let vpc = inst
                .vpc_id
                .as_ref()
                .ok_or(ApiError::ClassicNetworkNotSupported)?;
            if vpc != &eni.vpc_id {
                return Err(ApiError::VpcMismatch {
                    detail: format!("The ENI is in {}, the instance in {vpc}.", eni.vpc_id),
                }
                .into());
            }
            if inst.zone_id != eni.zone_id {
                return Err(ApiError::AvailabilityZoneMismatch.into());
            }
            let on_instance = tx.eni_list(
                caller.account,
                region,
                &EniQuery {
                    instance_id: Some(inst.id.clone()),
                    ..Default::default()
                },
            )?;
            if on_instance.len() as u32 >= ty.eni_quantity {
                return Err(ApiError::EniPerInstanceLimitExceeded {
                    limit: ty.eni_quantity,
                }
                .into());
            }
            let view = load_view(tx, eni.clone())?;
            let v4 = view.private_ips.len() as u32 + view.ipv4_prefixes.len() as u32;
            if v4 > ty.eni_private_ip_address_quantity {
                return Err(ApiError::Ipv4CountExceeded {
                    limit: ty.eni_private_ip_address_quantity,
                }
                .into());
            }
            let v6 = view.ipv6.len() as u32 + view.ipv6_prefixes.len() as u32;
            if v6 > ty.eni_ipv6_address_quantity {
                return Err(ApiError::Ipv6CountExceeded {
                    limit: ty.eni_ipv6_address_quantity,
                }
                .into());
            }
            let used: Vec<u32> = on_instance.iter().filter_map(|e| e.device_index).collect();
            let index = (1..).find(|i| !used.contains(i)).unwrap_or(1);
            eni.instance_id = Some(inst.id.clone());
            eni.device_index = Some(index);
            match self.transition_completion(t) {
                Err(()) => {
                    eni.status = "Attaching".into();
                    eni.due_at = None;
                }
                Ok(Some(due)) => {
                    eni.status = "Attaching".into();
                    eni.due_at = Some(due);
                }
                Ok(None) => eni.status = "InUse".into(),
            }
            tx.eni_update(&eni)?;
            Ok(())
        })
        .map_err(Into::into)
    }

    /// DetachNetworkInterface: `InUse → Detaching → Available` (a repeated call while
    /// Detaching is accepted).
    pub fn detach_network_interface(
        &self,
        caller: &Caller,
        region: &str,
        eni_id: &str,
        instance_id: &str,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut eni = Self::eni_in(tx, caller, region, eni_id)?;
            let inst = self.instance_in(tx, caller, region, instance_id, ApiError::EcsNotFound)?;
            if eni.eni_type == "Primary" {
                return Err(ApiError::DetachPrimaryEniNotAllowed.into());
            }
            if eni.status != "InUse" && eni.status != "Detaching" {
                return Err(ApiError::InvalidEniState {
                    detail: format!(
                        "Expecting status \"InUse\" while current status is \"{}\".",
                        eni.status
                    ),
                }
                .into());
            }
            if eni.instance_id.as_ref() != Some(&inst.id) {
                return Err(ApiError::InvalidEniState {
                    detail: format!("The ENI is not attached to {}.", inst.id),
                }
                .into());
            }
            if inst.status != "Running" && inst.status != "Stopped" {
                return Err(ApiError::InvalidEcsState {
                    detail: format!("The instance is {}.", inst.status),
                }
                .into());
            }
            if eni.status == "Detaching" {
                return Ok(());
            }
            eni.status = "Detaching".into();
            match self.transition_completion(t) {
                Err(()) => {
                    eni.due_at = None;
                    tx.eni_update(&eni)?;
                }
                Ok(Some(due)) => {
                    eni.due_at = Some(due);
                    tx.eni_update(&eni)?;
                }
                Ok(None) => complete_eni(tx, eni)?,
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// DeleteNetworkInterface: `Available → Deleting → gone` (repeating it while Deleting is
    /// accepted).
    pub fn delete_network_interface(
        &self,
        caller: &Caller,
        region: &str,
        eni_id: &str,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        let (t, delay) = (now_ms(), self.delay_ms());
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut eni = Self::eni_in(tx, caller, region, eni_id)?;
            if eni.eni_type == "Primary" {
                return Err(ApiError::InvalidEniType {
                    detail: "A primary ENI is released with its instance.".into(),
                }
                .into());
            }
            match eni.status.as_str() {
                "Available" => {}
                "Deleting" => return Ok(()),
                other => {
                    return Err(ApiError::InvalidEniState {
                        detail: format!(
                            "Expecting status \"Available\" while current status is \"{other}\"."
                        ),
                    }
                    .into())
                }
            }
            // Its EIPs are free again as soon as the deletion starts, not when it completes
            // (releasing its addresses would unbind them then).
            crate::eip::unbind_eips_of_eni(tx, &eni.id)?;
            eni.status = "Deleting".into();
            eni.due_at = delay.map(|d| t + d);
            match delay {
                Some(_) => tx.eni_update(&eni)?,
                None => destroy_eni(tx, &eni)?,
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// The limits that apply to an ENI's addresses now: (IPv4 total incl. primary, IPv6,
    /// whether they are the instance type's).
    fn address_limits(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        eni: &Eni,
    ) -> Result<(u32, u32, bool), CoreError> {
        if let Some(inst_id) = &eni.instance_id {
            if let Some(inst) = tx.instance_get(caller.account, inst_id)? {
                if let Some(ty) = self.catalog().instance_type(&inst.instance_type) {
                    return Ok((
                        ty.eni_private_ip_address_quantity,
                        ty.eni_ipv6_address_quantity,
                        true,
                    ));
                }
            }
        }
        Ok((
            MAX_SECONDARY_WHILE_AVAILABLE + 1,
            MAX_IPV6_WHILE_AVAILABLE,
            false,
        ))
    }

    /// Address changes need a settled ENI, and a primary ENI's instance Running or Stopped.
    fn eni_for_address_change(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        region: &str,
        eni_id: &str,
    ) -> Result<Eni, CoreError> {
        let eni = Self::eni_in(tx, caller, region, eni_id)?;
        if eni.status != "Available" && eni.status != "InUse" {
            return Err(ApiError::InvalidEniState {
                detail: format!("The ENI is {}.", eni.status),
            }
            .into());
        }
        if eni.eni_type == "Primary" {
            if let Some(i) = &eni.instance_id {
                if let Some(inst) = tx.instance_get(caller.account, i)? {
                    if inst.status != "Running" && inst.status != "Stopped" {
                        return Err(ApiError::InvalidEcsState {
                            detail: format!("The instance is {}.", inst.status),
                        }
                        .into());
                    }
                }
            }
        }
        Ok(eni)
    }

    /// AssignPrivateIpAddresses.
    #[allow(clippy::too_many_arguments)]
    pub fn assign_private_ips(
        &self,
        caller: &Caller,
        region: &str,
        eni_id: &str,
        ips: Vec<String>,
        count: Option<u32>,
        prefixes: Vec<String>,
        prefix_count: Option<u32>,
        client_token: Option<String>,
    ) -> Result<Assigned, ApiError> {
        self.check_region(region)?;
        if let Some(t) = &client_token {
            check_token(t)?;
        }
        let n = exclusive(
            "PrivateIpAddress",
            &ips,
            "SecondaryPrivateIpAddressCount",
            count,
            MAX_SECONDARY_WHILE_AVAILABLE,
        )? + ips.len() as u32;
        let p = exclusive("Ipv4Prefix", &prefixes, "Ipv4PrefixCount", prefix_count, 10)?
            + prefixes.len() as u32;
        if n + p == 0 {
            return Err(ApiError::missing("SecondaryPrivateIpAddressCount"));
        }
        let explicit: Vec<Ipv4Addr> = ips
            .iter()
            .map(|s| addresses::parse_v4("PrivateIpAddress.N", s))
            .collect::<Result<_, _>>()?;
        let v4_prefixes = addresses::parse_v4_prefixes("Ipv4Prefix.N", &prefixes)?;
        #[derive(Serialize)]
        struct Digest<'a>(
            &'a str,
            &'a str,
            &'a [String],
            Option<u32>,
            &'a [String],
            Option<u32>,
        );
        let digest = Digest(region, eni_id, &ips, count, &prefixes, prefix_count);
        let (t, t_ms) = (now(), now_ms());
        self.write(|tx| {
            settle_due(tx, t_ms)?;
            once(
                tx,
                caller.account,
                "AssignPrivateIpAddresses",
                client_token.as_deref(),
                &digest,
                t,
                |tx| {
                    let eni = self.eni_for_address_change(tx, caller, region, eni_id)?;
                    let view = load_view(tx, eni.clone())?;
                    // BINDED needs an ENI with its primary address alone (Eni.HasSubIp when
                    // binding); the rule holds while the EIP is bound.
                    let binded = |e: &&Eip| {
                        eni_types::hoststate::EipMode::parse(&e.mode)
                            == Some(eni_types::hoststate::EipMode::Binded)
                    };
                    if let Some(e) = view.eips.iter().find(binded) {
                        return Err(ApiError::EniHasDirectEip {
                            detail: format!(
                                "{} holds {} in BINDED mode; unbind it before assigning \
                                 secondary private IPs or IPv4 prefixes.",
                                eni.id, e.id
                            ),
                        }
                        .into());
                    }
                    let have = view.private_ips.len() as u32 + view.ipv4_prefixes.len() as u32;
                    let (limit, _, attached) = self.address_limits(tx, caller, &eni)?;
                    if have + n + p > limit {
                        return Err(if attached {
                            ApiError::Ipv4CountExceeded { limit }
                        } else {
                            ApiError::MaxEniPrivateIpsCountExceeded {
                                limit: MAX_SECONDARY_WHILE_AVAILABLE,
                            }
                        }
                        .into());
                    }
                    let vsw = tx
                        .vswitch_get(caller.account, &eni.vswitch_id)?
                        .ok_or(ApiError::InternalError)?;
                    let got = addresses::take_ipv4(
                        tx,
                        &vsw,
                        &eni.id,
                        IpKind::Secondary,
                        &explicit,
                        count.unwrap_or(0),
                        TakenError::Assigned,
                        ExhaustedError::IpNotEnough,
                    )?;
                    let nets = addresses::take_v4_prefixes(
                        tx,
                        &vsw,
                        &eni.id,
                        &v4_prefixes,
                        prefix_count.unwrap_or(0),
                        TakenError::Assigned,
                    )?;
                    Ok(Assigned {
                        eni_id: eni.id,
                        private_ips: got
                            .into_iter()
                            .map(|i| Ipv4Addr::from(i).to_string())
                            .collect(),
                        ipv4_prefixes: nets
                            .into_iter()
                            .map(|i| format!("{}/28", Ipv4Addr::from(i)))
                            .collect(),
                    })
                },
            )
        })
        .map_err(Into::into)
    }

    /// UnassignPrivateIpAddresses: only secondary IPs and prefixes of this ENI.
    pub fn unassign_private_ips(
        &self,
        caller: &Caller,
        region: &str,
        eni_id: &str,
        ips: Vec<String>,
        prefixes: Vec<String>,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        if ips.is_empty() && prefixes.is_empty() {
            return Err(ApiError::missing("PrivateIpAddress.1"));
        }
        let parsed: Vec<Ipv4Addr> = ips
            .iter()
            .map(|s| addresses::parse_v4("PrivateIpAddress.N", s))
            .collect::<Result<_, _>>()?;
        addresses::no_repeats(&parsed)?;
        let v4_prefixes = addresses::parse_v4_prefixes("Ipv4Prefix.N", &prefixes)?;
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let eni = self.eni_for_address_change(tx, caller, region, eni_id)?;
            for ip in &parsed {
                match tx.private_ip_get(&eni.vswitch_id, u32::from(*ip))? {
                    Some(row) if row.owner == eni.id.as_str() && row.kind == IpKind::Secondary => {
                        addresses::release_v4(tx, &eni.vswitch_id, row.ip, row.ip)?
                    }
                    _ => return Err(ApiError::IpUnassigned { ip: ip.to_string() }.into()),
                }
            }
            for p in &v4_prefixes {
                match tx.private_ip_get(&eni.vswitch_id, p.first_u32())? {
                    Some(row)
                        if row.owner == eni.id.as_str() && row.prefix == Some(p.first_u32()) =>
                    {
                        addresses::release_v4(tx, &eni.vswitch_id, p.first_u32(), p.last_u32())?
                    }
                    _ => return Err(ApiError::IpUnassigned { ip: p.to_string() }.into()),
                }
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// AssignIpv6Addresses.
    #[allow(clippy::too_many_arguments)]
    pub fn assign_ipv6(
        &self,
        caller: &Caller,
        region: &str,
        eni_id: &str,
        addrs: Vec<String>,
        count: Option<u32>,
        prefixes: Vec<String>,
        prefix_count: Option<u32>,
        client_token: Option<String>,
    ) -> Result<AssignedV6, ApiError> {
        self.check_region(region)?;
        if let Some(t) = &client_token {
            check_token(t)?;
        }
        let n =
            exclusive("Ipv6Address", &addrs, "Ipv6AddressCount", count, 10)? + addrs.len() as u32;
        let p = exclusive("Ipv6Prefix", &prefixes, "Ipv6PrefixCount", prefix_count, 10)?
            + prefixes.len() as u32;
        if n + p == 0 {
            return Err(ApiError::missing("Ipv6AddressCount"));
        }
        addresses::parse_v6(&addrs)?;
        #[derive(Serialize)]
        struct Digest<'a>(
            &'a str,
            &'a str,
            &'a [String],
            Option<u32>,
            &'a [String],
            Option<u32>,
        );
        let digest = Digest(region, eni_id, &addrs, count, &prefixes, prefix_count);
        let (t, t_ms) = (now(), now_ms());
        self.write(|tx| {
            settle_due(tx, t_ms)?;
            once(
                tx,
                caller.account,
                "AssignIpv6Addresses",
                client_token.as_deref(),
                &digest,
                t,
                |tx| {
                    let eni = self.eni_for_address_change(tx, caller, region, eni_id)?;
                    let vsw = tx
                        .vswitch_get(caller.account, &eni.vswitch_id)?
                        .ok_or(ApiError::InternalError)?;
                    addresses::ipv6_block(&vsw)?;
                    let view = load_view(tx, eni.clone())?;
                    let have = view.ipv6.len() as u32 + view.ipv6_prefixes.len() as u32;
                    let (_, limit, attached) = self.address_limits(tx, caller, &eni)?;
                    if have + n + p > limit {
                        return Err(if attached {
                            ApiError::Ipv6CountExceeded { limit }
                        } else {
                            ApiError::MaxEniIpv6IpsCountExceeded { limit }
                        }
                        .into());
                    }
                    let ipv6 = if n > 0 {
                        addresses::take_ipv6(tx, &vsw, &eni.id, &addrs, count.unwrap_or(0), false)?
                    } else {
                        Vec::new()
                    };
                    let ipv6_prefixes = if p > 0 {
                        addresses::take_ipv6(
                            tx,
                            &vsw,
                            &eni.id,
                            &prefixes,
                            prefix_count.unwrap_or(0),
                            true,
                        )?
                    } else {
                        Vec::new()
                    };
                    Ok(AssignedV6 {
                        eni_id: eni.id,
                        ipv6,
                        ipv6_prefixes,
                    })
                },
            )
        })
        .map_err(Into::into)
    }

    /// UnassignIpv6Addresses.
    pub fn unassign_ipv6(
        &self,
        caller: &Caller,
        region: &str,
        eni_id: &str,
        addrs: Vec<String>,
        prefixes: Vec<String>,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        if addrs.is_empty() && prefixes.is_empty() {
            return Err(ApiError::missing("Ipv6Address.1"));
        }
        let parsed = addresses::parse_v6(&addrs)?;
        let mut wanted: Vec<(String, bool)> =
            parsed.iter().map(|a| (a.to_string(), false)).collect();
        for p in &prefixes {
            let c: eni_ipam::Ipv6Cidr = p
                .parse()
                .map_err(|_| ApiError::Ipv6AddressInvalid { ip: p.clone() })?;
            wanted.push((c.to_string(), true));
        }
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let eni = self.eni_for_address_change(tx, caller, region, eni_id)?;
            for (addr, is_prefix) in &wanted {
                match tx.ipv6_get(&eni.vswitch_id, addr)? {
                    Some(e) if e.owner == eni.id.as_str() && e.is_prefix == *is_prefix => {
                        tx.ipv6_delete(&eni.vswitch_id, addr)?;
                    }
                    _ => return Err(ApiError::IpUnassigned { ip: addr.clone() }.into()),
                }
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// ModifyNetworkInterfaceAttribute. `SecurityGroupId.N` replaces the whole set.
    pub fn modify_network_interface(
        &self,
        caller: &Caller,
        req: ModifyEni,
    ) -> Result<(), ApiError> {
        self.check_region(&req.region)?;
        if let Some(n) = &req.name {
            check_eni_name(n)?;
        }
        if let Some(d) = &req.description {
            check_eni_description(d, 255)?;
        }
        if let Some(q) = req.queue_number {
            if !(1..=2048).contains(&q) {
                return Err(ApiError::invalid_param_because(
                    "QueueNumber",
                    "must be 1 to 2048",
                ));
            }
        }
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut eni = Self::eni_in(tx, caller, &req.region, &req.eni_id)?;
            if eni.status != "Available" && eni.status != "InUse" {
                return Err(ApiError::InvalidEniState {
                    detail: format!("The ENI is {}.", eni.status),
                }
                .into());
            }
            if !req.security_group_ids.is_empty() {
                eni.security_group_ids =
                    check_groups(tx, caller, &eni.vpc_id, &req.security_group_ids)?;
            }
            if let Some(n) = &req.name {
                eni.name = n.clone();
            }
            if let Some(d) = &req.description {
                eni.description = d.clone();
            }
            if let Some(d) = req.delete_on_release {
                eni.delete_on_release = d;
            }
            if let Some(s) = req.source_dest_check {
                eni.source_dest_check = s;
            }
            if let Some(q) = req.queue_number {
                // Queues change only while nothing runs on them.
                if eni.status == "InUse" {
                    let running = match &eni.instance_id {
                        Some(i) => tx
                            .instance_get(caller.account, i)?
                            .is_some_and(|i| effective_instance(i, t).status != "Stopped"),
                        None => false,
                    };
                    if running {
                        return Err(ApiError::InvalidEcsState {
                            detail: "QueueNumber changes need the instance Stopped.".into(),
                        }
                        .into());
                    }
                }
                eni.queue_number = q;
            }
            tx.eni_update(&eni)?;
            Ok(())
        })
        .map_err(Into::into)
    }

    /// Runs `f` in a read transaction that sees every transition due at `t` settled (for reads
    /// that filter status as stored). Nearly always nothing is due: the due probe is then the
    /// transaction's first statement and `f` runs in the same transaction, where a settle of
    /// its own would cost a transaction more (three round trips on PostgreSQL). Otherwise
    /// what is due is settled first (a failure, a full disk say, must not stop reads) and `f`
    /// reads after it.
    pub(crate) fn read_settled<T, E>(
        &self,
        t: i64,
        mut f: impl FnMut(&mut dyn Tx) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let settled = with_read(self.store(), |tx| -> Result<Option<T>, E> {
            if tx.due_any(t)? {
                return Ok(None);
            }
            f(tx).map(Some)
        })?;
        if let Some(v) = settled {
            return Ok(v);
        }
        let _ = self.write(|tx| settle_due(tx, t));
        with_read(self.store(), f)
    }

    /// Persists every due transition; the server calls this periodically.
    pub fn settle(&self) -> Result<(), ApiError> {
        let t = now_ms();
        // A read first, so an idle server does not take the write lock ten times a second.
        let due = with_read(self.store(), |tx| -> Result<bool, StoreError> {
            tx.due_any(t)
        })
        .map_err(internal)?;
        if !due {
            return Ok(());
        }
        self.write(|tx| settle_due(tx, t)).map_err(Into::into)
    }
}

/// Instance lookups used by the ENI calls.
impl Core {
    /// The caller's instance in `region`, settled, or `missing`.
    pub(crate) fn instance_in(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        region: &str,
        id: &str,
        missing: ApiError,
    ) -> Result<Instance, CoreError> {
        let Ok(id) = id.parse::<InstanceId>() else {
            return Err(missing.into());
        };
        match tx.instance_get(caller.account, &id)? {
            Some(i) if i.region_id == region => Ok(i),
            _ => Err(missing.into()),
        }
    }

    /// Whether the instance can take a secondary ENI at all: a VPC instance of an I/O
    /// optimized type, Running or Stopped (Stopped only, for a few burstable types).
    pub(crate) fn check_can_take_eni(
        &self,
        inst: &Instance,
    ) -> Result<&crate::catalog::InstanceType, CoreError> {
        let ty = self
            .catalog()
            .instance_type(&inst.instance_type)
            .ok_or(ApiError::InternalError)?;
        if inst.vpc_id.is_none() {
            return Err(ApiError::ClassicNetworkNotSupported.into());
        }
        if !ty.io_optimized {
            return Err(ApiError::InstanceTypeNotSupported {
                message: format!(
                    "The instance type {} is not I/O optimized and cannot take secondary ENIs.",
                    ty.instance_type_id
                ),
            }
            .into());
        }
        match inst.status.as_str() {
            "Stopped" => {}
            "Running" if !ty.attach_requires_stopped => {}
            "Running" => {
                return Err(ApiError::InvalidEcsState {
                    detail: format!(
                        "Instances of type {} take ENIs only while Stopped.",
                        ty.instance_type_id
                    ),
                }
                .into())
            }
            other => {
                return Err(ApiError::InvalidEcsState {
                    detail: format!("The instance is {other}."),
                }
                .into())
            }
        }
        Ok(ty)
    }
}
