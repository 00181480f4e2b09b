//! The IPv4 allocator of a vSwitch, over the store's free list.
//!
//! Each vSwitch keeps its free addresses as disjoint inclusive ranges `[lo, hi]`, indexed by
//! `lo`. Taking any address takes the low end of the first range; taking a given address
//! splits the range that contains it; releasing merges with the neighbours. Each is a constant
//! number of indexed lookups, so an allocation costs O(log n) however full the vSwitch is —
//! no scan of the allocated addresses. The `private_ips` unique constraint stays the arbiter:
//! the free list only says where to look.
//!
//! IPv4 prefixes (/28) take an aligned block of 16 free addresses; finding one walks the free
//! ranges (their number, not the number of allocated addresses).

use crate::CoreError;
use eni_ipam::Ipv4Cidr;
use eni_store::Tx;
use eni_types::ids::VSwitchId;

/// Addresses in an IPv4 prefix (/28).
pub const PREFIX_SIZE: u32 = 16;

/// Seeds the free list of a new vSwitch with its usable range.
pub fn init(tx: &mut dyn Tx, vsw: &VSwitchId, cidr: &Ipv4Cidr) -> Result<(), CoreError> {
    if let Some((lo, hi)) = cidr.usable_range() {
        tx.ip_free_insert(vsw, lo, hi)?;
    }
    Ok(())
}

/// Takes the lowest free address, if any.
pub fn take_any(tx: &mut dyn Tx, vsw: &VSwitchId) -> Result<Option<u32>, CoreError> {
    let Some((lo, hi)) = tx.ip_free_first(vsw)? else {
        return Ok(None);
    };
    tx.ip_free_delete(vsw, lo)?;
    if lo < hi {
        tx.ip_free_insert(vsw, lo + 1, hi)?;
    }
    Ok(Some(lo))
}

/// Takes `[first, last]` if every address of it is free; `false` if any is taken.
pub fn take_range(
    tx: &mut dyn Tx,
    vsw: &VSwitchId,
    first: u32,
    last: u32,
) -> Result<bool, CoreError> {
    let Some((lo, hi)) = tx.ip_free_containing(vsw, first)? else {
        return Ok(false);
    };
    if hi < last {
        return Ok(false);
    }
    tx.ip_free_delete(vsw, lo)?;
    if lo < first {
        tx.ip_free_insert(vsw, lo, first - 1)?;
    }
    if last < hi {
        tx.ip_free_insert(vsw, last + 1, hi)?;
    }
    Ok(true)
}

/// Takes `ip` if it is free.
pub fn take(tx: &mut dyn Tx, vsw: &VSwitchId, ip: u32) -> Result<bool, CoreError> {
    take_range(tx, vsw, ip, ip)
}

/// Takes the lowest aligned free /28, returning its network address.
pub fn take_prefix(tx: &mut dyn Tx, vsw: &VSwitchId) -> Result<Option<u32>, CoreError> {
    for (lo, hi) in tx.ip_free_list(vsw)? {
        let start = lo.div_ceil(PREFIX_SIZE).saturating_mul(PREFIX_SIZE);
        if start >= lo
            && start
                .checked_add(PREFIX_SIZE - 1)
                .is_some_and(|end| end <= hi)
        {
            take_range(tx, vsw, start, start + PREFIX_SIZE - 1)?;
            return Ok(Some(start));
        }
    }
    Ok(None)
}

/// Returns `[first, last]` (all currently taken) to the free list, merging neighbours.
pub fn release_range(
    tx: &mut dyn Tx,
    vsw: &VSwitchId,
    first: u32,
    last: u32,
) -> Result<(), CoreError> {
    let mut lo = first;
    let mut hi = last;
    if first > 0 {
        if let Some((l, _)) = tx.ip_free_containing(vsw, first - 1)? {
            tx.ip_free_delete(vsw, l)?;
            lo = l;
        }
    }
    if let Some(next) = last.checked_add(1) {
        if let Some((l, h)) = tx.ip_free_containing(vsw, next)? {
            tx.ip_free_delete(vsw, l)?;
            hi = h;
        }
    }
    tx.ip_free_insert(vsw, lo, hi)?;
    Ok(())
}
