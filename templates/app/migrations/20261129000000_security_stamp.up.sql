-- A number that goes up whenever every session of the account must end (a password change or
-- reset, an address confirmed by someone other than its first user, "log out everywhere").
-- Each session records the number of its log-in; one with an older number is dead, even if it
-- was being made while the sessions were ended. Same SQL on SQLite and PostgreSQL.

ALTER TABLE users ADD COLUMN security_stamp BIGINT NOT NULL DEFAULT 0;
