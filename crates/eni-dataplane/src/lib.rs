//! The data plane of eni behind a narrow trait.
//!
//! [`model::KernelState`] describes the kernel objects eni manages on a host (network
//! namespaces, links, addresses, routes, rules, neighbours, sysctls, and the IFB shapers and
//! tc redirects of per-instance bandwidth caps). A reconciler renders the desired state into
//! one, asks a [`Dataplane`] to [`observe`](Dataplane::observe) the current one, computes the
//! operations between them with [`plan::plan`], and hands them to
//! [`apply`](Dataplane::apply). Two implementations: [`fake::FakeDataplane`], an in-memory
//! kernel for tests, and `linux::LinuxDataplane`, the real one.
//!
//! Ownership: `observe` reports only objects eni created (namespaces with its prefix and the
//! instance namespaces it made), so a plan never touches anything else on the host.

pub mod fake;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod model;
pub mod plan;

pub use model::{KernelState, Op};

/// A data-plane failure.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// A command or kernel call failed; `what` says which, `detail` what it answered.
    #[error("{what} failed: {detail}")]
    Failed { what: String, detail: String },
    /// Reading the current state failed.
    #[error("observing the data plane failed: {0}")]
    Observe(String),
}

/// Observes and changes the kernel objects eni manages.
pub trait Dataplane: Send + Sync {
    /// The objects eni owns, as they are now.
    fn observe(&self) -> Result<KernelState, DataplaneError>;
    /// Applies `ops` in order. Each op is idempotent: applying it to a state where it already
    /// holds changes nothing and succeeds.
    fn apply(&self, ops: &[Op]) -> Result<(), DataplaneError>;
    /// A TCP listener on `addr` inside eni's namespace `ns` (the metadata service's, in a VPC
    /// router), non-blocking. A socket stays in the namespace it was made in, whichever thread
    /// uses it. The fake listens on the loopback of the test's own namespace instead.
    fn listen(
        &self,
        ns: &str,
        addr: std::net::SocketAddr,
    ) -> Result<std::net::TcpListener, DataplaneError>;
}
