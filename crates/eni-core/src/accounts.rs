//! Accounts and access keys: the root account made on first start, `eni account create`, key
//! lookup for signature checks, and nonce replay protection.
//!
//! Keys are read from the store once and kept for [`KEY_CACHE_TTL`] ([`KeyCache`]): a
//! signature check then costs no transaction. This server drops its copies whenever it changes
//! keys itself ([`Core::ensure_root`]); a key removed by another process stops working here
//! within the TTL.
//!
//! Every signed request's nonce is single-use ([`Nonce`]). It first enters this server's
//! memory ([`NonceMemory`], one lock for every request with that nonce). A write then records
//! it inside its own write transaction ([`Core::with_nonce`], [`Core::write`]), so a replay
//! changes nothing and a write commits once, and memory lets it go. A read checks the store
//! for it ([`Core::keep_nonce`]) and leaves it in memory, which [`Core::flush_nonces`] writes
//! to the store every [`NONCE_FLUSH_INTERVAL`]: a read commits nothing. When the store cannot
//! take writes (a full disk), nonces stay in memory until they leave the signature window:
//! reads keep working through the outage and a nonce used during it is still refused
//! afterwards. The memory is this server's own; the store is the record for everything it
//! has taken.

use crate::{internal, now, Core, CoreError};
use eni_store::{constraints, with_read, with_write, AccessKey, Account, StoreError, Tx};
use eni_types::ids::{generate_access_key_id, generate_access_key_secret, AccountId};
use eni_types::ApiError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a key read from the store is used without reading it again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// Keys kept at most; past that the cache starts over (only keys that exist are kept, so
/// this bounds the number of accounts served from memory, not what callers can send).
const KEY_CACHE_MAX: usize = 10_000;

/// Access keys recently read from the store, each with the time it was read.
#[derive(Default)]
pub(crate) struct KeyCache {
    keys: Mutex<HashMap<String, (AccessKey, Instant)>>,
}

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (AccessKey, Instant)>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, id: &str) -> Option<AccessKey> {
        let keys = self.lock();
        let (key, read_at) = keys.get(id)?;
        (read_at.elapsed() < KEY_CACHE_TTL).then(|| key.clone())
    }

    fn put(&self, key: AccessKey) {
        let mut keys = self.lock();
        if keys.len() >= KEY_CACHE_MAX {
            keys.clear();
        }
        keys.insert(key.id.clone(), (key, Instant::now()));
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

/// A signed request's nonce, checked for form and taken in memory by [`Core::nonce`], to be
/// settled once: checked against the store by [`Core::keep_nonce`] (a read), recorded by the
/// first write transaction of a [`Core::with_nonce`], or by [`Core::record_nonce`] in a
/// transaction of its own (a write that never reached one).
#[derive(Debug)]
pub struct Nonce {
    access_key_id: String,
    nonce: String,
    now: i64,
    expires: i64,
    recorded: AtomicBool,
}

impl Nonce {
    /// Whether it is settled: in the store, or in memory and checked against the store.
    pub fn is_recorded(&self) -> bool {
        self.recorded.load(Ordering::Acquire)
    }

    fn set_recorded(&self) {
        self.recorded.store(true, Ordering::Release);
    }

    /// Records it in `tx`; `false` if it is already there (a replay).
    pub(crate) fn record_in(&self, tx: &mut dyn Tx) -> Result<bool, StoreError> {
        tx.nonce_record(&self.access_key_id, &self.nonce, self.now, self.expires)
    }
}

impl Core {
    /// Called once the transaction that recorded `n` committed: the store has it.
    pub(crate) fn nonce_committed(&self, n: &Nonce) {
        self.nonces_in_memory.stored(&n.access_key_id, &n.nonce);
        n.set_recorded();
    }
}

/// Nonces held in memory at most (about 100 bytes each); past that, with the store unable to
/// record more, requests are refused as `ServiceUnavailable`.
const MAX_NONCES_IN_MEMORY: usize = 200_000;

/// Nonces of this process's requests that the store may not have yet, each until it does or
/// the nonce expires. A request's nonce enters at [`Core::nonce`], pending; a write's leaves
/// when its transaction recorded it; a read's becomes ready once the read checked the store,
/// and [`Core::flush_nonces`] takes the ready ones into the store. A pending one is never
/// flushed: a request must not find its own nonce in the store.
#[derive(Default)]
pub(crate) struct NonceMemory {
    /// (access key, nonce) → (expiry, ready to flush).
    seen: Mutex<HashMap<(String, String), (i64, bool)>>,
}

/// What [`NonceMemory::keep`] did.
#[derive(Debug, PartialEq, Eq)]
enum Kept {
    New,
    /// Already kept and not expired: a replay.
    Present,
    /// Memory is full.
    Full,
}

type NonceId = (String, String);

impl NonceMemory {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NonceId, (i64, bool)>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `nonce`, pending, unless it is kept already (check and insert under one lock, so
    /// two requests with one nonce cannot both pass).
    fn keep(&self, key: &str, nonce: &str, now: i64, expires: i64) -> Kept {
        let mut seen = self.lock();
        let id = (key.to_string(), nonce.to_string());
        if seen.get(&id).is_some_and(|&(exp, _)| exp >= now) {
            return Kept::Present;
        }
        if seen.len() >= MAX_NONCES_IN_MEMORY {
            seen.retain(|_, (exp, _)| *exp >= now);
            if seen.len() >= MAX_NONCES_IN_MEMORY {
                return Kept::Full;
            }
        }
        seen.insert(id, (expires, false));
        Kept::New
    }

    /// Marks `nonce` ready for the next flush.
    fn ready(&self, key: &str, nonce: &str) {
        if let Some(e) = self.lock().get_mut(&(key.to_string(), nonce.to_string())) {
            e.1 = true;
        }
    }

    /// Forgets `nonce`: the store has it.
    fn stored(&self, key: &str, nonce: &str) {
        self.lock().remove(&(key.to_string(), nonce.to_string()));
    }

    /// The nonces ready for a flush.
    fn snapshot(&self) -> Vec<(NonceId, i64)> {
        self.lock()
            .iter()
            .filter(|(_, (_, ready))| *ready)
            .map(|(k, (exp, _))| (k.clone(), *exp))
            .collect()
    }

    /// Forgets what `batch` listed, now that the store has it (an entry kept anew since,
    /// with another expiry, stays).
    fn forget(&self, batch: &[(NonceId, i64)]) {
        let mut seen = self.lock();
        for (id, exp) in batch {
            if seen.get(id).is_some_and(|(e, _)| e == exp) {
                seen.remove(id);
            }
        }
    }

    fn purge(&self, now: i64) {
        self.lock().retain(|_, (exp, _)| *exp >= now);
    }
}

/// How long a read's nonce may stay in memory only (see [`Core::keep_nonce`]).
pub const NONCE_FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// The setting that holds the agents' token ([`Core::shared_agent_token`]).
pub const AGENT_TOKEN_SETTING: &str = "agent_token";

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
        let result = with_write(self.store(), |tx| -> Result<RootKey, CoreError> {
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
        });
        // Keys may have changed or gone.
        self.keys.clear();
        result.map_err(Into::into)
    }

    /// The agents' token every server on this store shares: the store's, or, on the first
    /// start, `candidate` (this server's saved token, so that agents holding it keep working,
    /// else a new one), stored for every later start and every other server.
    pub fn shared_agent_token(&self, candidate: String) -> Result<String, ApiError> {
        with_write(self.store(), |tx| -> Result<String, CoreError> {
            if let Some(t) = tx.setting_get(AGENT_TOKEN_SETTING)? {
                return Ok(t);
            }
            tx.setting_insert(AGENT_TOKEN_SETTING, &candidate)?;
            Ok(candidate.clone())
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

    /// The key with ID `id`, or `InvalidAccessKeyId.NotFound`: from the cache when it was read
    /// less than [`KEY_CACHE_TTL`] ago.
    pub fn access_key(&self, id: &str) -> Result<AccessKey, ApiError> {
        if let Some(key) = self.keys.get(id) {
            return Ok(key);
        }
        let key = with_read(self.store(), |tx| tx.access_key_get(id))
            .map_err(internal)?
            .ok_or(ApiError::AccessKeyIdNotFound)?;
        self.keys.put(key.clone());
        Ok(key)
    }

    /// The key with ID `id` read from the store, bypassing the cache (after a signature that
    /// does not match a cached key: the secret may have changed since).
    pub fn access_key_fresh(&self, id: &str) -> Result<AccessKey, ApiError> {
        let key = with_read(self.store(), |tx| tx.access_key_get(id))
            .map_err(internal)?
            .ok_or(ApiError::AccessKeyIdNotFound)?;
        self.keys.put(key.clone());
        Ok(key)
    }

    /// Checks a verified request's nonce (its form; a replay of one this server holds in
    /// memory) and takes it in memory; returns it to be settled (see [`Nonce`]).
    pub fn nonce(
        &self,
        access_key_id: &str,
        nonce: &str,
        request_time: i64,
    ) -> Result<Nonce, ApiError> {
        if nonce.is_empty() || nonce.len() > 128 {
            return Err(ApiError::invalid_param("SignatureNonce"));
        }
        let window = self.config().signature_window_secs;
        let t = now();
        // Kept until the request's timestamp leaves the window on both sides.
        let expires = request_time.max(t) + window;
        // Every request, read or write, takes its nonce in memory first, under one lock:
        // that orders all requests with one nonce in this process, whatever the store has
        // yet. The store then decides against what memory no longer holds (flushed, or from
        // before a restart): a read checks it, a write records it.
        match self.nonces_in_memory.keep(access_key_id, nonce, t, expires) {
            Kept::New => {}
            Kept::Present => return Err(ApiError::SignatureNonceUsed),
            Kept::Full => return Err(ApiError::ServiceUnavailable),
        }
        Ok(Nonce {
            access_key_id: access_key_id.to_string(),
            nonce: nonce.to_string(),
            now: t,
            expires,
            recorded: AtomicBool::new(false),
        })
    }

    /// Records `n` in a transaction of its own, unless it is already settled; a replay is
    /// `SignatureNonceUsed`. During a storage outage the nonce stays in memory instead.
    pub fn record_nonce(&self, n: &Nonce) -> Result<(), ApiError> {
        if n.is_recorded() {
            return Ok(());
        }
        match with_write(self.store(), |tx| n.record_in(tx)) {
            Ok(true) => {
                self.nonce_committed(n);
                Ok(())
            }
            Ok(false) => Err(ApiError::SignatureNonceUsed),
            Err(StoreError::Unavailable(why)) => {
                // A full disk must not stop reads: the memory holds the nonce (since
                // `nonce`) until the store can take it.
                crate::warn_unavailable(&why, "nonce kept in memory: the store cannot record it");
                self.nonces_in_memory.ready(&n.access_key_id, &n.nonce);
                n.set_recorded();
                Ok(())
            }
            Err(e) => Err(internal(e)),
        }
    }

    /// A read's nonce (or that of a request refused before it could write), kept in memory
    /// since [`Core::nonce`]: checked against the store, then left to [`Core::flush_nonces`],
    /// which takes it into the store within [`NONCE_FLUSH_INTERVAL`]. A read so commits nothing: it costs no write, and
    /// readers keep their page caches while only reads arrive. The price: a crash forgets
    /// the nonces of the reads of its last moments, which can then be replayed once while
    /// their signatures are still in the window. A replay is `SignatureNonceUsed`.
    ///
    /// On a store that other servers share, a read's nonce is recorded at once instead: a
    /// replay to another server must find it there, not in this one's memory.
    pub fn keep_nonce(&self, n: &Nonce) -> Result<(), ApiError> {
        if n.is_recorded() {
            return Ok(());
        }
        if self.store().shared() {
            return match self
                .store()
                .nonce_record_now(&n.access_key_id, &n.nonce, n.now, n.expires)
            {
                Ok(true) => {
                    self.nonce_committed(n);
                    Ok(())
                }
                Ok(false) => Err(ApiError::SignatureNonceUsed),
                // The outage answers the read too: its nonce must reach the other servers.
                Err(e) => Err(internal(e)),
            };
        }
        // Memory took it first (`nonce`), so this read transaction starts after any flush
        // that took a copy of it from memory committed: what memory lost, the store has.
        match with_read(self.store(), |tx| {
            tx.nonce_live(&n.access_key_id, &n.nonce, n.now)
        }) {
            Ok(true) => return Err(ApiError::SignatureNonceUsed),
            Ok(false) => {}
            // The memory decides alone, as it does for anything kept during an outage.
            Err(StoreError::Unavailable(why)) => {
                crate::warn_unavailable(&why, "nonce checked in memory only")
            }
            Err(e) => return Err(internal(e)),
        }
        self.nonces_in_memory.ready(&n.access_key_id, &n.nonce);
        n.set_recorded();
        Ok(())
    }

    /// Writes the nonces kept in memory into the store in one transaction and forgets them;
    /// during an outage they stay in memory. The server calls this every
    /// [`NONCE_FLUSH_INTERVAL`] and at shutdown. Returns how many it wrote.
    pub fn flush_nonces(&self) -> Result<usize, ApiError> {
        let batch = self.nonces_in_memory.snapshot();
        if batch.is_empty() {
            return Ok(0);
        }
        let t = now();
        let written = with_write(self.store(), |tx| {
            for ((key, nonce), expires) in &batch {
                // (An expired one is not worth a row; a live row of the same nonce, which
                // the check before keeping excluded, is left as it is.)
                if *expires >= t {
                    tx.nonce_record(key, nonce, t, *expires)?;
                }
            }
            Ok(())
        });
        match written {
            Ok(()) => {
                self.nonces_in_memory.forget(&batch);
                Ok(batch.len())
            }
            Err(StoreError::Unavailable(why)) => {
                crate::warn_unavailable(
                    &why,
                    "nonces kept in memory: the store cannot record them",
                );
                Ok(0)
            }
            Err(e) => Err(internal(e)),
        }
    }

    /// Accepts `nonce` once per key while `request_time` is inside the signature window,
    /// recording it now.
    pub fn use_nonce(
        &self,
        access_key_id: &str,
        nonce: &str,
        request_time: i64,
    ) -> Result<(), ApiError> {
        let n = self.nonce(access_key_id, nonce, request_time)?;
        self.record_nonce(&n)
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
    use std::sync::Arc;

    #[test]
    fn nonces_in_memory_are_single_use_until_they_expire() {
        let m = NonceMemory::default();
        assert_eq!(m.keep("k", "n", 100, 200), Kept::New);
        assert_eq!(m.keep("k", "n", 150, 300), Kept::Present);
        assert_eq!(m.keep("k", "n", 200, 300), Kept::Present);
        assert_eq!(m.keep("k", "other", 150, 300), Kept::New);
        assert_eq!(m.keep("other", "n", 150, 300), Kept::New);
        // Expired: taken anew.
        assert_eq!(m.keep("k", "n", 201, 400), Kept::New);
        m.purge(401);
        assert!(m.lock().is_empty());
    }

    /// A core on a fresh store with its root caller.
    fn core() -> (Core, crate::Caller) {
        let store = std::sync::Arc::new(eni_store_sqlite::SqliteStore::open_in_memory().unwrap());
        let core = Core::new(
            store,
            crate::Catalog::default(),
            crate::CoreConfig::default(),
        );
        let root = core
            .ensure_root(Some(("LTAIk".into(), "s".into())))
            .unwrap();
        let account = root.key().unwrap().account_id;
        (core, crate::Caller { account })
    }

    fn vpc_request() -> crate::vpc::CreateVpc {
        crate::vpc::CreateVpc {
            region: "cn-hangzhou".into(),
            cidr_block: Some("10.0.0.0/16".into()),
            ..Default::default()
        }
    }

    fn vpc_count(core: &Core, caller: &crate::Caller) -> u64 {
        with_read(core.store(), |tx| {
            tx.vpc_count(caller.account, "cn-hangzhou")
        })
        .unwrap()
    }

    /// Whether the store holds `n` (recording it again is refused).
    fn stored(core: &Core, n: &str) -> bool {
        !with_write(core.store(), |tx| {
            tx.nonce_record("LTAIk", n, now(), now() + 60)
        })
        .unwrap()
    }

    /// A nonce as a request that reached the store's check would carry, bypassing the
    /// memory (as after a flush, or a restart).
    fn unkept(n: &str) -> Nonce {
        Nonce {
            access_key_id: "LTAIk".into(),
            nonce: n.into(),
            now: now(),
            expires: now() + 900,
            recorded: AtomicBool::new(false),
        }
    }

    #[test]
    fn a_read_keeps_its_nonce_in_memory_until_the_flush_and_it_stays_single_use() {
        let (core, _) = core();
        let n = core.nonce("LTAIk", "r1", now()).unwrap();
        core.keep_nonce(&n).unwrap();
        assert!(n.is_recorded());
        assert!(
            !with_read(core.store(), |tx| tx.nonce_live("LTAIk", "r1", now())).unwrap(),
            "a read commits nothing"
        );
        // A replay is refused from memory.
        assert_eq!(
            core.nonce("LTAIk", "r1", now()).unwrap_err(),
            ApiError::SignatureNonceUsed
        );
        assert_eq!(core.flush_nonces().unwrap(), 1);
        assert!(
            core.nonces_in_memory.lock().is_empty(),
            "the store has it now"
        );
        assert!(stored(&core, "r1"));
        assert_eq!(core.flush_nonces().unwrap(), 0);
        // What memory no longer holds, the store refuses: for a read and for a write.
        let replay = core.nonce("LTAIk", "r1", now()).unwrap();
        assert_eq!(
            core.keep_nonce(&replay).unwrap_err(),
            ApiError::SignatureNonceUsed
        );
        assert_eq!(
            core.record_nonce(&unkept("r1")).unwrap_err(),
            ApiError::SignatureNonceUsed
        );
    }

    #[test]
    fn a_flush_between_a_reads_keep_and_its_check_does_not_refuse_it() {
        let (core, _) = core();
        let n = core.nonce("LTAIk", "own", now()).unwrap();
        // Pending: not the flush's to take, so the read's own check cannot find it.
        assert_eq!(core.flush_nonces().unwrap(), 0);
        core.keep_nonce(&n).unwrap();
        assert_eq!(core.flush_nonces().unwrap(), 1);
    }

    #[test]
    fn a_read_refuses_a_nonce_a_write_recorded() {
        let (core, caller) = core();
        let n = Arc::new(core.nonce("LTAIk", "w1", now()).unwrap());
        core.with_nonce(n.clone())
            .create_vpc(&caller, vpc_request())
            .unwrap();
        // The store has it (memory let it go with the commit).
        assert!(core.nonces_in_memory.lock().is_empty());
        let read = core.nonce("LTAIk", "w1", now()).unwrap();
        assert_eq!(
            core.keep_nonce(&read).unwrap_err(),
            ApiError::SignatureNonceUsed
        );
        // Nor does a flush bring the refused read's entry to the store twice.
        assert_eq!(core.flush_nonces().unwrap(), 0);
    }

    #[test]
    fn a_write_refuses_a_nonce_a_read_kept_before_any_flush() {
        let (core, caller) = core();
        let read = core.nonce("LTAIk", "x1", now()).unwrap();
        core.keep_nonce(&read).unwrap();
        // The write's nonce is refused when the request is parsed, before its transaction.
        assert_eq!(
            core.nonce("LTAIk", "x1", now()).unwrap_err(),
            ApiError::SignatureNonceUsed
        );
        assert_eq!(vpc_count(&core, &caller), 0);
    }

    #[test]
    fn one_of_many_requests_with_one_nonce_wins() {
        let (core, _) = core();
        let wins: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|i| {
                    let core = core.clone();
                    s.spawn(move || {
                        // Half of them flush as they go, so the store takes part too.
                        if i % 2 == 0 {
                            core.flush_nonces().unwrap();
                        }
                        let ok = core
                            .nonce("LTAIk", "race", now())
                            .and_then(|n| core.keep_nonce(&n))
                            .is_ok();
                        usize::from(ok)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 1);
    }

    #[test]
    fn a_write_records_its_nonce_in_its_own_transaction() {
        let (core, caller) = core();
        let n = Arc::new(core.nonce("LTAIk", "n1", now()).unwrap());
        let scoped = core.with_nonce(n.clone());
        scoped.create_vpc(&caller, vpc_request()).unwrap();
        assert!(n.is_recorded(), "recorded by the create's transaction");
        assert!(stored(&core, "n1"));
        // Later transactions of the same request do not record it again.
        scoped.create_vpc(&caller, vpc_request()).unwrap();
        assert_eq!(vpc_count(&core, &caller), 2);
    }

    #[test]
    fn a_write_that_fails_in_its_transaction_commits_its_nonce_alone() {
        let (core, caller) = core();
        let vpc = core.create_vpc(&caller, vpc_request()).unwrap();
        let vsw = core
            .create_vswitch(
                &caller,
                crate::vpc::CreateVSwitch {
                    vpc_id: vpc.vpc_id.to_string(),
                    zone_id: "cn-hangzhou-h".into(),
                    cidr_block: "10.0.1.0/24".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let n = Arc::new(core.nonce("LTAIk", "n2", now()).unwrap());
        let g0 = with_read(core.store(), |tx| tx.dataplane_generation()).unwrap();
        // Refused inside the transaction, after it wrote (settling, the nonce): nothing of the
        // request stays but its nonce.
        let refused = core.with_nonce(n.clone()).delete_vpc(
            &caller,
            Some("cn-hangzhou"),
            vpc.vpc_id.as_str(),
        );
        assert!(refused.is_err());
        assert!(n.is_recorded());
        assert!(stored(&core, "n2"));
        assert_eq!(vpc_count(&core, &caller), 1);
        assert_eq!(
            with_read(core.store(), |tx| tx.dataplane_generation()).unwrap(),
            g0
        );
        // The same nonce in a request that would now succeed is a replay and changes nothing.
        core.delete_vswitch(&caller, None, vsw.vswitch_id.as_str())
            .unwrap();
        let n_again = Arc::new(core.nonce("LTAIk", "n2", now()).unwrap());
        let replay = core.with_nonce(n_again.clone()).delete_vpc(
            &caller,
            Some("cn-hangzhou"),
            vpc.vpc_id.as_str(),
        );
        assert!(
            matches!(replay, Err(ApiError::SignatureNonceUsed)),
            "{replay:?}"
        );
        assert!(!n_again.is_recorded(), "a replay records nothing");
        assert_eq!(vpc_count(&core, &caller), 1);
    }

    #[test]
    fn a_write_refused_before_its_transaction_leaves_the_nonce_to_record() {
        let (core, caller) = core();
        let n = Arc::new(core.nonce("LTAIk", "n3", now()).unwrap());
        let bad = crate::vpc::CreateVpc {
            cidr_block: Some("10.0.0.0/33".into()),
            ..vpc_request()
        };
        assert!(core.with_nonce(n.clone()).create_vpc(&caller, bad).is_err());
        assert!(!n.is_recorded());
        core.record_nonce(&n).unwrap();
        assert!(n.is_recorded());
        assert!(stored(&core, "n3"));
        assert!(matches!(
            core.use_nonce("LTAIk", "n3", now()),
            Err(ApiError::SignatureNonceUsed)
        ));
    }

    #[test]
    fn a_full_memory_makes_room_from_expired_nonces_only() {
        let m = NonceMemory::default();
        for i in 0..MAX_NONCES_IN_MEMORY {
            let exp = if i == 0 { 5 } else { 100 };
            assert_eq!(m.keep("k", &i.to_string(), 0, exp), Kept::New);
        }
        // One expired entry to forget: room for one more, then none.
        assert_eq!(m.keep("k", "a", 10, 100), Kept::New);
        assert_eq!(m.keep("k", "b", 10, 100), Kept::Full);
        assert_eq!(m.keep("k", "a", 10, 100), Kept::Present);
    }
}
