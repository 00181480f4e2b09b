//! The web console at `/console/`: server-rendered HTML over the same actions the API
//! serves, for people who would rather click and look.
//!
//! Every read and every change goes through the API's own handlers ([`call`]: the action
//! table of [`crate::dispatch`], with the session's account as the caller), so the console
//! applies exactly the API's rules and shows exactly its refusals (code and message); it has
//! no write path of its own. The console only adds what a browser needs around them:
//!
//! - sign-in with an AccessKey ID and secret ([`eni_core::console`]): a server-side session
//!   in the store (every server on a database knows it), its token in an `HttpOnly`,
//!   `SameSite=Strict` cookie scoped to `/console`, ending at its expiry or at sign-out; a
//!   wrong ID and a wrong secret get the same answer, and repeated failures are slowed down
//!   ([`Throttle`]);
//! - a CSRF token per session, required in every form that changes something (and in the
//!   `X-CSRF-Token` header of the script's requests);
//! - pages ([`pages`]) and forms ([`ops`]), plus the small script and stylesheet in
//!   `assets/`, compiled into the binary (no CDN, no build step).

mod html;
mod ops;
mod pages;
mod topology;

use crate::actions::Ctx;
use crate::dispatch::{handler_of, ECS_VERSION, VPC_VERSION};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
pub use eni_core::console::Session;
use eni_core::console::{csrf_matches, SignInError};
use eni_core::Core;
use eni_types::{ApiError, Params};
use html::Alert;
pub use pages::home;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The session cookie.
pub const COOKIE_NAME: &str = "eni_console";
/// The sign-in form's own CSRF cookie (there is no session yet).
const LOGIN_COOKIE: &str = "eni_console_login";
/// The region cookie (which region the pages show).
const REGION_COOKIE: &str = "eni_console_region";

/// The console's routes, nested under `/console`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(login))
        .route("/logout", post(logout))
        .route("/region", get(set_region))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .route("/api/status", get(pages::status_json))
        .route("/enis", get(pages::enis))
        .route("/enis/new", get(pages::eni_new).post(ops::eni_create))
        .route("/enis/{id}", get(pages::eni_detail))
        .route("/enis/{id}/{op}", post(ops::eni_op))
        .route("/instances", get(pages::instances))
        .route(
            "/instances/new",
            get(pages::instance_new).post(ops::instance_create),
        )
        .route("/instances/{id}", get(pages::instance_detail))
        .route("/vpcs", get(pages::vpcs))
        .route("/vpcs/{id}", get(pages::vpc_detail))
        .route("/vpcs/{id}/topology.svg", get(topology::svg))
        .fallback(pages::not_found)
}

/// What a page handler knows about the request.
pub struct Req {
    pub session: Option<Session>,
    pub token: Option<String>,
    pub region: String,
}

/// The cookie `name` of a request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Runs `f` (which reads or writes the store) off the async worker where that matters.
pub(crate) async fn blocking<R: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Core) -> R + Send + 'static,
) -> Result<R, ApiError> {
    let core = state.core.clone();
    crate::run_blocking(!state.core.store_shared(), move || f(&core))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "console handler panicked");
            ApiError::InternalError
        })
}

impl Req {
    /// The session and region of a request.
    pub async fn of(state: &AppState, headers: &HeaderMap) -> Result<Req, ApiError> {
        let token = cookie(headers, COOKIE_NAME).map(str::to_string);
        let session = match token.clone() {
            Some(t) => blocking(state, move |core| core.console_session(&t)).await??,
            None => None,
        };
        let region = cookie(headers, REGION_COOKIE)
            .filter(|r| state.core.catalog().region(r).is_some())
            .map(str::to_string)
            .unwrap_or_else(|| default_region(&state.core));
        Ok(Req {
            session,
            token,
            region,
        })
    }
}

/// The catalog's first region.
fn default_region(core: &Core) -> String {
    core.catalog()
        .regions
        .first()
        .map(|r| r.region_id.clone())
        .unwrap_or_else(|| "cn-hangzhou".into())
}

/// Calls API action `action` of `version` as `session`'s account, with `params` (`RegionId`
/// added when absent): the API's handler, its rules, its answer.
pub fn call(
    core: &Core,
    session: &Session,
    region: &str,
    version: &str,
    action: &str,
    params: &[(String, String)],
) -> Result<Value, ApiError> {
    let handler = handler_of(version, action)?;
    let mut p = Params::from_pairs(params.iter().cloned());
    if p.opt("RegionId").is_none() {
        p.insert("RegionId", region);
    }
    let ctx = Ctx {
        core,
        caller: session.caller,
        version,
    };
    handler(&ctx, &p).map(|r| Value::Object(r.into_fields()))
}

/// [`call`] of an ECS action.
pub fn ecs(
    core: &Core,
    r: &(Session, String),
    action: &str,
    params: &[(&str, &str)],
) -> Result<Value, ApiError> {
    call(core, &r.0, &r.1, ECS_VERSION, action, &owned(params))
}

/// [`call`] of a VPC action.
pub fn vpc(
    core: &Core,
    r: &(Session, String),
    action: &str,
    params: &[(&str, &str)],
) -> Result<Value, ApiError> {
    call(core, &r.0, &r.1, VPC_VERSION, action, &owned(params))
}

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An HTML response.
pub fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Nothing from elsewhere: the console's own script and style only, and no framing.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    r
}

/// A 303 to `to`.
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// An error page (a store failure, a missing resource).
pub fn error_page(session: Option<&Session>, e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    html_response(
        status,
        html::page(
            "Error",
            session,
            Some(&Alert::api(e)),
            "<p><a href=\"/console/enis\">Back to the network interfaces</a></p>",
        ),
    )
}

/// The form fields of a POST body, in order (a multi-select repeats its name).
pub fn form(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of field `name`, or "".
pub fn field<'a>(f: &'a [(String, String)], name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.trim())
}

/// Every value of field `name`.
pub fn fields<'a>(f: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    f.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The session of a POST that changes something, with its CSRF token checked; otherwise the
/// response to send: to the sign-in page without a session, 403 with a wrong token.
pub async fn changing(
    state: &AppState,
    headers: &HeaderMap,
    f: &[(String, String)],
) -> Result<(Session, String), Response> {
    let req = Req::of(state, headers)
        .await
        .map_err(|e| error_page(None, &e))?;
    let Some(session) = req.session else {
        return Err(redirect("/console/login"));
    };
    let given = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| field(f, "csrf"));
    if !csrf_matches(&session, given) {
        let body = html::page(
            "Refused",
            Some(&session),
            Some(&Alert::Error {
                code: "Forbidden.CSRF".into(),
                message: "The form's CSRF token is missing or wrong: reload the page and try \
                          again."
                    .into(),
            }),
            "",
        );
        return Err(html_response(StatusCode::FORBIDDEN, body));
    }
    Ok((session, req.region))
}

/// Slows down repeated failed sign-ins: per AccessKey ID given, and over all of them.
#[derive(Default)]
pub struct Throttle {
    inner: Mutex<ThrottleState>,
}

#[derive(Default)]
struct ThrottleState {
    /// Failures per key ID: how many, and the last one.
    by_key: HashMap<String, (u32, Instant)>,
    /// Recent failures of any ID.
    recent: Vec<Instant>,
}

/// Failures after which a key's sign-ins are delayed, and the longest delay.
const FREE_FAILURES: u32 = 2;
const MAX_DELAY: Duration = Duration::from_secs(4);
/// A key's failures are forgotten after this long without one.
const FORGET_AFTER: Duration = Duration::from_secs(900);

impl Throttle {
    /// How long to wait before answering a sign-in with `key_id`.
    pub fn delay(&self, key_id: &str) -> Duration {
        let mut st = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        st.by_key
            .retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
        st.recent
            .retain(|t| now.duration_since(*t) < Duration::from_secs(60));
        let n = st.by_key.get(key_id).map_or(0, |(n, _)| *n);
        let own = if n > FREE_FAILURES {
            Duration::from_millis(250u64 << (n - FREE_FAILURES - 1).min(4)).min(MAX_DELAY)
        } else {
            Duration::ZERO
        };
        // Many failures of any IDs (guessing IDs too): everyone waits a little.
        let all = if st.recent.len() > 20 {
            Duration::from_millis(500)
        } else {
            Duration::ZERO
        };
        own.max(all)
    }

    /// Records a failed sign-in with `key_id`.
    pub fn failed(&self, key_id: &str) {
        let mut st = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let e = st.by_key.entry(key_id.to_string()).or_insert((0, now));
        e.0 = e.0.saturating_add(1);
        e.1 = now;
        st.recent.push(now);
        if st.by_key.len() > 10_000 {
            st.by_key.clear();
        }
    }

    /// Records a successful sign-in with `key_id`.
    pub fn succeeded(&self, key_id: &str) {
        let mut st = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        st.by_key.remove(key_id);
    }
}

/// The sign-in failure message: the same whatever was wrong.
pub const SIGN_IN_REFUSED: &str = "The AccessKey ID or AccessKey Secret is not valid.";

async fn login(
    State(state): State<AppState>,
    https: Option<axum::Extension<crate::server::Https>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let id = field(&f, "access_key_id").to_string();
    let login_token = cookie(&headers, LOGIN_COOKIE);
    let given = field(&f, "login_csrf");
    let matches = login_token
        .is_some_and(|t| !t.is_empty() && bool::from(t.as_bytes().ct_eq(given.as_bytes())));
    if !matches {
        return pages::login_page(
            StatusCode::FORBIDDEN,
            Some(&Alert::Error {
                code: "Forbidden.CSRF".into(),
                message: "The sign-in form's CSRF token is missing or wrong: reload the page \
                          and sign in again."
                    .into(),
            }),
            &id,
            None,
        );
    }
    let secret = f
        .iter()
        .find(|(k, _)| k == "access_key_secret")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let wait = state.throttle.delay(&id);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let key = id.clone();
    let signed = blocking(&state, move |core| core.console_sign_in(&key, &secret)).await;
    match signed {
        Ok(Ok(s)) => {
            state.throttle.succeeded(&id);
            let ttl = (s.session.expires_at - eni_core::now_ms()).max(0) / 1000;
            let mut r = redirect("/console/enis");
            // Over HTTPS the cookie never goes back over plain HTTP on the same port.
            let secure = if https.is_some() { "; Secure" } else { "" };
            let c = format!(
                "{COOKIE_NAME}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={ttl}{secure}",
                s.token
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().append(SET_COOKIE, v);
            }
            r
        }
        Ok(Err(SignInError::Rejected)) => {
            state.throttle.failed(&id);
            pages::login_page(
                StatusCode::UNAUTHORIZED,
                Some(&Alert::Error {
                    code: "InvalidAccessKeyId".into(),
                    message: SIGN_IN_REFUSED.into(),
                }),
                &id,
                login_token,
            )
        }
        Ok(Err(SignInError::Unavailable(e))) | Err(e) => error_page(None, &e),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    if let Err(r) = changing(&state, &headers, &f).await {
        return r;
    }
    if let Some(t) = cookie(&headers, COOKIE_NAME).map(str::to_string) {
        if let Ok(Err(e)) = blocking(&state, move |core| core.console_sign_out(&t)).await {
            return error_page(None, &e);
        }
    }
    let mut r = redirect("/console/login");
    r.headers_mut().append(
        SET_COOKIE,
        HeaderValue::from_static(
            "eni_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

/// `GET /console/region?r=<region>&back=<path>`: the region the pages show.
async fn set_region(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let back = q
        .get("back")
        .filter(|b| b.starts_with("/console/") && !b.contains("//"))
        .map_or("/console/enis", String::as_str);
    let Some(region) = q.get("r").map(String::as_str) else {
        return match pages::signed(&state, &headers).await {
            Ok(s) => pages::regions_page(&state, &s, back),
            Err(r) => r,
        };
    };
    let mut r = redirect(back);
    if state.core.catalog().region(region).is_some() {
        let c = format!("{REGION_COOKIE}={region}; Path=/console; SameSite=Strict");
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(SET_COOKIE, v);
        }
    }
    r
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/app.css"))
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    r
}
