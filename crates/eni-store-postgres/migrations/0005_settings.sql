-- Port of eni-store-sqlite's 0014_settings: what every server on one database must agree on
-- (the agents' token), written once by the first server to start.

CREATE TABLE settings (
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    CONSTRAINT setting_pk PRIMARY KEY (name)
);
