-- Port of eni-store-sqlite's 0016_departures: the host a deleted instance was on, while ENIs it
-- kept are Detaching (only that host's agent may free them).

CREATE TABLE departures (
    instance_id  TEXT NOT NULL,
    host_id      TEXT NOT NULL,
    CONSTRAINT departure_pk PRIMARY KEY (instance_id)
);
