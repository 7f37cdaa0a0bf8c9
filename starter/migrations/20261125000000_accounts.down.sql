-- Undoes 20261125000000_accounts.up.sql (torn db rollback).

DROP TABLE login_failures;
DROP TABLE user_tokens;
DROP TABLE user_sessions;
DROP TABLE users;
