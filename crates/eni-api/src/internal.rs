//! The internal API agents use: `GET /internal/v1/hosts/{host}/desired?since=N` long-polls for
//! a host's desired state newer than generation N (answering at once if it is already newer,
//! else when something changes or `wait_ms` passes; with `delta=1`, only what changed after
//! N, for the agent to apply to its copy), `POST /internal/v1/hosts/{host}/report`
//! takes the agent's report, and `PUT /internal/v1/hosts/{host}` registers the host in a zone
//! (JSON `{zone_id, underlay_address, capacity_vcpus}`); a poll or a report of a registered
//! host is its sign of life. All need `Authorization: Bearer <agent token>`. Bad input
//! (a host ID, a query) is `InvalidParameter` with the Alibaba error body, like every error.
#![allow(clippy::result_large_err)] // Handlers return early with a ready Response; boxing buys nothing.

use crate::AppState;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eni_types::hoststate::{HostRegistration, HostReport};
use eni_types::ids::generate_request_id;
use eni_types::ApiError;
use serde::Deserialize;
use std::time::Duration;

/// Query of the desired-state call.
#[derive(Debug, Deserialize)]
pub struct DesiredQuery {
    /// Answer only with a generation above this one (or when `wait_ms` runs out).
    #[serde(default)]
    pub since: Option<u64>,
    /// How long to wait for a change, in ms (at most 60 000, and at most a third of the
    /// server's host silence timeout; default 20 000).
    #[serde(default)]
    pub wait_ms: Option<u64>,
    /// `1`: answer with a [`eni_types::hoststate::HostDelta`], the change since `since` to
    /// the copy the agent holds (the whole state when the server's log no longer covers
    /// `since`); `0` or absent: the whole state.
    #[serde(default)]
    pub delta: Option<u8>,
}

/// Errors carry the same body as the public API's.
fn error(headers: &HeaderMap, e: ApiError) -> Response {
    crate::render::error(
        &generate_request_id(),
        &crate::host_of(headers),
        crate::render::Format::Json,
        &e,
    )
}

fn bad_host(headers: &HeaderMap) -> Response {
    error(
        headers,
        ApiError::invalid_param_because("host", "host IDs are 1 to 64 of A-Z a-z 0-9 - _ ."),
    )
}

/// Constant-time equality, so the token cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = state.agent_token.as_deref() else {
        // Disabled: as if the path did not exist.
        return Err(error(headers, ApiError::ApiNotFound));
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(error(headers, ApiError::AgentUnauthorized))
    }
}

fn valid_host(host: &str) -> bool {
    (1..=64).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

async fn blocking<T: Send + 'static>(
    headers: &HeaderMap,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| error(headers, ApiError::InternalError))
}

/// `GET /internal/v1/hosts/{host}/desired`.
pub async fn desired(
    State(state): State<AppState>,
    host: Result<Path<String>, PathRejection>,
    q: Result<Query<DesiredQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let host = match authorized_host(&state, host, &headers) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let q = match q {
        Ok(Query(q)) if q.delta.is_none_or(|d| d <= 1) => q,
        Ok(_) => {
            return error(
                &headers,
                ApiError::invalid_param_because("delta", "delta is 0 or 1"),
            )
        }
        Err(e) => {
            return error(
                &headers,
                ApiError::invalid_param_because("query", e.body_text()),
            )
        }
    };
    // A sign of life of its host (if registered).
    let core = state.core.clone();
    let name = host.clone();
    match blocking(&headers, move || core.host_called(&name)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return error(&headers, e),
        Err(r) => return r,
    }
    // A poll is answered within a third of the host silence timeout, so a live agent polls
    // again (a sign of life) well before its host could be taken for silent.
    let silence = u64::try_from(state.core.config().host_silence_ms).unwrap_or(0);
    let wait = q.wait_ms.unwrap_or(20_000).min(60_000).min(silence / 3);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait);
    let mut stopping = state.stopping.subscribe();
    loop {
        // Subscribe before reading, so a change between the read and the wait is not missed.
        let changed = state.changes.notified();
        let core = state.core.clone();
        let gen = match blocking(&headers, move || core.dataplane_generation()).await {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return error(&headers, e),
            Err(r) => return r,
        };
        let newer = q.since.is_none_or(|s| gen > s);
        // A server shutting down answers now rather than leave the poll to be cut.
        if newer || *stopping.borrow() || tokio::time::Instant::now() >= deadline {
            let core = state.core.clone();
            let (since, delta) = (q.since, q.delta == Some(1));
            return match blocking(&headers, move || {
                if delta {
                    core.host_delta(&host, since)
                        .map(|d| Json(d).into_response())
                } else {
                    core.host_desired(&host).map(|d| Json(d).into_response())
                }
            })
            .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => error(&headers, e),
                Err(r) => r,
            };
        }
        // Another process's writes wake `changed` only where the store pushes them;
        // otherwise read it again now and then.
        let poll = async {
            match state.store_poll {
                Some(every) => tokio::time::sleep(every).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = changed => {}
            _ = poll => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = stopping.wait_for(|s| *s) => {}
        }
    }
}

/// The host of an authorized call, checked.
fn authorized_host(
    state: &AppState,
    host: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
) -> Result<String, Response> {
    authorized(state, headers)?;
    match host {
        Ok(Path(host)) if valid_host(&host) => Ok(host),
        _ => Err(bad_host(headers)),
    }
}

/// The host of an authorized call with a JSON body (`what` names the body in an error).
fn host_and_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    host: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: &[u8],
    what: &str,
) -> Result<(String, T), Response> {
    let host = authorized_host(state, host, headers)?;
    let body = serde_json::from_slice(body).map_err(|e| {
        error(
            headers,
            ApiError::invalid_param_because(what, format!("{e}")),
        )
    })?;
    Ok((host, body))
}

/// `PUT /internal/v1/hosts/{host}`: registers the host in a zone (again: its address and
/// capacity change) and answers it as `DescribeDedicatedHosts` names it.
pub async fn register(
    State(state): State<AppState>,
    host: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (host, reg): (String, HostRegistration) =
        match host_and_body(&state, host, &headers, &body, "registration") {
            Ok(v) => v,
            Err(r) => return r,
        };
    let core = state.core.clone();
    match blocking(&headers, move || core.register_host(&host, &reg)).await {
        Ok(Ok(h)) => Json(serde_json::json!({
            "DedicatedHostId": h.id,
            "DedicatedHostName": h.name,
            "ZoneId": h.zone_id,
        }))
        .into_response(),
        Ok(Err(e)) => error(&headers, e),
        Err(r) => r,
    }
}

/// The query of `DELETE /internal/v1/hosts/{host}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    /// Only this zone's host of that name; without it, every zone's.
    zone_id: Option<String>,
}

/// `DELETE /internal/v1/hosts/{host}[?zone_id=Z]`: removes a host that holds no instance (one
/// gone for good). 204; `DependencyViolation` while it holds instances.
pub async fn remove(
    State(state): State<AppState>,
    host: Result<Path<String>, PathRejection>,
    q: Result<Query<RemoveQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let host = match authorized_host(&state, host, &headers) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let zone = match q {
        Ok(Query(q)) => q.zone_id,
        Err(e) => {
            return error(
                &headers,
                ApiError::invalid_param_because("query", e.body_text()),
            )
        }
    };
    let core = state.core.clone();
    match blocking(&headers, move || core.remove_host(&host, zone.as_deref())).await {
        Ok(Ok(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => error(&headers, e),
        Err(r) => r,
    }
}

/// `POST /internal/v1/hosts/{host}/report`.
pub async fn report(
    State(state): State<AppState>,
    host: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (host, report): (String, HostReport) =
        match host_and_body(&state, host, &headers, &body, "report") {
            Ok(v) => v,
            Err(r) => return r,
        };
    let core = state.core.clone();
    match blocking(&headers, move || {
        core.host_called(&host)?;
        core.apply_host_report(&host, &report)
    })
    .await
    {
        Ok(Ok(())) => {
            state.changes.notify_waiters();
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(Err(e)) => error(&headers, e),
        Err(r) => r,
    }
}
