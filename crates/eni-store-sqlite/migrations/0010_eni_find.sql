-- 0010_eni_find: what DescribeNetworkInterfaces' filters need to narrow in the database.
--
-- Conventions are 0001's. A page is a run of ENIs in creation order (seq) after a cursor, so
-- each equality filter on an ENI column gets an index that lists its matches in that order:
-- the page is then a range of one index, whatever the number of ENIs. Tags move out of the
-- JSON column into eni_tags (the column stays the row's record; triggers keep the table in
-- step with it on insert, update and delete, so no write path can forget), keyed so that one tag's ENIs also come in
-- creation order. Addresses get indexes by value, for PrivateIpAddress.N and Ipv6Address.N.

CREATE INDEX enis_vpc_seq_idx ON enis (vpc_id, seq);
-- Replaces enis_vswitch_idx, which only served the vSwitch's count and foreign-key check.
DROP INDEX enis_vswitch_idx;
CREATE INDEX enis_vswitch_idx ON enis (vswitch_id, seq);
CREATE INDEX enis_status_idx ON enis (account_id, region_id, status, seq);
CREATE INDEX enis_type_idx ON enis (account_id, region_id, eni_type, seq);
CREATE INDEX enis_name_idx ON enis (account_id, region_id, name, seq);
CREATE INDEX enis_resource_group_idx ON enis (account_id, region_id, resource_group_id, seq);

CREATE INDEX private_ips_ip_idx ON private_ips (ip);
CREATE INDEX ipv6_addrs_addr_idx ON ipv6_addrs (addr);

-- The store keeps what it is given: a key set twice on one ENI (which the API refuses) is two
-- rows, not a conflict.
CREATE TABLE eni_tags (
    eni_seq     INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL
);
-- The rewrites of the triggers below, and the probe of one ENI's tags.
CREATE INDEX eni_tags_eni_idx ON eni_tags (eni_seq, key);
-- Tag.N with a value, and with a key alone: each lists its ENIs in creation order.
CREATE INDEX eni_tags_value_idx ON eni_tags (account_id, key, value, eni_seq);
CREATE INDEX eni_tags_key_idx ON eni_tags (account_id, key, eni_seq);

-- The tags column is a JSON array of [key, value] pairs.
INSERT INTO eni_tags (eni_seq, account_id, key, value)
    SELECT enis.seq, enis.account_id, json_extract(t.value, '$[0]'), json_extract(t.value, '$[1]')
    FROM enis, json_each(enis.tags) AS t;

CREATE TRIGGER enis_tags_insert AFTER INSERT ON enis BEGIN
    INSERT INTO eni_tags (eni_seq, account_id, key, value)
        SELECT NEW.seq, NEW.account_id, json_extract(t.value, '$[0]'), json_extract(t.value, '$[1]')
        FROM json_each(NEW.tags) AS t;
END;

-- Every eni_update sets every column: only a real change rewrites the tags.
CREATE TRIGGER enis_tags_update AFTER UPDATE OF tags, account_id ON enis
WHEN OLD.tags IS NOT NEW.tags OR OLD.account_id IS NOT NEW.account_id BEGIN
    DELETE FROM eni_tags WHERE eni_seq = OLD.seq;
    INSERT INTO eni_tags (eni_seq, account_id, key, value)
        SELECT NEW.seq, NEW.account_id, json_extract(t.value, '$[0]'), json_extract(t.value, '$[1]')
        FROM json_each(NEW.tags) AS t;
END;

CREATE TRIGGER enis_tags_delete AFTER DELETE ON enis BEGIN
    DELETE FROM eni_tags WHERE eni_seq = OLD.seq;
END;
