//! HTTP layer of eni: one RPC endpoint at `/` that serves ECS 2014-05-26 and VPC 2016-04-28.
//!
//! A request goes: [`server`] (connection limits and timeouts) → the body read whole within its
//! limits (`body`) → merge query and form-body parameters ([`params`]) → find action and
//! version where the signature covers them (the parameters for RPC, the signed `x-acs-action`
//! / `x-acs-version` headers for ACS3) → check the signature ([`auth`]) → dispatch on
//! (version, action) ([`dispatch`]) → render JSON (or XML) with a RequestId ([`render`]).
//! Handlers are thin adapters over [`eni_core::Core`]; they live in [`actions`].

pub mod actions;
pub mod auth;
mod body;
pub mod console;
pub mod dispatch;
pub mod internal;
pub mod params;
pub mod render;
pub mod server;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use eni_core::Core;
use eni_types::ids::generate_request_id;
use eni_types::ApiError;
use render::Format;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

pub use server::Limits;

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    /// The bearer token of the internal agent API; `None` disables that API.
    pub agent_token: Option<Arc<str>>,
    /// Woken after every successful API call, so agents' long polls answer at once.
    pub changes: Arc<Notify>,
    /// Body size and time limits (the connection limits are the server's).
    pub limits: Arc<Limits>,
    /// Set to true when the server starts shutting down: long polls answer at once.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// How often a long poll reads the store again for changes this server did not make;
    /// `None` when the store pushes them ([`AppState::watch_store`]).
    pub store_poll: Option<std::time::Duration>,
    /// The console's failed sign-ins, which slow down the next ones.
    pub throttle: Arc<console::Throttle>,
}

impl AppState {
    /// State for `core`, without the internal API.
    pub fn new(core: Core) -> Self {
        AppState {
            core,
            agent_token: None,
            changes: Arc::new(Notify::new()),
            limits: Arc::new(Limits::default()),
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
            store_poll: Some(std::time::Duration::from_millis(200)),
            throttle: Arc::new(console::Throttle::default()),
        }
    }

    /// Has the store wake the long polls when another server commits a change, where it can
    /// (PostgreSQL); they then stop polling it. Blocks while the store sets that up (in an
    /// async context, call it inside `block_in_place`).
    pub fn watch_store(mut self) -> Result<Self, eni_types::ApiError> {
        let changes = self.changes.clone();
        if self
            .core
            .watch_store_changes(Arc::new(move || changes.notify_waiters()))?
        {
            self.store_poll = None;
        }
        Ok(self)
    }

    /// Enables the internal agent API with `token`.
    pub fn with_agent_token(mut self, token: &str) -> Self {
        self.agent_token = Some(Arc::from(token));
        self
    }

    /// Uses `limits` for request bodies.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Arc::new(limits);
        self
    }
}

/// The router: `/` for the API, `/healthz` for readiness, the agents' internal API, the web
/// console under `/console/` ([`console`]). Every
/// request's body is read whole first, within the body limits ([`body`]); anything else
/// (another path, a method a path does not take) is `InvalidApi.NotFound`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/", any(rpc))
        .route("/console/", get(console::home))
        .nest("/console", console::router())
        .route(
            "/internal/v1/hosts/{host}",
            axum::routing::put(internal::register).delete(internal::remove),
        )
        .route("/internal/v1/hosts/{host}/desired", get(internal::desired))
        .route(
            "/internal/v1/hosts/{host}/report",
            axum::routing::post(internal::report),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body::read_whole,
        ))
        // The body layer above enforces the limit, with an Alibaba error body.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// The `Host` header, for `HostId` in error bodies.
pub(crate) fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string()
}

async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let format = Format::from_query(uri.query().unwrap_or(""));
    render::error(
        &generate_request_id(),
        &host_of(&headers),
        format,
        &ApiError::ApiNotFound,
    )
}

/// Runs the synchronous handler `f` of a request: on the worker thread that polled it when the
/// runtime has several (the others serve every other connection meanwhile) and the store
/// answers from this process (SQLite: not [`eni_core::Core::store_shared`]), on a blocking
/// thread otherwise: a current-thread runtime, as in tests, would stop altogether, and a store
/// that waits on the network (PostgreSQL, whose client runs a runtime of its own, which cannot
/// start inside this one) must not hold a worker. A panic in `f` is returned, not propagated.
pub(crate) async fn run_blocking<R: Send + 'static>(
    local_store: bool,
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if local_store && Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .map_err(|_| "panicked".to_string())
    } else {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| e.to_string())
    }
}

async fn rpc(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = generate_request_id();
    let host = host_of(&headers);
    let started = Instant::now();
    let changes = state.changes.clone();
    let local_store = !state.core.store_shared();
    // The store is synchronous and a request's transactions are short (a create is about a
    // tenth of a millisecond): the handler runs on this worker thread, and the runtime's other
    // workers serve the other connections meanwhile. A hand-off to a blocking thread and
    // back (`spawn_blocking`, or `block_in_place`, which moves the worker away) costs two
    // thread wake-ups per request, more than the rest of a cheap request's HTTP handling.
    let work = move || {
        let req = params::RawRequest {
            method: &method,
            uri: &uri,
            headers: &headers,
            body: &body,
        };
        dispatch::handle(&state.core, &req)
    };
    let outcome = match run_blocking(local_store, work).await {
        Ok(o) => o,
        Err(error) => {
            tracing::error!(%error, "request handler panicked");
            dispatch::Outcome {
                action: String::new(),
                format: Format::Json,
                result: Err(ApiError::InternalError),
            }
        }
    };
    let dispatch::Outcome {
        action,
        format,
        result,
    } = outcome;
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
        Ok(body) => render::success(&request_id, &action, format, body),
        Err(e) => render::error(&request_id, &host, format, &e),
    }
    .into_response()
}
