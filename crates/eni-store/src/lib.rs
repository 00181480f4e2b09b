//! The storage boundary of eni: [`Store`] opens transactions, [`Tx`] reads and writes typed
//! rows. Backends (SQLite now, PostgreSQL later) implement both; the application layer writes
//! its rules once, inside a transaction, and the schema's unique and check constraints decide
//! every race ([`StoreError::Conflict`] names the constraint that fired).
//!
//! Methods are named resource first, verb second (`vpc_insert`, `vswitch_list`).

#[cfg(feature = "testing")]
pub mod conformance;
pub mod rows;

pub use rows::*;

use eni_types::ids::{
    AccountId, EipId, EniId, HostId, InstanceId, ResourceGroupId, SecurityGroupId,
    SecurityGroupRuleId, VSwitchId, VpcId,
};

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique or check constraint rejected the write; `constraint` is its schema name.
    #[error("constraint {constraint} violated")]
    Conflict { constraint: String },
    /// The database was busy or a serializable transaction lost a race; retrying may work.
    #[error("database busy, retry")]
    Busy,
    /// The storage cannot do this now: the disk is full, an I/O error, the database out of
    /// reach. Reads may still work (a full disk takes no reads); retrying later may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: corruption, a bug. Logged, never shown to API callers.
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether the constraint named `name` is the one that fired.
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, StoreError::Conflict { constraint } if constraint == name)
    }
}

/// Constraint names shared by every backend's schema.
pub mod constraints {
    /// One access key ID is one key.
    pub const ACCESS_KEY_PK: &str = "access_key_pk";
    /// An account name is taken once.
    pub const ACCOUNT_NAME_UNIQUE: &str = "account_name_unique";
    /// A nonce is accepted once per access key.
    pub const NONCE_PK: &str = "nonce_pk";
    /// A private IP is held by at most one owner per vSwitch.
    pub const PRIVATE_IP_UNIQUE: &str = "private_ip_vswitch_ip_unique";
    /// A client token is used once per account and action.
    pub const IDEMPOTENCY_PK: &str = "idempotency_pk";
    /// A setting is set once.
    pub const SETTING_PK: &str = "setting_pk";
    /// A console session's token is one session.
    pub const CONSOLE_SESSION_PK: &str = "console_session_pk";
    /// One host per name and zone.
    pub const HOST_NAME_ZONE_UNIQUE: &str = "host_name_zone_unique";
    /// A private IP belongs to an existing vSwitch, which cannot be deleted while it holds any.
    pub const PRIVATE_IP_VSWITCH_FK: &str = "private_ip_vswitch_fk";
    /// A vSwitch belongs to an existing VPC, which cannot be deleted while it has any.
    pub const VSWITCH_VPC_FK: &str = "vswitch_vpc_fk";
    /// A security group belongs to an existing VPC, which cannot be deleted while it has any.
    pub const SECURITY_GROUP_VPC_FK: &str = "security_group_vpc_fk";
    /// A MAC address is used by one ENI across all accounts and regions.
    pub const ENI_MAC_UNIQUE: &str = "eni_mac_unique";
    /// An instance uses a device index once.
    pub const ENI_DEVICE_INDEX_UNIQUE: &str = "eni_instance_device_index_unique";
    /// An IPv6 address or prefix is held once per vSwitch.
    pub const IPV6_UNIQUE: &str = "ipv6_vswitch_addr_unique";
    /// A /80 of a vSwitch is held whole by one prefix or by single addresses, never both.
    pub const IPV6_PREFIX_OVERLAP: &str = "ipv6_prefix_overlap";
    /// A security group with member ENIs cannot be deleted.
    pub const ENI_SECURITY_GROUP_FK: &str = "eni_security_group_sg_fk";
    /// A rule is stored once per group: identical rules (all but ID, description and time
    /// equal) conflict.
    pub const SG_RULE_UNIQUE: &str = "security_group_rule_unique";
    /// A rule belongs to an existing group (deleting the group deletes its rules).
    pub const SG_RULE_GROUP_FK: &str = "security_group_rule_group_fk";
    /// A rule's peer group exists, and a group that rules reference cannot be deleted.
    pub const SG_RULE_PEER_FK: &str = "security_group_rule_peer_fk";
    /// A public address is one EIP, across all accounts and regions.
    pub const EIP_ADDRESS_UNIQUE: &str = "eip_ip_unique";
    /// A private IP (per vSwitch) is the target of at most one EIP.
    pub const EIP_PRIVATE_IP_UNIQUE: &str = "eip_private_ip_unique";
}

/// Opens transactions. Implementations are shared between threads; each transaction is used
/// by one thread.
pub trait Store: Send + Sync + 'static {
    /// A read-only transaction: a consistent snapshot.
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// A read-write transaction, serialized against every other writer.
    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// Short name of the backend, for logs ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
    /// Calls `on_change` each time a write of any process sharing this store commits a
    /// change to what the data plane must do (the generation grows), and once more after any
    /// gap in which it could not tell, until the store is dropped. `false`: this backend does
    /// not push changes (one process owns it, and its own writes say so).
    fn watch_changes(&self, on_change: ChangeHook) -> Result<bool, StoreError> {
        let _ = on_change;
        Ok(false)
    }
    /// Whether other processes may serve requests from this store at the same time (several
    /// API servers on one PostgreSQL): what one server keeps in memory the others cannot see.
    fn shared(&self) -> bool {
        false
    }
    /// [`Tx::nonce_record`] committed on its own, as cheaply as the backend can (a shared
    /// store records every read's nonce this way).
    fn nonce_record_now(
        &self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write()?;
        let fresh = tx.nonce_record(access_key_id, nonce, now, expires_at)?;
        tx.commit()?;
        Ok(fresh)
    }
}

/// What [`Store::watch_changes`] calls.
pub type ChangeHook = std::sync::Arc<dyn Fn() + Send + Sync>;

/// One transaction. Dropping it without [`Tx::commit`] rolls it back. A statement that fails
/// (a [`StoreError::Conflict`], say) changes nothing and leaves the transaction usable.
pub trait Tx {
    /// Makes every write of this transaction durable and visible.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
    /// Undoes every write of this transaction and goes on as a new one of the same kind, with
    /// no other writer of this store in between (a request's nonce is kept this way when the
    /// rest of its transaction fails: nothing can slip between the undo and the nonce's
    /// record). A write transaction of another process may still come between.
    fn restart(&mut self) -> Result<(), StoreError>;

    // ---- accounts and keys ----
    fn account_insert(&mut self, account: &Account) -> Result<(), StoreError>;
    fn account_get(&mut self, id: AccountId) -> Result<Option<Account>, StoreError>;
    fn account_by_name(&mut self, name: &str) -> Result<Option<Account>, StoreError>;
    fn access_key_insert(&mut self, key: &AccessKey) -> Result<(), StoreError>;
    fn access_key_get(&mut self, id: &str) -> Result<Option<AccessKey>, StoreError>;
    /// The account's oldest access key, if it has any.
    fn access_key_for_account(
        &mut self,
        account: AccountId,
    ) -> Result<Option<AccessKey>, StoreError>;
    /// Every access key of the account, oldest first.
    fn access_key_list_for_account(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<AccessKey>, StoreError>;
    /// Whether the key with ID `id` was removed.
    fn access_key_delete(&mut self, id: &str) -> Result<bool, StoreError>;

    // ---- replay protection ----
    /// Records `nonce` for `access_key_id` until `expires_at`. Returns `false` if it was
    /// already recorded and has not expired, i.e. its `expires_at >= now` (a replay); an
    /// expired record is replaced and the call returns `true`.
    fn nonce_record(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError>;
    /// Whether `nonce` is recorded for `access_key_id` and has not expired at `now`
    /// (`expires_at >= now`): what would make [`Tx::nonce_record`] return `false`.
    fn nonce_live(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Forgets nonces that expired before `now` (`expires_at < now`); returns how many.
    fn nonce_purge(&mut self, now: i64) -> Result<u64, StoreError>;

    // ---- console sessions ----
    /// Records a new session (a token hash already held is a conflict on
    /// `console_session_pk`).
    fn console_session_insert(&mut self, s: &ConsoleSession) -> Result<(), StoreError>;
    /// The session of `token_hash` if it has not expired at `now` (`expires_at > now`).
    fn console_session_get(
        &mut self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<ConsoleSession>, StoreError>;
    /// Ends a session; whether there was one.
    fn console_session_delete(&mut self, token_hash: &str) -> Result<bool, StoreError>;
    /// Forgets sessions expired at `now` (`expires_at <= now`); returns how many.
    fn console_session_purge(&mut self, now: i64) -> Result<u64, StoreError>;

    // ---- idempotency ----
    fn idempotency_get(
        &mut self,
        account: AccountId,
        action: &str,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    fn idempotency_insert(&mut self, record: &IdempotencyRecord) -> Result<(), StoreError>;

    // ---- hosts ----
    // The operator's data-plane hosts (agents), few next to instances: listed whole.

    /// Adds a host; a second one of the same name and zone conflicts on
    /// [`constraints::HOST_NAME_ZONE_UNIQUE`].
    fn host_insert(&mut self, host: &Host) -> Result<(), StoreError>;
    /// Rewrites a host's underlay address, capacity and last call, found by ID (not its used
    /// vCPUs: see [`Tx::host_use`]).
    fn host_update(&mut self, host: &Host) -> Result<(), StoreError>;
    /// Adds `vcpus` (negative: frees them) to what a host's instances take, never below 0.
    fn host_use(&mut self, id: &HostId, vcpus: i64) -> Result<(), StoreError>;
    /// Removes a host; whether it existed. (The caller checks it has no instances.)
    fn host_delete(&mut self, id: &HostId) -> Result<bool, StoreError>;
    /// Records that host `name`'s agent called at `now`, in every zone it serves; how many
    /// hosts that was.
    fn host_seen(&mut self, name: &str, now: i64) -> Result<u64, StoreError>;
    fn host_get(&mut self, id: &HostId) -> Result<Option<Host>, StoreError>;
    fn host_by_name(&mut self, name: &str, zone: &str) -> Result<Option<Host>, StoreError>;
    /// Every host, oldest first.
    fn host_list(&mut self) -> Result<Vec<Host>, StoreError>;
    /// The instances placed on `host`, oldest first.
    fn instances_on_host(&mut self, host: &HostId) -> Result<Vec<Instance>, StoreError>;
    /// The instances with no host, oldest first.
    fn instances_unplaced(&mut self) -> Result<Vec<Instance>, StoreError>;
    /// The instances (of any account) among `ids`, oldest first; unknown IDs are skipped.
    fn instances_by_ids(&mut self, ids: &[InstanceId]) -> Result<Vec<Instance>, StoreError>;
    /// Records that deleted instance `instance` was on `host` (`None`: on none) while ENIs it
    /// kept are Detaching; recorded again, the host is replaced.
    fn departure_insert(
        &mut self,
        instance: &InstanceId,
        host: Option<&HostId>,
    ) -> Result<(), StoreError>;
    /// Every recorded departure, by instance ID.
    fn departures_all(&mut self) -> Result<Vec<(InstanceId, Option<HostId>)>, StoreError>;
    /// Forgets where deleted instance `instance` was.
    fn departure_delete(&mut self, instance: &InstanceId) -> Result<(), StoreError>;

    // ---- settings ----
    // What every server on one store must agree on (the agents' token), kept with the state.

    /// The value of setting `name`, if it has one.
    fn setting_get(&mut self, name: &str) -> Result<Option<String>, StoreError>;
    /// Gives setting `name` its value; one it already has conflicts on
    /// [`constraints::SETTING_PK`] (a setting is written once, so that the first server to
    /// start decides it for all).
    fn setting_insert(&mut self, name: &str, value: &str) -> Result<(), StoreError>;

    // ---- VPCs ----
    fn vpc_insert(&mut self, vpc: &Vpc) -> Result<(), StoreError>;
    fn vpc_get(&mut self, account: AccountId, id: &VpcId) -> Result<Option<Vpc>, StoreError>;
    /// The account's VPCs in `region`, oldest first.
    fn vpc_list(&mut self, account: AccountId, region: &str) -> Result<Vec<Vpc>, StoreError>;
    /// Whether a VPC was removed. Refused with [`constraints::VSWITCH_VPC_FK`] while the VPC
    /// has vSwitches.
    fn vpc_delete(&mut self, account: AccountId, id: &VpcId) -> Result<bool, StoreError>;
    /// How many VPCs the account has in `region`, for the quota. Like every quota count
    /// ([`Tx::eni_count`], [`Tx::eip_count`]) it costs O(log n) whatever the account holds:
    /// a counter the backend keeps in the transaction that inserts, deletes or moves the rows,
    /// so it is exact inside any transaction, rolls back with it, and cannot drift under
    /// concurrent writers.
    fn vpc_count(&mut self, account: AccountId, region: &str) -> Result<u64, StoreError>;
    /// Every VPC of every account, oldest first (the data plane's view).
    fn vpc_list_all(&mut self) -> Result<Vec<Vpc>, StoreError>;
    /// Every VPC's sequence number, assigned by the store and never reused: the overlay's
    /// VXLAN network identifier of the VPC.
    fn vpc_seqs_all(&mut self) -> Result<Vec<(VpcId, i64)>, StoreError>;
    /// The account's VPCs in `region` that match `filter`, in creation order, within
    /// `window`.
    fn vpc_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VpcFilter,
        window: Window,
    ) -> Result<Vec<(Position, Vpc)>, StoreError>;
    /// How many VPCs [`Tx::vpc_find`] would list with no window.
    fn vpc_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VpcFilter,
    ) -> Result<u64, StoreError>;

    // ---- vSwitches ----
    /// Refused with [`constraints::VSWITCH_VPC_FK`] if the vSwitch's VPC does not exist.
    fn vswitch_insert(&mut self, vsw: &VSwitch) -> Result<(), StoreError>;
    fn vswitch_get(
        &mut self,
        account: AccountId,
        id: &VSwitchId,
    ) -> Result<Option<VSwitch>, StoreError>;
    /// The account's vSwitches in `region` (only those of `vpc` if given), oldest first.
    fn vswitch_list(
        &mut self,
        account: AccountId,
        region: &str,
        vpc: Option<&VpcId>,
    ) -> Result<Vec<VSwitch>, StoreError>;
    /// Whether a vSwitch was removed. Refused with [`constraints::PRIVATE_IP_VSWITCH_FK`]
    /// while the vSwitch holds private IPs.
    fn vswitch_delete(&mut self, account: AccountId, id: &VSwitchId) -> Result<bool, StoreError>;
    /// Every vSwitch of every account, oldest first (the data plane's view).
    fn vswitch_list_all(&mut self) -> Result<Vec<VSwitch>, StoreError>;
    /// The account's vSwitches in `region` that match `filter`, in creation order, within
    /// `window`.
    fn vswitch_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VSwitchFilter,
        window: Window,
    ) -> Result<Vec<(Position, VSwitch)>, StoreError>;
    /// How many vSwitches [`Tx::vswitch_find`] would list with no window.
    fn vswitch_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &VSwitchFilter,
    ) -> Result<u64, StoreError>;

    // ---- private IPs ----
    /// Records `ip` (IPv4 as an integer) as held in `vswitch` by `owner`; the unique
    /// constraint [`constraints::PRIVATE_IP_UNIQUE`] rejects an address already held, and
    /// [`constraints::PRIVATE_IP_VSWITCH_FK`] a vSwitch that does not exist. A conflict fails
    /// only this statement: the transaction stays usable, so a caller may try another address.
    fn private_ip_insert(&mut self, ip: &PrivateIp) -> Result<(), StoreError>;
    fn private_ip_delete(&mut self, vswitch: &VSwitchId, ip: u32) -> Result<bool, StoreError>;
    /// How many addresses of `vswitch` are held.
    fn private_ip_count(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError>;
    /// The holder of `ip` in `vswitch`, if any.
    fn private_ip_get(
        &mut self,
        vswitch: &VSwitchId,
        ip: u32,
    ) -> Result<Option<PrivateIp>, StoreError>;
    /// Every address held by `owner`, in the order they were inserted.
    fn private_ips_of(&mut self, owner: &str) -> Result<Vec<PrivateIp>, StoreError>;
    /// Every address held in any vSwitch, in the order they were inserted: each owner's
    /// addresses come in the order of [`Tx::private_ips_of`] (the data plane's view).
    fn private_ips_all(&mut self) -> Result<Vec<PrivateIp>, StoreError>;

    // ---- the IPv4 allocator's free list ----
    // A vSwitch's free addresses as disjoint inclusive ranges [lo, hi] (indexed by lo), so
    // finding, taking and returning an address costs O(log n) however full the vSwitch is.
    // The algorithm lives in eni-core; the store only keeps the ranges.

    /// The free range with the lowest `lo`.
    fn ip_free_first(&mut self, vswitch: &VSwitchId) -> Result<Option<(u32, u32)>, StoreError>;
    /// The free range containing `ip`, if `ip` is free.
    fn ip_free_containing(
        &mut self,
        vswitch: &VSwitchId,
        ip: u32,
    ) -> Result<Option<(u32, u32)>, StoreError>;
    /// Every free range, by `lo`.
    fn ip_free_list(&mut self, vswitch: &VSwitchId) -> Result<Vec<(u32, u32)>, StoreError>;
    /// The free range with the lowest `lo` that holds a whole aligned block of `size`
    /// addresses (`size` a power of two), for IPv4 prefixes: one statement that stops at the
    /// first such range (it looks at the smaller ranges before it, not at the addresses
    /// taken).
    fn ip_free_first_aligned(
        &mut self,
        vswitch: &VSwitchId,
        size: u32,
    ) -> Result<Option<(u32, u32)>, StoreError>;
    /// Adds a range; ranges of one vSwitch never overlap (the caller's invariant).
    fn ip_free_insert(&mut self, vswitch: &VSwitchId, lo: u32, hi: u32) -> Result<(), StoreError>;
    /// Removes the range starting at `lo`.
    fn ip_free_delete(&mut self, vswitch: &VSwitchId, lo: u32) -> Result<bool, StoreError>;
    /// Removes every free range of a vSwitch (before the vSwitch itself is deleted).
    fn ip_free_clear(&mut self, vswitch: &VSwitchId) -> Result<(), StoreError>;

    // ---- IPv6 addresses and prefixes ----
    /// Holds an address or a /80 prefix. The same text twice in a vSwitch conflicts on
    /// [`constraints::IPV6_UNIQUE`]; an address inside a held prefix, or a prefix containing
    /// a held address, conflicts on [`constraints::IPV6_PREFIX_OVERLAP`].
    fn ipv6_insert(&mut self, entry: &Ipv6Entry) -> Result<(), StoreError>;
    fn ipv6_delete(&mut self, vswitch: &VSwitchId, addr: &str) -> Result<bool, StoreError>;
    fn ipv6_get(
        &mut self,
        vswitch: &VSwitchId,
        addr: &str,
    ) -> Result<Option<Ipv6Entry>, StoreError>;
    /// Everything held by `owner`, in insertion order.
    fn ipv6_of(&mut self, owner: &str) -> Result<Vec<Ipv6Entry>, StoreError>;
    /// Every IPv6 address and prefix held in any vSwitch, in insertion order: each owner's
    /// come in the order of [`Tx::ipv6_of`] (the data plane's view).
    fn ipv6_all(&mut self) -> Result<Vec<Ipv6Entry>, StoreError>;
    /// Every /80 of `vswitch` that holds a prefix or an address, once each, as `net/80` in
    /// canonical text, in no particular order (a new prefix must avoid them all).
    fn ipv6_nets_in_use(&mut self, vswitch: &VSwitchId) -> Result<Vec<String>, StoreError>;

    // ---- security groups ----
    fn security_group_insert(&mut self, sg: &SecurityGroup) -> Result<(), StoreError>;
    /// Sets the name and description of the account's row `id` of `table` (the Modify*Attribute
    /// calls); whether it was there. Nothing a data plane renders changes, though an ENI's or
    /// an instance's row update moves the generation (its triggers do not tell columns apart).
    fn name_set(
        &mut self,
        table: Table,
        account: AccountId,
        id: &str,
        name: &str,
        description: &str,
    ) -> Result<bool, StoreError>;
    /// Moves the account's row `id` of `table` to another resource group (JoinResourceGroup);
    /// whether it was there.
    fn resource_group_set(
        &mut self,
        table: Table,
        account: AccountId,
        id: &str,
        group: &ResourceGroupId,
    ) -> Result<bool, StoreError>;
    /// Replaces the tags of the account's row `id` of `table` (TagResources, UntagResources);
    /// whether it was there. An ENI's tag index (`eni_tags`) follows by trigger.
    fn tags_set(
        &mut self,
        table: Table,
        account: AccountId,
        id: &str,
        tags: &Tags,
    ) -> Result<bool, StoreError>;
    fn security_group_get(
        &mut self,
        account: AccountId,
        id: &SecurityGroupId,
    ) -> Result<Option<SecurityGroup>, StoreError>;
    /// The account's groups in `region`, oldest first.
    fn security_group_list(
        &mut self,
        account: AccountId,
        region: &str,
    ) -> Result<Vec<SecurityGroup>, StoreError>;
    /// The account's security groups in `region` that match `filter`, in creation order,
    /// within `window`.
    fn security_group_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &SecurityGroupFilter,
        window: Window,
    ) -> Result<Vec<(Position, SecurityGroup)>, StoreError>;
    /// How many groups [`Tx::security_group_find`] would list with no window.
    fn security_group_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &SecurityGroupFilter,
    ) -> Result<u64, StoreError>;
    /// Whether the group was removed, with its rules. Refused with
    /// [`constraints::ENI_SECURITY_GROUP_FK`] while ENIs are members, and with
    /// [`constraints::SG_RULE_PEER_FK`] while another group's rule references it.
    fn security_group_delete(
        &mut self,
        account: AccountId,
        id: &SecurityGroupId,
    ) -> Result<bool, StoreError>;
    /// How many ENIs are members of the group.
    fn security_group_member_count(&mut self, id: &SecurityGroupId) -> Result<u64, StoreError>;
    /// How many groups the VPC has (a VPC with groups cannot be deleted).
    fn security_group_count_in_vpc(&mut self, vpc: &VpcId) -> Result<u64, StoreError>;

    // ---- security group rules and inner access policy ----
    // Scoped by group, not account: callers find the group with `security_group_get` first.
    // The data plane reads every group's rules and policy at once with `sg_rules_all` and
    // `sg_inner_access_policies_all`.

    /// Adds a rule. An identical rule in the group conflicts on
    /// [`constraints::SG_RULE_UNIQUE`]; a missing group on [`constraints::SG_RULE_GROUP_FK`];
    /// a missing peer group on [`constraints::SG_RULE_PEER_FK`].
    fn sg_rule_insert(&mut self, rule: &SecurityGroupRule) -> Result<(), StoreError>;
    /// Rewrites an existing rule (found by its group and ID; ModifySecurityGroupRule): every
    /// field but its direction and creation time. Whether it was there. The same rule twice
    /// in a group conflicts on [`constraints::SG_RULE_UNIQUE`], a missing peer group on
    /// [`constraints::SG_RULE_PEER_FK`].
    fn sg_rule_update(&mut self, rule: &SecurityGroupRule) -> Result<bool, StoreError>;
    /// Whether the rule `id` of `group` was removed.
    fn sg_rule_delete(
        &mut self,
        group: &SecurityGroupId,
        id: &SecurityGroupRuleId,
    ) -> Result<bool, StoreError>;
    /// Every rule of `group`, oldest first (empty for a group that does not exist).
    fn sg_rules_of(
        &mut self,
        group: &SecurityGroupId,
    ) -> Result<Vec<SecurityGroupRule>, StoreError>;
    /// Every rule of every group of every account, oldest first: each group's rules come in
    /// the order of [`Tx::sg_rules_of`] (the data plane's view).
    fn sg_rules_all(&mut self) -> Result<Vec<SecurityGroupRule>, StoreError>;
    /// The group's inner access policy, `None` if there is no such group.
    fn sg_inner_access_policy(
        &mut self,
        group: &SecurityGroupId,
    ) -> Result<Option<SgPolicy>, StoreError>;
    /// Every group of every account with its inner access policy, oldest group first (the
    /// data plane's view).
    fn sg_inner_access_policies_all(
        &mut self,
    ) -> Result<Vec<(SecurityGroupId, SgPolicy)>, StoreError>;
    /// Sets the account's group's inner access policy; whether the group exists.
    fn sg_inner_access_policy_set(
        &mut self,
        account: AccountId,
        group: &SecurityGroupId,
        policy: SgPolicy,
    ) -> Result<bool, StoreError>;

    // ---- ENIs ----
    /// Inserts the ENI and its ordered group memberships. The MAC is unique
    /// ([`constraints::ENI_MAC_UNIQUE`]).
    fn eni_insert(&mut self, eni: &Eni) -> Result<(), StoreError>;
    fn eni_get(&mut self, account: AccountId, id: &EniId) -> Result<Option<Eni>, StoreError>;
    /// Rewrites every field and the group memberships of an existing ENI.
    fn eni_update(&mut self, eni: &Eni) -> Result<(), StoreError>;
    /// Deletes the ENI and its memberships; its addresses must be released first.
    fn eni_delete(&mut self, account: AccountId, id: &EniId) -> Result<bool, StoreError>;
    /// The account's ENIs in `region` matching `query`, oldest first.
    fn eni_list(
        &mut self,
        account: AccountId,
        region: &str,
        query: &EniQuery,
    ) -> Result<Vec<Eni>, StoreError>;
    /// How many ENIs of `eni_type` the account has in `region`, for the quota: a counter, as
    /// for [`Tx::vpc_count`], kept through inserts, deletes and changes of type or region.
    fn eni_count(
        &mut self,
        account: AccountId,
        region: &str,
        eni_type: &str,
    ) -> Result<u64, StoreError>;
    /// ENIs of any account whose transition is due at or before `now`, oldest first.
    fn eni_due(&mut self, now: i64, limit: u32) -> Result<Vec<Eni>, StoreError>;
    /// Whether [`Tx::eni_due`], [`Tx::instance_due`] or [`Tx::eip_due`] would return
    /// anything at `now`: one statement, a probe of each due index (every write transaction
    /// asks, and nearly always nothing is due).
    fn due_any(&mut self, now: i64) -> Result<bool, StoreError>;
    /// How many ENIs the vSwitch has (a vSwitch with ENIs cannot be deleted).
    fn eni_count_in_vswitch(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError>;
    /// Every ENI of every account and region, oldest first (the data plane's view).
    fn eni_list_all(&mut self) -> Result<Vec<Eni>, StoreError>;
    /// The account's ENIs in `region` that match `filter` (see [`EniFilter`]), in creation
    /// order, within `window`, each with its position. Costs indexed lookups for about the
    /// rows of the page when the filters agree, not a scan of the account's ENIs.
    fn eni_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EniFilter,
        window: Window,
    ) -> Result<Vec<(Position, Eni)>, StoreError>;
    /// How many ENIs [`Tx::eni_find`] would list with no window.
    fn eni_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EniFilter,
    ) -> Result<u64, StoreError>;
    /// The addresses held by each of `owners`, each owner's in the order of
    /// [`Tx::private_ips_of`].
    fn private_ips_of_many(&mut self, owners: &[&str]) -> Result<Vec<PrivateIp>, StoreError>;
    /// The IPv6 entries held by each of `owners`, each owner's in the order of
    /// [`Tx::ipv6_of`].
    fn ipv6_of_many(&mut self, owners: &[&str]) -> Result<Vec<Ipv6Entry>, StoreError>;
    /// The EIPs bound (in any state) to addresses of any of `enis`, oldest first.
    fn eips_of_enis(&mut self, enis: &[EniId]) -> Result<Vec<Eip>, StoreError>;

    // ---- instances ----
    fn instance_insert(&mut self, instance: &Instance) -> Result<(), StoreError>;
    fn instance_get(
        &mut self,
        account: AccountId,
        id: &InstanceId,
    ) -> Result<Option<Instance>, StoreError>;
    fn instance_update(&mut self, instance: &Instance) -> Result<(), StoreError>;
    fn instance_delete(&mut self, account: AccountId, id: &InstanceId) -> Result<bool, StoreError>;
    /// The account's instances in `region`, oldest first.
    fn instance_list(
        &mut self,
        account: AccountId,
        region: &str,
    ) -> Result<Vec<Instance>, StoreError>;
    /// Instances of any account whose transition is due at or before `now`, oldest first.
    fn instance_due(&mut self, now: i64, limit: u32) -> Result<Vec<Instance>, StoreError>;
    /// How many instances the vSwitch has.
    fn instance_count_in_vswitch(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError>;
    /// Every instance of every account, oldest first (the data plane's view).
    fn instance_list_all(&mut self) -> Result<Vec<Instance>, StoreError>;
    /// The account's instances in `region` that match `filter`, in creation order, within
    /// `window`, each with its position.
    fn instance_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &InstanceFilter,
        window: Window,
    ) -> Result<Vec<(Position, Instance)>, StoreError>;
    /// How many instances [`Tx::instance_find`] would list with no window.
    fn instance_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &InstanceFilter,
    ) -> Result<u64, StoreError>;
    /// The ENIs whose stored instance is one of `instances`, oldest first.
    fn enis_of_instances(&mut self, instances: &[InstanceId]) -> Result<Vec<Eni>, StoreError>;

    // ---- elastic IP addresses ----
    // A bound EIP names a private IP of its ENI; releasing that address (unassigning it,
    // deleting the ENI) unbinds the EIP in the same statement, so no binding outlives its
    // address.

    /// Adds an EIP. Its public address is unique ([`constraints::EIP_ADDRESS_UNIQUE`]).
    fn eip_insert(&mut self, eip: &Eip) -> Result<(), StoreError>;
    fn eip_get(&mut self, account: AccountId, id: &EipId) -> Result<Option<Eip>, StoreError>;
    /// Rewrites status, due time and binding (and every other field) of an existing EIP. A
    /// private IP already the target of another EIP conflicts on
    /// [`constraints::EIP_PRIVATE_IP_UNIQUE`].
    fn eip_update(&mut self, eip: &Eip) -> Result<(), StoreError>;
    /// Whether the EIP was removed.
    fn eip_delete(&mut self, account: AccountId, id: &EipId) -> Result<bool, StoreError>;
    /// The account's EIPs in `region`, oldest first.
    fn eip_list(&mut self, account: AccountId, region: &str) -> Result<Vec<Eip>, StoreError>;
    /// EIPs of any account whose transition is due at or before `now`, oldest first.
    fn eip_due(&mut self, now: i64, limit: u32) -> Result<Vec<Eip>, StoreError>;
    /// EIPs of any account associating or unassociating with no due time (a data-plane agent
    /// completes them), oldest first.
    fn eips_awaiting_dataplane(&mut self) -> Result<Vec<Eip>, StoreError>;
    /// The account's EIPs in `region` that match `filter`, in creation order, within
    /// `window`, each with its position.
    fn eip_find(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EipFilter,
        window: Window,
    ) -> Result<Vec<(Position, Eip)>, StoreError>;
    /// How many EIPs [`Tx::eip_find`] would list with no window.
    fn eip_find_count(
        &mut self,
        account: AccountId,
        region: &str,
        filter: &EipFilter,
    ) -> Result<u64, StoreError>;
    /// EIPs bound (in any state) to addresses of `eni`, oldest first.
    fn eips_of_eni(&mut self, eni: &EniId) -> Result<Vec<Eip>, StoreError>;
    /// How many EIPs (in any state) the account has in `region`, for the quota: a counter, as
    /// for [`Tx::vpc_count`].
    fn eip_count(&mut self, account: AccountId, region: &str) -> Result<u64, StoreError>;
    /// The public addresses held in `lo..=hi` by EIPs of any account, ascending (to seed a
    /// pool's free list).
    fn eip_ips_in(&mut self, lo: u32, hi: u32) -> Result<Vec<u32>, StoreError>;
    /// The data plane's view: every association of `vpc` that is being made or is in place
    /// (status `Associating` or `InUse`; an EIP leaves this list when UnassociateEipAddress
    /// starts), oldest EIP first.
    fn eips_associated_in_vpc(&mut self, vpc: &VpcId) -> Result<Vec<EipAssociation>, StoreError>;
    /// Every association [`Tx::eips_associated_in_vpc`] lists, of every VPC, each with its
    /// VPC, oldest EIP first (so each VPC's come in that method's order).
    fn eips_associated_all(&mut self) -> Result<Vec<(VpcId, EipAssociation)>, StoreError>;

    // ---- the EIP pool's free list ----
    // The free addresses of the public pool EIPs are drawn from, as disjoint inclusive ranges
    // [lo, hi] indexed by lo, like a vSwitch's (`ip_free_*`), so taking and returning an
    // address costs O(log n) however many EIPs are held. The list is keyed by the pool's
    // CIDR text. The pool is configuration and may change between runs; a pool's list is
    // kept only while it is the pool in use: recording another pool drops every other list
    // (its ranges go with it), so a pool used again is seeded afresh, never from a stale list.
    // The algorithm lives in eni-core; `eip_ip_unique` stays the arbiter of every race.

    /// Whether `pool` has a free list (recorded by [`Tx::eip_pool_reset`] and not dropped
    /// since).
    fn eip_pool_exists(&mut self, pool: &str) -> Result<bool, StoreError>;
    /// Drops every pool's free list and records `pool` with an empty one, to be seeded by the
    /// caller in the same transaction.
    fn eip_pool_reset(&mut self, pool: &str) -> Result<(), StoreError>;
    /// The free range of `pool` with the lowest `lo`.
    fn eip_free_first(&mut self, pool: &str) -> Result<Option<(u32, u32)>, StoreError>;
    /// The free range of `pool` containing `ip`, if `ip` is free.
    fn eip_free_containing(
        &mut self,
        pool: &str,
        ip: u32,
    ) -> Result<Option<(u32, u32)>, StoreError>;
    /// Every free range of `pool`, by `lo`.
    fn eip_free_list(&mut self, pool: &str) -> Result<Vec<(u32, u32)>, StoreError>;
    /// Adds a range to a recorded pool's list (ranges never overlap: the caller's invariant).
    /// A duplicate `lo`, a reversed range or a pool not recorded conflicts.
    fn eip_free_insert(&mut self, pool: &str, lo: u32, hi: u32) -> Result<(), StoreError>;
    /// Removes the range of `pool` starting at `lo`.
    fn eip_free_delete(&mut self, pool: &str, lo: u32) -> Result<bool, StoreError>;

    // ---- data plane ----
    /// A number that grows with every committed change to ENIs, their addresses, instances,
    /// security group rules, inner access policies or EIP associations (kept by the schema
    /// itself, so no write path can forget it).
    fn dataplane_generation(&mut self) -> Result<u64, StoreError>;
    /// The scopes of the changes committed after generation `after` (up to the current one),
    /// each once: a VPC's ID (its state changed), [`SCOPE_INTERNET`] (an EIP's NAT may have
    /// moved between hosts) or [`SCOPE_ALL`] (a host came, went or moved). `None` when the
    /// log no longer covers `after` (it keeps the last 50,000 generations) or `after` is
    /// ahead of the store: the caller must read the whole state.
    fn dataplane_changes_since(
        &mut self,
        after: u64,
    ) -> Result<Option<std::collections::BTreeSet<String>>, StoreError>;
}

/// A data-plane change scope: the EIPs other hosts NAT (see [`Tx::dataplane_changes_since`]).
pub const SCOPE_INTERNET: &str = "internet";
/// A data-plane change scope: everything (see [`Tx::dataplane_changes_since`]).
pub const SCOPE_ALL: &str = "*";

/// Runs `f` in a write transaction and commits it, retrying a bounded number of times when
/// the backend reports [`StoreError::Busy`]. `f` may run more than once, so it must not have
/// effects outside the transaction.
pub fn with_write<T, E>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn Tx) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let result = (|| {
            let mut tx = store.write().map_err(Attempt::Store)?;
            let v = f(&mut *tx).map_err(Attempt::App)?;
            tx.commit().map_err(Attempt::Store)?;
            Ok(v)
        })();
        match result {
            Ok(v) => return Ok(v),
            Err(Attempt::Store(StoreError::Busy)) if attempt < 20 => {
                std::thread::sleep(std::time::Duration::from_millis(u64::from(attempt)));
            }
            Err(Attempt::Store(e)) => return Err(e.into()),
            Err(Attempt::App(e)) => return Err(e),
        }
    }
}

/// Runs `f` in a read transaction.
pub fn with_read<T, E>(
    store: &dyn Store,
    f: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let mut tx = store.read()?;
    f(&mut *tx)
}

enum Attempt<E> {
    Store(StoreError),
    App(E),
}
