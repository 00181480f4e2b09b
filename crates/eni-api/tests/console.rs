//! The web console over HTTP (no browser): sign-in and sign-out, the session cookie's
//! attributes, CSRF, one account not seeing another's resources, an operation going through
//! the API's rules and its refusal shown with the API's code. The browser tests
//! (tests/console) drive the same pages in Chromium.

mod common;

use common::{TestServer, AK, SECRET};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

/// A browser-like client that does not follow redirects, with the session cookie it holds.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(s: &TestServer) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: format!("http://{}", s.addr),
            cookie: None,
        }
    }

    fn with_cookie(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => r.header("cookie", format!("eni_console={c}")),
            None => r,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String, Option<String>) {
        let r = self
            .with_cookie(self.http.get(format!("{}{path}", self.base)))
            .send()
            .await
            .unwrap();
        let loc = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status(), r.text().await.unwrap(), loc)
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let r = self
            .with_cookie(self.http.post(format!("{}{path}", self.base)))
            .form(form)
            .send()
            .await
            .unwrap();
        let loc = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status(), r.text().await.unwrap(), loc)
    }

    /// The sign-in form's token and the cookie it must match.
    async fn login_token(&self) -> (String, String) {
        let r = self
            .http
            .get(format!("{}/console/login", self.base))
            .send()
            .await
            .unwrap();
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        let cookie = set.split(';').next().unwrap().to_string();
        let body = r.text().await.unwrap();
        let at = body.find("name=\"login_csrf\" value=\"").unwrap() + 25;
        (body[at..at + 64].to_string(), cookie)
    }

    /// A sign-in attempt through the form.
    async fn try_sign_in(&self, id: &str, secret: &str) -> reqwest::Response {
        let (token, cookie) = self.login_token().await;
        self.http
            .post(format!("{}/console/login", self.base))
            .header("cookie", cookie)
            .form(&[
                ("access_key_id", id),
                ("access_key_secret", secret),
                ("login_csrf", &token),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signs in; returns the Set-Cookie header.
    async fn sign_in(&mut self, id: &str, secret: &str) -> String {
        let r = self.try_sign_in(id, secret).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        let token = set
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("eni_console=")
            .to_string();
        self.cookie = Some(token);
        set
    }

    /// The CSRF token of a page.
    async fn csrf(&self, path: &str) -> String {
        let (_, body, _) = self.get(path).await;
        let at = body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF field")
            + 19;
        body[at..at + body[at..].find('"').unwrap()].to_string()
    }
}

#[tokio::test]
async fn sign_in_and_out_with_a_cookie_only_the_server_can_use() {
    let s = TestServer::start().await;
    let mut b = Browser::new(&s);
    let (st, _, loc) = b.get("/console/enis").await;
    assert_eq!(
        (st, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/login"))
    );
    // The sign-in form needs its own token, matching its cookie: a form elsewhere cannot
    // sign the browser in.
    let (st, _, _) = b
        .post(
            "/console/login",
            &[("access_key_id", AK), ("access_key_secret", SECRET)],
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Wrong secret and unknown ID: the same answer.
    let r1 = b.try_sign_in(AK, "nope").await;
    let r2 = b.try_sign_in("LTAInosuchkey000", SECRET).await;
    let (st1, st2) = (r1.status(), r2.status());
    let (body1, body2) = (r1.text().await.unwrap(), r2.text().await.unwrap());
    assert_eq!(
        (st1, st2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    for body in [&body1, &body2] {
        assert!(body.contains("The AccessKey ID or AccessKey Secret is not valid."));
        assert!(!body.contains(SECRET), "the secret is never echoed");
    }
    let set = b.sign_in(AK, SECRET).await;
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age="] {
        assert!(set.contains(attr), "{set}");
    }
    let (st, body, _) = b.get("/console/enis").await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains("<h1>Network interfaces</h1>"));
    // Signing out needs the CSRF token; then the cookie is worthless.
    let (st, _, _) = b.post("/console/logout", &[]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let csrf = b.csrf("/console/enis").await;
    let (st, _, loc) = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(
        (st, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/login"))
    );
    let (st, _, loc) = b.get("/console/enis").await;
    assert_eq!(
        (st, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/login"))
    );
}

#[tokio::test]
async fn operations_go_through_the_api_and_show_its_refusals() {
    let s = TestServer::start().await;
    let c = s.client();
    let vpc = c.vpc("10.0.0.0/16").await;
    let vsw = c.vswitch(&vpc, "10.0.1.0/24").await;
    let sg = c.group(&vpc).await;
    let inst = c.instance("ecs.g7.large", &vsw, &sg).await;
    let mut b = Browser::new(&s);
    b.sign_in(AK, SECRET).await;
    // Create through the form: the API's CreateNetworkInterface made it.
    let csrf = b.csrf("/console/enis/new").await;
    let (st, _, loc) = b
        .post(
            "/console/enis/new",
            &[
                ("csrf", &csrf),
                ("vpc_id", &vpc),
                ("vswitch_id", &vsw),
                ("groups", &sg),
                ("secondary_count", "1"),
                ("name", "from-the-console"),
                ("tag_key", "team"),
                ("tag_value", "blue"),
                ("more_tags", "env=test, owner = ops"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let eni = loc
        .unwrap()
        .trim_start_matches("/console/enis/")
        .to_string();
    let attr = c.eni_attr(&eni).await;
    assert_eq!(attr["NetworkInterfaceName"], "from-the-console");
    assert_eq!(
        attr["PrivateIpSets"]["PrivateIpSet"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let tags: Vec<(String, String)> = attr["Tags"]["Tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["TagKey"].as_str().unwrap().into(),
                t["TagValue"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [("team", "blue"), ("env", "test"), ("owner", "ops")] {
        assert!(tags.contains(&(want.0.into(), want.1.into())), "{tags:?}");
    }
    // Attach, then a refused delete shows the API's code and message.
    let (st, _, _) = b
        .post(
            &format!("/console/enis/{eni}/attach"),
            &[("csrf", &csrf), ("instance_id", &inst)],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(c.eni_attr(&eni).await["Status"], "InUse");
    let (st, body, _) = b
        .post(&format!("/console/enis/{eni}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("role=\"alert\""));
    assert!(body.contains("InvalidOperation.InvalidEniState"), "{body}");
    assert_eq!(c.eni_attr(&eni).await["Status"], "InUse");
    // A wrong CSRF token changes nothing.
    let (st, _, _) = b
        .post(&format!("/console/enis/{eni}/detach"), &[("csrf", "x")])
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(c.eni_attr(&eni).await["Status"], "InUse");
    // The detail page offers what InUse allows: Detach, not Attach or Delete.
    let (_, page, _) = b.get(&format!("/console/enis/{eni}")).await;
    assert!(page.contains(">Detach</button>"));
    // How it is configured inside the instance (the product's "Configure an ENI").
    let ip = attr["PrimaryIpAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ip = if ip.is_empty() {
        attr["PrivateIpAddress"].as_str().unwrap().to_string()
    } else {
        ip
    };
    assert!(
        page.contains(&format!("ip addr add {ip}/24 dev eth1")),
        "{page}"
    );
    assert!(page.contains("ip route add default via 10.0.1.253 dev eth1 table 1001"));
    assert!(!page.contains(">Delete</button>") && !page.contains(">Attach</button>"));
    // An instance with an extra network interface (RunInstances' NetworkInterface.N).
    let (st, _, loc) = b
        .post(
            "/console/instances/new",
            &[
                ("csrf", &csrf),
                ("vswitch_id", &vsw),
                ("group", &sg),
                ("instance_type", "ecs.g7.large"),
                ("name", "two-nics"),
                ("extra_enis", "1"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let made = loc
        .unwrap()
        .trim_start_matches("/console/instances/")
        .to_string();
    let held = c
        .call(
            common::ECS,
            "DescribeNetworkInterfaces",
            &[("RegionId", "cn-hangzhou"), ("InstanceId", &made)],
        )
        .await
        .ok();
    assert_eq!(held["TotalCount"], 2);
    let (st, page, _) = b.get(&format!("/console/instances/{made}")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        page.contains("<td>eth0</td>") && page.contains("<td>eth1</td>"),
        "{page}"
    );
    // Another account sees none of it.
    let other = s.new_account("other");
    let mut b2 = Browser::new(&s);
    b2.sign_in(&other.ak, &other.secret).await;
    let (st, _, _) = b2.get(&format!("/console/enis/{eni}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list, _) = b2.get("/console/enis").await;
    assert!(!list.contains(&eni));
    let (_, list, _) = b.get("/console/enis").await;
    assert!(list.contains(&format!("data-eni=\"{eni}\"")));
}
