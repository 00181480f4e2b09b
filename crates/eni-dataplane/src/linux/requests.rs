//! The netlink requests that carry out each [`Op`], as iproute2 sends them for the command
//! `apply::describe` prints (so `ip` and `tc` read back what the model expects), with what
//! each request's failure may mean.
//!
//! Devices are named in the model and indexed in most messages: an op looks its links up by
//! name first. A removal whose device is gone has nothing left to do.

use super::netlink::*;
use crate::model::*;
use crate::DataplaneError;
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

/// How a failed request is judged.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Judge {
    /// By the op's own rule ([`super::apply::judge`]).
    Op,
    /// Fine if the error is one of these, fatal otherwise.
    FineIf(fn(&NlError) -> bool),
}

/// One request of an op.
pub(crate) struct Req {
    pub msg: Msg,
    pub judge: Judge,
    /// A descriptor the request refers to (a veth peer's namespace), kept open until sent.
    pub _fd: Option<File>,
}

impl Req {
    fn new(msg: Msg) -> Req {
        Req {
            msg,
            judge: Judge::Op,
            _fd: None,
        }
    }

    fn fine_if(msg: Msg, f: fn(&NlError) -> bool) -> Req {
        Req {
            msg,
            judge: Judge::FineIf(f),
            _fd: None,
        }
    }
}

/// What `tc` answers when a filter to delete is not there: no such priority, no filters at
/// all, no clsact qdisc.
const NO_FILTER: &[&str] = &[
    "Filter with specified priority/protocol not found",
    "Cannot find specified filter chain",
    "Parent Qdisc doesn't exists",
];

/// A filter (or its qdisc, or its device) that is not there.
pub(crate) fn no_filter(e: &NlError) -> bool {
    [libc::ENOENT, libc::ENODEV].contains(&e.errno) || NO_FILTER.iter().any(|m| e.says(m))
}

fn bad(op: &Op, detail: impl Into<String>) -> DataplaneError {
    DataplaneError::Failed {
        what: format!("{op:?}"),
        detail: detail.into(),
    }
}

fn parse_ip(op: &Op, s: &str) -> Result<IpAddr, DataplaneError> {
    s.parse()
        .map_err(|_| bad(op, format!("not an IP address: {s:?}")))
}

fn parse_cidr(op: &Op, s: &str) -> Result<(IpAddr, u8), DataplaneError> {
    let (ip, len) = s.split_once('/').unwrap_or((s, ""));
    let ip = parse_ip(op, ip)?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = if len.is_empty() {
        max
    } else {
        len.parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| bad(op, format!("not a prefix: {s:?}")))?
    };
    Ok((ip, len))
}

fn parse_mac(op: &Op, s: &str) -> Result<[u8; 6], DataplaneError> {
    let parts: Vec<&str> = s.split(':').collect();
    let mut mac = [0u8; 6];
    if parts.len() != 6 {
        return Err(bad(op, format!("not a MAC address: {s:?}")));
    }
    for (b, p) in mac.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16)
            .ok()
            .filter(|_| p.len() == 2)
            .ok_or_else(|| bad(op, format!("not a MAC address: {s:?}")))?;
    }
    Ok(mac)
}

/// A link name the kernel accepts (IFNAMSIZ 16 with the NUL; no '/', ':' or whitespace).
fn name<'a>(op: &Op, n: &'a str) -> Result<&'a str, DataplaneError> {
    if !n.is_empty()
        && n.len() < 16
        && n != "."
        && n != ".."
        && n.chars()
            .all(|c| c.is_ascii_graphic() && c != '/' && c != ':')
    {
        Ok(n)
    } else {
        Err(bad(op, format!("not a link name: {n:?}")))
    }
}

/// The index of `dev`, or `None` when it is missing and `op` removes something (nothing to do).
fn index(s: &mut Socket, op: &Op, ns: &str, dev: &str) -> Result<Option<u32>, DataplaneError> {
    let dev = name(op, dev)?;
    let io = |e: std::io::Error| DataplaneError::Failed {
        what: format!("netlink in {ns}: looking up {dev}"),
        detail: e.to_string(),
    };
    match s.link_index(dev).map_err(io)? {
        Ok(Some(i)) => Ok(Some(i)),
        Ok(None) if super::apply::is_removal(op) => Ok(None),
        Ok(None) => Err(DataplaneError::Failed {
            what: super::apply::describe(ns, op),
            detail: format!("Cannot find device \"{dev}\""),
        }),
        Err(e) => Err(DataplaneError::Failed {
            what: format!("netlink in {ns}: looking up {dev}"),
            detail: e.to_string(),
        }),
    }
}

fn link_by_name(
    ty: u16,
    flags: u16,
    head: [u8; 16],
    op: &Op,
    n: &str,
) -> Result<Msg, DataplaneError> {
    let mut m = Msg::new(ty, flags, &head);
    m.str(IFLA_IFNAME, name(op, n)?);
    Ok(m)
}

/// The HTB burst (and cburst) of a class, in bytes: 10 ms at the rate (HTB refills on the
/// timer tick, at most 10 ms apart at HZ=100), but never below one 64 KiB GSO packet, or
/// every large packet would leave the bucket in debt.
pub(crate) fn htb_burst(kbit: u64) -> u64 {
    (kbit.saturating_mul(1000) / 8 / 100).max(64 * 1024)
}

/// The HTB quantum of the one class. It only divides spare bandwidth between sibling
/// classes, of which there are none; set explicitly, HTB does not warn about a quantum
/// derived from the rate ("quantum of class … is big", spec §7.9).
pub(crate) const HTB_QUANTUM: u32 = 65_536;

const TC_H_ROOT: u32 = 0xFFFF_FFFF;
const TC_H_CLSACT: u32 = 0xFFFF_FFF1;
const CLSACT_HANDLE: u32 = 0xFFFF_0000;
const HTB_ROOT: u32 = 0x0001_0000;
const HTB_CLASS: u32 = 0x0001_0001;
const TCA_HTB_PARMS: u16 = 1;
const TCA_HTB_INIT: u16 = 2;
const TCA_HTB_RATE64: u16 = 6;
const TCA_HTB_CEIL64: u16 = 7;
const TC_LINKLAYER_ETHERNET: u8 = 1;
const TCA_U32_SEL: u16 = 5;
const TCA_U32_ACT: u16 = 7;
const TC_U32_TERMINAL: u8 = 1;
const TCA_ACT_KIND: u16 = 1;
const TCA_ACT_OPTIONS: u16 = 2;
const TCA_MIRRED_PARMS: u16 = 2;
const TC_ACT_STOLEN: i32 = 4;
const TCA_EGRESS_REDIR: i32 = 1;
const ETH_P_ALL: u16 = 0x0003;

/// The clsact parent of a hook's filters.
fn hook_parent(h: Hook) -> u32 {
    match h {
        Hook::Ingress => 0xFFFF_FFF2,
        Hook::Egress => 0xFFFF_FFF3,
    }
}

/// `struct tc_htb_glob`: version 3, `default 1`.
fn htb_glob() -> [u8; 20] {
    let mut g = [0u8; 20];
    g[0..4].copy_from_slice(&3u32.to_ne_bytes());
    g[4..8].copy_from_slice(&10u32.to_ne_bytes()); // rate2quantum, tc's default
    g[8..12].copy_from_slice(&1u32.to_ne_bytes());
    g
}

/// `struct tc_htb_opt` for rate = ceil = `kbit`, burst = cburst = [`htb_burst`].
fn htb_opt(kbit: u64) -> [u8; 44] {
    let bytes_per_s = kbit.saturating_mul(1000) / 8;
    let spec = |o: &mut [u8]| {
        o[1] = TC_LINKLAYER_ETHERNET;
        o[4..6].copy_from_slice(&(-1i16).to_ne_bytes()); // cell_align, as tc sets it
        o[8..12].copy_from_slice(&(bytes_per_s.min(u64::from(u32::MAX)) as u32).to_ne_bytes());
    };
    // The bucket in psched ticks (64 ns each): the time to send `burst` bytes at the rate.
    let ticks = (u128::from(htb_burst(kbit)) * 1_000_000_000 / u128::from(bytes_per_s.max(1)) / 64)
        .min(u128::from(u32::MAX)) as u32;
    let mut o = [0u8; 44];
    spec(&mut o[0..12]);
    spec(&mut o[12..24]);
    o[24..28].copy_from_slice(&ticks.to_ne_bytes());
    o[28..32].copy_from_slice(&ticks.to_ne_bytes());
    o[32..36].copy_from_slice(&HTB_QUANTUM.to_ne_bytes());
    o
}

/// `struct tc_u32_sel` with one key matching everything, terminal.
fn u32_match_all() -> [u8; 32] {
    let mut s = [0u8; 32];
    s[0] = TC_U32_TERMINAL;
    s[2] = 1; // nkeys; the key (mask 0, value 0, offset 0) is all zeros
    s
}

/// `struct tc_u32_sel` with one key matching an IPv4 address exactly, terminal: the source
/// (offset 12 of the IP header) or the destination (16).
fn u32_match_ip(ip: std::net::Ipv4Addr, source: bool) -> [u8; 32] {
    let mut s = u32_match_all();
    s[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
    s[20..24].copy_from_slice(&ip.octets());
    s[24..28].copy_from_slice(&(if source { 12i32 } else { 16 }).to_ne_bytes());
    s
}

const ETH_P_IP: u16 = 0x0800;

/// `struct tc_mirred` for `action mirred egress redirect dev <ifindex>`.
fn mirred_redirect(ifindex: u32) -> [u8; 28] {
    let mut p = [0u8; 28];
    p[8..12].copy_from_slice(&TC_ACT_STOLEN.to_ne_bytes());
    p[20..24].copy_from_slice(&TCA_EGRESS_REDIR.to_ne_bytes());
    p[24..28].copy_from_slice(&ifindex.to_ne_bytes());
    p
}

fn del_filter(index: u32, hook: Hook) -> Msg {
    Msg::new(
        RTM_DELTFILTER,
        0,
        &tcmsg(index, 0, hook_parent(hook), hook.prio() << 16),
    )
}

/// The table byte of an rtmsg or fib_rule_hdr: ids above 255 go in an attribute only.
fn table_byte(t: u32) -> u8 {
    u8::try_from(t).unwrap_or(0)
}

/// The requests for `op`, run in namespace `ns`; empty if there is nothing to do.
pub(crate) fn requests(s: &mut Socket, ns: &str, op: &Op) -> Result<Vec<Req>, DataplaneError> {
    let none = ifinfomsg(0, 0, 0, 0);
    Ok(match op {
        Op::SetLoopbackUp(_) => vec![Req::new(link_by_name(
            RTM_NEWLINK,
            0,
            ifinfomsg(0, 0, IFF_UP, IFF_UP),
            op,
            "lo",
        )?)],
        Op::CreateVeth(v) => {
            let peer_ns = if v.a.at.ns == v.b.at.ns {
                None
            } else {
                let path = std::path::Path::new(super::netns::NETNS_DIR).join(&v.a.at.ns);
                Some(File::open(&path).map_err(|e| DataplaneError::Failed {
                    what: super::apply::describe(ns, op),
                    detail: format!("opening {}: {e}", path.display()),
                })?)
            };
            let (b_mac, a_mac) = (parse_mac(op, &v.b.mac)?, parse_mac(op, &v.a.mac)?);
            let (b_name, a_name) = (name(op, &v.b.at.name)?, name(op, &v.a.at.name)?);
            let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &none);
            m.str(IFLA_IFNAME, b_name)
                .attr(IFLA_ADDRESS, &b_mac)
                .u32(IFLA_MTU, v.b.mtu)
                .nest(IFLA_LINKINFO, |m| {
                    m.str(IFLA_INFO_KIND, "veth").nest(IFLA_INFO_DATA, |m| {
                        m.nest(VETH_INFO_PEER, |m| {
                            m.raw(&none)
                                .str(IFLA_IFNAME, a_name)
                                .attr(IFLA_ADDRESS, &a_mac)
                                .u32(IFLA_MTU, v.a.mtu);
                            if let Some(f) = &peer_ns {
                                m.u32(IFLA_NET_NS_FD, f.as_raw_fd() as u32);
                            }
                        });
                    });
                });
            vec![Req {
                msg: m,
                judge: Judge::Op,
                _fd: peer_ns,
            }]
        }
        Op::CreateVxlan(x) => {
            let path = std::path::Path::new(super::netns::NETNS_DIR).join(&x.end.at.ns);
            let target = File::open(&path).map_err(|e| DataplaneError::Failed {
                what: super::apply::describe(ns, op),
                detail: format!("opening {}: {e}", path.display()),
            })?;
            let local = parse_ip(op, &x.local)?;
            let mac = parse_mac(op, &x.end.mac)?;
            let mut m = link_by_name(
                RTM_NEWLINK,
                NLM_F_CREATE | NLM_F_EXCL,
                none,
                op,
                &x.end.at.name,
            )?;
            m.attr(IFLA_ADDRESS, &mac)
                .u32(IFLA_MTU, x.end.mtu)
                .u32(IFLA_NET_NS_FD, target.as_raw_fd() as u32)
                .nest(IFLA_LINKINFO, |m| {
                    m.str(IFLA_INFO_KIND, "vxlan").nest(IFLA_INFO_DATA, |m| {
                        m.u32(IFLA_VXLAN_ID, x.vni)
                            .ip(
                                if local.is_ipv4() {
                                    IFLA_VXLAN_LOCAL
                                } else {
                                    IFLA_VXLAN_LOCAL6
                                },
                                local,
                            )
                            .attr(IFLA_VXLAN_PORT, &x.port.to_be_bytes())
                            .attr(IFLA_VXLAN_LEARNING, &[0]);
                    });
                });
            vec![Req {
                msg: m,
                judge: Judge::Op,
                _fd: Some(target),
            }]
        }
        Op::ReplaceFdb(k, _) | Op::DelFdb(k) => {
            let mac = parse_mac(op, &k.mac)?;
            let Some(i) = index(s, op, ns, &k.dev.name)? else {
                return Ok(vec![]);
            };
            let mut m = match op {
                Op::ReplaceFdb(_, dst) => {
                    let dst = parse_ip(op, dst)?;
                    let mut m = Msg::new(
                        RTM_NEWNEIGH,
                        NLM_F_CREATE | NLM_F_REPLACE,
                        &fdb_ndmsg(i, NUD_PERMANENT),
                    );
                    m.ip(NDA_DST, dst);
                    m
                }
                _ => Msg::new(RTM_DELNEIGH, 0, &fdb_ndmsg(i, 0)),
            };
            m.attr(NDA_LLADDR, &mac);
            vec![Req::new(m)]
        }
        Op::DeleteVeth(r) | Op::DeleteIfb(r) | Op::DeleteVxlan(r) => {
            vec![Req::new(link_by_name(RTM_DELLINK, 0, none, op, &r.name)?)]
        }
        Op::SetLinkUp(r, up) => {
            let flags = if *up { IFF_UP } else { 0 };
            vec![Req::new(link_by_name(
                RTM_NEWLINK,
                0,
                ifinfomsg(0, 0, flags, IFF_UP),
                op,
                &r.name,
            )?)]
        }
        Op::CreateIfb(r) => {
            let mut m = link_by_name(
                RTM_NEWLINK,
                NLM_F_CREATE | NLM_F_EXCL,
                ifinfomsg(0, 0, IFF_UP, IFF_UP),
                op,
                &r.name,
            )?;
            m.nest(IFLA_LINKINFO, |m| {
                m.str(IFLA_INFO_KIND, "ifb");
            });
            vec![Req::new(m)]
        }
        Op::AddAddr(a) | Op::DelAddr(a) => {
            let (ip, len) = parse_cidr(op, &a.cidr)?;
            let Some(i) = index(s, op, ns, &a.dev.name)? else {
                return Ok(vec![]);
            };
            let mut head = ifaddrmsg(family(ip), len, i);
            let (ty, flags) = if matches!(op, Op::AddAddr(_)) {
                (RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE)
            } else {
                (RTM_DELADDR, 0)
            };
            let v6_flags = if ip.is_ipv6() && ty == RTM_NEWADDR {
                // No duplicate address detection: the VPC's IPAM already guarantees it, and
                // a tentative address cannot be used for the first second. No on-link route
                // for the prefix: the rest of the vSwitch is behind the gateway.
                head[2] = IFA_F_NODAD as u8;
                Some(IFA_F_NODAD | IFA_F_NOPREFIXROUTE)
            } else {
                None
            };
            let mut m = Msg::new(ty, flags, &head);
            m.ip(IFA_LOCAL, ip).ip(IFA_ADDRESS, ip);
            if let Some(f) = v6_flags {
                m.u32(IFA_FLAGS, f);
            }
            vec![Req::new(m)]
        }
        Op::ReplaceRoute(k, t) => {
            let dst = route_dst(op, &k.dst)?;
            let via = t.via.as_deref().map(|v| parse_ip(op, v)).transpose()?;
            let src = t.src.as_deref().map(|v| parse_ip(op, v)).transpose()?;
            let fam = dst
                .map(|(ip, _)| family(ip))
                .or(via.map(family))
                .or(src.map(family))
                .unwrap_or(libc::AF_INET as u8);
            let Some(oif) = index(s, op, ns, &t.dev)? else {
                return Ok(vec![]);
            };
            let head = RtMsg {
                family: fam,
                dst_len: dst.map_or(0, |d| d.1),
                table: table_byte(k.table),
                protocol: RTPROT_BOOT,
                scope: if via.is_some() {
                    RT_SCOPE_UNIVERSE
                } else {
                    RT_SCOPE_LINK
                },
                kind: RTN_UNICAST,
                flags: if t.onlink { RTNH_F_ONLINK } else { 0 },
            };
            let mut m = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &head.bytes());
            m.u32(RTA_TABLE, k.table);
            if let Some((ip, len)) = dst {
                if len > 0 {
                    m.ip(RTA_DST, ip);
                }
            }
            if let Some(via) = via {
                m.ip(RTA_GATEWAY, via);
            }
            m.u32(RTA_OIF, oif);
            if let Some(src) = src {
                m.ip(RTA_PREFSRC, src);
            }
            vec![Req::new(m)]
        }
        Op::DelRoute(k) => {
            let dst = route_dst(op, &k.dst)?;
            let head = RtMsg {
                family: dst.map_or(libc::AF_INET as u8, |(ip, _)| family(ip)),
                dst_len: dst.map_or(0, |d| d.1),
                table: table_byte(k.table),
                protocol: 0,
                scope: RT_SCOPE_NOWHERE,
                kind: 0,
                flags: 0,
            };
            let mut m = Msg::new(RTM_DELROUTE, 0, &head.bytes());
            m.u32(RTA_TABLE, k.table);
            if let Some((ip, len)) = dst {
                if len > 0 {
                    m.ip(RTA_DST, ip);
                }
            }
            vec![Req::new(m)]
        }
        Op::AddRule(r) | Op::DelRule(r) => {
            let from = if r.from == "all" {
                None
            } else {
                Some(parse_cidr(op, &r.from)?)
            };
            let fam = from.map_or(libc::AF_INET as u8, |(ip, _)| family(ip));
            let head = fib_rule_hdr(fam, from.map_or(0, |f| f.1), table_byte(r.table));
            let (ty, flags) = if matches!(op, Op::AddRule(_)) {
                (RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL)
            } else {
                (RTM_DELRULE, 0)
            };
            let mut m = Msg::new(ty, flags, &head);
            m.u32(FRA_TABLE, r.table).u32(FRA_PRIORITY, r.pref);
            if let Some((ip, len)) = from {
                if len > 0 {
                    m.ip(FRA_SRC, ip);
                }
            }
            vec![Req::new(m)]
        }
        Op::ReplaceNeigh(k, _) | Op::DelNeigh(k) => {
            let ip = parse_ip(op, &k.ip)?;
            let Some(i) = index(s, op, ns, &k.dev.name)? else {
                return Ok(vec![]);
            };
            let mut m = match op {
                Op::ReplaceNeigh(_, mac) => {
                    let mac = parse_mac(op, mac)?;
                    let mut m = Msg::new(
                        RTM_NEWNEIGH,
                        NLM_F_CREATE | NLM_F_REPLACE,
                        &ndmsg(family(ip), i, NUD_PERMANENT),
                    );
                    m.attr(NDA_LLADDR, &mac);
                    m
                }
                _ => Msg::new(RTM_DELNEIGH, 0, &ndmsg(family(ip), i, 0)),
            };
            m.ip(NDA_DST, ip);
            vec![Req::new(m)]
        }
        Op::SetShaperRate(r, kbit) => {
            if *kbit == 0 {
                return Err(bad(op, "a shaper's rate must be above 0 kbit/s"));
            }
            let Some(i) = index(s, op, ns, &r.name)? else {
                return Ok(vec![]);
            };
            let mut root = Msg::new(
                RTM_NEWQDISC,
                NLM_F_CREATE | NLM_F_REPLACE,
                &tcmsg(i, HTB_ROOT, TC_H_ROOT, 0),
            );
            root.str(TCA_KIND, "htb").nest(TCA_OPTIONS, |m| {
                m.attr(TCA_HTB_INIT, &htb_glob());
            });
            let mut class = Msg::new(
                RTM_NEWTCLASS,
                NLM_F_CREATE,
                &tcmsg(i, HTB_CLASS, HTB_ROOT, 0),
            );
            let bytes_per_s = kbit.saturating_mul(1000) / 8;
            class.str(TCA_KIND, "htb").nest(TCA_OPTIONS, |m| {
                m.attr(TCA_HTB_PARMS, &htb_opt(*kbit));
                if bytes_per_s > u64::from(u32::MAX) {
                    m.u64(TCA_HTB_RATE64, bytes_per_s)
                        .u64(TCA_HTB_CEIL64, bytes_per_s);
                }
            });
            vec![
                // HTB has no in-place change: an existing HTB root answers so, and stays.
                Req::fine_if(root, |e| e.says("Change operation not supported")),
                Req::new(class),
            ]
        }
        Op::SetRedirect(k, target) => {
            let Some(port) = index(s, op, ns, &k.port.name)? else {
                return Ok(vec![]);
            };
            let Some(to) = index(s, op, ns, target)? else {
                return Ok(vec![]);
            };
            let mut clsact = Msg::new(
                RTM_NEWQDISC,
                NLM_F_CREATE | NLM_F_EXCL,
                &tcmsg(port, CLSACT_HANDLE, TC_H_CLSACT, 0),
            );
            clsact.str(TCA_KIND, "clsact");
            let info = (k.hook.prio() << 16) | u32::from(ETH_P_ALL.to_be());
            let mut add = Msg::new(
                RTM_NEWTFILTER,
                NLM_F_CREATE | NLM_F_EXCL,
                &tcmsg(port, 0, hook_parent(k.hook), info),
            );
            add.str(TCA_KIND, "u32").nest(TCA_OPTIONS, |m| {
                m.attr(TCA_U32_SEL, &u32_match_all())
                    .nest(TCA_U32_ACT, |m| {
                        m.nest(1, |m| {
                            m.str(TCA_ACT_KIND, "mirred").nest(TCA_ACT_OPTIONS, |m| {
                                m.attr(TCA_MIRRED_PARMS, &mirred_redirect(to));
                            });
                        });
                    });
            });
            vec![
                Req::fine_if(clsact, |e| e.is(libc::EEXIST)),
                // u32 filters without a handle cannot be replaced: delete, then add.
                Req::fine_if(del_filter(port, k.hook), no_filter),
                Req::new(add),
            ]
        }
        Op::DelRedirect(k) => {
            let Some(port) = index(s, op, ns, &k.port.name)? else {
                return Ok(vec![]);
            };
            vec![Req::new(del_filter(port, k.hook))]
        }
        Op::SetAddrRedirects(k, list) => {
            let Some(link) = index(s, op, ns, &k.port.name)? else {
                return Ok(vec![]);
            };
            let mut targets = Vec::new();
            for (ip, target) in list {
                let IpAddr::V4(v4) = parse_ip(op, ip)? else {
                    return Err(bad(op, format!("{ip} is not an IPv4 address")));
                };
                let Some(to) = index(s, op, ns, target)? else {
                    return Ok(vec![]);
                };
                targets.push((v4, to));
            }
            let mut clsact = Msg::new(
                RTM_NEWQDISC,
                NLM_F_CREATE | NLM_F_EXCL,
                &tcmsg(link, CLSACT_HANDLE, TC_H_CLSACT, 0),
            );
            clsact.str(TCA_KIND, "clsact");
            // Every filter of the hook goes (priority 0: all of them), then the list's.
            let clear = Msg::new(RTM_DELTFILTER, 0, &tcmsg(link, 0, hook_parent(k.hook), 0));
            let mut reqs = vec![
                Req::fine_if(clsact, |e| e.is(libc::EEXIST)),
                Req::fine_if(clear, no_filter),
            ];
            for (i, (ip, to)) in targets.into_iter().enumerate() {
                let prio = k.hook.addr_prio(i);
                let info = (prio << 16) | u32::from(ETH_P_IP.to_be());
                let mut add = Msg::new(
                    RTM_NEWTFILTER,
                    NLM_F_CREATE | NLM_F_EXCL,
                    &tcmsg(link, 0, hook_parent(k.hook), info),
                );
                let sel = u32_match_ip(ip, k.hook == Hook::Egress);
                add.str(TCA_KIND, "u32").nest(TCA_OPTIONS, |m| {
                    m.attr(TCA_U32_SEL, &sel).nest(TCA_U32_ACT, |m| {
                        m.nest(1, |m| {
                            m.str(TCA_ACT_KIND, "mirred").nest(TCA_ACT_OPTIONS, |m| {
                                m.attr(TCA_MIRRED_PARMS, &mirred_redirect(to));
                            });
                        });
                    });
                });
                reqs.push(Req::new(add));
            }
            reqs
        }
        Op::CreateNamespace(_)
        | Op::DeleteNamespace(_)
        | Op::SetSysctl(..)
        | Op::LoadRuleset(..)
        | Op::DeleteRuleset(_) => {
            unreachable!("not a netlink op: {op:?}")
        }
    })
}

/// A route key's destination: `None` for `default`.
fn route_dst(op: &Op, dst: &str) -> Result<Option<(IpAddr, u8)>, DataplaneError> {
    if dst == "default" {
        Ok(None)
    } else {
        parse_cidr(op, dst).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htb_parameters_match_what_tc_sends() {
        // 20 480 kbit/s = 2 560 000 B/s; burst 64 KiB takes 25.6 ms = 400 000 ticks of 64 ns.
        let o = htb_opt(20_480);
        assert_eq!(u32::from_ne_bytes(o[8..12].try_into().unwrap()), 2_560_000);
        assert_eq!(u32::from_ne_bytes(o[20..24].try_into().unwrap()), 2_560_000);
        assert_eq!(u32::from_ne_bytes(o[24..28].try_into().unwrap()), 400_000);
        assert_eq!(o[1], TC_LINKLAYER_ETHERNET);
        assert_eq!(htb_burst(1_000_000), 1_250_000, "10 ms at 1 Gbit/s");
        // Above 2^32 B/s the 32-bit field saturates (the 64-bit attributes carry the rate).
        let o = htb_opt(100_000_000_000);
        assert_eq!(u32::from_ne_bytes(o[8..12].try_into().unwrap()), u32::MAX);
    }

    #[test]
    fn an_address_match_is_one_u32_key_as_tc_sends_it() {
        // `tc … u32 match ip src 198.18.0.7/32`: mask, value (network order), offset 12.
        let s = u32_match_ip("198.18.0.7".parse().unwrap(), true);
        assert_eq!((s[0], s[2]), (TC_U32_TERMINAL, 1));
        assert_eq!(&s[16..20], &[0xff; 4]);
        assert_eq!(&s[20..24], &[198, 18, 0, 7]);
        assert_eq!(i32::from_ne_bytes(s[24..28].try_into().unwrap()), 12);
        let d = u32_match_ip("198.18.0.7".parse().unwrap(), false);
        assert_eq!(i32::from_ne_bytes(d[24..28].try_into().unwrap()), 16);
    }

    #[test]
    fn addresses_and_names_are_checked_before_anything_is_sent() {
        let op = Op::DelRoute(RouteKey {
            ns: "n".into(),
            table: 254,
            dst: "10.0.0.0/33".into(),
        });
        assert!(route_dst(&op, "10.0.0.0/33").is_err());
        assert_eq!(
            route_dst(&op, "10.0.0.5").unwrap(),
            Some(("10.0.0.5".parse().unwrap(), 32))
        );
        assert_eq!(route_dst(&op, "default").unwrap(), None);
        assert!(parse_mac(&op, "00:16:3e:00:00:0g").is_err());
        assert!(parse_mac(&op, "00:16:3e:00:00").is_err());
        assert_eq!(
            parse_mac(&op, "00:16:3e:00:00:0a").unwrap(),
            [0, 0x16, 0x3e, 0, 0, 0x0a]
        );
        assert!(name(&op, "eth0 up").is_err());
        assert!(name(&op, "a-name-too-long-x").is_err());
        assert!(name(&op, "eth0").is_ok());
        // A zero rate is refused before any lookup (opening a route socket needs no privilege).
        let mut s = Socket::open().unwrap();
        let zero = Op::SetShaperRate(LinkRef::new("n", "b1u"), 0);
        assert!(requests(&mut s, "n", &zero).is_err());
    }
}
