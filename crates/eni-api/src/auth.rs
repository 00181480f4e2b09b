//! Request authentication: ACS3-HMAC-SHA256 (an `Authorization: ACS3-…` header, the current
//! SDKs' default) or the RPC HMAC-SHA1 signature (a `Signature` parameter). Both check, in
//! order: the key exists, the timestamp is well formed and within the window, the signature
//! matches (constant time, in `eni_sign`), and only then the nonce, so a forged request
//! cannot use up a nonce. The nonce comes back unrecorded ([`Nonce`]): the dispatcher has it
//! recorded before a read runs, or by the write transaction of a write.

use crate::params::RawRequest;
use eni_core::accounts::Nonce;
use eni_core::{AccessKey, Caller, Core};
use eni_sign::{Acs3Error, Acs3Request};
use eni_types::time::parse_utc;
use eni_types::{ApiError, Params};

/// How a request is signed, decided before anything else is read from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// An `Authorization: ACS3-…` header.
    Acs3,
    /// A `Signature` parameter (RPC HMAC-SHA1).
    Rpc,
    /// Neither: refused by [`authenticate`].
    None,
}

/// The signature scheme of a request.
pub fn scheme_of(req: &RawRequest<'_>, params: &Params) -> Scheme {
    if req
        .header("authorization")
        .is_some_and(|a| a.trim_start().starts_with("ACS3-"))
    {
        Scheme::Acs3
    } else if params.raw("Signature").is_some() {
        Scheme::Rpc
    } else {
        Scheme::None
    }
}

/// Authenticates the request, answering the caller it speaks for and the nonce to record.
pub fn authenticate(
    core: &Core,
    req: &RawRequest<'_>,
    params: &Params,
    scheme: Scheme,
) -> Result<(Caller, Nonce), ApiError> {
    match scheme {
        Scheme::Acs3 => acs3(core, req),
        Scheme::Rpc => rpc(core, req, params),
        Scheme::None => Err(ApiError::IncompleteSignature {
            detail:
                "The request has neither an ACS3 Authorization header nor a Signature parameter."
                    .into(),
        }),
    }
}

fn check_time(core: &Core, name: &str, value: &str) -> Result<i64, ApiError> {
    let t = parse_utc(value).ok_or_else(|| ApiError::IllegalTimestamp {
        value: format!("{name}={value}"),
    })?;
    if (eni_core::now() - t).abs() > core.config().signature_window_secs {
        return Err(ApiError::TimestampExpired);
    }
    Ok(t)
}

/// Verifies with `key` (from [`Core::access_key`], maybe a cached copy), and if the
/// signature does not match, with the stored key (its secret may have changed since the copy
/// was read).
fn verify_with_key<E>(
    core: &Core,
    key: AccessKey,
    verify: impl Fn(&AccessKey) -> Result<(), E>,
) -> Result<Result<AccessKey, E>, ApiError> {
    match verify(&key) {
        Ok(()) => Ok(Ok(key)),
        Err(first) => {
            let fresh = core.access_key_fresh(&key.id)?;
            if fresh.secret == key.secret {
                return Ok(Err(first));
            }
            Ok(verify(&fresh).map(|()| fresh))
        }
    }
}

fn rpc(core: &Core, req: &RawRequest<'_>, params: &Params) -> Result<(Caller, Nonce), ApiError> {
    for name in [
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
    ] {
        params.required(name)?;
    }
    if params.raw("SignatureMethod") != Some(eni_sign::RPC_SIGNATURE_METHOD) {
        return Err(ApiError::invalid_param_because(
            "SignatureMethod",
            "only HMAC-SHA1 is supported",
        ));
    }
    if params.raw("SignatureVersion") != Some(eni_sign::RPC_SIGNATURE_VERSION) {
        return Err(ApiError::invalid_param_because(
            "SignatureVersion",
            "only 1.0 is supported",
        ));
    }
    let key = core.access_key(params.required("AccessKeyId")?)?;
    let t = check_time(core, "Timestamp", params.required("Timestamp")?)?;
    let pairs = req.pairs();
    let signature = params.required("Signature")?;
    let key = verify_with_key(core, key, |key| {
        eni_sign::rpc_verify(&key.secret, req.method.as_str(), &pairs, signature)
    })?
    .map_err(|m| ApiError::SignatureDoesNotMatch {
        string_to_sign: m.string_to_sign,
    })?;
    let nonce = core.nonce(&key.id, params.required("SignatureNonce")?, t)?;
    Ok((
        Caller {
            account: key.account_id,
        },
        nonce,
    ))
}

fn acs3(core: &Core, req: &RawRequest<'_>) -> Result<(Caller, Nonce), ApiError> {
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let a = Acs3Request {
        method: req.method.as_str(),
        path: req.uri.path(),
        query: req.uri.query().unwrap_or(""),
        headers: &headers,
        body: req.body,
    };
    let authz = a.authorization().map_err(acs3_error)?;
    // The canonical query sorts repeated keys by value, but the last value is the one that
    // runs: reordering two values would change what runs under the same signature.
    let query = eni_sign::parse_form(a.query.as_bytes());
    let mut seen = std::collections::HashSet::with_capacity(query.len());
    if let Some((k, _)) = query.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return Err(ApiError::invalid_param_because(
            k,
            "a parameter may appear once in the query of an ACS3-signed request",
        ));
    }
    // content-type decides whether the body is read as parameters, so it must be signed
    // whenever it does.
    if req.has_form_body() && !authz.signed_headers.iter().any(|h| h == "content-type") {
        return Err(ApiError::IncompleteSignature {
            detail: "Header content-type must be signed when the body carries parameters.".into(),
        });
    }
    let key = core.access_key(&authz.access_key_id)?;
    let date = a
        .header("x-acs-date")
        .ok_or_else(|| ApiError::missing("x-acs-date"))?;
    let t = check_time(core, "x-acs-date", &date)?;
    let key = verify_with_key(core, key, |key| eni_sign::acs3_verify(&a, &key.secret))?
        .map_err(acs3_error)?;
    let nonce = a
        .header("x-acs-signature-nonce")
        .ok_or_else(|| ApiError::missing("x-acs-signature-nonce"))?;
    let nonce = core.nonce(&key.id, &nonce, t)?;
    Ok((
        Caller {
            account: key.account_id,
        },
        nonce,
    ))
}

fn acs3_error(e: Acs3Error) -> ApiError {
    match e {
        Acs3Error::MalformedAuthorization(why) => ApiError::IncompleteSignature {
            detail: format!("Authorization: {why}"),
        },
        Acs3Error::UnsupportedAlgorithm(alg) => {
            ApiError::invalid_param_because("Authorization", format!("unsupported algorithm {alg}"))
        }
        Acs3Error::MissingHeader(h) => ApiError::MissingParameter { name: h },
        Acs3Error::UnsignedHeader(h) => ApiError::IncompleteSignature {
            detail: format!("Header {h} must be signed."),
        },
        Acs3Error::PayloadHashMismatch { computed, .. } => ApiError::SignatureDoesNotMatch {
            string_to_sign: format!(
                "x-acs-content-sha256 does not match the body (sha256 {computed})"
            ),
        },
        Acs3Error::SignatureMismatch(m) => ApiError::SignatureDoesNotMatch {
            string_to_sign: m.string_to_sign,
        },
    }
}
