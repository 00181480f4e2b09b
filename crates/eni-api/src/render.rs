//! Response bodies: success is the handler's JSON object plus `RequestId` (never a `Code`,
//! which Terraform would read as an error); an error is `{RequestId, HostId, Code, Message,
//! Recommend}` with the variant's HTTP status. Both come as JSON unless the request asked for
//! `Format=XML` (the legacy protocol's other format), in Alibaba's XML shape: the success body
//! under `<{Action}Response>`, an error under `<Error>`, each list item repeated under its
//! wrapper (`<Regions><Region>…</Region><Region>…</Region></Regions>`).
//!
//! Every error the server sends goes through [`error_body`], including those of the HTTP layer
//! that never reach an action (unknown paths, bodies too large, malformed requests).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use eni_types::ApiError;
use serde_json::{json, Map, Value};

const JSON: &str = "application/json;charset=utf-8";
/// The content type the new SDKs require before they parse an XML error body.
const XML: &str = "text/xml;charset=utf-8";

/// The body format a request asked for with its `Format` parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Json,
    Xml,
}

impl Format {
    /// `Format=XML` (any case) is XML; anything else, or nothing, is JSON.
    pub fn from_param(value: Option<&str>) -> Format {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case("xml") => Format::Xml,
            _ => Format::Json,
        }
    }

    /// The `Format` of a raw (still encoded) query string, for errors raised before the
    /// parameters are merged.
    pub fn from_query(query: &str) -> Format {
        let format = eni_sign::parse_form(query.as_bytes())
            .into_iter()
            .rev()
            .find(|(k, _)| k == "Format")
            .map(|(_, v)| v);
        Format::from_param(format.as_deref())
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Xml => XML,
        }
    }
}

fn respond(status: StatusCode, format: Format, body: String) -> Response {
    let mut r = Response::new(axum::body::Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    r
}

/// What a handler answers: the members of its JSON object, as a `Value` map or already
/// serialized. A large view (a page of ENIs) is serialized straight from typed structs, since
/// building and dropping its `Value` tree cost more than the rest of the request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Fields(Map<String, Value>),
    /// The text of one JSON object.
    Json(String),
}

impl From<Map<String, Value>> for Reply {
    fn from(m: Map<String, Value>) -> Reply {
        Reply::Fields(m)
    }
}

impl Reply {
    /// `view` serialized as the reply's object; `capacity` is a guess of its length, so that
    /// a large body is written into one allocation.
    pub fn typed<T: serde::Serialize + ?Sized>(view: &T, capacity: usize) -> Reply {
        let mut out = Vec::with_capacity(capacity);
        // Serializing derived structs of strings, numbers and sequences into memory cannot
        // fail, and serde_json writes UTF-8 only.
        serde_json::to_writer(&mut out, view).expect("a typed view serializes");
        Reply::Json(String::from_utf8(out).expect("serde_json writes UTF-8"))
    }

    /// The members as a map (for XML, a rare format, and for tests).
    pub fn into_fields(self) -> Map<String, Value> {
        match self {
            Reply::Fields(m) => m,
            Reply::Json(text) => match serde_json::from_str(&text) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            },
        }
    }
}

/// 200 with the handler's fields and a RequestId first.
pub fn success(request_id: &str, action: &str, format: Format, body: Reply) -> Response {
    respond(
        StatusCode::OK,
        format,
        success_body(request_id, action, format, body),
    )
}

/// The body of [`success`].
pub(crate) fn success_body(request_id: &str, action: &str, format: Format, body: Reply) -> String {
    match (format, body) {
        (Format::Json, Reply::Json(object)) => json_with_request_id(request_id, &object),
        (Format::Json, Reply::Fields(m)) => {
            json_with_request_id(request_id, &Value::Object(m).to_string())
        }
        (Format::Xml, body) => {
            let mut out = body.into_fields();
            out.insert("RequestId".into(), Value::String(request_id.into()));
            xml_document(&format!("{action}Response"), &out)
        }
    }
}

/// `{"RequestId":"…",` and the members of `object`, the text of a JSON object, copied
/// as they are.
fn json_with_request_id(request_id: &str, object: &str) -> String {
    let members = object.trim_start().strip_prefix('{').unwrap_or("}");
    let mut out = String::with_capacity(object.len() + request_id.len() + 16);
    out.push_str("{\"RequestId\":");
    out.push_str(&Value::String(request_id.into()).to_string());
    if !members.trim_start().starts_with('}') {
        out.push(',');
    }
    out.push_str(members);
    out
}

/// The status, content type and body of the error `e`, for any layer that answers one.
pub fn error_body(
    request_id: &str,
    host: &str,
    format: Format,
    e: &ApiError,
) -> (StatusCode, &'static str, String) {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "RequestId": request_id,
        "HostId": host,
        "Code": e.code(),
        "Message": e.to_string(),
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product=Ecs&requestId={}", e.code(), request_id),
    });
    let text = match (format, body) {
        (Format::Xml, Value::Object(m)) => xml_document("Error", &m),
        (_, body) => body.to_string(),
    };
    (status, format.content_type(), text)
}

/// The error response of `e`.
pub fn error(request_id: &str, host: &str, format: Format, e: &ApiError) -> Response {
    let (status, _, body) = error_body(request_id, host, format, e);
    respond(status, format, body)
}

pub(crate) fn xml_document(root: &str, fields: &Map<String, Value>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    xml_element(&mut out, root, &Value::Object(fields.clone()));
    out
}

/// One JSON value as XML: an object is an element of elements, an array repeats its name
/// (the JSON wrapper object supplies the outer element), a scalar is text.
fn xml_element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                xml_element(out, name, item);
            }
        }
        Value::Object(fields) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in fields {
                xml_element(out, k, v);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::String(s) => xml_text(out, name, s),
        other => xml_text(out, name, &other.to_string()),
    }
}

fn xml_text(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids even as references (control characters but tab, LF
            // and CR, and the non-characters U+FFFE/U+FFFF) would make the document invalid.
            c if xml_forbidden(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_json_unless_xml_is_asked_for() {
        assert_eq!(Format::from_param(None), Format::Json);
        assert_eq!(Format::from_param(Some("json")), Format::Json);
        assert_eq!(Format::from_param(Some("XML")), Format::Xml);
        assert_eq!(Format::from_param(Some("xml")), Format::Xml);
        assert_eq!(Format::from_query("a=1&Format=xml"), Format::Xml);
        assert_eq!(Format::from_query("Format=XML&Format=JSON"), Format::Json);
        assert_eq!(Format::from_query(""), Format::Json);
    }

    #[test]
    fn lists_repeat_their_item_element_under_the_wrapper() {
        let body = json!({
            "RequestId": "r",
            "Regions": {"Region": [{"RegionId": "a"}, {"RegionId": "b<&>"}]},
            "Ids": {"Id": []},
            "Count": 2,
            "Flag": true,
        });
        let Value::Object(m) = body else {
            unreachable!()
        };
        assert_eq!(
            xml_document("DescribeRegionsResponse", &m),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeRegionsResponse>\
             <Count>2</Count><Flag>true</Flag><Ids></Ids>\
             <Regions><Region><RegionId>a</RegionId></Region>\
             <Region><RegionId>b&lt;&amp;&gt;</RegionId></Region></Regions>\
             <RequestId>r</RequestId></DescribeRegionsResponse>"
        );
    }

    #[test]
    fn text_xml_forbids_is_replaced() {
        let mut out = String::new();
        xml_text(&mut out, "M", "a\u{1}b\tc\nd\u{FFFE}e");
        assert_eq!(out, "<M>a\u{FFFD}b\tc\nd\u{FFFD}e</M>");
    }

    #[test]
    fn errors_carry_every_field_in_both_formats() {
        let e = ApiError::ApiNotFound;
        let (status, ct, body) = error_body("rid", "h:1", Format::Json, &e);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(ct, JSON);
        let v: Value = serde_json::from_str(&body).unwrap();
        for k in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
            assert!(v[k].is_string(), "{k} in {body}");
        }
        let (_, ct, body) = error_body("rid", "h:1", Format::Xml, &e);
        assert_eq!(ct, XML);
        assert!(body.contains("<Error>"), "{body}");
        assert!(body.contains("<Code>InvalidApi.NotFound</Code>"), "{body}");
        assert!(body.contains("<RequestId>rid</RequestId>"), "{body}");
    }
}
