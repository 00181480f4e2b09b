-- 0004_ipv6_prefix_overlap: an IPv6 /80 prefix and single IPv6 addresses never share a /80.
--
-- A /80 of a vSwitch is held either whole, as one prefix, or by any number of single
-- addresses, never both: a prefix must not contain an address that is in use, and an address
-- must not fall inside a prefix that is in use (the "IP prefixes" page of the ECS docs: a
-- prefix "must not overlap with existing IP prefixes or IP addresses").
--
-- Every row gets `net`, the /80 it lies in (for a prefix, the prefix itself), in the same
-- canonical text as `addr`. Existing rows get it from eni_ipv6_net80(addr, is_prefix), a
-- function the migration runner registers on its connection; new rows get it from the
-- backend, which computes it with the same Rust function. ipv6_addrs is rebuilt rather than
-- altered because ALTER TABLE cannot add a NOT NULL column without a default. Nothing
-- references ipv6_addrs, and rows are copied in `seq` order with their `seq`, so every
-- owner's addresses keep their order. Rows that broke the rule before this migration are
-- kept as they are; the rule holds for every row written from now on.
--
-- SQLite has no exclusion constraint, so a trigger states the rule: it refuses, before the
-- row is written, a row whose /80 already holds a row of the other kind, or a second prefix
-- of the same /80 under another spelling. An exact duplicate (the same address or prefix
-- again) is left to ipv6_vswitch_addr_unique, so that it keeps being reported by that name.
-- Rows are never updated (an address is released by deleting its row), so only inserts are
-- checked. Writers are serialized (BEGIN IMMEDIATE), so the check cannot race; a PostgreSQL
-- backend states the same rule as EXCLUDE (vswitch_id WITH =, net WITH =, is_prefix WITH <>).
CREATE TABLE ipv6_addrs_0004 (
    seq         INTEGER CONSTRAINT ipv6_seq_pk PRIMARY KEY AUTOINCREMENT,
    vswitch_id  TEXT    NOT NULL,
    addr        TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    is_prefix   INTEGER NOT NULL,
    -- The /80 that holds the row: "net/80".
    net         TEXT    NOT NULL,
    CONSTRAINT ipv6_vswitch_addr_unique UNIQUE (vswitch_id, addr),
    CONSTRAINT ipv6_is_prefix_bool CHECK (is_prefix IN (0, 1)),
    -- Exactly the prefixes carry a length.
    CONSTRAINT ipv6_prefix_has_length CHECK ((instr(addr, '/') > 0) = (is_prefix = 1)),
    -- A prefix is a whole /80.
    CONSTRAINT ipv6_prefix_is_its_net CHECK (is_prefix = 0 OR addr = net),
    CONSTRAINT ipv6_net_is_a_80 CHECK (net LIKE '%/80'),
    CONSTRAINT ipv6_vswitch_fk FOREIGN KEY (vswitch_id) REFERENCES vswitches (id)
);
INSERT INTO ipv6_addrs_0004 (seq, vswitch_id, addr, owner, is_prefix, net)
    SELECT seq, vswitch_id, addr, owner, is_prefix, eni_ipv6_net80(addr, is_prefix)
    FROM ipv6_addrs ORDER BY seq;
DROP TABLE ipv6_addrs;
ALTER TABLE ipv6_addrs_0004 RENAME TO ipv6_addrs;
-- ipv6_of; also releasing everything an ENI holds.
CREATE INDEX ipv6_addrs_owner_idx ON ipv6_addrs (owner, seq);
-- The overlap trigger's probe: the rows of one /80.
CREATE INDEX ipv6_addrs_net_idx ON ipv6_addrs (vswitch_id, net);

CREATE TRIGGER ipv6_addrs_prefix_overlap BEFORE INSERT ON ipv6_addrs
WHEN EXISTS (
    SELECT 1 FROM ipv6_addrs
    WHERE vswitch_id = NEW.vswitch_id AND net = NEW.net AND addr <> NEW.addr
      AND (is_prefix = 1 OR NEW.is_prefix = 1)
)
BEGIN SELECT RAISE(ABORT, 'ipv6_prefix_overlap'); END;
