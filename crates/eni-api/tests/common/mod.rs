//! Test harness: a real server on port 0 with its own SQLite file per test, and a client that
//! signs requests the way the SDKs do (ACS3 by default, RPC HMAC-SHA1 on request).

#![allow(dead_code)]

use eni_core::{Catalog, Core, CoreConfig};
use eni_store_sqlite::SqliteStore;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

pub const AK: &str = "LTAItestroot0000000000";
pub const SECRET: &str = "testsecret-root";

pub struct TestServer {
    pub addr: SocketAddr,
    pub core: Core,
    pub store: Arc<dyn eni_store::Store>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server whose transitions complete within the call.
    pub async fn start() -> Self {
        Self::start_with(CoreConfig {
            transition_delay_ms: 0,
            ..CoreConfig::default()
        })
        .await
    }

    pub async fn start_with(config: CoreConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn eni_store::Store> =
            Arc::new(SqliteStore::open(&dir.path().join("eni.db")).unwrap());
        let core = Core::new(store.clone(), Catalog::default(), config);
        core.ensure_root(Some((AK.into(), SECRET.into()))).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = eni_api::router(eni_api::AppState::new(core.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer {
            addr,
            core,
            store,
            _dir: dir,
        }
    }

    pub fn client(&self) -> Client {
        Client {
            addr: self.addr,
            ak: AK.into(),
            secret: SECRET.into(),
            http: reqwest::Client::new(),
        }
    }

    /// A client for a new account.
    pub fn new_account(&self, name: &str) -> Client {
        let made = self.core.create_account(name).unwrap();
        Client {
            addr: self.addr,
            ak: made.key.id,
            secret: made.key.secret,
            http: reqwest::Client::new(),
        }
    }
}

pub struct Client {
    pub addr: SocketAddr,
    pub ak: String,
    pub secret: String,
    pub http: reqwest::Client,
}

pub const ECS: &str = "2014-05-26";
pub const VPC: &str = "2016-04-28";

pub fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn now_iso() -> String {
    eni_types::time::format_utc(chrono::Utc::now().timestamp())
}

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An API answer: HTTP status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["Code"].as_str().unwrap_or("")
    }

    /// Asserts success and returns the body.
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "expected success, got {:?}", self.body);
        assert!(
            self.body.get("Code").is_none(),
            "success with a Code: {:?}",
            self.body
        );
        assert!(self.body["RequestId"].is_string());
        self.body
    }

    /// Asserts the error code and status.
    pub fn err(self, code: &str, status: u16) -> Value {
        assert_eq!(
            (self.code(), self.status),
            (code, status),
            "body: {:?}",
            self.body
        );
        for k in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
            assert!(
                self.body[k].is_string(),
                "error body lacks {k}: {:?}",
                self.body
            );
        }
        self.body
    }
}

impl Client {
    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        if ct.as_deref() == Some("application/json;charset=utf-8") {
            Answer {
                status,
                body: serde_json::from_str(&text).unwrap(),
            }
        } else {
            Answer {
                status,
                body: Value::String(text),
            }
        }
    }

    /// ACS3-signed POST with parameters in the query, as the new SDKs send.
    pub async fn call(&self, version: &str, action: &str, params: &[(&str, &str)]) -> Answer {
        self.call_acs3(
            "POST",
            version,
            action,
            &owned(params),
            &now_iso(),
            &nonce(),
        )
        .await
    }

    pub async fn call_acs3(
        &self,
        method: &str,
        version: &str,
        action: &str,
        params: &[(String, String)],
        date: &str,
        nonce: &str,
    ) -> Answer {
        let host = self.addr.to_string();
        let signed = eni_sign::acs3_sign_request(&eni_sign::Acs3SignParams {
            method,
            path: "/",
            query: params,
            body: b"",
            host: &host,
            action,
            version,
            date,
            nonce,
            access_key_id: &self.ak,
            secret: &self.secret,
            extra_headers: &[],
        });
        let url = format!("http://{host}/?{}", signed.query);
        let mut req = self.http.request(method.parse().unwrap(), url);
        for (k, v) in &signed.headers {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        Self::answer(req.send().await.unwrap()).await
    }

    /// RPC HMAC-SHA1 signed request with everything in the query, as the legacy SDKs send.
    pub async fn call_rpc(
        &self,
        method: &str,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Answer {
        let mut p = owned(params);
        p.push(("Action".into(), action.into()));
        p.push(("Version".into(), version.into()));
        self.send_rpc(method, p, &now_iso(), &nonce()).await
    }

    /// Signs `params` with HMAC-SHA1 and sends them in the query.
    pub async fn send_rpc(
        &self,
        method: &str,
        mut params: Vec<(String, String)>,
        ts: &str,
        nonce: &str,
    ) -> Answer {
        eni_sign::rpc_sign_params(method, &mut params, &self.ak, &self.secret, nonce, ts);
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let url = format!("http://{}/?{query}", self.addr);
        let resp = self
            .http
            .request(method.parse().unwrap(), url)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// A VPC in cn-hangzhou with `cidr`; returns its ID.
    pub async fn vpc(&self, cidr: &str) -> String {
        let b = self
            .call(
                VPC,
                "CreateVpc",
                &[("RegionId", "cn-hangzhou"), ("CidrBlock", cidr)],
            )
            .await
            .ok();
        b["VpcId"].as_str().unwrap().to_string()
    }

    /// A vSwitch of `vpc` in cn-hangzhou-h; returns its ID.
    pub async fn vswitch(&self, vpc: &str, cidr: &str) -> String {
        self.vswitch_in(vpc, cidr, "cn-hangzhou-h").await
    }

    /// A vSwitch of `vpc` in `zone`; returns its ID.
    pub async fn vswitch_in(&self, vpc: &str, cidr: &str, zone: &str) -> String {
        let b = self
            .call(
                VPC,
                "CreateVSwitch",
                &[("VpcId", vpc), ("ZoneId", zone), ("CidrBlock", cidr)],
            )
            .await
            .ok();
        b["VSwitchId"].as_str().unwrap().to_string()
    }

    /// A security group in `vpc`; returns its ID.
    pub async fn group(&self, vpc: &str) -> String {
        let b = self
            .call(
                ECS,
                "CreateSecurityGroup",
                &[("RegionId", "cn-hangzhou"), ("VpcId", vpc)],
            )
            .await
            .ok();
        b["SecurityGroupId"].as_str().unwrap().to_string()
    }

    /// A running instance of `ty` in `vsw` with `sg`; returns its ID.
    pub async fn instance(&self, ty: &str, vsw: &str, sg: &str) -> String {
        let b = self
            .call(
                ECS,
                "RunInstances",
                &[
                    ("RegionId", "cn-hangzhou"),
                    ("InstanceType", ty),
                    ("VSwitchId", vsw),
                    ("SecurityGroupId", sg),
                ],
            )
            .await
            .ok();
        b["InstanceIdSets"]["InstanceIdSet"][0]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A secondary ENI in `vsw` with `sg` and extra parameters; returns the create answer.
    pub async fn eni(&self, vsw: &str, sg: &str, extra: &[(&str, &str)]) -> Value {
        let mut p = vec![
            ("RegionId", "cn-hangzhou"),
            ("VSwitchId", vsw),
            ("SecurityGroupId", sg),
        ];
        p.extend_from_slice(extra);
        self.call(ECS, "CreateNetworkInterface", &p).await.ok()
    }

    /// DescribeNetworkInterfaceAttribute of one ENI.
    pub async fn eni_attr(&self, id: &str) -> Value {
        self.call(
            ECS,
            "DescribeNetworkInterfaceAttribute",
            &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", id)],
        )
        .await
        .ok()
    }
}
