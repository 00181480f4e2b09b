//! The internal API between the control plane and a host's agent: the host's desired state
//! (served with a generation number that grows with every change) and the agent's status
//! report. JSON, snake_case; not part of the Alibaba API.

use serde::{Deserialize, Serialize};

/// Everything one host should have configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostDesired {
    pub host_id: String,
    /// Grows with every control-plane change that can affect a data plane.
    pub generation: u64,
    pub vpcs: Vec<VpcDesired>,
    pub instances: Vec<InstanceDesired>,
    /// This host on the overlay, when it is registered; VPCs reach other hosts through it.
    #[serde(default)]
    pub overlay: Option<OverlayEndpoint>,
    /// Every other registered host, with the EIPs it NATs (`ip/32`): the simulated internet
    /// of each host is one network with the others', over the overlay, so every EIP is
    /// reachable from any of them. Empty off the overlay.
    #[serde(default)]
    pub internet: Vec<RemoteHost>,
}

/// The desired state as a change to the copy an agent holds (`GET …/desired?since=N&delta=1`):
/// the state is partitioned by VPC (a VPC's section and the host's instances in it), so a
/// change anywhere sends only the VPCs it touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostDelta {
    pub host_id: String,
    pub generation: u64,
    /// The whole state follows and replaces the copy: the first poll, an agent further behind
    /// than the server's change log, or a change to every agent (a host came, went or moved).
    pub full: bool,
    /// The VPCs that changed after `since`: the copy's section of each, and its instances in
    /// each, are replaced by those below (a VPC not below is gone from this host). Empty when
    /// `full`.
    #[serde(default)]
    pub changed_vpcs: Vec<String>,
    pub vpcs: Vec<VpcDesired>,
    pub instances: Vec<InstanceDesired>,
    #[serde(default)]
    pub overlay: Option<OverlayEndpoint>,
    /// The other hosts and the EIPs they NAT, when they may have changed (always when `full`).
    #[serde(default)]
    pub internet: Option<Vec<RemoteHost>>,
}

impl HostDesired {
    /// The whole state as a delta that replaces any copy.
    pub fn into_delta(self) -> HostDelta {
        HostDelta {
            host_id: self.host_id,
            generation: self.generation,
            full: true,
            changed_vpcs: Vec::new(),
            vpcs: self.vpcs,
            instances: self.instances,
            overlay: self.overlay,
            internet: Some(self.internet),
        }
    }

    /// Applies a delta to this copy. VPCs stay ordered by ID and instances by ID, as the
    /// server lists them, so the result equals the whole state read at `delta.generation`.
    pub fn apply(&mut self, delta: HostDelta) {
        if delta.full {
            *self = HostDesired {
                host_id: delta.host_id,
                generation: delta.generation,
                vpcs: delta.vpcs,
                instances: delta.instances,
                overlay: delta.overlay,
                internet: delta.internet.unwrap_or_default(),
            };
            return;
        }
        let changed: std::collections::BTreeSet<&str> =
            delta.changed_vpcs.iter().map(String::as_str).collect();
        self.generation = delta.generation;
        self.host_id = delta.host_id;
        self.vpcs.retain(|v| !changed.contains(v.vpc_id.as_str()));
        self.vpcs.extend(delta.vpcs);
        self.vpcs.sort_by(|a, b| a.vpc_id.cmp(&b.vpc_id));
        self.instances
            .retain(|i| !changed.contains(i.vpc_id.as_str()));
        self.instances.extend(delta.instances);
        self.instances
            .sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        self.overlay = delta.overlay;
        if let Some(internet) = delta.internet {
            self.internet = internet;
        }
    }
}

/// The VNI of the simulated internet between hosts: the largest, which no VPC has (a VPC's is
/// its sequence number, below it).
pub const INTERNET_VNI: u32 = (1 << 24) - 1;

/// A host's end of the overlay (spec §3.7): one VXLAN device per VPC, whose tunnels leave
/// from `underlay_address`, with the same router address and MAC in every VPC. Other hosts
/// reach the VPC's addresses here through a route via `address`, resolved to `mac` by a
/// permanent neighbour, and `mac` to `underlay_address` by a static forwarding entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OverlayEndpoint {
    /// The tunnel endpoint: where the other hosts send this host's VXLAN packets.
    pub underlay_address: String,
    /// The host's router address on the overlay (link-local IPv4, unique per host).
    pub address: String,
    /// The MAC of the host's VXLAN devices (locally administered, unique per host).
    pub mac: String,
}

/// Another host holding addresses of a VPC.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RemoteHost {
    /// Its name (`--host-id`).
    pub host: String,
    pub endpoint: OverlayEndpoint,
    /// The VPC's addresses it holds: every address and prefix of the ENIs attached to its
    /// instances (`ip/32`, `ip/128`, /28 and /80 prefixes).
    pub addresses: Vec<String>,
}

/// A VPC with instances on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcDesired {
    pub vpc_id: String,
    pub cidr_block: String,
    /// The VPC's IPv6 /56, when it has one (the metadata service shows it).
    #[serde(default)]
    pub ipv6_cidr_block: Option<String>,
    pub vswitches: Vec<VSwitchDesired>,
    /// Every security group an ENI of the VPC belongs to, with its rules.
    #[serde(default)]
    pub security_groups: Vec<SecurityGroupDesired>,
    /// Every ENI of the VPC, attached or not and wherever it is: who is in which group, for
    /// rules that name a group. An attach or detach changes nothing here.
    #[serde(default)]
    pub enis: Vec<VpcEni>,
    /// The EIPs associated with private addresses of the VPC that this host serves: those
    /// whose ENI is attached to one of its instances (NAT-ed on the router, or, in the
    /// visible modes, on the ENI's NIC itself).
    #[serde(default)]
    pub eips: Vec<EipDesired>,
    /// The VPC's VXLAN network identifier, the same on every host.
    #[serde(default)]
    pub vni: u32,
    /// The other hosts holding addresses of the VPC (empty: none, or this host is not on
    /// the overlay).
    #[serde(default)]
    pub remotes: Vec<RemoteHost>,
}

/// An EIP and the private IPv4 address it is NAT-ed to (`NAT`), or that it stands in for on
/// the ENI's NIC (`Binded`: in its place; `MultiBinded`: beside it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EipDesired {
    pub eip: String,
    pub private_ip: String,
    /// The EIP's bandwidth cap (kbit/s), each way; 0: none.
    #[serde(default)]
    pub bandwidth_kbps: u64,
    #[serde(default)]
    pub mode: EipMode,
}

/// How an EIP reaches its ENI (AssociateEipAddress `Mode`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum EipMode {
    /// Translated to the private address on the VPC's router; the guest never sees it.
    #[default]
    #[serde(rename = "NAT")]
    Nat,
    /// On the NIC in place of the ENI's (only) private address.
    #[serde(rename = "BINDED")]
    Binded,
    /// On the NIC beside the ENI's private addresses, one EIP per address.
    #[serde(rename = "MULTI_BINDED")]
    MultiBinded,
}

impl EipMode {
    /// Alibaba's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            EipMode::Nat => "NAT",
            EipMode::Binded => "BINDED",
            EipMode::MultiBinded => "MULTI_BINDED",
        }
    }

    /// The mode Alibaba names `s`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NAT" => Some(EipMode::Nat),
            "BINDED" => Some(EipMode::Binded),
            "MULTI_BINDED" => Some(EipMode::MultiBinded),
            _ => None,
        }
    }

    /// Whether the guest sees the EIP on its NIC.
    pub fn visible(self) -> bool {
        self != EipMode::Nat
    }
}

/// A security group as the data plane enforces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupDesired {
    pub security_group_id: String,
    /// InnerAccessPolicy `Accept`: the group's members reach each other whatever the rules.
    pub inner_accept: bool,
    pub rules: Vec<SgRuleDesired>,
}

/// Which traffic a rule is about, seen from the group's ENIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Ingress,
    Egress,
}

/// One rule. First match wins, by priority (1 first), a drop before an accept of the same
/// priority; unmatched ingress is dropped, unmatched egress allowed; replies always pass.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SgRuleDesired {
    pub direction: Direction,
    pub priority: u32,
    pub accept: bool,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `gre` or `all`.
    pub protocol: String,
    /// The destination ports (TCP and UDP); `None`: any.
    #[serde(default)]
    pub ports: Option<(u16, u16)>,
    /// The source ports (TCP and UDP); `None`: any.
    #[serde(default)]
    pub source_ports: Option<(u16, u16)>,
    /// The far side: an IPv4 or IPv6 block, or the members of a group. Neither: anywhere.
    #[serde(default)]
    pub cidr: Option<String>,
    #[serde(default)]
    pub peer_group: Option<String>,
    /// The group's own side narrowed to a block (the destination of an ingress rule, the
    /// source of an egress one); `None`: every member address.
    #[serde(default)]
    pub local_cidr: Option<String>,
}

/// An ENI of a VPC: its addresses and prefixes (IPv4 and IPv6) and groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEni {
    pub eni_id: String,
    pub addresses: Vec<String>,
    pub security_groups: Vec<String>,
}

/// A vSwitch: its block and gateway (the block's last-but-two address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VSwitchDesired {
    pub vswitch_id: String,
    pub cidr_block: String,
    pub gateway: String,
    /// The vSwitch's IPv6 /64, when it has one.
    #[serde(default)]
    pub ipv6_cidr_block: Option<String>,
}

/// An instance on this host and the ENIs attached to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceDesired {
    pub instance_id: String,
    pub vpc_id: String,
    /// Running: NICs up. Any other state: NICs down.
    pub running: bool,
    /// The instance type's cap, shared by all its ENIs (kbit/s).
    pub bandwidth_rx_kbps: u64,
    pub bandwidth_tx_kbps: u64,
    pub enis: Vec<EniDesired>,
    /// What the metadata service answers about the instance besides its NICs.
    #[serde(default)]
    pub meta: InstanceMeta,
}

/// An instance as its metadata service (`100.100.100.200`, served by the agent) shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceMeta {
    pub region_id: String,
    pub zone_id: String,
    pub instance_type: String,
    pub image_id: String,
    pub hostname: String,
    /// The owner's account ID (digits).
    pub owner_account_id: String,
    /// RunInstances' `UserData` (Base64, as sent); empty for none.
    pub user_data: String,
    /// `enabled` or `disabled`: whether the service answers the instance at all.
    pub http_endpoint: String,
    /// `optional` or `required`: whether plain requests (without a token) are answered.
    pub http_tokens: String,
}

/// An ENI attached (or being attached) to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EniDesired {
    pub eni_id: String,
    pub mac: String,
    /// 0 for the primary ENI (eth0).
    pub device_index: u32,
    pub vswitch_id: String,
    /// The vSwitch block, e.g. `10.0.1.0/24`.
    pub cidr_block: String,
    pub gateway: String,
    /// Primary first.
    pub private_ips: Vec<String>,
    /// IPv4 /28 prefixes routed to the ENI.
    pub ipv4_prefixes: Vec<String>,
    /// The vSwitch's IPv6 /64, when it has one.
    #[serde(default)]
    pub ipv6_cidr_block: Option<String>,
    /// The ENI's IPv6 addresses (no length).
    #[serde(default)]
    pub ipv6_addresses: Vec<String>,
    /// IPv6 /80 prefixes routed to the ENI.
    #[serde(default)]
    pub ipv6_prefixes: Vec<String>,
    /// EIPs on the NIC itself (BINDED and MULTI_BINDED modes), each a /32 with no subnet; a
    /// BINDED EIP's private address is not in `private_ips`.
    #[serde(default)]
    pub eips: Vec<String>,
}

/// What an agent registers its host with (`PUT /internal/v1/hosts/{host}`), once per zone it
/// serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRegistration {
    pub zone_id: String,
    /// Where the other hosts reach this one (the overlay's tunnel endpoint).
    pub underlay_address: String,
    /// vCPUs its instances may take in all.
    pub capacity_vcpus: u32,
}

/// What an agent reports after a reconcile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostReport {
    /// The generation the agent converged to.
    pub generation: u64,
    /// Every (ENI, instance) whose NIC is configured and up to date.
    pub attached: Vec<AttachedEni>,
    /// Every EIP whose NAT is in place.
    #[serde(default)]
    pub eips: Vec<String>,
}

/// One configured attachment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AttachedEni {
    pub eni_id: String,
    pub instance_id: String,
}
