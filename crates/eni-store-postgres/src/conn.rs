//! One pooled connection: a `tokio_postgres` client driven by a small runtime of its own, so
//! that the store stays synchronous (as the [`eni_store::Tx`] trait is) while a statement and
//! the savepoint around it go to the server together (pipelined, one round trip) instead of one
//! after the other (three).

use crate::errors::db_err;
use eni_store::StoreError;
use std::collections::HashMap;
use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

/// A statement's parameters.
pub(crate) type Params<'p> = [&'p (dyn ToSql + Sync)];

/// The outcomes of a statement sent between two others ([`Conn::between`]).
type Sandwich = (
    Result<(), StoreError>,
    Result<u64, StoreError>,
    Result<(), StoreError>,
);

pub(crate) struct Conn {
    // Declared first so that the client goes before the runtime that drives its connection.
    client: Client,
    statements: HashMap<String, Statement>,
    rt: Runtime,
}

impl Conn {
    pub(crate) fn connect(config: &tokio_postgres::Config) -> Result<Conn, StoreError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("a runtime for a connection: {e}")))?;
        let (client, connection) = rt.block_on(config.connect(NoTls)).map_err(|e| {
            // The reason (refused, no such database, bad password) is the source's.
            let why = std::error::Error::source(&e).map_or(String::new(), |s| format!(": {s}"));
            StoreError::Unavailable(format!("connecting to PostgreSQL: {e}{why}"))
        })?;
        // Driven whenever the runtime runs, that is during every call below.
        rt.spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            client,
            statements: HashMap::new(),
            rt,
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Runs `sql` (no parameters; several statements allowed) with the simple protocol.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.rt
            .block_on(self.client.batch_execute(sql))
            .map_err(db_err)
    }

    /// The prepared form of `sql`, prepared once per connection.
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.rt.block_on(self.client.prepare(sql)).map_err(db_err)?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, StoreError> {
        let st = self.prepare(sql)?;
        self.rt
            .block_on(self.client.query_opt(&st, params))
            .map_err(db_err)
    }

    pub(crate) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        let st = self.prepare(sql)?;
        self.rt
            .block_on(self.client.query(&st, params))
            .map_err(db_err)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
        let st = self.prepare(sql)?;
        self.rt
            .block_on(self.client.execute(&st, params))
            .map_err(db_err)
    }

    /// Runs `sql` as a transaction of its own that does not wait for its commit to reach the
    /// disk (`synchronous_commit = off`): BEGIN, the statement and COMMIT in one round trip.
    /// A crash of the database may lose the last such commits (PostgreSQL's
    /// `wal_writer_delay`, 200 ms by default), never consistency.
    pub(crate) fn execute_unsynced(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<u64, StoreError> {
        let (begun, done, committed) = self.between(
            "BEGIN; SET LOCAL synchronous_commit TO off",
            sql,
            params,
            "COMMIT",
        )?;
        begun?;
        let n = done?;
        committed?;
        Ok(n)
    }

    /// Runs a write statement inside a savepoint of its own, sent in one go with the
    /// savepoint and its release: a failure undoes the statement alone (one more round trip)
    /// and leaves the transaction usable.
    pub(crate) fn execute_alone(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<u64, StoreError> {
        let (begun, done, released) = self.between(
            "SAVEPOINT tx_statement",
            sql,
            params,
            "RELEASE tx_statement",
        )?;
        begun?;
        match done {
            Ok(n) => {
                released?;
                Ok(n)
            }
            Err(e) => {
                // The release failed too (the transaction was aborted): undo to the savepoint.
                self.batch("ROLLBACK TO tx_statement; RELEASE tx_statement")?;
                Err(e)
            }
        }
    }

    /// `before`, the statement `sql` and `after`, pipelined (one round trip); each outcome.
    fn between(
        &mut self,
        before: &str,
        sql: &str,
        params: &Params<'_>,
        after: &str,
    ) -> Result<Sandwich, StoreError> {
        let st = self.prepare(sql)?;
        let client = &self.client;
        let (a, b, c) = self.rt.block_on(async {
            tokio::join!(
                client.batch_execute(before),
                client.execute(&st, params),
                client.batch_execute(after),
            )
        });
        Ok((a.map_err(db_err), b.map_err(db_err), c.map_err(db_err)))
    }
}
