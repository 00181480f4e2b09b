-- Port of eni-store-sqlite's 0019_labels_and_metadata: the system disk's and the System route
-- table's name, description and tags beside their owner's row, an instance's metadata-service
-- options, and ENI and instance update triggers
-- that skip writes of what no host renders (a name, a description, tags, a resource group, an
-- ENI's DeleteOnRelease, the system disk's labels). SQLite lists the watched columns; here
-- every column but those is compared, so a column added later is watched without a change.
ALTER TABLE instances ADD COLUMN system_disk_name TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN system_disk_description TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN system_disk_tags TEXT NOT NULL DEFAULT '[]'
    CONSTRAINT instance_system_disk_tags_json CHECK (jsonb_typeof(system_disk_tags::jsonb) = 'array');
ALTER TABLE vpcs ADD COLUMN route_table_name TEXT NOT NULL DEFAULT '';
ALTER TABLE vpcs ADD COLUMN route_table_description TEXT NOT NULL DEFAULT '';
ALTER TABLE vpcs ADD COLUMN route_table_tags TEXT NOT NULL DEFAULT '[]'
    CONSTRAINT vpc_route_table_tags_json CHECK (jsonb_typeof(route_table_tags::jsonb) = 'array');
ALTER TABLE instances ADD COLUMN metadata_http_endpoint TEXT NOT NULL DEFAULT 'enabled'
    CONSTRAINT instance_metadata_http_endpoint CHECK (metadata_http_endpoint IN ('enabled', 'disabled'));
ALTER TABLE instances ADD COLUMN metadata_http_tokens TEXT NOT NULL DEFAULT 'optional'
    CONSTRAINT instance_metadata_http_tokens CHECK (metadata_http_tokens IN ('optional', 'required'));
ALTER TABLE instances ADD COLUMN metadata_hop_limit BIGINT NOT NULL DEFAULT 1
    CONSTRAINT instance_metadata_hop_limit CHECK (metadata_hop_limit BETWEEN 1 AND 64);

DROP TRIGGER enis_bump_update ON enis;
CREATE TRIGGER enis_bump_update AFTER UPDATE ON enis
FOR EACH ROW
WHEN (to_jsonb(OLD) - ARRAY['name', 'description', 'resource_group_id', 'tags', 'delete_on_release']
      IS DISTINCT FROM
      to_jsonb(NEW) - ARRAY['name', 'description', 'resource_group_id', 'tags', 'delete_on_release'])
EXECUTE FUNCTION counters_bump_dataplane();

-- The metadata service shows an instance's host name, image and user data: still watched.
DROP TRIGGER instances_bump_update ON instances;
CREATE TRIGGER instances_bump_update AFTER UPDATE ON instances
FOR EACH ROW
WHEN (to_jsonb(OLD) - ARRAY['name', 'description', 'resource_group_id', 'tags', 'system_disk_name',
                            'system_disk_description', 'system_disk_tags']
      IS DISTINCT FROM
      to_jsonb(NEW) - ARRAY['name', 'description', 'resource_group_id', 'tags', 'system_disk_name',
                            'system_disk_description', 'system_disk_tags'])
EXECUTE FUNCTION counters_bump_dataplane();
