//! An in-memory kernel: the fake [`Dataplane`] that keeps the reconciler testable without root.
//!
//! It holds a whole host — eni's namespaces and foreign ones — and applies ops with the same
//! semantics the planner assumes ([`crate::plan::apply_op`]). `observe` reports only the
//! namespaces eni created, as the real implementation does.

use crate::model::{KernelState, Op, Ruleset};
use crate::plan::apply_op;
use crate::{Dataplane, DataplaneError};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// A fake host.
#[derive(Debug, Default)]
pub struct FakeDataplane {
    inner: Mutex<Host>,
}

#[derive(Debug, Default, Clone)]
struct Host {
    world: KernelState,
    owned: BTreeSet<String>,
    applied: usize,
}

impl FakeDataplane {
    /// A host whose kernel already holds `world`; `owned` are the namespaces eni made.
    pub fn with_world(world: KernelState, owned: BTreeSet<String>) -> Self {
        FakeDataplane {
            inner: Mutex::new(Host {
                world,
                owned,
                applied: 0,
            }),
        }
    }

    /// Everything on the host, eni's or not.
    pub fn world(&self) -> KernelState {
        self.inner.lock().expect("fake lock").world.clone()
    }

    /// How many ops have been applied so far.
    pub fn applied(&self) -> usize {
        self.inner.lock().expect("fake lock").applied
    }

    /// Changes the world behind eni's back (drift).
    pub fn tamper(&self, f: impl FnOnce(&mut KernelState)) {
        f(&mut self.inner.lock().expect("fake lock").world);
    }
}

/// The part of `world` inside `owned` namespaces.
pub fn restrict(world: &KernelState, owned: &BTreeSet<String>) -> KernelState {
    let own = |ns: &String| owned.contains(ns);
    KernelState {
        namespaces: world
            .namespaces
            .iter()
            .filter(|n| own(n))
            .cloned()
            .collect(),
        veths: world
            .veths
            .iter()
            .filter(|(_, v)| own(&v.a.at.ns) && own(&v.b.at.ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        loopback_up: world
            .loopback_up
            .iter()
            .filter(|n| own(n))
            .cloned()
            .collect(),
        addrs: world
            .addrs
            .iter()
            .filter(|a| own(&a.dev.ns))
            .cloned()
            .collect(),
        routes: world
            .routes
            .iter()
            .filter(|(k, _)| own(&k.ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        rules: world.rules.iter().filter(|r| own(&r.ns)).cloned().collect(),
        neighs: world
            .neighs
            .iter()
            .filter(|(k, _)| own(&k.dev.ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        sysctls: world
            .sysctls
            .iter()
            .filter(|(k, _)| own(&k.ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        shapers: world
            .shapers
            .iter()
            .filter(|(k, _)| own(&k.ns))
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        redirects: world
            .redirects
            .iter()
            .filter(|(k, _)| own(&k.port.ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        addr_redirects: world
            .addr_redirects
            .iter()
            .filter(|(k, _)| own(&k.port.ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        rulesets: world
            .rulesets
            .iter()
            .filter(|(ns, _)| own(ns))
            // The kernel gives back the digest, not the text.
            .map(|(ns, r)| (ns.clone(), Ruleset::observed(r.digest.clone())))
            .collect(),
        guest_ranges: BTreeSet::new(),
        vxlans: world
            .vxlans
            .iter()
            .filter(|(k, _)| own(&k.ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        fdbs: world
            .fdbs
            .iter()
            .filter(|(k, _)| own(&k.dev.ns))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

impl Dataplane for FakeDataplane {
    fn observe(&self) -> Result<KernelState, DataplaneError> {
        let h = self.inner.lock().expect("fake lock");
        let owned: BTreeSet<String> = h.owned.intersection(&h.world.namespaces).cloned().collect();
        Ok(restrict(&h.world, &owned))
    }

    fn apply(&self, ops: &[Op]) -> Result<(), DataplaneError> {
        let mut h = self.inner.lock().expect("fake lock");
        for op in ops {
            match op {
                Op::CreateNamespace(ns) => {
                    if h.world.namespaces.contains(ns) && !h.owned.contains(ns) {
                        return Err(DataplaneError::Failed {
                            what: format!("creating namespace {ns}"),
                            detail: "exists and is not eni's".into(),
                        });
                    }
                    h.owned.insert(ns.clone());
                }
                Op::DeleteNamespace(ns) => {
                    if !h.owned.contains(ns) {
                        return Err(DataplaneError::Failed {
                            what: format!("deleting namespace {ns}"),
                            detail: "not eni's".into(),
                        });
                    }
                    h.owned.remove(ns);
                }
                _ => {}
            }
            apply_op(&mut h.world, op);
            h.applied += 1;
        }
        Ok(())
    }

    fn listen(
        &self,
        ns: &str,
        addr: std::net::SocketAddr,
    ) -> Result<std::net::TcpListener, DataplaneError> {
        let failed = |detail: String| DataplaneError::Failed {
            what: format!("listening on {addr} in {ns}"),
            detail,
        };
        let h = self.inner.lock().expect("fake lock");
        if !h.owned.contains(ns) {
            return Err(failed("no such namespace of eni's".into()));
        }
        drop(h);
        // Nothing here routes to `addr`: the test's own loopback stands in for it.
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| failed(e.to_string()))?;
        l.set_nonblocking(true).map_err(|e| failed(e.to_string()))?;
        Ok(l)
    }
}
