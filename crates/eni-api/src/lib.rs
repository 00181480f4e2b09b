//! HTTP layer of eni: one RPC endpoint at `/` that serves ECS 2014-05-26 and VPC 2016-04-28.
//!
//! A request goes: merge query and form-body parameters ([`params`]) → find action and version
//! (parameters first, then the `x-acs-action` / `x-acs-version` headers) → check the signature
//! ([`auth`]) → dispatch on (version, action) ([`dispatch`]) → render JSON with a RequestId
//! ([`render`]). Handlers are thin adapters over [`eni_core::Core`]; they live in [`actions`].

pub mod actions;
pub mod auth;
pub mod dispatch;
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
use std::time::Instant;

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
}

/// The router: `/` for the API, `/healthz` for readiness.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/", any(rpc))
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
