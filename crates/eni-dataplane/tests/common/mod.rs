//! Shared helpers of the privileged data-plane tests: a per-test environment that owns unique
//! namespace names and purges them on drop (also when the test fails), an L3-model desired
//! state builder, and UDP/ICMP probes that run inside the test's own namespaces.
#![allow(dead_code)] // Each test binary uses a different subset.

use eni_dataplane::linux::LinuxDataplane;
use eni_dataplane::model::*;
use eni_dataplane::plan::plan;
use eni_dataplane::Dataplane;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::net::UdpSocket;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);
/// One test at a time: they share the host's RTNL lock, and the make-before-break test counts
/// lost probes, which concurrent namespace churn would distort.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub const ROUTER_MAC: &str = "ee:ff:ff:ff:ff:ff";
/// The test vSwitch: every namespace is private to the test, so the range cannot collide
/// with anything on the host.
pub const NET: &str = "10.77.1";
pub const GW: &str = "10.77.1.253";

/// One test's namespaces and data plane. Dropping it purges everything it created by name.
pub struct Env {
    pub dp: LinuxDataplane,
    pub tag: String,
    pub prefix: String,
    /// Namespaces the test made itself, behind eni's back.
    pub foreign: Vec<String>,
    _dir: tempfile::TempDir,
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl Env {
    pub fn new() -> Env {
        // A failed test poisons the lock; the next one still runs.
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let tag = format!(
            "{}x{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let prefix = format!("enit{tag}-");
        let dir = tempfile::tempdir().expect("temp dir");
        let dp = LinuxDataplane::new(&prefix, dir.path()).expect("data plane");
        Env {
            dp,
            tag,
            prefix,
            foreign: Vec::new(),
            _dir: dir,
            _serial: serial,
        }
    }

    /// The VPC's vrouter namespace (owned by prefix).
    pub fn vrouter(&self) -> String {
        format!("{}v-vpc1", self.prefix)
    }

    /// An instance namespace: named like an instance id, without the prefix.
    pub fn inst(&self, n: u32) -> String {
        format!("i-t{}-{n}", self.tag)
    }

    /// Creates a namespace behind eni's back; it is deleted when the test ends.
    pub fn foreign_ns(&mut self, name: &str) {
        ip(&["netns", "add", name]);
        self.foreign.push(name.to_string());
    }

    /// One reconcile pass: observe, plan, apply. Returns the ops.
    pub fn reconcile(&self, desired: &KernelState) -> Vec<Op> {
        let ops = plan(&self.dp.observe().expect("observe"), desired);
        self.dp
            .apply(&ops)
            .unwrap_or_else(|e| panic!("apply failed: {e}\nops: {ops:#?}"));
        ops
    }

    /// Asserts the kernel now holds `desired` (sysctls it does not mention aside) and that
    /// another pass would change nothing.
    pub fn assert_converged(&self, desired: &KernelState) {
        let mut seen = self.dp.observe().expect("observe");
        seen.sysctls.retain(|k, _| desired.sysctls.contains_key(k));
        assert_state_eq(&seen, desired);
        let again = plan(&self.dp.observe().expect("observe"), desired);
        assert!(again.is_empty(), "a second plan is not empty: {again:#?}");
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Err(e) = self.dp.purge() {
            eprintln!("purge failed: {e}");
        }
        for ns in self
            .foreign
            .iter()
            .chain([self.inst(1), self.inst(2), self.inst(3)].iter())
        {
            // Only names this test made up; absent ones just fail quietly.
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Field-by-field equality with a readable failure.
pub fn assert_state_eq(seen: &KernelState, want: &KernelState) {
    assert_eq!(seen.namespaces, want.namespaces, "namespaces");
    assert_eq!(seen.veths, want.veths, "veths");
    assert_eq!(seen.loopback_up, want.loopback_up, "loopback");
    assert_eq!(seen.addrs, want.addrs, "addresses");
    assert_eq!(seen.routes, want.routes, "routes");
    assert_eq!(seen.rules, want.rules, "rules");
    assert_eq!(seen.neighs, want.neighs, "neighbours");
    assert_eq!(seen.sysctls, want.sysctls, "sysctls");
    assert_eq!(seen.shapers, want.shapers, "shapers");
    assert_eq!(seen.redirects, want.redirects, "redirects");
    assert_eq!(seen.rulesets, want.rulesets, "rulesets");
}

/// Runs `ip ARGS` and asserts it succeeded.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An ENI in the desired state.
#[derive(Clone)]
pub struct EniSpec {
    pub inst: String,
    pub ifname: String,
    /// The router-side port in the vrouter.
    pub port: String,
    pub mac: String,
    /// Host parts of the ENI's IPs in [`NET`].
    pub ips: Vec<u8>,
    /// `None` for a primary ENI (main table); `Some(t)` for a secondary one with policy routing.
    pub table: Option<u32>,
}

impl EniSpec {
    pub fn new(
        inst: &str,
        ifname: &str,
        port: &str,
        n: u8,
        ips: &[u8],
        table: Option<u32>,
    ) -> EniSpec {
        EniSpec {
            inst: inst.into(),
            ifname: ifname.into(),
            port: port.into(),
            mac: format!("00:16:3e:00:01:{n:02x}"),
            ips: ips.to_vec(),
            table,
        }
    }
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

/// The routed L3 model (spec §3.7): one vrouter with the gateway on `lo`, a veth per ENI,
/// a `/32` route and a permanent neighbour per ENI IP. ENIs of `stopped` instances keep
/// their ports, addresses and neighbours, with both ends down and therefore no routes.
pub fn l3_state(
    vr: &str,
    instances: &[String],
    enis: &[EniSpec],
    stopped: &[String],
) -> KernelState {
    let mut s = KernelState::default();
    s.namespaces.insert(vr.into());
    s.loopback_up.insert(vr.into());
    for (k, v) in [
        ("ipv4/ip_forward", "1"),
        ("ipv4/conf/all/send_redirects", "0"),
        ("ipv4/conf/default/send_redirects", "0"),
        ("ipv4/conf/all/rp_filter", "1"),
        ("ipv4/conf/default/rp_filter", "1"),
    ] {
        sysctl(&mut s, vr, k, v);
    }
    s.addrs.insert(Addr {
        dev: LinkRef::new(vr, "lo"),
        cidr: format!("{GW}/32"),
    });
    for i in instances {
        s.namespaces.insert(i.clone());
        s.loopback_up.insert(i.clone());
        for (k, v) in [
            ("ipv4/conf/all/arp_ignore", "1"),
            ("ipv4/conf/all/arp_announce", "2"),
            ("ipv4/conf/all/rp_filter", "1"),
            ("ipv4/conf/default/rp_filter", "1"),
        ] {
            sysctl(&mut s, i, k, v);
        }
    }
    for e in enis {
        let up = !stopped.contains(&e.inst);
        let a = LinkEnd {
            at: LinkRef::new(vr, e.port.clone()),
            mac: ROUTER_MAC.into(),
            mtu: 1500,
            up,
        };
        let b = LinkEnd {
            at: LinkRef::new(e.inst.clone(), e.ifname.clone()),
            mac: e.mac.clone(),
            mtu: 1500,
            up,
        };
        s.veths.insert(
            a.at.clone(),
            Veth {
                a: a.clone(),
                b: b.clone(),
            },
        );
        sysctl(&mut s, vr, &format!("ipv4/conf/{}/proxy_arp", e.port), "1");
        sysctl(
            &mut s,
            vr,
            &format!("ipv4/neigh/{}/proxy_delay", e.port),
            "0",
        );
        sysctl(&mut s, vr, &format!("ipv4/conf/{}/rp_filter", e.port), "1");
        for h in &e.ips {
            let ip = format!("{NET}.{h}");
            s.addrs.insert(Addr {
                dev: b.at.clone(),
                cidr: format!("{ip}/24"),
            });
            s.neighs.insert(
                NeighKey {
                    dev: a.at.clone(),
                    ip: ip.clone(),
                },
                e.mac.clone(),
            );
            if up {
                let key = RouteKey {
                    ns: vr.into(),
                    table: 254,
                    dst: format!("{ip}/32"),
                };
                s.routes.insert(
                    key,
                    RouteTarget {
                        dev: e.port.clone(),
                        via: None,
                        src: None,
                        onlink: false,
                    },
                );
            }
            if let Some(t) = e.table {
                s.rules.insert(Rule {
                    ns: e.inst.clone(),
                    pref: t,
                    from: format!("{ip}/32"),
                    table: t,
                });
            }
        }
        if up {
            let table = e.table.unwrap_or(254);
            let key = RouteKey {
                ns: e.inst.clone(),
                table,
                dst: "default".into(),
            };
            s.routes.insert(
                key,
                RouteTarget {
                    dev: e.ifname.clone(),
                    via: Some(GW.into()),
                    src: None,
                    onlink: false,
                },
            );
        }
    }
    s
}

/// The two shapers of an instance in the vrouter: (upload, download).
pub fn shaper_names(inst: &str) -> (String, String) {
    // Short and unique per instance within a test: the instance's trailing number.
    let n = inst.rsplit('-').next().unwrap_or("0");
    (format!("bw{n}u"), format!("bw{n}d"))
}

/// Caps `inst` at `tx_kbit` (upload: into its ports from the instance) and `rx_kbit`
/// (download) shared by all its ENIs in `enis` (spec §3.5); 0 leaves a direction uncapped.
pub fn cap(
    s: &mut KernelState,
    vr: &str,
    inst: &str,
    enis: &[EniSpec],
    rx_kbit: u64,
    tx_kbit: u64,
) {
    let (up, down) = shaper_names(inst);
    for (name, kbit, hook) in [(up, tx_kbit, Hook::Ingress), (down, rx_kbit, Hook::Egress)] {
        if kbit == 0 {
            continue;
        }
        s.shapers.insert(LinkRef::new(vr, name.clone()), kbit);
        for e in enis.iter().filter(|e| e.inst == inst) {
            let key = RedirectKey {
                port: LinkRef::new(vr, e.port.clone()),
                hook,
            };
            s.redirects.insert(key, name.clone());
        }
    }
}

/// Runs `f` on a thread inside namespace `ns`.
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let file = File::open(format!("/run/netns/{ns}")).expect("open netns");
    std::thread::spawn(move || {
        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
}

/// A UDP echo server inside a namespace, on every address, until dropped.
pub struct Echo {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

pub const ECHO_PORT: u16 = 7777;

impl Echo {
    pub fn start(ns: &str) -> Echo {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let handle = in_ns(ns, move || {
            let sock = UdpSocket::bind(("0.0.0.0", ECHO_PORT)).expect("bind echo");
            sock.set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            tx.send(()).unwrap();
            let mut buf = [0u8; 64];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], from);
                }
            }
        });
        rx.recv().expect("echo server started");
        Echo {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Sends `count` numbered UDP probes from namespace `from` to `ip`, one every `every`, and
/// returns how many were echoed back (within 200 ms of the last one).
pub fn probe(from: &str, ip: &str, count: u32, every: Duration) -> JoinHandle<u32> {
    let ip = ip.to_string();
    in_ns(from, move || {
        let sock = UdpSocket::bind(("0.0.0.0", 0)).expect("bind probe");
        sock.set_nonblocking(true).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        let mut buf = [0u8; 64];
        let mut drain = |seen: &mut std::collections::BTreeSet<u32>| {
            while let Ok((n, _)) = sock.recv_from(&mut buf) {
                if n == 4 {
                    seen.insert(u32::from_be_bytes(buf[..4].try_into().unwrap()));
                }
            }
        };
        let start = Instant::now();
        for i in 0..count {
            let _ = sock.send_to(&i.to_be_bytes(), (ip.as_str(), ECHO_PORT));
            drain(&mut seen);
            let next = start + every * (i + 1);
            if let Some(d) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
        let end = Instant::now() + Duration::from_millis(200);
        while Instant::now() < end {
            drain(&mut seen);
            std::thread::sleep(Duration::from_millis(5));
        }
        seen.len() as u32
    })
}

/// Whether `ip` answers from namespace `from` within two seconds (an ARP entry left
/// INCOMPLETE by an earlier outage is only retried once a second): a UDP echo (the caller
/// runs an [`Echo`] where `ip` lives) and, where iputils is installed, `ping -c1 -W1` too.
pub fn reachable(from: &str, ip: &str) -> bool {
    let target = ip.to_string();
    let udp = in_ns(from, move || {
        let sock = UdpSocket::bind(("0.0.0.0", 0)).expect("bind probe");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let end = Instant::now() + Duration::from_secs(2);
        let mut buf = [0u8; 64];
        while Instant::now() < end {
            let _ = sock.send_to(b"ping", (target.as_str(), ECHO_PORT));
            if sock.recv_from(&mut buf).is_ok() {
                return true;
            }
        }
        false
    })
    .join()
    .unwrap();
    let has_ping = ["/usr/bin/ping", "/bin/ping"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    let icmp = !has_ping
        || Command::new("ip")
            .args(["netns", "exec", from, "ping", "-c1", "-W1", ip])
            .output()
            .is_ok_and(|o| o.status.success());
    if !(udp && icmp) {
        eprintln!("{from} -> {ip}: udp {udp}, icmp {icmp}");
    }
    udp && icmp
}
/// Prints what the kernel holds in `namespaces` (for failing reachability checks).
pub fn dump(namespaces: &[&str]) -> String {
    let mut out = String::new();
    for ns in namespaces {
        for what in [
            &["-br", "link"][..],
            &["-br", "addr"],
            &["route", "show", "table", "all"],
            &["rule", "show"],
            &["neigh", "show"],
        ] {
            let o = Command::new("ip")
                .arg("-n")
                .arg(ns)
                .args(what)
                .output()
                .unwrap();
            out += &format!(
                "== {ns}: ip {}\n{}{}",
                what.join(" "),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    out
}
