//! RPC HMAC-SHA1 signature (`SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`, spec §2.1):
//! string-to-sign, signing, verification and a client-side helper that adds the common params.

use std::collections::BTreeMap;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::encode::{ct_eq, pct};
use crate::Mismatch;

/// Value of the `SignatureMethod` parameter this algorithm uses.
pub const RPC_SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// Value of the `SignatureVersion` parameter this algorithm uses.
pub const RPC_SIGNATURE_VERSION: &str = "1.0";

/// `CanonicalizedQueryString` (§2.1 steps 1-3): `Signature` dropped, one value per key (the
/// last one wins, matching a map filled query-then-body), sorted by raw key bytes, and
/// `pct(k)=pct(v)` joined with `&`. Empty values are kept (`SignatureType=`).
pub fn rpc_canonicalized_query(params: &[(String, String)]) -> String {
    // BTreeMap<&str, _> orders by byte order of the key, as the spec requires.
    let mut map = BTreeMap::new();
    for (k, v) in params {
        if k != "Signature" {
            map.insert(k.as_str(), v.as_str());
        }
    }
    map.iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `StringToSign = Method & pct("/") & pct(CanonicalizedQueryString)` (§2.1 step 4).
/// `method` is the actual HTTP method (`GET` or `POST`).
pub fn rpc_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    format!(
        "{method}&{}&{}",
        pct("/"),
        pct(&rpc_canonicalized_query(params))
    )
}

/// `Base64(HMAC-SHA1(secret + "&", string_to_sign))` (§2.1 step 5).
pub fn rpc_sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Verifies `provided_signature` (already URL-decoded) against `params` (query and form body
/// merged by the caller; a `Signature` entry is ignored). Compares in constant time.
pub fn rpc_verify(
    secret: &str,
    method: &str,
    params: &[(String, String)],
    provided_signature: &str,
) -> Result<(), Mismatch> {
    let string_to_sign = rpc_string_to_sign(method, params);
    let expected = rpc_sign(secret, &string_to_sign);
    if ct_eq(expected.as_bytes(), provided_signature.as_bytes()) {
        Ok(())
    } else {
        Err(Mismatch { string_to_sign })
    }
}

/// Client side: sets the common signature params (`AccessKeyId`, `SignatureMethod`,
/// `SignatureVersion`, `SignatureNonce`, `Timestamp`; `Format=JSON` only if absent), then
/// appends `Signature`. Existing values of the overwritten keys (and any old `Signature`) are
/// removed first so the result has exactly one of each. Returns the signature.
pub fn rpc_sign_params(
    method: &str,
    params: &mut Vec<(String, String)>,
    access_key_id: &str,
    secret: &str,
    nonce: &str,
    timestamp: &str,
) -> String {
    let common = [
        ("AccessKeyId", access_key_id),
        ("SignatureMethod", RPC_SIGNATURE_METHOD),
        ("SignatureVersion", RPC_SIGNATURE_VERSION),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp),
    ];
    params.retain(|(k, _)| k != "Signature" && !common.iter().any(|(c, _)| k == c));
    params.extend(common.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    if !params.iter().any(|(k, _)| k == "Format") {
        params.push(("Format".into(), "JSON".into()));
    }
    let signature = rpc_sign(secret, &rpc_string_to_sign(method, params));
    params.push(("Signature".into(), signature.clone()));
    signature
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_form;

    fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn value<'a>(p: &'a [(String, String)], key: &str) -> &'a str {
        &p.iter().find(|(k, _)| k == key).expect("param present").1
    }

    #[test]
    fn official_vector_describe_regions() {
        let params = owned(&[
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ]);
        let sts = rpc_string_to_sign("GET", &params);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(rpc_sign("testsecret", &sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        assert_eq!(
            rpc_verify("testsecret", "GET", &params, "OLeaidS1JvxuMvnyHOwuJ+uX5qY="),
            Ok(())
        );
    }

    #[test]
    fn official_vector_with_escapes() {
        let params = owned(&[
            ("Action", "CreateNetworkInterface"),
            ("Format", "JSON"),
            ("Version", "2014-05-26"),
            ("RegionId", "cn-hangzhou"),
            ("VSwitchId", "vsw-bp1s5fnvk4gn2tws0****"),
            ("SecurityGroupIds.1", "sg-bp1fg655nh68xyz9****"),
            ("Description", "my eni*~"),
            ("Timestamp", "2024-01-01T12:00:00Z"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("AccessKeyId", "testid"),
        ]);
        assert_eq!(
            rpc_canonicalized_query(&params),
            "AccessKeyId=testid&Action=CreateNetworkInterface&Description=my%20eni%2A~&Format=JSON&RegionId=cn-hangzhou&SecurityGroupIds.1=sg-bp1fg655nh68xyz9%2A%2A%2A%2A&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&Timestamp=2024-01-01T12%3A00%3A00Z&VSwitchId=vsw-bp1s5fnvk4gn2tws0%2A%2A%2A%2A&Version=2014-05-26"
        );
        let sts = rpc_string_to_sign("POST", &params);
        assert_eq!(
            sts,
            "POST&%2F&AccessKeyId%3Dtestid%26Action%3DCreateNetworkInterface%26Description%3Dmy%2520eni%252A~%26Format%3DJSON%26RegionId%3Dcn-hangzhou%26SecurityGroupIds.1%3Dsg-bp1fg655nh68xyz9%252A%252A%252A%252A%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2024-01-01T12%253A00%253A00Z%26VSwitchId%3Dvsw-bp1s5fnvk4gn2tws0%252A%252A%252A%252A%26Version%3D2014-05-26"
        );
        assert_eq!(rpc_sign("testsecret", &sts), "3l9w5elPLZ+h3ZsJoYW/weYqPlk=");
    }

    /// Captured legacy Python SDK request (spec §2.1): `SignatureType=` must be signed as
    /// `SignatureType=` and the `%20` / `+` decoding must round-trip.
    #[test]
    fn captured_legacy_request_with_empty_signature_type() {
        let query = "VSwitchId=vsw-abc&SecurityGroupIds.1=sg-1&SecurityGroupIds.2=sg-2&Description=hello%20world%20%2A~&Tag.1.Key=k1&Tag.1.Value=v%201&Version=2014-05-26&Action=CreateNetworkInterface&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-26T12%3A47%3A37Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=0eb4e192d7e5c111ea05cea52c590e6a&AccessKeyId=testid&Signature=%2Fm27Q9PEwUttXaUbnyCI4MmtRDY%3D";
        let params = parse_form(query.as_bytes());
        let sig = value(&params, "Signature");
        assert_eq!(sig, "/m27Q9PEwUttXaUbnyCI4MmtRDY=");
        assert!(rpc_string_to_sign("POST", &params).contains("%26SignatureType%3D%26"));
        assert_eq!(rpc_verify("testsecret", "POST", &params, sig), Ok(()));

        // Dropping the empty param changes the signature: it really is part of it.
        let without: Vec<_> = params
            .iter()
            .filter(|(k, _)| k != "SignatureType")
            .cloned()
            .collect();
        assert!(rpc_verify("testsecret", "POST", &without, sig).is_err());
    }

    #[test]
    fn empty_value_is_kept_in_string_to_sign() {
        let params = owned(&[("SignatureType", ""), ("A", "1")]);
        assert_eq!(rpc_canonicalized_query(&params), "A=1&SignatureType=");
    }

    #[test]
    fn tampered_parameter_is_rejected_with_server_string_to_sign() {
        let mut params = owned(&[
            ("Action", "DeleteNetworkInterface"),
            ("NetworkInterfaceId", "eni-1"),
        ]);
        let sig = rpc_sign_params(
            "POST",
            &mut params,
            "testid",
            "testsecret",
            "n1",
            "2024-01-01T12:00:00Z",
        );
        for p in params.iter_mut() {
            if p.0 == "NetworkInterfaceId" {
                p.1 = "eni-2".into();
            }
        }
        let err = rpc_verify("testsecret", "POST", &params, &sig).unwrap_err();
        assert_eq!(err.string_to_sign, rpc_string_to_sign("POST", &params));
        assert!(err.string_to_sign.contains("NetworkInterfaceId%3Deni-2"));
        // The method is part of the signature too.
        let mut orig = params.clone();
        for p in orig.iter_mut() {
            if p.0 == "NetworkInterfaceId" {
                p.1 = "eni-1".into();
            }
        }
        assert_eq!(rpc_verify("testsecret", "POST", &orig, &sig), Ok(()));
        assert!(rpc_verify("testsecret", "GET", &orig, &sig).is_err());
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let mut params = owned(&[("Action", "DescribeRegions")]);
        let sig = rpc_sign_params(
            "GET",
            &mut params,
            "testid",
            "testsecret",
            "n2",
            "2024-01-01T12:00:00Z",
        );
        assert!(rpc_verify("othersecret", "GET", &params, &sig).is_err());
        assert!(rpc_verify("testsecret", "GET", &params, "").is_err());
    }

    #[test]
    fn duplicate_keys_last_wins_and_signature_is_excluded() {
        let a = owned(&[("K", "query"), ("Signature", "x"), ("K", "body")]);
        let b = owned(&[("K", "body")]);
        assert_eq!(
            rpc_string_to_sign("POST", &a),
            rpc_string_to_sign("POST", &b)
        );
    }

    #[test]
    fn sort_is_by_raw_key_bytes() {
        // Upper-case sorts before lower-case and `.` (0x2E) before digits; the
        // canonical string must not re-sort by the encoded form.
        let p = owned(&[("a", "1"), ("B", "2"), ("Tag.1", "3"), ("Tag1", "4")]);
        assert_eq!(rpc_canonicalized_query(&p), "B=2&Tag.1=3&Tag1=4&a=1");
    }

    #[test]
    fn client_helper_round_trip_through_query_string() {
        let mut params = owned(&[
            ("Action", "CreateNetworkInterface"),
            ("Version", "2014-05-26"),
            ("Description", "héllo wörld *+~/"),
            ("SignatureNonce", "stale"),
            ("Signature", "stale"),
        ]);
        let sig = rpc_sign_params(
            "POST",
            &mut params,
            "testid",
            "testsecret",
            "nonce-1",
            "2024-01-01T12:00:00Z",
        );
        assert_eq!(value(&params, "Format"), "JSON");
        assert_eq!(value(&params, "SignatureMethod"), "HMAC-SHA1");
        assert_eq!(value(&params, "SignatureVersion"), "1.0");
        assert_eq!(value(&params, "SignatureNonce"), "nonce-1");
        assert_eq!(value(&params, "Signature"), sig);
        assert_eq!(params.iter().filter(|(k, _)| k == "Signature").count(), 1);

        // Send it as a query string (pct-encoded) and verify what the server decodes.
        let query = params
            .iter()
            .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
            .collect::<Vec<_>>()
            .join("&");
        let decoded = parse_form(query.as_bytes());
        assert_eq!(
            rpc_verify("testsecret", "POST", &decoded, value(&decoded, "Signature")),
            Ok(())
        );

        // An explicit Format is preserved.
        let mut xml = owned(&[("Format", "XML")]);
        rpc_sign_params("GET", &mut xml, "id", "s", "n", "2024-01-01T12:00:00Z");
        assert_eq!(value(&xml, "Format"), "XML");
        assert_eq!(xml.iter().filter(|(k, _)| k == "Format").count(), 1);
    }
}
