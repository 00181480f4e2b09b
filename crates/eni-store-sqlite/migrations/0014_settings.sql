-- 0014_settings: what every server on one store must agree on, kept with the state.
--
-- Conventions are 0001's. The agents' token lived only in the data dir, so servers on one
-- PostgreSQL each had their own unless an operator gave them all the same; it is now a row
-- here, written once by the first server to start (from its data dir's token file if it has
-- one, so existing agents keep working) and copied by `eni db copy` with everything else.
-- Each server still writes it to its data dir for the agents on its host.

CREATE TABLE settings (
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    CONSTRAINT setting_pk PRIMARY KEY (name)
) WITHOUT ROWID;
