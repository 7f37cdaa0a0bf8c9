ALTER TABLE user_sessions DROP COLUMN last_seen_at;
ALTER TABLE user_sessions DROP COLUMN ip;
ALTER TABLE user_sessions DROP COLUMN user_agent;
