//! Accounts and access keys: the root account made on first start, `eni account create`, key
//! lookup for signature checks, and nonce replay protection.

use crate::{internal, now, Core, CoreError};
use eni_store::{constraints, with_read, with_write, AccessKey, Account};
use eni_types::ids::{generate_access_key_id, generate_access_key_secret, AccountId};
use eni_types::ApiError;

/// The name of the account made on first start.
pub const ROOT_ACCOUNT: &str = "root";

/// What [`Core::ensure_root`] did.
#[derive(Debug)]
pub enum RootKey {
    /// The given key (from the environment) is the root key, newly added or already there.
    Given(AccessKey),
    /// The root account already existed with its keys; nothing changed.
    Unchanged,
    /// A key was generated; the caller shows it once and saves it.
    Generated(AccessKey),
}

/// A new account and its first key, as `eni account create` prints them.
#[derive(Debug)]
pub struct NewAccount {
    pub account: Account,
    pub key: AccessKey,
}

impl Core {
    /// Makes sure the root account exists and holds a key. With `given` (from the
    /// environment) that key is added if missing; without it, a root account made now gets a
    /// generated key and an existing one is left alone.
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
                return match tx.access_key_get(id)? {
                    Some(k) if k.account_id == account.id && &k.secret == secret => {
                        Ok(RootKey::Given(k))
                    }
                    Some(_) => Err(ApiError::invalid_param_because(
                        "ENI_ROOT_ACCESS_KEY_ID",
                        "this key ID already exists with another secret or account",
                    )
                    .into()),
                    None => {
                        let k = AccessKey {
                            id: id.clone(),
                            secret: secret.clone(),
                            account_id: account.id,
                            created_at: t,
                        };
                        tx.access_key_insert(&k)?;
                        Ok(RootKey::Given(k))
                    }
                };
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
        // Kept until the request's timestamp leaves the window on both sides.
        let expires = request_time.max(t) + window;
        let fresh = with_write(self.store(), |tx| {
            tx.nonce_record(access_key_id, nonce, t, expires)
        })
        .map_err(internal)?;
        if fresh {
            Ok(())
        } else {
            Err(ApiError::SignatureNonceUsed)
        }
    }

    /// Forgets expired nonces; the server calls this periodically.
    pub fn purge_nonces(&self) -> Result<u64, ApiError> {
        with_write(self.store(), |tx| tx.nonce_purge(now())).map_err(internal)
    }
}
