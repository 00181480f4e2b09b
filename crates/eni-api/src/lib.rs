//! HTTP layer of eni: one RPC endpoint at `/` that serves ECS 2014-05-26 and VPC 2016-04-28.
//!
//! A request goes: merge query and form-body parameters ([`params`]) → find action and version
//! (parameters first, then the `x-acs-action` / `x-acs-version` headers) → check the signature
//! ([`auth`]) → dispatch on (version, action) ([`dispatch`]) → render JSON with a RequestId
//! ([`render`]). Handlers are thin adapters over [`eni_core::Core`]; they live in [`actions`].

pub mod actions;
pub mod auth;
pub mod dispatch;
pub mod internal;
pub mod params;
pub mod render;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use eni_core::Core;
use eni_types::ids::generate_request_id;
use eni_types::ApiError;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    /// The bearer token of the internal agent API; `None` disables that API.
    pub agent_token: Option<Arc<str>>,
    /// Woken after every successful API call, so agents' long polls answer at once.
    pub changes: Arc<Notify>,
}

impl AppState {
    /// State for `core`, without the internal API.
    pub fn new(core: Core) -> Self {
        AppState {
            core,
            agent_token: None,
            changes: Arc::new(Notify::new()),
        }
    }

    /// Enables the internal agent API with `token`.
    pub fn with_agent_token(mut self, token: &str) -> Self {
        self.agent_token = Some(Arc::from(token));
        self
    }
}

/// The router: `/` for the API, `/healthz` for readiness.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/", any(rpc))
        .route("/internal/v1/hosts/{host}/desired", get(internal::desired))
        .route(
            "/internal/v1/hosts/{host}/report",
            axum::routing::post(internal::report),
        )
        .with_state(state)
}

async fn rpc(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = generate_request_id();
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let started = Instant::now();
    let changes = state.changes.clone();
    // The store is synchronous; keep it off the async workers.
    let outcome = tokio::task::spawn_blocking(move || {
        let req = params::RawRequest {
            method: &method,
            uri: &uri,
            headers: &headers,
            body: &body,
        };
        dispatch::handle(&state.core, &req)
    })
    .await;
    let (action, result) = match outcome {
        Ok(r) => r,
        Err(join) => {
            tracing::error!(error = %join, "request handler panicked");
            (String::new(), Err(ApiError::InternalError))
        }
    };
    // Any successful call may have changed what a data plane should do: wake the agents'
    // long polls now rather than at their next tick.
    if result.is_ok() {
        changes.notify_waiters();
    }
    let elapsed_us = started.elapsed().as_micros() as u64;
    match &result {
        Ok(_) => tracing::debug!(%action, %request_id, elapsed_us, "ok"),
        Err(e) => {
            tracing::info!(%action, %request_id, code = e.code(), status = e.status(), elapsed_us, "error")
        }
    }
    match result {
        Ok(body) => render::success(&request_id, body),
        Err(e) => render::error(&request_id, &host, &e),
    }
    .into_response()
}
