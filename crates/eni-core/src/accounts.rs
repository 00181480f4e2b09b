//! Accounts and access keys: the root account made on first start, `eni account create`, key
//! lookup for signature checks, and nonce replay protection.
//!
//! Every signed request records its nonce, reads included. When the store cannot take that
//! write (a full disk), the nonce is kept in memory instead ([`NonceMemory`]) until it leaves
//! the signature window, and checked before the store: reads keep working through the outage
//! and a nonce used during it is still refused afterwards. The memory is this server's own;
//! the store stays the record whenever it can take writes.

use crate::{internal, now, Core, CoreError};
use eni_store::{constraints, with_read, with_write, AccessKey, Account, StoreError};
use eni_types::ids::{generate_access_key_id, generate_access_key_secret, AccountId};
use eni_types::ApiError;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Nonces held in memory at most (about 100 bytes each); past that, with the store unable to
/// record more, requests are refused as `ServiceUnavailable`.
const MAX_NONCES_IN_MEMORY: usize = 200_000;

/// Nonces accepted while the store could not record them, each until it expires.
#[derive(Default)]
pub(crate) struct NonceMemory {
    seen: Mutex<HashMap<(String, String), i64>>,
}

impl NonceMemory {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), i64>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `nonce` was accepted in memory and has not expired.
    fn used(&self, key: &str, nonce: &str, now: i64) -> bool {
        let seen = self.lock();
        !seen.is_empty()
            && seen
                .get(&(key.to_string(), nonce.to_string()))
                .is_some_and(|&exp| exp >= now)
    }

    /// Records `nonce`; false if memory is full even after forgetting expired ones.
    fn record(&self, key: &str, nonce: &str, now: i64, expires: i64) -> bool {
        let mut seen = self.lock();
        if seen.len() >= MAX_NONCES_IN_MEMORY {
            seen.retain(|_, exp| *exp >= now);
            if seen.len() >= MAX_NONCES_IN_MEMORY {
                return false;
            }
        }
        seen.insert((key.to_string(), nonce.to_string()), expires);
        true
    }

    fn purge(&self, now: i64) {
        self.lock().retain(|_, exp| *exp >= now);
    }
}

/// The name of the account made on first start.
pub const ROOT_ACCOUNT: &str = "root";

/// What [`Core::ensure_root`] did.
#[derive(Debug)]
pub enum RootKey {
    /// The given key (from the environment) is the root key, already there or added now.
    Given(AccessKey),
    /// The given key replaced the root keys named in `replaced` (generated at an earlier
    /// start, or given then): they no longer work.
    Replaced {
        key: AccessKey,
        replaced: Vec<String>,
    },
    /// The root account already existed with its keys; nothing changed.
    Unchanged,
    /// A key was generated; the caller shows it once and saves it.
    Generated(AccessKey),
}

impl RootKey {
    /// The root key this start made or confirmed; `None` when nothing changed.
    pub fn key(&self) -> Option<&AccessKey> {
        match self {
            RootKey::Given(k) | RootKey::Generated(k) | RootKey::Replaced { key: k, .. } => Some(k),
            RootKey::Unchanged => None,
        }
    }
}

/// A new account and its first key, as `eni account create` prints them.
#[derive(Debug)]
pub struct NewAccount {
    pub account: Account,
    pub key: AccessKey,
}

impl Core {
    /// Makes sure the root account exists and holds a key. With `given` (from the
    /// environment) that key becomes the root account's one key: added if missing (its secret
    /// updated if it changed), every other root key removed, so the environment always says
    /// which key is root. Without it, a root account made now gets a generated key and an
    /// existing one is left alone.
    pub fn ensure_root(&self, given: Option<(String, String)>) -> Result<RootKey, ApiError> {
        with_write(self.store(), |tx| -> Result<RootKey, CoreError> {
            let t = now();
            let (account, made_now) = match tx.account_by_name(ROOT_ACCOUNT)? {
                Some(a) => (a, false),
                None => {
                    let a = Account {
                        id: AccountId::generate(),
                        name: ROOT_ACCOUNT.into(),
                        created_at: t,
                    };
                    tx.account_insert(&a)?;
                    (a, true)
                }
            };
            if let Some((id, secret)) = &given {
                let mut replaced = Vec::new();
                let key = match tx.access_key_get(id)? {
                    Some(k) if k.account_id != account.id => {
                        return Err(ApiError::invalid_param_because(
                            "ENI_ROOT_ACCESS_KEY_ID",
                            "this key ID belongs to another account",
                        )
                        .into())
                    }
                    Some(k) if &k.secret == secret => k,
                    existing => {
                        if existing.is_some() {
                            // The same ID with a new secret: the old secret stops working.
                            tx.access_key_delete(id)?;
                            replaced.push(id.clone());
                        }
                        let k = AccessKey {
                            id: id.clone(),
                            secret: secret.clone(),
                            account_id: account.id,
                            created_at: t,
                        };
                        tx.access_key_insert(&k)?;
                        k
                    }
                };
                for other in tx.access_key_list_for_account(account.id)? {
                    if other.id != key.id {
                        tx.access_key_delete(&other.id)?;
                        replaced.push(other.id);
                    }
                }
                return Ok(if replaced.is_empty() {
                    RootKey::Given(key)
                } else {
                    RootKey::Replaced { key, replaced }
                });
            }
            if !made_now {
                return Ok(RootKey::Unchanged);
            }
            let k = AccessKey {
                id: generate_access_key_id(),
                secret: generate_access_key_secret(),
                account_id: account.id,
                created_at: t,
            };
            tx.access_key_insert(&k)?;
            Ok(RootKey::Generated(k))
        })
        .map_err(Into::into)
    }

    /// Creates an account named `name` with one fresh key.
    pub fn create_account(&self, name: &str) -> Result<NewAccount, ApiError> {
        let ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !ok {
            return Err(ApiError::invalid_param_because(
                "Name",
                "1 to 64 of A-Z a-z 0-9 - _ .",
            ));
        }
        let result = with_write(self.store(), |tx| -> Result<NewAccount, CoreError> {
            let t = now();
            let account = Account {
                id: AccountId::generate(),
                name: name.into(),
                created_at: t,
            };
            tx.account_insert(&account)?;
            let key = AccessKey {
                id: generate_access_key_id(),
                secret: generate_access_key_secret(),
                account_id: account.id,
                created_at: t,
            };
            tx.access_key_insert(&key)?;
            Ok(NewAccount { account, key })
        });
        match result {
            Err(CoreError::Store(e)) if e.is_conflict_on(constraints::ACCOUNT_NAME_UNIQUE) => {
                Err(ApiError::invalid_param_because(
                    "Name",
                    format!("an account named {name:?} exists"),
                ))
            }
            other => other.map_err(Into::into),
        }
    }

    /// The key with ID `id`, or `InvalidAccessKeyId.NotFound`.
    pub fn access_key(&self, id: &str) -> Result<AccessKey, ApiError> {
        with_read(self.store(), |tx| tx.access_key_get(id))
            .map_err(internal)?
            .ok_or(ApiError::AccessKeyIdNotFound)
    }

    /// Accepts `nonce` once per key while `request_time` is inside the signature window.
    pub fn use_nonce(
        &self,
        access_key_id: &str,
        nonce: &str,
        request_time: i64,
    ) -> Result<(), ApiError> {
        if nonce.is_empty() || nonce.len() > 128 {
            return Err(ApiError::invalid_param("SignatureNonce"));
        }
        let window = self.config().signature_window_secs;
        let t = now();
        if self.nonces_in_memory.used(access_key_id, nonce, t) {
            return Err(ApiError::SignatureNonceUsed);
        }
        // Kept until the request's timestamp leaves the window on both sides.
        let expires = request_time.max(t) + window;
        match with_write(self.store(), |tx| {
            tx.nonce_record(access_key_id, nonce, t, expires)
        }) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::SignatureNonceUsed),
            Err(StoreError::Unavailable(why)) => {
                // A full disk must not stop reads: remember the nonce here instead.
                crate::warn_unavailable(&why, "nonce kept in memory: the store cannot record it");
                if self
                    .nonces_in_memory
                    .record(access_key_id, nonce, t, expires)
                {
                    Ok(())
                } else {
                    Err(ApiError::ServiceUnavailable)
                }
            }
            Err(e) => Err(internal(e)),
        }
    }

    /// Forgets expired nonces; the server calls this periodically.
    pub fn purge_nonces(&self) -> Result<u64, ApiError> {
        self.nonces_in_memory.purge(now());
        with_write(self.store(), |tx| tx.nonce_purge(now())).map_err(internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_in_memory_are_single_use_until_they_expire() {
        let m = NonceMemory::default();
        assert!(!m.used("k", "n", 100));
        assert!(m.record("k", "n", 100, 200));
        assert!(m.used("k", "n", 200));
        assert!(!m.used("k", "other", 150));
        assert!(!m.used("other", "n", 150));
        assert!(!m.used("k", "n", 201));
        m.purge(201);
        assert!(m.lock().is_empty());
    }

    #[test]
    fn a_full_memory_makes_room_from_expired_nonces_only() {
        let m = NonceMemory::default();
        for i in 0..MAX_NONCES_IN_MEMORY {
            assert!(m.record("k", &i.to_string(), 0, if i == 0 { 5 } else { 100 }));
        }
        // One expired entry to forget: room for one more, then none.
        assert!(m.record("k", "a", 10, 100));
        assert!(!m.record("k", "b", 10, 100));
        assert!(m.used("k", "a", 10));
    }
}
