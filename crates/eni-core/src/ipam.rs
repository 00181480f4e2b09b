//! The IPv4 allocators over the store's free lists: a vSwitch's private addresses, and the
//! public pool EIPs are drawn from.
//!
//! A free list keeps the free addresses as disjoint inclusive ranges `[lo, hi]`, indexed by
//! `lo` ([`FreeList`]: a vSwitch, or an [`EipPool`]). Taking any address takes the low end of
//! the first range; taking a given address splits the range that contains it; releasing merges
//! with the neighbours. Each is a constant number of indexed lookups, so an allocation costs
//! O(log n) however full the vSwitch or pool is — no scan of the allocated addresses. The
//! unique constraints of the holders (`private_ips`, `eip_ip_unique`) stay the arbiters: the
//! free list only says where to look.
//!
//! IPv4 prefixes (/28) take an aligned block of 16 free addresses of a vSwitch; the store
//! finds the first range that holds one in one statement, which looks at the smaller free
//! ranges before it (holes left by releases), never at the allocated addresses.

use crate::CoreError;
use eni_ipam::Ipv4Cidr;
use eni_store::{StoreError, Tx};
use eni_types::ids::VSwitchId;

/// One free list of the store: its four operations, each an indexed lookup.
pub trait FreeList {
    /// The range with the lowest `lo`.
    fn first(&self, tx: &mut dyn Tx) -> Result<Option<(u32, u32)>, StoreError>;
    /// The range containing `ip`, if `ip` is free.
    fn containing(&self, tx: &mut dyn Tx, ip: u32) -> Result<Option<(u32, u32)>, StoreError>;
    /// Adds a range that overlaps none.
    fn insert(&self, tx: &mut dyn Tx, lo: u32, hi: u32) -> Result<(), StoreError>;
    /// Removes the range starting at `lo`.
    fn delete(&self, tx: &mut dyn Tx, lo: u32) -> Result<bool, StoreError>;
}

/// A vSwitch's free private addresses (`Tx::ip_free_*`).
impl FreeList for VSwitchId {
    fn first(&self, tx: &mut dyn Tx) -> Result<Option<(u32, u32)>, StoreError> {
        tx.ip_free_first(self)
    }
    fn containing(&self, tx: &mut dyn Tx, ip: u32) -> Result<Option<(u32, u32)>, StoreError> {
        tx.ip_free_containing(self, ip)
    }
    fn insert(&self, tx: &mut dyn Tx, lo: u32, hi: u32) -> Result<(), StoreError> {
        tx.ip_free_insert(self, lo, hi)
    }
    fn delete(&self, tx: &mut dyn Tx, lo: u32) -> Result<bool, StoreError> {
        tx.ip_free_delete(self, lo)
    }
}

/// The free public addresses of the EIP pool (`Tx::eip_free_*`), keyed by its CIDR text.
pub struct EipPool<'a>(pub &'a str);

impl FreeList for EipPool<'_> {
    fn first(&self, tx: &mut dyn Tx) -> Result<Option<(u32, u32)>, StoreError> {
        tx.eip_free_first(self.0)
    }
    fn containing(&self, tx: &mut dyn Tx, ip: u32) -> Result<Option<(u32, u32)>, StoreError> {
        tx.eip_free_containing(self.0, ip)
    }
    fn insert(&self, tx: &mut dyn Tx, lo: u32, hi: u32) -> Result<(), StoreError> {
        tx.eip_free_insert(self.0, lo, hi)
    }
    fn delete(&self, tx: &mut dyn Tx, lo: u32) -> Result<bool, StoreError> {
        tx.eip_free_delete(self.0, lo)
    }
}

/// Addresses in an IPv4 prefix (/28).
pub const PREFIX_SIZE: u32 = 16;

/// Seeds the free list of a new vSwitch with its usable range.
pub fn init(tx: &mut dyn Tx, vsw: &VSwitchId, cidr: &Ipv4Cidr) -> Result<(), CoreError> {
    if let Some((lo, hi)) = cidr.usable_range() {
        tx.ip_free_insert(vsw, lo, hi)?;
    }
    Ok(())
}

/// Seeds an empty free list with `[lo, hi]` less `held` (ascending, all inside it): one
/// range per gap, so this costs the number of held addresses, once.
pub fn seed(
    tx: &mut dyn Tx,
    list: &impl FreeList,
    lo: u32,
    hi: u32,
    held: &[u32],
) -> Result<(), CoreError> {
    let mut next = Some(lo);
    for &ip in held {
        if let Some(start) = next.filter(|&start| start < ip) {
            list.insert(tx, start, ip - 1)?;
        }
        next = ip.checked_add(1);
    }
    if let Some(start) = next.filter(|&start| lo <= hi && start <= hi) {
        list.insert(tx, start, hi)?;
    }
    Ok(())
}

/// Takes the lowest free address, if any.
pub fn take_any(tx: &mut dyn Tx, list: &impl FreeList) -> Result<Option<u32>, CoreError> {
    let Some((lo, hi)) = list.first(tx)? else {
        return Ok(None);
    };
    list.delete(tx, lo)?;
    if lo < hi {
        list.insert(tx, lo + 1, hi)?;
    }
    Ok(Some(lo))
}

/// Takes `[first, last]` if every address of it is free; `false` if any is taken.
pub fn take_range(
    tx: &mut dyn Tx,
    list: &impl FreeList,
    first: u32,
    last: u32,
) -> Result<bool, CoreError> {
    let Some((lo, hi)) = list.containing(tx, first)? else {
        return Ok(false);
    };
    if hi < last {
        return Ok(false);
    }
    list.delete(tx, lo)?;
    if lo < first {
        list.insert(tx, lo, first - 1)?;
    }
    if last < hi {
        list.insert(tx, last + 1, hi)?;
    }
    Ok(true)
}

/// Takes `ip` if it is free.
pub fn take(tx: &mut dyn Tx, list: &impl FreeList, ip: u32) -> Result<bool, CoreError> {
    take_range(tx, list, ip, ip)
}

/// Takes the lowest aligned free /28, returning its network address. The store finds the
/// first range that holds one in a single statement (`Tx::ip_free_first_aligned`).
pub fn take_prefix(tx: &mut dyn Tx, vsw: &VSwitchId) -> Result<Option<u32>, CoreError> {
    let Some((lo, hi)) = tx.ip_free_first_aligned(vsw, PREFIX_SIZE)? else {
        return Ok(None);
    };
    let start = lo.div_ceil(PREFIX_SIZE).saturating_mul(PREFIX_SIZE);
    let fits = start >= lo
        && start
            .checked_add(PREFIX_SIZE - 1)
            .is_some_and(|end| end <= hi);
    if !fits {
        return Err(CoreError::Store(StoreError::Backend(format!(
            "ip_free_first_aligned gave [{lo}, {hi}], which holds no aligned /28"
        ))));
    }
    take_range(tx, vsw, start, start + PREFIX_SIZE - 1)?;
    Ok(Some(start))
}

/// Returns `[first, last]` (all currently taken) to the free list, merging neighbours.
pub fn release_range(
    tx: &mut dyn Tx,
    list: &impl FreeList,
    first: u32,
    last: u32,
) -> Result<(), CoreError> {
    let mut lo = first;
    let mut hi = last;
    if first > 0 {
        if let Some((l, _)) = list.containing(tx, first - 1)? {
            list.delete(tx, l)?;
            lo = l;
        }
    }
    if let Some(next) = last.checked_add(1) {
        if let Some((l, h)) = list.containing(tx, next)? {
            list.delete(tx, l)?;
            hi = h;
        }
    }
    list.insert(tx, lo, hi)?;
    Ok(())
}
