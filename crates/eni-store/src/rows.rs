//! Typed rows: what the store keeps for each resource. Wire shapes live in the API layer;
//! these carry only facts.

use eni_types::ids::{AccountId, ResourceGroupId, RouteTableId, VRouterId, VSwitchId, VpcId};

/// A tenant. Every resource belongs to exactly one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: i64,
}

/// An access key pair. The secret is kept in clear because HMAC needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub account_id: AccountId,
    pub created_at: i64,
}

impl std::fmt::Debug for AccessKey {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// The remembered outcome of a request made with a ClientToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub account_id: AccountId,
    pub action: String,
    pub token: String,
    /// A digest of the request's parameters (minus volatile ones); another digest with the
    /// same token is `IdempotentParameterMismatch`.
    pub params_digest: String,
    /// The first response body, replayed verbatim (but for a fresh RequestId).
    pub response: String,
    pub created_at: i64,
}

/// A tag on a resource.
pub type Tags = Vec<(String, String)>;

/// A VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub id: VpcId,
    pub account_id: AccountId,
    pub region_id: String,
    pub cidr_block: String,
    pub ipv6_cidr_block: Option<String>,
    pub name: String,
    pub description: String,
    pub status: String,
    pub is_default: bool,
    pub vrouter_id: VRouterId,
    pub route_table_id: RouteTableId,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    pub created_at: i64,
}

/// A vSwitch: one CIDR block of a VPC in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VSwitch {
    pub id: VSwitchId,
    pub account_id: AccountId,
    pub region_id: String,
    pub vpc_id: VpcId,
    pub zone_id: String,
    pub cidr_block: String,
    pub ipv6_cidr_block: Option<String>,
    pub name: String,
    pub description: String,
    pub status: String,
    pub is_default: bool,
    pub resource_group_id: ResourceGroupId,
    pub tags: Tags,
    pub created_at: i64,
}
