//! The catalog: regions, their zones, and instance types with their ENI figures. The default
//! is built in ([`Catalog::default`]); a JSON file with the same shape replaces it
//! ([`Catalog::from_json`]). Instance-type fields use the names of DescribeInstanceTypes.

use serde::{Deserialize, Serialize};

/// Everything the catalog knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Catalog {
    pub regions: Vec<Region>,
    pub instance_types: Vec<InstanceType>,
}

/// A region and its zones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Region {
    pub region_id: String,
    pub local_name: String,
    pub zones: Vec<Zone>,
}

/// A zone of a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Zone {
    pub zone_id: String,
    pub local_name: String,
}

/// An instance type with the figures Terway and the ENI rules read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct InstanceType {
    pub instance_type_id: String,
    pub instance_type_family: String,
    pub cpu_core_count: u32,
    /// GiB.
    pub memory_size: f64,
    /// ENIs per instance, the primary included.
    pub eni_quantity: u32,
    /// Private IPs per ENI, the primary IP included.
    pub eni_private_ip_address_quantity: u32,
    pub eni_ipv6_address_quantity: u32,
    /// kbit/s.
    pub instance_bandwidth_rx: u64,
    /// kbit/s.
    pub instance_bandwidth_tx: u64,
    pub instance_pps_rx: u64,
    pub instance_pps_tx: u64,
    /// Legacy types that are not I/O optimized cannot take secondary ENIs.
    pub io_optimized: bool,
    /// A few small burstable types take an ENI only while Stopped.
    #[serde(default)]
    pub attach_requires_stopped: bool,
}

#[allow(clippy::too_many_arguments)]
fn ty(
    id: &str,
    cpu: u32,
    mem: f64,
    enis: u32,
    ips: u32,
    ipv6: u32,
    kbps: u64,
    pps: u64,
) -> InstanceType {
    let family = id
        .rsplit_once('.')
        .map(|(f, _)| f)
        .unwrap_or(id)
        .to_string();
    InstanceType {
        instance_type_id: id.into(),
        instance_type_family: family,
        cpu_core_count: cpu,
        memory_size: mem,
        eni_quantity: enis,
        eni_private_ip_address_quantity: ips,
        eni_ipv6_address_quantity: ipv6,
        instance_bandwidth_rx: kbps,
        instance_bandwidth_tx: kbps,
        instance_pps_rx: pps,
        instance_pps_tx: pps,
        io_optimized: true,
        attach_requires_stopped: false,
    }
}

impl Default for Catalog {
    /// cn-hangzhou (zones h, i, j) and cn-beijing (zones a, b), with the g6/g7 types of the
    /// documentation, one burstable type that takes ENIs only while Stopped, and one legacy
    /// type that is not I/O optimized.
    fn default() -> Self {
        let zone = |id: &str, name: &str| Zone {
            zone_id: id.into(),
            local_name: name.into(),
        };
        let mut t6 = ty("ecs.t6-c1m2.large", 2, 4.0, 2, 2, 0, 102_400, 50_000);
        t6.attach_requires_stopped = true;
        let mut t1 = ty("ecs.t1.small", 1, 1.0, 1, 1, 0, 102_400, 10_000);
        t1.io_optimized = false;
        Catalog {
            regions: vec![
                Region {
                    region_id: "cn-hangzhou".into(),
                    local_name: "华东1（杭州）".into(),
                    zones: vec![
                        zone("cn-hangzhou-h", "杭州 可用区H"),
                        zone("cn-hangzhou-i", "杭州 可用区I"),
                        zone("cn-hangzhou-j", "杭州 可用区J"),
                    ],
                },
                Region {
                    region_id: "cn-beijing".into(),
                    local_name: "华北2（北京）".into(),
                    zones: vec![
                        zone("cn-beijing-a", "北京 可用区A"),
                        zone("cn-beijing-b", "北京 可用区B"),
                    ],
                },
            ],
            instance_types: vec![
                ty("ecs.g6.large", 2, 8.0, 2, 6, 1, 1_024_000, 300_000),
                ty("ecs.g6.xlarge", 4, 16.0, 3, 10, 10, 1_536_000, 500_000),
                ty("ecs.g7.large", 2, 8.0, 3, 6, 6, 2_048_000, 900_000),
                ty("ecs.g7.xlarge", 4, 16.0, 4, 15, 15, 3_072_000, 1_000_000),
                ty("ecs.g7.2xlarge", 8, 32.0, 4, 15, 15, 5_120_000, 1_600_000),
                ty("ecs.g7.4xlarge", 16, 64.0, 8, 30, 30, 10_240_000, 3_000_000),
                ty(
                    "ecs.g7.32xlarge",
                    128,
                    512.0,
                    15,
                    30,
                    30,
                    65_536_000,
                    24_000_000,
                ),
                t6,
                t1,
            ],
        }
    }
}

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid JSON of the expected shape")]
    Parse(#[source] serde_json::Error),
    #[error("catalog is inconsistent: {0}")]
    Invalid(String),
}

impl Catalog {
    /// Reads a catalog from JSON and checks it (unique IDs, at least one zone per region,
    /// at least one ENI per type).
    pub fn from_json(text: &str) -> Result<Self, CatalogError> {
        let c: Catalog = serde_json::from_str(text).map_err(CatalogError::Parse)?;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), CatalogError> {
        let mut seen = std::collections::HashSet::new();
        for r in &self.regions {
            if !seen.insert(r.region_id.clone()) {
                return Err(CatalogError::Invalid(format!(
                    "region {} twice",
                    r.region_id
                )));
            }
            if r.zones.is_empty() {
                return Err(CatalogError::Invalid(format!(
                    "region {} has no zone",
                    r.region_id
                )));
            }
            for z in &r.zones {
                if !seen.insert(z.zone_id.clone()) {
                    return Err(CatalogError::Invalid(format!("zone {} twice", z.zone_id)));
                }
            }
        }
        if self.regions.is_empty() {
            return Err(CatalogError::Invalid("no region".into()));
        }
        if self.instance_types.is_empty() {
            return Err(CatalogError::Invalid("no instance type".into()));
        }
        for t in &self.instance_types {
            if !seen.insert(t.instance_type_id.clone()) {
                return Err(CatalogError::Invalid(format!(
                    "instance type {} twice",
                    t.instance_type_id
                )));
            }
            if t.eni_quantity == 0 || t.eni_private_ip_address_quantity == 0 {
                return Err(CatalogError::Invalid(format!(
                    "instance type {} needs at least one ENI and one IP",
                    t.instance_type_id
                )));
            }
        }
        Ok(())
    }

    /// The region named `id`.
    pub fn region(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.region_id == id)
    }

    /// The zone `zone` of region `region`.
    pub fn zone(&self, region: &str, zone: &str) -> Option<&Zone> {
        self.region(region)?
            .zones
            .iter()
            .find(|z| z.zone_id == zone)
    }

    /// The instance type named `id`.
    pub fn instance_type(&self, id: &str) -> Option<&InstanceType> {
        self.instance_types
            .iter()
            .find(|t| t.instance_type_id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_has_the_documented_figures() {
        let c = Catalog::default();
        c.check().unwrap();
        let g6 = c.instance_type("ecs.g6.large").unwrap();
        assert_eq!(
            (g6.eni_quantity, g6.eni_private_ip_address_quantity),
            (2, 6)
        );
        let g7 = c.instance_type("ecs.g7.32xlarge").unwrap();
        assert_eq!(
            (g7.eni_quantity, g7.eni_private_ip_address_quantity),
            (15, 30)
        );
        assert!(!c.instance_type("ecs.t1.small").unwrap().io_optimized);
        assert!(c.instance_types.iter().any(|t| t.attach_requires_stopped));
        assert!(c.zone("cn-hangzhou", "cn-hangzhou-j").is_some());
        assert!(c.zone("cn-hangzhou", "cn-beijing-a").is_none());
    }

    #[test]
    fn json_round_trip_and_checks() {
        let text = serde_json::to_string(&Catalog::default()).unwrap();
        assert_eq!(Catalog::from_json(&text).unwrap(), Catalog::default());
        assert!(Catalog::from_json(r#"{"Regions":[],"InstanceTypes":[]}"#).is_err());
        assert!(Catalog::from_json(
            r#"{"Regions":[{"RegionId":"x","LocalName":"x","Zones":[]}],"InstanceTypes":[]}"#
        )
        .is_err());
        assert!(Catalog::from_json(r#"{"Bogus":1}"#).is_err());
    }
}
