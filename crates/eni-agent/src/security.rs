//! Security groups → one nftables table per VPC router (spec §3.3, §10.3).
//!
//! Every packet between two instances crosses the VPC's router namespace, so one `forward`
//! chain there sees all of it. Groups are keyed by address, not by port: a map sends each
//! ENI address to the chains of its set of groups, so an attach, a detach or a move changes
//! nothing here (only creating or deleting an ENI, assigning an address or changing groups and
//! rules do). The chain of a group set holds the union of its groups' rules, sorted by
//! priority (1 first) with a drop before an accept of the same priority; the first match
//! decides. Egress chains `return` to allow (an `accept` would end the hook before the
//! receiver's ingress check), ingress chains `accept`. Before any rule, the groups'
//! InnerAccessPolicy: between members of an `Accept` group every rule is ignored
//! (ModifySecurityGroupPolicy: "other custom access rules are ignored"), so they always reach
//! each other. After the rules, the default: ingress dropped, egress allowed. Replies of allowed flows pass
//! (conntrack), whatever the rules; flows already open when a rule changes go on. Maps and
//! sets hold intervals: an ENI's IPv4 /28 and IPv6 /80 prefixes are its addresses too.
//!
//! The same table NATs the VPC's EIPs in NAT mode on the router's uplink to the simulated
//! internet: an EIP's traffic is translated to its private address before the groups look at
//! it. An EIP in a visible mode (BINDED, MULTI_BINDED) is an address of its ENI's NIC, in the
//! maps like the ENI's private addresses, and passes untranslated.

use eni_dataplane::model::Ruleset;
use eni_types::hoststate::{
    Direction, EipDesired, EipMode, SecurityGroupDesired, SgRuleDesired, VpcDesired,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// 48 bits of FNV-1a, as 12 hex digits: short names for chains and sets (nft identifiers
/// cannot hold the `-` of an id).
fn short(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:012x}", h & 0xffff_ffff_ffff)
}

fn is_v6(addr: &str) -> bool {
    addr.contains(':')
}

/// The address sets of a group's members, IPv4 and IPv6.
fn member_sets(group: &str) -> (String, String) {
    let h = short(group);
    (format!("m4_{h}"), format!("m6_{h}"))
}

/// A block as a match on `field`, with its address family (`Some(true)`: IPv6); `None`
/// when the text is not an address block (`nft` would refuse it: it matches nothing).
fn block(cidr: &str, field: &str) -> Option<(String, bool)> {
    let (ip, len) = cidr.split_once('/').unwrap_or((cidr, ""));
    let ip: std::net::IpAddr = ip.parse().ok()?;
    if !len.is_empty() && len.parse::<u8>().is_err() {
        return None;
    }
    let v6 = ip.is_ipv6();
    Some(if len == "0" {
        // 0.0.0.0/0 or ::/0: the whole family.
        let fam = if v6 { "ipv6" } else { "ipv4" };
        (format!("meta nfproto {fam} "), v6)
    } else {
        (
            format!("{} {field} {cidr} ", if v6 { "ip6" } else { "ip" }),
            v6,
        )
    })
}

/// The address matches of a rule: the far side (`far`: saddr of an ingress rule) and the
/// group's own side, one statement prefix per address family it can match; none when it can
/// match nothing.
fn addr_matches(rule: &SgRuleDesired, far: &str, local: &str) -> Vec<String> {
    let local = match rule.local_cidr.as_deref().map(|c| block(c, local)) {
        None => None,
        Some(None) => return Vec::new(),
        Some(Some(l)) => Some(l),
    };
    let fars: Vec<(String, Option<bool>)> = if let Some(group) = &rule.peer_group {
        let (m4, m6) = member_sets(group);
        vec![
            (format!("ip {far} @{m4} "), Some(false)),
            (format!("ip6 {far} @{m6} "), Some(true)),
        ]
    } else if let Some(cidr) = &rule.cidr {
        match block(cidr, far) {
            Some((m, v6)) => vec![(m, Some(v6))],
            None => return Vec::new(),
        }
    } else {
        vec![(String::new(), None)]
    };
    fars.into_iter()
        .filter_map(|(m, fam)| match &local {
            None => Some(m),
            // An IPv4 side and an IPv6 side never meet in one packet.
            Some((_, lv6)) if fam.is_some_and(|v6| v6 != *lv6) => None,
            Some((l, _)) => Some(format!("{m}{l}")),
        })
        .collect()
}

/// The protocol and port match of a rule.
fn proto_match(rule: &SgRuleDesired) -> String {
    let range = |(a, b): (u16, u16)| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    match rule.protocol.as_str() {
        p @ ("tcp" | "udp") => {
            let mut m = String::new();
            if let Some(s) = rule.source_ports {
                m += &format!("{p} sport {} ", range(s));
            }
            if let Some(d) = rule.ports {
                m += &format!("{p} dport {} ", range(d));
            }
            if m.is_empty() {
                m = format!("meta l4proto {p} ");
            }
            m
        }
        "icmp" => "meta l4proto icmp ".into(),
        "icmpv6" => "meta l4proto ipv6-icmp ".into(),
        "gre" => "meta l4proto gre ".into(),
        _ => String::new(),
    }
}

/// The chain of one direction for a set of groups.
fn chain(name: &str, dir: Direction, groups: &[&SecurityGroupDesired]) -> String {
    let (far, local, allow, default) = match dir {
        Direction::Ingress => ("saddr", "daddr", "accept", "drop"),
        Direction::Egress => ("daddr", "saddr", "return", "return"),
    };
    let mut rules: Vec<&SgRuleDesired> = groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .filter(|r| r.direction == dir)
        .collect();
    // Priority first, a drop before an accept of the same priority; the rest only fixes
    // the order so the text (and its digest) is the same on every pass.
    rules.sort_by(|a, b| (a.priority, a.accept, *a).cmp(&(b.priority, b.accept, *b)));
    rules.dedup();
    let mut out = format!("\tchain {name} {{\n");
    // InnerAccessPolicy Accept comes before every rule: "other custom access rules are
    // ignored" between members (ModifySecurityGroupPolicy), in both directions.
    for g in groups.iter().filter(|g| g.inner_accept) {
        let (m4, m6) = member_sets(&g.security_group_id);
        let _ = writeln!(out, "\t\tip {far} @{m4} {allow}");
        let _ = writeln!(out, "\t\tip6 {far} @{m6} {allow}");
    }
    for r in rules {
        let verdict = if r.accept { allow } else { "drop" };
        for m in addr_matches(r, far, local) {
            let _ = writeln!(out, "\t\t{m}{}{verdict}", proto_match(r));
        }
    }
    let _ = writeln!(out, "\t\t{default}\n\t}}");
    out
}

fn elements(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        String::new()
    } else {
        format!(" elements = {{ {} }};", items.join(", "))
    }
}

/// The security-group table of a VPC's router, or `None` when the VPC has no ENIs to guard.
pub fn ruleset(vpc: &VpcDesired) -> Option<Ruleset> {
    if vpc.enis.is_empty() {
        return None;
    }
    let groups: BTreeMap<&str, &SecurityGroupDesired> = vpc
        .security_groups
        .iter()
        .map(|g| (g.security_group_id.as_str(), g))
        .collect();
    // Members of each group, and each ENI's set of (known) groups.
    let mut members: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    // Addresses sorted, so that the text (and its digest) does not depend on listing order.
    let mut sets: BTreeMap<Vec<&str>, BTreeSet<&str>> = BTreeMap::new();
    for eni in &vpc.enis {
        let mut set: Vec<&str> = eni
            .security_groups
            .iter()
            .map(String::as_str)
            .filter(|g| groups.contains_key(g))
            .collect();
        set.sort();
        set.dedup();
        for g in &set {
            let m = members.entry(g).or_default();
            for a in &eni.addresses {
                if is_v6(a) {
                    m.1.insert(a);
                } else {
                    m.0.insert(a);
                }
            }
        }
        sets.entry(set)
            .or_default()
            .extend(eni.addresses.iter().map(String::as_str));
    }
    let mut text = String::new();
    // Every group's member sets, and those of every group a rule names (which may have no
    // member here, or no description at all: empty sets, so the rule matches nothing).
    let named: BTreeSet<&str> = groups
        .keys()
        .copied()
        .chain(
            vpc.security_groups
                .iter()
                .flat_map(|g| g.rules.iter().filter_map(|r| r.peer_group.as_deref())),
        )
        .collect();
    for g in named {
        let (m4, m6) = member_sets(g);
        let (v4, v6) = members.get(g).cloned().unwrap_or_default();
        let _ = writeln!(
            text,
            "\tset {m4} {{ type ipv4_addr; flags interval;{} }}",
            elements(v4.iter().map(|a| a.to_string()))
        );
        let _ = writeln!(
            text,
            "\tset {m6} {{ type ipv6_addr; flags interval;{} }}",
            elements(v6.iter().map(|a| a.to_string()))
        );
    }
    let mut maps: BTreeMap<(&str, bool), Vec<String>> = BTreeMap::new();
    for (set, addrs) in &sets {
        let h = short(&set.join(","));
        let chosen: Vec<&SecurityGroupDesired> = set.iter().map(|g| groups[g]).collect();
        text += &chain(&format!("in_{h}"), Direction::Ingress, &chosen);
        text += &chain(&format!("out_{h}"), Direction::Egress, &chosen);
        for a in addrs {
            let v6 = is_v6(a);
            maps.entry(("in", v6))
                .or_default()
                .push(format!("{a} : jump in_{h}"));
            maps.entry(("out", v6))
                .or_default()
                .push(format!("{a} : jump out_{h}"));
        }
    }
    for dir in ["in", "out"] {
        for (v6, ty, n) in [(false, "ipv4_addr", "4"), (true, "ipv6_addr", "6")] {
            let _ = writeln!(
                text,
                "\tmap {dir}{n} {{ type {ty} : verdict; flags interval;{} }}",
                elements(maps.remove(&(dir, v6)).unwrap_or_default())
            );
        }
    }
    // EIPs in NAT mode: translated on the router's uplink, before the forward hook inbound
    // (so the groups see the private address) and after it outbound. EIPs in the visible
    // modes are not translated: they are the NIC's own addresses, in the groups' maps above.
    // Only an address with an EIP (a NAT-ed private address, or a visible EIP itself) may
    // start anything towards the internet; replies of inbound flows are established.
    let uplink = crate::render::UPLINK;
    let mut guard = String::new();
    let mut nat: Vec<&EipDesired> = vpc.eips.iter().filter(|e| e.mode == EipMode::Nat).collect();
    nat.sort();
    if !nat.is_empty() {
        let eips = &nat;
        let pairs = |f: &dyn Fn(&EipDesired) -> String| elements(eips.iter().map(|e| f(e)));
        let _ = writeln!(
            text,
            "\tmap eip_dnat {{ type ipv4_addr : ipv4_addr;{} }}",
            pairs(&|e| format!("{} : {}", e.eip, e.private_ip))
        );
        let _ = writeln!(
            text,
            "\tmap eip_snat {{ type ipv4_addr : ipv4_addr;{} }}",
            pairs(&|e| format!("{} : {}", e.private_ip, e.eip))
        );
        let _ = writeln!(
            text,
            "\tchain nat_in {{\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\
             \t\tiifname \"{uplink}\" dnat ip to ip daddr map @eip_dnat\n\t}}\n\
             \tchain nat_out {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\
             \t\toifname \"{uplink}\" snat ip to ip saddr map @eip_snat\n\t}}"
        );
    }
    if !vpc.eips.is_empty() {
        let mut out: Vec<&str> = vpc
            .eips
            .iter()
            .map(|e| match e.mode {
                EipMode::Nat => e.private_ip.as_str(),
                EipMode::Binded | EipMode::MultiBinded => e.eip.as_str(),
            })
            .collect();
        out.sort();
        out.dedup();
        guard = format!(
            "\t\toifname \"{uplink}\" ip saddr != {{ {} }} drop\n\
             \t\toifname \"{uplink}\" meta nfproto ipv6 drop\n",
            out.join(", ")
        );
    }
    // The uplink guard comes before the conntrack shortcut: a flow of an address whose EIP
    // was taken away (or moved) stops at once, instead of leaving under the EIP until it ends.
    let _ = write!(
        text,
        "\tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;\n\
         {guard}\t\tct state established,related accept\n\t\tct state invalid drop\n\
         \t\tip saddr vmap @out4\n\t\tip6 saddr vmap @out6\n\
         \t\tip daddr vmap @in4\n\t\tip6 daddr vmap @in6\n\t}}"
    );
    Some(Ruleset::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eni_types::hoststate::VpcEni;

    fn rule(dir: Direction, prio: u32, accept: bool, proto: &str) -> SgRuleDesired {
        SgRuleDesired {
            direction: dir,
            priority: prio,
            accept,
            protocol: proto.into(),
            ports: None,
            source_ports: None,
            cidr: None,
            peer_group: None,
            local_cidr: None,
        }
    }

    fn vpc(groups: Vec<SecurityGroupDesired>, enis: Vec<VpcEni>) -> VpcDesired {
        VpcDesired {
            vpc_id: "vpc-1".into(),
            cidr_block: "10.0.0.0/16".into(),
            ipv6_cidr_block: None,
            vswitches: vec![],
            security_groups: groups,
            enis,
            eips: vec![],
            vni: 1,
            remotes: vec![],
        }
    }

    fn eni(id: &str, addrs: &[&str], groups: &[&str]) -> VpcEni {
        VpcEni {
            eni_id: id.into(),
            addresses: addrs.iter().map(|s| s.to_string()).collect(),
            security_groups: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn rules_are_ordered_by_priority_with_drops_first_and_end_in_the_default() {
        let mut web = SecurityGroupDesired {
            security_group_id: "sg-web".into(),
            inner_accept: true,
            rules: vec![
                rule(Direction::Ingress, 100, true, "icmp"),
                SgRuleDesired {
                    ports: Some((8080, 8080)),
                    cidr: Some("10.0.2.0/24".into()),
                    ..rule(Direction::Ingress, 1, true, "tcp")
                },
                SgRuleDesired {
                    ports: Some((9000, 9100)),
                    ..rule(Direction::Ingress, 1, false, "tcp")
                },
                SgRuleDesired {
                    cidr: Some("2408::/16".into()),
                    ..rule(Direction::Egress, 5, false, "all")
                },
            ],
        };
        let v = vpc(
            vec![web.clone()],
            vec![eni("eni-1", &["10.0.1.5", "2408::5"], &["sg-web"])],
        );
        let r = ruleset(&v).unwrap();
        let h = short("sg-web");
        let (m4, _) = member_sets("sg-web");
        let ingress = format!(
            "\tchain in_{h} {{\n\t\tip saddr @{m4} accept\n\t\tip6 saddr @m6_{h} accept\n\
             \t\ttcp dport 9000-9100 drop\n\
             \t\tip saddr 10.0.2.0/24 tcp dport 8080 accept\n\
             \t\tmeta l4proto icmp accept\n\t\tdrop\n\t}}\n"
        );
        assert!(r.text.contains(&ingress), "{}", r.text);
        assert!(
            r.text.contains(&format!(
                "\tchain out_{h} {{\n\t\tip daddr @{m4} return\n\t\tip6 daddr @m6_{h} return\n\
                 \t\tip6 daddr 2408::/16 drop\n\t\treturn\n\t}}\n"
            )),
            "{}",
            r.text
        );
        assert!(r.text.contains("10.0.1.5 : jump in_"), "{}", r.text);
        // A prefix is looked up like an address (interval maps).
        let mut with_prefix = v.clone();
        with_prefix.enis[0].addresses.push("10.0.1.16/28".into());
        let text = ruleset(&with_prefix).unwrap().text;
        assert!(text.contains("10.0.1.16/28 : jump in_"), "{text}");
        assert!(
            text.contains("map in4 { type ipv4_addr : verdict; flags interval;"),
            "{text}"
        );
        assert!(r.text.contains("2408::5 : jump out_"), "{}", r.text);
        assert!(r.text.contains(&format!(
            "set {m4} {{ type ipv4_addr; flags interval; elements = {{ 10.0.1.5 }}; }}"
        )));
        // The same input gives the same text; another rule another digest.
        assert_eq!(ruleset(&v).unwrap().digest, r.digest);
        web.inner_accept = false;
        let other = ruleset(&vpc(vec![web], v.enis.clone())).unwrap();
        assert_ne!(other.digest, r.digest);
        assert!(!other.text.contains("saddr @m4_"), "{}", other.text);
    }

    #[test]
    fn quintuple_rules_narrow_both_sides_and_mixed_families_match_nothing() {
        let g = SecurityGroupDesired {
            security_group_id: "sg-q".into(),
            inner_accept: false,
            rules: vec![
                SgRuleDesired {
                    ports: Some((80, 80)),
                    source_ports: Some((1000, 2000)),
                    cidr: Some("10.0.2.0/24".into()),
                    local_cidr: Some("10.0.1.5/32".into()),
                    ..rule(Direction::Ingress, 1, true, "tcp")
                },
                SgRuleDesired {
                    cidr: Some("2408::/16".into()),
                    local_cidr: Some("10.0.1.5/32".into()),
                    ..rule(Direction::Ingress, 2, true, "all")
                },
                SgRuleDesired {
                    peer_group: Some("sg-q".into()),
                    local_cidr: Some("2408::5/128".into()),
                    ..rule(Direction::Egress, 3, false, "udp")
                },
            ],
        };
        let r = ruleset(&vpc(vec![g], vec![eni("eni-1", &["10.0.1.5"], &["sg-q"])])).unwrap();
        let h = short("sg-q");
        assert!(
            r.text.contains(&format!(
                "\tchain in_{h} {{\n\t\tip saddr 10.0.2.0/24 ip daddr 10.0.1.5/32 \
                 tcp sport 1000-2000 tcp dport 80 accept\n\t\tdrop\n\t}}"
            )),
            "{}",
            r.text
        );
        assert!(
            r.text.contains(&format!(
                "\tchain out_{h} {{\n\t\tip6 daddr @m6_{h} ip6 saddr 2408::5/128 \
                 meta l4proto udp drop\n\t\treturn\n\t}}"
            )),
            "{}",
            r.text
        );
    }

    #[test]
    fn enis_with_several_groups_get_the_union_and_peer_groups_their_members() {
        let a = SecurityGroupDesired {
            security_group_id: "sg-a".into(),
            inner_accept: false,
            rules: vec![SgRuleDesired {
                peer_group: Some("sg-b".into()),
                ..rule(Direction::Ingress, 1, true, "all")
            }],
        };
        let b = SecurityGroupDesired {
            security_group_id: "sg-b".into(),
            inner_accept: false,
            rules: vec![rule(Direction::Ingress, 2, true, "udp")],
        };
        let v = vpc(
            vec![a, b],
            vec![
                eni("eni-1", &["10.0.1.5"], &["sg-b", "sg-a"]),
                eni("eni-2", &["10.0.1.6"], &["sg-b"]),
                // A group the control plane did not describe is ignored.
                eni("eni-3", &["10.0.1.7"], &["sg-gone"]),
            ],
        );
        let r = ruleset(&v).unwrap();
        let both = short("sg-a,sg-b");
        let (m4b, _) = member_sets("sg-b");
        assert!(
            r.text.contains(&format!(
                "\tchain in_{both} {{\n\t\tip saddr @{m4b} accept\n\t\tip6 saddr @m6_{} accept\n\
                 \t\tmeta l4proto udp accept\n\t\tdrop\n\t}}",
                short("sg-b")
            )),
            "{}",
            r.text
        );
        assert!(r.text.contains(&format!(
            "set {m4b} {{ type ipv4_addr; flags interval; elements = {{ 10.0.1.5, 10.0.1.6 }}; }}"
        )));
        // A group a rule names but no ENI is in still has (empty) sets, or nft would refuse
        // the whole table.
        let mut lonely = v.clone();
        lonely.security_groups[1].rules.push(SgRuleDesired {
            peer_group: Some("sg-nobody".into()),
            ..rule(Direction::Egress, 9, false, "all")
        });
        let (m4n, m6n) = member_sets("sg-nobody");
        let text = ruleset(&lonely).unwrap().text;
        assert!(text.contains(&format!("set {m4n} {{ type ipv4_addr; flags interval; }}")));
        assert!(text.contains(&format!("set {m6n} {{ type ipv6_addr; flags interval; }}")));
        // eni-3 has no known group: its chain is the empty set's (ingress: drop).
        assert!(r
            .text
            .contains(&format!("10.0.1.7 : jump in_{}", short(""))));
        assert!(ruleset(&vpc(vec![], vec![])).is_none());
    }
}
