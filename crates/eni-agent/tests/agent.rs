//! The control plane and an agent over real HTTP, with the fake data plane: attach reaches
//! InUse only once the agent has configured the NIC, detach reaches Available only once the
//! NIC is gone from the kernel (never while an apply fails), drift is repaired, and a
//! restarted agent changes nothing.

use eni_agent::{Agent, AgentConfig};
use eni_core::eni::CreateEni;
use eni_core::instance::RunInstances;
use eni_core::security_group::CreateSecurityGroup;
use eni_core::vpc::{CreateVSwitch, CreateVpc};
use eni_core::{Caller, Catalog, Core, CoreConfig};
use eni_dataplane::fake::FakeDataplane;
use eni_dataplane::model::LinkRef;
use eni_dataplane::{Dataplane, DataplaneError};
use eni_store_sqlite::SqliteStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const R: &str = "cn-hangzhou";

struct World {
    core: Core,
    caller: Caller,
    url: String,
    token: String,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("eni.db")).unwrap());
    let core = Core::new(
        store,
        Catalog::default(),
        CoreConfig {
            dataplane: true,
            transition_delay_ms: 0,
            ..CoreConfig::default()
        },
    );
    let caller = Caller {
        account: core
            .ensure_root(Some(("ak".into(), "sk".into())))
            .unwrap()
            .key()
            .expect("a fresh store gets a root key")
            .account_id,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let token = "agent-secret".to_string();
    let app = eni_api::router(eni_api::AppState::new(core.clone()).with_agent_token(&token));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    World {
        core,
        caller,
        url,
        token,
        _dir: dir,
    }
}

fn agent(w: &World, dp: Arc<dyn Dataplane>) -> Agent {
    Agent::new(config(w), dp)
}

/// Host h1, unregistered.
fn config(w: &World) -> AgentConfig {
    AgentConfig {
        server: w.url.clone(),
        token: w.token.clone(),
        host_id: "h1".into(),
        prefix: "eni-".into(),
        resync: Duration::from_millis(200),
        registrations: Vec::new(),
        reregister: Duration::from_secs(30),
        mtu: eni_agent::render::MTU,
        metadata: true,
    }
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// A VPC with a vSwitch (in cn-hangzhou-h) and a group: (VPC, vSwitch, group).
fn vswitch_and_group(w: &World) -> (String, String, String) {
    let c = &w.caller;
    blocking(|| {
        let vpc = w
            .core
            .create_vpc(
                c,
                CreateVpc {
                    region: R.into(),
                    cidr_block: Some("10.0.0.0/16".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let vsw = w
            .core
            .create_vswitch(
                c,
                CreateVSwitch {
                    vpc_id: vpc.vpc_id.to_string(),
                    zone_id: "cn-hangzhou-h".into(),
                    cidr_block: "10.0.1.0/24".into(),
                    ..Default::default()
                },
            )
            .unwrap()
            .vswitch_id
            .to_string();
        let sg = w
            .core
            .create_security_group(
                c,
                CreateSecurityGroup {
                    region: R.into(),
                    vpc_id: Some(vpc.vpc_id.to_string()),
                    ..Default::default()
                },
            )
            .unwrap()
            .to_string();
        (vpc.vpc_id.to_string(), vsw, sg)
    })
}

/// A VPC with a vSwitch, a group, a running instance and an Available ENI: (VPC, instance,
/// ENI).
fn network(w: &World) -> (String, String, String) {
    let c = &w.caller;
    let (vpc, vsw, sg) = vswitch_and_group(w);
    blocking(|| {
        let inst = w
            .core
            .run_instances(
                c,
                RunInstances {
                    region: R.into(),
                    instance_type: "ecs.g7.large".into(),
                    vswitch_id: Some(vsw.clone()),
                    security_group_id: Some(sg.clone()),
                    amount: 1,
                    start: true,
                    ..Default::default()
                },
            )
            .unwrap()[0]
            .to_string();
        let eni = w
            .core
            .create_network_interface(
                c,
                CreateEni {
                    region: R.into(),
                    vswitch_id: vsw.clone(),
                    security_group_id: Some(sg.clone()),
                    ..Default::default()
                },
            )
            .unwrap()
            .eni
            .id
            .to_string();
        (vpc, inst, eni)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_waits_for_the_agent_and_drift_is_repaired() {
    let w = world().await;
    let c = &w.caller;
    let (vpc, inst, eni) = network(&w);
    let fake = Arc::new(FakeDataplane::default());
    let stop = Arc::new(tokio::sync::Notify::new());
    let s = stop.clone();
    let handle = tokio::spawn(agent(&w, fake.clone()).run(async move { s.notified().await }));

    // The instance's namespace and primary NIC appear.
    let status = |id: &str| blocking(|| w.core.eni_view(c, R, id).unwrap().eni.status);
    eventually("instance namespace", || {
        fake.observe().unwrap().namespaces.contains(&inst)
    })
    .await;
    assert!(fake
        .observe()
        .unwrap()
        .namespaces
        .contains(&format!("eni-v-{vpc}")));

    blocking(|| w.core.attach_network_interface(c, R, &eni, &inst).unwrap());
    let nic = LinkRef::new(inst.clone(), "eth1");
    // InUse only once the NIC exists.
    eventually("InUse", || status(&eni) == "InUse").await;
    assert!(fake.observe().unwrap().link(&nic).is_some());

    // Drift: someone deletes the NIC; the next resync puts it back.
    let port = eni_agent::render::port_name(&eni, &inst);
    fake.tamper(|k| {
        k.veths.retain(|_, v| v.a.at.name != port);
    });
    eventually("repair", || fake.observe().unwrap().link(&nic).is_some()).await;

    // An EIP on the instance: Associating until the agent has its NAT in place, which links
    // the VPC's router to the simulated internet.
    let eip = blocking(|| {
        w.core
            .allocate_eip(
                c,
                eni_core::eip::AllocateEip {
                    region: R.into(),
                    ..Default::default()
                },
            )
            .unwrap()
    });
    let eip_status = || {
        blocking(|| {
            let page = w
                .core
                .describe_eips(
                    c,
                    eni_core::eip::DescribeEips {
                        region: R.into(),
                        allocation_ids: vec![eip.allocation_id.to_string()],
                        ..Default::default()
                    },
                )
                .unwrap();
            page.items[0].status.clone()
        })
    };
    let associate = eni_core::eip::AssociateEip {
        region: R.into(),
        allocation_id: eip.allocation_id.to_string(),
        instance_id: inst.clone(),
        ..Default::default()
    };
    blocking(|| w.core.associate_eip(c, associate).unwrap());
    eventually("EIP InUse", || eip_status() == "InUse").await;
    let router = format!("eni-v-{vpc}");
    let seen = fake.observe().unwrap();
    assert!(seen.namespaces.contains("eni-inet"));
    assert!(seen.rulesets.contains_key(&router));
    let unassociate = eni_core::eip::UnassociateEip {
        region: R.into(),
        allocation_id: eip.allocation_id.to_string(),
        ..Default::default()
    };
    blocking(|| w.core.unassociate_eip(c, unassociate).unwrap());
    eventually("EIP Available", || eip_status() == "Available").await;
    assert!(!fake.observe().unwrap().namespaces.contains("eni-inet"));

    blocking(|| w.core.detach_network_interface(c, R, &eni, &inst).unwrap());
    assert_eq!(status(&eni), "Detaching");
    eventually("Available", || status(&eni) == "Available").await;
    // Available means gone: no NIC, address, route or rule of the ENI is left.
    let seen = fake.observe().unwrap();
    assert!(seen.link(&nic).is_none());
    assert!(!seen.veths.keys().any(|k| k.name == port));
    assert!(!seen.addrs.iter().any(|a| a.dev == nic));
    assert!(!seen.rules.iter().any(|r| r.ns == inst && r.table == 1001));
    stop.notify_waiters();
    handle.await.unwrap();

    // A restarted agent plans nothing when nothing changed.
    let before = fake.applied();
    let mut again = agent(&w, fake.clone());
    let desired = again.fetch(None, Duration::from_millis(0)).await.unwrap();
    again.reconcile(desired).await.unwrap();
    assert_eq!(fake.applied(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_api_needs_the_token() {
    let w = world().await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/internal/v1/hosts/h1/desired?wait_ms=0", w.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{}/internal/v1/hosts/h1/desired?wait_ms=0", w.url))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{}/internal/v1/hosts/h1/desired?wait_ms=0", w.url))
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!(
            "{}/internal/v1/hosts/bad%20host/desired?wait_ms=0",
            w.url
        ))
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(format!("{}/internal/v1/hosts/h1/report", w.url))
        .bearer_auth(&w.token)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// The fake data plane, with applies that fail while `broken` is set (the kernel refusing a
/// change, say).
#[derive(Default)]
struct Flaky {
    fake: FakeDataplane,
    broken: AtomicBool,
}

impl Dataplane for Flaky {
    fn observe(&self) -> Result<eni_dataplane::KernelState, DataplaneError> {
        self.fake.observe()
    }

    fn apply(&self, ops: &[eni_dataplane::Op]) -> Result<(), DataplaneError> {
        if self.broken.load(Ordering::SeqCst) && !ops.is_empty() {
            return Err(DataplaneError::Failed {
                what: "apply".into(),
                detail: "broken on purpose".into(),
            });
        }
        self.fake.apply(ops)
    }

    fn listen(
        &self,
        ns: &str,
        addr: std::net::SocketAddr,
    ) -> Result<std::net::TcpListener, DataplaneError> {
        self.fake.listen(ns, addr)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_follows_the_kernel_even_when_an_apply_fails() {
    let w = world().await;
    let c = &w.caller;
    let (_vpc, inst, eni) = network(&w);
    let dp = Arc::new(Flaky::default());
    let stop = Arc::new(tokio::sync::Notify::new());
    let s = stop.clone();
    let handle = tokio::spawn(agent(&w, dp.clone()).run(async move { s.notified().await }));
    let status = |id: &str| blocking(|| w.core.eni_view(c, R, id).unwrap().eni.status);
    let nic = LinkRef::new(inst.clone(), "eth1");
    let has_nic = || dp.fake.observe().unwrap().link(&nic).is_some();
    eventually("instance namespace", || {
        dp.fake.observe().unwrap().namespaces.contains(&inst)
    })
    .await;

    // Attach while the kernel refuses: Attaching for as long as it does (several resyncs).
    dp.broken.store(true, Ordering::SeqCst);
    blocking(|| w.core.attach_network_interface(c, R, &eni, &inst).unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status(&eni), "Attaching");
    assert!(!has_nic());
    dp.broken.store(false, Ordering::SeqCst);
    eventually("InUse", || status(&eni) == "InUse").await;
    assert!(has_nic());

    // Detach while the kernel refuses: the NIC stays, and so does Detaching.
    dp.broken.store(true, Ordering::SeqCst);
    blocking(|| w.core.detach_network_interface(c, R, &eni, &inst).unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status(&eni), "Detaching");
    assert!(has_nic());
    dp.broken.store(false, Ordering::SeqCst);
    // Checked on every poll: the first time the API says Available, the NIC is gone.
    eventually("Available", || {
        let available = status(&eni) == "Available";
        assert!(!(available && has_nic()), "Available while {nic:?} exists");
        available
    })
    .await;
    stop.notify_waiters();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_agent_is_a_dedicated_host_that_takes_its_zones_instances() {
    let w = world().await;
    let a = Agent::new(
        AgentConfig {
            registrations: vec![eni_types::hoststate::HostRegistration {
                zone_id: "cn-hangzhou-h".into(),
                underlay_address: "192.0.2.10".into(),
                capacity_vcpus: 4,
            }],
            reregister: Duration::from_millis(100),
            ..config(&w)
        },
        Arc::new(FakeDataplane::default()),
    );
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopped = stop.clone();
    let running = tokio::spawn(a.run(async move { stopped.notified().await }));
    let caller = w.caller;
    let describe = move |core: &Core| {
        core.describe_dedicated_hosts(
            &caller,
            eni_core::hosts::DescribeDedicatedHosts {
                region: R.into(),
                ..Default::default()
            },
        )
        .unwrap()
        .items
    };
    let core = w.core.clone();
    eventually("the host is registered", || {
        let c = core.clone();
        blocking(move || describe(&c)).len() == 1
    })
    .await;
    let core = w.core.clone();
    let host = blocking(move || describe(&core)).remove(0);
    assert_eq!(
        (host.host.name.as_str(), host.host.zone_id.as_str()),
        ("h1", "cn-hangzhou-h")
    );
    assert_eq!((host.status, host.host.capacity_vcpus), ("Available", 4));
    // Its zone's instances go on it, until its 4 vCPUs are taken.
    let (_, vsw, sg) = vswitch_and_group(&w);
    let (core, caller) = (w.core.clone(), w.caller);
    let run = move |n: u32| {
        core.run_instances(
            &caller,
            RunInstances {
                region: R.into(),
                instance_type: "ecs.g7.large".into(),
                vswitch_id: Some(vsw.clone()),
                security_group_id: Some(sg.clone()),
                amount: n,
                start: true,
                ..Default::default()
            },
        )
    };
    let placed = blocking({
        let run = run.clone();
        move || run(2)
    })
    .unwrap();
    assert_eq!(placed.len(), 2);
    let err = blocking(move || run(1)).unwrap_err();
    assert_eq!(err.code(), "NoAvaliableDedicatedHost");
    let core = w.core.clone();
    let host = blocking(move || describe(&core)).remove(0);
    assert_eq!(host.used_vcpus, 4);
    assert_eq!(
        host.instances
            .iter()
            .map(|i| i.id.clone())
            .collect::<Vec<_>>(),
        placed
    );
    // Removed (its instances deleted first), the host comes back with its next registration.
    let core = w.core.clone();
    let caller = w.caller;
    let ids = placed.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    blocking(move || core.delete_instances(&caller, Some(R), &ids, true)).unwrap();
    let core = w.core.clone();
    blocking(move || core.remove_host("h1", None)).unwrap();
    let core = w.core.clone();
    eventually("the host is registered again", || {
        let c = core.clone();
        blocking(move || describe(&c)).len() == 1
    })
    .await;
    stop.notify_one();
    running.await.unwrap();
}

/// `desired?delta=1`: the whole state first (and for a generation the server cannot answer
/// from), then only the VPCs that changed; applied to the copy it equals the whole state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_api_answers_deltas_by_vpc() {
    let w = world().await;
    let (_vpc1, _inst1, _eni1) = network(&w);
    let (vpc2, inst2, eni2) = network(&w);
    let a = agent(&w, Arc::new(FakeDataplane::default()));
    let now = Duration::from_millis(0);
    let first = a.fetch_delta(None, now).await.unwrap();
    assert!(first.full);
    assert_eq!(first.instances.len(), 2);
    let mut copy = eni_types::hoststate::HostDesired::default();
    copy.apply(first.clone());
    blocking(|| {
        w.core
            .attach_network_interface(&w.caller, R, &eni2, &inst2)
            .unwrap()
    });
    let delta = a.fetch_delta(Some(first.generation), now).await.unwrap();
    assert!(!delta.full);
    assert_eq!(delta.changed_vpcs, vec![vpc2.clone()]);
    let vpcs: Vec<&str> = delta.vpcs.iter().map(|v| v.vpc_id.as_str()).collect();
    assert_eq!(vpcs, vec![vpc2.as_str()]);
    assert_eq!(delta.instances.len(), 1);
    assert_eq!(delta.instances[0].instance_id, inst2);
    assert_eq!(
        delta.instances[0].enis.len(),
        2,
        "the primary ENI and the attaching one"
    );
    assert_eq!(delta.internet, None, "no EIP moved");
    copy.apply(delta.clone());
    assert_eq!(copy, a.fetch(None, now).await.unwrap());
    // Nothing new: an empty delta at the same generation.
    let none = a.fetch_delta(Some(delta.generation), now).await.unwrap();
    assert!(!none.full && none.changed_vpcs.is_empty() && none.vpcs.is_empty());
    assert_eq!(none.generation, delta.generation);
    // A generation the server never had: the whole state.
    let ahead = a
        .fetch_delta(Some(delta.generation + 1000), now)
        .await
        .unwrap();
    assert!(ahead.full);
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{}/internal/v1/hosts/h1/desired?wait_ms=0&delta=2",
            w.url
        ))
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("InvalidParameter"));
}

/// The metadata service answers from the state the agent last applied: an instance is known
/// by its NICs' addresses once they are in the kernel, an attached NIC is listed after the
/// apply that made it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_catalog_follows_what_was_applied() {
    use eni_agent::metadata::{answer, Request, Tokens};
    let w = world().await;
    let c = &w.caller;
    let (vpc, inst, eni) = network(&w);
    let fake = Arc::new(FakeDataplane::default());
    let mut a = agent(&w, fake.clone());
    let tokens = Tokens::new("t");
    let ask = |a: &Agent, from: &str, path: &str| {
        let req = Request {
            method: "GET",
            path,
            ..Default::default()
        };
        let r = answer(
            &a.metadata_catalog(),
            &tokens,
            &vpc,
            from.parse().unwrap(),
            &req,
            0,
        );
        (r.status, String::from_utf8(r.body).unwrap())
    };
    let d = a.fetch(None, Duration::ZERO).await.unwrap();
    let primary_ip = d.instances[0].enis[0].private_ips[0].clone();
    assert_eq!(
        ask(&a, &primary_ip, "/latest/meta-data/instance-id").0,
        403,
        "nothing applied yet"
    );
    a.reconcile(d).await.unwrap();
    assert_eq!(
        ask(&a, &primary_ip, "/latest/meta-data/instance-id"),
        (200, inst.clone())
    );
    let macs = "/latest/meta-data/network/interfaces/macs/";
    assert_eq!(ask(&a, &primary_ip, macs).1.lines().count(), 1);
    blocking(|| w.core.attach_network_interface(c, R, &eni, &inst).unwrap());
    let d = a.fetch(None, Duration::ZERO).await.unwrap();
    let eni_ip = d.instances[0].enis[1].private_ips[0].clone();
    a.reconcile(d).await.unwrap();
    assert_eq!(ask(&a, &primary_ip, macs).1.lines().count(), 2);
    assert_eq!(
        ask(&a, &eni_ip, "/latest/meta-data/instance-id"),
        (200, inst.clone())
    );
}
