-- 0006_ipv6_dataplane_generation: IPv6 addresses and prefixes are data-plane state too.
--
-- An agent configures an ENI's IPv6 addresses in its instance's namespace and routes its /80
-- prefixes, so assigning or releasing one must wake the agents as an IPv4 change does (0003).
-- Rows are inserted and deleted, never updated.
CREATE TRIGGER ipv6_addrs_bump_insert AFTER INSERT ON ipv6_addrs
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
CREATE TRIGGER ipv6_addrs_bump_delete AFTER DELETE ON ipv6_addrs
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'dataplane'; END;
