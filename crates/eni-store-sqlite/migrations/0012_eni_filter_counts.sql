-- 0012_eni_filter_counts: a security group's members in creation order, and counts of the
-- ENIs behind each broad DescribeNetworkInterfaces filter.
--
-- Conventions are 0001's. Two costs grew with the account at 100k ENIs:
-- * SecurityGroupId: memberships were keyed (group, ENI ID), an order unrelated to creation,
--   so a large group could not drive a page (it needed a sort of all its members). A
--   membership now carries its ENI's seq, and the group's unique key is (group, seq): the
--   group's members come in creation order, like every other filter's index. It also carries
--   whether the ENI is counted under the group (any ENI but a primary one, whose groups are
--   its instance's and which SecurityGroupId does not list), so the triggers below never read
--   the ENI row, which a cascade has already deleted when its memberships go.
-- * TotalCount: counting a filter that matches most of the account walked its whole index
--   (about 80 ns an entry, 8 ms at 100k). eni_counts keeps, per account and region, how many
--   ENIs have each VPC, vSwitch, status, type and resource group, how many non-primary ENIs
--   each security group has, and how many members in all (DescribeSecurityGroups' count); triggers change them in the statement that changes an ENI
--   or a membership, so they commit and roll back with it. A count with one such filter is
--   then one primary-key probe. A row that falls to zero stays (at 0).

CREATE TABLE eni_security_groups_new (
    eni_id             TEXT    NOT NULL,
    position           INTEGER NOT NULL,
    security_group_id  TEXT    NOT NULL,
    -- The ENI's seq (enis.seq), so that a group lists its members in creation order.
    eni_seq            INTEGER NOT NULL,
    -- 1 unless the ENI is a primary one: the members SecurityGroupId lists and eni_counts counts.
    counted            INTEGER NOT NULL,
    CONSTRAINT eni_security_group_pk PRIMARY KEY (eni_id, position),
    -- A group is listed once per ENI (seq and ID name the same ENI). Its index, led by the
    -- group, lists the members in creation order and serves the foreign-key check when a group
    -- is deleted.
    CONSTRAINT eni_security_group_unique UNIQUE (security_group_id, eni_seq),
    CONSTRAINT eni_security_group_position_valid CHECK (position >= 0),
    CONSTRAINT eni_security_group_counted_valid CHECK (counted IN (0, 1)),
    CONSTRAINT eni_security_group_eni_fk FOREIGN KEY (eni_id) REFERENCES enis (id) ON DELETE CASCADE,
    -- RESTRICT by default: a group with members cannot be deleted.
    CONSTRAINT eni_security_group_sg_fk FOREIGN KEY (security_group_id) REFERENCES security_groups (id)
) WITHOUT ROWID;

INSERT INTO eni_security_groups_new (eni_id, position, security_group_id, eni_seq, counted)
    SELECT g.eni_id, g.position, g.security_group_id, e.seq, e.eni_type <> 'Primary'
    FROM eni_security_groups g JOIN enis e ON e.id = g.eni_id;
DROP TABLE eni_security_groups;
ALTER TABLE eni_security_groups_new RENAME TO eni_security_groups;

CREATE TABLE eni_counts (
    account_id  INTEGER NOT NULL,
    region_id   TEXT    NOT NULL,
    -- 'vpc', 'vswitch', 'status', 'type', 'rg' (resource group), 'sg' (a security group's
    -- non-primary members) or 'members' (all of a group's members).
    dim         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    CONSTRAINT eni_count_pk PRIMARY KEY (account_id, region_id, dim, value),
    CONSTRAINT eni_count_non_negative CHECK (n >= 0)
) WITHOUT ROWID;

INSERT INTO eni_counts (account_id, region_id, dim, value, n)
    SELECT account_id, region_id, 'vpc', vpc_id, count(*) FROM enis GROUP BY 1, 2, 4;
INSERT INTO eni_counts (account_id, region_id, dim, value, n)
    SELECT account_id, region_id, 'vswitch', vswitch_id, count(*) FROM enis GROUP BY 1, 2, 4;
INSERT INTO eni_counts (account_id, region_id, dim, value, n)
    SELECT account_id, region_id, 'status', status, count(*) FROM enis GROUP BY 1, 2, 4;
INSERT INTO eni_counts (account_id, region_id, dim, value, n)
    SELECT account_id, region_id, 'type', eni_type, count(*) FROM enis GROUP BY 1, 2, 4;
INSERT INTO eni_counts (account_id, region_id, dim, value, n)
    SELECT account_id, region_id, 'rg', resource_group_id, count(*) FROM enis GROUP BY 1, 2, 4;
INSERT INTO eni_counts (account_id, region_id, dim, value, n)
    SELECT s.account_id, s.region_id, 'sg', s.id, count(*)
    FROM eni_security_groups g JOIN security_groups s ON s.id = g.security_group_id
    WHERE g.counted = 1 GROUP BY 1, 2, 4;
INSERT INTO eni_counts (account_id, region_id, dim, value, n)
    SELECT s.account_id, s.region_id, 'members', s.id, count(*)
    FROM eni_security_groups g JOIN security_groups s ON s.id = g.security_group_id
    GROUP BY 1, 2, 4;

CREATE TRIGGER enis_filter_counts_insert AFTER INSERT ON enis BEGIN
    INSERT INTO eni_counts (account_id, region_id, dim, value, n)
        VALUES (NEW.account_id, NEW.region_id, 'vpc', NEW.vpc_id, 1),
               (NEW.account_id, NEW.region_id, 'vswitch', NEW.vswitch_id, 1),
               (NEW.account_id, NEW.region_id, 'status', NEW.status, 1),
               (NEW.account_id, NEW.region_id, 'type', NEW.eni_type, 1),
               (NEW.account_id, NEW.region_id, 'rg', NEW.resource_group_id, 1)
        ON CONFLICT (account_id, region_id, dim, value) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER enis_filter_counts_delete AFTER DELETE ON enis BEGIN
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'vpc' AND value = OLD.vpc_id;
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'vswitch' AND value = OLD.vswitch_id;
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'status' AND value = OLD.status;
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'type' AND value = OLD.eni_type;
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'rg' AND value = OLD.resource_group_id;
END;

-- One statement per count: each is a primary-key probe (a row-value IN over the pairs would
-- scan the account's counts). Every eni_update sets every column. A change of status alone (attach, detach) moves one
-- count; any other change of a counted column moves all five.
CREATE TRIGGER enis_filter_counts_status AFTER UPDATE OF status ON enis
WHEN OLD.status IS NOT NEW.status
    AND OLD.account_id IS NEW.account_id AND OLD.region_id IS NEW.region_id
    AND OLD.vpc_id IS NEW.vpc_id AND OLD.vswitch_id IS NEW.vswitch_id
    AND OLD.eni_type IS NEW.eni_type AND OLD.resource_group_id IS NEW.resource_group_id
BEGIN
    UPDATE eni_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id
          AND dim = 'status' AND value = OLD.status;
    INSERT INTO eni_counts (account_id, region_id, dim, value, n)
        VALUES (NEW.account_id, NEW.region_id, 'status', NEW.status, 1)
        ON CONFLICT (account_id, region_id, dim, value) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER enis_filter_counts_move
AFTER UPDATE OF account_id, region_id, vpc_id, vswitch_id, eni_type, resource_group_id ON enis
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.region_id IS NOT NEW.region_id
    OR OLD.vpc_id IS NOT NEW.vpc_id OR OLD.vswitch_id IS NOT NEW.vswitch_id
    OR OLD.eni_type IS NOT NEW.eni_type OR OLD.resource_group_id IS NOT NEW.resource_group_id
BEGIN
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'vpc' AND value = OLD.vpc_id;
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'vswitch' AND value = OLD.vswitch_id;
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'status' AND value = OLD.status;
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'type' AND value = OLD.eni_type;
    UPDATE eni_counts SET n = n - 1 WHERE account_id = OLD.account_id
        AND region_id = OLD.region_id AND dim = 'rg' AND value = OLD.resource_group_id;
    INSERT INTO eni_counts (account_id, region_id, dim, value, n)
        VALUES (NEW.account_id, NEW.region_id, 'vpc', NEW.vpc_id, 1),
               (NEW.account_id, NEW.region_id, 'vswitch', NEW.vswitch_id, 1),
               (NEW.account_id, NEW.region_id, 'status', NEW.status, 1),
               (NEW.account_id, NEW.region_id, 'type', NEW.eni_type, 1),
               (NEW.account_id, NEW.region_id, 'rg', NEW.resource_group_id, 1)
        ON CONFLICT (account_id, region_id, dim, value) DO UPDATE SET n = n + 1;
END;

-- A group's count is kept under the group's own account and region (an ENI joins only groups
-- of its own), read from the group's row, which outlives its memberships (RESTRICT).
CREATE TRIGGER eni_security_groups_count_insert AFTER INSERT ON eni_security_groups BEGIN
    INSERT INTO eni_counts (account_id, region_id, dim, value, n)
        SELECT account_id, region_id, 'members', id, 1 FROM security_groups
        WHERE id = NEW.security_group_id
        UNION ALL
        SELECT account_id, region_id, 'sg', id, 1 FROM security_groups
        WHERE id = NEW.security_group_id AND NEW.counted = 1
        ON CONFLICT (account_id, region_id, dim, value) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER eni_security_groups_count_delete AFTER DELETE ON eni_security_groups BEGIN
    UPDATE eni_counts SET n = n - 1
        WHERE (account_id, region_id) =
              (SELECT account_id, region_id FROM security_groups WHERE id = OLD.security_group_id)
          AND dim = 'members' AND value = OLD.security_group_id;
    UPDATE eni_counts SET n = n - 1
        WHERE OLD.counted = 1 AND (account_id, region_id) =
              (SELECT account_id, region_id FROM security_groups WHERE id = OLD.security_group_id)
          AND dim = 'sg' AND value = OLD.security_group_id;
END;

-- How many addresses each vSwitch holds (DescribeVSwitches' AvailableIpAddressCount), kept by
-- triggers like the counts above: one probe, where counting the vSwitch's rows grew with it.
CREATE TABLE vswitch_ip_counts (
    vswitch_id  TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    CONSTRAINT vswitch_ip_count_pk PRIMARY KEY (vswitch_id),
    CONSTRAINT vswitch_ip_count_non_negative CHECK (n >= 0)
) WITHOUT ROWID;

INSERT INTO vswitch_ip_counts (vswitch_id, n)
    SELECT vswitch_id, count(*) FROM private_ips GROUP BY vswitch_id;

CREATE TRIGGER private_ips_count_insert AFTER INSERT ON private_ips BEGIN
    INSERT INTO vswitch_ip_counts (vswitch_id, n) VALUES (NEW.vswitch_id, 1)
        ON CONFLICT (vswitch_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER private_ips_count_delete AFTER DELETE ON private_ips BEGIN
    UPDATE vswitch_ip_counts SET n = n - 1 WHERE vswitch_id = OLD.vswitch_id;
END;
CREATE TRIGGER private_ips_count_move AFTER UPDATE OF vswitch_id ON private_ips
WHEN OLD.vswitch_id IS NOT NEW.vswitch_id BEGIN
    UPDATE vswitch_ip_counts SET n = n - 1 WHERE vswitch_id = OLD.vswitch_id;
    INSERT INTO vswitch_ip_counts (vswitch_id, n) VALUES (NEW.vswitch_id, 1)
        ON CONFLICT (vswitch_id) DO UPDATE SET n = n + 1;
END;
-- A deleted vSwitch (which holds no address by then) takes its count with it.
CREATE TRIGGER vswitches_ip_count_delete AFTER DELETE ON vswitches BEGIN
    DELETE FROM vswitch_ip_counts WHERE vswitch_id = OLD.id;
END;

-- A count that combines a VPC or a vSwitch with a status or a type (or only checks the
-- account and region, as every query does) reads the index alone: a reader's page cache
-- starts empty after any commit, so each ENI row it would read is a page fetched anew.
DROP INDEX enis_vpc_seq_idx;
CREATE INDEX enis_vpc_seq_idx ON enis (vpc_id, seq, account_id, region_id, status, eni_type);
DROP INDEX enis_vswitch_idx;
CREATE INDEX enis_vswitch_idx ON enis (vswitch_id, seq, account_id, region_id, status, eni_type);

-- A tag's rows carry the ENI's region too, so a tag scopes a query by itself, and the ENI's
-- VPC, vSwitch and type (which an ENI keeps for life), so that a count by tag and any of those
-- reads the tag's index alone, no ENI row. The table is rebuilt from the ENIs' tags column,
-- its record.
DROP TRIGGER enis_tags_insert;
DROP TRIGGER enis_tags_update;
DROP TRIGGER enis_tags_delete;
DROP TABLE eni_tags;
CREATE TABLE eni_tags (
    eni_seq     INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    region_id   TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    vpc_id      TEXT    NOT NULL,
    vswitch_id  TEXT    NOT NULL,
    eni_type    TEXT    NOT NULL
);
CREATE INDEX eni_tags_eni_idx ON eni_tags (eni_seq, key);
CREATE INDEX eni_tags_value_idx
    ON eni_tags (account_id, region_id, key, value, eni_seq, vpc_id, vswitch_id, eni_type);
CREATE INDEX eni_tags_key_idx
    ON eni_tags (account_id, region_id, key, eni_seq, vpc_id, vswitch_id, eni_type);

INSERT INTO eni_tags (eni_seq, account_id, region_id, key, value, vpc_id, vswitch_id, eni_type)
    SELECT enis.seq, enis.account_id, enis.region_id, json_extract(t.value, '$[0]'),
        json_extract(t.value, '$[1]'), enis.vpc_id, enis.vswitch_id, enis.eni_type
    FROM enis, json_each(enis.tags) AS t;

CREATE TRIGGER enis_tags_insert AFTER INSERT ON enis BEGIN
    INSERT INTO eni_tags (eni_seq, account_id, region_id, key, value, vpc_id, vswitch_id,
            eni_type)
        SELECT NEW.seq, NEW.account_id, NEW.region_id, json_extract(t.value, '$[0]'),
            json_extract(t.value, '$[1]'), NEW.vpc_id, NEW.vswitch_id, NEW.eni_type
        FROM json_each(NEW.tags) AS t;
END;

-- Every eni_update sets every column: only a real change rewrites the tags.
CREATE TRIGGER enis_tags_update
AFTER UPDATE OF tags, account_id, region_id, vpc_id, vswitch_id, eni_type ON enis
WHEN OLD.tags IS NOT NEW.tags OR OLD.account_id IS NOT NEW.account_id
    OR OLD.region_id IS NOT NEW.region_id OR OLD.vpc_id IS NOT NEW.vpc_id
    OR OLD.vswitch_id IS NOT NEW.vswitch_id OR OLD.eni_type IS NOT NEW.eni_type
BEGIN
    DELETE FROM eni_tags WHERE eni_seq = OLD.seq;
    INSERT INTO eni_tags (eni_seq, account_id, region_id, key, value, vpc_id, vswitch_id,
            eni_type)
        SELECT NEW.seq, NEW.account_id, NEW.region_id, json_extract(t.value, '$[0]'),
            json_extract(t.value, '$[1]'), NEW.vpc_id, NEW.vswitch_id, NEW.eni_type
        FROM json_each(NEW.tags) AS t;
END;

CREATE TRIGGER enis_tags_delete AFTER DELETE ON enis BEGIN
    DELETE FROM eni_tags WHERE eni_seq = OLD.seq;
END;
