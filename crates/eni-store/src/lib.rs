//! The storage boundary of eni: [`Store`] opens transactions, [`Tx`] reads and writes typed
//! rows. Backends (SQLite now, PostgreSQL later) implement both; the application layer writes
//! its rules once, inside a transaction, and the schema's unique and check constraints decide
//! every race ([`StoreError::Conflict`] names the constraint that fired).
//!
//! Methods are named resource first, verb second (`vpc_insert`, `vswitch_list`).

#[cfg(feature = "testing")]
pub mod conformance;
pub mod rows;

pub use rows::*;

use eni_types::ids::{AccountId, VSwitchId, VpcId};

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique or check constraint rejected the write; `constraint` is its schema name.
    #[error("constraint {constraint} violated")]
    Conflict { constraint: String },
    /// The database was busy or a serializable transaction lost a race; retrying may work.
    #[error("database busy, retry")]
    Busy,
    /// Anything else: I/O, corruption, a bug. Logged, never shown to API callers.
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether the constraint named `name` is the one that fired.
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, StoreError::Conflict { constraint } if constraint == name)
    }
}

/// Constraint names shared by every backend's schema.
pub mod constraints {
    /// One access key ID is one key.
    pub const ACCESS_KEY_PK: &str = "access_key_pk";
    /// An account name is taken once.
    pub const ACCOUNT_NAME_UNIQUE: &str = "account_name_unique";
    /// A nonce is accepted once per access key.
    pub const NONCE_PK: &str = "nonce_pk";
    /// A private IP is held by at most one owner per vSwitch.
    pub const PRIVATE_IP_UNIQUE: &str = "private_ip_vswitch_ip_unique";
    /// A client token is used once per account and action.
    pub const IDEMPOTENCY_PK: &str = "idempotency_pk";
    /// A private IP belongs to an existing vSwitch, which cannot be deleted while it holds any.
    pub const PRIVATE_IP_VSWITCH_FK: &str = "private_ip_vswitch_fk";
    /// A vSwitch belongs to an existing VPC, which cannot be deleted while it has any.
    pub const VSWITCH_VPC_FK: &str = "vswitch_vpc_fk";
}

/// Opens transactions. Implementations are shared between threads; each transaction is used
/// by one thread.
pub trait Store: Send + Sync + 'static {
    /// A read-only transaction: a consistent snapshot.
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// A read-write transaction, serialized against every other writer.
    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// Short name of the backend, for logs ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
}

/// One transaction. Dropping it without [`Tx::commit`] rolls it back. A statement that fails
/// (a [`StoreError::Conflict`], say) changes nothing and leaves the transaction usable.
pub trait Tx {
    /// Makes every write of this transaction durable and visible.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;

    // ---- accounts and keys ----
    fn account_insert(&mut self, account: &Account) -> Result<(), StoreError>;
    fn account_get(&mut self, id: AccountId) -> Result<Option<Account>, StoreError>;
    fn account_by_name(&mut self, name: &str) -> Result<Option<Account>, StoreError>;
    fn access_key_insert(&mut self, key: &AccessKey) -> Result<(), StoreError>;
    fn access_key_get(&mut self, id: &str) -> Result<Option<AccessKey>, StoreError>;
    /// The account's oldest access key, if it has any.
    fn access_key_for_account(
        &mut self,
        account: AccountId,
    ) -> Result<Option<AccessKey>, StoreError>;

    // ---- replay protection ----
    /// Records `nonce` for `access_key_id` until `expires_at`. Returns `false` if it was
    /// already recorded and has not expired, i.e. its `expires_at >= now` (a replay); an
    /// expired record is replaced and the call returns `true`.
    fn nonce_record(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError>;
    /// Forgets nonces that expired before `now` (`expires_at < now`); returns how many.
    fn nonce_purge(&mut self, now: i64) -> Result<u64, StoreError>;

    // ---- idempotency ----
    fn idempotency_get(
        &mut self,
        account: AccountId,
        action: &str,
        token: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    fn idempotency_insert(&mut self, record: &IdempotencyRecord) -> Result<(), StoreError>;

    // ---- VPCs ----
    fn vpc_insert(&mut self, vpc: &Vpc) -> Result<(), StoreError>;
    fn vpc_get(&mut self, account: AccountId, id: &VpcId) -> Result<Option<Vpc>, StoreError>;
    /// The account's VPCs in `region`, oldest first.
    fn vpc_list(&mut self, account: AccountId, region: &str) -> Result<Vec<Vpc>, StoreError>;
    /// Whether a VPC was removed. Refused with [`constraints::VSWITCH_VPC_FK`] while the VPC
    /// has vSwitches.
    fn vpc_delete(&mut self, account: AccountId, id: &VpcId) -> Result<bool, StoreError>;
    fn vpc_count(&mut self, account: AccountId, region: &str) -> Result<u64, StoreError>;

    // ---- vSwitches ----
    /// Refused with [`constraints::VSWITCH_VPC_FK`] if the vSwitch's VPC does not exist.
    fn vswitch_insert(&mut self, vsw: &VSwitch) -> Result<(), StoreError>;
    fn vswitch_get(
        &mut self,
        account: AccountId,
        id: &VSwitchId,
    ) -> Result<Option<VSwitch>, StoreError>;
    /// The account's vSwitches in `region` (only those of `vpc` if given), oldest first.
    fn vswitch_list(
        &mut self,
        account: AccountId,
        region: &str,
        vpc: Option<&VpcId>,
    ) -> Result<Vec<VSwitch>, StoreError>;
    /// Whether a vSwitch was removed. Refused with [`constraints::PRIVATE_IP_VSWITCH_FK`]
    /// while the vSwitch holds private IPs.
    fn vswitch_delete(&mut self, account: AccountId, id: &VSwitchId) -> Result<bool, StoreError>;

    // ---- private IPs ----
    /// Records `ip` (IPv4 as an integer) as held in `vswitch` by `owner`; the unique
    /// constraint [`constraints::PRIVATE_IP_UNIQUE`] rejects an address already held, and
    /// [`constraints::PRIVATE_IP_VSWITCH_FK`] a vSwitch that does not exist. A conflict fails
    /// only this statement: the transaction stays usable, so a caller may try another address.
    fn private_ip_insert(
        &mut self,
        vswitch: &VSwitchId,
        ip: u32,
        owner: &str,
    ) -> Result<(), StoreError>;
    fn private_ip_delete(&mut self, vswitch: &VSwitchId, ip: u32) -> Result<bool, StoreError>;
    /// How many addresses of `vswitch` are held.
    fn private_ip_count(&mut self, vswitch: &VSwitchId) -> Result<u64, StoreError>;
}

/// Runs `f` in a write transaction and commits it, retrying a bounded number of times when
/// the backend reports [`StoreError::Busy`]. `f` may run more than once, so it must not have
/// effects outside the transaction.
pub fn with_write<T, E>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn Tx) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let result = (|| {
            let mut tx = store.write().map_err(Attempt::Store)?;
            let v = f(&mut *tx).map_err(Attempt::App)?;
            tx.commit().map_err(Attempt::Store)?;
            Ok(v)
        })();
        match result {
            Ok(v) => return Ok(v),
            Err(Attempt::Store(StoreError::Busy)) if attempt < 20 => {
                std::thread::sleep(std::time::Duration::from_millis(u64::from(attempt)));
            }
            Err(Attempt::Store(e)) => return Err(e.into()),
            Err(Attempt::App(e)) => return Err(e),
        }
    }
}

/// Runs `f` in a read transaction.
pub fn with_read<T, E>(
    store: &dyn Store,
    f: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let mut tx = store.read()?;
    f(&mut *tx)
}

enum Attempt<E> {
    Store(StoreError),
    App(E),
}
