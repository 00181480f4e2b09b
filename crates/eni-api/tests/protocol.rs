//! The wire protocol through a real socket: signatures, replay and time checks, dispatch on
//! (version, action), parameter merging and the response shapes.

mod common;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn healthz_answers_once_serving() {
    let s = TestServer::start().await;
    let r = reqwest::get(format!("http://{}/healthz", s.addr))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn acs3_and_rpc_signatures_both_work_with_get_and_post() {
    let s = TestServer::start().await;
    let c = s.client();
    let b = c.call(ECS, "DescribeRegions", &[]).await.ok();
    assert_eq!(b["Regions"]["Region"].as_array().unwrap().len(), 2);
    for method in ["GET", "POST"] {
        c.call_rpc(
            method,
            ECS,
            "DescribeRegions",
            &[("RegionId", "cn-hangzhou")],
        )
        .await
        .ok();
        c.call_acs3(method, ECS, "DescribeRegions", &[], &now_iso(), &nonce())
            .await
            .ok();
    }
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match_with_the_parsable_message() {
    let s = TestServer::start().await;
    let mut c = s.client();
    c.secret = "wrong".into();
    let body = c
        .call(ECS, "DescribeRegions", &[])
        .await
        .err("SignatureDoesNotMatch", 400);
    let msg = body["Message"].as_str().unwrap();
    assert!(msg.starts_with(
        "Specified signature is not matched with our calculation. server string to sign is:"
    ));
    assert!(msg.contains("ACS3-HMAC-SHA256\n"), "{msg}");
    let body = c
        .call_rpc("POST", ECS, "DescribeRegions", &[])
        .await
        .err("SignatureDoesNotMatch", 400);
    let msg = body["Message"].as_str().unwrap();
    // The legacy Python SDK evaluates Message.split(':')[1].
    assert!(
        msg.split(':').nth(1).unwrap().starts_with("POST&%2F&"),
        "{msg}"
    );
}

#[tokio::test]
async fn unknown_access_key_is_rejected() {
    let s = TestServer::start().await;
    let mut c = s.client();
    c.ak = "LTAInobody".into();
    c.call(ECS, "DescribeRegions", &[])
        .await
        .err("InvalidAccessKeyId.NotFound", 404);
    c.call_rpc("POST", ECS, "DescribeRegions", &[])
        .await
        .err("InvalidAccessKeyId.NotFound", 404);
}

#[tokio::test]
async fn a_nonce_is_accepted_once() {
    let s = TestServer::start().await;
    let c = s.client();
    let n = nonce();
    let ts = now_iso();
    c.call_acs3("POST", ECS, "DescribeRegions", &[], &ts, &n)
        .await
        .ok();
    c.call_acs3("POST", ECS, "DescribeRegions", &[], &ts, &n)
        .await
        .err("SignatureNonceUsed", 400);
    let p = vec![
        ("Action".to_string(), "DescribeRegions".to_string()),
        ("Version".into(), ECS.into()),
    ];
    let n = nonce();
    c.send_rpc("POST", p.clone(), &ts, &n).await.ok();
    c.send_rpc("POST", p, &ts, &n)
        .await
        .err("SignatureNonceUsed", 400);
}

/// `params` signed once (ACS3) with nonce `n`: sending it again is a replay.
async fn signed_twice(
    c: &Client,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
    n: &str,
) -> (Answer, Answer) {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ts = now_iso();
    let first = c.call_acs3("POST", version, action, &params, &ts, n).await;
    let again = c.call_acs3("POST", version, action, &params, &ts, n).await;
    (first, again)
}

fn vpc_ids(c: &Value) -> Vec<String> {
    c["Vpcs"]["Vpc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VpcId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_replayed_write_changes_nothing() {
    let s = TestServer::start().await;
    let c = s.client();
    let create = [("RegionId", "cn-hangzhou"), ("CidrBlock", "10.0.0.0/16")];
    let (first, again) = signed_twice(&c, VPC, "CreateVpc", &create, &nonce()).await;
    first.ok();
    again.err("SignatureNonceUsed", 400);
    let listed = c
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok();
    assert_eq!(vpc_ids(&listed).len(), 1, "{listed}");
}

#[tokio::test]
async fn concurrent_replays_of_a_write_run_once() {
    let s = TestServer::start().await;
    let params: Vec<(String, String)> = [("RegionId", "cn-hangzhou"), ("CidrBlock", "10.0.0.0/16")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (n, ts) = (nonce(), now_iso());
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (c, params, n, ts) = (s.client(), params.clone(), n.clone(), ts.clone());
        sends.spawn(async move {
            c.call_acs3("POST", VPC, "CreateVpc", &params, &ts, &n)
                .await
                .code()
                .to_string()
        });
    }
    let codes: Vec<String> = sends.join_all().await;
    let ok = codes.iter().filter(|c| c.is_empty()).count();
    let replays = codes.iter().filter(|c| *c == "SignatureNonceUsed").count();
    assert_eq!((ok, replays), (1, 7), "{codes:?}");
    let listed = s
        .client()
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok();
    assert_eq!(vpc_ids(&listed).len(), 1, "{listed}");
}

#[tokio::test]
async fn a_write_that_failed_keeps_its_nonce() {
    let s = TestServer::start().await;
    let c = s.client();
    let vpc = c.vpc("10.0.0.0/16").await;
    let vsw = c.vswitch(&vpc, "10.0.1.0/24").await;
    // Refused inside its transaction: the VPC still has a vSwitch.
    let delete = [("RegionId", "cn-hangzhou"), ("VpcId", vpc.as_str())];
    let params: Vec<(String, String)> = delete
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (n, ts) = (nonce(), now_iso());
    let refused = c
        .call_acs3("POST", VPC, "DeleteVpc", &params, &ts, &n)
        .await;
    assert!(!refused.code().is_empty(), "the VPC has a vSwitch");
    assert_ne!(refused.code(), "SignatureNonceUsed");
    // Once it would succeed, the same signed request is still a replay, and changes nothing.
    c.call(VPC, "DeleteVSwitch", &[("VSwitchId", vsw.as_str())])
        .await
        .ok();
    c.call_acs3("POST", VPC, "DeleteVpc", &params, &ts, &n)
        .await
        .err("SignatureNonceUsed", 400);
    let listed = c
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok();
    assert_eq!(vpc_ids(&listed), vec![vpc.clone()]);

    // Refused before its transaction (a malformed block) and for a missing resource: kept too.
    for (action, params) in [
        (
            "CreateVpc",
            vec![("RegionId", "cn-hangzhou"), ("CidrBlock", "10.0.0.0/33")],
        ),
        (
            "DeleteVpc",
            vec![("RegionId", "cn-hangzhou"), ("VpcId", "vpc-bp1nothere")],
        ),
    ] {
        let (first, again) = signed_twice(&c, VPC, action, &params, &nonce()).await;
        assert!(!first.code().is_empty(), "{action} fails");
        assert_ne!(first.code(), "SignatureNonceUsed", "{action}");
        again.err("SignatureNonceUsed", 400);
    }
}

#[tokio::test]
async fn a_secret_changed_in_the_store_works_at_once() {
    let s = TestServer::start().await;
    let mut c = s.client();
    // The server has the key in memory now.
    c.call(ECS, "DescribeRegions", &[]).await.ok();
    // Another process (`eni account create`, a second server) gives the key a new secret.
    eni_store::with_write(&*s.store, |tx| {
        let mut k = tx.access_key_get(AK)?.expect("root key");
        tx.access_key_delete(AK)?;
        k.secret = "rotated-secret".into();
        tx.access_key_insert(&k)
    })
    .unwrap();
    c.secret = "rotated-secret".into();
    c.call(ECS, "DescribeRegions", &[]).await.ok();
    c.secret = "never-was".into();
    c.call(ECS, "DescribeRegions", &[])
        .await
        .err("SignatureDoesNotMatch", 400);
}

#[tokio::test]
async fn a_forged_request_does_not_use_up_a_nonce() {
    let s = TestServer::start().await;
    let mut c = s.client();
    let n = nonce();
    let ts = now_iso();
    c.secret = "forged".into();
    c.call_acs3("POST", ECS, "DescribeRegions", &[], &ts, &n)
        .await
        .err("SignatureDoesNotMatch", 400);
    c.secret = SECRET.into();
    c.call_acs3("POST", ECS, "DescribeRegions", &[], &ts, &n)
        .await
        .ok();
}

#[tokio::test]
async fn timestamps_outside_the_window_or_malformed_are_refused() {
    let s = TestServer::start().await;
    let c = s.client();
    let old = eni_types::time::format_utc(chrono::Utc::now().timestamp() - 20 * 60);
    let future = eni_types::time::format_utc(chrono::Utc::now().timestamp() + 20 * 60);
    c.call_acs3("POST", ECS, "DescribeRegions", &[], &old, &nonce())
        .await
        .err("InvalidTimeStamp.Expired", 400);
    c.call_acs3("POST", ECS, "DescribeRegions", &[], &future, &nonce())
        .await
        .err("InvalidTimeStamp.Expired", 400);
    let p = vec![
        ("Action".to_string(), "DescribeRegions".to_string()),
        ("Version".into(), ECS.into()),
    ];
    c.send_rpc("GET", p.clone(), &old, &nonce())
        .await
        .err("InvalidTimeStamp.Expired", 400);
    c.send_rpc("GET", p, "2024-01-01 00:00:00", &nonce())
        .await
        .err("IllegalTimestamp", 400);
}

#[tokio::test]
async fn missing_signature_fields_are_named() {
    let s = TestServer::start().await;
    let url = format!(
        "http://{}/?Action=DescribeRegions&Version={ECS}&Signature=abc&AccessKeyId={AK}",
        s.addr
    );
    let r = reqwest::Client::new().post(url).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["Code"], "MissingParameter");
    let url = format!("http://{}/?Action=DescribeRegions&Version={ECS}", s.addr);
    let r = reqwest::Client::new().post(url).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["Code"], "IncompleteSignature");
}

#[tokio::test]
async fn unknown_action_and_version_are_400_not_404() {
    let s = TestServer::start().await;
    let c = s.client();
    c.call(ECS, "NoSuchAction", &[])
        .await
        .err("InvalidAction.NotFound", 404);
    c.call("2099-01-01", "DescribeRegions", &[])
        .await
        .err("InvalidVersion", 400);
    // VPC-only action under the ECS version and the reverse.
    c.call(VPC, "DescribeInstanceTypes", &[])
        .await
        .err("InvalidAction.NotFound", 404);
}

#[tokio::test]
async fn other_http_methods_are_refused() {
    let s = TestServer::start().await;
    let r = reqwest::Client::new()
        .put(format!(
            "http://{}/?Action=DescribeRegions&Version={ECS}",
            s.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["Code"], "UnsupportedHTTPMethod");
}

#[tokio::test]
async fn form_body_parameters_are_merged_and_signed() {
    let s = TestServer::start().await;
    let c = s.client();
    // tea-rpc style: signature parameters in the query, API parameters in the body, all signed.
    let body_params = vec![
        ("RegionId".to_string(), "cn-hangzhou".to_string()),
        ("CidrBlock".into(), "10.0.0.0/16".into()),
    ];
    let mut all = vec![
        ("Action".to_string(), "CreateVpc".to_string()),
        ("Version".into(), VPC.into()),
    ];
    all.extend(body_params.clone());
    eni_sign::rpc_sign_params("POST", &mut all, &c.ak, &c.secret, &nonce(), &now_iso());
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            all.iter()
                .filter(|(k, _)| !body_params.iter().any(|(b, _)| b == k)),
        )
        .finish();
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(body_params.iter())
        .finish();
    let r = reqwest::Client::new()
        .post(format!("http://{}/?{query}", s.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: serde_json::Value = r.json().await.unwrap();
    assert!(b["VpcId"].as_str().unwrap().starts_with("vpc-"));
}

#[tokio::test]
async fn acs3_body_must_match_its_hash() {
    let s = TestServer::start().await;
    let c = s.client();
    let host = s.addr.to_string();
    let body = b"RegionId=cn-hangzhou";
    let signed = eni_sign::acs3_sign_request(&eni_sign::Acs3SignParams {
        method: "POST",
        path: "/",
        query: &[],
        body,
        host: &host,
        action: "DescribeZones",
        version: ECS,
        date: &now_iso(),
        nonce: &nonce(),
        access_key_id: &c.ak,
        secret: &c.secret,
        extra_headers: &[(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
    });
    let send = |payload: &'static [u8]| {
        let mut req = reqwest::Client::new().post(format!("http://{host}/"));
        for (k, v) in &signed.headers {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        req.body(payload).send()
    };
    let r = send(b"RegionId=cn-beijing").await.unwrap();
    assert_eq!(r.status(), 400);
    let r = send(body).await.unwrap();
    assert_eq!(r.status(), 200);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["Zones"]["Zone"][0]["ZoneId"], "cn-hangzhou-h");
}

#[tokio::test]
async fn responses_have_the_documented_shapes() {
    let s = TestServer::start().await;
    let c = s.client();
    let b = c
        .call(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")])
        .await
        .ok();
    assert_eq!(b["Vpcs"]["Vpc"], serde_json::json!([]));
    assert_eq!(b["TotalCount"], 0);
    assert_eq!(b["PageNumber"], 1);
    assert_eq!(b["PageSize"], 10);
    let e = c
        .call(VPC, "DescribeVpcs", &[])
        .await
        .err("MissingParameter", 400);
    assert!(e["Message"].as_str().unwrap().contains("RegionId"));
    c.call(VPC, "DescribeVpcs", &[("RegionId", "mars-1")])
        .await
        .err("InvalidRegionId.NotFound", 404);
    c.call(
        VPC,
        "DescribeVpcs",
        &[("RegionId", "cn-hangzhou"), ("PageSize", "51")],
    )
    .await
    .err("InvalidParameter", 400);
    c.call(
        VPC,
        "DescribeVpcs",
        &[("RegionId", "cn-hangzhou"), ("IsDefault", "maybe")],
    )
    .await
    .err("InvalidParameter", 400);
}

#[tokio::test]
async fn catalog_describes_regions_zones_and_instance_types() {
    let s = TestServer::start().await;
    let c = s.client();
    let b = c
        .call(ECS, "DescribeZones", &[("RegionId", "cn-beijing")])
        .await
        .ok();
    let zones: Vec<&str> = b["Zones"]["Zone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["ZoneId"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["cn-beijing-a", "cn-beijing-b"]);
    c.call(ECS, "DescribeZones", &[("RegionId", "nowhere")])
        .await
        .err("InvalidRegionId.NotFound", 404);

    let b = c
        .call(
            ECS,
            "DescribeInstanceTypes",
            &[
                ("InstanceTypes.1", "ecs.g7.large"),
                ("InstanceTypes.2", "ecs.g6.large"),
            ],
        )
        .await
        .ok();
    let types = b["InstanceTypes"]["InstanceType"].as_array().unwrap();
    assert_eq!(types.len(), 2);
    let g7 = types
        .iter()
        .find(|t| t["InstanceTypeId"] == "ecs.g7.large")
        .unwrap();
    assert_eq!(
        (
            g7["EniQuantity"].as_u64(),
            g7["EniPrivateIpAddressQuantity"].as_u64()
        ),
        (Some(3), Some(6))
    );
    assert!(g7["MemorySize"].is_f64());
    assert!(g7["InstanceBandwidthRx"].is_u64());

    // Paging visits every type exactly once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let mut p = vec![("MaxResults", "2")];
        if !token.is_empty() {
            p.push(("NextToken", token.as_str()));
        }
        let b = c.call(ECS, "DescribeInstanceTypes", &p).await.ok();
        for t in b["InstanceTypes"]["InstanceType"].as_array().unwrap() {
            seen.push(t["InstanceTypeId"].as_str().unwrap().to_string());
        }
        token = b["NextToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    let all = s.core.catalog().instance_types.len();
    assert_eq!(seen.len(), all);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), all);

    let b = c
        .call(ECS, "DescribeInstanceTypes", &[("MinimumEniQuantity", "8")])
        .await
        .ok();
    let ids: Vec<&str> = b["InstanceTypes"]["InstanceType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["InstanceTypeId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ecs.g7.4xlarge", "ecs.g7.32xlarge"]);
}
