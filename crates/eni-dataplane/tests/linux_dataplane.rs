//! The real data plane against the real kernel: reconciling from nothing, repairing drift,
//! leaving foreign namespaces alone, moving an ENI under traffic, stopping an instance,
//! removing a NIC (gone when apply returns) and making it again at once.
//!
//! Each test makes its own uniquely named namespaces (vrouter `enit<pid>x<n>-v-vpc1`,
//! instances `i-t<pid>x<n>-<k>`) and purges them when it ends, also on failure. Traffic
//! only flows between addresses inside those namespaces.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use eni_dataplane::model::*;
use eni_dataplane::plan::plan;
use eni_dataplane::Dataplane;
use std::path::Path;
use std::time::{Duration, Instant};

fn two_instances(env: &Env) -> (String, String, String, Vec<EniSpec>) {
    let (vr, i1, i2) = (env.vrouter(), env.inst(1), env.inst(2));
    let enis = vec![
        EniSpec::new(&i1, "eth0", "pa1", 1, &[1], None),
        EniSpec::new(&i2, "eth0", "pa2", 2, &[2], None),
    ];
    (vr, i1, i2, enis)
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn from_nothing_to_two_instances_that_reach_each_other() {
    let env = Env::new();
    let (vr, i1, i2, enis) = two_instances(&env);
    let want = l3_state(&vr, &[i1.clone(), i2.clone()], &enis, &[]);
    assert_eq!(
        env.dp.observe().unwrap(),
        KernelState::default(),
        "nothing is eni's yet"
    );

    let ops = env.reconcile(&want);
    assert!(ops.iter().any(|o| matches!(o, Op::CreateVeth(_))));
    env.assert_converged(&want);
    assert!(env.dp.observe_all().unwrap().unmanaged.is_empty());

    let _echo = Echo::start(&i2);
    assert!(
        reachable(&i1, &format!("{NET}.2")),
        "instance 1 cannot reach instance 2"
    );
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn drift_behind_our_back_is_repaired() {
    let env = Env::new();
    let (vr, i1, i2, mut enis) = two_instances(&env);
    // A secondary ENI with two IPs and policy routing, so rules are covered too.
    enis.push(EniSpec::new(&i1, "eth1", "pb1", 3, &[11, 12], Some(1001)));
    let want = l3_state(&vr, &[i1.clone(), i2.clone()], &enis, &[]);
    env.reconcile(&want);
    env.assert_converged(&want);

    // (Not the primary's address: re-added, its connected /24 would queue behind eth1's in
    // the main table, and replies from .1 would leave through eth1 into the vrouter's
    // rp_filter. A property of the desired state for two NICs in one subnet, see the report.)
    ip(&["-n", &i2, "link", "del", "eth0"]);
    ip(&[
        "-n",
        &i1,
        "addr",
        "del",
        &format!("{NET}.12/24"),
        "dev",
        "eth1",
    ]);
    ip(&["-n", &vr, "route", "del", &format!("{NET}.11/32")]);
    ip(&[
        "-n",
        &i1,
        "rule",
        "del",
        "from",
        &format!("{NET}.12/32"),
        "lookup",
        "1001",
        "pref",
        "1001",
    ]);
    ip(&[
        "-n",
        &i1,
        "neigh",
        "add",
        "10.77.9.9",
        "lladdr",
        "00:16:3e:99:99:99",
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    in_ns(&vr, || {
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "0").unwrap()
    })
    .join()
    .unwrap();
    let mut drifted = env.dp.observe().unwrap();
    drifted.sysctls.retain(|k, _| want.sysctls.contains_key(k));
    assert_ne!(drifted, want);

    let ops = env.reconcile(&want);
    assert!(
        ops.iter().any(|o| matches!(o, Op::DelNeigh(_))),
        "the stray neighbour is removed: {ops:#?}"
    );
    env.assert_converged(&want);

    let _e1 = Echo::start(&i1);
    let _e2 = Echo::start(&i2);
    assert!(reachable(&i1, &format!("{NET}.2")));
    assert!(
        reachable(&i2, &format!("{NET}.1")),
        "{}",
        dump(&[&vr, &i1, &i2])
    );
    assert!(
        reachable(&i2, &format!("{NET}.11")),
        "the secondary ENI answers"
    );
    assert!(reachable(&i2, &format!("{NET}.12")));
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn foreign_namespaces_survive_plans_and_purge() {
    let mut env = Env::new();
    let (vr, i1, _, enis) = two_instances(&env);
    // Named like an instance, but eni never created it.
    let foreign = format!("i-t{}-foreign", env.tag);
    env.foreign_ns(&foreign);
    let want = l3_state(&vr, std::slice::from_ref(&i1), &enis[..1], &[]);
    env.reconcile(&want);
    env.assert_converged(&want);

    // A veth from the vrouter into the foreign namespace: seen, reported, never planned for.
    ip(&[
        "-n", &vr, "link", "add", "xf", "type", "veth", "peer", "name", "xg", "netns", &foreign,
    ]);
    let seen = env.dp.observe_all().unwrap();
    assert!(!seen.state.namespaces.contains(&foreign));
    assert!(
        seen.unmanaged
            .iter()
            .any(|u| u.ns == vr && u.what.contains("xf") && u.what.contains(&foreign)),
        "{:?}",
        seen.unmanaged
    );
    assert!(plan(&seen.state, &want).is_empty());

    // Wanting an instance of the foreign namespace's name fails instead of adopting it.
    let mut claim = want.clone();
    claim.namespaces.insert(foreign.clone());
    let err = env
        .dp
        .apply(&plan(&env.dp.observe().unwrap(), &claim))
        .unwrap_err();
    assert!(err.to_string().contains("not eni's"), "{err}");

    // Nor does any op reach into it.
    let err = env
        .dp
        .apply(&[Op::SetLoopbackUp(foreign.clone())])
        .unwrap_err();
    assert!(err.to_string().contains("not eni's"), "{err}");
    let lo = std::process::Command::new("ip")
        .args(["-n", &foreign, "-br", "link", "show", "lo"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&lo.stdout).contains("DOWN"),
        "the foreign loopback was touched"
    );

    let mut removed = env.dp.purge().unwrap();
    removed.sort();
    let mut expected = vec![vr.clone(), i1.clone()];
    expected.sort();
    assert_eq!(removed, expected);
    assert!(
        Path::new("/run/netns").join(&foreign).exists(),
        "the foreign namespace survives purge"
    );
    assert!(
        !Path::new("/run/netns").join(&vr).exists() && !Path::new("/run/netns").join(&i1).exists()
    );
    assert_eq!(env.dp.observe().unwrap(), KernelState::default());
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn an_eni_moves_make_before_break_under_traffic() {
    let env = Env::new();
    let (vr, i1, i2, enis) = two_instances(&env);
    let i3 = env.inst(3);
    let all = [i1.clone(), i2.clone(), i3.clone()];
    let before = l3_state(&vr, &all, &enis, &[]);
    env.reconcile(&before);
    env.assert_converged(&before);

    // ENI 2 (10.77.1.2, same MAC) moves from instance 2 to instance 3 through a new port.
    let mut moved = enis.clone();
    moved[1] = EniSpec {
        inst: i3.clone(),
        port: "pa3".into(),
        ..enis[1].clone()
    };
    let after = l3_state(&vr, &all, &moved, &[]);

    let _e2 = Echo::start(&i2);
    let _e3 = Echo::start(&i3);
    const PROBES: u32 = 1500;
    let probe = probe(&i1, &format!("{NET}.2"), PROBES, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let ops = env.reconcile(&after);
    let took = t.elapsed();
    let answered = probe.join().unwrap();
    let lost = PROBES - answered;
    eprintln!(
        "move: {} ops applied in {took:?}; {lost} of {PROBES} probes (1 ms apart) lost",
        ops.len()
    );

    let flip = ops
        .iter()
        .position(|o| matches!(o, Op::ReplaceRoute(k, t) if k.ns == vr && t.dev == "pa3"))
        .unwrap();
    let gone = ops
        .iter()
        .position(|o| matches!(o, Op::DeleteVeth(r) if r.name == "pa2"))
        .unwrap();
    assert!(flip < gone, "{ops:#?}");
    env.assert_converged(&after);
    assert!(lost <= 10, "{lost} probes lost during the move");
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn a_stopped_instance_has_its_links_down_and_restarts() {
    let env = Env::new();
    let (vr, i1, i2, enis) = two_instances(&env);
    let instances = [i1.clone(), i2.clone()];
    let running = l3_state(&vr, &instances, &enis, &[]);
    env.reconcile(&running);
    env.assert_converged(&running);

    let stopped = l3_state(&vr, &instances, &enis, std::slice::from_ref(&i2));
    env.reconcile(&stopped);
    env.assert_converged(&stopped);
    let seen = env.dp.observe().unwrap();
    let port = &seen.veths[&LinkRef::new(vr.clone(), "pa2")];
    assert!(!port.a.up && !port.b.up);
    let _e2 = Echo::start(&i2);
    assert!(
        probe(&i1, &format!("{NET}.2"), 3, Duration::from_millis(50))
            .join()
            .unwrap()
            == 0,
        "a stopped instance answers"
    );

    env.reconcile(&running);
    env.assert_converged(&running);
    // i1's ARP entry for .2 is still INCOMPLETE from the stopped phase: it retries once a
    // second, so the first answer may take up to a second.
    assert!(
        reachable(&i1, &format!("{NET}.2")),
        "{}",
        dump(&[&vr, &i1, &i2])
    );
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn replayed_ops_are_idempotent_and_real_failures_say_what_failed() {
    let env = Env::new();
    let (vr, i1, i2, mut enis) = two_instances(&env);
    let instances = [i1.clone(), i2.clone()];
    let base = l3_state(&vr, &instances, &enis, &[]);
    let build = env.reconcile(&base);
    enis.push(EniSpec::new(&i1, "eth1", "pb1", 3, &[11, 12], Some(1001)));
    let attached = l3_state(&vr, &instances, &enis, &[]);
    let attach = env.reconcile(&attached);
    let detach = env.reconcile(&base);

    // Every op again, in order: existing namespaces, pairs and rules, and deletes of what is
    // already gone, all succeed and change nothing.
    env.dp.apply(&build).unwrap();
    env.dp.apply(&detach).unwrap();
    env.assert_converged(&base);
    env.dp.apply(&attach).unwrap();
    env.dp.apply(&attach).unwrap();
    env.assert_converged(&attached);

    // A pair in the way that is not the one asked for is a failure, not a success.
    let Some(Op::CreateVeth(v)) = attach
        .iter()
        .find(|o| matches!(o, Op::CreateVeth(_)))
        .cloned()
    else {
        panic!("no veth")
    };
    let mut other = v.clone();
    other.b.mac = "00:16:3e:00:0f:0f".into();
    let err = env
        .dp
        .apply(&[Op::CreateVeth(other)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("link add eth1") && err.contains("File exists"),
        "{err}"
    );

    let bad = Op::ReplaceRoute(
        RouteKey {
            ns: vr.clone(),
            table: 254,
            dst: "10.77.2.0/24".into(),
        },
        RouteTarget {
            dev: "nosuchdev".into(),
            via: None,
            src: None,
            onlink: false,
        },
    );
    let err = env.dp.apply(&[bad]).unwrap_err().to_string();
    assert!(
        err.contains("route replace 10.77.2.0/24 dev nosuchdev")
            && err.contains("Cannot find device"),
        "{err}"
    );
    // Deleting an absent neighbour makes `ip -batch` exit without naming the line; the ops
    // around it still run.
    let gone = NeighKey {
        dev: LinkRef::new(vr.clone(), "pa1"),
        ip: "10.77.1.99".into(),
    };
    env.dp
        .apply(&[
            Op::DelNeigh(gone.clone()),
            Op::DelNeigh(gone),
            Op::SetLoopbackUp(vr.clone()),
        ])
        .unwrap();
    let err = env
        .dp
        .apply(&[Op::SetLoopbackUp(format!("{}absent", env.prefix))])
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
    env.assert_converged(&attached);
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn a_namespace_name_left_without_a_namespace_is_replaced() {
    let env = Env::new();
    let (vr, i1, _, enis) = two_instances(&env);
    // What a crash inside `ip netns add` leaves: the file under /run/netns, no mount on it.
    std::fs::create_dir_all("/run/netns").unwrap();
    std::fs::write(Path::new("/run/netns").join(&vr), "").unwrap();
    assert_eq!(env.dp.observe().unwrap(), KernelState::default());

    let want = l3_state(&vr, std::slice::from_ref(&i1), &enis[..1], &[]);
    env.reconcile(&want);
    env.assert_converged(&want);
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn a_ruleset_filters_forwarded_traffic_and_is_reloaded_when_changed_or_lost() {
    let env = Env::new();
    let (vr, i1, i2, enis) = two_instances(&env);
    let mut want = l3_state(&vr, &[i1.clone(), i2.clone()], &enis, &[]);
    let guard = |verdict: &str| {
        Ruleset::new(format!(
            "\tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;\n\
             \t\tip daddr {NET}.2 udp dport {ECHO_PORT} {verdict}\n\t}}"
        ))
    };
    want.rulesets.insert(vr.clone(), guard("drop"));
    let ops = env.reconcile(&want);
    assert!(ops.iter().any(|o| matches!(o, Op::LoadRuleset(..))));
    env.assert_converged(&want);
    let _echo = Echo::start(&i2);
    assert!(
        !reachable(&i1, &format!("{NET}.2")),
        "the drop rule let it through"
    );

    // A new text is a new digest: the table is replaced whole, and traffic flows.
    want.rulesets.insert(vr.clone(), guard("accept"));
    let ops = env.reconcile(&want);
    assert_eq!(ops.len(), 1, "{ops:#?}");
    env.assert_converged(&want);
    assert!(reachable(&i1, &format!("{NET}.2")));

    // Deleted behind our back: loaded again.
    ip(&[
        "netns", "exec", &vr, "nft", "delete", "table", "inet", "eni_sg",
    ]);
    assert!(!env.dp.observe().unwrap().rulesets.contains_key(&vr));
    env.reconcile(&want);
    env.assert_converged(&want);

    // No longer wanted: deleted.
    want.rulesets.clear();
    let ops = env.reconcile(&want);
    assert!(
        matches!(ops.as_slice(), [Op::DeleteRuleset(ns)] if *ns == vr),
        "{ops:#?}"
    );
    env.assert_converged(&want);
}

#[test]
#[cfg_attr(
    not(feature = "privileged-tests"),
    ignore = "needs root and network namespaces: cargo test --features privileged-tests"
)]
fn a_removed_nic_is_gone_when_apply_returns_and_can_come_back_at_once() {
    let env = Env::new();
    let (vr, i1, i2, enis) = two_instances(&env);
    let all = [i1.clone(), i2.clone()];
    let with = l3_state(&vr, &all, &enis, &[]);
    let without = l3_state(&vr, &all, &enis[..1], &[]);
    env.reconcile(&with);
    let _echo = Echo::start(&i2);
    let ip_json = |ns: &str, what: &[&str]| -> String {
        let out = std::process::Command::new("ip")
            .args(["-n", ns, "-j"])
            .args(what)
            .output()
            .expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let addr = format!("\"{NET}.2\"");
    for round in 0..3 {
        let ops = env.reconcile(&without);
        assert!(
            ops.iter()
                .any(|o| matches!(o, Op::DeleteVeth(r) if r.name == "pa2")),
            "{ops:#?}"
        );
        // Read straight from the kernel the moment apply returned: no NIC, address, route
        // or neighbour of the ENI is left (the kernel's teardown may still be finishing).
        let links = ip_json(&i2, &["link", "show"]);
        assert!(!links.contains("\"eth0\""), "round {round}: {links}");
        assert!(!ip_json(&i2, &["addr", "show"]).contains(&addr));
        assert!(!ip_json(&vr, &["link", "show"]).contains("\"pa2\""));
        assert!(!ip_json(&vr, &["route", "show"]).contains(&addr));
        assert!(!ip_json(&vr, &["neigh", "show"]).contains(&addr));
        env.assert_converged(&without);
        // The same names again straight away, while that teardown may still run.
        env.reconcile(&with);
        env.assert_converged(&with);
        assert!(
            reachable(&i1, &format!("{NET}.2")),
            "round {round}: {}",
            dump(&[&vr, &i1, &i2])
        );
    }
}
