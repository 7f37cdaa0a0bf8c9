-- Social log-in: provider accounts linked to users, keyed by the provider's issuer and its id
-- for the person (never by email). Same SQL on SQLite and PostgreSQL.

CREATE TABLE user_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- The provider's name in settings and URLs (github, google, …).
    provider TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the provider gave when linked, for the account page.
    email TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
