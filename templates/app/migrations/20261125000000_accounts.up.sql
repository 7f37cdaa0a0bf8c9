-- User accounts, in SQL that SQLite and PostgreSQL both run (see torn's docs/database.md).
-- Ids are random 63-bit integers made by the app; times are Unix seconds.

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    -- Lower-cased and trimmed; unique.
    email TEXT NOT NULL,
    -- argon2id in PHC format; NULL for accounts that only log in through a provider.
    password_hash TEXT,
    email_verified_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

-- Each logged-in session of a user, so that "log out everywhere" can end them all.
CREATE TABLE user_sessions (
    session_id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- Single-use tokens (email verification, password reset), stored as SHA-256 hashes.
CREATE TABLE user_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    -- The address the token was sent to: it is only good while the account has it.
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX user_tokens_user ON user_tokens (user_id);

-- Failed log-ins, per account and per client address, for throttling.
CREATE TABLE login_failures (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
