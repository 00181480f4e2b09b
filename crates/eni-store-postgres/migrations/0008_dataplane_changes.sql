-- Port of eni-store-sqlite's 0017_dataplane_changes: every data-plane change also records its
-- scope under the new generation (the VPC whose state it changed, 'internet' when an EIP's NAT
-- may move between hosts, '*' for a host), so an agent is sent only what changed. The log keeps
-- the last 50,000 generations; `dataplane_log_floor` is the generation it covers changes after.
--
-- Here one function serves every *_bump* trigger, so it finds the scope by the trigger's
-- table; a table it does not know records '*' (everything), the safe answer.

CREATE TABLE dataplane_changes (
    generation  BIGINT NOT NULL,
    scope       TEXT   NOT NULL,
    CONSTRAINT dataplane_change_pk PRIMARY KEY (generation, scope)
);
INSERT INTO counters (name, value)
    SELECT 'dataplane_log_floor', value FROM counters WHERE name = 'dataplane';

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

CREATE FUNCTION dataplane_changes_prune() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dataplane_changes WHERE generation <= NEW.generation - 50000;
    UPDATE counters SET value = NEW.generation - 50000
    WHERE name = 'dataplane_log_floor' AND value < NEW.generation - 50000;
    RETURN NULL;
END
$$;
CREATE TRIGGER dataplane_changes_prune AFTER INSERT ON dataplane_changes
FOR EACH ROW WHEN (NEW.generation % 1024 = 0 AND NEW.generation > 50000)
EXECUTE FUNCTION dataplane_changes_prune();
