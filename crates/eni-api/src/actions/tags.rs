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

/// ECS JoinResourceGroup: `instance`, `eni` or `securitygroup`.
pub fn join_resource_group(ctx: &Ctx<'_>, p: &Params) -> Out {
    ctx.core.join_resource_group(
        &ctx.caller,
        p.required("RegionId")?,
        kind(p, true)?,
        p.required("ResourceId")?,
        p.required("ResourceGroupId")?,
    )?;
    Ok(Map::new())
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

/// Resource types whose tags eni keeps none of (it has no such resources, or none tagged).
const UNTAGGED_TYPES: &[&str] = &["image", "volume", "snapshot", "keypair", "launchtemplate"];

/// ECS DescribeTags: the tags of one resource (`ResourceType` and `ResourceId`; `Tag.N`
/// narrows them), each counted once for the resource's type. Images and the other
/// types eni keeps no tags of have none. PageNumber and PageSize (at most 100).
pub fn ecs_describe_tags(ctx: &Ctx<'_>, p: &Params) -> Out {
    let region = p.required("RegionId")?;
    let page = super::page(p, 100)?;
    let resource_type = p.required("ResourceType")?;
    let id = p.required("ResourceId")?;
    let filter = p.tags()?;
    let rows = if UNTAGGED_TYPES.contains(&resource_type.to_ascii_lowercase().as_str()) {
        ctx.core.check_region(region)?;
        Vec::new()
    } else {
        let kind = TagKind::ecs(resource_type)?;
        ctx.core
            .list_tag_resources(
                &ctx.caller,
                region,
                kind,
                &[id.to_string()],
                &Vec::new(),
                None,
            )?
            .0
    };
    let counted = |kind: TagKind| {
        let one = |k: TagKind| i64::from(kind == k);
        json!({
            "Instance": one(TagKind::Instance),
            "Eni": one(TagKind::Eni),
            "Securitygroup": one(TagKind::SecurityGroup),
            "Disk": one(TagKind::Disk), "Image": 0, "Snapshot": 0, "Volume": 0, "Ddh": 0,
            "KeyPair": 0, "LaunchTemplate": 0, "ReservedInstance": 0, "SnapshotPolicy": 0,
        })
    };
    let all: Vec<Value> = rows
        .iter()
        .filter(|r| {
            filter.is_empty()
                || filter
                    .iter()
                    .any(|(k, v)| k == &r.key && (v.is_empty() || v == &r.value))
        })
        .map(|r| json!({ "TagKey": r.key, "TagValue": r.value, "ResourceTypeCount": counted(r.kind) }))
        .collect();
    let paged = eni_core::query::paginate(all, page);
    Ok(object(json!({
        "TotalCount": paged.total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "Tags": { "Tag": paged.items },
    })))
}
