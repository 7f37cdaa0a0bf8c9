-- Devices: what the account page lists of each logged-in session (torn's docs/accounts.md).
-- Same SQL on SQLite and PostgreSQL.

-- "Firefox on Linux": the browser and system only, not the whole User-Agent header.
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT;
-- The client's address (through trusted_proxies).
ALTER TABLE user_sessions ADD COLUMN ip TEXT;
-- When the session was last used, to the minute.
ALTER TABLE user_sessions ADD COLUMN last_seen_at BIGINT;
