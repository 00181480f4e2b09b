//! Pieces of typed views: the shapes Alibaba's responses repeat (a list under its wrapper,
//! `{"Ipv6Set": [{"Ipv6Address": …}]}`; an empty string for an absent value), serialized
//! straight from borrowed data. Views built from them list their fields in alphabetical order,
//! the order of a `serde_json::Value` object, so their text is what the `json!` rendering was.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt::Display;

/// `{name: value}`: a list under its wrapper, or a one-field entry.
pub struct Field<T>(pub &'static str, pub T);

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, &self.1)?;
        m.end()
    }
}

/// `[{key: item}, …]`, one one-field object per item.
pub struct Entries<'a, T>(pub &'static str, pub &'a [T]);

impl<T: Serialize> Serialize for Entries<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|item| Field(self.0, item)))
    }
}

/// A sequence of the items `f` makes of `items` (a page's views), built one at a time.
pub struct MapSeq<'a, T, F>(pub &'a [T], pub F);

impl<'a, T, F, V> Serialize for MapSeq<'a, T, F>
where
    F: Fn(&'a T) -> V,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(&self.1))
    }
}

/// The value, or `""` when there is none (`InstanceId` of a detached ENI).
pub fn or_empty<T: Serialize, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => v.serialize(s),
        None => s.serialize_str(""),
    }
}

/// A value as its `Display` text (`OwnerId`, a number the SDK models as a string).
pub fn display<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}
