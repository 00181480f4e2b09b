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
//! Each agent serves the instances placed on its host (see `hosts.rs`), and every instance
//! with no host (a zone with no registered host: the one-host case); only those go into its
//! desired state, and its report settles only their ENIs.
//!
//! The overlay (spec §3.7, §10.5): a registered host gets its endpoint (underlay address,
//! router address and MAC, from its sequence number), and each of its VPCs the VPC's VNI
//! (the VPC's sequence number) and the other hosts holding addresses of the VPC, with those
//! addresses: every agent routes a remote address to the host its ENI is attached on. An
//! EIP is NAT-ed on the host of the instance its ENI is attached to (so what the instance
//! sends leaves as the EIP from where it runs), and nowhere while its ENI is attached nowhere
//! (there is nothing to reach). `internet` lists the other hosts with the EIPs they NAT.
//!
//! Agents poll for deltas (`host_delta`): the state is partitioned by VPC (each VPC's section
//! and the host's instances in it depend on that VPC's rows alone, plus the hosts and, for the
//! EIPs NAT-ed here, the instances of the same VPC), so the VPCs the store's change log names
//! since the agent's generation are re-read and sent whole, and nothing else is; the
//! `internet` list, which depends on every EIP, is re-read when the log says it may have moved.

use crate::eni::{view_from_rows, EniView};
use crate::transitions::{complete_eni, effective_eni, effective_instance, settle_due};
use crate::{internal, now_ms, Core, CoreError};
use eni_ipam::Ipv4Cidr;
use eni_store::{with_read, EniQuery, StoreError, SCOPE_ALL, SCOPE_INTERNET};
use eni_store::{
    EipAssociation, Eni, Instance, Ipv6Entry, PrivateIp, SecurityGroupRule, SgDirection, SgPolicy,
    SgPortRange, Tx, VSwitch, Vpc,
};
use eni_types::hoststate::INTERNET_VNI;
use eni_types::hoststate::{
    Direction, EipDesired, EipMode, EniDesired, HostDelta, HostDesired, HostReport,
    InstanceDesired, InstanceMeta, OverlayEndpoint, RemoteHost, SecurityGroupDesired,
    SgRuleDesired, VSwitchDesired, VpcDesired, VpcEni,
};
use eni_types::ids::{AccountId, EniId, HostId, InstanceId, SecurityGroupId, VSwitchId, VpcId};
use eni_types::ApiError;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;

/// Every row `host_desired` reads, each table read once in one transaction (a fixed number
/// of queries however many instances and ENIs there are), indexed for the assembly. The
/// lookups keep the scoping of the per-row reads they replace (an instance's account and
/// region for its ENIs, vSwitches and VPC), so the result is the same.
struct Tables {
    instances: Vec<Instance>,
    hosts: Hosts,
    /// Every VPC's VNI.
    vnis: HashMap<VpcId, u32>,
    /// Every ENI, oldest first; the maps below hold indices into it, in the same order.
    enis: Vec<Eni>,
    enis_by_id: HashMap<EniId, usize>,
    enis_by_instance: HashMap<InstanceId, Vec<usize>>,
    enis_by_vpc: HashMap<VpcId, Vec<usize>>,
    vswitches: HashMap<VSwitchId, VSwitch>,
    vpcs: HashMap<VpcId, Vpc>,
    /// Addresses by owner, each owner's in `private_ips_of` / `ipv6_of` order.
    ips: HashMap<String, Vec<PrivateIp>>,
    ipv6: HashMap<String, Vec<Ipv6Entry>>,
    policies: HashMap<SecurityGroupId, SgPolicy>,
    /// Rules by group, each group's oldest first.
    rules: HashMap<SecurityGroupId, Vec<SecurityGroupRule>>,
    eips: HashMap<VpcId, Vec<EipAssociation>>,
    /// The EIPs on each ENI's NIC (BINDED and MULTI_BINDED), from `eips`.
    visible: HashMap<EniId, Vec<Visible>>,
}

/// An EIP on its ENI's NIC, and the private address it stands for.
struct Visible {
    public_ip: Ipv4Addr,
    private_ip: Ipv4Addr,
    /// BINDED: the private address is off the NIC, the EIP in its place.
    replaces: bool,
}

/// The visible EIPs of `eips`, by ENI.
fn visible_of(eips: &HashMap<VpcId, Vec<EipAssociation>>) -> HashMap<EniId, Vec<Visible>> {
    let mut out: HashMap<EniId, Vec<Visible>> = HashMap::new();
    for e in eips.values().flatten() {
        let mode = EipMode::parse(&e.mode).unwrap_or_default();
        if mode.visible() {
            out.entry(e.eni_id.clone()).or_default().push(Visible {
                public_ip: e.public_ip,
                private_ip: e.private_ip,
                replaces: mode == EipMode::Binded,
            });
        }
    }
    // In address order, the same on every read.
    for list in out.values_mut() {
        list.sort_by_key(|v| v.public_ip);
    }
    out
}

impl Tables {
    /// What agent `host` needs: the instances it serves (by index), every host, vSwitch and
    /// VPC (few next to ENIs), and of the rest only what concerns the VPCs of the instances
    /// it serves: their ENIs with their addresses and the instances holding them, their
    /// groups with their rules; and the associated EIPs with their ENIs and instances (the
    /// internet between hosts). So its cost follows the host's VPCs, not the store.
    ///
    /// With [`Scope::Only`], only the served instances of the VPCs named there and what
    /// concerns those VPCs (and the EIPs of every VPC when the internet may have changed).
    fn read_for(tx: &mut dyn Tx, host: &str, scope: &Scope) -> Result<Self, StoreError> {
        let hosts = Hosts::read(tx)?;
        // The instances it serves (by index), then those that hold ENIs read below.
        let mut instances = tx.instances_unplaced()?;
        for (id, name) in &hosts.names {
            if name == host {
                instances.extend(tx.instances_on_host(id)?);
            }
        }
        instances.retain(|i| scope.covers(i.vpc_id.as_ref()));
        if instances.is_empty() && !scope.internet() {
            return Ok(Self::empty(hosts));
        }
        let vnis = tx
            .vpc_seqs_all()?
            .into_iter()
            .filter_map(|(id, seq)| Some((id, vni(seq)?)))
            .collect();
        let vpcs: HashMap<VpcId, Vpc> = tx
            .vpc_list_all()?
            .into_iter()
            .map(|v| (v.id.clone(), v))
            .collect();
        let served: BTreeSet<VpcId> = instances.iter().filter_map(|i| i.vpc_id.clone()).collect();
        let mut enis: Vec<Eni> = Vec::new();
        for vpc in served.iter().filter_map(|id| vpcs.get(id)) {
            let query = EniQuery {
                vpc_id: Some(vpc.id.clone()),
                ..Default::default()
            };
            enis.extend(tx.eni_list(vpc.account_id, &vpc.region_id, &query)?);
        }
        let mut eips: HashMap<VpcId, Vec<EipAssociation>> = HashMap::new();
        if scope.internet() {
            for (vpc, e) in tx.eips_associated_all()? {
                eips.entry(vpc).or_default().push(e);
            }
            // The ENIs of EIPs in other VPCs, one query per VPC: where their NAT is.
            let have: HashSet<EniId> = enis.iter().map(|e| e.id.clone()).collect();
            for (vpc, list) in &eips {
                let Some(owner) = vpcs.get(vpc).filter(|_| !served.contains(vpc)) else {
                    continue;
                };
                let ids: Vec<EniId> = list
                    .iter()
                    .filter(|e| !have.contains(&e.eni_id))
                    .map(|e| e.eni_id.clone())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let query = EniQuery {
                    ids: Some(ids),
                    ..Default::default()
                };
                enis.extend(tx.eni_list(owner.account_id, &owner.region_id, &query)?);
            }
        } else {
            for vpc in &served {
                eips.insert(vpc.clone(), tx.eips_associated_in_vpc(vpc)?);
            }
        }
        let known: HashSet<&InstanceId> = instances.iter().map(|i| &i.id).collect();
        let holders: Vec<InstanceId> = enis
            .iter()
            .filter_map(|e| e.instance_id.as_ref())
            .filter(|i| !known.contains(i))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        instances.extend(tx.instances_by_ids(&holders)?);
        let mut enis_by_instance: HashMap<InstanceId, Vec<usize>> = HashMap::new();
        let mut enis_by_vpc: HashMap<VpcId, Vec<usize>> = HashMap::new();
        let mut enis_by_id = HashMap::new();
        for (i, e) in enis.iter().enumerate() {
            enis_by_id.insert(e.id.clone(), i);
            if let Some(inst) = &e.instance_id {
                enis_by_instance.entry(inst.clone()).or_default().push(i);
            }
            enis_by_vpc.entry(e.vpc_id.clone()).or_default().push(i);
        }
        let owners: Vec<&str> = enis.iter().map(|e| e.id.as_str()).collect();
        let mut ips: HashMap<String, Vec<PrivateIp>> = HashMap::new();
        for ip in tx.private_ips_of_many(&owners)? {
            ips.entry(ip.owner.clone()).or_default().push(ip);
        }
        let mut ipv6: HashMap<String, Vec<Ipv6Entry>> = HashMap::new();
        for e in tx.ipv6_of_many(&owners)? {
            ipv6.entry(e.owner.clone()).or_default().push(e);
        }
        let groups: BTreeSet<&SecurityGroupId> = enis
            .iter()
            .filter(|e| served.contains(&e.vpc_id))
            .flat_map(|e| &e.security_group_ids)
            .collect();
        let mut policies = HashMap::new();
        let mut rules: HashMap<SecurityGroupId, Vec<SecurityGroupRule>> = HashMap::new();
        for g in groups {
            if let Some(p) = tx.sg_inner_access_policy(g)? {
                policies.insert(g.clone(), p);
            }
            rules.insert(g.clone(), tx.sg_rules_of(g)?);
        }
        let vswitches = tx
            .vswitch_list_all()?
            .into_iter()
            .map(|v| (v.id.clone(), v))
            .collect();
        Ok(Self {
            instances,
            hosts,
            vnis,
            enis,
            enis_by_id,
            enis_by_instance,
            enis_by_vpc,
            vswitches,
            vpcs,
            ips,
            ipv6,
            policies,
            rules,
            visible: visible_of(&eips),
            eips,
        })
    }

    /// Nothing but the hosts: no served instance is in scope.
    fn empty(hosts: Hosts) -> Self {
        Self {
            instances: Vec::new(),
            hosts,
            vnis: HashMap::new(),
            enis: Vec::new(),
            enis_by_id: HashMap::new(),
            enis_by_instance: HashMap::new(),
            enis_by_vpc: HashMap::new(),
            vswitches: HashMap::new(),
            vpcs: HashMap::new(),
            ips: HashMap::new(),
            ipv6: HashMap::new(),
            policies: HashMap::new(),
            rules: HashMap::new(),
            eips: HashMap::new(),
            visible: HashMap::new(),
        }
    }

    /// What `eni_list` of the instance's account and region, filtered by the instance,
    /// returns: the ENIs it holds (as stored), oldest first.
    fn enis_of<'a>(&'a self, inst: &'a Instance) -> impl Iterator<Item = &'a Eni> {
        self.indexed(self.enis_by_instance.get(&inst.id))
            .filter(move |e| e.account_id == inst.account_id && e.region_id == inst.region_id)
    }

    /// What `eni_list` of `account` in `region`, filtered by `vpc`, returns.
    fn enis_in<'a>(
        &'a self,
        account: AccountId,
        region: &'a str,
        vpc: &VpcId,
    ) -> impl Iterator<Item = &'a Eni> {
        self.indexed(self.enis_by_vpc.get(vpc))
            .filter(move |e| e.account_id == account && e.region_id == region)
    }

    fn indexed<'a>(&'a self, at: Option<&'a Vec<usize>>) -> impl Iterator<Item = &'a Eni> {
        at.into_iter().flatten().map(|&i| &self.enis[i])
    }

    /// `vswitch_get` of `account`.
    fn vswitch(&self, account: AccountId, id: &VSwitchId) -> Option<&VSwitch> {
        self.vswitches.get(id).filter(|v| v.account_id == account)
    }

    /// `vpc_get` of `account`.
    fn vpc(&self, account: AccountId, id: &VpcId) -> Option<&Vpc> {
        self.vpcs.get(id).filter(|v| v.account_id == account)
    }

    /// The instance ENI `id` is attached to, for a data plane (Attaching or InUse), at `t`.
    fn holder<'a>(
        &self,
        id: &EniId,
        instances: &HashMap<&InstanceId, &'a Instance>,
        t: i64,
    ) -> Option<&'a Instance> {
        let eni = effective_eni(self.enis[*self.enis_by_id.get(id)?].clone(), t)?;
        if !(eni.status == "Attaching" || eni.status == "InUse") {
            return None;
        }
        instances.get(eni.instance_id.as_ref()?).copied()
    }

    /// `load_view` without the EIPs, which the data plane takes per VPC instead.
    fn view(&self, eni: Eni) -> EniView {
        let ips = self.ips.get(eni.id.as_str()).map_or(&[][..], Vec::as_slice);
        let ipv6 = self
            .ipv6
            .get(eni.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        let mut view = view_from_rows(eni, ips, ipv6, Vec::new());
        // A BINDED EIP's private address carries nothing: it is off the NIC, the router and
        // the groups' sets.
        if let Some(list) = self.visible.get(&view.eni.id) {
            view.private_ips
                .retain(|ip| !list.iter().any(|v| v.replaces && v.private_ip == *ip));
        }
        view
    }

    /// The EIPs on ENI `id`'s NIC (the visible modes), in address order.
    fn visible_eips(&self, id: &EniId) -> Vec<Ipv4Addr> {
        self.visible
            .get(id)
            .into_iter()
            .flatten()
            .map(|v| v.public_ip)
            .collect()
    }
}

/// What one desired-state read covers.
enum Scope {
    /// Everything.
    All,
    /// The VPCs that changed (by ID), and the internet if it may have.
    Only {
        vpcs: BTreeSet<String>,
        internet: bool,
    },
}

impl Scope {
    /// From the change log's answer since the agent's generation (`None`: not covered).
    fn of(changes: Option<BTreeSet<String>>) -> Self {
        match changes {
            Some(c) if !c.contains(SCOPE_ALL) => {
                let internet = c.contains(SCOPE_INTERNET);
                let vpcs = c.into_iter().filter(|s| s != SCOPE_INTERNET).collect();
                Scope::Only { vpcs, internet }
            }
            _ => Scope::All,
        }
    }

    /// Whether an instance of `vpc` is in scope.
    fn covers(&self, vpc: Option<&VpcId>) -> bool {
        match self {
            Scope::All => true,
            Scope::Only { vpcs, .. } => vpc.is_some_and(|v| vpcs.contains(v.as_str())),
        }
    }

    /// Whether the internet (every host's EIPs) is read.
    fn internet(&self) -> bool {
        match self {
            Scope::All => true,
            Scope::Only { internet, .. } => *internet,
        }
    }
}

/// The registered hosts (an operator has few): a host is one agent, registered once per zone
/// it serves.
struct Hosts {
    /// Every host's name, by ID.
    names: HashMap<HostId, String>,
    /// Every agent's end of the overlay, by name.
    endpoints: HashMap<String, OverlayEndpoint>,
}

impl Hosts {
    fn read(tx: &mut dyn Tx) -> Result<Self, StoreError> {
        let all = tx.host_list()?;
        let mut endpoints = HashMap::new();
        // One endpoint per name: numbered by its first registration, reached at the address
        // it registered last.
        let mut first: HashMap<&str, i64> = HashMap::new();
        let mut latest: HashMap<&str, &eni_store::Host> = HashMap::new();
        for h in &all {
            let f = first.entry(h.name.as_str()).or_insert(h.seq);
            *f = (*f).min(h.seq);
            let l = latest.entry(h.name.as_str()).or_insert(h);
            if h.last_seen_at > l.last_seen_at {
                *l = h;
            }
        }
        for (name, seq) in first {
            endpoints.insert(
                name.to_string(),
                endpoint(seq, &latest[name].underlay_address),
            );
        }
        let names = all.into_iter().map(|h| (h.id, h.name)).collect();
        Ok(Hosts { names, endpoints })
    }

    /// The name of the host `inst` is placed on.
    fn of(&self, inst: &Instance) -> Option<&str> {
        inst.host_id
            .as_ref()
            .and_then(|id| self.names.get(id))
            .map(String::as_str)
    }

    /// Whether agent `host` serves `inst`: an instance on a registered host is that host's
    /// alone; one with no host (its zone has no registered host) is every agent's, as with
    /// one host.
    fn serve(&self, host: &str, inst: &Instance) -> bool {
        inst.host_id.is_none() || self.of(inst) == Some(host)
    }
}

/// A host's end of the overlay: its router address and MAC come from its sequence number
/// (`169.254.H.L` and `02:00:a9:fe:H:L`, H.L its low 16 bits, so unique among 65 535 hosts).
fn endpoint(seq: i64, underlay: &str) -> OverlayEndpoint {
    let n = (seq.rem_euclid(0xffff) + 1) as u16;
    let [hi, lo] = n.to_be_bytes();
    OverlayEndpoint {
        underlay_address: underlay.to_string(),
        address: format!("169.254.{hi}.{lo}"),
        mac: format!("02:00:a9:fe:{hi:02x}:{lo:02x}"),
    }
}

/// A VPC's VNI: its sequence number, which must fit VXLAN's 24 bits (`None`: it has no
/// overlay).
fn vni(seq: i64) -> Option<u32> {
    u32::try_from(seq)
        .ok()
        .filter(|v| (1..INTERNET_VNI).contains(v))
}

/// Every address and prefix of an ENI as routes name them.
fn routed_addresses(view: &EniView, eips: &[Ipv4Addr]) -> Vec<String> {
    let mut out: Vec<String> = view
        .private_ips
        .iter()
        .chain(eips)
        .map(|i| format!("{i}/32"))
        .collect();
    out.extend(view.ipv4_prefixes.iter().cloned());
    out.extend(view.ipv6.iter().map(|i| format!("{i}/128")));
    out.extend(view.ipv6_prefixes.iter().cloned());
    out
}

/// Fills in the security groups of a VPC: every ENI of it with its addresses and groups
/// (attached or not: an attach then changes no rule), each of those groups with its inner
/// access policy and rules; and the VPC's associated EIPs.
fn guard_vpc(
    tables: &Tables,
    account: AccountId,
    region: &str,
    vpc_id: &VpcId,
    vpc: &mut VpcDesired,
    nat_here: &dyn Fn(&EniId) -> bool,
) {
    let mut groups = BTreeSet::new();
    for eni in tables.enis_in(account, region, vpc_id) {
        let view = tables.view(eni.clone());
        // Prefixes too: their addresses are the ENI's, under the same groups; and the EIPs
        // on its NIC, which the groups see as they are (nothing translates them).
        let mut addresses: Vec<String> = view
            .private_ips
            .iter()
            .chain(&tables.visible_eips(&eni.id))
            .map(|i| i.to_string())
            .collect();
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
    for e in tables.eips.get(vpc_id).into_iter().flatten() {
        if !nat_here(&e.eni_id) {
            continue;
        }
        vpc.eips.push(EipDesired {
            eip: e.public_ip.to_string(),
            private_ip: e.private_ip.to_string(),
            bandwidth_kbps: u64::from(e.bandwidth) * 1000,
            mode: EipMode::parse(&e.mode).unwrap_or_default(),
        });
    }
    for g in groups {
        // A group that no longer exists has no policy, and is left out.
        let Some(policy) = tables.policies.get(&g) else {
            continue;
        };
        let rules = tables
            .rules
            .get(&g)
            .into_iter()
            .flatten()
            .map(rule_desired)
            .collect();
        vpc.security_groups.push(SecurityGroupDesired {
            security_group_id: g.to_string(),
            inner_accept: *policy == SgPolicy::Accept,
            rules,
        });
    }
}

/// Fills in each VPC's remote hosts: every other registered host with ENIs of the VPC attached
/// (Attaching or InUse) to its instances, and their addresses.
fn remotes(tables: &Tables, me: &str, t: i64, vpcs: &mut BTreeMap<String, VpcDesired>) {
    let mut held: BTreeMap<(String, &str), Vec<String>> = BTreeMap::new();
    for inst in &tables.instances {
        let (Some(host), Some(vpc_id)) = (tables.hosts.of(inst), &inst.vpc_id) else {
            continue;
        };
        if host == me || vpcs.get(vpc_id.as_str()).is_none_or(|v| v.vni == 0) {
            continue;
        }
        for eni in tables.enis_of(inst) {
            let Some(eni) = effective_eni(eni.clone(), t) else {
                continue;
            };
            if eni.instance_id.as_ref() == Some(&inst.id)
                && (eni.status == "Attaching" || eni.status == "InUse")
            {
                let eips = tables.visible_eips(&eni.id);
                held.entry((vpc_id.to_string(), host))
                    .or_default()
                    .extend(routed_addresses(&tables.view(eni), &eips));
            }
        }
    }
    for ((vpc, host), addresses) in held {
        let (Some(v), Some(endpoint)) = (vpcs.get_mut(&vpc), tables.hosts.endpoints.get(host))
        else {
            continue;
        };
        v.remotes.push(RemoteHost {
            host: host.to_string(),
            endpoint: endpoint.clone(),
            addresses,
        });
    }
}

/// Every other registered host with the EIPs it NATs (those of the instances it holds).
fn internet_remotes(
    tables: &Tables,
    me: &str,
    t: i64,
    by_id: &HashMap<&InstanceId, &Instance>,
) -> Vec<RemoteHost> {
    let mut eips: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in tables.eips.values().flatten() {
        if let Some(host) = tables
            .holder(&e.eni_id, by_id, t)
            .and_then(|i| tables.hosts.of(i))
        {
            eips.entry(host)
                .or_default()
                .push(format!("{}/32", e.public_ip));
        }
    }
    let mut out: Vec<RemoteHost> = tables
        .hosts
        .endpoints
        .iter()
        .filter(|(name, _)| name.as_str() != me)
        .map(|(name, endpoint)| RemoteHost {
            host: name.clone(),
            endpoint: endpoint.clone(),
            addresses: eips.remove(name.as_str()).unwrap_or_default(),
        })
        .collect();
    // The EIPs come from a map: in address order, the same on every read.
    for host in &mut out {
        host.addresses.sort();
    }
    out.sort();
    out
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

    /// Everything `host_id` should have configured. Each table is read once (see
    /// [`Tables`]), so its cost does not grow with a query per instance or ENI.
    pub fn host_desired(&self, host_id: &str) -> Result<HostDesired, ApiError> {
        let t = now_ms();
        let (generation, tables) = with_read(self.store(), |tx| -> Result<_, StoreError> {
            Ok((
                tx.dataplane_generation()?,
                Tables::read_for(tx, host_id, &Scope::All)?,
            ))
        })
        .map_err(internal)?;
        Ok(self.assemble(host_id, t, generation, &tables, &Scope::All))
    }

    /// What changed for `host_id` since generation `since`, as a change to the copy its agent
    /// holds: the VPCs the store's change log names since then (their sections and the
    /// host's instances in them), the internet if an EIP's NAT may have moved; the whole state
    /// when there is no `since`, the log no longer covers it, or a host changed. This runs on
    /// every data-plane change for every agent, so its cost follows what changed, not what
    /// the host holds.
    pub fn host_delta(&self, host_id: &str, since: Option<u64>) -> Result<HostDelta, ApiError> {
        let t = now_ms();
        let (generation, scope, tables) = with_read(self.store(), |tx| -> Result<_, StoreError> {
            let generation = tx.dataplane_generation()?;
            let changes = match since {
                Some(s) => tx.dataplane_changes_since(s)?,
                None => None,
            };
            let scope = Scope::of(changes);
            let tables = Tables::read_for(tx, host_id, &scope)?;
            Ok((generation, scope, tables))
        })
        .map_err(internal)?;
        let desired = self.assemble(host_id, t, generation, &tables, &scope);
        Ok(match scope {
            Scope::All => desired.into_delta(),
            Scope::Only { vpcs, internet } => HostDelta {
                host_id: desired.host_id,
                generation,
                full: false,
                changed_vpcs: vpcs.into_iter().collect(),
                vpcs: desired.vpcs,
                instances: desired.instances,
                overlay: desired.overlay,
                internet: internet.then_some(desired.internet),
            },
        })
    }

    /// The desired state of `host_id` in `scope` from what `tables` (read for it) holds.
    fn assemble(
        &self,
        host_id: &str,
        t: i64,
        generation: u64,
        tables: &Tables,
        scope: &Scope,
    ) -> HostDesired {
        let new_vpc = |vpc_id: &VpcId| VpcDesired {
            vpc_id: vpc_id.to_string(),
            cidr_block: String::new(),
            ipv6_cidr_block: None,
            vswitches: Vec::new(),
            security_groups: Vec::new(),
            enis: Vec::new(),
            eips: Vec::new(),
            vni: tables.vnis.get(vpc_id).copied().unwrap_or(0),
            remotes: Vec::new(),
        };
        let mut vpcs: BTreeMap<String, VpcDesired> = BTreeMap::new();
        // Whose VPC each is (the last instance's), to list its ENIs and groups below.
        let mut owners: BTreeMap<String, (AccountId, String, VpcId)> = BTreeMap::new();
        let mut instances = Vec::new();
        for inst in &tables.instances {
            // Only the VPCs in scope: others may be here for the internet's EIPs.
            if !tables.hosts.serve(host_id, inst) || !scope.covers(inst.vpc_id.as_ref()) {
                continue;
            }
            let inst = effective_instance(inst.clone(), t);
            let Some(vpc_id) = inst.vpc_id.clone() else {
                continue;
            };
            owners.insert(
                vpc_id.to_string(),
                (inst.account_id, inst.region_id.clone(), vpc_id.clone()),
            );
            let ty = self.catalog().instance_type(&inst.instance_type);
            let mut enis = Vec::new();
            for eni in tables.enis_of(&inst) {
                let Some(eni) = effective_eni(eni.clone(), t) else {
                    continue;
                };
                // Attaching and InUse want a NIC; Detaching wants it gone.
                if eni.instance_id.as_ref() != Some(&inst.id)
                    || !(eni.status == "Attaching" || eni.status == "InUse")
                {
                    continue;
                }
                let Some(vsw) = tables.vswitch(inst.account_id, &eni.vswitch_id) else {
                    continue;
                };
                let Ok(cidr) = vsw.cidr_block.parse::<Ipv4Cidr>() else {
                    continue;
                };
                let gateway = cidr.gateway().to_string();
                let entry = vpcs
                    .entry(vpc_id.to_string())
                    .or_insert_with(|| new_vpc(&vpc_id));
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
                let eips = tables
                    .visible_eips(&eni.id)
                    .iter()
                    .map(|i| i.to_string())
                    .collect();
                let view = tables.view(eni);
                enis.push(EniDesired {
                    eni_id: view.eni.id.to_string(),
                    mac: view.eni.mac.clone(),
                    device_index: view.eni.device_index.unwrap_or(0),
                    vswitch_id: vsw.id.to_string(),
                    cidr_block: vsw.cidr_block.clone(),
                    gateway,
                    private_ips: view.private_ips.iter().map(|i| i.to_string()).collect(),
                    ipv4_prefixes: view.ipv4_prefixes,
                    ipv6_cidr_block: vsw.ipv6_cidr_block.clone(),
                    ipv6_addresses: view.ipv6,
                    ipv6_prefixes: view.ipv6_prefixes,
                    eips,
                });
            }
            enis.sort_by_key(|e| e.device_index);
            if let Some(vpc) = tables.vpc(inst.account_id, &vpc_id) {
                let entry = vpcs
                    .entry(vpc_id.to_string())
                    .or_insert_with(|| new_vpc(&vpc_id));
                entry.cidr_block = vpc.cidr_block.clone();
                entry.ipv6_cidr_block = vpc.ipv6_cidr_block.clone();
            }
            instances.push(InstanceDesired {
                instance_id: inst.id.to_string(),
                vpc_id: vpc_id.to_string(),
                running: inst.status == "Running",
                bandwidth_rx_kbps: ty.map(|t| t.instance_bandwidth_rx).unwrap_or(0),
                bandwidth_tx_kbps: ty.map(|t| t.instance_bandwidth_tx).unwrap_or(0),
                enis,
                meta: InstanceMeta {
                    region_id: inst.region_id.clone(),
                    zone_id: inst.zone_id.clone(),
                    instance_type: inst.instance_type.clone(),
                    image_id: inst.image_id.clone(),
                    hostname: inst.host_name.clone(),
                    owner_account_id: inst.account_id.0.to_string(),
                    user_data: inst.user_data.clone(),
                    http_endpoint: inst.metadata.http_endpoint.clone(),
                    http_tokens: inst.metadata.http_tokens.clone(),
                },
            });
        }
        let by_id: HashMap<&InstanceId, &Instance> =
            tables.instances.iter().map(|i| (&i.id, i)).collect();
        // An EIP's NAT is on the host of the instance its ENI is attached to.
        let nat_here = |eni: &EniId| {
            tables
                .holder(eni, &by_id, t)
                .is_some_and(|inst| tables.hosts.serve(host_id, inst))
        };
        for (id, vpc) in vpcs.iter_mut() {
            if let Some((account, region, vpc_id)) = owners.get(id) {
                guard_vpc(tables, *account, region, vpc_id, vpc, &nat_here);
            }
        }
        let overlay = tables.hosts.endpoints.get(host_id).cloned();
        let mut others = Vec::new();
        if overlay.is_some() {
            remotes(tables, host_id, t, &mut vpcs);
            if scope.internet() {
                others = internet_remotes(tables, host_id, t, &by_id);
            }
        }
        // By ID, as an agent's copy keeps them (`HostDesired::apply`).
        instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        HostDesired {
            host_id: host_id.to_string(),
            generation,
            vpcs: vpcs.into_values().collect(),
            instances,
            overlay,
            internet: others,
        }
    }

    /// An agent's report: Attaching ENIs it has configured become InUse; Detaching ENIs it no
    /// longer has become Available; Associating EIPs it NATs become InUse, Unassociating ones
    /// it no longer NATs Available. An EIP in a VPC the host has no router for (no instance
    /// there) needs nothing configured and completes at once.
    pub fn apply_host_report(&self, host_id: &str, report: &HostReport) -> Result<(), ApiError> {
        let attached: BTreeSet<(String, String)> = report
            .attached
            .iter()
            .map(|a| (a.eni_id.clone(), a.instance_id.clone()))
            .collect();
        let natted: BTreeSet<&str> = report.eips.iter().map(String::as_str).collect();
        let t = now_ms();
        self.write(|tx| -> Result<(), CoreError> {
            settle_due(tx, t)?;
            // This host's instances only (and those with no host): another host's ENIs and
            // EIPs are that agent's to report. Read by index: the cost is this host's.
            let hosts = Hosts::read(tx)?;
            let mut instances = tx.instances_unplaced()?;
            for (id, name) in &hosts.names {
                if name == host_id {
                    instances.extend(tx.instances_on_host(id)?);
                }
            }
            let served: BTreeSet<InstanceId> = instances.iter().map(|i| i.id.clone()).collect();
            for mut eip in tx.eips_awaiting_dataplane()? {
                let Some(b) = &eip.binding else { continue };
                // The NAT is on the host of the instance the ENI is attached to, whose agent
                // reports on it; an ENI attached nowhere has none, and any report completes.
                let holder = tx
                    .eni_get(eip.account_id, &b.eni_id)?
                    .and_then(|e| effective_eni(e, t))
                    .filter(|e| e.status == "Attaching" || e.status == "InUse")
                    .and_then(|e| e.instance_id);
                if holder.as_ref().is_some_and(|i| !served.contains(i)) {
                    continue;
                }
                let routed = holder.is_some();
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
            let ids: Vec<InstanceId> = served.iter().cloned().collect();
            for mut eni in tx.enis_of_instances(&ids)? {
                let Some(inst) = eni.instance_id.clone() else {
                    continue;
                };
                let key = (eni.id.to_string(), inst.to_string());
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
            // ENIs of deleted instances (DeleteInstance keeps those not deleted on release
            // Detaching, recording where the instance was): free once the agent of that host
            // (any agent, for an instance that had none or whose host was removed) no longer
            // holds them in the instance's namespace.
            for (inst, host) in tx.departures_all()? {
                let theirs = host
                    .and_then(|h| hosts.names.get(&h))
                    .is_some_and(|name| name != host_id);
                if theirs {
                    continue;
                }
                let mut left = 0;
                for eni in tx.enis_of_instances(std::slice::from_ref(&inst))? {
                    if eni.status != "Detaching" || eni.instance_id.as_ref() != Some(&inst) {
                        continue;
                    }
                    if attached.contains(&(eni.id.to_string(), inst.to_string())) {
                        left += 1;
                    } else {
                        complete_eni(tx, eni)?;
                    }
                }
                if left == 0 {
                    tx.departure_delete(&inst)?;
                }
            }
            Ok(())
        })
        .map_err(Into::into)
    }
}
