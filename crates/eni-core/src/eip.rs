//! Elastic IP addresses (VPC 2016-04-28): AllocateEipAddress, AssociateEipAddress,
//! UnassociateEipAddress, ReleaseEipAddress and DescribeEipAddresses.
//!
//! An EIP is a public IPv4 address drawn from the server's pool (`CoreConfig::eip_pool`),
//! unique across all accounts (the schema's `eip_ip_unique`). An account holds at most
//! `CoreConfig::eip_quota` EIPs per region, in any state (`QuotaExceeded.Eip`); a pool with no
//! free address left is `OperationFailed.InsufficientEIP`, Alibaba's code for its stock
//! running out. The pool's free addresses are a free list of ranges in the store
//! (`ipam::EipPool`), taken and returned in O(log n). The list is seeded from the EIPs held
//! when the configured pool has none (the first allocation, or the first after the pool
//! changed); addresses held outside a new pool stay valid until released, and are then
//! forgotten.
//!
//! An EIP maps to one private IPv4 address of an ENI: named directly
//! (`InstanceType=NetworkInterface`, any of the ENI's primary and secondary addresses), or
//! through an ECS instance (`EcsInstance`, the default), which means its primary ENI's primary
//! address. A private address takes one EIP (`eip_private_ip_unique`). Association is
//! asynchronous like an attach: `Available → Associating → InUse`, and back through
//! `Unassociating`, each completing after the transition delay, or, with a data plane, when an
//! agent reports the EIP in place (or gone); at once when the ENI is attached nowhere, since
//! no host has anything to do.
//!
//! Three modes (docs/eip-binding-modes.md): `NAT` (the router translates), `BINDED` (the EIP
//! on a detached secondary ENI's NIC in place of its only private address) and
//! `MULTI_BINDED` (up to ten EIPs on such a NIC, each standing for one of its private
//! addresses, which keep working). The mode is the EIP's (`Eip::mode`); Alibaba's rules for
//! which ENI takes which mode are [`binding_address`]'s, shared by AssociateEipAddress and
//! ModifyEipForwardMode.
//!
//! Releasing the private address (UnassignPrivateIpAddresses, deleting the ENI or its
//! instance) unbinds the EIP, which stays with its account, Available: the store does it with
//! the address, so no path can leave a binding behind. DeleteNetworkInterface unbinds at
//! once rather than when the deletion completes.

use crate::default_resource_group;
use crate::idempotency::{check_token, once};
use crate::ipam::{self, EipPool, FreeList};
use crate::query::{page_of, Page, Start, TokenPage};
use crate::transitions::{effective_eip, effective_instance, settle_due};
use crate::{internal, now, now_ms, Caller, Core, CoreError};
use eni_store::{constraints, EipBinding, EipFilter, Eni, EniQuery, IpKind, StoreError, Tags, Tx};
use eni_types::hoststate::EipMode;
use eni_types::ids::{EipId, EniId, InstanceId, ResourceGroupId};
use eni_types::ApiError;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The EIP row, as the API layer renders it.
pub use eni_store::Eip;

/// Line types AllocateEipAddress accepts for `ISP`.
const ISPS: &[&str] = &[
    "BGP",
    "BGP_PRO",
    "ChinaTelecom",
    "ChinaUnicom",
    "ChinaMobile",
    "ChinaTelecom_L2",
    "ChinaUnicom_L2",
    "ChinaMobile_L2",
    "BGP_FinanceCloud",
];

/// AllocateEipAddress. Also the digest of a ClientToken replay.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AllocateEip {
    pub region: String,
    /// Mbit/s, as the string the SDKs send; "5" when absent.
    pub bandwidth: Option<String>,
    pub internet_charge_type: Option<String>,
    pub instance_charge_type: Option<String>,
    pub isp: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Tags,
    #[serde(skip)]
    pub client_token: Option<String>,
}

/// The answer of AllocateEipAddress (recorded whole for a ClientToken replay).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Allocated {
    pub allocation_id: EipId,
    pub eip_address: Ipv4Addr,
    pub resource_group_id: ResourceGroupId,
}

/// AssociateEipAddress. Also the digest of a ClientToken replay.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AssociateEip {
    pub region: String,
    pub allocation_id: String,
    pub instance_id: String,
    /// `EcsInstance` when absent.
    pub instance_type: Option<String>,
    /// The ENI's primary IP when absent.
    pub private_ip: Option<String>,
    /// `NAT` when absent.
    pub mode: Option<String>,
    #[serde(skip)]
    pub client_token: Option<String>,
}

/// UnassociateEipAddress. The optional fields, when given, must describe the association.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UnassociateEip {
    pub region: String,
    pub allocation_id: String,
    pub instance_id: Option<String>,
    pub instance_type: Option<String>,
    pub private_ip: Option<String>,
    #[serde(skip)]
    pub client_token: Option<String>,
}

/// DescribeEipAddresses filters and paging.
#[derive(Debug, Clone, Default)]
pub struct DescribeEips {
    pub region: String,
    /// `AllocationId`, comma-separated, at most 50.
    pub allocation_ids: Vec<String>,
    /// `EipAddress`, comma-separated, at most 50.
    pub addresses: Vec<String>,
    pub associated_instance_id: Option<String>,
    pub associated_instance_type: Option<String>,
    pub status: Option<String>,
    pub name: Option<String>,
    pub isp: Option<String>,
    pub charge_type: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Tags,
    pub page: Page,
}

/// What AssociateEipAddress binds to, read from `InstanceType`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Instance,
    Eni,
}

impl Target {
    fn parse(v: Option<&str>) -> Result<Self, ApiError> {
        match v {
            None | Some("EcsInstance") => Ok(Target::Instance),
            Some("NetworkInterface") => Ok(Target::Eni),
            Some(other) => Err(ApiError::InstanceTypeNotSupported {
                message: format!(
                    "The specified value of InstanceType is not supported: {other}. This server \
                     associates EIPs with EcsInstance and NetworkInterface only."
                ),
            }),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Target::Instance => "EcsInstance",
            Target::Eni => "NetworkInterface",
        }
    }
}

/// `Mode`: NAT when absent (AssociateEipAddress's documented default).
fn parse_mode(mode: Option<&str>) -> Result<EipMode, ApiError> {
    match mode {
        None => Ok(EipMode::Nat),
        Some(m) => EipMode::parse(m).ok_or_else(|| ApiError::EipModeIllegal { mode: m.into() }),
    }
}

/// At most this many EIPs in MULTI_BINDED mode on one ENI (Alibaba's "一个辅助弹性网卡支持绑定
/// 10个EIP").
pub const MULTI_BINDED_PER_ENI: usize = 10;

/// The private address an EIP in `mode` takes on `eni` (reached through `target`), by
/// Alibaba's rules for the mode (docs/eip-binding-modes.md, in its order): visible modes only
/// on a detached secondary ENI; one mode per ENI; BINDED alone on an ENI with no secondary
/// address, in place of its primary; MULTI_BINDED at most ten, each on an address of its own.
/// `wanted` is the caller's `PrivateIpAddress`. The EIP's own current binding (a mode change)
/// is not counted among the ENI's others.
fn binding_address(
    tx: &mut dyn Tx,
    eni: &Eni,
    target: Target,
    mode: EipMode,
    eip: &Eip,
    wanted: Option<Ipv4Addr>,
) -> Result<u32, CoreError> {
    if mode.visible() {
        if target != Target::Eni || eni.eni_type != "Secondary" {
            return Err(ApiError::DirectEipBindType {
                detail: format!(
                    "{} binds a secondary ENI (InstanceType NetworkInterface) only.",
                    mode.as_str()
                ),
            }
            .into());
        }
        if mode == EipMode::Binded && eip.instance_charge_type == "PrePaid" {
            return Err(ApiError::PrePaidBindedEip.into());
        }
        match eni.status.as_str() {
            "Available" => {}
            "InUse" => {
                return Err(ApiError::EniAttachedForDirectEip {
                    detail: format!(
                        "{} is attached to {}; detach it first.",
                        eni.id,
                        eni.instance_id.as_ref().map_or("", |i| i.as_str())
                    ),
                }
                .into())
            }
            other => {
                return Err(ApiError::EniStatusNotSupport {
                    detail: format!("{} is {other}.", eni.id),
                }
                .into())
            }
        }
    }
    let others: Vec<Eip> = tx
        .eips_of_eni(&eni.id)?
        .into_iter()
        .filter(|e| e.id != eip.id)
        .collect();
    for o in &others {
        let theirs = EipMode::parse(&o.mode).unwrap_or_default();
        if theirs == mode {
            continue;
        }
        let detail = format!("{} holds {} in {} mode.", eni.id, o.id, theirs.as_str());
        return Err(match (theirs, mode) {
            (EipMode::Nat, EipMode::MultiBinded) | (EipMode::MultiBinded, EipMode::Nat) => {
                ApiError::EipBindModeConflict { detail }
            }
            _ => ApiError::EipModeConflict { detail },
        }
        .into());
    }
    // The ENI's own addresses, primary first: its primary and secondary IPs (not the
    // addresses of its /28 prefixes).
    let rows = tx.private_ips_of(eni.id.as_str())?;
    let mut held: Vec<u32> = rows
        .iter()
        .filter(|p| p.kind == IpKind::Primary)
        .map(|p| p.ip)
        .collect();
    held.extend(
        rows.iter()
            .filter(|p| p.kind == IpKind::Secondary)
            .map(|p| p.ip),
    );
    let not_held = |ip: Ipv4Addr| -> CoreError {
        ApiError::EipPrivateIpNotExist {
            detail: format!("{ip} is not a private IP address of {}.", eni.id),
        }
        .into()
    };
    match mode {
        EipMode::Binded => {
            if rows.iter().any(|p| p.kind != IpKind::Primary) {
                return Err(ApiError::EniHasSubIp {
                    detail: format!(
                        "{} has secondary private IPs or IPv4 prefixes; BINDED needs an ENI with \
                         its primary address only.",
                        eni.id
                    ),
                }
                .into());
            }
            if let Some(o) = others.first() {
                return Err(ApiError::EipAssociationDuplicated {
                    detail: format!("{} already holds {} in BINDED mode.", eni.id, o.id),
                }
                .into());
            }
            match wanted {
                Some(ip) if u32::from(ip) != eni.primary_ip => Err(not_held(ip)),
                _ => Ok(eni.primary_ip),
            }
        }
        EipMode::MultiBinded => {
            if others.len() >= MULTI_BINDED_PER_ENI {
                return Err(ApiError::MultiBindedEipQuota {
                    limit: MULTI_BINDED_PER_ENI as u32,
                }
                .into());
            }
            match wanted {
                Some(ip) if held.contains(&u32::from(ip)) => Ok(u32::from(ip)),
                Some(ip) => Err(not_held(ip)),
                None => {
                    let taken: Vec<u32> = others
                        .iter()
                        .filter_map(|o| o.binding.as_ref().map(|b| b.private_ip))
                        .collect();
                    held.into_iter()
                        .find(|ip| !taken.contains(ip))
                        .ok_or_else(|| {
                            ApiError::EniEipQuotaExceeded {
                                detail: format!(
                                    "Every private IP of {} has an EIP; assign another first.",
                                    eni.id
                                ),
                            }
                            .into()
                        })
                }
            }
        }
        EipMode::Nat => match wanted {
            None => Ok(eni.primary_ip),
            Some(ip) if held.contains(&u32::from(ip)) => Ok(u32::from(ip)),
            Some(ip) => Err(not_held(ip)),
        },
    }
}

fn parse_private_ip(v: Option<&str>) -> Result<Option<Ipv4Addr>, ApiError> {
    v.map(|s| {
        s.trim()
            .parse::<Ipv4Addr>()
            .map_err(|_| ApiError::invalid_param("PrivateIpAddress"))
    })
    .transpose()
}

/// A name (≤128) or description (≤256): any text that does not start with a URL scheme.
fn check_text(name: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max || value.starts_with("http://") || value.starts_with("https://")
    {
        return Err(ApiError::invalid_param_because(
            name,
            format!("0 to {max} characters, not starting with http:// or https://"),
        ));
    }
    Ok(())
}

/// The addresses of the pool that EIPs may take: all of it but, for blocks of four
/// addresses or more, its first and last, which look like network and broadcast addresses
/// to anything that routes the pool as one block.
fn pool_range(pool: &eni_ipam::Ipv4Cidr) -> (u32, u32) {
    if pool.prefix() <= 30 {
        (pool.first_u32() + 1, pool.last_u32() - 1)
    } else {
        (pool.first_u32(), pool.last_u32())
    }
}

/// The free list of `pool` (its CIDR text `key`), seeded first if the store keeps none for
/// it: on first use, and after the pool changed (which drops the old pool's list). Seeding
/// reads the held addresses of the pool once; every later call is one indexed lookup.
fn pool_free_list<'k>(
    tx: &mut dyn Tx,
    pool: &eni_ipam::Ipv4Cidr,
    key: &'k str,
) -> Result<EipPool<'k>, CoreError> {
    let list = EipPool(key);
    if !tx.eip_pool_exists(key)? {
        let (lo, hi) = pool_range(pool);
        tx.eip_pool_reset(key)?;
        let held = tx.eip_ips_in(lo, hi)?;
        ipam::seed(tx, &list, lo, hi, &held)?;
    }
    Ok(list)
}

/// Whether a data plane holds `eni` (settled): attached or being attached or detached.
fn attached(eni: &Eni) -> bool {
    matches!(eni.status.as_str(), "Attaching" | "InUse" | "Detaching")
}

/// Unbinds every EIP of `eni` at once (the ENI is going away).
pub(crate) fn unbind_eips_of_eni(tx: &mut dyn Tx, eni: &EniId) -> Result<(), StoreError> {
    for mut eip in tx.eips_of_eni(eni)? {
        eip.status = "Available".into();
        eip.due_at = None;
        eip.binding = None;
        tx.eip_update(&eip)?;
    }
    Ok(())
}

impl Core {
    /// The caller's EIP in `region`, or `InvalidAllocationId.NotFound`.
    fn eip_in(tx: &mut dyn Tx, caller: &Caller, region: &str, id: &str) -> Result<Eip, CoreError> {
        let id: EipId = id.parse().map_err(|_| ApiError::EipNotFound)?;
        match tx.eip_get(caller.account, &id)? {
            Some(e) if e.region_id == region => Ok(e),
            _ => Err(ApiError::EipNotFound.into()),
        }
    }

    /// ModifyEipAddressAttribute: the name, the description and the bandwidth (each kept
    /// when not given), the bandwidth within the limit of the EIP's billing.
    pub fn modify_eip_attribute(
        &self,
        caller: &Caller,
        region: &str,
        allocation_id: &str,
        name: Option<&str>,
        description: Option<&str>,
        bandwidth: Option<&str>,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        if let Some(n) = name {
            check_text("Name", n, 128)?;
        }
        if let Some(d) = description {
            check_text("Description", d, 256)?;
        }
        self.write(|tx| -> Result<(), CoreError> {
            let mut eip = Self::eip_in(tx, caller, region, allocation_id)?;
            if let Some(b) = bandwidth {
                let max = match (
                    eip.instance_charge_type.as_str(),
                    eip.internet_charge_type.as_str(),
                ) {
                    ("PrePaid", _) => 1000,
                    (_, "PayByBandwidth") => 500,
                    _ => 200,
                };
                eip.bandwidth = b
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|b| (1..=max).contains(b))
                    .ok_or_else(|| ApiError::InvalidParameter {
                        message: format!(
                            "Specified value of \"Bandwidth\" is not valid: 1 to {max} Mbit/s for \
                             {} {}.",
                            eip.instance_charge_type, eip.internet_charge_type
                        ),
                    })?;
            }
            if let Some(n) = name {
                eip.name = n.to_string();
            }
            if let Some(d) = description {
                eip.description = d.to_string();
            }
            tx.eip_update(&eip)?;
            Ok(())
        })
        .map_err(Into::into)
    }

    /// AllocateEipAddress: the lowest free address of the pool, within the account's quota.
    pub fn allocate_eip(&self, caller: &Caller, req: AllocateEip) -> Result<Allocated, ApiError> {
        self.check_region(&req.region)?;
        if let Some(t) = &req.client_token {
            check_token(t)?;
        }
        let instance_charge = match req.instance_charge_type.as_deref() {
            None | Some("PostPaid") => "PostPaid",
            Some("PrePaid") => "PrePaid",
            Some(_) => {
                return Err(ApiError::invalid_param_because(
                    "InstanceChargeType",
                    "PostPaid or PrePaid",
                ))
            }
        };
        let bad_charge = || ApiError::InvalidParameter {
            message: "Specified value of \"InternetChargeType\" is not valid".into(),
        };
        // The SDK's current docstring: PayByBandwidth is the default.
        let internet_charge = match req.internet_charge_type.as_deref() {
            None | Some("PayByBandwidth") => "PayByBandwidth",
            Some("PayByTraffic") if instance_charge == "PostPaid" => "PayByTraffic",
            Some(_) => return Err(bad_charge()),
        };
        let max_bandwidth = match (instance_charge, internet_charge) {
            ("PrePaid", _) => 1000,
            (_, "PayByBandwidth") => 500,
            _ => 200,
        };
        let bandwidth = match req.bandwidth.as_deref() {
            None => 5,
            Some(b) => b
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|b| (1..=max_bandwidth).contains(b))
                .ok_or_else(|| ApiError::InvalidParameter {
                    message: format!(
                        "Specified value of \"Bandwidth\" is not valid: 1 to {max_bandwidth} \
                         Mbit/s for {instance_charge} {internet_charge}."
                    ),
                })?,
        };
        let isp = match req.isp.as_deref() {
            None => "BGP",
            Some(i) if ISPS.contains(&i) => i,
            Some(_) => {
                return Err(ApiError::invalid_param_because(
                    "ISP",
                    "BGP, BGP_PRO or a single-ISP line type",
                ))
            }
        };
        if let Some(n) = &req.name {
            check_text("Name", n, 128)?;
        }
        if let Some(d) = &req.description {
            check_text("Description", d, 256)?;
        }
        let rg = match &req.resource_group_id {
            Some(r) => r
                .parse::<ResourceGroupId>()
                .map_err(|_| ApiError::invalid_param("ResourceGroupId"))?,
            None => default_resource_group(caller),
        };
        let pool = self.config().eip_pool;
        let pool_key = pool.to_string();
        let quota = self.config().eip_quota;
        let (t, t_ms) = (now(), now_ms());
        self.write(|tx| {
            settle_due(tx, t_ms)?;
            once(
                tx,
                caller.account,
                "AllocateEipAddress",
                req.client_token.as_deref(),
                &req,
                t,
                |tx| {
                    // Counted in the transaction that inserts: no two allocations can both
                    // take the last unit of quota.
                    if tx.eip_count(caller.account, &req.region)? >= quota {
                        return Err(ApiError::EipQuotaExceeded { limit: quota }.into());
                    }
                    let free = pool_free_list(tx, &pool, &pool_key)?;
                    // One writer at a time: the address taken from the free list is free.
                    // The unique constraint stays the arbiter for a backend where that does
                    // not hold: a lost race leaves the address out of the list (someone
                    // holds it) and takes the next.
                    for _ in 0..3 {
                        let ip = ipam::take_any(tx, &free)?.ok_or_else(|| {
                            ApiError::EipPoolExhausted {
                                pool: pool_key.clone(),
                            }
                        })?;
                        let eip = Eip {
                            id: EipId::generate(&req.region),
                            account_id: caller.account,
                            region_id: req.region.clone(),
                            ip,
                            bandwidth,
                            internet_charge_type: internet_charge.into(),
                            instance_charge_type: instance_charge.into(),
                            isp: isp.into(),
                            name: req.name.clone().unwrap_or_default(),
                            description: req.description.clone().unwrap_or_default(),
                            resource_group_id: rg.clone(),
                            tags: req.tags.clone(),
                            status: "Available".into(),
                            due_at: None,
                            binding: None,
                            created_at: t,
                            mode: EipMode::Nat.as_str().into(),
                        };
                        match tx.eip_insert(&eip) {
                            Ok(()) => {
                                return Ok(Allocated {
                                    allocation_id: eip.id,
                                    eip_address: Ipv4Addr::from(ip),
                                    resource_group_id: rg.clone(),
                                })
                            }
                            Err(e) if e.is_conflict_on(constraints::EIP_ADDRESS_UNIQUE) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Err(ApiError::ServiceUnavailable.into())
                },
            )
        })
        .map_err(Into::into)
    }

    /// The ENI whose address an association takes: the named ENI, or an instance's primary ENI.
    fn association_target(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        eip: &Eip,
        target: Target,
        id: &str,
        t: i64,
    ) -> Result<Eni, CoreError> {
        match target {
            Target::Eni => {
                let id: EniId = id.parse().map_err(|_| ApiError::EipInstanceNotFound)?;
                let eni = tx
                    .eni_get(caller.account, &id)?
                    .ok_or(ApiError::EipInstanceNotFound)?;
                if eni.region_id != eip.region_id {
                    return Err(ApiError::EipRegionMismatch.into());
                }
                if eni.status == "Deleting" {
                    return Err(ApiError::EipIncorrectInstanceStatus {
                        detail: "The ENI is being deleted.".into(),
                    }
                    .into());
                }
                Ok(eni)
            }
            Target::Instance => {
                let id: InstanceId = id.parse().map_err(|_| ApiError::EipInstanceNotFound)?;
                let inst = tx
                    .instance_get(caller.account, &id)?
                    .ok_or(ApiError::EipInstanceNotFound)?;
                let inst = effective_instance(inst, t);
                if inst.region_id != eip.region_id {
                    return Err(ApiError::EipRegionMismatch.into());
                }
                if inst.vpc_id.is_none() {
                    return Err(ApiError::EipInstanceNotInVpc.into());
                }
                if inst.status != "Running" && inst.status != "Stopped" {
                    return Err(ApiError::EipIncorrectInstanceStatus {
                        detail: format!("The instance is {}.", inst.status),
                    }
                    .into());
                }
                let primary = tx
                    .eni_list(
                        caller.account,
                        &inst.region_id,
                        &EniQuery {
                            instance_id: Some(inst.id.clone()),
                            eni_type: Some("Primary".into()),
                            ..Default::default()
                        },
                    )?
                    .into_iter()
                    .next()
                    .ok_or(ApiError::InternalError)?;
                Ok(primary)
            }
        }
    }

    /// AssociateEipAddress: `Available → Associating → InUse`.
    pub fn associate_eip(&self, caller: &Caller, req: AssociateEip) -> Result<(), ApiError> {
        self.check_region(&req.region)?;
        if let Some(t) = &req.client_token {
            check_token(t)?;
        }
        let mode = parse_mode(req.mode.as_deref())?;
        let target = Target::parse(req.instance_type.as_deref())?;
        let wanted_ip = parse_private_ip(req.private_ip.as_deref())?;
        let (t, t_ms) = (now(), now_ms());
        let completion = self.transition_completion(t_ms);
        self.write(|tx| {
            settle_due(tx, t_ms)?;
            once(
                tx,
                caller.account,
                "AssociateEipAddress",
                req.client_token.as_deref(),
                &req,
                t,
                |tx| {
                    let mut eip = Self::eip_in(tx, caller, &req.region, &req.allocation_id)?;
                    if eip.status != "Available" {
                        return Err(ApiError::IncorrectEipStatus {
                            detail: format!(
                                "Expecting status \"Available\" while current status is \"{}\".",
                                eip.status
                            ),
                        }
                        .into());
                    }
                    let eni =
                        self.association_target(tx, caller, &eip, target, &req.instance_id, t_ms)?;
                    let private_ip = binding_address(tx, &eni, target, mode, &eip, wanted_ip)?;
                    eip.binding = Some(EipBinding {
                        instance_id: req.instance_id.clone(),
                        instance_type: target.as_str().into(),
                        eni_id: eni.id.clone(),
                        vpc_id: eni.vpc_id.clone(),
                        vswitch_id: eni.vswitch_id.clone(),
                        private_ip,
                    });
                    eip.mode = mode.as_str().into();
                    // An ENI attached nowhere has nothing on any host to wait for.
                    let completion = match completion {
                        Err(()) if !attached(&eni) => Ok(None),
                        other => other,
                    };
                    match completion {
                        Ok(None) => eip.status = "InUse".into(),
                        // After the delay, or (no due time) on the agent's report.
                        pending => {
                            eip.status = "Associating".into();
                            eip.due_at = pending.ok().flatten();
                        }
                    }
                    match tx.eip_update(&eip) {
                        Err(e) if e.is_conflict_on(constraints::EIP_PRIVATE_IP_UNIQUE) => {
                            Err(ApiError::EipAssociationDuplicated {
                                detail: format!(
                                    "The private IP {} of {} already has an EIP.",
                                    Ipv4Addr::from(private_ip),
                                    eni.id
                                ),
                            }
                            .into())
                        }
                        other => Ok(other?),
                    }
                },
            )
        })
        .map_err(Into::into)
    }

    /// UnassociateEipAddress: `InUse → Unassociating → Available`.
    pub fn unassociate_eip(&self, caller: &Caller, req: UnassociateEip) -> Result<(), ApiError> {
        self.check_region(&req.region)?;
        if let Some(t) = &req.client_token {
            check_token(t)?;
        }
        let target = req
            .instance_type
            .as_deref()
            .map(|v| Target::parse(Some(v)))
            .transpose()?;
        let wanted_ip = parse_private_ip(req.private_ip.as_deref())?;
        let (t, t_ms) = (now(), now_ms());
        let completion = self.transition_completion(t_ms);
        self.write(|tx| {
            settle_due(tx, t_ms)?;
            once(
                tx,
                caller.account,
                "UnassociateEipAddress",
                req.client_token.as_deref(),
                &req,
                t,
                |tx| {
                    let mut eip = Self::eip_in(tx, caller, &req.region, &req.allocation_id)?;
                    let binding = match (eip.status.as_str(), &eip.binding) {
                        ("InUse", Some(b)) => b,
                        ("Available", _) => {
                            return Err(ApiError::EipBindingStatusInvalid {
                                detail: "The EIP is not associated.".into(),
                            }
                            .into())
                        }
                        (other, _) => {
                            return Err(ApiError::IncorrectEipStatus {
                                detail: format!(
                                "Expecting status \"InUse\" while current status is \"{other}\"."
                            ),
                            }
                            .into())
                        }
                    };
                    // What the caller names must be the association (each part optional).
                    let mismatch = target.is_some_and(|t| t.as_str() != binding.instance_type)
                        || req
                            .instance_id
                            .as_ref()
                            .is_some_and(|i| i != &binding.instance_id)
                        || wanted_ip.is_some_and(|ip| u32::from(ip) != binding.private_ip);
                    if mismatch {
                        return Err(ApiError::EipBindingStatusInvalid {
                            detail: format!(
                                "The EIP is associated with {} {} ({}).",
                                binding.instance_type,
                                binding.instance_id,
                                Ipv4Addr::from(binding.private_ip)
                            ),
                        }
                        .into());
                    }
                    let eni = tx.eni_get(eip.account_id, &binding.eni_id)?;
                    // A visible EIP is on the NIC: it comes off only with the ENI detached.
                    if let Some(eni) = eni.as_ref().filter(|e| e.status != "Available") {
                        if EipMode::parse(&eip.mode).is_some_and(EipMode::visible) {
                            return Err(ApiError::EniAttachedForDirectEip {
                                detail: format!(
                                    "{} is {}: the EIP is on its NIC in {} mode; detach the \
                                     ENI first.",
                                    eni.id, eni.status, eip.mode
                                ),
                            }
                            .into());
                        }
                    }
                    let detached = eni.is_none_or(|e| !attached(&e));
                    let completion = match completion {
                        Err(()) if detached => Ok(None),
                        other => other,
                    };
                    match completion {
                        Ok(None) => {
                            eip.status = "Available".into();
                            eip.binding = None;
                        }
                        pending => {
                            eip.status = "Unassociating".into();
                            eip.due_at = pending.ok().flatten();
                        }
                    }
                    tx.eip_update(&eip)?;
                    Ok(())
                },
            )
        })
        .map_err(Into::into)
    }

    /// ModifyEipForwardMode: the mode of an EIP (`allocation_id`), unbound or bound to a
    /// detached ENI; a bound EIP must meet the new mode's rules on its ENI, where it may move
    /// to another of the ENI's addresses (MULTI_BINDED takes the first free one, as an
    /// association would). Synchronous: nothing is on a host while the ENI is detached.
    pub fn modify_eip_forward_mode(
        &self,
        caller: &Caller,
        region: &str,
        allocation_id: &str,
        mode: &str,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        let mode =
            EipMode::parse(mode).ok_or_else(|| ApiError::EipModeIllegal { mode: mode.into() })?;
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut eip = Self::eip_in(tx, caller, region, allocation_id)?;
            if eip.status == "Associating" || eip.status == "Unassociating" {
                return Err(ApiError::EipInstanceStatusInvalid {
                    detail: format!("The EIP is {}.", eip.status),
                }
                .into());
            }
            if mode == EipMode::Binded && eip.instance_charge_type == "PrePaid" {
                return Err(ApiError::PrePaidBindedEip.into());
            }
            if let Some(b) = eip.binding.clone() {
                if b.instance_type != Target::Eni.as_str() {
                    return Err(ApiError::EipBindInstanceNotSupport.into());
                }
                let eni = tx
                    .eni_get(eip.account_id, &b.eni_id)?
                    .ok_or(ApiError::InternalError)?;
                if eni.status != "Available" {
                    return Err(ApiError::EniBindEcs {
                        detail: format!("{} is {}.", eni.id, eni.status),
                    }
                    .into());
                }
                // It keeps its address, but BINDED, which takes the primary.
                let wanted = Some(Ipv4Addr::from(b.private_ip)).filter(|_| mode != EipMode::Binded);
                let private_ip = binding_address(tx, &eni, Target::Eni, mode, &eip, wanted)?;
                if let Some(b) = eip.binding.as_mut() {
                    b.private_ip = private_ip;
                }
            }
            eip.mode = mode.as_str().into();
            match tx.eip_update(&eip) {
                Err(e) if e.is_conflict_on(constraints::EIP_PRIVATE_IP_UNIQUE) => {
                    Err(ApiError::EipAssociationDuplicated {
                        detail: "The ENI's primary IP already has an EIP.".into(),
                    }
                    .into())
                }
                other => Ok(other?),
            }
        })
        .map_err(Into::into)
    }

    /// DescribeEipGatewayInfo: the MULTI_BINDED EIPs of an ENI with what the guest configures
    /// them with: `IpGw` the vSwitch's gateway, `IpMask` a host mask (the agent puts each on
    /// the NIC as a /32 and reaches the gateway on-link).
    pub fn describe_eip_gateway_info(
        &self,
        caller: &Caller,
        region: &str,
        eni_id: &str,
    ) -> Result<Vec<(Ipv4Addr, Ipv4Addr, Ipv4Addr)>, ApiError> {
        self.check_region(region)?;
        let t = now_ms();
        self.read_settled(t, |tx| -> Result<_, CoreError> {
            let id: EniId = eni_id
                .parse()
                .map_err(|_| ApiError::EipGatewayEniNotFound)?;
            let eni = match tx.eni_get(caller.account, &id)? {
                Some(e) if e.region_id == region => e,
                _ => return Err(ApiError::EipGatewayEniNotFound.into()),
            };
            let gateway = tx
                .vswitch_get(caller.account, &eni.vswitch_id)?
                .and_then(|v| v.cidr_block.parse::<eni_ipam::Ipv4Cidr>().ok())
                .map(|c| c.gateway())
                .ok_or(ApiError::InternalError)?;
            let mut out = Vec::new();
            for e in tx.eips_of_eni(&eni.id)? {
                let e = effective_eip(e, t);
                if e.mode == EipMode::MultiBinded.as_str() && e.binding.is_some() {
                    out.push((Ipv4Addr::from(e.ip), gateway, Ipv4Addr::BROADCAST));
                }
            }
            Ok(out)
        })
        .map_err(Into::into)
    }

    /// ReleaseEipAddress: only an Available (unassociated) EIP. Its address returns to the
    /// pool's free list if it lies in the configured pool (and the list exists: otherwise
    /// seeding will find it free).
    pub fn release_eip(
        &self,
        caller: &Caller,
        region: &str,
        allocation_id: &str,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        let t = now_ms();
        let pool = self.config().eip_pool;
        let pool_key = pool.to_string();
        let (lo, hi) = pool_range(&pool);
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let eip = Self::eip_in(tx, caller, region, allocation_id)?;
            if eip.status != "Available" {
                return Err(ApiError::IncorrectEipStatus {
                    detail: format!(
                        "An EIP is released when Available (unassociated); it is {}.",
                        eip.status
                    ),
                }
                .into());
            }
            tx.eip_delete(caller.account, &eip.id)?;
            let free = EipPool(&pool_key);
            if (lo..=hi).contains(&eip.ip)
                && tx.eip_pool_exists(&pool_key)?
                && free.containing(tx, eip.ip)?.is_none()
            {
                ipam::release_range(tx, &free, eip.ip, eip.ip)?;
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// DescribeEipAddresses.
    pub fn describe_eips(
        &self,
        caller: &Caller,
        req: DescribeEips,
    ) -> Result<TokenPage<Eip>, ApiError> {
        self.check_region(&req.region)?;
        if req.allocation_ids.len() > 50 {
            return Err(ApiError::invalid_param_because(
                "AllocationId",
                "at most 50 IDs",
            ));
        }
        if req.addresses.len() > 50 {
            return Err(ApiError::invalid_param_because(
                "EipAddress",
                "at most 50 addresses",
            ));
        }
        let filter = eip_filter(&req);
        // Status and binding are filtered as stored: what is due is settled first (see the
        // ENI describe), and a row whose transition completed since is dropped.
        let t = now_ms();
        let (account, region) = (caller.account, req.region.as_str());
        self.read_settled(t, |tx| {
            page_of(
                tx,
                Start::Page(req.page),
                |tx| tx.eip_find_count(account, region, &filter),
                |tx, w| tx.eip_find(account, region, &filter, w),
                |e| {
                    let e = effective_eip(e, t);
                    let b = e.binding.as_ref();
                    let keep = req.status.as_ref().is_none_or(|s| s == &e.status)
                        && filter
                            .instance_id
                            .as_ref()
                            .is_none_or(|i| b.is_some_and(|b| &b.instance_id == i))
                        && filter
                            .instance_type
                            .as_ref()
                            .is_none_or(|ty| b.is_some_and(|b| &b.instance_type == ty));
                    keep.then_some(e)
                },
            )
        })
        .map_err(internal)
    }
}

/// The store filter of a DescribeEipAddresses request (an ID or address that does not parse
/// matches nothing).
fn eip_filter(req: &DescribeEips) -> EipFilter {
    let mut f = EipFilter {
        instance_id: req.associated_instance_id.clone(),
        instance_type: req.associated_instance_type.clone(),
        status: req.status.clone(),
        name: req.name.clone(),
        isp: req.isp.clone(),
        instance_charge_type: req.charge_type.clone(),
        resource_group_id: req.resource_group_id.clone(),
        tags: crate::query::tag_filter(&req.tags),
        ..EipFilter::default()
    };
    if !req.allocation_ids.is_empty() {
        f.ids = Some(
            req.allocation_ids
                .iter()
                .filter_map(|i| i.parse().ok())
                .collect(),
        );
    }
    if !req.addresses.is_empty() {
        f.ips = Some(
            req.addresses
                .iter()
                .filter_map(|a| a.parse::<Ipv4Addr>().ok().map(u32::from))
                .collect(),
        );
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, CoreConfig};
    use eni_store::with_write;
    use eni_store_sqlite::SqliteStore;
    use std::sync::Arc;

    const REGION: &str = "cn-hangzhou";

    fn ip(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap())
    }

    /// A core with `pool` over `store`, as a server started with `--eip-pool pool` would be.
    fn core(store: &Arc<SqliteStore>, pool: &str) -> Core {
        Core::new(
            store.clone(),
            Catalog::default(),
            CoreConfig {
                transition_delay_ms: 0,
                eip_pool: pool.parse().unwrap(),
                ..CoreConfig::default()
            },
        )
    }

    fn root(core: &Core) -> Caller {
        Caller {
            account: core
                .ensure_root(None)
                .unwrap()
                .key()
                .expect("a fresh store gets a root key")
                .account_id,
        }
    }

    fn allocate(core: &Core, caller: &Caller) -> Result<Allocated, ApiError> {
        core.allocate_eip(
            caller,
            AllocateEip {
                region: REGION.into(),
                ..Default::default()
            },
        )
    }

    fn addr(a: &Allocated) -> String {
        a.eip_address.to_string()
    }

    fn free_list(store: &SqliteStore, pool: &str) -> Vec<(u32, u32)> {
        eni_store::with_read(store, |tx| tx.eip_free_list(pool)).unwrap()
    }

    #[test]
    fn seeding_leaves_out_exactly_the_held_addresses() {
        let store = SqliteStore::open_in_memory().unwrap();
        let seeded = |lo: u32, hi: u32, held: &[u32]| {
            with_write(&store, |tx| -> Result<_, CoreError> {
                tx.eip_pool_reset("p")?;
                ipam::seed(tx, &EipPool("p"), lo, hi, held)?;
                Ok(tx.eip_free_list("p")?)
            })
            .unwrap()
        };
        assert_eq!(seeded(10, 20, &[]), vec![(10, 20)]);
        assert_eq!(seeded(10, 20, &[10, 11, 15, 20]), vec![(12, 14), (16, 19)]);
        assert_eq!(seeded(10, 20, &[12, 13]), vec![(10, 11), (14, 20)]);
        assert_eq!(seeded(10, 12, &[10, 11, 12]), Vec::new());
        assert_eq!(seeded(7, 7, &[]), vec![(7, 7)]);
        assert_eq!(seeded(7, 7, &[7]), Vec::new());
        assert_eq!(
            seeded(u32::MAX - 2, u32::MAX, &[u32::MAX - 1, u32::MAX]),
            vec![(u32::MAX - 2, u32::MAX - 2)]
        );
        assert_eq!(seeded(0, u32::MAX, &[0]), vec![(1, u32::MAX)]);
    }

    #[test]
    fn allocation_and_release_go_through_the_pool_free_list() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let pool = "203.0.113.0/29"; // .1 to .6 usable
        let c = core(&store, pool);
        let me = root(&c);
        assert_eq!(free_list(&store, pool), Vec::new(), "seeded on first use");
        let a = allocate(&c, &me).unwrap();
        let b = allocate(&c, &me).unwrap();
        assert_eq!(
            (addr(&a), addr(&b)),
            ("203.0.113.1".into(), "203.0.113.2".into())
        );
        assert_eq!(
            free_list(&store, pool),
            vec![(ip("203.0.113.3"), ip("203.0.113.6"))]
        );
        c.release_eip(&me, REGION, a.allocation_id.as_str())
            .unwrap();
        assert_eq!(
            free_list(&store, pool),
            vec![
                (ip("203.0.113.1"), ip("203.0.113.1")),
                (ip("203.0.113.3"), ip("203.0.113.6"))
            ]
        );
        // Releasing the address between two free ranges merges all three.
        c.release_eip(&me, REGION, b.allocation_id.as_str())
            .unwrap();
        assert_eq!(
            free_list(&store, pool),
            vec![(ip("203.0.113.1"), ip("203.0.113.6"))]
        );
    }

    #[test]
    fn a_changed_pool_is_seeded_from_the_held_addresses_and_old_ones_stay_until_released() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let first = core(&store, "203.0.113.0/29");
        let me = root(&first);
        let held: Vec<Allocated> = (0..3).map(|_| allocate(&first, &me).unwrap()).collect();
        // Restarted with a larger pool holding the first: the held addresses are skipped.
        let larger = core(&store, "203.0.113.0/28");
        assert_eq!(addr(&allocate(&larger, &me).unwrap()), "203.0.113.4");
        assert_eq!(
            free_list(&store, "203.0.113.0/29"),
            Vec::new(),
            "the old list is gone"
        );
        larger
            .release_eip(&me, REGION, held[1].allocation_id.as_str())
            .unwrap();
        assert_eq!(addr(&allocate(&larger, &me).unwrap()), "203.0.113.2");
        // Restarted with a pool elsewhere: the old addresses stay valid and describable...
        let elsewhere = core(&store, "198.51.100.0/30");
        assert_eq!(addr(&allocate(&elsewhere, &me).unwrap()), "198.51.100.1");
        let old = elsewhere
            .describe_eips(
                &me,
                DescribeEips {
                    region: REGION.into(),
                    allocation_ids: vec![held[0].allocation_id.to_string()],
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(old.items.len(), 1);
        // ...and released, they do not join the new pool's list.
        elsewhere
            .release_eip(&me, REGION, held[0].allocation_id.as_str())
            .unwrap();
        assert_eq!(
            free_list(&store, "198.51.100.0/30"),
            vec![(ip("198.51.100.2"), ip("198.51.100.2"))]
        );
        // Back on the first pool, which is seeded afresh: .1 was released meanwhile.
        let again = core(&store, "203.0.113.0/29");
        assert_eq!(addr(&allocate(&again, &me).unwrap()), "203.0.113.1");
        assert_eq!(free_list(&store, "198.51.100.0/30"), Vec::new());
        assert_eq!(
            free_list(&store, "203.0.113.0/29"),
            vec![(ip("203.0.113.5"), ip("203.0.113.6"))],
            ".2, .3 and .4 are held"
        );
    }

    #[test]
    fn an_address_already_free_is_not_released_twice() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let pool = "203.0.113.0/29";
        let c = core(&store, pool);
        let me = root(&c);
        let a = allocate(&c, &me).unwrap();
        // The list claims .1 free although an EIP holds it (as a lost race on a backend that
        // does not serialise writers might leave it): releasing it keeps the list disjoint.
        with_write(&*store, |tx| {
            tx.eip_free_delete(pool, ip("203.0.113.2"))?;
            tx.eip_free_insert(pool, ip("203.0.113.1"), ip("203.0.113.6"))
        })
        .unwrap();
        c.release_eip(&me, REGION, a.allocation_id.as_str())
            .unwrap();
        assert_eq!(
            free_list(&store, pool),
            vec![(ip("203.0.113.1"), ip("203.0.113.6"))]
        );
        // And the unique constraint decides when the list is wrong the other way: a stale
        // free address that is held is skipped.
        let b = allocate(&c, &me).unwrap();
        assert_eq!(addr(&b), "203.0.113.1");
        with_write(&*store, |tx| {
            tx.eip_free_delete(pool, ip("203.0.113.2"))?;
            tx.eip_free_insert(pool, ip("203.0.113.1"), ip("203.0.113.6"))
        })
        .unwrap();
        assert_eq!(addr(&allocate(&c, &me).unwrap()), "203.0.113.2");
        assert_eq!(
            free_list(&store, pool),
            vec![(ip("203.0.113.3"), ip("203.0.113.6"))]
        );
    }
}
