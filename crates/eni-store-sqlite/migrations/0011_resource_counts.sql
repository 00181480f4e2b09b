-- 0011_resource_counts: how many ENIs (per type), VPCs and EIPs each account holds in each
-- region, for the quotas.
--
-- Conventions are 0001's. A quota check used to count the account's rows (an index range as
-- long as the account is large: O(n) on every CreateNetworkInterface). Triggers now keep one
-- row per (account, region, kind) in the statement that inserts, deletes or moves a resource,
-- so the count commits and rolls back with the change, no write path can forget it, and a
-- quota check is one primary-key probe. Kinds: 'eni:<type>' (Primary, Secondary, Trunk),
-- 'vpc', 'eip'. A row that falls to zero stays (at 0).

CREATE TABLE resource_counts (
    account_id  INTEGER NOT NULL,
    region_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    CONSTRAINT resource_count_pk PRIMARY KEY (account_id, region_id, kind),
    CONSTRAINT resource_count_non_negative CHECK (n >= 0)
) WITHOUT ROWID;

INSERT INTO resource_counts (account_id, region_id, kind, n)
    SELECT account_id, region_id, 'eni:' || eni_type, count(*) FROM enis
    GROUP BY account_id, region_id, eni_type;
INSERT INTO resource_counts (account_id, region_id, kind, n)
    SELECT account_id, region_id, 'vpc', count(*) FROM vpcs GROUP BY account_id, region_id;
INSERT INTO resource_counts (account_id, region_id, kind, n)
    SELECT account_id, region_id, 'eip', count(*) FROM eips GROUP BY account_id, region_id;

CREATE TRIGGER enis_count_insert AFTER INSERT ON enis BEGIN
    INSERT INTO resource_counts (account_id, region_id, kind, n)
        VALUES (NEW.account_id, NEW.region_id, 'eni:' || NEW.eni_type, 1)
        ON CONFLICT (account_id, region_id, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER enis_count_delete AFTER DELETE ON enis BEGIN
    UPDATE resource_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id
          AND kind = 'eni:' || OLD.eni_type;
END;
-- Every eni_update sets every column: only a real move changes the counts.
CREATE TRIGGER enis_count_update AFTER UPDATE OF account_id, region_id, eni_type ON enis
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.region_id IS NOT NEW.region_id
    OR OLD.eni_type IS NOT NEW.eni_type
BEGIN
    UPDATE resource_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id
          AND kind = 'eni:' || OLD.eni_type;
    INSERT INTO resource_counts (account_id, region_id, kind, n)
        VALUES (NEW.account_id, NEW.region_id, 'eni:' || NEW.eni_type, 1)
        ON CONFLICT (account_id, region_id, kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER vpcs_count_insert AFTER INSERT ON vpcs BEGIN
    INSERT INTO resource_counts (account_id, region_id, kind, n)
        VALUES (NEW.account_id, NEW.region_id, 'vpc', 1)
        ON CONFLICT (account_id, region_id, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER vpcs_count_delete AFTER DELETE ON vpcs BEGIN
    UPDATE resource_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id AND kind = 'vpc';
END;
CREATE TRIGGER vpcs_count_update AFTER UPDATE OF account_id, region_id ON vpcs
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.region_id IS NOT NEW.region_id
BEGIN
    UPDATE resource_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id AND kind = 'vpc';
    INSERT INTO resource_counts (account_id, region_id, kind, n)
        VALUES (NEW.account_id, NEW.region_id, 'vpc', 1)
        ON CONFLICT (account_id, region_id, kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER eips_count_insert AFTER INSERT ON eips BEGIN
    INSERT INTO resource_counts (account_id, region_id, kind, n)
        VALUES (NEW.account_id, NEW.region_id, 'eip', 1)
        ON CONFLICT (account_id, region_id, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER eips_count_delete AFTER DELETE ON eips BEGIN
    UPDATE resource_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id AND kind = 'eip';
END;
CREATE TRIGGER eips_count_update AFTER UPDATE OF account_id, region_id ON eips
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.region_id IS NOT NEW.region_id
BEGIN
    UPDATE resource_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id AND kind = 'eip';
    INSERT INTO resource_counts (account_id, region_id, kind, n)
        VALUES (NEW.account_id, NEW.region_id, 'eip', 1)
        ON CONFLICT (account_id, region_id, kind) DO UPDATE SET n = n + 1;
END;
