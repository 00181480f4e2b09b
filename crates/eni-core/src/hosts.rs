//! Data-plane hosts. An agent registers its host (name, zone, underlay address, vCPU
//! capacity) through the internal API, and every later call of it counts as a sign of life.
//! The ECS API shows each (name, zone) as an Alibaba dedicated host (`DescribeDedicatedHosts`,
//! `dh-…`): `Available` while its agent called within [`CoreConfig::host_silence_ms`], else
//! `UnderAssessment`. Hosts are the operator's machines, so every account sees them all.
//!
//! Instances are placed on hosts when they are created: on the host `DedicatedHostId` names
//! (in the instance's zone, `Available`, with room), else on the `Available` host of the zone
//! with the most vCPUs free (spreading the load). A zone with no registered host keeps the
//! one-host behaviour: its instances have no host and every agent serves them. An instance
//! takes its type's vCPUs from its host's capacity until it is deleted, running or not; the
//! host row keeps the sum (`Tx::host_use`), so placing one reads one row per host of the zone
//! however many instances there are. Placement runs in the creating write transaction, so two
//! creates never share the last room of a host.
//!
//! [`CoreConfig::host_silence_ms`]: crate::CoreConfig::host_silence_ms

use crate::query::{paginate, Page, Paged};
use crate::{internal, now, now_ms, Caller, Core, CoreError};
use eni_store::{with_read, Host, Instance, StoreError, Tx};
use eni_types::hoststate::HostRegistration;
use eni_types::ids::HostId;
use eni_types::ApiError;
use std::net::IpAddr;

/// A host as `DescribeDedicatedHosts` shows it to one account.
#[derive(Debug, Clone)]
pub struct HostView {
    pub host: Host,
    pub region_id: String,
    /// `Available` or `UnderAssessment`.
    pub status: &'static str,
    /// vCPUs its instances take (every account's).
    pub used_vcpus: u64,
    /// The caller's instances on it, oldest first (another account's are not the caller's
    /// to see).
    pub instances: Vec<Instance>,
}

/// A DescribeDedicatedHosts request.
#[derive(Debug, Clone, Default)]
pub struct DescribeDedicatedHosts {
    pub region: String,
    pub ids: Option<Vec<String>>,
    pub zone_id: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub page: Page,
}

/// The statuses Alibaba's filter takes; an eni host is only ever the first two, so the others
/// match nothing (any other value is refused).
const STATUSES: [&str; 5] = [
    "Available",
    "UnderAssessment",
    "PermanentFailure",
    "TempUnavailable",
    "Redeploying",
];

impl Core {
    /// The region of `zone`, if the catalog has it.
    fn region_of_zone(&self, zone: &str) -> Option<&str> {
        self.catalog()
            .regions
            .iter()
            .find(|r| r.zones.iter().any(|z| z.zone_id == zone))
            .map(|r| r.region_id.as_str())
    }

    /// Whether a host whose agent last called at `last_seen_at` (Unix ms) counts as alive at
    /// `now_ms`.
    fn host_status(&self, host: &Host, now_ms: i64) -> &'static str {
        if now_ms - host.last_seen_at <= self.config().host_silence_ms {
            "Available"
        } else {
            "UnderAssessment"
        }
    }

    /// Registers host `name` in a zone (again: its address and capacity change, its ID
    /// stays); the call counts as a sign of life.
    pub fn register_host(&self, name: &str, reg: &HostRegistration) -> Result<Host, ApiError> {
        if self.region_of_zone(&reg.zone_id).is_none() {
            return Err(ApiError::ZoneNotFound);
        }
        if reg.underlay_address.parse::<IpAddr>().is_err() {
            return Err(ApiError::invalid_param_because(
                "underlay_address",
                "an IPv4 or IPv6 address",
            ));
        }
        let t = now_ms();
        self.write(|tx| -> Result<Host, CoreError> {
            let host = match tx.host_by_name(name, &reg.zone_id)? {
                Some(h) => {
                    let h = Host {
                        underlay_address: reg.underlay_address.clone(),
                        capacity_vcpus: reg.capacity_vcpus,
                        last_seen_at: t.max(h.last_seen_at),
                        ..h
                    };
                    tx.host_update(&h)?;
                    h
                }
                None => {
                    let region = self.region_of_zone(&reg.zone_id).unwrap_or_default();
                    let h = Host {
                        id: HostId::generate(region),
                        seq: 0,
                        name: name.to_string(),
                        zone_id: reg.zone_id.clone(),
                        underlay_address: reg.underlay_address.clone(),
                        capacity_vcpus: reg.capacity_vcpus,
                        used_vcpus: 0,
                        last_seen_at: t,
                        created_at: now(),
                    };
                    tx.host_insert(&h)?;
                    h
                }
            };
            tx.host_seen(name, t)?;
            Ok(host)
        })
        .map_err(Into::into)
    }

    /// Records a call of host `name`'s agent (a sign of life for every zone it serves). A
    /// name no host was registered under changes nothing. A write only when the last one
    /// recorded is older than a tenth of the silence allowed: an agent polls every 2 s, and a
    /// write takes the store's write lock.
    pub fn host_called(&self, name: &str) -> Result<(), ApiError> {
        let t = now_ms();
        let fresh = t - self.config().host_silence_ms / 10;
        let stale = with_read(self.store(), |tx| -> Result<bool, StoreError> {
            Ok(tx
                .host_list()?
                .iter()
                .any(|h| h.name == name && h.last_seen_at < fresh))
        })
        .map_err(internal)?;
        if !stale {
            return Ok(());
        }
        self.write(|tx| -> Result<u64, CoreError> { Ok(tx.host_seen(name, t)?) })
            .map(|_| ())
            .map_err(Into::into)
    }

    /// Removes host `name` (in `zone`, or in every zone it serves), which must hold no
    /// instance: a host gone for good would otherwise keep its zone refusing new instances.
    pub fn remove_host(&self, name: &str, zone: Option<&str>) -> Result<u64, ApiError> {
        self.write(|tx| -> Result<u64, CoreError> {
            let hosts: Vec<Host> = tx
                .host_list()?
                .into_iter()
                .filter(|h| h.name == name && zone.is_none_or(|z| z == h.zone_id))
                .collect();
            if hosts.is_empty() {
                return Err(ApiError::DedicatedHostNotFound.into());
            }
            for h in &hosts {
                let n = tx.instances_on_host(&h.id)?.len();
                if n > 0 {
                    return Err(ApiError::DependencyViolation {
                        detail: format!(
                            "host {name} in {} still runs {n} instance(s): delete them first",
                            h.zone_id
                        ),
                    }
                    .into());
                }
            }
            for h in &hosts {
                tx.host_delete(&h.id)?;
            }
            Ok(hosts.len() as u64)
        })
        .map_err(Into::into)
    }

    /// DescribeDedicatedHosts: the hosts of the region's zones, oldest first, each with the
    /// caller's instances on it.
    pub fn describe_dedicated_hosts(
        &self,
        caller: &Caller,
        req: DescribeDedicatedHosts,
    ) -> Result<Paged<HostView>, ApiError> {
        self.check_region(&req.region)?;
        if let Some(z) = &req.zone_id {
            self.catalog()
                .zone(&req.region, z)
                .ok_or(ApiError::DedicatedHostZoneNotFound)?;
        }
        if let Some(s) = &req.status {
            if !STATUSES.contains(&s.as_str()) {
                return Err(ApiError::StatusNotSupported);
            }
        }
        let t = now_ms();
        with_read(self.store(), |tx| -> Result<Paged<HostView>, StoreError> {
            let mut matching = Vec::new();
            for host in tx.host_list()? {
                let Some(region) = self.region_of_zone(&host.zone_id) else {
                    continue;
                };
                let status = self.host_status(&host, t);
                let keep = region == req.region
                    && req
                        .ids
                        .as_ref()
                        .is_none_or(|ids| ids.iter().any(|i| i == host.id.as_str()))
                    && req.zone_id.as_ref().is_none_or(|z| z == &host.zone_id)
                    && req.name.as_ref().is_none_or(|n| n == &host.name)
                    && req.status.as_deref().is_none_or(|s| s == status);
                if keep {
                    matching.push((host, region.to_string(), status));
                }
            }
            // Hosts are few; their instances are read for the page's hosts only.
            let page = paginate(matching, req.page);
            let mut items = Vec::new();
            for (host, region_id, status) in page.items {
                let mut instances = tx.instances_on_host(&host.id)?;
                instances.retain(|i| i.account_id == caller.account);
                items.push(HostView {
                    region_id,
                    status,
                    used_vcpus: host.used_vcpus,
                    instances,
                    host,
                });
            }
            Ok(Paged {
                items,
                total: page.total,
                page: page.page,
            })
        })
        .map_err(internal)
    }

    /// The vCPUs an instance of type `ty` takes (an unknown type, from an older catalog,
    /// takes none).
    pub(crate) fn vcpus_of(&self, ty: &str) -> i64 {
        self.catalog()
            .instance_type(ty)
            .map_or(0, |t| i64::from(t.cpu_core_count))
    }

    /// Frees the vCPUs a deleted instance took on its host.
    pub(crate) fn unplace_instance(
        &self,
        tx: &mut dyn Tx,
        inst: &Instance,
    ) -> Result<(), StoreError> {
        let vcpus = match inst.host_vcpus {
            0 => self.vcpus_of(&inst.instance_type),
            n => i64::from(n),
        };
        match &inst.host_id {
            Some(h) => tx.host_use(h, -vcpus),
            None => Ok(()),
        }
    }

    /// The host a new instance of `vcpus` vCPUs in `zone` goes on, in the creating
    /// transaction: the one `pinned` names (which must exist, be in the zone, be `Available`
    /// and have room), else the `Available` host of the zone with the most vCPUs free; `None`
    /// when the zone has no registered host, unless a `dedicated` host was asked for.
    pub(crate) fn place_instance(
        &self,
        tx: &mut dyn Tx,
        zone: &str,
        vcpus: u32,
        pinned: Option<&str>,
        dedicated: bool,
        now_ms: i64,
    ) -> Result<Option<HostId>, CoreError> {
        let room = |h: &Host| u64::from(h.capacity_vcpus).saturating_sub(h.used_vcpus);
        let take = |tx: &mut dyn Tx, id: HostId| -> Result<Option<HostId>, CoreError> {
            tx.host_use(&id, i64::from(vcpus))?;
            Ok(Some(id))
        };
        if let Some(id) = pinned {
            let id: HostId = id.parse().map_err(|_| ApiError::DedicatedHostNotFound)?;
            let host = tx.host_get(&id)?.ok_or(ApiError::DedicatedHostNotFound)?;
            if host.zone_id != zone {
                return Err(ApiError::DedicatedHostZoneMismatch.into());
            }
            if self.host_status(&host, now_ms) != "Available" {
                return Err(ApiError::DedicatedHostStatus.into());
            }
            if room(&host) < u64::from(vcpus) {
                return Err(ApiError::NoAvailableDedicatedHost.into());
            }
            return take(tx, host.id);
        }
        let in_zone: Vec<Host> = tx
            .host_list()?
            .into_iter()
            .filter(|h| h.zone_id == zone)
            .collect();
        if in_zone.is_empty() {
            return if dedicated {
                Err(ApiError::NoAvailableDedicatedHost.into())
            } else {
                Ok(None)
            };
        }
        let mut best: Option<(u64, HostId)> = None;
        for h in in_zone {
            if self.host_status(&h, now_ms) != "Available" {
                continue;
            }
            let free = room(&h);
            if free >= u64::from(vcpus) && best.as_ref().is_none_or(|(f, _)| free > *f) {
                best = Some((free, h.id));
            }
        }
        match best {
            Some((_, id)) => take(tx, id),
            None => Err(ApiError::NoAvailableDedicatedHost.into()),
        }
    }
}
