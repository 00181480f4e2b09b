//! Allocation cost as a vSwitch fills up: `cargo bench -p eni-core --bench ipam`.
//!
//! A /16 vSwitch (65,532 usable addresses) is filled through the application layer, and at
//! each fill level the cost of allocating one private IP (AssignPrivateIpAddresses with a
//! count of 1, one write transaction, through the free-range allocator) is measured. An
//! allocator that scanned the allocated addresses would slow down roughly linearly with the
//! fill; the ratio column shows whether this one does.

mod common;

use eni_core::eni::{AddressRequest, CreateEni};
use eni_core::vpc::{CreateVSwitch, CreateVpc};
use eni_core::CoreConfig;
use std::time::Instant;

const REGION: &str = "cn-hangzhou";
const SAMPLES: usize = 300;

fn main() {
    let (_dir, core, caller) = common::fresh_core(CoreConfig {
        eni_quota: 1_000_000,
        transition_delay_ms: 0,
        ..CoreConfig::default()
    });
    let vpc = core
        .create_vpc(
            &caller,
            CreateVpc {
                region: REGION.into(),
                cidr_block: Some("10.0.0.0/16".into()),
                ..Default::default()
            },
        )
        .expect("vpc");
    let vsw = core
        .create_vswitch(
            &caller,
            CreateVSwitch {
                vpc_id: vpc.vpc_id.to_string(),
                zone_id: "cn-hangzhou-h".into(),
                cidr_block: "10.0.0.0/16".into(),
                ..Default::default()
            },
        )
        .expect("vswitch")
        .vswitch_id
        .to_string();
    let sg = core
        .create_security_group(
            &caller,
            eni_core::security_group::CreateSecurityGroup {
                region: REGION.into(),
                vpc_id: Some(vpc.vpc_id.to_string()),
                ..Default::default()
            },
        )
        .expect("group")
        .to_string();
    let new_eni = |secondaries: u32| {
        let addresses = AddressRequest {
            secondary_count: (secondaries > 0).then_some(secondaries),
            ..Default::default()
        };
        core.create_network_interface(
            &caller,
            CreateEni {
                region: REGION.into(),
                vswitch_id: vsw.clone(),
                security_group_id: Some(sg.clone()),
                addresses,
                ..Default::default()
            },
        )
        .expect("eni")
    };
    let probe = new_eni(0).eni.id.to_string();
    let usable: u64 = 65_532;
    let mut used: u64 = 1;
    println!("IPv4 allocation cost in a /16 vSwitch ({usable} usable addresses), {SAMPLES} samples per level");
    println!(
        "{:>8} {:>8} {:>12} {:>12} {:>8}",
        "fill", "free", "median_us", "p90_us", "ratio"
    );
    let mut baseline = None;
    for target in [0.0, 0.5, 0.9, 0.99, 0.999] {
        let goal = ((usable as f64) * target) as u64;
        let fill_started = Instant::now();
        while used + 50 <= goal {
            new_eni(49);
            used += 50;
        }
        while used < goal {
            new_eni(0);
            used += 1;
        }
        let fill_secs = fill_started.elapsed().as_secs_f64();
        let mut times = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let t = Instant::now();
            let got = core
                .assign_private_ips(
                    &caller,
                    REGION,
                    &probe,
                    Vec::new(),
                    Some(1),
                    Vec::new(),
                    None,
                    None,
                )
                .expect("assign");
            times.push(t.elapsed().as_secs_f64() * 1e6);
            core.unassign_private_ips(&caller, REGION, &probe, got.private_ips, Vec::new())
                .expect("unassign");
        }
        times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        let median = times[SAMPLES / 2];
        let p90 = times[SAMPLES * 9 / 10];
        let base = *baseline.get_or_insert(median);
        println!(
            "{:>7.1}% {:>8} {:>12.1} {:>12.1} {:>8.2}   (filled in {fill_secs:.1}s)",
            100.0 * used as f64 / usable as f64,
            usable - used,
            median,
            p90,
            median / base
        );
    }
}
