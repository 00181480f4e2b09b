//! The topology picture of a VPC: one column per vSwitch, in it the instances whose primary
//! network interface is there (each with its network interfaces by device index, and the
//! EIP of each address), and below them the vSwitch's network interfaces attached to no
//! instance. SVG drawn on the server; the page's script fetches it again every second, so a
//! moving ENI is seen moving. Every drawn thing carries `data-id`.

use super::html::{at, esc, list, text};
use super::pages::{group_by, signed, Signed};
use super::{blocking, ecs, vpc};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use eni_core::Core;
use eni_types::ApiError;
use serde_json::Value;
use std::fmt::Write;

/// At most this many network interfaces and instances are drawn (the first of each).
const MAX_DRAWN: &str = "100";
const COL: i64 = 300;
const PAD: i64 = 12;
const ROW: i64 = 18;

/// `GET /console/vpcs/{id}/topology.svg`.
pub async fn svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let drawn = blocking(&state, move |core| draw(core, &s, &id)).await;
    match drawn {
        Ok(Ok(svg)) => {
            let mut r = svg.into_response();
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml; charset=utf-8"),
            );
            r.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(Err(e)) | Err(e) => StatusCode::from_u16(e.status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
    }
}

fn device(e: &Value) -> u64 {
    at(e, "Attachment.DeviceIndex")
        .and_then(Value::as_u64)
        .unwrap_or(if text(e, "Type") == "Primary" { 0 } else { 99 })
}

/// The SVG of VPC `vpc_id` as `s`'s account sees it.
pub fn draw(core: &Core, s: &Signed, vpc_id: &str) -> Result<String, ApiError> {
    let vs = vpc(core, s, "DescribeVpcs", &[("VpcId", vpc_id)])?;
    if list(&vs, "Vpcs.Vpc").is_empty() {
        return Err(ApiError::VpcNotFound);
    }
    let vsw = vpc(
        core,
        s,
        "DescribeVSwitches",
        &[("VpcId", vpc_id), ("PageSize", "50")],
    )?;
    let vswitches = list(&vsw, "VSwitches.VSwitch");
    let inst = ecs(
        core,
        s,
        "DescribeInstances",
        &[("VpcId", vpc_id), ("PageSize", MAX_DRAWN)],
    )?;
    let instances = list(&inst, "Instances.Instance");
    let en = ecs(
        core,
        s,
        "DescribeNetworkInterfaces",
        &[("VpcId", vpc_id), ("PageSize", MAX_DRAWN)],
    )?;
    let enis = list(&en, "NetworkInterfaceSets.NetworkInterfaceSet");
    let by_instance = group_by(enis, "InstanceId");
    // An instance sits in the column of its primary ENI's vSwitch.
    let home = |i: &Value| -> String {
        by_instance
            .get(text(i, "InstanceId"))
            .and_then(|l| l.iter().find(|e| text(e, "Type") == "Primary"))
            .map_or_else(
                || text(i, "VpcAttributes.VSwitchId").to_string(),
                |e| text(e, "VSwitchId").to_string(),
            )
    };
    let mut body = String::new();
    let mut height = 0;
    for (c, sw) in vswitches.iter().enumerate() {
        let x = PAD + c as i64 * (COL + PAD);
        let sid = text(sw, "VSwitchId");
        let mut y = PAD;
        let _ = write!(
            body,
            "<g class=\"vswitch\" data-id=\"{}\"><rect class=\"vsw\" x=\"{x}\" y=\"{y}\" width=\"{COL}\" height=\"{}\" rx=\"6\"/>\
             <text x=\"{}\" y=\"{}\" class=\"title\">{} {}</text><text x=\"{}\" y=\"{}\" class=\"small\">{} · {}</text></g>",
            esc(sid), ROW * 2 + 8, x + 8, y + ROW, esc(sid), esc(text(sw, "VSwitchName")), x + 8, y + ROW * 2, esc(text(sw, "CidrBlock")), esc(text(sw, "ZoneId"))
        );
        y += ROW * 2 + 16;
        for i in instances.iter().filter(|i| home(i) == sid) {
            let iid = text(i, "InstanceId");
            let mut nics: Vec<&&Value> = by_instance
                .get(iid)
                .map(|l| l.iter().collect())
                .unwrap_or_default();
            nics.sort_by_key(|e| device(e));
            // The network interfaces first, to know the instance box's height.
            let mut inner = String::new();
            let mut ry = y + ROW + 8;
            for e in nics {
                ry += draw_eni(&mut inner, e, x + 14, ry, true) + 4;
            }
            let h = ry - y + 4;
            let _ = write!(
                body,
                "<g class=\"instance\" data-id=\"{}\"><rect class=\"inst\" x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{h}\" rx=\"6\"/>\
                 <a href=\"/console/instances/{}\"><text x=\"{}\" y=\"{}\" class=\"title\">{} · {}</text></a>{inner}</g>",
                esc(iid), x + 6, COL - 12, esc(iid), x + 14, y + ROW, esc(iid), esc(text(i, "Status"))
            );
            y += h + 8;
        }
        let loose: Vec<&Value> = enis
            .iter()
            .filter(|e| text(e, "VSwitchId") == sid && text(e, "InstanceId").is_empty())
            .collect();
        if !loose.is_empty() {
            let _ = write!(
                body,
                "<text x=\"{}\" y=\"{}\" class=\"small\">not attached</text>",
                x + 8,
                y + ROW - 4
            );
            y += ROW;
            for e in loose {
                y += draw_eni(&mut body, e, x + 14, y, false) + 4;
            }
            y += 8;
        }
        height = height.max(y + PAD);
    }
    let width = PAD + vswitches.len().max(1) as i64 * (COL + PAD);
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {}\" width=\"{width}\" height=\"{}\" role=\"img\" aria-label=\"Topology of {}\">{body}</svg>",
        height.max(80),
        height.max(80),
        esc(vpc_id)
    ))
}

/// One network interface with its top left at (x, top): its device, ID and status, then an
/// address per row with its EIP. Returns the height it took.
fn draw_eni(out: &mut String, e: &Value, x: i64, top: i64, attached: bool) -> i64 {
    let id = text(e, "NetworkInterfaceId");
    let addrs = list(e, "PrivateIpSets.PrivateIpSet");
    let h = ROW * (addrs.len() as i64 + 1) + 6;
    let dev = if attached {
        format!("eth{} ", device(e))
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<g class=\"nic\" data-id=\"{}\" data-status=\"{}\"><rect class=\"{}\" x=\"{x}\" y=\"{top}\" width=\"{}\" height=\"{h}\" rx=\"4\"/>\
         <a href=\"/console/enis/{}\"><text x=\"{}\" y=\"{}\">{}{} · {}</text></a>",
        esc(id), esc(text(e, "Status")), if attached { "eni" } else { "loose" }, COL - 40, esc(id), x + 6, top + ROW - 4, esc(&dev), esc(id), esc(text(e, "Status"))
    );
    for (n, a) in addrs.iter().enumerate() {
        let ay = top + ROW * (n as i64 + 2) - 4;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{ay}\" class=\"small\">{}</text>",
            x + 16,
            esc(text(a, "PrivateIpAddress"))
        );
        let eip = text(a, "AssociatedPublicIp.PublicIpAddress");
        if !eip.is_empty() {
            let _ = write!(
                out,
                "<g class=\"eip\" data-id=\"{}\"><rect class=\"eip\" x=\"{}\" y=\"{}\" width=\"124\" height=\"{}\" rx=\"8\"/><text x=\"{}\" y=\"{ay}\" class=\"small\">EIP {}</text></g>",
                esc(text(a, "AssociatedPublicIp.AllocationId")), x + 120, ay - ROW + 6, ROW - 2, x + 128, esc(eip)
            );
        }
    }
    out.push_str("</g>");
    h
}
