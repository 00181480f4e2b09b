//! The request parameter map and its flattening rules.
//!
//! Every SDK flattens nested request models into dotted keys with 1-based list indexes:
//! `SecurityGroupIds.1=sg-1`, `Tag.1.Key=k`, `NetworkInterface.1.SecurityGroupIds.2=sg-3`, and
//! a few APIs take a JSON array in one string (`InstanceIds=["i-1","i-2"]`). Booleans arrive as
//! `true`/`True`/`TRUE`. [`Params`] reads all of these and answers bad input with the
//! documented `MissingParameter` / `InvalidParameter` errors.

use crate::ApiError;
use std::collections::BTreeMap;

/// Request parameters after merging the query string and a form body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// Largest list index accepted in `Name.N`; Alibaba's lists are far shorter.
const MAX_INDEX: usize = 1000;

impl Params {
    /// Builds the map; a later pair wins over an earlier one with the same key.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self {
            map: pairs.into_iter().collect(),
        }
    }

    /// Sets one parameter.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.map.insert(key.into(), value.into());
    }

    /// Removes one parameter.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.map.remove(key)
    }

    /// All pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The raw value, empty strings included.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// The value, with an empty string treated as absent (SDKs omit unset fields; an empty
    /// value is a caller that meant "nothing").
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|v| !v.is_empty())
    }

    /// The value, or `MissingParameter`.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.opt(name).ok_or_else(|| ApiError::missing(name))
    }

    /// A boolean in any case (`true`, `True`, `FALSE`); anything else is `InvalidParameter`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid_param_because(
                name,
                "expected true or false",
            )),
        }
    }

    /// An integer within `[min, max]`.
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                Ok(_) => Err(ApiError::invalid_param_because(
                    name,
                    format!("must be between {min} and {max}"),
                )),
                Err(_) => Err(ApiError::invalid_param_because(name, "expected an integer")),
            },
        }
    }

    /// A value parsed with `FromStr`; a parse failure is `InvalidParameter`.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid_param(name)),
        }
    }

    /// The indexes `N` present as `prefix.N` or `prefix.N.*`, ascending.
    fn indexes(&self, prefix: &str) -> Result<Vec<usize>, ApiError> {
        let dotted = format!("{prefix}.");
        let mut out = Vec::new();
        for key in self.map.range(dotted.clone()..).map(|(k, _)| k) {
            let Some(rest) = key.strip_prefix(&dotted) else {
                break;
            };
            let idx_str = rest.split('.').next().unwrap_or("");
            let idx: usize = idx_str.parse().map_err(|_| ApiError::invalid_param(key))?;
            // `Name.01` or `Name.+1` would be read back as `Name.1` and silently lost.
            if idx.to_string() != idx_str {
                return Err(ApiError::invalid_param_because(
                    key,
                    "list indexes are plain decimal numbers",
                ));
            }
            if idx == 0 || idx > MAX_INDEX {
                return Err(ApiError::invalid_param_because(
                    key,
                    "list indexes start at 1",
                ));
            }
            out.push(idx);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// A `prefix.N` list of plain values, in index order. Empty values are skipped.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        for i in self.indexes(prefix)? {
            if let Some(v) = self.opt(&format!("{prefix}.{i}")) {
                out.push(v.to_string());
            }
        }
        Ok(out)
    }

    /// As [`Params::list`], for a list whose documented indexes are `1..=max`.
    pub fn list_max(&self, prefix: &str, max: usize) -> Result<Vec<String>, ApiError> {
        self.check_max_index(prefix, max)?;
        self.list(prefix)
    }

    /// Refuses `prefix.N` with `N` above the documented `max`.
    pub fn check_max_index(&self, prefix: &str, max: usize) -> Result<(), ApiError> {
        if self.indexes(prefix)?.last().is_some_and(|i| *i > max) {
            return Err(ApiError::invalid_param_because(
                &format!("{prefix}.N"),
                format!("N is 1 to {max}"),
            ));
        }
        Ok(())
    }

    /// A `prefix.N.*` list of structs: each element is the sub-map of its fields, with the
    /// `prefix.N.` part removed, so nested lists read with the same methods.
    pub fn struct_list(&self, prefix: &str) -> Result<Vec<Params>, ApiError> {
        let mut out = Vec::new();
        for i in self.indexes(prefix)? {
            let p = format!("{prefix}.{i}.");
            let sub = Params::from_pairs(
                self.map
                    .range(p.clone()..)
                    .take_while(|(k, _)| k.starts_with(&p))
                    .map(|(k, v)| (k[p.len()..].to_string(), v.clone())),
            );
            if !sub.map.is_empty() {
                out.push(sub);
            }
        }
        Ok(out)
    }

    /// A JSON-array string parameter such as `InstanceIds=["i-1","i-2"]`.
    pub fn json_string_array(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => serde_json::from_str::<Vec<String>>(v)
                .map(Some)
                .map_err(|_| {
                    ApiError::invalid_param_because(name, "expected a JSON array of strings")
                }),
        }
    }

    /// A comma-separated list such as DescribeVpcs `VpcId=vpc-1,vpc-2`.
    pub fn comma_list(&self, name: &str) -> Vec<String> {
        self.opt(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `Tag.N.Key` / `Tag.N.Value` pairs, validated as Alibaba does: at most 20, keys 1–128
    /// characters not starting with `aliyun` or `acs:`, values at most 128, no duplicate keys.
    pub fn tags(&self) -> Result<Vec<(String, String)>, ApiError> {
        let url = |s: &str| {
            let l = s.to_ascii_lowercase();
            l.starts_with("http://") || l.starts_with("https://")
        };
        let mut out: Vec<(String, String)> = Vec::new();
        // Tag.N goes from 1 to 20: an index above that is one tag too many.
        if self.check_max_index("Tag", 20).is_err() {
            return Err(ApiError::TagQuotaExceeded);
        }
        for t in self.struct_list("Tag")? {
            let key = t.opt("Key").ok_or_else(|| ApiError::missing("Tag.N.Key"))?;
            let value = t.raw("Value").unwrap_or("");
            if key.chars().count() > 128
                || key.starts_with("aliyun")
                || key.starts_with("acs:")
                || url(key)
            {
                return Err(ApiError::TagKeyMalformed);
            }
            if value.chars().count() > 128 || url(value) {
                return Err(ApiError::TagValueMalformed);
            }
            if out.iter().any(|(k, _)| k == key) {
                return Err(ApiError::DuplicateTagKey {
                    key: key.to_string(),
                });
            }
            out.push((key.to_string(), value.to_string()));
        }
        if out.len() > 20 {
            return Err(ApiError::TagQuotaExceeded);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn lists_come_back_in_index_order() {
        let q = p(&[
            ("SecurityGroupIds.2", "sg-2"),
            ("SecurityGroupIds.10", "sg-10"),
            ("SecurityGroupIds.1", "sg-1"),
        ]);
        assert_eq!(
            q.list("SecurityGroupIds").unwrap(),
            vec!["sg-1", "sg-2", "sg-10"]
        );
        assert!(q.list("Other").unwrap().is_empty());
    }

    #[test]
    fn a_prefix_is_not_confused_with_a_longer_name() {
        let q = p(&[("SecurityGroupId.1", "a"), ("SecurityGroupIds.1", "b")]);
        assert_eq!(q.list("SecurityGroupId").unwrap(), vec!["a"]);
        assert_eq!(q.list("SecurityGroupIds").unwrap(), vec!["b"]);
    }

    #[test]
    fn nested_struct_lists() {
        let q = p(&[
            ("NetworkInterface.1.VSwitchId", "vsw-1"),
            ("NetworkInterface.1.SecurityGroupIds.2", "sg-3"),
            ("NetworkInterface.1.SecurityGroupIds.1", "sg-2"),
            ("NetworkInterface.2.VSwitchId", "vsw-2"),
        ]);
        let nis = q.struct_list("NetworkInterface").unwrap();
        assert_eq!(nis.len(), 2);
        assert_eq!(nis[0].opt("VSwitchId"), Some("vsw-1"));
        assert_eq!(
            nis[0].list("SecurityGroupIds").unwrap(),
            vec!["sg-2", "sg-3"]
        );
        assert_eq!(nis[1].opt("VSwitchId"), Some("vsw-2"));
    }

    #[test]
    fn bad_indexes_are_invalid_parameters() {
        assert!(p(&[("Tag.0.Key", "a")]).tags().is_err());
        assert!(p(&[("Tag.x.Key", "a")]).tags().is_err());
    }

    #[test]
    fn booleans_in_any_case() {
        let q = p(&[("A", "True"), ("B", "false"), ("C", "TRUE"), ("D", "yes")]);
        assert_eq!(q.bool("A").unwrap(), Some(true));
        assert_eq!(q.bool("B").unwrap(), Some(false));
        assert_eq!(q.bool("C").unwrap(), Some(true));
        assert_eq!(q.bool("D").unwrap_err().code(), "InvalidParameter");
        assert_eq!(q.bool("E").unwrap(), None);
    }

    #[test]
    fn json_array_strings() {
        let q = p(&[("InstanceIds", r#"["i-1","i-2"]"#), ("Bad", "[1,2]")]);
        assert_eq!(
            q.json_string_array("InstanceIds").unwrap(),
            Some(vec!["i-1".into(), "i-2".into()])
        );
        assert!(q.json_string_array("Bad").is_err());
    }

    #[test]
    fn integers_are_range_checked() {
        let q = p(&[("PageSize", "51"), ("PageNumber", "x")]);
        assert!(q.int("PageSize", 1, 50).is_err());
        assert!(q.int("PageNumber", 1, 1000).is_err());
        assert_eq!(q.int("Missing", 1, 2).unwrap(), None);
    }

    #[test]
    fn documented_index_ranges_are_enforced() {
        let q = p(&[("NetworkInterfaceId.101", "eni-1")]);
        assert_eq!(
            q.list_max("NetworkInterfaceId", 100).unwrap_err().code(),
            "InvalidParameter"
        );
        assert_eq!(
            p(&[("NetworkInterfaceId.100", "eni-1")])
                .list_max("NetworkInterfaceId", 100)
                .unwrap(),
            vec!["eni-1"]
        );
        assert_eq!(
            p(&[("Tag.21.Key", "k")]).tags().unwrap_err().code(),
            "QuotaExceed.Tags"
        );
        assert_eq!(
            p(&[("PrivateIpAddress.01", "x")])
                .list("PrivateIpAddress")
                .unwrap_err()
                .code(),
            "InvalidParameter"
        );
    }

    #[test]
    fn tags_are_validated() {
        let q = p(&[
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "v 1"),
            ("Tag.2.Key", "env"),
        ]);
        assert!(q.tags().is_err());
        let q = p(&[("Tag.1.Key", "acs:x")]);
        assert!(q.tags().is_err());
        let q = p(&[("Tag.1.Key", "env"), ("Tag.1.Value", "v 1")]);
        assert_eq!(q.tags().unwrap(), vec![("env".into(), "v 1".into())]);
    }
}
