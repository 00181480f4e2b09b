//! Response bodies: success is the handler's JSON object plus `RequestId` (never a `Code`,
//! which Terraform would read as an error); an error is `{RequestId, HostId, Code, Message,
//! Recommend}` with the variant's HTTP status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use eni_types::ApiError;
use serde_json::{json, Map, Value};

const JSON: &str = "application/json;charset=utf-8";

fn respond(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(axum::body::Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

/// 200 with the handler's fields and a RequestId first.
pub fn success(request_id: &str, body: Map<String, Value>) -> Response {
    let mut out = Map::new();
    out.insert("RequestId".into(), Value::String(request_id.into()));
    out.extend(body);
    respond(StatusCode::OK, &Value::Object(out))
}

/// The error body and status of `e`.
pub fn error(request_id: &str, host: &str, e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "RequestId": request_id,
        "HostId": host,
        "Code": e.code(),
        "Message": e.to_string(),
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product=Ecs&requestId={}", e.code(), request_id),
    });
    respond(status, &body)
}
