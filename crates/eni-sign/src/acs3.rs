//! ACS3-HMAC-SHA256 signature ("V3", spec §2.2): `Authorization` parsing, canonical request,
//! string-to-sign, verification with the §2.3 checks, and a client-side signing helper.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::encode::{ct_eq, parse_form, pct};
use crate::Mismatch;

/// The only V3 algorithm supported (the default of every SDK config we target).
pub const ACS3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Lower-case hex SHA-256 of an empty body.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Headers that must be listed in `SignedHeaders` (§2.3, doc 2593177); each must also be
/// present in the request.
pub const REQUIRED_SIGNED_HEADERS: [&str; 6] = [
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
];

/// Why an ACS3 request failed verification. The HTTP layer maps these to Alibaba codes:
/// `MalformedAuthorization`/`MissingHeader`/`UnsignedHeader` → `IncompleteSignature` or
/// `MissingParameter`, `UnsupportedAlgorithm` → `InvalidParameter`, the rest →
/// `SignatureDoesNotMatch`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Acs3Error {
    /// The `Authorization` header could not be parsed.
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(&'static str),
    /// The algorithm is not `ACS3-HMAC-SHA256`.
    #[error("unsupported signature algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A required header (or one listed in `SignedHeaders`) is absent from the request.
    #[error("missing header: {0}")]
    MissingHeader(String),
    /// A required header is present but not listed in `SignedHeaders`.
    #[error("header {0} must be signed")]
    UnsignedHeader(String),
    /// `x-acs-content-sha256` is not the SHA-256 of the body.
    #[error("x-acs-content-sha256 {provided} does not match the body hash {computed}")]
    PayloadHashMismatch {
        /// Value of the `x-acs-content-sha256` header.
        provided: String,
        /// Lower-case hex SHA-256 of the received body.
        computed: String,
    },
    /// The signature does not match; `Display` is the SDK-compatible message.
    #[error(transparent)]
    SignatureMismatch(#[from] Mismatch),
}

/// A received request, as much of it as V3 signing covers.
#[derive(Debug, Clone, Copy)]
pub struct Acs3Request<'a> {
    /// HTTP method as received (`POST`, `GET`, ...).
    pub method: &'a str,
    /// Request path as received (`/` for RPC-style APIs); empty is treated as `/`.
    pub path: &'a str,
    /// Raw query string without the leading `?` (still percent-encoded).
    pub query: &'a str,
    /// All request headers; names in any case, repeated names allowed.
    pub headers: &'a [(String, String)],
    /// Raw body bytes.
    pub body: &'a [u8],
}

impl Acs3Request<'_> {
    /// Canonical value of header `name` (case-insensitive): each value trimmed, values sorted
    /// and joined with `,`. `None` if the header is absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        Some(values.join(","))
    }

    /// Finds and parses the `Authorization` header, e.g. to learn the access key id before
    /// looking up its secret.
    pub fn authorization(&self) -> Result<Authorization, Acs3Error> {
        let value = self
            .header("authorization")
            .ok_or_else(|| Acs3Error::MissingHeader("authorization".into()))?;
        parse_authorization(&value)
    }
}

/// A parsed `Authorization: <Alg> Credential=<AK>,SignedHeaders=<h1;h2>,Signature=<hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// E.g. `ACS3-HMAC-SHA256` (not validated by the parser).
    pub algorithm: String,
    /// The `Credential` value: the access key id.
    pub access_key_id: String,
    /// Lower-cased header names in the order given.
    pub signed_headers: Vec<String>,
    /// Hex signature as sent.
    pub signature: String,
}

/// Parses an `Authorization` header value. Lenient where SDKs might differ: whitespace
/// around parts and after commas, case of the field names, unknown extra fields.
pub fn parse_authorization(value: &str) -> Result<Authorization, Acs3Error> {
    use Acs3Error::MalformedAuthorization as Malformed;

    let (algorithm, rest) = value
        .trim()
        .split_once(|c: char| c.is_ascii_whitespace())
        .ok_or(Malformed("expected '<algorithm> <fields>'"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or(Malformed("field without '='"))?;
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "credential" => credential = Some(v),
            "signedheaders" => signed = Some(v),
            "signature" => signature = Some(v),
            _ => {}
        }
    }
    let credential = credential
        .filter(|c| !c.is_empty())
        .ok_or(Malformed("missing Credential"))?;
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or(Malformed("missing Signature"))?;
    let signed_headers: Vec<String> = signed
        .ok_or(Malformed("missing SignedHeaders"))?
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err(Malformed("empty name in SignedHeaders"));
    }
    Ok(Authorization {
        algorithm: algorithm.to_string(),
        access_key_id: credential.to_string(),
        signed_headers,
        signature: signature.to_string(),
    })
}

/// Lower-case hex SHA-256 of the body (`HashedRequestPayload`).
pub fn payload_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// `CanonicalQueryString` from decoded params: sorted by key then value, `pct(k)=pct(v)`
/// joined with `&` (empty value → `k=`). Also a valid encoded query string to send.
pub fn canonical_query_from_params(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `CanonicalQueryString` from a raw query string (decoded with form rules first, so `+` and
/// `%20` spellings canonicalize identically). Form-body params never belong here.
pub fn canonical_query(raw_query: &str) -> String {
    canonical_query_from_params(&parse_form(raw_query.as_bytes()))
}

/// Builds the canonical request (§2.2 step 6) over `signed_headers` (lower-case, in the order
/// given). The payload hash is computed from the body, not taken from the header.
pub fn canonical_request(
    req: &Acs3Request<'_>,
    signed_headers: &[String],
) -> Result<String, Acs3Error> {
    let mut headers = String::new();
    for name in signed_headers {
        let value = req
            .header(name)
            .ok_or_else(|| Acs3Error::MissingHeader(name.clone()))?;
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&value);
        headers.push('\n');
    }
    let path = if req.path.is_empty() { "/" } else { req.path };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        path,
        canonical_query(req.query),
        headers,
        signed_headers.join(";"),
        payload_hash(req.body)
    ))
}

/// `ACS3-HMAC-SHA256 + "\n" + hex(SHA-256(canonical_request))`.
pub fn acs3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "{ACS3_ALGORITHM}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// Lower-case hex `HMAC-SHA256(secret, string_to_sign)` (no `&` suffix, unlike RPC).
pub fn acs3_sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Verifies a V3 request with the secret of its `Credential` (get the id first with
/// [`Acs3Request::authorization`]). Checks, in order: Authorization syntax, algorithm,
/// required headers present and signed, payload hash, signature (constant time).
/// Time window and nonce replay are the caller's job.
pub fn acs3_verify(req: &Acs3Request<'_>, secret: &str) -> Result<(), Acs3Error> {
    let auth = req.authorization()?;
    if auth.algorithm != ACS3_ALGORITHM {
        return Err(Acs3Error::UnsupportedAlgorithm(auth.algorithm));
    }
    for name in REQUIRED_SIGNED_HEADERS {
        if req.header(name).is_none() {
            return Err(Acs3Error::MissingHeader(name.into()));
        }
        if !auth.signed_headers.iter().any(|h| h == name) {
            return Err(Acs3Error::UnsignedHeader(name.into()));
        }
    }
    let computed = payload_hash(req.body);
    let provided = req.header("x-acs-content-sha256").unwrap_or_default();
    // Hex case is not semantically meaningful; SDKs send lower case.
    if !provided.eq_ignore_ascii_case(&computed) {
        return Err(Acs3Error::PayloadHashMismatch { provided, computed });
    }
    let string_to_sign = acs3_string_to_sign(&canonical_request(req, &auth.signed_headers)?);
    let expected = acs3_sign(secret, &string_to_sign);
    if ct_eq(
        expected.as_bytes(),
        auth.signature.to_ascii_lowercase().as_bytes(),
    ) {
        Ok(())
    } else {
        Err(Mismatch { string_to_sign }.into())
    }
}

/// Client-side input for [`acs3_sign_request`].
#[derive(Debug, Clone, Copy)]
pub struct Acs3SignParams<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Request path, e.g. `/`.
    pub path: &'a str,
    /// Query parameters (unencoded).
    pub query: &'a [(String, String)],
    /// Body bytes (empty for the SDK default shape).
    pub body: &'a [u8],
    /// Value of the `host` header, including any port.
    pub host: &'a str,
    /// `x-acs-action`.
    pub action: &'a str,
    /// `x-acs-version`.
    pub version: &'a str,
    /// `x-acs-date`, `yyyy-MM-ddTHH:mm:ssZ`.
    pub date: &'a str,
    /// `x-acs-signature-nonce`.
    pub nonce: &'a str,
    /// Access key id (`Credential`).
    pub access_key_id: &'a str,
    /// Access key secret.
    pub secret: &'a str,
    /// Additional headers to send and sign, e.g. `content-type` for a form body or
    /// `x-acs-security-token`. Names are lower-cased.
    pub extra_headers: &'a [(String, String)],
}

/// What to send for a request signed by [`acs3_sign_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acs3Signed {
    /// Encoded query string (no leading `?`), in canonical order.
    pub query: String,
    /// Headers to send, lower-case names, ending with `authorization`.
    pub headers: Vec<(String, String)>,
}

/// Client side: builds and signs a V3 request the way the Go SDK does (signs `host`,
/// the `x-acs-*` headers and any `extra_headers`).
pub fn acs3_sign_request(p: &Acs3SignParams<'_>) -> Acs3Signed {
    let query = canonical_query_from_params(p.query);
    let mut headers: Vec<(String, String)> = [
        ("host", p.host),
        ("x-acs-action", p.action),
        ("x-acs-version", p.version),
        ("x-acs-date", p.date),
        ("x-acs-signature-nonce", p.nonce),
        ("x-acs-content-sha256", &payload_hash(p.body)),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    headers.extend(
        p.extra_headers
            .iter()
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.clone())),
    );
    let mut signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    signed.sort();
    signed.dedup();

    let req = Acs3Request {
        method: p.method,
        path: p.path,
        query: &query,
        headers: &headers,
        body: p.body,
    };
    let canonical = canonical_request(&req, &signed).expect("every signed header was just added");
    let signature = acs3_sign(p.secret, &acs3_string_to_sign(&canonical));
    headers.push((
        "authorization".into(),
        format!(
            "{ACS3_ALGORITHM} Credential={},SignedHeaders={},Signature={signature}",
            p.access_key_id,
            signed.join(";")
        ),
    ));
    Acs3Signed { query, headers }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_SIG: &str = "324e885eb94fc45183619b24a1e9154c034199b97835c3046ad6530105c2cece";
    const VECTOR_SIGNED: &str =
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version";

    fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Headers of the §2.2 worked vector, mixed case and in arbitrary order on purpose.
    fn vector_headers(authorization: &str) -> Vec<(String, String)> {
        owned(&[
            ("X-Acs-Version", "2014-05-26"),
            ("Host", "ecs.cn-hangzhou.aliyuncs.com"),
            ("x-acs-action", "DescribeNetworkInterfaces"),
            ("x-acs-date", "2024-01-01T12:00:00Z"),
            ("x-acs-signature-nonce", "3ee8c1b883d344afa94f4e0ad82fd6cf"),
            ("x-acs-content-sha256", EMPTY_PAYLOAD_SHA256),
            ("Content-Length", "0"),
            ("Authorization", authorization),
        ])
    }

    const VECTOR_QUERY: &str = "RegionId=cn-hangzhou&NetworkInterfaceId.1=eni-bp1aaaa&NetworkInterfaceId.2=eni-bp1bbbb&MaxResults=100";

    fn vector_auth() -> String {
        format!("ACS3-HMAC-SHA256 Credential=testid,SignedHeaders={VECTOR_SIGNED},Signature={VECTOR_SIG}")
    }

    fn req<'a>(headers: &'a [(String, String)], query: &'a str, body: &'a [u8]) -> Acs3Request<'a> {
        Acs3Request {
            method: "POST",
            path: "/",
            query,
            headers,
            body,
        }
    }

    #[test]
    fn worked_vector() {
        let headers = vector_headers(&vector_auth());
        let r = req(&headers, VECTOR_QUERY, b"");
        let auth = r.authorization().unwrap();
        assert_eq!(auth.access_key_id, "testid");
        assert_eq!(auth.signed_headers.join(";"), VECTOR_SIGNED);

        let creq = canonical_request(&r, &auth.signed_headers).unwrap();
        assert_eq!(
            creq,
            "POST\n/\n\
             MaxResults=100&NetworkInterfaceId.1=eni-bp1aaaa&NetworkInterfaceId.2=eni-bp1bbbb&RegionId=cn-hangzhou\n\
             host:ecs.cn-hangzhou.aliyuncs.com\n\
             x-acs-action:DescribeNetworkInterfaces\n\
             x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             x-acs-date:2024-01-01T12:00:00Z\n\
             x-acs-signature-nonce:3ee8c1b883d344afa94f4e0ad82fd6cf\n\
             x-acs-version:2014-05-26\n\
             \n\
             host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let sts = acs3_string_to_sign(&creq);
        assert_eq!(
            sts,
            "ACS3-HMAC-SHA256\n11771c8bc416ea42de38d212da7be5da05e5c0483ab1642400c584ffd3ff4e64"
        );
        assert_eq!(acs3_sign("testsecret", &sts), VECTOR_SIG);
        assert_eq!(acs3_verify(&r, "testsecret"), Ok(()));
    }

    #[test]
    fn client_helper_reproduces_worked_vector() {
        let query = parse_form(VECTOR_QUERY.as_bytes());
        let signed = acs3_sign_request(&Acs3SignParams {
            method: "POST",
            path: "/",
            query: &query,
            body: b"",
            host: "ecs.cn-hangzhou.aliyuncs.com",
            action: "DescribeNetworkInterfaces",
            version: "2014-05-26",
            date: "2024-01-01T12:00:00Z",
            nonce: "3ee8c1b883d344afa94f4e0ad82fd6cf",
            access_key_id: "testid",
            secret: "testsecret",
            extra_headers: &[],
        });
        assert_eq!(
            signed.query,
            "MaxResults=100&NetworkInterfaceId.1=eni-bp1aaaa&NetworkInterfaceId.2=eni-bp1bbbb&RegionId=cn-hangzhou"
        );
        let names: Vec<&str> = signed.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "host",
                "x-acs-action",
                "x-acs-version",
                "x-acs-date",
                "x-acs-signature-nonce",
                "x-acs-content-sha256",
                "authorization"
            ]
        );
        assert_eq!(signed.headers.last().unwrap().1, vector_auth());
    }

    #[test]
    fn round_trip_with_escaped_query_and_sts_token() {
        let query = owned(&[
            ("Description", "hello world *~+/é"),
            ("Tag.1.Key", "k1"),
            ("Empty", ""),
            ("Tag.1.Value", "v 1"),
        ]);
        let extra = owned(&[("X-Acs-Security-Token", "tok")]);
        let signed = acs3_sign_request(&Acs3SignParams {
            method: "POST",
            path: "/",
            query: &query,
            body: b"",
            host: "127.0.0.1:18080",
            action: "CreateNetworkInterface",
            version: "2014-05-26",
            date: "2026-11-26T12:47:19Z",
            nonce: "n",
            access_key_id: "testid",
            secret: "testsecret",
            extra_headers: &extra,
        });
        assert!(signed.query.contains("Empty=&"));
        assert!(signed
            .headers
            .last()
            .unwrap()
            .1
            .contains("x-acs-security-token;x-acs-signature-nonce"));
        let r = req(&signed.headers, &signed.query, b"");
        assert_eq!(acs3_verify(&r, "testsecret"), Ok(()));

        // Python's urlencode spells spaces as '+': same canonical query, still valid.
        let plus_query = signed.query.replace("%20", "+");
        assert_ne!(plus_query, signed.query);
        assert_eq!(
            acs3_verify(&req(&signed.headers, &plus_query, b""), "testsecret"),
            Ok(())
        );
    }

    #[test]
    fn form_body_request() {
        let body = b"InstanceId=i-1&NetworkInterfaceId=eni-1&Tag.1.Key=a+b&Tag.1.Value=c";
        let extra = owned(&[("Content-Type", "application/x-www-form-urlencoded")]);
        let signed = acs3_sign_request(&Acs3SignParams {
            method: "POST",
            path: "/",
            query: &[],
            body,
            host: "ecs.cn-hangzhou.aliyuncs.com",
            action: "AttachNetworkInterface",
            version: "2014-05-26",
            date: "2024-01-01T12:00:00Z",
            nonce: "n-form",
            access_key_id: "testid",
            secret: "testsecret",
            extra_headers: &extra,
        });
        assert_eq!(signed.query, "");
        let auth = req(&signed.headers, "", body).authorization().unwrap();
        assert_eq!(auth.signed_headers[0], "content-type");
        let sha = &signed
            .headers
            .iter()
            .find(|(k, _)| k == "x-acs-content-sha256")
            .unwrap()
            .1;
        assert_eq!(*sha, payload_hash(body));
        assert_ne!(sha, EMPTY_PAYLOAD_SHA256);
        assert_eq!(
            acs3_verify(&req(&signed.headers, "", body), "testsecret"),
            Ok(())
        );

        // Body changed in transit: caught by the payload hash, before the signature.
        let tampered = b"InstanceId=i-2&NetworkInterfaceId=eni-1&Tag.1.Key=a+b&Tag.1.Value=c";
        match acs3_verify(&req(&signed.headers, "", tampered), "testsecret") {
            Err(Acs3Error::PayloadHashMismatch { provided, computed }) => {
                assert_eq!(provided, *sha);
                assert_eq!(computed, payload_hash(tampered));
            }
            other => panic!("unexpected {other:?}"),
        }

        // Body and hash both replaced: the signed hash header exposes it.
        let mut headers = signed.headers.clone();
        for h in headers.iter_mut() {
            if h.0 == "x-acs-content-sha256" {
                h.1 = payload_hash(tampered);
            }
        }
        assert!(matches!(
            acs3_verify(&req(&headers, "", tampered), "testsecret"),
            Err(Acs3Error::SignatureMismatch(_))
        ));

        // Content-type is signed, so changing it breaks the signature.
        let mut headers = signed.headers.clone();
        headers[6].1 = "application/json".into();
        assert_eq!(headers[6].0, "content-type");
        assert!(matches!(
            acs3_verify(&req(&headers, "", body), "testsecret"),
            Err(Acs3Error::SignatureMismatch(_))
        ));
    }

    #[test]
    fn tampered_query_parameter_carries_server_string_to_sign() {
        let headers = vector_headers(&vector_auth());
        let query = VECTOR_QUERY.replace("MaxResults=100", "MaxResults=101");
        let r = req(&headers, &query, b"");
        match acs3_verify(&r, "testsecret") {
            Err(Acs3Error::SignatureMismatch(m)) => {
                let creq =
                    canonical_request(&r, &r.authorization().unwrap().signed_headers).unwrap();
                assert_eq!(m.string_to_sign, acs3_string_to_sign(&creq));
                let e = Acs3Error::SignatureMismatch(m.clone());
                assert_eq!(
                    e.to_string(),
                    format!("{}{}", crate::SIGNATURE_MISMATCH_PREFIX, m.string_to_sign)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        // The method is covered as well.
        let mut r = req(&headers, VECTOR_QUERY, b"");
        r.method = "GET";
        assert!(acs3_verify(&r, "testsecret").is_err());
    }

    #[test]
    fn wrong_secret() {
        let headers = vector_headers(&vector_auth());
        assert!(matches!(
            acs3_verify(&req(&headers, VECTOR_QUERY, b""), "othersecret"),
            Err(Acs3Error::SignatureMismatch(_))
        ));
    }

    #[test]
    fn lenient_authorization_spaces() {
        let auth = format!(
            "  ACS3-HMAC-SHA256   Credential=testid, SignedHeaders={VECTOR_SIGNED} ,  Signature={}  ",
            VECTOR_SIG.to_ascii_uppercase()
        );
        let parsed = parse_authorization(&auth).unwrap();
        assert_eq!(parsed.algorithm, "ACS3-HMAC-SHA256");
        assert_eq!(parsed.access_key_id, "testid");
        assert_eq!(parsed.signed_headers.len(), 6);
        let headers = vector_headers(&auth);
        assert_eq!(
            acs3_verify(&req(&headers, VECTOR_QUERY, b""), "testsecret"),
            Ok(())
        );
    }

    #[test]
    fn malformed_authorization() {
        for bad in [
            "",
            "ACS3-HMAC-SHA256",
            "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host",
            "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=ab",
            "ACS3-HMAC-SHA256 Credential=testid,Signature=ab",
            "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;;x-acs-date,Signature=ab",
            "ACS3-HMAC-SHA256 Credential testid,SignedHeaders=host,Signature=ab",
        ] {
            assert!(
                matches!(
                    parse_authorization(bad),
                    Err(Acs3Error::MalformedAuthorization(_))
                ),
                "{bad:?}"
            );
        }
        let no_auth: Vec<_> = vector_headers("x")
            .into_iter()
            .filter(|(k, _)| k != "Authorization")
            .collect();
        assert_eq!(
            acs3_verify(&req(&no_auth, VECTOR_QUERY, b""), "testsecret"),
            Err(Acs3Error::MissingHeader("authorization".into()))
        );
    }

    #[test]
    fn unsupported_algorithm() {
        let auth = vector_auth().replace("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3");
        let headers = vector_headers(&auth);
        assert_eq!(
            acs3_verify(&req(&headers, VECTOR_QUERY, b""), "testsecret"),
            Err(Acs3Error::UnsupportedAlgorithm("ACS3-HMAC-SM3".into()))
        );
    }

    #[test]
    fn required_headers_must_be_present_and_signed() {
        for name in REQUIRED_SIGNED_HEADERS {
            // Present but left out of SignedHeaders.
            let signed: Vec<&str> = VECTOR_SIGNED.split(';').filter(|h| *h != name).collect();
            let auth = format!(
                "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders={},Signature={VECTOR_SIG}",
                signed.join(";")
            );
            let headers = vector_headers(&auth);
            assert_eq!(
                acs3_verify(&req(&headers, VECTOR_QUERY, b""), "testsecret"),
                Err(Acs3Error::UnsignedHeader(name.into()))
            );

            // Signed but absent from the request.
            let headers: Vec<_> = vector_headers(&vector_auth())
                .into_iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
                .collect();
            assert_eq!(
                acs3_verify(&req(&headers, VECTOR_QUERY, b""), "testsecret"),
                Err(Acs3Error::MissingHeader(name.into()))
            );
        }

        // A non-required header listed in SignedHeaders but not sent.
        let auth = vector_auth().replace("SignedHeaders=", "SignedHeaders=accept;");
        let headers = vector_headers(&auth);
        assert_eq!(
            acs3_verify(&req(&headers, VECTOR_QUERY, b""), "testsecret"),
            Err(Acs3Error::MissingHeader("accept".into()))
        );
    }

    #[test]
    fn multi_valued_header() {
        let headers = owned(&[
            ("X-Acs-Meta", " b "),
            ("x-acs-meta", "c"),
            ("x-acs-other", "z"),
            ("X-ACS-META", "a"),
        ]);
        let r = req(&headers, "", b"");
        assert_eq!(r.header("x-acs-meta").as_deref(), Some("a,b,c"));
        assert_eq!(r.header("missing"), None);

        // Signing and verifying with a repeated header; order on the wire does not matter.
        let extra = owned(&[("x-acs-meta", "b"), ("x-acs-meta", "a")]);
        let signed = acs3_sign_request(&Acs3SignParams {
            method: "POST",
            path: "/",
            query: &[],
            body: b"",
            host: "h",
            action: "A",
            version: "V",
            date: "2024-01-01T12:00:00Z",
            nonce: "n",
            access_key_id: "id",
            secret: "s",
            extra_headers: &extra,
        });
        let auth = req(&signed.headers, "", b"").authorization().unwrap();
        assert_eq!(
            auth.signed_headers
                .iter()
                .filter(|h| *h == "x-acs-meta")
                .count(),
            1
        );
        let mut swapped = signed.headers.clone();
        swapped.swap(6, 7);
        assert_eq!(acs3_verify(&req(&swapped, "", b""), "s"), Ok(()));
        assert!(
            canonical_request(&req(&swapped, "", b""), &auth.signed_headers)
                .unwrap()
                .contains("\nx-acs-meta:a,b\n")
        );
        // Dropping one value invalidates the signature.
        swapped.remove(6);
        assert!(acs3_verify(&req(&swapped, "", b""), "s").is_err());
    }

    #[test]
    fn canonical_query_rules() {
        assert_eq!(canonical_query(""), "");
        // Sort by key then value; `+` and `%20` both mean space; empty value kept.
        assert_eq!(
            canonical_query("b=2&a=y&a=x&c=&d=hello+world%2A&e=%7E"),
            "a=x&a=y&b=2&c=&d=hello%20world%2A&e=~"
        );
        // Keys are encoded too.
        assert_eq!(canonical_query("a%20b=1"), "a%20b=1");
        // Path defaults to '/'.
        let headers = owned(&[("host", "h")]);
        let mut r = req(&headers, "", b"");
        r.path = "";
        assert!(canonical_request(&r, &["host".into()])
            .unwrap()
            .starts_with("POST\n/\n\n"));
    }
}
