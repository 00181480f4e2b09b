//! PostgreSQL errors to [`StoreError`]: a violated constraint becomes `Conflict` with its
//! schema name (PostgreSQL reports it, unlike SQLite), serialization failures and deadlocks
//! `Busy`, a lost or refused connection and resource exhaustion `Unavailable`, anything else
//! (a value that did not convert: a bug) `Backend`.

use eni_store::StoreError;
use postgres::error::SqlState;

pub(crate) fn db_err(e: postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        // No error from the server: the connection broke, timed out or was never made (an
        // outage), or a bug on this side (a value that did not convert, a row count).
        let text = e.to_string();
        let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
        let outage = e.is_closed()
            || io
            || text.starts_with("error connecting")
            || text.starts_with("error communicating")
            || text.starts_with("timeout");
        return if outage {
            StoreError::Unavailable(text)
        } else {
            StoreError::Backend(text)
        };
    };
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION
        || *code == SqlState::FOREIGN_KEY_VIOLATION
        || *code == SqlState::CHECK_VIOLATION
        || *code == SqlState::EXCLUSION_VIOLATION
        || *code == SqlState::NOT_NULL_VIOLATION
    {
        return StoreError::Conflict {
            constraint: db
                .constraint()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{} ({})", db.message(), code.code())),
        };
    }
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return StoreError::Busy;
    }
    // Class 08: connection exception; 53: insufficient resources (disk full, too many
    // connections); 57: operator intervention (the server shutting down, a cancelled query).
    let class = &code.code()[..2];
    if matches!(class, "08" | "53" | "57") {
        return StoreError::Unavailable(format!("{} ({})", db.message(), code.code()));
    }
    StoreError::Backend(format!("{} ({})", db.message(), code.code()))
}
