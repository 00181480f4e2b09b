//! Pieces of typed views: the shapes Alibaba's responses repeat (a list under its wrapper,
//! `{"Ipv6Set": [{"Ipv6Address": …}]}`; an empty string for an absent value), serialized
//! straight from borrowed data. Views built from them list their fields in alphabetical order,
//! the order of a `serde_json::Value` object, so their text is what the `json!` rendering was.

use crate::render::Reply;
use eni_core::query::TokenPage;
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

/// A page of a Describe call that pages by token: `{list: {item: [views]}, NextToken,
/// PageNumber, PageSize, TotalCount}`, each view made by `view` as it is written, into a
/// buffer sized for `bytes_per_item` a view. Every list key this serves (`Instances`,
/// `NetworkInterfaceSets`) sorts before `NextToken`, which keeps the alphabetical order.
pub fn token_page<'a, T, V: Serialize>(
    list: &'static str,
    item: &'static str,
    r: &'a TokenPage<T>,
    view: fn(&'a T) -> V,
    bytes_per_item: usize,
) -> Reply {
    struct Page<'a, T, V> {
        list: &'static str,
        item: &'static str,
        r: &'a TokenPage<T>,
        view: fn(&'a T) -> V,
    }
    impl<'a, T, V: Serialize> Serialize for Page<'a, T, V> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(5))?;
            m.serialize_entry(
                self.list,
                &Field(self.item, MapSeq(&self.r.items, self.view)),
            )?;
            m.serialize_entry("NextToken", &self.r.next_token)?;
            m.serialize_entry("PageNumber", &self.r.page.number)?;
            m.serialize_entry("PageSize", &self.r.page.size)?;
            m.serialize_entry("TotalCount", &self.r.total)?;
            m.end()
        }
    }
    debug_assert!(list < "NextToken");
    let page = Page {
        list,
        item,
        r,
        view,
    };
    Reply::typed(&page, 256 + bytes_per_item * r.items.len())
}
