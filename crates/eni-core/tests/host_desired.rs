//! `Core::host_desired` against a snapshot: a varied database (two accounts, two regions, VPCs
//! with and without IPv6, Running, Stopped and mid-transition instances, ENIs in every status,
//! secondary IPs, /28 and /80 prefixes, IPv6 addresses, groups with rules naming peer groups,
//! EIPs in every status, a classic instance) must always render to the same desired state.
//!
//! IDs, MACs and IPv6 addresses are random, so the output is compared after replacing each by
//! a stable name; the two lists ordered by ID (VPCs, a VPC's groups) are checked to be in ID
//! order and then sorted by name. `ENI_BLESS=1` rewrites `host_desired.snapshot.json`.

use eni_core::eip::{AllocateEip, AssociateEip, UnassociateEip};
use eni_core::eni::{AddressRequest, CreateEni};
use eni_core::instance::RunInstances;
use eni_core::security_group::CreateSecurityGroup;
use eni_core::security_group_rules::{AuthorizeRules, Direction, RuleInput};
use eni_core::vpc::{CreateVSwitch, CreateVpc};
use eni_core::{Caller, Catalog, Core, CoreConfig};
use eni_store::{with_read, with_write, EniQuery, Store, StoreError};
use eni_store_sqlite::SqliteStore;
use eni_types::hoststate::{AttachedEni, HostReport};
use eni_types::ids::{AccountId, InstanceId};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

const HZ: &str = "cn-hangzhou";
const BJ: &str = "cn-beijing";

/// The database under test and the stable name of every random value in it.
struct World {
    core: Core,
    store: Arc<SqliteStore>,
    names: BTreeMap<String, String>,
    /// (account, region) pairs that hold ENIs, for naming them afterwards.
    scopes: Vec<(AccountId, &'static str)>,
    _dir: tempfile::TempDir,
}

impl World {
    fn name(&mut self, real: impl ToString, alias: &str) -> String {
        let real = real.to_string();
        self.names.insert(real.clone(), alias.to_string());
        real
    }

    fn vpc(&mut self, c: &Caller, region: &str, cidr: &str, v6: bool, alias: &str) -> String {
        let id = self
            .core
            .create_vpc(
                c,
                CreateVpc {
                    region: region.into(),
                    cidr_block: Some(cidr.into()),
                    enable_ipv6: v6,
                    ..Default::default()
                },
            )
            .unwrap()
            .vpc_id;
        self.name(id, alias)
    }

    fn vswitch(
        &mut self,
        vpc: &str,
        zone: &str,
        cidr: &str,
        v6: Option<i64>,
        alias: &str,
    ) -> String {
        let id = self
            .core
            .create_vswitch(
                &self.caller_of_vpc(vpc),
                CreateVSwitch {
                    vpc_id: vpc.into(),
                    zone_id: zone.into(),
                    cidr_block: cidr.into(),
                    ipv6_cidr_block: v6,
                    ..Default::default()
                },
            )
            .unwrap()
            .vswitch_id;
        self.name(id, alias)
    }

    /// The account owning `vpc` (read from the store, so helpers need no caller argument).
    fn caller_of_vpc(&self, vpc: &str) -> Caller {
        let vpc = vpc.parse().unwrap();
        let mut found = None;
        for (account, region) in &self.scopes {
            let vpcs = with_read(&*self.store, |tx| tx.vpc_list(*account, region)).unwrap();
            if vpcs.iter().any(|v| v.id == vpc) {
                found = Some(*account);
            }
        }
        Caller {
            account: found.expect("a VPC of a known account"),
        }
    }

    fn group(&mut self, c: &Caller, region: &str, vpc: &str, alias: &str) -> String {
        let id = self
            .core
            .create_security_group(
                c,
                CreateSecurityGroup {
                    region: region.into(),
                    vpc_id: Some(vpc.into()),
                    ..Default::default()
                },
            )
            .unwrap();
        self.name(id, alias)
    }

    fn rule(&self, c: &Caller, region: &str, group: &str, direction: Direction, r: RuleInput) {
        self.core
            .authorize_security_group(
                c,
                AuthorizeRules {
                    region: region.into(),
                    group_id: group.into(),
                    direction,
                    rules: vec![r],
                },
            )
            .unwrap();
    }

    fn instance(&mut self, c: &Caller, region: &str, vsw: &str, sg: &str, alias: &str) -> String {
        let id = self
            .core
            .run_instances(
                c,
                RunInstances {
                    region: region.into(),
                    instance_type: "ecs.g7.large".into(),
                    vswitch_id: Some(vsw.into()),
                    security_group_id: Some(sg.into()),
                    amount: 1,
                    start: true,
                    ..Default::default()
                },
            )
            .unwrap()
            .remove(0);
        self.name(id, alias)
    }

    fn eni(
        &mut self,
        c: &Caller,
        region: &str,
        vsw: &str,
        groups: &[&str],
        addresses: AddressRequest,
        alias: &str,
    ) -> String {
        let id = self
            .core
            .create_network_interface(
                c,
                CreateEni {
                    region: region.into(),
                    vswitch_id: vsw.into(),
                    security_group_ids: groups.iter().map(|g| g.to_string()).collect(),
                    addresses,
                    name: Some(alias.into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .eni
            .id;
        self.name(id, alias)
    }

    fn report(&self, attached: &[(&str, &str)], eips: &[&str]) {
        self.core
            .apply_host_report(
                "h",
                &HostReport {
                    generation: 0,
                    attached: attached
                        .iter()
                        .map(|(e, i)| AttachedEni {
                            eni_id: e.to_string(),
                            instance_id: i.to_string(),
                        })
                        .collect(),
                    eips: eips.iter().map(|e| e.to_string()).collect(),
                },
            )
            .unwrap();
    }

    fn eip(&self, c: &Caller) -> (String, String) {
        let a = self
            .core
            .allocate_eip(
                c,
                AllocateEip {
                    region: HZ.into(),
                    ..Default::default()
                },
            )
            .unwrap();
        (a.allocation_id.to_string(), a.eip_address.to_string())
    }

    fn associate(&self, c: &Caller, eip: &str, target: &str, kind: &str, ip: Option<&str>) {
        self.associate_in(c, eip, target, kind, ip, None);
    }

    fn associate_in(
        &self,
        c: &Caller,
        eip: &str,
        target: &str,
        kind: &str,
        ip: Option<&str>,
        mode: Option<&str>,
    ) {
        self.core
            .associate_eip(
                c,
                AssociateEip {
                    region: HZ.into(),
                    allocation_id: eip.into(),
                    instance_id: target.into(),
                    instance_type: Some(kind.into()),
                    private_ip: ip.map(String::from),
                    mode: mode.map(String::from),
                    client_token: None,
                },
            )
            .unwrap();
    }

    /// Rewrites stored rows directly: transitions that are due but not yet persisted, which
    /// no API call leaves behind with a delay of 0.
    fn tamper(&self, f: impl FnMut(&mut dyn eni_store::Tx) -> Result<(), StoreError>) {
        with_write(&*self.store as &dyn Store, f).unwrap();
    }

    /// Names every ENI (primary ENIs after their instance), MAC and IPv6 value in the store.
    fn name_addresses(&mut self) {
        let scopes = self.scopes.clone();
        for (account, region) in scopes {
            let (enis, vswitches, vpcs) = with_read(&*self.store, |tx| {
                Ok::<_, StoreError>((
                    tx.eni_list(account, region, &EniQuery::default())?,
                    tx.vswitch_list(account, region, None)?,
                    tx.vpc_list(account, region)?,
                ))
            })
            .unwrap();
            for v in vpcs {
                if let (Some(block), Some(name)) =
                    (&v.ipv6_cidr_block, self.names.get(v.id.as_str()))
                {
                    let alias = format!("{name}.v6");
                    self.name(block, &alias);
                }
            }
            for v in vswitches {
                if let Some(block) = &v.ipv6_cidr_block {
                    let alias = format!("{}.v6", self.names[v.id.as_str()]);
                    self.name(block, &alias);
                }
            }
            for e in enis {
                let alias = match self.names.get(e.id.as_str()) {
                    Some(a) => a.clone(),
                    None => {
                        let inst = e.instance_id.as_ref().expect("a primary ENI");
                        let alias = format!("{}.eth0", self.names[inst.as_str()]);
                        self.name(&e.id, &alias);
                        alias
                    }
                };
                self.name(&e.mac, &format!("{alias}.mac"));
                let v6 = with_read(&*self.store, |tx| tx.ipv6_of(e.id.as_str())).unwrap();
                for (k, entry) in v6.iter().enumerate() {
                    self.name(&entry.addr, &format!("{alias}.v6.{k}"));
                }
            }
        }
    }
}

fn rule(protocol: &str, ports: &str) -> RuleInput {
    RuleInput {
        ip_protocol: Some(protocol.into()),
        port_range: Some(ports.into()),
        ..Default::default()
    }
}

fn addresses() -> AddressRequest {
    AddressRequest::default()
}

fn build() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("eni.db")).unwrap());
    let core = Core::new(
        store.clone(),
        Catalog::default(),
        CoreConfig {
            dataplane: true,
            transition_delay_ms: 0,
            ..CoreConfig::default()
        },
    );
    let a = Caller {
        account: core
            .ensure_root(Some(("ak".into(), "sk".into())))
            .unwrap()
            .key()
            .expect("a fresh store gets a root key")
            .account_id,
    };
    let b = Caller {
        account: core.create_account("b").unwrap().account.id,
    };
    let mut w = World {
        core,
        store,
        names: BTreeMap::new(),
        scopes: vec![(a.account, HZ), (b.account, HZ), (a.account, BJ)],
        _dir: dir,
    };

    // Account A, Hangzhou: a dual-stack VPC with an IPv6 vSwitch and an IPv4-only one.
    let vpc1 = w.vpc(&a, HZ, "10.0.0.0/16", true, "vpc1");
    let vsw_a = w.vswitch(&vpc1, "cn-hangzhou-h", "10.0.1.0/24", Some(1), "vswA");
    let vsw_b = w.vswitch(&vpc1, "cn-hangzhou-h", "10.0.2.0/24", None, "vswB");
    let web = w.group(&a, HZ, &vpc1, "sgWeb");
    let db = w.group(&a, HZ, &vpc1, "sgDb");
    let idle = w.group(&a, HZ, &vpc1, "sgIdle");
    w.rule(
        &a,
        HZ,
        &web,
        Direction::Ingress,
        RuleInput {
            source_cidr_ip: Some("0.0.0.0/0".into()),
            ..rule("tcp", "80/80")
        },
    );
    w.rule(
        &a,
        HZ,
        &web,
        Direction::Ingress,
        RuleInput {
            peer_group_id: Some(db.clone()),
            priority: Some("5".into()),
            ..rule("tcp", "22/22")
        },
    );
    w.rule(
        &a,
        HZ,
        &web,
        Direction::Ingress,
        RuleInput {
            ipv6_source_cidr_ip: Some("::/0".into()),
            ..rule("icmpv6", "-1/-1")
        },
    );
    w.rule(
        &a,
        HZ,
        &web,
        Direction::Egress,
        RuleInput {
            dest_cidr_ip: Some("10.0.0.0/8".into()),
            source_port_range: Some("1024/65535".into()),
            policy: Some("drop".into()),
            ..rule("udp", "53/53")
        },
    );
    w.rule(
        &a,
        HZ,
        &web,
        Direction::Ingress,
        RuleInput {
            peer_group_id: Some(idle.clone()),
            ..rule("all", "-1/-1")
        },
    );
    w.rule(
        &a,
        HZ,
        &db,
        Direction::Ingress,
        RuleInput {
            peer_group_id: Some(web.clone()),
            ..rule("tcp", "5432/5432")
        },
    );
    w.rule(
        &a,
        HZ,
        &db,
        Direction::Ingress,
        RuleInput {
            source_cidr_ip: Some("192.168.0.0/16".into()),
            dest_cidr_ip: Some("10.0.2.0/24".into()),
            ..rule("all", "-1/-1")
        },
    );
    w.rule(
        &a,
        HZ,
        &db,
        Direction::Egress,
        RuleInput {
            dest_cidr_ip: Some("0.0.0.0/0".into()),
            ..rule("tcp", "1/65535")
        },
    );
    w.core
        .modify_security_group_policy(&a, HZ, &db, "Drop")
        .unwrap();

    let inst1 = w.instance(&a, HZ, &vsw_b, &web, "inst1");
    let inst2 = w.instance(&a, HZ, &vsw_b, &db, "inst2");
    let inst3 = w.instance(&a, HZ, &vsw_a, &web, "inst3");
    w.core.stop_instance(&a, Some(HZ), &inst2).unwrap();

    let e1 = w.eni(
        &a,
        HZ,
        &vsw_a,
        &[&db, &web],
        AddressRequest {
            secondary_count: Some(2),
            ipv4_prefix_count: Some(1),
            ipv6_count: Some(2),
            ipv6_prefix_count: Some(1),
            ..addresses()
        },
        "e1",
    );
    let e2 = w.eni(&a, HZ, &vsw_b, &[&web], addresses(), "e2");
    let e3 = w.eni(&a, HZ, &vsw_a, &[&db], addresses(), "e3");
    let _e4 = w.eni(
        &a,
        HZ,
        &vsw_a,
        &[&web],
        AddressRequest {
            ipv6_count: Some(1),
            ..addresses()
        },
        "e4",
    );
    let e5 = w.eni(&a, HZ, &vsw_b, &[&db], addresses(), "e5");
    let e6 = w.eni(&a, HZ, &vsw_a, &[&web], addresses(), "e6");
    let e7 = w.eni(&a, HZ, &vsw_b, &[&web, &db], addresses(), "e7");
    // For the visible EIP modes, bound while detached (below).
    let e9 = w.eni(&a, HZ, &vsw_a, &[&web], addresses(), "e9");
    let e10 = w.eni(
        &a,
        HZ,
        &vsw_a,
        &[&web],
        AddressRequest {
            secondary_count: Some(1),
            ..addresses()
        },
        "e10",
    );
    // More addresses after creation, so an ENI's rows are not contiguous in the tables.
    w.core
        .assign_private_ips(&a, HZ, &e1, vec![], Some(1), vec![], Some(1), None)
        .unwrap();
    w.core
        .assign_ipv6(&a, HZ, &e1, vec![], Some(1), vec![], None, None)
        .unwrap();

    let core = &w.core;
    // e2 before e1: device order differs from the order the ENIs were created in. e2 is
    // left Attaching (no report names it).
    core.attach_network_interface(&a, HZ, &e2, &inst1).unwrap();
    core.attach_network_interface(&a, HZ, &e1, &inst1).unwrap();
    core.attach_network_interface(&a, HZ, &e3, &inst2).unwrap();
    core.attach_network_interface(&a, HZ, &e6, &inst2).unwrap();
    core.attach_network_interface(&a, HZ, &e5, &inst3).unwrap();

    // EIPs: one Associating (to an instance), one InUse (to a secondary IP), one never
    // associated, one Unassociating.
    let (eip1, _) = w.eip(&a);
    let (eip2, eip2_ip) = w.eip(&a);
    let _eip3 = w.eip(&a);
    let (eip4, eip4_ip) = w.eip(&a);
    let e1_secondary = w.core.eni_view(&a, HZ, &e1).unwrap().private_ips[1].to_string();
    w.associate(&a, &eip2, &e1, "NetworkInterface", Some(&e1_secondary));
    w.associate(&a, &eip4, &inst2, "EcsInstance", None);
    w.report(
        &[(&e1, &inst1), (&e3, &inst2), (&e6, &inst2)],
        &[&eip2_ip, &eip4_ip],
    );
    w.associate(&a, &eip1, &inst1, "EcsInstance", None);
    w.core
        .unassociate_eip(
            &a,
            UnassociateEip {
                region: HZ.into(),
                allocation_id: eip4,
                ..Default::default()
            },
        )
        .unwrap();
    // Left Detaching: no report follows.
    w.core
        .detach_network_interface(&a, HZ, &e3, &inst2)
        .unwrap();
    // Visible EIPs, bound to detached ENIs which are then attached: e9's BINDED EIP takes its
    // private address's place (out of its NIC and its groups' sets), e10's two MULTI_BINDED
    // EIPs sit beside its two addresses.
    let (eip5, _) = w.eip(&a);
    let (eip6, _) = w.eip(&a);
    let (eip7, _) = w.eip(&a);
    w.associate_in(&a, &eip5, &e9, "NetworkInterface", None, Some("BINDED"));
    for e in [&eip6, &eip7] {
        w.associate_in(&a, e, &e10, "NetworkInterface", None, Some("MULTI_BINDED"));
    }
    core.attach_network_interface(&a, HZ, &e9, &inst3).unwrap();
    let inst6 = w.instance(&a, HZ, &vsw_a, &web, "inst6");
    w.core
        .attach_network_interface(&a, HZ, &e10, &inst6)
        .unwrap();

    // Account B, Hangzhou: an IPv4-only VPC.
    let vpc2 = w.vpc(&b, HZ, "10.1.0.0/16", false, "vpc2");
    let vsw_c = w.vswitch(&vpc2, "cn-hangzhou-j", "10.1.1.0/24", None, "vswC");
    let sg_b = w.group(&b, HZ, &vpc2, "sgB");
    w.rule(
        &b,
        HZ,
        &sg_b,
        Direction::Ingress,
        RuleInput {
            source_cidr_ip: Some("0.0.0.0/0".into()),
            ..rule("tcp", "443/443")
        },
    );
    let inst4 = w.instance(&b, HZ, &vsw_c, &sg_b, "inst4");
    let e8 = w.eni(
        &b,
        HZ,
        &vsw_c,
        &[&sg_b],
        AddressRequest {
            private_ips: vec!["10.1.1.50".into(), "10.1.1.40".into()],
            ..addresses()
        },
        "e8",
    );
    w.core
        .attach_network_interface(&b, HZ, &e8, &inst4)
        .unwrap();

    // Account A, Beijing.
    let vpc3 = w.vpc(&a, BJ, "192.168.0.0/16", false, "vpc3");
    let vsw_d = w.vswitch(&vpc3, "cn-beijing-a", "192.168.1.0/24", None, "vswD");
    let sg_bj = w.group(&a, BJ, &vpc3, "sgBj");
    let _inst5 = w.instance(&a, BJ, &vsw_d, &sg_bj, "inst5");

    // Transitions due but not persisted: inst3 Stopping (reads as Stopped), e5 Attaching
    // (InUse), e6 Detaching (Available, so no NIC), e7 Deleting (gone for instances, still
    // listed by its VPC). And a classic instance (no VPC: skipped).
    let past = 1;
    let (acct, inst3_id) = (a.account, inst3.parse::<InstanceId>().unwrap());
    let ids: Vec<_> = [&e5, &e6, &e7].iter().map(|e| e.parse().unwrap()).collect();
    w.tamper(|tx| {
        let mut i = tx.instance_get(acct, &inst3_id)?.unwrap();
        i.status = "Stopping".into();
        i.due_at = Some(past);
        tx.instance_update(&i)?;
        let mut classic = i.clone();
        classic.id = InstanceId::generate(HZ);
        classic.vpc_id = None;
        classic.vswitch_id = None;
        classic.status = "Running".into();
        classic.due_at = None;
        tx.instance_insert(&classic)?;
        for (id, status) in ids.iter().zip(["Attaching", "Detaching", "Deleting"]) {
            let mut e = tx.eni_get(acct, id)?.unwrap();
            e.status = status.into();
            e.due_at = Some(past);
            tx.eni_update(&e)?;
        }
        Ok(())
    });
    w.name_addresses();
    w
}

/// Replaces every named value, checks the lists ordered by ID are, and sorts them by name.
fn normalize(v: &mut Value, names: &BTreeMap<String, String>) {
    fn rename(v: &mut Value, names: &BTreeMap<String, String>) {
        match v {
            Value::String(s) => {
                if let Some(n) = names.get(s.as_str()) {
                    *s = n.clone();
                }
            }
            Value::Array(xs) => xs.iter_mut().for_each(|x| rename(x, names)),
            Value::Object(m) => m.values_mut().for_each(|x| rename(x, names)),
            _ => {}
        }
    }
    fn by_id(xs: &mut Value, key: &str, names: &BTreeMap<String, String>) {
        let xs = xs.as_array_mut().unwrap();
        let ids: Vec<String> = xs.iter().map(|x| x[key].as_str().unwrap().into()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "{key} in ID order");
        xs.sort_by_key(|x| names[x[key].as_str().unwrap()].clone());
    }
    for vpc in v["vpcs"].as_array_mut().unwrap() {
        by_id(&mut vpc["security_groups"], "security_group_id", names);
    }
    by_id(&mut v["vpcs"], "vpc_id", names);
    rename(v, names);
}

#[test]
fn host_desired_matches_the_snapshot() {
    let w = build();
    let desired = w.core.host_desired("h").unwrap();
    assert_eq!(desired.generation, w.core.dataplane_generation().unwrap());
    let mut v = serde_json::to_value(&desired).unwrap();
    // The generation counts writes, not what they wrote.
    v["generation"] = Value::from(0);
    // An instance's default host name and its owner are random too: check, then name them.
    for inst in v["instances"].as_array_mut().unwrap() {
        let id = inst["instance_id"].as_str().unwrap().to_string();
        let meta = &mut inst["meta"];
        assert_eq!(meta["hostname"], format!("iZ{}Z", &id[2..]));
        assert!(meta["owner_account_id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit()));
        meta["hostname"] = Value::from("iZ<instance>Z");
        meta["owner_account_id"] = Value::from("<account>");
    }
    normalize(&mut v, &w.names);
    // Instances come by ID, which is random: list them by the names the IDs were given.
    if let Some(list) = v["instances"].as_array_mut() {
        list.sort_by(|a, b| a["instance_id"].as_str().cmp(&b["instance_id"].as_str()));
    }
    let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
    // Every random value has a name: no raw ID is left.
    for prefix in ["\"vpc-", "\"vsw-", "\"eni-", "\"i-", "\"sg-"] {
        assert!(!text.contains(prefix), "unnamed {prefix} in {text}");
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/host_desired.snapshot.json");
    if std::env::var_os("ENI_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        expected,
        "host_desired differs from {}",
        path.display()
    );
}
