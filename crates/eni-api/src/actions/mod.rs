//! Action handlers: each reads its parameters into a typed core request, makes one core call
//! and renders the documented response shape (list wrappers always present, JSON types as the
//! SDK models declare them).

pub mod catalog;
pub mod eip;
pub mod eni;
pub mod host;
pub mod instance;
pub mod instance_reads;
pub mod security_group;
pub mod tags;
pub mod typed;
pub mod vpc;

use eni_core::query::Page;
use eni_core::{Caller, Core};
use eni_types::time::format_utc;
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

/// What a handler gets besides its parameters.
pub struct Ctx<'a> {
    pub core: &'a Core,
    pub caller: Caller,
    pub version: &'a str,
}

/// A time as instances and dedicated hosts carry it: minutes only, `yyyy-MM-ddTHH:mmZ`.
pub fn minutes(t: i64) -> String {
    let s = format_utc(t);
    format!("{}Z", &s[..16])
}

/// `PageNumber` (default 1) and `PageSize` (default 10, at most `max`).
pub fn page(p: &Params, max: i64) -> Result<Page, ApiError> {
    Ok(Page {
        number: p.int("PageNumber", 1, i64::from(u32::MAX))?.unwrap_or(1) as u64,
        size: p.int("PageSize", 1, max)?.unwrap_or(10) as u64,
    })
}

/// `MaxResults`/`NextToken` paging when either is given (`MaxResults` read with `read_max`,
/// the token passed on as sent), else `PageNumber`/`PageSize` (at most `page_max`).
pub fn paging(
    p: &Params,
    read_max: impl FnOnce(&Params) -> Result<usize, ApiError>,
    page_max: i64,
) -> Result<eni_core::query::Paging, ApiError> {
    use eni_core::query::Paging;
    if p.opt("MaxResults").is_none() && p.opt("NextToken").is_none() {
        return Ok(Paging::Pages(page(p, page_max)?));
    }
    Ok(Paging::Token {
        max: read_max(p)?,
        token: p.opt("NextToken").unwrap_or_default().to_string(),
    })
}

/// `Tags: {Tag: [{Key, Value}]}`.
pub fn tags_view(tags: &[(String, String)]) -> Value {
    let list: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    json!({ "Tag": list })
}

/// Resource times: `yyyy-MM-ddTHH:mm:ssZ`.
pub fn time(t: i64) -> Value {
    Value::String(format_utc(t))
}

/// Turns a `json!({...})` object into the handler's return type.
pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Refuses what this server does not change in place, with an error rather than a silent
/// success: a parameter given (`given`), a flag set to true (`flags`; false asks for
/// nothing), any parameter under a prefix (`prefixes`, e.g. `CpuOptions.`).
pub fn refuse_unsupported(
    p: &Params,
    given: &[&str],
    flags: &[&str],
    prefixes: &[&str],
) -> Result<(), ApiError> {
    let refuse = |name: &str| {
        Err(ApiError::invalid_param_because(
            name,
            "changing it is not supported by this server",
        ))
    };
    if let Some(name) = given.iter().find(|n| p.opt(n).is_some()) {
        return refuse(name);
    }
    for name in flags {
        if p.bool(name)? == Some(true) {
            return refuse(name);
        }
    }
    if let Some((k, _)) = p
        .iter()
        .find(|(k, _)| prefixes.iter().any(|pre| k.starts_with(pre)))
    {
        return refuse(k);
    }
    Ok(())
}
