-- Log-in links ("email me a link") are bound to the browser that asked for them: the SHA-256
-- of a nonce in that browser's signed cookie. Opened elsewhere, a link asks before it logs in.
-- Other tokens have none. Same SQL on SQLite and PostgreSQL.

ALTER TABLE user_tokens ADD COLUMN browser_hash TEXT;
