-- 0001_init: the first schema of eni's SQLite store.
--
-- Every unique, check and foreign-key constraint is named: the names shared by all backends
-- come from eni_store::constraints, and src/schema.rs maps SQLite's error messages back to
-- them. `seq` columns are AUTOINCREMENT rowids, never reused, so "ORDER BY seq" is insertion
-- order ("oldest first") even across deletes and VACUUM. IPv4 addresses are INTEGERs; account
-- IDs are u64 stored bit for bit in a signed INTEGER. Tags are a JSON array of [key, value]
-- pairs, which keeps order and needs no side table.

CREATE TABLE accounts (
    id          INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT account_pk PRIMARY KEY (id),
    CONSTRAINT account_name_unique UNIQUE (name)
);

CREATE TABLE access_keys (
    seq         INTEGER CONSTRAINT access_key_seq_pk PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    account_id  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT access_key_pk UNIQUE (id)
);
CREATE INDEX access_keys_account_idx ON access_keys (account_id, seq);

CREATE TABLE nonces (
    access_key_id  TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL,
    CONSTRAINT nonce_pk PRIMARY KEY (access_key_id, nonce)
) WITHOUT ROWID;
-- nonce_purge deletes by expiry.
CREATE INDEX nonces_expires_idx ON nonces (expires_at);

CREATE TABLE idempotency (
    account_id     INTEGER NOT NULL,
    action         TEXT    NOT NULL,
    token          TEXT    NOT NULL,
    params_digest  TEXT    NOT NULL,
    response       TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    CONSTRAINT idempotency_pk PRIMARY KEY (account_id, action, token)
);

CREATE TABLE vpcs (
    seq                INTEGER CONSTRAINT vpc_seq_pk PRIMARY KEY AUTOINCREMENT,
    id                 TEXT    NOT NULL,
    account_id         INTEGER NOT NULL,
    region_id          TEXT    NOT NULL,
    cidr_block         TEXT    NOT NULL,
    ipv6_cidr_block    TEXT,
    name               TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    is_default         INTEGER NOT NULL,
    vrouter_id         TEXT    NOT NULL,
    route_table_id     TEXT    NOT NULL,
    resource_group_id  TEXT    NOT NULL,
    tags               TEXT    NOT NULL DEFAULT '[]',
    created_at         INTEGER NOT NULL,
    CONSTRAINT vpc_pk UNIQUE (id),
    CONSTRAINT vpc_is_default_bool CHECK (is_default IN (0, 1)),
    CONSTRAINT vpc_tags_json_array CHECK (json_valid(tags) AND json_type(tags) = 'array')
);
-- vpc_list and vpc_count filter on (account_id, region_id) and sort by seq.
CREATE INDEX vpcs_account_region_idx ON vpcs (account_id, region_id, seq);

CREATE TABLE vswitches (
    seq                INTEGER CONSTRAINT vswitch_seq_pk PRIMARY KEY AUTOINCREMENT,
    id                 TEXT    NOT NULL,
    account_id         INTEGER NOT NULL,
    region_id          TEXT    NOT NULL,
    vpc_id             TEXT    NOT NULL,
    zone_id            TEXT    NOT NULL,
    cidr_block         TEXT    NOT NULL,
    ipv6_cidr_block    TEXT,
    name               TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    is_default         INTEGER NOT NULL,
    resource_group_id  TEXT    NOT NULL,
    tags               TEXT    NOT NULL DEFAULT '[]',
    created_at         INTEGER NOT NULL,
    CONSTRAINT vswitch_pk UNIQUE (id),
    CONSTRAINT vswitch_is_default_bool CHECK (is_default IN (0, 1)),
    CONSTRAINT vswitch_tags_json_array CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    -- A VPC with vSwitches cannot be deleted (SQLite reports this unnamed; see schema.rs).
    CONSTRAINT vswitch_vpc_fk FOREIGN KEY (vpc_id) REFERENCES vpcs (id)
);
CREATE INDEX vswitches_account_region_idx ON vswitches (account_id, region_id, seq);
-- Serves the VPC filter of vswitch_list and the foreign-key check when a VPC is deleted.
CREATE INDEX vswitches_vpc_idx ON vswitches (vpc_id, seq);

CREATE TABLE private_ips (
    vswitch_id  TEXT    NOT NULL,
    ip          INTEGER NOT NULL,
    owner       TEXT    NOT NULL,
    -- The arbiter of every allocation race; its index also serves the foreign-key check.
    CONSTRAINT private_ip_vswitch_ip_unique UNIQUE (vswitch_id, ip),
    CONSTRAINT private_ip_ipv4_range CHECK (ip BETWEEN 0 AND 4294967295),
    -- A vSwitch holding addresses cannot be deleted.
    CONSTRAINT private_ip_vswitch_fk FOREIGN KEY (vswitch_id) REFERENCES vswitches (id)
);
