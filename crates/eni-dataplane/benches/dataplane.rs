//! What the real data plane costs: attaching a secondary ENI with two IPs to a running
//! instance, detaching it again, observing, and the pieces an apply is made of. A benchmark,
//! not a test: `cargo bench -p eni-dataplane --bench dataplane` (as root) prints medians.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use eni_dataplane::model::*;
use eni_dataplane::plan::plan;
use eni_dataplane::Dataplane;
use std::process::Command;
use std::time::{Duration, Instant};

fn stats(d: &mut [Duration]) -> String {
    d.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.2} ms, p90 {:.2} ms, min {:.2} ms (n={})",
        ms(d[d.len() / 2]),
        ms(d[d.len() * 9 / 10]),
        ms(d[0]),
        d.len()
    )
}

fn kinds(ops: &[Op]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for op in ops {
        let name = format!("{op:?}");
        *counts
            .entry(
                name.split(['(', ' '])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            )
            .or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("the data-plane benchmark needs root (network namespaces); skipped");
        return;
    }
    attach_detach_and_observe_cost();
}

fn attach_detach_and_observe_cost() {
    const ROUNDS: usize = 15;
    let env = Env::new();
    let (vr, i1, i2) = (env.vrouter(), env.inst(1), env.inst(2));
    let instances = [i1.clone(), i2.clone()];
    let mut enis = vec![
        EniSpec::new(&i1, "eth0", "pa1", 1, &[1], None),
        EniSpec::new(&i2, "eth0", "pa2", 2, &[2], None),
    ];
    let base = l3_state(&vr, &instances, &enis, &[]);
    env.reconcile(&base);
    enis.push(EniSpec::new(&i1, "eth1", "pc1", 4, &[11, 12], Some(1001)));
    let attached = l3_state(&vr, &instances, &enis, &[]);

    let (mut attach, mut detach, mut observe) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let t = Instant::now();
        let seen = env.dp.observe().unwrap();
        observe.push(t.elapsed());
        let ops = plan(&seen, &attached);
        if round == 0 {
            eprintln!("attach ops: {}", kinds(&ops));
        }
        let t = Instant::now();
        env.dp.apply(&ops).unwrap();
        attach.push(t.elapsed());

        let ops = plan(&env.dp.observe().unwrap(), &base);
        if round == 0 {
            eprintln!("detach ops: {}", kinds(&ops));
        }
        let t = Instant::now();
        env.dp.apply(&ops).unwrap();
        detach.push(t.elapsed());
    }
    env.assert_converged(&base);

    // The pieces: a process start with `ip -n`, one netlink step and one sysctl step
    // through the data plane.
    let (mut ip_n, mut ip_step, mut sysctl_step) = (Vec::new(), Vec::new(), Vec::new());
    let sysctls: Vec<Op> = [
        "ipv4/conf/pa1/proxy_arp",
        "ipv4/neigh/pa1/proxy_delay",
        "ipv4/conf/pa1/rp_filter",
    ]
    .iter()
    .map(|k| {
        Op::SetSysctl(
            SysctlKey {
                ns: vr.clone(),
                key: k.to_string(),
            },
            base.sysctls[&SysctlKey {
                ns: vr.clone(),
                key: k.to_string(),
            }]
                .clone(),
        )
    })
    .collect();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        assert!(Command::new("ip")
            .args(["-n", &vr, "link", "set", "dev", "lo", "up"])
            .status()
            .unwrap()
            .success());
        ip_n.push(t.elapsed());
        let t = Instant::now();
        env.dp.apply(&[Op::SetLoopbackUp(vr.clone())]).unwrap();
        ip_step.push(t.elapsed());
        let t = Instant::now();
        env.dp.apply(&sysctls).unwrap();
        sysctl_step.push(t.elapsed());
    }

    eprintln!(
        "attach (1 ENI, 2 IPs, policy routing): {}",
        stats(&mut attach)
    );
    eprintln!(
        "detach (same ENI; includes the veth delete): {}",
        stats(&mut detach)
    );
    eprintln!("observe (3 namespaces): {}", stats(&mut observe));
    eprintln!("`ip -n NS link set lo up` from Rust: {}", stats(&mut ip_n));
    eprintln!(
        "one-op step (thread + setns + netlink socket + request): {}",
        stats(&mut ip_step)
    );
    eprintln!(
        "3-sysctl step (thread + setns + writes): {}",
        stats(&mut sysctl_step)
    );
}
