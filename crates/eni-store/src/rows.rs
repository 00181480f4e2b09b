//! Typed rows: what the store keeps for each resource. Wire shapes live in the API layer;
//! these carry only facts.

use eni_types::ids::{
    AccountId, EipId, EniId, HostId, InstanceId, ResourceGroupId, RouteTableId, SecurityGroupId,
    SecurityGroupRuleId, VRouterId, VSwitchId, VpcId,
};

/// A tenant. Every resource belongs to exactly one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: i64,
}

/// An access key pair. The secret is kept in clear because HMAC needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub account_id: AccountId,
    pub created_at: i64,
}

impl std::fmt::Debug for AccessKey {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// A signed-in web-console session. The browser holds a random token; the store keeps its
/// SHA-256 (hex), so nothing here signs anyone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub token_hash: String,
    pub account_id: AccountId,
    /// The key it signed in with: the session ends when the key is gone.
    pub access_key_id: String,
    /// The token every change the session makes must carry (forms, `X-CSRF-Token`).
    pub csrf: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms; the session is over from then on.
    pub expires_at: i64,
}

/// The remembered outcome of a request made with a ClientToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub account_id: AccountId,
    pub action: String,
    pub token: String,
    /// A digest of the request's parameters (minus volatile ones); another digest with the
    /// same token is `IdempotentParameterMismatch`.
    pub params_digest: String,
    /// The first response body, replayed verbatim (but for a fresh RequestId).
    pub response: String,
    pub created_at: i64,
}

/// A tag on a resource.
pub type Tags = Vec<(String, String)>;

/// The resources whose name, description and tags calls rewrite in place
/// ([`crate::Tx::name_set`], [`crate::Tx::tags_set`]). An instance's system disk and a VPC's
/// System route table are kept on their owner's row (named by the owner's ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Instance,
    Eni,
    SecurityGroup,
    Vpc,
    VSwitch,
    Eip,
    /// An instance's system disk: the instance's row.
    Disk,
    /// A VPC's System route table: the VPC's row.
    RouteTable,
}

impl Table {
    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Instance | Table::Disk => "instances",
            Table::Eni => "enis",
            Table::SecurityGroup => "security_groups",
            Table::Vpc | Table::RouteTable => "vpcs",
            Table::VSwitch => "vswitches",
            Table::Eip => "eips",
        }
    }

    /// The name, description and tags columns.
    pub fn label_columns(self) -> [&'static str; 3] {
        match self {
            Table::Disk => [
                "system_disk_name",
                "system_disk_description",
                "system_disk_tags",
            ],
            Table::RouteTable => [
                "route_table_name",
                "route_table_description",
                "route_table_tags",
            ],
            _ => ["name", "description", "tags"],
        }
    }

    /// The resource-group column, if the resource has its own.
    pub fn resource_group_column(self) -> Option<&'static str> {
        match self {
            Table::Disk | Table::RouteTable => None,
            _ => Some("resource_group_id"),
        }
    }
}

/// The name, description and tags of what is kept on its owner's row ([`Table::Disk`],
/// [`Table::RouteTable`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub name: String,
    pub description: String,
    pub tags: Tags,
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub id: VpcId,
    pub account_id: AccountId,
    pub region_id: String,
    pub cidr_block: String,
    /// The VPC's IPv6 /56, if IPv6 is enabled.
    pub ipv6_cidr_block: Option<String>,
    /// The line type of the IPv6 block (`BGP`, `ChinaMobile`, `ChinaUnicom`,
    /// `ChinaTelecom`); set exactly when `ipv6_cidr_block` is.
    pub ipv6_isp: Option<String>,
    pub name: String,
    pub description: String,
    pub status: String,
    pub is_default: bool,
    pub vrouter_id: VRouterId,
    pub route_table_id: RouteTableId,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    pub created_at: i64,
    /// The System route table's name, description and tags.
    pub route_table: Labels,
}

/// A vSwitch: one CIDR block of a VPC in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VSwitch {
    pub id: VSwitchId,
    pub account_id: AccountId,
    pub region_id: String,
    pub vpc_id: VpcId,
    pub zone_id: String,
    pub cidr_block: String,
    pub ipv6_cidr_block: Option<String>,
    pub name: String,
    pub description: String,
    pub status: String,
    pub is_default: bool,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    pub created_at: i64,
}

/// What an address row holds an IPv4 address for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpKind {
    /// The ENI's primary private IP.
    Primary,
    /// A secondary private IP.
    Secondary,
    /// One of the 16 addresses of an IPv4 /28 prefix; `PrivateIp::prefix` is its network.
    Prefix,
}

impl IpKind {
    /// The stored spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            IpKind::Primary => "primary",
            IpKind::Secondary => "secondary",
            IpKind::Prefix => "prefix",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "primary" => Some(IpKind::Primary),
            "secondary" => Some(IpKind::Secondary),
            "prefix" => Some(IpKind::Prefix),
            _ => None,
        }
    }
}

/// One IPv4 address held in a vSwitch. `(vswitch_id, ip)` is unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateIp {
    pub vswitch_id: VSwitchId,
    pub ip: u32,
    /// The holder: an ENI ID.
    pub owner: String,
    pub kind: IpKind,
    /// For `IpKind::Prefix`, the prefix's network address.
    pub prefix: Option<u32>,
}

/// One IPv6 address (`kind` "address") or /80 prefix (`kind` "prefix", `addr` is "net/80")
/// held in a vSwitch. `(vswitch_id, addr)` is unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Entry {
    pub vswitch_id: VSwitchId,
    /// Canonical text form.
    pub addr: String,
    pub owner: String,
    pub is_prefix: bool,
}

/// A security group: lives in one VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: SecurityGroupId,
    pub account_id: AccountId,
    pub region_id: String,
    pub vpc_id: VpcId,
    pub name: String,
    pub description: String,
    /// `normal` or `enterprise`.
    pub group_type: String,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    pub created_at: i64,
    /// Whether members of the group reach each other (`InnerAccessPolicy`): `Accept` by
    /// default for a normal group, always `Drop` for an enterprise one.
    pub inner_access_policy: SgPolicy,
}

/// What a security group rule (or a group's inner access policy) does with matching traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SgPolicy {
    Accept,
    Drop,
}

impl SgPolicy {
    /// The stored (and wire) spelling: `Accept` or `Drop`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SgPolicy::Accept => "Accept",
            SgPolicy::Drop => "Drop",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Accept" => Some(SgPolicy::Accept),
            "Drop" => Some(SgPolicy::Drop),
            _ => None,
        }
    }
}

/// Which traffic a rule applies to, seen from the group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SgDirection {
    /// Traffic to the members (AuthorizeSecurityGroup).
    Ingress,
    /// Traffic from the members (AuthorizeSecurityGroupEgress).
    Egress,
}

impl SgDirection {
    /// The stored (and wire) spelling: `ingress` or `egress`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SgDirection::Ingress => "ingress",
            SgDirection::Egress => "egress",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ingress" => Some(SgDirection::Ingress),
            "egress" => Some(SgDirection::Egress),
            _ => None,
        }
    }
}

/// The protocol a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SgProtocol {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Gre,
    /// Every protocol.
    All,
}

impl SgProtocol {
    /// The stored (and wire) spelling: `TCP`, `UDP`, `ICMP`, `ICMPv6`, `GRE`, `ALL`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SgProtocol::Tcp => "TCP",
            SgProtocol::Udp => "UDP",
            SgProtocol::Icmp => "ICMP",
            SgProtocol::Icmpv6 => "ICMPv6",
            SgProtocol::Gre => "GRE",
            SgProtocol::All => "ALL",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            SgProtocol::Tcp,
            SgProtocol::Udp,
            SgProtocol::Icmp,
            SgProtocol::Icmpv6,
            SgProtocol::Gre,
            SgProtocol::All,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// Whether the rule has ports (TCP, UDP); the others match every port (`-1/-1`).
    pub fn has_ports(&self) -> bool {
        matches!(self, SgProtocol::Tcp | SgProtocol::Udp)
    }
}

/// A port range: `(first, last)` inclusive, 1 to 65535, or `(-1, -1)` for "every port" (the
/// only range of ICMP, ICMPv6, GRE and ALL rules).
pub type SgPortRange = (i32, i32);

/// One rule of a security group. The address fields hold canonical text (an address as
/// `a.b.c.d` / IPv6 compressed form, a block as `network/len` with host bits cleared), empty
/// when unset. Of the remote side (sources of an ingress rule, destinations of an egress
/// rule) exactly one of the IPv4 block, the IPv6 block and `peer_group_id` is set; the local
/// side (destination of ingress, source of egress) may narrow the members' addresses.
/// Identical rules (every field but `id`, `description` and `created_at` equal) are stored
/// once per group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupRule {
    pub id: SecurityGroupRuleId,
    pub security_group_id: SecurityGroupId,
    pub direction: SgDirection,
    pub protocol: SgProtocol,
    pub port_range: SgPortRange,
    /// The remote side's ports (quintuple rules); `None` when unset.
    pub source_port_range: Option<SgPortRange>,
    pub source_cidr_ip: String,
    pub ipv6_source_cidr_ip: String,
    pub dest_cidr_ip: String,
    pub ipv6_dest_cidr_ip: String,
    /// The group whose members are the remote side (`SourceGroupId` of an ingress rule,
    /// `DestGroupId` of an egress one); a group referenced by a rule cannot be deleted.
    pub peer_group_id: Option<SecurityGroupId>,
    pub policy: SgPolicy,
    /// 1 (first) to 100.
    pub priority: u32,
    /// Always `intranet` in a VPC.
    pub nic_type: String,
    pub description: String,
    pub created_at: i64,
}

/// An elastic network interface. Addresses live in their own tables ([`PrivateIp`],
/// [`Ipv6Entry`]) keyed by the ENI's ID; security groups are stored in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Eni {
    pub id: EniId,
    pub account_id: AccountId,
    pub region_id: String,
    pub zone_id: String,
    pub vpc_id: VpcId,
    pub vswitch_id: VSwitchId,
    /// `Primary`, `Secondary` or `Trunk`.
    pub eni_type: String,
    /// Stored status: `Available`, `Attaching`, `InUse`, `Detaching` or `Deleting`.
    pub status: String,
    /// When the transitional status (`Attaching`, `Detaching`, `Deleting`) completes by
    /// itself; `None` while a data plane has to confirm it, or when not in transition.
    pub due_at: Option<i64>,
    /// The instance it is attached to, or being attached to / detached from.
    pub instance_id: Option<InstanceId>,
    pub device_index: Option<u32>,
    /// Lower-case, colon-separated; unique across all accounts.
    pub mac: String,
    pub primary_ip: u32,
    pub name: String,
    pub description: String,
    pub security_group_ids: Vec<SecurityGroupId>,
    pub delete_on_release: bool,
    pub source_dest_check: bool,
    pub queue_number: u32,
    pub traffic_mode: String,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    pub created_at: i64,
}

/// Filters the store applies to [`Eni`] lists (the rest are applied by the caller).
#[derive(Debug, Clone, Default)]
pub struct EniQuery {
    pub ids: Option<Vec<EniId>>,
    pub instance_id: Option<InstanceId>,
    pub vpc_id: Option<VpcId>,
    pub vswitch_id: Option<VSwitchId>,
    pub eni_type: Option<String>,
}

/// A row's place in creation order (its sequence number): what a keyset page continues after.
/// Stable for the row's life and never reused, so a cursor stays valid while rows come and go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(pub i64);

/// Which rows of a listing to return: those after a cursor, or after skipping `offset`
/// (page numbers), at most `limit`, in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub after: Option<Position>,
    pub offset: u64,
    pub limit: u64,
}

impl Window {
    /// The first `limit` rows after `after` (the start without one).
    pub fn after(after: Option<Position>, limit: u64) -> Self {
        Window {
            after,
            offset: 0,
            limit,
        }
    }
}

/// The filters of DescribeNetworkInterfaces, each applied by the store. An unset field does
/// not filter; a list matches an ENI that has any of its values (an empty list matches
/// none); every tag must match (a tag without a value matches any value of its key). Status
/// and instance are compared as stored: a caller that shows transitions completed by their
/// due time settles them first (and drops a row that completed in between).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EniFilter {
    pub ids: Option<Vec<EniId>>,
    pub instance_id: Option<InstanceId>,
    pub vpc_id: Option<VpcId>,
    pub vswitch_id: Option<VSwitchId>,
    pub eni_types: Option<Vec<String>>,
    pub status: Option<String>,
    pub name: Option<String>,
    pub resource_group_id: Option<String>,
    pub security_group_id: Option<SecurityGroupId>,
    pub primary_ip: Option<u32>,
    /// Any of the ENI's own IPv4 addresses: its primary and secondaries (not the addresses
    /// of its /28 prefixes).
    pub private_ips: Option<Vec<u32>>,
    /// Any IPv6 address the ENI holds (canonical text; not its /80 prefixes).
    pub ipv6: Option<Vec<String>>,
    pub tags: Vec<(String, Option<String>)>,
}

/// The filters of DescribeInstances, each applied by the store (same conventions as
/// [`EniFilter`]: status as stored). The security group and the addresses are those of the
/// instance's primary ENI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceFilter {
    pub ids: Option<Vec<InstanceId>>,
    pub vpc_id: Option<VpcId>,
    pub vswitch_id: Option<VSwitchId>,
    pub zone_id: Option<String>,
    pub instance_type: Option<String>,
    pub status: Option<String>,
    pub name: Option<String>,
    pub security_group_id: Option<SecurityGroupId>,
    pub private_ips: Option<Vec<u32>>,
    pub tags: Vec<(String, Option<String>)>,
}

/// The filters of DescribeEipAddresses, each applied by the store (same conventions as
/// [`EniFilter`]: status and binding as stored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EipFilter {
    pub ids: Option<Vec<EipId>>,
    pub ips: Option<Vec<u32>>,
    /// The `InstanceId` of the binding.
    pub instance_id: Option<String>,
    /// The `InstanceType` of the binding.
    pub instance_type: Option<String>,
    pub status: Option<String>,
    pub name: Option<String>,
    pub isp: Option<String>,
    pub instance_charge_type: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Vec<(String, Option<String>)>,
}

/// The filters of DescribeVpcs (same conventions as [`EniFilter`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpcFilter {
    pub ids: Option<Vec<VpcId>>,
    pub name: Option<String>,
    pub is_default: Option<bool>,
    pub resource_group_id: Option<String>,
    pub tags: Vec<(String, Option<String>)>,
}

/// The filters of DescribeVSwitches (same conventions as [`EniFilter`]). The route table is
/// the VPC's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VSwitchFilter {
    pub ids: Option<Vec<VSwitchId>>,
    pub vpc_id: Option<VpcId>,
    pub zone_id: Option<String>,
    pub name: Option<String>,
    pub is_default: Option<bool>,
    pub resource_group_id: Option<String>,
    pub route_table_id: Option<String>,
    pub tags: Vec<(String, Option<String>)>,
}

/// The filters of DescribeSecurityGroups (same conventions as [`EniFilter`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityGroupFilter {
    pub ids: Option<Vec<SecurityGroupId>>,
    pub vpc_id: Option<VpcId>,
    pub name: Option<String>,
    pub group_type: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Vec<(String, Option<String>)>,
}

/// An ECS instance. A VPC instance has a vSwitch and a primary ENI; a classic one has neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: InstanceId,
    pub account_id: AccountId,
    pub region_id: String,
    pub zone_id: String,
    pub instance_type: String,
    pub vpc_id: Option<VpcId>,
    pub vswitch_id: Option<VSwitchId>,
    /// Stored status: `Pending`, `Starting`, `Running`, `Stopping` or `Stopped`.
    pub status: String,
    /// When the transitional status completes by itself (`Pending`/`Starting` → `Running`,
    /// `Stopping` → `Stopped`).
    pub due_at: Option<i64>,
    pub name: String,
    pub host_name: String,
    pub description: String,
    pub image_id: String,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    pub created_at: i64,
    pub started_at: Option<i64>,
    /// The host it runs on; `None` in a zone with no registered host (every agent then serves
    /// it, as with one host).
    pub host_id: Option<HostId>,
    /// `host` when the caller asked for a dedicated host (`DedicatedHostId` or `Tenancy=host`),
    /// else `default`.
    pub tenancy: String,
    /// The vCPUs it took from its host when placed (its type's then), given back when it is
    /// deleted whatever the catalog says by then; 0 with no host (or placed before this was
    /// kept: its type's vCPUs are given back).
    pub host_vcpus: u32,
    /// RunInstances' UserData as sent (Base64), `""` for none.
    pub user_data: String,
    /// The system disk's category (`cloud_essd`, …) and size in GiB.
    pub system_disk_category: String,
    pub system_disk_size: u32,
    /// The system disk's name, description and tags.
    pub system_disk: Labels,
    /// The metadata service's options.
    pub metadata: MetadataOptions,
}

/// An instance's metadata-service options (ModifyInstanceMetadataOptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataOptions {
    /// `enabled` or `disabled`.
    pub http_endpoint: String,
    /// `optional` (plain and token requests) or `required` (token requests only).
    pub http_tokens: String,
    /// HttpPutResponseHopLimit, 1 to 64 (kept and shown; a namespace is one hop away).
    pub hop_limit: u32,
}

impl Default for MetadataOptions {
    fn default() -> Self {
        MetadataOptions {
            http_endpoint: "enabled".into(),
            http_tokens: "optional".into(),
            hop_limit: 1,
        }
    }
}

/// A data-plane host: an agent, registered with its zone, underlay address and capacity, and
/// shown in the API as an Alibaba dedicated host. Hosts are the operator's, not an account's:
/// every account sees them and has instances placed on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub id: HostId,
    /// Assigned by the store, never reused (0 in a host not yet inserted): the overlay tells
    /// hosts apart by it.
    pub seq: i64,
    /// The agent's host name (`--host-id`); one host per name and zone.
    pub name: String,
    pub zone_id: String,
    /// Where the other hosts reach this one (the overlay's tunnel endpoint).
    pub underlay_address: String,
    /// vCPUs its instances may take in all.
    pub capacity_vcpus: u32,
    /// vCPUs its instances take (kept with [`crate::Tx::host_use`] as they are placed and
    /// deleted).
    pub used_vcpus: u64,
    /// When its agent last called the server (Unix ms).
    pub last_seen_at: i64,
    pub created_at: i64,
}

/// An elastic IP address: a public IPv4 address from the server's pool, owned by one account,
/// NAT-ed to at most one private IPv4 address of an ENI while bound.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Eip {
    pub id: EipId,
    pub account_id: AccountId,
    pub region_id: String,
    /// The public address; unique across all accounts.
    pub ip: u32,
    /// Mbit/s.
    pub bandwidth: u32,
    /// `PayByBandwidth` or `PayByTraffic`.
    pub internet_charge_type: String,
    /// `PostPaid` or `PrePaid`.
    pub instance_charge_type: String,
    /// The line type (`BGP`, `BGP_PRO`, …).
    pub isp: String,
    pub name: String,
    pub description: String,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    /// Stored status: `Available`, `Associating`, `InUse` or `Unassociating`.
    pub status: String,
    /// When `Associating` or `Unassociating` completes by itself.
    pub due_at: Option<i64>,
    /// Set exactly when the status is not `Available` (an association in progress, in
    /// place, or being undone).
    pub binding: Option<EipBinding>,
    pub created_at: i64,
    /// The binding mode, bound or not: `NAT`, `BINDED` or `MULTI_BINDED`.
    pub mode: String,
}

/// What a bound EIP maps to (NAT) or replaces (the visible modes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EipBinding {
    /// The `InstanceId` the caller associated: the ENI's ID, or an ECS instance's.
    pub instance_id: String,
    /// `NetworkInterface` or `EcsInstance`.
    pub instance_type: String,
    /// The ENI holding the private address (an instance's primary ENI for `EcsInstance`).
    pub eni_id: EniId,
    pub vpc_id: VpcId,
    pub vswitch_id: VSwitchId,
    /// The private IPv4 address; one EIP per address of a vSwitch.
    pub private_ip: u32,
}

/// One live EIP association, as the data plane needs it: in `NAT` mode traffic to
/// `public_ip` goes to `private_ip` of `eni_id`, and that address's traffic to the outside
/// leaves as `public_ip`; in `BINDED` and `MULTI_BINDED` `public_ip` is on the ENI itself (in
/// place of `private_ip` for `BINDED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EipAssociation {
    pub allocation_id: EipId,
    pub public_ip: std::net::Ipv4Addr,
    pub private_ip: std::net::Ipv4Addr,
    pub eni_id: EniId,
    /// The EIP's bandwidth (Mbit/s), which the data plane caps its traffic at.
    pub bandwidth: u32,
    /// `NAT`, `BINDED` or `MULTI_BINDED`.
    pub mode: String,
}
