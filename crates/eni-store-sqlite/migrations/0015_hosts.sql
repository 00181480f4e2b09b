-- 0015_hosts: the data-plane hosts (agents), and the host each instance runs on.
--
-- Conventions are 0001's. An agent registers its host name, zone, underlay address and vCPU
-- capacity; the API shows each (name, zone) as an Alibaba dedicated host (`dh-…`). Hosts are
-- the operator's machines, so the table has no account. An instance records the host it was
-- placed on; NULL in a zone with no registered host, where every agent serves it (one host).
-- Hosts are never deleted (a silent one turns UnderAssessment), so no foreign key is needed
-- for an instance's host to exist.

CREATE TABLE hosts (
    seq               INTEGER CONSTRAINT host_seq_pk PRIMARY KEY AUTOINCREMENT,
    id                TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    zone_id           TEXT    NOT NULL,
    underlay_address  TEXT    NOT NULL,
    capacity_vcpus    INTEGER NOT NULL,
    -- The vCPUs its instances take (their types'), kept by the control plane as it places
    -- and deletes them, so that placing one reads no list of instances.
    used_vcpus        INTEGER NOT NULL DEFAULT 0,
    -- Unix ms of its agent's last call: Available while recent, else UnderAssessment.
    last_seen_at      INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    CONSTRAINT host_pk UNIQUE (id),
    CONSTRAINT host_name_zone_unique UNIQUE (name, zone_id),
    CONSTRAINT host_capacity_u32 CHECK (capacity_vcpus BETWEEN 0 AND 4294967295),
    CONSTRAINT host_used_non_negative CHECK (used_vcpus >= 0)
);

ALTER TABLE instances ADD COLUMN host_id TEXT;
-- 'host' when the caller asked for a dedicated host (DedicatedHostId or Tenancy=host): only
-- then does DescribeInstances show the host, as Alibaba does; 'default' otherwise (placed, if
-- at all, by the server for its data plane).
ALTER TABLE instances ADD COLUMN tenancy TEXT NOT NULL DEFAULT 'default';

-- A host's instances (its load, and what its agent serves).
CREATE INDEX instances_host_idx ON instances (host_id, seq) WHERE host_id IS NOT NULL;
