//! Desired state → kernel objects, for the routed (L3) design of the data-plane spec.
//!
//! Per VPC, a router namespace `<prefix>v-<vpc id>` holds every vSwitch gateway as a /32 on
//! `lo`, one port per attached ENI (the host end of a veth, MAC `ee:ff:ff:ff:ff:ff`, proxy-ARP
//! on, no proxy delay) and a /32 route plus a permanent neighbour per ENI address. Each
//! instance is a namespace named exactly its InstanceId; each ENI is the other end of its
//! veth there, `eth<DeviceIndex>`, with the ENI's MAC and addresses, a default route through
//! the vSwitch gateway (in table 1000+N with `from <ip>` rules for every ethN, so replies
//! leave by the NIC the request came in on; eth0 also holds the main default route), and the ARP settings for several NICs in
//! one subnet. A Stopped instance's NICs are down. VPCs share nothing, so overlapping CIDRs
//! never meet.
//!
//! Ports are named from a hash of (ENI, instance): moving an ENI builds a new port before the
//! old one goes, and the `/32` routes flip in one replace (make-before-break).
//!
//! IPv6 takes the same path with no neighbour discovery at all: the router forwards
//! (`ipv6/conf/all/forwarding`) to a `/128` route and a permanent neighbour per ENI address
//! (and a route per /80 prefix), and each instance reaches its gateway, the router ports'
//! link-local address [`GATEWAY6`], through a permanent neighbour entry on every NIC. An ENI's
//! IPv6 addresses carry the vSwitch's /64 but no on-link route (`noprefixroute`): the whole
//! vSwitch is behind the gateway, as for IPv4 behind proxy ARP. No address is tentative
//! (no DAD), so traffic flows from the first packet.
//!
//! Security groups are one nftables table per router namespace (`security.rs`), which also
//! NATs the VPC's EIPs; a VPC with EIPs is linked to the simulated internet, one namespace
//! `<prefix>inet` ([`internet_namespace`]).
//!
//! Several hosts (spec §3.7): a router whose VPC has addresses on other hosts gets a VXLAN
//! device [`VXLAN`] (the VPC's VNI, this host's underlay address as its source, this host's
//! overlay MAC) with this host's overlay address on it, and per remote host a permanent
//! neighbour (its overlay address, and the link-local address of its MAC for IPv6) and a
//! static forwarding entry (its MAC to its underlay address); each remote address is then one
//! route via that host's overlay address. Nothing per ENI but that route, so an ENI moving
//! between hosts changes one route on every host, and no ARP, neighbour discovery or
//! flooding crosses the underlay.
//!
//! An instance's bandwidth cap (its type's InstanceBandwidthRx/Tx, kbit/s) is shared by all its
//! ENIs (spec §3.5): two IFB shapers per instance in its VPC's router, named from the
//! instance, one for what the instance sends (Tx, `…u`, fed from every port's ingress) and one
//! for what it receives (Rx, `…d`, fed from every port's egress). Adding ENIs adds redirects
//! into the same shapers, never rate; an ENI moved to another instance gets a new port, which
//! points at the new instance's shapers before traffic flips to it. A rate of 0 is no cap.

use eni_dataplane::model::*;
use eni_types::hoststate::{
    EniDesired, HostDesired, InstanceDesired, OverlayEndpoint, RemoteHost, VpcDesired, INTERNET_VNI,
};

/// The MAC every router port shows: instances resolve the gateway and every peer to it.
pub const ROUTER_MAC: &str = "ee:ff:ff:ff:ff:ff";
/// The IPv6 gateway of every NIC: the link-local address (EUI-64) of [`ROUTER_MAC`].
pub const GATEWAY6: &str = "fe80::ecff:ffff:feff:ffff";
/// The model's key for the IPv6 default route (`default` is IPv4's).
pub const DEFAULT6: &str = "::/0";
/// The default MTU of every link eni makes (NICs, router ports, the overlay's devices): the
/// underlay between hosts must carry MTU + 50 bytes (VXLAN over IPv4), or larger packets are
/// fragmented on it ([`render_with`] takes another, e.g. 1450 over a 1500-byte underlay).
pub const MTU: u32 = 1500;
/// The overlay device of a router namespace.
pub const VXLAN: &str = "vx";
/// The overlay's UDP port (IANA's VXLAN port).
pub const VXLAN_PORT: u16 = 4789;

/// The simulated internet: one namespace (`<prefix>inet`) linked to the router of every VPC
/// that has EIPs. It routes each EIP to its VPC's router, which NATs it to the private
/// address; what an instance with an EIP sends out leaves as the EIP. Anyone can reach the
/// EIPs from it: `ip netns exec <prefix>inet ping <EIP>`.
pub fn internet_namespace(prefix: &str) -> String {
    format!("{prefix}inet")
}
/// The internet's address on every transit link, and the routers' default gateway.
pub const INTERNET_ADDR: &str = "100.64.0.1";
/// A router's address on its transit link (the link is a /30).
pub const UPLINK_ADDR: &str = "100.64.0.2";
/// The router's end of its transit link.
pub const UPLINK: &str = "tup";
const UPLINK_MAC: &str = "ee:ff:ff:ff:ff:fd";
const INTERNET_MAC: &str = "ee:ff:ff:ff:ff:fe";

/// The router namespace of a VPC.
pub fn vpc_namespace(prefix: &str, vpc_id: &str) -> String {
    format!("{prefix}v-{vpc_id}")
}

/// 48 bits of FNV-1a over `bytes`.
fn hash48(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h & 0xffff_ffff_ffff
}

/// The router-side port of an ENI attached to an instance: `p` + 12 hex digits (fits IFNAMSIZ).
pub fn port_name(eni_id: &str, instance_id: &str) -> String {
    let h = hash48(eni_id.bytes().chain([b'/']).chain(instance_id.bytes()));
    format!("p{h:012x}")
}

/// The shapers of an instance in its VPC's router: `b` + 12 hex digits + `u` for its upload
/// (Tx) and `d` for its download (Rx); 14 characters, within IFNAMSIZ.
pub fn shaper_names(instance_id: &str) -> (String, String) {
    let h = hash48(instance_id.bytes());
    (format!("b{h:012x}u"), format!("b{h:012x}d"))
}

/// The shapers of an EIP in its VPC's router: `e` + 12 hex digits + `u` for what it sends to
/// the internet and `d` for what it receives.
pub fn eip_shaper_names(eip: &str) -> (String, String) {
    let h = hash48(eip.bytes());
    (format!("e{h:012x}u"), format!("e{h:012x}d"))
}

/// The policy route table of NIC `n`.
pub fn nic_table(n: u32) -> u32 {
    1000 + n
}

fn sysctl(s: &mut KernelState, ns: &str, key: &str, v: &str) {
    s.sysctls.insert(
        SysctlKey {
            ns: ns.into(),
            key: key.into(),
        },
        v.into(),
    );
}

fn prefix_len(cidr: &str) -> &str {
    cidr.split_once('/').map(|(_, l)| l).unwrap_or("32")
}

/// [`render`] with every link at `mtu` instead of [`MTU`].
pub fn render_with(prefix: &str, mtu: u32, desired: &HostDesired) -> KernelState {
    let mut s = render(prefix, desired);
    for v in s.veths.values_mut() {
        v.a.mtu = mtu;
        v.b.mtu = mtu;
    }
    for x in s.vxlans.values_mut() {
        x.end.mtu = mtu;
    }
    s
}

/// Renders `desired` into the kernel objects of this host. An ENI that is not in `desired`
/// (Available, or Detaching: the control plane lists only Attaching and InUse attachments)
/// has no NIC, port, route or rule anywhere.
pub fn render(prefix: &str, desired: &HostDesired) -> KernelState {
    let mut s = KernelState::default();
    for vpc in &desired.vpcs {
        let ns = vpc_namespace(prefix, &vpc.vpc_id);
        s.namespaces.insert(ns.clone());
        s.loopback_up.insert(ns.clone());
        sysctl(&mut s, &ns, "ipv4/ip_forward", "1");
        // Only where IPv6 is used: a kernel booted without IPv6 has no such key.
        let v6 = desired
            .instances
            .iter()
            .filter(|i| i.vpc_id == vpc.vpc_id)
            .flat_map(|i| &i.enis)
            .any(|e| !e.ipv6_addresses.is_empty() || !e.ipv6_prefixes.is_empty());
        if v6 {
            sysctl(&mut s, &ns, "ipv6/conf/all/forwarding", "1");
        }
        // Set before ports exist would be better; the planner sets them right after creating
        // links, and send_redirects is OR(all, dev), so both all and default must be 0.
        sysctl(&mut s, &ns, "ipv4/conf/all/send_redirects", "0");
        sysctl(&mut s, &ns, "ipv4/conf/default/send_redirects", "0");
        sysctl(&mut s, &ns, "ipv4/conf/all/rp_filter", "1");
        sysctl(&mut s, &ns, "ipv4/conf/default/rp_filter", "1");
        if let Some(r) = crate::security::ruleset(vpc) {
            s.rulesets.insert(ns.clone(), r);
        }
        uplink(&mut s, prefix, vpc);
        eip_caps(&mut s, prefix, vpc);
        if let Some(me) = &desired.overlay {
            overlay(&mut s, &ns, me, vpc.vni, &vpc.remotes, v6, false);
        }
        for vsw in &vpc.vswitches {
            s.addrs.insert(Addr {
                dev: LinkRef::new(ns.clone(), "lo"),
                cidr: format!("{}/32", vsw.gateway),
            });
        }
        // The metadata service's address: the agent listens on it here.
        s.addrs.insert(Addr {
            dev: LinkRef::new(ns.clone(), "lo"),
            cidr: format!("{}/32", crate::metadata::ADDRESS),
        });
    }
    internet_overlay(&mut s, prefix, desired);
    for inst in &desired.instances {
        let ns = inst.instance_id.clone();
        s.namespaces.insert(ns.clone());
        s.loopback_up.insert(ns.clone());
        // Several NICs in one subnet: answer ARP only for our own address, announce the best
        // source, and keep strict reverse-path filtering working with the policy rules below.
        sysctl(&mut s, &ns, "ipv4/conf/all/arp_ignore", "1");
        sysctl(&mut s, &ns, "ipv4/conf/all/arp_announce", "2");
        sysctl(&mut s, &ns, "ipv4/conf/all/rp_filter", "1");
        sysctl(&mut s, &ns, "ipv4/conf/default/rp_filter", "1");
        shape(&mut s, prefix, inst);
        for eni in &inst.enis {
            attach(&mut s, prefix, inst, eni);
        }
        // IPv6 traffic with no source yet leaves by eth0 when it has IPv6, else by the first
        // NIC that has (a cloud instance learns that route from the NIC's router adverts).
        let main6 = RouteKey {
            ns: ns.clone(),
            table: 254,
            dst: DEFAULT6.into(),
        };
        if inst.running && !s.routes.contains_key(&main6) {
            if let Some(eni) = inst.enis.iter().find(|e| !e.ipv6_addresses.is_empty()) {
                s.routes.insert(
                    main6,
                    RouteTarget {
                        dev: format!("eth{}", eni.device_index),
                        via: Some(GATEWAY6.into()),
                        src: None,
                        onlink: false,
                    },
                );
            }
        }
    }
    s
}

/// A VPC with EIPs: its router's link to the internet namespace, a default route over it,
/// and on the internet's side a /32 route per EIP back to the router. Permanent neighbours
/// on both ends, so no ARP is on the path. (The NAT itself is in the VPC's ruleset.)
/// Each EIP's bandwidth, each way, on its router's uplink: what leaves for the internet from
/// the EIP (after its SNAT) and what arrives for it (before its DNAT) go through a shaper of
/// its own, at its rate. The instance's own cap applies too (on its ports): the smaller wins.
fn eip_caps(s: &mut KernelState, prefix: &str, vpc: &VpcDesired) {
    let router = vpc_namespace(prefix, &vpc.vpc_id);
    let mut up = Vec::new();
    let mut down = Vec::new();
    for e in vpc.eips.iter().filter(|e| e.bandwidth_kbps > 0) {
        let (u, d) = eip_shaper_names(&e.eip);
        let kbit = representable_kbit(e.bandwidth_kbps);
        s.shapers
            .insert(LinkRef::new(router.clone(), u.clone()), kbit);
        s.shapers
            .insert(LinkRef::new(router.clone(), d.clone()), kbit);
        up.push((e.eip.clone(), u));
        down.push((e.eip.clone(), d));
    }
    up.sort();
    down.sort();
    let port = LinkRef::new(router, UPLINK);
    for (hook, list) in [(Hook::Egress, up), (Hook::Ingress, down)] {
        if !list.is_empty() {
            let key = RedirectKey {
                port: port.clone(),
                hook,
            };
            s.addr_redirects.insert(key, list);
        }
    }
}

fn uplink(s: &mut KernelState, prefix: &str, vpc: &VpcDesired) {
    if vpc.eips.is_empty() {
        return;
    }
    let router = vpc_namespace(prefix, &vpc.vpc_id);
    let inet = internet(s, prefix);
    let far = format!("i{}", &port_name(&vpc.vpc_id, "inet")[1..]);
    let (inet_end, up_end) = (
        LinkRef::new(inet.clone(), far.clone()),
        LinkRef::new(router.clone(), UPLINK),
    );
    // Both ends are in prefixed namespaces: the model's `a` is the smaller (ns, name), the
    // internet's end.
    s.veths.insert(
        inet_end.clone(),
        Veth {
            a: LinkEnd {
                at: inet_end.clone(),
                mac: INTERNET_MAC.into(),
                mtu: MTU,
                up: true,
            },
            b: LinkEnd {
                at: up_end.clone(),
                mac: UPLINK_MAC.into(),
                mtu: MTU,
                up: true,
            },
        },
    );
    s.addrs.insert(Addr {
        dev: inet_end.clone(),
        cidr: format!("{INTERNET_ADDR}/30"),
    });
    s.addrs.insert(Addr {
        dev: up_end.clone(),
        cidr: format!("{UPLINK_ADDR}/30"),
    });
    s.routes.insert(
        RouteKey {
            ns: router.clone(),
            table: 254,
            dst: "default".into(),
        },
        RouteTarget {
            dev: UPLINK.into(),
            via: Some(INTERNET_ADDR.into()),
            src: None,
            onlink: false,
        },
    );
    s.neighs.insert(
        NeighKey {
            dev: up_end,
            ip: INTERNET_ADDR.into(),
        },
        INTERNET_MAC.into(),
    );
    for e in &vpc.eips {
        s.routes.insert(
            RouteKey {
                ns: inet.clone(),
                table: 254,
                dst: format!("{}/32", e.eip),
            },
            RouteTarget {
                dev: far.clone(),
                via: None,
                src: None,
                onlink: false,
            },
        );
        s.neighs.insert(
            NeighKey {
                dev: inet_end.clone(),
                ip: e.eip.clone(),
            },
            UPLINK_MAC.into(),
        );
    }
}

/// The internet namespace, made once.
fn internet(s: &mut KernelState, prefix: &str) -> String {
    let inet = internet_namespace(prefix);
    if s.namespaces.insert(inet.clone()) {
        s.loopback_up.insert(inet.clone());
        sysctl(s, &inet, "ipv4/ip_forward", "1");
    }
    inet
}

/// Joins this host's internet to the other hosts' over the overlay, once there is an EIP
/// anywhere: each remote EIP is routed to the host that NATs it, and each remote host's
/// overlay address back to it (the source of what its internet sends here).
fn internet_overlay(s: &mut KernelState, prefix: &str, desired: &HostDesired) {
    let Some(me) = &desired.overlay else { return };
    let local = desired.vpcs.iter().any(|v| !v.eips.is_empty());
    let remote = desired.internet.iter().any(|r| !r.addresses.is_empty());
    if !(local || remote) || desired.internet.is_empty() {
        return;
    }
    let inet = internet(s, prefix);
    overlay(s, &inet, me, INTERNET_VNI, &desired.internet, false, true);
}

/// The link-local IPv6 address (EUI-64) of a MAC, as the kernel prints it.
fn link_local(mac: &str) -> Option<String> {
    let b: Vec<u8> = mac
        .split(':')
        .map(|p| u8::from_str_radix(p, 16).ok())
        .collect::<Option<_>>()?;
    let [m0, m1, m2, m3, m4, m5] = b[..] else {
        return None;
    };
    let ip = std::net::Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m0 ^ 2,
        m1,
        m2,
        0xff,
        0xfe,
        m3,
        m4,
        m5,
    ]);
    Some(ip.to_string())
}

/// Namespace `ns`'s side of an overlay segment: its VXLAN device, and per remote host a
/// neighbour, a forwarding entry and the routes to the addresses it holds (and, with
/// `to_hosts`, to the host's overlay address itself). Only IPv6 routes where `ns` forwards
/// IPv6 (`v6`: a local ENI has IPv6).
fn overlay(
    s: &mut KernelState,
    ns: &str,
    me: &OverlayEndpoint,
    vni: u32,
    remotes: &[RemoteHost],
    v6: bool,
    to_hosts: bool,
) {
    if remotes.is_empty() || vni == 0 {
        return;
    }
    let dev = LinkRef::new(ns, VXLAN);
    s.vxlans.insert(
        dev.clone(),
        Vxlan {
            end: LinkEnd {
                at: dev.clone(),
                mac: me.mac.clone(),
                mtu: MTU,
                up: true,
            },
            vni,
            local: me.underlay_address.clone(),
            port: VXLAN_PORT,
        },
    );
    s.addrs.insert(Addr {
        dev: dev.clone(),
        cidr: format!("{}/32", me.address),
    });
    for r in remotes {
        let mac = r.endpoint.mac.to_ascii_lowercase();
        if to_hosts {
            let key = RouteKey {
                ns: ns.to_string(),
                table: 254,
                dst: format!("{}/32", r.endpoint.address),
            };
            let target = RouteTarget {
                dev: VXLAN.into(),
                via: None,
                src: None,
                onlink: false,
            };
            s.routes.insert(key, target);
        }
        s.neighs.insert(
            NeighKey {
                dev: dev.clone(),
                ip: r.endpoint.address.clone(),
            },
            mac.clone(),
        );
        s.fdbs.insert(
            FdbKey {
                dev: dev.clone(),
                mac: mac.clone(),
            },
            r.endpoint.underlay_address.clone(),
        );
        let ll = link_local(&mac).filter(|_| v6);
        if let Some(ll) = &ll {
            s.neighs.insert(
                NeighKey {
                    dev: dev.clone(),
                    ip: ll.clone(),
                },
                mac.clone(),
            );
        }
        for a in &r.addresses {
            let via = if a.contains(':') {
                let Some(ll) = &ll else { continue };
                RouteTarget {
                    dev: VXLAN.into(),
                    via: Some(ll.clone()),
                    src: None,
                    onlink: false,
                }
            } else {
                RouteTarget {
                    dev: VXLAN.into(),
                    via: Some(r.endpoint.address.clone()),
                    src: None,
                    onlink: true,
                }
            };
            let key = RouteKey {
                ns: ns.to_string(),
                table: 254,
                dst: a.clone(),
            };
            s.routes.insert(key, via);
        }
    }
}

/// The instance's shapers, in its VPC's router, for each direction that has a cap.
fn shape(s: &mut KernelState, prefix: &str, inst: &InstanceDesired) {
    let router = vpc_namespace(prefix, &inst.vpc_id);
    if !s.namespaces.contains(&router) {
        return;
    }
    let (up, down) = shaper_names(&inst.instance_id);
    for (name, kbit) in [(up, inst.bandwidth_tx_kbps), (down, inst.bandwidth_rx_kbps)] {
        if kbit > 0 {
            s.shapers
                .insert(LinkRef::new(router.clone(), name), representable_kbit(kbit));
        }
    }
}

fn attach(s: &mut KernelState, prefix: &str, inst: &InstanceDesired, eni: &EniDesired) {
    let router = vpc_namespace(prefix, &inst.vpc_id);
    let ns = &inst.instance_id;
    let port = port_name(&eni.eni_id, &inst.instance_id);
    let nic = format!("eth{}", eni.device_index);
    let up = inst.running;
    let veth = Veth {
        a: LinkEnd {
            at: LinkRef::new(router.clone(), port.clone()),
            mac: ROUTER_MAC.into(),
            mtu: MTU,
            up: true,
        },
        b: LinkEnd {
            at: LinkRef::new(ns.clone(), nic.clone()),
            mac: eni.mac.clone(),
            mtu: MTU,
            up,
        },
    };
    s.veths.insert(veth.a.at.clone(), veth);
    sysctl(s, &router, &format!("ipv4/conf/{port}/proxy_arp"), "1");
    sysctl(s, &router, &format!("ipv4/neigh/{port}/proxy_delay"), "0");
    let port_ref = LinkRef::new(router.clone(), port.clone());
    // What the instance sends arrives on the port (ingress); what it receives leaves it.
    let (up_ifb, down_ifb) = shaper_names(&inst.instance_id);
    for (ifb, hook) in [(up_ifb, Hook::Ingress), (down_ifb, Hook::Egress)] {
        if s.shapers
            .contains_key(&LinkRef::new(router.clone(), ifb.clone()))
        {
            let key = RedirectKey {
                port: port_ref.clone(),
                hook,
            };
            s.redirects.insert(key, ifb);
        }
    }
    // The EIPs on the NIC (visible modes) are routed like its private addresses.
    let hosts = (eni.private_ips.iter().chain(&eni.eips).map(|ip| (ip, 32)))
        .chain(eni.ipv6_addresses.iter().map(|ip| (ip, 128)));
    for (ip, len) in hosts {
        s.routes.insert(
            RouteKey {
                ns: router.clone(),
                table: 254,
                dst: format!("{ip}/{len}"),
            },
            RouteTarget {
                dev: port.clone(),
                via: None,
                src: None,
                onlink: false,
            },
        );
        s.neighs.insert(
            NeighKey {
                dev: port_ref.clone(),
                ip: ip.clone(),
            },
            eni.mac.clone(),
        );
    }
    for p in eni.ipv4_prefixes.iter().chain(&eni.ipv6_prefixes) {
        s.routes.insert(
            RouteKey {
                ns: router.clone(),
                table: 254,
                dst: p.clone(),
            },
            RouteTarget {
                dev: port.clone(),
                via: None,
                src: None,
                onlink: false,
            },
        );
    }
    let nic_ref = LinkRef::new(ns.clone(), nic.clone());
    let len = prefix_len(&eni.cidr_block);
    for ip in &eni.private_ips {
        s.addrs.insert(Addr {
            dev: nic_ref.clone(),
            cidr: format!("{ip}/{len}"),
        });
    }
    // An EIP is a host address: the subnet is the vSwitch's, behind the gateway.
    for ip in &eni.eips {
        s.addrs.insert(Addr {
            dev: nic_ref.clone(),
            cidr: format!("{ip}/32"),
        });
    }
    // The prefixes are the guest's to use: addresses it puts on the NIC from them stay.
    for p in eni.ipv4_prefixes.iter().chain(&eni.ipv6_prefixes) {
        s.guest_ranges.insert(Addr {
            dev: nic_ref.clone(),
            cidr: p.clone(),
        });
    }
    let len6 = eni
        .ipv6_cidr_block
        .as_deref()
        .map_or("64", |c| prefix_len(c));
    for ip in &eni.ipv6_addresses {
        s.addrs.insert(Addr {
            dev: nic_ref.clone(),
            cidr: format!("{ip}/{len6}"),
        });
    }
    if !up {
        return;
    }
    let v6 = !eni.ipv6_addresses.is_empty();
    // A NIC with no private IPv4 address (a BINDED EIP in its place) has no subnet: it
    // reaches the gateway on-link, through a permanent neighbour, so nothing ARPs from an
    // address outside the vSwitch.
    let onlink = eni.private_ips.is_empty();
    if onlink {
        s.neighs.insert(
            NeighKey {
                dev: nic_ref.clone(),
                ip: eni.gateway.clone(),
            },
            ROUTER_MAC.into(),
        );
    }
    if v6 {
        s.neighs.insert(
            NeighKey {
                dev: nic_ref.clone(),
                ip: GATEWAY6.into(),
            },
            ROUTER_MAC.into(),
        );
    }
    let via6 = RouteTarget {
        dev: nic.clone(),
        via: Some(GATEWAY6.into()),
        src: None,
        onlink: false,
    };
    // eth0 also carries the main default route, for traffic that has no source yet.
    if eni.device_index == 0 {
        s.routes.insert(
            RouteKey {
                ns: ns.clone(),
                table: 254,
                dst: "default".into(),
            },
            RouteTarget {
                dev: nic.clone(),
                via: Some(eni.gateway.clone()),
                src: None,
                onlink,
            },
        );
        if v6 {
            s.routes.insert(
                RouteKey {
                    ns: ns.clone(),
                    table: 254,
                    dst: DEFAULT6.into(),
                },
                via6.clone(),
            );
        }
    }
    // Every NIC, eth0 included, has its own table and `from <ip>` rules, so a reply leaves by
    // the NIC its address is on even when several NICs share a subnet (the main table's subnet
    // route belongs to whichever address came first).
    let table = nic_table(eni.device_index);
    s.routes.insert(
        RouteKey {
            ns: ns.clone(),
            table,
            dst: "default".into(),
        },
        RouteTarget {
            dev: nic.clone(),
            via: Some(eni.gateway.clone()),
            src: None,
            onlink,
        },
    );
    if let Some(first) = eni.private_ips.first() {
        s.routes.insert(
            RouteKey {
                ns: ns.clone(),
                table,
                dst: eni.cidr_block.clone(),
            },
            RouteTarget {
                dev: nic.clone(),
                via: None,
                src: Some(first.clone()),
                onlink: false,
            },
        );
    }
    // What leaves from an EIP on the NIC goes out of this NIC too.
    for ip in eni.private_ips.iter().chain(&eni.eips) {
        s.rules.insert(Rule {
            ns: ns.clone(),
            pref: table,
            from: format!("{ip}/32"),
            table,
        });
    }
    if v6 {
        s.routes.insert(
            RouteKey {
                ns: ns.clone(),
                table,
                dst: DEFAULT6.into(),
            },
            via6,
        );
        for ip in &eni.ipv6_addresses {
            s.rules.insert(Rule {
                ns: ns.clone(),
                pref: table,
                from: format!("{ip}/128"),
                table,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eni_dataplane::fake::FakeDataplane;
    use eni_dataplane::plan::plan;
    use eni_dataplane::Dataplane;
    use eni_types::hoststate::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn eni(id: &str, idx: u32, ips: &[&str]) -> EniDesired {
        EniDesired {
            eni_id: id.into(),
            mac: format!("00:16:3e:00:00:{idx:02x}"),
            device_index: idx,
            vswitch_id: "vsw-1".into(),
            cidr_block: "10.0.1.0/24".into(),
            gateway: "10.0.1.253".into(),
            private_ips: ips.iter().map(|s| s.to_string()).collect(),
            ipv4_prefixes: Vec::new(),
            ipv6_cidr_block: None,
            ipv6_addresses: Vec::new(),
            ipv6_prefixes: Vec::new(),
            eips: Vec::new(),
        }
    }

    fn host(instances: Vec<InstanceDesired>) -> HostDesired {
        HostDesired {
            host_id: "h".into(),
            generation: 1,
            vpcs: vec![VpcDesired {
                vpc_id: "vpc-1".into(),
                cidr_block: "10.0.0.0/16".into(),
                ipv6_cidr_block: None,
                vswitches: vec![VSwitchDesired {
                    vswitch_id: "vsw-1".into(),
                    cidr_block: "10.0.1.0/24".into(),
                    gateway: "10.0.1.253".into(),
                    ipv6_cidr_block: None,
                }],
                security_groups: Vec::new(),
                enis: Vec::new(),
                eips: Vec::new(),
                vni: 7,
                remotes: Vec::new(),
            }],
            instances,
            overlay: None,
            internet: Vec::new(),
        }
    }

    fn endpoint(n: u8) -> OverlayEndpoint {
        OverlayEndpoint {
            underlay_address: format!("192.0.2.{n}"),
            address: format!("169.254.0.{n}"),
            mac: format!("02:00:a9:fe:00:{n:02x}"),
        }
    }

    /// `d` on host 1 of the overlay, with `remotes` (host number, addresses) in its VPC.
    fn on_overlay(mut d: HostDesired, remotes: &[(u8, &[&str])]) -> HostDesired {
        d.overlay = Some(endpoint(1));
        d.vpcs[0].remotes = remotes
            .iter()
            .map(|(n, addrs)| RemoteHost {
                host: format!("h{n}"),
                endpoint: endpoint(*n),
                addresses: addrs.iter().map(|a| a.to_string()).collect(),
            })
            .collect();
        d
    }

    /// Plans from what `fake` holds to `d`, applies, and checks it converged.
    fn converge(fake: &FakeDataplane, d: &HostDesired) -> Vec<Op> {
        let want = render("eni-", d);
        let ops = plan(&fake.observe().unwrap(), &want);
        fake.apply(&ops).unwrap();
        assert!(plan(&fake.observe().unwrap(), &want).is_empty());
        ops
    }

    fn inst(id: &str, running: bool, enis: Vec<EniDesired>) -> InstanceDesired {
        InstanceDesired {
            instance_id: id.into(),
            vpc_id: "vpc-1".into(),
            running,
            bandwidth_rx_kbps: 0,
            bandwidth_tx_kbps: 0,
            enis,
            meta: Default::default(),
        }
    }

    #[test]
    fn a_secondary_nic_gets_its_table_and_rules() {
        let d = host(vec![inst(
            "i-a",
            true,
            vec![
                eni("eni-p", 0, &["10.0.1.5"]),
                eni("eni-s", 1, &["10.0.1.6", "10.0.1.7"]),
            ],
        )]);
        let s = render("eni-", &d);
        assert!(s.namespaces.contains("eni-v-vpc-1") && s.namespaces.contains("i-a"));
        let r = |ns: &str, t: u32, dst: &str| {
            s.routes
                .get(&RouteKey {
                    ns: ns.into(),
                    table: t,
                    dst: dst.into(),
                })
                .cloned()
        };
        assert_eq!(
            r("i-a", 254, "default").unwrap().via.as_deref(),
            Some("10.0.1.253")
        );
        assert_eq!(r("i-a", 1001, "default").unwrap().dev, "eth1");
        assert_eq!(
            r("i-a", 1001, "10.0.1.0/24").unwrap().src.as_deref(),
            Some("10.0.1.6")
        );
        assert!(s.rules.contains(&Rule {
            ns: "i-a".into(),
            pref: 1001,
            from: "10.0.1.7/32".into(),
            table: 1001
        }));
        assert_eq!(
            r("eni-v-vpc-1", 254, "10.0.1.7/32").unwrap().dev,
            port_name("eni-s", "i-a")
        );
        assert!(s.addrs.contains(&Addr {
            dev: LinkRef::new("eni-v-vpc-1", "lo"),
            cidr: "10.0.1.253/32".into()
        }));
    }

    #[test]
    fn ipv6_addresses_are_routed_without_neighbour_discovery() {
        let mut e = eni("eni-s", 1, &["10.0.1.6"]);
        e.ipv6_cidr_block = Some("2408:4005:300:a101::/64".into());
        e.ipv6_addresses = vec!["2408:4005:300:a101::6".into()];
        e.ipv6_prefixes = vec!["2408:4005:300:a101:1::/80".into()];
        let d = host(vec![inst(
            "i-a",
            true,
            vec![eni("eni-p", 0, &["10.0.1.5"]), e],
        )]);
        let s = render("eni-", &d);
        let router = "eni-v-vpc-1";
        let port = port_name("eni-s", "i-a");
        let route = |ns: &str, t: u32, dst: &str| {
            s.routes
                .get(&RouteKey {
                    ns: ns.into(),
                    table: t,
                    dst: dst.into(),
                })
                .cloned()
        };
        // The router: forwarding on, a /128 and a permanent neighbour per address, the /80.
        assert_eq!(
            s.sysctls[&SysctlKey {
                ns: router.into(),
                key: "ipv6/conf/all/forwarding".into()
            }],
            "1"
        );
        assert_eq!(
            route(router, 254, "2408:4005:300:a101::6/128").unwrap().dev,
            port
        );
        assert_eq!(
            route(router, 254, "2408:4005:300:a101:1::/80").unwrap().dev,
            port
        );
        assert_eq!(
            s.neighs[&NeighKey {
                dev: LinkRef::new(router, port.clone()),
                ip: "2408:4005:300:a101::6".into()
            }],
            "00:16:3e:00:00:01"
        );
        // The instance: the address with its /64, the gateway as a permanent neighbour, a
        // default route in eth1's table and a rule into it; the main IPv6 default leaves by
        // eth1 too, as eth0 has no IPv6 address.
        assert!(s.addrs.contains(&Addr {
            dev: LinkRef::new("i-a", "eth1"),
            cidr: "2408:4005:300:a101::6/64".into()
        }));
        assert_eq!(
            s.neighs[&NeighKey {
                dev: LinkRef::new("i-a", "eth1"),
                ip: GATEWAY6.into()
            }],
            ROUTER_MAC
        );
        let t = route("i-a", 1001, DEFAULT6).unwrap();
        assert_eq!((t.dev.as_str(), t.via.as_deref()), ("eth1", Some(GATEWAY6)));
        assert_eq!(route("i-a", 254, DEFAULT6).unwrap().dev, "eth1");
        assert!(s.rules.contains(&Rule {
            ns: "i-a".into(),
            pref: 1001,
            from: "2408:4005:300:a101::6/128".into(),
            table: 1001
        }));
    }

    #[test]
    fn a_vpc_with_eips_is_linked_to_the_internet_and_nats_them() {
        let mut d = host(vec![inst(
            "i-a",
            true,
            vec![eni("eni-p", 0, &["10.0.1.5"])],
        )]);
        d.vpcs[0].enis = vec![VpcEni {
            eni_id: "eni-p".into(),
            addresses: vec!["10.0.1.5".into()],
            security_groups: vec![],
        }];
        assert!(!render("eni-", &d).namespaces.contains("eni-inet"));
        d.vpcs[0].eips = vec![EipDesired {
            eip: "198.18.0.7".into(),
            private_ip: "10.0.1.5".into(),
            bandwidth_kbps: 0,
            mode: EipMode::Nat,
        }];
        let s = render("eni-", &d);
        let (router, inet) = ("eni-v-vpc-1", "eni-inet");
        assert!(s.namespaces.contains(inet));
        let up = LinkRef::new(router, UPLINK);
        let v = s.veths.values().find(|v| v.b.at == up).unwrap();
        assert_eq!(v.a.at.ns, inet);
        let route = |ns: &str, dst: &str| {
            s.routes
                .get(&RouteKey {
                    ns: ns.into(),
                    table: 254,
                    dst: dst.into(),
                })
                .cloned()
                .unwrap()
        };
        assert_eq!(route(router, "default").via.as_deref(), Some(INTERNET_ADDR));
        assert_eq!(route(inet, "198.18.0.7/32").dev, v.a.at.name);
        let nat = &s.rulesets[router].text;
        assert!(nat.contains("198.18.0.7 : 10.0.1.5"), "{nat}");
        assert!(nat.contains("10.0.1.5 : 198.18.0.7"), "{nat}");
        assert!(
            nat.contains("oifname \"tup\" ip saddr != { 10.0.1.5 } drop"),
            "{nat}"
        );
    }

    #[test]
    fn a_visible_eip_is_on_the_nic_routed_to_its_port_and_never_translated() {
        // eth1 holds a BINDED EIP in place of its private address (the control plane leaves
        // that address out); eth2 a MULTI_BINDED one beside its two; eth0 a NAT one.
        let mut binded = eni("eni-b", 1, &[]);
        binded.eips = vec!["198.18.0.8".into()];
        let mut multi = eni("eni-m", 2, &["10.0.1.7", "10.0.1.9"]);
        multi.eips = vec!["198.18.0.9".into()];
        let mut d = host(vec![inst(
            "i-a",
            true,
            vec![eni("eni-p", 0, &["10.0.1.5"]), binded, multi],
        )]);
        let vpc_eni = |id: &str, addrs: &[&str]| VpcEni {
            eni_id: id.into(),
            addresses: addrs.iter().map(|a| a.to_string()).collect(),
            security_groups: vec![],
        };
        d.vpcs[0].enis = vec![
            vpc_eni("eni-p", &["10.0.1.5"]),
            vpc_eni("eni-b", &["198.18.0.8"]),
            vpc_eni("eni-m", &["10.0.1.7", "10.0.1.9", "198.18.0.9"]),
        ];
        let eip = |ip: &str, private: &str, mode| EipDesired {
            eip: ip.into(),
            private_ip: private.into(),
            bandwidth_kbps: 0,
            mode,
        };
        d.vpcs[0].eips = vec![
            eip("198.18.0.7", "10.0.1.5", EipMode::Nat),
            eip("198.18.0.8", "10.0.1.6", EipMode::Binded),
            eip("198.18.0.9", "10.0.1.7", EipMode::MultiBinded),
        ];
        let s = render("eni-", &d);
        let router = "eni-v-vpc-1";
        let addrs = |nic: &str| -> BTreeSet<String> {
            s.addrs
                .iter()
                .filter(|a| a.dev == LinkRef::new("i-a", nic))
                .map(|a| a.cidr.clone())
                .collect()
        };
        assert_eq!(addrs("eth1"), BTreeSet::from(["198.18.0.8/32".to_string()]));
        assert_eq!(
            addrs("eth2"),
            BTreeSet::from([
                "10.0.1.7/24".to_string(),
                "10.0.1.9/24".to_string(),
                "198.18.0.9/32".to_string()
            ])
        );
        let route = |ns: &str, table: u32, dst: &str| {
            s.routes.get(&RouteKey {
                ns: ns.into(),
                table,
                dst: dst.into(),
            })
        };
        // The router sends each visible EIP to its ENI's port; the replaced address nowhere.
        let port = |id: &str| port_name(id, "i-a");
        assert_eq!(
            route(router, 254, "198.18.0.8/32").unwrap().dev,
            port("eni-b")
        );
        assert_eq!(
            route(router, 254, "198.18.0.9/32").unwrap().dev,
            port("eni-m")
        );
        assert!(route(router, 254, "10.0.1.6/32").is_none());
        assert!(
            route(router, 254, "198.18.0.7/32").is_none(),
            "NAT: not routed inside"
        );
        // eth1 has no subnet: its table reaches the gateway on-link, through a permanent
        // neighbour, and only the EIP's rule leads there.
        let t1 = route("i-a", nic_table(1), "default").unwrap();
        assert_eq!((t1.via.as_deref(), t1.onlink), (Some("10.0.1.253"), true));
        assert!(route("i-a", nic_table(1), "10.0.1.0/24").is_none());
        assert_eq!(
            s.neighs.get(&NeighKey {
                dev: LinkRef::new("i-a", "eth1"),
                ip: "10.0.1.253".into()
            }),
            Some(&ROUTER_MAC.to_string())
        );
        let t2 = route("i-a", nic_table(2), "default").unwrap();
        assert!(!t2.onlink, "eth2 has its subnet");
        let from = |ip: &str, table: u32| Rule {
            ns: "i-a".into(),
            pref: table,
            from: format!("{ip}/32"),
            table,
        };
        assert!(s.rules.contains(&from("198.18.0.8", nic_table(1))));
        assert!(s.rules.contains(&from("198.18.0.9", nic_table(2))));
        assert!(!s.rules.contains(&from("10.0.1.6", nic_table(1))));
        // The internet routes every EIP to the router; only the NAT one is translated, and
        // each may send out: the NAT one as its private address, the visible ones as
        // themselves.
        assert!(route("eni-inet", 254, "198.18.0.8/32").is_some());
        let nat = &s.rulesets[router].text;
        assert!(nat.contains("198.18.0.7 : 10.0.1.5"), "{nat}");
        for (a, b) in [("198.18.0.8", "10.0.1.6"), ("198.18.0.9", "10.0.1.7")] {
            assert!(!nat.contains(&format!("{a} : {b}")), "{nat}");
            assert!(!nat.contains(&format!("{b} : {a}")), "{nat}");
        }
        assert!(
            nat.contains("oifname \"tup\" ip saddr != { 10.0.1.5, 198.18.0.8, 198.18.0.9 } drop"),
            "{nat}"
        );
        // The groups key on the EIPs themselves.
        assert!(nat.contains("198.18.0.8 : jump"), "{nat}");
        // Only visible EIPs: no NAT chains at all.
        d.vpcs[0].eips.remove(0);
        let s = render("eni-", &d);
        let text = &s.rulesets[router].text;
        assert!(
            !text.contains("eip_dnat") && !text.contains("nat_in"),
            "{text}"
        );
        assert!(
            text.contains("ip saddr != { 198.18.0.8, 198.18.0.9 } drop"),
            "{text}"
        );
    }

    #[test]
    fn an_eips_bandwidth_is_a_pair_of_shapers_on_the_uplink_and_changes_in_place() {
        let mut d = host(vec![inst(
            "i-a",
            true,
            vec![eni("eni-p", 0, &["10.0.1.5", "10.0.1.6"])],
        )]);
        let eip = |ip: &str, private: &str, mbit: u64| EipDesired {
            eip: ip.into(),
            private_ip: private.into(),
            bandwidth_kbps: mbit * 1000,
            mode: EipMode::Nat,
        };
        d.vpcs[0].eips = vec![
            eip("198.18.0.9", "10.0.1.6", 5),
            eip("198.18.0.7", "10.0.1.5", 20),
        ];
        let s = render("eni-", &d);
        let router = "eni-v-vpc-1";
        let (u7, d7) = eip_shaper_names("198.18.0.7");
        let (u9, d9) = eip_shaper_names("198.18.0.9");
        assert_eq!(
            s.shapers[&LinkRef::new(router, u7.clone())],
            representable_kbit(20_000)
        );
        assert_eq!(
            s.shapers[&LinkRef::new(router, d9.clone())],
            representable_kbit(5_000)
        );
        let key = |hook| RedirectKey {
            port: LinkRef::new(router, UPLINK),
            hook,
        };
        // By address, each way: what leaves as the EIP, what arrives for it.
        assert_eq!(
            s.addr_redirects[&key(Hook::Egress)],
            vec![("198.18.0.7".into(), u7), ("198.18.0.9".into(), u9)]
        );
        assert_eq!(
            s.addr_redirects[&key(Hook::Ingress)],
            vec![("198.18.0.7".into(), d7), ("198.18.0.9".into(), d9)]
        );
        let fake = FakeDataplane::default();
        converge(&fake, &d);
        // A new rate is the two shapers' classes, nothing else.
        d.vpcs[0].eips[1].bandwidth_kbps = 40_000;
        let ops = converge(&fake, &d);
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert!(
            ops.iter().all(|o| matches!(o, Op::SetShaperRate(..))),
            "{ops:?}"
        );
        // An EIP without a cap has no shaper; the last one gone takes the filters along.
        d.vpcs[0].eips[1].bandwidth_kbps = 0;
        let s = render("eni-", &d);
        assert_eq!(s.addr_redirects[&key(Hook::Egress)].len(), 1);
        converge(&fake, &d);
        d.vpcs[0].eips.truncate(1);
        d.vpcs[0].eips[0].bandwidth_kbps = 0;
        let ops = converge(&fake, &d);
        assert!(
            ops.contains(&Op::SetAddrRedirects(key(Hook::Egress), Vec::new())),
            "{ops:?}"
        );
        assert!(!fake
            .observe()
            .unwrap()
            .shapers
            .keys()
            .any(|k| k.name.starts_with('e')));
    }

    #[test]
    fn a_stopped_instance_has_its_nics_down_and_no_routes() {
        let s = render(
            "eni-",
            &host(vec![inst(
                "i-a",
                false,
                vec![eni("eni-p", 0, &["10.0.1.5"])],
            )]),
        );
        let nic = s.link(&LinkRef::new("i-a", "eth0")).unwrap();
        assert!(!nic.up);
        assert!(!s.routes.keys().any(|k| k.ns == "i-a"));
    }

    #[test]
    fn moving_an_eni_plans_make_before_break_and_converges() {
        let e = eni("eni-s", 1, &["10.0.1.9"]);
        let before = host(vec![
            inst("i-a", true, vec![e.clone()]),
            inst("i-b", true, vec![]),
        ]);
        let after = host(vec![inst("i-a", true, vec![]), inst("i-b", true, vec![e])]);
        let fake = FakeDataplane::default();
        fake.apply(&plan(&fake.observe().unwrap(), &render("eni-", &before)))
            .unwrap();
        let want = render("eni-", &after);
        let ops = plan(&fake.observe().unwrap(), &want);
        let new_port = port_name("eni-s", "i-b");
        let flip = ops.iter().position(|o| matches!(o, Op::ReplaceRoute(k, t) if k.dst == "10.0.1.9/32" && t.dev == new_port)).unwrap();
        let delete = ops
            .iter()
            .position(|o| matches!(o, Op::DeleteVeth(_)))
            .unwrap();
        assert!(flip < delete, "{ops:?}");
        fake.apply(&ops).unwrap();
        let mut seen = fake.observe().unwrap();
        seen.sysctls.retain(|k, _| want.sysctls.contains_key(k));
        assert_eq!(seen, want);
    }

    #[test]
    fn remote_addresses_are_routed_to_their_host_over_one_vxlan() {
        let mut e = eni("eni-l", 0, &["10.0.1.5"]);
        e.ipv6_addresses = vec!["2408::5".into()];
        let d = on_overlay(
            host(vec![inst("i-a", true, vec![e])]),
            &[
                (2, &["10.0.1.6/32", "10.0.1.16/28", "2408::6/128"]),
                (3, &["10.0.1.7/32"]),
            ],
        );
        let s = render("eni-", &d);
        let router = vpc_namespace("eni-", "vpc-1");
        let vx = LinkRef::new(router.clone(), VXLAN);
        let dev = &s.vxlans[&vx];
        assert_eq!((dev.vni, dev.local.as_str()), (7, "192.0.2.1"));
        assert_eq!(
            (dev.end.mac.as_str(), dev.port),
            ("02:00:a9:fe:00:01", 4789)
        );
        assert!(s.addrs.contains(&Addr {
            dev: vx.clone(),
            cidr: "169.254.0.1/32".into()
        }));
        let fdb = |mac: &str| {
            s.fdbs.get(&FdbKey {
                dev: vx.clone(),
                mac: mac.into(),
            })
        };
        assert_eq!(fdb("02:00:a9:fe:00:02").unwrap(), "192.0.2.2");
        assert_eq!(fdb("02:00:a9:fe:00:03").unwrap(), "192.0.2.3");
        let neigh = |ip: &str| {
            s.neighs.get(&NeighKey {
                dev: vx.clone(),
                ip: ip.into(),
            })
        };
        assert_eq!(neigh("169.254.0.2").unwrap(), "02:00:a9:fe:00:02");
        // IPv6 is forwarded here (a local ENI has it): the remote's link-local too.
        assert_eq!(neigh("fe80::a9ff:fefe:2").unwrap(), "02:00:a9:fe:00:02");
        let route = |dst: &str| {
            s.routes
                .get(&RouteKey {
                    ns: router.clone(),
                    table: 254,
                    dst: dst.into(),
                })
                .cloned()
        };
        let via = |gw: &str, onlink: bool| RouteTarget {
            dev: VXLAN.into(),
            via: Some(gw.into()),
            src: None,
            onlink,
        };
        assert_eq!(route("10.0.1.6/32"), Some(via("169.254.0.2", true)));
        assert_eq!(route("10.0.1.16/28"), Some(via("169.254.0.2", true)));
        assert_eq!(route("10.0.1.7/32"), Some(via("169.254.0.3", true)));
        assert_eq!(route("2408::6/128"), Some(via("fe80::a9ff:fefe:2", false)));
        // The local address stays on its port.
        assert_eq!(route("10.0.1.5/32").unwrap().dev, port_name("eni-l", "i-a"));
        let fake = FakeDataplane::default();
        converge(&fake, &d);
        // No overlay without remote hosts, or off the overlay.
        let alone = render("eni-", &on_overlay(host(vec![]), &[]));
        assert!(alone.vxlans.is_empty() && alone.fdbs.is_empty());
        let mut off = d.clone();
        off.overlay = None;
        assert!(render("eni-", &off).vxlans.is_empty());
    }

    #[test]
    fn a_remote_host_comes_and_goes_without_touching_the_others() {
        let d1 = on_overlay(
            host(vec![inst(
                "i-a",
                true,
                vec![eni("eni-l", 0, &["10.0.1.5"])],
            )]),
            &[(2, &["10.0.1.6/32"])],
        );
        let fake = FakeDataplane::default();
        converge(&fake, &d1);
        let mut d2 = d1.clone();
        d2.vpcs[0].remotes =
            on_overlay(d1.clone(), &[(2, &["10.0.1.6/32"]), (3, &["10.0.1.7/32"])]).vpcs[0]
                .remotes
                .clone();
        let ops = converge(&fake, &d2);
        // Host 3's neighbour, forwarding entry and route; nothing rebuilt, nothing removed.
        assert_eq!(ops.len(), 3, "{ops:?}");
        assert!(ops.iter().all(|o| matches!(
            o,
            Op::ReplaceNeigh(..) | Op::ReplaceFdb(..) | Op::ReplaceRoute(..)
        )));
        // Host 2 goes: its entries go, host 3's stay.
        let mut d3 = d2.clone();
        d3.vpcs[0].remotes.remove(0);
        let ops = converge(&fake, &d3);
        assert!(ops
            .iter()
            .all(|o| matches!(o, Op::DelNeigh(..) | Op::DelFdb(..) | Op::DelRoute(..))));
        assert_eq!(ops.len(), 3, "{ops:?}");
        // The last one goes: the device and all on it.
        let ops = converge(&fake, &d1.clone().tap_remotes(Vec::new()));
        assert!(
            ops.iter().any(|o| matches!(o, Op::DeleteVxlan(_))),
            "{ops:?}"
        );
        let seen = fake.observe().unwrap();
        assert!(seen.vxlans.is_empty() && seen.fdbs.is_empty());
        assert!(!seen.routes.values().any(|t| t.dev == VXLAN));
    }

    #[test]
    fn an_address_moving_between_hosts_is_one_route_replace_on_the_others() {
        let fake = FakeDataplane::default();
        let local = || inst("i-a", true, vec![eni("eni-l", 0, &["10.0.1.5"])]);
        let on2 = on_overlay(
            host(vec![local()]),
            &[(2, &["10.0.1.6/32", "10.0.1.9/32"]), (3, &["10.0.1.7/32"])],
        );
        converge(&fake, &on2);
        let on3 = on_overlay(
            host(vec![local()]),
            &[(2, &["10.0.1.6/32"]), (3, &["10.0.1.7/32", "10.0.1.9/32"])],
        );
        let ops = converge(&fake, &on3);
        assert_eq!(ops.len(), 1, "{ops:?}");
        assert!(matches!(&ops[0], Op::ReplaceRoute(k, t)
            if k.dst == "10.0.1.9/32" && t.via.as_deref() == Some("169.254.0.3")));
        // It comes here: the new port is built before the route flips from the overlay to it.
        let here = on_overlay(
            host(vec![
                local(),
                inst("i-b", true, vec![eni("eni-m", 0, &["10.0.1.9"])]),
            ]),
            &[(2, &["10.0.1.6/32"]), (3, &["10.0.1.7/32"])],
        );
        let ops = converge(&fake, &here);
        let built = ops
            .iter()
            .position(|o| matches!(o, Op::CreateVeth(_)))
            .unwrap();
        let flip = ops
            .iter()
            .position(|o| {
                matches!(o, Op::ReplaceRoute(k, t)
                if k.dst == "10.0.1.9/32" && t.dev == port_name("eni-m", "i-b"))
            })
            .unwrap();
        assert!(built < flip, "{ops:?}");
        assert!(!ops
            .iter()
            .any(|o| matches!(o, Op::DelRoute(k) if k.dst == "10.0.1.9/32")));
    }

    #[test]
    fn the_internets_of_the_hosts_are_one_network_once_there_is_an_eip() {
        let remote = |n: u8, eips: &[&str]| RemoteHost {
            host: format!("h{n}"),
            endpoint: endpoint(n),
            addresses: eips.iter().map(|e| e.to_string()).collect(),
        };
        let mut d = on_overlay(
            host(vec![inst(
                "i-a",
                true,
                vec![eni("eni-l", 0, &["10.0.1.5"])],
            )]),
            &[],
        );
        d.internet = vec![remote(2, &[]), remote(3, &[])];
        // No EIP anywhere: no internet at all.
        assert!(!render("eni-", &d)
            .namespaces
            .contains(&internet_namespace("eni-")));
        d.internet = vec![remote(2, &["203.0.113.7/32"]), remote(3, &[])];
        let s = render("eni-", &d);
        let inet = internet_namespace("eni-");
        let vx = &s.vxlans[&LinkRef::new(inet.clone(), VXLAN)];
        assert_eq!(vx.vni, INTERNET_VNI);
        let route = |dst: &str| {
            s.routes
                .get(&RouteKey {
                    ns: inet.clone(),
                    table: 254,
                    dst: dst.into(),
                })
                .cloned()
                .unwrap()
        };
        // A remote EIP goes to its host; every remote host's own address is reachable (the
        // source of what its internet sends), EIPs or not.
        assert_eq!(route("203.0.113.7/32").via.as_deref(), Some("169.254.0.2"));
        assert!(route("203.0.113.7/32").onlink);
        assert_eq!(route("169.254.0.3/32").via, None);
        assert_eq!(route("169.254.0.2/32").dev, VXLAN);
        converge(&FakeDataplane::default(), &d);
    }

    #[test]
    fn every_link_takes_the_mtu_asked_for() {
        let mut d = on_overlay(
            host(vec![inst(
                "i-a",
                true,
                vec![eni("eni-l", 0, &["10.0.1.5"])],
            )]),
            &[(2, &["10.0.1.6/32"])],
        );
        d.vpcs[0].eips = vec![EipDesired {
            eip: "198.18.0.7".into(),
            private_ip: "10.0.1.5".into(),
            bandwidth_kbps: 0,
            mode: EipMode::Nat,
        }];
        let s = render_with("eni-", 1450, &d);
        assert!(!s.veths.is_empty() && !s.vxlans.is_empty());
        assert!(s.veths.values().all(|v| v.a.mtu == 1450 && v.b.mtu == 1450));
        assert!(s.vxlans.values().all(|x| x.end.mtu == 1450));
        // The default is MTU.
        let s = render("eni-", &d);
        assert!(s.veths.values().all(|v| v.a.mtu == MTU && v.b.mtu == MTU));
    }

    #[test]
    fn a_detached_eni_leaves_nothing_in_its_old_instance() {
        let e = eni("eni-s", 1, &["10.0.1.9"]);
        let before = host(vec![
            inst("i-a", true, vec![e.clone()]),
            inst("i-b", true, vec![]),
        ]);
        let after = host(vec![inst("i-a", true, vec![]), inst("i-b", true, vec![])]);
        let s = render("eni-", &before);
        assert!(s.link(&LinkRef::new("i-a", "eth1")).is_some());
        let s = render("eni-", &after);
        assert!(s.link(&LinkRef::new("i-a", "eth1")).is_none());
        assert!(!s.addrs.iter().any(|a| a.cidr.starts_with("10.0.1.9/")));
        assert!(!s.rules.iter().any(|r| r.from.starts_with("10.0.1.9")));
        assert!(!s.routes.keys().any(|k| k.dst == "10.0.1.9/32"));
        assert!(!s.veths.keys().any(|k| k.name == port_name("eni-s", "i-a")));
        // The plan from the attached state removes all of it in one apply.
        let fake = FakeDataplane::default();
        fake.apply(&plan(&fake.observe().unwrap(), &render("eni-", &before)))
            .unwrap();
        fake.apply(&plan(&fake.observe().unwrap(), &s)).unwrap();
        let seen = fake.observe().unwrap();
        assert!(seen.link(&LinkRef::new("i-a", "eth1")).is_none());
        assert!(!seen.addrs.iter().any(|a| a.cidr.starts_with("10.0.1.9/")));
        assert!(!seen.rules.iter().any(|r| r.from.starts_with("10.0.1.9")));
        assert!(!seen.routes.keys().any(|k| k.dst == "10.0.1.9/32"));
        assert!(!seen.neighs.keys().any(|k| k.ip == "10.0.1.9"));
    }

    #[test]
    fn the_report_names_the_attachments_whose_nic_was_applied() {
        let e = eni("eni-s", 1, &["10.0.1.9"]);
        let d = host(vec![inst("i-a", true, vec![e])]);
        let id = |r: &eni_types::hoststate::HostReport| {
            r.attached
                .iter()
                .map(|a| (a.eni_id.clone(), a.instance_id.clone()))
                .collect::<Vec<_>>()
        };
        let applied = render("eni-", &d);
        assert!(id(&crate::agent::report_of(&d, &applied))
            .contains(&("eni-s".to_string(), "i-a".to_string())));
        // A state without the NIC (or with another MAC there) reports the ENI not attached.
        let mut other = applied.clone();
        for v in other.veths.values_mut() {
            if v.b.at == LinkRef::new("i-a", "eth1") {
                v.b.mac = "00:16:3e:00:00:99".into();
            }
        }
        assert!(!id(&crate::agent::report_of(&d, &other))
            .iter()
            .any(|(e, _)| e == "eni-s"));
        let none = crate::agent::report_of(&d, &KernelState::default());
        assert!(none.attached.is_empty());
    }

    trait TapRemotes {
        fn tap_remotes(self, r: Vec<RemoteHost>) -> Self;
    }

    impl TapRemotes for HostDesired {
        fn tap_remotes(mut self, r: Vec<RemoteHost>) -> Self {
            self.vpcs[0].remotes = r;
            self
        }
    }

    fn capped(mut i: InstanceDesired, rx: u64, tx: u64) -> InstanceDesired {
        i.bandwidth_rx_kbps = rx;
        i.bandwidth_tx_kbps = tx;
        i
    }

    #[test]
    fn an_instance_cap_is_one_pair_of_shapers_shared_by_all_its_enis() {
        let a = capped(
            inst(
                "i-a",
                true,
                vec![
                    eni("eni-p", 0, &["10.0.1.5"]),
                    eni("eni-s", 1, &["10.0.1.6"]),
                ],
            ),
            20_480,
            10_240,
        );
        let b = inst("i-b", true, vec![eni("eni-b", 0, &["10.0.1.7"])]);
        let c = capped(
            inst("i-c", true, vec![eni("eni-c", 0, &["10.0.1.8"])]),
            1_234_567,
            0,
        );
        let s = render("eni-", &host(vec![a, b, c]));
        let r = |n: &str| LinkRef::new("eni-v-vpc-1", n);
        let (au, ad) = shaper_names("i-a");
        let (_, cd) = shaper_names("i-c");
        assert!(au.len() <= 15 && au.starts_with('b') && au.ends_with('u'));
        assert_eq!(
            s.shapers,
            BTreeMap::from([
                (r(&au), 10_240),
                (r(&ad), 20_480),
                // Rounded to what tc reads back; no upload cap, no upload shaper.
                (r(&cd), 1_234_000),
            ])
        );
        let mut want = BTreeMap::new();
        for e in ["eni-p", "eni-s"] {
            let port = r(&port_name(e, "i-a"));
            for (hook, ifb) in [(Hook::Ingress, &au), (Hook::Egress, &ad)] {
                let key = RedirectKey {
                    port: port.clone(),
                    hook,
                };
                want.insert(key, ifb.clone());
            }
        }
        let key = RedirectKey {
            port: r(&port_name("eni-c", "i-c")),
            hook: Hook::Egress,
        };
        want.insert(key, cd.clone());
        assert_eq!(s.redirects, want, "i-b is not capped");

        // A third ENI adds redirects into the same shapers, not rate.
        let more = capped(
            inst(
                "i-a",
                true,
                vec![
                    eni("eni-p", 0, &["10.0.1.5"]),
                    eni("eni-s", 1, &["10.0.1.6"]),
                    eni("eni-t", 2, &["10.0.1.9"]),
                ],
            ),
            20_480,
            10_240,
        );
        let s3 = render("eni-", &host(vec![more]));
        assert_eq!(s3.shapers.len(), 2);
        assert_eq!(s3.redirects.len(), 6);
        assert_eq!(s3.shapers[&r(&au)], 10_240);
    }

    #[test]
    fn a_moved_eni_is_shaped_by_its_new_instance_before_traffic_flips() {
        let e = eni("eni-s", 1, &["10.0.1.9"]);
        let a = |enis| capped(inst("i-a", true, enis), 20_480, 20_480);
        let b = |enis| capped(inst("i-b", true, enis), 5_000, 5_000);
        let before = host(vec![a(vec![e.clone()]), b(vec![])]);
        let after = host(vec![a(vec![]), b(vec![e])]);
        let fake = FakeDataplane::default();
        fake.apply(&plan(&fake.observe().unwrap(), &render("eni-", &before)))
            .unwrap();
        let want = render("eni-", &after);
        let ops = plan(&fake.observe().unwrap(), &want);
        let new_port = port_name("eni-s", "i-b");
        let (bu, bd) = shaper_names("i-b");
        let pos = |f: &dyn Fn(&Op) -> bool| ops.iter().position(f).unwrap();
        let up =
            pos(&|o| matches!(o, Op::SetRedirect(k, t) if k.port.name == new_port && *t == bu));
        let down =
            pos(&|o| matches!(o, Op::SetRedirect(k, t) if k.port.name == new_port && *t == bd));
        let flip = pos(&|o| matches!(o, Op::ReplaceRoute(_, t) if t.dev == new_port));
        let old_gone = pos(&|o| matches!(o, Op::DeleteVeth(_)));
        assert!(up < flip && down < flip && flip < old_gone, "{ops:?}");
        assert!(
            !ops.iter().any(|o| matches!(o, Op::DeleteIfb(_))),
            "i-a keeps its shapers: {ops:?}"
        );
        fake.apply(&ops).unwrap();
        let mut seen = fake.observe().unwrap();
        seen.sysctls.retain(|k, _| want.sysctls.contains_key(k));
        assert_eq!(seen, want);
    }
}
