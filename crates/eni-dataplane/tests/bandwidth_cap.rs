//! The per-instance bandwidth cap against the real kernel (spec §3.5): an instance's cap is
//! shared by all its ENIs, so adding ENIs never raises it. One vrouter, a server instance with
//! one uncapped ENI, a client instance capped at 20 Mbit/s both ways with two ENIs, later
//! three; iperf3 drives TCP over the client's ENIs at once, in one direction at a time.
//!
//! What is asserted is measured at the receiving NICs: the bytes their counters gained over
//! one common window in the middle of the transfer (after slow start has filled the
//! shaper's queue), summed over the ENIs. iperf3's own per-stream averages are printed too,
//! but each is taken over that stream's own interval, and with a deep FIFO in front of the
//! cap the streams do not start and stop together, so their sum can overshoot the cap by
//! more than the cap's own error.
//!
//! Needs iperf3 (`apt-get install -y iperf3`; `.ci/run` installs it). Traffic only flows
//! between the namespaces the test makes.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use eni_dataplane::model::*;
use eni_dataplane::plan::plan;
use eni_dataplane::Dataplane;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The client instance's cap, both ways: 20 Mbit/s.
const CAP_KBIT: u64 = 20_480;
/// How long each iperf3 client sends.
const SECS: u32 = 1;
/// When the measuring window opens after the clients start, and how long it stays open.
const WARMUP: Duration = Duration::from_millis(250);
const WINDOW: Duration = Duration::from_millis(600);

fn iperf3() -> String {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("iperf3"))
        .find(|p| p.is_file());
    match found {
        Some(p) => p.display().to_string(),
        None => panic!(
            "iperf3 is not installed, and the bandwidth-cap test needs it: \
             apt-get install -y iperf3 (.ci/run installs it)"
        ),
    }
}

/// Spawns `cmd` inside namespace `ns` (the child inherits the spawning thread's namespace).
fn spawn_in(ns: &str, mut cmd: Command) -> Child {
    in_ns(ns, move || cmd.spawn().expect("spawn in netns"))
        .join()
        .unwrap()
}

/// Processes this test started, killed (by their own handles) when dropped, so a failing
/// test leaves no iperf3 running; and the output pipes kept open while they run.
#[derive(Default)]
struct Procs {
    children: Vec<Child>,
    pipes: Vec<BufReader<ChildStdout>>,
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One-off iperf3 servers on `ip`, ports 5201.., ready to accept when this returns.
fn servers(bin: &str, ns: &str, ip: &str, n: u16) -> Procs {
    let mut procs = Procs::default();
    for i in 0..n {
        let mut cmd = Command::new(bin);
        cmd.args(["-s", "-1", "--forceflush", "-B", ip, "-p"])
            .arg((5201 + i).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = spawn_in(ns, cmd);
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        procs.children.push(child);
        let mut line = String::new();
        while !line.contains("Server listening") {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("iperf3 server on {ip}:{} did not start", 5201 + i);
            }
        }
        // Not read any further, but kept open: a server writing into a closed pipe dies.
        procs.pipes.push(reader);
    }
    procs
}

/// Received bytes of `devs` in namespace `ns`, from the thread's own `/proc/.../net/dev`.
fn rx_bytes(ns: &str, devs: &[String]) -> u64 {
    let devs = devs.to_vec();
    in_ns(ns, move || {
        let text = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
        let mut sum = 0;
        for d in &devs {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{d}:")))
                .unwrap_or_else(|| panic!("no {d} in /proc/net/dev"));
            let fields = line.split_once(':').unwrap().1;
            sum += fields
                .split_whitespace()
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap();
        }
        sum
    })
    .join()
    .unwrap()
}

/// What one run saw, in kbit/s.
struct Run {
    /// From the receivers' counters over the common window, all ENIs together.
    measured: u64,
    /// iperf3's receiver-side averages, one per stream.
    iperf: Vec<u64>,
}

struct Setup {
    bin: String,
    server_ns: String,
    server_ip: String,
    client_ns: String,
}

impl Setup {
    /// TCP from the client's ENI addresses `from` (one stream each, all at once) to the
    /// server (`download`: the other way), metered where the data arrives.
    fn run(&self, from: &[String], client_nics: &[String], download: bool) -> Run {
        let _servers = servers(
            &self.bin,
            &self.server_ns,
            &self.server_ip,
            from.len() as u16,
        );
        let mut clients = Procs::default();
        for (i, src) in from.iter().enumerate() {
            let mut cmd = Command::new(&self.bin);
            cmd.args(["-c", &self.server_ip, "-B", src, "-J", "-t"])
                .arg(SECS.to_string())
                .arg("-p")
                .arg((5201 + i).to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if download {
                cmd.arg("-R");
            }
            clients.children.push(spawn_in(&self.client_ns, cmd));
        }
        let meter = || {
            if download {
                rx_bytes(&self.client_ns, client_nics)
            } else {
                rx_bytes(&self.server_ns, &["eth0".to_string()])
            }
        };
        std::thread::sleep(WARMUP);
        let (b0, t0) = (meter(), Instant::now());
        std::thread::sleep(WINDOW);
        let (b1, t1) = (meter(), Instant::now());
        let mut iperf = Vec::new();
        for c in std::mem::take(&mut clients.children) {
            let out = c.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let v: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("iperf3 -J output ({e}): {text}"));
            assert!(
                out.status.success() && v.get("error").is_none(),
                "iperf3 client failed: {}{}",
                v["error"],
                String::from_utf8_lossy(&out.stderr)
            );
            let bps = v["end"]["sum_received"]["bits_per_second"]
                .as_f64()
                .unwrap();
            iperf.push((bps / 1000.0) as u64);
        }
        let secs = (t1 - t0).as_secs_f64();
        Run {
            measured: ((b1 - b0) as f64 * 8.0 / secs / 1000.0) as u64,
            iperf,
        }
    }
}

fn report(what: &str, r: &Run) {
    let sum: u64 = r.iperf.iter().sum();
    eprintln!(
        "{what}: {} kbit/s at the receivers (cap {CAP_KBIT}); iperf3 streams {:?} kbit/s, sum {sum}",
        r.measured, r.iperf
    );
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn an_instance_cap_is_shared_by_all_its_enis() {
    let bin = iperf3();
    let started = Instant::now();
    let env = Env::new();
    let (vr, server, client) = (env.vrouter(), env.inst(1), env.inst(2));
    let instances = [server.clone(), client.clone()];
    let mut enis = vec![
        EniSpec::new(&server, "eth0", "pa1", 1, &[1], None),
        EniSpec::new(&client, "eth0", "pa2", 2, &[2], None),
        EniSpec::new(&client, "eth1", "pb2", 3, &[3], Some(1001)),
    ];
    let desired = |enis: &[EniSpec], kbit: u64| {
        let mut s = l3_state(&vr, &instances, enis, &[]);
        cap(&mut s, &vr, &client, enis, kbit, kbit);
        s
    };
    let two = desired(&enis, CAP_KBIT);
    env.reconcile(&two);
    env.assert_converged(&two);
    assert!(env.dp.observe_all().unwrap().unmanaged.is_empty());

    let setup = Setup {
        bin,
        server_ns: server.clone(),
        server_ip: format!("{NET}.1"),
        client_ns: client.clone(),
    };
    let ip = |h: u8| format!("{NET}.{h}");
    let nics = |n: usize| (0..n).map(|i| format!("eth{i}")).collect::<Vec<_>>();
    let most = CAP_KBIT * 5 / 4;
    let least = CAP_KBIT / 2;
    let check = |what: &str, r: &Run| {
        report(what, r);
        assert!(
            r.measured <= most,
            "{what}: {} kbit/s is above the cap {CAP_KBIT} × 1.25",
            r.measured
        );
        assert!(
            r.measured >= least,
            "{what}: {} kbit/s, not even half the cap {CAP_KBIT}: is traffic flowing?",
            r.measured
        );
    };

    // Two ENIs at once, each way: the sum stays under the one cap.
    let both = [ip(2), ip(3)];
    let up2 = setup.run(&both, &nics(2), false);
    check("upload, 2 ENIs at once", &up2);
    let down2 = setup.run(&both, &nics(2), true);
    check("download, 2 ENIs at once", &down2);

    // One ENI alone gets the whole cap, and no more.
    let one = [ip(3)];
    check("upload, 1 ENI", &setup.run(&one, &nics(2), false));
    check("download, 1 ENI", &setup.run(&one, &nics(2), true));

    // A third ENI joins the instance: its port points at the same shapers.
    enis.push(EniSpec::new(&client, "eth2", "pc2", 4, &[4], Some(1002)));
    let three = desired(&enis, CAP_KBIT);
    let ops = env.reconcile(&three);
    assert!(
        ops.iter()
            .all(|o| !matches!(o, Op::CreateIfb(_) | Op::SetShaperRate(..))),
        "a new ENI reuses the instance's shapers: {ops:#?}"
    );
    env.assert_converged(&three);
    let all = [ip(2), ip(3), ip(4)];
    let up3 = setup.run(&all, &nics(3), false);
    check("upload, 3 ENIs at once", &up3);
    let down3 = setup.run(&all, &nics(3), true);
    check("download, 3 ENIs at once", &down3);
    for (two, three, what) in [(&up2, &up3, "upload"), (&down2, &down3, "download")] {
        assert!(
            three.measured <= two.measured * 5 / 4,
            "{what}: a third ENI raised the sum from {} to {} kbit/s",
            two.measured,
            three.measured
        );
    }

    // Without the cap the same paths run far faster: the cap was what held them.
    let free = l3_state(&vr, &instances, &enis, &[]);
    env.reconcile(&free);
    env.assert_converged(&free);
    let r = setup.run(&both, &nics(2), false);
    report("upload, 2 ENIs, no cap", &r);
    assert!(
        r.measured > 3 * CAP_KBIT,
        "uncapped, only {} kbit/s",
        r.measured
    );
    eprintln!("took {:?}", started.elapsed());
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn caps_are_repaired_after_drift_and_replayed_ops_change_nothing() {
    let env = Env::new();
    let (vr, i1, i2) = (env.vrouter(), env.inst(1), env.inst(2));
    let instances = [i1.clone(), i2.clone()];
    let enis = vec![
        EniSpec::new(&i1, "eth0", "pa1", 1, &[1], None),
        EniSpec::new(&i1, "eth1", "pb1", 2, &[11], Some(1001)),
        EniSpec::new(&i2, "eth0", "pa2", 3, &[2], None),
    ];
    let mut want = l3_state(&vr, &instances, &enis, &[]);
    cap(&mut want, &vr, &i1, &enis, 10_000, 5_000);
    let build = env.reconcile(&want);
    env.assert_converged(&want);
    let tc = |args: &[&str]| {
        let out = Command::new("tc")
            .args(["-n", &vr])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tc {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (up, down) = shaper_names(&i1);

    // A rate changed behind eni's back is set back in place.
    tc(&[
        "class", "change", "dev", &up, "parent", "1:", "classid", "1:1", "htb", "rate", "999kbit",
        "ceil", "999kbit",
    ]);
    assert_eq!(
        env.dp.observe().unwrap().shapers[&LinkRef::new(vr.clone(), up.clone())],
        999
    );
    let ops = env.reconcile(&want);
    assert_eq!(
        ops,
        vec![Op::SetShaperRate(
            LinkRef::new(vr.clone(), up.clone()),
            5_000
        )]
    );
    env.assert_converged(&want);

    // A removed filter comes back; a foreign filter at another priority is left alone.
    tc(&["filter", "del", "dev", "pb1", "egress", "prio", "2"]);
    tc(&[
        "filter", "add", "dev", "pa1", "ingress", "protocol", "all", "prio", "7", "u32", "match",
        "u32", "0", "0", "flowid", "1:1",
    ]);
    // A deleted shaper leaves its redirects pointing nowhere; a downed one shapes nothing.
    ip(&["-n", &vr, "link", "del", &down]);
    ip(&["-n", &vr, "link", "set", "dev", &up, "down"]);
    let seen = env.dp.observe_all().unwrap();
    let port = |p: &str, hook| RedirectKey {
        port: LinkRef::new(vr.clone(), p),
        hook,
    };
    assert_eq!(seen.state.redirects[&port("pa1", Hook::Egress)], "");
    assert!(!seen
        .state
        .redirects
        .contains_key(&port("pb1", Hook::Egress)));
    assert_eq!(seen.state.shapers[&LinkRef::new(vr.clone(), up.clone())], 0);
    assert!(
        seen.unmanaged
            .iter()
            .any(|u| u.what.contains("pa1") && u.what.contains("priority 7")),
        "{:?}",
        seen.unmanaged
    );
    env.reconcile(&want);
    env.assert_converged(&want);

    // Every op again: nothing changes.
    env.dp.apply(&build).unwrap();
    env.assert_converged(&want);

    // Moving i1's second ENI to i2 points its new port at i2's shapers; dropping the caps
    // removes filters and shapers.
    let mut moved = enis.clone();
    moved[1] = EniSpec {
        inst: i2.clone(),
        port: "pb2".into(),
        ..enis[1].clone()
    };
    let mut after = l3_state(&vr, &instances, &moved, &[]);
    cap(&mut after, &vr, &i1, &moved, 10_000, 5_000);
    cap(&mut after, &vr, &i2, &moved, 2_000, 2_000);
    let ops = env.reconcile(&after);
    let first = |f: &dyn Fn(&Op) -> bool| ops.iter().position(f).unwrap();
    let shaped = first(&|o| matches!(o, Op::SetRedirect(k, _) if k.port.name == "pb2"));
    let flip = first(&|o| matches!(o, Op::ReplaceRoute(_, t) if t.dev == "pb2"));
    assert!(shaped < flip, "{ops:#?}");
    env.assert_converged(&after);

    let free = l3_state(&vr, &instances, &moved, &[]);
    env.reconcile(&free);
    env.assert_converged(&free);
    let links = Command::new("ip")
        .args(["-n", &vr, "-br", "link", "show", "type", "ifb"])
        .output()
        .unwrap();
    assert!(links.stdout.is_empty(), "IFBs left behind");
    let plan_again = plan(&env.dp.observe().unwrap(), &free);
    assert!(plan_again.is_empty(), "{plan_again:#?}");
}
