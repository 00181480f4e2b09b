//! Pure address math for eni: IPv4 and IPv6 CIDR blocks, the vSwitch rules of Alibaba's VPC
//! (reserved addresses, mask ranges, forbidden ranges), and MAC addresses. No I/O.
//!
//! A vSwitch reserves its first address and its last three (the gateway is the last-but-two),
//! so a /24 has 252 usable addresses.

mod cidr;
mod mac;

pub use cidr::{CidrError, Ipv4Cidr, Ipv6Cidr, FORBIDDEN_V4};
pub use mac::Mac;
