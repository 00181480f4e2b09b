//! ECS instances: RunInstances, CreateInstance, StartInstance, StopInstance, DeleteInstance(s)
//! and DescribeInstances. A VPC instance gets its primary ENI (Type Primary, DeviceIndex 0,
//! InUse, released with the instance); without a vSwitch the instance is of the classic
//! network type and takes no ENI. `NetworkInterface.N` entries of type Secondary create and
//! attach secondary ENIs at launch.
//!
//! States: RunInstances `Pending → Running`, CreateInstance `Stopped`, StartInstance
//! `Stopped → Starting → Running`, StopInstance `Running → Stopping → Stopped`.

use crate::addresses::{ExhaustedError, TakenError};
use crate::catalog::InstanceType;
use crate::default_resource_group;
use crate::eni::{
    check_eni_description, check_eni_name, check_groups, insert_eni, load_views, AddressRequest,
    EniView, NewEni,
};
use crate::idempotency::{check_token, once};
use crate::query::{page_of, Paging};
use crate::transitions::{complete_eni, effective_eni, effective_instance, settle_due};
use crate::{internal, now, now_ms, Caller, Core, CoreError};
use eni_store::{Eni, EniQuery, Instance, InstanceFilter, StoreError, Tags, Tx};
use eni_types::ids::{HostId, InstanceId, VSwitchId};
use eni_types::ApiError;
use serde::Serialize;
use std::collections::HashMap;

/// The image an instance gets when RunInstances names none.
pub const DEFAULT_IMAGE: &str = "aliyun_3_x64_20G_alibase_20240101.vhd";

/// One `NetworkInterface.N` entry of RunInstances.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetworkInterfaceSpec {
    /// `Primary` or `Secondary` (default).
    pub kind: Option<String>,
    pub vswitch_id: Option<String>,
    pub security_group_id: Option<String>,
    pub security_group_ids: Vec<String>,
    pub primary_ip: Option<String>,
    pub secondary_count: Option<u32>,
    pub ipv6: Vec<String>,
    pub ipv6_count: Option<u32>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub delete_on_release: Option<bool>,
    pub queue_number: Option<u32>,
    pub traffic_mode: Option<String>,
}

/// RunInstances and CreateInstance.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunInstances {
    pub region: String,
    pub zone_id: Option<String>,
    pub instance_type: String,
    pub image_id: Option<String>,
    pub vswitch_id: Option<String>,
    pub security_group_id: Option<String>,
    pub security_group_ids: Vec<String>,
    pub amount: u32,
    pub name: Option<String>,
    pub host_name: Option<String>,
    pub description: Option<String>,
    pub private_ip: Option<String>,
    pub ipv6: Vec<String>,
    pub ipv6_count: Option<u32>,
    pub network_interfaces: Vec<NetworkInterfaceSpec>,
    pub tags: Tags,
    /// RunInstances starts what it creates; CreateInstance leaves it Stopped.
    pub start: bool,
    #[serde(skip)]
    pub dry_run: bool,
    #[serde(skip)]
    pub client_token: Option<String>,
    /// `DedicatedHostId`: the host every instance goes on. (Left out of the ClientToken
    /// digest when absent, so that digests recorded before it existed still match.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedicated_host_id: Option<String>,
    /// `Tenancy`: `host` asks for a dedicated host (one is picked without `DedicatedHostId`),
    /// `default` (or none) for none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenancy: Option<String>,
    /// `UserData` (Base64, at most 32 KB decoded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// `SystemDisk.Category` (default `cloud_essd`) and `SystemDisk.Size` (GiB, default 40).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_disk_category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_disk_size: Option<u32>,
    /// `HttpEndpoint`, `HttpTokens` and `HttpPutResponseHopLimit`: the metadata service's
    /// options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_tokens: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u32>,
    /// `SystemDisk.DiskName` and `SystemDisk.Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_disk_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_disk_description: Option<String>,
}

/// ModifyInstanceMetadataOptions' changes (`None`: kept).
#[derive(Debug, Clone, Default)]
pub struct MetadataChange {
    pub http_endpoint: Option<String>,
    pub http_tokens: Option<String>,
    pub hop_limit: Option<u32>,
}

impl MetadataChange {
    /// `options` with the change applied, or the error of the first bad value.
    pub fn applied_to(
        &self,
        mut options: eni_store::MetadataOptions,
    ) -> Result<eni_store::MetadataOptions, ApiError> {
        if let Some(e) = &self.http_endpoint {
            if e != "enabled" && e != "disabled" {
                return Err(ApiError::HttpEndpointNotSupported);
            }
            options.http_endpoint = e.clone();
        }
        if let Some(t) = &self.http_tokens {
            if t != "optional" && t != "required" {
                return Err(ApiError::HttpTokensNotSupported);
            }
            options.http_tokens = t.clone();
        }
        if let Some(h) = self.hop_limit {
            if !(1..=64).contains(&h) {
                return Err(ApiError::HopLimitNotSupported);
            }
            options.hop_limit = h;
        }
        Ok(options)
    }
}

/// ModifyInstanceAttribute's changes (`None`: kept).
#[derive(Debug, Clone, Default)]
pub struct ModifyInstance {
    pub name: Option<String>,
    pub description: Option<String>,
    pub host_name: Option<String>,
    pub user_data: Option<String>,
    /// `SecurityGroupIds.N`: the primary ENI's groups, replaced (empty: kept).
    pub security_group_ids: Vec<String>,
}

/// The system disk categories RunInstances takes.
pub const SYSTEM_DISK_CATEGORIES: &[&str] = &[
    "cloud",
    "cloud_efficiency",
    "cloud_ssd",
    "cloud_essd",
    "cloud_auto",
    "cloud_essd_entry",
];

/// The user data, system disk category and size of a launch, checked, with their defaults.
fn launch_settings(req: &RunInstances) -> Result<(String, String, u32), ApiError> {
    let image = match &req.image_id {
        Some(id) => crate::images::image(id).ok_or(ApiError::ImageNotFound)?,
        None => crate::images::image(DEFAULT_IMAGE).ok_or(ApiError::ImageNotFound)?,
    };
    let user_data = req.user_data.clone().unwrap_or_default();
    if !user_data.is_empty() {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(user_data.as_bytes())
            .map_err(|_| ApiError::UserDataBase64Invalid)?;
        if raw.len() > 32 * 1024 {
            return Err(ApiError::UserDataSizeExceeded);
        }
    }
    let category = req
        .system_disk_category
        .clone()
        .unwrap_or_else(|| "cloud_essd".into());
    if !SYSTEM_DISK_CATEGORIES.contains(&category.as_str()) {
        return Err(ApiError::SystemDiskCategoryNotSupported { category });
    }
    let size = req.system_disk_size.unwrap_or(40);
    if !(image.size.max(20)..=2048).contains(&size) {
        return Err(ApiError::SystemDiskSizeNotSupported);
    }
    Ok((user_data, category, size))
}

/// A disk's name (`SystemDisk.DiskName`, ModifyDiskAttribute): 2 to 128 characters, starting
/// with a letter.
pub(crate) fn check_disk_name(n: &str) -> Result<(), ApiError> {
    let len = n.chars().count();
    let ok = (2..=128).contains(&len)
        && n.chars().next().is_some_and(char::is_alphabetic)
        && crate::validate::name(n).is_ok();
    if ok {
        Ok(())
    } else {
        Err(ApiError::DiskNameMalformed)
    }
}

/// A disk's description: 2 to 256 characters, not starting with `http://` or `https://`.
pub(crate) fn check_disk_description(d: &str) -> Result<(), ApiError> {
    if (2..=256).contains(&d.chars().count()) && crate::validate::description(d).is_ok() {
        Ok(())
    } else {
        Err(ApiError::DiskDescriptionMalformed)
    }
}

/// The caller's instance by ID, in `region` when one is given (Start/Stop/Delete and the
/// security-group calls may carry no RegionId); `InvalidInstanceId.NotFound` otherwise.
pub(crate) fn own_instance(
    tx: &mut dyn Tx,
    caller: &Caller,
    region: Option<&str>,
    id: &str,
) -> Result<Instance, CoreError> {
    let Ok(iid) = id.parse::<InstanceId>() else {
        return Err(ApiError::InstanceNotFound.into());
    };
    match tx.instance_get(caller.account, &iid)? {
        Some(i) if region.is_none_or(|r| r == i.region_id) => Ok(i),
        _ => Err(ApiError::InstanceNotFound.into()),
    }
}

/// The ID of an instance's system disk: the instance ID's body under `d-`.
pub fn system_disk_id(instance: &str) -> String {
    format!("d-{}", instance.strip_prefix("i-").unwrap_or(instance))
}

/// The instance whose system disk `disk` is, if `disk` is a disk ID.
pub fn disk_instance(disk: &str) -> Option<InstanceId> {
    format!("i-{}", disk.strip_prefix("d-")?).parse().ok()
}

/// An instance with its type and the ENIs on it (by device index).
#[derive(Debug, Clone)]
pub struct InstanceView {
    pub instance: Instance,
    pub instance_type: InstanceType,
    pub enis: Vec<EniView>,
    /// The name of its host, when it has one (`DedicatedHostAttribute`).
    pub host_name: Option<String>,
}

/// DescribeInstances filters and paging.
#[derive(Debug, Clone, Default)]
pub struct DescribeInstances {
    pub region: String,
    pub ids: Option<Vec<String>>,
    pub vpc_id: Option<String>,
    pub vswitch_id: Option<String>,
    pub zone_id: Option<String>,
    pub security_group_id: Option<String>,
    pub instance_type: Option<String>,
    pub status: Option<String>,
    pub private_ips: Option<Vec<String>>,
    pub name: Option<String>,
    pub tags: Tags,
    pub paging: Paging,
}

/// One page of instances.
pub type InstancePage = crate::query::TokenPage<InstanceView>;

fn groups_of(single: &Option<String>, list: &[String]) -> Result<Vec<String>, ApiError> {
    match (single, list.is_empty()) {
        (Some(_), false) => Err(ApiError::ParameterConflict {
            message: "SecurityGroupId and SecurityGroupIds.N cannot be specified together.".into(),
        }),
        (Some(g), true) => Ok(vec![g.clone()]),
        (None, _) => Ok(list.to_vec()),
    }
}

impl Core {
    fn instance_delay(&self) -> Option<i64> {
        let d = self.config().transition_delay_ms;
        (d > 0).then_some(d as i64)
    }

    /// RunInstances (and CreateInstance with `start == false`). Returns the new IDs.
    pub fn run_instances(
        &self,
        caller: &Caller,
        req: RunInstances,
    ) -> Result<Vec<InstanceId>, ApiError> {
        self.check_region(&req.region)?;
        let ty = self
            .catalog()
            .instance_type(&req.instance_type)
            .ok_or_else(|| ApiError::InstanceTypeNotSupported {
                message: format!(
                    "The specified InstanceType {:?} is not supported.",
                    req.instance_type
                ),
            })?
            .clone();
        if !(1..=100).contains(&req.amount) {
            return Err(ApiError::invalid_param_because(
                "Amount",
                "must be 1 to 100",
            ));
        }
        if let Some(t) = &req.client_token {
            check_token(t)?;
        }
        let launch = launch_settings(&req)?;
        let metadata = MetadataChange {
            http_endpoint: req.http_endpoint.clone(),
            http_tokens: req.http_tokens.clone(),
            hop_limit: req.hop_limit,
        }
        .applied_to(eni_store::MetadataOptions::default())?;
        if let Some(n) = &req.system_disk_name {
            check_disk_name(n)?;
        }
        if let Some(d) = &req.system_disk_description {
            check_disk_description(d)?;
        }
        if let Some(n) = &req.name {
            crate::validate::name(n)
                .map_err(|m| ApiError::invalid_param_because("InstanceName", m))?;
        }
        if let Some(d) = &req.description {
            crate::validate::description(d)
                .map_err(|m| ApiError::invalid_param_because("Description", m))?;
        }
        let primary_spec = {
            let mut p = req
                .network_interfaces
                .iter()
                .filter(|n| n.kind.as_deref() == Some("Primary"));
            let first = p.next().cloned();
            if p.next().is_some() {
                return Err(ApiError::invalid_param_because(
                    "NetworkInterface.N.InstanceType",
                    "at most one Primary entry",
                ));
            }
            first
        };
        let secondaries: Vec<NetworkInterfaceSpec> = req
            .network_interfaces
            .iter()
            .filter(|n| n.kind.as_deref() != Some("Primary"))
            .cloned()
            .collect();
        for n in &req.network_interfaces {
            match n.kind.as_deref() {
                None | Some("Primary") | Some("Secondary") => {}
                Some(_) => {
                    return Err(ApiError::invalid_param_because(
                        "NetworkInterface.N.InstanceType",
                        "Primary or Secondary",
                    ))
                }
            }
            if let Some(name) = &n.name {
                check_eni_name(name)?;
            }
            if let Some(d) = &n.description {
                check_eni_description(d, 256)?;
            }
        }
        let vswitch_text = primary_spec
            .as_ref()
            .and_then(|p| p.vswitch_id.clone())
            .or_else(|| req.vswitch_id.clone());
        let mut groups = groups_of(&req.security_group_id, &req.security_group_ids)?;
        if let Some(p) = &primary_spec {
            let g = groups_of(&p.security_group_id, &p.security_group_ids)?;
            if !g.is_empty() {
                groups = g;
            }
        }
        let primary_ip = primary_spec
            .as_ref()
            .and_then(|p| p.primary_ip.clone())
            .or_else(|| req.private_ip.clone());
        if primary_ip.is_some() && req.amount > 1 {
            return Err(ApiError::invalid_param_because(
                "PrivateIpAddress",
                "only with Amount 1",
            ));
        }
        if vswitch_text.is_none()
            && (!groups.is_empty() || !req.network_interfaces.is_empty() || primary_ip.is_some())
        {
            // A security group, an ENI or a private IP all need a VPC.
            return Err(ApiError::missing("VSwitchId"));
        }
        if 1 + secondaries.len() as u32 > ty.eni_quantity {
            return Err(ApiError::EniPerInstanceLimitExceeded {
                limit: ty.eni_quantity,
            });
        }
        if !secondaries.is_empty() && !ty.io_optimized {
            return Err(ApiError::InstanceTypeNotSupported {
                message: format!(
                    "The instance type {} is not I/O optimized and cannot take secondary ENIs.",
                    ty.instance_type_id
                ),
            });
        }
        let primary_addresses = AddressRequest {
            primary_ip: primary_ip.clone(),
            ipv6: primary_spec
                .as_ref()
                .map(|p| p.ipv6.clone())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| req.ipv6.clone()),
            ipv6_count: primary_spec
                .as_ref()
                .and_then(|p| p.ipv6_count)
                .or(req.ipv6_count),
            secondary_count: primary_spec.as_ref().and_then(|p| p.secondary_count),
            ..Default::default()
        };
        primary_addresses.check()?;
        let secondary_addresses: Vec<AddressRequest> = secondaries
            .iter()
            .map(|s| AddressRequest {
                primary_ip: s.primary_ip.clone(),
                secondary_count: s.secondary_count,
                ipv6: s.ipv6.clone(),
                ipv6_count: s.ipv6_count,
                ..Default::default()
            })
            .collect();
        for a in &secondary_addresses {
            a.check()?;
        }
        // ENIs born attached obey the instance type's per-ENI limits at once.
        for a in std::iter::once(&primary_addresses).chain(&secondary_addresses) {
            if 1 + a.v4_slots() > ty.eni_private_ip_address_quantity {
                return Err(ApiError::Ipv4CountExceeded {
                    limit: ty.eni_private_ip_address_quantity,
                });
            }
            if a.v6_slots() > ty.eni_ipv6_address_quantity {
                return Err(ApiError::Ipv6CountExceeded {
                    limit: ty.eni_ipv6_address_quantity,
                });
            }
        }
        // A dedicated host was asked for: one named, or `Tenancy=host` (any).
        let dedicated = match req.tenancy.as_deref() {
            None | Some("default") => req.dedicated_host_id.is_some(),
            Some("host") => true,
            Some(_) => {
                return Err(ApiError::invalid_param_because(
                    "Tenancy",
                    "default or host",
                ))
            }
        };
        let (t, t_ms, delay) = (now(), now_ms(), self.instance_delay());
        let quota = self.config().eni_quota;
        let rg = default_resource_group(caller);
        let result = self.write(|tx| {
            settle_due(tx, t_ms)?;
            let ids = once(
                tx,
                caller.account,
                if req.start {
                    "RunInstances"
                } else {
                    "CreateInstance"
                },
                req.client_token.as_deref(),
                &req,
                t,
                |tx| {
                    let vsw = match &vswitch_text {
                        None => None,
                        Some(v) => {
                            let id: VSwitchId = v.parse().map_err(|_| ApiError::VSwitchNotFound)?;
                            match tx.vswitch_get(caller.account, &id)? {
                                Some(s) if s.region_id == req.region => Some(s),
                                _ => return Err(ApiError::VSwitchNotFound.into()),
                            }
                        }
                    };
                    let zone = match (&vsw, &req.zone_id) {
                        (Some(s), Some(z)) if z != &s.zone_id => {
                            return Err(ApiError::invalid_param_because(
                                "ZoneId",
                                format!("the vSwitch is in {}", s.zone_id),
                            )
                            .into())
                        }
                        (Some(s), _) => s.zone_id.clone(),
                        (None, Some(z)) => {
                            self.catalog()
                                .zone(&req.region, z)
                                .ok_or(ApiError::ZoneNotFound)?;
                            z.clone()
                        }
                        (None, None) => self
                            .catalog()
                            .region(&req.region)
                            .map(|r| r.zones[0].zone_id.clone())
                            .ok_or(ApiError::RegionNotFound)?,
                    };
                    let groups = match &vsw {
                        Some(s) => check_groups(tx, caller, &s.vpc_id, &groups)?,
                        None => Vec::new(),
                    };
                    // Each secondary ENI: its vSwitch (default the primary's) in the same VPC and zone.
                    let mut sec = Vec::new();
                    if let Some(p) = &vsw {
                        for spec in &secondaries {
                            let s = match &spec.vswitch_id {
                                None => p.clone(),
                                Some(v) => {
                                    let id: VSwitchId =
                                        v.parse().map_err(|_| ApiError::VSwitchNotFound)?;
                                    tx.vswitch_get(caller.account, &id)?
                                        .filter(|s| s.region_id == req.region)
                                        .ok_or(ApiError::VSwitchNotFound)?
                                }
                            };
                            if s.vpc_id != p.vpc_id {
                                return Err(ApiError::VpcMismatch {
                                    detail: format!("vSwitch {} is not in {}.", s.id, p.vpc_id),
                                }
                                .into());
                            }
                            if s.zone_id != p.zone_id {
                                return Err(ApiError::AvailabilityZoneMismatch.into());
                            }
                            let g = groups_of(&spec.security_group_id, &spec.security_group_ids)?;
                            let g = if g.is_empty() {
                                groups.clone()
                            } else {
                                check_groups(tx, caller, &s.vpc_id, &g)?
                            };
                            sec.push((s, g));
                        }
                        if !sec.is_empty() {
                            let used = tx.eni_count(caller.account, &req.region, "Secondary")?
                                + tx.eni_count(caller.account, &req.region, "Trunk")?;
                            if used + (sec.len() as u64) * u64::from(req.amount) > quota {
                                return Err(ApiError::MaxEniCountExceeded { limit: quota }.into());
                            }
                        }
                    }
                    let mut ids = Vec::new();
                    for _ in 0..req.amount {
                        // Each placed in turn, so that a batch spreads over the hosts. Without
                        // a data plane nothing runs anywhere: only a dedicated host places.
                        let host_id = if dedicated || self.config().dataplane {
                            self.place_instance(
                                tx,
                                &zone,
                                ty.cpu_core_count,
                                req.dedicated_host_id.as_deref(),
                                dedicated,
                                t_ms,
                            )?
                        } else {
                            None
                        };
                        let id = InstanceId::generate(&req.region);
                        let (status, due_at) = match (req.start, delay) {
                            (false, _) => ("Stopped", None),
                            (true, Some(d)) => ("Pending", Some(t_ms + d)),
                            (true, None) => ("Running", None),
                        };
                        let inst = Instance {
                            id: id.clone(),
                            account_id: caller.account,
                            region_id: req.region.clone(),
                            zone_id: zone.clone(),
                            instance_type: ty.instance_type_id.clone(),
                            vpc_id: vsw.as_ref().map(|s| s.vpc_id.clone()),
                            vswitch_id: vsw.as_ref().map(|s| s.id.clone()),
                            status: status.into(),
                            due_at,
                            name: req.name.clone().unwrap_or_else(|| id.to_string()),
                            host_name: req
                                .host_name
                                .clone()
                                .unwrap_or_else(|| format!("iZ{}Z", &id.as_str()[2..])),
                            description: req.description.clone().unwrap_or_default(),
                            image_id: req.image_id.clone().unwrap_or_else(|| DEFAULT_IMAGE.into()),
                            resource_group_id: rg.clone(),
                            tags: req.tags.clone(),
                            created_at: t,
                            started_at: (status == "Running").then_some(t),
                            host_vcpus: if host_id.is_some() {
                                ty.cpu_core_count
                            } else {
                                0
                            },
                            host_id,
                            tenancy: if dedicated { "host" } else { "default" }.into(),
                            user_data: launch.0.clone(),
                            system_disk_category: launch.1.clone(),
                            system_disk_size: launch.2,
                            system_disk: eni_store::Labels {
                                name: req.system_disk_name.clone().unwrap_or_default(),
                                description: req
                                    .system_disk_description
                                    .clone()
                                    .unwrap_or_default(),
                                tags: Vec::new(),
                            },
                            metadata: metadata.clone(),
                        };
                        tx.instance_insert(&inst)?;
                        if let Some(p) = &vsw {
                            let spec = primary_spec.clone().unwrap_or_default();
                            insert_eni(
                                tx,
                                caller,
                                NewEni {
                                    vswitch: p,
                                    groups: groups.clone(),
                                    addresses: &primary_addresses,
                                    eni_type: "Primary",
                                    name: spec.name.clone().unwrap_or_default(),
                                    description: spec.description.clone().unwrap_or_default(),
                                    delete_on_release: true,
                                    source_dest_check: false,
                                    queue_number: spec.queue_number.unwrap_or(2),
                                    traffic_mode: spec
                                        .traffic_mode
                                        .clone()
                                        .unwrap_or_else(|| "Standard".into()),
                                    resource_group_id: rg.clone(),
                                    tags: Vec::new(),
                                    attached: Some((id.clone(), 0)),
                                    taken: TakenError::Duplicated,
                                    exhausted: ExhaustedError::Quota,
                                },
                            )?;
                            for (i, ((s, g), spec)) in sec.iter().zip(&secondaries).enumerate() {
                                insert_eni(
                                    tx,
                                    caller,
                                    NewEni {
                                        vswitch: s,
                                        groups: g.clone(),
                                        addresses: &secondary_addresses[i],
                                        eni_type: "Secondary",
                                        name: spec.name.clone().unwrap_or_default(),
                                        description: spec.description.clone().unwrap_or_default(),
                                        delete_on_release: spec.delete_on_release.unwrap_or(true),
                                        source_dest_check: false,
                                        queue_number: spec.queue_number.unwrap_or(2),
                                        traffic_mode: spec
                                            .traffic_mode
                                            .clone()
                                            .unwrap_or_else(|| "Standard".into()),
                                        resource_group_id: rg.clone(),
                                        tags: Vec::new(),
                                        attached: Some((id.clone(), i as u32 + 1)),
                                        taken: TakenError::Duplicated,
                                        exhausted: ExhaustedError::Quota,
                                    },
                                )?;
                            }
                        }
                        ids.push(id);
                    }
                    Ok(ids)
                },
            )?;
            if req.dry_run {
                // Everything checked; the error rolls the transaction back.
                return Err(CoreError::Api(ApiError::DryRunOperation));
            }
            Ok(ids)
        });
        result.map_err(Into::into)
    }

    /// The caller's instance by ID (see [`own_instance`]).
    fn own_instance(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        region: Option<&str>,
        id: &str,
    ) -> Result<Instance, CoreError> {
        own_instance(tx, caller, region, id)
    }

    /// StartInstance: `Stopped → Starting → Running`.
    pub fn start_instance(
        &self,
        caller: &Caller,
        region: Option<&str>,
        id: &str,
    ) -> Result<(), ApiError> {
        self.change_power(caller, region, id, "Stopped", "Starting", "Running")
    }

    /// StopInstance: `Running → Stopping → Stopped`.
    pub fn stop_instance(
        &self,
        caller: &Caller,
        region: Option<&str>,
        id: &str,
    ) -> Result<(), ApiError> {
        self.change_power(caller, region, id, "Running", "Stopping", "Stopped")
    }

    /// RebootInstance: `Running → Starting → Running` (its NICs down while Starting).
    pub fn reboot_instance(
        &self,
        caller: &Caller,
        region: Option<&str>,
        id: &str,
    ) -> Result<(), ApiError> {
        self.change_power(caller, region, id, "Running", "Starting", "Running")
    }

    /// ModifyInstanceAttribute: the name, description, host name and (Stopped only, as
    /// Alibaba requires) the user data; what is not given stays as it is.
    pub fn modify_instance_attribute(
        &self,
        caller: &Caller,
        region: Option<&str>,
        id: &str,
        req: ModifyInstance,
    ) -> Result<(), ApiError> {
        if let Some(n) = &req.name {
            crate::validate::name(n)
                .map_err(|m| ApiError::invalid_param_because("InstanceName", m))?;
        }
        if let Some(d) = &req.description {
            crate::validate::description(d)
                .map_err(|m| ApiError::invalid_param_because("Description", m))?;
        }
        if let Some(h) = &req.host_name {
            if h.is_empty() || h.len() > 64 || h.starts_with(['.', '-']) || h.ends_with(['.', '-'])
            {
                return Err(ApiError::invalid_param_because(
                    "HostName",
                    "1 to 64 characters, not starting or ending with . or -",
                ));
            }
        }
        let user_data = match &req.user_data {
            Some(u) => Some(
                launch_settings(&RunInstances {
                    user_data: Some(u.clone()),
                    ..Default::default()
                })?
                .0,
            ),
            None => None,
        };
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut inst = self.own_instance(tx, caller, region, id)?;
            if let Some(u) = &user_data {
                if inst.status != "Stopped" {
                    return Err(ApiError::IncorrectInstanceStatus {
                        detail: format!(
                            "The instance is {}; its UserData changes only while Stopped.",
                            inst.status
                        ),
                    }
                    .into());
                }
                inst.user_data = u.clone();
            }
            if let Some(n) = &req.name {
                inst.name = n.clone();
            }
            if let Some(d) = &req.description {
                inst.description = d.clone();
            }
            if let Some(h) = &req.host_name {
                inst.host_name = h.clone();
            }
            tx.instance_update(&inst)?;
            // In the same transaction: a refused group change leaves the rest unchanged too.
            if !req.security_group_ids.is_empty() {
                crate::security_group::change_membership_in(
                    tx,
                    caller,
                    region,
                    crate::security_group::Member::Instance(id),
                    &crate::security_group::Membership::Set(req.security_group_ids.clone()),
                )?;
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// ModifyInstanceMetadataOptions: in any state, at once (the agents follow).
    pub fn modify_instance_metadata_options(
        &self,
        caller: &Caller,
        region: Option<&str>,
        id: &str,
        change: MetadataChange,
    ) -> Result<(), ApiError> {
        if let Some(r) = region {
            self.check_region(r)?;
        }
        change.applied_to(eni_store::MetadataOptions::default())?;
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut inst = self.own_instance(tx, caller, region, id)?;
            let options = change.applied_to(inst.metadata.clone())?;
            if options != inst.metadata {
                inst.metadata = options;
                tx.instance_update(&inst)?;
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// ModifyDiskAttribute of system disks: the name and the description (each kept when not
    /// given), for every disk `disks` names, all or none.
    pub fn modify_disk_attribute(
        &self,
        caller: &Caller,
        region: Option<&str>,
        disks: &[String],
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(r) = region {
            self.check_region(r)?;
        }
        if let Some(n) = name {
            check_disk_name(n)?;
        }
        if let Some(d) = description {
            check_disk_description(d)?;
        }
        self.write(|tx| -> Result<(), CoreError> {
            for disk in disks {
                let inst = disk_instance(disk)
                    .and_then(|i| tx.instance_get(caller.account, &i).transpose())
                    .transpose()?
                    .filter(|i| region.is_none_or(|r| r == i.region_id))
                    .ok_or(ApiError::DiskNotFound)?;
                tx.name_set(
                    eni_store::Table::Disk,
                    caller.account,
                    inst.id.as_str(),
                    name.unwrap_or(&inst.system_disk.name),
                    description.unwrap_or(&inst.system_disk.description),
                )?;
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    fn change_power(
        &self,
        caller: &Caller,
        region: Option<&str>,
        id: &str,
        from: &str,
        via: &str,
        to: &str,
    ) -> Result<(), ApiError> {
        let (t, delay) = (now_ms(), self.instance_delay());
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut inst = self.own_instance(tx, caller, region, id)?;
            if inst.status != from {
                return Err(ApiError::IncorrectInstanceStatus {
                    detail: format!("The instance is {}; it must be {from}.", inst.status),
                }
                .into());
            }
            match delay {
                Some(d) => {
                    inst.status = via.into();
                    inst.due_at = Some(t + d);
                }
                None => {
                    inst.status = to.into();
                    if to == "Running" {
                        inst.started_at = Some(t / 1000);
                    }
                }
            }
            tx.instance_update(&inst)?;
            Ok(())
        })
        .map_err(Into::into)
    }

    /// DeleteInstance / DeleteInstances: the instances must be Stopped unless `force`. The
    /// primary ENI goes with its instance; a secondary ENI is deleted if `DeleteOnRelease`,
    /// otherwise detached back to Available (with a data plane, through Detaching until the
    /// agent reports the instance's namespace gone).
    pub fn delete_instances(
        &self,
        caller: &Caller,
        region: Option<&str>,
        ids: &[String],
        force: bool,
    ) -> Result<(), ApiError> {
        if ids.is_empty() {
            return Err(ApiError::missing("InstanceId"));
        }
        if ids.len() > 100 {
            return Err(ApiError::invalid_param_because(
                "InstanceId.N",
                "at most 100",
            ));
        }
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let mut found = Vec::new();
            for id in ids {
                let inst = self.own_instance(tx, caller, region, id)?;
                if inst.status != "Stopped" && !force {
                    return Err(ApiError::IncorrectInstanceStatus {
                        detail: format!(
                            "The instance is {}; stop it first or use Force.",
                            inst.status
                        ),
                    }
                    .into());
                }
                found.push(inst);
            }
            for inst in found {
                let mut kept = false;
                let enis = tx.eni_list(
                    caller.account,
                    &inst.region_id,
                    &EniQuery {
                        instance_id: Some(inst.id.clone()),
                        ..Default::default()
                    },
                )?;
                for mut eni in enis {
                    // An ENI already being detached is leaving on its own: it stays.
                    if eni.eni_type == "Primary"
                        || (eni.delete_on_release && eni.status != "Detaching")
                    {
                        crate::eni::destroy_eni(tx, &eni)?;
                    } else if self.config().dataplane {
                        // Available only once the agent has removed the instance, and the
                        // NIC with it (`apply_host_report`).
                        eni.status = "Detaching".into();
                        eni.due_at = None;
                        tx.eni_update(&eni)?;
                        kept = true;
                    } else {
                        eni.status = "Detaching".into();
                        complete_eni(tx, eni)?;
                    }
                }
                // Only the agent of the instance's host (any, if it had none) may say its
                // namespace is gone.
                if kept {
                    tx.departure_insert(&inst.id, inst.host_id.as_ref())?;
                }
                if tx.instance_delete(caller.account, &inst.id)? {
                    self.unplace_instance(tx, &inst)?;
                }
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// The views of a page of instances: their ENIs, addresses and EIPs read in a constant
    /// number of statements.
    fn instance_views(
        &self,
        tx: &mut dyn Tx,
        insts: Vec<Instance>,
        t: i64,
    ) -> Result<Vec<InstanceView>, StoreError> {
        let ids: Vec<InstanceId> = insts.iter().map(|i| i.id.clone()).collect();
        let enis: Vec<Eni> = tx
            .enis_of_instances(&ids)?
            .into_iter()
            .filter_map(|e| effective_eni(e, t))
            .filter(|e| e.instance_id.is_some())
            .collect();
        // The page's hosts, each read once (an operator has few).
        let mut hosts: HashMap<HostId, String> = HashMap::new();
        for h in insts.iter().filter_map(|i| i.host_id.as_ref()) {
            if !hosts.contains_key(h) {
                if let Some(host) = tx.host_get(h)? {
                    hosts.insert(h.clone(), host.name);
                }
            }
        }
        let mut by_instance: HashMap<InstanceId, Vec<EniView>> = HashMap::new();
        for v in load_views(tx, enis, t)? {
            if let Some(i) = v.eni.instance_id.clone() {
                by_instance.entry(i).or_default().push(v);
            }
        }
        Ok(insts
            .into_iter()
            .map(|inst| {
                let mut enis = by_instance.remove(&inst.id).unwrap_or_default();
                enis.sort_by_key(|v| v.eni.device_index);
                let instance_type = self
                    .catalog()
                    .instance_type(&inst.instance_type)
                    .cloned()
                    .unwrap_or_else(|| self.catalog().instance_types[0].clone());
                InstanceView {
                    host_name: inst.host_id.as_ref().and_then(|h| hosts.get(h).cloned()),
                    instance: inst,
                    instance_type,
                    enis,
                }
            })
            .collect())
    }

    /// DescribeInstances: every filter narrows in the store, the page's views load in a
    /// constant number of statements, NextToken is a cursor.
    pub fn describe_instances(
        &self,
        caller: &Caller,
        req: DescribeInstances,
    ) -> Result<InstancePage, ApiError> {
        self.check_region(&req.region)?;
        if req.ids.as_ref().is_some_and(|i| i.len() > 100) {
            return Err(ApiError::invalid_param_because(
                "InstanceIds",
                "at most 100",
            ));
        }
        let start = req.paging.start()?;
        let Some(filter) = instance_filter(&req) else {
            return Ok(InstancePage {
                items: Vec::new(),
                total: 0,
                page: start.page(),
                next_token: String::new(),
            });
        };
        // Status is filtered as stored: what is due is settled first (see the ENI describe).
        let t = now_ms();
        let (account, region) = (caller.account, req.region.as_str());
        self.read_settled(t, |tx| -> Result<InstancePage, StoreError> {
            let page = page_of(
                tx,
                start,
                |tx| tx.instance_find_count(account, region, &filter),
                |tx, w| tx.instance_find(account, region, &filter, w),
                |i| {
                    let i = effective_instance(i, t);
                    req.status
                        .as_ref()
                        .is_none_or(|s| s == &i.status)
                        .then_some(i)
                },
            )?;
            Ok(InstancePage {
                items: self.instance_views(tx, page.items, t)?,
                total: page.total,
                page: page.page,
                next_token: page.next_token,
            })
        })
        .map_err(internal)
    }
}

/// The store filter of a DescribeInstances request; `None` when a value cannot match anything.
fn instance_filter(req: &DescribeInstances) -> Option<InstanceFilter> {
    fn parsed<T: std::str::FromStr>(v: &Option<String>) -> Option<Option<T>> {
        match v {
            None => Some(None),
            Some(s) => s.parse().ok().map(Some),
        }
    }
    Some(InstanceFilter {
        ids: req
            .ids
            .as_ref()
            .map(|ids| ids.iter().filter_map(|s| s.parse().ok()).collect()),
        vpc_id: parsed(&req.vpc_id)?,
        vswitch_id: parsed(&req.vswitch_id)?,
        zone_id: req.zone_id.clone(),
        instance_type: req.instance_type.clone(),
        status: req.status.clone(),
        name: req.name.clone(),
        security_group_id: parsed(&req.security_group_id)?,
        private_ips: req.private_ips.as_ref().map(|ips| {
            ips.iter()
                .filter_map(|s| s.parse::<std::net::Ipv4Addr>().ok().map(u32::from))
                .collect()
        }),
        tags: crate::query::tag_filter(&req.tags),
    })
}
