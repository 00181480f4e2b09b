-- 0009_eip_pool: the free list of the public address pool EIPs are drawn from.
--
-- Conventions are 0001's. The pool is configuration (`--eip-pool`), not a resource: a row of
-- eip_pools (its CIDR text) says that pool's free list is kept; eip_free_ranges holds the
-- list as disjoint inclusive ranges, clustered on (pool_id, lo) so that "the range with the
-- greatest lo <= ip" is one index probe, as ip_free_ranges (0002) does for a vSwitch. The
-- application keeps one pool at a time: recording another deletes the old row, and its
-- ranges go with it. Nothing is seeded here: the first allocation seeds the configured pool
-- from the EIPs held at that time, as it does after the pool changes.

CREATE TABLE eip_pools (
    id  TEXT NOT NULL CONSTRAINT eip_pool_pk PRIMARY KEY
) WITHOUT ROWID;

CREATE TABLE eip_free_ranges (
    pool_id  TEXT    NOT NULL,
    lo       INTEGER NOT NULL,
    hi       INTEGER NOT NULL,
    CONSTRAINT eip_free_range_pk PRIMARY KEY (pool_id, lo),
    CONSTRAINT eip_free_range_ordered CHECK (lo <= hi),
    CONSTRAINT eip_free_range_ipv4_range CHECK (lo >= 0 AND hi <= 4294967295),
    CONSTRAINT eip_free_range_pool_fk FOREIGN KEY (pool_id) REFERENCES eip_pools (id) ON DELETE CASCADE
) WITHOUT ROWID;
