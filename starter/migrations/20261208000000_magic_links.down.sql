ALTER TABLE user_tokens DROP COLUMN browser_hash;
