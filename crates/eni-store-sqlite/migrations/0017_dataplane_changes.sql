-- 0017_dataplane_changes: what each data-plane change touched, so an agent is sent only that.
--
-- Conventions are 0001's.
--
-- Every trigger that moves the data-plane generation (0003) also records, under the new
-- generation, the scope of the change: the VPC whose state it changed (an agent's desired
-- state is partitioned by VPC), 'internet' when it may move an EIP's NAT between hosts (the
-- list every agent holds of the EIPs other hosts NAT), '*' for everything (a host came, went
-- or moved: every agent's overlay changes). A change whose VPC is gone with it (an address of
-- an ENI deleted in the same statement) records nothing: the ENI's own row records its VPC.
--
-- The log keeps the last 50,000 generations (pruned every 1,024); `dataplane_log_floor`
-- is the generation it covers changes after, so an agent further behind (or one that polled
-- before this migration) gets its whole state.

CREATE TABLE dataplane_changes (
    generation  INTEGER NOT NULL,
    scope       TEXT    NOT NULL,
    CONSTRAINT dataplane_change_pk PRIMARY KEY (generation, scope)
) WITHOUT ROWID;
INSERT INTO counters (name, value)
    SELECT 'dataplane_log_floor', value FROM counters WHERE name = 'dataplane';

CREATE TRIGGER dataplane_changes_prune AFTER INSERT ON dataplane_changes
WHEN NEW.generation % 1024 = 0 AND NEW.generation > 50000
BEGIN
    DELETE FROM dataplane_changes WHERE generation <= NEW.generation - 50000;
    UPDATE counters SET value = NEW.generation - 50000
    WHERE name = 'dataplane_log_floor' AND value < NEW.generation - 50000;
END;

DROP TRIGGER enis_bump_insert;
DROP TRIGGER enis_bump_update;
DROP TRIGGER enis_bump_delete;
DROP TRIGGER instances_bump_insert;
DROP TRIGGER instances_bump_update;
DROP TRIGGER instances_bump_delete;
DROP TRIGGER private_ips_bump_insert;
DROP TRIGGER private_ips_bump_delete;
DROP TRIGGER ipv6_addrs_bump_insert;
DROP TRIGGER ipv6_addrs_bump_delete;
DROP TRIGGER security_group_rules_bump_insert;
DROP TRIGGER security_group_rules_bump_update;
DROP TRIGGER security_group_rules_bump_delete;
DROP TRIGGER security_groups_policy_bump;
DROP TRIGGER eips_bump_update;
DROP TRIGGER eips_bump_delete;
DROP TRIGGER hosts_bump_insert;
DROP TRIGGER hosts_bump_update;
DROP TRIGGER hosts_bump_delete;

-- An ENI's VPC; an update (attach, detach, a status) may move the NAT of its EIPs too.
CREATE TRIGGER enis_bump_insert AFTER INSERT ON enis BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT value, NEW.vpc_id FROM counters WHERE name = 'dataplane';
END;
CREATE TRIGGER enis_bump_update AFTER UPDATE ON enis BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, s.scope FROM counters c,
            (SELECT NEW.vpc_id AS scope UNION ALL SELECT OLD.vpc_id
             UNION ALL SELECT 'internet' WHERE EXISTS (SELECT 1 FROM eips WHERE eni_id = NEW.id)) s
        WHERE c.name = 'dataplane' AND s.scope IS NOT NULL;
END;
CREATE TRIGGER enis_bump_delete AFTER DELETE ON enis BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT value, OLD.vpc_id FROM counters WHERE name = 'dataplane';
END;

-- An instance's VPC (none: nothing of it is on a data plane).
CREATE TRIGGER instances_bump_insert AFTER INSERT ON instances BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT value, NEW.vpc_id FROM counters WHERE name = 'dataplane' AND NEW.vpc_id IS NOT NULL;
END;
CREATE TRIGGER instances_bump_update AFTER UPDATE ON instances BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, s.scope FROM counters c,
            (SELECT NEW.vpc_id AS scope UNION ALL SELECT OLD.vpc_id) s
        WHERE c.name = 'dataplane' AND s.scope IS NOT NULL;
END;
CREATE TRIGGER instances_bump_delete AFTER DELETE ON instances BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT value, OLD.vpc_id FROM counters WHERE name = 'dataplane' AND OLD.vpc_id IS NOT NULL;
END;

-- An address's VPC, through its vSwitch.
CREATE TRIGGER private_ips_bump_insert AFTER INSERT ON private_ips BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, v.vpc_id FROM counters c, vswitches v
        WHERE c.name = 'dataplane' AND v.id = NEW.vswitch_id;
END;
CREATE TRIGGER private_ips_bump_delete AFTER DELETE ON private_ips BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, v.vpc_id FROM counters c, vswitches v
        WHERE c.name = 'dataplane' AND v.id = OLD.vswitch_id;
END;
CREATE TRIGGER ipv6_addrs_bump_insert AFTER INSERT ON ipv6_addrs BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, v.vpc_id FROM counters c, vswitches v
        WHERE c.name = 'dataplane' AND v.id = NEW.vswitch_id;
END;
CREATE TRIGGER ipv6_addrs_bump_delete AFTER DELETE ON ipv6_addrs BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, v.vpc_id FROM counters c, vswitches v
        WHERE c.name = 'dataplane' AND v.id = OLD.vswitch_id;
END;

-- A rule's or a policy's VPC, through its group.
CREATE TRIGGER security_group_rules_bump_insert AFTER INSERT ON security_group_rules BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, g.vpc_id FROM counters c, security_groups g
        WHERE c.name = 'dataplane' AND g.id = NEW.security_group_id;
END;
CREATE TRIGGER security_group_rules_bump_update AFTER UPDATE ON security_group_rules BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, g.vpc_id FROM counters c, security_groups g
        WHERE c.name = 'dataplane' AND g.id IN (NEW.security_group_id, OLD.security_group_id);
END;
CREATE TRIGGER security_group_rules_bump_delete AFTER DELETE ON security_group_rules BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, g.vpc_id FROM counters c, security_groups g
        WHERE c.name = 'dataplane' AND g.id = OLD.security_group_id;
END;
CREATE TRIGGER security_groups_policy_bump AFTER UPDATE OF inner_access_policy ON security_groups BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT value, NEW.vpc_id FROM counters WHERE name = 'dataplane';
END;

-- An EIP's VPC (before and after) and the internet: its NAT starts, moves or ends.
CREATE TRIGGER eips_bump_update AFTER UPDATE OF status, instance_id, eni_id, vswitch_id, private_ip ON eips
WHEN OLD.status IS NOT NEW.status OR OLD.eni_id IS NOT NEW.eni_id OR OLD.private_ip IS NOT NEW.private_ip
    OR OLD.vswitch_id IS NOT NEW.vswitch_id
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, s.scope FROM counters c,
            (SELECT NEW.vpc_id AS scope UNION ALL SELECT OLD.vpc_id UNION ALL SELECT 'internet') s
        WHERE c.name = 'dataplane' AND s.scope IS NOT NULL;
END;
CREATE TRIGGER eips_bump_delete AFTER DELETE ON eips WHEN OLD.eni_id IS NOT NULL BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, s.scope FROM counters c,
            (SELECT OLD.vpc_id AS scope UNION ALL SELECT 'internet') s
        WHERE c.name = 'dataplane' AND s.scope IS NOT NULL;
END;

-- A host: every agent's overlay.
CREATE TRIGGER hosts_bump_insert AFTER INSERT ON hosts BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT value, '*' FROM counters WHERE name = 'dataplane';
END;
CREATE TRIGGER hosts_bump_update AFTER UPDATE OF underlay_address ON hosts
WHEN OLD.underlay_address IS NOT NEW.underlay_address
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT value, '*' FROM counters WHERE name = 'dataplane';
END;
CREATE TRIGGER hosts_bump_delete AFTER DELETE ON hosts BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT value, '*' FROM counters WHERE name = 'dataplane';
END;
