//! The built-in image catalog: the public (`system`) images RunInstances takes as `ImageId`,
//! which DescribeImages lists and DescribeImageSupportInstanceTypes answers for (every image
//! runs on every instance type of the catalog). An instance is a network namespace, so an
//! image names what the instance reports, not what it runs.

/// One public image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Image {
    pub id: &'static str,
    pub name: &'static str,
    pub os_name: &'static str,
    pub os_name_en: &'static str,
    /// `linux` or `windows`.
    pub os_type: &'static str,
    pub platform: &'static str,
    pub architecture: &'static str,
    /// GiB: the smallest system disk it fits.
    pub size: u32,
    /// Wire time (`yyyy-MM-ddTHH:mm:ssZ`).
    pub creation_time: &'static str,
}

/// The catalog, oldest first. The first is RunInstances' default.
pub const IMAGES: &[Image] = &[
    Image {
        id: "aliyun_3_x64_20G_alibase_20240101.vhd",
        name: "aliyun_3_x64_20G_alibase_20240101.vhd",
        os_name: "Alibaba Cloud Linux  3.2104 LTS 64位",
        os_name_en: "Alibaba Cloud Linux  3.2104 LTS 64 bit",
        os_type: "linux",
        platform: "Aliyun",
        architecture: "x86_64",
        size: 20,
        creation_time: "2024-01-01T00:00:00Z",
    },
    Image {
        id: "ubuntu_22_04_x64_20G_alibase_20240130.vhd",
        name: "ubuntu_22_04_x64_20G_alibase_20240130.vhd",
        os_name: "Ubuntu  22.04 64位",
        os_name_en: "Ubuntu  22.04 64 bit",
        os_type: "linux",
        platform: "Ubuntu",
        architecture: "x86_64",
        size: 20,
        creation_time: "2024-01-30T00:00:00Z",
    },
    Image {
        id: "aliyun_3_x64_20G_alibase_20240528.vhd",
        name: "aliyun_3_x64_20G_alibase_20240528.vhd",
        os_name: "Alibaba Cloud Linux  3.2104 LTS 64位",
        os_name_en: "Alibaba Cloud Linux  3.2104 LTS 64 bit",
        os_type: "linux",
        platform: "Aliyun",
        architecture: "x86_64",
        size: 20,
        creation_time: "2024-05-28T00:00:00Z",
    },
    Image {
        id: "centos_7_9_x64_20G_alibase_20240628.vhd",
        name: "centos_7_9_x64_20G_alibase_20240628.vhd",
        os_name: "CentOS  7.9 64位",
        os_name_en: "CentOS  7.9 64 bit",
        os_type: "linux",
        platform: "CentOS",
        architecture: "x86_64",
        size: 20,
        creation_time: "2024-06-28T00:00:00Z",
    },
    Image {
        id: "debian_12_6_x64_20G_alibase_20240711.vhd",
        name: "debian_12_6_x64_20G_alibase_20240711.vhd",
        os_name: "Debian  12.6 64位",
        os_name_en: "Debian  12.6 64 bit",
        os_type: "linux",
        platform: "Debian",
        architecture: "x86_64",
        size: 20,
        creation_time: "2024-07-11T00:00:00Z",
    },
];

/// The image of that ID, if the catalog has it.
pub fn image(id: &str) -> Option<&'static Image> {
    IMAGES.iter().find(|i| i.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_image_is_in_the_catalog_and_ids_are_unique() {
        assert!(image(crate::instance::DEFAULT_IMAGE).is_some());
        let mut ids: Vec<&str> = IMAGES.iter().map(|i| i.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), IMAGES.len());
        assert!(image("no-such-image").is_none());
    }
}
