-- 0005_vpc_ipv6_isp: the line type (Ipv6Isp) of a VPC's IPv6 block.
--
-- CreateVpc takes Ipv6Isp (BGP, the default, or one of the single-ISP types); DescribeVpcs
-- shows it beside the block in Ipv6CidrBlocks. NULL exactly when the VPC has no IPv6 block.
-- Existing IPv6 VPCs got their blocks before the parameter was read, so they are BGP.
--
-- ALTER TABLE can only add column constraints, and those are checked against existing rows,
-- where a block without an ISP is still possible until the UPDATE below; so the column says
-- "an ISP only with a block", and a trigger refuses new rows with a block and no ISP (VPC
-- rows are never updated).
ALTER TABLE vpcs ADD COLUMN ipv6_isp TEXT
    CONSTRAINT vpc_ipv6_isp_valid CHECK (ipv6_isp IN ('BGP', 'ChinaMobile', 'ChinaUnicom', 'ChinaTelecom'))
    CONSTRAINT vpc_ipv6_isp_only_with_block CHECK (ipv6_isp IS NULL OR ipv6_cidr_block IS NOT NULL);
UPDATE vpcs SET ipv6_isp = 'BGP' WHERE ipv6_cidr_block IS NOT NULL;

CREATE TRIGGER vpcs_ipv6_block_has_isp BEFORE INSERT ON vpcs
WHEN NEW.ipv6_cidr_block IS NOT NULL AND NEW.ipv6_isp IS NULL
BEGIN SELECT RAISE(ABORT, 'vpc_ipv6_block_has_isp'); END;
