//! SQLite errors to [`StoreError`]: busy and locked become `Busy`, a full disk and I/O errors
//! `Unavailable`, every constraint violation becomes `Conflict` with the constraint's schema
//! name, anything else is `Backend`.
//!
//! SQLite names a failed CHECK ("CHECK constraint failed: vpc_is_default_bool") but reports a
//! unique violation by its columns ("UNIQUE constraint failed: private_ips.vswitch_id,
//! private_ips.ip") and a foreign-key violation with no detail at all. [`UNIQUE_CONSTRAINTS`]
//! maps column lists back to names. Foreign keys are named by the caller: an insert or update
//! knows the one key it can trip; a delete of a parent, which may be referenced from several
//! tables, asks [`FOREIGN_KEYS`] which children to look in (see `SqliteTx::delete_parent`).

use eni_store::{constraints, StoreError};
use rusqlite::ffi;
use rusqlite::ErrorCode;

/// Every unique and primary-key constraint of the schema, by the column list SQLite reports.
/// A test walks the live schema and fails if one is missing here.
pub(crate) const UNIQUE_CONSTRAINTS: &[(&str, &str)] = &[
    ("accounts.id", "account_pk"),
    ("counters.name", "counter_pk"),
    (
        "resource_counts.account_id, resource_counts.region_id, resource_counts.kind",
        "resource_count_pk",
    ),
    (
        "eni_counts.account_id, eni_counts.region_id, eni_counts.dim, eni_counts.value",
        "eni_count_pk",
    ),
    ("vswitch_ip_counts.vswitch_id", "vswitch_ip_count_pk"),
    ("accounts.name", constraints::ACCOUNT_NAME_UNIQUE),
    ("access_keys.seq", "access_key_seq_pk"),
    ("access_keys.id", constraints::ACCESS_KEY_PK),
    ("nonces.access_key_id, nonces.nonce", constraints::NONCE_PK),
    (
        "idempotency.account_id, idempotency.action, idempotency.token",
        constraints::IDEMPOTENCY_PK,
    ),
    ("vpcs.seq", "vpc_seq_pk"),
    ("vpcs.id", "vpc_pk"),
    ("vswitches.seq", "vswitch_seq_pk"),
    ("vswitches.id", "vswitch_pk"),
    ("private_ips.seq", "private_ip_seq_pk"),
    (
        "private_ips.vswitch_id, private_ips.ip",
        constraints::PRIVATE_IP_UNIQUE,
    ),
    (
        "ip_free_ranges.vswitch_id, ip_free_ranges.lo",
        "ip_free_range_pk",
    ),
    ("ipv6_addrs.seq", "ipv6_seq_pk"),
    (
        "ipv6_addrs.vswitch_id, ipv6_addrs.addr",
        constraints::IPV6_UNIQUE,
    ),
    ("security_groups.seq", "security_group_seq_pk"),
    ("security_groups.id", "security_group_pk"),
    ("enis.seq", "eni_seq_pk"),
    ("enis.id", "eni_pk"),
    ("enis.mac", constraints::ENI_MAC_UNIQUE),
    (
        "enis.instance_id, enis.device_index",
        constraints::ENI_DEVICE_INDEX_UNIQUE,
    ),
    (
        "eni_security_groups.eni_id, eni_security_groups.position",
        "eni_security_group_pk",
    ),
    (
        "eni_security_groups.security_group_id, eni_security_groups.eni_seq",
        "eni_security_group_unique",
    ),
    ("settings.name", constraints::SETTING_PK),
    ("console_sessions.token_hash", constraints::CONSOLE_SESSION_PK),
    ("departures.instance_id", "departure_pk"),
    ("dataplane_changes.generation, dataplane_changes.scope", "dataplane_change_pk"),
    ("hosts.seq", "host_seq_pk"),
    ("hosts.id", "host_pk"),
    ("hosts.name, hosts.zone_id", constraints::HOST_NAME_ZONE_UNIQUE),
    ("security_group_rules.seq", "security_group_rule_seq_pk"),
    ("security_group_rules.id", "security_group_rule_pk"),
    (
        "security_group_rules.security_group_id, security_group_rules.direction, security_group_rules.ip_protocol, security_group_rules.port_from, security_group_rules.port_to, security_group_rules.source_port_range, security_group_rules.source_cidr_ip, security_group_rules.ipv6_source_cidr_ip, security_group_rules.dest_cidr_ip, security_group_rules.ipv6_dest_cidr_ip, security_group_rules.peer_key, security_group_rules.policy, security_group_rules.priority, security_group_rules.nic_type",
        constraints::SG_RULE_UNIQUE,
    ),
    ("eip_pools.id", "eip_pool_pk"),
    (
        "eip_free_ranges.pool_id, eip_free_ranges.lo",
        "eip_free_range_pk",
    ),
    ("eips.seq", "eip_seq_pk"),
    ("eips.id", "eip_pk"),
    ("eips.ip", constraints::EIP_ADDRESS_UNIQUE),
    (
        "eips.vswitch_id, eips.private_ip",
        constraints::EIP_PRIVATE_IP_UNIQUE,
    ),
    ("instances.seq", "instance_seq_pk"),
    ("instances.id", "instance_pk"),
    ("schema_migrations.version", "schema_migrations_pk"),
];

/// Names of the schema's foreign keys that no other backend shares (those in
/// [`eni_store::constraints`] are used from there).
pub(crate) mod fk {
    pub(crate) const IP_FREE_RANGE_VSWITCH: &str = "ip_free_range_vswitch_fk";
    pub(crate) const IPV6_VSWITCH: &str = "ipv6_vswitch_fk";
    pub(crate) const ENI_VSWITCH: &str = "eni_vswitch_fk";
    pub(crate) const ENI_SECURITY_GROUP_ENI: &str = "eni_security_group_eni_fk";
    pub(crate) const INSTANCE_VSWITCH: &str = "instance_vswitch_fk";
    pub(crate) const EIP_FREE_RANGE_POOL: &str = "eip_free_range_pool_fk";
}

/// One foreign key: `child.column` references `parent.id`.
#[derive(Debug)]
pub(crate) struct ForeignKey {
    pub(crate) name: &'static str,
    pub(crate) child: &'static str,
    pub(crate) column: &'static str,
    pub(crate) parent: &'static str,
    /// `ON DELETE CASCADE`: deleting the parent deletes the children instead of failing.
    pub(crate) cascade: bool,
}

/// Every foreign key of the schema. A test compares it with the live schema. When a parent
/// delete fails, its non-cascading children are probed in this order and the first that
/// still references the parent names the conflict.
pub(crate) const FOREIGN_KEYS: &[ForeignKey] = &[
    ForeignKey {
        name: constraints::VSWITCH_VPC_FK,
        child: "vswitches",
        column: "vpc_id",
        parent: "vpcs",
        cascade: false,
    },
    ForeignKey {
        name: constraints::SECURITY_GROUP_VPC_FK,
        child: "security_groups",
        column: "vpc_id",
        parent: "vpcs",
        cascade: false,
    },
    ForeignKey {
        name: constraints::PRIVATE_IP_VSWITCH_FK,
        child: "private_ips",
        column: "vswitch_id",
        parent: "vswitches",
        cascade: false,
    },
    ForeignKey {
        name: fk::IPV6_VSWITCH,
        child: "ipv6_addrs",
        column: "vswitch_id",
        parent: "vswitches",
        cascade: false,
    },
    ForeignKey {
        name: fk::ENI_VSWITCH,
        child: "enis",
        column: "vswitch_id",
        parent: "vswitches",
        cascade: false,
    },
    ForeignKey {
        name: fk::INSTANCE_VSWITCH,
        child: "instances",
        column: "vswitch_id",
        parent: "vswitches",
        cascade: false,
    },
    ForeignKey {
        name: fk::IP_FREE_RANGE_VSWITCH,
        child: "ip_free_ranges",
        column: "vswitch_id",
        parent: "vswitches",
        cascade: true,
    },
    ForeignKey {
        name: fk::EIP_FREE_RANGE_POOL,
        child: "eip_free_ranges",
        column: "pool_id",
        parent: "eip_pools",
        cascade: true,
    },
    ForeignKey {
        name: constraints::ENI_SECURITY_GROUP_FK,
        child: "eni_security_groups",
        column: "security_group_id",
        parent: "security_groups",
        cascade: false,
    },
    // After the members: a group with members and referencing rules is reported in use.
    ForeignKey {
        name: constraints::SG_RULE_PEER_FK,
        child: "security_group_rules",
        column: "peer_group_id",
        parent: "security_groups",
        cascade: false,
    },
    ForeignKey {
        name: constraints::SG_RULE_GROUP_FK,
        child: "security_group_rules",
        column: "security_group_id",
        parent: "security_groups",
        cascade: true,
    },
    ForeignKey {
        name: fk::ENI_SECURITY_GROUP_ENI,
        child: "eni_security_groups",
        column: "eni_id",
        parent: "enis",
        cascade: true,
    },
];

/// Reported for a foreign-key failure in a statement whose caller named no key; the schema's
/// foreign keys are all named by their statements, so seeing this is a bug.
pub(crate) const UNNAMED_FOREIGN_KEY: &str = "foreign_key";

/// Whether `e` is a foreign-key violation.
pub(crate) fn is_foreign_key_failure(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// A conflict on the constraint `name`.
pub(crate) fn conflict(name: &str) -> StoreError {
    StoreError::Conflict {
        constraint: name.to_string(),
    }
}

/// Maps an error of a statement that cannot trip a foreign key.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    classify(&e, None)
}

/// Maps an error of a statement whose only possible foreign-key failure is `fk`.
pub(crate) fn db_err_fk(fk: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| classify(&e, Some(fk))
}

fn classify(e: &rusqlite::Error, fk: Option<&'static str>) -> StoreError {
    let rusqlite::Error::SqliteFailure(failure, message) = e else {
        return StoreError::Backend(e.to_string());
    };
    match failure.code {
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
        // A full disk or failing I/O is an outage, not a bug: the caller may retry later.
        ErrorCode::DiskFull | ErrorCode::SystemIoFailure => StoreError::Unavailable(e.to_string()),
        ErrorCode::ConstraintViolation => StoreError::Conflict {
            constraint: constraint_name(
                failure.extended_code,
                message.as_deref().unwrap_or(""),
                fk,
            ),
        },
        _ => StoreError::Backend(e.to_string()),
    }
}

/// The schema name of the constraint behind a `SQLITE_CONSTRAINT_*` failure. Never fails: an
/// unexpected message still yields a `Conflict`, named by what SQLite said.
fn constraint_name(extended_code: i32, message: &str, fk: Option<&'static str>) -> String {
    // "UNIQUE constraint failed: t.a, t.b" -> "t.a, t.b"
    let detail = message.split_once(" failed: ").map_or(message, |(_, d)| d);
    match extended_code {
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => fk.unwrap_or(UNNAMED_FOREIGN_KEY).to_string(),
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => UNIQUE_CONSTRAINTS
            .iter()
            .find(|(columns, _)| *columns == detail)
            .map_or_else(|| detail.to_string(), |(_, name)| (*name).to_string()),
        // NOT NULL constraints have no names in SQLite; the typed rows never send NULL where
        // one is refused, so this only names the column for a log line.
        ffi::SQLITE_CONSTRAINT_NOTNULL => format!("{}_not_null", detail.replace('.', "_")),
        // CHECK constraints are reported by name.
        _ => detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE p (id INTEGER CONSTRAINT p_pk PRIMARY KEY);
             CREATE TABLE c (
                 a INTEGER NOT NULL, b INTEGER,
                 CONSTRAINT c_ab_unique UNIQUE (a, b),
                 CONSTRAINT c_b_small CHECK (b < 10),
                 CONSTRAINT c_p_fk FOREIGN KEY (b) REFERENCES p (id));",
        )
        .unwrap();
        c
    }

    fn conflict(e: StoreError) -> String {
        match e {
            StoreError::Conflict { constraint } => constraint,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn check_failure_is_reported_by_name() {
        let e = conn()
            .execute("INSERT INTO c (a, b) VALUES (1, 11)", [])
            .unwrap_err();
        assert_eq!(conflict(db_err(e)), "c_b_small");
    }

    #[test]
    fn unknown_unique_column_list_is_still_a_conflict() {
        let c = conn();
        c.execute_batch("INSERT INTO p VALUES (1); INSERT INTO c VALUES (2, 1);")
            .unwrap();
        let e = c.execute("INSERT INTO c VALUES (2, 1)", []).unwrap_err();
        assert_eq!(conflict(db_err(e)), "c.a, c.b");
    }

    #[test]
    fn foreign_key_failure_takes_the_statement_name() {
        let c = conn();
        let e = c.execute("INSERT INTO c VALUES (1, 5)", []).unwrap_err();
        assert_eq!(conflict(db_err_fk("c_p_fk")(e)), "c_p_fk");
        let e = c.execute("INSERT INTO c VALUES (1, 5)", []).unwrap_err();
        assert_eq!(conflict(db_err(e)), UNNAMED_FOREIGN_KEY);
    }

    #[test]
    fn not_null_failure_is_a_conflict() {
        let e = conn()
            .execute("INSERT INTO c (a) VALUES (NULL)", [])
            .unwrap_err();
        assert_eq!(conflict(db_err(e)), "c_a_not_null");
    }

    #[test]
    fn other_failures_are_backend_errors() {
        let e = conn()
            .execute("INSERT INTO missing VALUES (1)", [])
            .unwrap_err();
        assert!(matches!(db_err(e), StoreError::Backend(_)));
    }
}
