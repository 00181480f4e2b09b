//! Turning an HTTP request into a parameter map: the query string, plus a form-urlencoded
//! body when there is one (the body wins on a duplicate key, as in Alibaba's tea-rpc client).

use axum::http::{HeaderMap, Method, Uri};
use eni_types::Params;

/// The parts of an HTTP request the API reads.
pub struct RawRequest<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl RawRequest<'_> {
    /// A header as text, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the body is form-urlencoded.
    pub fn has_form_body(&self) -> bool {
        !self.body.is_empty()
            && self.header("content-type").is_some_and(|c| {
                c.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            })
    }

    /// Query pairs followed by body pairs, in wire order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = eni_sign::parse_form(self.uri.query().unwrap_or("").as_bytes());
        if self.has_form_body() {
            pairs.extend(eni_sign::parse_form(self.body));
        }
        pairs
    }

    /// The merged parameter map.
    pub fn params(&self) -> Params {
        Params::from_pairs(self.pairs())
    }
}
