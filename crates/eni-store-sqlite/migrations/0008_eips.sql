-- 0008_eips: elastic IP addresses and their NAT associations with ENI private addresses.
--
-- Conventions are 0001's. The binding columns (what the EIP is NAT-ed to) are all set or all
-- NULL, and set exactly while the EIP is not Available: Associating, InUse and Unassociating
-- keep the binding until the EIP is Available again.

CREATE TABLE eips (
    seq                   INTEGER CONSTRAINT eip_seq_pk PRIMARY KEY AUTOINCREMENT,
    id                    TEXT    NOT NULL,
    account_id            INTEGER NOT NULL,
    region_id             TEXT    NOT NULL,
    ip                    INTEGER NOT NULL,
    bandwidth             INTEGER NOT NULL,
    internet_charge_type  TEXT    NOT NULL,
    instance_charge_type  TEXT    NOT NULL,
    isp                   TEXT    NOT NULL,
    name                  TEXT    NOT NULL,
    description           TEXT    NOT NULL,
    resource_group_id     TEXT    NOT NULL,
    tags                  TEXT    NOT NULL DEFAULT '[]',
    status                TEXT    NOT NULL,
    due_at                INTEGER,
    -- The binding: the InstanceId and InstanceType the caller named (an ENI, or an ECS
    -- instance standing for its primary ENI), the ENI, its VPC and vSwitch, the private
    -- address and the mode.
    instance_id           TEXT,
    instance_type         TEXT,
    eni_id                TEXT,
    vpc_id                TEXT,
    vswitch_id            TEXT,
    private_ip            INTEGER,
    mode                  TEXT,
    created_at            INTEGER NOT NULL,
    CONSTRAINT eip_pk UNIQUE (id),
    -- Across all accounts and regions: a public address is one EIP.
    CONSTRAINT eip_ip_unique UNIQUE (ip),
    -- A private address is NAT-ed to one EIP (NULLs are distinct: any number of unbound
    -- EIPs). Led by the vSwitch, its index also serves the unbinding trigger below.
    CONSTRAINT eip_private_ip_unique UNIQUE (vswitch_id, private_ip),
    CONSTRAINT eip_ip_ipv4_range CHECK (ip BETWEEN 0 AND 4294967295),
    CONSTRAINT eip_private_ip_ipv4_range CHECK (private_ip BETWEEN 0 AND 4294967295),
    CONSTRAINT eip_bandwidth_valid CHECK (bandwidth BETWEEN 1 AND 1000),
    CONSTRAINT eip_internet_charge_type_valid CHECK (internet_charge_type IN ('PayByBandwidth', 'PayByTraffic')),
    CONSTRAINT eip_instance_charge_type_valid CHECK (instance_charge_type IN ('PostPaid', 'PrePaid')),
    CONSTRAINT eip_status_valid CHECK (status IN ('Available', 'Associating', 'InUse', 'Unassociating')),
    -- Only a transition completes by itself; a stale due_at would make eip_due return it forever.
    CONSTRAINT eip_due_only_in_transition CHECK (due_at IS NULL OR status IN ('Associating', 'Unassociating')),
    CONSTRAINT eip_binding_complete CHECK (
        (instance_id IS NULL) = (instance_type IS NULL)
        AND (instance_id IS NULL) = (eni_id IS NULL)
        AND (instance_id IS NULL) = (vpc_id IS NULL)
        AND (instance_id IS NULL) = (vswitch_id IS NULL)
        AND (instance_id IS NULL) = (private_ip IS NULL)
        AND (instance_id IS NULL) = (mode IS NULL)),
    CONSTRAINT eip_bound_unless_available CHECK ((instance_id IS NULL) = (status = 'Available')),
    CONSTRAINT eip_instance_type_valid CHECK (instance_type IN ('NetworkInterface', 'EcsInstance')),
    CONSTRAINT eip_mode_valid CHECK (mode = 'NAT'),
    CONSTRAINT eip_tags_json_array CHECK (json_valid(tags) AND json_type(tags) = 'array')
);
-- eip_list.
CREATE INDEX eips_account_region_idx ON eips (account_id, region_id, seq);
-- eip_due: only EIPs in transition are indexed.
CREATE INDEX eips_due_idx ON eips (due_at) WHERE due_at IS NOT NULL;
-- eips_of_eni and eips_associated_in_vpc: only bound EIPs are indexed.
CREATE INDEX eips_eni_idx ON eips (eni_id, seq) WHERE eni_id IS NOT NULL;
CREATE INDEX eips_vpc_idx ON eips (vpc_id, seq) WHERE vpc_id IS NOT NULL;

-- Releasing a private address (UnassignPrivateIpAddresses, the ENI's deletion, its
-- instance's) unbinds the EIP NAT-ed to it in the same statement: the EIP stays with its
-- account, Available. It is the effect a foreign key ON DELETE SET NULL would have, with the
-- status reset; a composite key to private_ips would not fit the single-column foreign keys
-- the backend names (errors::FOREIGN_KEYS), so the trigger states it.
CREATE TRIGGER private_ips_unbind_eip AFTER DELETE ON private_ips
BEGIN
    UPDATE eips SET status = 'Available', due_at = NULL, instance_id = NULL, instance_type = NULL,
        eni_id = NULL, vpc_id = NULL, vswitch_id = NULL, private_ip = NULL, mode = NULL
    WHERE vswitch_id = OLD.vswitch_id AND private_ip = OLD.ip;
END;

-- An association starting, completing or ending is data-plane state (0003): the agents NAT
-- the public address to the private one. Allocating and releasing an unbound EIP, or changing
-- its name, changes nothing a data plane sees.
CREATE TRIGGER eips_bump_update AFTER UPDATE OF status, instance_id, eni_id, vswitch_id, private_ip ON eips
WHEN OLD.status IS NOT NEW.status OR OLD.eni_id IS NOT NEW.eni_id OR OLD.private_ip IS NOT NEW.private_ip
    OR OLD.vswitch_id IS NOT NEW.vswitch_id
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER eips_bump_delete AFTER DELETE ON eips WHEN OLD.eni_id IS NOT NULL
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
