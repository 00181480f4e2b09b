//! The real data plane: network namespaces, veth pairs, addresses, routes, rules, permanent
//! neighbours, sysctls, bandwidth shapers (IFB + HTB, clsact u32 + mirred redirects) and
//! security-group rulesets (nftables) on this Linux host, through rtnetlink, `/proc/sys/net`
//! and `nft` (iproute2 to observe).
//!
//! Ownership. eni owns (1) every named namespace whose name starts with the prefix (the
//! per-VPC vrouters) and (2) every namespace it created, recorded as an empty marker file
//! `<state_dir>/netns/<name>`: instance namespaces carry the bare instance id, so the name
//! alone cannot tell them from someone else's. A marker is written *before* `ip netns add`
//! (a crash in between leaves a marker without a namespace, which `observe` drops) and
//! removed after `ip netns del`. `observe` reports owned namespaces that exist and nothing
//! else; creating a namespace that exists but is not owned fails.
//!
//! Veths. Both ends of a pair eni manages are in owned namespaces. A veth whose peer is in a
//! namespace eni does not own (or in an unnamed one, such as the host's) is left out of
//! [`KernelState`] together with its addresses, routes and neighbours, so no plan touches it;
//! [`LinuxDataplane::observe_all`] lists it under [`Observation::unmanaged`], as it does links
//! of other kinds and routes or rules the model cannot express. A pair is keyed by the end the
//! model calls `a`: the one in a prefixed namespace; if both or neither are, the smaller
//! `(ns, name)` (see [`crate::model::Veth`]).
//!
//! Shapers. Every IFB in an owned namespace is eni's (a shaper), as every veth between owned
//! namespaces is. Redirects are read from the clsact filters of managed veth ends in router
//! namespaces and in namespaces holding an IFB; filters at priorities eni does not use are
//! listed as unmanaged and left alone.
//!
//! Cost. `apply` changes the kernel in-process: rtnetlink requests (`netlink.rs`, built per op
//! in `requests.rs`) and sysctl writes from a thread that entered the namespace, tens of µs
//! each. Deleting a link is ≈1 ms: the link and everything on it are gone then, and the
//! kernel's ≈16 ms answer (it waits out an RCU barrier after the device is unlisted) is
//! awaited by a helper thread, not the step (`apply::delete_link`). It groups a plan's ops
//! into as few such steps as its order allows (see `apply.rs`). Observing, every few seconds, runs
//! iproute2 (`ip -batch`, and `tc -batch` in each router namespace and any namespace holding
//! an IFB), ≈1–2 ms per process start; namespaces are added and deleted with `ip netns`.

mod apply;
mod netlink;
mod netns;
mod observe;
mod requests;

use crate::model::{KernelState, Op, Veth};
use crate::{Dataplane, DataplaneError};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

/// Something in an owned namespace that the model does not cover and eni therefore leaves alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmanaged {
    pub ns: String,
    /// What it is, e.g. "veth p1: its peer is in namespace x, which is not eni's".
    pub what: String,
}

/// What [`LinuxDataplane::observe_all`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// What `observe` returns.
    pub state: KernelState,
    pub unmanaged: Vec<Unmanaged>,
}

/// The [`Dataplane`] of this host.
#[derive(Debug)]
pub struct LinuxDataplane {
    prefix: String,
    markers: netns::Markers,
    /// One reader or writer at a time: a marker and its namespace change together.
    lock: Mutex<()>,
}

/// The link group veths are moved into to be deleted in one go: a group delete waits for the
/// kernel's ≈16 ms teardown once, not once per pair.
const DOOMED_GROUP: u32 = 3_999;

impl LinuxDataplane {
    /// A data plane owning the namespaces named `prefix…` and those recorded under
    /// `state_dir/netns/`. The prefix must be non-empty, or eni would own every namespace.
    pub fn new(prefix: &str, state_dir: &Path) -> Result<Self, DataplaneError> {
        if prefix.is_empty() || !netns::valid_name(prefix) {
            return Err(DataplaneError::Failed {
                what: "LinuxDataplane::new".into(),
                detail: format!("invalid namespace prefix {prefix:?}"),
            });
        }
        Ok(LinuxDataplane {
            prefix: prefix.to_string(),
            markers: netns::Markers::new(state_dir),
            lock: Mutex::new(()),
        })
    }

    /// The tools this data plane runs that are not installed: `ip` and `tc` (iproute2) to
    /// observe and to add namespaces, `nft` (nftables) for security groups.
    pub fn missing_tools() -> Vec<&'static str> {
        netns::missing_tools()
    }

    /// The prefix of the namespaces eni owns by name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the namespace called `ns` is (or would be) eni's.
    pub fn owns(&self, ns: &str) -> bool {
        ns.starts_with(&self.prefix) || self.markers.has(ns)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guarded data is (), so a panic elsewhere cannot have left it inconsistent.
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Owned namespaces that exist; drops markers of namespaces that do not.
    fn owned_namespaces(&self) -> Result<Vec<String>, DataplaneError> {
        let present: BTreeSet<String> = netns::list()?.into_iter().collect();
        for m in self.markers.list()? {
            if !present.contains(&m) {
                self.markers.remove(&m)?;
            }
        }
        Ok(present.into_iter().filter(|n| self.owns(n)).collect())
    }

    /// The owned state plus what was seen but left alone.
    pub fn observe_all(&self) -> Result<Observation, DataplaneError> {
        let _g = self.guard();
        let names = self.owned_namespaces()?;
        let dumps = observe::dump_all(&names, &self.prefix)?;
        Ok(observe::assemble(&self.prefix, &dumps))
    }

    /// Deletes every owned namespace (and so every link in it) and every marker; returns the
    /// namespaces it deleted.
    pub fn purge(&self) -> Result<Vec<String>, DataplaneError> {
        let _g = self.guard();
        let names = self.owned_namespaces()?;
        for ns in &names {
            self.delete_namespace(ns)?;
        }
        for m in self.markers.list()? {
            self.markers.remove(&m)?;
        }
        Ok(names)
    }

    fn create_namespace(&self, ns: &str) -> Result<(), DataplaneError> {
        let what = || format!("ip netns add {ns}");
        if !netns::valid_name(ns) {
            return Err(DataplaneError::Failed {
                what: what(),
                detail: "not a valid namespace name".into(),
            });
        }
        if netns::exists(ns) {
            if !self.owns(ns) {
                return Err(DataplaneError::Failed {
                    what: what(),
                    detail: "the namespace exists and is not eni's".into(),
                });
            }
            if netns::usable(ns) {
                return Ok(());
            }
            // Our name with no namespace behind it (a crash inside `ip netns add`): clear it.
            netns::ip_host(&["netns", "del", ns])?;
        }
        self.markers.add(ns)?;
        if let Err(e) = netns::ip_host(&["netns", "add", ns]) {
            // Someone else may have created it meanwhile: do not claim theirs.
            self.markers.remove(ns)?;
            return Err(e);
        }
        Ok(())
    }

    /// Deletes an owned namespace: its veths first, in one group delete, so their far ends
    /// in other namespaces are gone when this returns (namespace teardown is asynchronous).
    fn delete_namespace(&self, ns: &str) -> Result<(), DataplaneError> {
        if !netns::exists(ns) {
            return self.markers.remove(ns);
        }
        if !self.owns(ns) {
            return Err(DataplaneError::Failed {
                what: format!("ip netns del {ns}"),
                detail: "the namespace is not eni's".into(),
            });
        }
        let veths = netns::in_netns(ns, || {
            let out = netns::ip(&["-j", "-d", "link", "show", "type", "veth"], "")?;
            let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
            Ok(v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l["ifname"].as_str().map(str::to_string))
                .collect::<Vec<_>>())
        });
        if let Ok(names) = veths {
            if !names.is_empty() {
                let mut batch: String = names
                    .iter()
                    .map(|n| format!("link set dev {n} group {DOOMED_GROUP}\n"))
                    .collect();
                batch += &format!("link del group {DOOMED_GROUP}\n");
                // Best effort: the namespace delete below removes them anyway, only later.
                let _ = netns::in_netns(ns, || netns::ip(&["-force", "-batch", "-"], &batch));
            }
        }
        netns::ip_host(&["netns", "del", ns])?;
        self.markers.remove(ns)
    }

    /// Whether the kernel holds exactly the pair `want` (up state aside).
    fn veth_exists_as(&self, want: &Veth) -> Result<bool, DataplaneError> {
        let mut names = vec![want.a.at.ns.clone(), want.b.at.ns.clone()];
        names.dedup();
        let dumps = observe::dump_all(&names, &self.prefix)?;
        let seen = observe::assemble(&self.prefix, &dumps).state;
        let shape = |e: &crate::model::LinkEnd| (e.at.clone(), e.mac.clone(), e.mtu);
        let mut want_ends = [shape(&want.a), shape(&want.b)];
        want_ends.sort();
        Ok(seen.veths.values().any(|v| {
            let mut ends = [shape(&v.a), shape(&v.b)];
            ends.sort();
            ends == want_ends
        }))
    }
}

impl Dataplane for LinuxDataplane {
    fn observe(&self) -> Result<KernelState, DataplaneError> {
        self.observe_all().map(|o| o.state)
    }

    fn apply(&self, ops: &[Op]) -> Result<(), DataplaneError> {
        let _g = self.guard();
        for step in apply::schedule(ops) {
            // Never reach into a namespace that is not eni's, whatever the plan says. (One
            // that does not exist has nothing to touch; creating one checks for itself.)
            for op in step
                .ops
                .iter()
                .filter(|o| !matches!(o, Op::CreateNamespace(_)))
            {
                if let Some(ns) = apply::namespaces_of(op)
                    .into_iter()
                    .find(|ns| netns::exists(ns) && !self.owns(ns))
                {
                    return Err(DataplaneError::Failed {
                        what: format!("{op:?}"),
                        detail: format!("namespace {ns} is not eni's"),
                    });
                }
            }
            match &step.exec {
                apply::Exec::Namespace => {
                    for op in &step.ops {
                        match op {
                            Op::CreateNamespace(ns) => self.create_namespace(ns)?,
                            Op::DeleteNamespace(ns) => self.delete_namespace(ns)?,
                            _ => unreachable!("only namespace ops run alone"),
                        }
                    }
                }
                apply::Exec::In(ns) => apply::run_step(ns, &step.ops, &|v| self.veth_exists_as(v))?,
                apply::Exec::Home => apply::run_home(&step.ops)?,
            }
        }
        Ok(())
    }

    fn listen(
        &self,
        ns: &str,
        addr: std::net::SocketAddr,
    ) -> Result<std::net::TcpListener, DataplaneError> {
        if !self.owns(ns) {
            return Err(DataplaneError::Failed {
                what: format!("listening on {addr} in {ns}"),
                detail: "not eni's namespace".into(),
            });
        }
        netns::in_existing_netns(ns, "eni-listen", || {
            let failed = |e: std::io::Error| DataplaneError::Failed {
                what: format!("listening on {addr} in {ns}"),
                detail: e.to_string(),
            };
            let l = std::net::TcpListener::bind(addr).map_err(failed)?;
            l.set_nonblocking(true).map_err(failed)?;
            Ok(l)
        })
    }
}
