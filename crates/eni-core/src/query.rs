//! Queries shared by the Describe calls: page numbers, token pages, the `Tag.N` filter.

use eni_store::Tags;

/// A 1-based page of a Describe call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: u64,
    pub size: u64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            number: 1,
            size: 10,
        }
    }
}

/// One page of results and the total before paging.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: Page,
}

/// One page of results, with the token of the next page (empty on the last one).
#[derive(Debug, Clone)]
pub struct TokenPage<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: Page,
    pub next_token: String,
}

/// Pages `all` by `MaxResults`/`NextToken` when `token` is `Some((max, start))`, else by
/// `PageNumber`/`PageSize`. The token is the offset of the next item.
pub fn page_or_token<T>(all: Vec<T>, page: Page, token: Option<(usize, usize)>) -> TokenPage<T> {
    let total = all.len() as u64;
    match token {
        Some((max, start)) => {
            let items: Vec<T> = all.into_iter().skip(start).take(max).collect();
            let next = start + items.len();
            let next_token = if (next as u64) < total {
                next.to_string()
            } else {
                String::new()
            };
            TokenPage {
                items,
                total,
                page: Page {
                    number: 1,
                    size: max as u64,
                },
                next_token,
            }
        }
        None => {
            let Paged { items, total, page } = paginate(all, page);
            TokenPage {
                items,
                total,
                page,
                next_token: String::new(),
            }
        }
    }
}

pub(crate) fn paginate<T>(all: Vec<T>, page: Page) -> Paged<T> {
    let total = all.len() as u64;
    let skip = (page.number.saturating_sub(1)).saturating_mul(page.size);
    let items = all
        .into_iter()
        .skip(skip as usize)
        .take(page.size as usize)
        .collect();
    Paged { items, total, page }
}

/// The Describe calls' `Tag.N` filter: every wanted key present, with the wanted value unless
/// that value is empty.
pub(crate) fn tags_match(have: &Tags, want: &Tags) -> bool {
    want.iter().all(|(k, v)| {
        have.iter()
            .any(|(hk, hv)| hk == k && (v.is_empty() || hv == v))
    })
}

/// The `NextToken` of a keyset page: where the next page starts (the position of the last
/// item returned) and the `TotalCount` the walk's first page counted. Opaque to callers;
/// stable while items come and go, so an item that exists for the whole walk comes exactly
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub after: eni_store::Position,
    pub total: u64,
}

impl Cursor {
    /// The token text.
    pub fn encode(&self) -> String {
        format!("AAAA{:x}.{:x}", self.after.0, self.total)
    }

    /// The cursor of a token this server made; `None` for any other text.
    pub fn decode(token: &str) -> Option<Cursor> {
        let (after, total) = token.strip_prefix("AAAA")?.split_once('.')?;
        let after = i64::from_str_radix(after, 16).ok()?;
        let total = u64::from_str_radix(total, 16).ok()?;
        (after >= 0).then_some(Cursor {
            after: eni_store::Position(after),
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_foreign_tokens() {
        let c = Cursor {
            after: eni_store::Position(123_456),
            total: 99,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in [
            "", "10", "AAAA", "AAAAzz.1", "AAAA1", "AAAA-1.1", "AAAA1.-1",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
    }
}
