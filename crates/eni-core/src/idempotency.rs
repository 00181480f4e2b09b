//! ClientToken handling: the same token with the same parameters returns the first result and
//! changes nothing; with other parameters it is `IdempotentParameterMismatch`. The check and
//! the record happen inside the write transaction that does the work, so a retried request
//! racing the first one cannot create twice.

use crate::CoreError;
use eni_store::{IdempotencyRecord, Tx};
use eni_types::ids::AccountId;
use eni_types::ApiError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A token longer than 64 characters or with non-ASCII characters is refused.
pub(crate) fn check_token(token: &str) -> Result<(), ApiError> {
    if token.len() > 64 || !token.is_ascii() {
        return Err(ApiError::invalid_param_because(
            "ClientToken",
            "at most 64 ASCII characters",
        ));
    }
    Ok(())
}

/// Runs `work` once per (account, action, token). `request` is what must match on a replay.
pub(crate) fn once<R, Q, F>(
    tx: &mut dyn Tx,
    account: AccountId,
    action: &str,
    token: Option<&str>,
    request: &Q,
    now: i64,
    work: F,
) -> Result<R, CoreError>
where
    R: Serialize + DeserializeOwned,
    Q: Serialize,
    F: FnOnce(&mut dyn Tx) -> Result<R, CoreError>,
{
    let Some(token) = token else {
        return work(tx);
    };
    let digest = serde_json::to_string(request).map_err(|_| ApiError::InternalError)?;
    if let Some(prev) = tx.idempotency_get(account, action, token)? {
        if prev.params_digest != digest {
            return Err(ApiError::IdempotentParameterMismatch.into());
        }
        return serde_json::from_str(&prev.response).map_err(|_| ApiError::InternalError.into());
    }
    let result = work(tx)?;
    let response = serde_json::to_string(&result).map_err(|_| ApiError::InternalError)?;
    tx.idempotency_insert(&IdempotencyRecord {
        account_id: account,
        action: action.to_string(),
        token: token.to_string(),
        params_digest: digest,
        response,
        created_at: now,
    })?;
    Ok(result)
}
