//! TagResources, UntagResources (`UnTagResources` in the VPC API) and ListTagResources: the
//! tags of instances, ENIs, security groups and system disks (ECS) and of VPCs, vSwitches,
//! EIPs and System route tables (VPC), kept on each resource's row (a disk's on its
//! instance's, a route table's on its VPC's), so the Describe calls show and filter by them at
//! once. A resource holds at most 20 tags.
//!
//! ListTagResources names resources by ID (`ResourceId.N`, at most 50), or finds them by
//! tags (`Tag.N`) through the type's indexed listing, a page of resources per call, its
//! NextToken the last resource's place in creation order.

use crate::{Caller, Core, CoreError};
use eni_store::{
    EipFilter, EniFilter, InstanceFilter, Position, SecurityGroupFilter, Table, Tags, Tx,
    VSwitchFilter, VpcFilter, Window,
};
use eni_types::ids::{
    EipId, EniId, InstanceId, ResourceGroupId, SecurityGroupId, VSwitchId, VpcId,
};
use eni_types::ApiError;

/// The most tags a resource holds.
pub const MAX_TAGS: usize = 20;
/// The most resources one call names.
pub const MAX_RESOURCES: usize = 50;
/// Resources a tag-filtered ListTagResources looks at per call.
const PAGE: u64 = 50;

/// What can be tagged here, and how each API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Instance,
    Eni,
    SecurityGroup,
    Vpc,
    VSwitch,
    Eip,
    /// An instance's system disk (`d-…`).
    Disk,
    /// A VPC's System route table (`vtb-…`).
    RouteTable,
}

impl TagKind {
    /// ECS's `ResourceType` (`instance`, `eni`, `securitygroup`, `disk`; any case).
    pub fn ecs(s: &str) -> Result<Self, ApiError> {
        match s.to_ascii_lowercase().as_str() {
            "instance" => Ok(TagKind::Instance),
            "eni" => Ok(TagKind::Eni),
            "securitygroup" => Ok(TagKind::SecurityGroup),
            "disk" => Ok(TagKind::Disk),
            _ => Err(ApiError::TagResourceTypeNotFound),
        }
    }

    /// The VPC API's `ResourceType` (`VPC`, `VSWITCH`, `EIP`, `ROUTETABLE`; any case).
    pub fn vpc(s: &str) -> Result<Self, ApiError> {
        match s.to_ascii_uppercase().as_str() {
            "VPC" => Ok(TagKind::Vpc),
            "VSWITCH" => Ok(TagKind::VSwitch),
            "EIP" => Ok(TagKind::Eip),
            "ROUTETABLE" => Ok(TagKind::RouteTable),
            _ => Err(ApiError::TagResourceTypeNotFound),
        }
    }

    /// How ListTagResources names the type.
    pub fn wire(self) -> &'static str {
        match self {
            TagKind::Instance => "instance",
            TagKind::Eni => "eni",
            TagKind::SecurityGroup => "securitygroup",
            TagKind::Vpc => "VPC",
            TagKind::VSwitch => "VSWITCH",
            TagKind::Eip => "EIP",
            TagKind::Disk => "disk",
            TagKind::RouteTable => "ROUTETABLE",
        }
    }

    fn table(self) -> Table {
        match self {
            TagKind::Instance => Table::Instance,
            TagKind::Eni => Table::Eni,
            TagKind::SecurityGroup => Table::SecurityGroup,
            TagKind::Vpc => Table::Vpc,
            TagKind::VSwitch => Table::VSwitch,
            TagKind::Eip => Table::Eip,
            TagKind::Disk => Table::Disk,
            TagKind::RouteTable => Table::RouteTable,
        }
    }
}

/// One row of ListTagResources: a resource and one of its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagResource {
    pub resource_id: String,
    pub kind: TagKind,
    pub key: String,
    pub value: String,
}

/// The tags of the caller's resource `id` of `kind` in `region`, if it has such a resource,
/// with the ID of the row that holds them (a disk's instance, a route table's VPC).
fn tags_of(
    tx: &mut dyn Tx,
    caller: &Caller,
    region: &str,
    kind: TagKind,
    id: &str,
) -> Result<Option<(String, Tags)>, CoreError> {
    let a = caller.account;
    let found = match kind {
        TagKind::Instance => match id.parse::<InstanceId>() {
            Ok(i) => tx
                .instance_get(a, &i)?
                .map(|r| (r.region_id, id.into(), r.tags)),
            Err(_) => None,
        },
        TagKind::Eni => match id.parse::<EniId>() {
            Ok(i) => tx.eni_get(a, &i)?.map(|r| (r.region_id, id.into(), r.tags)),
            Err(_) => None,
        },
        TagKind::SecurityGroup => match id.parse::<SecurityGroupId>() {
            Ok(i) => tx
                .security_group_get(a, &i)?
                .map(|r| (r.region_id, id.into(), r.tags)),
            Err(_) => None,
        },
        TagKind::Vpc => match id.parse::<VpcId>() {
            Ok(i) => tx.vpc_get(a, &i)?.map(|r| (r.region_id, id.into(), r.tags)),
            Err(_) => None,
        },
        TagKind::VSwitch => match id.parse::<VSwitchId>() {
            Ok(i) => tx
                .vswitch_get(a, &i)?
                .map(|r| (r.region_id, id.into(), r.tags)),
            Err(_) => None,
        },
        TagKind::Eip => match id.parse::<EipId>() {
            Ok(i) => tx.eip_get(a, &i)?.map(|r| (r.region_id, id.into(), r.tags)),
            Err(_) => None,
        },
        TagKind::Disk => match crate::instance::disk_instance(id) {
            Some(i) => tx
                .instance_get(a, &i)?
                .map(|r| (r.region_id, r.id.to_string(), r.system_disk.tags)),
            None => None,
        },
        TagKind::RouteTable => route_table_vpc(tx, caller, region, id)?
            .map(|v| (v.region_id, v.id.to_string(), v.route_table.tags)),
    };
    Ok(found
        .filter(|(r, _, _)| r == region)
        .map(|(_, row, t)| (row, t)))
}

/// The caller's VPC in `region` whose System route table is `id` (among the account's VPCs
/// of the region, which the VPC quota bounds).
pub(crate) fn route_table_vpc(
    tx: &mut dyn Tx,
    caller: &Caller,
    region: &str,
    id: &str,
) -> Result<Option<eni_store::Vpc>, CoreError> {
    if !id.starts_with("vtb-") {
        return Ok(None);
    }
    Ok(tx
        .vpc_list(caller.account, region)?
        .into_iter()
        .find(|v| v.route_table_id.as_str() == id))
}

fn check_ids(ids: &[String]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Err(ApiError::missing("ResourceId.N"));
    }
    if ids.len() > MAX_RESOURCES {
        return Err(ApiError::invalid_param_because(
            "ResourceId.N",
            format!("at most {MAX_RESOURCES} resources"),
        ));
    }
    Ok(())
}

impl Core {
    /// Rewrites the tags of each resource `ids` names with `change`, all or none;
    /// `InvalidResourceId.NotFound` if one is not the caller's.
    fn rewrite_tags(
        &self,
        caller: &Caller,
        region: &str,
        kind: TagKind,
        ids: &[String],
        change: impl Fn(&mut Tags) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        check_ids(ids)?;
        self.write(|tx| -> Result<(), CoreError> {
            for id in ids {
                let (row, mut have) =
                    tags_of(tx, caller, region, kind, id)?.ok_or(ApiError::TagResourceNotFound)?;
                change(&mut have)?;
                tx.tags_set(kind.table(), caller.account, &row, &have)?;
            }
            Ok(())
        })
        .map_err(Into::into)
    }

    /// TagResources: adds `tags` to each resource (a key it has takes the new value); all or
    /// none, `InvalidResourceId.NotFound` if one is not the caller's.
    pub fn tag_resources(
        &self,
        caller: &Caller,
        region: &str,
        kind: TagKind,
        ids: &[String],
        tags: &Tags,
    ) -> Result<(), ApiError> {
        if tags.is_empty() {
            return Err(ApiError::missing("Tag.N.Key"));
        }
        self.rewrite_tags(caller, region, kind, ids, |have| {
            for (k, v) in tags {
                match have.iter_mut().find(|(hk, _)| hk == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => have.push((k.clone(), v.clone())),
                }
            }
            if have.len() > MAX_TAGS {
                return Err(ApiError::TagQuotaExceeded);
            }
            Ok(())
        })
    }

    /// UntagResources: removes the tags of `keys` (every tag with `all` and no keys).
    pub fn untag_resources(
        &self,
        caller: &Caller,
        region: &str,
        kind: TagKind,
        ids: &[String],
        keys: &[String],
        all: bool,
    ) -> Result<(), ApiError> {
        if keys.len() > MAX_TAGS {
            return Err(ApiError::invalid_param_because(
                "TagKey.N",
                format!("at most {MAX_TAGS} keys"),
            ));
        }
        self.rewrite_tags(caller, region, kind, ids, |have| {
            if keys.is_empty() {
                if all {
                    have.clear();
                }
            } else {
                have.retain(|(k, _)| !keys.contains(k));
            }
            Ok(())
        })
    }

    /// JoinResourceGroup: moves one resource (ECS's `instance`, `eni` or `securitygroup`) to
    /// the resource group `group`.
    pub fn join_resource_group(
        &self,
        caller: &Caller,
        region: &str,
        kind: TagKind,
        id: &str,
        group: &str,
    ) -> Result<(), ApiError> {
        self.check_region(region)?;
        let group: ResourceGroupId = group
            .parse()
            .map_err(|_| ApiError::invalid_param("ResourceGroupId"))?;
        match kind {
            TagKind::Disk => {
                return Err(ApiError::invalid_param_because(
                    "ResourceType",
                    "a system disk is in its instance's resource group",
                ))
            }
            TagKind::RouteTable => {
                return Err(ApiError::invalid_param_because(
                    "ResourceType",
                    "a System route table is in its VPC's resource group",
                ))
            }
            _ => {}
        }
        self.write(|tx| -> Result<(), CoreError> {
            tags_of(tx, caller, region, kind, id)?.ok_or(ApiError::TagResourceNotFound)?;
            tx.resource_group_set(kind.table(), caller.account, id, &group)?;
            Ok(())
        })
        .map_err(Into::into)
    }

    /// ListTagResources: the tags of the resources `ids` names (unknown ones left out), or of
    /// the caller's resources of `kind` that carry every tag of `filter` (a page of them,
    /// after `token`); one row per tag, and the token of the next page (empty on the last).
    pub fn list_tag_resources(
        &self,
        caller: &Caller,
        region: &str,
        kind: TagKind,
        ids: &[String],
        filter: &Tags,
        token: Option<&str>,
    ) -> Result<(Vec<TagResource>, String), ApiError> {
        self.check_region(region)?;
        if ids.len() > MAX_RESOURCES {
            return Err(ApiError::invalid_param_because(
                "ResourceId.N",
                format!("at most {MAX_RESOURCES} resources"),
            ));
        }
        if ids.is_empty() && filter.is_empty() {
            return Err(ApiError::missing("ResourceId.N"));
        }
        let after = match token {
            None | Some("") => None,
            Some(t) => Some(Position(t.parse().map_err(|_| {
                ApiError::invalid_param_because("NextToken", "not a token of this call")
            })?)),
        };
        let rows = |id: &str, tags: Tags| -> Vec<TagResource> {
            tags.into_iter()
                .map(|(key, value)| TagResource {
                    resource_id: id.to_string(),
                    kind,
                    key,
                    value,
                })
                .collect()
        };
        let matches = |tags: &Tags| {
            filter.iter().all(|(k, v)| {
                tags.iter()
                    .any(|(tk, tv)| tk == k && (v.is_empty() || tv == v))
            })
        };
        let (out, next) = eni_store::with_read(self.store(), |tx| -> Result<_, CoreError> {
            if !ids.is_empty() {
                let mut out = Vec::new();
                for id in ids {
                    if let Some((_, tags)) = tags_of(tx, caller, region, kind, id)? {
                        if matches(&tags) {
                            out.extend(rows(id, tags));
                        }
                    }
                }
                return Ok((out, String::new()));
            }
            let wanted: Vec<(String, Option<String>)> = filter
                .iter()
                .map(|(k, v)| (k.clone(), (!v.is_empty()).then(|| v.clone())))
                .collect();
            let window = Window::after(after, PAGE + 1);
            let a = caller.account;
            let found: Vec<(Position, String, Tags)> = match kind {
                TagKind::Instance => tx
                    .instance_find(
                        a,
                        region,
                        &InstanceFilter {
                            tags: wanted,
                            ..Default::default()
                        },
                        window,
                    )?
                    .into_iter()
                    .map(|(p, r)| (p, r.id.to_string(), r.tags))
                    .collect(),
                TagKind::Eni => tx
                    .eni_find(
                        a,
                        region,
                        &EniFilter {
                            tags: wanted,
                            ..Default::default()
                        },
                        window,
                    )?
                    .into_iter()
                    .map(|(p, r)| (p, r.id.to_string(), r.tags))
                    .collect(),
                TagKind::SecurityGroup => tx
                    .security_group_find(
                        a,
                        region,
                        &SecurityGroupFilter {
                            tags: wanted,
                            ..Default::default()
                        },
                        window,
                    )?
                    .into_iter()
                    .map(|(p, r)| (p, r.id.to_string(), r.tags))
                    .collect(),
                TagKind::Vpc => tx
                    .vpc_find(
                        a,
                        region,
                        &VpcFilter {
                            tags: wanted,
                            ..Default::default()
                        },
                        window,
                    )?
                    .into_iter()
                    .map(|(p, r)| (p, r.id.to_string(), r.tags))
                    .collect(),
                TagKind::VSwitch => tx
                    .vswitch_find(
                        a,
                        region,
                        &VSwitchFilter {
                            tags: wanted,
                            ..Default::default()
                        },
                        window,
                    )?
                    .into_iter()
                    .map(|(p, r)| (p, r.id.to_string(), r.tags))
                    .collect(),
                // Their tags are not indexed: a page of their owners, filtered here (a page
                // may then hold fewer matches, or none, before the last).
                TagKind::Disk => tx
                    .instance_find(a, region, &InstanceFilter::default(), window)?
                    .into_iter()
                    .map(|(p, r)| {
                        let id = crate::instance::system_disk_id(r.id.as_str());
                        (p, id, r.system_disk.tags)
                    })
                    .collect(),
                TagKind::RouteTable => tx
                    .vpc_find(a, region, &VpcFilter::default(), window)?
                    .into_iter()
                    .map(|(p, r)| (p, r.route_table_id.to_string(), r.route_table.tags))
                    .collect(),
                TagKind::Eip => tx
                    .eip_find(
                        a,
                        region,
                        &EipFilter {
                            tags: wanted,
                            ..Default::default()
                        },
                        window,
                    )?
                    .into_iter()
                    .map(|(p, r)| (p, r.id.to_string(), r.tags))
                    .collect(),
            };
            let more = found.len() as u64 > PAGE;
            let page: Vec<_> = found.into_iter().take(PAGE as usize).collect();
            let next = if more {
                page.last()
                    .map(|(p, _, _)| p.0.to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let mut out = Vec::new();
            for (_, id, tags) in page {
                if matches(&tags) {
                    out.extend(rows(&id, tags));
                }
            }
            Ok((out, next))
        })
        .map_err(ApiError::from)?;
        Ok((out, next))
    }
}
