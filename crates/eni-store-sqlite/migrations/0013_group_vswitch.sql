-- 0013_group_vswitch: a security group's members per vSwitch, in creation order.
--
-- Conventions are 0001's. DescribeNetworkInterfaces with SecurityGroupId and VSwitchId walked
-- one of the two (every member of the group, or every ENI of the vSwitch) and probed the
-- other once per row; its TotalCount on PostgreSQL at 100k ENIs took 18 ms. A membership now
-- carries its ENI's vSwitch (which never changes), and an index (group, vSwitch, seq) lists
-- exactly the ENIs both filters match, in creation order, so a page or count walks only those.
-- The column is written with the membership, from the ENI row, like eni_seq.

ALTER TABLE eni_security_groups ADD COLUMN vswitch_id TEXT NOT NULL DEFAULT '';

UPDATE eni_security_groups
    SET vswitch_id = (SELECT e.vswitch_id FROM enis e WHERE e.id = eni_security_groups.eni_id);

CREATE INDEX eni_security_groups_vswitch_idx
    ON eni_security_groups (security_group_id, vswitch_id, eni_seq);
