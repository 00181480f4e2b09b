//! EIP allocation cost as the pool fills up: `cargo bench -p eni-core --bench eip`.
//!
//! The default pool (198.18.0.0/15) is filled through the application layer by accounts
//! holding 20 EIPs each (the default quota), and at each level the cost of one
//! AllocateEipAddress (one write transaction) by an account of its own is measured, each
//! followed by a release that returns the address. An allocator that scanned the held
//! addresses would slow down roughly linearly with them; the ratio column shows whether this
//! one does.

mod common;

use eni_core::eip::AllocateEip;
use eni_core::{Caller, CoreConfig};
use std::time::Instant;

const REGION: &str = "cn-hangzhou";
const SAMPLES: usize = 300;
/// EIPs each filling account holds.
const PER_ACCOUNT: u64 = 20;

fn main() {
    let (_dir, core, caller) = common::fresh_core(CoreConfig {
        transition_delay_ms: 0,
        ..CoreConfig::default()
    });
    let allocate = |who: &Caller| {
        core.allocate_eip(
            who,
            AllocateEip {
                region: REGION.into(),
                ..Default::default()
            },
        )
        .expect("allocate")
    };
    println!(
        "EIP allocation cost in a /15 pool, held by accounts of {PER_ACCOUNT}, {SAMPLES} samples per level"
    );
    println!(
        "{:>8} {:>12} {:>12} {:>8}",
        "held", "median_us", "p90_us", "ratio"
    );
    let mut held: u64 = 0;
    let mut accounts: u64 = 0;
    let mut baseline = None;
    for target in [0u64, 5_000, 30_000] {
        let fill_started = Instant::now();
        while held < target {
            accounts += 1;
            let filler = Caller {
                account: core
                    .create_account(&format!("filler-{accounts}"))
                    .expect("account")
                    .account
                    .id,
            };
            for _ in 0..PER_ACCOUNT.min(target - held) {
                allocate(&filler);
                held += 1;
            }
        }
        let fill_secs = fill_started.elapsed().as_secs_f64();
        let mut times = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let t = Instant::now();
            let got = allocate(&caller);
            times.push(t.elapsed().as_secs_f64() * 1e6);
            core.release_eip(&caller, REGION, got.allocation_id.as_str())
                .expect("release");
        }
        times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        let median = times[SAMPLES / 2];
        let p90 = times[SAMPLES * 9 / 10];
        let base = *baseline.get_or_insert(median);
        println!(
            "{held:>8} {median:>12.1} {p90:>12.1} {:>8.2}   (filled in {fill_secs:.1}s)",
            median / base
        );
    }
}
