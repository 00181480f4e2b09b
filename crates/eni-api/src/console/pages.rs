//! The console's pages (GET): sign-in, the network interfaces with their filters and paging,
//! an ENI's details with the forms its state allows, the create forms, instances, VPCs.
//! Each reads through the API's own actions ([`super::call`]).

use super::html::{
    self, at, button_form, csrf_field, esc, input, list, select, status, text, url, Alert,
};
use super::{blocking, ecs, error_page, html_response, redirect, vpc, Req, Session};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use eni_core::Core;
use eni_types::ApiError;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

type Q = Query<HashMap<String, String>>;
/// A signed-in request: its session and region.
pub type Signed = (Session, String);

/// The session of a page request, or the response that sends the browser to sign in.
pub async fn signed(state: &AppState, headers: &HeaderMap) -> Result<Signed, Response> {
    let req = Req::of(state, headers)
        .await
        .map_err(|e| error_page(None, &e))?;
    match req.session {
        Some(s) => Ok((s, req.region)),
        None => Err(redirect("/console/login")),
    }
}

/// Reads with the store off the worker, as `s`'s account; an API error becomes its page.
async fn read<T: Send + 'static>(
    state: &AppState,
    s: &Signed,
    f: impl FnOnce(&Core, &Signed) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, Response> {
    let who = s.clone();
    match blocking(state, move |core| f(core, &who)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) | Err(e) => Err(error_page(Some(&s.0), &e)),
    }
}

/// A full page for a signed-in session, with the region it shows (a link to switch).
pub fn framed(s: &Signed, title: &str, alert: Option<&Alert>, here: &str, body: &str) -> String {
    let region = format!(
        "<p class=\"region\">Region <strong>{}</strong> · <a href=\"/console/region?back={}\">Switch region</a></p>",
        esc(&s.1),
        esc(&url(here))
    );
    html::page(title, Some(&s.0), alert, &format!("{region}{body}"))
}

/// `GET /console/region` without a region: the catalog's regions to pick from.
pub fn regions_page(state: &AppState, s: &Signed, back: &str) -> Response {
    let mut b = String::from("<h1>Regions</h1><ul class=\"regions\">");
    for r in &state.core.catalog().regions {
        let _ = write!(
            b,
            "<li><a href=\"/console/region?r={}&amp;back={}\">{} ({})</a></li>",
            url(&r.region_id),
            esc(&url(back)),
            esc(&r.region_id),
            esc(&r.local_name)
        );
    }
    b.push_str("</ul>");
    ok(framed(s, "Regions", None, back, &b))
}

fn ok(body: String) -> Response {
    html_response(StatusCode::OK, body)
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed(&state, &headers).await {
        Ok(_) => redirect("/console/enis"),
        Err(r) => r,
    }
}

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if signed(&state, &headers).await.is_ok() {
        return redirect("/console/enis");
    }
    login_page(
        StatusCode::OK,
        None,
        "",
        super::cookie(&headers, super::LOGIN_COOKIE),
    )
}

/// The sign-in page, with the ID given (never the secret) and a message. The form carries a
/// token that must match a cookie of its own (`login_token`, or a new one set here), so a page
/// elsewhere cannot sign the browser in to an account of its choosing.
pub fn login_page(
    code: StatusCode,
    alert: Option<&Alert>,
    id: &str,
    login_token: Option<&str>,
) -> Response {
    let fresh = login_token.filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = fresh.map_or_else(eni_core::console::new_token, str::to_string);
    let body = format!(
        "<h1>Sign in</h1><form method=\"post\" action=\"/console/login\" class=\"card login\">\
         <input type=\"hidden\" name=\"login_csrf\" value=\"{}\">\
         {}<div class=\"field\"><label for=\"f-access_key_secret\">AccessKey Secret</label>\
         <input id=\"f-access_key_secret\" name=\"access_key_secret\" type=\"password\" \
         autocomplete=\"current-password\" required></div>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"hint\">Use an access key of the account whose resources you want to see \
         (the root key is in <code>root-credentials.json</code> of the data directory; \
         <code>eni account create</code> makes others).</p>",
        esc(&token),
        input("access_key_id", "AccessKey ID", id, "text")
            .replace("<input ", "<input required autocomplete=\"username\" ")
    );
    let mut r = html_response(code, html::page("Sign in", None, alert, &body));
    if fresh.is_none() {
        let c = format!(
            "{}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600",
            super::LOGIN_COOKIE
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&c) {
            r.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    r
}

pub async fn not_found(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = Req::of(&state, &headers).await.ok().and_then(|r| r.session);
    html_response(
        StatusCode::NOT_FOUND,
        html::page(
            "Not found",
            session.as_ref(),
            Some(&Alert::Error {
                code: "NotFound".into(),
                message: "There is no such page.".into(),
            }),
            "<p><a href=\"/console/enis\">Back to the network interfaces</a></p>",
        ),
    )
}

/// `GET /console/api/status?ids=eni-a,eni-b`: each ENI's status (`Deleted` when gone), for
/// the script that follows transitions.
pub async fn status_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let ids: Vec<String> = q
        .get("ids")
        .map(|v| {
            v.split(',')
                .filter(|i| !i.is_empty())
                .take(100)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let got = read(&state, &s, move |core, s| {
        let mut p: Vec<(String, String)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("NetworkInterfaceId.{}", i + 1), id.clone()))
            .collect();
        p.push(("MaxResults".into(), "100".into()));
        let v = super::call(
            core,
            &s.0,
            &s.1,
            crate::dispatch::ECS_VERSION,
            "DescribeNetworkInterfaces",
            &p,
        )?;
        let mut out = serde_json::Map::new();
        for id in &ids {
            out.insert(id.clone(), Value::String("Deleted".into()));
        }
        for e in list(&v, "NetworkInterfaceSets.NetworkInterfaceSet") {
            out.insert(
                text(e, "NetworkInterfaceId").into(),
                Value::String(text(e, "Status").into()),
            );
        }
        Ok(Value::Object(out))
    })
    .await;
    match got {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => r,
    }
}

/// `(id, "id name")` options from a Describe list.
fn options(items: &[Value], id: &str, name: &str) -> Vec<(String, String)> {
    items
        .iter()
        .map(|v| {
            let (i, n) = (text(v, id), text(v, name));
            let label = if n.is_empty() {
                i.to_string()
            } else {
                format!("{i} ({n})")
            };
            (i.to_string(), label)
        })
        .collect()
}

fn vpc_options(core: &Core, s: &Signed) -> Result<Vec<(String, String)>, ApiError> {
    let v = vpc(core, s, "DescribeVpcs", &[("PageSize", "50")])?;
    Ok(options(list(&v, "Vpcs.Vpc"), "VpcId", "VpcName"))
}

fn vswitches(core: &Core, s: &Signed, vpc_id: &str) -> Result<Vec<Value>, ApiError> {
    let v = vpc(
        core,
        s,
        "DescribeVSwitches",
        &[("VpcId", vpc_id), ("PageSize", "50")],
    )?;
    Ok(list(&v, "VSwitches.VSwitch").to_vec())
}

fn group_options(core: &Core, s: &Signed, vpc_id: &str) -> Result<Vec<(String, String)>, ApiError> {
    let v = ecs(
        core,
        s,
        "DescribeSecurityGroups",
        &[("VpcId", vpc_id), ("PageSize", "50")],
    )?;
    Ok(options(
        list(&v, "SecurityGroups.SecurityGroup"),
        "SecurityGroupId",
        "SecurityGroupName",
    ))
}

const ENI_FILTERS: &[(&str, &str)] = &[
    ("VpcId", "VPC"),
    ("VSwitchId", "vSwitch"),
    ("InstanceId", "Instance"),
    ("Type", "Type"),
    ("Status", "Status"),
    ("NetworkInterfaceName", "Name"),
    ("TagKey", "Tag key"),
    ("TagValue", "Tag value"),
];

/// `GET /console/enis`: the list with the API's filters and paging.
pub async fn enis(State(state): State<AppState>, headers: HeaderMap, Query(q): Q) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q2 = q.clone();
    let got = read(&state, &s, move |core, s| {
        let get = |k: &str| q2.get(k).map(|v| v.trim()).unwrap_or("");
        let page = get("PageNumber");
        let mut p = vec![
            ("PageSize", "20"),
            ("PageNumber", if page.is_empty() { "1" } else { page }),
        ];
        for (k, _) in ENI_FILTERS.iter().filter(|(k, _)| !k.starts_with("Tag")) {
            p.push((k, get(k)));
        }
        p.push(("Tag.1.Key", get("TagKey")));
        p.push(("Tag.1.Value", get("TagValue")));
        let v = ecs(core, s, "DescribeNetworkInterfaces", &p)?;
        let vpcs = vpc_options(core, s)?;
        let vsws = vswitches(core, s, get("VpcId"))?;
        Ok((v, vpcs, vsws))
    })
    .await;
    let (v, vpcs, vsws) = match got {
        Ok(x) => x,
        Err(r) => return r,
    };
    let get = |k: &str| q.get(k).map(|v| v.trim()).unwrap_or("");
    let mut body = String::from(
        "<div class=\"titlebar\"><h1>Network interfaces</h1>\
         <a class=\"button\" href=\"/console/enis/new\">Create network interface</a></div>",
    );
    // Filters.
    body.push_str(
        "<form method=\"get\" action=\"/console/enis\" class=\"filters\" aria-label=\"Filters\">",
    );
    body += &select("VpcId", "VPC", &vpcs, &[get("VpcId")], false, Some("Any"));
    body += &select(
        "VSwitchId",
        "vSwitch",
        &options(&vsws, "VSwitchId", "VSwitchName"),
        &[get("VSwitchId")],
        false,
        Some("Any"),
    );
    body += &input("InstanceId", "Instance", get("InstanceId"), "text");
    let types = [("Primary", "Primary"), ("Secondary", "Secondary")]
        .map(|(a, b)| (a.to_string(), b.to_string()));
    body += &select("Type", "Type", &types, &[get("Type")], false, Some("Any"));
    let statuses = ["Available", "Attaching", "InUse", "Detaching", "Deleting"]
        .map(|a| (a.to_string(), a.to_string()));
    body += &select(
        "Status",
        "Status",
        &statuses,
        &[get("Status")],
        false,
        Some("Any"),
    );
    body += &input(
        "NetworkInterfaceName",
        "Name",
        get("NetworkInterfaceName"),
        "text",
    );
    body += &input("TagKey", "Tag key", get("TagKey"), "text");
    body += &input("TagValue", "Tag value", get("TagValue"), "text");
    body.push_str("<button type=\"submit\">Filter</button></form>");
    // The table.
    let rows = list(&v, "NetworkInterfaceSets.NetworkInterfaceSet");
    let total = at(&v, "TotalCount").and_then(Value::as_u64).unwrap_or(0);
    let number = at(&v, "PageNumber").and_then(Value::as_u64).unwrap_or(1);
    let _ = write!(
        body,
        "<p class=\"count\">{total} network interface{}</p>",
        if total == 1 { "" } else { "s" }
    );
    body.push_str(
        "<div class=\"scroll\"><table id=\"enis\"><thead><tr><th scope=\"col\">ID</th><th scope=\"col\">Name</th>\
         <th scope=\"col\">Status</th><th scope=\"col\">Type</th><th scope=\"col\">VPC</th><th scope=\"col\">vSwitch</th>\
         <th scope=\"col\">Instance</th><th scope=\"col\">Primary IP</th><th scope=\"col\">MAC</th>\
         <th scope=\"col\">Actions</th></tr></thead><tbody>",
    );
    for e in rows {
        let id = text(e, "NetworkInterfaceId");
        let st = text(e, "Status");
        let inst = text(e, "InstanceId");
        let _ = write!(
            body,
            "<tr data-eni=\"{}\"><td><a href=\"/console/enis/{}\">{}</a></td><td>{}</td>\
             <td class=\"status\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><code>{}</code></td><td class=\"actions\">",
            esc(id),
            url(id),
            esc(id),
            esc(text(e, "NetworkInterfaceName")),
            status(st),
            esc(text(e, "Type")),
            esc(text(e, "VpcId")),
            esc(text(e, "VSwitchId")),
            if inst.is_empty() {
                String::new()
            } else {
                format!(
                    "<a href=\"/console/instances/{}\">{}</a>",
                    url(inst),
                    esc(inst)
                )
            },
            esc(text(e, "PrivateIpAddress")),
            esc(text(e, "MacAddress")),
        );
        let secondary = text(e, "Type") == "Secondary";
        match st {
            "InUse" if secondary => {
                body += &button_form(
                    &s.0,
                    &format!("/console/enis/{id}/detach"),
                    &format!("Detach {id}"),
                    &[("back", "/console/enis")],
                    "",
                )
            }
            "Available" => {
                let _ = write!(
                    body,
                    "<a href=\"/console/enis/{}#attach\">Attach…</a>",
                    url(id)
                );
                body += &button_form(
                    &s.0,
                    &format!("/console/enis/{id}/delete"),
                    &format!("Delete {id}"),
                    &[("back", "/console/enis")],
                    "danger",
                );
            }
            _ => {}
        }
        body.push_str("</td></tr>");
    }
    body.push_str("</tbody></table></div>");
    // Paging: the filters kept.
    let keep: String = ENI_FILTERS
        .iter()
        .filter(|(k, _)| !get(k).is_empty())
        .map(|(k, _)| format!("&{k}={}", url(get(k))))
        .collect();
    body.push_str("<nav class=\"paging\" aria-label=\"Pages\">");
    if number > 1 {
        let _ = write!(
            body,
            "<a rel=\"prev\" href=\"/console/enis?PageNumber={}{}\">Previous page</a>",
            number - 1,
            esc(&keep)
        );
    }
    if number * 20 < total {
        let _ = write!(
            body,
            "<a rel=\"next\" href=\"/console/enis?PageNumber={}{}\">Next page</a>",
            number + 1,
            esc(&keep)
        );
    }
    body.push_str("</nav>");
    ok(framed(
        &s,
        "Network interfaces",
        None,
        "/console/enis",
        &body,
    ))
}

/// A definition list row.
fn dl_row(out: &mut String, k: &str, v: &str) {
    let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), v);
}

/// Everything the detail page of an ENI shows, read in one go.
struct EniPage {
    eni: Value,
    instances: Vec<(String, String)>,
    groups: Vec<(String, String)>,
    eips: Vec<(String, String)>,
    /// The vSwitch's block, for how the NIC looks inside the instance.
    vswitch_cidr: Option<eni_core::Ipv4Cidr>,
}

fn eni_page(core: &Core, s: &Signed, id: &str) -> Result<EniPage, ApiError> {
    let eni = ecs(
        core,
        s,
        "DescribeNetworkInterfaceAttribute",
        &[("NetworkInterfaceId", id)],
    )?;
    let vpc_id = text(&eni, "VpcId").to_string();
    let zone = text(&eni, "ZoneId").to_string();
    let mut instances = Vec::new();
    if text(&eni, "Status") == "Available" {
        // Instances it can go to: the same VPC and zone, with the type's limit and what each holds.
        let v = ecs(
            core,
            s,
            "DescribeInstances",
            &[("VpcId", &vpc_id), ("ZoneId", &zone), ("PageSize", "50")],
        )?;
        for i in list(&v, "Instances.Instance") {
            let iid = text(i, "InstanceId");
            let ty = text(i, "InstanceType");
            let limit = core
                .catalog()
                .instance_type(ty)
                .map_or(0, |t| t.eni_quantity);
            let held = ecs(
                core,
                s,
                "DescribeNetworkInterfaces",
                &[("InstanceId", iid), ("PageSize", "1")],
            )?;
            let held = at(&held, "TotalCount").and_then(Value::as_u64).unwrap_or(0);
            let name = text(i, "InstanceName");
            instances.push((
                iid.to_string(),
                format!("{iid} ({name}, {ty}: {held} of {limit} network interfaces)"),
            ));
        }
    }
    let groups = group_options(core, s, &vpc_id)?;
    let v = vpc(
        core,
        s,
        "DescribeEipAddresses",
        &[("Status", "Available"), ("PageSize", "50")],
    )?;
    let eips = options(
        list(&v, "EipAddresses.EipAddress"),
        "AllocationId",
        "IpAddress",
    );
    let vswitch_cidr = vpc(
        core,
        s,
        "DescribeVSwitchAttributes",
        &[("VSwitchId", text(&eni, "VSwitchId"))],
    )
    .ok()
    .and_then(|v| text(&v, "CidrBlock").parse().ok());
    Ok(EniPage {
        eni,
        instances,
        groups,
        eips,
        vswitch_cidr,
    })
}

/// `GET /console/enis/{id}`.
pub async fn eni_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_eni(&state, &s, &id, None).await
}

/// The detail page of ENI `id`, with `alert` on top (an operation's refusal).
pub async fn render_eni(state: &AppState, s: &Signed, id: &str, alert: Option<&Alert>) -> Response {
    let key = id.to_string();
    let p = match read(state, s, move |core, s| eni_page(core, s, &key)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let e = &p.eni;
    let st = text(e, "Status");
    let inst = text(e, "InstanceId");
    let secondary = text(e, "Type") == "Secondary";
    let mut b = format!("<h1>{}</h1>", esc(id));
    let _ = write!(
        b,
        "<p class=\"sub\">{} {}</p>",
        status(st),
        esc(text(e, "NetworkInterfaceName"))
    );
    b.push_str("<div class=\"grid\"><section class=\"card\" aria-labelledby=\"h-summary\"><h2 id=\"h-summary\">Summary</h2><dl>");
    dl_row(&mut b, "Status", &status(st));
    dl_row(&mut b, "Type", &esc(text(e, "Type")));
    dl_row(
        &mut b,
        "MAC",
        &format!("<code>{}</code>", esc(text(e, "MacAddress"))),
    );
    dl_row(
        &mut b,
        "VPC",
        &format!(
            "<a href=\"/console/vpcs/{}\">{}</a>",
            url(text(e, "VpcId")),
            esc(text(e, "VpcId"))
        ),
    );
    dl_row(&mut b, "vSwitch", &esc(text(e, "VSwitchId")));
    dl_row(&mut b, "Zone", &esc(text(e, "ZoneId")));
    let attachment = if inst.is_empty() {
        "not attached".to_string()
    } else {
        let dev = at(e, "Attachment.DeviceIndex")
            .map(|d| d.to_string())
            .unwrap_or_default();
        format!(
            "<a href=\"/console/instances/{}\">{}</a> (device index {})",
            url(inst),
            esc(inst),
            esc(&dev)
        )
    };
    dl_row(&mut b, "Attachment", &attachment);
    dl_row(&mut b, "Description", &esc(text(e, "Description")));
    let groups: Vec<&str> = list(e, "SecurityGroupIds.SecurityGroupId")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    dl_row(&mut b, "Security groups", &esc(&groups.join(", ")));
    let tags: Vec<String> = list(e, "Tags.Tag")
        .iter()
        .map(|t| format!("{}={}", text(t, "TagKey"), text(t, "TagValue")))
        .collect();
    dl_row(&mut b, "Tags", &esc(&tags.join(", ")));
    b.push_str("</dl></section>");
    // Addresses, with their EIPs.
    b.push_str("<section class=\"card\" aria-labelledby=\"h-addr\"><h2 id=\"h-addr\">Addresses</h2><div class=\"scroll\"><table id=\"addresses\"><thead><tr><th scope=\"col\">Address</th><th scope=\"col\">Kind</th><th scope=\"col\">EIP</th><th scope=\"col\"></th></tr></thead><tbody>");
    let mut secondaries = Vec::new();
    let mut v4 = Vec::new();
    for a in list(e, "PrivateIpSets.PrivateIpSet") {
        let ip = text(a, "PrivateIpAddress");
        let primary = at(a, "Primary").and_then(Value::as_bool).unwrap_or(false);
        v4.push((ip.to_string(), ip.to_string()));
        if !primary {
            secondaries.push(ip.to_string());
        }
        let eip = text(a, "AssociatedPublicIp.PublicIpAddress");
        let alloc = text(a, "AssociatedPublicIp.AllocationId");
        let unbind = if alloc.is_empty() || !matches!(st, "Available" | "InUse") {
            String::new()
        } else {
            button_form(
                &s.0,
                &format!("/console/enis/{id}/eip-unbind"),
                &format!("Unbind EIP {eip}"),
                &[("allocation_id", alloc)],
                "",
            )
        };
        let _ = write!(
            b,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{unbind}</td></tr>",
            esc(ip),
            if primary { "primary" } else { "secondary" },
            if eip.is_empty() {
                String::new()
            } else {
                format!("<code>{}</code> ({})", esc(eip), esc(alloc))
            }
        );
    }
    for a in list(e, "Ipv6Sets.Ipv6Set") {
        let _ = write!(
            b,
            "<tr><td><code>{}</code></td><td>IPv6</td><td></td><td></td></tr>",
            esc(text(a, "Ipv6Address"))
        );
    }
    for a in list(e, "Ipv4PrefixSets.Ipv4PrefixSet") {
        let _ = write!(
            b,
            "<tr><td><code>{}</code></td><td>IPv4 prefix</td><td></td><td></td></tr>",
            esc(text(a, "Ipv4Prefix"))
        );
    }
    b.push_str("</tbody></table></div></section>");
    configure(&mut b, e, p.vswitch_cidr.as_ref());
    b.push_str("</div>");
    // The operations the state allows.
    b.push_str("<div class=\"grid\">");
    let stable = matches!(st, "Available" | "InUse");
    if st == "Available" {
        let _ = write!(b, "<section class=\"card\" id=\"attach\" aria-labelledby=\"h-attach\"><h2 id=\"h-attach\">Attach</h2><form method=\"post\" action=\"/console/enis/{}/attach\">{}", url(id), csrf_field(&s.0));
        if p.instances.is_empty() {
            b.push_str("<p>No instance in this ENI's VPC and zone.</p>");
        } else {
            b += &select("instance_id", "Instance", &p.instances, &[], false, None);
            b.push_str("<button type=\"submit\">Attach</button>");
        }
        b.push_str("</form></section>");
    }
    if stable {
        b.push_str(
            "<section class=\"card\" aria-labelledby=\"h-state\"><h2 id=\"h-state\">Lifecycle</h2>",
        );
        if st == "InUse" && secondary {
            b += &button_form(
                &s.0,
                &format!("/console/enis/{id}/detach"),
                "Detach",
                &[("instance_id", inst)],
                "",
            );
        }
        if st == "Available" {
            b += &button_form(
                &s.0,
                &format!("/console/enis/{id}/delete"),
                "Delete",
                &[],
                "danger",
            );
        }
        if st == "InUse" && !secondary {
            b.push_str("<p>A primary network interface stays with its instance.</p>");
        }
        b.push_str("</section>");
        // Assign.
        let _ = write!(
            b,
            "<section class=\"card\" aria-labelledby=\"h-assign\"><h2 id=\"h-assign\">Assign private IPs</h2>\
             <form method=\"post\" action=\"/console/enis/{}/assign\">{}{}{}{}{}\
             <button type=\"submit\">Assign private IPs</button></form></section>",
            url(id),
            csrf_field(&s.0),
            input("count", "Count", "", "number"),
            input("addresses", "Addresses (comma-separated)", "", "text"),
            input("ipv6_count", "IPv6 count", "", "number"),
            input("ipv6_addresses", "IPv6 addresses (comma-separated)", "", "text"),
        );
        // Unassign.
        let v6: Vec<String> = list(e, "Ipv6Sets.Ipv6Set")
            .iter()
            .map(|a| text(a, "Ipv6Address").to_string())
            .collect();
        if !secondaries.is_empty() || !v6.is_empty() {
            let _ = write!(b, "<section class=\"card\" aria-labelledby=\"h-unassign\"><h2 id=\"h-unassign\">Unassign</h2><form method=\"post\" action=\"/console/enis/{}/unassign\">{}<fieldset><legend>Addresses to unassign</legend>", url(id), csrf_field(&s.0));
            for (i, ip) in secondaries.iter().chain(&v6).enumerate() {
                let name = if ip.contains(':') { "ipv6" } else { "ip" };
                let _ = write!(b, "<div class=\"check\"><input type=\"checkbox\" id=\"u-{i}\" name=\"{name}\" value=\"{}\"><label for=\"u-{i}\">{}</label></div>", esc(ip), esc(ip));
            }
            b.push_str("</fieldset><button type=\"submit\">Unassign</button></form></section>");
        }
        // Modify.
        let _ = write!(
            b,
            "<section class=\"card\" aria-labelledby=\"h-modify\"><h2 id=\"h-modify\">Name, description, security groups</h2>\
             <form method=\"post\" action=\"/console/enis/{}/modify\">{}{}{}{}<button type=\"submit\">Save</button></form></section>",
            url(id),
            csrf_field(&s.0),
            input("name", "Name", text(e, "NetworkInterfaceName"), "text"),
            input("description", "Description", text(e, "Description"), "text"),
            select("groups", "Security groups", &p.groups, &groups, true, None),
        );
        // Bind an EIP.
        let _ = write!(b, "<section class=\"card\" aria-labelledby=\"h-eip\"><h2 id=\"h-eip\">Bind EIP</h2><form method=\"post\" action=\"/console/enis/{}/eip-bind\">{}", url(id), csrf_field(&s.0));
        if p.eips.is_empty() {
            b.push_str("<p>No unbound EIP in this region.</p>");
        } else {
            b += &select("allocation_id", "EIP", &p.eips, &[], false, None);
            b += &select("private_ip", "Private IP", &v4, &[], false, None);
            b.push_str("<button type=\"submit\">Bind EIP</button>");
        }
        b.push_str("</form></section>");
    }
    b.push_str("</div>");
    let status_code = match alert {
        Some(Alert::Error { .. }) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    html_response(
        status_code,
        framed(s, id, alert, &format!("/console/enis/{id}"), &b),
    )
}

/// "Configure an ENI": how an attached ENI is set up inside its instance. The data plane
/// does it when the ENI is attached (the NIC gets its MAC, addresses, a route table of its
/// own and the rules that use it); the commands are what an image that does not configure a
/// second NIC by itself would need, from inside the instance.
fn configure(b: &mut String, e: &Value, cidr: Option<&eni_core::Ipv4Cidr>) {
    let inst = text(e, "InstanceId");
    let (Some(dev), Some(cidr)) = (
        at(e, "Attachment.DeviceIndex").and_then(Value::as_u64),
        cidr,
    ) else {
        return;
    };
    if inst.is_empty() {
        return;
    }
    let nic = format!("eth{dev}");
    let table = 1000 + dev;
    let gw = cidr.gateway();
    let len = cidr.prefix();
    let mut cmds = format!("ip link set {nic} up\n");
    for a in list(e, "PrivateIpSets.PrivateIpSet") {
        let ip = text(a, "PrivateIpAddress");
        let _ = writeln!(cmds, "ip addr add {ip}/{len} dev {nic}");
        let _ = writeln!(cmds, "ip rule add from {ip}/32 table {table}");
    }
    let _ = writeln!(cmds, "ip route add {cidr} dev {nic} table {table}");
    let _ = write!(
        cmds,
        "ip route add default via {gw} dev {nic} table {table}"
    );
    let _ = write!(
        b,
        "<section class=\"card\" aria-labelledby=\"h-configure\"><h2 id=\"h-configure\">In the instance</h2>\
         <p>Device <code>{}</code> of <a href=\"/console/instances/{}\">{}</a>, gateway <code>{gw}</code>. \
         eni configures it when it is attached (see it with <code>ip netns exec {} ip addr show {}</code>); \
         an image that does not set up a second NIC by itself needs, inside the instance:</p>\
         <pre><code>{}</code></pre></section>",
        esc(&nic),
        url(inst),
        esc(inst),
        esc(inst),
        esc(&nic),
        esc(&cmds)
    );
}

/// A create form's VPC and what may be chosen in it.
struct VpcChoice {
    vpcs: Vec<(String, String)>,
    /// The VPC asked for, or the first.
    chosen: String,
    vswitches: Vec<Value>,
    groups: Vec<(String, String)>,
}

async fn vpc_choice(state: &AppState, s: &Signed, vpc_id: String) -> Result<VpcChoice, Response> {
    read(state, s, move |core, s| {
        let vpcs = vpc_options(core, s)?;
        let chosen = if vpc_id.is_empty() {
            vpcs.first().map(|v| v.0.clone()).unwrap_or_default()
        } else {
            vpc_id
        };
        let (vswitches, groups) = if chosen.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (
                vswitches(core, s, &chosen)?,
                group_options(core, s, &chosen)?,
            )
        };
        Ok(VpcChoice {
            vpcs,
            chosen,
            vswitches,
            groups,
        })
    })
    .await
}

/// The VPC choice of a create form at `action`: a GET form that reloads the page with the
/// VPC's vSwitches and groups (the page's script submits it on change).
fn vpc_chooser(action: &str, vpcs: &[(String, String)], chosen: &str) -> String {
    format!(
        "<form method=\"get\" action=\"{}\" class=\"card inline-form\" data-autosubmit>{}\
         <button type=\"submit\">Choose VPC</button></form>",
        esc(action),
        select("VpcId", "VPC", vpcs, &[chosen], false, None)
    )
}

/// `GET /console/enis/new[?VpcId=]`: choose a VPC, then the rest of the form.
pub async fn eni_new(State(state): State<AppState>, headers: HeaderMap, Query(q): Q) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_eni_new(
        &state,
        &s,
        q.get("VpcId").cloned().unwrap_or_default(),
        &[],
        None,
    )
    .await
}

/// The create form for VPC `vpc_id` (none chosen yet: its first), with `given` values.
pub async fn render_eni_new(
    state: &AppState,
    s: &Signed,
    vpc_id: String,
    given: &[(String, String)],
    alert: Option<&Alert>,
) -> Response {
    let VpcChoice {
        vpcs,
        chosen,
        vswitches: vsws,
        groups,
    } = match vpc_choice(state, s, vpc_id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let g = |k: &str| super::field(given, k).to_string();
    let mut b = String::from("<h1>Create network interface</h1>");
    b += &vpc_chooser("/console/enis/new", &vpcs, &chosen);
    if vpcs.is_empty() {
        b += "<p>Create a VPC with a vSwitch and a security group first (through the API).</p>";
    } else {
        let picked_groups = super::fields(given, "groups");
        let _ = write!(b, "<form method=\"post\" action=\"/console/enis/new\" class=\"card\">{}<input type=\"hidden\" name=\"vpc_id\" value=\"{}\">", csrf_field(&s.0), esc(&chosen));
        b += &select(
            "vswitch_id",
            "vSwitch",
            &options(&vsws, "VSwitchId", "CidrBlock"),
            &[&g("vswitch_id")],
            false,
            None,
        );
        b += &select(
            "groups",
            "Security groups (1 to 5)",
            &groups,
            &picked_groups,
            true,
            None,
        );
        b += &input(
            "primary_ip",
            "Primary IP (optional)",
            &g("primary_ip"),
            "text",
        );
        b += &input(
            "secondary_count",
            "Secondary IP count",
            &g("secondary_count"),
            "number",
        );
        b += &input("name", "Name", &g("name"), "text");
        b += &input("description", "Description", &g("description"), "text");
        b += &input("tag_key", "Tag key", &g("tag_key"), "text");
        b += &input("tag_value", "Tag value", &g("tag_value"), "text");
        b += &input(
            "more_tags",
            "More tags (key=value, comma-separated)",
            &g("more_tags"),
            "text",
        );
        b += "<button type=\"submit\">Create</button></form>";
    }
    let code = if matches!(alert, Some(Alert::Error { .. })) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html_response(
        code,
        framed(
            s,
            "Create network interface",
            alert,
            "/console/enis/new",
            &b,
        ),
    )
}

/// `GET /console/instances`.
pub async fn instances(State(state): State<AppState>, headers: HeaderMap, Query(q): Q) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let page = q.get("PageNumber").cloned().unwrap_or_else(|| "1".into());
    let v = match read(&state, &s, move |core, s| {
        ecs(
            core,
            s,
            "DescribeInstances",
            &[("PageSize", "20"), ("PageNumber", &page)],
        )
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut b = String::from("<div class=\"titlebar\"><h1>Instances</h1><a class=\"button\" href=\"/console/instances/new\">Create instance</a></div>");
    b += "<div class=\"scroll\"><table id=\"instances\"><thead><tr><th scope=\"col\">ID</th><th scope=\"col\">Name</th><th scope=\"col\">Status</th><th scope=\"col\">Type</th><th scope=\"col\">Zone</th><th scope=\"col\">VPC</th><th scope=\"col\">Private IP</th></tr></thead><tbody>";
    for i in list(&v, "Instances.Instance") {
        let id = text(i, "InstanceId");
        let ip = list(i, "VpcAttributes.PrivateIpAddress.IpAddress")
            .first()
            .and_then(Value::as_str)
            .unwrap_or("");
        let _ = write!(
            b,
            "<tr data-instance=\"{}\"><td><a href=\"/console/instances/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(id), url(id), esc(id), esc(text(i, "InstanceName")), status(text(i, "Status")), esc(text(i, "InstanceType")), esc(text(i, "ZoneId")), esc(text(i, "VpcAttributes.VpcId")), esc(ip)
        );
    }
    b += "</tbody></table></div>";
    let total = at(&v, "TotalCount").and_then(Value::as_u64).unwrap_or(0);
    let number = at(&v, "PageNumber").and_then(Value::as_u64).unwrap_or(1);
    b += "<nav class=\"paging\" aria-label=\"Pages\">";
    if number > 1 {
        let _ = write!(
            b,
            "<a rel=\"prev\" href=\"/console/instances?PageNumber={}\">Previous page</a>",
            number - 1
        );
    }
    if number * 20 < total {
        let _ = write!(
            b,
            "<a rel=\"next\" href=\"/console/instances?PageNumber={}\">Next page</a>",
            number + 1
        );
    }
    b += "</nav>";
    ok(framed(&s, "Instances", None, "/console/instances", &b))
}

/// `GET /console/instances/{id}`: the instance and its ENIs by device index.
pub async fn instance_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let key = id.clone();
    let got = read(&state, &s, move |core, s| {
        let ids = serde_json::to_string(&[&key]).unwrap_or_default();
        let v = ecs(core, s, "DescribeInstances", &[("InstanceIds", &ids)])?;
        let inst = list(&v, "Instances.Instance")
            .first()
            .cloned()
            .ok_or(ApiError::InstanceNotFound)?;
        let enis = ecs(
            core,
            s,
            "DescribeNetworkInterfaces",
            &[("InstanceId", &key), ("PageSize", "100")],
        )?;
        Ok((
            inst,
            list(&enis, "NetworkInterfaceSets.NetworkInterfaceSet").to_vec(),
        ))
    })
    .await;
    let (i, mut enis) = match got {
        Ok(x) => x,
        Err(r) => return r,
    };
    let dev = |e: &Value| {
        at(e, "Attachment.DeviceIndex")
            .and_then(Value::as_u64)
            .unwrap_or(if text(e, "Type") == "Primary" {
                0
            } else {
                u64::MAX
            })
    };
    enis.sort_by_key(dev);
    let ty = text(&i, "InstanceType");
    let limit = state
        .core
        .catalog()
        .instance_type(ty)
        .map_or(0, |t| t.eni_quantity);
    let mut b = format!(
        "<h1>{}</h1><p class=\"sub\">{} {}</p>",
        esc(&id),
        status(text(&i, "Status")),
        esc(text(&i, "InstanceName"))
    );
    b += "<section class=\"card\"><dl>";
    dl_row(
        &mut b,
        "Type",
        &format!("{} (up to {limit} network interfaces)", esc(ty)),
    );
    dl_row(&mut b, "Zone", &esc(text(&i, "ZoneId")));
    dl_row(
        &mut b,
        "VPC",
        &format!(
            "<a href=\"/console/vpcs/{}\">{}</a>",
            url(text(&i, "VpcAttributes.VpcId")),
            esc(text(&i, "VpcAttributes.VpcId"))
        ),
    );
    dl_row(&mut b, "EIP", &esc(text(&i, "EipAddress.IpAddress")));
    b += "</dl></section><section class=\"card\" aria-labelledby=\"h-nics\"><h2 id=\"h-nics\">Network interfaces by device index</h2>";
    b += "<table id=\"instance-enis\"><thead><tr><th scope=\"col\">Device</th><th scope=\"col\">ID</th><th scope=\"col\">Type</th><th scope=\"col\">Status</th><th scope=\"col\">Addresses</th><th scope=\"col\">MAC</th></tr></thead><tbody>";
    for e in &enis {
        let eid = text(e, "NetworkInterfaceId");
        let addrs: Vec<&str> = list(e, "PrivateIpSets.PrivateIpSet")
            .iter()
            .map(|a| text(a, "PrivateIpAddress"))
            .collect();
        let d = dev(e);
        let _ = write!(
            b,
            "<tr data-eni=\"{}\"><td>{}</td><td><a href=\"/console/enis/{}\">{}</a></td><td>{}</td><td class=\"status\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(eid),
            if d == u64::MAX { String::new() } else { format!("eth{d}") },
            url(eid), esc(eid), esc(text(e, "Type")), status(text(e, "Status")), esc(&addrs.join(", ")), esc(text(e, "MacAddress"))
        );
    }
    b += "</tbody></table></section>";
    ok(framed(
        &s,
        &id,
        None,
        &format!("/console/instances/{id}"),
        &b,
    ))
}

/// `GET /console/instances/new[?VpcId=]`: RunInstances with extra network interfaces.
pub async fn instance_new(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_instance_new(
        &state,
        &s,
        q.get("VpcId").cloned().unwrap_or_default(),
        &[],
        None,
    )
    .await
}

/// The instance form for VPC `vpc_id`.
pub async fn render_instance_new(
    state: &AppState,
    s: &Signed,
    vpc_id: String,
    given: &[(String, String)],
    alert: Option<&Alert>,
) -> Response {
    let VpcChoice {
        vpcs,
        chosen,
        vswitches: vsws,
        groups,
    } = match vpc_choice(state, s, vpc_id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let g = |k: &str| super::field(given, k).to_string();
    let types: Vec<(String, String)> = state
        .core
        .catalog()
        .instance_types
        .iter()
        .map(|t| {
            (
                t.instance_type_id.clone(),
                format!(
                    "{} ({} network interfaces)",
                    t.instance_type_id, t.eni_quantity
                ),
            )
        })
        .collect();
    let vsw_opts: Vec<(String, String)> = vsws
        .iter()
        .map(|v| {
            (
                text(v, "VSwitchId").to_string(),
                format!(
                    "{} ({}, {})",
                    text(v, "VSwitchId"),
                    text(v, "ZoneId"),
                    text(v, "CidrBlock")
                ),
            )
        })
        .collect();
    let mut b = String::from("<h1>Create instance</h1>");
    b += &vpc_chooser("/console/instances/new", &vpcs, &chosen);
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/console/instances/new\" class=\"card\">{}\
         <input type=\"hidden\" name=\"vpc_id\" value=\"{}\">",
        csrf_field(&s.0),
        esc(&chosen)
    );
    b += &select(
        "vswitch_id",
        "vSwitch",
        &vsw_opts,
        &[&g("vswitch_id")],
        false,
        None,
    );
    b += &select(
        "group",
        "Security group",
        &groups,
        &[&g("group")],
        false,
        None,
    );
    let ty = g("instance_type");
    b += &select(
        "instance_type",
        "Instance type",
        &types,
        &[if ty.is_empty() { "ecs.g7.large" } else { &ty }],
        false,
        None,
    );
    b += &input("name", "Name", &g("name"), "text");
    b += &input(
        "extra_enis",
        "Extra network interfaces (in the same vSwitch)",
        &g("extra_enis"),
        "number",
    );
    b += "<button type=\"submit\">Create instance</button></form>";
    let code = if matches!(alert, Some(Alert::Error { .. })) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html_response(
        code,
        framed(s, "Create instance", alert, "/console/instances/new", &b),
    )
}

/// `GET /console/vpcs`.
pub async fn vpcs(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let v = match read(&state, &s, |core, s| {
        vpc(core, s, "DescribeVpcs", &[("PageSize", "50")])
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut b = String::from("<h1>VPCs</h1><div class=\"scroll\"><table id=\"vpcs\"><thead><tr><th scope=\"col\">ID</th><th scope=\"col\">Name</th><th scope=\"col\">CIDR</th><th scope=\"col\">Status</th></tr></thead><tbody>");
    for v in list(&v, "Vpcs.Vpc") {
        let id = text(v, "VpcId");
        let _ = write!(b, "<tr><td><a href=\"/console/vpcs/{}\">{}</a></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>", url(id), esc(id), esc(text(v, "VpcName")), esc(text(v, "CidrBlock")), status(text(v, "Status")));
    }
    b += "</tbody></table></div>";
    ok(framed(&s, "VPCs", None, "/console/vpcs", &b))
}

/// `GET /console/vpcs/{id}`: the topology, kept current by the page's script.
pub async fn vpc_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match signed(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let key = id.clone();
    let svg = match read(&state, &s, move |core, s| {
        super::topology::draw(core, s, &key)
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let b = format!(
        "<h1>{}</h1><p class=\"sub\">vSwitches, instances, their network interfaces and EIPs; \
         updated as they move.</p><figure class=\"card topology\" id=\"topology\" data-src=\"/console/vpcs/{}/topology.svg\">{svg}</figure>",
        esc(&id),
        url(&id)
    );
    ok(framed(&s, &id, None, &format!("/console/vpcs/{id}"), &b))
}

/// Groups `items` by the string at `key`, in first-seen order.
pub fn group_by<'a>(items: &'a [Value], key: &str) -> BTreeMap<String, Vec<&'a Value>> {
    let mut out: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for i in items {
        out.entry(text(i, key).to_string()).or_default().push(i);
    }
    out
}
