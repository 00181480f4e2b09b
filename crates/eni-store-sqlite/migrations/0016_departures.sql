-- 0016_departures: the host a deleted instance was on, while ENIs it kept are Detaching.
--
-- Conventions are 0001's. DeleteInstance keeps a secondary ENI (DeleteOnRelease off) Detaching,
-- naming the deleted instance, until the agent that held the instance reports its namespace
-- gone. With several hosts only that host's agent may say so, and the instance row (which
-- named its host) is gone: this row keeps the host until the last such ENI is free.

CREATE TABLE departures (
    instance_id  TEXT NOT NULL,
    host_id      TEXT NOT NULL,
    CONSTRAINT departure_pk PRIMARY KEY (instance_id)
) WITHOUT ROWID;
