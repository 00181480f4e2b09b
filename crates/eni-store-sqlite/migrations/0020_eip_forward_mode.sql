-- 0020_eip_forward_mode: an EIP's binding mode (NAT, BINDED, MULTI_BINDED) as its own column.
--
-- The mode belongs to the EIP, bound or not (ModifyEipForwardMode changes it on an unbound
-- EIP, and DescribeEipAddresses shows it), so it cannot live in the binding's `mode` column,
-- which is NULL while unbound and NAT when bound (0008's CHECK); that column stays a part of
-- the binding, always NAT, and `forward_mode` is the mode.
ALTER TABLE eips ADD COLUMN forward_mode TEXT NOT NULL DEFAULT 'NAT'
    CONSTRAINT eip_forward_mode_valid CHECK (forward_mode IN ('NAT', 'BINDED', 'MULTI_BINDED'));

-- A bound EIP's mode decides where its address is (translated on the router, or on the
-- guest's NIC): a change is data-plane state.
DROP TRIGGER eips_bump_update;
CREATE TRIGGER eips_bump_update
AFTER UPDATE OF status, instance_id, eni_id, vswitch_id, private_ip, bandwidth, forward_mode ON eips
WHEN OLD.status IS NOT NEW.status OR OLD.eni_id IS NOT NEW.eni_id OR OLD.private_ip IS NOT NEW.private_ip
    OR OLD.vswitch_id IS NOT NEW.vswitch_id
    OR (OLD.bandwidth IS NOT NEW.bandwidth AND NEW.eni_id IS NOT NULL)
    OR (OLD.forward_mode IS NOT NEW.forward_mode AND NEW.eni_id IS NOT NULL)
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'dataplane';
    INSERT OR IGNORE INTO dataplane_changes (generation, scope)
        SELECT c.value, s.scope FROM counters c,
            (SELECT NEW.vpc_id AS scope UNION ALL SELECT OLD.vpc_id UNION ALL SELECT 'internet') s
        WHERE c.name = 'dataplane' AND s.scope IS NOT NULL;
END;
