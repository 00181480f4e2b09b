//! Application layer of eni: the rules of Alibaba's ECS and VPC APIs, written once over the
//! [`eni_store::Store`] trait. Knows nothing of HTTP or SQL: the API layer hands it typed
//! requests and an authenticated [`Caller`], and renders what it returns.
//!
//! Every method is synchronous (the store is); the API layer calls them from its async
//! workers, each request's transactions being short.

pub mod accounts;
mod addresses;
pub mod catalog;
pub mod console;
mod dataplane;
pub mod eip;
pub mod eni;
pub mod hosts;
mod idempotency;
pub mod images;
pub mod instance;
mod ipam;
pub mod query;
pub mod security_group;
pub mod security_group_rules;
pub mod tags;
mod transitions;
pub mod validate;
pub mod vpc;

use eni_store::{with_write, Store, StoreError, Tx};
use eni_types::ids::{AccountId, ResourceGroupId};
use eni_types::ApiError;
use std::sync::Arc;

pub use catalog::Catalog;
/// The type of [`CoreConfig::eip_pool`], for callers that build a configuration.
pub use eni_ipam::Ipv4Cidr;
/// The stored access key that [`Core::access_key`] returns.
pub use eni_store::AccessKey;

/// Tunables of the application layer.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// VPCs per account and region.
    pub vpc_quota: u64,
    /// vSwitches per VPC (Alibaba: 150).
    pub vswitch_quota: u64,
    /// How far a request's timestamp may be from now, in seconds (Alibaba: 15 minutes).
    pub signature_window_secs: i64,
    /// Secondary ENIs per account and region.
    pub eni_quota: u64,
    /// EIPs per account and region, in any state (Alibaba's default: 20).
    pub eip_quota: u64,
    /// How long Attaching, Detaching, Deleting and the instance transitions last, in
    /// milliseconds; 0 completes them within the call.
    pub transition_delay_ms: u64,
    /// A data plane is attached: Attaching and Detaching complete when an agent reports
    /// them done, not after the delay.
    pub dataplane: bool,
    /// The public addresses EIPs are drawn from, shared by all accounts. The default,
    /// 198.18.0.0/15, is the benchmarking range (RFC 2544): simulated public addresses never
    /// collide with real ones.
    pub eip_pool: Ipv4Cidr,
    /// How long a host's agent may stay silent before the host turns `UnderAssessment` (and
    /// takes no new instances), in milliseconds.
    pub host_silence_ms: i64,
    /// How long a web-console session lasts from sign-in, in milliseconds.
    pub console_session_ms: i64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            vpc_quota: 100,
            vswitch_quota: 150,
            signature_window_secs: 15 * 60,
            eni_quota: 1000,
            eip_quota: 20,
            transition_delay_ms: 300,
            dataplane: false,
            eip_pool: Ipv4Cidr::new(std::net::Ipv4Addr::new(198, 18, 0, 0), 15)
                .expect("a /15 without host bits"),
            host_silence_ms: 60_000,
            console_session_ms: 8 * 3600 * 1000,
        }
    }
}

/// The authenticated principal of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub account: AccountId,
}

/// The application: store, catalog and configuration.
#[derive(Clone)]
pub struct Core {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    config: Arc<CoreConfig>,
    /// Nonces accepted while the store could not record them (see `accounts.rs`).
    nonces_in_memory: Arc<accounts::NonceMemory>,
    /// Access keys recently read (see `accounts.rs`).
    keys: Arc<accounts::KeyCache>,
    /// The nonce of the request this copy serves, recorded by its first write transaction
    /// ([`Core::with_nonce`]).
    nonce: Option<Arc<accounts::Nonce>>,
}

impl Core {
    /// Wires the application over a store.
    pub fn new(store: Arc<dyn Store>, catalog: Catalog, config: CoreConfig) -> Self {
        Self {
            store,
            catalog: Arc::new(catalog),
            config: Arc::new(config),
            nonces_in_memory: Arc::default(),
            keys: Arc::default(),
            nonce: None,
        }
    }

    /// This application for one request whose nonce `n` is not recorded yet: its first write
    /// transaction ([`Core::write`]) records `n` before anything else, so a replay is refused
    /// before it changes anything and a request that writes commits once. Whatever does not
    /// reach a write transaction leaves `n` unrecorded ([`accounts::Nonce::is_recorded`]) for
    /// the caller to record with [`Core::record_nonce`].
    pub fn with_nonce(&self, n: Arc<accounts::Nonce>) -> Core {
        Core {
            nonce: Some(n),
            ..self.clone()
        }
    }

    /// Runs `f` in a write transaction, as [`with_write`] does. When this copy carries a
    /// request's nonce not yet recorded ([`Core::with_nonce`]), the transaction records it
    /// first (a replay is `SignatureNonceUsed` and writes nothing), and keeps it even when `f`
    /// fails: `f`'s writes are undone ([`Tx::restart`], no other writer in between) and the
    /// nonce alone commits, so a request that failed cannot be replayed later, when it might
    /// succeed.
    pub(crate) fn write<T, E>(&self, mut f: impl FnMut(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError> + From<ApiError>,
    {
        let Some(n) = self.nonce.as_deref().filter(|n| !n.is_recorded()) else {
            return with_write(self.store(), f);
        };
        let mut failed = None;
        let done = with_write(self.store(), |tx| -> Result<Option<T>, E> {
            failed = None;
            if !n.record_in(tx)? {
                return Err(ApiError::SignatureNonceUsed.into());
            }
            match f(tx) {
                Ok(v) => Ok(Some(v)),
                Err(e) => {
                    tx.restart()?;
                    if !n.record_in(tx)? {
                        // Not after a restart with no writer in between; but never commit
                        // without the nonce.
                        return Err(ApiError::SignatureNonceUsed.into());
                    }
                    failed = Some(e);
                    Ok(None)
                }
            }
        })?;
        self.nonce_committed(n);
        match (done, failed) {
            (Some(v), _) => Ok(v),
            (None, Some(e)) => Err(e),
            (None, None) => Err(ApiError::InternalError.into()),
        }
    }

    /// The catalog of regions, zones and instance types.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// Whether other servers share the store ([`Store::shared`]; PostgreSQL): its
    /// transactions then wait on the network, and the API runs requests on blocking threads.
    pub fn store_shared(&self) -> bool {
        self.store.shared()
    }

    /// Has the store call `hook` when any process sharing it commits a change to what the
    /// data plane must do ([`Store::watch_changes`]); `false` if it cannot.
    pub fn watch_store_changes(&self, hook: eni_store::ChangeHook) -> Result<bool, ApiError> {
        self.store.watch_changes(hook).map_err(internal)
    }

    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// `RegionId` must name a region of the catalog.
    pub fn check_region(&self, region: &str) -> Result<(), ApiError> {
        if self.catalog.region(region).is_some() {
            Ok(())
        } else {
            Err(ApiError::RegionNotFound)
        }
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The current time in Unix milliseconds (transition deadlines).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Every account has one default resource group, derived from its ID so it is stable.
pub fn default_resource_group(caller: &Caller) -> ResourceGroupId {
    let n = caller.account.0;
    let body: String = (0..12)
        .map(|i| {
            let d = ((n >> (i * 5)) & 31) as u8;
            (if d < 10 { b'0' + d } else { b'a' + d - 10 }) as char
        })
        .collect();
    format!("rg-acfm{body}").parse().expect("alphanumeric")
}

/// Store failures become `InternalError` for the caller, or `ServiceUnavailable` when retrying
/// later may work (busy, a full disk, an I/O outage); the cause goes to the log.
pub(crate) fn internal(e: StoreError) -> ApiError {
    match e {
        StoreError::Busy => ApiError::ServiceUnavailable,
        StoreError::Unavailable(why) => {
            warn_unavailable(&why, "storage unavailable");
            ApiError::ServiceUnavailable
        }
        other => {
            tracing::error!(error = %other, "store failure");
            ApiError::InternalError
        }
    }
}

/// Logs a storage outage at most every ten seconds: during one, every request fails the same
/// way, and the log may live on the very disk that is full.
pub(crate) fn warn_unavailable(why: &str, what: &str) {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let t = now();
    let last = LAST.load(Ordering::Relaxed);
    if t.saturating_sub(last) >= 10
        && LAST
            .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(error = %why, "{what} (repeats are not logged for 10 s)");
    }
}

/// Errors of the application layer: an API error, or a store failure to translate.
#[derive(Debug)]
pub(crate) enum CoreError {
    Api(ApiError),
    Store(StoreError),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        CoreError::Store(e)
    }
}

impl From<ApiError> for CoreError {
    fn from(e: ApiError) -> Self {
        CoreError::Api(e)
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Api(a) => a,
            CoreError::Store(s) => internal(s),
        }
    }
}
