//! The console's forms (POST): each checks the session and its CSRF token
//! ([`super::changing`]), turns the form into the API action's parameters, calls the action
//! ([`super::call`]) and either goes on to the page showing the result (303) or shows the
//! API's refusal, code and message, on the page the form came from.

use super::html::{text, Alert};
use super::pages::{render_eni, render_eni_new, render_instance_new, Signed};
use super::{blocking, changing, ecs, error_page, field, fields, form, redirect, vpc};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use eni_core::Core;
use eni_types::ApiError;
use serde_json::Value;

/// Runs the calls `f` makes as the session's account; wakes the agents after a success.
async fn act<T: Send + 'static>(
    state: &AppState,
    s: &Signed,
    f: impl FnOnce(&Core, &Signed) -> Result<T, ApiError> + Send + 'static,
) -> Result<Result<T, ApiError>, Response> {
    let who = s.clone();
    match blocking(state, move |core| f(core, &who)).await {
        Ok(r) => {
            if r.is_ok() {
                state.changes.notify_waiters();
            }
            Ok(r)
        }
        Err(e) => Err(error_page(Some(&s.0), &e)),
    }
}

/// A POST's fields and session, its CSRF token checked (else the response to send).
async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Vec<(String, String)>, Signed), Response> {
    let f = form(body);
    let s = changing(state, headers, &f).await?;
    Ok((f, s))
}

/// `Name.1`, `Name.2`, … for `values`.
fn numbered(name: &str, values: &[&str]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{name}.{}", i + 1), v.to_string()))
        .collect()
}

fn split_list(s: &str) -> Vec<&str> {
    s.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// `POST /console/enis/new`: CreateNetworkInterface.
pub async fn eni_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (f, s) = match posted(&state, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let g = f.clone();
    let created = act(&state, &s, move |core, s| {
        let mut p: Vec<(String, String)> = vec![
            ("VSwitchId".into(), field(&g, "vswitch_id").into()),
            ("PrimaryIpAddress".into(), field(&g, "primary_ip").into()),
            (
                "SecondaryPrivateIpAddressCount".into(),
                field(&g, "secondary_count").into(),
            ),
            ("NetworkInterfaceName".into(), field(&g, "name").into()),
            ("Description".into(), field(&g, "description").into()),
            ("Tag.1.Key".into(), field(&g, "tag_key").into()),
            ("Tag.1.Value".into(), field(&g, "tag_value").into()),
        ];
        p.extend(numbered("SecurityGroupIds", &fields(&g, "groups")));
        // More tags, `key=value` separated by commas, after the first.
        let first = if field(&g, "tag_key").is_empty() {
            1
        } else {
            2
        };
        let more = field(&g, "more_tags")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty());
        for (n, kv) in more.enumerate() {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            p.push((format!("Tag.{}.Key", n + first), k.trim().to_string()));
            p.push((format!("Tag.{}.Value", n + first), v.trim().to_string()));
        }
        p.retain(|(_, v)| !v.is_empty());
        super::call(
            core,
            &s.0,
            &s.1,
            crate::dispatch::ECS_VERSION,
            "CreateNetworkInterface",
            &p,
        )
    })
    .await;
    match created {
        Err(r) => r,
        Ok(Ok(v)) => redirect(&format!("/console/enis/{}", text(&v, "NetworkInterfaceId"))),
        Ok(Err(e)) => {
            render_eni_new(
                &state,
                &s,
                field(&f, "vpc_id").to_string(),
                &f,
                Some(&Alert::api(&e)),
            )
            .await
        }
    }
}

/// `POST /console/enis/{id}/{op}`: attach, detach, delete, assign, unassign, modify,
/// eip-bind, eip-unbind.
pub async fn eni_op(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, op)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (f, s) = match posted(&state, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (g, eni, what) = (f.clone(), id.clone(), op.clone());
    let done = act(&state, &s, move |core, s| run_op(core, s, &eni, &what, &g)).await;
    match done {
        Err(r) => r,
        Ok(Ok(())) => {
            let back = field(&f, "back");
            let to = if back.starts_with("/console/") && !back.contains("//") {
                back.to_string()
            } else if op == "delete" {
                "/console/enis".to_string()
            } else {
                format!("/console/enis/{id}")
            };
            redirect(&to)
        }
        Ok(Err(e)) => render_eni(&state, &s, &id, Some(&Alert::api(&e))).await,
    }
}

fn run_op(
    core: &Core,
    s: &Signed,
    id: &str,
    op: &str,
    f: &[(String, String)],
) -> Result<(), ApiError> {
    let eni = [("NetworkInterfaceId", id)];
    match op {
        "attach" => {
            ecs(
                core,
                s,
                "AttachNetworkInterface",
                &[eni[0], ("InstanceId", field(f, "instance_id"))],
            )?;
        }
        "detach" => {
            // The list's button does not say which instance: the ENI does.
            let mut inst = field(f, "instance_id").to_string();
            if inst.is_empty() {
                let v = ecs(core, s, "DescribeNetworkInterfaceAttribute", &eni)?;
                inst = text(&v, "InstanceId").to_string();
            }
            ecs(
                core,
                s,
                "DetachNetworkInterface",
                &[eni[0], ("InstanceId", &inst)],
            )?;
        }
        "delete" => {
            ecs(core, s, "DeleteNetworkInterface", &eni)?;
        }
        "assign" => {
            let (count, addrs) = (field(f, "count"), split_list(field(f, "addresses")));
            let (count6, addrs6) = (
                field(f, "ipv6_count"),
                split_list(field(f, "ipv6_addresses")),
            );
            if count.is_empty() && addrs.is_empty() && count6.is_empty() && addrs6.is_empty() {
                return Err(ApiError::missing("SecondaryPrivateIpAddressCount"));
            }
            if !count.is_empty() || !addrs.is_empty() {
                let mut p = vec![
                    ("NetworkInterfaceId".to_string(), id.to_string()),
                    (
                        "SecondaryPrivateIpAddressCount".to_string(),
                        count.to_string(),
                    ),
                ];
                p.extend(numbered("PrivateIpAddress", &addrs));
                p.retain(|(_, v)| !v.is_empty());
                super::call(
                    core,
                    &s.0,
                    &s.1,
                    crate::dispatch::ECS_VERSION,
                    "AssignPrivateIpAddresses",
                    &p,
                )?;
            }
            if !count6.is_empty() || !addrs6.is_empty() {
                let mut p = vec![
                    ("NetworkInterfaceId".to_string(), id.to_string()),
                    ("Ipv6AddressCount".to_string(), count6.to_string()),
                ];
                p.extend(numbered("Ipv6Address", &addrs6));
                p.retain(|(_, v)| !v.is_empty());
                super::call(
                    core,
                    &s.0,
                    &s.1,
                    crate::dispatch::ECS_VERSION,
                    "AssignIpv6Addresses",
                    &p,
                )?;
            }
        }
        "unassign" => {
            let (v4, v6) = (fields(f, "ip"), fields(f, "ipv6"));
            if v4.is_empty() && v6.is_empty() {
                return Err(ApiError::missing("PrivateIpAddress.N"));
            }
            if !v4.is_empty() {
                let mut p = vec![("NetworkInterfaceId".to_string(), id.to_string())];
                p.extend(numbered("PrivateIpAddress", &v4));
                super::call(
                    core,
                    &s.0,
                    &s.1,
                    crate::dispatch::ECS_VERSION,
                    "UnassignPrivateIpAddresses",
                    &p,
                )?;
            }
            if !v6.is_empty() {
                let mut p = vec![("NetworkInterfaceId".to_string(), id.to_string())];
                p.extend(numbered("Ipv6Address", &v6));
                super::call(
                    core,
                    &s.0,
                    &s.1,
                    crate::dispatch::ECS_VERSION,
                    "UnassignIpv6Addresses",
                    &p,
                )?;
            }
        }
        "modify" => {
            let mut p = vec![
                ("NetworkInterfaceId".to_string(), id.to_string()),
                (
                    "NetworkInterfaceName".to_string(),
                    field(f, "name").to_string(),
                ),
                (
                    "Description".to_string(),
                    field(f, "description").to_string(),
                ),
            ];
            p.extend(numbered("SecurityGroupId", &fields(f, "groups")));
            // An empty name or description is left out (the API keeps what is absent, and
            // refuses an empty one).
            p.retain(|(_, v)| !v.is_empty());
            super::call(
                core,
                &s.0,
                &s.1,
                crate::dispatch::ECS_VERSION,
                "ModifyNetworkInterfaceAttribute",
                &p,
            )?;
        }
        "eip-bind" => {
            vpc(
                core,
                s,
                "AssociateEipAddress",
                &[
                    ("AllocationId", field(f, "allocation_id")),
                    ("InstanceId", id),
                    ("InstanceType", "NetworkInterface"),
                    ("PrivateIpAddress", field(f, "private_ip")),
                ],
            )?;
        }
        "eip-unbind" => {
            vpc(
                core,
                s,
                "UnassociateEipAddress",
                &[("AllocationId", field(f, "allocation_id"))],
            )?;
        }
        _ => return Err(ApiError::ApiNotFound),
    }
    Ok(())
}

/// `POST /console/instances/new`: RunInstances, with the extra network interfaces as
/// `NetworkInterface.N` (secondary, in the instance's vSwitch and group).
pub async fn instance_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (f, s) = match posted(&state, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let g = f.clone();
    let created = act(&state, &s, move |core, s| {
        let vsw = field(&g, "vswitch_id");
        let group = field(&g, "group");
        let zone = {
            let v = vpc(core, s, "DescribeVSwitchAttributes", &[("VSwitchId", vsw)])?;
            text(&v, "ZoneId").to_string()
        };
        let mut p: Vec<(String, String)> = vec![
            ("ZoneId".into(), zone),
            ("VSwitchId".into(), vsw.into()),
            ("SecurityGroupId".into(), group.into()),
            ("InstanceType".into(), field(&g, "instance_type").into()),
            ("InstanceName".into(), field(&g, "name").into()),
        ];
        let extra: u32 = field(&g, "extra_enis").parse().unwrap_or(0);
        for n in 1..=extra.min(16) {
            p.push((
                format!("NetworkInterface.{n}.InstanceType"),
                "Secondary".into(),
            ));
            p.push((format!("NetworkInterface.{n}.VSwitchId"), vsw.into()));
            p.push((
                format!("NetworkInterface.{n}.SecurityGroupId"),
                group.into(),
            ));
        }
        p.retain(|(_, v)| !v.is_empty());
        let v = super::call(
            core,
            &s.0,
            &s.1,
            crate::dispatch::ECS_VERSION,
            "RunInstances",
            &p,
        )?;
        Ok(super::html::list(&v, "InstanceIdSets.InstanceIdSet")
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    })
    .await;
    match created {
        Err(r) => r,
        Ok(Ok(id)) => redirect(&format!("/console/instances/{id}")),
        Ok(Err(e)) => {
            let vpc_id = field(&f, "vpc_id").to_string();
            render_instance_new(&state, &s, vpc_id, &f, Some(&Alert::api(&e))).await
        }
    }
}
