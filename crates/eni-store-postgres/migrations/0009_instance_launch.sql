-- Port of eni-store-sqlite's 0018_instance_launch: the user data and the system disk's category
-- and size an instance was launched with (DescribeUserData, DescribeDisks).
ALTER TABLE instances ADD COLUMN user_data TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN system_disk_category TEXT NOT NULL DEFAULT 'cloud_essd';
ALTER TABLE instances ADD COLUMN system_disk_size BIGINT NOT NULL DEFAULT 40;
