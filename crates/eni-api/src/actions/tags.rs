//! TagResources, UntagResources and ListTagResources in both APIs: ECS's (`instance`, `eni`,
//! `securitygroup`; `UntagResources`) and the VPC API's (`VPC`, `VSWITCH`, `EIP`;
//! `UnTagResources`).

use super::{object, Ctx};
use eni_core::tags::TagKind;
use eni_types::{ApiError, Params};
use serde_json::{json, Map, Value};

type Out = Result<Map<String, Value>, ApiError>;

fn kind(p: &Params, ecs: bool) -> Result<TagKind, ApiError> {
    let t = p.required("ResourceType")?;
    if ecs {
        TagKind::ecs(t)
    } else {
        TagKind::vpc(t)
    }
}

fn tag(ctx: &Ctx<'_>, p: &Params, ecs: bool) -> Out {
    ctx.core.tag_resources(
        &ctx.caller,
        p.required("RegionId")?,
        kind(p, ecs)?,
        &p.list("ResourceId")?,
        &p.tags()?,
    )?;
    Ok(Map::new())
}

fn untag(ctx: &Ctx<'_>, p: &Params, ecs: bool) -> Out {
    ctx.core.untag_resources(
        &ctx.caller,
        p.required("RegionId")?,
        kind(p, ecs)?,
        &p.list("ResourceId")?,
        &p.list("TagKey")?,
        p.bool("All")?.unwrap_or(false),
    )?;
    Ok(Map::new())
}

fn list(ctx: &Ctx<'_>, p: &Params, ecs: bool) -> Out {
    let (rows, next) = ctx.core.list_tag_resources(
        &ctx.caller,
        p.required("RegionId")?,
        kind(p, ecs)?,
        &p.list("ResourceId")?,
        &p.tags()?,
        p.opt("NextToken"),
    )?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "ResourceId": r.resource_id,
                "ResourceType": r.kind.wire(),
                "TagKey": r.key,
                "TagValue": r.value,
            })
        })
        .collect();
    Ok(object(json!({
        "NextToken": next,
        "TagResources": { "TagResource": list },
    })))
}

/// ECS TagResources.
pub fn ecs_tag(ctx: &Ctx<'_>, p: &Params) -> Out {
    tag(ctx, p, true)
}

/// ECS UntagResources.
pub fn ecs_untag(ctx: &Ctx<'_>, p: &Params) -> Out {
    untag(ctx, p, true)
}

/// ECS ListTagResources.
pub fn ecs_list(ctx: &Ctx<'_>, p: &Params) -> Out {
    list(ctx, p, true)
}

/// VPC TagResources.
pub fn vpc_tag(ctx: &Ctx<'_>, p: &Params) -> Out {
    tag(ctx, p, false)
}

/// VPC UnTagResources.
pub fn vpc_untag(ctx: &Ctx<'_>, p: &Params) -> Out {
    untag(ctx, p, false)
}

/// VPC ListTagResources.
pub fn vpc_list(ctx: &Ctx<'_>, p: &Params) -> Out {
    list(ctx, p, false)
}
