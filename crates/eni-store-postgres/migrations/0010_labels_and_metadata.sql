-- Port of eni-store-sqlite's 0019_labels_and_metadata: the system disk's and the System route
-- table's name, description and tags beside their owner's row, an instance's metadata-service
-- options, and ENI and instance update triggers
-- that skip writes of what no host renders (a name, a description, tags, a resource group, an
-- ENI's DeleteOnRelease, the system disk's labels, the metadata hop limit), and an ENI's
-- group memberships that move the generation themselves. SQLite lists the watched columns; here
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

-- An ENI's groups move the generation themselves (scope: the group's VPC), now that an enis
-- row written unchanged no longer does.
CREATE OR REPLACE FUNCTION counters_bump_dataplane() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    g bigint;
    r record;
    scopes text[];
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane' RETURNING value INTO g;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    CASE TG_TABLE_NAME
    WHEN 'enis' THEN
        scopes := ARRAY[r.vpc_id];
        IF TG_OP = 'UPDATE' THEN
            scopes := scopes || OLD.vpc_id;
            IF EXISTS (SELECT 1 FROM eips WHERE eni_id = NEW.id) THEN
                scopes := scopes || 'internet'::text;
            END IF;
        END IF;
    WHEN 'instances' THEN
        scopes := ARRAY[r.vpc_id];
        IF TG_OP = 'UPDATE' THEN scopes := scopes || OLD.vpc_id; END IF;
    WHEN 'private_ips', 'ipv6_addrs' THEN
        scopes := ARRAY(SELECT vpc_id FROM vswitches WHERE id = r.vswitch_id);
    WHEN 'security_group_rules' THEN
        scopes := ARRAY(SELECT vpc_id FROM security_groups WHERE id = r.security_group_id);
        IF TG_OP = 'UPDATE' THEN
            scopes := scopes || ARRAY(SELECT vpc_id FROM security_groups WHERE id = OLD.security_group_id);
        END IF;
    WHEN 'security_groups' THEN
        scopes := ARRAY[r.vpc_id];
    WHEN 'eni_security_groups' THEN
        scopes := ARRAY(SELECT vpc_id FROM security_groups WHERE id = r.security_group_id);
    WHEN 'eips' THEN
        scopes := ARRAY[OLD.vpc_id, 'internet'];
        IF TG_OP = 'UPDATE' THEN scopes := scopes || NEW.vpc_id; END IF;
    ELSE
        scopes := ARRAY['*'];
    END CASE;
    INSERT INTO dataplane_changes (generation, scope)
        SELECT DISTINCT g, s FROM unnest(scopes) AS s WHERE s IS NOT NULL
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER eni_security_groups_bump_insert AFTER INSERT ON eni_security_groups
FOR EACH ROW EXECUTE FUNCTION counters_bump_dataplane();
CREATE TRIGGER eni_security_groups_bump_delete AFTER DELETE ON eni_security_groups
FOR EACH ROW EXECUTE FUNCTION counters_bump_dataplane();

-- A bound EIP's bandwidth is on its host now (each EIP's traffic is capped at it).
DROP TRIGGER eips_bump_update ON eips;
CREATE TRIGGER eips_bump_update
AFTER UPDATE OF status, instance_id, eni_id, vswitch_id, private_ip, bandwidth ON eips
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
    OR OLD.eni_id IS DISTINCT FROM NEW.eni_id
    OR OLD.private_ip IS DISTINCT FROM NEW.private_ip
    OR OLD.vswitch_id IS DISTINCT FROM NEW.vswitch_id
    OR (OLD.bandwidth IS DISTINCT FROM NEW.bandwidth AND NEW.eni_id IS NOT NULL))
EXECUTE FUNCTION counters_bump_dataplane();

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
                            'system_disk_description', 'system_disk_tags', 'metadata_hop_limit']
      IS DISTINCT FROM
      to_jsonb(NEW) - ARRAY['name', 'description', 'resource_group_id', 'tags', 'system_disk_name',
                            'system_disk_description', 'system_disk_tags', 'metadata_hop_limit'])
EXECUTE FUNCTION counters_bump_dataplane();
