-- 0018_instance_launch: what an instance was launched with that later reads show.
--
-- Conventions are 0001's.
--
-- user_data: RunInstances' UserData as sent (Base64; '' for none), for DescribeUserData and the
-- metadata service. system_disk_category and system_disk_size (GiB): the system disk every
-- instance has, which DescribeDisks lists; instances from before this column get the defaults
-- RunInstances takes when SystemDisk.* is not given.
ALTER TABLE instances ADD COLUMN user_data TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN system_disk_category TEXT NOT NULL DEFAULT 'cloud_essd';
ALTER TABLE instances ADD COLUMN system_disk_size INTEGER NOT NULL DEFAULT 40;
