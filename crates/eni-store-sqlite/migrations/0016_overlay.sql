-- 0016_overlay: what several hosts need of the store.
--
-- Conventions are 0001's.
--
-- departures: DeleteInstance keeps a secondary ENI (DeleteOnRelease off) Detaching, naming the
-- deleted instance, until the agent that held the instance reports its namespace gone. With
-- several hosts only that host's agent may say so, and the instance row (which named its host)
-- is gone: a row here keeps the host (none: the instance had none, any agent decides) until
-- the last such ENI is free. Agents' reports walk these rows, not every ENI. Such ENIs left by
-- an older version get their row here.
--
-- instances_unplaced_idx: the instances every agent serves (no host), listed by each report.
--
-- instances.host_vcpus: the vCPUs an instance took from its host when placed, given back on
-- delete whatever the catalog says by then (0: no host, or placed before this column: the
-- type's vCPUs are given back, as before).
--
-- The hosts' triggers: every agent's desired state holds the other hosts' overlay endpoints
-- (underlay address; router address and MAC from the host's seq), so a host that comes, goes
-- or moves its underlay address is a data-plane change. Its signs of life (last_seen_at) and
-- its used vCPUs are not.

CREATE TABLE departures (
    instance_id  TEXT NOT NULL,
    host_id      TEXT,
    CONSTRAINT departure_pk PRIMARY KEY (instance_id)
) WITHOUT ROWID;
INSERT INTO departures (instance_id, host_id)
    SELECT DISTINCT instance_id, NULL FROM enis
    WHERE status = 'Detaching' AND instance_id IS NOT NULL
      AND instance_id NOT IN (SELECT id FROM instances);

CREATE INDEX instances_unplaced_idx ON instances (seq) WHERE host_id IS NULL;

ALTER TABLE instances ADD COLUMN host_vcpus INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER hosts_bump_insert AFTER INSERT ON hosts
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER hosts_bump_update AFTER UPDATE OF underlay_address ON hosts
WHEN OLD.underlay_address IS NOT NEW.underlay_address
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER hosts_bump_delete AFTER DELETE ON hosts
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
