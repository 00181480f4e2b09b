//! The HTTP/1.1 server under the router: accepts connections, serves each with hyper, and
//! keeps hostile or broken clients from holding the server.
//!
//! `axum::serve` runs hyper without a timer and without a connection cap, so a client that
//! connects and sends nothing (or one header line every few seconds, or half a body) holds a
//! connection and a file descriptor forever, and enough of them starve everyone else. Here:
//!
//! - every connection has one deadline at a time, kept by a watchdog beside it
//!   ([`conn::ConnState`]): a new connection must send a complete request head within
//!   `header_read_timeout`, and so must a request that has started arriving; a connection
//!   waiting between requests is closed after `idle_timeout`; a request being served has no
//!   deadline here (the agents' long polls last up to a minute), its body has
//!   `body_read_timeout` (the router's body layer);
//! - at most `max_connections` are open, below the file-descriptor limit. At the cap, a new
//!   connection closes the one that has waited longest without a request in progress, so a
//!   flood of idle connections cannot keep a real request out; if every connection is serving
//!   a request, the new one is answered `503 ServiceUnavailable` and closed;
//! - with a TLS configuration, HTTPS and HTTP share the port: a connection whose first byte
//!   is a TLS handshake record (0x16, which no HTTP method starts with) is served over TLS
//!   (Terraform sends security-group rule updates over HTTPS whatever its protocol setting);
//!   the handshake must finish within `header_read_timeout`;
//! - hyper answers requests it cannot parse (too many headers, a URI over 64 KiB, a head over
//!   its buffer) itself, with an empty body; [`conn::GuardedIo`] replaces those answers with
//!   the Alibaba error body every other error has.

mod conn;

pub use conn::{ConnHandle, ReadingBody};
use conn::{ConnState, GuardedIo, InFlight};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

pub use conn::MAX_HEADERS;

/// The limits the server holds every client to.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a client has to send a complete request head, from the connection's start or
    /// from the first byte of a later request.
    pub header_read_timeout: Duration,
    /// How long a client has to send a request's body once its head arrived.
    pub body_read_timeout: Duration,
    /// How long a connection may wait between requests.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_body_bytes: 2 * 1024 * 1024,
        }
    }
}

/// Connections the open-file limit leaves room for: it less an eighth (32 to 1,024) kept
/// for everything else (the database's files, the data plane's namespaces and sockets, logs).
pub fn connection_cap(fd_limit: u64) -> usize {
    let reserve = (fd_limit / 8).clamp(32, 1024);
    fd_limit.saturating_sub(reserve).max(1) as usize
}

/// The open connections, for the cap and eviction.
#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ConnState>>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a connection, first closing the longest-waiting one without a request in
    /// progress if the cap is reached. `None`: at the cap and every connection is serving.
    fn admit(&self, cap: usize) -> Option<(u64, Arc<ConnState>)> {
        let mut open = self.lock();
        if open.len() >= cap {
            let victim = Self::victim(&open)?;
            if let Some(c) = open.remove(&victim) {
                c.evict();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState::new());
        open.insert(id, state.clone());
        Some((id, state))
    }

    /// Closes the longest-waiting idle connection, when descriptors run out.
    fn evict_one(&self) {
        let mut open = self.lock();
        if let Some(c) = Self::victim(&open).and_then(|v| open.remove(&v)) {
            c.evict();
        }
    }

    /// The connection to close first (see [`ConnState::eviction_rank`]), if any may go.
    fn victim(open: &HashMap<u64, Arc<ConnState>>) -> Option<u64> {
        open.iter()
            .filter_map(|(id, c)| c.eviction_rank().map(|rank| (rank, *id)))
            .min()
            .map(|(_, id)| id)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in progress
/// finish (for at most `drain`) and returns. With `tls`, connections that open with a TLS
/// handshake are served over TLS, the others as plain HTTP.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let registry = Arc::new(Registry::default());
    let limits = Arc::new(limits);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut shutdown => break,
        };
        // Reap finished connection tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                // Out of descriptors: make room rather than spin.
                tracing::warn!(error = %e, "accept failed");
                registry.evict_one();
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            // A connection that went away before it was accepted, and the like.
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Some((id, state)) = registry.admit(limits.max_connections) else {
            tasks.spawn(refuse(stream));
            continue;
        };
        let app = app.clone();
        let limits = limits.clone();
        let registry = registry.clone();
        let mut stop = stop_rx.clone();
        let tls = tls.clone();
        tasks.spawn(async move {
            match tls {
                Some(acceptor) => {
                    serve_tls_or_plain(stream, acceptor, app, state, &limits, &mut stop).await
                }
                None => serve_connection(stream, app, state, &limits, &mut stop, false).await,
            }
            registry.remove(id);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Requests in progress finish; idle connections close at once (graceful shutdown).
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; closing them");
    }
    Ok(())
}

/// In a request's extensions when it came over TLS (the console marks its cookies `Secure`).
#[derive(Debug, Clone, Copy)]
pub struct Https;

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Serves a connection over TLS if it opens with a handshake, else as plain HTTP. The
/// connection's watchdog runs from the accept: the first byte and the handshake count against
/// the request-head deadline, and an eviction closes the connection at any point.
async fn serve_tls_or_plain(
    stream: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    app: axum::Router,
    state: Arc<ConnState>,
    limits: &Limits,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) {
    let mut first = [0u8; 1];
    let peeked = {
        let watchdog = state.watchdog(limits);
        tokio::select! {
            r = stream.peek(&mut first) => r,
            _ = watchdog => return,
        }
    };
    if !matches!(peeked, Ok(1)) {
        return;
    }
    if first[0] != TLS_HANDSHAKE {
        return serve_connection(stream, app, state, limits, stop, false).await;
    }
    let accepted = {
        let watchdog = state.watchdog(limits);
        tokio::select! {
            r = acceptor.accept(stream) => r,
            _ = watchdog => return,
        }
    };
    match accepted {
        Ok(tls) => serve_connection(tls, app, state, limits, stop, true).await,
        Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
    }
}

async fn serve_connection<S>(
    stream: S,
    app: axum::Router,
    state: Arc<ConnState>,
    limits: &Limits,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    https: bool,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(GuardedIo::new(stream, state.clone()));
    let svc_state = state.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        // Marks the request in progress until hyper has sent its whole response.
        let in_flight = InFlight::begin(svc_state.clone());
        req.extensions_mut().insert(ConnHandle(svc_state.clone()));
        if https {
            req.extensions_mut().insert(Https);
        }
        let app = app.clone();
        async move {
            let resp = app
                .oneshot(req.map(axum::body::Body::new))
                .await
                .unwrap_or_else(|e: Infallible| match e {});
            Ok::<_, Infallible>(resp.map(|body| conn::TrackedBody::new(body, in_flight)))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // A client that shuts its side down after sending a request still gets the answer.
    builder.max_headers(MAX_HEADERS).half_close(true);
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut watchdog = pin!(state.watchdog(limits));
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            // A deadline passed or the connection was evicted: dropping it closes the socket.
            _ = watchdog.as_mut() => return,
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// At the cap with every connection serving a request: answer 503 and close.
async fn refuse(mut stream: TcpStream) {
    let response = conn::raw_error_response(&eni_types::ApiError::ServiceUnavailable, "", None);
    let write = async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_descriptors_for_the_rest() {
        assert_eq!(connection_cap(1024), 896);
        assert_eq!(connection_cap(256), 224);
        assert_eq!(connection_cap(128), 96);
        assert_eq!(connection_cap(65536), 64512);
        assert_eq!(connection_cap(1 << 20), (1 << 20) - 1024);
        assert_eq!(connection_cap(10), 1);
    }

    #[test]
    fn at_the_cap_the_longest_waiting_idle_connection_goes() {
        let r = Registry::default();
        let (a, sa) = r.admit(2).unwrap();
        let (_b, sb) = r.admit(2).unwrap();
        // a is serving a request: b, though newer, is the one to go.
        let _busy = InFlight::begin(sa.clone());
        let (_c, _) = r.admit(2).unwrap();
        assert!(sb.is_evicted());
        assert!(!sa.is_evicted());
        assert!(r.lock().contains_key(&a));
        assert_eq!(r.lock().len(), 2);
    }

    #[test]
    fn at_the_cap_with_every_connection_serving_a_new_one_is_refused() {
        let r = Registry::default();
        let (_a, sa) = r.admit(1).unwrap();
        let _busy = InFlight::begin(sa.clone());
        assert!(r.admit(1).is_none());
        assert!(!sa.is_evicted());
    }
}
