//! Every request body is read whole before a handler runs, within `max_body_bytes` and
//! `body_read_timeout`: a client that announces a body and sends a byte of it gets
//! `408 RequestTimeout` and loses the connection, one that sends too much gets
//! `413 RequestEntityTooLarge`, both with the Alibaba error body. Handlers then read the
//! buffered bytes.

use crate::render::{self, Format};
use crate::{host_of, AppState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use eni_types::ids::generate_request_id;
use eni_types::ApiError;
use http_body_util::BodyExt;

/// The layer: buffers the body, then runs the rest of the stack.
pub(crate) async fn read_whole(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let limit = state.limits.max_body_bytes;
    let timeout = state.limits.body_read_timeout;
    let refuse = |e: ApiError| {
        let format = Format::from_query(parts.uri.query().unwrap_or(""));
        let mut r = render::error(&generate_request_id(), &host_of(&parts.headers), format, &e);
        // The rest of the body is not read: the connection cannot carry another request.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return refuse(ApiError::RequestBodyTooLarge { limit });
    }
    // While the body arrives the connection may be evicted like one sending its head: a
    // client that announces a body and sends none must not hold a connection slot.
    let reading = parts
        .extensions
        .get::<crate::server::ConnHandle>()
        .map(|c| c.reading_body());
    let read = async {
        let mut body = body;
        let mut buf = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Err(ApiError::MalformedHttpRequest);
            };
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limit {
                    return Err(ApiError::RequestBodyTooLarge { limit });
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf.freeze())
    };
    let read = tokio::time::timeout(timeout, read).await;
    drop(reading);
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => return refuse(e),
        Err(_) => {
            return refuse(ApiError::RequestTimeout {
                ms: timeout.as_millis() as u64,
            })
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
