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

/// One page of `all` (page numbers from 1), with the total.
pub fn paginate<T>(all: Vec<T>, page: Page) -> Paged<T> {
    let total = all.len() as u64;
    let skip = (page.number.saturating_sub(1)).saturating_mul(page.size);
    let items = all
        .into_iter()
        .skip(skip as usize)
        .take(page.size as usize)
        .collect();
    Paged { items, total, page }
}

/// The store form of a `Tag.N` filter: an empty value matches any value of the key.
pub(crate) fn tag_filter(tags: &Tags) -> Vec<(String, Option<String>)> {
    tags.iter()
        .map(|(k, v)| (k.clone(), (!v.is_empty()).then(|| v.clone())))
        .collect()
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

/// Token paging (MaxResults/NextToken) or the older page numbers.
#[derive(Debug, Clone)]
pub enum Paging {
    /// At most `max` items after the page `token` (the caller's NextToken; empty for the
    /// first page) points at.
    Token {
        max: usize,
        token: String,
    },
    Pages(Page),
}

impl Default for Paging {
    fn default() -> Self {
        Paging::Pages(Page::default())
    }
}

/// Where a listing starts: a page number, or (token mode) after a cursor, `None` on the first
/// page of a walk.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    Page(Page),
    Cursor { max: usize, at: Option<Cursor> },
}

impl Paging {
    /// The start of this listing; a NextToken this server did not make is refused.
    pub(crate) fn start(&self) -> Result<Start, eni_types::ApiError> {
        Ok(match self {
            Paging::Pages(p) => Start::Page(*p),
            Paging::Token { max, token } if token.is_empty() => Start::Cursor {
                max: *max,
                at: None,
            },
            Paging::Token { max, token } => Start::Cursor {
                max: *max,
                at: Some(
                    Cursor::decode(token)
                        .ok_or_else(|| eni_types::ApiError::invalid_param("NextToken"))?,
                ),
            },
        })
    }
}

impl Start {
    /// The page numbers a response shows.
    pub(crate) fn page(&self) -> Page {
        match self {
            Start::Page(p) => *p,
            Start::Cursor { max, .. } => Page {
                number: 1,
                size: *max as u64,
            },
        }
    }
}

/// One page of a store listing in creation order: `find` reads a window of rows, `keep`
/// turns a row into what a reader sees now or drops it (a transition completed since the
/// caller settled), `count` gives TotalCount. By page number the page is one window; by
/// cursor it is read until one row past the page is known (so that NextToken is empty on the
/// last page), again only when `keep` dropped rows. TotalCount in token mode is the walk's
/// first page's, carried in the token.
pub(crate) fn page_of<R, T>(
    tx: &mut dyn eni_store::Tx,
    start: Start,
    count: impl FnOnce(&mut dyn eni_store::Tx) -> Result<u64, eni_store::StoreError>,
    mut find: impl FnMut(
        &mut dyn eni_store::Tx,
        eni_store::Window,
    ) -> Result<Vec<(eni_store::Position, R)>, eni_store::StoreError>,
    mut keep: impl FnMut(R) -> Option<T>,
) -> Result<TokenPage<T>, eni_store::StoreError> {
    use eni_store::Window;
    let page = start.page();
    let (max, at) = match start {
        Start::Page(p) => {
            let total = count(tx)?;
            let rows = find(
                tx,
                Window {
                    after: None,
                    offset: p.number.saturating_sub(1).saturating_mul(p.size),
                    limit: p.size,
                },
            )?;
            return Ok(TokenPage {
                items: rows.into_iter().filter_map(|(_, r)| keep(r)).collect(),
                total,
                page,
                next_token: String::new(),
            });
        }
        Start::Cursor { max, at } => (max, at),
    };
    let total = match at {
        Some(c) => c.total,
        None => count(tx)?,
    };
    let mut after = at.map(|c| c.after);
    let mut found = Vec::new();
    loop {
        let want = max + 1 - found.len();
        let rows = find(tx, Window::after(after, want as u64))?;
        let got = rows.len();
        for (pos, r) in rows {
            after = Some(pos);
            if let Some(t) = keep(r) {
                found.push((pos, t));
            }
        }
        if found.len() > max || got < want {
            break;
        }
    }
    let more = found.len() > max;
    found.truncate(max);
    let next_token = match found.last() {
        Some((pos, _)) if more => Cursor { after: *pos, total }.encode(),
        _ => String::new(),
    };
    Ok(TokenPage {
        items: found.into_iter().map(|(_, t)| t).collect(),
        total,
        page,
        next_token,
    })
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
