//! The agent loop: long-poll the control plane for this host's desired state, reconcile,
//! report. The agent keeps a copy of its desired state and asks only for what changed after
//! its generation (a delta of whole VPC sections; everything on its first poll or when the
//! server's log no longer reaches back that far). A change that leaves the copy as it was
//! (another host's) needs no apply and no report, unless it may concern an EIP (any agent's
//! report completes an association whose ENI is attached nowhere). A poll that times out
//! with nothing new triggers a full reconcile, observing the kernel, so drift (a deleted
//! veth, a stray address, a missing route) is repaired within one resync period even when
//! nothing changed upstream.
//!
//! The report is what the kernel holds: it is sent only after the apply that converged the
//! host succeeded, and names exactly the attachments of the state applied. So an ENI the
//! control plane is detaching is reported gone (and becomes Available) only once its NIC,
//! addresses, routes and rules have left the kernel, and an attaching one is reported (and
//! becomes InUse) only once its NIC is configured. A failed apply reports nothing; the next
//! round observes the kernel afresh.

use crate::metadata::{Catalog, Service, Shared, Tokens};
use crate::render::{render_with, vpc_namespace};
use eni_dataplane::plan::plan;
use eni_dataplane::Dataplane;
use eni_types::hoststate::{AttachedEni, HostDelta, HostDesired, HostRegistration, HostReport};
use std::sync::Arc;
use std::time::Duration;

/// How an agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Base URL of the control plane, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// Bearer token of the internal API.
    pub token: String,
    pub host_id: String,
    /// Prefix of the namespaces the agent creates besides instance namespaces.
    pub prefix: String,
    /// Reconcile at least this often.
    pub resync: Duration,
    /// The host's zones, underlay address and capacity, registered with the control plane
    /// before the first round, after every failed one and every `reregister` (so a server
    /// that lost them, a new one, or one whose host was removed, learns them again); none: an
    /// unregistered host, served every instance of every zone that has no registered host.
    pub registrations: Vec<HostRegistration>,
    pub reregister: Duration,
    /// The MTU of every link the agent makes ([`crate::render::MTU`] by default).
    pub mtu: u32,
    /// Serve the instance metadata service (`100.100.100.200`) in every VPC router.
    pub metadata: bool,
}

/// Why one round failed (the loop logs it and tries again).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("control plane request failed")]
    Http(#[from] reqwest::Error),
    #[error("control plane answered {0}")]
    Status(u16),
    #[error(transparent)]
    Dataplane(#[from] eni_dataplane::DataplaneError),
    #[error("data plane task failed")]
    Join,
}

/// A running agent's state.
pub struct Agent {
    cfg: AgentConfig,
    dp: Arc<dyn Dataplane>,
    http: reqwest::Client,
    /// What the kernel holds, as of the last successful apply. A change upstream is planned
    /// against it (no observe on the hot path); a resync observes the kernel for real, which
    /// is what repairs drift.
    cache: Option<eni_dataplane::KernelState>,
    /// The desired state as of the last answer, kept up to date with the server's deltas.
    copy: HostDesired,
    /// The desired state the kernel held after the last successful apply (none: unknown).
    applied: Option<HostDesired>,
    /// What the metadata service answers from, and its listeners.
    catalog: Shared,
    metadata: Option<Service>,
}

impl Agent {
    pub fn new(cfg: AgentConfig, dp: Arc<dyn Dataplane>) -> Self {
        let catalog = Shared::default();
        let metadata = cfg
            .metadata
            .then(|| Service::new(catalog.clone(), Tokens::new(&cfg.token)));
        Agent {
            cfg,
            dp,
            http: reqwest::Client::new(),
            cache: None,
            copy: HostDesired::default(),
            applied: None,
            catalog,
            metadata,
        }
    }

    /// What the metadata service answers from now.
    pub fn metadata_catalog(&self) -> Arc<Catalog> {
        self.catalog.get()
    }

    /// Fetches the desired state, waiting up to `wait` for a generation above `since`.
    pub async fn fetch(
        &self,
        since: Option<u64>,
        wait: Duration,
    ) -> Result<HostDesired, AgentError> {
        self.get_desired(since, wait, false).await
    }

    /// As [`Agent::fetch`], but only what changed after `since` (everything without it).
    pub async fn fetch_delta(
        &self,
        since: Option<u64>,
        wait: Duration,
    ) -> Result<HostDelta, AgentError> {
        self.get_desired(since, wait, true).await
    }

    async fn get_desired<T: serde::de::DeserializeOwned>(
        &self,
        since: Option<u64>,
        wait: Duration,
        delta: bool,
    ) -> Result<T, AgentError> {
        let mut url = format!(
            "{}/internal/v1/hosts/{}/desired?wait_ms={}",
            self.cfg.server,
            self.cfg.host_id,
            wait.as_millis()
        );
        if delta {
            url.push_str("&delta=1");
        }
        if let Some(s) = since {
            url.push_str(&format!("&since={s}"));
        }
        let resp = self
            .http
            .get(url)
            .bearer_auth(&self.cfg.token)
            .timeout(wait + Duration::from_secs(10))
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(AgentError::Status(resp.status().as_u16()));
        }
        Ok(resp.json().await?)
    }

    /// Registers the host (`PUT /internal/v1/hosts/{host}`).
    pub async fn register(&self, reg: &HostRegistration) -> Result<(), AgentError> {
        let url = format!("{}/internal/v1/hosts/{}", self.cfg.server, self.cfg.host_id);
        let resp = self
            .http
            .put(url)
            .bearer_auth(&self.cfg.token)
            .json(reg)
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(AgentError::Status(resp.status().as_u16()));
        }
        Ok(())
    }

    async fn report(&self, report: &HostReport) -> Result<(), AgentError> {
        let url = format!(
            "{}/internal/v1/hosts/{}/report",
            self.cfg.server, self.cfg.host_id
        );
        let resp = self
            .http
            .post(url)
            .bearer_auth(&self.cfg.token)
            .json(report)
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(AgentError::Status(resp.status().as_u16()));
        }
        Ok(())
    }

    /// Converges the data plane to `desired` (observing the kernel first) and says which
    /// attachments are in place.
    pub async fn reconcile(&mut self, desired: HostDesired) -> Result<HostReport, AgentError> {
        self.cache = None;
        self.reconcile_fast(desired).await
    }

    /// As [`Agent::reconcile`], but plans against the state left by the last apply when there
    /// is one, skipping the observe.
    pub async fn reconcile_fast(&mut self, desired: HostDesired) -> Result<HostReport, AgentError> {
        let target = render_with(&self.cfg.prefix, self.cfg.mtu, &desired);
        // Until the kernel holds `desired`, the metadata shows only what both states have; if
        // the apply fails, that stays the most it may show.
        let shown = match &self.applied {
            Some(old) => crate::metadata::common(old, &desired),
            None => HostDesired::default(),
        };
        self.catalog.set(Catalog::of(&shown));
        self.applied = Some(shown);
        let dp = self.dp.clone();
        let cached = self.cache.take();
        let want = target.clone();
        type Applied = (
            Vec<String>,
            Result<(usize, Duration), eni_dataplane::DataplaneError>,
        );
        let (created, result) = tokio::task::spawn_blocking(move || -> Applied {
            let current = match cached {
                Some(c) => c,
                None => match dp.observe() {
                    Ok(c) => c,
                    Err(e) => return (Vec::new(), Err(e)),
                },
            };
            let started = std::time::Instant::now();
            let ops = plan(&current, &want);
            // A namespace made afresh (a router repaired, say) needs a new listener, whether
            // or not the rest of the apply goes through.
            let created = ops
                .iter()
                .filter_map(|op| match op {
                    eni_dataplane::Op::CreateNamespace(ns) => Some(ns.clone()),
                    _ => None,
                })
                .collect();
            let applied = dp.apply(&ops).map(|()| (ops.len(), started.elapsed()));
            (created, applied)
        })
        .await
        .map_err(|_| AgentError::Join)?;
        let prefix = self.cfg.prefix.clone();
        let ns_of = |v: &str| vpc_namespace(&prefix, v);
        let (applied, took) = match result {
            Ok(r) => r,
            Err(e) => {
                if let Some(m) = &mut self.metadata {
                    m.forget(&created, ns_of);
                }
                return Err(e.into());
            }
        };
        if applied > 0 {
            // apply_us: planning and applying, the agent's own step (no observe, no HTTP).
            tracing::info!(
                generation = desired.generation,
                ops = applied,
                apply_us = took.as_micros() as u64,
                "data plane converged"
            );
        }
        let report = report_of(&desired, &target);
        // The kernel now holds the target (sysctls it does not name are left as they were,
        // and the planner never looks at those).
        self.cache = Some(target);
        let catalog = Catalog::of(&desired);
        if let Some(m) = &mut self.metadata {
            m.listen_in(self.dp.as_ref(), &catalog.vpcs(), &created, ns_of);
        }
        self.catalog.set(catalog);
        self.applied = Some(desired);
        Ok(report)
    }

    /// Runs until `stop` resolves.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut since: Option<u64> = None;
        let mut registered: Option<std::time::Instant> = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            let wait = self.cfg.resync;
            let round = async {
                let due = registered.is_none_or(|at| at.elapsed() >= self.cfg.reregister);
                if since.is_none() || due {
                    for reg in &self.cfg.registrations {
                        self.register(reg).await?;
                    }
                    registered = Some(std::time::Instant::now());
                }
                let delta = self.fetch_delta(since, wait).await?;
                // Nothing new upstream means the poll timed out: time to look at the kernel.
                let timed_out = since == Some(delta.generation);
                // An EIP change may need any agent's report (one whose ENI is attached
                // nowhere completes on any), so it is reported even if this copy is unchanged.
                let must_report = delta.full || delta.internet.is_some();
                let generation = delta.generation;
                let mut before = std::mem::take(&mut self.copy);
                let mut copy = before.clone();
                copy.apply(delta);
                before.generation = copy.generation;
                let changed = copy != before;
                self.copy = copy.clone();
                if timed_out {
                    let report = self.reconcile(copy).await?;
                    self.report(&report).await?;
                } else if changed || must_report {
                    let report = self.reconcile_fast(copy).await?;
                    self.report(&report).await?;
                }
                // Otherwise the change was another host's: the kernel holds this copy already.
                Ok::<u64, AgentError>(generation)
            };
            tokio::select! {
                _ = &mut stop => return,
                r = round => match r {
                    Ok(g) => {
                        since = Some(g);
                        backoff = Duration::from_millis(100);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "agent round failed; retrying");
                        since = None;
                        tokio::select! {
                            _ = &mut stop => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                },
            }
        }
    }
}

/// The report of a successful apply of `applied` (the state rendered from `desired`): the
/// attachments whose NIC the kernel now holds — the ENI's MAC as `eth<DeviceIndex>` in its
/// instance's namespace — and the EIPs whose NAT is loaded. Every attachment left out has no
/// NIC: the apply removed it with everything on it.
pub fn report_of(desired: &HostDesired, applied: &eni_dataplane::KernelState) -> HostReport {
    let mut attached: Vec<AttachedEni> = desired
        .instances
        .iter()
        .flat_map(|i| {
            i.enis
                .iter()
                .filter(|e| {
                    let nic = eni_dataplane::model::LinkRef::new(
                        i.instance_id.clone(),
                        format!("eth{}", e.device_index),
                    );
                    applied.link(&nic).is_some_and(|l| l.mac == e.mac)
                })
                .map(|e| AttachedEni {
                    eni_id: e.eni_id.clone(),
                    instance_id: i.instance_id.clone(),
                })
        })
        .collect();
    attached.sort();
    let mut eips: Vec<String> = desired
        .vpcs
        .iter()
        .flat_map(|v| v.eips.iter().map(|e| e.eip.clone()))
        .collect();
    eips.sort();
    HostReport {
        generation: desired.generation,
        attached,
        eips,
    }
}
