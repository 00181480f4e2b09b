//! Security group rules: AuthorizeSecurityGroup[Egress], RevokeSecurityGroup[Egress],
//! DescribeSecurityGroupAttribute and ModifySecurityGroupPolicy.
//!
//! A rule is (direction, protocol, port range, source port range, addresses, peer group,
//! policy, priority, NIC type). The rules of the ECS API reference, checked here before the
//! store sees a rule:
//! - `IpProtocol` is TCP, UDP, ICMP, ICMPv6, GRE or ALL in any case; TCP and UDP take a
//!   `PortRange` `a/b` with 1 <= a <= b <= 65535, the others exactly `-1/-1`.
//! - `Priority` is 1 to 100 (default 1), `Policy` accept (default) or drop.
//! - The remote side (sources of an ingress rule, destinations of an egress rule) is one
//!   IPv4 block, one IPv6 block or one group of the same VPC; a block given with a group wins,
//!   as the reference documents ("SourceCidrIp takes precedence"). IPv6 blocks go with ICMPv6,
//!   TCP, UDP and ALL; IPv4 blocks never with ICMPv6; a rule's blocks are of one family.
//! - Authorizing an existing rule succeeds and creates nothing (the schema's unique key
//!   decides "existing"); a group holds at most 200 rules, at most 20 of them naming groups.
//! - An enterprise group's rules only accept and never name groups, and its members never
//!   reach each other (InnerAccessPolicy Drop).
//!
//! Revoking by shape removes the rule with the same fields and succeeds when there is none;
//! revoking by `SecurityGroupRuleId` refuses an ID the group (in that direction) lacks.

use crate::security_group::group_in_region;
use crate::{now, Caller, Core, CoreError};
use eni_store::{
    constraints, with_read, SecurityGroup, SecurityGroupRule, SgDirection, SgPolicy, SgPortRange,
    SgProtocol,
};
use eni_types::ids::{SecurityGroupId, SecurityGroupRuleId};
use eni_types::ApiError;
use std::net::{Ipv4Addr, Ipv6Addr};

// The rule types, for the API layer, which does not see the store.
pub use eni_store::{
    SecurityGroupRule as Rule, SgDirection as Direction, SgPortRange as PortRange,
};

/// Rules per group (inbound and outbound together).
pub const MAX_RULES_PER_GROUP: u32 = 200;
/// Rules per group whose remote side is a group.
pub const MAX_GROUP_RULES_PER_GROUP: u32 = 20;

/// One permission as the caller sent it (`Permissions.N.*` or the deprecated top-level
/// fields); every field is optional until checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInput {
    pub ip_protocol: Option<String>,
    pub port_range: Option<String>,
    pub source_port_range: Option<String>,
    pub source_cidr_ip: Option<String>,
    pub ipv6_source_cidr_ip: Option<String>,
    pub dest_cidr_ip: Option<String>,
    pub ipv6_dest_cidr_ip: Option<String>,
    /// `SourceGroupId` (ingress) or `DestGroupId` (egress).
    pub peer_group_id: Option<String>,
    pub policy: Option<String>,
    pub priority: Option<String>,
    pub nic_type: Option<String>,
    pub description: Option<String>,
}

/// AuthorizeSecurityGroup or AuthorizeSecurityGroupEgress.
#[derive(Debug, Clone)]
pub struct AuthorizeRules {
    pub region: String,
    pub group_id: String,
    pub direction: SgDirection,
    pub rules: Vec<RuleInput>,
}

/// ModifySecurityGroupRule or ModifySecurityGroupEgressRule.
#[derive(Debug, Clone)]
pub struct ModifyRule {
    pub region: String,
    pub group_id: String,
    pub direction: SgDirection,
    /// The rule by ID; without it, `rule` names it.
    pub rule_id: Option<String>,
    /// The rule's permission and the new description.
    pub rule: RuleInput,
}

/// RevokeSecurityGroup or RevokeSecurityGroupEgress.
#[derive(Debug, Clone)]
pub struct RevokeRules {
    pub region: String,
    pub group_id: String,
    pub direction: SgDirection,
    pub rules: Vec<RuleInput>,
    pub rule_ids: Vec<String>,
}

/// DescribeSecurityGroupAttribute.
#[derive(Debug, Clone)]
pub struct DescribeGroupAttribute {
    pub region: String,
    pub group_id: String,
    /// `None` for both directions.
    pub direction: Option<SgDirection>,
    /// `MaxResults` and the offset carried by `NextToken`.
    pub max_results: usize,
    pub start: usize,
}

/// A group with one page of its rules.
#[derive(Debug, Clone)]
pub struct GroupAttribute {
    pub group: SecurityGroup,
    pub rules: Vec<SecurityGroupRule>,
    /// The token of the next page; empty on the last one.
    pub next_token: String,
}

/// A checked rule whose peer group is not yet looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RuleSpec {
    protocol: SgProtocol,
    port_range: SgPortRange,
    source_port_range: Option<SgPortRange>,
    source_cidr_ip: String,
    ipv6_source_cidr_ip: String,
    dest_cidr_ip: String,
    ipv6_dest_cidr_ip: String,
    peer: Option<SecurityGroupId>,
    policy: SgPolicy,
    priority: u32,
    nic_type: String,
    description: String,
}

impl RuleSpec {
    /// Whether `rule` is this rule: every field but ID, description and time.
    fn matches(&self, direction: SgDirection, rule: &SecurityGroupRule) -> bool {
        rule.direction == direction
            && rule.protocol == self.protocol
            && rule.port_range == self.port_range
            && rule.source_port_range == self.source_port_range
            && rule.source_cidr_ip == self.source_cidr_ip
            && rule.ipv6_source_cidr_ip == self.ipv6_source_cidr_ip
            && rule.dest_cidr_ip == self.dest_cidr_ip
            && rule.ipv6_dest_cidr_ip == self.ipv6_dest_cidr_ip
            && rule.peer_group_id == self.peer
            && rule.policy == self.policy
            && rule.priority == self.priority
            && rule.nic_type == self.nic_type
    }

    /// The stored rule this spec makes.
    fn row(
        &self,
        id: SecurityGroupRuleId,
        group: &SecurityGroupId,
        direction: SgDirection,
        created_at: i64,
    ) -> SecurityGroupRule {
        SecurityGroupRule {
            id,
            security_group_id: group.clone(),
            direction,
            protocol: self.protocol,
            port_range: self.port_range,
            source_port_range: self.source_port_range,
            source_cidr_ip: self.source_cidr_ip.clone(),
            ipv6_source_cidr_ip: self.ipv6_source_cidr_ip.clone(),
            dest_cidr_ip: self.dest_cidr_ip.clone(),
            ipv6_dest_cidr_ip: self.ipv6_dest_cidr_ip.clone(),
            peer_group_id: self.peer.clone(),
            policy: self.policy,
            priority: self.priority,
            nic_type: self.nic_type.clone(),
            description: self.description.clone(),
            created_at,
        }
    }

    fn same_rule(&self, other: &RuleSpec) -> bool {
        RuleSpec {
            description: String::new(),
            ..self.clone()
        } == RuleSpec {
            description: String::new(),
            ..other.clone()
        }
    }
}

/// Parses `a/b` into two integers.
fn two_ints(text: &str) -> Option<(i32, i32)> {
    let (a, b) = text.split_once('/')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// A (destination or source) port range for `protocol`; `err` builds the malformed error.
fn read_port_range(
    protocol: SgProtocol,
    text: &str,
    err: impl Fn(String) -> ApiError,
    mismatch: ApiError,
) -> Result<SgPortRange, ApiError> {
    let (a, b) = two_ints(text).ok_or_else(|| {
        err(format!(
            "{text:?} is not two integers separated by '/', such as 22/22 or -1/-1."
        ))
    })?;
    if protocol.has_ports() {
        if (a, b) == (-1, -1) {
            return Err(mismatch);
        }
        if !(1..=65535).contains(&a) || !(1..=65535).contains(&b) || a > b {
            return Err(err(format!(
                "{text:?}: ports are 1 to 65535, the first not above the last."
            )));
        }
    } else if (a, b) != (-1, -1) {
        return Err(mismatch);
    }
    Ok((a, b))
}

/// An IPv4 address (kept as is) or block (host bits cleared), in canonical text.
fn v4_block(text: &str) -> Option<String> {
    match text.split_once('/') {
        None => text.parse::<Ipv4Addr>().ok().map(|a| a.to_string()),
        Some((addr, len)) => {
            let addr: Ipv4Addr = addr.parse().ok()?;
            let len: u8 = len
                .parse()
                .ok()
                .filter(|l| *l <= 32 && !len.starts_with('+'))?;
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            Some(format!("{}/{len}", Ipv4Addr::from(u32::from(addr) & mask)))
        }
    }
}

/// An IPv6 address (kept as is) or block (host bits cleared), in canonical text.
fn v6_block(text: &str) -> Option<String> {
    match text.split_once('/') {
        None => text.parse::<Ipv6Addr>().ok().map(|a| a.to_string()),
        Some((addr, len)) => {
            let addr: Ipv6Addr = addr.parse().ok()?;
            let len: u8 = len
                .parse()
                .ok()
                .filter(|l| *l <= 128 && !len.starts_with('+'))?;
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            Some(format!("{}/{len}", Ipv6Addr::from(u128::from(addr) & mask)))
        }
    }
}

fn opt_block(
    text: &Option<String>,
    parse: fn(&str) -> Option<String>,
    err: ApiError,
) -> Result<String, ApiError> {
    match text.as_deref() {
        None => Ok(String::new()),
        Some(t) => parse(t).ok_or(err),
    }
}

/// Checks one permission of a call in `direction` on `group` (peer group not looked up).
fn check_rule(direction: SgDirection, input: &RuleInput) -> Result<RuleSpec, ApiError> {
    let protocol = match input.ip_protocol.as_deref() {
        None => return Err(ApiError::missing("IpProtocol")),
        Some(p) => match p.to_ascii_lowercase().as_str() {
            "tcp" => SgProtocol::Tcp,
            "udp" => SgProtocol::Udp,
            "icmp" => SgProtocol::Icmp,
            "icmpv6" => SgProtocol::Icmpv6,
            "gre" => SgProtocol::Gre,
            "all" => SgProtocol::All,
            _ => return Err(ApiError::IpProtocolNotSupported),
        },
    };
    let ports = input
        .port_range
        .as_deref()
        .ok_or_else(|| ApiError::PortRangeMalformed {
            message: "PortRange must be set.".into(),
        })?;
    let port_range = read_port_range(
        protocol,
        ports,
        |message| ApiError::PortRangeMalformed { message },
        ApiError::ProtocolPortRangeMismatch,
    )?;
    let source_port_range = input
        .source_port_range
        .as_deref()
        .map(|t| {
            read_port_range(
                protocol,
                t,
                |message| ApiError::SourcePortRangeMalformed { message },
                ApiError::SourcePortRangeMalformed {
                    message: format!("{t:?} does not match IpProtocol {}.", protocol.as_str()),
                },
            )
        })
        .transpose()?;
    let policy = match input
        .policy
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("accept") => SgPolicy::Accept,
        Some("drop") => SgPolicy::Drop,
        Some(_) => return Err(ApiError::PolicyMalformed),
    };
    let priority = match input.priority.as_deref() {
        None => 1,
        Some(p) => {
            let n: i64 = p.trim().parse().map_err(|_| ApiError::PriorityMalformed)?;
            u32::try_from(n)
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or(ApiError::PriorityNotSupported)?
        }
    };
    // A VPC group's rules are intranet; `internet` is read as intranet (the reference:
    // "If you set this parameter to internet or leave it empty, the value is automatically
    // set to intranet").
    match input
        .nic_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("intranet") | Some("internet") => {}
        // Terraform's provider sends `<nil>` (a nil map value, formatted) to update and
        // revoke a rule created without nic_type; Alibaba takes it, as unset.
        Some("<nil>") => {}
        Some(_) => return Err(ApiError::NicTypeNotSupported),
    }
    let description = match input.description.as_deref() {
        None => String::new(),
        Some(d) => {
            let lower = d.to_ascii_lowercase();
            let n = d.chars().count();
            if !(1..=512).contains(&n)
                || lower.starts_with("http://")
                || lower.starts_with("https://")
            {
                return Err(ApiError::RuleDescriptionMalformed);
            }
            d.to_string()
        }
    };
    let source_cidr_ip = opt_block(
        &input.source_cidr_ip,
        v4_block,
        ApiError::SourceCidrIpMalformed,
    )?;
    let ipv6_source_cidr_ip = opt_block(
        &input.ipv6_source_cidr_ip,
        v6_block,
        ApiError::Ipv6SourceCidrIpInvalid,
    )?;
    let dest_cidr_ip = opt_block(&input.dest_cidr_ip, v4_block, ApiError::DestCidrIpMalformed)?;
    let ipv6_dest_cidr_ip = opt_block(
        &input.ipv6_dest_cidr_ip,
        v6_block,
        ApiError::Ipv6DestCidrIpInvalid,
    )?;
    if !source_cidr_ip.is_empty() && !ipv6_source_cidr_ip.is_empty() {
        return Err(ApiError::SourceIpConflict);
    }
    if !dest_cidr_ip.is_empty() && !ipv6_dest_cidr_ip.is_empty() {
        return Err(ApiError::DestIpConflict);
    }
    let has_v4 = !source_cidr_ip.is_empty() || !dest_cidr_ip.is_empty();
    let has_v6 = !ipv6_source_cidr_ip.is_empty() || !ipv6_dest_cidr_ip.is_empty();
    if has_v4 && has_v6 {
        return Err(ApiError::ParameterConflict {
            message: "IPv6 and IPv4 addresses cannot exist at the same time.".into(),
        });
    }
    if has_v6 && matches!(protocol, SgProtocol::Icmp | SgProtocol::Gre) {
        return Err(ApiError::Ipv4ProtocolConflictWithIpv6Address);
    }
    if has_v4 && protocol == SgProtocol::Icmpv6 {
        return Err(ApiError::Ipv6ProtocolConflictWithIpv4Address);
    }
    let (remote_v4, remote_v6) = match direction {
        SgDirection::Ingress => (&source_cidr_ip, &ipv6_source_cidr_ip),
        SgDirection::Egress => (&dest_cidr_ip, &ipv6_dest_cidr_ip),
    };
    // A block of the remote side wins over a group given with it.
    let peer = if remote_v4.is_empty() && remote_v6.is_empty() {
        let not_found = match direction {
            SgDirection::Ingress => ApiError::SourceGroupNotFound,
            SgDirection::Egress => ApiError::DestGroupNotFound,
        };
        match input.peer_group_id.as_deref() {
            Some(g) => Some(g.parse::<SecurityGroupId>().map_err(|_| not_found)?),
            None => {
                return Err(match direction {
                    SgDirection::Ingress => ApiError::MissingSource,
                    SgDirection::Egress => ApiError::MissingDest,
                })
            }
        }
    } else {
        None
    };
    Ok(RuleSpec {
        protocol,
        port_range,
        source_port_range,
        source_cidr_ip,
        ipv6_source_cidr_ip,
        dest_cidr_ip,
        ipv6_dest_cidr_ip,
        peer,
        policy,
        priority,
        nic_type: "intranet".into(),
        description,
    })
}

/// Checks every permission of a call; the same rule twice is refused.
fn check_rules(direction: SgDirection, inputs: &[RuleInput]) -> Result<Vec<RuleSpec>, ApiError> {
    let mut specs: Vec<RuleSpec> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let spec = check_rule(direction, input)?;
        if specs.iter().any(|s| s.same_rule(&spec)) {
            return Err(ApiError::DuplicatePermissions);
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// A stored rule as a request would state it, with the fields `given` sends in its place:
/// the remote side (a CIDR, an IPv6 CIDR or a group) is replaced as one when any of it is
/// given, every other field on its own.
fn overlay(rule: &SecurityGroupRule, given: &RuleInput, direction: SgDirection) -> RuleInput {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let ports = |(a, b): SgPortRange| format!("{a}/{b}");
    let stored = RuleInput {
        ip_protocol: Some(rule.protocol.as_str().to_string()),
        port_range: Some(ports(rule.port_range)),
        source_port_range: rule.source_port_range.map(ports),
        source_cidr_ip: some(&rule.source_cidr_ip),
        ipv6_source_cidr_ip: some(&rule.ipv6_source_cidr_ip),
        dest_cidr_ip: some(&rule.dest_cidr_ip),
        ipv6_dest_cidr_ip: some(&rule.ipv6_dest_cidr_ip),
        peer_group_id: rule.peer_group_id.as_ref().map(|g| g.to_string()),
        policy: Some(rule.policy.as_str().to_string()),
        priority: Some(rule.priority.to_string()),
        nic_type: some(&rule.nic_type),
        description: some(&rule.description),
    };
    let pick = |g: &Option<String>, s: &Option<String>| g.clone().or_else(|| s.clone());
    let mut out = RuleInput {
        ip_protocol: pick(&given.ip_protocol, &stored.ip_protocol),
        port_range: pick(&given.port_range, &stored.port_range),
        source_port_range: pick(&given.source_port_range, &stored.source_port_range),
        source_cidr_ip: pick(&given.source_cidr_ip, &stored.source_cidr_ip),
        ipv6_source_cidr_ip: pick(&given.ipv6_source_cidr_ip, &stored.ipv6_source_cidr_ip),
        dest_cidr_ip: pick(&given.dest_cidr_ip, &stored.dest_cidr_ip),
        ipv6_dest_cidr_ip: pick(&given.ipv6_dest_cidr_ip, &stored.ipv6_dest_cidr_ip),
        peer_group_id: pick(&given.peer_group_id, &stored.peer_group_id),
        policy: pick(&given.policy, &stored.policy),
        priority: pick(&given.priority, &stored.priority),
        nic_type: pick(&given.nic_type, &stored.nic_type),
        description: pick(&given.description, &stored.description),
    };
    // Another protocol without ports: one without ports takes -1/-1; TCP and UDP must be
    // given theirs (the old ones belong to the old protocol).
    if let (Some(protocol), None) = (&given.ip_protocol, &given.port_range) {
        let portless = !matches!(protocol.to_ascii_lowercase().as_str(), "tcp" | "udp");
        out.port_range = portless.then(|| "-1/-1".to_string());
        out.source_port_range = given.source_port_range.clone();
    }
    // The remote side as one: what was given, alone.
    let remote_given = match direction {
        SgDirection::Ingress => {
            given.source_cidr_ip.is_some()
                || given.ipv6_source_cidr_ip.is_some()
                || given.peer_group_id.is_some()
        }
        SgDirection::Egress => {
            given.dest_cidr_ip.is_some()
                || given.ipv6_dest_cidr_ip.is_some()
                || given.peer_group_id.is_some()
        }
    };
    if remote_given {
        out.peer_group_id = given.peer_group_id.clone();
        match direction {
            SgDirection::Ingress => {
                out.source_cidr_ip = given.source_cidr_ip.clone();
                out.ipv6_source_cidr_ip = given.ipv6_source_cidr_ip.clone();
            }
            SgDirection::Egress => {
                out.dest_cidr_ip = given.dest_cidr_ip.clone();
                out.ipv6_dest_cidr_ip = given.ipv6_dest_cidr_ip.clone();
            }
        }
    }
    out
}

impl Core {
    /// AuthorizeSecurityGroup (ingress) or AuthorizeSecurityGroupEgress.
    pub fn authorize_security_group(
        &self,
        caller: &Caller,
        req: AuthorizeRules,
    ) -> Result<(), ApiError> {
        self.check_region(&req.region)?;
        let specs = check_rules(req.direction, &req.rules)?;
        let t = now();
        self.write(|tx| -> Result<(), CoreError> {
            let group = group_in_region(tx, caller, &req.region, &req.group_id)?;
            let enterprise = group.group_type == "enterprise";
            for spec in &specs {
                if enterprise && spec.policy == SgPolicy::Drop {
                    return Err(ApiError::EnterpriseGroupAttribute.into());
                }
                if let Some(peer) = &spec.peer {
                    self.check_peer(tx, caller, &group, req.direction, peer)?;
                }
                let rule = spec.row(
                    SecurityGroupRuleId::generate(&req.region),
                    &group.id,
                    req.direction,
                    t,
                );
                match tx.sg_rule_insert(&rule) {
                    Ok(()) => {}
                    // The rule exists: Alibaba succeeds and creates nothing.
                    Err(e) if e.is_conflict_on(constraints::SG_RULE_UNIQUE) => {}
                    Err(e) if e.is_conflict_on(constraints::SG_RULE_PEER_FK) => {
                        return Err(peer_not_found(req.direction).into())
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // Limits hold for what the group holds now, repeats not counted.
            let rules = tx.sg_rules_of(&group.id)?;
            if rules.len() > MAX_RULES_PER_GROUP as usize {
                return Err(ApiError::AuthorizationLimitExceed {
                    limit: MAX_RULES_PER_GROUP,
                }
                .into());
            }
            let group_rules = rules.iter().filter(|r| r.peer_group_id.is_some()).count();
            if group_rules > MAX_GROUP_RULES_PER_GROUP as usize {
                return Err(ApiError::GroupRuleLimitExceed {
                    limit: MAX_GROUP_RULES_PER_GROUP,
                }
                .into());
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// The peer of a rule of `group`: another group of the caller, in the same VPC, and the
    /// group itself not an enterprise one.
    fn check_peer(
        &self,
        tx: &mut dyn eni_store::Tx,
        caller: &Caller,
        group: &SecurityGroup,
        direction: SgDirection,
        peer: &SecurityGroupId,
    ) -> Result<(), CoreError> {
        if *peer == group.id {
            return Err(match direction {
                SgDirection::Ingress => ApiError::SourceGroupIsSelf,
                SgDirection::Egress => ApiError::DestGroupIsSelf,
            }
            .into());
        }
        if group.group_type == "enterprise" {
            return Err(ApiError::EnterpriseGroupReference.into());
        }
        let found = tx
            .security_group_get(caller.account, peer)?
            .filter(|p| p.region_id == group.region_id);
        let Some(p) = found else {
            return Err(peer_not_found(direction).into());
        };
        if p.vpc_id != group.vpc_id {
            return Err(match direction {
                SgDirection::Ingress => ApiError::SourceGroupVpcMismatch,
                SgDirection::Egress => ApiError::DestGroupVpcMismatch,
            }
            .into());
        }
        Ok(())
    }

    /// RevokeSecurityGroup (ingress) or RevokeSecurityGroupEgress.
    pub fn revoke_security_group(&self, caller: &Caller, req: RevokeRules) -> Result<(), ApiError> {
        self.check_region(&req.region)?;
        let specs = check_rules(req.direction, &req.rules)?;
        self.write(|tx| -> Result<(), CoreError> {
            let group = group_in_region(tx, caller, &req.region, &req.group_id)?;
            let rules = tx.sg_rules_of(&group.id)?;
            for text in &req.rule_ids {
                let rule = text
                    .parse::<SecurityGroupRuleId>()
                    .ok()
                    .and_then(|id| rules.iter().find(|r| r.id == id))
                    .filter(|r| r.direction == req.direction)
                    .ok_or(ApiError::SecurityGroupRuleNotFound)?;
                // Listed twice in one call: the second finds it gone, which is no error.
                tx.sg_rule_delete(&group.id, &rule.id)?;
            }
            for spec in &specs {
                // No such rule: nothing to revoke, and no error.
                if let Some(rule) = rules.iter().find(|r| spec.matches(req.direction, r)) {
                    tx.sg_rule_delete(&group.id, &rule.id)?;
                }
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// ModifySecurityGroupRule / ModifySecurityGroupEgressRule. By `rule_id`, the fields given
    /// replace the rule's (the remote side, a CIDR or a group, as one), checked as
    /// AuthorizeSecurityGroup checks them; without it, `rule` names the rule by its
    /// permission and only its description changes. The rule keeps its ID and place.
    pub fn modify_security_group_rule(
        &self,
        caller: &Caller,
        req: ModifyRule,
    ) -> Result<(), ApiError> {
        self.check_region(&req.region)?;
        let named = match &req.rule_id {
            None => Some(check_rules(req.direction, std::slice::from_ref(&req.rule))?.remove(0)),
            Some(_) => None,
        };
        self.write(|tx| -> Result<(), CoreError> {
            let group = group_in_region(tx, caller, &req.region, &req.group_id)?;
            let rules = tx.sg_rules_of(&group.id)?;
            let updated = match (&req.rule_id, &named) {
                (None, Some(spec)) => {
                    let rule = rules
                        .iter()
                        .find(|r| spec.matches(req.direction, r))
                        .ok_or(ApiError::SecurityGroupRuleNotFound)?;
                    SecurityGroupRule {
                        description: spec.description.clone(),
                        ..rule.clone()
                    }
                }
                (Some(text), _) => {
                    let rule = text
                        .parse::<SecurityGroupRuleId>()
                        .ok()
                        .and_then(|id| rules.iter().find(|r| r.id == id))
                        .filter(|r| r.direction == req.direction)
                        .ok_or(ApiError::SecurityGroupRuleNotFound)?;
                    let spec = check_rule(req.direction, &overlay(rule, &req.rule, req.direction))?;
                    if group.group_type == "enterprise" && spec.policy == SgPolicy::Drop {
                        return Err(ApiError::EnterpriseGroupAttribute.into());
                    }
                    if let Some(peer) = &spec.peer {
                        self.check_peer(tx, caller, &group, req.direction, peer)?;
                    }
                    spec.row(rule.id.clone(), &group.id, req.direction, rule.created_at)
                }
                (None, None) => return Err(ApiError::SecurityGroupRuleNotFound.into()),
            };
            match tx.sg_rule_update(&updated) {
                Ok(true) => Ok(()),
                Ok(false) => Err(ApiError::SecurityGroupRuleNotFound.into()),
                Err(e) if e.is_conflict_on(constraints::SG_RULE_UNIQUE) => {
                    Err(ApiError::DuplicatePermissions.into())
                }
                Err(e) if e.is_conflict_on(constraints::SG_RULE_PEER_FK) => {
                    Err(peer_not_found(req.direction).into())
                }
                Err(e) => Err(e.into()),
            }
        })
        .map_err(Into::into)
    }

    /// DescribeSecurityGroupAttribute: the group and one page of its rules, oldest first.
    pub fn describe_security_group_attribute(
        &self,
        caller: &Caller,
        req: DescribeGroupAttribute,
    ) -> Result<GroupAttribute, ApiError> {
        self.check_region(&req.region)?;
        let (group, rules) = with_read(
            self.store(),
            |tx| -> Result<(SecurityGroup, Vec<SecurityGroupRule>), CoreError> {
                let group = group_in_region(tx, caller, &req.region, &req.group_id)?;
                let rules = tx.sg_rules_of(&group.id)?;
                Ok((group, rules))
            },
        )
        .map_err(ApiError::from)?;
        let matching: Vec<SecurityGroupRule> = rules
            .into_iter()
            .filter(|r| req.direction.is_none_or(|d| d == r.direction))
            .collect();
        let total = matching.len();
        let page: Vec<SecurityGroupRule> = matching
            .into_iter()
            .skip(req.start)
            .take(req.max_results)
            .collect();
        let next = req.start + page.len();
        let next_token = if next < total {
            next.to_string()
        } else {
            String::new()
        };
        Ok(GroupAttribute {
            group,
            rules: page,
            next_token,
        })
    }

    /// ModifySecurityGroupPolicy: whether the group's members reach each other. An
    /// enterprise group's members never do.
    pub fn modify_security_group_policy(
        &self,
        caller: &Caller,
        region: &str,
        group_id: &str,
        policy: &str,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        let policy = match policy.to_ascii_lowercase().as_str() {
            "accept" => SgPolicy::Accept,
            "drop" => SgPolicy::Drop,
            _ => {
                return Err(ApiError::invalid_param_because(
                    "InnerAccessPolicy",
                    "Accept or Drop",
                ))
            }
        };
        self.write(|tx| -> Result<(), CoreError> {
            let group = group_in_region(tx, caller, region, group_id)?;
            if group.group_type == "enterprise" && policy != SgPolicy::Drop {
                return Err(ApiError::EnterpriseGroupAttribute.into());
            }
            if !tx.sg_inner_access_policy_set(caller.account, &group.id, policy)? {
                return Err(ApiError::SecurityGroupNotFound.into());
            }
            Ok(())
        })
        .map_err(Into::into)
    }
}

fn peer_not_found(direction: SgDirection) -> ApiError {
    match direction {
        SgDirection::Ingress => ApiError::SourceGroupNotFound,
        SgDirection::Egress => ApiError::DestGroupNotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(ports: &str) -> RuleInput {
        RuleInput {
            ip_protocol: Some("tcp".into()),
            port_range: Some(ports.into()),
            source_cidr_ip: Some("10.0.0.0/8".into()),
            ..RuleInput::default()
        }
    }

    fn code(r: Result<RuleSpec, ApiError>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn port_ranges_follow_the_protocol() {
        let ing = SgDirection::Ingress;
        assert_eq!(code(check_rule(ing, &tcp("22/22"))), "ok");
        assert_eq!(code(check_rule(ing, &tcp("1/65535"))), "ok");
        for bad in ["0/22", "22/65536", "23/22", "22", "a/b", "22-23", ""] {
            assert_eq!(
                code(check_rule(ing, &tcp(bad))),
                "InvalidPortRange.Malformed",
                "{bad}"
            );
        }
        assert_eq!(code(check_rule(ing, &tcp("-1/-1"))), "OperationDenied");
        let icmp = |ports: &str| RuleInput {
            ip_protocol: Some("ICMP".into()),
            ..tcp(ports)
        };
        assert_eq!(code(check_rule(ing, &icmp("-1/-1"))), "ok");
        assert_eq!(code(check_rule(ing, &icmp("22/22"))), "OperationDenied");
    }

    #[test]
    fn blocks_are_canonical_and_of_one_family() {
        assert_eq!(v4_block("10.1.2.3/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(v4_block("10.1.2.3").as_deref(), Some("10.1.2.3"));
        assert_eq!(v4_block("10.1.2.3/33"), None);
        assert_eq!(v4_block("10.1.2/8"), None);
        assert_eq!(
            v6_block("2408:4000::1/32").as_deref(),
            Some("2408:4000::/32")
        );
        assert_eq!(
            v6_block("2408:4000:0:0::1").as_deref(),
            Some("2408:4000::1")
        );
        let ing = SgDirection::Ingress;
        let v6 = RuleInput {
            source_cidr_ip: None,
            ipv6_source_cidr_ip: Some("::/0".into()),
            ..tcp("22/22")
        };
        assert_eq!(code(check_rule(ing, &v6)), "ok");
        let mixed = RuleInput {
            dest_cidr_ip: Some("10.0.0.1".into()),
            ..v6.clone()
        };
        assert_eq!(code(check_rule(ing, &mixed)), "InvalidParameter.Conflict");
        let gre6 = RuleInput {
            ip_protocol: Some("gre".into()),
            port_range: Some("-1/-1".into()),
            ..v6.clone()
        };
        assert_eq!(
            code(check_rule(ing, &gre6)),
            "InvalidParam.Ipv4ProtocolConflictWithIpv6Address"
        );
        let icmp6_v4 = RuleInput {
            ip_protocol: Some("IcMpV6".into()),
            port_range: Some("-1/-1".into()),
            ..tcp("22/22")
        };
        assert_eq!(
            code(check_rule(ing, &icmp6_v4)),
            "InvalidParam.Ipv6ProtocolConflictWithIpv4Address"
        );
    }

    #[test]
    fn a_block_wins_over_a_group_and_a_rule_needs_a_remote_side() {
        let with_group = RuleInput {
            peer_group_id: Some("sg-abc".into()),
            ..tcp("22/22")
        };
        let spec = check_rule(SgDirection::Ingress, &with_group).unwrap();
        assert_eq!(spec.peer, None);
        let none = RuleInput {
            source_cidr_ip: None,
            ..tcp("22/22")
        };
        assert_eq!(
            code(check_rule(SgDirection::Ingress, &none)),
            "MissingParameter.Source"
        );
        // For egress the source block is the local side: a destination is still missing.
        assert_eq!(
            code(check_rule(SgDirection::Egress, &tcp("22/22"))),
            "MissingParameter.Dest"
        );
    }

    #[test]
    fn the_same_rule_twice_in_a_call_is_refused() {
        let a = tcp("22/22");
        let b = RuleInput {
            description: Some("same rule, other words".into()),
            ip_protocol: Some("TCP".into()),
            ..tcp("22/22")
        };
        assert_eq!(
            check_rules(SgDirection::Ingress, &[a.clone(), b]).unwrap_err(),
            ApiError::DuplicatePermissions
        );
        let c = RuleInput {
            priority: Some("2".into()),
            ..a.clone()
        };
        assert!(check_rules(SgDirection::Ingress, &[a, c]).is_ok());
    }
}
