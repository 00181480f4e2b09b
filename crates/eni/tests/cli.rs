//! The `eni` binary as a user runs it: `serve` with a catalog file (good and bad), the root
//! credentials file, and `account create` with good and bad names.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_eni");

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("ENI_ROOT_ACCESS_KEY_ID", "cli-test")
        .env("ENI_ROOT_ACCESS_KEY_SECRET", "cli-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start eni");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .expect("read");
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    Server { child, addr }
}

fn call(
    addr: &str,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut p: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    p.push(("Action".into(), action.into()));
    p.push(("Version".into(), version.into()));
    let ts = eni_types::time::format_utc(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    let nonce = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    eni_sign::rpc_sign_params("GET", &mut p, "cli-test", "cli-secret", &nonce, &ts);
    let url = reqwest::Url::parse_with_params(&format!("http://{addr}/"), &p).unwrap();
    let r = reqwest::blocking::get(url).unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap())
}

#[test]
fn a_catalog_file_replaces_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    std::fs::write(
        &catalog,
        r#"{"Regions":[{"RegionId":"xx-lab-1","LocalName":"Lab","Zones":[{"ZoneId":"xx-lab-1a","LocalName":"A"}]}],
            "InstanceTypes":[{"InstanceTypeId":"ecs.lab.small","InstanceTypeFamily":"ecs.lab","CpuCoreCount":1,"MemorySize":1.0,
            "EniQuantity":2,"EniPrivateIpAddressQuantity":3,"EniIpv6AddressQuantity":1,"InstanceBandwidthRx":10240,
            "InstanceBandwidthTx":10240,"InstancePpsRx":1000,"InstancePpsTx":1000,"IoOptimized":true}]}"#,
    )
    .unwrap();
    let s = serve(
        &dir.path().join("data"),
        &["--catalog", catalog.to_str().unwrap()],
    );
    let (status, body) = call(&s.addr, "2014-05-26", "DescribeRegions", &[]);
    assert_eq!(status, 200);
    assert_eq!(body["Regions"]["Region"][0]["RegionId"], "xx-lab-1");
    let (status, body) = call(
        &s.addr,
        "2014-05-26",
        "DescribeZones",
        &[("RegionId", "cn-hangzhou")],
    );
    assert_eq!(
        (status, body["Code"].as_str()),
        (404, Some("InvalidRegionId.NotFound"))
    );
}

#[test]
fn a_bad_catalog_file_stops_the_server_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    std::fs::write(&catalog, r#"{"Regions":[],"InstanceTypes":[]}"#).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--catalog", catalog.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("catalog"), "{err}");
}

#[test]
fn account_create_prints_a_key_and_refuses_bad_or_taken_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |name: &str| {
        Command::new(BIN)
            .args(["account", "create", name, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    };
    let out = run("team-a");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("LTAI"));
    assert_eq!(v["AccessKeySecret"].as_str().unwrap().len(), 30);
    assert!(!run("team-a").status.success());
    let bad = run("no spaces");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("InvalidParameter"));
}

#[test]
fn the_agent_token_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _s = serve(&data, &[]);
    let meta = std::fs::metadata(data.join("agent-token")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}
