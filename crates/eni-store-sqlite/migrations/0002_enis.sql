-- 0002_enis: ENIs and their security groups, instances, IPv6 addresses, the IPv4 allocator's
-- free list, and the kind of each private IPv4 address.
--
-- Conventions are 0001's: every constraint is named, `seq` is an AUTOINCREMENT rowid that
-- orders "oldest first", typed IDs are text, IPv4 addresses and u32s are INTEGERs checked to
-- their range, booleans are 0/1, tags a JSON array of [key, value] pairs.

-- private_ips is rebuilt, not altered, to give it a `seq`: private_ips_of lists an owner's
-- addresses in insertion order, and ALTER TABLE cannot add an INTEGER PRIMARY KEY. The
-- implicit rowid would give that order today (rows are never updated, and a new rowid is
-- above every live one), but VACUUM may renumber the rowids of a table without an explicit
-- INTEGER PRIMARY KEY; an AUTOINCREMENT `seq` is stable, as in every other table. Rows are
-- copied in rowid order, so existing addresses keep their order; they were all taken before
-- kinds existed and become 'secondary'. Nothing references private_ips, so dropping and
-- renaming it needs no foreign-key dance.
CREATE TABLE private_ips_0002 (
    seq         INTEGER CONSTRAINT private_ip_seq_pk PRIMARY KEY AUTOINCREMENT,
    vswitch_id  TEXT    NOT NULL,
    ip          INTEGER NOT NULL,
    owner       TEXT    NOT NULL,
    kind        TEXT    NOT NULL DEFAULT 'secondary',
    -- The network of the /28 a 'prefix' row belongs to; NULL for any other kind.
    prefix      INTEGER,
    CONSTRAINT private_ip_vswitch_ip_unique UNIQUE (vswitch_id, ip),
    CONSTRAINT private_ip_ipv4_range CHECK (ip BETWEEN 0 AND 4294967295),
    CONSTRAINT private_ip_kind_valid CHECK (kind IN ('primary', 'secondary', 'prefix')),
    CONSTRAINT private_ip_prefix_iff_kind CHECK ((prefix IS NOT NULL) = (kind = 'prefix')),
    -- An aligned /28 that contains the address.
    CONSTRAINT private_ip_prefix_contains_ip CHECK (prefix % 16 = 0 AND ip - prefix BETWEEN 0 AND 15),
    CONSTRAINT private_ip_vswitch_fk FOREIGN KEY (vswitch_id) REFERENCES vswitches (id)
);
INSERT INTO private_ips_0002 (vswitch_id, ip, owner)
    SELECT vswitch_id, ip, owner FROM private_ips ORDER BY rowid;
DROP TABLE private_ips;
ALTER TABLE private_ips_0002 RENAME TO private_ips;
-- private_ips_of; also releasing everything an ENI holds.
CREATE INDEX private_ips_owner_idx ON private_ips (owner, seq);

-- A vSwitch's free IPv4 addresses as disjoint inclusive ranges. Clustered on (vswitch_id, lo)
-- so that "the range with the greatest lo <= ip" is one index probe. Non-overlap is the
-- allocator's invariant; a constraint cannot state it cheaply. The ranges are the vSwitch's
-- own bookkeeping, so deleting the vSwitch takes them along rather than being refused.
CREATE TABLE ip_free_ranges (
    vswitch_id  TEXT    NOT NULL,
    lo          INTEGER NOT NULL,
    hi          INTEGER NOT NULL,
    CONSTRAINT ip_free_range_pk PRIMARY KEY (vswitch_id, lo),
    CONSTRAINT ip_free_range_ordered CHECK (lo <= hi),
    CONSTRAINT ip_free_range_ipv4_range CHECK (lo >= 0 AND hi <= 4294967295),
    CONSTRAINT ip_free_range_vswitch_fk FOREIGN KEY (vswitch_id) REFERENCES vswitches (id) ON DELETE CASCADE
) WITHOUT ROWID;

-- IPv6 addresses and /80 prefixes ("net/80") held in a vSwitch.
CREATE TABLE ipv6_addrs (
    seq         INTEGER CONSTRAINT ipv6_seq_pk PRIMARY KEY AUTOINCREMENT,
    vswitch_id  TEXT    NOT NULL,
    addr        TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    is_prefix   INTEGER NOT NULL,
    CONSTRAINT ipv6_vswitch_addr_unique UNIQUE (vswitch_id, addr),
    CONSTRAINT ipv6_is_prefix_bool CHECK (is_prefix IN (0, 1)),
    -- Exactly the prefixes carry a length.
    CONSTRAINT ipv6_prefix_has_length CHECK ((instr(addr, '/') > 0) = (is_prefix = 1)),
    CONSTRAINT ipv6_vswitch_fk FOREIGN KEY (vswitch_id) REFERENCES vswitches (id)
);
CREATE INDEX ipv6_addrs_owner_idx ON ipv6_addrs (owner, seq);

CREATE TABLE security_groups (
    seq                INTEGER CONSTRAINT security_group_seq_pk PRIMARY KEY AUTOINCREMENT,
    id                 TEXT    NOT NULL,
    account_id         INTEGER NOT NULL,
    region_id          TEXT    NOT NULL,
    vpc_id             TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    group_type         TEXT    NOT NULL,
    resource_group_id  TEXT    NOT NULL,
    tags               TEXT    NOT NULL DEFAULT '[]',
    created_at         INTEGER NOT NULL,
    CONSTRAINT security_group_pk UNIQUE (id),
    CONSTRAINT security_group_type_valid CHECK (group_type IN ('normal', 'enterprise')),
    CONSTRAINT security_group_tags_json_array CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    -- A VPC with security groups cannot be deleted.
    CONSTRAINT security_group_vpc_fk FOREIGN KEY (vpc_id) REFERENCES vpcs (id)
);
CREATE INDEX security_groups_account_region_idx ON security_groups (account_id, region_id, seq);
-- security_group_count_in_vpc, and the foreign-key check when a VPC is deleted.
CREATE INDEX security_groups_vpc_idx ON security_groups (vpc_id);

-- instance_id is deliberately not a foreign key to instances: an ENI keeps the instance's ID
-- through Detaching and Deleting, and the application orders detaches and deletes itself
-- (one transaction, either order); a key would force one order or, with ON DELETE SET NULL,
-- silently rewrite an ENI mid-transition. The device index is unique per instance ID either
-- way. vpc_id is not a key either: the vSwitch's key already implies the VPC.
CREATE TABLE enis (
    seq                INTEGER CONSTRAINT eni_seq_pk PRIMARY KEY AUTOINCREMENT,
    id                 TEXT    NOT NULL,
    account_id         INTEGER NOT NULL,
    region_id          TEXT    NOT NULL,
    zone_id            TEXT    NOT NULL,
    vpc_id             TEXT    NOT NULL,
    vswitch_id         TEXT    NOT NULL,
    eni_type           TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    due_at             INTEGER,
    instance_id        TEXT,
    device_index       INTEGER,
    mac                TEXT    NOT NULL,
    primary_ip         INTEGER NOT NULL,
    name               TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    delete_on_release  INTEGER NOT NULL,
    source_dest_check  INTEGER NOT NULL,
    queue_number       INTEGER NOT NULL,
    traffic_mode       TEXT    NOT NULL,
    resource_group_id  TEXT    NOT NULL,
    tags               TEXT    NOT NULL DEFAULT '[]',
    created_at         INTEGER NOT NULL,
    CONSTRAINT eni_pk UNIQUE (id),
    -- Across all accounts and regions: a MAC is one interface.
    CONSTRAINT eni_mac_unique UNIQUE (mac),
    -- NULLs are distinct in a UNIQUE constraint, so any number of detached ENIs (or ENIs with
    -- no index yet) coexist. Its index, led by instance_id, also serves eni_list's instance
    -- filter, so instance_id needs no index of its own.
    CONSTRAINT eni_instance_device_index_unique UNIQUE (instance_id, device_index),
    CONSTRAINT eni_type_valid CHECK (eni_type IN ('Primary', 'Secondary', 'Trunk')),
    CONSTRAINT eni_status_valid CHECK (status IN ('Available', 'Attaching', 'InUse', 'Detaching', 'Deleting')),
    -- Only a transition completes by itself; a stale due_at would make eni_due return the ENI forever.
    CONSTRAINT eni_due_only_in_transition CHECK (due_at IS NULL OR status IN ('Attaching', 'Detaching', 'Deleting')),
    -- Lower case and colons only, so that eni_mac_unique compares canonical forms.
    CONSTRAINT eni_mac_canonical CHECK (mac GLOB '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
    CONSTRAINT eni_primary_ip_ipv4_range CHECK (primary_ip BETWEEN 0 AND 4294967295),
    CONSTRAINT eni_device_index_u32 CHECK (device_index BETWEEN 0 AND 4294967295),
    CONSTRAINT eni_queue_number_u32 CHECK (queue_number BETWEEN 0 AND 4294967295),
    CONSTRAINT eni_delete_on_release_bool CHECK (delete_on_release IN (0, 1)),
    CONSTRAINT eni_source_dest_check_bool CHECK (source_dest_check IN (0, 1)),
    CONSTRAINT eni_tags_json_array CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    -- A vSwitch with ENIs cannot be deleted.
    CONSTRAINT eni_vswitch_fk FOREIGN KEY (vswitch_id) REFERENCES vswitches (id)
);
-- eni_list and eni_count.
CREATE INDEX enis_account_region_idx ON enis (account_id, region_id, seq);
-- eni_count_in_vswitch, eni_list's vSwitch filter, and the foreign-key check on vSwitch delete.
CREATE INDEX enis_vswitch_idx ON enis (vswitch_id);
-- eni_due: only ENIs in transition are indexed.
CREATE INDEX enis_due_idx ON enis (due_at) WHERE due_at IS NOT NULL;

-- An ENI's security groups, in order.
CREATE TABLE eni_security_groups (
    eni_id             TEXT    NOT NULL,
    position           INTEGER NOT NULL,
    security_group_id  TEXT    NOT NULL,
    CONSTRAINT eni_security_group_pk PRIMARY KEY (eni_id, position),
    -- A group is listed once per ENI. Its index, led by the group, serves member counts and
    -- the foreign-key check when a group is deleted.
    CONSTRAINT eni_security_group_unique UNIQUE (security_group_id, eni_id),
    CONSTRAINT eni_security_group_position_valid CHECK (position >= 0),
    CONSTRAINT eni_security_group_eni_fk FOREIGN KEY (eni_id) REFERENCES enis (id) ON DELETE CASCADE,
    -- RESTRICT by default: a group with members cannot be deleted.
    CONSTRAINT eni_security_group_sg_fk FOREIGN KEY (security_group_id) REFERENCES security_groups (id)
) WITHOUT ROWID;

CREATE TABLE instances (
    seq                INTEGER CONSTRAINT instance_seq_pk PRIMARY KEY AUTOINCREMENT,
    id                 TEXT    NOT NULL,
    account_id         INTEGER NOT NULL,
    region_id          TEXT    NOT NULL,
    zone_id            TEXT    NOT NULL,
    instance_type      TEXT    NOT NULL,
    -- Both NULL for a classic-network instance.
    vpc_id             TEXT,
    vswitch_id         TEXT,
    status             TEXT    NOT NULL,
    due_at             INTEGER,
    name               TEXT    NOT NULL,
    host_name          TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    image_id           TEXT    NOT NULL,
    resource_group_id  TEXT    NOT NULL,
    tags               TEXT    NOT NULL DEFAULT '[]',
    created_at         INTEGER NOT NULL,
    started_at         INTEGER,
    CONSTRAINT instance_pk UNIQUE (id),
    CONSTRAINT instance_status_valid CHECK (status IN ('Pending', 'Starting', 'Running', 'Stopping', 'Stopped')),
    CONSTRAINT instance_due_only_in_transition CHECK (due_at IS NULL OR status IN ('Pending', 'Starting', 'Stopping')),
    CONSTRAINT instance_network_complete CHECK ((vpc_id IS NULL) = (vswitch_id IS NULL)),
    CONSTRAINT instance_tags_json_array CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    -- A vSwitch with instances cannot be deleted.
    CONSTRAINT instance_vswitch_fk FOREIGN KEY (vswitch_id) REFERENCES vswitches (id)
);
CREATE INDEX instances_account_region_idx ON instances (account_id, region_id, seq);
CREATE INDEX instances_vswitch_idx ON instances (vswitch_id);
CREATE INDEX instances_due_idx ON instances (due_at) WHERE due_at IS NOT NULL;
