//! CPU per CreateNetworkInterface as the account grows: `cargo bench -p eni-core --bench create`
//! (`-- 1000 10000 100000` for other levels).
//!
//! ENIs are created through the application layer as the server does it (each with a fresh
//! request nonce recorded in the create's own write transaction, on a SQLite file), and at each
//! level the CPU of the next 1,000 creates is measured (the process's threads', from
//! `/proc/self/task/*/schedstat`, kernel time included: the WAL writes and checkpoints). A write
//! path with O(n) work in it (a count over the account's ENIs) grows with the level; the ratio
//! column shows whether this one does. HTTP, signature and JSON are not included: the server's
//! figure is in the README.

mod common;

use eni_core::eni::CreateEni;
use eni_core::security_group::CreateSecurityGroup;
use eni_core::vpc::{CreateVSwitch, CreateVpc};
use eni_core::CoreConfig;
use std::sync::Arc;
use std::time::Instant;

const REGION: &str = "cn-hangzhou";
const SAMPLES: u64 = 1000;
/// ENIs per /16 vSwitch before the next one is used.
const PER_VSWITCH: u64 = 60_000;

/// The CPU time of this process's threads so far (the store's checkpointer included), in
/// nanoseconds.
fn process_cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn main() {
    let mut levels: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if levels.is_empty() {
        levels = vec![1_000, 10_000, 50_000];
    }
    let (_dir, core, caller) = common::fresh_core(CoreConfig {
        eni_quota: 10_000_000,
        transition_delay_ms: 0,
        ..CoreConfig::default()
    });
    let vpc = core
        .create_vpc(
            &caller,
            CreateVpc {
                region: REGION.into(),
                cidr_block: Some("10.0.0.0/8".into()),
                ..Default::default()
            },
        )
        .expect("vpc")
        .vpc_id
        .to_string();
    let sg = core
        .create_security_group(
            &caller,
            CreateSecurityGroup {
                region: REGION.into(),
                vpc_id: Some(vpc.clone()),
                ..Default::default()
            },
        )
        .expect("group")
        .to_string();
    let mut vswitches: Vec<String> = Vec::new();
    let mut vswitch_for = |n: u64| -> String {
        let k = (n / PER_VSWITCH) as usize;
        while vswitches.len() <= k {
            let v = core
                .create_vswitch(
                    &caller,
                    CreateVSwitch {
                        vpc_id: vpc.clone(),
                        zone_id: "cn-hangzhou-h".into(),
                        cidr_block: format!("10.{}.0.0/16", vswitches.len() + 1),
                        ..Default::default()
                    },
                )
                .expect("vswitch");
            vswitches.push(v.vswitch_id.to_string());
        }
        vswitches[k].clone()
    };
    let mut seq = 0u64;
    let mut create = |n: u64, vsw: String| {
        seq += 1;
        // A request's nonce, recorded by the create's transaction as the server does it.
        let nonce = core
            .nonce("bench", &format!("nonce-{seq}-{n}"), eni_core::now())
            .expect("nonce");
        core.with_nonce(Arc::new(nonce))
            .create_network_interface(
                &caller,
                CreateEni {
                    region: REGION.into(),
                    vswitch_id: vsw,
                    security_group_id: Some(sg.clone()),
                    ..Default::default()
                },
            )
            .expect("eni");
    };
    println!(
        "CPU per CreateNetworkInterface (core and store, no HTTP), {SAMPLES} creates per level"
    );
    println!(
        "{:>10} {:>14} {:>14} {:>8}",
        "ENIs", "CPU us/create", "wall us/create", "ratio"
    );
    let mut made = 0u64;
    let mut first = None;
    for level in levels {
        while made < level {
            create(made, vswitch_for(made));
            made += 1;
        }
        let targets: Vec<String> = (made..made + SAMPLES).map(&mut vswitch_for).collect();
        let (cpu0, t0) = (process_cpu_ns(), Instant::now());
        for vsw in targets {
            create(made, vsw);
            made += 1;
        }
        let cpu = (process_cpu_ns() - cpu0) as f64 / SAMPLES as f64 / 1000.0;
        let wall = t0.elapsed().as_secs_f64() * 1e6 / SAMPLES as f64;
        let base = *first.get_or_insert(cpu);
        println!("{level:>10} {cpu:>14.1} {wall:>14.1} {:>8.2}", cpu / base);
    }
}
