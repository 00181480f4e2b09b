//! Wire layer of eni: typed, prefixed resource IDs, the request parameter map with its
//! flattening rules (`Name.N`, `Name.Field`, JSON-array strings), and [`ApiError`], the one
//! error enum whose variants own their Alibaba error code and HTTP status.
//!
//! This crate does no I/O and has no async; every other crate depends on it.

pub mod error;
pub mod hoststate;
pub mod ids;
pub mod params;
pub mod time;

pub use error::ApiError;
pub use params::Params;
