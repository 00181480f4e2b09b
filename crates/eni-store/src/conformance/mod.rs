//! The behaviour every [`Store`] backend must show, as one suite each backend's tests run:
//!
//! ```text
//! eni_store::conformance::run_all(&|| Box::new(MyStore::fresh()));
//! ```
//!
//! Each check gets a fresh, empty store from `make` and panics on the first deviation; the
//! check's name is printed first so a failure says which behaviour broke. Checks use only
//! the [`Store`] and [`Tx`] traits, so they pin semantics, not SQL: constraint names, scoping
//! by account, ordering, snapshot reads, rollback, and races decided by the schema.

use crate::constraints::{
    ACCESS_KEY_PK, ACCOUNT_NAME_UNIQUE, CONSOLE_SESSION_PK, EIP_ADDRESS_UNIQUE,
    EIP_PRIVATE_IP_UNIQUE, ENI_DEVICE_INDEX_UNIQUE, ENI_MAC_UNIQUE, ENI_SECURITY_GROUP_FK,
    HOST_NAME_ZONE_UNIQUE, IDEMPOTENCY_PK, IPV6_PREFIX_OVERLAP, IPV6_UNIQUE, PRIVATE_IP_UNIQUE,
    PRIVATE_IP_VSWITCH_FK, SETTING_PK, SG_RULE_GROUP_FK, SG_RULE_PEER_FK, SG_RULE_UNIQUE,
    VSWITCH_VPC_FK,
};
use crate::{
    with_read, with_write, AccessKey, Account, ConsoleSession, Eip, EipAssociation, EipBinding,
    Eni, EniQuery, Host, IdempotencyRecord, Instance, IpKind, Ipv6Entry, PrivateIp, SecurityGroup,
    SecurityGroupRule, SgDirection, SgPolicy, SgProtocol, Store, StoreError, Table, Tx, VSwitch,
    Vpc,
};
use eni_types::ids::{
    AccountId, EipId, EniId, HostId, InstanceId, ResourceGroupId, RouteTableId, SecurityGroupId,
    SecurityGroupRuleId, VRouterId, VSwitchId, VpcId,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Barrier;

mod eip_find;
mod eni_find;
mod instance_find;
mod network_find;
mod quotas;

/// A named check: takes a fresh store, panics if the store misbehaves.
pub type Check = (&'static str, fn(&dyn Store));

/// Every check, in the order [`run_all`] runs them.
pub const CHECKS: &[Check] = &[
    (
        "dataplane_generation_grows_with_committed_changes_only",
        check_dataplane_generation_grows_with_committed_changes_only,
    ),
    (
        "instance_list_all_spans_accounts_and_regions",
        check_instance_list_all_spans_accounts_and_regions,
    ),
    (
        "vpc_and_vswitch_list_all_span_accounts_oldest_first",
        check_vpc_and_vswitch_list_all_span_accounts_oldest_first,
    ),
    (
        "eni_list_all_spans_accounts_oldest_first",
        check_eni_list_all_spans_accounts_oldest_first,
    ),
    (
        "private_ips_all_and_ipv6_all_in_insertion_order",
        check_private_ips_all_and_ipv6_all_in_insertion_order,
    ),
    (
        "sg_rules_all_and_policies_all_span_accounts_oldest_first",
        check_sg_rules_all_and_policies_all_span_accounts_oldest_first,
    ),
    (
        "eips_associated_all_spans_vpcs_oldest_first",
        check_eips_associated_all_spans_vpcs_oldest_first,
    ),
    (
        "sg_rules_round_trip_every_field_oldest_first",
        check_sg_rules_round_trip_every_field_oldest_first,
    ),
    (
        "sg_rule_identical_conflicts_but_any_field_differs_is_new",
        check_sg_rule_identical_conflicts_but_any_field_differs_is_new,
    ),
    (
        "sg_rule_delete_is_scoped_by_group",
        check_sg_rule_delete_is_scoped_by_group,
    ),
    (
        "sg_rule_requires_group_and_peer_and_referenced_group_is_kept",
        check_sg_rule_requires_group_and_peer_and_referenced_group_is_kept,
    ),
    (
        "sg_inner_access_policy_get_and_set",
        check_sg_inner_access_policy_get_and_set,
    ),
    (
        "dataplane_generation_grows_with_rules_and_policies",
        check_dataplane_generation_grows_with_rules_and_policies,
    ),
    (
        "eip_round_trips_binding_and_lists_oldest_first",
        check_eip_round_trips_binding_and_lists_oldest_first,
    ),
    (
        "eip_address_unique_across_accounts",
        check_eip_address_unique_across_accounts,
    ),
    (
        "eip_private_ip_takes_one_eip",
        check_eip_private_ip_takes_one_eip,
    ),
    (
        "eip_count_is_per_account_and_region_in_every_state",
        check_eip_count_is_per_account_and_region_in_every_state,
    ),
    (
        "eip_ips_in_lists_held_addresses_of_the_range_ascending",
        check_eip_ips_in_lists_held_addresses_of_the_range_ascending,
    ),
    (
        "eip_free_ranges_first_containing_list_per_pool",
        check_eip_free_ranges_first_containing_list_per_pool,
    ),
    (
        "eip_free_delete_is_by_low_end_and_per_pool",
        check_eip_free_delete_is_by_low_end_and_per_pool,
    ),
    (
        "eip_free_insert_refuses_duplicate_lo_reversed_range_and_unrecorded_pool",
        check_eip_free_insert_refuses_duplicate_lo_reversed_range_and_unrecorded_pool,
    ),
    (
        "eip_pool_reset_keeps_one_pool_and_starts_it_empty",
        check_eip_pool_reset_keeps_one_pool_and_starts_it_empty,
    ),
    (
        "eip_due_returns_only_due_oldest_first",
        check_eip_due_returns_only_due_oldest_first,
    ),
    (
        "eip_releasing_private_ip_unbinds_it",
        check_eip_releasing_private_ip_unbinds_it,
    ),
    (
        "eips_associated_in_vpc_lists_live_associations",
        check_eips_associated_in_vpc_lists_live_associations,
    ),
    (
        "dataplane_generation_grows_with_eip_associations",
        check_dataplane_generation_grows_with_eip_associations,
    ),
    (
        "dataplane_changes_name_the_scope_of_each_change",
        check_dataplane_changes_name_the_scope_of_each_change,
    ),
    (
        "vpc_and_vswitch_set_name_of_their_account_only",
        check_vpc_and_vswitch_set_name_of_their_account_only,
    ),
    (
        "tags_set_rewrites_the_tags_and_the_eni_tag_index",
        check_tags_set_rewrites_the_tags_and_the_eni_tag_index,
    ),
    (
        "labels_of_disks_and_route_tables_move_no_generation",
        check_labels_of_disks_and_route_tables_move_no_generation,
    ),
    (
        "account_insert_get_and_by_name",
        check_account_insert_get_and_by_name,
    ),
    (
        "account_duplicate_name_conflicts",
        check_account_duplicate_name_conflicts,
    ),
    (
        "account_duplicate_id_conflicts",
        check_account_duplicate_id_conflicts,
    ),
    (
        "access_key_insert_get_and_duplicate_conflicts",
        check_access_key_insert_get_and_duplicate_conflicts,
    ),
    (
        "access_key_for_account_is_the_oldest",
        check_access_key_for_account_is_the_oldest,
    ),
    (
        "setting_is_written_once_and_rolls_back",
        check_setting_is_written_once_and_rolls_back,
    ),
    (
        "hosts_register_once_per_name_and_zone_and_list_their_instances",
        check_hosts_register_once_per_name_and_zone_and_list_their_instances,
    ),
    (
        "vpc_and_host_sequence_numbers_are_never_reused",
        check_vpc_and_host_sequence_numbers_are_never_reused,
    ),
    (
        "departures_keep_a_deleted_instances_host",
        check_departures_keep_a_deleted_instances_host,
    ),
    (
        "a_host_coming_going_or_moving_is_a_data_plane_change",
        check_a_host_coming_going_or_moving_is_a_data_plane_change,
    ),
    (
        "access_key_list_and_delete",
        check_access_key_list_and_delete,
    ),
    (
        "access_key_debug_redacts_secret",
        check_access_key_debug_redacts_secret,
    ),
    ("nonce_replay_is_detected", check_nonce_replay_is_detected),
    ("nonce_expired_is_reusable", check_nonce_expired_is_reusable),
    (
        "nonce_live_agrees_with_record",
        check_nonce_live_agrees_with_record,
    ),
    (
        "nonce_purge_counts_expired",
        check_nonce_purge_counts_expired,
    ),
    (
        "console_sessions_live_until_expiry_or_deletion",
        check_console_sessions_live_until_expiry_or_deletion,
    ),
    (
        "idempotency_insert_get_and_duplicate_conflicts",
        check_idempotency_insert_get_and_duplicate_conflicts,
    ),
    (
        "vpc_round_trips_tags_and_options_exactly",
        check_vpc_round_trips_tags_and_options_exactly,
    ),
    (
        "vpc_list_is_oldest_first_per_region",
        check_vpc_list_is_oldest_first_per_region,
    ),
    (
        "vpc_count_per_account_and_region",
        check_vpc_count_per_account_and_region,
    ),
    (
        "vpc_delete_reports_removal",
        check_vpc_delete_reports_removal,
    ),
    (
        "vpc_duplicate_id_conflicts",
        check_vpc_duplicate_id_conflicts,
    ),
    (
        "vpc_of_other_account_does_not_exist",
        check_vpc_of_other_account_does_not_exist,
    ),
    (
        "vpc_delete_refused_while_vswitches_exist",
        check_vpc_delete_refused_while_vswitches_exist,
    ),
    (
        "vswitch_round_trips_tags_and_options_exactly",
        check_vswitch_round_trips_tags_and_options_exactly,
    ),
    (
        "vswitch_list_filters_by_vpc_oldest_first",
        check_vswitch_list_filters_by_vpc_oldest_first,
    ),
    (
        "vswitch_of_other_account_does_not_exist",
        check_vswitch_of_other_account_does_not_exist,
    ),
    (
        "vswitch_insert_requires_vpc",
        check_vswitch_insert_requires_vpc,
    ),
    (
        "vswitch_delete_refused_while_ips_held",
        check_vswitch_delete_refused_while_ips_held,
    ),
    (
        "private_ip_duplicate_conflicts_per_vswitch",
        check_private_ip_duplicate_conflicts_per_vswitch,
    ),
    (
        "private_ip_count_and_delete_frees_address",
        check_private_ip_count_and_delete_frees_address,
    ),
    (
        "private_ip_whole_ipv4_range_round_trips",
        check_private_ip_whole_ipv4_range_round_trips,
    ),
    (
        "private_ip_insert_requires_vswitch",
        check_private_ip_insert_requires_vswitch,
    ),
    (
        "private_ip_kinds_and_prefix_round_trip",
        check_private_ip_kinds_and_prefix_round_trip,
    ),
    (
        "private_ips_of_lists_in_insertion_order",
        check_private_ips_of_lists_in_insertion_order,
    ),
    (
        "ip_free_first_aligned_skips_ranges_too_small_or_misaligned",
        check_ip_free_first_aligned_skips_ranges_too_small_or_misaligned,
    ),
    (
        "ip_free_first_and_list_order_by_lo",
        check_ip_free_first_and_list_order_by_lo,
    ),
    (
        "ip_free_containing_is_inclusive_and_gaps_are_none",
        check_ip_free_containing_is_inclusive_and_gaps_are_none,
    ),
    (
        "ip_free_delete_and_clear_per_vswitch",
        check_ip_free_delete_and_clear_per_vswitch,
    ),
    (
        "ip_free_insert_refuses_duplicate_lo_reversed_range_and_missing_vswitch",
        check_ip_free_insert_refuses_duplicate_lo_reversed_range_and_missing_vswitch,
    ),
    (
        "vswitch_delete_takes_its_free_ranges",
        check_vswitch_delete_takes_its_free_ranges,
    ),
    (
        "ipv6_duplicate_conflicts_per_vswitch",
        check_ipv6_duplicate_conflicts_per_vswitch,
    ),
    (
        "ipv6_get_delete_and_of_in_insertion_order",
        check_ipv6_get_delete_and_of_in_insertion_order,
    ),
    (
        "ipv6_prefix_and_addresses_never_share_a_80",
        check_ipv6_prefix_and_addresses_never_share_a_80,
    ),
    (
        "ipv6_nets_in_use_lists_each_held_80_once",
        check_ipv6_nets_in_use_lists_each_held_80_once,
    ),
    (
        "vswitch_delete_refused_while_ipv6_enis_or_instances_use_it",
        check_vswitch_delete_refused_while_ipv6_enis_or_instances_use_it,
    ),
    (
        "security_group_round_trips_and_lists_oldest_first",
        check_security_group_round_trips_and_lists_oldest_first,
    ),
    (
        "security_group_of_other_account_does_not_exist",
        check_security_group_of_other_account_does_not_exist,
    ),
    (
        "security_group_delete_refused_while_enis_are_members",
        check_security_group_delete_refused_while_enis_are_members,
    ),
    (
        "security_group_count_in_vpc_and_vpc_delete_refused",
        check_security_group_count_in_vpc_and_vpc_delete_refused,
    ),
    (
        "security_group_insert_requires_vpc_and_unique_id",
        check_security_group_insert_requires_vpc_and_unique_id,
    ),
    (
        "eni_round_trips_every_field",
        check_eni_round_trips_every_field,
    ),
    (
        "eni_update_rewrites_every_field_and_memberships",
        check_eni_update_rewrites_every_field_and_memberships,
    ),
    (
        "eni_duplicate_mac_conflicts_across_accounts",
        check_eni_duplicate_mac_conflicts_across_accounts,
    ),
    (
        "eni_device_index_unique_per_instance",
        check_eni_device_index_unique_per_instance,
    ),
    (
        "eni_list_applies_each_query_field",
        check_eni_list_applies_each_query_field,
    ),
    (
        "eni_of_other_account_does_not_exist",
        check_eni_of_other_account_does_not_exist,
    ),
    (
        "eni_count_by_type_per_account_and_region",
        check_eni_count_by_type_per_account_and_region,
    ),
    (
        "eni_due_returns_only_due_oldest_first_up_to_limit",
        check_eni_due_returns_only_due_oldest_first_up_to_limit,
    ),
    (
        "due_any_sees_each_kind_of_transition",
        check_due_any_sees_each_kind_of_transition,
    ),
    ("eni_count_in_vswitch", check_eni_count_in_vswitch),
    (
        "eni_delete_drops_memberships",
        check_eni_delete_drops_memberships,
    ),
    (
        "eni_refused_write_leaves_nothing",
        check_eni_refused_write_leaves_nothing,
    ),
    (
        "instance_round_trips_updates_and_deletes",
        check_instance_round_trips_updates_and_deletes,
    ),
    (
        "instance_list_is_oldest_first_per_region",
        check_instance_list_is_oldest_first_per_region,
    ),
    (
        "instance_of_other_account_does_not_exist",
        check_instance_of_other_account_does_not_exist,
    ),
    (
        "instance_due_returns_only_due_oldest_first_up_to_limit",
        check_instance_due_returns_only_due_oldest_first_up_to_limit,
    ),
    ("instance_count_in_vswitch", check_instance_count_in_vswitch),
    (
        "conflict_leaves_transaction_usable",
        check_conflict_leaves_transaction_usable,
    ),
    (
        "rollback_on_drop_leaves_nothing",
        check_rollback_on_drop_leaves_nothing,
    ),
    (
        "restart_undoes_everything_and_lets_no_writer_in",
        check_restart_undoes_everything_and_lets_no_writer_in,
    ),
    (
        "app_error_in_with_write_rolls_back",
        check_app_error_in_with_write_rolls_back,
    ),
    (
        "uncommitted_writes_are_invisible_to_readers",
        check_uncommitted_writes_are_invisible_to_readers,
    ),
    (
        "read_transaction_is_a_snapshot",
        check_read_transaction_is_a_snapshot,
    ),
    (
        "concurrent_inserts_of_same_ips_are_decided_by_schema",
        check_concurrent_inserts_of_same_ips_are_decided_by_schema,
    ),
    (
        "concurrent_eni_inserts_with_same_mac_one_wins",
        check_concurrent_eni_inserts_with_same_mac_one_wins,
    ),
];

/// Runs every check in [`CHECKS`] and those of the submodules, each on its own fresh store
/// from `make`.
pub fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    run_all_except(make, &[]);
}

/// Every check, in the order [`run_all`] runs them.
fn all_checks() -> impl Iterator<Item = &'static Check> {
    CHECKS
        .iter()
        .chain(eni_find::CHECKS)
        .chain(instance_find::CHECKS)
        .chain(eip_find::CHECKS)
        .chain(network_find::CHECKS)
        .chain(quotas::CHECKS)
}

/// [`run_all`] but for the checks named in `skip`, for a backend still being built (each
/// name must be a check's, so the list cannot go stale).
pub fn run_all_except(make: &dyn Fn() -> Box<dyn Store>, skip: &[&str]) {
    for name in skip {
        assert!(
            all_checks().any(|(n, _)| n == name),
            "no conformance check is named {name}"
        );
    }
    for (name, check) in all_checks() {
        if skip.contains(name) {
            eprintln!("conformance: {name} (skipped)");
            continue;
        }
        eprintln!("conformance: {name}");
        let store = make();
        check(&*store);
    }
}

/// The names of every check.
pub fn check_names() -> Vec<&'static str> {
    all_checks().map(|(n, _)| *n).collect()
}

// ---- fixtures ----

const REGION: &str = "cn-hangzhou";
const OTHER_REGION: &str = "cn-beijing";
const T0: i64 = 1_700_000_000;

fn account(name: &str) -> Account {
    Account {
        id: AccountId::generate(),
        name: name.into(),
        created_at: T0,
    }
}

fn key(account: AccountId) -> AccessKey {
    AccessKey {
        id: eni_types::ids::generate_access_key_id(),
        secret: eni_types::ids::generate_access_key_secret(),
        account_id: account,
        created_at: T0,
    }
}

fn vpc(account: AccountId, region: &str) -> Vpc {
    Vpc {
        id: VpcId::generate(region),
        account_id: account,
        region_id: region.into(),
        cidr_block: "172.16.0.0/12".into(),
        ipv6_cidr_block: None,
        ipv6_isp: None,
        name: String::new(),
        description: String::new(),
        status: "Available".into(),
        is_default: false,
        vrouter_id: VRouterId::generate(region),
        route_table_id: RouteTableId::generate(region),
        route_table: Default::default(),
        resource_group_id: ResourceGroupId::generate(region),
        tags: Vec::new(),
        created_at: T0,
    }
}

fn vswitch(vpc: &Vpc) -> VSwitch {
    VSwitch {
        id: VSwitchId::generate(&vpc.region_id),
        account_id: vpc.account_id,
        region_id: vpc.region_id.clone(),
        vpc_id: vpc.id.clone(),
        zone_id: format!("{}-h", vpc.region_id),
        cidr_block: "172.16.0.0/24".into(),
        ipv6_cidr_block: None,
        name: String::new(),
        description: String::new(),
        status: "Available".into(),
        is_default: false,
        resource_group_id: vpc.resource_group_id.clone(),
        tags: Vec::new(),
        created_at: T0,
    }
}

/// A secondary address row.
fn pip(vswitch: &VSwitchId, ip: u32, owner: &str) -> PrivateIp {
    PrivateIp {
        vswitch_id: vswitch.clone(),
        ip,
        owner: owner.into(),
        kind: IpKind::Secondary,
        prefix: None,
    }
}

/// An IPv6 row; a prefix is written with its length.
fn v6(vswitch: &VSwitchId, addr: &str, owner: &str) -> Ipv6Entry {
    Ipv6Entry {
        vswitch_id: vswitch.clone(),
        addr: addr.into(),
        owner: owner.into(),
        is_prefix: addr.contains('/'),
    }
}

fn security_group(vpc: &Vpc) -> SecurityGroup {
    SecurityGroup {
        id: SecurityGroupId::generate(&vpc.region_id),
        account_id: vpc.account_id,
        region_id: vpc.region_id.clone(),
        vpc_id: vpc.id.clone(),
        name: String::new(),
        description: String::new(),
        group_type: "normal".into(),
        resource_group_id: vpc.resource_group_id.clone(),
        tags: Vec::new(),
        created_at: T0,
        inner_access_policy: SgPolicy::Accept,
    }
}

/// An ingress rule of `group`: TCP 22 from 10.0.0.0/8, accepted, priority 1.
fn sg_rule(group: &SecurityGroup) -> SecurityGroupRule {
    SecurityGroupRule {
        id: SecurityGroupRuleId::generate(&group.region_id),
        security_group_id: group.id.clone(),
        direction: SgDirection::Ingress,
        protocol: SgProtocol::Tcp,
        port_range: (22, 22),
        source_port_range: None,
        source_cidr_ip: "10.0.0.0/8".into(),
        ipv6_source_cidr_ip: String::new(),
        dest_cidr_ip: String::new(),
        ipv6_dest_cidr_ip: String::new(),
        peer_group_id: None,
        policy: SgPolicy::Accept,
        priority: 1,
        nic_type: "intranet".into(),
        description: String::new(),
        created_at: T0,
    }
}

/// A MAC no other call returns: MACs are unique across the whole store.
fn next_mac() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let [a, b, c, d] = NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    format!("02:16:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// An available, detached secondary ENI in `vsw`, in no security group.
fn eni(vsw: &VSwitch) -> Eni {
    Eni {
        id: EniId::generate(&vsw.region_id),
        account_id: vsw.account_id,
        region_id: vsw.region_id.clone(),
        zone_id: vsw.zone_id.clone(),
        vpc_id: vsw.vpc_id.clone(),
        vswitch_id: vsw.id.clone(),
        eni_type: "Secondary".into(),
        status: "Available".into(),
        due_at: None,
        instance_id: None,
        device_index: None,
        mac: next_mac(),
        primary_ip: 0xAC10_0001,
        name: String::new(),
        description: String::new(),
        security_group_ids: Vec::new(),
        delete_on_release: false,
        source_dest_check: false,
        queue_number: 1,
        traffic_mode: "Standard".into(),
        resource_group_id: vsw.resource_group_id.clone(),
        tags: Vec::new(),
        created_at: T0,
    }
}

/// An ENI attached to `instance` at `index`.
fn attached_eni(vsw: &VSwitch, instance: &InstanceId, index: u32) -> Eni {
    Eni {
        status: "InUse".into(),
        instance_id: Some(instance.clone()),
        device_index: Some(index),
        ..eni(vsw)
    }
}

/// A stopped classic-network instance (no VPC, no vSwitch).
fn classic_instance(account: AccountId, region: &str) -> Instance {
    Instance {
        id: InstanceId::generate(region),
        account_id: account,
        region_id: region.into(),
        zone_id: format!("{region}-h"),
        instance_type: "ecs.g7.large".into(),
        vpc_id: None,
        vswitch_id: None,
        status: "Stopped".into(),
        due_at: None,
        name: String::new(),
        host_name: String::new(),
        description: String::new(),
        image_id: "ubuntu_22_04_x64_20G_alibase_20240101.vhd".into(),
        resource_group_id: ResourceGroupId::generate(region),
        tags: Vec::new(),
        created_at: T0,
        started_at: None,
        host_id: None,
        tenancy: "default".into(),
        host_vcpus: 0,
        user_data: String::new(),
        system_disk_category: "cloud_essd".into(),
        system_disk_size: 40,
        system_disk: Default::default(),
        metadata: Default::default(),
    }
}

/// A running instance in `vsw`.
fn vpc_instance(vsw: &VSwitch) -> Instance {
    Instance {
        zone_id: vsw.zone_id.clone(),
        vpc_id: Some(vsw.vpc_id.clone()),
        vswitch_id: Some(vsw.id.clone()),
        status: "Running".into(),
        started_at: Some(T0),
        ..classic_instance(vsw.account_id, &vsw.region_id)
    }
}

/// Inserts a VPC with one vSwitch for `account` in `region`.
fn network(store: &dyn Store, account: AccountId, region: &str) -> (Vpc, VSwitch) {
    let v = vpc(account, region);
    let s = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&s)
    });
    (v, s)
}

/// The IDs of `enis`, for comparing lists by identity.
fn eni_ids<'a>(enis: impl IntoIterator<Item = &'a Eni>) -> Vec<EniId> {
    enis.into_iter().map(|e| e.id.clone()).collect()
}

/// Tags that trip naive encodings: order, duplicates, empty strings, quotes, non-ASCII.
fn tricky_tags() -> Vec<(String, String)> {
    [
        ("zeta", "1"),
        ("alpha", ""),
        ("", "empty key"),
        ("quote\"s", "back\\slash\n"),
        ("标签", "值"),
        ("zeta", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Runs `f` in a write transaction and commits it.
fn write<T>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    with_write(store, |tx| f(tx))
}

/// Runs `f` in a read transaction; a store error fails the check.
fn read<T>(store: &dyn Store, f: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>) -> T {
    match with_read(store, f) {
        Ok(v) => v,
        Err(e) => panic!("read failed: {e:?}"),
    }
}

/// Commits `f`; a store error fails the check.
fn ok<T>(store: &dyn Store, f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>) -> T {
    match write(store, f) {
        Ok(v) => v,
        Err(e) => panic!("write failed: {e:?}"),
    }
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, constraint: &str) {
    match result {
        Err(e) if e.is_conflict_on(constraint) => {}
        other => panic!("expected Conflict on {constraint}, got {other:?}"),
    }
}

#[track_caller]
fn assert_any_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected a Conflict, got {other:?}"),
    }
}

// ---- accounts and keys ----

fn check_account_insert_get_and_by_name(store: &dyn Store) {
    let a = account("alice");
    let b = account("bob");
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.account_insert(&b)
    });
    read(store, |tx| {
        assert_eq!(tx.account_get(a.id)?, Some(a.clone()));
        assert_eq!(tx.account_by_name("bob")?, Some(b.clone()));
        assert_eq!(tx.account_by_name("carol")?, None);
        assert_eq!(
            tx.account_by_name("Alice")?,
            None,
            "names are case-sensitive"
        );
        assert_eq!(tx.account_get(AccountId(a.id.0.wrapping_add(1)))?, None);
        Ok(())
    });
}

fn check_account_duplicate_name_conflicts(store: &dyn Store) {
    let first = account("alice");
    ok(store, |tx| tx.account_insert(&first));
    assert_conflict(
        write(store, |tx| tx.account_insert(&account("alice"))),
        ACCOUNT_NAME_UNIQUE,
    );
    read(store, |tx| {
        assert_eq!(
            tx.account_by_name("alice")?,
            Some(first.clone()),
            "the first account is untouched"
        );
        Ok(())
    });
}

fn check_account_duplicate_id_conflicts(store: &dyn Store) {
    let first = account("alice");
    ok(store, |tx| tx.account_insert(&first));
    let same_id = Account {
        name: "bob".into(),
        ..first.clone()
    };
    assert_any_conflict(write(store, |tx| tx.account_insert(&same_id)));
    // Extreme IDs round-trip too.
    for id in [0, u64::MAX, 1 << 63] {
        let a = Account {
            id: AccountId(id),
            name: format!("acct-{id}"),
            created_at: -1,
        };
        ok(store, |tx| tx.account_insert(&a));
        read(store, |tx| {
            assert_eq!(tx.account_get(AccountId(id))?, Some(a.clone()));
            Ok(())
        });
    }
}

fn check_access_key_insert_get_and_duplicate_conflicts(store: &dyn Store) {
    let a = account("alice");
    let k = key(a.id);
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.access_key_insert(&k)
    });
    read(store, |tx| {
        assert_eq!(tx.access_key_get(&k.id)?, Some(k.clone()));
        assert_eq!(tx.access_key_get("LTAInothere")?, None);
        Ok(())
    });
    let again = AccessKey {
        secret: "other".into(),
        ..k.clone()
    };
    assert_conflict(
        write(store, |tx| tx.access_key_insert(&again)),
        ACCESS_KEY_PK,
    );
    read(store, |tx| {
        assert_eq!(
            tx.access_key_get(&k.id)?.map(|k| k.secret),
            Some(k.secret.clone())
        );
        Ok(())
    });
}

fn check_setting_is_written_once_and_rolls_back(store: &dyn Store) {
    read(store, |tx| {
        assert_eq!(tx.setting_get("agent_token")?, None);
        Ok(())
    });
    // A rolled-back setting is not there.
    let abandoned = write(store, |tx| {
        tx.setting_insert("agent_token", "rolled-back")?;
        Err::<(), _>(StoreError::Backend("abandoned".into()))
    });
    assert!(abandoned.is_err());
    ok(store, |tx| {
        assert_eq!(tx.setting_get("agent_token")?, None);
        tx.setting_insert("agent_token", "first")?;
        tx.setting_insert("other", "x")
    });
    // The first value stays; the transaction that tried goes on.
    ok(store, |tx| {
        assert_conflict(tx.setting_insert("agent_token", "second"), SETTING_PK);
        assert_eq!(tx.setting_get("agent_token")?.as_deref(), Some("first"));
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(tx.setting_get("agent_token")?.as_deref(), Some("first"));
        assert_eq!(tx.setting_get("other")?.as_deref(), Some("x"));
        assert_eq!(tx.setting_get("none")?, None);
        Ok(())
    });
}

/// A host not yet inserted (the store numbers it): 8 vCPUs at 192.0.2.1, seen at T0.
fn host_row(name: &str, zone: &str) -> Host {
    Host {
        id: HostId::generate(REGION),
        seq: 0,
        name: name.into(),
        zone_id: zone.into(),
        underlay_address: "192.0.2.1".into(),
        capacity_vcpus: 8,
        used_vcpus: 0,
        last_seen_at: T0,
        created_at: T0,
    }
}

/// Every agent's desired state holds the other hosts' endpoints: a host inserted, deleted or
/// given another underlay address bumps the generation; its signs of life, its used vCPUs
/// and an update that keeps the address do not (they are frequent and change no kernel).
fn check_a_host_coming_going_or_moving_is_a_data_plane_change(store: &dyn Store) {
    let gen = |store: &dyn Store| {
        let mut g = 0;
        read(store, |tx| {
            g = tx.dataplane_generation()?;
            Ok(())
        });
        g
    };
    let h = host_row("gen-a", "cn-hangzhou-h");
    let g0 = gen(store);
    ok(store, |tx| tx.host_insert(&h));
    let g1 = gen(store);
    assert!(g1 > g0, "a new host");
    ok(store, |tx| {
        tx.host_seen("gen-a", T0 + 5)?;
        tx.host_use(&h.id, 2)?;
        tx.host_update(&Host {
            capacity_vcpus: 16,
            last_seen_at: T0 + 6,
            ..h.clone()
        })
    });
    assert_eq!(
        gen(store),
        g1,
        "signs of life, vCPUs and capacity change no kernel"
    );
    ok(store, |tx| {
        tx.host_update(&Host {
            underlay_address: "192.0.2.2".into(),
            ..h.clone()
        })
    });
    let g2 = gen(store);
    assert!(g2 > g1, "a new underlay address");
    ok(store, |tx| tx.host_delete(&h.id).map(|_| ()));
    assert!(gen(store) > g2, "a host gone");
}

fn check_departures_keep_a_deleted_instances_host(store: &dyn Store) {
    let (i, j, k) = (
        InstanceId::generate(REGION),
        InstanceId::generate(REGION),
        InstanceId::generate(REGION),
    );
    let (a, b) = (HostId::generate(REGION), HostId::generate(REGION));
    let listed = |store: &dyn Store| {
        let mut all = Vec::new();
        read(store, |tx| {
            all = tx.departures_all()?;
            Ok(())
        });
        let mut want_order = all.clone();
        want_order.sort();
        assert_eq!(all, want_order, "by instance ID");
        all
    };
    let before = listed(store).len();
    ok(store, |tx| {
        tx.departure_insert(&i, Some(&a))?;
        tx.departure_insert(&j, Some(&a))?;
        // Recorded again: the host is replaced.
        tx.departure_insert(&j, Some(&b))?;
        // An instance that had no host.
        tx.departure_insert(&k, None)
    });
    let host_of = |all: &[(InstanceId, Option<HostId>)], id: &InstanceId| {
        all.iter().find(|(x, _)| x == id).map(|(_, h)| h.clone())
    };
    let all = listed(store);
    assert_eq!(all.len(), before + 3);
    assert_eq!(host_of(&all, &i), Some(Some(a.clone())));
    assert_eq!(host_of(&all, &j), Some(Some(b.clone())));
    assert_eq!(host_of(&all, &k), Some(None));
    // Rolled back with its transaction.
    let r = with_write(store, |tx| -> Result<(), StoreError> {
        tx.departure_delete(&i)?;
        Err(StoreError::Backend("roll back".into()))
    });
    assert!(r.is_err());
    ok(store, |tx| {
        tx.departure_delete(&j)?;
        // Forgetting one that is not there is no error.
        tx.departure_delete(&InstanceId::generate(REGION))
    });
    let all = listed(store);
    assert_eq!(host_of(&all, &i), Some(Some(a.clone())));
    assert_eq!(host_of(&all, &j), None);
}

/// VPC and host sequence numbers name overlay objects on every data-plane host (a VPC's VXLAN
/// network identifier, a host's overlay address): each is unique, kept for the row's life,
/// and never given again after the row is deleted.
fn check_vpc_and_host_sequence_numbers_are_never_reused(store: &dyn Store) {
    let acct = AccountId::generate();
    let (a, b) = (vpc(acct, REGION), vpc(acct, REGION));
    ok(store, |tx| {
        tx.vpc_insert(&a)?;
        tx.vpc_insert(&b)
    });
    let seqs = |store: &dyn Store| {
        let mut out = Vec::new();
        read(store, |tx| {
            out = tx.vpc_seqs_all()?;
            Ok(())
        });
        out
    };
    let before = seqs(store);
    let seq_of = |all: &[(VpcId, i64)], id: &VpcId| {
        all.iter()
            .find(|(v, _)| v == id)
            .map(|(_, s)| *s)
            .expect("listed")
    };
    let (sa, sb) = (seq_of(&before, &a.id), seq_of(&before, &b.id));
    assert!(sa > 0 && sb > sa, "numbered in insertion order: {sa}, {sb}");
    assert!(
        before.windows(2).all(|w| w[0].1 < w[1].1),
        "listed by number"
    );
    ok(store, |tx| tx.vpc_delete(acct, &b.id).map(|_| ()));
    let c = vpc(acct, REGION);
    ok(store, |tx| tx.vpc_insert(&c));
    let after = seqs(store);
    assert_eq!(seq_of(&after, &a.id), sa, "kept");
    assert!(after.iter().all(|(v, _)| v != &b.id));
    assert!(
        seq_of(&after, &c.id) > sb,
        "the deleted one's is not given again"
    );

    let host = |name: &str| host_row(name, "cn-hangzhou-h");
    let (x, y) = (host("seq-x"), host("seq-y"));
    ok(store, |tx| {
        tx.host_insert(&x)?;
        tx.host_insert(&y)
    });
    let mut numbered = (0, 0);
    read(store, |tx| {
        numbered = (
            tx.host_get(&x.id)?.expect("inserted").seq,
            tx.host_get(&y.id)?.expect("inserted").seq,
        );
        Ok(())
    });
    assert!(numbered.0 > 0 && numbered.1 > numbered.0);
    ok(store, |tx| tx.host_delete(&y.id).map(|_| ()));
    let z = host("seq-z");
    ok(store, |tx| tx.host_insert(&z));
    read(store, |tx| {
        assert!(tx.host_get(&z.id)?.expect("inserted").seq > numbered.1);
        Ok(())
    });
}

fn check_hosts_register_once_per_name_and_zone_and_list_their_instances(store: &dyn Store) {
    let host = |name: &str, zone: &str| Host {
        capacity_vcpus: 64,
        ..host_row(name, zone)
    };
    let a_h = host("a", "cn-hangzhou-h");
    let a_k = host("a", "cn-hangzhou-k");
    let b_h = Host {
        capacity_vcpus: u32::MAX,
        used_vcpus: 7,
        ..host("b", "cn-hangzhou-h")
    };
    ok(store, |tx| {
        tx.host_insert(&a_h)?;
        tx.host_insert(&a_k)?;
        tx.host_insert(&b_h)
    });
    // One host per name and zone; the transaction goes on.
    ok(store, |tx| {
        assert_conflict(
            tx.host_insert(&host("a", "cn-hangzhou-h")),
            HOST_NAME_ZONE_UNIQUE,
        );
        Ok(())
    });
    // The store numbers them (see the sequence check); the rest is as inserted.
    let unnumbered = |h: Host| Host { seq: 0, ..h };
    read(store, |tx| {
        let listed: Vec<Host> = tx.host_list()?.into_iter().map(unnumbered).collect();
        assert_eq!(listed, vec![a_h.clone(), a_k.clone(), b_h.clone()]);
        assert_eq!(tx.host_get(&a_k.id)?.map(unnumbered), Some(a_k.clone()));
        assert_eq!(tx.host_get(&HostId::generate(REGION))?, None);
        assert_eq!(
            tx.host_by_name("a", "cn-hangzhou-k")?.map(unnumbered),
            Some(a_k.clone())
        );
        assert_eq!(tx.host_by_name("a", "cn-hangzhou-x")?, None);
        Ok(())
    });
    // A call of agent "a" is seen in both its zones, never going back in time.
    ok(store, |tx| {
        assert_eq!(tx.host_seen("a", T0 + 10)?, 2);
        assert_eq!(tx.host_seen("a", T0 + 5)?, 2);
        assert_eq!(tx.host_seen("nobody", T0 + 10)?, 0);
        Ok(())
    });
    let moved = Host {
        underlay_address: "192.0.2.9".into(),
        capacity_vcpus: 8,
        last_seen_at: T0 + 20,
        // The ID finds it; name, zone and creation stay.
        name: "ignored".into(),
        ..a_h.clone()
    };
    // Used vCPUs: added and freed, never below 0, and an update leaves them.
    ok(store, |tx| {
        tx.host_use(&a_h.id, 6)?;
        tx.host_use(&a_h.id, -2)?;
        tx.host_use(&b_h.id, -100)?;
        tx.host_use(&HostId::generate(REGION), 5)
    });
    ok(store, |tx| tx.host_update(&moved));
    read(store, |tx| {
        assert_eq!(tx.host_get(&a_h.id)?.unwrap().used_vcpus, 4);
        assert_eq!(tx.host_get(&b_h.id)?.unwrap().used_vcpus, 0);
        assert_eq!(tx.host_get(&a_k.id)?.unwrap().used_vcpus, 0);
        let got = tx.host_get(&a_h.id)?.unwrap();
        assert_eq!(
            (got.name.as_str(), got.underlay_address.as_str()),
            ("a", "192.0.2.9")
        );
        assert_eq!((got.capacity_vcpus, got.last_seen_at), (8, T0 + 20));
        assert_eq!(tx.host_get(&a_k.id)?.unwrap().last_seen_at, T0 + 10);
        assert_eq!(tx.host_get(&b_h.id)?.unwrap().last_seen_at, T0);
        Ok(())
    });
    // A host's instances, oldest first; another host's and unplaced ones are not listed.
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let on_a = |n: &str| Instance {
        name: n.into(),
        host_id: Some(a_h.id.clone()),
        ..vpc_instance(&s)
    };
    let (first, second) = (on_a("1"), on_a("2"));
    let elsewhere = Instance {
        host_id: Some(b_h.id.clone()),
        ..vpc_instance(&s)
    };
    let unplaced = vpc_instance(&s);
    ok(store, |tx| {
        tx.instance_insert(&first)?;
        tx.instance_insert(&elsewhere)?;
        tx.instance_insert(&unplaced)?;
        tx.instance_insert(&second)
    });
    read(store, |tx| {
        assert_eq!(
            tx.instances_on_host(&a_h.id)?,
            vec![first.clone(), second.clone()]
        );
        assert_eq!(tx.instances_on_host(&a_k.id)?, Vec::new());
        // Other tests' instances share the store: only this test's are looked at.
        let mine = [&first.id, &second.id, &elsewhere.id, &unplaced.id];
        let unplaced_now: Vec<InstanceId> = tx
            .instances_unplaced()?
            .into_iter()
            .map(|i| i.id)
            .filter(|id| mine.contains(&id))
            .collect();
        assert_eq!(unplaced_now, vec![unplaced.id.clone()]);
        // By IDs, of any host (or none), oldest first; unknown IDs skipped.
        let by_ids = tx.instances_by_ids(&[
            second.id.clone(),
            InstanceId::generate(REGION),
            unplaced.id.clone(),
            first.id.clone(),
        ])?;
        assert_eq!(
            by_ids,
            vec![first.clone(), unplaced.clone(), second.clone()]
        );
        assert_eq!(tx.instances_by_ids(&[])?, Vec::new());
        Ok(())
    });
    // Moved off the host by an update.
    ok(store, |tx| {
        tx.instance_update(&Instance {
            host_id: None,
            ..first.clone()
        })
    });
    read(store, |tx| {
        assert_eq!(tx.instances_on_host(&a_h.id)?, vec![second.clone()]);
        let now: Vec<InstanceId> = tx
            .instances_unplaced()?
            .into_iter()
            .map(|i| i.id)
            .filter(|id| id == &first.id || id == &unplaced.id)
            .collect();
        assert_eq!(
            now,
            vec![first.id.clone(), unplaced.id.clone()],
            "oldest first"
        );
        Ok(())
    });
    // Removed: gone from every lookup; its name in that zone is free again.
    ok(store, |tx| {
        assert!(tx.host_delete(&a_k.id)?);
        assert!(!tx.host_delete(&a_k.id)?);
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(tx.host_get(&a_k.id)?, None);
        assert_eq!(tx.host_by_name("a", "cn-hangzhou-k")?, None);
        assert_eq!(tx.host_list()?.len(), 2);
        Ok(())
    });
    ok(store, |tx| tx.host_insert(&host("a", "cn-hangzhou-k")));
}

fn check_access_key_for_account_is_the_oldest(store: &dyn Store) {
    let a = account("alice");
    let b = account("bob");
    let first = key(a.id);
    // A later key with an earlier timestamp: "oldest" means first inserted.
    let second = AccessKey {
        created_at: T0 - 100,
        ..key(a.id)
    };
    let other = key(b.id);
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.account_insert(&b)?;
        tx.access_key_insert(&first)?;
        tx.access_key_insert(&other)?;
        tx.access_key_insert(&second)
    });
    read(store, |tx| {
        assert_eq!(tx.access_key_for_account(a.id)?, Some(first.clone()));
        assert_eq!(tx.access_key_for_account(b.id)?, Some(other.clone()));
        assert_eq!(tx.access_key_for_account(AccountId::generate())?, None);
        Ok(())
    });
}

fn check_access_key_list_and_delete(store: &dyn Store) {
    let a = account("alice");
    let b = account("bob");
    let first = key(a.id);
    let second = key(a.id);
    let other = key(b.id);
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.account_insert(&b)?;
        tx.access_key_insert(&first)?;
        tx.access_key_insert(&other)?;
        tx.access_key_insert(&second)
    });
    read(store, |tx| {
        assert_eq!(
            tx.access_key_list_for_account(a.id)?,
            vec![first.clone(), second.clone()]
        );
        assert_eq!(
            tx.access_key_list_for_account(AccountId::generate())?,
            vec![]
        );
        Ok(())
    });
    ok(store, |tx| {
        assert!(tx.access_key_delete(&first.id)?);
        assert!(!tx.access_key_delete(&first.id)?);
        assert!(!tx.access_key_delete("LTAInothere")?);
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(tx.access_key_get(&first.id)?, None);
        assert_eq!(tx.access_key_list_for_account(a.id)?, vec![second.clone()]);
        assert_eq!(tx.access_key_list_for_account(b.id)?, vec![other.clone()]);
        Ok(())
    });
}

fn check_access_key_debug_redacts_secret(store: &dyn Store) {
    let a = account("alice");
    let k = AccessKey {
        secret: "s3cr3t-do-not-log".into(),
        ..key(a.id)
    };
    ok(store, |tx| {
        tx.account_insert(&a)?;
        tx.access_key_insert(&k)
    });
    let stored = read(store, |tx| tx.access_key_get(&k.id));
    let shown = format!("{stored:?} {stored:#?}");
    assert!(
        !shown.contains("s3cr3t"),
        "secret leaked into Debug: {shown}"
    );
    assert!(shown.contains(&k.id), "the key ID is still shown: {shown}");
}

// ---- nonces ----

fn check_nonce_replay_is_detected(store: &dyn Store) {
    assert!(ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0, T0 + 900)));
    assert!(
        !ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0 + 1, T0 + 901)),
        "replay"
    );
    // Still live at its expiry instant.
    assert!(
        !ok(store, |tx| tx.nonce_record(
            "LTAIa",
            "n1",
            T0 + 900,
            T0 + 1800
        )),
        "replay at expiry"
    );
    // Nonces are per key.
    assert!(ok(store, |tx| tx.nonce_record("LTAIb", "n1", T0, T0 + 900)));
    assert!(ok(store, |tx| tx.nonce_record("LTAIa", "n2", T0, T0 + 900)));
}

fn check_nonce_expired_is_reusable(store: &dyn Store) {
    assert!(ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0, T0 + 10)));
    assert!(
        ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0 + 11, T0 + 20)),
        "expired nonce reused"
    );
    // The reuse renewed it.
    assert!(!ok(store, |tx| tx.nonce_record(
        "LTAIa",
        "n1",
        T0 + 15,
        T0 + 30
    )));
    assert!(ok(store, |tx| tx.nonce_record(
        "LTAIa",
        "n1",
        T0 + 21,
        T0 + 30
    )));
}

fn check_nonce_live_agrees_with_record(store: &dyn Store) {
    let live = |k: &str, n: &str, now: i64| read(store, |tx| tx.nonce_live(k, n, now));
    assert!(!live("LTAIa", "n1", T0), "never recorded");
    assert!(ok(store, |tx| tx.nonce_record("LTAIa", "n1", T0, T0 + 10)));
    assert!(live("LTAIa", "n1", T0));
    assert!(
        live("LTAIa", "n1", T0 + 10),
        "live through its expiry second"
    );
    assert!(!live("LTAIb", "n1", T0), "per key");
    assert!(!live("LTAIa", "n2", T0), "per nonce");
    // Live exactly while a record is refused.
    assert!(!ok(store, |tx| tx.nonce_record(
        "LTAIa",
        "n1",
        T0 + 10,
        T0 + 20
    )));
    assert!(!live("LTAIa", "n1", T0 + 11), "expired");
    assert!(ok(store, |tx| tx.nonce_record(
        "LTAIa",
        "n1",
        T0 + 11,
        T0 + 20
    )));
    assert!(live("LTAIa", "n1", T0 + 11), "renewed");
}

// ---- console sessions ----

fn check_console_sessions_live_until_expiry_or_deletion(store: &dyn Store) {
    let session = |hash: &str, expires_at: i64| ConsoleSession {
        token_hash: hash.into(),
        account_id: AccountId(7),
        access_key_id: "LTAIconsole".into(),
        csrf: format!("csrf-{hash}"),
        created_at: T0,
        expires_at,
    };
    let (a, b) = (session("h-a", T0 + 100), session("h-b", T0 + 200));
    ok(store, |tx| {
        tx.console_session_insert(&a)?;
        tx.console_session_insert(&b)
    });
    assert_conflict(
        write(store, |tx| {
            tx.console_session_insert(&session("h-a", T0 + 900))
        }),
        CONSOLE_SESSION_PK,
    );
    let get = |hash: &str, now: i64| ok(store, |tx| tx.console_session_get(hash, now));
    assert_eq!(get("h-a", T0 + 99), Some(a.clone()));
    assert_eq!(get("h-a", T0 + 100), None, "over at expires_at");
    assert_eq!(get("h-nope", T0), None);
    assert!(ok(store, |tx| tx.console_session_delete("h-b")));
    assert!(!ok(store, |tx| tx.console_session_delete("h-b")));
    assert_eq!(get("h-b", T0), None, "signed out");
    let c = session("h-c", T0 + 300);
    ok(store, |tx| tx.console_session_insert(&c));
    assert_eq!(ok(store, |tx| tx.console_session_purge(T0 + 100)), 1);
    assert_eq!(get("h-c", T0 + 150), Some(c));
    assert_eq!(ok(store, |tx| tx.console_session_purge(T0 + 300)), 1);
    assert_eq!(ok(store, |tx| tx.console_session_purge(T0 + 300)), 0);
}

fn check_nonce_purge_counts_expired(store: &dyn Store) {
    ok(store, |tx| {
        tx.nonce_record("LTAIa", "n100", T0, T0 + 100)?;
        tx.nonce_record("LTAIa", "n200", T0, T0 + 200)?;
        tx.nonce_record("LTAIb", "n200", T0, T0 + 200)?;
        tx.nonce_record("LTAIa", "n300", T0, T0 + 300)
    });
    assert_eq!(
        ok(store, |tx| tx.nonce_purge(T0 + 100)),
        0,
        "nothing expired before its expiry instant"
    );
    assert_eq!(ok(store, |tx| tx.nonce_purge(T0 + 250)), 3);
    assert_eq!(ok(store, |tx| tx.nonce_purge(T0 + 250)), 0);
    assert!(
        !ok(store, |tx| tx.nonce_record(
            "LTAIa",
            "n300",
            T0 + 250,
            T0 + 400
        )),
        "survivor still guards"
    );
    assert!(ok(store, |tx| tx.nonce_record(
        "LTAIa",
        "n100",
        T0 + 250,
        T0 + 400
    )));
}

// ---- idempotency ----

fn check_idempotency_insert_get_and_duplicate_conflicts(store: &dyn Store) {
    let acct = AccountId::generate();
    let rec = IdempotencyRecord {
        account_id: acct,
        action: "CreateVpc".into(),
        token: "tok-1".into(),
        params_digest: r#"{"CidrBlock":"10.0.0.0/8"}"#.into(),
        response: r#"{"VpcId":"vpc-x","RequestId":"R"}"#.into(),
        created_at: T0,
    };
    read(store, |tx| {
        assert_eq!(tx.idempotency_get(acct, "CreateVpc", "tok-1")?, None);
        Ok(())
    });
    ok(store, |tx| tx.idempotency_insert(&rec));
    read(store, |tx| {
        assert_eq!(
            tx.idempotency_get(acct, "CreateVpc", "tok-1")?,
            Some(rec.clone())
        );
        assert_eq!(tx.idempotency_get(acct, "CreateVSwitch", "tok-1")?, None);
        assert_eq!(tx.idempotency_get(acct, "CreateVpc", "tok-2")?, None);
        assert_eq!(
            tx.idempotency_get(AccountId::generate(), "CreateVpc", "tok-1")?,
            None
        );
        Ok(())
    });
    let again = IdempotencyRecord {
        params_digest: "other".into(),
        ..rec.clone()
    };
    assert_conflict(
        write(store, |tx| tx.idempotency_insert(&again)),
        IDEMPOTENCY_PK,
    );
    // The same token under another action or account is a different record.
    ok(store, |tx| {
        tx.idempotency_insert(&IdempotencyRecord {
            action: "DeleteVpc".into(),
            ..rec.clone()
        })
    });
    ok(store, |tx| {
        tx.idempotency_insert(&IdempotencyRecord {
            account_id: AccountId::generate(),
            ..rec.clone()
        })
    });
}

// ---- VPCs ----

fn check_vpc_round_trips_tags_and_options_exactly(store: &dyn Store) {
    let acct = AccountId::generate();
    let plain = vpc(acct, REGION);
    let full = Vpc {
        ipv6_cidr_block: Some("2408:4005:3ea::/56".into()),
        ipv6_isp: Some("ChinaTelecom".into()),
        name: "prod-vpc".into(),
        description: "línea 1\nline \"2\"".into(),
        is_default: true,
        tags: tricky_tags(),
        created_at: T0 + 1,
        ..vpc(acct, REGION)
    };
    ok(store, |tx| {
        tx.vpc_insert(&plain)?;
        tx.vpc_insert(&full)
    });
    read(store, |tx| {
        assert_eq!(tx.vpc_get(acct, &plain.id)?, Some(plain.clone()));
        assert_eq!(tx.vpc_get(acct, &full.id)?, Some(full.clone()));
        assert_eq!(
            tx.vpc_list(acct, REGION)?,
            vec![plain.clone(), full.clone()]
        );
        Ok(())
    });
}

fn check_vpc_list_is_oldest_first_per_region(store: &dyn Store) {
    let acct = AccountId::generate();
    // Timestamps run backwards so that only insertion order gives the expected list.
    let vpcs: Vec<Vpc> = (0..5)
        .map(|i| Vpc {
            name: format!("v{i}"),
            created_at: T0 - i,
            ..vpc(acct, REGION)
        })
        .collect();
    let elsewhere = vpc(acct, OTHER_REGION);
    for (i, v) in vpcs.iter().enumerate() {
        ok(store, |tx| tx.vpc_insert(v));
        if i == 2 {
            ok(store, |tx| tx.vpc_insert(&elsewhere));
        }
    }
    read(store, |tx| {
        assert_eq!(tx.vpc_list(acct, REGION)?, vpcs);
        assert_eq!(tx.vpc_list(acct, OTHER_REGION)?, vec![elsewhere.clone()]);
        assert_eq!(tx.vpc_list(acct, "cn-nowhere")?, Vec::new());
        Ok(())
    });
    // Deleting from the middle keeps the others' order; a new VPC goes last.
    ok(store, |tx| tx.vpc_delete(acct, &vpcs[1].id));
    let newest = vpc(acct, REGION);
    ok(store, |tx| tx.vpc_insert(&newest));
    let mut expected = vpcs.clone();
    expected.remove(1);
    expected.push(newest.clone());
    read(store, |tx| {
        assert_eq!(tx.vpc_list(acct, REGION)?, expected);
        Ok(())
    });
}

fn check_vpc_count_per_account_and_region(store: &dyn Store) {
    let a = AccountId::generate();
    let b = AccountId::generate();
    ok(store, |tx| {
        for _ in 0..3 {
            tx.vpc_insert(&vpc(a, REGION))?;
        }
        tx.vpc_insert(&vpc(a, OTHER_REGION))?;
        tx.vpc_insert(&vpc(b, REGION))
    });
    read(store, |tx| {
        assert_eq!(tx.vpc_count(a, REGION)?, 3);
        assert_eq!(tx.vpc_count(a, OTHER_REGION)?, 1);
        assert_eq!(tx.vpc_count(b, REGION)?, 1);
        assert_eq!(tx.vpc_count(b, OTHER_REGION)?, 0);
        Ok(())
    });
}

fn check_vpc_delete_reports_removal(store: &dyn Store) {
    let acct = AccountId::generate();
    let keep = vpc(acct, REGION);
    let gone = vpc(acct, REGION);
    ok(store, |tx| {
        tx.vpc_insert(&keep)?;
        tx.vpc_insert(&gone)
    });
    assert!(ok(store, |tx| tx.vpc_delete(acct, &gone.id)));
    assert!(
        !ok(store, |tx| tx.vpc_delete(acct, &gone.id)),
        "second delete removes nothing"
    );
    read(store, |tx| {
        assert_eq!(tx.vpc_get(acct, &gone.id)?, None);
        assert_eq!(tx.vpc_list(acct, REGION)?, vec![keep.clone()]);
        assert_eq!(tx.vpc_count(acct, REGION)?, 1);
        Ok(())
    });
}

fn check_vpc_duplicate_id_conflicts(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    ok(store, |tx| tx.vpc_insert(&v));
    // Even for another account: IDs are global.
    let again = Vpc {
        account_id: AccountId::generate(),
        ..v.clone()
    };
    assert_any_conflict(write(store, |tx| tx.vpc_insert(&again)));
}

fn check_vpc_of_other_account_does_not_exist(store: &dyn Store) {
    let owner = AccountId::generate();
    let other = AccountId::generate();
    let v = vpc(owner, REGION);
    ok(store, |tx| tx.vpc_insert(&v));
    read(store, |tx| {
        assert_eq!(tx.vpc_get(other, &v.id)?, None);
        assert_eq!(tx.vpc_list(other, REGION)?, Vec::new());
        assert_eq!(tx.vpc_count(other, REGION)?, 0);
        Ok(())
    });
    assert!(!ok(store, |tx| tx.vpc_delete(other, &v.id)));
    read(store, |tx| {
        assert_eq!(
            tx.vpc_get(owner, &v.id)?,
            Some(v.clone()),
            "the owner's VPC survives"
        );
        Ok(())
    });
}

fn check_vpc_delete_refused_while_vswitches_exist(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let s = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&s)
    });
    assert_conflict(
        write(store, |tx| tx.vpc_delete(acct, &v.id)),
        VSWITCH_VPC_FK,
    );
    assert!(ok(store, |tx| tx.vswitch_delete(acct, &s.id)));
    assert!(ok(store, |tx| tx.vpc_delete(acct, &v.id)));
}

// ---- vSwitches ----

fn check_vswitch_round_trips_tags_and_options_exactly(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    let plain = vswitch(&v);
    let full = VSwitch {
        ipv6_cidr_block: Some("2408:4005:3ea:ff00::/64".into()),
        name: "web".into(),
        description: "zone h, \"web\" tier".into(),
        is_default: true,
        tags: tricky_tags(),
        created_at: T0 + 5,
        ..vswitch(&v)
    };
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&plain)?;
        tx.vswitch_insert(&full)
    });
    read(store, |tx| {
        assert_eq!(
            tx.vswitch_get(v.account_id, &plain.id)?,
            Some(plain.clone())
        );
        assert_eq!(tx.vswitch_get(v.account_id, &full.id)?, Some(full.clone()));
        Ok(())
    });
}

fn check_vswitch_list_filters_by_vpc_oldest_first(store: &dyn Store) {
    let acct = AccountId::generate();
    let v1 = vpc(acct, REGION);
    let v2 = vpc(acct, REGION);
    let far = vpc(acct, OTHER_REGION);
    let s1 = VSwitch {
        created_at: T0 + 9,
        ..vswitch(&v1)
    };
    let s2 = VSwitch {
        created_at: T0 + 5,
        ..vswitch(&v2)
    };
    let s3 = VSwitch {
        created_at: T0 + 1,
        ..vswitch(&v1)
    };
    let s_far = vswitch(&far);
    ok(store, |tx| {
        for v in [&v1, &v2, &far] {
            tx.vpc_insert(v)?;
        }
        for s in [&s1, &s2, &s3, &s_far] {
            tx.vswitch_insert(s)?;
        }
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(
            tx.vswitch_list(acct, REGION, None)?,
            vec![s1.clone(), s2.clone(), s3.clone()]
        );
        assert_eq!(
            tx.vswitch_list(acct, REGION, Some(&v1.id))?,
            vec![s1.clone(), s3.clone()]
        );
        assert_eq!(
            tx.vswitch_list(acct, REGION, Some(&v2.id))?,
            vec![s2.clone()]
        );
        // A VPC of another region lists nothing in this one.
        assert_eq!(tx.vswitch_list(acct, REGION, Some(&far.id))?, Vec::new());
        assert_eq!(
            tx.vswitch_list(acct, OTHER_REGION, None)?,
            vec![s_far.clone()]
        );
        assert_eq!(
            tx.vswitch_list(acct, REGION, Some(&VpcId::generate(REGION)))?,
            Vec::new()
        );
        Ok(())
    });
}

fn check_vswitch_of_other_account_does_not_exist(store: &dyn Store) {
    let owner = AccountId::generate();
    let other = AccountId::generate();
    let v = vpc(owner, REGION);
    let s = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&s)
    });
    read(store, |tx| {
        assert_eq!(tx.vswitch_get(other, &s.id)?, None);
        assert_eq!(tx.vswitch_list(other, REGION, None)?, Vec::new());
        assert_eq!(tx.vswitch_list(other, REGION, Some(&v.id))?, Vec::new());
        Ok(())
    });
    assert!(!ok(store, |tx| tx.vswitch_delete(other, &s.id)));
    read(store, |tx| {
        assert_eq!(tx.vswitch_get(owner, &s.id)?, Some(s.clone()));
        Ok(())
    });
}

fn check_vswitch_insert_requires_vpc(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    assert_conflict(
        write(store, |tx| tx.vswitch_insert(&vswitch(&v))),
        VSWITCH_VPC_FK,
    );
}

fn check_vswitch_delete_refused_while_ips_held(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let s = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&s)?;
        tx.private_ip_insert(&pip(&s.id, 0xAC10_0005, "eni-a"))?;
        tx.private_ip_insert(&pip(&s.id, 0xAC10_0006, "eni-a"))
    });
    assert_conflict(
        write(store, |tx| tx.vswitch_delete(acct, &s.id)),
        PRIVATE_IP_VSWITCH_FK,
    );
    ok(store, |tx| tx.private_ip_delete(&s.id, 0xAC10_0005));
    assert_conflict(
        write(store, |tx| tx.vswitch_delete(acct, &s.id)),
        PRIVATE_IP_VSWITCH_FK,
    );
    ok(store, |tx| tx.private_ip_delete(&s.id, 0xAC10_0006));
    assert!(ok(store, |tx| tx.vswitch_delete(acct, &s.id)));
}

// ---- private IPs ----

/// A store holding one VPC with two vSwitches.
fn two_vswitches(store: &dyn Store) -> (VSwitch, VSwitch) {
    let v = vpc(AccountId::generate(), REGION);
    let a = vswitch(&v);
    let b = vswitch(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vswitch_insert(&a)?;
        tx.vswitch_insert(&b)
    });
    (a, b)
}

fn check_private_ip_duplicate_conflicts_per_vswitch(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    let ip = 0xAC10_000A; // 172.16.0.10
    ok(store, |tx| tx.private_ip_insert(&pip(&a.id, ip, "eni-1")));
    assert_conflict(
        write(store, |tx| tx.private_ip_insert(&pip(&a.id, ip, "eni-2"))),
        PRIVATE_IP_UNIQUE,
    );
    assert_conflict(
        write(store, |tx| tx.private_ip_insert(&pip(&a.id, ip, "eni-1"))),
        PRIVATE_IP_UNIQUE,
    );
    ok(store, |tx| tx.private_ip_insert(&pip(&b.id, ip, "eni-2")));
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 1);
        assert_eq!(tx.private_ip_count(&b.id)?, 1);
        Ok(())
    });
}

fn check_private_ip_count_and_delete_frees_address(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 0);
        Ok(())
    });
    ok(store, |tx| {
        for ip in 10..20 {
            tx.private_ip_insert(&pip(&a.id, 0xAC10_0000 + ip, "eni-1"))?;
        }
        tx.private_ip_insert(&pip(&b.id, 0xAC10_000A, "eni-2"))
    });
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 10);
        assert_eq!(tx.private_ip_count(&b.id)?, 1);
        assert_eq!(tx.private_ip_count(&VSwitchId::generate(REGION))?, 0);
        Ok(())
    });
    assert!(ok(store, |tx| tx.private_ip_delete(&a.id, 0xAC10_000A)));
    assert!(
        !ok(store, |tx| tx.private_ip_delete(&a.id, 0xAC10_000A)),
        "already free"
    );
    assert!(
        !ok(store, |tx| tx.private_ip_delete(&a.id, 0xAC10_00FF)),
        "never held"
    );
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 9);
        assert_eq!(
            tx.private_ip_count(&b.id)?,
            1,
            "the other vSwitch's copy is untouched"
        );
        Ok(())
    });
    ok(store, |tx| {
        tx.private_ip_insert(&pip(&a.id, 0xAC10_000A, "eni-3"))
    });
    // An insert rolled back leaves the count as it was.
    let abandoned = write(store, |tx| {
        tx.private_ip_insert(&pip(&a.id, 0xAC10_00F0, "eni-4"))?;
        Err::<(), _>(StoreError::Backend("abandoned".into()))
    });
    assert!(abandoned.is_err());
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 10);
        Ok(())
    });
}

fn check_private_ip_whole_ipv4_range_round_trips(store: &dyn Store) {
    let (a, _) = two_vswitches(store);
    for ip in [0, 1, 0x7FFF_FFFF, 0x8000_0000, u32::MAX] {
        ok(store, |tx| tx.private_ip_insert(&pip(&a.id, ip, "eni-1")));
        assert_conflict(
            write(store, |tx| tx.private_ip_insert(&pip(&a.id, ip, "eni-1"))),
            PRIVATE_IP_UNIQUE,
        );
    }
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 5);
        Ok(())
    });
    for ip in [0, 1, 0x7FFF_FFFF, 0x8000_0000, u32::MAX] {
        assert!(ok(store, |tx| tx.private_ip_delete(&a.id, ip)), "{ip:#x}");
    }
}

fn check_private_ip_insert_requires_vswitch(store: &dyn Store) {
    let missing = VSwitchId::generate(REGION);
    assert_conflict(
        write(store, |tx| tx.private_ip_insert(&pip(&missing, 1, "eni-1"))),
        PRIVATE_IP_VSWITCH_FK,
    );
}

fn check_private_ip_kinds_and_prefix_round_trip(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    let primary = PrivateIp {
        kind: IpKind::Primary,
        ..pip(&a.id, 0xAC10_0005, "eni-1")
    };
    let secondary = pip(&a.id, 0xAC10_0006, "eni-1");
    let prefix: Vec<PrivateIp> = (0..16)
        .map(|i| PrivateIp {
            kind: IpKind::Prefix,
            prefix: Some(0xAC10_0010),
            ..pip(&a.id, 0xAC10_0010 + i, "eni-1")
        })
        .collect();
    ok(store, |tx| {
        tx.private_ip_insert(&primary)?;
        tx.private_ip_insert(&secondary)?;
        prefix.iter().try_for_each(|p| tx.private_ip_insert(p))
    });
    read(store, |tx| {
        for p in [&primary, &secondary].into_iter().chain(&prefix) {
            assert_eq!(tx.private_ip_get(&a.id, p.ip)?, Some(p.clone()));
        }
        assert_eq!(tx.private_ip_get(&a.id, 0xAC10_0007)?, None);
        assert_eq!(
            tx.private_ip_get(&b.id, 0xAC10_0005)?,
            None,
            "another vSwitch"
        );
        assert_eq!(tx.private_ip_count(&a.id)?, 18);
        Ok(())
    });
    // An address of a prefix is held like any other.
    assert_conflict(
        write(store, |tx| {
            tx.private_ip_insert(&pip(&a.id, 0xAC10_0013, "eni-2"))
        }),
        PRIVATE_IP_UNIQUE,
    );
}

fn check_private_ips_of_lists_in_insertion_order(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    // Addresses descend and span both vSwitches, so only insertion order gives this list.
    let mine = vec![
        pip(&a.id, 30, "eni-1"),
        pip(&b.id, 20, "eni-1"),
        PrivateIp {
            kind: IpKind::Primary,
            ..pip(&a.id, 10, "eni-1")
        },
        pip(&a.id, 5, "eni-1"),
    ];
    let theirs = pip(&a.id, 25, "eni-2");
    for (i, p) in mine.iter().enumerate() {
        ok(store, |tx| tx.private_ip_insert(p));
        if i == 1 {
            ok(store, |tx| tx.private_ip_insert(&theirs));
        }
    }
    read(store, |tx| {
        assert_eq!(tx.private_ips_of("eni-1")?, mine);
        assert_eq!(tx.private_ips_of("eni-2")?, vec![theirs.clone()]);
        assert_eq!(tx.private_ips_of("eni-3")?, Vec::new());
        Ok(())
    });
    // Releasing from the middle keeps the order; a new address goes last.
    assert!(ok(store, |tx| tx.private_ip_delete(&b.id, 20)));
    let newest = pip(&a.id, 1, "eni-1");
    ok(store, |tx| tx.private_ip_insert(&newest));
    let mut expected = mine.clone();
    expected.remove(1);
    expected.push(newest.clone());
    read(store, |tx| {
        assert_eq!(tx.private_ips_of("eni-1")?, expected);
        Ok(())
    });
}

// ---- the free list ----

fn check_ip_free_first_and_list_order_by_lo(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    read(store, |tx| {
        assert_eq!(tx.ip_free_first(&a.id)?, None);
        assert_eq!(tx.ip_free_list(&a.id)?, Vec::new());
        Ok(())
    });
    ok(store, |tx| {
        tx.ip_free_insert(&a.id, 100, 199)?;
        tx.ip_free_insert(&a.id, 10, 19)?;
        tx.ip_free_insert(&b.id, 0, 5)?;
        tx.ip_free_insert(&a.id, 50, 50)
    });
    read(store, |tx| {
        assert_eq!(tx.ip_free_first(&a.id)?, Some((10, 19)));
        assert_eq!(
            tx.ip_free_list(&a.id)?,
            vec![(10, 19), (50, 50), (100, 199)]
        );
        assert_eq!(tx.ip_free_first(&b.id)?, Some((0, 5)));
        assert_eq!(tx.ip_free_list(&b.id)?, vec![(0, 5)]);
        Ok(())
    });
}

fn check_ip_free_first_aligned_skips_ranges_too_small_or_misaligned(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    ok(store, |tx| {
        // 16 addresses but straddling a /28 boundary; 4 addresses; then one that fits.
        tx.ip_free_insert(&a.id, 8, 23)?;
        tx.ip_free_insert(&a.id, 40, 43)?;
        tx.ip_free_insert(&a.id, 60, 200)?;
        tx.ip_free_insert(&a.id, 256, 271)?;
        tx.ip_free_insert(&b.id, 0, 15)
    });
    read(store, |tx| {
        assert_eq!(tx.ip_free_first_aligned(&a.id, 16)?, Some((60, 200)));
        assert_eq!(tx.ip_free_first_aligned(&a.id, 4)?, Some((8, 23)));
        assert_eq!(tx.ip_free_first_aligned(&a.id, 1)?, Some((8, 23)));
        assert_eq!(tx.ip_free_first_aligned(&a.id, 64)?, Some((60, 200)));
        assert_eq!(
            tx.ip_free_first_aligned(&a.id, 128)?,
            None,
            "128..=255 is not all free"
        );
        assert_eq!(tx.ip_free_first_aligned(&a.id, 256)?, None);
        assert_eq!(
            tx.ip_free_first_aligned(&b.id, 16)?,
            Some((0, 15)),
            "exactly one block"
        );
        Ok(())
    });
    // The top of the IPv4 space does not overflow.
    ok(store, |tx| {
        tx.ip_free_insert(&b.id, 0xFFFF_FFF0, 0xFFFF_FFFF)
    });
    ok(store, |tx| tx.ip_free_delete(&b.id, 0).map(|_| ()));
    read(store, |tx| {
        assert_eq!(
            tx.ip_free_first_aligned(&b.id, 16)?,
            Some((0xFFFF_FFF0, 0xFFFF_FFFF))
        );
        Ok(())
    });
}

fn check_ip_free_containing_is_inclusive_and_gaps_are_none(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    const MAX: u32 = u32::MAX;
    ok(store, |tx| {
        tx.ip_free_insert(&a.id, 10, 20)?;
        tx.ip_free_insert(&a.id, 30, 30)?;
        tx.ip_free_insert(&a.id, 40, 50)?;
        // The ends of the address space.
        tx.ip_free_insert(&b.id, 0, 0)?;
        tx.ip_free_insert(&b.id, MAX - 1, MAX)
    });
    type Range = Option<(u32, u32)>;
    let cases: &[(&VSwitch, u32, Range)] = &[
        (&a, 0, None),
        (&a, 9, None),
        (&a, 10, Some((10, 20))),
        (&a, 15, Some((10, 20))),
        (&a, 20, Some((10, 20))),
        (&a, 21, None),
        (&a, 29, None),
        (&a, 30, Some((30, 30))),
        (&a, 31, None),
        (&a, 40, Some((40, 50))),
        (&a, 50, Some((40, 50))),
        (&a, 51, None),
        (&a, MAX, None),
        (&b, 0, Some((0, 0))),
        (&b, 1, None),
        (&b, 15, None),
        (&b, MAX - 2, None),
        (&b, MAX - 1, Some((MAX - 1, MAX))),
        (&b, MAX, Some((MAX - 1, MAX))),
    ];
    read(store, |tx| {
        for (vsw, ip, expected) in cases {
            assert_eq!(
                tx.ip_free_containing(&vsw.id, *ip)?,
                *expected,
                "{ip} in {}",
                vsw.id
            );
        }
        assert_eq!(
            tx.ip_free_containing(&VSwitchId::generate(REGION), 15)?,
            None
        );
        Ok(())
    });
}

fn check_ip_free_delete_and_clear_per_vswitch(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    ok(store, |tx| {
        tx.ip_free_insert(&a.id, 10, 19)?;
        tx.ip_free_insert(&a.id, 30, 39)?;
        tx.ip_free_insert(&a.id, 50, 59)?;
        tx.ip_free_insert(&b.id, 10, 19)
    });
    assert!(ok(store, |tx| tx.ip_free_delete(&a.id, 30)));
    assert!(
        !ok(store, |tx| tx.ip_free_delete(&a.id, 30)),
        "already gone"
    );
    assert!(
        !ok(store, |tx| tx.ip_free_delete(&a.id, 15)),
        "only a range's first address names it"
    );
    read(store, |tx| {
        assert_eq!(tx.ip_free_list(&a.id)?, vec![(10, 19), (50, 59)]);
        Ok(())
    });
    ok(store, |tx| tx.ip_free_clear(&a.id));
    ok(store, |tx| tx.ip_free_clear(&a.id));
    read(store, |tx| {
        assert_eq!(tx.ip_free_list(&a.id)?, Vec::new());
        assert_eq!(tx.ip_free_first(&a.id)?, None);
        assert_eq!(
            tx.ip_free_list(&b.id)?,
            vec![(10, 19)],
            "the other vSwitch's list is untouched"
        );
        Ok(())
    });
    ok(store, |tx| tx.ip_free_insert(&a.id, 10, 19));
}

fn check_ip_free_insert_refuses_duplicate_lo_reversed_range_and_missing_vswitch(store: &dyn Store) {
    let (a, _) = two_vswitches(store);
    ok(store, |tx| tx.ip_free_insert(&a.id, 10, 19));
    assert_any_conflict(write(store, |tx| tx.ip_free_insert(&a.id, 10, 12)));
    assert_any_conflict(write(store, |tx| tx.ip_free_insert(&a.id, 30, 29)));
    assert_any_conflict(write(store, |tx| {
        tx.ip_free_insert(&VSwitchId::generate(REGION), 1, 2)
    }));
    ok(store, |tx| tx.ip_free_insert(&a.id, 40, 40));
    read(store, |tx| {
        assert_eq!(tx.ip_free_list(&a.id)?, vec![(10, 19), (40, 40)]);
        Ok(())
    });
}

// The free list is the vSwitch's own bookkeeping: deleting the vSwitch takes it along, so
// forgetting ip_free_clear cannot make an empty vSwitch undeletable.
fn check_vswitch_delete_takes_its_free_ranges(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    ok(store, |tx| {
        tx.ip_free_insert(&s.id, 0xAC10_0001, 0xAC10_00FD)?;
        tx.ip_free_insert(&s.id, 0xAC10_00FF, 0xAC10_00FF)
    });
    assert!(ok(store, |tx| tx.vswitch_delete(acct, &s.id)));
    read(store, |tx| {
        assert_eq!(tx.ip_free_list(&s.id)?, Vec::new());
        Ok(())
    });
}

// ---- IPv6 ----

fn check_ipv6_duplicate_conflicts_per_vswitch(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    let addr = "2408:4005:3ea:ff00::10";
    let prefix = "2408:4005:3ea:ff00:1::/80";
    ok(store, |tx| {
        tx.ipv6_insert(&v6(&a.id, addr, "eni-1"))?;
        tx.ipv6_insert(&v6(&a.id, prefix, "eni-1"))
    });
    for taken in [addr, prefix] {
        assert_conflict(
            write(store, |tx| tx.ipv6_insert(&v6(&a.id, taken, "eni-2"))),
            IPV6_UNIQUE,
        );
    }
    ok(store, |tx| tx.ipv6_insert(&v6(&b.id, addr, "eni-3")));
    read(store, |tx| {
        assert_eq!(tx.ipv6_get(&a.id, addr)?, Some(v6(&a.id, addr, "eni-1")));
        assert_eq!(
            tx.ipv6_get(&a.id, prefix)?,
            Some(v6(&a.id, prefix, "eni-1"))
        );
        assert_eq!(tx.ipv6_get(&b.id, addr)?, Some(v6(&b.id, addr, "eni-3")));
        assert_eq!(tx.ipv6_get(&b.id, prefix)?, None);
        Ok(())
    });
}

fn check_ipv6_get_delete_and_of_in_insertion_order(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    let mine = vec![
        v6(&a.id, "2408:4005:3ea:ff00::30", "eni-1"),
        v6(&a.id, "2408:4005:3ea:ff00:2::/80", "eni-1"),
        v6(&b.id, "2408:4005:3ea:ff00::10", "eni-1"),
    ];
    let theirs = v6(&a.id, "2408:4005:3ea:ff00::20", "eni-2");
    for (i, e) in mine.iter().enumerate() {
        ok(store, |tx| tx.ipv6_insert(e));
        if i == 0 {
            ok(store, |tx| tx.ipv6_insert(&theirs));
        }
    }
    read(store, |tx| {
        assert_eq!(tx.ipv6_of("eni-1")?, mine);
        assert_eq!(tx.ipv6_of("eni-2")?, vec![theirs.clone()]);
        assert_eq!(tx.ipv6_of("eni-3")?, Vec::new());
        Ok(())
    });
    assert!(
        !ok(store, |tx| tx.ipv6_delete(&b.id, &mine[0].addr)),
        "not held in that vSwitch"
    );
    assert!(ok(store, |tx| tx.ipv6_delete(&a.id, &mine[0].addr)));
    assert!(!ok(store, |tx| tx.ipv6_delete(&a.id, &mine[0].addr)));
    read(store, |tx| {
        assert_eq!(tx.ipv6_get(&a.id, &mine[0].addr)?, None);
        assert_eq!(tx.ipv6_of("eni-1")?, mine[1..].to_vec());
        Ok(())
    });
    // A freed address can be taken again, by anyone.
    ok(store, |tx| {
        tx.ipv6_insert(&v6(&a.id, &mine[0].addr, "eni-2"))
    });
}

// A /80 is held whole by one prefix, or by any number of single addresses: a prefix over a
// held address and an address inside a held prefix both conflict, whoever holds them.
fn check_ipv6_prefix_and_addresses_never_share_a_80(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    let first = "2408:4005:3ea:ff00::10";
    let second = "2408:4005:3ea:ff00::11";
    let around = "2408:4005:3ea:ff00::/80";
    ok(store, |tx| tx.ipv6_insert(&v6(&a.id, first, "eni-1")));
    // More addresses in the same /80 are fine.
    ok(store, |tx| tx.ipv6_insert(&v6(&a.id, second, "eni-2")));
    for owner in ["eni-1", "eni-3"] {
        assert_conflict(
            write(store, |tx| tx.ipv6_insert(&v6(&a.id, around, owner))),
            IPV6_PREFIX_OVERLAP,
        );
    }
    // Another vSwitch is another address space.
    ok(store, |tx| tx.ipv6_insert(&v6(&b.id, around, "eni-3")));

    let prefix = "2408:4005:3ea:ff00:1::/80";
    ok(store, |tx| tx.ipv6_insert(&v6(&a.id, prefix, "eni-1")));
    for inside in [
        "2408:4005:3ea:ff00:1::",
        "2408:4005:3ea:ff00:1::7",
        "2408:4005:3ea:ff00:1:ffff:ffff:ffff",
    ] {
        for owner in ["eni-1", "eni-2"] {
            assert_conflict(
                write(store, |tx| tx.ipv6_insert(&v6(&a.id, inside, owner))),
                IPV6_PREFIX_OVERLAP,
            );
        }
    }
    // The neighbours of the prefix are free; the prefix itself twice is a duplicate.
    ok(store, |tx| {
        tx.ipv6_insert(&v6(&a.id, "2408:4005:3ea:ff00:0:ffff:ffff:ffff", "eni-2"))?;
        tx.ipv6_insert(&v6(&a.id, "2408:4005:3ea:ff00:2::", "eni-2"))
    });
    assert_conflict(
        write(store, |tx| tx.ipv6_insert(&v6(&a.id, prefix, "eni-2"))),
        IPV6_UNIQUE,
    );
    // A conflict changes nothing.
    read(store, |tx| {
        assert_eq!(tx.ipv6_get(&a.id, around)?, None);
        assert_eq!(tx.ipv6_get(&a.id, "2408:4005:3ea:ff00:1::7")?, None);
        Ok(())
    });

    // Once the last address of a /80 is gone, a prefix can have it, and the other way round.
    ok(store, |tx| tx.ipv6_delete(&a.id, first));
    assert_conflict(
        write(store, |tx| tx.ipv6_insert(&v6(&a.id, around, "eni-3"))),
        IPV6_PREFIX_OVERLAP,
    );
    ok(store, |tx| {
        tx.ipv6_delete(&a.id, second)?;
        tx.ipv6_delete(&a.id, "2408:4005:3ea:ff00:0:ffff:ffff:ffff")
    });
    ok(store, |tx| tx.ipv6_insert(&v6(&a.id, around, "eni-3")));
    ok(store, |tx| tx.ipv6_delete(&a.id, prefix));
    ok(store, |tx| {
        tx.ipv6_insert(&v6(&a.id, "2408:4005:3ea:ff00:1::7", "eni-2"))
    });
}

fn check_ipv6_nets_in_use_lists_each_held_80_once(store: &dyn Store) {
    let (a, b) = two_vswitches(store);
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    ok(store, |tx| {
        tx.ipv6_insert(&v6(&a.id, "2408:4005:3ea:ff00::10", "eni-1"))?;
        tx.ipv6_insert(&v6(&a.id, "2408:4005:3ea:ff00::11", "eni-2"))?;
        tx.ipv6_insert(&v6(&a.id, "2408:4005:3ea:ff00:1::/80", "eni-1"))?;
        tx.ipv6_insert(&v6(&a.id, "2408:4005:3ea:ff00:7:0:ab:1", "eni-1"))?;
        tx.ipv6_insert(&v6(&b.id, "2408:4005:3ea:ff00:9::/80", "eni-3"))
    });
    read(store, |tx| {
        assert_eq!(
            sorted(tx.ipv6_nets_in_use(&a.id)?),
            vec![
                "2408:4005:3ea:ff00:1::/80".to_string(),
                "2408:4005:3ea:ff00:7::/80".to_string(),
                "2408:4005:3ea:ff00::/80".to_string(),
            ]
        );
        assert_eq!(
            tx.ipv6_nets_in_use(&b.id)?,
            vec!["2408:4005:3ea:ff00:9::/80".to_string()]
        );
        Ok(())
    });
    ok(store, |tx| {
        tx.ipv6_delete(&a.id, "2408:4005:3ea:ff00::10")?;
        tx.ipv6_delete(&a.id, "2408:4005:3ea:ff00:1::/80")?;
        tx.ipv6_delete(&a.id, "2408:4005:3ea:ff00:7:0:ab:1")
    });
    read(store, |tx| {
        assert_eq!(
            tx.ipv6_nets_in_use(&a.id)?,
            vec!["2408:4005:3ea:ff00::/80".to_string()]
        );
        Ok(())
    });
    ok(store, |tx| tx.ipv6_delete(&a.id, "2408:4005:3ea:ff00::11"));
    read(store, |tx| {
        assert_eq!(tx.ipv6_nets_in_use(&a.id)?, Vec::<String>::new());
        Ok(())
    });
}

fn check_vswitch_delete_refused_while_ipv6_enis_or_instances_use_it(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let still_there = |store: &dyn Store| {
        read(store, |tx| {
            assert!(tx.vswitch_get(acct, &s.id)?.is_some());
            Ok(())
        })
    };

    let addr = v6(&s.id, "2408:4005:3ea:ff00::10", "eni-1");
    ok(store, |tx| tx.ipv6_insert(&addr));
    assert_any_conflict(write(store, |tx| tx.vswitch_delete(acct, &s.id)));
    still_there(store);
    ok(store, |tx| tx.ipv6_delete(&s.id, &addr.addr));

    let e = eni(&s);
    ok(store, |tx| tx.eni_insert(&e));
    assert_any_conflict(write(store, |tx| tx.vswitch_delete(acct, &s.id)));
    still_there(store);
    ok(store, |tx| tx.eni_delete(acct, &e.id));

    let i = vpc_instance(&s);
    ok(store, |tx| tx.instance_insert(&i));
    assert_any_conflict(write(store, |tx| tx.vswitch_delete(acct, &s.id)));
    still_there(store);
    ok(store, |tx| tx.instance_delete(acct, &i.id));

    assert!(ok(store, |tx| tx.vswitch_delete(acct, &s.id)));
}

// ---- security groups ----

fn check_security_group_round_trips_and_lists_oldest_first(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let far = vpc(acct, OTHER_REGION);
    let plain = security_group(&v);
    // Timestamps run backwards so that only insertion order gives the expected list.
    let full = SecurityGroup {
        name: "web".into(),
        description: "línea 1\nline \"2\"".into(),
        group_type: "enterprise".into(),
        tags: tricky_tags(),
        created_at: T0 - 5,
        ..security_group(&v)
    };
    let third = SecurityGroup {
        created_at: T0 - 10,
        ..security_group(&v)
    };
    let elsewhere = security_group(&far);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.vpc_insert(&far)?;
        tx.security_group_insert(&plain)?;
        tx.security_group_insert(&elsewhere)?;
        tx.security_group_insert(&full)?;
        tx.security_group_insert(&third)
    });
    read(store, |tx| {
        assert_eq!(tx.security_group_get(acct, &plain.id)?, Some(plain.clone()));
        assert_eq!(tx.security_group_get(acct, &full.id)?, Some(full.clone()));
        assert_eq!(
            tx.security_group_get(acct, &SecurityGroupId::generate(REGION))?,
            None
        );
        assert_eq!(
            tx.security_group_list(acct, REGION)?,
            vec![plain.clone(), full.clone(), third.clone()]
        );
        assert_eq!(
            tx.security_group_list(acct, OTHER_REGION)?,
            vec![elsewhere.clone()]
        );
        assert_eq!(tx.security_group_list(acct, "cn-nowhere")?, Vec::new());
        Ok(())
    });
    assert!(ok(store, |tx| tx.security_group_delete(acct, &full.id)));
    assert!(!ok(store, |tx| tx.security_group_delete(acct, &full.id)));
    read(store, |tx| {
        assert_eq!(tx.security_group_get(acct, &full.id)?, None);
        assert_eq!(
            tx.security_group_list(acct, REGION)?,
            vec![plain.clone(), third.clone()]
        );
        Ok(())
    });
}

fn check_security_group_of_other_account_does_not_exist(store: &dyn Store) {
    let owner = AccountId::generate();
    let other = AccountId::generate();
    let v = vpc(owner, REGION);
    let g = security_group(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.security_group_insert(&g)
    });
    read(store, |tx| {
        assert_eq!(tx.security_group_get(other, &g.id)?, None);
        assert_eq!(tx.security_group_list(other, REGION)?, Vec::new());
        Ok(())
    });
    assert!(!ok(store, |tx| tx.security_group_delete(other, &g.id)));
    read(store, |tx| {
        assert_eq!(tx.security_group_get(owner, &g.id)?, Some(g.clone()));
        Ok(())
    });
}

fn check_security_group_delete_refused_while_enis_are_members(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let g1 = security_group(&v);
    let g2 = security_group(&v);
    let e1 = Eni {
        security_group_ids: vec![g1.id.clone(), g2.id.clone()],
        ..eni(&s)
    };
    let e2 = Eni {
        security_group_ids: vec![g1.id.clone()],
        ..eni(&s)
    };
    ok(store, |tx| {
        tx.security_group_insert(&g1)?;
        tx.security_group_insert(&g2)?;
        tx.eni_insert(&e1)?;
        tx.eni_insert(&e2)
    });
    read(store, |tx| {
        assert_eq!(tx.security_group_member_count(&g1.id)?, 2);
        assert_eq!(tx.security_group_member_count(&g2.id)?, 1);
        assert_eq!(
            tx.security_group_member_count(&SecurityGroupId::generate(REGION))?,
            0
        );
        Ok(())
    });
    assert_conflict(
        write(store, |tx| tx.security_group_delete(acct, &g1.id)),
        ENI_SECURITY_GROUP_FK,
    );
    // Leaving the group releases the membership; so does deleting the ENI.
    let e1_left = Eni {
        security_group_ids: vec![g2.id.clone()],
        ..e1.clone()
    };
    ok(store, |tx| tx.eni_update(&e1_left));
    read(store, |tx| {
        assert_eq!(tx.security_group_member_count(&g1.id)?, 1);
        assert!(tx.security_group_get(acct, &g1.id)?.is_some());
        Ok(())
    });
    assert_conflict(
        write(store, |tx| tx.security_group_delete(acct, &g1.id)),
        ENI_SECURITY_GROUP_FK,
    );
    assert!(ok(store, |tx| tx.eni_delete(acct, &e2.id)));
    read(store, |tx| {
        assert_eq!(tx.security_group_member_count(&g1.id)?, 0);
        Ok(())
    });
    assert!(ok(store, |tx| tx.security_group_delete(acct, &g1.id)));
    assert_conflict(
        write(store, |tx| tx.security_group_delete(acct, &g2.id)),
        ENI_SECURITY_GROUP_FK,
    );
}

fn check_security_group_count_in_vpc_and_vpc_delete_refused(store: &dyn Store) {
    let acct = AccountId::generate();
    let v1 = vpc(acct, REGION);
    let v2 = vpc(acct, REGION);
    let g1a = security_group(&v1);
    let g1b = security_group(&v1);
    let g2 = security_group(&v2);
    ok(store, |tx| {
        tx.vpc_insert(&v1)?;
        tx.vpc_insert(&v2)?;
        for g in [&g1a, &g1b, &g2] {
            tx.security_group_insert(g)?;
        }
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(tx.security_group_count_in_vpc(&v1.id)?, 2);
        assert_eq!(tx.security_group_count_in_vpc(&v2.id)?, 1);
        assert_eq!(tx.security_group_count_in_vpc(&VpcId::generate(REGION))?, 0);
        Ok(())
    });
    assert_any_conflict(write(store, |tx| tx.vpc_delete(acct, &v1.id)));
    ok(store, |tx| {
        tx.security_group_delete(acct, &g1a.id)?;
        tx.security_group_delete(acct, &g1b.id)
    });
    read(store, |tx| {
        assert_eq!(tx.security_group_count_in_vpc(&v1.id)?, 0);
        Ok(())
    });
    assert!(ok(store, |tx| tx.vpc_delete(acct, &v1.id)));
}

fn check_security_group_insert_requires_vpc_and_unique_id(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    let g = security_group(&v);
    assert_any_conflict(write(store, |tx| tx.security_group_insert(&g)));
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.security_group_insert(&g)
    });
    // Even for another account: IDs are global.
    let again = SecurityGroup {
        account_id: AccountId::generate(),
        ..g.clone()
    };
    assert_any_conflict(write(store, |tx| tx.security_group_insert(&again)));
}

// ---- ENIs ----

fn check_eni_round_trips_every_field(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let groups: Vec<SecurityGroup> = (0..3).map(|_| security_group(&v)).collect();
    let plain = eni(&s);
    // Every Option set, extremes of every number, and groups out of creation order.
    let full = Eni {
        eni_type: "Trunk".into(),
        status: "Attaching".into(),
        due_at: Some(T0 + 30),
        instance_id: Some(InstanceId::generate(REGION)),
        device_index: Some(u32::MAX),
        primary_ip: u32::MAX,
        name: "eth1".into(),
        description: "línea 1\nline \"2\"".into(),
        security_group_ids: vec![
            groups[2].id.clone(),
            groups[0].id.clone(),
            groups[1].id.clone(),
        ],
        delete_on_release: true,
        source_dest_check: true,
        queue_number: u32::MAX,
        traffic_mode: "HighPerformance".into(),
        tags: tricky_tags(),
        created_at: -1,
        ..eni(&s)
    };
    let zero = Eni {
        device_index: Some(0),
        instance_id: Some(InstanceId::generate(REGION)),
        primary_ip: 0,
        queue_number: 0,
        eni_type: "Primary".into(),
        status: "InUse".into(),
        ..eni(&s)
    };
    ok(store, |tx| {
        groups
            .iter()
            .try_for_each(|g| tx.security_group_insert(g))?;
        tx.eni_insert(&plain)?;
        tx.eni_insert(&full)?;
        tx.eni_insert(&zero)
    });
    read(store, |tx| {
        assert_eq!(tx.eni_get(acct, &plain.id)?, Some(plain.clone()));
        assert_eq!(tx.eni_get(acct, &full.id)?, Some(full.clone()));
        assert_eq!(tx.eni_get(acct, &zero.id)?, Some(zero.clone()));
        assert_eq!(tx.eni_get(acct, &EniId::generate(REGION))?, None);
        assert_eq!(
            tx.eni_list(acct, REGION, &EniQuery::default())?,
            vec![plain.clone(), full.clone(), zero.clone()]
        );
        Ok(())
    });
}

fn check_eni_update_rewrites_every_field_and_memberships(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let s2 = vswitch(&v);
    let g: Vec<SecurityGroup> = (0..3).map(|_| security_group(&v)).collect();
    let a = Eni {
        security_group_ids: vec![g[0].id.clone()],
        ..eni(&s)
    };
    let b = Eni {
        status: "Detaching".into(),
        due_at: Some(T0 + 1),
        instance_id: Some(InstanceId::generate(REGION)),
        device_index: Some(3),
        security_group_ids: vec![g[1].id.clone(), g[2].id.clone()],
        tags: tricky_tags(),
        ..eni(&s)
    };
    ok(store, |tx| {
        tx.vswitch_insert(&s2)?;
        g.iter().try_for_each(|x| tx.security_group_insert(x))?;
        tx.eni_insert(&a)?;
        tx.eni_insert(&b)
    });
    // Every field but the key changes; Options go None -> Some and Some -> None.
    let a2 = Eni {
        id: a.id.clone(),
        account_id: acct,
        created_at: T0 + 100,
        security_group_ids: vec![g[2].id.clone(), g[0].id.clone(), g[1].id.clone()],
        tags: tricky_tags(),
        ..b.clone()
    };
    let a2 = Eni {
        mac: next_mac(),
        instance_id: Some(InstanceId::generate(REGION)),
        region_id: REGION.into(),
        zone_id: "cn-hangzhou-k".into(),
        vswitch_id: s2.id.clone(),
        eni_type: "Trunk".into(),
        primary_ip: 0xAC10_0102,
        name: "renamed".into(),
        description: "new".into(),
        delete_on_release: true,
        source_dest_check: true,
        queue_number: 8,
        traffic_mode: "HighPerformance".into(),
        resource_group_id: ResourceGroupId::generate(REGION),
        ..a2
    };
    let b2 = Eni {
        status: "Available".into(),
        due_at: None,
        instance_id: None,
        device_index: None,
        security_group_ids: Vec::new(),
        tags: Vec::new(),
        ..b.clone()
    };
    ok(store, |tx| {
        tx.eni_update(&a2)?;
        tx.eni_update(&b2)
    });
    read(store, |tx| {
        assert_eq!(tx.eni_get(acct, &a.id)?, Some(a2.clone()));
        assert_eq!(tx.eni_get(acct, &b.id)?, Some(b2.clone()));
        for x in &g {
            assert_eq!(tx.security_group_member_count(&x.id)?, 1, "{}", x.id);
        }
        assert_eq!(tx.eni_count_in_vswitch(&s2.id)?, 1);
        Ok(())
    });
    // Reordering alone is a change too.
    let a3 = Eni {
        security_group_ids: vec![g[0].id.clone(), g[1].id.clone(), g[2].id.clone()],
        ..a2.clone()
    };
    ok(store, |tx| tx.eni_update(&a3));
    read(store, |tx| {
        assert_eq!(tx.eni_get(acct, &a.id)?, Some(a3.clone()));
        Ok(())
    });
}

fn check_eni_duplicate_mac_conflicts_across_accounts(store: &dyn Store) {
    let (_, sa) = network(store, AccountId::generate(), REGION);
    let (_, sb) = network(store, AccountId::generate(), OTHER_REGION);
    let first = eni(&sa);
    ok(store, |tx| tx.eni_insert(&first));
    let same_mac = Eni {
        mac: first.mac.clone(),
        ..eni(&sb)
    };
    assert_conflict(write(store, |tx| tx.eni_insert(&same_mac)), ENI_MAC_UNIQUE);
    // An update cannot take a MAC in use either.
    let other = eni(&sb);
    ok(store, |tx| tx.eni_insert(&other));
    let taking = Eni {
        mac: first.mac.clone(),
        ..other.clone()
    };
    assert_conflict(write(store, |tx| tx.eni_update(&taking)), ENI_MAC_UNIQUE);
    read(store, |tx| {
        assert_eq!(tx.eni_get(sb.account_id, &other.id)?, Some(other.clone()));
        Ok(())
    });
    // Once its ENI is gone, the MAC is free.
    assert!(ok(store, |tx| tx.eni_delete(sa.account_id, &first.id)));
    ok(store, |tx| tx.eni_insert(&same_mac));
}

fn check_eni_device_index_unique_per_instance(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let i1 = vpc_instance(&s);
    let i2 = vpc_instance(&s);
    let e1 = attached_eni(&s, &i1.id, 1);
    ok(store, |tx| {
        tx.instance_insert(&i1)?;
        tx.instance_insert(&i2)?;
        tx.eni_insert(&e1)
    });
    let e2 = attached_eni(&s, &i1.id, 1);
    assert_conflict(
        write(store, |tx| tx.eni_insert(&e2)),
        ENI_DEVICE_INDEX_UNIQUE,
    );
    // The same index on another instance is fine.
    let e3 = attached_eni(&s, &i2.id, 1);
    ok(store, |tx| tx.eni_insert(&e3));
    // No index, on one instance or on none, any number of times.
    let pending: Vec<Eni> = (0..2)
        .map(|_| Eni {
            status: "Attaching".into(),
            instance_id: Some(i1.id.clone()),
            device_index: None,
            ..eni(&s)
        })
        .chain((0..2).map(|_| eni(&s)))
        .collect();
    ok(store, |tx| {
        pending.iter().try_for_each(|e| tx.eni_insert(e))
    });
    // An update cannot take an index in use.
    let moving = Eni {
        instance_id: Some(i1.id.clone()),
        ..e3.clone()
    };
    assert_conflict(
        write(store, |tx| tx.eni_update(&moving)),
        ENI_DEVICE_INDEX_UNIQUE,
    );
    // Once e1 is detached, its index is free.
    let detached = Eni {
        status: "Available".into(),
        instance_id: None,
        device_index: None,
        ..e1.clone()
    };
    ok(store, |tx| tx.eni_update(&detached));
    ok(store, |tx| tx.eni_insert(&e2));
    read(store, |tx| {
        let on_i1 = EniQuery {
            instance_id: Some(i1.id.clone()),
            ..EniQuery::default()
        };
        assert_eq!(
            eni_ids(&tx.eni_list(acct, REGION, &on_i1)?),
            eni_ids([&pending[0], &pending[1], &e2])
        );
        Ok(())
    });
}

fn check_eni_list_applies_each_query_field(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v1, s1a) = network(store, acct, REGION);
    let s1b = vswitch(&v1);
    let (v2, s2) = network(store, acct, REGION);
    let (_, far) = network(store, acct, OTHER_REGION);
    let (_, theirs) = network(store, AccountId::generate(), REGION);
    let i1 = vpc_instance(&s1a);
    let i2 = vpc_instance(&s1a);
    let e1 = Eni {
        eni_type: "Primary".into(),
        ..attached_eni(&s1a, &i1.id, 0)
    };
    let e2 = attached_eni(&s1b, &i1.id, 1);
    let e3 = eni(&s2);
    let e4 = Eni {
        eni_type: "Trunk".into(),
        ..attached_eni(&s1a, &i2.id, 0)
    };
    let e5 = eni(&s1a);
    let e_far = eni(&far);
    let e_theirs = eni(&theirs);
    ok(store, |tx| {
        tx.vswitch_insert(&s1b)?;
        tx.instance_insert(&i1)?;
        tx.instance_insert(&i2)?;
        for e in [&e1, &e2, &e_theirs, &e3, &e_far, &e4, &e5] {
            tx.eni_insert(e)?;
        }
        Ok(())
    });
    let q = EniQuery::default;
    let cases: Vec<(&str, EniQuery, Vec<&Eni>)> = vec![
        ("no filter", q(), vec![&e1, &e2, &e3, &e4, &e5]),
        (
            "ids, oldest first whatever their order; others' and unknown IDs match nothing",
            EniQuery {
                ids: Some(vec![
                    e4.id.clone(),
                    e_theirs.id.clone(),
                    e1.id.clone(),
                    e_far.id.clone(),
                    EniId::generate(REGION),
                ]),
                ..q()
            },
            vec![&e1, &e4],
        ),
        (
            "an empty ID list",
            EniQuery {
                ids: Some(Vec::new()),
                ..q()
            },
            vec![],
        ),
        (
            "instance",
            EniQuery {
                instance_id: Some(i1.id.clone()),
                ..q()
            },
            vec![&e1, &e2],
        ),
        (
            "vpc 1",
            EniQuery {
                vpc_id: Some(v1.id.clone()),
                ..q()
            },
            vec![&e1, &e2, &e4, &e5],
        ),
        (
            "vpc 2",
            EniQuery {
                vpc_id: Some(v2.id.clone()),
                ..q()
            },
            vec![&e3],
        ),
        (
            "vswitch",
            EniQuery {
                vswitch_id: Some(s1a.id.clone()),
                ..q()
            },
            vec![&e1, &e4, &e5],
        ),
        (
            "type",
            EniQuery {
                eni_type: Some("Secondary".into()),
                ..q()
            },
            vec![&e2, &e3, &e5],
        ),
        (
            "vpc and type",
            EniQuery {
                vpc_id: Some(v1.id.clone()),
                eni_type: Some("Secondary".into()),
                ..q()
            },
            vec![&e2, &e5],
        ),
        (
            "ids and vswitch",
            EniQuery {
                ids: Some(vec![e1.id.clone(), e2.id.clone(), e3.id.clone()]),
                vswitch_id: Some(s1a.id.clone()),
                ..q()
            },
            vec![&e1],
        ),
        (
            "instance and type",
            EniQuery {
                instance_id: Some(i2.id.clone()),
                eni_type: Some("Trunk".into()),
                ..q()
            },
            vec![&e4],
        ),
        (
            "every field, nothing matches",
            EniQuery {
                ids: Some(vec![e4.id.clone()]),
                instance_id: Some(i2.id.clone()),
                vpc_id: Some(v1.id.clone()),
                vswitch_id: Some(s1a.id.clone()),
                eni_type: Some("Primary".into()),
            },
            vec![],
        ),
    ];
    read(store, |tx| {
        for (what, query, expected) in &cases {
            assert_eq!(
                tx.eni_list(acct, REGION, query)?,
                expected.iter().map(|e| (*e).clone()).collect::<Vec<_>>(),
                "{what}"
            );
        }
        assert_eq!(tx.eni_list(acct, OTHER_REGION, &q())?, vec![e_far.clone()]);
        Ok(())
    });
}

fn check_eni_of_other_account_does_not_exist(store: &dyn Store) {
    let owner = AccountId::generate();
    let other = AccountId::generate();
    let (_, s) = network(store, owner, REGION);
    let e = eni(&s);
    ok(store, |tx| tx.eni_insert(&e));
    read(store, |tx| {
        assert_eq!(tx.eni_get(other, &e.id)?, None);
        assert_eq!(
            tx.eni_list(other, REGION, &EniQuery::default())?,
            Vec::new()
        );
        let by_id = EniQuery {
            ids: Some(vec![e.id.clone()]),
            ..EniQuery::default()
        };
        assert_eq!(tx.eni_list(other, REGION, &by_id)?, Vec::new());
        assert_eq!(tx.eni_count(other, REGION, "Secondary")?, 0);
        Ok(())
    });
    assert!(!ok(store, |tx| tx.eni_delete(other, &e.id)));
    read(store, |tx| {
        assert_eq!(tx.eni_get(owner, &e.id)?, Some(e.clone()));
        Ok(())
    });
}

fn check_eni_count_by_type_per_account_and_region(store: &dyn Store) {
    let a = AccountId::generate();
    let b = AccountId::generate();
    let (_, sa) = network(store, a, REGION);
    let (_, sa_far) = network(store, a, OTHER_REGION);
    let (_, sb) = network(store, b, REGION);
    let typed = |s: &VSwitch, t: &str| Eni {
        eni_type: t.into(),
        ..eni(s)
    };
    ok(store, |tx| {
        for e in [
            typed(&sa, "Secondary"),
            typed(&sa, "Primary"),
            typed(&sa, "Secondary"),
            typed(&sa, "Trunk"),
            typed(&sa_far, "Secondary"),
            typed(&sb, "Secondary"),
        ] {
            tx.eni_insert(&e)?;
        }
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(tx.eni_count(a, REGION, "Secondary")?, 2);
        assert_eq!(tx.eni_count(a, REGION, "Primary")?, 1);
        assert_eq!(tx.eni_count(a, REGION, "Trunk")?, 1);
        assert_eq!(tx.eni_count(a, OTHER_REGION, "Secondary")?, 1);
        assert_eq!(tx.eni_count(a, OTHER_REGION, "Primary")?, 0);
        assert_eq!(tx.eni_count(b, REGION, "Secondary")?, 1);
        assert_eq!(tx.eni_count(b, REGION, "Trunk")?, 0);
        Ok(())
    });
}

fn check_eni_due_returns_only_due_oldest_first_up_to_limit(store: &dyn Store) {
    let (_, sa) = network(store, AccountId::generate(), REGION);
    let (_, sb) = network(store, AccountId::generate(), OTHER_REGION);
    let due = |s: &VSwitch, status: &str, at: Option<i64>| Eni {
        status: status.into(),
        due_at: at,
        instance_id: Some(InstanceId::generate(REGION)),
        ..eni(s)
    };
    // Due times run against insertion order, so "oldest first" is told apart from "soonest".
    let d1 = due(&sa, "Attaching", Some(T0 + 30));
    let idle = eni(&sa);
    let d2 = due(&sb, "Detaching", Some(T0 + 20));
    let later = due(&sa, "Deleting", Some(T0 + 100));
    let d3 = due(&sb, "Deleting", Some(T0 + 10));
    let waiting = due(&sa, "Attaching", None);
    ok(store, |tx| {
        for e in [&d1, &idle, &d2, &later, &d3, &waiting] {
            tx.eni_insert(e)?;
        }
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(
            tx.eni_due(T0 + 30, 10)?,
            vec![d1.clone(), d2.clone(), d3.clone()]
        );
        assert_eq!(tx.eni_due(T0 + 30, 2)?, vec![d1.clone(), d2.clone()]);
        assert_eq!(tx.eni_due(T0 + 30, 0)?, Vec::new());
        assert_eq!(tx.eni_due(T0 + 9, 10)?, Vec::new());
        assert_eq!(tx.eni_due(T0 + 10, 10)?, vec![d3.clone()], "due at now");
        assert_eq!(
            eni_ids(&tx.eni_due(i64::MAX, 10)?),
            eni_ids([&d1, &d2, &later, &d3])
        );
        Ok(())
    });
    // A completed transition is no longer due.
    let done = Eni {
        status: "InUse".into(),
        due_at: None,
        ..d1.clone()
    };
    ok(store, |tx| tx.eni_update(&done));
    read(store, |tx| {
        assert_eq!(tx.eni_due(T0 + 30, 10)?, vec![d2.clone(), d3.clone()]);
        Ok(())
    });
}

fn check_due_any_sees_each_kind_of_transition(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let nothing_due = |store: &dyn Store, now: i64| read(store, |tx| tx.due_any(now));
    // Rows without a due time, or in a transition an agent completes (no due time).
    let waiting = Eni {
        status: "Attaching".into(),
        instance_id: Some(InstanceId::generate(REGION)),
        ..eni(&s)
    };
    ok(store, |tx| {
        tx.eni_insert(&eni(&s))?;
        tx.eni_insert(&waiting)?;
        tx.instance_insert(&vpc_instance(&s))?;
        tx.eip_insert(&eip(acct, REGION, PUBLIC + 40))
    });
    assert!(!nothing_due(store, i64::MAX));
    // Each kind, due at T0 + 10: not due before, due at and after.
    let e = Eni {
        due_at: Some(T0 + 10),
        ..waiting.clone()
    };
    let i = Instance {
        status: "Starting".into(),
        due_at: Some(T0 + 10),
        ..vpc_instance(&s)
    };
    let n = eni_with_ip(store, &s, 0xAC10_0009);
    let a = Eip {
        due_at: Some(T0 + 10),
        ..bound(
            eip(acct, REGION, PUBLIC + 41),
            &n,
            0xAC10_0009,
            "Associating",
        )
    };
    let each = |kind: &str,
                put: &dyn Fn(&mut dyn Tx) -> Result<(), StoreError>,
                take: &dyn Fn(&mut dyn Tx) -> Result<(), StoreError>| {
        ok(store, |tx| put(tx));
        assert!(!nothing_due(store, T0 + 9), "{kind} not due yet");
        assert!(nothing_due(store, T0 + 10), "{kind} due at now");
        assert!(nothing_due(store, T0 + 11), "{kind} due before now");
        ok(store, |tx| take(tx));
        assert!(!nothing_due(store, i64::MAX), "{kind} gone");
    };
    each("ENI", &|tx| tx.eni_update(&e), &|tx| {
        tx.eni_update(&Eni {
            due_at: None,
            ..e.clone()
        })
    });
    each("instance", &|tx| tx.instance_insert(&i), &|tx| {
        tx.instance_delete(i.account_id, &i.id).map(|_| ())
    });
    each("EIP", &|tx| tx.eip_insert(&a), &|tx| {
        tx.eip_delete(a.account_id, &a.id).map(|_| ())
    });
}

fn check_eni_count_in_vswitch(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s1) = network(store, acct, REGION);
    let s2 = vswitch(&v);
    let in_s1: Vec<Eni> = (0..3).map(|_| eni(&s1)).collect();
    ok(store, |tx| {
        tx.vswitch_insert(&s2)?;
        in_s1.iter().try_for_each(|e| tx.eni_insert(e))?;
        tx.eni_insert(&eni(&s2))
    });
    read(store, |tx| {
        assert_eq!(tx.eni_count_in_vswitch(&s1.id)?, 3);
        assert_eq!(tx.eni_count_in_vswitch(&s2.id)?, 1);
        assert_eq!(tx.eni_count_in_vswitch(&VSwitchId::generate(REGION))?, 0);
        Ok(())
    });
    ok(store, |tx| tx.eni_delete(acct, &in_s1[1].id));
    read(store, |tx| {
        assert_eq!(tx.eni_count_in_vswitch(&s1.id)?, 2);
        Ok(())
    });
}

fn check_eni_delete_drops_memberships(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let g1 = security_group(&v);
    let g2 = security_group(&v);
    let e = Eni {
        security_group_ids: vec![g1.id.clone(), g2.id.clone()],
        ..eni(&s)
    };
    let keep = eni(&s);
    ok(store, |tx| {
        tx.security_group_insert(&g1)?;
        tx.security_group_insert(&g2)?;
        tx.eni_insert(&e)?;
        tx.eni_insert(&keep)
    });
    assert!(ok(store, |tx| tx.eni_delete(acct, &e.id)));
    assert!(!ok(store, |tx| tx.eni_delete(acct, &e.id)), "already gone");
    read(store, |tx| {
        assert_eq!(tx.eni_get(acct, &e.id)?, None);
        assert_eq!(tx.security_group_member_count(&g1.id)?, 0);
        assert_eq!(tx.security_group_member_count(&g2.id)?, 0);
        assert_eq!(
            tx.eni_list(acct, REGION, &EniQuery::default())?,
            vec![keep.clone()]
        );
        Ok(())
    });
    ok(store, |tx| {
        tx.security_group_delete(acct, &g1.id)?;
        tx.security_group_delete(acct, &g2.id)
    });
}

// eni_insert and eni_update write several rows; a refusal must undo all of them and leave the
// transaction usable, like a single failed statement.
fn check_eni_refused_write_leaves_nothing(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let g = security_group(&v);
    ok(store, |tx| tx.security_group_insert(&g));
    let missing = SecurityGroupId::generate(REGION);
    let broken = Eni {
        security_group_ids: vec![g.id.clone(), missing.clone()],
        ..eni(&s)
    };
    let fixed = Eni {
        security_group_ids: vec![g.id.clone()],
        ..broken.clone()
    };
    let mut tx = match store.write() {
        Ok(tx) => tx,
        Err(e) => panic!("write: {e:?}"),
    };
    assert_conflict(tx.eni_insert(&broken), ENI_SECURITY_GROUP_FK);
    assert_eq!(tx.eni_get(acct, &broken.id), Ok(None));
    assert_eq!(tx.security_group_member_count(&g.id), Ok(0));
    assert_eq!(
        tx.eni_insert(&fixed),
        Ok(()),
        "the same ENI, without the bad group"
    );
    assert_conflict(tx.eni_update(&broken), ENI_SECURITY_GROUP_FK);
    assert_eq!(tx.eni_get(acct, &fixed.id), Ok(Some(fixed.clone())));
    assert_any_conflict(tx.eni_insert(&Eni {
        vswitch_id: VSwitchId::generate(REGION),
        ..eni(&s)
    }));
    if let Err(e) = tx.commit() {
        panic!("commit after refusals: {e:?}");
    }
    read(store, |tx| {
        assert_eq!(tx.eni_get(acct, &fixed.id)?, Some(fixed.clone()));
        assert_eq!(tx.security_group_member_count(&g.id)?, 1);
        assert_eq!(tx.eni_count_in_vswitch(&s.id)?, 1);
        Ok(())
    });
}

// ---- instances ----

fn check_instance_round_trips_updates_and_deletes(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let classic = classic_instance(acct, REGION);
    let full = Instance {
        status: "Pending".into(),
        due_at: Some(T0 + 5),
        name: "web-1".into(),
        host_name: "web-1.internal".into(),
        description: "línea 1\nline \"2\"".into(),
        tags: tricky_tags(),
        started_at: None,
        created_at: -1,
        host_id: Some(HostId::generate(REGION)),
        tenancy: "host".into(),
        host_vcpus: 2,
        user_data: String::new(),
        system_disk_category: "cloud_essd".into(),
        system_disk_size: 40,
        system_disk: Default::default(),
        metadata: Default::default(),
        ..vpc_instance(&s)
    };
    ok(store, |tx| {
        tx.instance_insert(&classic)?;
        tx.instance_insert(&full)
    });
    read(store, |tx| {
        assert_eq!(tx.instance_get(acct, &classic.id)?, Some(classic.clone()));
        assert_eq!(tx.instance_get(acct, &full.id)?, Some(full.clone()));
        assert_eq!(tx.instance_get(acct, &InstanceId::generate(REGION))?, None);
        Ok(())
    });
    // Options both ways: the classic instance starts, the VPC one finishes starting.
    let classic2 = Instance {
        status: "Starting".into(),
        due_at: Some(T0 + 60),
        started_at: Some(T0 - 100),
        instance_type: "ecs.g7.xlarge".into(),
        name: "renamed".into(),
        host_name: "h".into(),
        description: "d".into(),
        image_id: "centos_7".into(),
        resource_group_id: ResourceGroupId::generate(REGION),
        tags: tricky_tags(),
        host_id: Some(HostId::generate(REGION)),
        tenancy: "host".into(),
        host_vcpus: 4,
        user_data: String::new(),
        system_disk_category: "cloud_essd".into(),
        system_disk_size: 40,
        system_disk: Default::default(),
        metadata: Default::default(),
        ..classic.clone()
    };
    let full2 = Instance {
        status: "Running".into(),
        due_at: None,
        started_at: Some(T0 + 5),
        tags: Vec::new(),
        zone_id: "cn-hangzhou-k".into(),
        ..full.clone()
    };
    ok(store, |tx| {
        tx.instance_update(&classic2)?;
        tx.instance_update(&full2)
    });
    read(store, |tx| {
        assert_eq!(tx.instance_get(acct, &classic.id)?, Some(classic2.clone()));
        assert_eq!(tx.instance_get(acct, &full.id)?, Some(full2.clone()));
        Ok(())
    });
    assert!(ok(store, |tx| tx.instance_delete(acct, &classic.id)));
    assert!(!ok(store, |tx| tx.instance_delete(acct, &classic.id)));
    read(store, |tx| {
        assert_eq!(tx.instance_get(acct, &classic.id)?, None);
        assert_eq!(tx.instance_list(acct, REGION)?, vec![full2.clone()]);
        Ok(())
    });
}

fn check_instance_list_is_oldest_first_per_region(store: &dyn Store) {
    let acct = AccountId::generate();
    let here: Vec<Instance> = (0..3)
        .map(|i| Instance {
            created_at: T0 - i,
            ..classic_instance(acct, REGION)
        })
        .collect();
    let elsewhere = classic_instance(acct, OTHER_REGION);
    for (i, inst) in here.iter().enumerate() {
        ok(store, |tx| tx.instance_insert(inst));
        if i == 0 {
            ok(store, |tx| tx.instance_insert(&elsewhere));
        }
    }
    read(store, |tx| {
        assert_eq!(tx.instance_list(acct, REGION)?, here);
        assert_eq!(
            tx.instance_list(acct, OTHER_REGION)?,
            vec![elsewhere.clone()]
        );
        assert_eq!(tx.instance_list(acct, "cn-nowhere")?, Vec::new());
        Ok(())
    });
}

fn check_instance_of_other_account_does_not_exist(store: &dyn Store) {
    let owner = AccountId::generate();
    let other = AccountId::generate();
    let i = classic_instance(owner, REGION);
    ok(store, |tx| tx.instance_insert(&i));
    read(store, |tx| {
        assert_eq!(tx.instance_get(other, &i.id)?, None);
        assert_eq!(tx.instance_list(other, REGION)?, Vec::new());
        Ok(())
    });
    assert!(!ok(store, |tx| tx.instance_delete(other, &i.id)));
    read(store, |tx| {
        assert_eq!(tx.instance_get(owner, &i.id)?, Some(i.clone()));
        Ok(())
    });
}

fn check_instance_due_returns_only_due_oldest_first_up_to_limit(store: &dyn Store) {
    let a = AccountId::generate();
    let b = AccountId::generate();
    let due = |acct: AccountId, status: &str, at: Option<i64>| Instance {
        status: status.into(),
        due_at: at,
        ..classic_instance(acct, REGION)
    };
    let d1 = due(a, "Pending", Some(T0 + 30));
    let running = due(a, "Running", None);
    let d2 = due(b, "Stopping", Some(T0 + 10));
    let later = due(a, "Starting", Some(T0 + 100));
    let d3 = due(b, "Starting", Some(T0 + 20));
    ok(store, |tx| {
        for i in [&d1, &running, &d2, &later, &d3] {
            tx.instance_insert(i)?;
        }
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(
            tx.instance_due(T0 + 30, 10)?,
            vec![d1.clone(), d2.clone(), d3.clone()]
        );
        assert_eq!(tx.instance_due(T0 + 30, 1)?, vec![d1.clone()]);
        assert_eq!(tx.instance_due(T0 + 30, 0)?, Vec::new());
        assert_eq!(tx.instance_due(T0 + 9, 10)?, Vec::new());
        assert_eq!(
            tx.instance_due(T0 + 10, 10)?,
            vec![d2.clone()],
            "due at now"
        );
        Ok(())
    });
    let done = Instance {
        status: "Stopped".into(),
        due_at: None,
        ..d2.clone()
    };
    ok(store, |tx| tx.instance_update(&done));
    read(store, |tx| {
        assert_eq!(tx.instance_due(T0 + 30, 10)?, vec![d1.clone(), d3.clone()]);
        Ok(())
    });
}

fn check_instance_count_in_vswitch(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s1) = network(store, acct, REGION);
    let s2 = vswitch(&v);
    let in_s1 = [vpc_instance(&s1), vpc_instance(&s1)];
    ok(store, |tx| {
        tx.vswitch_insert(&s2)?;
        in_s1.iter().try_for_each(|i| tx.instance_insert(i))?;
        tx.instance_insert(&vpc_instance(&s2))?;
        tx.instance_insert(&classic_instance(acct, REGION))
    });
    read(store, |tx| {
        assert_eq!(tx.instance_count_in_vswitch(&s1.id)?, 2);
        assert_eq!(tx.instance_count_in_vswitch(&s2.id)?, 1);
        assert_eq!(
            tx.instance_count_in_vswitch(&VSwitchId::generate(REGION))?,
            0
        );
        Ok(())
    });
    ok(store, |tx| tx.instance_delete(acct, &in_s1[0].id));
    read(store, |tx| {
        assert_eq!(tx.instance_count_in_vswitch(&s1.id)?, 1);
        Ok(())
    });
}

// ---- transactions ----

fn check_conflict_leaves_transaction_usable(store: &dyn Store) {
    let (a, _) = two_vswitches(store);
    ok(store, |tx| tx.private_ip_insert(&pip(&a.id, 10, "eni-1")));
    // The allocation pattern: try an address, on conflict try the next, in one transaction.
    let mut tx = match store.write() {
        Ok(tx) => tx,
        Err(e) => panic!("write: {e:?}"),
    };
    let mut picked = None;
    for ip in 10..13 {
        match tx.private_ip_insert(&pip(&a.id, ip, "eni-2")) {
            Ok(()) => {
                picked = Some(ip);
                break;
            }
            Err(e) if e.is_conflict_on(PRIVATE_IP_UNIQUE) => continue,
            Err(e) => panic!("insert {ip}: {e:?}"),
        }
    }
    assert_eq!(picked, Some(11));
    let v2 = vpc(a.account_id, REGION);
    assert!(tx.vpc_insert(&v2).is_ok(), "further writes work");
    if let Err(e) = tx.commit() {
        panic!("commit after a conflict: {e:?}");
    }
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, 2);
        assert!(tx.vpc_get(a.account_id, &v2.id)?.is_some());
        Ok(())
    });
}

fn check_rollback_on_drop_leaves_nothing(store: &dyn Store) {
    let acct = account("alice");
    let v = vpc(acct.id, REGION);
    let s = vswitch(&v);
    let g = security_group(&v);
    let e = Eni {
        security_group_ids: vec![g.id.clone()],
        ..eni(&s)
    };
    let i = vpc_instance(&s);
    {
        let mut tx = match store.write() {
            Ok(tx) => tx,
            Err(e) => panic!("write: {e:?}"),
        };
        let wrote = (|| {
            tx.account_insert(&acct)?;
            tx.vpc_insert(&v)?;
            tx.vswitch_insert(&s)?;
            tx.private_ip_insert(&pip(&s.id, 7, "eni-1"))?;
            tx.ip_free_insert(&s.id, 8, 254)?;
            tx.ipv6_insert(&v6(&s.id, "2408:4005:3ea:ff00::7", "eni-1"))?;
            tx.security_group_insert(&g)?;
            tx.eni_insert(&e)?;
            tx.instance_insert(&i)?;
            tx.nonce_record("LTAIa", "n", T0, T0 + 60)
        })();
        assert!(matches!(wrote, Ok(true)), "{wrote:?}");
        // Dropped here without commit.
    }
    read(store, |tx| {
        assert_eq!(tx.account_get(acct.id)?, None);
        assert_eq!(tx.vpc_get(acct.id, &v.id)?, None);
        assert_eq!(tx.vswitch_get(acct.id, &s.id)?, None);
        assert_eq!(tx.private_ip_count(&s.id)?, 0);
        assert_eq!(tx.ip_free_list(&s.id)?, Vec::new());
        assert_eq!(tx.ipv6_of("eni-1")?, Vec::new());
        assert_eq!(tx.security_group_get(acct.id, &g.id)?, None);
        assert_eq!(tx.security_group_member_count(&g.id)?, 0);
        assert_eq!(tx.eni_get(acct.id, &e.id)?, None);
        assert_eq!(tx.instance_get(acct.id, &i.id)?, None);
        Ok(())
    });
    assert!(
        ok(store, |tx| tx.nonce_record("LTAIa", "n", T0, T0 + 60)),
        "the nonce was never kept"
    );
    // The store is usable afterwards, and the same rows can be written for real.
    ok(store, |tx| {
        tx.account_insert(&acct)?;
        tx.vpc_insert(&v)
    });
}

fn check_restart_undoes_everything_and_lets_no_writer_in(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let undone = eni(&s);
    let kept = eni(&s);
    let intruder = vpc(acct, REGION);
    let mut tx = match store.write() {
        Ok(tx) => tx,
        Err(e) => panic!("write: {e:?}"),
    };
    let g0 = tx.dataplane_generation().unwrap();
    std::thread::scope(|scope| {
        // Another writer of the same store, waiting for the transaction above.
        let other = scope.spawn(|| ok(store, |tx| tx.vpc_insert(&intruder)));
        tx.eni_insert(&undone).unwrap();
        assert!(tx.nonce_record("LTAIr", "n1", T0, T0 + 60).unwrap());
        assert_conflict(tx.vpc_delete(acct, &v.id), VSWITCH_VPC_FK);
        // Time for the other writer to queue (if it has not, the check below is merely weaker).
        std::thread::sleep(std::time::Duration::from_millis(20));
        if let Err(e) = tx.restart() {
            panic!("restart: {e:?}");
        }
        // Nothing written before the restart is left, and no one else wrote in between.
        assert_eq!(tx.eni_get(acct, &undone.id), Ok(None));
        assert_eq!(tx.eni_count(acct, REGION, "Secondary"), Ok(0));
        assert_eq!(tx.dataplane_generation(), Ok(g0));
        assert_eq!(tx.vpc_get(acct, &intruder.id), Ok(None));
        assert_eq!(tx.vpc_count(acct, REGION), Ok(1));
        // The new transaction writes and commits as any other.
        assert_eq!(tx.nonce_record("LTAIr", "n1", T0, T0 + 60), Ok(true));
        assert_eq!(tx.eni_insert(&kept), Ok(()));
        let tx = std::mem::replace(&mut tx, store.read().unwrap());
        if let Err(e) = tx.commit() {
            panic!("commit after restart: {e:?}");
        }
        other
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
    });
    drop(tx);
    read(store, |tx| {
        assert_eq!(tx.eni_get(acct, &undone.id)?, None);
        assert_eq!(
            tx.eni_get(acct, &kept.id)?.map(|e| e.id),
            Some(kept.id.clone())
        );
        assert!(
            tx.vpc_get(acct, &intruder.id)?.is_some(),
            "the waiting writer ran after"
        );
        Ok(())
    });
    assert!(
        !ok(store, |tx| tx.nonce_record("LTAIr", "n1", T0, T0 + 60)),
        "the nonce recorded after the restart was kept"
    );
}

fn check_app_error_in_with_write_rolls_back(store: &dyn Store) {
    #[derive(Debug)]
    enum AppError {
        Refused,
        Store(StoreError),
    }
    impl From<StoreError> for AppError {
        fn from(e: StoreError) -> Self {
            AppError::Store(e)
        }
    }
    let v = vpc(AccountId::generate(), REGION);
    let result: Result<(), AppError> = with_write(store, |tx| {
        tx.vpc_insert(&v)?;
        Err(AppError::Refused)
    });
    match result {
        Err(AppError::Refused) => {}
        Err(AppError::Store(e)) => panic!("store error: {e:?}"),
        Ok(()) => panic!("the refusal was lost"),
    }
    read(store, |tx| {
        assert_eq!(tx.vpc_get(v.account_id, &v.id)?, None);
        Ok(())
    });
}

fn check_uncommitted_writes_are_invisible_to_readers(store: &dyn Store) {
    let v = vpc(AccountId::generate(), REGION);
    let mut w = match store.write() {
        Ok(tx) => tx,
        Err(e) => panic!("write: {e:?}"),
    };
    assert!(w.vpc_insert(&v).is_ok());
    // A reader opened while the writer is open neither waits for it nor sees its rows.
    read(store, |tx| {
        assert_eq!(tx.vpc_get(v.account_id, &v.id)?, None);
        Ok(())
    });
    if let Err(e) = w.commit() {
        panic!("commit: {e:?}");
    }
    read(store, |tx| {
        assert_eq!(tx.vpc_get(v.account_id, &v.id)?, Some(v.clone()));
        Ok(())
    });
}

fn check_read_transaction_is_a_snapshot(store: &dyn Store) {
    let acct = AccountId::generate();
    ok(store, |tx| tx.vpc_insert(&vpc(acct, REGION)));
    let mut r = match store.read() {
        Ok(tx) => tx,
        Err(e) => panic!("read: {e:?}"),
    };
    assert_eq!(r.vpc_count(acct, REGION), Ok(1));
    let later = vpc(acct, REGION);
    ok(store, |tx| tx.vpc_insert(&later));
    assert_eq!(
        r.vpc_count(acct, REGION),
        Ok(1),
        "a commit after the snapshot is not seen"
    );
    assert_eq!(r.vpc_get(acct, &later.id), Ok(None));
    drop(r);
    read(store, |tx| {
        assert_eq!(tx.vpc_count(acct, REGION)?, 2);
        Ok(())
    });
}

fn check_concurrent_inserts_of_same_ips_are_decided_by_schema(store: &dyn Store) {
    const THREADS: usize = 8;
    const IPS: u32 = 50;
    let (a, _) = two_vswitches(store);
    let barrier = Barrier::new(THREADS);
    let outcomes: Vec<(u32, u32)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (barrier, vsw) = (&barrier, &a.id);
                scope.spawn(move || {
                    let owner = format!("eni-{t}");
                    let (mut won, mut lost) = (0u32, 0u32);
                    barrier.wait();
                    // Each thread walks the addresses from a different start, to collide often.
                    for i in 0..IPS {
                        let ip = 0xAC10_0000 + (i + t as u32 * 7) % IPS;
                        match with_write(store, |tx| tx.private_ip_insert(&pip(vsw, ip, &owner))) {
                            Ok(()) => won += 1,
                            Err(e) if e.is_conflict_on(PRIVATE_IP_UNIQUE) => lost += 1,
                            Err(e) => panic!("thread {t}, ip {ip:#x}: {e:?}"),
                        }
                    }
                    (won, lost)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let won: u32 = outcomes.iter().map(|o| o.0).sum();
    let lost: u32 = outcomes.iter().map(|o| o.1).sum();
    assert_eq!(won, IPS, "each address is won exactly once: {outcomes:?}");
    assert_eq!(
        lost,
        IPS * (THREADS as u32 - 1),
        "every other attempt conflicts: {outcomes:?}"
    );
    read(store, |tx| {
        assert_eq!(tx.private_ip_count(&a.id)?, u64::from(IPS));
        Ok(())
    });
}

fn check_concurrent_eni_inserts_with_same_mac_one_wins(store: &dyn Store) {
    const THREADS: usize = 8;
    const MACS: usize = 10;
    let (_, s) = network(store, AccountId::generate(), REGION);
    let macs: Vec<String> = (0..MACS).map(|_| next_mac()).collect();
    let barrier = Barrier::new(THREADS);
    let outcomes: Vec<Vec<bool>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (barrier, s, macs) = (&barrier, &s, &macs);
                scope.spawn(move || {
                    barrier.wait();
                    // Every thread tries every MAC, each with an ENI of its own.
                    macs.iter()
                        .map(|mac| {
                            let e = Eni {
                                mac: mac.clone(),
                                ..eni(s)
                            };
                            match with_write(store, |tx| tx.eni_insert(&e)) {
                                Ok(()) => true,
                                Err(e) if e.is_conflict_on(ENI_MAC_UNIQUE) => false,
                                Err(e) => panic!("thread {t}, mac {mac}: {e:?}"),
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for (i, mac) in macs.iter().enumerate() {
        let winners = outcomes.iter().filter(|o| o[i]).count();
        assert_eq!(winners, 1, "{mac} is won exactly once: {outcomes:?}");
    }
    read(store, |tx| {
        let stored = tx.eni_list(s.account_id, REGION, &EniQuery::default())?;
        assert_eq!(stored.len(), MACS);
        let mut stored_macs: Vec<String> = stored.into_iter().map(|e| e.mac).collect();
        stored_macs.sort();
        assert_eq!(stored_macs, macs);
        Ok(())
    });
}

fn check_dataplane_generation_grows_with_committed_changes_only(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let g0 = read(store, |tx| tx.dataplane_generation());
    let mut e = eni(&s);
    ok(store, |tx| tx.eni_insert(&e));
    let g1 = read(store, |tx| tx.dataplane_generation());
    assert!(g1 > g0, "insert: {g0} -> {g1}");
    // A rename is on no host: the generation stays (0019's WHEN clauses).
    e.name = "renamed".into();
    ok(store, |tx| tx.eni_update(&e));
    assert_eq!(read(store, |tx| tx.dataplane_generation()), g1, "rename");
    e.source_dest_check = !e.source_dest_check;
    ok(store, |tx| tx.eni_update(&e));
    let g2 = read(store, |tx| tx.dataplane_generation());
    assert!(g2 > g1, "update: {g1} -> {g2}");
    let ip = PrivateIp {
        vswitch_id: s.id.clone(),
        ip: 0x0A00_0107,
        owner: e.id.to_string(),
        kind: IpKind::Secondary,
        prefix: None,
    };
    ok(store, |tx| tx.private_ip_insert(&ip));
    let g3 = read(store, |tx| tx.dataplane_generation());
    assert!(g3 > g2, "address: {g2} -> {g3}");
    let addr6 = v6(&s.id, "2408:4005:300:a100::7", e.id.as_str());
    ok(store, |tx| tx.ipv6_insert(&addr6));
    let g4 = read(store, |tx| tx.dataplane_generation());
    assert!(g4 > g3, "IPv6 address: {g3} -> {g4}");
    ok(store, |tx| tx.ipv6_delete(&s.id, &addr6.addr).map(|_| ()));
    let g5 = read(store, |tx| tx.dataplane_generation());
    assert!(g5 > g4, "IPv6 release: {g4} -> {g5}");
    let g3 = g5;
    // A rolled-back change leaves it where it was.
    {
        let mut tx = store.write().expect("write");
        tx.eni_delete(acct, &e.id).expect("delete");
        drop(tx);
    }
    assert_eq!(read(store, |tx| tx.dataplane_generation()), g3);
    let inst = classic_instance(acct, REGION);
    ok(store, |tx| tx.instance_insert(&inst));
    assert!(read(store, |tx| tx.dataplane_generation()) > g3);
}

fn check_instance_list_all_spans_accounts_and_regions(store: &dyn Store) {
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let i1 = classic_instance(a, REGION);
    let i2 = classic_instance(b, "cn-beijing");
    let i3 = classic_instance(a, "cn-beijing");
    ok(store, |tx| {
        tx.instance_insert(&i1)?;
        tx.instance_insert(&i2)?;
        tx.instance_insert(&i3)
    });
    let all = read(store, |tx| tx.instance_list_all());
    let ids: Vec<_> = all.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids, vec![i1.id, i2.id, i3.id]);
}

// ---- whole tables, for the data plane ----

fn check_vpc_and_vswitch_list_all_span_accounts_oldest_first(store: &dyn Store) {
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let (v1, s1) = network(store, a, REGION);
    let (v2, s2) = network(store, b, OTHER_REGION);
    // A later vSwitch of the first VPC comes after the second VPC's.
    let s3 = vswitch(&v1);
    let v3 = vpc(a, OTHER_REGION);
    ok(store, |tx| {
        tx.vswitch_insert(&s3)?;
        tx.vpc_insert(&v3)
    });
    let vpcs = read(store, |tx| tx.vpc_list_all());
    assert_eq!(vpcs, vec![v1, v2, v3]);
    let vswitches = read(store, |tx| tx.vswitch_list_all());
    assert_eq!(vswitches, vec![s1, s2, s3.clone()]);
    // Deleted rows are gone.
    assert!(ok(store, |tx| tx.vswitch_delete(a, &s3.id)));
    assert_eq!(read(store, |tx| tx.vswitch_list_all()).len(), 2);
}

fn check_eni_list_all_spans_accounts_oldest_first(store: &dyn Store) {
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let (va, sa) = network(store, a, REGION);
    let (_, sb) = network(store, b, OTHER_REGION);
    let inst = vpc_instance(&sa);
    let g1 = security_group(&va);
    let g2 = security_group(&va);
    let first = Eni {
        security_group_ids: vec![g2.id.clone(), g1.id.clone()],
        tags: tricky_tags(),
        ..eni(&sa)
    };
    let second = eni(&sb);
    let third = attached_eni(&sa, &inst.id, 1);
    ok(store, |tx| {
        tx.security_group_insert(&g1)?;
        tx.security_group_insert(&g2)?;
        tx.instance_insert(&inst)?;
        tx.eni_insert(&first)?;
        tx.eni_insert(&second)?;
        tx.eni_insert(&third)
    });
    // An update keeps an ENI's place.
    let first = Eni {
        status: "Attaching".into(),
        instance_id: Some(inst.id.clone()),
        device_index: Some(2),
        due_at: Some(T0 * 1000),
        security_group_ids: vec![g1.id.clone()],
        ..first
    };
    ok(store, |tx| tx.eni_update(&first));
    let all = read(store, |tx| tx.eni_list_all());
    assert_eq!(all, vec![first, second, third.clone()]);
    assert!(ok(store, |tx| tx.eni_delete(a, &third.id)));
    assert_eq!(read(store, |tx| tx.eni_list_all()).len(), 2);
}

fn check_private_ips_all_and_ipv6_all_in_insertion_order(store: &dyn Store) {
    let (_, sa) = network(store, AccountId::generate(), REGION);
    let (_, sb) = network(store, AccountId::generate(), OTHER_REGION);
    // Owners interleaved across accounts, so per-owner order is not table order.
    let rows = vec![
        PrivateIp {
            kind: IpKind::Primary,
            ..pip(&sa.id, 0xAC10_0009, "eni-1")
        },
        PrivateIp {
            kind: IpKind::Primary,
            ..pip(&sb.id, 0xAC10_0001, "eni-2")
        },
        pip(&sa.id, 0xAC10_0003, "eni-1"),
        PrivateIp {
            kind: IpKind::Prefix,
            prefix: Some(0xAC10_0020),
            ..pip(&sb.id, 0xAC10_0020, "eni-2")
        },
        pip(&sa.id, 0xAC10_0002, "eni-1"),
    ];
    let v6_rows = vec![
        v6(&sa.id, "2408:4005:300:a100::7", "eni-1"),
        v6(&sb.id, "2408:4005:300:b100:1::/80", "eni-2"),
        v6(&sa.id, "2408:4005:300:a100::3", "eni-1"),
        v6(&sa.id, "2408:4005:300:a100:2::/80", "eni-1"),
    ];
    ok(store, |tx| {
        for r in &rows {
            tx.private_ip_insert(r)?;
        }
        for r in &v6_rows {
            tx.ipv6_insert(r)?;
        }
        Ok(())
    });
    read(store, |tx| {
        assert_eq!(tx.private_ips_all()?, rows);
        assert_eq!(tx.ipv6_all()?, v6_rows);
        // Each owner's rows, in table order, are what the per-owner reads return.
        for owner in ["eni-1", "eni-2"] {
            let all = tx.private_ips_all()?;
            let mine: Vec<_> = all.into_iter().filter(|r| r.owner == owner).collect();
            assert_eq!(mine, tx.private_ips_of(owner)?);
            let all = tx.ipv6_all()?;
            let mine: Vec<_> = all.into_iter().filter(|r| r.owner == owner).collect();
            assert_eq!(mine, tx.ipv6_of(owner)?);
        }
        Ok(())
    });
    ok(store, |tx| {
        tx.private_ip_delete(&sa.id, 0xAC10_0003)?;
        tx.ipv6_delete(&sa.id, "2408:4005:300:a100::3")
    });
    assert_eq!(read(store, |tx| tx.private_ips_all()).len(), rows.len() - 1);
    assert_eq!(read(store, |tx| tx.ipv6_all()).len(), v6_rows.len() - 1);
}

fn check_sg_rules_all_and_policies_all_span_accounts_oldest_first(store: &dyn Store) {
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let va = vpc(a, REGION);
    let vb = vpc(b, OTHER_REGION);
    let g1 = security_group(&va);
    let g2 = security_group(&vb);
    let g3 = security_group(&va);
    // Rules of different groups interleaved; a rule naming a peer group.
    let r1 = sg_rule(&g1);
    let r2 = SecurityGroupRule {
        direction: SgDirection::Egress,
        source_cidr_ip: String::new(),
        dest_cidr_ip: "192.168.0.0/16".into(),
        ..sg_rule(&g2)
    };
    let r3 = SecurityGroupRule {
        source_cidr_ip: String::new(),
        peer_group_id: Some(g3.id.clone()),
        created_at: T0 - 10,
        ..sg_rule(&g1)
    };
    ok(store, |tx| {
        tx.vpc_insert(&va)?;
        tx.vpc_insert(&vb)?;
        for g in [&g1, &g2, &g3] {
            tx.security_group_insert(g)?;
        }
        for r in [&r1, &r2, &r3] {
            tx.sg_rule_insert(r)?;
        }
        Ok(())
    });
    ok(store, |tx| {
        tx.sg_inner_access_policy_set(b, &g2.id, SgPolicy::Drop)
            .map(|_| ())
    });
    read(store, |tx| {
        assert_eq!(tx.sg_rules_all()?, vec![r1.clone(), r2.clone(), r3.clone()]);
        assert_eq!(
            tx.sg_inner_access_policies_all()?,
            vec![
                (g1.id.clone(), SgPolicy::Accept),
                (g2.id.clone(), SgPolicy::Drop),
                (g3.id.clone(), SgPolicy::Accept),
            ]
        );
        Ok(())
    });
    assert!(ok(store, |tx| tx.sg_rule_delete(&g1.id, &r1.id)));
    assert_eq!(read(store, |tx| tx.sg_rules_all()), vec![r2, r3]);
}

fn check_eips_associated_all_spans_vpcs_oldest_first(store: &dyn Store) {
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let (va, sa) = network(store, a, REGION);
    let (vb, sb) = network(store, b, OTHER_REGION);
    let n1 = eni_with_ip(store, &sa, 0xAC10_0005);
    let n2 = eni_with_ip(store, &sb, 0xAC10_0005);
    let n3 = eni_with_ip(store, &sa, 0xAC10_0006);
    let n4 = eni_with_ip(store, &sa, 0xAC10_0007);
    let e1 = bound(eip(a, REGION, PUBLIC + 3), &n1, 0xAC10_0005, "InUse");
    let e2 = bound(
        eip(b, OTHER_REGION, PUBLIC),
        &n2,
        0xAC10_0005,
        "Associating",
    );
    let leaving = bound(
        eip(a, REGION, PUBLIC + 1),
        &n4,
        0xAC10_0007,
        "Unassociating",
    );
    let idle = eip(b, OTHER_REGION, PUBLIC + 4);
    let e3 = bound(eip(a, REGION, PUBLIC + 2), &n3, 0xAC10_0006, "Associating");
    ok(store, |tx| {
        for e in [&e1, &e2, &leaving, &idle, &e3] {
            tx.eip_insert(e)?;
        }
        Ok(())
    });
    let assoc = |e: &Eip, ip: u32, n: &Eni| EipAssociation {
        allocation_id: e.id.clone(),
        public_ip: e.ip.into(),
        private_ip: ip.into(),
        eni_id: n.id.clone(),
        bandwidth: e.bandwidth,
        mode: e.mode.clone(),
    };
    let all = read(store, |tx| tx.eips_associated_all());
    assert_eq!(
        all,
        vec![
            (va.id.clone(), assoc(&e1, 0xAC10_0005, &n1)),
            (vb.id.clone(), assoc(&e2, 0xAC10_0005, &n2)),
            (va.id.clone(), assoc(&e3, 0xAC10_0006, &n3)),
        ]
    );
    // Each VPC's part, in order, is what the per-VPC read returns.
    for v in [&va.id, &vb.id] {
        let mine: Vec<_> = all
            .iter()
            .filter(|(id, _)| id == v)
            .map(|(_, x)| x.clone())
            .collect();
        assert_eq!(mine, read(store, |tx| tx.eips_associated_in_vpc(v)));
    }
}

// ---- security group rules ----

fn check_sg_rules_round_trip_every_field_oldest_first(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let g = security_group(&v);
    let peer = security_group(&v);
    let first = SecurityGroupRule {
        description: "línea \"1\"".into(),
        source_port_range: Some((1024, 65535)),
        dest_cidr_ip: "192.168.1.7".into(),
        created_at: T0 + 5,
        ..sg_rule(&g)
    };
    let second = SecurityGroupRule {
        direction: SgDirection::Egress,
        protocol: SgProtocol::Icmpv6,
        port_range: (-1, -1),
        source_cidr_ip: String::new(),
        ipv6_dest_cidr_ip: "2408:4000::/32".into(),
        policy: SgPolicy::Drop,
        priority: 100,
        created_at: T0,
        ..sg_rule(&g)
    };
    let third = SecurityGroupRule {
        protocol: SgProtocol::All,
        port_range: (-1, -1),
        source_cidr_ip: String::new(),
        peer_group_id: Some(peer.id.clone()),
        created_at: T0 - 5,
        ..sg_rule(&g)
    };
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.security_group_insert(&g)?;
        tx.security_group_insert(&peer)?;
        tx.sg_rule_insert(&first)?;
        tx.sg_rule_insert(&second)?;
        tx.sg_rule_insert(&third)
    });
    read(store, |tx| {
        assert_eq!(
            tx.sg_rules_of(&g.id)?,
            vec![first.clone(), second.clone(), third.clone()]
        );
        assert_eq!(tx.sg_rules_of(&peer.id)?, Vec::new());
        assert_eq!(
            tx.sg_rules_of(&SecurityGroupId::generate(REGION))?,
            Vec::new()
        );
        Ok(())
    });
    // Deleting the group takes its rules along.
    assert!(ok(store, |tx| tx.security_group_delete(acct, &g.id)));
    read(store, |tx| {
        assert_eq!(tx.sg_rules_of(&g.id)?, Vec::new());
        Ok(())
    });
}

fn check_sg_rule_identical_conflicts_but_any_field_differs_is_new(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let g = security_group(&v);
    let peer = security_group(&v);
    let base = sg_rule(&g);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.security_group_insert(&g)?;
        tx.security_group_insert(&peer)?;
        tx.sg_rule_insert(&base)
    });
    // The same rule again, under another ID, description and time.
    let same = SecurityGroupRule {
        id: SecurityGroupRuleId::generate(REGION),
        description: "other words".into(),
        created_at: T0 + 1,
        ..base.clone()
    };
    assert_conflict(write(store, |tx| tx.sg_rule_insert(&same)), SG_RULE_UNIQUE);
    // A second ID is a second row, never a replacement.
    assert_any_conflict(write(store, |tx| {
        tx.sg_rule_insert(&SecurityGroupRule {
            priority: 2,
            ..base.clone()
        })
    }));
    let fresh = || SecurityGroupRule {
        id: SecurityGroupRuleId::generate(REGION),
        ..base.clone()
    };
    let variants = vec![
        SecurityGroupRule {
            direction: SgDirection::Egress,
            source_cidr_ip: String::new(),
            dest_cidr_ip: "10.0.0.0/8".into(),
            ..fresh()
        },
        SecurityGroupRule {
            protocol: SgProtocol::Udp,
            ..fresh()
        },
        SecurityGroupRule {
            port_range: (22, 23),
            ..fresh()
        },
        SecurityGroupRule {
            source_port_range: Some((22, 22)),
            ..fresh()
        },
        SecurityGroupRule {
            source_cidr_ip: "10.0.0.0/9".into(),
            ..fresh()
        },
        SecurityGroupRule {
            source_cidr_ip: String::new(),
            ipv6_source_cidr_ip: "2408::/16".into(),
            ..fresh()
        },
        SecurityGroupRule {
            dest_cidr_ip: "10.1.0.0/16".into(),
            ..fresh()
        },
        SecurityGroupRule {
            source_cidr_ip: String::new(),
            peer_group_id: Some(peer.id.clone()),
            ..fresh()
        },
        SecurityGroupRule {
            policy: SgPolicy::Drop,
            ..fresh()
        },
        SecurityGroupRule {
            priority: 7,
            ..fresh()
        },
    ];
    for r in &variants {
        ok(store, |tx| tx.sg_rule_insert(r));
    }
    let stored = read(store, |tx| tx.sg_rules_of(&g.id));
    assert_eq!(stored.len(), 1 + variants.len());
    // The same rule in another group is that group's own.
    let elsewhere = SecurityGroupRule {
        id: SecurityGroupRuleId::generate(REGION),
        security_group_id: peer.id.clone(),
        ..base.clone()
    };
    ok(store, |tx| tx.sg_rule_insert(&elsewhere));
}

fn check_sg_rule_delete_is_scoped_by_group(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let g = security_group(&v);
    let other = security_group(&v);
    let r1 = sg_rule(&g);
    let r2 = SecurityGroupRule {
        priority: 2,
        ..sg_rule(&g)
    };
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.security_group_insert(&g)?;
        tx.security_group_insert(&other)?;
        tx.sg_rule_insert(&r1)?;
        tx.sg_rule_insert(&r2)
    });
    assert!(!ok(store, |tx| tx.sg_rule_delete(&other.id, &r1.id)));
    assert!(ok(store, |tx| tx.sg_rule_delete(&g.id, &r1.id)));
    assert!(!ok(store, |tx| tx.sg_rule_delete(&g.id, &r1.id)));
    read(store, |tx| {
        assert_eq!(tx.sg_rules_of(&g.id)?, vec![r2.clone()]);
        Ok(())
    });
    // A revoked rule can be authorized again.
    ok(store, |tx| tx.sg_rule_insert(&r1));
}

fn check_sg_rule_requires_group_and_peer_and_referenced_group_is_kept(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let g = security_group(&v);
    let peer = security_group(&v);
    let missing = security_group(&v);
    ok(store, |tx| {
        tx.security_group_insert(&g)?;
        tx.security_group_insert(&peer)
    });
    assert_conflict(
        write(store, |tx| tx.sg_rule_insert(&sg_rule(&missing))),
        SG_RULE_GROUP_FK,
    );
    let to_missing = SecurityGroupRule {
        source_cidr_ip: String::new(),
        peer_group_id: Some(missing.id.clone()),
        ..sg_rule(&g)
    };
    assert_conflict(
        write(store, |tx| tx.sg_rule_insert(&to_missing)),
        SG_RULE_PEER_FK,
    );
    let to_peer = SecurityGroupRule {
        source_cidr_ip: String::new(),
        peer_group_id: Some(peer.id.clone()),
        ..sg_rule(&g)
    };
    ok(store, |tx| tx.sg_rule_insert(&to_peer));
    assert_conflict(
        write(store, |tx| tx.security_group_delete(acct, &peer.id)),
        SG_RULE_PEER_FK,
    );
    // Members are named before references.
    let member = Eni {
        security_group_ids: vec![peer.id.clone()],
        ..eni(&s)
    };
    ok(store, |tx| tx.eni_insert(&member));
    assert_conflict(
        write(store, |tx| tx.security_group_delete(acct, &peer.id)),
        ENI_SECURITY_GROUP_FK,
    );
    assert!(ok(store, |tx| tx.eni_delete(acct, &member.id)));
    // Once the referencing rule is gone (here with its whole group), the peer can go.
    assert!(ok(store, |tx| tx.security_group_delete(acct, &g.id)));
    assert!(ok(store, |tx| tx.security_group_delete(acct, &peer.id)));
}

fn check_sg_inner_access_policy_get_and_set(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let normal = security_group(&v);
    let enterprise = SecurityGroup {
        group_type: "enterprise".into(),
        inner_access_policy: SgPolicy::Drop,
        ..security_group(&v)
    };
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.security_group_insert(&normal)?;
        tx.security_group_insert(&enterprise)
    });
    read(store, |tx| {
        assert_eq!(
            tx.sg_inner_access_policy(&normal.id)?,
            Some(SgPolicy::Accept)
        );
        assert_eq!(
            tx.sg_inner_access_policy(&enterprise.id)?,
            Some(SgPolicy::Drop)
        );
        assert_eq!(
            tx.sg_inner_access_policy(&SecurityGroupId::generate(REGION))?,
            None
        );
        assert_eq!(
            tx.security_group_get(acct, &enterprise.id)?,
            Some(enterprise.clone())
        );
        Ok(())
    });
    assert!(ok(store, |tx| tx.sg_inner_access_policy_set(
        acct,
        &normal.id,
        SgPolicy::Drop
    )));
    // Setting the same value again still finds the group.
    assert!(ok(store, |tx| tx.sg_inner_access_policy_set(
        acct,
        &normal.id,
        SgPolicy::Drop
    )));
    // Another account's group is not there.
    assert!(!ok(store, |tx| tx.sg_inner_access_policy_set(
        AccountId::generate(),
        &normal.id,
        SgPolicy::Accept
    )));
    read(store, |tx| {
        assert_eq!(tx.sg_inner_access_policy(&normal.id)?, Some(SgPolicy::Drop));
        let g = tx.security_group_get(acct, &normal.id)?.expect("group");
        assert_eq!(g.inner_access_policy, SgPolicy::Drop);
        Ok(())
    });
}

fn check_dataplane_generation_grows_with_rules_and_policies(store: &dyn Store) {
    let acct = AccountId::generate();
    let v = vpc(acct, REGION);
    let g = security_group(&v);
    ok(store, |tx| {
        tx.vpc_insert(&v)?;
        tx.security_group_insert(&g)
    });
    let gen = |store: &dyn Store| read(store, |tx| tx.dataplane_generation());
    let g0 = gen(store);
    let r = sg_rule(&g);
    ok(store, |tx| tx.sg_rule_insert(&r));
    let g1 = gen(store);
    assert!(g1 > g0, "rule insert: {g0} -> {g1}");
    ok(store, |tx| tx.sg_rule_delete(&g.id, &r.id).map(|_| ()));
    let g2 = gen(store);
    assert!(g2 > g1, "rule delete: {g1} -> {g2}");
    ok(store, |tx| {
        tx.sg_inner_access_policy_set(acct, &g.id, SgPolicy::Drop)
            .map(|_| ())
    });
    let g3 = gen(store);
    assert!(g3 > g2, "policy change: {g2} -> {g3}");
    // A refused rule changes nothing.
    let refused = SecurityGroupRule {
        security_group_id: SecurityGroupId::generate(REGION),
        ..sg_rule(&g)
    };
    assert_any_conflict(write(store, |tx| tx.sg_rule_insert(&refused)));
    assert_eq!(gen(store), g3);
}

// ---- elastic IP addresses ----

/// An unbound EIP of `account` in `region` holding `ip`.
fn eip(account: AccountId, region: &str, ip: u32) -> Eip {
    Eip {
        id: EipId::generate(region),
        account_id: account,
        region_id: region.into(),
        ip,
        bandwidth: 5,
        internet_charge_type: "PayByBandwidth".into(),
        instance_charge_type: "PostPaid".into(),
        isp: "BGP".into(),
        name: String::new(),
        description: String::new(),
        resource_group_id: ResourceGroupId::generate(region),
        tags: Vec::new(),
        status: "Available".into(),
        due_at: None,
        binding: None,
        created_at: T0,
        mode: "NAT".into(),
    }
}

/// `e` bound in `status` to `ip` of ENI `n`, named by the ENI itself.
fn bound(mut e: Eip, n: &Eni, ip: u32, status: &str) -> Eip {
    e.status = status.into();
    e.binding = Some(EipBinding {
        instance_id: n.id.to_string(),
        instance_type: "NetworkInterface".into(),
        eni_id: n.id.clone(),
        vpc_id: n.vpc_id.clone(),
        vswitch_id: n.vswitch_id.clone(),
        private_ip: ip,
    });
    e
}

/// An ENI in `s` holding the secondary address `ip`.
fn eni_with_ip(store: &dyn Store, s: &VSwitch, ip: u32) -> Eni {
    let n = eni(s);
    ok(store, |tx| {
        tx.eni_insert(&n)?;
        tx.private_ip_insert(&pip(&s.id, ip, n.id.as_str()))
    });
    n
}

const PUBLIC: u32 = 0xC612_0001; // 198.18.0.1

fn check_eip_round_trips_binding_and_lists_oldest_first(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let n = eni_with_ip(store, &s, 0xAC10_0005);
    let mut a = eip(acct, REGION, PUBLIC);
    a.tags = vec![("k".into(), "v".into())];
    a.name = "a".into();
    let b = eip(acct, REGION, PUBLIC + 1);
    let elsewhere = eip(acct, OTHER_REGION, PUBLIC + 2);
    ok(store, |tx| {
        tx.eip_insert(&a)?;
        tx.eip_insert(&b)?;
        tx.eip_insert(&elsewhere)
    });
    assert_eq!(read(store, |tx| tx.eip_get(acct, &a.id)), Some(a.clone()));
    let mut a2 = bound(a.clone(), &n, 0xAC10_0005, "Associating");
    a2.due_at = Some(T0 * 1000);
    ok(store, |tx| tx.eip_update(&a2));
    assert_eq!(read(store, |tx| tx.eip_get(acct, &a.id)), Some(a2.clone()));
    assert_eq!(read(store, |tx| tx.eips_of_eni(&n.id)), vec![a2.clone()]);
    let listed = read(store, |tx| tx.eip_list(acct, REGION));
    assert_eq!(listed, vec![a2, b.clone()]);
    // Another account sees none of them.
    let other = AccountId::generate();
    assert_eq!(read(store, |tx| tx.eip_get(other, &b.id)), None);
    assert!(read(store, |tx| tx.eip_list(other, REGION)).is_empty());
    assert!(!ok(store, |tx| tx.eip_delete(other, &b.id)));
    assert!(ok(store, |tx| tx.eip_delete(acct, &b.id)));
    assert_eq!(read(store, |tx| tx.eip_get(acct, &b.id)), None);
}

fn check_eip_address_unique_across_accounts(store: &dyn Store) {
    let a = eip(AccountId::generate(), REGION, PUBLIC);
    let b = eip(AccountId::generate(), OTHER_REGION, PUBLIC);
    ok(store, |tx| tx.eip_insert(&a));
    assert_conflict(write(store, |tx| tx.eip_insert(&b)), EIP_ADDRESS_UNIQUE);
}

fn check_eip_private_ip_takes_one_eip(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let n = eni_with_ip(store, &s, 0xAC10_0005);
    let a = bound(eip(acct, REGION, PUBLIC), &n, 0xAC10_0005, "InUse");
    let b = eip(acct, REGION, PUBLIC + 1);
    ok(store, |tx| {
        tx.eip_insert(&a)?;
        tx.eip_insert(&b)
    });
    let b2 = bound(b.clone(), &n, 0xAC10_0005, "Associating");
    assert_conflict(write(store, |tx| tx.eip_update(&b2)), EIP_PRIVATE_IP_UNIQUE);
    assert_eq!(read(store, |tx| tx.eip_get(acct, &b.id)), Some(b));
}

fn check_eip_count_is_per_account_and_region_in_every_state(store: &dyn Store) {
    let acct = AccountId::generate();
    let other = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let n = eni_with_ip(store, &s, 0xAC10_0005);
    assert_eq!(read(store, |tx| tx.eip_count(acct, REGION)), 0);
    let a = eip(acct, REGION, PUBLIC);
    ok(store, |tx| {
        tx.eip_insert(&a)?;
        tx.eip_insert(&bound(
            eip(acct, REGION, PUBLIC + 1),
            &n,
            0xAC10_0005,
            "InUse",
        ))?;
        tx.eip_insert(&eip(acct, OTHER_REGION, PUBLIC + 2))?;
        tx.eip_insert(&eip(other, REGION, PUBLIC + 3))
    });
    read(store, |tx| {
        assert_eq!(tx.eip_count(acct, REGION)?, 2, "Available and InUse alike");
        assert_eq!(tx.eip_count(acct, OTHER_REGION)?, 1);
        assert_eq!(tx.eip_count(other, REGION)?, 1);
        assert_eq!(tx.eip_count(other, OTHER_REGION)?, 0);
        Ok(())
    });
    assert!(ok(store, |tx| tx.eip_delete(acct, &a.id)));
    assert_eq!(read(store, |tx| tx.eip_count(acct, REGION)), 1);
}

fn check_eip_ips_in_lists_held_addresses_of_the_range_ascending(store: &dyn Store) {
    assert_eq!(read(store, |tx| tx.eip_ips_in(10, 20)), Vec::<u32>::new());
    ok(store, |tx| {
        // Inserted out of order, by two accounts in two regions.
        for (ip, region) in [(14, REGION), (10, OTHER_REGION), (21, REGION), (12, REGION)] {
            tx.eip_insert(&eip(AccountId::generate(), region, ip))?;
        }
        tx.eip_insert(&eip(AccountId::generate(), REGION, u32::MAX))
    });
    read(store, |tx| {
        assert_eq!(tx.eip_ips_in(10, 20)?, vec![10, 12, 14]);
        assert_eq!(tx.eip_ips_in(11, 21)?, vec![12, 14, 21], "inclusive");
        assert_eq!(tx.eip_ips_in(15, 20)?, Vec::<u32>::new());
        assert_eq!(tx.eip_ips_in(20, 10)?, Vec::<u32>::new());
        assert_eq!(tx.eip_ips_in(0, u32::MAX)?, vec![10, 12, 14, 21, u32::MAX]);
        Ok(())
    });
}

const POOL: &str = "198.18.0.0/15";
const OTHER_POOL: &str = "203.0.113.0/24";

fn check_eip_free_ranges_first_containing_list_per_pool(store: &dyn Store) {
    const MAX: u32 = u32::MAX;
    ok(store, |tx| tx.eip_pool_reset(POOL));
    read(store, |tx| {
        assert_eq!(tx.eip_free_first(POOL)?, None);
        assert_eq!(tx.eip_free_list(POOL)?, Vec::new());
        assert_eq!(tx.eip_free_containing(POOL, 15)?, None);
        Ok(())
    });
    ok(store, |tx| {
        tx.eip_free_insert(POOL, 40, 50)?;
        tx.eip_free_insert(POOL, 10, 20)?;
        tx.eip_free_insert(POOL, 30, 30)?;
        tx.eip_free_insert(POOL, MAX - 1, MAX)
    });
    read(store, |tx| {
        assert_eq!(tx.eip_free_first(POOL)?, Some((10, 20)));
        assert_eq!(
            tx.eip_free_list(POOL)?,
            vec![(10, 20), (30, 30), (40, 50), (MAX - 1, MAX)]
        );
        for (ip, expected) in [
            (0, None),
            (9, None),
            (10, Some((10, 20))),
            (15, Some((10, 20))),
            (20, Some((10, 20))),
            (21, None),
            (30, Some((30, 30))),
            (31, None),
            (50, Some((40, 50))),
            (51, None),
            (MAX - 2, None),
            (MAX, Some((MAX - 1, MAX))),
        ] {
            assert_eq!(tx.eip_free_containing(POOL, ip)?, expected, "{ip}");
        }
        // Another pool's name finds nothing.
        assert_eq!(tx.eip_free_first(OTHER_POOL)?, None);
        assert_eq!(tx.eip_free_containing(OTHER_POOL, 15)?, None);
        Ok(())
    });
}

fn check_eip_free_delete_is_by_low_end_and_per_pool(store: &dyn Store) {
    ok(store, |tx| {
        tx.eip_pool_reset(POOL)?;
        tx.eip_free_insert(POOL, 10, 19)?;
        tx.eip_free_insert(POOL, 30, 39)
    });
    assert!(
        !ok(store, |tx| tx.eip_free_delete(OTHER_POOL, 10)),
        "another pool's"
    );
    assert!(
        !ok(store, |tx| tx.eip_free_delete(POOL, 15)),
        "only a range's first address names it"
    );
    assert!(ok(store, |tx| tx.eip_free_delete(POOL, 10)));
    assert!(
        !ok(store, |tx| tx.eip_free_delete(POOL, 10)),
        "already gone"
    );
    read(store, |tx| {
        assert_eq!(tx.eip_free_list(POOL)?, vec![(30, 39)]);
        assert_eq!(tx.eip_free_first(POOL)?, Some((30, 39)));
        Ok(())
    });
    // A deleted low end may start a range again.
    ok(store, |tx| tx.eip_free_insert(POOL, 10, 12));
    assert_eq!(
        read(store, |tx| tx.eip_free_list(POOL)),
        vec![(10, 12), (30, 39)]
    );
}

fn check_eip_free_insert_refuses_duplicate_lo_reversed_range_and_unrecorded_pool(
    store: &dyn Store,
) {
    ok(store, |tx| {
        tx.eip_pool_reset(POOL)?;
        tx.eip_free_insert(POOL, 10, 19)
    });
    assert_any_conflict(write(store, |tx| tx.eip_free_insert(POOL, 10, 12)));
    assert_any_conflict(write(store, |tx| tx.eip_free_insert(POOL, 30, 29)));
    assert_any_conflict(write(store, |tx| tx.eip_free_insert(OTHER_POOL, 1, 2)));
    // A refused statement leaves the transaction usable.
    ok(store, |tx| {
        assert!(tx.eip_free_insert(POOL, 10, 12).is_err());
        tx.eip_free_insert(POOL, 40, 40)
    });
    read(store, |tx| {
        assert_eq!(tx.eip_free_list(POOL)?, vec![(10, 19), (40, 40)]);
        assert!(!tx.eip_pool_exists(OTHER_POOL)?);
        Ok(())
    });
}

fn check_eip_pool_reset_keeps_one_pool_and_starts_it_empty(store: &dyn Store) {
    read(store, |tx| {
        assert!(!tx.eip_pool_exists(POOL)?);
        Ok(())
    });
    ok(store, |tx| {
        tx.eip_pool_reset(POOL)?;
        tx.eip_free_insert(POOL, 10, 19)
    });
    read(store, |tx| {
        assert!(tx.eip_pool_exists(POOL)?);
        assert!(!tx.eip_pool_exists(OTHER_POOL)?);
        Ok(())
    });
    // A rolled-back reset changes nothing.
    let _ = write(store, |tx| -> Result<(), StoreError> {
        tx.eip_pool_reset(OTHER_POOL)?;
        Err(StoreError::Backend("roll back".into()))
    });
    read(store, |tx| {
        assert!(tx.eip_pool_exists(POOL)?);
        assert!(!tx.eip_pool_exists(OTHER_POOL)?);
        assert_eq!(tx.eip_free_list(POOL)?, vec![(10, 19)]);
        Ok(())
    });
    // Another pool replaces it: the old pool and its ranges are gone.
    ok(store, |tx| {
        tx.eip_pool_reset(OTHER_POOL)?;
        tx.eip_free_insert(OTHER_POOL, 100, 200)
    });
    read(store, |tx| {
        assert!(!tx.eip_pool_exists(POOL)?);
        assert!(tx.eip_pool_exists(OTHER_POOL)?);
        assert_eq!(tx.eip_free_list(POOL)?, Vec::new());
        assert_eq!(tx.eip_free_first(POOL)?, None);
        assert_eq!(tx.eip_free_list(OTHER_POOL)?, vec![(100, 200)]);
        Ok(())
    });
    assert_any_conflict(write(store, |tx| tx.eip_free_insert(POOL, 1, 2)));
    // Resetting the pool in use empties its list.
    ok(store, |tx| tx.eip_pool_reset(OTHER_POOL));
    read(store, |tx| {
        assert!(tx.eip_pool_exists(OTHER_POOL)?);
        assert_eq!(tx.eip_free_list(OTHER_POOL)?, Vec::new());
        Ok(())
    });
}

fn check_eip_due_returns_only_due_oldest_first(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let n = eni_with_ip(store, &s, 0xAC10_0005);
    let n2 = eni_with_ip(store, &s, 0xAC10_0006);
    let mut early = bound(eip(acct, REGION, PUBLIC), &n, 0xAC10_0005, "Associating");
    early.due_at = Some(100);
    let mut late = bound(
        eip(acct, REGION, PUBLIC + 1),
        &n2,
        0xAC10_0006,
        "Unassociating",
    );
    late.due_at = Some(200);
    let idle = eip(acct, REGION, PUBLIC + 2);
    ok(store, |tx| {
        tx.eip_insert(&early)?;
        tx.eip_insert(&late)?;
        tx.eip_insert(&idle)
    });
    let ids = |v: Vec<Eip>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(read(store, |tx| tx.eip_due(150, 10))),
        vec![early.id.clone()]
    );
    assert_eq!(
        ids(read(store, |tx| tx.eip_due(200, 10))),
        vec![early.id.clone(), late.id]
    );
    assert_eq!(
        ids(read(store, |tx| tx.eip_due(200, 1))),
        vec![early.id.clone()]
    );
    // Waiting for a data plane: in transition with no due time, whatever the account.
    let other = AccountId::generate();
    let (_, s2) = network(store, other, REGION);
    let n3 = eni_with_ip(store, &s2, 0xAC10_0007);
    let waiting = bound(
        eip(other, REGION, PUBLIC + 3),
        &n3,
        0xAC10_0007,
        "Associating",
    );
    let mut undoing = bound(
        eip(acct, REGION, PUBLIC + 4),
        &n,
        0xAC10_0008,
        "Unassociating",
    );
    undoing.due_at = None;
    ok(store, |tx| {
        tx.eip_insert(&waiting)?;
        tx.eip_insert(&undoing)
    });
    assert_eq!(
        ids(read(store, |tx| tx.eips_awaiting_dataplane())),
        vec![waiting.id, undoing.id]
    );
}

fn check_eip_releasing_private_ip_unbinds_it(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let n = eni_with_ip(store, &s, 0xAC10_0005);
    let mut a = bound(eip(acct, REGION, PUBLIC), &n, 0xAC10_0005, "Associating");
    a.due_at = Some(T0 * 1000);
    ok(store, |tx| tx.eip_insert(&a));
    ok(store, |tx| tx.private_ip_delete(&s.id, 0xAC10_0005));
    let after = read(store, |tx| tx.eip_get(acct, &a.id)).expect("the EIP stays");
    assert_eq!(after.status, "Available");
    assert_eq!(after.binding, None);
    assert_eq!(after.due_at, None);
    assert!(read(store, |tx| tx.eips_of_eni(&n.id)).is_empty());
}

fn check_eips_associated_in_vpc_lists_live_associations(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let (v2, s2) = network(store, acct, REGION);
    let n = eni_with_ip(store, &s, 0xAC10_0005);
    let n2 = eni_with_ip(store, &s, 0xAC10_0006);
    let n3 = eni_with_ip(store, &s, 0xAC10_0007);
    let far = eni_with_ip(store, &s2, 0xAC10_0005);
    let a = bound(eip(acct, REGION, PUBLIC), &n, 0xAC10_0005, "InUse");
    let mut b = bound(
        eip(acct, REGION, PUBLIC + 1),
        &n2,
        0xAC10_0006,
        "Associating",
    );
    b.mode = "MULTI_BINDED".into();
    let leaving = bound(
        eip(acct, REGION, PUBLIC + 2),
        &n3,
        0xAC10_0007,
        "Unassociating",
    );
    let other_vpc = bound(eip(acct, REGION, PUBLIC + 3), &far, 0xAC10_0005, "InUse");
    let idle = eip(acct, REGION, PUBLIC + 4);
    ok(store, |tx| {
        for e in [&a, &b, &leaving, &other_vpc, &idle] {
            tx.eip_insert(e)?;
        }
        Ok(())
    });
    let live = read(store, |tx| tx.eips_associated_in_vpc(&v.id));
    assert_eq!(
        live,
        vec![
            EipAssociation {
                allocation_id: a.id.clone(),
                public_ip: PUBLIC.into(),
                private_ip: 0xAC10_0005u32.into(),
                eni_id: n.id.clone(),
                bandwidth: a.bandwidth,
                mode: "NAT".into(),
            },
            EipAssociation {
                allocation_id: b.id.clone(),
                public_ip: (PUBLIC + 1).into(),
                private_ip: 0xAC10_0006u32.into(),
                eni_id: n2.id.clone(),
                bandwidth: b.bandwidth,
                mode: "MULTI_BINDED".into(),
            },
        ]
    );
    let far_live = read(store, |tx| tx.eips_associated_in_vpc(&v2.id));
    assert_eq!(far_live.len(), 1);
    assert_eq!(far_live[0].eni_id, far.id);
}

fn check_dataplane_generation_grows_with_eip_associations(store: &dyn Store) {
    let acct = AccountId::generate();
    let (_, s) = network(store, acct, REGION);
    let n = eni_with_ip(store, &s, 0xAC10_0005);
    let gen = |store: &dyn Store| read(store, |tx| tx.dataplane_generation());
    let a = eip(acct, REGION, PUBLIC);
    let g0 = gen(store);
    ok(store, |tx| tx.eip_insert(&a));
    // Allocating an unbound address is nothing a data plane sees.
    assert_eq!(gen(store), g0);
    let a2 = bound(a.clone(), &n, 0xAC10_0005, "Associating");
    ok(store, |tx| tx.eip_update(&a2));
    let g1 = gen(store);
    assert!(g1 > g0, "association starts: {g0} -> {g1}");
    let mut a3 = a2.clone();
    a3.status = "InUse".into();
    ok(store, |tx| tx.eip_update(&a3));
    let g2 = gen(store);
    assert!(g2 > g1, "association completes: {g1} -> {g2}");
    let mut renamed = a3.clone();
    renamed.name = "renamed".into();
    ok(store, |tx| tx.eip_update(&renamed));
    assert_eq!(gen(store), g2, "a rename is not data-plane state");
    ok(store, |tx| tx.private_ip_delete(&s.id, 0xAC10_0005));
    let g3 = gen(store);
    assert!(g3 > g2, "association ends with the address: {g2} -> {g3}");
}

/// Each data-plane change records its scope: the VPC it changed (an ENI, an address, an
/// instance, a rule, a policy), `internet` for a change that may move an EIP's NAT, `*` for a
/// host; a read since a generation returns the scopes after it, each once; a rolled-back change
/// records nothing; a generation ahead of the store is not covered.
fn check_dataplane_changes_name_the_scope_of_each_change(store: &dyn Store) {
    use crate::{SCOPE_ALL, SCOPE_INTERNET};
    use std::collections::BTreeSet;
    let acct = AccountId::generate();
    let (va, sa) = network(store, acct, REGION);
    let (vb, sb) = network(store, acct, REGION);
    let gen = |store: &dyn Store| read(store, |tx| tx.dataplane_generation());
    let since = |store: &dyn Store, g: u64| read(store, |tx| tx.dataplane_changes_since(g));
    let set = |xs: &[&str]| Some(xs.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>());
    let g0 = gen(store);
    assert_eq!(
        since(store, g0),
        set(&[]),
        "nothing after the current generation"
    );
    assert_eq!(
        since(store, g0 + 1),
        None,
        "a generation ahead of the store"
    );
    // An ENI and its address: their VPC.
    let n = eni_with_ip(store, &sa, 0x0A00_0109);
    assert_eq!(since(store, g0), set(&[va.id.as_str()]));
    let g1 = gen(store);
    assert!(g1 > g0);
    // An address in the other VPC's vSwitch, and an instance there.
    let m = eni(&sb);
    ok(store, |tx| {
        tx.eni_insert(&m)?;
        tx.private_ip_insert(&pip(&sb.id, 0x0A00_010A, m.id.as_str()))
    });
    ok(store, |tx| tx.instance_insert(&vpc_instance(&sb)));
    assert_eq!(since(store, g1), set(&[vb.id.as_str()]));
    assert_eq!(since(store, g0), set(&[va.id.as_str(), vb.id.as_str()]));
    // A rule and a policy: their group's VPC.
    let g2 = gen(store);
    let group = security_group(&va);
    ok(store, |tx| tx.security_group_insert(&group));
    assert_eq!(since(store, g2), set(&[]), "a new group holds nothing yet");
    ok(store, |tx| tx.sg_rule_insert(&sg_rule(&group)));
    assert_eq!(since(store, g2), set(&[va.id.as_str()]));
    // An association: its VPC and the internet; then an update of its ENI, the internet too.
    let g3 = gen(store);
    let a = eip(acct, REGION, PUBLIC + 7);
    ok(store, |tx| tx.eip_insert(&a));
    assert_eq!(
        since(store, g3),
        set(&[]),
        "an unbound EIP is nothing a data plane sees"
    );
    ok(store, |tx| {
        tx.eip_update(&bound(a.clone(), &n, 0x0A00_0109, "Associating"))
    });
    assert_eq!(since(store, g3), set(&[va.id.as_str(), SCOPE_INTERNET]));
    // A bound EIP's bandwidth is capped on its host: a change of it is a change there; an
    // unbound one's is nothing a data plane sees.
    let g35 = gen(store);
    let mut faster = read(store, |tx| tx.eip_get(acct, &a.id)).unwrap();
    faster.bandwidth += 5;
    ok(store, |tx| tx.eip_update(&faster));
    assert_eq!(since(store, g35), set(&[va.id.as_str(), SCOPE_INTERNET]));
    let idle = eip(acct, REGION, PUBLIC + 8);
    ok(store, |tx| tx.eip_insert(&idle));
    let g36 = gen(store);
    let mut idle_faster = idle.clone();
    idle_faster.bandwidth += 5;
    ok(store, |tx| tx.eip_update(&idle_faster));
    assert_eq!(gen(store), g36, "an unbound EIP's bandwidth");
    // Likewise its mode: a bound EIP's decides where its address is.
    let g37 = gen(store);
    let mut visible = read(store, |tx| tx.eip_get(acct, &a.id)).unwrap();
    visible.mode = "BINDED".into();
    ok(store, |tx| tx.eip_update(&visible));
    assert_eq!(since(store, g37), set(&[va.id.as_str(), SCOPE_INTERNET]));
    assert_eq!(
        read(store, |tx| tx.eip_get(acct, &a.id)).unwrap().mode,
        "BINDED"
    );
    let g38 = gen(store);
    let mut idle_visible = idle_faster.clone();
    idle_visible.mode = "MULTI_BINDED".into();
    ok(store, |tx| tx.eip_update(&idle_visible));
    assert_eq!(gen(store), g38, "an unbound EIP's mode");
    let mut bad = idle_visible.clone();
    bad.mode = "DIRECT".into();
    assert!(
        write(store, |tx| tx.eip_update(&bad)).is_err(),
        "the schema knows the modes"
    );
    let g4 = gen(store);
    let mut renamed = n.clone();
    renamed.name = "renamed".into();
    ok(store, |tx| tx.eni_update(&renamed));
    assert_eq!(since(store, g4), set(&[]), "a rename is on no host");
    renamed.source_dest_check = !renamed.source_dest_check;
    ok(store, |tx| tx.eni_update(&renamed));
    assert_eq!(since(store, g4), set(&[va.id.as_str(), SCOPE_INTERNET]));
    let g5 = gen(store);
    let mut other = m.clone();
    other.source_dest_check = !other.source_dest_check;
    ok(store, |tx| tx.eni_update(&other));
    assert_eq!(
        since(store, g5),
        set(&[vb.id.as_str()]),
        "an ENI with no EIP"
    );
    // A rolled-back change records nothing.
    let g6 = gen(store);
    {
        let mut tx = store.write().expect("write");
        tx.eni_update(&n).expect("update");
        drop(tx);
    }
    assert_eq!(since(store, g6), set(&[]));
    // A host: everything.
    ok(store, |tx| {
        tx.host_insert(&host_row("changes-node", "cn-hangzhou-h"))
    });
    assert_eq!(since(store, g6), set(&[SCOPE_ALL]));
}

/// ModifyVpcAttribute and ModifyVSwitchAttribute: the name and description change, nothing
/// else does; another account's row is not found; a data plane sees nothing.
fn check_vpc_and_vswitch_set_name_of_their_account_only(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let g0 = read(store, |tx| tx.dataplane_generation());
    assert!(ok(store, |tx| tx.name_set(
        Table::Vpc,
        acct,
        v.id.as_str(),
        "renamed",
        "d1"
    )));
    assert!(ok(store, |tx| tx.name_set(
        Table::VSwitch,
        acct,
        s.id.as_str(),
        "vsw",
        "d2"
    )));
    let got = read(store, |tx| tx.vpc_get(acct, &v.id)).unwrap();
    assert_eq!(
        (got.name.as_str(), got.description.as_str()),
        ("renamed", "d1")
    );
    assert_eq!(got.cidr_block, v.cidr_block);
    let got = read(store, |tx| tx.vswitch_get(acct, &s.id)).unwrap();
    assert_eq!((got.name.as_str(), got.description.as_str()), ("vsw", "d2"));
    assert_eq!(got.cidr_block, s.cidr_block);
    let g = security_group(&v);
    ok(store, |tx| tx.security_group_insert(&g));
    assert!(ok(store, |tx| tx.name_set(
        Table::SecurityGroup,
        acct,
        g.id.as_str(),
        "sg",
        "d3"
    )));
    let got = read(store, |tx| tx.security_group_get(acct, &g.id)).unwrap();
    assert_eq!((got.name.as_str(), got.description.as_str()), ("sg", "d3"));
    let other = AccountId::generate();
    assert!(!ok(store, |tx| tx.name_set(
        Table::SecurityGroup,
        other,
        g.id.as_str(),
        "x",
        ""
    )));
    assert!(!ok(store, |tx| tx.name_set(
        Table::Vpc,
        other,
        v.id.as_str(),
        "x",
        ""
    )));
    assert!(!ok(store, |tx| tx.name_set(
        Table::VSwitch,
        other,
        s.id.as_str(),
        "x",
        ""
    )));
    assert_eq!(read(store, |tx| tx.dataplane_generation()), g0);
}

/// TagResources' store write: a row's tags replaced whole, of its account only; an ENI's tag
/// index follows (a tag filter finds it by the new tags, not the old).
/// A system disk's and a route table's name, description and tags live on their owner's row;
/// they, and an ENI's or an instance's own labels and resource group, are on no host, so their
/// writes leave the data-plane generation where it was.
fn check_labels_of_disks_and_route_tables_move_no_generation(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let inst = vpc_instance(&s);
    let n = eni(&s);
    ok(store, |tx| {
        tx.instance_insert(&inst)?;
        tx.eni_insert(&n)
    });
    let g0 = read(store, |tx| tx.dataplane_generation());
    let tags = vec![("team".to_string(), "blue".to_string())];
    let rg = ResourceGroupId::generate(REGION);
    for (table, id) in [
        (Table::Disk, inst.id.as_str()),
        (Table::Instance, inst.id.as_str()),
        (Table::RouteTable, v.id.as_str()),
        (Table::Eni, n.id.as_str()),
    ] {
        assert!(
            ok(store, |tx| tx.tags_set(table, acct, id, &tags)),
            "{table:?}"
        );
        assert!(
            ok(store, |tx| tx.name_set(table, acct, id, "n1", "d1")),
            "{table:?}"
        );
        let has_group = table.resource_group_column().is_some();
        assert_eq!(
            ok(store, |tx| tx.resource_group_set(table, acct, id, &rg)),
            has_group,
            "{table:?}"
        );
    }
    assert_eq!(read(store, |tx| tx.dataplane_generation()), g0);
    let got = read(store, |tx| tx.instance_get(acct, &inst.id)).unwrap();
    let labels = crate::Labels {
        name: "n1".into(),
        description: "d1".into(),
        tags: tags.clone(),
    };
    assert_eq!(got.system_disk, labels);
    assert_eq!((got.name.as_str(), got.tags.clone()), ("n1", tags.clone()));
    assert_eq!(got.resource_group_id, rg);
    let vpc = read(store, |tx| tx.vpc_get(acct, &v.id)).unwrap();
    assert_eq!(vpc.route_table, labels);
    assert_eq!((vpc.name, vpc.tags), (v.name.clone(), v.tags.clone()));
    let e = read(store, |tx| tx.eni_get(acct, &n.id)).unwrap();
    assert_eq!((e.name.as_str(), e.tags.clone()), ("n1", tags));
    // A write of what a host renders still moves it.
    let mut moved = got.clone();
    moved.host_name = "renamed-host".into();
    ok(store, |tx| tx.instance_update(&moved));
    let g1 = read(store, |tx| tx.dataplane_generation());
    assert!(g1 > g0);
    // So does a change of an ENI's groups alone (JoinSecurityGroup), logged under its VPC;
    // rewriting the same groups does not.
    let (g_a, g_b) = (security_group(&v), security_group(&v));
    ok(store, |tx| {
        tx.security_group_insert(&g_a)?;
        tx.security_group_insert(&g_b)
    });
    let mut joined = read(store, |tx| tx.eni_get(acct, &n.id)).unwrap();
    joined.security_group_ids = vec![g_a.id.clone()];
    ok(store, |tx| tx.eni_update(&joined));
    let g2 = read(store, |tx| tx.dataplane_generation());
    assert!(g2 > g1, "join: {g1} -> {g2}");
    joined.security_group_ids = vec![g_a.id.clone(), g_b.id.clone()];
    ok(store, |tx| tx.eni_update(&joined));
    let g3 = read(store, |tx| tx.dataplane_generation());
    assert!(g3 > g2, "second group: {g2} -> {g3}");
    let logged = read(store, |tx| tx.dataplane_changes_since(g2)).expect("within the log");
    assert_eq!(
        logged.into_iter().collect::<Vec<_>>(),
        vec![v.id.to_string()]
    );
    ok(store, |tx| tx.eni_update(&joined));
    assert_eq!(
        read(store, |tx| tx.dataplane_generation()),
        g3,
        "the same groups again"
    );
}

fn check_tags_set_rewrites_the_tags_and_the_eni_tag_index(store: &dyn Store) {
    let acct = AccountId::generate();
    let (v, s) = network(store, acct, REGION);
    let n = eni(&s);
    ok(store, |tx| tx.eni_insert(&n));
    let tags = vec![("team".to_string(), "blue".to_string())];
    assert!(ok(store, |tx| tx.tags_set(
        Table::Eni,
        acct,
        n.id.as_str(),
        &tags
    )));
    assert!(ok(store, |tx| tx.tags_set(
        Table::Vpc,
        acct,
        v.id.as_str(),
        &tags
    )));
    assert_eq!(
        read(store, |tx| tx.vpc_get(acct, &v.id)).unwrap().tags,
        tags
    );
    assert_eq!(
        read(store, |tx| tx.eni_get(acct, &n.id)).unwrap().tags,
        tags
    );
    let by_tag = |value: &str| {
        let filter = crate::EniFilter {
            tags: vec![("team".to_string(), Some(value.to_string()))],
            ..Default::default()
        };
        read(store, |tx| {
            tx.eni_find(acct, REGION, &filter, crate::Window::after(None, 10))
        })
        .into_iter()
        .map(|(_, e)| e.id)
        .collect::<Vec<_>>()
    };
    assert_eq!(by_tag("blue"), vec![n.id.clone()]);
    let retagged = vec![("team".to_string(), "red".to_string())];
    assert!(ok(store, |tx| tx.tags_set(
        Table::Eni,
        acct,
        n.id.as_str(),
        &retagged
    )));
    assert_eq!(by_tag("blue"), Vec::<EniId>::new());
    assert_eq!(by_tag("red"), vec![n.id.clone()]);
    // JoinResourceGroup: the ENI's group changes, and the group filter follows.
    let rg = ResourceGroupId::generate(REGION);
    assert!(ok(store, |tx| tx.resource_group_set(
        Table::Eni,
        acct,
        n.id.as_str(),
        &rg
    )));
    let in_group = crate::EniFilter {
        resource_group_id: Some(rg.to_string()),
        ..Default::default()
    };
    let found = read(store, |tx| {
        tx.eni_find(acct, REGION, &in_group, crate::Window::after(None, 10))
    });
    assert_eq!(found.len(), 1);
    assert_eq!(
        read(store, |tx| tx.eni_find_count(acct, REGION, &in_group)),
        1
    );
    let g = security_group(&v);
    let rule = sg_rule(&g);
    ok(store, |tx| {
        tx.security_group_insert(&g)?;
        tx.sg_rule_insert(&rule)
    });
    // ModifySecurityGroupRule: a rule rewritten in place (its place in the order kept).
    let mut changed = rule.clone();
    changed.description = "described".into();
    changed.port_range = (8080, 8081);
    assert!(ok(store, |tx| tx.sg_rule_update(&changed)));
    assert_eq!(
        read(store, |tx| tx.sg_rules_of(&g.id)),
        vec![changed.clone()]
    );
    // Made the same as another rule of the group: a conflict.
    let mut twin = sg_rule(&g);
    twin.port_range = (9000, 9000);
    ok(store, |tx| tx.sg_rule_insert(&twin));
    let mut clash = twin.clone();
    clash.port_range = changed.port_range;
    clash.description = changed.description.clone();
    clash.priority = changed.priority;
    assert_conflict(write(store, |tx| tx.sg_rule_update(&clash)), SG_RULE_UNIQUE);
    let other = AccountId::generate();
    assert!(!ok(store, |tx| tx.tags_set(
        Table::Eni,
        other,
        n.id.as_str(),
        &tags
    )));
    assert!(!ok(store, |tx| tx.tags_set(
        Table::VSwitch,
        acct,
        "vsw-none",
        &tags
    )));
    let _ = s;
}
