-- 0003_dataplane_generation: a counter that grows with every change a data plane can see.
--
-- Agents long-poll for "generation > N". Triggers keep the counter, so no write path in the
-- application can forget to bump it, and the bump commits (or rolls back) with the change.

CREATE TABLE counters (
    name   TEXT    NOT NULL,
    value  INTEGER NOT NULL,
    CONSTRAINT counter_pk PRIMARY KEY (name),
    CONSTRAINT counter_value_non_negative CHECK (value >= 0)
);
INSERT INTO counters (name, value) VALUES ('dataplane', 0);

CREATE TRIGGER enis_bump_insert AFTER INSERT ON enis
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER enis_bump_update AFTER UPDATE ON enis
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER enis_bump_delete AFTER DELETE ON enis
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;

CREATE TRIGGER instances_bump_insert AFTER INSERT ON instances
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER instances_bump_update AFTER UPDATE ON instances
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER instances_bump_delete AFTER DELETE ON instances
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;

CREATE TRIGGER private_ips_bump_insert AFTER INSERT ON private_ips
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER private_ips_bump_delete AFTER DELETE ON private_ips
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
