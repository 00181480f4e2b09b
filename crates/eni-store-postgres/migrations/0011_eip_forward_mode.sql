-- 0011_eip_forward_mode: SQLite's 0020_eip_forward_mode. An EIP's binding mode as its own
-- column (the binding's `mode` stays NAT), and a bound EIP's mode change moves the
-- data-plane generation.
ALTER TABLE eips ADD COLUMN forward_mode TEXT NOT NULL DEFAULT 'NAT'
    CONSTRAINT eip_forward_mode_valid CHECK (forward_mode IN ('NAT', 'BINDED', 'MULTI_BINDED'));

DROP TRIGGER eips_bump_update ON eips;
CREATE TRIGGER eips_bump_update
AFTER UPDATE OF status, instance_id, eni_id, vswitch_id, private_ip, bandwidth, forward_mode ON eips
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
    OR OLD.eni_id IS DISTINCT FROM NEW.eni_id
    OR OLD.private_ip IS DISTINCT FROM NEW.private_ip
    OR OLD.vswitch_id IS DISTINCT FROM NEW.vswitch_id
    OR (OLD.bandwidth IS DISTINCT FROM NEW.bandwidth AND NEW.eni_id IS NOT NULL)
    OR (OLD.forward_mode IS DISTINCT FROM NEW.forward_mode AND NEW.eni_id IS NOT NULL))
EXECUTE FUNCTION counters_bump_dataplane();
