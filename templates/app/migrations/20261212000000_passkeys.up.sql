-- Passkeys (WebAuthn credentials; torn's docs/accounts.md): their public keys, never a
-- secret. Binary values are base64url text, so the same SQL runs on SQLite and PostgreSQL.
CREATE TABLE passkeys (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The authenticator's id of the credential, unique to this site.
    credential_id TEXT NOT NULL,
    -- The account's WebAuthn user handle (random, the same for its passkeys).
    user_handle TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The public key and what the authenticator said of it at registration.
    static_state TEXT NOT NULL,
    -- The signature counter and flags, updated at each use.
    dynamic_state TEXT NOT NULL,
    -- The last ceremony it answered (a hash of it), written in the statement that checks it:
    -- one answer sent twice at once passes once, whatever the authenticator's counter does.
    last_ceremony TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX passkeys_credential ON passkeys (credential_id);
CREATE INDEX passkeys_user ON passkeys (user_id);
