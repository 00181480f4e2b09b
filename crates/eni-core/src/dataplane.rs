//! The control plane's side of the data plane: each host's desired state, and the agent's
//! reports that complete Attaching and Detaching.
//!
//! With a data plane (`CoreConfig::dataplane`), an ENI leaves Attaching for InUse only when the
//! agent reports its NIC configured, and leaves Detaching for Available only when the agent
//! reports it gone. Without one, the transitions complete after the configured delay.
//!
//! One host for now: every instance is placed on every reporting host's desired state.
//! Placement across several hosts is the next step (see ARCHITECTURE.md).

use crate::eni::load_view;
use crate::transitions::{complete_eni, effective_eni, effective_instance, settle_due};
use crate::{internal, now_ms, Core, CoreError};
use eni_ipam::Ipv4Cidr;
use eni_store::{with_read, with_write, EniQuery, StoreError};
use eni_types::hoststate::{
    EniDesired, HostDesired, HostReport, InstanceDesired, VSwitchDesired, VpcDesired,
};
use eni_types::ApiError;
use std::collections::{BTreeMap, BTreeSet};

impl Core {
    /// The generation of the data-plane view now.
    pub fn dataplane_generation(&self) -> Result<u64, ApiError> {
        with_read(self.store(), |tx| tx.dataplane_generation()).map_err(internal)
    }

    /// Everything `host_id` should have configured.
    pub fn host_desired(&self, host_id: &str) -> Result<HostDesired, ApiError> {
        let t = now_ms();
        with_read(self.store(), |tx| -> Result<HostDesired, StoreError> {
            let generation = tx.dataplane_generation()?;
            let mut vpcs: BTreeMap<String, VpcDesired> = BTreeMap::new();
            let mut instances = Vec::new();
            for inst in tx.instance_list_all()? {
                let inst = effective_instance(inst, t);
                let Some(vpc_id) = inst.vpc_id.clone() else {
                    continue;
                };
                let ty = self.catalog().instance_type(&inst.instance_type);
                let mut enis = Vec::new();
                let query = EniQuery {
                    instance_id: Some(inst.id.clone()),
                    ..Default::default()
                };
                for eni in tx.eni_list(inst.account_id, &inst.region_id, &query)? {
                    let Some(eni) = effective_eni(eni, t) else {
                        continue;
                    };
                    // Attaching and InUse want a NIC; Detaching wants it gone.
                    if eni.instance_id.as_ref() != Some(&inst.id)
                        || !(eni.status == "Attaching" || eni.status == "InUse")
                    {
                        continue;
                    }
                    let Some(vsw) = tx.vswitch_get(inst.account_id, &eni.vswitch_id)? else {
                        continue;
                    };
                    let Ok(cidr) = vsw.cidr_block.parse::<Ipv4Cidr>() else {
                        continue;
                    };
                    let gateway = cidr.gateway().to_string();
                    let entry = vpcs
                        .entry(vpc_id.to_string())
                        .or_insert_with(|| VpcDesired {
                            vpc_id: vpc_id.to_string(),
                            cidr_block: String::new(),
                            vswitches: Vec::new(),
                        });
                    if !entry
                        .vswitches
                        .iter()
                        .any(|v| v.vswitch_id == vsw.id.as_str())
                    {
                        entry.vswitches.push(VSwitchDesired {
                            vswitch_id: vsw.id.to_string(),
                            cidr_block: vsw.cidr_block.clone(),
                            gateway: gateway.clone(),
                            ipv6_cidr_block: vsw.ipv6_cidr_block.clone(),
                        });
                    }
                    let view = load_view(tx, eni)?;
                    enis.push(EniDesired {
                        eni_id: view.eni.id.to_string(),
                        mac: view.eni.mac.clone(),
                        device_index: view.eni.device_index.unwrap_or(0),
                        vswitch_id: vsw.id.to_string(),
                        cidr_block: vsw.cidr_block.clone(),
                        gateway,
                        private_ips: view.private_ips.iter().map(|i| i.to_string()).collect(),
                        ipv4_prefixes: view.ipv4_prefixes.clone(),
                        ipv6_cidr_block: vsw.ipv6_cidr_block.clone(),
                        ipv6_addresses: view.ipv6.clone(),
                        ipv6_prefixes: view.ipv6_prefixes.clone(),
                    });
                }
                enis.sort_by_key(|e| e.device_index);
                if let Some(vpc) = tx.vpc_get(inst.account_id, &vpc_id)? {
                    let entry = vpcs
                        .entry(vpc_id.to_string())
                        .or_insert_with(|| VpcDesired {
                            vpc_id: vpc_id.to_string(),
                            cidr_block: String::new(),
                            vswitches: Vec::new(),
                        });
                    entry.cidr_block = vpc.cidr_block.clone();
                }
                instances.push(InstanceDesired {
                    instance_id: inst.id.to_string(),
                    vpc_id: vpc_id.to_string(),
                    running: inst.status == "Running",
                    bandwidth_rx_kbps: ty.map(|t| t.instance_bandwidth_rx).unwrap_or(0),
                    bandwidth_tx_kbps: ty.map(|t| t.instance_bandwidth_tx).unwrap_or(0),
                    enis,
                });
            }
            Ok(HostDesired {
                host_id: host_id.to_string(),
                generation,
                vpcs: vpcs.into_values().collect(),
                instances,
            })
        })
        .map_err(internal)
    }

    /// An agent's report: Attaching ENIs it has configured become InUse; Detaching ENIs it no
    /// longer has become Available.
    pub fn apply_host_report(&self, _host_id: &str, report: &HostReport) -> Result<(), ApiError> {
        let attached: BTreeSet<(String, String)> = report
            .attached
            .iter()
            .map(|a| (a.eni_id.clone(), a.instance_id.clone()))
            .collect();
        let t = now_ms();
        with_write(self.store(), |tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            for inst in tx.instance_list_all()? {
                let query = EniQuery {
                    instance_id: Some(inst.id.clone()),
                    ..Default::default()
                };
                for mut eni in tx.eni_list(inst.account_id, &inst.region_id, &query)? {
                    let key = (eni.id.to_string(), inst.id.to_string());
                    match eni.status.as_str() {
                        "Attaching" if attached.contains(&key) => {
                            eni.status = "InUse".into();
                            eni.due_at = None;
                            tx.eni_update(&eni)?;
                        }
                        "Detaching" if !attached.contains(&key) => complete_eni(tx, eni)?,
                        _ => {}
                    }
                }
            }
            Ok(())
        })
        .map_err(Into::into)
    }
}
