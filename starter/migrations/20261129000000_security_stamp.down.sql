ALTER TABLE users DROP COLUMN security_stamp;
