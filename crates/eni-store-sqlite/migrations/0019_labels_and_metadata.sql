-- 0019_labels_and_metadata: what a disk and a route table are called and tagged, an instance's
-- metadata-service options, and data-plane triggers that ignore writes the data plane does not
-- render.
--
-- Conventions are 0001's.
--
-- An instance's system disk (DescribeDisks' d-…) and a VPC's System route table
-- (DescribeRouteTableList) live on their owner's row; their name, description and tags are
-- kept beside it (tags as 0001's JSON array of [key, value] pairs).
ALTER TABLE instances ADD COLUMN system_disk_name TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN system_disk_description TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN system_disk_tags TEXT NOT NULL DEFAULT '[]'
    CONSTRAINT instance_system_disk_tags_json CHECK (json_valid(system_disk_tags) AND json_type(system_disk_tags) = 'array');
ALTER TABLE vpcs ADD COLUMN route_table_name TEXT NOT NULL DEFAULT '';
ALTER TABLE vpcs ADD COLUMN route_table_description TEXT NOT NULL DEFAULT '';
ALTER TABLE vpcs ADD COLUMN route_table_tags TEXT NOT NULL DEFAULT '[]'
    CONSTRAINT vpc_route_table_tags_json CHECK (json_valid(route_table_tags) AND json_type(route_table_tags) = 'array');

-- The instance metadata service's options (RunInstances' HttpEndpoint, HttpTokens and
-- HttpPutResponseHopLimit, ModifyInstanceMetadataOptions), which the agents enforce.
ALTER TABLE instances ADD COLUMN metadata_http_endpoint TEXT NOT NULL DEFAULT 'enabled'
    CONSTRAINT instance_metadata_http_endpoint CHECK (metadata_http_endpoint IN ('enabled', 'disabled'));
ALTER TABLE instances ADD COLUMN metadata_http_tokens TEXT NOT NULL DEFAULT 'optional'
    CONSTRAINT instance_metadata_http_tokens CHECK (metadata_http_tokens IN ('optional', 'required'));
ALTER TABLE instances ADD COLUMN metadata_hop_limit INTEGER NOT NULL DEFAULT 1
    CONSTRAINT instance_metadata_hop_limit CHECK (metadata_hop_limit BETWEEN 1 AND 64);

-- An ENI's groups are rows of eni_security_groups, rewritten only when they change: they move
-- the generation themselves (scope: the group's VPC, the ENI's), now that an enis row written
-- unchanged no longer does.
CREATE TRIGGER eni_security_groups_bump_insert AFTER INSERT ON eni_security_groups BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, g.vpc_id FROM counters c, security_groups g
        WHERE c.name = 'dataplane' AND g.id = NEW.security_group_id;
END;
CREATE TRIGGER eni_security_groups_bump_delete AFTER DELETE ON eni_security_groups BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, g.vpc_id FROM counters c, security_groups g
        WHERE c.name = 'dataplane' AND g.id = OLD.security_group_id;
END;

-- An EIP's bandwidth is on its host now (each EIP's traffic is capped at it): a change of a
-- bound EIP's moves the generation like a change of its binding.
DROP TRIGGER eips_bump_update;
CREATE TRIGGER eips_bump_update
AFTER UPDATE OF status, instance_id, eni_id, vswitch_id, private_ip, bandwidth ON eips
WHEN OLD.status IS NOT NEW.status OR OLD.eni_id IS NOT NEW.eni_id OR OLD.private_ip IS NOT NEW.private_ip
    OR OLD.vswitch_id IS NOT NEW.vswitch_id
    OR (OLD.bandwidth IS NOT NEW.bandwidth AND NEW.eni_id IS NOT NULL)
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, s.scope FROM counters c,
            (SELECT NEW.vpc_id AS scope UNION ALL SELECT OLD.vpc_id UNION ALL SELECT 'internet') s
        WHERE c.name = 'dataplane' AND s.scope IS NOT NULL;
END;

-- A name, a description, tags, a resource group (and an ENI's DeleteOnRelease, an instance's
-- system disk's labels and metadata hop limit) are not on any host: writing only those no longer moves the
-- generation, so an agent is not woken to find nothing to do. Every other column is listed:
-- a column added later must be added here too (a test in eni-store-sqlite checks it).
DROP TRIGGER enis_bump_update;
CREATE TRIGGER enis_bump_update AFTER UPDATE ON enis
WHEN OLD.seq IS NOT NEW.seq OR OLD.id IS NOT NEW.id OR OLD.account_id IS NOT NEW.account_id
    OR OLD.region_id IS NOT NEW.region_id OR OLD.zone_id IS NOT NEW.zone_id
    OR OLD.vpc_id IS NOT NEW.vpc_id OR OLD.vswitch_id IS NOT NEW.vswitch_id
    OR OLD.eni_type IS NOT NEW.eni_type OR OLD.status IS NOT NEW.status
    OR OLD.due_at IS NOT NEW.due_at OR OLD.instance_id IS NOT NEW.instance_id
    OR OLD.device_index IS NOT NEW.device_index OR OLD.mac IS NOT NEW.mac
    OR OLD.primary_ip IS NOT NEW.primary_ip OR OLD.source_dest_check IS NOT NEW.source_dest_check
    OR OLD.queue_number IS NOT NEW.queue_number OR OLD.traffic_mode IS NOT NEW.traffic_mode
    OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, s.scope FROM counters c,
            (SELECT NEW.vpc_id AS scope UNION ALL SELECT OLD.vpc_id
             UNION ALL SELECT 'internet' WHERE EXISTS (SELECT 1 FROM eips WHERE eni_id = NEW.id)) s
        WHERE c.name = 'dataplane' AND s.scope IS NOT NULL;
END;

-- The metadata service (served by the agents) shows an instance's host name, image and user
-- data and follows its options, so those stay rendered.
DROP TRIGGER instances_bump_update;
CREATE TRIGGER instances_bump_update AFTER UPDATE ON instances
WHEN OLD.seq IS NOT NEW.seq OR OLD.id IS NOT NEW.id OR OLD.account_id IS NOT NEW.account_id
    OR OLD.region_id IS NOT NEW.region_id OR OLD.zone_id IS NOT NEW.zone_id
    OR OLD.instance_type IS NOT NEW.instance_type OR OLD.vpc_id IS NOT NEW.vpc_id
    OR OLD.vswitch_id IS NOT NEW.vswitch_id OR OLD.status IS NOT NEW.status
    OR OLD.due_at IS NOT NEW.due_at OR OLD.host_name IS NOT NEW.host_name
    OR OLD.image_id IS NOT NEW.image_id OR OLD.created_at IS NOT NEW.created_at
    OR OLD.started_at IS NOT NEW.started_at OR OLD.host_id IS NOT NEW.host_id
    OR OLD.tenancy IS NOT NEW.tenancy OR OLD.host_vcpus IS NOT NEW.host_vcpus
    OR OLD.user_data IS NOT NEW.user_data
    OR OLD.system_disk_category IS NOT NEW.system_disk_category
    OR OLD.system_disk_size IS NOT NEW.system_disk_size
    OR OLD.metadata_http_endpoint IS NOT NEW.metadata_http_endpoint
    OR OLD.metadata_http_tokens IS NOT NEW.metadata_http_tokens
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, s.scope FROM counters c,
            (SELECT NEW.vpc_id AS scope UNION ALL SELECT OLD.vpc_id) s
        WHERE c.name = 'dataplane' AND s.scope IS NOT NULL;
END;
