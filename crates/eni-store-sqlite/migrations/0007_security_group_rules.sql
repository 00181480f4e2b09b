-- 0007_security_group_rules: the rules of security groups, and each group's inner access
-- policy (whether its members reach each other).
--
-- Conventions are 0001's. A rule's optional fields are '' when unset rather than NULL, so that
-- the unique key, which decides "the same rule authorized twice", compares them (NULLs are
-- distinct in a UNIQUE constraint). The peer group is the exception: it is a foreign key, so
-- that a group other rules reference cannot be deleted, and NULL when unset; `peer_key`
-- repeats it as '' or the ID for the unique key.

-- Existing groups get the default of their type: a normal group's members reach each other,
-- an enterprise group's never do. ALTER TABLE checks a new column's constraints against
-- existing rows, so "enterprise means Drop" is the application's rule, not a CHECK here.
ALTER TABLE security_groups ADD COLUMN inner_access_policy TEXT NOT NULL DEFAULT 'Accept'
    CONSTRAINT security_group_inner_access_policy_valid CHECK (inner_access_policy IN ('Accept', 'Drop'));
UPDATE security_groups SET inner_access_policy = 'Drop' WHERE group_type = 'enterprise';

CREATE TABLE security_group_rules (
    seq                  INTEGER CONSTRAINT security_group_rule_seq_pk PRIMARY KEY AUTOINCREMENT,
    id                   TEXT    NOT NULL,
    security_group_id    TEXT    NOT NULL,
    direction            TEXT    NOT NULL,
    ip_protocol          TEXT    NOT NULL,
    -- -1/-1 ("every port") for every protocol but TCP and UDP.
    port_from            INTEGER NOT NULL,
    port_to              INTEGER NOT NULL,
    -- '' or 'first/last'.
    source_port_range    TEXT    NOT NULL,
    source_cidr_ip       TEXT    NOT NULL,
    ipv6_source_cidr_ip  TEXT    NOT NULL,
    dest_cidr_ip         TEXT    NOT NULL,
    ipv6_dest_cidr_ip    TEXT    NOT NULL,
    peer_group_id        TEXT,
    peer_key             TEXT    NOT NULL,
    policy               TEXT    NOT NULL,
    priority             INTEGER NOT NULL,
    nic_type             TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    CONSTRAINT security_group_rule_pk UNIQUE (id),
    -- An identical rule is stored once per group (AuthorizeSecurityGroup of an existing rule
    -- succeeds and creates nothing). Led by the group: it also serves sg_rules_of.
    CONSTRAINT security_group_rule_unique UNIQUE (security_group_id, direction, ip_protocol, port_from, port_to, source_port_range, source_cidr_ip, ipv6_source_cidr_ip, dest_cidr_ip, ipv6_dest_cidr_ip, peer_key, policy, priority, nic_type),
    CONSTRAINT security_group_rule_direction_valid CHECK (direction IN ('ingress', 'egress')),
    CONSTRAINT security_group_rule_protocol_valid CHECK (ip_protocol IN ('TCP', 'UDP', 'ICMP', 'ICMPv6', 'GRE', 'ALL')),
    CONSTRAINT security_group_rule_ports_valid CHECK (CASE WHEN ip_protocol IN ('TCP', 'UDP') THEN port_from BETWEEN 1 AND port_to AND port_to <= 65535 ELSE port_from = -1 AND port_to = -1 END),
    CONSTRAINT security_group_rule_policy_valid CHECK (policy IN ('Accept', 'Drop')),
    CONSTRAINT security_group_rule_priority_valid CHECK (priority BETWEEN 1 AND 100),
    CONSTRAINT security_group_rule_peer_key_matches CHECK (peer_key = coalesce(peer_group_id, '')),
    CONSTRAINT security_group_rule_peer_not_self CHECK (peer_group_id IS NULL OR peer_group_id <> security_group_id),
    -- Exactly one remote side: sources of an ingress rule, destinations of an egress rule.
    CONSTRAINT security_group_rule_one_remote CHECK (CASE direction WHEN 'ingress' THEN (source_cidr_ip <> '') + (ipv6_source_cidr_ip <> '') + (peer_group_id IS NOT NULL) ELSE (dest_cidr_ip <> '') + (ipv6_dest_cidr_ip <> '') + (peer_group_id IS NOT NULL) END = 1),
    -- A group's rules go with it.
    CONSTRAINT security_group_rule_group_fk FOREIGN KEY (security_group_id) REFERENCES security_groups (id) ON DELETE CASCADE,
    -- RESTRICT by default: a group that another group's rule names cannot be deleted.
    CONSTRAINT security_group_rule_peer_fk FOREIGN KEY (peer_group_id) REFERENCES security_groups (id)
);
-- sg_rules_of, oldest first.
CREATE INDEX security_group_rules_group_idx ON security_group_rules (security_group_id, seq);
-- The foreign-key check when a referenced group is deleted.
CREATE INDEX security_group_rules_peer_idx ON security_group_rules (peer_group_id) WHERE peer_group_id IS NOT NULL;

-- Rules and inner access policies are data-plane state (0003): every change wakes the agents.
CREATE TRIGGER security_group_rules_bump_insert AFTER INSERT ON security_group_rules
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER security_group_rules_bump_update AFTER UPDATE ON security_group_rules
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER security_group_rules_bump_delete AFTER DELETE ON security_group_rules
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER security_groups_policy_bump AFTER UPDATE OF inner_access_policy ON security_groups
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
