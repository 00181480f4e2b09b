-- 0012_console_sessions: SQLite's 0021_console_sessions. The web console's sessions, keyed
-- by the SHA-256 of the cookie's token.
CREATE TABLE console_sessions (
    token_hash     TEXT   NOT NULL,
    account_id     BIGINT NOT NULL,
    access_key_id  TEXT   NOT NULL,
    csrf           TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    CONSTRAINT console_session_pk PRIMARY KEY (token_hash)
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
