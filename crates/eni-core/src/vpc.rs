//! VPCs and vSwitches: CreateVpc, DescribeVpcs, DeleteVpc, CreateVSwitch, DescribeVSwitches,
//! DeleteVSwitch, with Alibaba's CIDR rules.
//!
//! Rules: a VPC block has a /8 to /28 mask and stays out of the forbidden ranges; a vSwitch
//! block has a /16 to /29 mask, lies inside its VPC's block and overlaps no other vSwitch of
//! that VPC; a vSwitch's IPv6 block is the n-th /64 (n in 0..=255) of its VPC's /56. A VPC
//! with vSwitches, or a vSwitch with addresses in use, cannot be deleted.
//!
//! IPv6 of a VPC: `EnableIpv6=true` gives it a /56, of the line type `Ipv6Isp` (`BGP` by
//! default, or a single-ISP type). A caller-chosen `Ipv6CidrBlock` is refused: Alibaba takes
//! only a block reserved beforehand with AllocateVpcIpv6Cidr (the CreateVpc model's
//! documentation), and this server reserves none.

use crate::idempotency::{check_token, once};
use crate::query::{page_of, paginate, tag_filter, Start};
pub use crate::query::{Page, Paged};
use crate::{default_resource_group, internal, now, validate, Caller, Core, CoreError};
use eni_ipam::{Ipv4Cidr, Ipv6Cidr};
use eni_store::{
    constraints, with_read, StoreError, Table, Tags, VSwitch, VSwitchFilter, Vpc, VpcFilter,
};
use eni_types::ids::{ResourceGroupId, RouteTableId, VRouterId, VSwitchId, VpcId};
use eni_types::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The block a VPC gets when CreateVpc names none (Alibaba's default).
pub const DEFAULT_VPC_CIDR: &str = "172.16.0.0/12";

/// The line types of a VPC's IPv6 block (`Ipv6Isp`); the first is the default.
pub const IPV6_ISPS: [&str; 4] = ["BGP", "ChinaMobile", "ChinaUnicom", "ChinaTelecom"];

/// CreateVpc.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateVpc {
    pub region: String,
    pub cidr_block: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enable_ipv6: bool,
    /// A caller-chosen IPv6 block (refused: see the module doc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_cidr_block: Option<String>,
    /// The line type of the IPv6 block; `BGP` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_isp: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Tags,
    #[serde(skip)]
    pub client_token: Option<String>,
}

/// What CreateVpc answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedVpc {
    pub vpc_id: VpcId,
    pub vrouter_id: VRouterId,
    pub route_table_id: RouteTableId,
    pub resource_group_id: ResourceGroupId,
}

/// DescribeVpcs filters and page.
#[derive(Debug, Clone, Default)]
pub struct DescribeVpcs {
    pub region: String,
    pub vpc_ids: Vec<String>,
    pub name: Option<String>,
    pub is_default: Option<bool>,
    pub resource_group_id: Option<String>,
    pub owner_id: Option<u64>,
    pub tags: Tags,
    pub page: Page,
}

/// A VPC with what DescribeVpcs shows beside it.
#[derive(Debug, Clone)]
pub struct VpcView {
    pub vpc: Vpc,
    pub vswitch_ids: Vec<VSwitchId>,
}

/// CreateVSwitch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateVSwitch {
    pub region: Option<String>,
    pub vpc_id: String,
    pub zone_id: String,
    pub cidr_block: String,
    pub ipv6_cidr_block: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Tags,
    #[serde(skip)]
    pub client_token: Option<String>,
}

/// What CreateVSwitch answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedVSwitch {
    pub vswitch_id: VSwitchId,
}

/// DescribeVSwitches filters and page.
#[derive(Debug, Clone, Default)]
pub struct DescribeVSwitches {
    pub region: Option<String>,
    pub vpc_id: Option<String>,
    pub vswitch_ids: Vec<String>,
    pub zone_id: Option<String>,
    pub name: Option<String>,
    pub is_default: Option<bool>,
    pub resource_group_id: Option<String>,
    pub route_table_id: Option<String>,
    pub owner_id: Option<u64>,
    pub tags: Tags,
    pub page: Page,
}

/// A vSwitch with its live address count.
#[derive(Debug, Clone)]
pub struct VSwitchView {
    pub vswitch: VSwitch,
    pub available_ip_count: u64,
    pub route_table_id: Option<RouteTableId>,
}

/// Checks `Ipv6Isp` and `Ipv6CidrBlock` of CreateVpc; returns the line type of the VPC's IPv6
/// block, if it gets one.
fn check_vpc_ipv6(req: &CreateVpc) -> Result<Option<String>, ApiError> {
    let isp = match req.ipv6_isp.as_deref() {
        None => IPV6_ISPS[0],
        Some(i) => IPV6_ISPS
            .into_iter()
            .find(|known| *known == i)
            .ok_or_else(|| {
                ApiError::invalid_param_because(
                    "Ipv6Isp",
                    format!("{i:?} is none of {}", IPV6_ISPS.join(", ")),
                )
            })?,
    };
    if let Some(text) = &req.ipv6_cidr_block {
        let block: Ipv6Cidr =
            text.parse()
                .map_err(|e: eni_ipam::CidrError| ApiError::Ipv6CidrBlockMalformed {
                    message: e.to_string(),
                })?;
        return Err(ApiError::invalid_param_because(
            "Ipv6CidrBlock",
            format!(
                "{block} is not reserved. Only blocks reserved with AllocateVpcIpv6Cidr are \
                 accepted, and this server reserves none: omit Ipv6CidrBlock and set \
                 EnableIpv6=true to get a /56."
            ),
        ));
    }
    Ok(req.enable_ipv6.then(|| isp.to_string()))
}

fn parse_vpc_cidr(text: &str) -> Result<Ipv4Cidr, ApiError> {
    let cidr: Ipv4Cidr =
        text.parse()
            .map_err(|e: eni_ipam::CidrError| ApiError::CidrBlockMalformed {
                message: e.to_string(),
            })?;
    if !(8..=28).contains(&cidr.prefix()) {
        return Err(ApiError::VpcCidrMaskIllegal {
            mask: cidr.prefix(),
        });
    }
    if cidr.is_forbidden() {
        return Err(ApiError::CidrInExcludedRange);
    }
    Ok(cidr)
}

/// A simulated IPv6 /56 for a VPC: a random block of 2408:4000::/20, the range Alibaba's
/// BGP IPv6 blocks come from. Collisions between VPCs are harmless (VPCs are isolated).
fn random_vpc_ipv6() -> Ipv6Cidr {
    let r: u64 = rand::random::<u64>() & 0x0fff_ffff_ff00; // 36 free bits, /56 aligned
    let hi: u128 = (0x2408_4000u128 << 96) | (u128::from(r) << 64);
    Ipv6Cidr::new(std::net::Ipv6Addr::from(hi), 56).unwrap_or_else(|| {
        Ipv6Cidr::new(
            std::net::Ipv6Addr::new(0x2408, 0x4000, 0, 0, 0, 0, 0, 0),
            56,
        )
        .expect("aligned")
    })
}

impl Core {
    /// CreateVpc.
    pub fn create_vpc(&self, caller: &Caller, req: CreateVpc) -> Result<CreatedVpc, ApiError> {
        self.check_region(&req.region)?;
        let cidr = parse_vpc_cidr(req.cidr_block.as_deref().unwrap_or(DEFAULT_VPC_CIDR))?;
        if let Some(n) = &req.name {
            validate::name(n).map_err(|message| ApiError::VpcNameMalformed { message })?;
        }
        if let Some(d) = &req.description {
            validate::description(d)
                .map_err(|message| ApiError::VpcDescriptionMalformed { message })?;
        }
        let ipv6_isp = check_vpc_ipv6(&req)?;
        if let Some(t) = &req.client_token {
            check_token(t)?;
        }
        let rg = match &req.resource_group_id {
            Some(r) => r
                .parse::<ResourceGroupId>()
                .map_err(|_| ApiError::invalid_param("ResourceGroupId"))?,
            None => default_resource_group(caller),
        };
        let quota = self.config().vpc_quota;
        let t = now();
        self.write(|tx| {
            once(
                tx,
                caller.account,
                "CreateVpc",
                req.client_token.as_deref(),
                &req,
                t,
                |tx| {
                    if tx.vpc_count(caller.account, &req.region)? >= quota {
                        return Err(ApiError::VpcQuotaExceeded.into());
                    }
                    let vpc = Vpc {
                        id: VpcId::generate(&req.region),
                        account_id: caller.account,
                        region_id: req.region.clone(),
                        cidr_block: cidr.to_string(),
                        ipv6_cidr_block: ipv6_isp.as_ref().map(|_| random_vpc_ipv6().to_string()),
                        ipv6_isp: ipv6_isp.clone(),
                        name: req.name.clone().unwrap_or_default(),
                        description: req.description.clone().unwrap_or_default(),
                        status: "Available".into(),
                        is_default: false,
                        vrouter_id: VRouterId::generate(&req.region),
                        route_table_id: RouteTableId::generate(&req.region),
                        route_table: Default::default(),
                        resource_group_id: rg.clone(),
                        tags: req.tags.clone(),
                        created_at: t,
                    };
                    tx.vpc_insert(&vpc)?;
                    Ok(CreatedVpc {
                        vpc_id: vpc.id,
                        vrouter_id: vpc.vrouter_id,
                        route_table_id: vpc.route_table_id,
                        resource_group_id: vpc.resource_group_id,
                    })
                },
            )
        })
        .map_err(Into::into)
    }

    /// DescribeVpcs.
    pub fn describe_vpcs(
        &self,
        caller: &Caller,
        req: DescribeVpcs,
    ) -> Result<Paged<VpcView>, ApiError> {
        self.check_region(&req.region)?;
        if req.vpc_ids.len() > 20 {
            return Err(ApiError::VpcIdNumberNotSupported);
        }
        if req.owner_id.is_some_and(|o| o != caller.account.0) {
            return Ok(paginate(Vec::new(), req.page));
        }
        let filter = VpcFilter {
            ids: (!req.vpc_ids.is_empty())
                .then(|| req.vpc_ids.iter().filter_map(|i| i.parse().ok()).collect()),
            name: req.name.clone(),
            is_default: req.is_default,
            resource_group_id: req.resource_group_id.clone(),
            tags: tag_filter(&req.tags),
        };
        let (account, region) = (caller.account, req.region.as_str());
        with_read(self.store(), |tx| -> Result<Paged<VpcView>, StoreError> {
            let page = page_of(
                tx,
                Start::Page(req.page),
                |tx| tx.vpc_find_count(account, region, &filter),
                |tx, w| tx.vpc_find(account, region, &filter, w),
                Some,
            )?;
            // The region's vSwitches, at most the quota's per VPC: one statement.
            let vswitches = if page.items.is_empty() {
                Vec::new()
            } else {
                tx.vswitch_list(account, region, None)?
            };
            let items = page
                .items
                .into_iter()
                .map(|vpc| {
                    let vswitch_ids = vswitches
                        .iter()
                        .filter(|s| s.vpc_id == vpc.id)
                        .map(|s| s.id.clone())
                        .collect();
                    VpcView { vpc, vswitch_ids }
                })
                .collect();
            Ok(Paged {
                items,
                total: page.total,
                page: page.page,
            })
        })
        .map_err(internal)
    }

    /// DeleteVpc: refused while the VPC has vSwitches or security groups. The foreign keys
    /// decide (an index probe each), not a count of what the VPC holds.
    /// ModifyVpcAttribute: the name and the description (one not given stays as it is).
    pub fn modify_vpc_attribute(
        &self,
        caller: &Caller,
        region: &str,
        vpc_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        if let Some(n) = name {
            validate::name(n).map_err(|message| ApiError::VpcNameMalformed { message })?;
        }
        if let Some(d) = description {
            validate::description(d)
                .map_err(|message| ApiError::VpcDescriptionMalformed { message })?;
        }
        let id: VpcId = vpc_id.parse().map_err(|_| ApiError::VpcNotFound)?;
        self.write(|tx| -> Result<(), CoreError> {
            let vpc = tx
                .vpc_get(caller.account, &id)?
                .filter(|v| v.region_id == region)
                .ok_or(ApiError::VpcNotFound)?;
            let name = name.unwrap_or(&vpc.name);
            let description = description.unwrap_or(&vpc.description);
            if !tx.name_set(Table::Vpc, caller.account, id.as_str(), name, description)? {
                return Err(ApiError::VpcNotFound.into());
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// ModifyRouteTableAttributes of a VPC's System route table: the name and the
    /// description (one not given stays as it is).
    pub fn modify_route_table_attributes(
        &self,
        caller: &Caller,
        region: &str,
        route_table_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        if let Some(n) = name {
            validate::name(n).map_err(|m| ApiError::invalid_param_because("RouteTableName", m))?;
        }
        if let Some(d) = description {
            validate::description(d)
                .map_err(|m| ApiError::invalid_param_because("Description", m))?;
        }
        self.write(|tx| -> Result<(), CoreError> {
            let vpc = crate::tags::route_table_vpc(tx, caller, region, route_table_id)?
                .ok_or(ApiError::RouteTableNotFound)?;
            let name = name.unwrap_or(&vpc.route_table.name);
            let description = description.unwrap_or(&vpc.route_table.description);
            tx.name_set(
                Table::RouteTable,
                caller.account,
                vpc.id.as_str(),
                name,
                description,
            )?;
            Ok(())
        })
        .map_err(Into::into)
    }

    /// ModifyVSwitchAttribute: the name and the description (one not given stays as it is).
    pub fn modify_vswitch_attribute(
        &self,
        caller: &Caller,
        region: Option<&str>,
        vswitch_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(r) = region {
            self.check_region(r)?;
        }
        if let Some(n) = name {
            validate::name(n).map_err(|message| ApiError::VSwitchNameMalformed { message })?;
        }
        if let Some(d) = description {
            validate::description(d)
                .map_err(|message| ApiError::VSwitchDescriptionMalformed { message })?;
        }
        let id: VSwitchId = vswitch_id.parse().map_err(|_| ApiError::VSwitchNotFound)?;
        self.write(|tx| -> Result<(), CoreError> {
            let vsw = tx
                .vswitch_get(caller.account, &id)?
                .filter(|v| region.is_none_or(|r| v.region_id == r))
                .ok_or(ApiError::VSwitchNotFound)?;
            let name = name.unwrap_or(&vsw.name);
            let description = description.unwrap_or(&vsw.description);
            if !tx.name_set(
                Table::VSwitch,
                caller.account,
                id.as_str(),
                name,
                description,
            )? {
                return Err(ApiError::VSwitchNotFound.into());
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    pub fn delete_vpc(
        &self,
        caller: &Caller,
        region: Option<&str>,
        vpc_id: &str,
    ) -> Result<(), ApiError> {
        if let Some(r) = region {
            self.check_region(r)?;
        }
        let id: VpcId = vpc_id.parse().map_err(|_| ApiError::VpcNotFound)?;
        let now = crate::now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            crate::transitions::settle_due(tx, now)?;
            let vpc = tx
                .vpc_get(caller.account, &id)?
                .ok_or(ApiError::VpcNotFound)?;
            if region.is_some_and(|r| r != vpc.region_id) {
                return Err(ApiError::VpcNotFound.into());
            }
            match tx.vpc_delete(caller.account, &id) {
                Ok(true) => Ok(()),
                Ok(false) => Err(ApiError::VpcNotFound.into()),
                Err(e) if e.is_conflict_on(constraints::VSWITCH_VPC_FK) => {
                    Err(ApiError::VpcHasVSwitches.into())
                }
                Err(e) if e.is_conflict_on(constraints::SECURITY_GROUP_VPC_FK) => {
                    Err(ApiError::VpcHasSecurityGroups.into())
                }
                // A dependant row of a kind added later.
                Err(StoreError::Conflict { constraint }) => Err(ApiError::DependencyViolation {
                    detail: format!("({constraint})"),
                }
                .into()),
                Err(e) => Err(e.into()),
            }
        })
        .map_err(Into::into)
    }

    /// CreateVSwitch.
    pub fn create_vswitch(
        &self,
        caller: &Caller,
        req: CreateVSwitch,
    ) -> Result<CreatedVSwitch, ApiError> {
        if let Some(r) = &req.region {
            self.check_region(r)?;
        }
        let vpc_id: VpcId = req.vpc_id.parse().map_err(|_| ApiError::VpcNotFound)?;
        let cidr: Ipv4Cidr = req.cidr_block.parse().map_err(|e: eni_ipam::CidrError| {
            ApiError::CidrBlockMalformed {
                message: e.to_string(),
            }
        })?;
        if !(16..=29).contains(&cidr.prefix()) {
            return Err(ApiError::VSwitchCidrMaskLength {
                mask: cidr.prefix(),
            });
        }
        if let Some(n) = &req.name {
            validate::name(n).map_err(|message| ApiError::VSwitchNameMalformed { message })?;
        }
        if let Some(d) = &req.description {
            validate::description(d)
                .map_err(|message| ApiError::VSwitchDescriptionMalformed { message })?;
        }
        if let Some(i) = req.ipv6_cidr_block {
            if !(0..=255).contains(&i) {
                return Err(ApiError::Ipv6CidrBlockMalformed {
                    message: "Ipv6CidrBlock must be 0 to 255.".into(),
                });
            }
        }
        if let Some(t) = &req.client_token {
            check_token(t)?;
        }
        let quota = self.config().vswitch_quota;
        let t = now();
        self.write(|tx| {
            once(
                tx,
                caller.account,
                "CreateVSwitch",
                req.client_token.as_deref(),
                &req,
                t,
                |tx| {
                    let vpc = tx
                        .vpc_get(caller.account, &vpc_id)?
                        .ok_or(ApiError::VpcNotFound)?;
                    if req.region.as_ref().is_some_and(|r| r != &vpc.region_id) {
                        return Err(ApiError::VpcNotFound.into());
                    }
                    if self.catalog().zone(&vpc.region_id, &req.zone_id).is_none() {
                        return Err(ApiError::ZoneNotFound.into());
                    }
                    let vpc_cidr: Ipv4Cidr = vpc
                        .cidr_block
                        .parse()
                        .map_err(|_| ApiError::InternalError)?;
                    if !vpc_cidr.contains(&cidr) {
                        return Err(ApiError::CidrBlockNotInVpc.into());
                    }
                    if cidr.is_forbidden() {
                        return Err(ApiError::CidrInExcludedRange.into());
                    }
                    let siblings =
                        tx.vswitch_list(caller.account, &vpc.region_id, Some(&vpc.id))?;
                    if siblings.len() as u64 >= quota {
                        return Err(ApiError::VSwitchQuotaExceeded.into());
                    }
                    for s in &siblings {
                        let other: Ipv4Cidr =
                            s.cidr_block.parse().map_err(|_| ApiError::InternalError)?;
                        if other.overlaps(&cidr) {
                            return Err(ApiError::CidrBlockOverlapped.into());
                        }
                    }
                    let ipv6 = match req.ipv6_cidr_block {
                        None => None,
                        Some(i) => {
                            let vpc6: Ipv6Cidr = vpc
                                .ipv6_cidr_block
                                .as_deref()
                                .ok_or(ApiError::VpcIpv6NotEnabled)?
                                .parse()
                                .map_err(|_| ApiError::InternalError)?;
                            let block = vpc6
                                .subnet(64, i as u128)
                                .ok_or_else(|| ApiError::Ipv6CidrBlockMalformed {
                                    message: format!("{i} is outside the VPC's block."),
                                })?
                                .to_string();
                            if siblings
                                .iter()
                                .any(|s| s.ipv6_cidr_block.as_deref() == Some(block.as_str()))
                            {
                                return Err(ApiError::CidrBlockOverlapped.into());
                            }
                            Some(block)
                        }
                    };
                    let vsw = VSwitch {
                        id: VSwitchId::generate(&vpc.region_id),
                        account_id: caller.account,
                        region_id: vpc.region_id.clone(),
                        vpc_id: vpc.id.clone(),
                        zone_id: req.zone_id.clone(),
                        cidr_block: cidr.to_string(),
                        ipv6_cidr_block: ipv6,
                        name: req.name.clone().unwrap_or_default(),
                        description: req.description.clone().unwrap_or_default(),
                        status: "Available".into(),
                        is_default: false,
                        resource_group_id: vpc.resource_group_id.clone(),
                        tags: req.tags.clone(),
                        created_at: t,
                    };
                    tx.vswitch_insert(&vsw)?;
                    crate::ipam::init(tx, &vsw.id, &cidr)?;
                    Ok(CreatedVSwitch { vswitch_id: vsw.id })
                },
            )
        })
        .map_err(Into::into)
    }

    /// DescribeVSwitches: needs RegionId or VpcId.
    pub fn describe_vswitches(
        &self,
        caller: &Caller,
        req: DescribeVSwitches,
    ) -> Result<Paged<VSwitchView>, ApiError> {
        // Addresses of ENIs whose deletion is due are free: persist that before counting.
        self.settle()?;
        if let Some(r) = &req.region {
            self.check_region(r)?;
        }
        if req.region.is_none() && req.vpc_id.is_none() {
            return Err(ApiError::missing("RegionId"));
        }
        if req.vswitch_ids.len() > 20 {
            return Err(ApiError::invalid_param_because(
                "VSwitchId",
                "at most 20 IDs",
            ));
        }
        if req.owner_id.is_some_and(|o| o != caller.account.0) {
            return Ok(paginate(Vec::new(), req.page));
        }
        let vpc_id: Option<VpcId> = match &req.vpc_id {
            Some(v) => match v.parse() {
                Ok(id) => Some(id),
                Err(_) => return Ok(paginate(Vec::new(), req.page)),
            },
            None => None,
        };
        let filter = VSwitchFilter {
            ids: (!req.vswitch_ids.is_empty()).then(|| {
                req.vswitch_ids
                    .iter()
                    .filter_map(|i| i.parse().ok())
                    .collect()
            }),
            vpc_id: vpc_id.clone(),
            zone_id: req.zone_id.clone(),
            name: req.name.clone(),
            is_default: req.is_default,
            resource_group_id: req.resource_group_id.clone(),
            route_table_id: req.route_table_id.clone(),
            tags: tag_filter(&req.tags),
        };
        let account = caller.account;
        with_read(
            self.store(),
            |tx| -> Result<Paged<VSwitchView>, StoreError> {
                let region = match (&req.region, &vpc_id) {
                    (Some(r), _) => r.clone(),
                    (None, Some(v)) => match tx.vpc_get(account, v)? {
                        Some(vpc) => vpc.region_id,
                        None => return Ok(paginate(Vec::new(), req.page)),
                    },
                    (None, None) => return Ok(paginate(Vec::new(), req.page)),
                };
                let page = page_of(
                    tx,
                    Start::Page(req.page),
                    |tx| tx.vswitch_find_count(account, &region, &filter),
                    |tx, w| tx.vswitch_find(account, &region, &filter, w),
                    Some,
                )?;
                // Counts and route tables for the page only.
                let mut route_tables: HashMap<VpcId, Option<RouteTableId>> = HashMap::new();
                let mut items = Vec::with_capacity(page.items.len());
                for s in page.items {
                    let route_table_id = match route_tables.get(&s.vpc_id) {
                        Some(r) => r.clone(),
                        None => {
                            let r = tx.vpc_get(account, &s.vpc_id)?.map(|v| v.route_table_id);
                            route_tables.insert(s.vpc_id.clone(), r.clone());
                            r
                        }
                    };
                    let used = tx.private_ip_count(&s.id)?;
                    let usable = s
                        .cidr_block
                        .parse::<Ipv4Cidr>()
                        .map(|c| c.usable_count())
                        .unwrap_or(0);
                    items.push(VSwitchView {
                        available_ip_count: usable.saturating_sub(used),
                        vswitch: s,
                        route_table_id,
                    });
                }
                Ok(Paged {
                    items,
                    total: page.total,
                    page: page.page,
                })
            },
        )
        .map_err(internal)
    }

    /// DeleteVSwitch: refused while any address of it is in use, or an ENI or instance is in
    /// it. The foreign keys decide (an index probe each), not a count of what it holds; its
    /// free list goes with it (cascade).
    pub fn delete_vswitch(
        &self,
        caller: &Caller,
        region: Option<&str>,
        vswitch_id: &str,
    ) -> Result<(), ApiError> {
        if let Some(r) = region {
            self.check_region(r)?;
        }
        let id: VSwitchId = vswitch_id.parse().map_err(|_| ApiError::VSwitchNotFound)?;
        let now = crate::now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            crate::transitions::settle_due(tx, now)?;
            let vsw = tx
                .vswitch_get(caller.account, &id)?
                .ok_or(ApiError::VSwitchNotFound)?;
            if region.is_some_and(|r| r != vsw.region_id) {
                return Err(ApiError::VSwitchNotFound.into());
            }
            match tx.vswitch_delete(caller.account, &id) {
                Ok(true) => Ok(()),
                Ok(false) => Err(ApiError::VSwitchNotFound.into()),
                Err(StoreError::Conflict { constraint })
                    if constraint != constraints::PRIVATE_IP_UNIQUE =>
                {
                    Err(ApiError::DependencyViolation {
                        detail: format!(
                            "ENIs, instances or addresses of the vSwitch are in use ({constraint})."
                        ),
                    }
                    .into())
                }
                Err(e) => Err(e.into()),
            }
        })
        .map_err(Into::into)
    }
}
