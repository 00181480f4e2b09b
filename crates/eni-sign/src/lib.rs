//! Alibaba Cloud request signatures, for both sides of the wire: the RPC HMAC-SHA1 signature
//! ("V2", spec §2.1) and ACS3-HMAC-SHA256 ("V3", spec §2.2), plus the shared percent-encoding
//! and form decoding. Pure functions only: no I/O, no clock, no async. The HTTP layer owns
//! parameter merging, time windows, nonce replay and access-key lookup (spec §2.3).

mod acs3;
mod encode;
mod rpc;

use std::fmt;

pub use acs3::{
    acs3_sign, acs3_sign_request, acs3_string_to_sign, acs3_verify, canonical_query,
    canonical_query_from_params, canonical_request, parse_authorization, payload_hash, Acs3Error,
    Acs3Request, Acs3SignParams, Acs3Signed, Authorization, ACS3_ALGORITHM, EMPTY_PAYLOAD_SHA256,
    REQUIRED_SIGNED_HEADERS,
};
pub use encode::{is_iso8601_utc_seconds, parse_form, pct};
pub use rpc::{
    rpc_canonicalized_query, rpc_sign, rpc_sign_params, rpc_string_to_sign, rpc_verify,
    RPC_SIGNATURE_METHOD, RPC_SIGNATURE_VERSION,
};

/// Prefix of the `SignatureDoesNotMatch` message. `go-sdk` and `py-core` parse the text after
/// the colon as the server string-to-sign (spec §1.5), so it must stay byte-exact.
pub const SIGNATURE_MISMATCH_PREFIX: &str =
    "Specified signature is not matched with our calculation. server string to sign is:";

/// The provided signature differs from the one computed by the server.
///
/// `Display` renders the exact `SignatureDoesNotMatch` message SDKs expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The string-to-sign the server computed.
    pub string_to_sign: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SIGNATURE_MISMATCH_PREFIX}{}", self.string_to_sign)
    }
}

impl std::error::Error for Mismatch {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_message_has_sdk_prefix_and_colon() {
        let m = Mismatch {
            string_to_sign: "GET&%2F&a%3Db".into(),
        };
        let msg = m.to_string();
        assert_eq!(
            msg,
            "Specified signature is not matched with our calculation. server string to sign is:GET&%2F&a%3Db"
        );
        // py-core evaluates Message.split(':')[1].
        assert_eq!(msg.split(':').nth(1), Some("GET&%2F&a%3Db"));
    }
}
