//! Asynchronous operations. Attach, detach and delete of an ENI, the start and stop of an
//! instance, and the association of an EIP pass through a transitional status (`Attaching`,
//! `Detaching`, `Deleting`, `Pending`, `Starting`, `Stopping`, `Associating`,
//! `Unassociating`) that clients can observe, and complete when their
//! `due_at` (Unix milliseconds) passes (a configurable delay; 0 completes them in the same call).
//!
//! Completion is both lazy and swept: reads show the completed state as soon as it is due
//! ([`effective_eni`], [`effective_instance`]); every write transaction first persists what
//! is due ([`settle_due`]), so writes always start from settled state; and the server runs
//! [`crate::Core::settle`] periodically so the store converges while nobody writes.

use crate::CoreError;
use eni_store::{Eip, Eni, Instance, Tx};

/// The ENI as a reader sees it at `now` (Unix ms): a due transition completed, `None` if its
/// deletion is due.
pub fn effective_eni(eni: Eni, now: i64) -> Option<Eni> {
    if eni.due_at.is_some_and(|d| d <= now) {
        finished_eni(eni)
    } else {
        Some(eni)
    }
}

/// The ENI once its transitional status has completed (`None`: deleted).
fn finished_eni(mut eni: Eni) -> Option<Eni> {
    match eni.status.as_str() {
        "Attaching" => eni.status = "InUse".into(),
        "Detaching" => {
            eni.status = "Available".into();
            eni.instance_id = None;
            eni.device_index = None;
        }
        "Deleting" => return None,
        _ => {}
    }
    eni.due_at = None;
    Some(eni)
}

/// The instance as a reader sees it at `now` (Unix ms).
pub fn effective_instance(inst: Instance, now: i64) -> Instance {
    if inst.due_at.is_some_and(|d| d <= now) {
        finished_instance(inst)
    } else {
        inst
    }
}

/// The instance once its transitional status has completed.
fn finished_instance(mut inst: Instance) -> Instance {
    match inst.status.as_str() {
        "Pending" | "Starting" => {
            inst.status = "Running".into();
            inst.started_at = Some(inst.due_at.map(|d| d / 1000).unwrap_or_else(crate::now));
        }
        "Stopping" => inst.status = "Stopped".into(),
        _ => {}
    }
    inst.due_at = None;
    inst
}

/// The EIP as a reader sees it at `now` (Unix ms).
pub fn effective_eip(eip: Eip, now: i64) -> Eip {
    if eip.due_at.is_some_and(|d| d <= now) {
        finished_eip(eip)
    } else {
        eip
    }
}

/// The EIP once its transitional status has completed: `Associating → InUse`,
/// `Unassociating → Available` (the binding goes).
pub(crate) fn finished_eip(mut eip: Eip) -> Eip {
    match eip.status.as_str() {
        "Associating" => eip.status = "InUse".into(),
        "Unassociating" => {
            eip.status = "Available".into();
            eip.binding = None;
        }
        _ => {}
    }
    eip.due_at = None;
    eip
}

/// Completes one ENI transition now, in the store, whatever its `due_at`.
pub fn complete_eni(tx: &mut dyn Tx, eni: Eni) -> Result<(), CoreError> {
    match finished_eni(eni.clone()) {
        None => crate::eni::destroy_eni(tx, &eni)?,
        Some(done) => tx.eni_update(&done)?,
    }
    Ok(())
}

/// Completes one instance transition now, in the store, whatever its `due_at`.
pub fn complete_instance(tx: &mut dyn Tx, inst: Instance) -> Result<(), CoreError> {
    tx.instance_update(&finished_instance(inst))?;
    Ok(())
}

/// Persists every transition due at `now` (Unix ms) (in batches; bounded work per call).
pub fn settle_due(tx: &mut dyn Tx, now: i64) -> Result<(), CoreError> {
    // One probe of the due indexes; the three lists only when something is due.
    if !tx.due_any(now)? {
        return Ok(());
    }
    for eni in tx.eni_due(now, 500)? {
        complete_eni(tx, eni)?;
    }
    for inst in tx.instance_due(now, 500)? {
        complete_instance(tx, inst)?;
    }
    for eip in tx.eip_due(now, 500)? {
        tx.eip_update(&finished_eip(eip))?;
    }
    Ok(())
}
