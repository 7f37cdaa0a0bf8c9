-- Two-factor log-in (torn's docs/accounts.md). Same SQL on SQLite and PostgreSQL.

-- One TOTP secret per account, encrypted with a key derived from the cookie secret and bound
-- to the account, so a copy of this table cannot make codes.
CREATE TABLE user_two_factor (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    -- NULL while it is being set up: a first code from the app turns it on.
    confirmed_at BIGINT,
    -- The time step of the last code accepted: a code works once.
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Recovery codes, stored as SHA-256 hashes; each works once.
CREATE TABLE user_recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
