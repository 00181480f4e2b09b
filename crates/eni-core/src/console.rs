//! Web-console sessions: signing in with an access key, finding the session a browser's
//! cookie names, signing out.
//!
//! A session is a random 256-bit token, handed to the browser once (its cookie) and stored
//! only as its SHA-256 ([`eni_store::ConsoleSession`]), so the database never holds what signs
//! anyone in. It carries its own CSRF token, lasts `CoreConfig::console_session_ms` from
//! sign-in, and belongs to the key it signed in with: it acts as that key's account, and ends
//! when the key is gone or its secret changed (the secret's digest is part of the check). Every
//! server on a database knows every session. A wrong ID and a wrong secret fail alike.

use crate::{internal, now_ms, Caller, Core};
use eni_store::{with_read, with_write, ConsoleSession, StoreError};
use eni_types::ApiError;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a successful sign-in hands the browser.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The cookie's value; shown once.
    pub token: String,
    pub session: Session,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub caller: Caller,
    pub access_key_id: String,
    /// Every change must carry it.
    pub csrf: String,
    /// Unix ms.
    pub expires_at: i64,
}

/// Why a sign-in failed; the same for an unknown ID and a wrong secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    /// The AccessKey ID and secret do not sign anyone in.
    Rejected,
    /// The store failed.
    Unavailable(ApiError),
}

/// A random 256-bit token, as 64 hex digits.
pub fn new_token() -> String {
    random_hex()
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token stored with a session: bound to the key's secret, so a changed secret ends
/// the session (its CSRF no longer matches what [`Core::console_session`] derives).
fn csrf_for(nonce: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(nonce.as_bytes());
    h.update([0]);
    h.update(secret.as_bytes());
    format!("{nonce}.{}", hex::encode(&h.finalize()[..16]))
}

impl Core {
    /// Signs in with an access key: a new session of the key's account.
    pub fn console_sign_in(&self, key_id: &str, secret: &str) -> Result<SignedIn, SignInError> {
        let key = match self.access_key_fresh(key_id) {
            Ok(k) => Some(k),
            Err(ApiError::AccessKeyIdNotFound) => None,
            Err(e) => return Err(SignInError::Unavailable(e)),
        };
        // Compared in constant time, and against something even when the ID is unknown.
        let expected = key.as_ref().map_or("", |k| k.secret.as_str());
        let same: bool = expected.as_bytes().ct_eq(secret.as_bytes()).into();
        let Some(key) = key.filter(|_| same && !secret.is_empty()) else {
            return Err(SignInError::Rejected);
        };
        let token = random_hex();
        let now = now_ms();
        let session = ConsoleSession {
            token_hash: digest(&token),
            account_id: key.account_id,
            access_key_id: key.id.clone(),
            csrf: csrf_for(&random_hex(), &key.secret),
            created_at: now,
            expires_at: now + self.config().console_session_ms,
        };
        with_write(self.store(), |tx| -> Result<(), StoreError> {
            // Expired sessions go as new ones come: the table holds live ones and a few more.
            tx.console_session_purge(now)?;
            tx.console_session_insert(&session)
        })
        .map_err(|e| SignInError::Unavailable(internal(e)))?;
        Ok(SignedIn {
            token,
            session: Session {
                caller: Caller {
                    account: session.account_id,
                },
                access_key_id: session.access_key_id,
                csrf: session.csrf,
                expires_at: session.expires_at,
            },
        })
    }

    /// The live session `token` names: not expired, and its key still there with the secret
    /// it signed in with. `None` otherwise.
    pub fn console_session(&self, token: &str) -> Result<Option<Session>, ApiError> {
        if token.len() != 64 {
            return Ok(None);
        }
        let now = now_ms();
        let Some(s) = with_read(self.store(), |tx| {
            tx.console_session_get(&digest(token), now)
        })
        .map_err(internal)?
        else {
            return Ok(None);
        };
        let key = match self.access_key(&s.access_key_id) {
            Ok(k) => k,
            Err(ApiError::AccessKeyIdNotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let nonce = s.csrf.split('.').next().unwrap_or_default();
        if key.account_id != s.account_id || csrf_for(nonce, &key.secret) != s.csrf {
            return Ok(None);
        }
        Ok(Some(Session {
            caller: Caller {
                account: s.account_id,
            },
            access_key_id: s.access_key_id,
            csrf: s.csrf,
            expires_at: s.expires_at,
        }))
    }

    /// Ends the session `token` names (nothing if there is none).
    pub fn console_sign_out(&self, token: &str) -> Result<(), ApiError> {
        with_write(self.store(), |tx| tx.console_session_delete(&digest(token)))
            .map_err(internal)?;
        Ok(())
    }
}

/// Whether `given` is the session's CSRF token (compared in constant time).
pub fn csrf_matches(session: &Session, given: &str) -> bool {
    session.csrf.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, CoreConfig};
    use eni_store_sqlite::SqliteStore;
    use std::sync::Arc;

    fn core(ttl_ms: i64) -> (Core, String, String) {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let core = Core::new(
            store,
            Catalog::default(),
            CoreConfig {
                console_session_ms: ttl_ms,
                ..CoreConfig::default()
            },
        );
        let root = core.ensure_root(None).unwrap();
        let key = root.key().unwrap().clone();
        (core, key.id.clone(), key.secret.clone())
    }

    #[test]
    fn a_key_signs_in_and_out_and_wrong_ones_fail_alike() {
        let (core, id, secret) = core(60_000);
        assert_eq!(
            core.console_sign_in(&id, "wrong").unwrap_err(),
            SignInError::Rejected
        );
        assert_eq!(
            core.console_sign_in("LTAInosuchkey", &secret).unwrap_err(),
            SignInError::Rejected
        );
        assert_eq!(
            core.console_sign_in(&id, "").unwrap_err(),
            SignInError::Rejected
        );
        let s = core.console_sign_in(&id, &secret).unwrap();
        assert_eq!(s.token.len(), 64);
        let live = core.console_session(&s.token).unwrap().unwrap();
        assert_eq!(live, s.session);
        assert!(csrf_matches(&live, &s.session.csrf));
        assert!(!csrf_matches(&live, "x"));
        // The store holds the token's digest, not the token.
        assert!(core.console_session(&digest(&s.token)).unwrap().is_none());
        let other = core.console_sign_in(&id, &secret).unwrap();
        assert_ne!(other.token, s.token);
        assert_ne!(other.session.csrf, s.session.csrf);
        core.console_sign_out(&s.token).unwrap();
        assert!(core.console_session(&s.token).unwrap().is_none());
        assert!(core.console_session(&other.token).unwrap().is_some());
    }

    #[test]
    fn a_session_ends_at_its_expiry() {
        let (core, id, secret) = core(30);
        let s = core.console_sign_in(&id, &secret).unwrap();
        assert!(core.console_session(&s.token).unwrap().is_some());
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert!(core.console_session(&s.token).unwrap().is_none());
    }
}
