-- Every commit that moves the data-plane generation (the `dataplane` row of `counters`, kept by
-- the triggers of 0001) notifies channel `eni_changes`, so the agents' long polls on every API
-- server wake at once (PgStore::watch_changes LISTENs). A transaction's identical
-- notifications are folded into one, delivered at its commit; a rolled-back one sends none.

CREATE FUNCTION eni_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eni_changes', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER counters_notify_changes
    AFTER INSERT OR UPDATE ON counters
    FOR EACH ROW WHEN (NEW.name = 'dataplane')
    EXECUTE FUNCTION eni_notify_changes();
