-- Port of eni-store-sqlite's 0016_overlay: where a deleted instance was while ENIs it kept are
-- Detaching (only that host's agent may free them), the index of unplaced instances, the vCPUs
-- an instance took from its host, and the
-- hosts as data-plane changes (a host that comes, goes or moves its underlay address; not its
-- signs of life).

CREATE TABLE departures (
    instance_id  TEXT NOT NULL,
    host_id      TEXT,
    CONSTRAINT departure_pk PRIMARY KEY (instance_id)
);
INSERT INTO departures (instance_id, host_id)
    SELECT DISTINCT instance_id, NULL FROM enis
    WHERE status = 'Detaching' AND instance_id IS NOT NULL
      AND instance_id NOT IN (SELECT id FROM instances);

CREATE INDEX instances_unplaced_idx ON instances (seq) WHERE host_id IS NULL;

ALTER TABLE instances ADD COLUMN host_vcpus BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER hosts_bump_insert AFTER INSERT ON hosts
FOR EACH ROW EXECUTE FUNCTION counters_bump_dataplane();
CREATE TRIGGER hosts_bump_update AFTER UPDATE OF underlay_address ON hosts
FOR EACH ROW WHEN (OLD.underlay_address IS DISTINCT FROM NEW.underlay_address)
EXECUTE FUNCTION counters_bump_dataplane();
CREATE TRIGGER hosts_bump_delete AFTER DELETE ON hosts
FOR EACH ROW EXECUTE FUNCTION counters_bump_dataplane();
