-- Undoes 20261125000001_identities.up.sql (torn db rollback).

DROP TABLE user_identities;
