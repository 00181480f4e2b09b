//! A minimal rtnetlink client: the requests eni's ops need (links, addresses, routes, rules,
//! neighbours, HTB and clsact qdiscs, u32 + mirred filters), encoded by hand and sent from the
//! calling thread's network namespace.
//!
//! Why not iproute2: a process start costs 1–2 ms, a netlink request tens of µs, and an attach
//! is a handful of requests. Why not a netlink crate: eni needs about twenty fixed message
//! shapes, including tc attributes (HTB, u32, mirred) that the crates do not cover; a byte
//! encoder of a page is easier to audit than a dependency tree. The messages are the ones
//! iproute2 sends for the same commands (checked against its sources), so `ip` and `tc` read
//! back exactly what the model expects.
//!
//! Errors carry the kernel's errno and, when it sends one, its extended-ack message (the text
//! `ip` and `tc` print, e.g. "Change operation not supported by specified qdisc").

use std::io;
use std::net::IpAddr;

// Message types (linux/rtnetlink.h).
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_DELLINK: u16 = 17;
pub(crate) const RTM_GETLINK: u16 = 18;
pub(crate) const RTM_NEWADDR: u16 = 20;
pub(crate) const RTM_DELADDR: u16 = 21;
pub(crate) const RTM_NEWROUTE: u16 = 24;
pub(crate) const RTM_DELROUTE: u16 = 25;
pub(crate) const RTM_NEWNEIGH: u16 = 28;
pub(crate) const RTM_DELNEIGH: u16 = 29;
pub(crate) const RTM_NEWRULE: u16 = 32;
pub(crate) const RTM_DELRULE: u16 = 33;
pub(crate) const RTM_NEWQDISC: u16 = 36;
pub(crate) const RTM_NEWTCLASS: u16 = 40;
pub(crate) const RTM_NEWTFILTER: u16 = 44;
pub(crate) const RTM_DELTFILTER: u16 = 45;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

// Header flags.
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_REPLACE: u16 = 0x100;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
/// In an error message: the extended-ack attributes follow the echoed header.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// In an error message: only the header of the request is echoed.
const NLM_F_CAPPED: u16 = 0x100;
const NLMSGERR_ATTR_MSG: u16 = 1;

const NLA_HDRLEN: usize = 4;
const NLMSG_HDRLEN: usize = 16;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One request under construction: the netlink header, a fixed family header, attributes.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    /// A request of type `ty` with `flags` (REQUEST and ACK are always set) and its fixed
    /// header `head` (ifinfomsg, rtmsg, ...).
    pub(crate) fn new(ty: u16, flags: u16, head: &[u8]) -> Msg {
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        let mut m = Msg { buf };
        m.put(head);
        m
    }

    fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(align4(self.buf.len()), 0);
    }

    pub(crate) fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = (NLA_HDRLEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.put(data);
        self
    }

    pub(crate) fn u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    pub(crate) fn u64(&mut self, ty: u16, v: u64) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A NUL-terminated string, as iproute2 sends names and kinds.
    pub(crate) fn str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(ty, &data)
    }

    pub(crate) fn ip(&mut self, ty: u16, ip: IpAddr) -> &mut Self {
        match ip {
            IpAddr::V4(a) => self.attr(ty, &a.octets()),
            IpAddr::V6(a) => self.attr(ty, &a.octets()),
        }
    }

    /// An attribute holding the attributes (or raw bytes) `f` adds.
    pub(crate) fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Msg)) -> &mut Self {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        f(self);
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    /// Raw bytes inside a nest (a fixed header such as a veth peer's ifinfomsg).
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.put(bytes);
        self
    }

    fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

/// A request the kernel refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NlError {
    pub errno: i32,
    /// The extended-ack message, if the kernel sent one.
    pub ext: Option<String>,
}

impl NlError {
    pub(crate) fn is(&self, errno: i32) -> bool {
        self.errno == errno
    }

    /// Whether the kernel's message contains `text`.
    pub(crate) fn says(&self, text: &str) -> bool {
        self.ext.as_deref().is_some_and(|m| m.contains(text))
    }
}

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The wording `ip` uses: "RTNETLINK answers: File exists".
        let text = io::Error::from_raw_os_error(self.errno).to_string();
        let text = text
            .rsplit_once(" (os error")
            .map_or(text.as_str(), |(t, _)| t);
        match &self.ext {
            Some(m) => write!(f, "{m}; RTNETLINK answers: {text}"),
            None => write!(f, "RTNETLINK answers: {text}"),
        }
    }
}

/// A NETLINK_ROUTE socket in the namespace of the thread that opened it.
pub(crate) struct Socket {
    sock: netlink_sys::Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Socket {
    /// Opens a socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Socket> {
        let mut sock = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE)?;
        sock.bind_auto()?;
        // Best effort: without them errors carry no message, or echo the whole request.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        Ok(Socket {
            sock,
            seq: 0,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    fn send(&mut self, msg: &mut Msg) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let kernel = netlink_sys::SocketAddr::new(0, 0);
        self.sock.send_to(msg.finish(seq), &kernel, 0)?;
        Ok(seq)
    }

    /// Reads datagrams until the answer to `seq` ends; calls `each` with every reply message
    /// (type, payload) before it.
    fn answer(
        &mut self,
        seq: u32,
        each: &mut dyn FnMut(u16, &[u8]),
    ) -> io::Result<Result<(), NlError>> {
        loop {
            self.buf.clear();
            let n = match self.sock.recv(&mut self.buf, 0) {
                Ok(n) => n.min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let data = &self.buf[..n];
            let mut at = 0;
            while at + NLMSG_HDRLEN <= data.len() {
                let len = u32::from_ne_bytes(data[at..at + 4].try_into().unwrap()) as usize;
                if len < NLMSG_HDRLEN || at + len > data.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "truncated netlink message",
                    ));
                }
                let ty = u16::from_ne_bytes(data[at + 4..at + 6].try_into().unwrap());
                let flags = u16::from_ne_bytes(data[at + 6..at + 8].try_into().unwrap());
                let mseq = u32::from_ne_bytes(data[at + 8..at + 12].try_into().unwrap());
                let payload = &data[at + NLMSG_HDRLEN..at + len];
                at += align4(len);
                if mseq != seq {
                    // A late answer to an earlier request that timed out.
                    continue;
                }
                match ty {
                    NLMSG_ERROR => return Ok(parse_error(flags, payload)),
                    NLMSG_DONE => return Ok(Ok(())),
                    _ => each(ty, payload),
                }
            }
        }
    }

    /// Sends a request and waits for its acknowledgement.
    pub(crate) fn request(&mut self, msg: &mut Msg) -> io::Result<Result<(), NlError>> {
        let seq = self.send(msg)?;
        self.answer(seq, &mut |_, _| {})
    }

    /// The link called `name` in this namespace, `None` if there is none.
    pub(crate) fn link(&mut self, name: &str) -> io::Result<Result<Option<LinkInfo>, NlError>> {
        let mut msg = Msg::new(RTM_GETLINK, 0, &ifinfomsg(0, 0, 0, 0));
        msg.str(IFLA_IFNAME, name);
        self.get_link(msg)
    }

    /// The link with index `index` in the namespace this one knows as `nsid` (this one when
    /// `None`): the peer of a veth, say. `None` if there is none.
    pub(crate) fn link_in(
        &mut self,
        nsid: Option<i32>,
        index: u32,
    ) -> io::Result<Result<Option<LinkInfo>, NlError>> {
        let mut msg = Msg::new(RTM_GETLINK, 0, &ifinfomsg(0, index as i32, 0, 0));
        if let Some(nsid) = nsid {
            msg.attr(IFLA_TARGET_NETNSID, &nsid.to_ne_bytes());
        }
        self.get_link(msg)
    }

    fn get_link(&mut self, mut msg: Msg) -> io::Result<Result<Option<LinkInfo>, NlError>> {
        let seq = self.send(&mut msg)?;
        let mut info = None;
        let r = self.answer(seq, &mut |ty, payload| {
            if ty == RTM_NEWLINK && payload.len() >= 16 {
                let mut l = LinkInfo {
                    index: i32::from_ne_bytes(payload[4..8].try_into().unwrap()) as u32,
                    carrier: false,
                    operstate: 0,
                    peer: None,
                    peer_nsid: None,
                };
                for (ty, data) in attrs(&payload[16..]) {
                    let word = data.get(..4).map(|w| [w[0], w[1], w[2], w[3]]);
                    match (ty, data, word) {
                        (IFLA_CARRIER, [c, ..], _) => l.carrier = *c != 0,
                        (IFLA_OPERSTATE, [o, ..], _) => l.operstate = *o,
                        (IFLA_LINK, _, Some(w)) => l.peer = Some(u32::from_ne_bytes(w)),
                        (IFLA_LINK_NETNSID, _, Some(w)) => {
                            l.peer_nsid = Some(i32::from_ne_bytes(w))
                        }
                        _ => {}
                    }
                }
                info = Some(l);
            }
        })?;
        Ok(match r {
            Ok(()) => Ok(info),
            Err(e) if e.is(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// The index of the link called `name` in this namespace, `None` if there is none.
    pub(crate) fn link_index(&mut self, name: &str) -> io::Result<Result<Option<u32>, NlError>> {
        Ok(self.link(name)?.map(|l| l.map(|l| l.index)))
    }
}

/// What [`Socket::link`] reads of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkInfo {
    pub index: u32,
    pub carrier: bool,
    /// RFC 2863 state: [`IF_OPER_UP`] once the kernel's link watcher has handled a carrier
    /// change, which is also when it attaches the device's real qdisc.
    pub operstate: u8,
    /// A veth's peer: its index, and the id this namespace knows the peer's namespace by
    /// (`None` when the peer is in this namespace).
    pub peer: Option<u32>,
    pub peer_nsid: Option<i32>,
}

/// The attributes in `data`, as (type without flags, payload).
fn attrs(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= NLA_HDRLEN {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let ty = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < NLA_HDRLEN || len > data.len() {
            break;
        }
        out.push((ty, &data[NLA_HDRLEN..len]));
        data = &data[align4(len).min(data.len())..];
    }
    out
}

/// An NLMSG_ERROR payload: errno 0 is the acknowledgement.
fn parse_error(flags: u16, payload: &[u8]) -> Result<(), NlError> {
    if payload.len() < 4 {
        return Err(NlError {
            errno: libc::EPROTO,
            ext: Some("short netlink error message".into()),
        });
    }
    let errno = -i32::from_ne_bytes(payload[0..4].try_into().unwrap());
    if errno == 0 {
        return Ok(());
    }
    let mut ext = None;
    if flags & NLM_F_ACK_TLVS != 0 && payload.len() >= 4 + NLMSG_HDRLEN {
        // The echoed request: its header only when capped, else all of it.
        let echoed = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            u32::from_ne_bytes(payload[4..8].try_into().unwrap()) as usize
        };
        let mut at = 4 + align4(echoed);
        while at + NLA_HDRLEN <= payload.len() {
            let len = u16::from_ne_bytes(payload[at..at + 2].try_into().unwrap()) as usize;
            let ty = u16::from_ne_bytes(payload[at + 2..at + 4].try_into().unwrap());
            if len < NLA_HDRLEN || at + len > payload.len() {
                break;
            }
            if ty & 0x3fff == NLMSGERR_ATTR_MSG {
                let s = &payload[at + NLA_HDRLEN..at + len];
                let s = s.split(|b| *b == 0).next().unwrap_or_default();
                ext = Some(String::from_utf8_lossy(s).into_owned());
            }
            at += align4(len);
        }
    }
    Err(NlError { errno, ext })
}

// ---------------------------------------------------------------- fixed headers

pub(crate) const IFLA_ADDRESS: u16 = 1;
pub(crate) const IFLA_IFNAME: u16 = 3;
pub(crate) const IFLA_MTU: u16 = 4;
pub(crate) const IFLA_LINK: u16 = 5;
pub(crate) const IFLA_OPERSTATE: u16 = 16;
pub(crate) const IFLA_LINKINFO: u16 = 18;
pub(crate) const IFLA_NET_NS_FD: u16 = 28;
pub(crate) const IFLA_CARRIER: u16 = 33;
pub(crate) const IFLA_LINK_NETNSID: u16 = 37;
pub(crate) const IFLA_TARGET_NETNSID: u16 = 46;
pub(crate) const IF_OPER_UP: u8 = 6;
pub(crate) const IFLA_INFO_KIND: u16 = 1;
pub(crate) const IFLA_INFO_DATA: u16 = 2;
pub(crate) const VETH_INFO_PEER: u16 = 1;
pub(crate) const IFLA_VXLAN_ID: u16 = 1;
pub(crate) const IFLA_VXLAN_LOCAL: u16 = 4;
pub(crate) const IFLA_VXLAN_LEARNING: u16 = 7;
pub(crate) const IFLA_VXLAN_PORT: u16 = 15;
pub(crate) const IFLA_VXLAN_LOCAL6: u16 = 17;
pub(crate) const IFF_UP: u32 = 1;

pub(crate) const IFA_ADDRESS: u16 = 1;
pub(crate) const IFA_LOCAL: u16 = 2;
pub(crate) const IFA_FLAGS: u16 = 8;
pub(crate) const IFA_F_NODAD: u32 = 0x02;
pub(crate) const IFA_F_NOPREFIXROUTE: u32 = 0x200;

pub(crate) const RTA_DST: u16 = 1;
pub(crate) const RTA_OIF: u16 = 4;
pub(crate) const RTA_GATEWAY: u16 = 5;
pub(crate) const RTA_PREFSRC: u16 = 7;
pub(crate) const RTA_TABLE: u16 = 15;
pub(crate) const RTPROT_BOOT: u8 = 3;
pub(crate) const RT_SCOPE_UNIVERSE: u8 = 0;
pub(crate) const RT_SCOPE_LINK: u8 = 253;
pub(crate) const RT_SCOPE_NOWHERE: u8 = 255;
pub(crate) const RTN_UNICAST: u8 = 1;
pub(crate) const RTNH_F_ONLINK: u32 = 4;

pub(crate) const FRA_SRC: u16 = 2;
pub(crate) const FRA_PRIORITY: u16 = 6;
pub(crate) const FRA_TABLE: u16 = 15;
pub(crate) const FR_ACT_TO_TBL: u8 = 1;

pub(crate) const NDA_DST: u16 = 1;
pub(crate) const NDA_LLADDR: u16 = 2;
pub(crate) const NTF_SELF: u8 = 0x02;
pub(crate) const AF_BRIDGE: u8 = 7;
pub(crate) const NUD_PERMANENT: u16 = 0x80;

pub(crate) const TCA_KIND: u16 = 1;
pub(crate) const TCA_OPTIONS: u16 = 2;

pub(crate) fn family(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    }
}

/// `struct ifinfomsg`.
pub(crate) fn ifinfomsg(family: u8, index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0] = family;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h[12..16].copy_from_slice(&change.to_ne_bytes());
    h
}

/// `struct ifaddrmsg` (scope universe, no flags).
pub(crate) fn ifaddrmsg(family: u8, prefix_len: u8, index: u32) -> [u8; 8] {
    let mut h = [0u8; 8];
    h[0] = family;
    h[1] = prefix_len;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h
}

/// `struct rtmsg`.
pub(crate) struct RtMsg {
    pub family: u8,
    pub dst_len: u8,
    pub table: u8,
    pub protocol: u8,
    pub scope: u8,
    pub kind: u8,
    pub flags: u32,
}

impl RtMsg {
    pub(crate) fn bytes(&self) -> [u8; 12] {
        let mut h = [0u8; 12];
        h[0] = self.family;
        h[1] = self.dst_len;
        h[4] = self.table;
        h[5] = self.protocol;
        h[6] = self.scope;
        h[7] = self.kind;
        h[8..12].copy_from_slice(&self.flags.to_ne_bytes());
        h
    }
}

/// `struct fib_rule_hdr` for `from <src>/<src_len> lookup <table>`.
pub(crate) fn fib_rule_hdr(family: u8, src_len: u8, table: u8) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0] = family;
    h[2] = src_len;
    h[4] = table;
    h[7] = FR_ACT_TO_TBL;
    h
}

/// `struct ndmsg`.
pub(crate) fn ndmsg(family: u8, index: u32, state: u16) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0] = family;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h[8..10].copy_from_slice(&state.to_ne_bytes());
    h
}

/// `struct ndmsg` of a VXLAN device's own forwarding entry (`bridge fdb … self`).
pub(crate) fn fdb_ndmsg(index: u32, state: u16) -> [u8; 12] {
    let mut h = ndmsg(AF_BRIDGE, index, state);
    h[10] = NTF_SELF;
    h
}

/// `struct tcmsg`.
pub(crate) fn tcmsg(index: u32, handle: u32, parent: u32, info: u32) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h[8..12].copy_from_slice(&handle.to_ne_bytes());
    h[12..16].copy_from_slice(&parent.to_ne_bytes());
    h[16..20].copy_from_slice(&info.to_ne_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_laid_out_as_the_kernel_reads_them() {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE, &ifinfomsg(0, 0, 0, 0));
        m.str(IFLA_IFNAME, "eth1").nest(IFLA_LINKINFO, |m| {
            m.str(IFLA_INFO_KIND, "veth");
        });
        let b = m.finish(7).to_vec();
        assert_eq!(
            u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize,
            b.len()
        );
        assert_eq!(u16::from_ne_bytes(b[4..6].try_into().unwrap()), RTM_NEWLINK);
        assert_eq!(
            u16::from_ne_bytes(b[6..8].try_into().unwrap()),
            NLM_F_CREATE | NLM_F_REQUEST | NLM_F_ACK
        );
        assert_eq!(u32::from_ne_bytes(b[8..12].try_into().unwrap()), 7);
        // ifinfomsg, then IFLA_IFNAME "eth1\0" (len 9, padded to 12), then the nest.
        let a = NLMSG_HDRLEN + 16;
        assert_eq!(u16::from_ne_bytes(b[a..a + 2].try_into().unwrap()), 9);
        assert_eq!(&b[a + 4..a + 9], b"eth1\0");
        let n = a + 12;
        // A nest's length covers its children with their padding, as iproute2 counts it.
        assert_eq!(u16::from_ne_bytes(b[n..n + 2].try_into().unwrap()), 4 + 12);
        assert_eq!(u16::from_ne_bytes(b[n + 2..n + 4].try_into().unwrap()), 18);
        assert_eq!(b.len() % 4, 0);
    }

    #[test]
    fn errors_carry_errno_and_the_kernels_message() {
        let mut p = Vec::new();
        p.extend_from_slice(&(-libc::EINVAL).to_ne_bytes());
        let mut hdr = [0u8; 16];
        hdr[0..4].copy_from_slice(&40u32.to_ne_bytes());
        p.extend_from_slice(&hdr);
        let text = b"Change operation not supported by specified qdisc\0";
        p.extend_from_slice(&((4 + text.len()) as u16).to_ne_bytes());
        p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        p.extend_from_slice(text);
        let e = parse_error(NLM_F_ACK_TLVS | NLM_F_CAPPED, &p).unwrap_err();
        assert_eq!(e.errno, libc::EINVAL);
        assert!(e.says("Change operation not supported"));
        assert!(e
            .to_string()
            .ends_with("RTNETLINK answers: Invalid argument"));
        assert_eq!(parse_error(0, &0i32.to_ne_bytes()), Ok(()));
    }
}
