//! One connection's state: where it is between requests (and so which deadline applies), the
//! requests in progress, and the socket wrapper that sees its bytes.
//!
//! Stages: `Fresh` (accepted, nothing read yet) and `Head` (a request is arriving) must finish
//! a request head within the header timeout; `Body` (the router reads the request's body) has
//! the body timeout, enforced by the body layer, which answers 408; `Serving` (a handler has
//! the request) has no deadline; `Flushing` (its response is written but maybe not yet handed
//! to the socket) and `Waiting` (between requests) have the idle timeout, `Flushing` counted
//! from the last bytes the socket took. The router marks a request
//! in progress with [`InFlight`], which rides on the response body until hyper drops it; the
//! next flush of the socket completes the response.

use crate::render::{self, Format};
use eni_types::ApiError;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Limits;

/// Headers hyper parses per request (its default); more is `431` with an Alibaba body.
pub const MAX_HEADERS: usize = 100;
/// hyper's default read buffer, the most a request head may take.
const MAX_HEAD_BYTES: usize = 400 * 1024;
/// Bytes of a request head kept to answer a request hyper could not parse in the format it
/// asked for and with the host it named.
const SNIFF_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Fresh,
    Head,
    Body,
    Serving,
    Flushing,
    Waiting,
}

struct Phase {
    stage: Stage,
    /// When the current stage's deadline started.
    since: Instant,
    in_flight: u32,
    /// The start of the request head being read (`Fresh`/`Head`/`Waiting` only).
    sniff: Vec<u8>,
}

/// What the server and the watchdog know of one connection.
pub struct ConnState {
    phase: Mutex<Phase>,
    /// Wakes the watchdog when the connection is evicted.
    wake: Notify,
    evicted: AtomicBool,
}

impl ConnState {
    pub fn new() -> Self {
        ConnState {
            phase: Mutex::new(Phase {
                stage: Stage::Fresh,
                since: Instant::now(),
                in_flight: 0,
                sniff: Vec::new(),
            }),
            wake: Notify::new(),
            evicted: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the connection (through its watchdog).
    pub fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    /// Which connection to close first at the cap: those waiting between requests (or never
    /// used), then those sending a head or a body, each oldest first; never one whose request
    /// a handler is serving.
    pub fn eviction_rank(&self) -> Option<(u8, Instant)> {
        let p = self.lock();
        match p.stage {
            Stage::Fresh | Stage::Waiting => Some((0, p.since)),
            Stage::Head | Stage::Body => Some((1, p.since)),
            // Its response may still be on its way out: only if nothing else can go.
            Stage::Flushing => Some((2, p.since)),
            Stage::Serving => None,
        }
    }

    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let p = self.lock();
        match p.stage {
            Stage::Fresh | Stage::Head => Some(p.since + limits.header_read_timeout),
            // Flushing normally lasts until the next flush, microseconds; should hyper not
            // flush again, the connection still counts as waiting.
            Stage::Waiting | Stage::Flushing => Some(p.since + limits.idle_timeout),
            // The body layer answers 408 at the body timeout; a handler has all the time.
            Stage::Body | Stage::Serving => None,
        }
    }

    /// Completes when the connection must close: its deadline passed or it was evicted.
    ///
    /// Stage changes do not wake it (that cost every request several wake-ups of its task);
    /// it looks again at least every `recheck` instead. A stage change at `t` sets a deadline
    /// no earlier than `t + recheck`, and the watchdog looked last at or before `t`, so it is
    /// awake again by then and never misses one.
    pub async fn watchdog(&self, limits: &Limits) {
        let recheck = limits.header_read_timeout.min(limits.idle_timeout);
        loop {
            if self.is_evicted() {
                return;
            }
            let wake = self.wake.notified();
            let now = Instant::now();
            let next = match self.deadline(limits) {
                Some(d) if d <= now => return,
                Some(d) => d.min(now + recheck),
                None => now + recheck,
            };
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = wake => {}
            }
        }
    }

    fn on_read(&self, bytes: &[u8]) {
        let mut p = self.lock();
        match p.stage {
            Stage::Waiting => {
                p.sniff.clear();
                self.enter(p, Stage::Head);
                p = self.lock();
            }
            Stage::Fresh => {
                // The header deadline runs from the accept for a connection's first request.
                p.stage = Stage::Head;
            }
            _ => {}
        }
        if matches!(p.stage, Stage::Head) && p.sniff.len() < SNIFF_BYTES {
            let take = bytes.len().min(SNIFF_BYTES - p.sniff.len());
            p.sniff.extend_from_slice(&bytes[..take]);
        }
    }

    /// Moves to `stage`, its deadline counting from now.
    fn enter(&self, mut p: MutexGuard<'_, Phase>, stage: Stage) {
        p.stage = stage;
        p.since = Instant::now();
    }

    fn begin(&self) {
        let mut p = self.lock();
        p.in_flight += 1;
        p.stage = Stage::Serving;
        p.sniff = Vec::new();
    }

    fn end(&self) {
        let mut p = self.lock();
        p.in_flight = p.in_flight.saturating_sub(1);
        if p.in_flight == 0 && p.stage == Stage::Serving {
            self.enter(p, Stage::Flushing);
        }
    }

    fn flushed(&self) {
        let p = self.lock();
        if p.stage == Stage::Flushing {
            self.enter(p, Stage::Waiting);
        }
    }

    /// Whether what hyper writes now is the router's (rather than hyper's own answer to a
    /// request it could not parse): a `100 Continue`, a response, or the rest of one.
    fn serving(&self) -> bool {
        matches!(
            self.lock().stage,
            Stage::Body | Stage::Serving | Stage::Flushing
        )
    }

    /// The socket took bytes of a response: a slow reader is not idle while it reads.
    fn wrote(&self) {
        let mut p = self.lock();
        if p.stage == Stage::Flushing {
            p.since = Instant::now();
        }
    }

    fn reading_body(&self, reading: bool) {
        let p = self.lock();
        match (p.stage, reading) {
            (Stage::Serving, true) => self.enter(p, Stage::Body),
            (Stage::Body, false) => self.enter(p, Stage::Serving),
            _ => {}
        }
    }

    /// The format and host the request being read asked for, as far as it arrived.
    fn sniffed(&self) -> (Format, Option<String>) {
        let p = self.lock();
        let head = String::from_utf8_lossy(&p.sniff);
        let mut lines = head.split("\r\n");
        let format = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|target| target.split_once('?'))
            .map(|(_, q)| Format::from_query(q))
            .unwrap_or_default();
        let host = lines
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.trim().to_string());
        (format, host)
    }
}

/// The connection a request came on, in the request's extensions: the body layer marks the
/// time it reads the body, during which the connection may be evicted like one sending a head.
#[derive(Clone)]
pub struct ConnHandle(pub(super) Arc<ConnState>);

impl ConnHandle {
    /// Marks the body being read until the returned guard drops.
    pub fn reading_body(&self) -> ReadingBody {
        self.0.reading_body(true);
        ReadingBody(self.0.clone())
    }
}

/// The body of a request being read (see [`ConnHandle::reading_body`]).
pub struct ReadingBody(Arc<ConnState>);

impl Drop for ReadingBody {
    fn drop(&mut self) {
        self.0.reading_body(false);
    }
}

/// A request in progress on a connection; dropped with its response body.
pub struct InFlight(Arc<ConnState>);

impl InFlight {
    pub fn begin(state: Arc<ConnState>) -> Self {
        state.begin();
        InFlight(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// A response body that keeps its request marked in progress until hyper drops it.
pub struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl TrackedBody {
    pub fn new(inner: axum::body::Body, in_flight: InFlight) -> Self {
        TrackedBody {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl http_body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The complete response for `e`, written straight to a socket (connection closed after).
pub fn raw_error_response(e: &ApiError, host: &str, format: Option<Format>) -> Vec<u8> {
    let request_id = eni_types::ids::generate_request_id();
    let host = if host.is_empty() { "localhost" } else { host };
    let (status, content_type, body) =
        render::error_body(&request_id, host, format.unwrap_or_default(), e);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// The error behind one of hyper's own answers, by its status.
fn hyper_answer_error(status: u16) -> ApiError {
    match status {
        414 => ApiError::RequestUriTooLong,
        431 => ApiError::RequestHeadersTooLarge {
            max_headers: MAX_HEADERS,
            max_bytes: MAX_HEAD_BYTES,
        },
        _ => ApiError::MalformedHttpRequest,
    }
}

/// The socket as hyper sees it: reads move the connection's stage along, and an answer hyper
/// writes on its own (a request it could not parse, when no request is being served) is
/// swallowed and replaced by the same status with an Alibaba error body.
pub struct GuardedIo<S = TcpStream> {
    inner: S,
    state: Arc<ConnState>,
    /// hyper's own answer, collected until its head is complete.
    swallowed: Option<Vec<u8>>,
    /// Our replacement, still to write.
    out: Vec<u8>,
    out_pos: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> GuardedIo<S> {
    pub fn new(inner: S, state: Arc<ConnState>) -> Self {
        GuardedIo {
            inner,
            state,
            swallowed: None,
            out: Vec::new(),
            out_pos: 0,
        }
    }

    /// Writes what is left of the replacement.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            let n = std::task::ready!(
                Pin::new(&mut self.inner).poll_write(cx, &self.out[self.out_pos..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for GuardedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let read = &buf.filled()[before..];
            if !read.is_empty() {
                self.state.on_read(read);
            }
        }
        r
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for GuardedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.swallowed.is_none() && !self.state.serving() {
            self.swallowed = Some(Vec::new());
        }
        let this = &mut *self;
        let Some(swallowed) = this.swallowed.as_mut() else {
            let r = Pin::new(&mut this.inner).poll_write(cx, data);
            if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
                this.state.wrote();
            }
            return r;
        };
        if this.out.is_empty() {
            swallowed.extend_from_slice(data);
            if let Some(end) = swallowed.windows(4).position(|w| w == b"\r\n\r\n") {
                let status = std::str::from_utf8(&swallowed[..end])
                    .ok()
                    .and_then(|head| head.split(' ').nth(1))
                    .and_then(|s| s.parse::<u16>().ok())
                    .unwrap_or(400);
                let (format, host) = this.state.sniffed();
                this.out = raw_error_response(
                    &hyper_answer_error(status),
                    host.as_deref().unwrap_or(""),
                    Some(format),
                );
            }
        }
        // Written out on flush; hyper closes the connection after its answer.
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_drain(cx))?;
        std::task::ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        // hyper flushes after handing over a whole response: the one in progress is out.
        self.state.flushed();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            ..Limits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stages_set_the_deadline() {
        let s = Arc::new(ConnState::new());
        let t0 = Instant::now();
        assert_eq!(s.deadline(&limits()), Some(t0 + Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(3)).await;
        // The first request's head counts from the accept.
        s.on_read(b"GET / HTTP/1.1\r\n");
        assert_eq!(s.deadline(&limits()), Some(t0 + Duration::from_secs(10)));
        let req = InFlight::begin(s.clone());
        assert_eq!(s.deadline(&limits()), None);
        assert!(s.eviction_rank().is_none());
        drop(req);
        // The response is out only once the socket was flushed.
        assert!(s.serving());
        assert_eq!(s.eviction_rank().map(|r| r.0), Some(2));
        s.flushed();
        let t1 = Instant::now();
        assert_eq!(s.deadline(&limits()), Some(t1 + Duration::from_secs(30)));
        tokio::time::advance(Duration::from_secs(5)).await;
        // A later request's head counts from its first byte.
        s.on_read(b"G");
        assert_eq!(
            s.deadline(&limits()),
            Some(t1 + Duration::from_secs(5) + Duration::from_secs(10))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_being_read_is_evictable_a_request_being_served_is_not() {
        let s = Arc::new(ConnState::new());
        s.on_read(b"POST / HTTP/1.1\r\n");
        let req = InFlight::begin(s.clone());
        assert_eq!(s.eviction_rank(), None);
        let body = ConnHandle(s.clone()).reading_body();
        assert_eq!(s.eviction_rank().map(|r| r.0), Some(1));
        // hyper's 100 Continue, written while the body is read, is the router's.
        assert!(s.serving());
        drop(body);
        assert_eq!(s.eviction_rank(), None);
        drop(req);
        s.flushed();
        assert_eq!(s.eviction_rank().map(|r| r.0), Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_is_not_idle_while_the_socket_takes_its_response() {
        let s = Arc::new(ConnState::new());
        s.on_read(b"GET / HTTP/1.1\r\n");
        drop(InFlight::begin(s.clone()));
        tokio::time::advance(Duration::from_secs(25)).await;
        s.wrote();
        let now = Instant::now();
        assert_eq!(s.deadline(&limits()), Some(now + Duration::from_secs(30)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_fires_at_the_deadline_or_on_eviction() {
        let s = Arc::new(ConnState::new());
        let t0 = Instant::now();
        s.watchdog(&limits()).await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(10));

        let s = Arc::new(ConnState::new());
        let _req = InFlight::begin(s.clone());
        let w = {
            let s = s.clone();
            tokio::spawn(async move { s.watchdog(&limits()).await })
        };
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(!w.is_finished());
        s.evict();
        w.await.unwrap();
    }

    #[test]
    fn the_sniffed_head_gives_format_and_host() {
        let s = ConnState::new();
        s.on_read(b"GET /?Action=X&Format=XML&");
        s.on_read(b"A=1 HTTP/1.1\r\nHost: ecs.example:8080\r\nX-Other: 1\r\n");
        assert_eq!(
            s.sniffed(),
            (Format::Xml, Some("ecs.example:8080".to_string()))
        );
        let s = ConnState::new();
        s.on_read(b"GET / HTTP/1.1\r\n");
        assert_eq!(s.sniffed(), (Format::Json, None));
    }

    #[test]
    fn raw_errors_are_complete_responses() {
        let r = raw_error_response(&ApiError::RequestUriTooLong, "h", None);
        let text = String::from_utf8(r).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(body.contains("\"Code\":\"RequestURITooLong\""), "{body}");
    }
}
