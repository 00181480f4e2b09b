-- 0021_console_sessions: the web console's signed-in sessions.
--
-- The browser holds a random token in a cookie; the row is keyed by the token's SHA-256, so
-- the table never holds what a cookie carries. A session belongs to the access key it signed
-- in with (it sees what that key's account sees) and ends at `expires_at` (Unix ms) or at
-- sign-out. Every server on the database knows every session.
CREATE TABLE console_sessions (
    token_hash     TEXT    NOT NULL,
    account_id     INTEGER NOT NULL,
    access_key_id  TEXT    NOT NULL,
    csrf           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    CONSTRAINT console_session_pk PRIMARY KEY (token_hash)
);
-- console_session_purge deletes by expiry.
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
