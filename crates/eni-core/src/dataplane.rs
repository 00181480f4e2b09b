//! The control plane's side of the data plane: each host's desired state, and the agent's
//! reports that complete Attaching and Detaching.
//!
//! With a data plane (`CoreConfig::dataplane`), an ENI leaves Attaching for InUse only when the
//! agent reports its NIC configured, and leaves Detaching for Available only when the agent
//! reports it gone. Without one, the transitions complete after the configured delay.
//!
//! Security groups travel with each VPC: all its ENIs (attached or not) with their groups, and
//! those groups' rules, which the agent compiles into one ruleset per VPC router.
//!
//! One host for now: every instance is placed on every reporting host's desired state.
//! Placement across several hosts is the next step (see ARCHITECTURE.md).

use crate::eni::load_view;
use crate::transitions::{complete_eni, effective_eni, effective_instance, settle_due};
use crate::{internal, now_ms, Core, CoreError};
use eni_ipam::Ipv4Cidr;
use eni_store::{with_read, with_write, EniQuery, StoreError};
use eni_store::{SecurityGroupRule, SgDirection, SgPolicy, SgPortRange, Tx};
use eni_types::hoststate::{
    Direction, EipDesired, EniDesired, HostDesired, HostReport, InstanceDesired,
    SecurityGroupDesired, SgRuleDesired, VSwitchDesired, VpcDesired, VpcEni,
};
use eni_types::ids::{AccountId, VpcId};
use eni_types::ApiError;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Fills in the security groups of a VPC: every ENI of it with its addresses and groups
/// (attached or not: an attach then changes no rule), each of those groups with its inner
/// access policy and rules; and the VPC's associated EIPs.
fn guard_vpc(
    tx: &mut dyn Tx,
    account: AccountId,
    region: &str,
    vpc_id: &VpcId,
    vpc: &mut VpcDesired,
) -> Result<(), StoreError> {
    let query = EniQuery {
        vpc_id: Some(vpc_id.clone()),
        ..Default::default()
    };
    let mut groups = BTreeSet::new();
    for eni in tx.eni_list(account, region, &query)? {
        let view = load_view(tx, eni)?;
        // Prefixes too: their addresses are the ENI's, under the same groups.
        let mut addresses: Vec<String> = view.private_ips.iter().map(|i| i.to_string()).collect();
        addresses.extend(view.ipv4_prefixes.iter().cloned());
        addresses.extend(view.ipv6.iter().cloned());
        addresses.extend(view.ipv6_prefixes.iter().cloned());
        groups.extend(view.eni.security_group_ids.iter().cloned());
        vpc.enis.push(VpcEni {
            eni_id: view.eni.id.to_string(),
            addresses,
            security_groups: view
                .eni
                .security_group_ids
                .iter()
                .map(|g| g.to_string())
                .collect(),
        });
    }
    for e in tx.eips_associated_in_vpc(vpc_id)? {
        vpc.eips.push(EipDesired {
            eip: e.public_ip.to_string(),
            private_ip: e.private_ip.to_string(),
        });
    }
    for g in groups {
        let Some(policy) = tx.sg_inner_access_policy(&g)? else {
            continue;
        };
        let rules = tx.sg_rules_of(&g)?.iter().map(rule_desired).collect();
        vpc.security_groups.push(SecurityGroupDesired {
            security_group_id: g.to_string(),
            inner_accept: policy == SgPolicy::Accept,
            rules,
        });
    }
    Ok(())
}

/// A stored rule as the data plane reads it: the remote side (sources of an ingress rule,
/// destinations of an egress one) and the group's own side.
fn rule_desired(r: &SecurityGroupRule) -> SgRuleDesired {
    let (direction, remote, local) = match r.direction {
        SgDirection::Ingress => (
            Direction::Ingress,
            [&r.source_cidr_ip, &r.ipv6_source_cidr_ip],
            [&r.dest_cidr_ip, &r.ipv6_dest_cidr_ip],
        ),
        SgDirection::Egress => (
            Direction::Egress,
            [&r.dest_cidr_ip, &r.ipv6_dest_cidr_ip],
            [&r.source_cidr_ip, &r.ipv6_source_cidr_ip],
        ),
    };
    let set = |xs: [&String; 2]| xs.into_iter().find(|x| !x.is_empty()).cloned();
    // A range that covers every port is no port match at all.
    let ports = |(a, b): SgPortRange| {
        let whole = a <= 1 && b >= 65535;
        (r.protocol.has_ports() && a >= 1 && !whole)
            .then(|| (a.clamp(1, 65535) as u16, b.clamp(1, 65535) as u16))
    };
    SgRuleDesired {
        direction,
        priority: r.priority,
        accept: r.policy == SgPolicy::Accept,
        protocol: r.protocol.as_str().to_ascii_lowercase(),
        ports: ports(r.port_range),
        source_ports: r.source_port_range.and_then(ports),
        cidr: if r.peer_group_id.is_some() {
            None
        } else {
            set(remote)
        },
        peer_group: r.peer_group_id.as_ref().map(|g| g.to_string()),
        local_cidr: set(local),
    }
}

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
            // Whose VPC each is, to list its ENIs and groups below.
            let mut owners: BTreeMap<String, (AccountId, String, VpcId)> = BTreeMap::new();
            let mut instances = Vec::new();
            for inst in tx.instance_list_all()? {
                let inst = effective_instance(inst, t);
                let Some(vpc_id) = inst.vpc_id.clone() else {
                    continue;
                };
                owners.insert(
                    vpc_id.to_string(),
                    (inst.account_id, inst.region_id.clone(), vpc_id.clone()),
                );
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
                            security_groups: Vec::new(),
                            enis: Vec::new(),
                            eips: Vec::new(),
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
                            security_groups: Vec::new(),
                            enis: Vec::new(),
                            eips: Vec::new(),
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
            for (id, vpc) in vpcs.iter_mut() {
                if let Some((account, region, vpc_id)) = owners.get(id) {
                    guard_vpc(tx, *account, region, vpc_id, vpc)?;
                }
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
    /// longer has become Available; Associating EIPs it NATs become InUse, Unassociating ones
    /// it no longer NATs Available. An EIP in a VPC the host has no router for (no instance
    /// there) needs nothing configured and completes at once.
    pub fn apply_host_report(&self, _host_id: &str, report: &HostReport) -> Result<(), ApiError> {
        let attached: BTreeSet<(String, String)> = report
            .attached
            .iter()
            .map(|a| (a.eni_id.clone(), a.instance_id.clone()))
            .collect();
        let natted: BTreeSet<&str> = report.eips.iter().map(String::as_str).collect();
        let t = now_ms();
        with_write(self.store(), |tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            let instances = tx.instance_list_all()?;
            let served: BTreeSet<VpcId> =
                instances.iter().filter_map(|i| i.vpc_id.clone()).collect();
            for mut eip in tx.eips_awaiting_dataplane()? {
                let Some(b) = &eip.binding else { continue };
                let routed = served.contains(&b.vpc_id);
                let here = routed && natted.contains(Ipv4Addr::from(eip.ip).to_string().as_str());
                match eip.status.as_str() {
                    "Associating" if here || !routed => {
                        eip.status = "InUse".into();
                        tx.eip_update(&eip)?;
                    }
                    "Unassociating" if !here => {
                        eip.status = "Available".into();
                        eip.binding = None;
                        tx.eip_update(&eip)?;
                    }
                    _ => {}
                }
            }
            for inst in instances {
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
