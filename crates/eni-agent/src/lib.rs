//! The eni agent: a reconciler. Desired state comes in over HTTP from the control plane (it
//! never reads the database), [`render`] turns it into the kernel objects of the routed L3
//! design, the data plane is converged with one idempotent plan, and the configured ENIs are
//! reported back. Restarting the agent changes nothing that is already right, so traffic is
//! not disturbed. The agent also serves each of its instances' metadata service
//! ([`metadata`]).

pub mod agent;
pub mod metadata;
pub mod render;
pub mod security;

pub use agent::{Agent, AgentConfig};
