//! The instance metadata service: `http://100.100.100.200/` from inside every instance, served
//! by the agent of the instance's host, as Alibaba's ECS metadata service answers (the paths
//! Terway, cloud-init and the ECS tools read; formats in `../shared/reference` and the notes of
//! [`answer`]).
//!
//! Where: each VPC's router namespace holds `100.100.100.200/32` on `lo` ([`render`] puts it
//! there), and the agent listens on it there. An instance reaches it through its gateway like
//! any off-link address; the request is delivered locally in the router, so security groups
//! (the router's forward hook) never see it, as on Alibaba.
//!
//! Who asks: the request's source address in that router. Every router port has strict
//! reverse-path filtering and a /32 route per address of its ENI, so a packet arriving on the
//! port of ENI E carries one of E's addresses or is dropped: the source names the interface
//! the request came in on, and an instance cannot pass for another. Each instance sees only
//! its own data.
//!
//! Consistency: the catalog the service answers from is set from the desired state around each
//! apply: before it, to what the old and the new state share (so what is being removed is
//! gone from the metadata before it leaves the kernel), after it, to the new state (so what is
//! being added appears once the kernel holds it). A NIC is never shown before it exists in the
//! instance, nor after it is gone.
//!
//! Hardened mode: `PUT /latest/api/token` with `X-aliyun-ecs-metadata-token-ttl-seconds`
//! (1 to 21600) answers a token, an HMAC of the instance and the expiry under a key derived
//! from the agent's token, so it survives an agent restart and is good only for the instance
//! that asked. A GET carrying `X-aliyun-ecs-metadata-token` must carry a valid one (401
//! otherwise); without one it is answered unless the instance's `HttpTokens` is `required`
//! (401). `HttpEndpoint=disabled` answers 403 to everything.
//!
//! [`render`]: crate::render

use base64::Engine;
use eni_types::hoststate::{EniDesired, HostDesired, InstanceDesired, InstanceMeta};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

/// The service's address, in every VPC router namespace.
pub const ADDRESS: &str = "100.100.100.200";
/// The longest token life a client may ask for (seconds).
pub const MAX_TTL: u64 = 21_600;

/// One NIC as the metadata shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Nic {
    eni_id: String,
    /// Lower case, as netlink shows it.
    mac: String,
    device_index: u32,
    vswitch_id: String,
    vswitch_cidr: String,
    gateway: String,
    /// Primary first.
    private_ips: Vec<String>,
    ipv6: Vec<String>,
    vswitch_ipv6_cidr: Option<String>,
    /// IPv4 /28 and IPv6 /80 prefixes routed to the NIC.
    prefixes: Vec<String>,
}

/// One instance as the metadata shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Instance {
    id: String,
    vpc_id: String,
    vpc_cidr: String,
    vpc_ipv6_cidr: Option<String>,
    meta: InstanceMeta,
    /// By device index.
    nics: Vec<Nic>,
    /// The EIP NAT-ed to the primary NIC's primary address.
    eipv4: Option<String>,
}

impl Instance {
    fn primary(&self) -> Option<&Nic> {
        self.nics.iter().find(|n| n.device_index == 0)
    }
}

/// What the service knows: the instances of this host, found by VPC and source address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    instances: Vec<Instance>,
    /// (VPC, an address of one of the instance's NICs) → index in `instances`.
    by_source: HashMap<(String, IpAddr), usize>,
    /// (VPC, a prefix routed to one of the instance's NICs, index in `instances`): a guest
    /// uses their addresses too (Terway's prefix mode).
    by_prefix: Vec<(String, IpAddr, u8, usize)>,
}

impl Catalog {
    /// The catalog of `desired`.
    pub fn of(desired: &HostDesired) -> Catalog {
        let mut c = Catalog::default();
        for inst in &desired.instances {
            c.push(instance(desired, inst));
        }
        c
    }

    /// The catalog of [`common`]`(old, new)`: what to answer from while `new` is applied.
    pub fn shared(old: &HostDesired, new: &HostDesired) -> Catalog {
        Catalog::of(&common(old, new))
    }

    fn push(&mut self, inst: Instance) {
        let at = self.instances.len();
        for nic in &inst.nics {
            for ip in nic.private_ips.iter().chain(&nic.ipv6) {
                if let Ok(addr) = ip.parse::<IpAddr>() {
                    self.by_source.insert((inst.vpc_id.clone(), addr), at);
                }
            }
            for p in &nic.prefixes {
                let parsed = p
                    .split_once('/')
                    .and_then(|(a, l)| Some((a.parse::<IpAddr>().ok()?, l.parse::<u8>().ok()?)));
                if let Some((net, len)) = parsed {
                    self.by_prefix.push((inst.vpc_id.clone(), net, len, at));
                }
            }
        }
        self.instances.push(inst);
    }

    /// The instance whose NIC in `vpc` holds `source`.
    fn find(&self, vpc: &str, source: IpAddr) -> Option<&Instance> {
        let source = match source {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(source, IpAddr::V4),
            v4 => v4,
        };
        let at = self
            .by_source
            .get(&(vpc.to_string(), source))
            .copied()
            .or_else(|| {
                self.by_prefix
                    .iter()
                    .find(|(v, net, len, _)| v == vpc && contains(*net, *len, source))
                    .map(|(_, _, _, at)| *at)
            });
        at.map(|i| &self.instances[i])
    }

    /// The ID of the instance whose NIC in `vpc` holds `source`.
    pub fn instance_of(&self, vpc: &str, source: IpAddr) -> Option<&str> {
        self.find(vpc, source).map(|i| i.id.as_str())
    }

    /// The VPCs that have instances here (their routers listen).
    pub fn vpcs(&self) -> Vec<String> {
        let mut v: Vec<String> = self.instances.iter().map(|i| i.vpc_id.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// What `old` and `new` share, as `new` has it: the instances of both (in the same VPC), each
/// with the NICs of both (same ENI and MAC at the same device index) and the addresses of both,
/// and the EIPs of both; a NIC left with no address is left out. The most the metadata may
/// show while the kernel goes from `old` to `new` (or after a failed apply between them).
pub fn common(old: &HostDesired, new: &HostDesired) -> HostDesired {
    let before: HashMap<&str, &InstanceDesired> = old
        .instances
        .iter()
        .map(|i| (i.instance_id.as_str(), i))
        .collect();
    let mut out = new.clone();
    out.instances.retain_mut(|inst| {
        let Some(prev) = before.get(inst.instance_id.as_str()) else {
            return false;
        };
        if prev.vpc_id != inst.vpc_id {
            return false;
        }
        inst.enis.retain_mut(|n| {
            let Some(p) = prev.enis.iter().find(|p| {
                p.eni_id == n.eni_id
                    && p.mac.eq_ignore_ascii_case(&n.mac)
                    && p.device_index == n.device_index
            }) else {
                return false;
            };
            n.private_ips.retain(|ip| p.private_ips.contains(ip));
            n.ipv6_addresses.retain(|ip| p.ipv6_addresses.contains(ip));
            n.ipv4_prefixes.retain(|x| p.ipv4_prefixes.contains(x));
            n.ipv6_prefixes.retain(|x| p.ipv6_prefixes.contains(x));
            // The primary address leads the list, or the NIC shows none yet. A NIC whose
            // private address a BINDED EIP replaced has none, and shows once the EIP is on it.
            n.private_ips.first() == p.private_ips.first()
                && (!n.private_ips.is_empty() || (!n.eips.is_empty() && n.eips == p.eips))
        });
        true
    });
    for vpc in &mut out.vpcs {
        let prev = old.vpcs.iter().find(|v| v.vpc_id == vpc.vpc_id);
        vpc.eips
            .retain(|e| prev.is_some_and(|p| p.eips.contains(e)));
    }
    out
}

fn instance(desired: &HostDesired, inst: &InstanceDesired) -> Instance {
    let vpc = desired.vpcs.iter().find(|v| v.vpc_id == inst.vpc_id);
    let nics: Vec<Nic> = inst.enis.iter().map(nic).collect();
    let eipv4 = nics
        .iter()
        .find(|n| n.device_index == 0)
        .and_then(|n| n.private_ips.first())
        .and_then(|ip| {
            vpc?.eips
                .iter()
                .find(|e| &e.private_ip == ip)
                .map(|e| e.eip.clone())
        });
    Instance {
        id: inst.instance_id.clone(),
        vpc_id: inst.vpc_id.clone(),
        vpc_cidr: vpc.map(|v| v.cidr_block.clone()).unwrap_or_default(),
        vpc_ipv6_cidr: vpc.and_then(|v| v.ipv6_cidr_block.clone()),
        meta: inst.meta.clone(),
        nics,
        eipv4,
    }
}

/// Whether `net/len` holds `ip` (same family).
fn contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn nic(e: &EniDesired) -> Nic {
    Nic {
        eni_id: e.eni_id.clone(),
        mac: e.mac.to_ascii_lowercase(),
        device_index: e.device_index,
        vswitch_id: e.vswitch_id.clone(),
        vswitch_cidr: e.cidr_block.clone(),
        gateway: e.gateway.clone(),
        private_ips: e.private_ips.clone(),
        ipv6: e.ipv6_addresses.clone(),
        vswitch_ipv6_cidr: e.ipv6_cidr_block.clone(),
        prefixes: e
            .ipv4_prefixes
            .iter()
            .chain(&e.ipv6_prefixes)
            .cloned()
            .collect(),
    }
}

/// Issues and checks hardened-mode tokens.
#[derive(Clone)]
pub struct Tokens {
    key: [u8; 32],
}

type HmacSha256 = Hmac<Sha256>;

impl Tokens {
    /// Tokens keyed from `secret` (the agent's token: the same on every restart).
    pub fn new(secret: &str) -> Tokens {
        let mut h = Sha256::new();
        h.update(b"eni metadata token key\0");
        h.update(secret.as_bytes());
        Tokens {
            key: h.finalize().into(),
        }
    }

    fn mac(&self, instance: &str, expires: u64) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key");
        m.update(instance.as_bytes());
        m.update(b"\0");
        m.update(expires.to_string().as_bytes());
        m
    }

    /// A token for `instance`, good until `expires` (Unix seconds): URL-safe Base64, no
    /// newline (clients put the body in a header as it is).
    pub fn issue(&self, instance: &str, expires: u64) -> String {
        let sig = self.mac(instance, expires).finalize().into_bytes();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{expires}.{}", b64.encode(sig))
    }

    /// Whether `token` was issued for `instance` and is still good at `now`.
    pub fn check(&self, token: &str, instance: &str, now: u64) -> bool {
        let Some((expires, sig)) = token.trim().split_once('.') else {
            return false;
        };
        let Ok(expires) = expires.parse::<u64>() else {
            return false;
        };
        let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        expires > now && self.mac(instance, expires).verify_slice(&sig).is_ok()
    }
}

/// One answer: status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    fn text(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: body.into(),
        }
    }

    fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::text(200, body)
    }

    fn json(body: String) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: body.into_bytes(),
        }
    }

    fn not_found() -> Reply {
        Reply::text(404, "Not Found")
    }
}

/// What a request carries that decides its answer.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub ttl: Option<&'a str>,
    pub forwarded: bool,
}

/// A listing: one entry a line (directories with a trailing `/`), byte order, no final
/// newline (Terway splits on `\n` and would read an empty entry after one).
fn listing<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Reply {
    let mut v: Vec<String> = entries
        .into_iter()
        .map(|s| s.as_ref().to_string())
        .collect();
    v.sort();
    Reply::ok(v.join("\n"))
}

fn netmask(cidr: &str) -> Option<String> {
    let len: u32 = cidr.split_once('/')?.1.parse().ok()?;
    let mask = u32::MAX.checked_shl(32 - len.min(32)).unwrap_or(0);
    Some(std::net::Ipv4Addr::from(mask).to_string())
}

/// A stable serial number (UUID form) for an instance.
fn serial_number(instance: &str) -> String {
    let d = Sha256::digest(instance.as_bytes());
    let h = hex::encode(&d[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The identity document (`/latest/dynamic/instance-identity/document`): one-line JSON, keys in
/// the order Alibaba's example has them.
fn identity_document(i: &Instance) -> String {
    let p = i.primary();
    let field = |k: &str, v: &str| format!("{}:{}", json_str(k), json_str(v));
    let fields = [
        field("zone-id", &i.meta.zone_id),
        field("serial-number", &serial_number(&i.id)),
        field("instance-id", &i.id),
        field("region-id", &i.meta.region_id),
        field(
            "private-ipv4",
            p.and_then(|n| n.private_ips.first()).map_or("", |s| s),
        ),
        field("owner-account-id", &i.meta.owner_account_id),
        field("mac", p.map_or("", |n| &n.mac)),
        field("image-id", &i.meta.image_id),
        field("instance-type", &i.meta.instance_type),
    ];
    format!("{{{}}}", fields.join(","))
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The answer to `req` from the instance whose NIC in `vpc` holds `source`, at `now` (Unix
/// seconds).
///
/// Formats: a value is the bare string (no final newline); `private-ipv4s` a one-line JSON
/// array, primary first; `ipv6s` and `vpc-ipv6-cidr-blocks` `[a,b]` with no quotes, 404 when
/// empty; `/latest/` and `/2016-01-01/` are one tree; a directory answers with or without
/// its trailing `/`. Unknown paths are 404, methods other than GET (and PUT of the token)
/// 405, a missing or out-of-range TTL 400, a TTL request that came through a proxy
/// (`X-Forwarded-For`) 403.
pub fn answer(
    catalog: &Catalog,
    tokens: &Tokens,
    vpc: &str,
    source: IpAddr,
    req: &Request<'_>,
    now: u64,
) -> Reply {
    // Only from an instance of this VPC; a router has no other clients, but say so plainly.
    let Some(inst) = catalog.find(vpc, source) else {
        return Reply::text(403, "Forbidden");
    };
    if inst.meta.http_endpoint == "disabled" {
        return Reply::text(403, "Forbidden");
    }
    let path = req.path.split('?').next().unwrap_or("");
    let tail = ["/latest", "/2016-01-01"].iter().find_map(|v| {
        path.strip_prefix(v)
            .filter(|t| t.is_empty() || t.starts_with('/'))
    });
    if tail.is_some_and(|t| t.trim_end_matches('/') == "/api/token") {
        if req.method != "PUT" {
            return Reply::text(405, "Method Not Allowed");
        }
        if req.forwarded {
            return Reply::text(403, "Forbidden");
        }
        let ttl = req.ttl.and_then(|t| t.trim().parse::<u64>().ok());
        return match ttl {
            Some(ttl) if (1..=MAX_TTL).contains(&ttl) => {
                Reply::ok(tokens.issue(&inst.id, now + ttl))
            }
            _ => Reply::text(
                400,
                "X-aliyun-ecs-metadata-token-ttl-seconds must be 1 to 21600",
            ),
        };
    }
    if req.method != "GET" && req.method != "HEAD" {
        return Reply::text(405, "Method Not Allowed");
    }
    match req.token {
        Some(t) if !tokens.check(t, &inst.id, now) => return Reply::text(401, "Unauthorized"),
        None if inst.meta.http_tokens == "required" => return Reply::text(401, "Unauthorized"),
        _ => {}
    }
    let Some(tail) = tail else {
        return if path.trim_matches('/').is_empty() {
            listing(["2016-01-01", "latest"])
        } else {
            Reply::not_found()
        };
    };
    let parts: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    tree(inst, &parts)
}

fn tree(i: &Instance, parts: &[&str]) -> Reply {
    let p = i.primary();
    match parts {
        [] => {
            let mut e = vec!["dynamic/", "meta-data/"];
            if !i.meta.user_data.is_empty() {
                e.push("user-data");
            }
            listing(e)
        }
        ["user-data"] => {
            match base64::engine::general_purpose::STANDARD.decode(&i.meta.user_data) {
                Ok(raw) if !i.meta.user_data.is_empty() => Reply::ok(raw),
                _ => Reply::not_found(),
            }
        }
        ["dynamic"] => listing(["instance-identity/"]),
        ["dynamic", "instance-identity"] => listing(["document"]),
        ["dynamic", "instance-identity", "document"] => Reply::json(identity_document(i)),
        ["meta-data", rest @ ..] => meta_data(i, p, rest),
        _ => Reply::not_found(),
    }
}

fn meta_data(i: &Instance, p: Option<&Nic>, rest: &[&str]) -> Reply {
    let primary_ip = p.and_then(|n| n.private_ips.first()).cloned();
    let value = |v: Option<String>| v.map_or_else(Reply::not_found, Reply::ok);
    match rest {
        [] => {
            let mut e = vec![
                "hostname",
                "image-id",
                "instance-id",
                "instance/",
                "mac",
                "network-type",
                "network/",
                "owner-account-id",
                "private-ipv4",
                "region-id",
                "serial-number",
                "vpc-cidr-block",
                "vpc-id",
                "vswitch-cidr-block",
                "vswitch-id",
                "zone-id",
            ];
            if i.eipv4.is_some() {
                e.push("eipv4");
            }
            listing(e)
        }
        ["hostname"] => Reply::ok(i.meta.hostname.clone()),
        ["image-id"] => Reply::ok(i.meta.image_id.clone()),
        ["instance-id"] => Reply::ok(i.id.clone()),
        ["instance"] => listing(["instance-type"]),
        ["instance", "instance-type"] => Reply::ok(i.meta.instance_type.clone()),
        ["mac"] => value(p.map(|n| n.mac.clone())),
        ["network-type"] => Reply::ok("vpc"),
        ["owner-account-id"] => Reply::ok(i.meta.owner_account_id.clone()),
        ["private-ipv4"] => value(primary_ip),
        ["region-id"] => Reply::ok(i.meta.region_id.clone()),
        ["zone-id"] => Reply::ok(i.meta.zone_id.clone()),
        ["serial-number"] => Reply::ok(serial_number(&i.id)),
        ["vpc-id"] => Reply::ok(i.vpc_id.clone()),
        ["vpc-cidr-block"] => Reply::ok(i.vpc_cidr.clone()),
        ["vswitch-id"] => value(p.map(|n| n.vswitch_id.clone())),
        ["vswitch-cidr-block"] => value(p.map(|n| n.vswitch_cidr.clone())),
        ["eipv4"] => value(i.eipv4.clone()),
        ["network"] => listing(["interfaces/"]),
        ["network", "interfaces"] => listing(["macs/"]),
        ["network", "interfaces", "macs"] => {
            // By device index (eth0 first), not byte order: the primary leads.
            let macs: Vec<String> = i.nics.iter().map(|n| format!("{}/", n.mac)).collect();
            Reply::ok(macs.join("\n"))
        }
        ["network", "interfaces", "macs", mac, leaf @ ..] => {
            let mac = mac.to_ascii_lowercase();
            match i.nics.iter().find(|n| n.mac == mac) {
                Some(n) => nic_leaf(i, n, leaf),
                None => Reply::not_found(),
            }
        }
        _ => Reply::not_found(),
    }
}

fn nic_leaf(i: &Instance, n: &Nic, leaf: &[&str]) -> Reply {
    let v6 = !n.ipv6.is_empty();
    let bracketed = |v: &[String]| format!("[{}]", v.join(","));
    match leaf {
        [] => {
            let mut e = vec![
                "gateway",
                "netmask",
                "network-interface-id",
                "primary-ip-address",
                "private-ipv4s",
                "vpc-cidr-block",
                "vpc-id",
                "vswitch-cidr-block",
                "vswitch-id",
            ];
            if v6 {
                e.extend(["ipv6-gateway", "ipv6s", "vswitch-ipv6-cidr-block"]);
            }
            if i.vpc_ipv6_cidr.is_some() {
                e.push("vpc-ipv6-cidr-blocks");
            }
            listing(e)
        }
        ["network-interface-id"] => Reply::ok(n.eni_id.clone()),
        ["primary-ip-address"] => n
            .private_ips
            .first()
            .map_or_else(Reply::not_found, |ip| Reply::ok(ip.clone())),
        ["private-ipv4s"] => Reply::ok(serde_json::to_string(&n.private_ips).unwrap_or_default()),
        ["netmask"] => netmask(&n.vswitch_cidr).map_or_else(Reply::not_found, Reply::ok),
        ["gateway"] => Reply::ok(n.gateway.clone()),
        ["vpc-id"] => Reply::ok(i.vpc_id.clone()),
        ["vpc-cidr-block"] => Reply::ok(i.vpc_cidr.clone()),
        ["vswitch-id"] => Reply::ok(n.vswitch_id.clone()),
        ["vswitch-cidr-block"] => Reply::ok(n.vswitch_cidr.clone()),
        ["ipv6s"] if v6 => Reply::ok(bracketed(&n.ipv6)),
        // The router's link-local address: what the NIC's IPv6 routes point at here.
        ["ipv6-gateway"] if v6 => Reply::ok(crate::render::GATEWAY6),
        ["vswitch-ipv6-cidr-block"] if v6 => n
            .vswitch_ipv6_cidr
            .clone()
            .map_or_else(Reply::not_found, Reply::ok),
        ["vpc-ipv6-cidr-blocks"] => i.vpc_ipv6_cidr.as_ref().map_or_else(Reply::not_found, |c| {
            Reply::ok(bracketed(std::slice::from_ref(c)))
        }),
        _ => Reply::not_found(),
    }
}

/// The catalog the listeners answer from, swapped whole around each apply.
#[derive(Clone, Default)]
pub struct Shared(Arc<std::sync::RwLock<Arc<Catalog>>>);

impl Shared {
    pub fn set(&self, c: Catalog) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(c);
    }

    pub fn get(&self) -> Arc<Catalog> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The listeners, one per VPC router namespace with instances here.
pub struct Service {
    catalog: Shared,
    tokens: Tokens,
    /// VPC → its accept loop.
    listeners: BTreeMap<String, tokio::task::JoinHandle<()>>,
    /// Open connections, by instance and in all, across every listener.
    open: Arc<std::sync::Mutex<Open>>,
}

/// Open connections: per instance (`""` for addresses no instance holds) and in all.
#[derive(Default)]
struct Open {
    by_instance: HashMap<String, usize>,
    total: usize,
}

impl Open {
    fn take(&mut self, key: &str) -> bool {
        let n = self.by_instance.get(key).copied().unwrap_or(0);
        if n >= PER_INSTANCE || self.total >= TOTAL {
            return false;
        }
        self.by_instance.insert(key.to_string(), n + 1);
        self.total += 1;
        true
    }

    fn give_back(&mut self, key: &str) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.by_instance.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.by_instance.remove(key);
            }
        }
    }
}

/// How long a client may take to send a request's head, at most how many connections one
/// instance keeps open (those from addresses no instance holds share one such allowance), and
/// at most how many all keep open: one instance cannot hold up another's answers or take the
/// agent's file descriptors.
const HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const PER_INSTANCE: usize = 32;
const TOTAL: usize = 512;

impl Service {
    pub fn new(catalog: Shared, tokens: Tokens) -> Service {
        Service {
            catalog,
            tokens,
            listeners: BTreeMap::new(),
            open: Arc::default(),
        }
    }

    /// Listens in the router of every VPC of `vpcs` (namespace by `ns_of`), and stops
    /// listening in the others; a router in `created` (made afresh by the last apply) gets a
    /// new listener, the old one being in a namespace that is gone. A failure is logged and
    /// tried again on the next call.
    pub fn listen_in(
        &mut self,
        dp: &dyn eni_dataplane::Dataplane,
        vpcs: &[String],
        created: &[String],
        ns_of: impl Fn(&str) -> String,
    ) {
        self.listeners.retain(|vpc, task| {
            let keep = vpcs.contains(vpc) && !task.is_finished() && !created.contains(&ns_of(vpc));
            if !keep {
                task.abort();
            }
            keep
        });
        let addr: std::net::SocketAddr = (
            ADDRESS
                .parse::<std::net::Ipv4Addr>()
                .expect("a literal address"),
            80,
        )
            .into();
        for vpc in vpcs {
            if self.listeners.contains_key(vpc) {
                continue;
            }
            let ns = ns_of(vpc);
            let listener = dp.listen(&ns, addr).and_then(|l| {
                tokio::net::TcpListener::from_std(l).map_err(|e| {
                    eni_dataplane::DataplaneError::Failed {
                        what: format!("listening in {ns}"),
                        detail: e.to_string(),
                    }
                })
            });
            match listener {
                Ok(l) => {
                    let task = tokio::spawn(serve(
                        l,
                        vpc.clone(),
                        self.catalog.clone(),
                        self.tokens.clone(),
                        self.open.clone(),
                    ));
                    self.listeners.insert(vpc.clone(), task);
                }
                Err(e) => tracing::warn!(error = %e, vpc, "metadata service cannot listen"),
            }
        }
    }

    /// Stops listening in the routers named in `created` (made afresh by an apply that then
    /// failed): the next successful apply listens in them again.
    pub fn forget(&mut self, created: &[String], ns_of: impl Fn(&str) -> String) {
        self.listeners.retain(|vpc, task| {
            let keep = !created.contains(&ns_of(vpc));
            if !keep {
                task.abort();
            }
            keep
        });
    }

    /// The VPCs listened in.
    pub fn vpcs(&self) -> Vec<String> {
        self.listeners.keys().cloned().collect()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        for task in self.listeners.values() {
            task.abort();
        }
    }
}

/// Accepts and answers connections in one VPC's router until aborted.
async fn serve(
    listener: tokio::net::TcpListener,
    vpc: String,
    catalog: Shared,
    tokens: Tokens,
    open: Arc<std::sync::Mutex<Open>>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "metadata accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let source = peer.ip();
        let key = catalog
            .get()
            .instance_of(&vpc, source)
            .unwrap_or_default()
            .to_string();
        if !open.lock().unwrap_or_else(|p| p.into_inner()).take(&key) {
            continue; // dropped: closed at once
        }
        let (vpc, catalog, tokens, open) =
            (vpc.clone(), catalog.clone(), tokens.clone(), open.clone());
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let reply = respond(&catalog, &tokens, &vpc, source, &req);
                    async move { Ok::<_, std::convert::Infallible>(reply) }
                });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(16 * 1024)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            // A connection open past a minute goes, whatever the client intends.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(60), conn).await;
            open.lock()
                .unwrap_or_else(|p| p.into_inner())
                .give_back(&key);
        });
    }
}

fn respond(
    catalog: &Shared,
    tokens: &Tokens,
    vpc: &str,
    source: IpAddr,
    req: &hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let request = Request {
        method: req.method().as_str(),
        path,
        token: header("x-aliyun-ecs-metadata-token"),
        ttl: header("x-aliyun-ecs-metadata-token-ttl-seconds"),
        forwarded: req.headers().contains_key("x-forwarded-for"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let r = answer(&catalog.get(), tokens, vpc, source, &request, now);
    let body = if req.method() == hyper::Method::HEAD {
        Vec::new()
    } else {
        r.body
    };
    hyper::Response::builder()
        .status(r.status)
        .header("content-type", r.content_type)
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .expect("a valid status and header")
}

#[cfg(test)]
mod tests {
    use super::*;
    use eni_types::hoststate::{EipDesired, EipMode, VpcDesired};

    fn nic(id: &str, idx: u32, mac: &str, ips: &[&str], v6: &[&str]) -> EniDesired {
        EniDesired {
            eni_id: id.into(),
            mac: mac.into(),
            device_index: idx,
            vswitch_id: "vsw-1".into(),
            cidr_block: "10.0.1.0/24".into(),
            gateway: "10.0.1.253".into(),
            private_ips: ips.iter().map(|s| s.to_string()).collect(),
            ipv4_prefixes: Vec::new(),
            ipv6_cidr_block: (!v6.is_empty()).then(|| "2408:4005:300:a100::/64".into()),
            ipv6_addresses: v6.iter().map(|s| s.to_string()).collect(),
            ipv6_prefixes: Vec::new(),
            eips: Vec::new(),
        }
    }

    fn inst(id: &str, enis: Vec<EniDesired>) -> InstanceDesired {
        InstanceDesired {
            instance_id: id.into(),
            vpc_id: "vpc-1".into(),
            running: true,
            bandwidth_rx_kbps: 0,
            bandwidth_tx_kbps: 0,
            enis,
            meta: InstanceMeta {
                region_id: "cn-hangzhou".into(),
                zone_id: "cn-hangzhou-h".into(),
                instance_type: "ecs.g7.large".into(),
                image_id: "aliyun_3_x64_20G_alibase_20240101.vhd".into(),
                hostname: format!("iZ{}Z", &id[2..]),
                owner_account_id: "1234567890123456".into(),
                user_data: String::new(),
                http_endpoint: "enabled".into(),
                http_tokens: "optional".into(),
            },
        }
    }

    fn host(instances: Vec<InstanceDesired>) -> HostDesired {
        HostDesired {
            host_id: "h".into(),
            generation: 1,
            vpcs: vec![VpcDesired {
                vpc_id: "vpc-1".into(),
                cidr_block: "10.0.0.0/16".into(),
                ipv6_cidr_block: Some("2408:4005:300:a100::/56".into()),
                vswitches: Vec::new(),
                security_groups: Vec::new(),
                enis: Vec::new(),
                eips: vec![EipDesired {
                    eip: "198.18.0.7".into(),
                    private_ip: "10.0.1.10".into(),
                    bandwidth_kbps: 0,
                    mode: EipMode::Nat,
                }],
                vni: 1,
                remotes: Vec::new(),
            }],
            instances,
            overlay: None,
            internet: Vec::new(),
        }
    }

    fn world() -> HostDesired {
        host(vec![
            inst(
                "i-a",
                vec![
                    nic("eni-a0", 0, "00:16:3E:00:00:0A", &["10.0.1.10"], &[]),
                    nic(
                        "eni-a1",
                        1,
                        "00:16:3e:00:00:1a",
                        &["10.0.1.20", "10.0.1.21"],
                        &["2408:4005:300:a100::5", "2408:4005:300:a100::6"],
                    ),
                ],
            ),
            inst(
                "i-b",
                vec![nic("eni-b0", 0, "00:16:3e:00:00:0b", &["10.0.1.30"], &[])],
            ),
        ])
    }

    const NOW: u64 = 1_800_000_000;

    fn get(c: &Catalog, from: &str, path: &str) -> Reply {
        let req = Request {
            method: "GET",
            path,
            ..Default::default()
        };
        answer(
            c,
            &Tokens::new("k"),
            "vpc-1",
            from.parse().unwrap(),
            &req,
            NOW,
        )
    }

    fn text(r: &Reply) -> &str {
        std::str::from_utf8(&r.body).unwrap()
    }

    #[test]
    fn each_instance_sees_its_own_values_in_alibabas_formats() {
        let c = Catalog::of(&world());
        let a = |p: &str| get(&c, "10.0.1.10", p);
        assert_eq!(text(&a("/latest/meta-data/instance-id")), "i-a");
        // Any address of any of its NICs names it: this is a request from eth1.
        assert_eq!(
            text(&get(&c, "10.0.1.21", "/latest/meta-data/instance-id")),
            "i-a"
        );
        assert_eq!(
            text(&get(&c, "10.0.1.30", "/latest/meta-data/instance-id")),
            "i-b"
        );
        assert_eq!(text(&a("/latest/meta-data/mac")), "00:16:3e:00:00:0a");
        assert_eq!(text(&a("/latest/meta-data/private-ipv4")), "10.0.1.10");
        assert_eq!(text(&a("/latest/meta-data/eipv4")), "198.18.0.7");
        assert_eq!(get(&c, "10.0.1.30", "/latest/meta-data/eipv4").status, 404);
        assert_eq!(
            text(&a("/latest/meta-data/instance/instance-type")),
            "ecs.g7.large"
        );
        assert_eq!(text(&a("/latest/meta-data/vpc-cidr-block")), "10.0.0.0/16");
        assert_eq!(text(&a("/latest/meta-data/network-type")), "vpc");
        // Listings: one entry a line, byte order, no final newline; macs by device index.
        let root = a("/latest/meta-data/");
        assert!(text(&root).starts_with("eipv4\nhostname\nimage-id\ninstance-id\ninstance/\n"));
        assert!(!text(&root).ends_with('\n'));
        assert_eq!(text(&a("/latest/meta-data")), text(&root));
        assert_eq!(
            text(&a("/latest/meta-data/network/interfaces/macs/")),
            "00:16:3e:00:00:0a/\n00:16:3e:00:00:1a/"
        );
        let m = "/latest/meta-data/network/interfaces/macs/00:16:3e:00:00:1a";
        assert_eq!(text(&a(&format!("{m}/network-interface-id"))), "eni-a1");
        assert_eq!(text(&a(&format!("{m}/primary-ip-address"))), "10.0.1.20");
        assert_eq!(
            text(&a(&format!("{m}/private-ipv4s"))),
            r#"["10.0.1.20","10.0.1.21"]"#
        );
        assert_eq!(text(&a(&format!("{m}/netmask"))), "255.255.255.0");
        assert_eq!(text(&a(&format!("{m}/gateway"))), "10.0.1.253");
        assert_eq!(
            text(&a(&format!("{m}/ipv6s"))),
            "[2408:4005:300:a100::5,2408:4005:300:a100::6]"
        );
        assert_eq!(
            text(&a(&format!("{m}/vpc-ipv6-cidr-blocks"))),
            "[2408:4005:300:a100::/56]"
        );
        let m0 = "/latest/meta-data/network/interfaces/macs/00:16:3e:00:00:0a";
        assert_eq!(
            a(&format!("{m0}/ipv6s")).status,
            404,
            "no IPv6: 404, never []"
        );
        assert!(!text(&a(&format!("{m0}/"))).contains("ipv6s"));
        // Another instance's MAC is not there for this one.
        assert_eq!(
            a("/latest/meta-data/network/interfaces/macs/00:16:3e:00:00:0b/network-interface-id")
                .status,
            404
        );
        // The old version name is the same tree.
        assert_eq!(text(&a("/2016-01-01/meta-data/instance-id")), "i-a");
        assert_eq!(text(&a("/")), "2016-01-01\nlatest");
        let doc: serde_json::Value =
            serde_json::from_slice(&a("/latest/dynamic/instance-identity/document").body).unwrap();
        assert_eq!(doc["instance-id"], "i-a");
        assert_eq!(doc["private-ipv4"], "10.0.1.10");
        assert!(text(&a("/latest/dynamic/instance-identity/document")).starts_with("{\"zone-id\":"));
        assert_eq!(a("/latest/meta-data/no-such-thing").status, 404);
        assert_eq!(a("/elsewhere").status, 404);
        // A stranger (no NIC of this VPC holds the address) is refused.
        assert_eq!(
            get(&c, "10.0.1.99", "/latest/meta-data/instance-id").status,
            403
        );
    }

    #[test]
    fn user_data_is_served_decoded_and_404_when_none() {
        let mut w = world();
        w.instances[0].meta.user_data =
            base64::engine::general_purpose::STANDARD.encode(b"#!/bin/sh\necho hi\n");
        let c = Catalog::of(&w);
        assert_eq!(
            text(&get(&c, "10.0.1.10", "/latest/user-data")),
            "#!/bin/sh\necho hi\n"
        );
        assert!(text(&get(&c, "10.0.1.10", "/latest/")).contains("user-data"));
        assert_eq!(get(&c, "10.0.1.30", "/latest/user-data").status, 404);
    }

    #[test]
    fn tokens_are_per_instance_and_expire_and_modes_are_enforced() {
        let mut w = world();
        let c = Catalog::of(&w);
        let t = Tokens::new("k");
        let req = |method: &'static str, path: &'static str| Request {
            method,
            path,
            ..Default::default()
        };
        let put = |ttl: Option<&str>, forwarded: bool| {
            let r = Request {
                ttl,
                forwarded,
                ..req("PUT", "/latest/api/token")
            };
            answer(&c, &t, "vpc-1", "10.0.1.10".parse().unwrap(), &r, NOW)
        };
        let ok = put(Some("21600"), false);
        assert_eq!(ok.status, 200);
        let token = text(&ok).to_string();
        assert!(!token.contains('\n') && !token.is_empty());
        for bad in [None, Some("0"), Some("21601"), Some("soon")] {
            assert_eq!(put(bad, false).status, 400, "{bad:?}");
        }
        assert_eq!(put(Some("60"), true).status, 403, "through a proxy");
        let with = |token: &str, from: &str, now: u64| {
            let r = Request {
                token: Some(token),
                ..req("GET", "/latest/meta-data/instance-id")
            };
            answer(&c, &t, "vpc-1", from.parse().unwrap(), &r, now)
        };
        assert_eq!(with(&token, "10.0.1.10", NOW).status, 200);
        assert_eq!(
            with(&token, "10.0.1.30", NOW).status,
            401,
            "another instance's"
        );
        assert_eq!(
            with(&token, "10.0.1.10", NOW + 21_600).status,
            401,
            "expired"
        );
        assert_eq!(with("1.AAAA", "10.0.1.10", NOW).status, 401);
        // Another agent key (another deployment) does not take it.
        let other = Request {
            token: Some(&token),
            ..req("GET", "/latest/meta-data/instance-id")
        };
        let r = answer(
            &c,
            &Tokens::new("other"),
            "vpc-1",
            "10.0.1.10".parse().unwrap(),
            &other,
            NOW,
        );
        assert_eq!(r.status, 401);
        let r = answer(
            &c,
            &t,
            "vpc-1",
            "10.0.1.10".parse().unwrap(),
            &req("POST", "/latest/meta-data/"),
            NOW,
        );
        assert_eq!(r.status, 405);
        let r = answer(
            &c,
            &t,
            "vpc-1",
            "10.0.1.10".parse().unwrap(),
            &req("GET", "/latest/api/token"),
            NOW,
        );
        assert_eq!(r.status, 405);
        // HttpTokens=required: plain requests are refused, token ones answered.
        w.instances[0].meta.http_tokens = "required".into();
        let c2 = Catalog::of(&w);
        let plain = answer(
            &c2,
            &t,
            "vpc-1",
            "10.0.1.10".parse().unwrap(),
            &req("GET", "/latest/meta-data/instance-id"),
            NOW,
        );
        assert_eq!(plain.status, 401);
        let r = Request {
            token: Some(&token),
            ..req("GET", "/latest/meta-data/instance-id")
        };
        assert_eq!(
            answer(&c2, &t, "vpc-1", "10.0.1.10".parse().unwrap(), &r, NOW).status,
            200
        );
        // The other instance keeps its own (optional) mode.
        assert_eq!(
            get(&c2, "10.0.1.30", "/latest/meta-data/instance-id").status,
            200
        );
        // HttpEndpoint=disabled: nothing at all.
        w.instances[0].meta.http_endpoint = "disabled".into();
        let c3 = Catalog::of(&w);
        assert_eq!(
            get(&c3, "10.0.1.10", "/latest/meta-data/instance-id").status,
            403
        );
    }

    #[test]
    fn while_applying_only_what_both_states_share_is_shown() {
        let old = world();
        let mut new = world();
        // eth1 loses an address and gains one; i-b gets a new NIC; i-a's eth0 is unchanged.
        new.instances[0].enis[1].private_ips = vec!["10.0.1.20".into(), "10.0.1.22".into()];
        new.instances[1]
            .enis
            .push(nic("eni-b1", 1, "00:16:3e:00:00:1b", &["10.0.1.31"], &[]));
        let c = Catalog::shared(&old, &new);
        let m = "/latest/meta-data/network/interfaces/macs/00:16:3e:00:00:1a/private-ipv4s";
        assert_eq!(text(&get(&c, "10.0.1.10", m)), r#"["10.0.1.20"]"#);
        assert_eq!(
            text(&get(
                &c,
                "10.0.1.30",
                "/latest/meta-data/network/interfaces/macs/"
            )),
            "00:16:3e:00:00:0b/"
        );
        // An address being added cannot ask yet; one being removed no longer can.
        assert_eq!(
            get(&c, "10.0.1.22", "/latest/meta-data/instance-id").status,
            403
        );
        assert_eq!(
            get(&c, "10.0.1.21", "/latest/meta-data/instance-id").status,
            403
        );
        // Once applied, the new state shows.
        let c = Catalog::of(&new);
        assert_eq!(
            text(&get(&c, "10.0.1.10", m)),
            r#"["10.0.1.20","10.0.1.22"]"#
        );
        // A NIC moving to another device index is not "the same" meanwhile.
        let mut moved = world();
        moved.instances[0].enis[1].device_index = 2;
        let c = Catalog::shared(&old, &moved);
        assert_eq!(
            text(&get(
                &c,
                "10.0.1.10",
                "/latest/meta-data/network/interfaces/macs/"
            )),
            "00:16:3e:00:00:0a/"
        );
    }

    #[test]
    fn a_nic_whose_address_a_binded_eip_replaced_shows_once_the_eip_is_on_it() {
        let old = world();
        let mut binded = world();
        binded.instances[0].enis[1].private_ips = Vec::new();
        binded.instances[0].enis[1].eips = vec!["198.18.0.8".into()];
        let macs = "/latest/meta-data/network/interfaces/macs/";
        // While the EIP replaces the address, the NIC is in neither state the same way.
        let c = Catalog::shared(&old, &binded);
        assert_eq!(text(&get(&c, "10.0.1.10", macs)), "00:16:3e:00:00:0a/");
        // Applied: listed, with no private address to show.
        let c = Catalog::of(&binded);
        assert_eq!(
            text(&get(&c, "10.0.1.10", macs)),
            "00:16:3e:00:00:0a/\n00:16:3e:00:00:1a/"
        );
        let nic = format!("{macs}00:16:3e:00:00:1a/");
        assert_eq!(
            text(&get(&c, "10.0.1.10", &format!("{nic}private-ipv4s"))),
            "[]"
        );
        assert_eq!(
            get(&c, "10.0.1.10", &format!("{nic}primary-ip-address")).status,
            404
        );
    }
}
