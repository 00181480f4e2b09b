-- Counts and filtered pages read the ENI indexes alone (an index-only scan) only where the
-- visibility map says a page holds no changes that readers might not see, and only VACUUM
-- sets it. By default autovacuum visits a table after inserts of a fifth of its rows (20,000
-- ENIs at 100k), so the newest ENIs are read from the table, row by row; vacuuming the tables
-- the listings read after 1% of new or changed rows keeps those reads in the indexes.
ALTER TABLE enis SET (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_vacuum_scale_factor = 0.01);
ALTER TABLE eni_security_groups SET (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_vacuum_scale_factor = 0.01);
ALTER TABLE eni_tags SET (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_vacuum_scale_factor = 0.01);
ALTER TABLE private_ips SET (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_vacuum_scale_factor = 0.01);
