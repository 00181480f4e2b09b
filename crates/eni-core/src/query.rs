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
